//! The transaction engine: one mail transaction on an established session, any number of them in turn
//! (RFC 5321 §3.3): MAIL, RCPT, then DATA and the dot-stuffed data or BDAT chunks (RFC 3030), pipelined
//! when offered (RFC 2920), and the reply or replies (LMTP: one per accepted recipient, RFC 2033 §4.2)
//! that decide the outcome. Exit status 0 comes only from here, after the final 2xx.
//!
//! Every decision that depends on PIPELINING reads the one [`Plan`]. After a refusal that leaves the
//! dialogue in step, RSET ends the transaction (RFC 5321 §4.1.1.5) and the next one may start; the
//! caller ends the session with [`Session::quit`]. Imports the engine's own modules only.

use std::io::{self, Read};

use super::mail::{Delivery, Envelope, Transaction};
use super::{Link, Session};
use crate::lines::MAX_LINE;
use crate::smtp::command::Command;
use crate::smtp::data::DataEncoder;
use crate::smtp::error::{Error, Partial, Refusal, Stage};
use crate::smtp::reply::{Code, Reply};

/// What follows a transaction on the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// Another transaction may follow: the end of the data goes alone.
    More,
    /// The session ends after this one: under PIPELINING, QUIT goes in the same write as the end of
    /// the data (RFC 2920 §3.1), one round trip fewer. The caller still calls [`Session::quit`], which
    /// reads its reply.
    Quit,
}

/// How one transaction goes on this session, decided once from the capabilities: the one place the
/// pipelining choices are made.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// RFC 2920: MAIL, every RCPT and DATA (or the first BDAT chunk) leave in one write and their
    /// replies are read after it; without it, one command, one reply, then silence.
    pipelined: bool,
    /// RFC 3030: BDAT chunks instead of DATA and a dot.
    chunked: bool,
    then: Then,
}

impl Plan {
    /// Whether `cmd` still has to be sent when its turn comes (pipelined, it left in the opening write).
    fn send_in_turn(&self) -> bool {
        !self.pipelined
    }

    /// Whether the commands after the current one are already on the wire: a refusal cannot stop
    /// them, their replies must still be read before the outcome.
    fn more_in_flight(&self) -> bool {
        self.pipelined
    }

    /// Whether a reply must be the last bytes the server sent (catalogue D31). Pipelined, the next
    /// replies may already be there.
    fn expects_quiet(&self) -> bool {
        !self.pipelined
    }

    /// QUIT in the same write as the end of the data.
    fn quit_with_data(&self) -> bool {
        self.pipelined && self.then == Then::Quit
    }
}

/// The data goes out in writes of this size (one system call each, no per-line writes: issue 6).
const WRITE_CHUNK: usize = 64 * 1024;
/// BDAT chunk size: large enough that the reply after each chunk costs little, small enough to bound memory.
const BDAT_CHUNK: usize = 1024 * 1024;

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

/// Once the whole message is on the wire, a lost connection leaves the outcome unknown, whichever
/// reply it interrupts: every recipient may have it.
fn unknown_if_sent(error: Error, all_sent: bool, tx: &Transaction) -> Error {
    match error {
        Error::Closed { .. }
        | Error::Io { .. }
        | Error::Timeout { .. }
        | Error::Protocol { .. }
            if all_sent =>
        {
            Error::UnknownOutcome {
                cause: error.to_string(),
                partial: Partial {
                    unknown: tx.recipients.clone(),
                    ..Partial::default()
                },
            }
        }
        e => e,
    }
}

