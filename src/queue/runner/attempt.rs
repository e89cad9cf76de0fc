//! One delivery attempt of one entry (spec §9), in two halves around the engine's batch: before its
//! bytes are written, lock it and mark it in flight ([`Run::prepare`]); as soon as its last reply is
//! read, commit what the server said, recipient by recipient, before anything else ([`Run::settle`]).
//! A 5xx to one RCPT fails that recipient only; a 4xx defers it; a lost connection after the data
//! keeps the entry and logs "outcome unknown, may be delivered twice", and so does the next run when
//! it finds the mark of an attempt a crash cut short.

use std::io::Seek;

use super::classify::{Verdict, is_configuration};
use super::events::{Event, EventKind};
use super::{Run, defer, transaction};
use crate::queue::error::QueueError;
use crate::queue::hooks;
use crate::queue::id::Id;
use crate::queue::state::{RcptState, State};
use crate::queue::store::{Dir, EntryLock};
use crate::smtp::error::{Acceptance, Error, Refusal};
use crate::smtp::reply::Code;
use crate::smtp::session::{Delivery, Message};

/// The log text of an attempt whose outcome nobody knows.
pub const MAY_BE_TWICE: &str = "outcome unknown, may be delivered twice";

/// An entry handed to the engine: locked, marked in flight, its outcome not known yet.
pub(super) struct InFlight {
    /// Held until the outcome is committed.
    _lock: EntryLock,
    pub(super) state: State,
}

