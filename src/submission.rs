//! One message's way from the spool to the engine, shared by a send (`app`) and the `-bs` server
//! (`serve`): the envelope policy of spec §2 applied to the spooled message ([`Prepared`]), an engine
//! error told with who did and did not get the message (spec §7), the per-message log line, and the
//! long-line warning. Imports the settings, the message and the engine.

use std::io::{self, Read};

use crate::exit::{self, Outcome};
use crate::lines::MAX_LINE;
use crate::message::envelope::policy::{self, Policy, PolicyError};
use crate::message::headers::{self, HEAD_SCAN_LEN, MessageError};
use crate::message::input::InputError;
use crate::message::spool::Spool;
use crate::settings::{Settings, SettingsError, TlsUse};
use crate::smtp::error::Error;
use crate::smtp::session::{Delivery, Transaction};

/// The message as it will be sent: the rewritten header section, then the spool from `body_offset`.
pub struct Prepared {
    pub transaction: Transaction,
    pub header: Vec<u8>,
    pub body_offset: u64,
    /// Issue 15: the input looks like a body without headers ([`HeaderBlock::looks_like_a_bare_body`]).
    ///
    /// [`HeaderBlock::looks_like_a_bare_body`]: crate::message::headers::HeaderBlock::looks_like_a_bare_body
    pub bare_body: bool,
}

impl Prepared {
    /// The whole message, streamed: new header section, then the body straight from the spool.
    pub fn reader<'a>(&'a self, spool: &'a Spool) -> io::Result<impl Read + 'a> {
        Ok(io::Cursor::new(&self.header[..]).chain(spool.reader_from(self.body_offset)?))
    }
}

pub fn prepare(settings: &Settings, spool: &Spool) -> anyhow::Result<Prepared> {
    prepare_for(
        settings,
        spool,
        policy_of(settings),
        &settings.envelope.recipients,
    )
}

/// [`prepare`] with the envelope `policy` and the `recipients` given (the `-bs` server's MAIL and RCPT).
pub fn prepare_for(
    settings: &Settings,
    spool: &Spool,
    policy: Policy<'_, SettingsError>,
    recipients: &[String],
) -> anyhow::Result<Prepared> {
    let head = spool.head(HEAD_SCAN_LEN).map_err(InputError::Spooled)?;
    let block = headers::scan(&head)?;
    if let Some(at) = spool.stats().first_bare_cr
        && at < block.body_offset
    {
        return Err(MessageError::BareCrInHeaderSection.into());
    }
    let decision = policy::decide(policy, &block, recipients).map_err(policy_failure)?;
    let header = decision.header(&block)?;
    let body_len = spool.len().saturating_sub(block.body_offset);
    let stats = spool.stats();
    let transaction = Transaction {
        from: decision.sender,
        recipients: decision.recipients,
        size: header.len() as u64 + body_len,
        eight_bit: stats.eight_bit || !header.is_ascii(),
        body_type: settings.envelope.body_type,
        dsn_notify: settings.envelope.dsn_notify.clone(),
        dsn_ret: settings.envelope.dsn_ret.clone(),
        dsn_envid: settings.envelope.dsn_envid.clone(),
    };
    Ok(Prepared {
        transaction,
        header,
        body_offset: block.body_offset,
        bare_body: block.looks_like_a_bare_body(),
    })
}

/// The envelope settings as the policy reads them.
pub fn policy_of(settings: &Settings) -> Policy<'_, SettingsError> {
    let envelope = &settings.envelope;
    Policy {
        from: envelope.from.as_deref(),
        read_recipients: envelope.read_recipients,
        aliases: &envelope.aliases,
        file_aliases: envelope.file_aliases.as_ref(),
        maildomain: envelope.maildomain.as_deref(),
        default_sender: envelope.default_sender.get(),
        full_name: envelope.full_name.as_deref(),
        default_domain: &envelope.default_domain,
        add_missing_from: envelope.add_missing_from,
        add_missing_date: envelope.add_missing_date,
        add_missing_message_id: envelope.add_missing_message_id,
        qualify_headers: envelope.qualify_headers,
        set_fields: &envelope.set_fields,
    }
}

