//! `-bs`: an SMTP server on standard input and output (spec §10, issue 13), for Symfony Mailer's and
//! Laravel's default sendmail transport. The pieces are sans I/O and tested alone: the input buffer
//! with its bounded lines ([`line`]), the command parser ([`request`]), the dialogue's state machine
//! ([`dialogue`]), dot-unstuffing ([`data`]) and the reply writer ([`reply`]); [`stdio`] is the pipe
//! pair with a deadline on every wait, [`relay`] the message's fate at its dot. This file drives them.
//!
//! The data is unstuffed straight into the message spool (memory up to its limit, then a private
//! file), so a message is never held whole in memory beyond the spool's rules. Input that ends inside
//! the data discards the partial message and exits 75 (nullmailer-smtpd commits it: the bug to avoid);
//! a client silent for `--timeout` gets `421` and exit 75; end of input elsewhere, or QUIT, exits 0,
//! since Symfony throws on any other status. Nothing is written to stderr short of a fatal error:
//! Symfony reads it once after the start and never again, so a chatty child would block. The trace
//! goes to `--debug-file`; warnings go into the replies and the log.

mod data;
mod dialogue;
pub mod error;
mod line;
mod relay;
mod reply;
mod request;
mod stdio;

use std::io::{self, Read as _};

pub use error::ServeError;

use crate::exit::Outcome;
use crate::message::envelope::parse_address_list;
use crate::message::spool::{Spool, SpoolError};
use crate::queue::hooks;
use crate::settings::Settings;
use crate::smtp::trace::Trace;
use crate::submission;
use data::Unstuffer;
use dialogue::{Addresses, Dialogue, Envelope, Step};
use line::{Input, Line};
use relay::Relay;
use reply::Answer;
use stdio::{Client, Read};

/// Bytes read from the client at once.
const READ_CHUNK: usize = 16 * 1024;

/// Serve one session on standard input and output.
pub fn run(settings: &Settings) -> anyhow::Result<Outcome> {
    let trace = crate::dial::trace(settings)?;
    let mut server = Server {
        settings,
        client: Client::new(settings.server.timeout),
        input: Input::new(),
        dialogue: Dialogue::new(&settings.envelope.default_domain),
        relay: Relay::new(settings),
        trace,
    };
    let result = server.serve();
    let _ = server.client.flush();
    server.relay.close();
    result?;
    Ok(Outcome::Done)
}

struct Server<'a> {
    settings: &'a Settings,
    client: Client,
    input: Input,
    dialogue: Dialogue,
    relay: Relay<'a>,
    trace: Trace,
}

impl Server<'_> {
    fn serve(&mut self) -> Result<(), ServeError> {
        let greeting = self.dialogue.greeting();
        self.reply(&greeting)?;
        while let Some(line) = self.next_line()? {
            if let Line::Text(text) = &line {
                self.trace.note("bs client", &String::from_utf8_lossy(text));
            }
            match self.dialogue.on_line(line, &Judge) {
                Step::Reply(answer) => self.reply(&answer)?,
                Step::Quit(answer) => return self.reply(&answer),
                Step::Data(answer) => {
                    self.reply(&answer)?;
                    let envelope = self.dialogue.end_transaction().unwrap_or_default();
                    let answer = self.message(&envelope)?;
                    self.reply(&answer)?;
                }
            }
        }
        Ok(())
    }

    /// The next line, waiting for input as needed; `None` at the end of input.
    fn next_line(&mut self) -> Result<Option<Line>, ServeError> {
        loop {
            if let Some(line) = self.input.next_line() {
                return Ok(Some(line));
            }
            if !fill(&mut self.client, &mut self.input, &self.dialogue, false)? {
                return Ok(None);
            }
        }
    }

    /// Queue a reply for the client (flushed before the next wait for input).
    fn reply(&mut self, answer: &Answer) -> Result<(), ServeError> {
        let wire = answer.wire(self.dialogue.enhanced());
        self.trace
            .note("bs server", String::from_utf8_lossy(&wire).trim_end());
        self.client.write(&wire)
    }

    /// The data, then the message's fate as the reply to its dot.
    fn message(&mut self, envelope: &Envelope) -> Result<Answer, ServeError> {
        let mut reader = DataReader {
            client: &mut self.client,
            input: &mut self.input,
            dialogue: &self.dialogue,
            unstuffer: Unstuffer::new(),
            out: Vec::new(),
            ended: false,
            failure: None,
        };
        let spooled = Spool::read_from(&mut reader, false);
        if let Some(failure) = reader.failure.take() {
            return Err(failure);
        }
        let spool = match spooled {
            Ok(spool) => spool,
            Err(e) => return reader.discard(e),
        };
        hooks::kill_at("bs:data-received");
        let prepared = match self.prepare(envelope, &spool) {
            Ok(prepared) => prepared,
            Err(e) => {
                let causes = crate::exit::causes(&e).join(": ");
                return Ok(Answer::new(
                    554,
                    "5.6.0",
                    format!("Message refused: {causes}"),
                ));
            }
        };
        let answer = self.relay.message(&prepared, &spool);
        let notes = submission::long_line_note(&spool).into_iter().collect();
        Ok(answer.with_notes(notes))
    }

    /// The envelope of spec §2 from MAIL and RCPT (aliases and maildomain applied), the header edits,
    /// and the client's ESMTP parameters before the command line's.
    fn prepare(&self, envelope: &Envelope, spool: &Spool) -> anyhow::Result<submission::Prepared> {
        let mut policy = submission::policy_of(self.settings);
        policy.from = Some(envelope.mail.from.as_str());
        policy.read_recipients = false;
        let recipients: Vec<String> = envelope.recipients.iter().map(|r| r.to.clone()).collect();
        let mut prepared = submission::prepare_for(self.settings, spool, policy, &recipients)?;
        let tx = &mut prepared.transaction;
        let mail = &envelope.mail;
        tx.body_type = mail.body.or(tx.body_type);
        tx.dsn_ret = mail.ret.clone().or(tx.dsn_ret.take());
        tx.dsn_envid = mail.envid.clone().or(tx.dsn_envid.take());
        // One NOTIFY for the message (the engine's): the first the client gave.
        let notify = envelope.recipients.iter().find_map(|r| r.notify.clone());
        tx.dsn_notify = notify.or(tx.dsn_notify.take());
        Ok(prepared)
    }
}