impl Session {
    /// One mail transaction: MAIL, RCPT for each recipient, then DATA and the data, or BDAT chunks when
    /// the server offers CHUNKING (RFC 3030). Pipelined when the server offers PIPELINING (RFC 2920):
    /// MAIL, every RCPT and DATA (or the first BDAT chunk) go in one write, the end of the data (and
    /// QUIT, with [`Then::Quit`]) in another; every reply is still read in order and leads to exactly
    /// the outcome it would have without pipelining. After it, [`Session::is_ready`] says whether the
    /// next one may start.
    pub fn send(
        &mut self,
        tx: &Transaction,
        data: &mut dyn Read,
        then: Then,
    ) -> Result<Delivery, Error> {
        let envelope = self.envelope(tx)?;
        if self.link != Link::Ready {
            return Err(Error::Closed { stage: Stage::Mail });
        }
        let plan = Plan {
            pipelined: self.caps.pipelining(),
            chunked: self.caps.chunking(),
            then,
        };
        let mut chunker = plan.chunked.then(Chunker::new);
        self.queue(&envelope.mail)?;
        if plan.more_in_flight() {
            for rcpt in &envelope.rcpts {
                self.queue(rcpt)?;
            }
            match &mut chunker {
                None => self.queue(&Command::Data)?,
                Some(chunker) => self.queue_chunk(chunker, data, plan)?,
            }
        }
        self.flush(Stage::Mail)?;
        // A small message can go out whole in that one write (its only BDAT chunk, LAST).
        let all_sent = chunker.as_ref().is_some_and(|c| c.last);
        let answers = self
            .envelope_answers(plan, &envelope, tx)
            .map_err(|e| unknown_if_sent(e, all_sent, tx))?;
        match chunker {
            None => self.send_data_command(plan, data, answers),
            Some(chunker) => self.send_chunks(plan, chunker, data, answers),
        }
    }

    /// Send `cmd` now if it did not leave in the opening write.
    fn send_in_turn(&mut self, plan: Plan, cmd: &Command, stage: Stage) -> Result<(), Error> {
        if plan.send_in_turn() {
            self.queue(cmd)?;
            self.flush(stage)?;
        }
        Ok(())
    }

    /// Read the reply to the command whose turn it is; in lockstep nothing may follow it.
    fn answer(&mut self, plan: Plan, stage: Stage) -> Result<Reply, Error> {
        let reply = self.read_reply(stage)?;
        if plan.expects_quiet() {
            self.expect_quiet(stage)?;
        }
        Ok(reply)
    }

    /// The replies to MAIL and to each RCPT. A refusal ends the transaction here (RSET) unless the
    /// later commands are already in flight; a 421 ends the session.
    fn envelope_answers(
        &mut self,
        plan: Plan,
        envelope: &Envelope,
        tx: &Transaction,
    ) -> Result<Answers, Error> {
        let reply = self.answer(plan, Stage::Mail)?;
        // Any 2yz is a positive completion (RFC 5321 §4.2.1; issue 10, point 8).
        let mail_refused = (!reply.is_positive()).then_some(reply);
        if let Some(reply) = &mail_refused
            && (reply.code == Code::UNAVAILABLE || !plan.more_in_flight())
        {
            let error = Error::Rejected {
                stage: Stage::Mail,
                reply: reply.clone(),
            };
            return Err(self.reset(error));
        }
        let mut answers = Answers {
            mail_refused,
            accepted: Vec::new(),
            refused: Vec::new(),
        };
        for (rcpt, cmd) in tx.recipients.iter().zip(&envelope.rcpts) {
            self.send_in_turn(plan, cmd, Stage::Rcpt)?;
            let reply = self.answer(plan, Stage::Rcpt)?;
            if reply.code == Code::UNAVAILABLE {
                return Err(Error::Rejected {
                    stage: Stage::Rcpt,
                    reply,
                });
            }
            // 251 and 252 accept the message too (RFC 5321 §3.4, §3.5.3; issue 10, point 8).
            match reply.is_positive() {
                true => answers.accepted.push(rcpt.clone()),
                false => answers.refused.push((rcpt.clone(), reply)),
            }
        }
        if answers.accepted.is_empty() && !plan.more_in_flight() {
            return Err(self.reset(answers.into_error()));
        }
        Ok(answers)
    }

