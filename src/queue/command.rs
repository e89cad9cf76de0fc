//! The queue's commands (spec §9): `-q` (run it), `-bp`/`mailq` and `--json` (list it),
//! `--queue-check` (monitoring), `--queue-delete/-hold/-release ID`, and, for a send, queueing what a
//! temporary failure left undelivered ([`send`]). A user sees and manages only their own entries in a
//! shared queue; root sees all. Imports the settings, the dialer and the log; the queue's own rooms do
//! not know them.

mod routes;
pub mod send;

use std::io::{self, Write};

use super::clock::Clock;
use super::error::QueueError;
use super::id::Id;
use super::listing::{self, Listed};
use super::runner::{Event, EventKind, Events, Options, Runner};
use super::state::{Held, MANUAL_HOLD, RcptState};
use super::store::{Dir, LoadError, Queue, config_stamp};
use crate::cli::Cli;
use crate::exit::Outcome;
use crate::settings::{EntryAction, Env, Mode, Settings};
use routes::{LogEvents, SettingsRoutes};

/// Run the queue mode the settings name.
pub fn run(cli: &Cli, env: &Env, settings: &Settings) -> anyhow::Result<Outcome> {
    match &settings.mode {
        Mode::QueueRun => run_queue(cli, env, settings, true),
        Mode::QueueList { json } => list(settings, *json),
        Mode::QueueCheck => check(settings),
        Mode::QueueEntry(action, id) => entry(settings, *action, id),
        other => Err(QueueError::Usage(format!("{other:?} is not a queue command")).into()),
    }
}

/// The queue of these settings; `create` makes it on first use, else a missing queue is `None`.
pub fn open(settings: &Settings, create: bool) -> Result<Option<Queue>, QueueError> {
    let location = settings
        .queue
        .location
        .as_ref()
        .ok_or(QueueError::Nowhere)?;
    Queue::open(location, Clock::system(), create)
}

/// `-q` (`ignore_backoff`), or the run after a successful send (backoff respected): 0, or 75 when the
/// run ended at a connection failure with entries left for the next one.
pub fn run_queue(
    cli: &Cli,
    env: &Env,
    settings: &Settings,
    ignore_backoff: bool,
) -> anyhow::Result<Outcome> {
    let Some(queue) = open(settings, false)? else {
        return Ok(Outcome::Done);
    };
    // After a send, only a queue that holds something is run (spec §9).
    if !ignore_backoff && queue.is_empty()? {
        return Ok(Outcome::Done);
    }
    let mut routes = SettingsRoutes { cli, env };
    let mut events = LogEvents::new(settings, ignore_backoff);
    let options = Options {
        ignore_backoff,
        lifetime: settings.queue.lifetime,
        config_stamp: config_stamp(settings.queue.config_file.as_deref()),
        connections: settings.queue.connections.get().into(),
    };
    let report = Runner {
        queue: &queue,
        routes: &mut routes,
        events: &mut events,
        options,
    }
    .run()?;
    if report.busy && ignore_backoff {
        eprintln!("mailsend: another queue run is in progress; this one did nothing");
    }
    match report.stopped {
        Some(reason) if ignore_backoff => {
            eprintln!("mailsend: the queue run stopped: {reason}; the rest waits for the next run");
            Ok(Outcome::QueueStopped)
        }
        _ => Ok(Outcome::Done),
    }
}

/// The entries this user may see: all for root, else their own (spec §9), queued and held.
fn visible(queue: &Queue, uid: u32) -> Result<Vec<Listed>, QueueError> {
    let mut entries = Vec::new();
    for (dir, held) in [(Dir::Queue, false), (Dir::Hold, true)] {
        for id in queue.ids(dir)? {
            if let Ok(state) = queue.load(dir, &id)
                && (uid == 0 || state.uid == uid)
            {
                entries.push(Listed { state, held });
            }
        }
    }
    entries.sort_by(|a, b| a.state.id.cmp(&b.state.id));
    Ok(entries)
}

/// `-bp`, `mailq`, `--json`.
fn list(settings: &Settings, json: bool) -> anyhow::Result<Outcome> {
    let entries = match open(settings, false)? {
        Some(queue) => visible(&queue, settings.queue.uid)?,
        None => Vec::new(),
    };
    let mut out = io::stdout().lock();
    let local = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .unwrap_or_default()
            .with_timezone(&chrono::Local)
            .format("%a %b %e %H:%M:%S")
            .to_string()
    };
    match json {
        true => listing::json(&entries, &mut out)?,
        false => listing::mailq(&entries, &local, &mut out)?,
    }
    out.flush()?;
    Ok(Outcome::Done)
}

