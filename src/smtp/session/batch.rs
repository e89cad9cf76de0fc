//! Messages back to back on one session (issue 12; spec §9: "pipelining across them where offered; with
//! CHUNKING several messages per flight"). A [`Batch`] hands over one message at a time, just before its
//! first bytes are queued, and takes each message's outcome as soon as its last reply is read, so its
//! owner (the queue runner) commits that outcome before anything else happens.
//!
//! How many messages share a write depends on the server, and is decided once, in the [`Plan`]:
//! - CHUNKING and PIPELINING (RFC 3030, RFC 2920): whole transactions, MAIL, every RCPT and
//!   `BDAT n LAST` with the data, one after another in one write (a flight, bounded by
//!   [`FLIGHT_MESSAGES`] and [`FLIGHT_BYTES`]), each after the first preceded by RSET: its MAIL leaves
//!   before the outcome of the transaction before it is known, and after a refused BDAT the server's
//!   state is "indeterminate" until RSET (RFC 3030 §2). A message larger than one chunk ends its flight;
//!   its later chunks wait for the replies before them, as a single send's do.
//! - PIPELINING only: the end of one message's data, and the next message's MAIL, RCPT and DATA in the
//!   same write (the data may open a group and DATA must close it, RFC 2920 §3.1): one round trip per
//!   message. The dot ends the transaction whatever its reply (RFC 5321 §4.1.1.4), so no RSET is needed.
//! - Neither: one transaction at a time, one command and one reply at a time.
//!
//! Every reply is still read in order and matched to its command by the one transaction engine
//! ([`super::transaction`]); a batch of one is [`Session::send`]. When the connection ends in the
//! middle, each message still in flight gets its own outcome: unknown when its whole data had left in a
//! write (the server may have taken it, its reply still in the server's buffer), else not delivered;
//! after a 421 every later message was not delivered (the server closed before reading it).

use std::collections::VecDeque;
use std::io::Read;

use super::mail::{Delivery, Envelope, Transaction};
use super::transfer::{Chunker, Scratch};
use super::{Link, Session};
use crate::smtp::command::Command;
use crate::smtp::error::{Error, Partial, Stage};
use crate::smtp::reply::Code;

/// One message of a batch: its envelope and its data (read once, as it is sent).
pub struct Message<'a> {
    pub tx: Transaction,
    pub data: Box<dyn Read + 'a>,
}

/// Where a batch's messages come from and where their outcomes go.
pub trait Batch<'a> {
    /// The next message, asked for just before its first bytes are queued; `None` ends the batch.
    fn next(&mut self) -> Option<Message<'a>>;
    /// The outcome of the message `next` gave as number `index` (from 0), as soon as its last reply is
    /// read, or as soon as it is known that none will come.
    fn outcome(&mut self, index: usize, result: Result<Delivery, Error>);
}

/// What follows the batch on the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// Another transaction may follow: the end of the last message's data goes alone.
    More,
    /// The session ends after the batch: under PIPELINING, QUIT goes in the same write as the end of
    /// the last message's data (RFC 2920 §3.1), one round trip fewer. The caller still calls
    /// [`Session::quit`], which reads its reply.
    Quit,
}

/// At most this many messages in one flight under CHUNKING: their replies (a few lines each) must fit
/// in the server's socket buffer while it waits for us to read them (RFC 2920 §3.1 on deadlock)...
pub const FLIGHT_MESSAGES: usize = 32;
/// ...and at most about this many octets queued before the write, so memory stays bounded whatever the
/// batch holds.
pub(super) const FLIGHT_BYTES: usize = 1024 * 1024;

/// How transactions go on this session, decided once from the capabilities: the one place the
/// pipelining choices are made.
#[derive(Debug, Clone, Copy)]
pub(super) struct Plan {
    /// RFC 2920: MAIL, every RCPT and DATA (or the first BDAT chunk) leave in one write and their
    /// replies are read after it; without it, one command, one reply, then silence.
    pub(super) pipelined: bool,
    /// RFC 3030: BDAT chunks instead of DATA and a dot.
    pub(super) chunked: bool,
    pub(super) then: Then,
}

impl Plan {
    /// Whether a command still has to be sent when its turn comes (pipelined, it left in the opening write).
    pub(super) fn send_in_turn(&self) -> bool {
        !self.pipelined
    }

    /// Whether the commands after the current one are already on the wire: a refusal cannot stop
    /// them, their replies must still be read before the outcome.
    pub(super) fn more_in_flight(&self) -> bool {
        self.pipelined
    }

