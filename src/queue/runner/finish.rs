//! The end of an entry (spec §9 "Retry and expiry"): when no recipient is pending, an entry whose every
//! recipient has the message is removed (state first, then data); one with failed recipients gets ONE
//! failure notice (never for the null sender, never about a notice), queued under an ID its state
//! records first, so that a crash between the two queues it at most once, and moves to `failed/`. An
//! entry older than `queue_lifetime` fails its pending recipients first. The caller holds the entry's
//! lock.

use super::events::{Event, EventKind};
use super::{Run, lock};
use crate::queue::enqueue::Draft;
use crate::queue::error::QueueError;
use crate::queue::id::Id;
use crate::queue::notice::{self, Context, MAX_HEADERS};
use crate::queue::state::{Kind, Parameters, RcptState, State};
use crate::queue::store::{Dir, read_head};

impl Run<'_> {
    /// The lifetime ran out: every pending recipient fails, with its last reply kept in the reason.
    pub(super) fn expire(&self, state: &mut State) -> Result<(), QueueError> {
        let days = self.options.lifetime.as_secs_f64() / 86_400.0;
        for r in &mut state.recipients {
            if r.state == RcptState::Pending {
                r.state = RcptState::Failed;
                let last = r.last_reply.as_deref().unwrap_or("never answered");
                r.last_reply = Some(format!(
                    "gave up after {days} days in the queue (queue_lifetime); last reply: {last}"
                ));
            }
        }
        self.queue.commit(Dir::Queue, state)?;
        let failed: Vec<String> = state.failed().map(|r| r.address.clone()).collect();
        self.record(Event::for_recipients(
            state,
            EventKind::Expired,
            failed,
            None,
        ));
        Ok(())
    }

    /// No recipient is pending: remove the entry, or notice and `failed/`.
    pub(super) fn finish(&self, state: &mut State) -> Result<(), QueueError> {
        if state.failed().next().is_none() {
            return self.queue.remove(Dir::Queue, &state.id);
        }
        if state.wants_notice() {
            self.queue_notice(state)?;
        }
        self.queue.relocate(Dir::Queue, Dir::Failed, state)?;
        let failed: Vec<String> = state.failed().map(|r| r.address.clone()).collect();
        let why = "given up; the entry is kept in failed/";
        self.record(Event::for_recipients(
            state,
            EventKind::Failed,
            failed,
            Some(why),
        ));
        Ok(())
    }

    /// Queue the one notice for `state`, under the ID its state records.
    fn queue_notice(&self, state: &mut State) -> Result<(), QueueError> {
        // Two connections of a pool must not pick the same free ID.
        let _one_at_a_time = lock(&self.notices);
        let id = match &state.notice {
            Some(id) => id.clone(),
            None => {
                let id = self.fresh_id();
                state.notice = Some(id.clone());
                self.queue.commit(Dir::Queue, state)?;
                id
            }
        };
        // The header section is at the start; an unreadable data file gives a notice without it.
        let data = read_head(&self.queue.data_path(&state.id), MAX_HEADERS).unwrap_or_default();
        let (host, domain) = lock(&self.routes).notice_names(&state.route);
        let date = |t: i64| {
            chrono::DateTime::from_timestamp(t, 0)
                .unwrap_or_default()
                .with_timezone(&chrono::Local)
                .to_rfc2822()
        };
        let context = Context {
            host: &host,
            domain: &domain,
            date: &date(self.queue.clock.now()),
            arrival: &date(state.created),
            headers: notice::header_section(&data),
        };
        let Some(bytes) = notice::build(state, &context) else {
            return Ok(());
        };
        let draft = Draft {
            kind: Kind::Notice,
            uid: state.uid,
            route: state.route.clone(),
            sender: String::new(),
            params: Parameters::default(),
            recipients: vec![state.sender.clone()],
            tried: Vec::new(),
        };
        self.queue.enqueue_as(&id, &draft, &mut bytes.as_slice())?;
        let event = Event::for_recipients(
            state,
            EventKind::NoticeQueued,
            vec![state.sender.clone()],
            Some(id.as_str()),
        );
        self.record(event);
        Ok(())
    }

    /// An ID no entry has.
    fn fresh_id(&self) -> Id {
        let mut micros = self.queue.clock.micros();
        loop {
            let id = Id::new(micros, std::process::id());
            let used = [Dir::Queue, Dir::Hold, Dir::Failed]
                .iter()
                .map(|d| self.queue.state_path(*d, &id))
                .chain([self.queue.data_path(&id)])
                .any(|p| std::fs::symlink_metadata(p).is_ok());
            if !used {
                return id;
            }
            micros += 1;
        }
    }
}