    /// DATA, 354, the dot-stuffed data and the final dot (RFC 5321 §4.1.1.4).
    fn send_data_command(
        &mut self,
        plan: Plan,
        data: &mut dyn Read,
        answers: Answers,
    ) -> Result<Delivery, Error> {
        self.send_in_turn(plan, &Command::Data, Stage::Data)?;
        let reply = self.read_reply(Stage::Data)?;
        self.trace.data_reply(reply.code.get(), &reply.message());
        if reply.code == Code::START_INPUT && !self.rbuf.is_empty() {
            // A reply already behind the 354 is the server refusing the message before the data
            // (smtp-sink -A; catalogue E37): send nothing and report it. The dialogue is then out of step.
            let early = self.read_reply(Stage::DataTransfer)?;
            return Err(self.abort(match early.is_positive() {
                true => Error::Unsolicited { stage: Stage::Data },
                false => Error::Rejected {
                    stage: Stage::DataTransfer,
                    reply: early,
                },
            }));
        }
        self.expect_quiet(Stage::Data)?;
        if reply.code == Code::UNAVAILABLE {
            return Err(Error::Rejected {
                stage: Stage::Data,
                reply,
            });
        }
        if answers.nobody() {
            return Err(self.abandon_data(reply, answers.into_error()));
        }
        if reply.code != Code::START_INPUT {
            self.reject_odd_positive(&reply, Stage::Data)?;
            return Err(Error::Rejected {
                stage: Stage::Data,
                reply,
            });
        }
        self.transfer(data, DataEncoder::dot_stuffing())?;
        if plan.quit_with_data() {
            self.queue_quit()?;
        }
        self.flush_data()?;
        self.final_replies(answers)
    }

    /// BDAT chunks, the last marked LAST (RFC 3030 §2); no dot-stuffing, the same CRLF normalisation.
    fn send_chunks(
        &mut self,
        plan: Plan,
        mut chunker: Chunker,
        data: &mut dyn Read,
        answers: Answers,
    ) -> Result<Delivery, Error> {
        if plan.send_in_turn() {
            self.queue_chunk(&mut chunker, data, plan)?;
            self.flush_data()?;
        }
        loop {
            if chunker.last && !answers.nobody() {
                return self.final_replies(answers);
            }
            let reply = self.read_reply(Stage::DataTransfer)?;
            self.trace.data_reply(reply.code.get(), &reply.message());
            if reply.code == Code::UNAVAILABLE {
                return Err(Error::Rejected {
                    stage: Stage::DataTransfer,
                    reply,
                });
            }
            if answers.nobody() {
                return Err(self.reset(answers.into_error()));
            }
            if !reply.is_positive() {
                return Err(self.reset(Error::Rejected {
                    stage: Stage::DataTransfer,
                    reply,
                }));
            }
            self.expect_quiet(Stage::DataTransfer)?;
            self.queue_chunk(&mut chunker, data, plan)?;
            self.flush_data()?;
        }
    }

