//! `mailsend -q` (spec §9 "Delivering the queue"): one runner at a time (flock on `lock`); the sweep of a
//! crash's garbage; held entries released when the configuration file changed; expired entries failed;
//! then the due entries grouped by route (account, or the server named on the command line), and for each
//! group one connection that sends the entries back to back as one batch ([`Session::send_batch`]:
//! several messages per write under CHUNKING, each dot with the next envelope under PIPELINING), or,
//! where the server offers no CHUNKING, a small pool of them (`queue_connections`) taking entries from
//! one work list ([`pool`]). Each entry is locked (flock on `data/ID`) and marked in flight before its
//! bytes are written, sent only to the recipients still pending, and its new recipient state is
//! committed as soon as its last reply is read, before anything else ([`attempt`]). The first
//! connection or TLS failure ends the run, so 500 queued messages never mean 500 connection attempts; a
//! failure that is the smarthost's configuration (AUTH refused, a certificate not trusted, 530/534/535,
//! 5.7.30, a password command failing) holds the group's entries without a bounce ([`classify`]).
//!
//! The runner does not know settings: a [`Routes`] dials a route and an [`Events`] records what happened,
//! so the unit tests drive it with the in-memory scripted server.

mod attempt;
mod classify;
mod events;
mod finish;
mod pool;

pub use classify::Verdict;
pub use events::{Event, EventKind, Events};

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::clock::{backoff, expired};
use super::error::QueueError;
use super::id::Id;
use super::state::{RcptState, Route, State};
use super::store::{Dir, LoadError, Queue};
use crate::smtp::session::{BodyType, Session, Transaction};

/// How the runner reaches a route's server.
pub trait Routes {
    /// An established session (greeting, EHLO, TLS, AUTH) for `route`, or why not.
    fn dial(&mut self, route: &Route) -> anyhow::Result<Session>;
    /// The host name for failure notices (`Reporting-MTA`) and the domain of their From address.
    fn notice_names(&self, route: &Route) -> (String, String);
}

/// What this run does besides delivering.
#[derive(Debug, Clone)]
pub struct Options {
    /// `-q` ignores the backoff (spec §9); the run after a successful send respects it.
    pub ignore_backoff: bool,
    pub lifetime: Duration,
    /// [`super::store::config_stamp`] of the configuration file now: held entries whose stamp differs
    /// are released.
    pub config_stamp: String,
    /// `queue_connections`: at most this many connections to a route at once, where its server offers
    /// no CHUNKING (with CHUNKING one connection carries several messages per write already).
    pub connections: usize,
}

/// What the run did, for its exit status and its last line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Another runner held the lock: this one did nothing.
    pub busy: bool,
    /// Entries taken for delivery.
    pub attempted: usize,
    /// Connections tried, each of a route's pool counted.
    pub connections: usize,
    /// The run ended at a connection failure (the reason), leaving entries for the next run.
    pub stopped: Option<String>,
}

/// One run over the queue.
pub struct Runner<'a> {
    pub queue: &'a Queue,
    pub routes: &'a mut (dyn Routes + Send),
    pub events: &'a mut (dyn Events + Send),
    pub options: Options,
}

impl Runner<'_> {
    /// Run the queue once.
    pub fn run(&mut self) -> Result<Report, QueueError> {
        Run {
            queue: self.queue,
            routes: Mutex::new(&mut *self.routes),
            events: Mutex::new(&mut *self.events),
            options: &self.options,
            notices: Mutex::new(()),
        }
        .run()
    }
}

/// A run in progress, shared by the connections of a route's pool, each on its own thread: the routes
/// and the events behind locks, the rest read only.
struct Run<'a> {
    queue: &'a Queue,
    routes: Mutex<&'a mut (dyn Routes + Send)>,
    events: Mutex<&'a mut (dyn Events + Send)>,
    options: &'a Options,
    /// Notices are queued one at a time: each takes the first free ID ([`finish`]).
    notices: Mutex<()>,
}

/// A lock whose holder panicked still guards data that is whole (each use is one call).
fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether the run goes on after a group.
enum Next {
    Continue,
    Stop(String),
}

