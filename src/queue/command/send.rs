//! A send and the queue (spec §9 "When mail is queued"): with `queue = "on-failure"`, what a temporary
//! failure left undelivered — the whole message, or only the recipients still owed it — is queued
//! exactly as it would have been sent, and the run exits 0 with one line naming the queue ID and the
//! reason; a permanent refusal is still reported as section 7 says. With `always` (`-odq`) the message
//! is queued without trying. After a successful send, a queue that is not empty is run.

use std::io::Read;

use super::routes::LogEvents;
use crate::exit;
use crate::queue::Draft;
use crate::queue::error::QueueError;
use crate::queue::id::Id;
use crate::queue::runner::{Event, EventKind, Events};
use crate::queue::state::{Kind, Parameters};
use crate::settings::Settings;
use crate::smtp::error::{Error, Refusal};
use crate::smtp::session::{BodyType, Delivery, Transaction};

/// What a failed or partial send still owes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owed {
    /// Each recipient still owed the message, with why this attempt did not deliver it.
    pub recipients: Vec<(String, String)>,
    /// Why, in one line for the caller: the first recipient's reason.
    pub reason: String,
    /// Refused for good in the same attempt: reported, not queued.
    pub refused: Vec<Refusal>,
}

/// The recipients a send's `result` leaves owed after a temporary failure; `None` when nothing is
/// (delivered, or failed for good: the caller was told).
pub fn owed(result: &anyhow::Result<Delivery>, tx: &Transaction) -> Option<Owed> {
    let (transient, refused): (Vec<Refusal>, Vec<Refusal>) = match result {
        Ok(delivery) => split(&delivery.refused),
        Err(e) if exit::classify(e) != exit::TEMPFAIL => return None,
        Err(e) => match e.chain().find_map(|c| c.downcast_ref::<Error>()) {
            Some(Error::RecipientsRefused { refused }) => split(refused),
            Some(Error::UnknownOutcome { cause, partial }) => {
                let (mut transient, refused) = split(&partial.refused);
                let why = format!("the outcome is unknown ({cause}); it may be delivered twice");
                let unknown = partial.unknown.iter().map(|r| (r.clone(), reply(&why)));
                transient.splice(0..0, unknown);
                (transient, refused)
            }
            _ => {
                let reason = exit::causes(e).last().cloned().unwrap_or_default();
                return Some(Owed {
                    recipients: tx
                        .recipients
                        .iter()
                        .map(|r| (r.clone(), reason.clone()))
                        .collect(),
                    reason,
                    refused: Vec::new(),
                });
            }
        },
    };
    let (first, text) = transient.first().map(|(r, t)| (r.clone(), t.to_string()))?;
    Some(Owed {
        reason: format!(
            "<{}>: {text}",
            crate::smtp::reply::printable(first.as_bytes())
        ),
        recipients: transient
            .into_iter()
            .map(|(r, reply)| (r, reply.to_string()))
            .collect(),
        refused,
    })
}

impl Owed {
    /// The recipients still owed the message.
    pub fn addresses(&self) -> Vec<String> {
        self.recipients.iter().map(|(r, _)| r.clone()).collect()
    }
}

fn reply(text: &str) -> crate::smtp::reply::Reply {
    crate::smtp::reply::Reply::new(451, text)
}

/// Temporary refusals, then permanent ones.
fn split(refused: &[Refusal]) -> (Vec<Refusal>, Vec<Refusal>) {
    refused
        .iter()
        .cloned()
        .partition(|(_, r)| !r.is_permanent())
}

