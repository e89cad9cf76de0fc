//! The protocol as a visible script: greet, hello, starttls (+ re-hello), auth, mail/rcpt/data, quit.
//!
//! Every protocol invariant lives in exactly one method here: `read_reply` is the only reader (bounded
//! parser, trace, 421 marks the connection closed); `write_command` is the only place a command reaches
//! the wire (CR/LF/NUL refused first, RFC 5321 §2.3.8; smtplib's putcmd check); `starttls` always refuses
//! bytes buffered before the handshake and always says EHLO again (RFC 3207 §4.2, catalogue A1/A2);
//! `send` gives exit status 0 only after the final 2xx (RFC 5321 §6.1, §4.2.1), one outcome per recipient for
//! LMTP (RFC 2033 §4.2). After any error that leaves the dialogue out of step, the connection is dropped,
//! never reused (catalogue D31).

use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::time::Duration;

use super::auth::{AUTO_ORDER, Credentials, Exchange, MAX_CHALLENGES, Mechanism};
use super::capabilities::Capabilities;
use super::command::Command;
use super::error::{Error, Stage};
use super::reply::{self, Parsed, Reply};
use super::trace::Trace;
use super::transport::{self, Stream};
use crate::tls::{PeerInfo, Tls, Verification};

mod mail;

pub use mail::{BodyType, Delivery, Transaction};

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
pub struct AuthRequest {
    /// `None`: choose from the server's list in [`AUTO_ORDER`]; `Some`: exactly this mechanism.
    pub mechanism: Option<Mechanism>,
    pub credentials: Credentials,
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

impl Stream for Detached {
    fn set_timeout(&self, _: Duration) -> io::Result<()> {
        Ok(())
    }
    fn bound_reads(&self, _: Duration) -> io::Result<()> {
        Ok(())
    }
    fn bound_writes(&self, _: Duration) -> io::Result<()> {
        Ok(())
    }
}

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

pub struct Session {
    stream: Box<dyn Stream>,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    trace: Trace,
    opts: SessionOptions,
    greeting: Reply,
    caps: Capabilities,
    esmtp: bool,
    tls: Option<PeerInfo>,
    /// The connection may no longer be used (421, lost, out of step): no RSET, no QUIT.
    broken: bool,
    /// QUIT already went out with the end of the data (pipelining).
    quit_sent: bool,
    /// A progress line for a person at a terminal (long sends only).
    progress: Option<crate::progress::Progress>,
    /// How long the next reply may take in all (not per read: a server that trickles bytes cannot
    /// stretch it).
    wait: Duration,
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
        let opts_timeout = opts.timeout;
        let mut session = Session {
            stream,
            rbuf: Vec::new(),
            wbuf: Vec::new(),
            trace,
            opts,
            greeting: Reply::new(0, ""),
            caps: Capabilities::none(),
            esmtp: false,
            tls,
            broken: false,
            quit_sent: false,
            progress: None,
            wait: opts_timeout,
        };
        session.read_greeting()?;
        Ok(session)
    }

