//! The protocol as a visible script: greet, hello, starttls (+ re-hello), auth, mail/rcpt/data, quit.
//!
//! Every protocol invariant lives in exactly one method here: `read_reply` is the only reader (bounded
//! parser, trace, 421 marks the connection closed); `write_command` is the only place a command reaches
//! the wire (CR/LF/NUL refused first, RFC 5321 §2.3.8; smtplib's putcmd check); `starttls` always refuses
//! bytes buffered before the handshake and always says EHLO again (RFC 3207 §4.2, catalogue A1/A2);
//! `send` gives exit status 0 only after the final 250 (RFC 5321 §6.1), one outcome per recipient for
//! LMTP (RFC 2033 §4.2). After any error that leaves the dialogue out of step, the connection is dropped,
//! never reused (catalogue D31).

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use super::auth::{AUTO_ORDER, Credentials, Exchange, MAX_CHALLENGES, Mechanism};
use super::capabilities::Capabilities;
use super::command::Command;
use super::data::DataEncoder;
use super::error::{Error, Refusal, Stage};
use super::reply::{self, Parsed, Reply};
use super::trace::Trace;
use super::transport::{self, Stream};
use crate::tls::{PeerInfo, Tls, Verification};

/// How the session talks: the greeting name, LMTP or SMTP, and the time bounds.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    pub domain: String,
    pub lmtp: bool,
    /// Bound on every wait (connect, each reply, each write).
    pub timeout: Duration,
    /// Bound on the wait for the reply after the final dot (RFC 5321 §4.5.3.2.6 asks for 10 minutes).
    pub final_timeout: Duration,
}

/// The body type asked for with `-B`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyType {
    SevenBit,
    EightBitMime,
}

/// One mail transaction: the envelope and what the session must know about the data.
#[derive(Debug, Clone, Default)]
pub struct Transaction {
    /// Envelope sender; "" is the null sender.
    pub from: String,
    pub recipients: Vec<String>,
    /// Size of the data after CRLF normalisation, before dot-stuffing (RFC 1870 §3).
    pub size: u64,
    pub eight_bit: bool,
    pub body_type: Option<BodyType>,
    pub dsn_notify: Option<String>,
    pub dsn_ret: Option<String>,
    pub dsn_envid: Option<String>,
}

/// What the server did with the message.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Recipients the server took the message for.
    pub delivered: Vec<String>,
    /// Recipients refused at RCPT, or (LMTP) after the data.
    pub refused: Vec<Refusal>,
    /// The reply to the end of the data (the last one for LMTP).
    pub reply: Reply,
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
}

const READ_CHUNK: usize = 16 * 1024;
const WRITE_CHUNK: usize = 64 * 1024;
/// BDAT chunk size: large enough that the reply after each chunk costs little, small enough to bound memory.
const BDAT_CHUNK: usize = 1024 * 1024;

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

/// How the message body goes: DATA and a dot, or BDAT chunks.
enum Body {
    Data,
    Chunks(Chunker),
}

/// State of a BDAT transfer: the encoder, the chunk being built, and whether the input is done.
struct Chunker {
    encoder: DataEncoder,
    input: Vec<u8>,
    buf: Vec<u8>,
    eof: bool,
    last: bool,
}

impl Chunker {
    fn new() -> Chunker {
        Chunker {
            encoder: DataEncoder::plain(),
            input: vec![0; WRITE_CHUNK],
            buf: Vec::with_capacity(BDAT_CHUNK + WRITE_CHUNK),
            eof: false,
            last: false,
        }
    }
}

/// Read from the message, retrying interrupted reads; a failure is an input error (exit 74).
fn read_input(data: &mut dyn Read, buf: &mut [u8]) -> Result<usize, Error> {
    loop {
        match data.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Input(e)),
        }
    }
}