impl Run<'_> {
    fn record(&self, event: Event) {
        lock(&self.events).record(event);
    }

    /// Run the queue once.
    fn run(&self) -> Result<Report, QueueError> {
        let Some(_lock) = self.queue.runner_lock()? else {
            return Ok(Report {
                busy: true,
                ..Report::default()
            });
        };
        self.queue.sweep()?;
        self.release_changed()?;
        let mut report = Report::default();
        for (route, ids) in self.due()? {
            match self.deliver_group(&route.0, &ids, &mut report)? {
                Next::Continue => {}
                Next::Stop(reason) => {
                    report.stopped = Some(reason);
                    break;
                }
            }
        }
        Ok(report)
    }

    /// The entries to try now, grouped by route, oldest first; along the way, unreadable entries go to
    /// `failed/`, expired ones fail, and finished ones are completed.
    fn due(&self) -> Result<BTreeMap<RouteKey, Vec<Id>>, QueueError> {
        let now = self.queue.clock.now();
        let mut groups: BTreeMap<RouteKey, Vec<Id>> = BTreeMap::new();
        for id in self.queue.ids(Dir::Queue)? {
            let Some(state) = self.load_or_fail(Dir::Queue, &id)? else {
                continue;
            };
            let expired = expired(state.created, self.options.lifetime, now);
            if state.finished() || expired {
                self.complete(&id, expired)?;
                continue;
            }
            let due = state.pending().any(|r| r.next_try <= now);
            if self.options.ignore_backoff || due {
                groups
                    .entry(RouteKey(state.route.clone()))
                    .or_default()
                    .push(id);
            }
        }
        Ok(groups)
    }

    /// Under the entry's lock: fail an expired entry's pending recipients, and finish one with none.
    fn complete(&self, id: &Id, expired: bool) -> Result<(), QueueError> {
        let Some(_lock) = self.queue.lock(id)? else {
            return Ok(());
        };
        let Some(mut state) = self.load_or_fail(Dir::Queue, id)? else {
            return Ok(());
        };
        if expired && !state.finished() {
            self.expire(&mut state)?;
        }
        if state.finished() {
            self.finish(&mut state)?;
        }
        Ok(())
    }

    /// The state of `id`, or `None` when it is gone or was unreadable (then moved to `failed/` with a
    /// log line: a corrupt state is never sent).
    fn load_or_fail(&self, dir: Dir, id: &Id) -> Result<Option<State>, QueueError> {
        match self.queue.load(dir, id) {
            Ok(state) => Ok(Some(state)),
            Err(LoadError::Missing) => Ok(None),
            Err(LoadError::Io(e)) => Err(self.queue.failure(&self.queue.state_path(dir, id), e)),
            Err(LoadError::Refused(why)) => {
                let from = self.queue.state_path(dir, id);
                let to = self.queue.state_path(Dir::Failed, id);
                std::fs::rename(&from, &to).map_err(|e| self.queue.failure(&to, e))?;
                self.queue.sync_dir(Dir::Failed.name())?;
                self.queue.sync_dir(dir.name())?;
                self.record(Event::corrupt(id, &why));
                Ok(None)
            }
        }
    }

    /// Held entries go back to `queue/` for this run (spec §9: "retried on -q or when the config file
    /// changes"): on a `-q` asked for by hand or by a timer, or when the configuration file changed since
    /// they were held. The run after a send retries them only after a change, so a wrong password is
    /// tried once per `-q`, never once per message sent. A hold by --queue-hold waits for
    /// --queue-release, whatever the run or the file does.
    fn release_changed(&self) -> Result<(), QueueError> {
        for id in self.queue.ids(Dir::Hold)? {
            let Some(mut state) = self.load_or_fail(Dir::Hold, &id)? else {
                continue;
            };
            let retry = state.held.as_ref().is_none_or(|h| {
                h.config != super::state::MANUAL_HOLD
                    && (self.options.ignore_backoff || h.config != self.options.config_stamp)
            });
            if retry && let Some(_lock) = self.queue.lock(&id)? {
                state.held = None;
                self.queue.relocate(Dir::Hold, Dir::Queue, &state)?;
                self.record(Event::of(&state, EventKind::Released, None));
            }
        }
        Ok(())
    }

    /// The group's server could not be reached or refused the set-up: hold its entries when the fault
    /// is the smarthost's configuration, else defer them and end the run.
    fn undialled(&self, ids: &[Id], error: &anyhow::Error) -> Result<Next, QueueError> {
        let reason = crate::exit::causes(error).join(": ");
        match classify::dial_failure(error) {
            Verdict::Hold(_) => {
                self.hold_all(ids, &reason)?;
                Ok(Next::Continue)
            }
            _ => {
                for id in ids {
                    self.defer_entry(id, &reason)?;
                }
                Ok(Next::Stop(reason))
            }
        }
    }

    /// Record a failed attempt for every pending recipient of `id` (locked meanwhile).
    fn defer_entry(&self, id: &Id, reason: &str) -> Result<(), QueueError> {
        let Some(_lock) = self.queue.lock(id)? else {
            return Ok(());
        };
        let Some(mut state) = self.load_or_fail(Dir::Queue, id)? else {
            return Ok(());
        };
        let now = self.queue.clock.now();
        let pending: Vec<String> = state.pending().map(|r| r.address.clone()).collect();
        defer(&mut state, &pending, reason, now);
        self.queue.commit(Dir::Queue, &state)?;
        self.record(Event::of(&state, EventKind::Deferred, Some(reason)));
        Ok(())
    }

    /// Move entries to `hold/`: no bounce, retried when the configuration changes (spec §9).
    fn hold_all(&self, ids: &[Id], reason: &str) -> Result<(), QueueError> {
        for id in ids {
            let Some(_lock) = self.queue.lock(id)? else {
                continue;
            };
            let Some(mut state) = self.load_or_fail(Dir::Queue, id)? else {
                continue;
            };
            state.inflight = None;
            state.held = Some(super::state::Held {
                since: self.queue.clock.now(),
                reason: reason.to_owned(),
                config: self.options.config_stamp.clone(),
            });
            self.queue.relocate(Dir::Queue, Dir::Hold, &state)?;
            self.record(Event::of(&state, EventKind::Held, Some(reason)));
        }
        Ok(())
    }
}