    /// Whether a reply must be the last bytes the server sent (catalogue D31). Pipelined, the next
    /// replies may already be there.
    pub(super) fn expects_quiet(&self) -> bool {
        !self.pipelined
    }

    /// QUIT in the same write as the end of the last message's data.
    fn quit_with_data(&self) -> bool {
        self.pipelined && self.then == Then::Quit
    }
}

/// One transaction whose first commands are queued or sent and whose replies are not all read.
pub(super) struct Pending<'a> {
    index: usize,
    pub(super) tx: Transaction,
    pub(super) envelope: Envelope,
    pub(super) data: Box<dyn Read + 'a>,
    /// With CHUNKING, where its chunks stand; `None`: DATA and a dot.
    pub(super) chunker: Option<Chunker>,
    /// An RSET went just before its MAIL (a follower in a CHUNKING flight): its reply comes first.
    pub(super) reset_first: bool,
    /// Its whole data left in a write that succeeded: a lost connection now leaves its outcome unknown.
    pub(super) sent: bool,
}

/// The batch in progress: where its messages come from, and those in flight, oldest first.
pub(super) struct Flight<'a, 'b> {
    batch: &'b mut dyn Batch<'a>,
    pub(super) pending: VecDeque<Pending<'a>>,
    pulled: usize,
    /// `next` said there are no more.
    exhausted: bool,
    pub(super) scratch: Scratch,
}

impl Flight<'_, '_> {
    /// Another message may join the write being built.
    fn has_room(&self, queued: usize) -> bool {
        self.pending.len() < FLIGHT_MESSAGES && queued < FLIGHT_BYTES
    }

    /// Transactions follow the current one on the wire: it must not be ended with an RSET of its own.
    pub(super) fn followed(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The write succeeded: every message whose whole data was in it is on its way.
    pub(super) fn written(&mut self) {
        for p in &mut self.pending {
            p.sent = p.chunker.as_ref().is_some_and(|c| c.last);
        }
    }
}

/// Once the whole message is on the wire, a lost connection leaves the outcome unknown, whichever
/// reply it interrupts: every recipient may have it. So does a dialogue out of step.
pub(super) fn unknown_if_sent(error: Error, all_sent: bool, tx: &Transaction) -> Error {
    match error {
        Error::Closed { .. }
        | Error::Io { .. }
        | Error::Timeout { .. }
        | Error::Protocol { .. }
        | Error::Unsolicited { .. }
        | Error::Unexpected { .. }
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

/// The batch of one that [`Session::send`] is.
struct One<'a> {
    message: Option<Message<'a>>,
    result: Option<Result<Delivery, Error>>,
}

impl<'a> Batch<'a> for One<'a> {
    fn next(&mut self) -> Option<Message<'a>> {
        self.message.take()
    }

    fn outcome(&mut self, _index: usize, result: Result<Delivery, Error>) {
        self.result = Some(result);
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
        let mut one = One {
            message: Some(Message {
                tx: tx.clone(),
                data: Box::new(data),
            }),
            result: None,
        };
        self.send_batch(&mut one, then);
        one.result
            .unwrap_or(Err(Error::Closed { stage: Stage::Mail }))
    }