    fn read_greeting(&mut self) -> Result<(), Error> {
        let reply = self.read_reply(Stage::Greeting)?;
        self.trace.greeting(&reply.message());
        if reply.code != 220 {
            self.broken = reply.code == 421 || self.broken;
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
        if reply.code == 250 {
            self.caps = Capabilities::parse(&reply);
            self.esmtp = true;
            return Ok(());
        }
        self.reject_odd_positive(&reply, Stage::Hello)?;
        self.caps = Capabilities::none();
        self.esmtp = false;
        if reply.code == 421 || self.opts.lmtp {
            return Err(Error::Rejected {
                stage: Stage::Hello,
                reply,
            });
        }
        let reply = self.command(Command::Helo(name), Stage::Hello)?;
        if reply.code != 250 {
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
        if reply.code != 220 {
            self.reject_odd_positive(&reply, Stage::StartTls)?;
            return Err(Error::Rejected {
                stage: Stage::StartTls,
                reply,
            });
        }
        if !self.rbuf.is_empty() {
            // Catalogue A1: anything the server sent after its 220 was sent in plaintext and would be
            // read as if it came through TLS.
            self.broken = true;
            return Err(Error::StartTlsInjection);
        }
        let plain = std::mem::replace(&mut self.stream, Box::new(Detached));
        self.broken = true; // until the handshake is done, the connection is unusable
        let (stream, info) = secure(plain, tls, self.opts.timeout, &mut self.trace)?;
        self.stream = stream;
        self.tls = Some(info);
        self.broken = false;
        self.caps = Capabilities::none();
        self.esmtp = false;
        self.hello()
    }

    /// Authenticate; with `mechanism: None`, try each advertised mechanism of [`AUTO_ORDER`] in turn after
    /// an authentication failure, like smtplib's login(), and report the last failure.
    pub fn authenticate(&mut self, req: &AuthRequest) -> Result<(), Error> {
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
                Err(e @ Error::AuthFailed { .. }) if !self.broken => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last
            .unwrap_or_else(|| Error::Policy("no authentication mechanism could be tried".into())))
    }

    fn auth_with(&mut self, mech: Mechanism, req: &AuthRequest) -> Result<(), Error> {
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
        while reply.code == 334 {
            rounds += 1;
            if rounds > MAX_CHALLENGES {
                self.broken = true;
                return Err(Error::AuthLoop(MAX_CHALLENGES));
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
            235 if exchange.finished_ok() => Ok(()),
            235 => Err(exchange_error(
                super::auth::AuthError::ServerSignatureMismatch,
            )),
            421 => Err(Error::Rejected {
                stage: Stage::Auth,
                reply,
            }),
            // Catalogue item 30: after a reply that does not fit, no further mechanism (no more
            // credentials) is tried.
            _ if reply.is_positive() => {
                self.broken = true;
                Err(Error::Unexpected {
                    stage: Stage::Auth,
                    reply,
                })
            }
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
        self.broken = true;
        Err(Error::Unexpected {
            stage,
            reply: reply.clone(),
        })
    }

    /// Send one command and read its reply; the server must then be silent.
    pub fn command(&mut self, cmd: Command, stage: Stage) -> Result<Reply, Error> {
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
        if self.rbuf.is_empty() || self.broken {
            return Ok(());
        }
        self.broken = true;
        Err(Error::Unsolicited { stage })
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
        if self.broken {
            self.wbuf.clear();
            return Err(Error::Closed { stage });
        }
        // One bound for the whole write, however many partial writes it takes (issue 10, point 10).
        let result = self
            .stream
            .bound_writes(self.opts.timeout)
            .and_then(|()| self.stream.send(&self.wbuf));
        self.wbuf.clear();
        result.map_err(|e| {
            self.broken = true;
            Error::io(stage, e)
        })
    }

    /// The only reader: bounded parse, trace, and 421 handling.
    fn read_reply(&mut self, stage: Stage) -> Result<Reply, Error> {
        if self.broken {
            return Err(Error::Closed { stage });
        }
        self.read_any_reply(stage)
    }

    /// What [`Session::read_reply`] does, on a connection already given up: a server that hangs up
    /// in the middle of the data may have said why first (catalogue E37).
    fn read_parting_reply(&mut self, stage: Stage) -> Option<Reply> {
        self.wait = Duration::from_secs(1);
        let reply = self.read_any_reply(stage).ok();
        self.broken = true;
        reply
    }

    fn read_any_reply(&mut self, stage: Stage) -> Result<Reply, Error> {
        // One bound for the whole reply, however many reads (and TLS records) it takes.
        if let Err(e) = self.stream.bound_reads(self.wait) {
            self.broken = true;
            return Err(Error::io(stage, e));
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
                    self.trace.reply(reply.code, &reply.message());
                    self.rbuf.drain(..consumed);
                    if reply.code == 421 {
                        // RFC 5321 §3.8: the server is closing; no RSET or QUIT (smtplib rule).
                        self.broken = true;
                    }
                    if reply.code == 221 && stage != Stage::Quit {
                        // 221 closes the channel (RFC 5321 §4.2.2): to anything but QUIT it is no
                        // success, and nothing may follow it (issue 10, point 9; catalogue item 30).
                        // After pipelined data it is QUIT's reply, so what it stands in for is unknown
                        // (point 7).
                        self.broken = true;
                        return Err(Error::Unexpected { stage, reply });
                    }
                    return Ok(reply);
                }
                Ok(Parsed::Incomplete) => {}
                Err(source) => {
                    self.broken = true;
                    return Err(Error::Protocol { stage, source });
                }
            }
            let start = self.rbuf.len();
            self.rbuf.resize(start + READ_CHUNK, 0);
            let result = self.stream.read(&mut self.rbuf[start..]);
            match result {
                Ok(0) => {
                    self.rbuf.truncate(start);
                    self.broken = true;
                    return Err(Error::Closed { stage });
                }
                Ok(n) => self.rbuf.truncate(start + n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => self.rbuf.truncate(start),
                Err(e) => {
                    self.rbuf.truncate(start);
                    self.broken = true;
                    return Err(Error::io(stage, e));
                }
            }
        }
    }

    /// QUIT when the connection is still in step; a missing 221 is not an error (spec §3).
    pub fn quit(mut self) -> Trace {
        let sent = self.quit_sent
            || (!self.broken
                && self.queue(&Command::Quit).is_ok()
                && self.flush(Stage::Quit).is_ok());
        if sent && !self.broken {
            self.wait = self.opts.timeout.min(Duration::from_secs(10));
            let _ = self.read_reply(Stage::Quit);
        }
        self.trace
    }

    /// Drop the connection without a word (after an error that left it out of step).
    pub fn into_trace(self) -> Trace {
        self.trace
    }

    pub fn is_broken(&self) -> bool {
        self.broken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ehlo_literal_is_the_connections_local_address() {
        // Issue 10, point 23: RFC 5321 §4.1.4 and §4.1.3 forms; a v4-mapped v6 address is the v4 one.
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(address_literal(ip("127.0.0.2")), "[127.0.0.2]");
        assert_eq!(address_literal(ip("::1")), "[IPv6:::1]");
        assert_eq!(address_literal(ip("2001:db8::5")), "[IPv6:2001:db8::5]");
        assert_eq!(address_literal(ip("::ffff:192.0.2.7")), "[192.0.2.7]");
        assert_eq!(address_literal(None), "[127.0.0.1]");
    }
}