/// Wrap `stream` in TLS and finish the handshake; report it in the trace.
pub fn secure(
    stream: Box<dyn Stream>,
    tls: &Tls,
    trace: &mut Trace,
) -> Result<(Box<dyn Stream>, PeerInfo), Error> {
    let tls_stream = transport::handshake(stream, tls.config.clone(), tls.server_name.clone())?;
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
        let name = self.opts.domain.clone();
        let cmd = if self.opts.lmtp {
            Command::Lhlo(name.clone())
        } else {
            Command::Ehlo(name.clone())
        };
        let reply = self.command(cmd, Stage::Hello)?;
        if reply.is_positive() {
            self.caps = Capabilities::parse(&reply);
            self.esmtp = true;
            return Ok(());
        }
        self.caps = Capabilities::none();
        self.esmtp = false;
        if reply.code == 421 || self.opts.lmtp {
            return Err(Error::Rejected {
                stage: Stage::Hello,
                reply,
            });
        }
        let reply = self.command(Command::Helo(name), Stage::Hello)?;
        if !reply.is_positive() {
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
        let (stream, info) = secure(plain, tls, &mut self.trace)?;
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
            _ => Err(Error::AuthFailed {
                mechanism: mech.name().to_string(),
                reply,
            }),
        }
    }

    /// MAIL, RCPT for each recipient, then DATA and the data, or BDAT chunks when the server offers
    /// CHUNKING (RFC 3030). Pipelined when the server offers PIPELINING (RFC 2920): MAIL, every RCPT and
    /// DATA (or the first BDAT chunk) go in one write, the end of the data and QUIT in another; every reply
    /// is still read in order and leads to exactly the outcome it would have without pipelining.
    pub fn send(&mut self, tx: &Transaction, data: &mut dyn Read) -> Result<Delivery, Error> {
        let mail = self.mail_command(tx)?;
        let rcpts: Vec<Command> = tx
            .recipients
            .iter()
            .map(|r| Command::Rcpt {
                to: r.clone(),
                params: self.rcpt_params(tx),
            })
            .collect();
        // Every command is checked before the first is sent: nothing partial reaches the server.
        mail.validate()?;
        for r in &rcpts {
            r.validate()?;
        }
        let pipelining = self.esmtp && self.caps.pipelining();
        let mut body = match self.esmtp && self.caps.chunking() {
            true => Body::Chunks(Chunker::new()),
            false => Body::Data,
        };

        self.queue(&mail)?;
        if pipelining {
            for r in &rcpts {
                self.queue(r)?;
            }
            match &mut body {
                Body::Data => self.queue(&Command::Data)?,
                Body::Chunks(chunker) => self.queue_chunk(chunker, data, true)?,
            }
        }
        self.flush(Stage::Mail)?;
        // A small message can go out whole in that one write (its only BDAT chunk, LAST): from then on a
        // lost connection leaves the outcome unknown, whichever reply it interrupts.
        let all_sent = matches!(&body, Body::Chunks(c) if c.last);
        let lost = |e: Error| match e {
            Error::Closed { .. }
            | Error::Io { .. }
            | Error::Timeout { .. }
            | Error::Protocol { .. }
                if all_sent =>
            {
                Error::UnknownOutcome {
                    cause: e.to_string(),
                }
            }
            e => e,
        };

        // MAIL
        let reply = self.read_reply(Stage::Mail).map_err(lost)?;
        if !pipelining {
            self.expect_quiet(Stage::Mail)?;
        }
        let mail_refused = (reply.code != 250).then_some(reply);
        if let Some(reply) = &mail_refused
            && (reply.code == 421 || !pipelining)
        {
            let error = Error::Rejected {
                stage: Stage::Mail,
                reply: reply.clone(),
            };
            return self.fail_transaction(error);
        }

        // RCPT
        let mut accepted = Vec::new();
        let mut refused: Vec<Refusal> = Vec::new();
        for (rcpt, cmd) in tx.recipients.iter().zip(&rcpts) {
            if !pipelining {
                self.queue(cmd)?;
                self.flush(Stage::Rcpt)?;
            }
            let reply = self.read_reply(Stage::Rcpt).map_err(lost)?;
            if !pipelining {
                self.expect_quiet(Stage::Rcpt)?;
            }
            if reply.code == 421 {
                return Err(Error::Rejected {
                    stage: Stage::Rcpt,
                    reply,
                });
            }
            if reply.code == 250 || reply.code == 251 {
                accepted.push(rcpt.clone());
            } else {
                refused.push((rcpt.clone(), reply));
            }
        }
        if !pipelining && accepted.is_empty() {
            return self.fail_transaction(Error::RecipientsRefused { refused });
        }

        match body {
            Body::Data => self.send_data_command(data, pipelining, mail_refused, accepted, refused),
            Body::Chunks(chunker) => {
                self.send_chunks(chunker, data, pipelining, mail_refused, accepted, refused)
            }
        }
    }

    /// DATA, 354, the dot-stuffed data and the final dot (RFC 5321 §4.1.1.4).
    fn send_data_command(
        &mut self,
        data: &mut dyn Read,
        pipelining: bool,
        mail_refused: Option<Reply>,
        accepted: Vec<String>,
        refused: Vec<Refusal>,
    ) -> Result<Delivery, Error> {
        if !pipelining {
            self.queue(&Command::Data)?;
            self.flush(Stage::Data)?;
        }
        let reply = self.read_reply(Stage::Data)?;
        self.trace.data_reply(reply.code, &reply.message());
        if reply.code == 354 && !self.rbuf.is_empty() {
            // A reply already behind the 354 is the server refusing the message before the data
            // (smtp-sink -A; catalogue E37): send nothing and report it. The dialogue is then out of step.
            let early = self.read_reply(Stage::DataTransfer)?;
            self.broken = true;
            return Err(match early.is_positive() {
                true => Error::Unsolicited { stage: Stage::Data },
                false => Error::Rejected {
                    stage: Stage::DataTransfer,
                    reply: early,
                },
            });
        }
        self.expect_quiet(Stage::Data)?;
        if reply.code == 421 {
            return Err(Error::Rejected {
                stage: Stage::Data,
                reply,
            });
        }
        if let Some(mail_reply) = mail_refused {
            let error = Error::Rejected {
                stage: Stage::Mail,
                reply: mail_reply,
            };
            return self.abandon_data(reply, error);
        }
        if accepted.is_empty() {
            return self.abandon_data(reply, Error::RecipientsRefused { refused });
        }
        if reply.code != 354 {
            return Err(Error::Rejected {
                stage: Stage::Data,
                reply,
            });
        }
        self.transfer(data, DataEncoder::dot_stuffing())?;
        self.end_data(pipelining)?;
        self.final_replies(accepted, refused)
    }

    /// BDAT chunks, the last marked LAST (RFC 3030 §2); no dot-stuffing, the same CRLF normalisation.
    fn send_chunks(
        &mut self,
        mut chunker: Chunker,
        data: &mut dyn Read,
        pipelining: bool,
        mail_refused: Option<Reply>,
        accepted: Vec<String>,
        refused: Vec<Refusal>,
    ) -> Result<Delivery, Error> {
        if !pipelining {
            self.queue_chunk(&mut chunker, data, false)?;
            self.flush_data()?;
        }
        loop {
            let last = chunker.last;
            if last && !(mail_refused.is_some() || accepted.is_empty()) {
                return self.final_replies(accepted, refused);
            }
            let reply = self.read_reply(Stage::DataTransfer)?;
            self.trace.data_reply(reply.code, &reply.message());
            if reply.code == 421 {
                return Err(Error::Rejected {
                    stage: Stage::DataTransfer,
                    reply,
                });
            }
            if let Some(mail_reply) = mail_refused {
                return self.fail_transaction(Error::Rejected {
                    stage: Stage::Mail,
                    reply: mail_reply,
                });
            }
            if accepted.is_empty() {
                return self.fail_transaction(Error::RecipientsRefused { refused });
            }
            if reply.code != 250 {
                return self.fail_transaction(Error::Rejected {
                    stage: Stage::DataTransfer,
                    reply,
                });
            }
            self.expect_quiet(Stage::DataTransfer)?;
            self.queue_chunk(&mut chunker, data, pipelining)?;
            self.flush_data()?;
        }
    }

    /// Encode the next chunk (up to [`BDAT_CHUNK`] octets) and queue `BDAT n [LAST]` with it; after the
    /// last chunk, QUIT too when pipelining.
    fn queue_chunk(
        &mut self,
        chunker: &mut Chunker,
        data: &mut dyn Read,
        pipelining: bool,
    ) -> Result<(), Error> {
        chunker.buf.clear();
        while !chunker.eof && chunker.buf.len() < BDAT_CHUNK {
            let n = read_input(data, &mut chunker.input)?;
            if n == 0 {
                chunker.eof = true;
                chunker.encoder.finish(&mut chunker.buf);
            } else {
                chunker
                    .encoder
                    .encode(&chunker.input[..n], &mut chunker.buf);
            }
        }
        chunker.last = chunker.eof;
        if chunker.last {
            self.note_long_lines(&chunker.encoder);
        }
        let cmd = Command::Bdat {
            size: chunker.buf.len() as u64,
            last: chunker.last,
        };
        self.queue(&cmd)?;
        self.trace.data_begin();
        self.trace.data_chunk(&chunker.buf);
        self.trace.data_end(chunker.buf.len() as u64);
        self.wbuf.extend_from_slice(&chunker.buf);
        if chunker.last && pipelining {
            self.queue(&Command::Quit)?;
            self.quit_sent = true;
        }
        Ok(())
    }

    /// The tail of the data goes out with QUIT when pipelining (RFC 2920 §3.1 allows QUIT after the dot).
    fn end_data(&mut self, pipelining: bool) -> Result<(), Error> {
        if pipelining {
            self.queue(&Command::Quit)?;
            self.quit_sent = true;
        }
        self.flush_data()
    }

    /// `--quit-after mail|rcpt`: MAIL, and with `through_rcpt` every RCPT, one at a time, then stop
    /// (the caller QUITs). Refusals end it with the same errors as a real send.
    pub fn envelope_only(&mut self, tx: &Transaction, through_rcpt: bool) -> Result<(), Error> {
        let mail = self.mail_command(tx)?;
        let reply = self.command(mail, Stage::Mail)?;
        if reply.code != 250 {
            return Err(Error::Rejected {
                stage: Stage::Mail,
                reply,
            });
        }
        if !through_rcpt {
            return Ok(());
        }
        let mut refused = Vec::new();
        for rcpt in &tx.recipients {
            let cmd = Command::Rcpt {
                to: rcpt.clone(),
                params: self.rcpt_params(tx),
            };
            let reply = self.command(cmd, Stage::Rcpt)?;
            if reply.code == 421 {
                return Err(Error::Rejected {
                    stage: Stage::Rcpt,
                    reply,
                });
            }
            if reply.code != 250 && reply.code != 251 {
                refused.push((rcpt.clone(), reply));
            }
        }
        if !refused.is_empty() {
            return Err(Error::RecipientsRefused { refused });
        }
        Ok(())
    }

    /// `--interactive` DATA: after the caller's `DATA` got 354, send `data` dot-stuffed and return the
    /// reply to the final dot.
    pub fn send_data(&mut self, data: &mut dyn Read) -> Result<Reply, Error> {
        self.transfer(data, DataEncoder::dot_stuffing())?;
        self.end_data(false)?;
        let reply = self.read_reply(Stage::FinalReply)?;
        self.trace.data_reply(reply.code, &reply.message());
        Ok(reply)
    }

    /// After the data: one reply, or (LMTP) one per accepted recipient.
    fn final_replies(
        &mut self,
        accepted: Vec<String>,
        mut refused: Vec<Refusal>,
    ) -> Result<Delivery, Error> {
        if let Some(progress) = &mut self.progress {
            progress.finish();
        }
        self.wait = self.opts.final_timeout;
        let expected = if self.opts.lmtp { accepted.len() } else { 1 };
        let mut delivered = Vec::new();
        let mut last = None;
        for i in 0..expected {
            let reply = match self.read_reply(Stage::FinalReply) {
                Ok(reply) => reply,
                Err(e) if delivered.is_empty() && i == 0 => {
                    return Err(Error::UnknownOutcome {
                        cause: e.to_string(),
                    });
                }
                Err(e) => {
                    // LMTP: the recipients not yet answered may or may not have their copy.
                    let pending: Vec<String> =
                        accepted[i..].iter().map(|r| format!("<{r}>")).collect();
                    return Err(Error::UnknownOutcome {
                        cause: format!("{e}; no reply for {}", pending.join(", ")),
                    });
                }
            };
            self.trace.data_reply(reply.code, &reply.message());
            if reply.code == 250 {
                delivered.push(accepted[i].clone());
            } else if self.opts.lmtp {
                refused.push((accepted[i].clone(), reply.clone()));
            } else {
                let closing = reply.code == 421;
                let error = Error::Rejected {
                    stage: Stage::FinalReply,
                    reply,
                };
                return if closing {
                    Err(error)
                } else {
                    self.fail_transaction(error)
                };
            }
            last = Some(reply);
        }
        self.wait = self.opts.timeout;
        if self.opts.lmtp && delivered.is_empty() {
            return Err(Error::RecipientsRefused { refused });
        }
        Ok(Delivery {
            delivered,
            refused,
            reply: last.unwrap_or_else(|| Reply::new(250, "")),
        })
    }

    /// Pipelined DATA after a refused MAIL or no accepted recipient: a conforming server refuses it
    /// (RFC 2920 §3.1); one that says 354 gets an empty message to nobody, then RSET.
    fn abandon_data(&mut self, data_reply: Reply, error: Error) -> Result<Delivery, Error> {
        if data_reply.code == 354 {
            self.queue(&Command::Raw(".".into()))?;
            self.flush(Stage::DataTransfer)?;
            let _ = self.read_reply(Stage::FinalReply)?;
        }
        self.fail_transaction(error)
    }

    /// RSET after a refusal that leaves the connection usable (smtplib's _rset), then the error.
    fn fail_transaction(&mut self, error: Error) -> Result<Delivery, Error> {
        if !self.broken
            && !self.quit_sent
            && self.queue(&Command::Rset).is_ok()
            && self.flush(Stage::Mail).is_ok()
        {
            let _ = self.read_reply(Stage::Mail);
        }
        Err(error)
    }

    fn mail_command(&self, tx: &Transaction) -> Result<Command, Error> {
        let utf8 = !tx.from.is_ascii() || tx.recipients.iter().any(|r| !r.is_ascii());
        if utf8 && !(self.esmtp && self.caps.smtputf8()) {
            return Err(Error::NotOffered(
                "an address is not ASCII and the server does not offer SMTPUTF8 (RFC 6531); nothing was sent"
                    .into(),
            ));
        }
        let mut params = Vec::new();
        if self.esmtp {
            if self.caps.has("SIZE") {
                if let Some(limit) = self.caps.size_limit()
                    && tx.size > limit
                {
                    return Err(Error::MessageTooBig {
                        size: tx.size,
                        limit,
                    });
                }
                params.push(format!("SIZE={}", tx.size));
            }
            if self.caps.eightbitmime() {
                match tx.body_type {
                    Some(BodyType::EightBitMime) => params.push("BODY=8BITMIME".into()),
                    Some(BodyType::SevenBit) => params.push("BODY=7BIT".into()),
                    None if tx.eight_bit || utf8 => params.push("BODY=8BITMIME".into()),
                    None => {}
                }
            }
            if utf8 {
                params.push("SMTPUTF8".into());
            }
            if self.caps.dsn() {
                if let Some(ret) = &tx.dsn_ret {
                    params.push(format!("RET={ret}"));
                }
                if let Some(envid) = &tx.dsn_envid {
                    params.push(format!("ENVID={envid}"));
                }
            }
        }
        Ok(Command::Mail {
            from: tx.from.clone(),
            params,
        })
    }

    fn rcpt_params(&self, tx: &Transaction) -> Vec<String> {
        match &tx.dsn_notify {
            Some(notify) if self.esmtp && self.caps.dsn() => vec![format!("NOTIFY={notify}")],
            _ => Vec::new(),
        }
    }

    /// Stream the data through the encoder, one write per 64 KiB; the tail (with the end of data) stays
    /// queued for [`Session::end_data`].
    fn transfer(&mut self, data: &mut dyn Read, mut encoder: DataEncoder) -> Result<(), Error> {
        self.trace.data_begin();
        let mut input = vec![0u8; WRITE_CHUNK];
        let mut total = 0u64;
        loop {
            let n = match read_input(data, &mut input) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    // Never send the end of the data for data we could not read (catalogue F43).
                    self.broken = true;
                    return Err(e);
                }
            };
            let start = self.wbuf.len();
            encoder.encode(&input[..n], &mut self.wbuf);
            total += (self.wbuf.len() - start) as u64;
            self.trace.data_chunk(&self.wbuf[start..]);
            if self.wbuf.len() >= WRITE_CHUNK {
                self.flush_data()?;
            }
        }
        let start = self.wbuf.len();
        encoder.finish(&mut self.wbuf);
        total += (self.wbuf.len() - start) as u64;
        self.trace.data_chunk(&self.wbuf[start..]);
        self.trace.data_end(total);
        self.note_long_lines(&encoder);

        Ok(())
    }

    /// Lines over 998 octets go out unchanged (never folded silently); the trace says so.
    fn note_long_lines(&mut self, encoder: &DataEncoder) {
        if encoder.long_lines() > 0 {
            let text = format!(
                "{} line(s) longer than 998 octets sent unchanged (RFC 5321 §4.5.3.1.6); the server may \
                 refuse them",
                encoder.long_lines()
            );
            self.trace.note("note", &text);
        }
    }

    /// A write failure during the data: if the server said why (a 5xx before closing, catalogue E37),
    /// report that reply.
    fn flush_data(&mut self) -> Result<(), Error> {
        let queued = self.wbuf.len() as u64;
        match self.flush(Stage::DataTransfer) {
            Ok(()) => {
                if let Some(progress) = &mut self.progress {
                    progress.advance(queued);
                }
                Ok(())
            }
            Err(e) => {
                self.wait = Duration::from_secs(1);
                self.broken = false;
                let said = self.read_reply(Stage::DataTransfer).ok();
                self.broken = true;
                match said {
                    Some(reply) if !reply.is_positive() => Err(Error::Rejected {
                        stage: Stage::DataTransfer,
                        reply,
                    }),
                    _ => Err(e),
                }
            }
        }
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
        let result = self
            .stream
            .write_all(&self.wbuf)
            .and_then(|()| self.stream.flush());
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
        let deadline = Instant::now() + self.wait;
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
                    return Ok(reply);
                }
                Ok(Parsed::Incomplete) => {}
                Err(source) => {
                    self.broken = true;
                    return Err(Error::Protocol { stage, source });
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.broken = true;
                return Err(Error::Timeout { stage });
            }
            if let Err(e) = self.stream.bound_reads(left) {
                self.broken = true;
                return Err(Error::io(stage, e));
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
