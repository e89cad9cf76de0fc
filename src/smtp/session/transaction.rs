//! The transaction engine: the replies of one mail transaction on an established session (RFC 5321
//! §3.3), matched to its commands in order: MAIL, RCPT, then DATA and the dot-stuffed data or BDAT
//! chunks (RFC 3030), pipelined when offered (RFC 2920), and the reply or replies (LMTP: one per
//! accepted recipient, RFC 2033 §4.2) that decide the outcome. Exit status 0 comes only from here,
//! after the final 2xx. How transactions share writes is [`super::batch`]'s; a transaction only asks
//! it, when the end of its data is queued, to add what follows ([`Session::fill`]).
//!
//! Every decision that depends on PIPELINING reads the one [`Plan`]. After a refusal that leaves the
//! dialogue in step, RSET ends the transaction (RFC 5321 §4.1.1.5) unless the next transaction already
//! follows on the wire. Imports the engine's own modules only.

use std::io::Read;

use super::batch::{Flight, Pending, Plan, unknown_if_sent};
use super::mail::{Delivery, Envelope, Transaction};
use super::transfer::Chunker;
use super::{Link, Session};
use crate::smtp::command::Command;
use crate::smtp::error::{Error, Partial, Refusal, Stage};
use crate::smtp::reply::{Code, Reply};

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

impl Session {
    /// Read the replies of `p`, whose first commands are sent, send the rest of it as they allow, and
    /// return its outcome.
    pub(super) fn complete<'a>(
        &mut self,
        plan: Plan,
        flight: &mut Flight<'a, '_>,
        p: &mut Pending<'a>,
    ) -> Result<Delivery, Error> {
        let answers = self
            .opening_answers(plan, p)
            .map_err(|e| unknown_if_sent(e, p.sent, &p.tx))?;
        if self.whole_or_none
            && answers.mail_refused.is_none()
            && answers.refused.iter().any(|(_, r)| r.is_permanent())
        {
            // Nothing was sent past the RCPTs (one command at a time): no recipient gets it.
            let refused = answers.refused;
            return Err(self.reset(Error::RecipientsRefused { refused }));
        }
        match p.chunker.take() {
            None => self.send_data_command(plan, flight, &mut *p.data, answers),
            Some(chunker) => self.send_chunks(plan, flight, chunker, &mut *p.data, answers),
        }
    }

    /// The replies to the RSET before `p` (when one went) and to its envelope.
    fn opening_answers(&mut self, plan: Plan, p: &Pending<'_>) -> Result<Answers, Error> {
        if p.reset_first {
            let reply = self.read_reply(Stage::Mail)?;
            if reply.code == Code::UNAVAILABLE {
                let stage = Stage::Mail;
                return Err(Error::Rejected { stage, reply });
            }
            if !reply.is_positive() {
                // An RSET refused: nothing after it can be trusted to be in step.
                let stage = Stage::Mail;
                return Err(self.abort(Error::Unexpected { stage, reply }));
            }
        }
        self.envelope_answers(plan, &p.envelope, &p.tx)
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

    /// DATA, 354, the dot-stuffed data and the final dot (RFC 5321 §4.1.1.4); the next transaction's
    /// first commands (or QUIT) go in the same write as the dot.
    fn send_data_command<'a>(
        &mut self,
        plan: Plan,
        flight: &mut Flight<'a, '_>,
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
        self.transfer(data)?;
        self.fill(plan, flight, true);
        self.flush_data()?;
        flight.written();
        self.final_replies(answers, flight.followed())
    }

    /// BDAT chunks, the last marked LAST (RFC 3030 §2); no dot-stuffing, the same CRLF normalisation.
    /// A refusal ends the transaction with RSET unless the next one follows, behind an RSET of its own.
    fn send_chunks<'a>(
        &mut self,
        plan: Plan,
        flight: &mut Flight<'a, '_>,
        mut chunker: Chunker,
        data: &mut dyn Read,
        answers: Answers,
    ) -> Result<Delivery, Error> {
        if plan.send_in_turn() {
            self.queue_chunk(&mut chunker, data, &mut flight.scratch)?;
            self.flush_data()?;
        }
        loop {
            let followed = flight.followed();
            if chunker.last && !answers.nobody() {
                return self.final_replies(answers, followed);
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
                return Err(self.end_refused(answers.into_error(), followed));
            }
            if !reply.is_positive() {
                let stage = Stage::DataTransfer;
                return Err(self.end_refused(Error::Rejected { stage, reply }, followed));
            }
            self.expect_quiet(Stage::DataTransfer)?;
            self.queue_chunk(&mut chunker, data, &mut flight.scratch)?;
            if chunker.last {
                self.fill(plan, flight, true);
            }
            self.flush_data()?;
            flight.written();
        }
    }

    /// After the data: one reply, or (LMTP) one per accepted recipient, each bounded by the final
    /// timeout. `followed`: the next transaction is already on the wire.
    fn final_replies(&mut self, answers: Answers, followed: bool) -> Result<Delivery, Error> {
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
                    return Err(self.end_refused(Error::Rejected { stage, reply }, followed));
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

    /// A transaction refused after its data: RSET, unless the next transaction follows on the wire
    /// already (the end of the data ended this one, RFC 5321 §4.1.1.4; under CHUNKING an RSET went
    /// before the next MAIL).
    fn end_refused(&mut self, error: Error, followed: bool) -> Error {
        match followed {
            true => error,
            false => self.reset(error),
        }
    }
}
