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

mod interactive;
mod serverinfo;

pub use interactive::interactive;
pub use serverinfo::serverinfo;

use std::io::{self, Write};

use crate::dial::Plan;
use crate::exit::{self, Exit};
use crate::secret::Secret;
use crate::settings::{Probe, Settings, TlsUse};
use crate::smtp::command::Command;
use crate::smtp::error::{Error, Stage};
use crate::smtp::reply::{Reply, printable};
use crate::smtp::session::{Session, Transaction};
use crate::smtp::trace::Trace;
use crate::values::Stage as StopAt;

/// The command to send for a probe; `after_challenge`: the previous reply was a 334, so a typed line is a
/// SASL response and is redacted in the trace (RFC 4954 §4).
fn probe_command(probe: &Probe, after_challenge: bool) -> Command {
    match probe {
        Probe::Typed(line) => typed(line, after_challenge),
        Probe::Vrfy(arg) => Command::Vrfy(arg.clone()),
        Probe::Expn(arg) => Command::Expn(arg.clone()),
    }
}

/// Where a typed dialogue (`--command`, `--interactive`) stands after each reply.
#[derive(Debug, Default)]
pub(crate) struct Typing {
    /// The last reply was a 334: the next line is a SASL response, redacted (RFC 4954 §4).
    pub challenged: bool,
    /// The last reply was a 421: the server is closing the channel, so no more commands and no QUIT
    /// (RFC 5321 §3.8).
    pub closed: bool,
}

impl Typing {
    /// Send one command of the dialogue and note what its reply means for the next.
    pub fn send(&mut self, session: &mut Session, command: Command) -> Result<Reply, Error> {
        let stage = match &command {
            Command::Raw(line) => stage_of(&verb_of(line)),
            _ => Stage::Command,
        };
        let reply = session.command(command, stage)?;
        self.note(&reply);
        Ok(reply)
    }

    pub fn note(&mut self, reply: &Reply) {
        self.challenged = reply.code == 334;
        self.closed = reply.code == 421;
    }
}

/// A line the user typed, as a command. `AUTH MECH initial-response` and every line after a 334 carry
/// credentials, so they become the AUTH commands whose trace form is `<redacted>`; anything else is sent
/// exactly as typed.
pub(crate) fn typed(line: &str, after_challenge: bool) -> Command {
    if after_challenge {
        return Command::AuthResponse(Secret::new(line));
    }
    // Servers split on any blank, so must we: `AUTH\tPLAIN …` or ` AUTH PLAIN …` is an AUTH too.
    const BLANK: [char; 2] = [' ', '\t'];
    let mut words = line.trim_start_matches(BLANK).splitn(2, BLANK);
    let verb = words.next().unwrap_or_default();
    let rest = words.next().unwrap_or_default().trim_start_matches(BLANK);
    if !verb.eq_ignore_ascii_case("AUTH") || rest.is_empty() {
        return Command::Raw(line.to_owned());
    }
    let (mechanism, initial) = match rest.split_once(BLANK) {
        Some((mechanism, initial)) => (mechanism, initial.trim_start_matches(BLANK)),
        None => (rest, ""),
    };
    Command::Auth {
        mechanism: mechanism.to_owned(),
        initial: (!initial.is_empty()).then(|| Secret::new(initial)),
    }
}

/// The stage a typed line is read at: a typed QUIT is answered 221, which anywhere else means the server
/// is closing (issue 10, point 9).
pub(crate) fn stage_of(verb: &str) -> Stage {
    match verb {
        "QUIT" => Stage::Quit,
        _ => Stage::Command,
    }
}

/// The first word of a typed line, upper case.
pub(crate) fn verb_of(line: &str) -> String {
    line.split_ascii_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase()
}

/// Why a typed STARTTLS is not sent: the server would start the handshake while mailsend went on in
/// plaintext, so the dialogue would be lost; TLS is negotiated by mailsend itself (RFC 3207 §4.2 also
/// needs the EHLO again, which the engine does).
pub(crate) const TYPED_STARTTLS: &str = "STARTTLS cannot be typed: use --tls starttls, and mailsend starts TLS itself \
     (handshake, certificate check, EHLO again) before the commands";

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

