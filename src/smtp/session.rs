//! The protocol as a visible script: greet, hello, starttls (+ re-hello), auth, mail/rcpt/data, quit.
//!
//! Every protocol invariant lives in exactly one method here: `read_reply` is the only reader (bounded
//! parser, trace, 421 marks the connection closed); `write_command` is the only place a command reaches
//! the wire (CR/LF/NUL refused first, RFC 5321 §2.3.8; smtplib's putcmd check); `starttls` always refuses
//! bytes buffered before the handshake and always says EHLO again (RFC 3207 §4.2, catalogue A1/A2);
//! `send` gives exit status 0 only after the final 2xx (RFC 5321 §6.1, §4.2.1), one outcome per recipient for
//! LMTP (RFC 2033 §4.2). The connection's state is one [`Link`], changed only by [`Link::after_reply`]
//! and [`Link::after_error`]: after any error that leaves the dialogue out of step, the connection is
//! dropped, never reused (catalogue D31). A session sends any number of transactions
//! ([`transaction`]), back to back in one batch where the server allows ([`batch`]: several in one
//! write); the caller ends it with [`Session::quit`].
//!
//! Imports only the engine's own modules, `crate::tls` (the handshake) and `crate::progress`.

use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::time::Duration;

use super::auth::{AUTO_ORDER, Credentials, Exchange, MAX_CHALLENGES, Mechanism};
use super::capabilities::Capabilities;
use super::command::Command;
use super::error::{Error, Stage};
use super::reply::{self, Code, Parsed, Reply};
use super::trace::Trace;
use super::transport::{self, Stream};
use crate::tls::{PeerInfo, Tls, Verification};

mod batch;
mod mail;
mod transaction;
mod transfer;
mod typed;

#[cfg(test)]
mod tests;

pub use super::command::BodyType;
pub use batch::{Batch, FLIGHT_MESSAGES, Message, Then};
pub use mail::{Delivery, Transaction};

/// How the session talks: the greeting name, LMTP or SMTP, and the time bounds.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// The EHLO argument; `None`: the address literal of this connection's local end.
    pub domain: Option<String>,
    pub lmtp: bool,
    /// Bound on every wait (connect, each reply, each write).
    pub timeout: Duration,
    /// Bound on the wait for the reply after the final dot (RFC 5321 §4.5.3.2.6 asks for 10 minutes).
    pub final_timeout: Duration,
}

/// How to authenticate.
#[derive(Debug)]
pub struct AuthRequest<'a> {
    /// `None`: choose from the server's list in [`AUTO_ORDER`]; `Some`: exactly this mechanism.
    pub mechanism: Option<Mechanism>,
    pub credentials: Credentials<'a>,
    pub initial_response: bool,
    pub allow_plaintext: bool,
}

/// A stand-in for the stream while STARTTLS moves it into TLS.
struct Detached;

impl Read for Detached {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl Write for Detached {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::from(io::ErrorKind::NotConnected))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Stream for Detached {}

const READ_CHUNK: usize = 16 * 1024;

/// The EHLO address literal of this end of the connection, as RFC 5321 §4.1.4 asks ("the IP address of
/// the SMTP client"), not of the host name as smtplib has it (issue 10, point 23): with
/// `--source-address` or several interfaces they differ. A Unix socket has no address: the connection is
/// local to this host, so its loopback literal.
fn address_literal(ip: Option<IpAddr>) -> String {
    match ip.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V4(v4)) => format!("[{v4}]"),
        Some(IpAddr::V6(v6)) => format!("[IPv6:{v6}]"),
        None => "[127.0.0.1]".to_string(),
    }
}

/// The state of the connection under the session: the one place that says whether another command
/// may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// In step: the next command may go.
    Ready,
    /// QUIT went out with the end of the data (RFC 2920 §3.1); only replies are left to read.
    QuitSent,
    /// The connection may no longer be used (421, 221, lost, out of step, half-way into TLS): no RSET,
    /// no QUIT.
    Broken,
}

impl Link {
    /// After a reply: 421 (RFC 5321 §3.8, the server is closing; smtplib sends nothing more) and 221
    /// (§4.2.2, the channel is closed; issue 10, point 9) end the dialogue.
    fn after_reply(self, reply: &Reply) -> Link {
        match reply.code {
            Code::UNAVAILABLE | Code::CLOSING => Link::Broken,
            _ => self,
        }
    }