    /// Send the batch's messages back to back (the module's text says how they share writes), each
    /// outcome handed to [`Batch::outcome`] as soon as it is known. The batch ends when `next` says so or
    /// when the connection can no longer be used; [`Session::is_ready`] then says whether more may go.
    pub fn send_batch<'a>(&mut self, batch: &mut dyn Batch<'a>, then: Then) {
        let plan = Plan {
            pipelined: self.caps.pipelining() && !self.whole_or_none,
            chunked: self.caps.chunking(),
            then,
        };
        let mut flight = Flight {
            batch,
            pending: VecDeque::new(),
            pulled: 0,
            exhausted: false,
            scratch: Scratch::default(),
        };
        loop {
            if flight.pending.is_empty() && !self.open_flight(plan, &mut flight) {
                return;
            }
            let Some(mut pending) = flight.pending.pop_front() else {
                return;
            };
            let result = self.complete(plan, &mut flight, &mut pending);
            let closing = said_closing(&result);
            flight.batch.outcome(pending.index, result);
            if self.link == Link::Broken {
                return settle(&mut flight, closing);
            }
        }
    }

    /// Start a write with the next messages and send it; `false` when there is nothing (more) to send.
    fn open_flight(&mut self, plan: Plan, flight: &mut Flight<'_, '_>) -> bool {
        self.fill(plan, flight, false);
        if flight.pending.is_empty() {
            return false;
        }
        match self.flush(Stage::Mail) {
            Ok(()) => flight.written(),
            Err(error) => {
                // Nothing of a failed write can have reached a server able to answer it.
                let mut first = Some(error);
                while let Some(p) = flight.pending.pop_front() {
                    let error = first.take().unwrap_or(Error::Closed { stage: Stage::Mail });
                    flight.batch.outcome(p.index, Err(error));
                }
            }
        }
        true
    }

    /// Queue the opening of the next messages in the write being built. `after`: the end of a message's
    /// data is already in it (without PIPELINING, the next message then waits for its replies). With
    /// CHUNKING, whole messages follow each other while the flight has room; DATA ends a group.
    pub(super) fn fill<'a>(&mut self, plan: Plan, flight: &mut Flight<'a, '_>, mut after: bool) {
        if after && !plan.pipelined {
            return;
        }
        while flight.has_room(self.wbuf.len()) {
            let Some(mut pending) = self.pull(flight) else {
                if after
                    && flight.exhausted
                    && plan.quit_with_data()
                    && self.queue(&Command::Quit).is_ok()
                {
                    // From here only replies are read; [`Session::quit`] reads QUIT's.
                    self.link = Link::QuitSent;
                }
                return;
            };
            pending.reset_first = after && plan.chunked;
            if let Err(error) = self.open_transaction(plan, flight, &mut pending) {
                // Its data could not be read: the connection is given up (F43), nothing queued is sent.
                return flight.batch.outcome(pending.index, Err(error));
            }
            let whole = pending.chunker.as_ref().is_some_and(|c| c.last);
            flight.pending.push_back(pending);
            if !plan.pipelined || !plan.chunked || !whole {
                return;
            }
            after = true;
        }
    }

    /// The next message whose envelope this server can take; one it cannot gets its outcome at once,
    /// with nothing sent.
    fn pull<'a>(&mut self, flight: &mut Flight<'a, '_>) -> Option<Pending<'a>> {
        while !flight.exhausted && self.link == Link::Ready {
            let Some(message) = flight.batch.next() else {
                flight.exhausted = true;
                break;
            };
            let index = flight.pulled;
            flight.pulled += 1;
            match self.envelope(&message.tx) {
                Ok(envelope) => {
                    return Some(Pending {
                        index,
                        chunker: self.caps.chunking().then(Chunker::new),
                        tx: message.tx,
                        envelope,
                        data: message.data,
                        reset_first: false,
                        sent: false,
                    });
                }
                Err(error) => flight.batch.outcome(index, Err(error)),
            }
        }
        None
    }

    /// Queue the first commands of `p`: MAIL only without PIPELINING; with it, every RCPT too and DATA,
    /// or the first BDAT chunk.
    fn open_transaction(
        &mut self,
        plan: Plan,
        flight: &mut Flight<'_, '_>,
        p: &mut Pending<'_>,
    ) -> Result<(), Error> {
        if p.reset_first {
            self.queue(&Command::Rset)?;
        }
        self.queue(&p.envelope.mail)?;
        if plan.more_in_flight() {
            for rcpt in &p.envelope.rcpts {
                self.queue(rcpt)?;
            }
            match &mut p.chunker {
                None => self.queue(&Command::Data)?,
                Some(chunker) => self.queue_chunk(chunker, &mut *p.data, &mut flight.scratch)?,
            }
        }
        Ok(())
    }
}

/// A 421 is the server closing before it read what followed (RFC 5321 §3.8): to a command, or (LMTP)
/// for a recipient after the data.
fn said_closing(result: &Result<Delivery, Error>) -> bool {
    match result {
        Err(e) => e.reply().is_some_and(|r| r.code == Code::UNAVAILABLE),
        Ok(delivery) => delivery
            .refused
            .iter()
            .any(|(_, r)| r.code == Code::UNAVAILABLE),
    }
}

/// The connection ended: each message still in flight gets its outcome without a reply.
fn settle(flight: &mut Flight<'_, '_>, closing: bool) {
    while let Some(p) = flight.pending.pop_front() {
        let error = Error::Closed { stage: Stage::Mail };
        let result = unknown_if_sent(error, p.sent && !closing, &p.tx);
        flight.batch.outcome(p.index, Err(result));
    }
}

#[cfg(test)]
mod tests;
