//! What the queue did, one event at a time (spec §9: the log line and syslog record every queue event:
//! queued, deferred with its reason, delivered, held, failed). The runner only reports; an [`Events`]
//! writes the log lines (in a run) or collects them (in tests).

use crate::queue::id::Id;
use crate::queue::state::State;

/// The kinds of event, as the log line names them (`event=deferred`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Queued,
    Delivered,
    Deferred,
    /// Refused for good by the server (a 5xx to a recipient or to the message).
    Bounced,
    Held,
    Released,
    /// Moved to `failed/`: given up (expired, refused) or unreadable.
    Failed,
    /// The lifetime ran out.
    Expired,
    NoticeQueued,
    /// A lost connection after the data, or an attempt a crash cut short: the message may be
    /// delivered twice.
    Unknown,
    Deleted,
}

impl EventKind {
    pub fn word(self) -> &'static str {
        match self {
            EventKind::Queued => "queued",
            EventKind::Delivered => "delivered",
            EventKind::Deferred => "deferred",
            EventKind::Bounced => "bounced",
            EventKind::Held => "held",
            EventKind::Released => "released",
            EventKind::Failed => "failed",
            EventKind::Expired => "expired",
            EventKind::NoticeQueued => "notice-queued",
            EventKind::Unknown => "outcome-unknown",
            EventKind::Deleted => "deleted",
        }
    }

    /// Whether the event is a failure (syslog severity err rather than info).
    pub fn is_failure(self) -> bool {
        !matches!(
            self,
            EventKind::Queued
                | EventKind::Delivered
                | EventKind::Released
                | EventKind::NoticeQueued
                | EventKind::Deleted
        )
    }
}

/// One event: which entry, what, for whom, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: Id,
    pub kind: EventKind,
    pub sender: String,
    pub recipients: Vec<String>,
    pub size: u64,
    pub reason: Option<String>,
}

impl Event {
    /// An event about `state`'s pending recipients.
    pub fn of(state: &State, kind: EventKind, reason: Option<&str>) -> Event {
        Event::for_recipients(
            state,
            kind,
            state.pending().map(|r| r.address.clone()).collect(),
            reason,
        )
    }

    pub fn for_recipients(
        state: &State,
        kind: EventKind,
        recipients: Vec<String>,
        reason: Option<&str>,
    ) -> Event {
        Event {
            id: state.id.clone(),
            kind,
            sender: state.sender.clone(),
            recipients,
            size: state.size,
            reason: reason.map(str::to_owned),
        }
    }

    /// An entry whose state could not be read.
    pub fn corrupt(id: &Id, why: &str) -> Event {
        Event {
            id: id.clone(),
            kind: EventKind::Failed,
            sender: String::new(),
            recipients: Vec::new(),
            size: 0,
            reason: Some(format!("unreadable state, moved to failed/: {why}")),
        }
    }
}

/// Where events go.
pub trait Events {
    fn record(&mut self, event: Event);
}

/// Tests collect them.
impl Events for Vec<Event> {
    fn record(&mut self, event: Event) {
        self.push(event);
    }
}