    /// After an error: whether the dialogue is still in step. A refusal leaves it in step (the caller
    /// may RSET and go on); a lost, stalled or garbled connection, a reply that does not fit, a TLS
    /// failure or data that could not be read (catalogue F43: the end of the data must never follow)
    /// do not.
    fn after_error(self, error: &Error) -> Link {
        match error {
            Error::Timeout { .. }
            | Error::Closed { .. }
            | Error::Io { .. }
            | Error::Protocol { .. }
            | Error::Unsolicited { .. }
            | Error::Unexpected { .. }
            | Error::UnknownOutcome { .. }
            | Error::StartTlsInjection
            | Error::Tls { .. }
            | Error::NotTls { .. }
            | Error::AuthLoop(_)
            | Error::Input(_) => Link::Broken,
            _ => match error.reply() {
                Some(reply) => self.after_reply(reply),
                None => self,
            },
        }
    }
}

pub struct Session {
    stream: Box<dyn Stream>,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    trace: Trace,
    opts: SessionOptions,
    greeting: Reply,
    caps: Capabilities,
    tls: Option<PeerInfo>,
    link: Link,
    /// The last reply to a typed line was 334: the next typed line is a SASL response ([`typed`]).
    challenged: bool,
    /// A progress line for a person at a terminal (long sends only).
    progress: Option<crate::progress::Progress>,
    /// Every recipient or none ([`Session::whole_or_none`]).
    whole_or_none: bool,
}

/// Wrap `stream` in TLS and finish the handshake; report it in the trace.
pub fn secure(
    stream: Box<dyn Stream>,
    tls: &Tls,
    timeout: Duration,
    trace: &mut Trace,
) -> Result<(Box<dyn Stream>, PeerInfo), Error> {
    let tls_stream =
        transport::handshake(stream, timeout, tls.config.clone(), tls.server_name.clone())?;
    let info = crate::tls::peer_info(&tls_stream.conn, &tls.log);
    trace.note("tls", &format!("{} {}", info.version, info.cipher));
    trace.note(
        "tls",
        &format!("subject: {}; issuer: {}", info.subject, info.issuer),
    );
    let verdict = match &info.verification {
        Some(Verification::Verified) => "certificate verified (chain and host name)".to_string(),
        Some(Verification::Pinned) => "certificate accepted: SHA-256 fingerprint matches the pin".to_string(),
        Some(Verification::Disabled) => {
            "CERTIFICATE NOT VERIFIED: --tls-certcheck off (anyone on the path can read this session)".to_string()
        }
        Some(Verification::Failed(why)) => format!("certificate verification FAILED: {why}"),
        None => "certificate verification result unknown".to_string(),
    };
    trace.note("tls", &verdict);
    Ok((Box::new(tls_stream), info))
}

impl Session {
    /// Read the greeting on a fresh connection (already in TLS for implicit TLS).
    pub fn open(
        stream: Box<dyn Stream>,
        trace: Trace,
        opts: SessionOptions,
        tls: Option<PeerInfo>,
    ) -> Result<Session, Error> {
        let mut session = Session {
            stream,
            rbuf: Vec::new(),
            wbuf: Vec::new(),
            trace,
            opts,
            greeting: Reply::new(0, ""),
            caps: Capabilities::none(),
            tls,
            link: Link::Ready,
            challenged: false,
            progress: None,
            whole_or_none: false,
        };
        session.read_greeting()?;
        Ok(session)
    }

    fn read_greeting(&mut self) -> Result<(), Error> {
        let reply = self.read_reply(Stage::Greeting)?;
        self.trace.greeting(&reply.message());
        if reply.code != Code::READY {
            // A 554 greeting still wants QUIT (RFC 5321 §3.1); a 421 has closed (Link::after_reply).
            return Err(Error::Greeting(reply));
        }
        self.greeting = reply;
        self.expect_quiet(Stage::Greeting)
    }

    pub fn greeting(&self) -> &Reply {
        &self.greeting
    }

    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    pub fn tls_info(&self) -> Option<&PeerInfo> {
        self.tls.as_ref()
    }

    pub fn trace(&mut self) -> &mut Trace {
        &mut self.trace
    }

    /// From now on a message goes to every recipient or to none: a recipient refused for good at RCPT
    /// ends the transaction with RSET before any data, and the send fails with every refusal. The
    /// commands then go one at a time, since DATA must wait for every RCPT's answer. For `-bs` (spec
    /// §10), whose caller can be told only one outcome per message.
    pub fn whole_or_none(&mut self) {
        self.whole_or_none = true;
    }