/// Flush the replies, wait for input and buffer it; `false` at the end of input. A client silent for
/// the timeout gets 421 (RFC 5321 §4.5.3.2.7) and the session ends.
fn fill(
    client: &mut Client,
    input: &mut Input,
    dialogue: &Dialogue,
    in_data: bool,
) -> Result<bool, ServeError> {
    client.flush()?;
    let mut buf = [0u8; READ_CHUNK];
    match client.read(&mut buf)? {
        Read::Bytes(n) => {
            input.push(&buf[..n]);
            Ok(true)
        }
        Read::End => Ok(false),
        Read::TimedOut => {
            let _ = client
                .write(&dialogue.timed_out().wire(dialogue.enhanced()))
                .and_then(|()| client.flush());
            Err(ServeError::Timeout {
                seconds: client.timeout().as_secs(),
                in_data,
            })
        }
    }
}

/// The data as the spool reads it: unstuffed, ending at the dot; a failure of the client (end of
/// input, silence) is kept for the caller, who discards the partial message.
struct DataReader<'a> {
    client: &'a mut Client,
    input: &'a mut Input,
    dialogue: &'a Dialogue,
    unstuffer: Unstuffer,
    /// Unstuffed bytes not yet read.
    out: Vec<u8>,
    ended: bool,
    failure: Option<ServeError>,
}

impl io::Read for DataReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.out.is_empty() {
                let n = buf.len().min(self.out.len());
                buf[..n].copy_from_slice(&self.out[..n]);
                self.out.drain(..n);
                return Ok(n);
            }
            if self.ended {
                return Ok(0);
            }
            if self.input.is_empty() {
                match fill(self.client, self.input, self.dialogue, true) {
                    Ok(true) => {}
                    Ok(false) => self.failure = Some(ServeError::EndOfInputInData),
                    Err(e) => self.failure = Some(e),
                }
                if let Some(failure) = &self.failure {
                    return Err(io::Error::other(failure.to_string()));
                }
            }
            let (used, ended) = self.unstuffer.feed(self.input.bytes(), &mut self.out);
            self.input.consume(used);
            self.ended = ended;
        }
    }
}

impl DataReader<'_> {
    /// The spool could not take the message (a full disk): read the rest of the data to its dot, so
    /// the dialogue stays in step, and refuse the message for now.
    fn discard(mut self, error: SpoolError) -> Result<Answer, ServeError> {
        let mut sink = [0u8; READ_CHUNK];
        while !matches!(self.read(&mut sink), Ok(0) | Err(_)) {}
        if let Some(failure) = self.failure.take() {
            return Err(failure);
        }
        Ok(Answer::new(
            452,
            "4.3.1",
            format!("cannot spool the message: {error}; nothing was sent"),
        ))
    }
}

/// MAIL and RCPT addresses as spec §2 takes them: one RFC 5322 address each (a bare name is
/// aliased and qualified at the dot, by the same policy as a send's).
struct Judge;

impl Addresses for Judge {
    fn sender(&self, address: &str) -> Result<(), String> {
        match parse_address_list(address) {
            Ok(list) if list.len() == 1 => Ok(()),
            Ok(_) => Err("not one address".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn recipient(&self, address: &str) -> Result<(), String> {
        self.sender(address)
    }
}