/// Queue `data` (the message as it would be sent): for every recipient of `tx` without trying
/// (`owed` is `None`: `-odq`), or for those a failed attempt still owes, recording that attempt.
pub fn enqueue(
    settings: &Settings,
    tx: &Transaction,
    owed: Option<&Owed>,
    data: &mut dyn Read,
) -> Result<Id, QueueError> {
    let queue = super::open(settings, true)?.ok_or(QueueError::Nowhere)?;
    let draft = Draft {
        kind: Kind::Message,
        uid: settings.queue.uid,
        route: settings.queue.route.clone(),
        sender: tx.from.clone(),
        params: Parameters {
            eight_bit: tx.eight_bit,
            body: tx.body_type.map(|b| match b {
                BodyType::EightBitMime => "8BITMIME".to_owned(),
                BodyType::SevenBit => "7BIT".to_owned(),
            }),
            dsn_ret: tx.dsn_ret.clone(),
            dsn_envid: tx.dsn_envid.clone(),
            dsn_notify: tx.dsn_notify.clone(),
        },
        recipients: owed.map_or_else(|| tx.recipients.clone(), Owed::addresses),
        tried: owed.map(|o| o.recipients.clone()).unwrap_or_default(),
    };
    let id = queue.enqueue(&draft, data)?;
    if let Ok(state) = queue.load(crate::queue::Dir::Queue, &id) {
        LogEvents::new(settings, false).record(Event::of(&state, EventKind::Queued, None));
    }
    Ok(id)
}

/// A queue failure on top of the delivery failure that led to it: the queue's status (75), both said.
pub fn not_queued(error: QueueError, reason: &str) -> anyhow::Error {
    anyhow::Error::new(error).context(format!(
        "the message was neither delivered ({reason}) nor queued"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::error::Partial;
    use crate::smtp::reply::Reply;

    fn tx() -> Transaction {
        Transaction {
            from: "a@x".into(),
            recipients: vec!["b@x".into(), "c@x".into(), "d@x".into()],
            ..Transaction::default()
        }
    }

    #[test]
    fn only_the_recipients_still_owed_are_queued() {
        let delivered = Ok(Delivery {
            delivered: vec![("b@x".into(), Reply::new(250, "ok"))],
            refused: vec![
                ("c@x".into(), Reply::new(450, "busy")),
                ("d@x".into(), Reply::new(550, "no")),
            ],
            reply: Reply::new(250, "ok"),
        });
        let owed = owed(&delivered, &tx()).expect("c is owed");
        assert_eq!(owed.recipients, [("c@x".to_owned(), "450 busy".to_owned())]);
        assert_eq!(owed.refused.len(), 1);
        assert_eq!(owed.reason, "<c@x>: 450 busy");
        let all = Ok(Delivery {
            delivered: vec![("b@x".into(), Reply::new(250, "ok"))],
            refused: Vec::new(),
            reply: Reply::new(250, "ok"),
        });
        assert_eq!(super::owed(&all, &tx()), None);
    }

    #[test]
    fn temporary_failures_owe_everyone_and_permanent_ones_nobody() {
        let refused = anyhow::Error::new(Error::Connect {
            target: "h:25".into(),
            source: std::io::ErrorKind::ConnectionRefused.into(),
        });
        let owed = owed(&Err(refused), &tx()).expect("owed");
        assert_eq!(owed.addresses(), ["b@x", "c@x", "d@x"]);
        assert!(owed.recipients.iter().all(|(_, why)| *why == owed.reason));
        assert!(owed.reason.contains("cannot connect"), "{}", owed.reason);
        let permanent = anyhow::Error::new(Error::Rejected {
            stage: crate::smtp::error::Stage::Mail,
            reply: Reply::new(550, "no"),
        });
        assert_eq!(super::owed(&Err(permanent), &tx()), None);
        let unknown = anyhow::Error::new(Error::UnknownOutcome {
            cause: "closed".into(),
            partial: Partial {
                unknown: vec!["b@x".into()],
                ..Partial::default()
            },
        });
        let owed = super::owed(&Err(unknown), &tx()).expect("owed");
        assert_eq!(owed.addresses(), ["b@x"]);
        assert!(
            owed.reason.contains("may be delivered twice"),
            "{}",
            owed.reason
        );
    }
}
