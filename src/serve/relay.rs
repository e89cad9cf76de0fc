//! What happens to a `-bs` message at its final dot (spec §10, §9): relayed at once through the engine
//! over one upstream session kept for the whole `-bs` session (dialled at the first message, dialled
//! again when the server dropped it), or queued when a temporary failure stops it and the queue policy
//! allows, and the outcome as the one reply to the dot:
//!
//! - accepted upstream, or committed to the queue: `250 Ok: queued as ID` (only after the commit
//!   point of the queue, the rename of `queue/ID`);
//! - a permanent refusal by the server: its own 5xx reply passed through; a recipient refused for good
//!   fails the whole transaction with `550` naming it, since the caller cannot be told per recipient;
//! - anything else that leaves the message neither delivered nor queued: `451`, with the reason.
//!
//! Each message is logged as a send is, and each step has a name for the crash tests' kill hook.

use super::reply::Answer;
use crate::dial::Plan;
use crate::message::input::InputError;
use crate::message::spool::Spool;
use crate::queue::command::send::{self as queueing, Owed};
use crate::queue::hooks;
use crate::queue::id::Id;
use crate::settings::Settings;
use crate::smtp::error::{Error, Refusal, Stage as EngineStage};
use crate::smtp::reply::Code;
use crate::smtp::session::{Delivery, Session, Then};
use crate::submission::{self, Prepared};
use crate::values::{QueuePolicy, Stage};

/// The upstream side of a `-bs` session.
pub struct Relay<'a> {
    settings: &'a Settings,
    session: Option<Session>,
}