/// `--queue-check`: one line per held entry and per entry older than `queue_warn`; 75 when any.
fn check(settings: &Settings) -> anyhow::Result<Outcome> {
    let Some(queue) = open(settings, false)? else {
        return Ok(Outcome::Done);
    };
    let now = queue.clock.now();
    let warn = i64::try_from(settings.queue.warn.as_secs()).unwrap_or(i64::MAX);
    let mut problems = Vec::new();
    for entry in visible(&queue, settings.queue.uid)? {
        let s = &entry.state;
        let age = now.saturating_sub(s.created);
        match (&s.held, entry.held) {
            (Some(held), true) => problems.push(format!(
                "held: {} ({}): {}",
                s.id,
                sender(&s.sender),
                held.reason
            )),
            _ if age >= warn => {
                let last = s
                    .pending()
                    .find_map(|r| r.last_reply.as_deref())
                    .unwrap_or("not tried yet");
                problems.push(format!(
                    "delayed: {} ({}) queued {} minutes ago: {last}",
                    s.id,
                    sender(&s.sender),
                    age / 60
                ));
            }
            _ => {}
        }
    }
    let mut out = io::stdout().lock();
    for line in &problems {
        writeln!(out, "{line}")?;
    }
    Ok(if problems.is_empty() {
        Outcome::Done
    } else {
        Outcome::QueueProblems
    })
}

fn sender(address: &str) -> String {
    match address {
        "" => "<>".to_owned(),
        a => format!("<{}>", crate::smtp::reply::printable(a.as_bytes())),
    }
}

/// `--queue-delete`, `--queue-hold`, `--queue-release`.
fn entry(settings: &Settings, action: EntryAction, text: &str) -> anyhow::Result<Outcome> {
    let missing = || QueueError::NotFound(text.to_owned());
    let id = Id::parse(text).ok_or_else(missing)?;
    let queue = open(settings, false)?.ok_or_else(missing)?;
    let _lock = queue
        .lock(&id)?
        .ok_or_else(|| QueueError::Busy(id.clone()))?;
    let (dir, state) = find(&queue, &id)?;
    if let Some(state) = &state
        && settings.queue.uid != 0
        && state.uid != settings.queue.uid
    {
        return Err(QueueError::NotYours(id).into());
    }
    let mut events = LogEvents::new(settings, false);
    match (action, state) {
        (EntryAction::Delete, state) => {
            queue.remove(dir, &id)?;
            if let Some(state) = state {
                events.record(Event::of(
                    &state,
                    EventKind::Deleted,
                    Some("--queue-delete"),
                ));
            }
        }
        (EntryAction::Hold, Some(mut state)) if dir == Dir::Queue => {
            state.held = Some(Held {
                since: queue.clock.now(),
                reason: "held by --queue-hold".into(),
                config: MANUAL_HOLD.into(),
            });
            queue.relocate(Dir::Queue, Dir::Hold, &state)?;
            events.record(Event::of(&state, EventKind::Held, Some("--queue-hold")));
        }
        (EntryAction::Release, Some(mut state)) if dir == Dir::Hold => {
            state.held = None;
            for r in state
                .recipients
                .iter_mut()
                .filter(|r| r.state == RcptState::Pending)
            {
                r.next_try = 0;
            }
            queue.relocate(Dir::Hold, Dir::Queue, &state)?;
            events.record(Event::of(
                &state,
                EventKind::Released,
                Some("--queue-release"),
            ));
        }
        (action, _) => {
            let text = format!(
                "queue entry {id} is in {}/; {action:?} does not apply to it",
                dir.name()
            );
            return Err(QueueError::Usage(text).into());
        }
    }
    Ok(Outcome::Done)
}

/// Where `id`'s state is, and the state when it is readable (a corrupt one can still be deleted).
fn find(queue: &Queue, id: &Id) -> Result<(Dir, Option<super::state::State>), QueueError> {
    for dir in [Dir::Queue, Dir::Hold, Dir::Failed] {
        match queue.load(dir, id) {
            Ok(state) => return Ok((dir, Some(state))),
            Err(LoadError::Missing) => {}
            Err(LoadError::Refused(_)) => return Ok((dir, None)),
            Err(LoadError::Io(e)) => return Err(queue.failure(&queue.state_path(dir, id), e)),
        }
    }
    Err(QueueError::NotFound(id.to_string()))
}