/// A failed attempt for `addresses`: one more attempt, the next try after the backoff, the reason.
pub fn defer(state: &mut State, addresses: &[String], reason: &str, now: i64) {
    let id = state.id.clone();
    for r in &mut state.recipients {
        if r.state == RcptState::Pending && addresses.contains(&r.address) {
            r.attempts = r.attempts.saturating_add(1);
            r.next_try = now + backoff(&id, r.attempts);
            r.last_reply = Some(reason.to_owned());
        }
    }
}

/// Routes ordered for grouping (the account first, so a listing of the run is stable).
#[derive(Debug, Clone, PartialEq, Eq)]
struct RouteKey(Route);

impl RouteKey {
    fn key(
        &self,
    ) -> (
        &Option<String>,
        &Option<String>,
        Option<u16>,
        &Option<String>,
        bool,
    ) {
        let r = &self.0;
        (&r.account, &r.host, r.port, &r.socket, r.lmtp)
    }
}

impl PartialOrd for RouteKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RouteKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// The transaction that sends `state`'s data to its pending recipients.
fn transaction(state: &State) -> Transaction {
    let p = &state.params;
    Transaction {
        from: state.sender.clone(),
        recipients: state.pending().map(|r| r.address.clone()).collect(),
        size: state.size,
        eight_bit: p.eight_bit,
        body_type: match p.body.as_deref() {
            Some("8BITMIME") => Some(BodyType::EightBitMime),
            Some("7BIT") => Some(BodyType::SevenBit),
            _ => None,
        },
        dsn_notify: p.dsn_notify.clone(),
        dsn_ret: p.dsn_ret.clone(),
        dsn_envid: p.dsn_envid.clone(),
    }
}

#[cfg(test)]
mod tests;