impl<'a> Relay<'a> {
    pub fn new(settings: &'a Settings) -> Relay<'a> {
        Relay {
            settings,
            session: None,
        }
    }

    /// The message's fate, as the reply to its final dot.
    pub fn message(&mut self, prepared: &Prepared, spool: &Spool) -> Answer {
        let tx = &prepared.transaction;
        if self.settings.queue.policy == QueuePolicy::Always {
            let reason = "not tried: queue = \"always\" or -odq";
            return self.enqueue(prepared, spool, None, reason);
        }
        let result = self.deliver(prepared, spool);
        submission::log_outcome(self.settings, tx, &result);
        hooks::kill_at("bs:attempted");
        // A recipient refused for good failed the whole transaction upstream (nobody got it): the
        // caller hears 550 and nothing is queued, or its retry would double what a queue run sends.
        if let Err(e) = &result
            && refused_for_good_in(e).is_some()
        {
            return failed(e);
        }
        let owed = match self.settings.queue.policy {
            QueuePolicy::OnFailure => queueing::owed(&result, tx),
            _ => None,
        };
        match (result, owed) {
            (_, Some(owed)) => self.settle(prepared, spool, owed),
            (Ok(delivery), None) => accepted(&delivery),
            (Err(e), None) => failed(&e),
        }
    }

    /// A temporary failure, with the queue allowed: the recipients still owed are queued; any refused
    /// for good still fail the transaction.
    fn settle(&mut self, prepared: &Prepared, spool: &Spool, owed: Owed) -> Answer {
        let queued = self.enqueue(prepared, spool, Some(&owed), &owed.reason);
        match refused_for_good(&owed.refused) {
            Some(answer) => answer,
            None => queued,
        }
    }

    /// Queue the message for every recipient (`owed` is `None`: `-odq`) or for those a failed attempt
    /// still owes: `250` only once the entry is committed.
    fn enqueue(
        &self,
        prepared: &Prepared,
        spool: &Spool,
        owed: Option<&Owed>,
        reason: &str,
    ) -> Answer {
        let tx = &prepared.transaction;
        let queued = prepared
            .reader(spool)
            .map_err(|e| anyhow::Error::new(InputError::Spooled(e)))
            .and_then(|mut data| {
                queueing::enqueue(self.settings, tx, owed, &mut data)
                    .map_err(|e| queueing::not_queued(e, reason))
            });
        match queued {
            Ok(id) => {
                hooks::kill_at("bs:queued");
                Answer::new(250, "2.0.0", format!("Ok: queued as {}", id.compact()))
            }
            Err(e) => Answer::new(451, "4.3.0", crate::exit::causes(&e).join(": ")),
        }
    }

    /// Send on the session kept from the last message, or a new one. A kept session the server has
    /// dropped in the meantime (its idle timeout) fails before anything was sent: dial again, once.
    fn deliver(&mut self, prepared: &Prepared, spool: &Spool) -> anyhow::Result<Delivery> {
        let tx = &prepared.transaction;
        if let Some(session) = self.session.take() {
            match self.send_on(session, prepared, spool)? {
                Err(e) if dropped_while_idle(&e) => {}
                result => return result.map_err(|e| submission::explain(e, tx)),
            }
        }
        let session = Plan::new(self.settings, Stage::Auth)?.dial(&mut ())?;
        self.send_on(session, prepared, spool)?
            .map_err(|e| submission::explain(e, tx))
    }

    /// One transaction; the session is kept when it may carry the next.
    fn send_on(
        &mut self,
        mut session: Session,
        prepared: &Prepared,
        spool: &Spool,
    ) -> anyhow::Result<Result<Delivery, Error>> {
        let mut data = prepared.reader(spool).map_err(InputError::Spooled)?;
        session.whole_or_none();
        let result = session.send(&prepared.transaction, &mut data, Then::More);
        match session.is_ready() {
            true => self.session = Some(session),
            false if session.is_broken() => drop(session.into_trace()),
            false => drop(session.quit()),
        }
        Ok(result)
    }

    /// The end of the `-bs` session: QUIT upstream.
    pub fn close(&mut self) {
        if let Some(session) = self.session.take() {
            session.quit();
        }
    }
}

/// A kept connection found closed (or closing, 421) at MAIL: nothing of this message was sent.
fn dropped_while_idle(error: &Error) -> bool {
    match error {
        Error::Closed { stage } | Error::Io { stage, .. } => *stage == EngineStage::Mail,
        Error::Rejected { stage, reply } => {
            *stage == EngineStage::Mail && reply.code == Code::UNAVAILABLE
        }
        _ => false,
    }
}

/// Accepted by the server: `250 Ok: queued as ID`, with an ID of the queue's form for the log and
/// the caller; a recipient refused (temporarily, with no queue to keep it) fails the transaction.
fn accepted(delivery: &Delivery) -> Answer {
    if let Some(answer) = refused_for_good(&delivery.refused) {
        return answer;
    }
    if let Some((rcpt, reply)) = delivery.refused.first() {
        return Answer::new(
            451,
            "4.3.0",
            format!(
                "{}: the server refused it for now: {reply}; neither delivered to it nor queued",
                submission::shown(rcpt)
            ),
        );
    }
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let id = Id::new(micros, std::process::id());
    Answer::new(250, "2.0.0", format!("Ok: queued as {}", id.compact()))
}

/// Spec §10: a recipient refused for good fails the whole transaction, `550` naming it.
fn refused_for_good(refused: &[Refusal]) -> Option<Answer> {
    let (rcpt, reply) = refused.iter().find(|(_, r)| r.is_permanent())?;
    Some(Answer::new(
        550,
        "5.1.1",
        format!(
            "{}: refused by the server: {reply}",
            submission::shown(rcpt)
        ),
    ))
}

/// The `550` for a send that failed because a recipient was refused for good.
fn refused_for_good_in(error: &anyhow::Error) -> Option<Answer> {
    match error.chain().find_map(|c| c.downcast_ref::<Error>()) {
        Some(Error::RecipientsRefused { refused }) => refused_for_good(refused),
        _ => None,
    }
}

/// Not delivered and not queued: the server's own 5xx passed through, a recipient refused for good
/// named, else `451` with the reason.
fn failed(error: &anyhow::Error) -> Answer {
    if let Some(answer) = refused_for_good_in(error) {
        return answer;
    }
    let engine = error.chain().find_map(|c| c.downcast_ref::<Error>());
    match engine {
        Some(Error::Rejected { reply, .. }) if reply.is_permanent() => Answer::upstream(reply),
        Some(Error::MessageTooBig { .. }) => Answer::new(552, "5.3.4", error_text(error)),
        _ => Answer::new(
            451,
            "4.3.0",
            format!("{}; neither delivered nor queued", error_text(error)),
        ),
    }
}

/// The causes of an error, root first, on one line.
fn error_text(error: &anyhow::Error) -> String {
    let mut causes = crate::exit::causes(error);
    causes.reverse();
    causes.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::reply::Reply;

    fn wire(answer: &Answer) -> String {
        String::from_utf8(answer.wire(true)).expect("utf-8")
    }

    /// Spec §10's outcomes, as the reply to the dot.
    #[test]
    fn the_reply_to_the_dot() {
        let ok = Delivery {
            delivered: vec![("b@x".into(), Reply::new(250, "ok"))],
            refused: Vec::new(),
            reply: Reply::new(250, "2.0.0 ok"),
        };
        let reply = wire(&accepted(&ok));
        assert!(reply.starts_with("250 2.0.0 Ok: queued as "), "{reply}");
        let partial = Delivery {
            refused: vec![("c@x".into(), Reply::new(550, "5.1.1 no such user"))],
            ..ok.clone()
        };
        assert_eq!(
            wire(&accepted(&partial)),
            "550 5.1.1 <c@x>: refused by the server: 550 5.1.1 no such user\r\n"
        );
        let busy = Delivery {
            refused: vec![("c@x".into(), Reply::new(450, "4.2.0 busy"))],
            ..ok
        };
        assert!(wire(&accepted(&busy)).starts_with("451 4.3.0 <c@x>: "));
        let cases: Vec<(Error, &str)> = vec![
            (
                Error::Rejected {
                    stage: EngineStage::FinalReply,
                    reply: Reply::new(554, "5.7.1 spam"),
                },
                "554 5.7.1 spam\r\n",
            ),
            (
                Error::RecipientsRefused {
                    refused: vec![("b@x".into(), Reply::new(550, "5.1.1 unknown"))],
                },
                "550 5.1.1 <b@x>: refused by the server: 550 5.1.1 unknown\r\n",
            ),
            (
                Error::MessageTooBig { size: 10, limit: 5 },
                "552 5.3.4 the message is 10 bytes",
            ),
            (
                Error::Closed {
                    stage: EngineStage::Mail,
                },
                "451 4.3.0 the server closed",
            ),
            (
                Error::Rejected {
                    stage: EngineStage::Mail,
                    reply: Reply::new(451, "4.3.0 try later"),
                },
                "451 4.3.0 the server refused",
            ),
        ];
        for (error, expected) in cases {
            let reply = wire(&failed(&anyhow::Error::new(error)));
            assert!(reply.starts_with(expected), "{reply:?} is not {expected:?}");
        }
    }

    #[test]
    fn only_a_kept_session_found_closed_at_mail_is_dialled_again() {
        assert!(dropped_while_idle(&Error::Closed {
            stage: EngineStage::Mail
        }));
        let idle = Error::Rejected {
            stage: EngineStage::Mail,
            reply: Reply::new(421, "4.4.2 idle"),
        };
        assert!(dropped_while_idle(&idle));
        assert!(!dropped_while_idle(&Error::Closed {
            stage: EngineStage::FinalReply
        }));
        let refused = Error::Rejected {
            stage: EngineStage::Mail,
            reply: Reply::new(550, "no"),
        };
        assert!(!dropped_while_idle(&refused));
    }
}