/// The exit status of a run of `--command`s: 0 while every reply is 2xx or 3xx, 75 once any was 4xx
/// (worth retrying), else 69 when any was 5xx (spec §1).
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    transient: bool,
    permanent: bool,
}

impl Tally {
    fn add(&mut self, reply: &Reply) {
        self.transient |= reply.is_transient();
        self.permanent |= reply.is_permanent();
    }

    fn status(self) -> u8 {
        if self.transient {
            exit::TEMPFAIL
        } else if self.permanent {
            exit::UNAVAILABLE
        } else {
            exit::OK
        }
    }
}

/// `--command`, `--verify`, `--expn`: check every command before connecting, then after greeting, EHLO,
/// STARTTLS and AUTH as configured send each in turn and print its reply as `CODE text` on stdout, then
/// QUIT. The `--command`s go first, then the `--verify`s, then the `--expn`s.
pub fn commands(settings: &Settings, planned: &[Probe]) -> anyhow::Result<u8> {
    check_planned(planned)?;
    let mut session = Plan::new(settings, StopAt::Auth)?.dial(&mut ())?;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut tally = Tally::default();
    let mut typing = Typing::default();
    for item in planned {
        let reply = match typing.send(&mut session, probe_command(item, typing.challenged)) {
            Ok(reply) => reply,
            Err(e) => {
                session.quit();
                return Err(e.into());
            }
        };
        writeln!(out, "{}", reply_text(&reply))?;
        out.flush()?;
        tally.add(&reply);
        if typing.closed {
            session.into_trace();
            return Ok(exit::TEMPFAIL);
        }
        if matches!(item, Probe::Typed(line) if verb_of(line) == "QUIT") {
            session.into_trace();
            return Ok(tally.status());
        }
        if reply.code == 354 {
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
            return Ok(tally.status());
        }
    }
    session.quit();
    Ok(tally.status())
}

/// Every planned command must be sendable before anything is sent (spec §3: CR, LF and NUL are refused,
/// exit 65); an empty `--command` or a typed STARTTLS is a usage error.
fn check_planned(planned: &[Probe]) -> anyhow::Result<()> {
    for (n, item) in planned.iter().enumerate() {
        if let Probe::Typed(line) = item {
            if line.trim().is_empty() {
                return Err(Exit::usage("--command needs a command, e.g. --command NOOP").into());
            }
            if verb_of(line) == "STARTTLS" {
                return Err(Exit::usage(TYPED_STARTTLS).into());
            }
        }
        // The message names the faulty part but never repeats the value, which may be a credential.
        probe_command(item, false).validate().map_err(|e| {
            Exit::data(format!(
                "{} (command {} of {}): {e}",
                item.option(),
                n + 1,
                planned.len()
            ))
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
) -> anyhow::Result<u8> {
    if stage == StopAt::Starttls && settings.tls.mode == TlsUse::None {
        return Err(Exit::usage(
            "--quit-after starttls, but TLS is not in use (--tls off, or --tls auto for a loopback host); use \
             --tls starttls",
        )
        .into());
    }
    if stage == StopAt::Auth && settings.auth.login.is_none() {
        return Err(Exit::usage(
            "--quit-after auth, but no credentials are configured (--user, or user in the configuration)",
        )
        .into());
    }
    if stage >= StopAt::Mail && tx.is_none() {
        return Err(Exit::usage("--quit-after mail and rcpt need the envelope").into());
    }
    let plan = Plan::new(settings, stage)?;
    match (stage, tx) {
        (StopAt::Connect, _) => {
            let mut trace = Trace::stderr(settings.logging.debug);
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
    Ok(exit::OK)
}

/// `--quit-after rcpt` with some recipients accepted and some refused: name both, as a send would, and
/// give the status a send would (67, or 75 when a refusal was temporary) so a script can tell; the run
/// itself stopped by request, so nothing was sent to anyone (issue 10, point 11).
fn report_partial_refusal(tx: &Transaction, refused: &[crate::smtp::error::Refusal]) -> u8 {
    if refused.is_empty() {
        return exit::OK;
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
    exit::for_refusals(refused.iter().map(|(_, r)| r))
}

#[cfg(test)]
mod tests;
