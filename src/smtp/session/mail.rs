//! One mail transaction on an established session: MAIL, RCPT, then DATA and the dot-stuffed data or
//! BDAT chunks (RFC 5321 §3.3, RFC 3030), pipelined when offered (RFC 2920), and the reply or replies
//! (LMTP: one per accepted recipient, RFC 2033 §4.2) that decide the outcome. Exit status 0 comes only
//! from here, after the final 2xx.

use std::io::{self, Read};

use super::Session;
use crate::smtp::command::Command;
use crate::smtp::data::DataEncoder;
use crate::smtp::error::{Error, Partial, Refusal, Stage};
use crate::smtp::reply::Reply;

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

/// The data goes out in writes of this size (one system call each, no per-line writes: issue 6).
const WRITE_CHUNK: usize = 64 * 1024;
/// BDAT chunk size: large enough that the reply after each chunk costs little, small enough to bound memory.
const BDAT_CHUNK: usize = 1024 * 1024;

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

/// What the server said to MAIL and to each RCPT, carried to the data stage (under PIPELINING the
/// data command went out before these answers were read).
struct Answers {
    mail_refused: Option<Reply>,
    accepted: Vec<String>,
    refused: Vec<Refusal>,
}

impl Answers {
    /// Nobody will get the message: MAIL was refused, or every RCPT.
    fn nobody(&self) -> bool {
        self.mail_refused.is_some() || self.accepted.is_empty()
    }

    fn into_error(self) -> Error {
        match self.mail_refused {
            Some(reply) => Error::Rejected {
                stage: Stage::Mail,
                reply,
            },
            None => Error::RecipientsRefused {
                refused: self.refused,
            },
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

impl Session {
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
                    partial: Partial {
                        unknown: tx.recipients.clone(),
                        ..Partial::default()
                    },
                }
            }
            e => e,
        };

        // MAIL
        let reply = self.read_reply(Stage::Mail).map_err(lost)?;
        if !pipelining {
            self.expect_quiet(Stage::Mail)?;
        }
        // Any 2yz is a positive completion (RFC 5321 §4.2.1; issue 10, point 8).
        let mail_refused = (!reply.is_positive()).then_some(reply);
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
            // 251 and 252 accept the message too (RFC 5321 §3.4, §3.5.3; issue 10, point 8).
            if reply.is_positive() {
                accepted.push(rcpt.clone());
            } else {
                refused.push((rcpt.clone(), reply));
            }
        }
        if !pipelining && accepted.is_empty() {
            return self.fail_transaction(Error::RecipientsRefused { refused });
        }

        let answers = Answers {
            mail_refused,
            accepted,
            refused,
        };
        match body {
            Body::Data => self.send_data_command(data, pipelining, answers),
            Body::Chunks(chunker) => self.send_chunks(chunker, data, pipelining, answers),
        }
    }

    /// DATA, 354, the dot-stuffed data and the final dot (RFC 5321 §4.1.1.4).
    fn send_data_command(
        &mut self,
        data: &mut dyn Read,
        pipelining: bool,
        answers: Answers,
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
        if answers.nobody() {
            return self.abandon_data(reply, answers.into_error());
        }
        if reply.code != 354 {
            self.reject_odd_positive(&reply, Stage::Data)?;
            return Err(Error::Rejected {
                stage: Stage::Data,
                reply,
            });
        }
        self.transfer(data, DataEncoder::dot_stuffing())?;
        self.end_data(pipelining)?;
        self.final_replies(answers.accepted, answers.refused)
    }

    /// BDAT chunks, the last marked LAST (RFC 3030 §2); no dot-stuffing, the same CRLF normalisation.
    fn send_chunks(
        &mut self,
        mut chunker: Chunker,
        data: &mut dyn Read,
        pipelining: bool,
        answers: Answers,
    ) -> Result<Delivery, Error> {
        if !pipelining {
            self.queue_chunk(&mut chunker, data, false)?;
            self.flush_data()?;
        }
        loop {
            let last = chunker.last;
            if last && !answers.nobody() {
                return self.final_replies(answers.accepted, answers.refused);
            }
            let reply = self.read_reply(Stage::DataTransfer)?;
            self.trace.data_reply(reply.code, &reply.message());
            if reply.code == 421 {
                return Err(Error::Rejected {
                    stage: Stage::DataTransfer,
                    reply,
                });
            }
            if answers.nobody() {
                return self.fail_transaction(answers.into_error());
            }
            if !reply.is_positive() {
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
    /// (the caller QUITs). A refused MAIL or every RCPT refused ends it with the same errors as a real
    /// send; when some recipients were accepted, the refused ones are returned (issue 10, point 11).
    pub fn envelope_only(
        &mut self,
        tx: &Transaction,
        through_rcpt: bool,
    ) -> Result<Vec<Refusal>, Error> {
        let mail = self.mail_command(tx)?;
        let reply = self.command(mail, Stage::Mail)?;
        if !reply.is_positive() {
            return Err(Error::Rejected {
                stage: Stage::Mail,
                reply,
            });
        }
        if !through_rcpt {
            return Ok(Vec::new());
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
            if !reply.is_positive() {
                refused.push((rcpt.clone(), reply));
            }
        }
        if refused.len() == tx.recipients.len() {
            return Err(Error::RecipientsRefused { refused });
        }
        Ok(refused)
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
                Err(e) => {
                    // SMTP: every accepted recipient may have it; LMTP: those not answered yet.
                    let unknown = if self.opts.lmtp {
                        &accepted[i..]
                    } else {
                        &accepted[..]
                    };
                    return Err(Error::UnknownOutcome {
                        cause: e.to_string(),
                        partial: Partial {
                            unknown: unknown.to_vec(),
                            delivered,
                            refused,
                        },
                    });
                }
            };
            self.trace.data_reply(reply.code, &reply.message());
            if reply.is_positive() && reply.code != 250 {
                // Any 2yz is a positive completion (RFC 5321 §4.2.1): delivered, only unusual
                // (issue 10, point 8: it was reported as not delivered, exit 76).
                self.trace.note(
                    "note",
                    &format!("the server answered the data with {reply} instead of 250: taken as accepted"),
                );
            }
            if reply.is_positive() && self.opts.lmtp {
                delivered.push(accepted[i].clone());
            } else if reply.is_positive() {
                // SMTP: one 250 for the message, so for every accepted recipient.
                delivered.extend(accepted.iter().cloned());
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
            Err(e) => match self.read_parting_reply(Stage::DataTransfer) {
                Some(reply) if !reply.is_positive() => Err(Error::Rejected {
                    stage: Stage::DataTransfer,
                    reply,
                }),
                _ => Err(e),
            },
        }
    }
}
