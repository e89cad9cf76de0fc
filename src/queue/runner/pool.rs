//! The connections of one route (spec §9: "one connection for the due entries of the same account ...
//! where the server offers no CHUNKING, at most a small pool of connections in parallel
//! (`queue_connections`, default 4), never one per message"). The first connection decides: without
//! CHUNKING, up to `queue_connections` connections (never more than there are entries); with it, one
//! for each flight's worth of entries (`FLIGHT_MESSAGES`), up to the same bound, since the server still
//! takes a flight's messages one by one. They are opened one after another
//! before any is used, and none after one failed to open; each runs on its own thread
//! (`std::thread::scope`) and takes entries from the route's one work list as its batch asks for them
//! ([`Entries`]: each entry prepared when the engine asks for it, settled when it hands the outcome
//! back).
//!
//! When one entry's outcome holds the route (the smarthost's configuration) or loses its connection,
//! no connection takes another entry: the held entry and those never taken are held, or, after a lost
//! connection, left for the next run, which this one then ends.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::attempt::InFlight;
use super::classify::Verdict;
use super::{Next, Report, Run, lock};
use crate::queue::error::QueueError;
use crate::queue::hooks;
use crate::queue::id::Id;
use crate::queue::state::Route;
use crate::smtp::error::Error;
use crate::smtp::session::{Batch, Delivery, FLIGHT_MESSAGES, Message, Session, Then};

/// A route's due entries, shared by the connections of its pool.
struct Work {
    ids: Mutex<VecDeque<Id>>,
    halt: Mutex<Halt>,
    /// Entries taken from the list.
    taken: AtomicUsize,
}

/// Why no connection takes another entry.
#[derive(Default)]
struct Halt {
    /// The smarthost's configuration (the reason): these entries, and every one not taken, are held.
    held: Option<(String, Vec<Id>)>,
    /// A connection was lost (the reason): the run ends after this route.
    stopped: Option<String>,
}

impl Work {
    fn new(ids: &[Id]) -> Work {
        Work {
            ids: Mutex::new(ids.iter().cloned().collect()),
            halt: Mutex::new(Halt::default()),
            taken: AtomicUsize::new(0),
        }
    }

    /// The next entry for a connection, oldest first; `None` when the list is empty or halted.
    fn take(&self) -> Option<Id> {
        let halt = lock(&self.halt);
        if halt.held.is_some() || halt.stopped.is_some() {
            return None;
        }
        let id = lock(&self.ids).pop_front()?;
        self.taken.fetch_add(1, Ordering::Relaxed);
        Some(id)
    }

    /// Entry `id` failed for the smarthost's configuration: hold it and every entry not taken.
    fn hold(&self, id: Id, reason: String) {
        let mut halt = lock(&self.halt);
        halt.held
            .get_or_insert_with(|| (reason, Vec::new()))
            .1
            .push(id);
    }

    /// A connection was lost: no more entries this run.
    fn stop(&self, reason: String) {
        lock(&self.halt).stopped.get_or_insert(reason);
    }
}

/// One connection's share of a route's entries, as the engine's batch: entries are taken from the
/// route's work list one at a time, as the engine asks for them.
struct Entries<'r, 'a> {
    run: &'r Run<'a>,
    work: &'r Work,
    /// The entries handed over, by their number in the batch; `None` once answered.
    inflight: Vec<Option<InFlight>>,
    /// The first failure of the queue's own files: no more entries are taken, and the run fails.
    error: Option<QueueError>,
}

impl<'r, 'a> Entries<'r, 'a> {
    fn new(run: &'r Run<'a>, work: &'r Work) -> Entries<'r, 'a> {
        Entries {
            run,
            work,
            inflight: Vec::new(),
            error: None,
        }
    }

    /// What became of the batch for the queue's files: the first failure, if any.
    fn finish(self) -> Result<(), QueueError> {
        self.error.map_or(Ok(()), Err)
    }
}

impl Batch<'static> for Entries<'_, '_> {
    fn next(&mut self) -> Option<Message<'static>> {
        while self.error.is_none() {
            let id = self.work.take()?;
            match self.run.prepare(&id) {
                Ok(Some((inflight, message))) => {
                    self.inflight.push(Some(inflight));
                    return Some(message);
                }
                // Another process holds it (a delete, a hold), or it is gone: not this run's.
                Ok(None) => {}
                Err(error) => self.error = Some(error),
            }
        }
        None
    }

    fn outcome(&mut self, index: usize, result: Result<Delivery, Error>) {
        let Some(mut inflight) = self.inflight.get_mut(index).and_then(Option::take) else {
            return;
        };
        hooks::kill_at("deliver:replied");
        match self.run.settle(&mut inflight.state, result) {
            Ok(Verdict::Hold(reason)) => self.work.hold(inflight.state.id.clone(), reason),
            Ok(Verdict::Stop(reason)) => self.work.stop(reason),
            Ok(_) => {}
            Err(error) => {
                self.error.get_or_insert(error);
            }
        }
    }
}

impl Run<'_> {
    /// Deliver a route's due entries over one connection or a pool of them.
    pub(super) fn deliver_group(
        &self,
        route: &Route,
        ids: &[Id],
        report: &mut Report,
    ) -> Result<Next, QueueError> {
        report.connections += 1;
        let first = match lock(&self.routes).dial(route) {
            Ok(session) => session,
            Err(error) => return self.undialled(ids, &error),
        };
        hooks::kill_at("deliver:connected");
        // With CHUNKING a connection carries a flight of messages a round trip, but the server still
        // takes them one after another (Exim: its spool's fsyncs, about 5 ms a message here), so a
        // queue of more than one flight shares the pool as well; a smaller one goes in one write.
        let entries_a_connection = match first.capabilities().chunking() {
            true => FLIGHT_MESSAGES,
            false => 1,
        };
        let wanted = self
            .options
            .connections
            .clamp(1, ids.len().div_ceil(entries_a_connection).max(1));
        let mut sessions = vec![first];
        while sessions.len() < wanted {
            report.connections += 1;
            // One refused (a server's limit of connections per client, most often): the ones open
            // carry the route's entries, and no other is tried.
            match lock(&self.routes).dial(route) {
                Ok(session) => sessions.push(session),
                Err(_) => break,
            }
        }
        let work = Work::new(ids);
        let results: Vec<Result<(), QueueError>> = std::thread::scope(|scope| {
            let mut sessions = sessions.into_iter();
            let here = sessions.next();
            let threads: Vec<_> = sessions
                .map(|session| scope.spawn(|| self.drain(session, &work)))
                .collect();
            let mut results: Vec<_> = here.map(|s| self.drain(s, &work)).into_iter().collect();
            for thread in threads {
                results.push(
                    thread
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p)),
                );
            }
            results
        });
        report.attempted += work.taken.into_inner();
        results.into_iter().collect::<Result<(), _>>()?;
        let halt = work.halt.into_inner().unwrap_or_else(|e| e.into_inner());
        if let Some((reason, mut held)) = halt.held {
            held.extend(work.ids.into_inner().unwrap_or_else(|e| e.into_inner()));
            self.hold_all(&held, &reason)?;
        }
        Ok(halt.stopped.map_or(Next::Continue, Next::Stop))
    }

    /// One connection's batch: entries from the work list until it is empty or halted, then QUIT.
    fn drain(&self, mut session: Session, work: &Work) -> Result<(), QueueError> {
        let mut entries = Entries::new(self, work);
        session.send_batch(&mut entries, Then::Quit);
        session.quit();
        entries.finish()
    }
}