impl Run<'_> {
    /// Lock entry `id` and mark it in flight: the message to send, or `None` when another process
    /// holds it or it is gone.
    pub(super) fn prepare(
        &self,
        id: &Id,
    ) -> Result<Option<(InFlight, Message<'static>)>, QueueError> {
        let Some(lock) = self.queue.lock(id)? else {
            return Ok(None);
        };
        let Some(mut state) = self.load_or_fail(Dir::Queue, id)? else {
            return Ok(None);
        };
        if state.inflight.is_some() {
            let why = format!("{MAY_BE_TWICE}: an earlier attempt was cut short after it began");
            self.record(Event::of(&state, EventKind::Unknown, Some(&why)));
        }
        hooks::kill_at("deliver:locked");
        state.inflight = Some(self.queue.clock.now());
        self.queue.mark(&state)?;
        hooks::kill_at("deliver:marked");
        // A second descriptor of the same open file: the lock stays with the first until the commit.
        let path = self.queue.data_path(id);
        let mut data = lock
            .data
            .try_clone()
            .map_err(|e| self.queue.failure(&path, e))?;
        data.rewind().map_err(|e| self.queue.failure(&path, e))?;
        let message = Message {
            tx: transaction(&state),
            data: Box::new(data),
        };
        Ok(Some((InFlight { _lock: lock, state }, message)))
    }

    /// Commit what `result` says about the entry in flight `state`; the caller still holds its lock.
    pub(super) fn settle(
        &self,
        state: &mut State,
        result: Result<Delivery, Error>,
    ) -> Result<Verdict, QueueError> {
        state.inflight = None;
        let verdict = self.apply(state, result);
        if let Verdict::Hold(_) = verdict {
            // The group's entries are held together, this one included, under their own locks.
            return Ok(verdict);
        }
        if state.finished() && state.failed().next().is_none() {
            // Every recipient has it: removing the state, durably, is the commit (spec §9: nothing is
            // pending any more), one fsync instead of a write, a rename and then a removal.
            return self.queue.remove_delivered(&state.id).map(|()| verdict);
        }
        self.queue.commit(Dir::Queue, state)?;
        hooks::kill_at("deliver:committed");
        if state.finished() {
            self.finish(state)?;
        }
        Ok(verdict)
    }

    /// The new recipient states for what `result` says, and the events.
    fn apply(&self, state: &mut State, result: Result<Delivery, Error>) -> Verdict {
        let now = self.queue.clock.now();
        match result {
            Ok(delivery) => {
                self.sent(state, &delivery.delivered);
                match delivery.refused.is_empty() {
                    true => Verdict::Delivered,
                    false => {
                        self.refused(state, &delivery.refused, now);
                        Verdict::Refused
                    }
                }
            }
            Err(Error::RecipientsRefused { refused }) => {
                self.refused(state, &refused, now);
                Verdict::Refused
            }
            Err(Error::UnknownOutcome { cause, partial }) => {
                self.sent(state, &partial.delivered);
                self.refused(state, &partial.refused, now);
                let why = format!("{MAY_BE_TWICE}: {cause}");
                defer(state, &partial.unknown, &why, now);
                let event =
                    Event::for_recipients(state, EventKind::Unknown, partial.unknown, Some(&why));
                self.record(event);
                Verdict::Stop(why)
            }
            Err(error) => self.failed_transaction(state, &error, now),
        }
    }

    /// The transaction failed as a whole: hold, defer or fail every pending recipient.
    fn failed_transaction(&self, state: &mut State, error: &Error, now: i64) -> Verdict {
        let text = error.to_string();
        let pending: Vec<String> = state.pending().map(|r| r.address.clone()).collect();
        if error.reply().is_some_and(is_configuration) {
            return Verdict::Hold(text);
        }
        let permanent = match error {
            Error::Rejected { reply, .. } => reply.is_permanent(),
            Error::MessageTooBig { .. } | Error::NotOffered(_) | Error::InvalidCommand(_) => true,
            Error::Input(_) => true,
            _ => false,
        };
        if permanent {
            let refusals: Vec<(String, String)> =
                pending.into_iter().map(|a| (a, text.clone())).collect();
            self.bounce(state, &refusals);
            return Verdict::Refused;
        }
        defer(state, &pending, &text, now);
        self.record(Event::of(state, EventKind::Deferred, Some(&text)));
        match error {
            Error::Rejected { reply, .. } if reply.code != Code::UNAVAILABLE => Verdict::Deferred,
            _ => Verdict::Stop(text),
        }
    }

    /// The recipients the server took the message for, each recording the reply that took it: over
    /// LMTP its own (RFC 2033 §4.2), not the transaction's last, which may be another recipient's
    /// refusal. One event per distinct reply, so an SMTP transaction is one log line.
    fn sent(&self, state: &mut State, accepted: &[Acceptance]) {
        for r in &mut state.recipients {
            let reply = accepted.iter().find(|(a, _)| *a == r.address);
            if let (RcptState::Pending, Some((_, reply))) = (r.state, reply) {
                r.state = RcptState::Sent;
                r.last_reply = Some(reply.to_string());
            }
        }
        let mut by_reply: Vec<(String, Vec<String>)> = Vec::new();
        for (address, reply) in accepted {
            let text = reply.to_string();
            match by_reply.iter_mut().find(|(t, _)| *t == text) {
                Some((_, addresses)) => addresses.push(address.clone()),
                None => by_reply.push((text, vec![address.clone()])),
            }
        }
        for (text, addresses) in by_reply {
            let event = Event::for_recipients(state, EventKind::Delivered, addresses, Some(&text));
            self.record(event);
        }
    }

    /// Refused recipients: a 5xx fails that recipient only, a 4xx defers it.
    fn refused(&self, state: &mut State, refused: &[Refusal], now: i64) {
        let mut bounced = Vec::new();
        for (address, reply) in refused {
            let text = reply.to_string();
            if reply.is_permanent() {
                bounced.push((address.clone(), text));
            } else {
                defer(state, std::slice::from_ref(address), &text, now);
                let event = Event::for_recipients(
                    state,
                    EventKind::Deferred,
                    vec![address.clone()],
                    Some(&text),
                );
                self.record(event);
            }
        }
        self.bounce(state, &bounced);
    }

    /// Fail these recipients for good, each with its reason.
    fn bounce(&self, state: &mut State, refusals: &[(String, String)]) {
        for (address, text) in refusals {
            if let Some(r) = state
                .recipients
                .iter_mut()
                .find(|r| r.state == RcptState::Pending && &r.address == address)
            {
                r.state = RcptState::Failed;
                r.attempts = r.attempts.saturating_add(1);
                r.last_reply = Some(text.clone());
            }
            let event =
                Event::for_recipients(state, EventKind::Bounced, vec![address.clone()], Some(text));
            self.record(event);
        }
    }
}
