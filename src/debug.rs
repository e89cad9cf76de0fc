//! The server debugging toolkit (issue 7): what an administrator uses to probe a server, from the
//! command line. `--command`, `--verify` and `--expn` are smtplib's `docmd`, `verify` and `expn`
//! (smtplib-behaviour.md §2, §7) after the configured greeting, EHLO, STARTTLS and AUTH; `--quit-after`
//! is swaks' stop point: the normal dialogue up to a stage, then a clean QUIT (RFC 5321 §4.1.1.10);
//! [`serverinfo`] reports what a server offers and what mailsend makes of it (issue 3); [`interactive`]
//! is a typed session on the established connection. Every command typed by the user goes through the
//! engine's one writer, so the CR/LF/NUL check of RFC 5321 §2.3.8 and the redaction of AUTH secrets in
//! the trace (RFC 4954 §4, catalogue item 22) apply here as everywhere.
//!
//! Imports the settings, the dialer (every mode here sets up its connection through `dial`) and the
//! engine; never `app` or the command line.

pub mod error;
mod interactive;
mod serverinfo;

pub use error::DebugError;
pub use interactive::interactive;
pub use serverinfo::serverinfo;

use std::io::{self, Write};

use crate::dial::Plan;
use crate::exit::Outcome;
use crate::settings::{Probe, Settings, TlsUse};
use crate::smtp::command::{self, Command};
use crate::smtp::reply::{Code, Reply, printable};
use crate::smtp::session::Transaction;
use crate::values::Stage as StopAt;

/// The first word of a typed line, upper case.
pub(crate) fn verb_of(line: &str) -> String {
    line.split_ascii_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase()
}

/// `CODE text`, the lines joined with "\n" as smtplib's `docmd` message is; each line made safe for a
/// terminal (catalogue item 29).
pub(crate) fn reply_text(reply: &Reply) -> String {
    let lines: Vec<String> = reply.lines.iter().map(|l| printable(l)).collect();
    let text = lines.join("\n");
    if text.is_empty() {
        reply.code.to_string()
    } else {
        format!("{} {text}", reply.code)
    }
}

/// `--command`, `--verify`, `--expn`: check every command before connecting, then after greeting, EHLO,
/// STARTTLS and AUTH as configured send each in turn and print its reply as `CODE text` on stdout, then
/// QUIT. The `--command`s go first, then the `--verify`s, then the `--expn`s.
pub fn commands(settings: &Settings, planned: &[Probe]) -> anyhow::Result<Outcome> {
    check_planned(planned)?;
    let mut session = Plan::new(settings, StopAt::Auth)?.dial(&mut ())?;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut replies = Vec::new();
    for item in planned {
        let sent = match item {
            Probe::Typed(line) => session.typed(line),
            Probe::Vrfy(address) => session.verify(address),
            Probe::Expn(list) => session.expand(list),
        };
        let reply = match sent {
            Ok(reply) => reply,
            Err(e) => {
                session.quit();
                return Err(e.into());
            }
        };
        writeln!(out, "{}", reply_text(&reply))?;
        out.flush()?;
        let code = reply.code;
        replies.push(reply);
        if code == Code::UNAVAILABLE {
            session.into_trace();
            return Ok(Outcome::Closing);
        }
        if matches!(item, Probe::Typed(line) if verb_of(line) == "QUIT") {
            session.into_trace();
            return Ok(Outcome::Answered(replies));
        }
        if code == Code::START_INPUT {
            // The server now reads message data until CRLF.CRLF (RFC 5321 §4.1.1.4): any further
            // command would become part of a message. Closing without the final dot delivers nothing.
            let mut err = io::stderr().lock();
            let _ = writeln!(
                err,
                "mailsend: the server is waiting for message data after {}; --command sends none, so the \
                 connection is closed without the final dot (nothing is delivered)",
                item.option()
            );
            session.into_trace();
            return Ok(Outcome::Answered(replies));
        }
    }
    session.quit();
    Ok(Outcome::Answered(replies))
}

/// Every planned command must be sendable before anything is sent (spec §3: CR, LF and NUL are refused,
/// exit 65); an empty `--command` or a typed STARTTLS is a usage error.
fn check_planned(planned: &[Probe]) -> anyhow::Result<()> {
    for (n, item) in planned.iter().enumerate() {
        let command = match item {
            Probe::Typed(line) if line.trim().is_empty() => {
                return Err(DebugError::EmptyCommand.into());
            }
            Probe::Typed(line) => command::typed(line, false).map_err(DebugError::Typed)?,
            Probe::Vrfy(address) => Command::Vrfy(address.clone()),
            Probe::Expn(list) => Command::Expn(list.clone()),
        };
        // The message names the faulty part but never repeats the value, which may be a credential.
        command
            .validate()
            .map_err(|source| DebugError::Unsendable {
                option: item.option(),
                number: n + 1,
                of: planned.len(),
                source,
            })?;
    }
    Ok(())
}

/// `--quit-after STAGE`: the normal dialogue up to STAGE, then a clean QUIT; no message is sent. After
/// `connect` there is no greeting yet, so the connection is just closed. `tx` is the envelope, needed for
/// `mail` and `rcpt` only. Prints nothing on stdout; the trace shows the dialogue.
pub fn quit_after(
    settings: &Settings,
    stage: StopAt,
    tx: Option<&Transaction>,
) -> anyhow::Result<Outcome> {
    if stage == StopAt::Starttls && settings.tls.mode == TlsUse::None {
        return Err(DebugError::StarttlsWithoutTls.into());
    }
    if stage == StopAt::Auth && settings.auth.login.is_none() {
        return Err(DebugError::AuthWithoutLogin.into());
    }
    if stage >= StopAt::Mail && tx.is_none() {
        return Err(DebugError::NoEnvelope.into());
    }
    let plan = Plan::new(settings, stage)?;
    match (stage, tx) {
        (StopAt::Connect, _) => {
            let mut trace = crate::dial::trace(settings)?;
            drop(plan.connect(&mut trace)?);
        }
        (StopAt::Mail | StopAt::Rcpt, Some(tx)) => {
            let mut session = plan.dial(&mut ())?;
            let refused = match session.envelope_only(tx, stage == StopAt::Rcpt) {
                Ok(refused) => refused,
                Err(e) => {
                    session.quit();
                    return Err(e.into());
                }
            };
            session.quit();
            return Ok(report_partial_refusal(tx, &refused));
        }
        _ => {
            plan.dial(&mut ())?.quit();
        }
    }
    Ok(Outcome::Done)
}

/// `--quit-after rcpt` with some recipients accepted and some refused: name both, as a send would, and
/// give the outcome a send would (67, or 75 when a refusal was temporary) so a script can tell; the
/// run itself stopped by request, so nothing was sent to anyone (issue 10, point 11).
fn report_partial_refusal(tx: &Transaction, refused: &[crate::smtp::error::Refusal]) -> Outcome {
    if refused.is_empty() {
        return Outcome::Done;
    }
    let mut err = io::stderr().lock();
    for (rcpt, reply) in refused {
        let _ = writeln!(err, "mailsend: the server refused <{rcpt}>: {reply}");
    }
    let accepted: Vec<String> = tx
        .recipients
        .iter()
        .filter(|r| !refused.iter().any(|(refused, _)| refused == *r))
        .map(|r| format!("<{r}>"))
        .collect();
    let _ = writeln!(
        err,
        "mailsend: the server accepted {}; stopped after RCPT as asked (--quit-after rcpt), so no message \
         was sent",
        accepted.join(", ")
    );
    Outcome::refusals(refused)
}

#[cfg(test)]
mod tests;