    /// Encode the next chunk (up to [`BDAT_CHUNK`] octets) and queue `BDAT n [LAST]` with it; after the
    /// last chunk, QUIT too when the plan says so.
    fn queue_chunk(
        &mut self,
        chunker: &mut Chunker,
        data: &mut dyn Read,
        plan: Plan,
    ) -> Result<(), Error> {
        chunker.buf.clear();
        while !chunker.eof && chunker.buf.len() < BDAT_CHUNK {
            let n = read_input(data, &mut chunker.input).map_err(|e| self.fail(e))?;
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
        if chunker.last && plan.quit_with_data() {
            self.queue_quit()?;
        }
        Ok(())
    }

    /// QUIT after the end of the data, in the same write (RFC 2920 §3.1): from here only replies are
    /// read, and [`Session::quit`] reads QUIT's.
    fn queue_quit(&mut self) -> Result<(), Error> {
        self.queue(&Command::Quit)?;
        self.link = Link::QuitSent;
        Ok(())
    }

    /// `--interactive` DATA: after the caller's `DATA` got 354, send `data` dot-stuffed and return the
    /// reply to the final dot.
    pub fn send_data(&mut self, data: &mut dyn Read) -> Result<Reply, Error> {
        self.transfer(data, DataEncoder::dot_stuffing())?;
        self.flush_data()?;
        let reply = self.read_reply(Stage::FinalReply)?;
        self.trace.data_reply(reply.code.get(), &reply.message());
        Ok(reply)
    }

    /// After the data: one reply, or (LMTP) one per accepted recipient, each bounded by the final
    /// timeout.
    fn final_replies(&mut self, answers: Answers) -> Result<Delivery, Error> {
        if let Some(progress) = &mut self.progress {
            progress.finish();
        }
        let Answers {
            accepted,
            mut refused,
            ..
        } = answers;
        let expected = if self.opts.lmtp { accepted.len() } else { 1 };
        let mut delivered = Vec::new();
        let mut last = None;
        for i in 0..expected {
            let reply = match self.read_reply_within(Stage::FinalReply, self.opts.final_timeout) {
                Ok(reply) => reply,
                Err(e) => {
                    // SMTP: every accepted recipient may have it; LMTP: those not answered yet.
                    let unknown = if self.opts.lmtp {
                        &accepted[i..]
                    } else {
                        &accepted[..]
                    };
                    let partial = Partial {
                        unknown: unknown.to_vec(),
                        delivered,
                        refused,
                    };
                    let cause = e.to_string();
                    return Err(Error::UnknownOutcome { cause, partial });
                }
            };
            self.note_final_reply(&reply);
            match (reply.is_positive(), self.opts.lmtp) {
                (true, true) => delivered.push((accepted[i].clone(), reply.clone())),
                // SMTP: one 250 for the message, so for every accepted recipient.
                (true, false) => {
                    delivered.extend(accepted.iter().map(|a| (a.clone(), reply.clone())))
                }
                (false, true) => refused.push((accepted[i].clone(), reply.clone())),
                (false, false) => {
                    let stage = Stage::FinalReply;
                    return Err(self.reset(Error::Rejected { stage, reply }));
                }
            }
            last = Some(reply);
        }
        if self.opts.lmtp && delivered.is_empty() {
            return Err(Error::RecipientsRefused { refused });
        }
        Ok(Delivery {
            delivered,
            refused,
            reply: last.unwrap_or_else(|| Reply::new(250, "")),
        })
    }

    /// The final reply in the trace; any 2yz is a positive completion (RFC 5321 §4.2.1): delivered,
    /// only unusual (issue 10, point 8: it was reported as not delivered, exit 76).
    fn note_final_reply(&mut self, reply: &Reply) {
        self.trace.data_reply(reply.code.get(), &reply.message());
        if reply.is_positive() && reply.code != Code::OK {
            self.trace.note(
                "note",
                &format!(
                    "the server answered the data with {reply} instead of 250: taken as accepted"
                ),
            );
        }
    }

    /// Pipelined DATA after a refused MAIL or no accepted recipient: a conforming server refuses it
    /// (RFC 2920 §3.1); one that says 354 gets an empty message to nobody, then RSET.
    fn abandon_data(&mut self, data_reply: Reply, error: Error) -> Error {
        if data_reply.code == Code::START_INPUT {
            let ended = self
                .queue(&Command::Raw(".".into()))
                .and_then(|()| self.flush(Stage::DataTransfer))
                .and_then(|()| self.read_reply(Stage::FinalReply));
            if let Err(e) = ended {
                return e;
            }
        }
        self.reset(error)
    }

    /// End a refused transaction with RSET when the dialogue is still in step (smtplib's _rset; RFC
    /// 5321 §4.1.1.5), so the next one starts clean; then the error.
    fn reset(&mut self, error: Error) -> Error {
        if self.link == Link::Ready
            && self.queue(&Command::Rset).is_ok()
            && self.flush(Stage::Mail).is_ok()
        {
            let _ = self.read_reply(Stage::Mail);
        }
        error
    }

    /// Stream the data through the encoder, one write per 64 KiB; the tail (with the end of data) stays
    /// queued for the caller's last write.
    fn transfer(&mut self, data: &mut dyn Read, mut encoder: DataEncoder) -> Result<(), Error> {
        self.trace.data_begin();
        let mut input = vec![0u8; WRITE_CHUNK];
        let mut total = 0u64;
        loop {
            // Never send the end of the data for data we could not read (catalogue F43).
            let n = read_input(data, &mut input).map_err(|e| self.fail(e))?;
            if n == 0 {
                break;
            }
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
                "{} line(s) longer than {MAX_LINE} octets sent unchanged (RFC 5321 §4.5.3.1.6); the \
                 server may refuse them",
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