    /// Show the progress of the data transfer on a terminal.
    pub fn show_progress(&mut self, progress: crate::progress::Progress) {
        self.progress = Some(progress);
    }

    /// EHLO (LHLO for LMTP); on a refused EHLO, HELO without any ESMTP extension (RFC 5321 §3.2).
    pub fn hello(&mut self) -> Result<(), Error> {
        let name = match &self.opts.domain {
            Some(name) => name.clone(),
            None => address_literal(self.stream.local_ip()),
        };
        let cmd = if self.opts.lmtp {
            Command::Lhlo(name.clone())
        } else {
            Command::Ehlo(name.clone())
        };
        let reply = self.command(cmd, Stage::Hello)?;
        if reply.code == Code::OK {
            self.caps = Capabilities::parse(&reply);
            return Ok(());
        }
        self.reject_odd_positive(&reply, Stage::Hello)?;
        self.caps = Capabilities::none();
        if reply.code == Code::UNAVAILABLE || self.opts.lmtp {
            return Err(Error::Rejected {
                stage: Stage::Hello,
                reply,
            });
        }
        let reply = self.command(Command::Helo(name), Stage::Hello)?;
        if reply.code != Code::OK {
            self.reject_odd_positive(&reply, Stage::Hello)?;
            return Err(Error::Rejected {
                stage: Stage::Hello,
                reply,
            });
        }
        Ok(())
    }

    /// STARTTLS, the handshake, and EHLO again; nothing learnt before TLS survives (RFC 3207 §4.2).
    pub fn starttls(&mut self, tls: &Tls) -> Result<(), Error> {
        if !self.caps.starttls() {
            return Err(Error::NotOffered(
                "the server does not offer STARTTLS; nothing was sent (use --tls off to send in plaintext, or \
                 --tls implicit for a port that speaks TLS at once)"
                    .into(),
            ));
        }
        let reply = self.exchange(Command::StartTls, Stage::StartTls)?;
        if reply.code != Code::READY {
            self.reject_odd_positive(&reply, Stage::StartTls)?;
            return Err(Error::Rejected {
                stage: Stage::StartTls,
                reply,
            });
        }
        if !self.rbuf.is_empty() {
            // Catalogue A1: anything the server sent after its 220 was sent in plaintext and would be
            // read as if it came through TLS.
            return Err(self.fail(Error::StartTlsInjection));
        }
        // Until the handshake is done the stream is Detached; any handshake error is a TLS or
        // transport error, which leaves the link Broken.
        let plain = std::mem::replace(&mut self.stream, Box::new(Detached));
        let (stream, info) =
            secure(plain, tls, self.opts.timeout, &mut self.trace).map_err(|e| self.fail(e))?;
        self.stream = stream;
        self.tls = Some(info);
        self.caps = Capabilities::none();
        self.hello()
    }