/// Each cause as its own typed error, for `exit::classify`.
fn policy_failure(error: PolicyError<SettingsError>) -> anyhow::Error {
    match error {
        PolicyError::Message(e) => e.into(),
        PolicyError::DefaultSender(e) => e.into(),
    }
}

/// One log line per message when `logfile` or `syslog` is configured (msmtp's fields; never a secret).
pub(crate) fn log_outcome(
    settings: &Settings,
    tx: &Transaction,
    result: &anyhow::Result<Delivery>,
) {
    let logging = &settings.logging;
    if logging.logfile.is_none() && logging.syslog.is_none() {
        return;
    }
    let host = settings.server.endpoint.to_string();
    let (reply, exit_status) = match result {
        Ok(delivery) => (
            delivery.reply.to_string(),
            exit::for_outcome(&Outcome::refusals(&delivery.refused)),
        ),
        // Each cause once (issue 10, point 21): an io::Error is both quoted by and the source of
        // the error that wraps it.
        Err(e) => (exit::causes(e).join(": "), exit::classify(e)),
    };
    let record = crate::log::Record {
        host: &host,
        tls: settings.tls.mode != TlsUse::None,
        auth: settings.auth.login.is_some(),
        user: settings.auth.login.as_ref().map(|a| a.user.as_str()),
        from: &tx.from,
        recipients: &tx.recipients,
        size: tx.size,
        reply: Some(reply),
        exit_status,
    };
    for e in crate::log::write(logging.logfile.as_deref(), logging.syslog, &record) {
        logging.tell(&format!("mailsend: warning: {e}"));
    }
}

/// Issue 10, point 18's warning, as a line for the `-bs` reply (there stderr must stay quiet).
pub(crate) fn long_line_note(spool: &Spool) -> Option<String> {
    let first = spool.stats().first_long_line?;
    let all = match spool.stats().long_lines {
        1 => "the only line".to_string(),
        n => format!("the first of {n} lines"),
    };
    Some(format!(
        "warning: line {} of the message is {} octets long, {all} over the {MAX_LINE} octets RFC 5322 \
         (2.1.1) allows; it is sent unchanged, but servers may break such lines or refuse the message",
        first.number, first.len
    ))
}

/// An address as stderr shows it: `<…>` with control characters and bidirectional overrides
/// escaped by the function that escapes server replies, so an address from the input can neither
/// drive the terminal nor reorder the line (issue 10, point 17; catalogue item 29).
pub fn shown(address: &str) -> String {
    format!("<{}>", crate::smtp::reply::printable(address.as_bytes()))
}

/// Addresses as stderr shows them, separated by commas.
pub(crate) fn shown_list(addresses: &[String]) -> String {
    addresses
        .iter()
        .map(|r| shown(r))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The recipients the server took the message for, without its replies.
pub(crate) fn recipients(delivered: &[crate::smtp::error::Acceptance]) -> Vec<String> {
    delivered.iter().map(|(r, _)| r.clone()).collect()
}

/// Add to an engine error which recipients did and did not get the message (spec §7).
pub(crate) fn explain(error: Error, tx: &Transaction) -> anyhow::Error {
    let list = shown_list;
    let mut notes = Vec::new();
    match &error {
        Error::UnknownOutcome { partial, .. } => {
            notes.push(format!(
                "the message may have been delivered to {}",
                list(&partial.unknown)
            ));
            if !partial.delivered.is_empty() {
                notes.push(format!(
                    "the message was delivered to {}",
                    list(&recipients(&partial.delivered))
                ));
            }
            for (rcpt, reply) in &partial.refused {
                notes.push(format!("the server refused {}: {reply}", shown(rcpt)));
            }
        }
        Error::RecipientsRefused { .. } => {
            notes.push("the message was not delivered to anyone".into())
        }
        _ => notes.push(format!(
            "the message was not delivered to {}",
            list(&tx.recipients)
        )),
    }
    // Printed root cause first, then these in order.
    notes
        .into_iter()
        .fold(anyhow::Error::new(error), |e, note| e.context(note))
}