    /// Authenticate; with `mechanism: None`, try each advertised mechanism of [`AUTO_ORDER`] in turn after
    /// an authentication failure, like smtplib's login(), and report the last failure.
    pub fn authenticate(&mut self, req: &AuthRequest<'_>) -> Result<(), Error> {
        if self.tls.is_none() && !req.allow_plaintext {
            return Err(Error::Policy(
                "refusing to send credentials over a connection without TLS (use --tls starttls or --tls \
                 implicit, or --allow-plaintext-auth if the network is trusted)"
                    .into(),
            ));
        }
        let offered = self.caps.auth_mechanisms().to_vec();
        if offered.is_empty() {
            return Err(Error::NotOffered(
                "credentials are configured but the server does not offer authentication (AUTH); nothing was \
                 sent"
                    .into(),
            ));
        }
        let is_offered = |m: Mechanism| offered.iter().any(|o| o.eq_ignore_ascii_case(m.name()));
        let candidates: Vec<Mechanism> = match req.mechanism {
            Some(m) if is_offered(m) => vec![m],
            Some(m) => {
                return Err(Error::NotOffered(format!(
                    "the server does not offer AUTH {} (it offers: {})",
                    m.name(),
                    offered.join(" ")
                )));
            }
            None => AUTO_ORDER
                .iter()
                .copied()
                .filter(|m| is_offered(*m))
                .collect(),
        };
        if candidates.is_empty() {
            return Err(Error::NotOffered(format!(
                "the server offers no authentication mechanism mailsend supports (it offers: {})",
                offered.join(" ")
            )));
        }
        let mut last = None;
        for mech in candidates {
            match self.auth_with(mech, req) {
                Ok(()) => return Ok(()),
                Err(e @ Error::AuthFailed { .. }) if self.link == Link::Ready => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last
            .unwrap_or_else(|| Error::Policy("no authentication mechanism could be tried".into())))
    }

    fn auth_with(&mut self, mech: Mechanism, req: &AuthRequest<'_>) -> Result<(), Error> {
        let exchange_error = |source| Error::AuthExchange {
            mechanism: mech.name().to_string(),
            source,
        };
        let mut exchange = Exchange::start(mech, &req.credentials, req.initial_response)
            .map_err(exchange_error)?;
        let initial = exchange.initial_response();
        let mut reply = self.command(
            Command::Auth {
                mechanism: mech.name().to_string(),
                initial,
            },
            Stage::Auth,
        )?;
        let mut rounds = 0;
        while reply.code == Code::AUTH_CHALLENGE {
            rounds += 1;
            if rounds > MAX_CHALLENGES {
                return Err(self.fail(Error::AuthLoop(MAX_CHALLENGES)));
            }
            let challenge = reply.lines.first().cloned().unwrap_or_default();
            match exchange.respond(&challenge) {
                Ok(line) => reply = self.command(Command::AuthResponse(line), Stage::Auth)?,
                Err(e) => {
                    // RFC 4954 §4: "*" cancels the exchange; the server answers 501.
                    let _ = self.command(
                        Command::AuthResponse(crate::secret::Secret::new("*")),
                        Stage::Auth,
                    );
                    return Err(exchange_error(e));
                }
            }
        }
        match reply.code {
            Code::AUTHENTICATED if exchange.finished_ok() => Ok(()),
            Code::AUTHENTICATED => Err(exchange_error(
                super::auth::AuthError::ServerSignatureMismatch,
            )),
            Code::UNAVAILABLE => Err(Error::Rejected {
                stage: Stage::Auth,
                reply,
            }),
            // Catalogue item 30: after a reply that does not fit, no further mechanism (no more
            // credentials) is tried.
            _ if reply.is_positive() => Err(self.fail(Error::Unexpected {
                stage: Stage::Auth,
                reply,
            })),
            _ => Err(Error::AuthFailed {
                mechanism: mech.name().to_string(),
                reply,
            }),
        }
    }

    /// A positive reply other than the one `stage` has (EHLO's 250, STARTTLS's 220) is out of step, a
    /// server repeating its greeting for one: abort, never go on as if it succeeded (catalogue item 30).
    fn reject_odd_positive(&mut self, reply: &Reply, stage: Stage) -> Result<(), Error> {
        if !reply.is_positive() {
            return Ok(());
        }
        Err(self.fail(Error::Unexpected {
            stage,
            reply: reply.clone(),
        }))
    }

    /// The one place an error changes the link ([`Link::after_error`]); it passes the error on.
    fn fail(&mut self, error: Error) -> Error {
        self.link = self.link.after_error(&error);
        if self.link == Link::Broken {
            // Nothing queued may follow on a connection given up.
            self.wbuf.clear();
        }
        error
    }

    /// Like [`Session::fail`], for an error that leaves the dialogue out of step whatever it says (a
    /// refusal read where the server should have been waiting for the data, catalogue E37).
    fn abort(&mut self, error: Error) -> Error {
        self.link = Link::Broken;
        self.fail(error)
    }

    /// Send one command and read its reply; the server must then be silent.
    fn command(&mut self, cmd: Command, stage: Stage) -> Result<Reply, Error> {
        let reply = self.exchange(cmd, stage)?;
        self.expect_quiet(stage)?;
        Ok(reply)
    }

    fn exchange(&mut self, cmd: Command, stage: Stage) -> Result<Reply, Error> {
        self.queue(&cmd)?;
        self.flush(stage)?;
        self.read_reply(stage)
    }

    /// Bytes beyond the replies we asked for mean the dialogue is out of step (a reply to a command that
    /// was not sent): stop rather than read them as the next reply (catalogue D31).
    fn expect_quiet(&mut self, stage: Stage) -> Result<(), Error> {
        if self.rbuf.is_empty() || self.link == Link::Broken {
            return Ok(());
        }
        Err(self.fail(Error::Unsolicited { stage }))
    }

    /// Append a command to the write buffer; the trace shows it (secrets redacted by Command's Display).
    fn queue(&mut self, cmd: &Command) -> Result<(), Error> {
        cmd.validate()?;
        self.trace.send(&cmd.to_string());
        self.wbuf.extend_from_slice(&cmd.wire());
        Ok(())
    }

    /// One write for everything queued.
    fn flush(&mut self, stage: Stage) -> Result<(), Error> {
        if self.link == Link::Broken {
            self.wbuf.clear();
            return Err(Error::Closed { stage });
        }
        // One bound for the whole write, however many partial writes it takes (issue 10, point 10).
        let result = self
            .stream
            .bound_writes(self.opts.timeout)
            .and_then(|()| self.stream.send(&self.wbuf));
        self.wbuf.clear();
        result.map_err(|e| self.fail(Error::io(stage, e)))
    }

    /// The reader for every reply but the last ones: bounded by `--timeout`.
    fn read_reply(&mut self, stage: Stage) -> Result<Reply, Error> {
        self.read_reply_within(stage, self.opts.timeout)
    }

    /// The only reader: bounded parse, trace, and 421/221 handling. `wait` bounds the whole reply, not
    /// each read: a server that trickles bytes cannot stretch it.
    fn read_reply_within(&mut self, stage: Stage, wait: Duration) -> Result<Reply, Error> {
        if self.link == Link::Broken {
            return Err(Error::Closed { stage });
        }
        self.read_any_reply(stage, wait)
    }

    /// What [`Session::read_reply`] does, on a connection already given up: a server that hangs up
    /// in the middle of the data may have said why first (catalogue E37).
    fn read_parting_reply(&mut self, stage: Stage) -> Option<Reply> {
        self.read_any_reply(stage, Duration::from_secs(1)).ok()
    }

    fn read_any_reply(&mut self, stage: Stage, wait: Duration) -> Result<Reply, Error> {
        // One bound for the whole reply, however many reads (and TLS records) it takes.
        if let Err(e) = self.stream.bound_reads(wait) {
            return Err(self.fail(Error::io(stage, e)));
        }
        loop {
            match reply::parse(&self.rbuf) {
                Ok(Parsed::Complete {
                    reply,
                    raw_lines,
                    consumed,
                }) => {
                    for line in raw_lines {
                        self.trace.reply_line(line);
                    }
                    self.trace.reply(reply.code.get(), &reply.message());
                    self.rbuf.drain(..consumed);
                    self.link = self.link.after_reply(&reply);
                    if reply.code == Code::CLOSING && stage != Stage::Quit {
                        // 221 closes the channel (RFC 5321 §4.2.2): to anything but QUIT it is no
                        // success (issue 10, point 9; catalogue item 30). After pipelined data it is
                        // QUIT's reply, so what it stands in for is unknown (point 7).
                        return Err(Error::Unexpected { stage, reply });
                    }
                    return Ok(reply);
                }
                Ok(Parsed::Incomplete) => {}
                Err(source) => return Err(self.fail(Error::Protocol { stage, source })),
            }
            self.read_more(stage)?;
        }
    }

    /// One read into the buffer; end of file is the server closing.
    fn read_more(&mut self, stage: Stage) -> Result<(), Error> {
        let start = self.rbuf.len();
        self.rbuf.resize(start + READ_CHUNK, 0);
        let result = self.stream.read(&mut self.rbuf[start..]);
        match result {
            Ok(0) => {
                self.rbuf.truncate(start);
                Err(self.fail(Error::Closed { stage }))
            }
            Ok(n) => {
                self.rbuf.truncate(start + n);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                self.rbuf.truncate(start);
                Ok(())
            }
            Err(e) => {
                self.rbuf.truncate(start);
                Err(self.fail(Error::io(stage, e)))
            }
        }
    }

    /// QUIT when the connection is still in step (or read its reply when it went with the data); a
    /// missing 221 is not an error (spec §3).
    pub fn quit(mut self) -> Trace {
        let sent = match self.link {
            Link::QuitSent => true,
            Link::Ready => self.queue(&Command::Quit).is_ok() && self.flush(Stage::Quit).is_ok(),
            Link::Broken => false,
        };
        if sent {
            let wait = self.opts.timeout.min(Duration::from_secs(10));
            let _ = self.read_reply_within(Stage::Quit, wait);
        }
        self.trace
    }

    /// Drop the connection without a word (after an error that left it out of step).
    pub fn into_trace(self) -> Trace {
        self.trace
    }

    /// The connection may no longer be used: no further command, no QUIT.
    pub fn is_broken(&self) -> bool {
        self.link == Link::Broken
    }

    /// Another transaction may start: the last one ended and left the dialogue in step.
    pub fn is_ready(&self) -> bool {
        self.link == Link::Ready
    }
}
