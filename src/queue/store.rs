//! The queue's files and the order they are written in (spec §9 "Commit"). An entry is `data/ID` (the
//! message as sent, written once, its inode never changing, so it carries the entry's lock) and one
//! state file in `queue/`, `hold/` or `failed/`. Every file is written in `tmp/`, fsynced, renamed into
//! place, and the directory fsynced; data before state. Nothing is ever opened through a symbolic link
//! (O_NOFOLLOW, and `symlink_metadata` for directories), so a link planted in the spool is refused.
//!
//! Locks are flock(2) through std's `File::lock`: one on `lock` for the runner, one on `data/ID` for each
//! entry while it is written or sent. The kernel drops them with the process, so a `kill -9` leaves no
//! stale lock (msmtpq's `mkdir` lock did).

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::clock::Clock;
use super::error::{QueueError, classify};
use super::hooks;
use super::id::Id;
use super::location::{Kind, Location};
use super::state::State;

/// A state file larger than this is not one (and a planted `/dev/zero` must not exhaust memory).
const MAX_STATE: u64 = 16 << 20;

/// The directories that hold state files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Waiting for delivery.
    Queue,
    /// Held for a fix of the smarthost's configuration; no bounce.
    Hold,
    /// Given up: expired, refused for good, or unreadable.
    Failed,
}

impl Dir {
    pub fn name(self) -> &'static str {
        match self {
            Dir::Queue => "queue",
            Dir::Hold => "hold",
            Dir::Failed => "failed",
        }
    }
}

const SUBDIRS: [&str; 5] = ["tmp", "data", "queue", "hold", "failed"];

/// An open queue.
#[derive(Debug, Clone)]
pub struct Queue {
    pub location: Location,
    pub clock: Clock,
    /// Mode of new files: 0600 in a user's queue, 0660 in the shared spool (the runner reads what
    /// users queue through the group).
    file_mode: u32,
}

/// Why a state file could not be read.
#[derive(Debug)]
pub enum LoadError {
    /// Gone (delivered, deleted, moved) since the directory was listed.
    Missing,
    /// Not a regular file (a planted symbolic link), or not a state file mailsend wrote.
    Refused(String),
    Io(io::Error),
}

/// The lock on one entry, held while it is written or delivered; the file is the message.
#[derive(Debug)]
pub struct EntryLock {
    pub id: Id,
    pub data: File,
}

impl Queue {
    /// Open the queue at `location`; with `create`, make what is missing (the user's own queue 0700, the
    /// subdirectories of any). Without it, a missing queue is `Ok(None)`: nothing queued.
    pub fn open(
        location: &Location,
        clock: Clock,
        create: bool,
    ) -> Result<Option<Queue>, QueueError> {
        let queue = Queue {
            location: location.clone(),
            clock,
            file_mode: match location.kind {
                Kind::System => 0o660,
                Kind::Own => 0o600,
            },
        };
        if !queue.check_dir(&location.path, create && location.kind == Kind::Own)? {
            return Ok(None);
        }
        for sub in SUBDIRS {
            queue.check_dir(&location.path.join(sub), create)?;
        }
        Ok(Some(queue))
    }

    /// `Ok(true)` when `path` is a real directory (made when missing and `create`), `Ok(false)` when it
    /// is missing; a symbolic link or a file there is refused.
    fn check_dir(&self, path: &Path, create: bool) -> Result<bool, QueueError> {
        match fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => return Ok(true),
            Ok(_) => {
                return Err(QueueError::NotPlain {
                    path: path.to_owned(),
                    what: "directory",
                    fix: self.location.fix(),
                });
            }
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(self.failure(path, e)),
            Err(_) if !create => return Ok(false),
            Err(_) => {}
        }
        let mode = match self.location.kind {
            Kind::System => 0o2770,
            Kind::Own => 0o700,
        };
        DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(path)
            .map_err(|e| self.failure(path, e))?;
        Ok(true)
    }

    /// The same queue read by another clock (a test's, or one that moved on).
    pub fn with_clock(&self, clock: Clock) -> Queue {
        Queue {
            clock,
            ..self.clone()
        }
    }

    /// An I/O failure on `path`, with the fix this queue's kind has.
    pub fn failure(&self, path: &Path, e: io::Error) -> QueueError {
        classify(path.to_owned(), e, &|| self.location.fix())
    }

    pub fn path(&self, sub: &str) -> PathBuf {
        self.location.path.join(sub)
    }

    pub fn state_path(&self, dir: Dir, id: &Id) -> PathBuf {
        self.path(dir.name()).join(id.as_str())
    }

    pub fn data_path(&self, id: &Id) -> PathBuf {
        self.path("data").join(id.as_str())
    }

    /// A new file for writing: O_EXCL, O_NOFOLLOW, this queue's mode.
    pub fn create_new(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(self.file_mode)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
    }

    /// The IDs in `dir`, oldest first; names that are not IDs (strays) are left alone.
    pub fn ids(&self, dir: Dir) -> Result<Vec<Id>, QueueError> {
        let path = self.path(dir.name());
        let mut ids = Vec::new();
        let entries = match fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(ids),
            Err(e) => return Err(self.failure(&path, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| self.failure(&path, e))?;
            if let Some(id) = entry.file_name().to_str().and_then(Id::parse) {
                ids.push(id);
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// The state of `id` in `dir`.
    pub fn load(&self, dir: Dir, id: &Id) -> Result<State, LoadError> {
        let path = self.state_path(dir, id);
        let bytes = read_plain(&path, MAX_STATE).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => LoadError::Missing,
            _ if e.raw_os_error() == Some(libc::ELOOP) => {
                LoadError::Refused("it is a symbolic link, which mailsend never follows".into())
            }
            io::ErrorKind::InvalidData => LoadError::Refused(e.to_string()),
            _ => LoadError::Io(e),
        })?;
        State::parse(&bytes, id).map_err(|why| LoadError::Refused(why.to_string()))
    }

    /// Lock `id` for writing or delivery: `Ok(None)` when another process holds it.
    pub fn lock(&self, id: &Id) -> Result<Option<EntryLock>, QueueError> {
        let path = self.data_path(id);
        let data = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => QueueError::NotFound(id.to_string()),
                _ => self.failure(&path, e),
            })?;
        if !data
            .metadata()
            .map_err(|e| self.failure(&path, e))?
            .is_file()
        {
            return Err(self.failure(&path, io::Error::from_raw_os_error(libc::ELOOP)));
        }
        match data.try_lock() {
            Ok(()) => Ok(Some(EntryLock {
                id: id.clone(),
                data,
            })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(self.failure(&path, e)),
        }
    }

    /// The runner's lock (spec §9: one runner at a time); `Ok(None)` when another runner holds it.
    pub fn runner_lock(&self) -> Result<Option<File>, QueueError> {
        let path = self.path("lock");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .mode(self.file_mode)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| self.failure(&path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(self.failure(&path, e)),
        }
    }

    /// Write `state` into `dir` durably: tmp, fsync, rename, fsync the directory (spec §9: after the
    /// final 250, "before anything else"). The caller holds the entry's lock.
    pub fn commit(&self, dir: Dir, state: &State) -> Result<(), QueueError> {
        self.write_state(dir, state, Durable::Yes)
    }

    /// Like [`Queue::commit`] without an fsync: for the in-flight mark, which only makes a log line
    /// truer after a crash. The rename is atomic, so a killed process leaves either state, both valid;
    /// a power cut may lose the mark, never the entry (the flush benchmark: two fsyncs a message fewer).
    pub fn mark(&self, state: &State) -> Result<(), QueueError> {
        self.write_state(Dir::Queue, state, Durable::No)
    }

    fn write_state(&self, dir: Dir, state: &State, durable: Durable) -> Result<(), QueueError> {
        let tmp = self.path("tmp").join(format!("{}.state", state.id));
        // Under the entry's lock, a temporary file of this name is a dead writer's.
        let _ = fs::remove_file(&tmp);
        let dest = self.state_path(dir, &state.id);
        self.write_new(&tmp, state.render().as_bytes(), "state", durable)
            .and_then(|()| fs::rename(&tmp, &dest).map_err(|e| self.failure(&dest, e)))
            .and_then(|()| match durable {
                Durable::Yes => self.sync_dir(dir.name()),
                Durable::No => Ok(()),
            })
            .inspect_err(|_| {
                let _ = fs::remove_file(&tmp);
            })
    }

    /// Create `path`, write `bytes`, fsync. `step` names the write for the test hooks.
    pub fn write_file(&self, path: &Path, bytes: &[u8], step: &str) -> Result<(), QueueError> {
        self.write_new(path, bytes, step, Durable::Yes)
    }

    /// Create `path` and write `bytes`; durable, through the test hooks' `step` and an fsync; not, as
    /// it is (the in-flight mark).
    fn write_new(
        &self,
        path: &Path,
        bytes: &[u8],
        step: &str,
        durable: Durable,
    ) -> Result<(), QueueError> {
        let mut file = self.create_new(path).map_err(|e| self.failure(path, e))?;
        match durable {
            Durable::Yes => hooks::fail_at(step)
                .and_then(|()| file.write_all(bytes))
                .and_then(|()| file.sync_all()),
            Durable::No => file.write_all(bytes),
        }
        .map_err(|e| self.failure(path, e))
    }

    /// fsync a subdirectory, so that a rename or an unlink in it survives a power cut.
    pub fn sync_dir(&self, sub: &str) -> Result<(), QueueError> {
        let path = self.path(sub);
        File::open(&path)
            .and_then(|d| d.sync_all())
            .map_err(|e| self.failure(&path, e))
    }

    /// Move the state of `state.id` from `from` to `to` with its new content: written into `to` first,
    /// then removed from `from`, so a crash between leaves it in both, which [`Queue::sweep`] resolves
    /// for `to` (hold and failed win over queue).
    pub fn relocate(&self, from: Dir, to: Dir, state: &State) -> Result<(), QueueError> {
        self.commit(to, state)?;
        self.unlink(&self.state_path(from, &state.id), Some(from))
    }

    /// The end of an entry every recipient of which has the message: its state removed and the removal
    /// made durable, which commits the delivery (the crash tests' step `deliver:committed`); then the
    /// data, as [`Queue::remove`].
    pub fn remove_delivered(&self, id: &Id) -> Result<(), QueueError> {
        self.unlink(&self.state_path(Dir::Queue, id), Some(Dir::Queue))?;
        hooks::kill_at("deliver:committed");
        self.remove_data(id)
    }

    /// Remove an entry: the state first, made durable (so nothing can send it any more, whatever
    /// happens next), then the data.
    pub fn remove(&self, dir: Dir, id: &Id) -> Result<(), QueueError> {
        self.unlink(&self.state_path(dir, id), Some(dir))?;
        self.remove_data(id)
    }

    /// The data of an entry whose state is gone. Its unlink needs no fsync: a data file without a state
    /// is an orphan that the next sweep removes.
    fn remove_data(&self, id: &Id) -> Result<(), QueueError> {
        hooks::kill_at("remove:state-removed");
        self.unlink(&self.data_path(id), None)
    }

    /// Remove `path` if it is there; with `sync`, make the removal durable by an fsync of that directory.
    fn unlink(&self, path: &Path, sync: Option<Dir>) -> Result<(), QueueError> {
        match fs::remove_file(path) {
            Ok(()) => sync.map_or(Ok(()), |dir| self.sync_dir(dir.name())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.failure(path, e)),
        }
    }

    /// Whether nothing waits in `queue/`.
    pub fn is_empty(&self) -> Result<bool, QueueError> {
        Ok(self.ids(Dir::Queue)?.is_empty())
    }
}

/// Read a regular file without following a link, at most `max` octets.
pub fn read_plain(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "it is not a regular file",
        ));
    }
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "it is too large",
        ));
    }
    Ok(bytes)
}

/// The first `max` octets of a regular file (all of a shorter one), without following a link.
pub fn read_head(path: &Path, max: usize) -> io::Result<Vec<u8>> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    let mut bytes = Vec::new();
    file.take(max as u64).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// What the configuration file is right now, to tell later whether it changed (spec §9: a held entry is
/// retried "when the config file changes"): its modification time, size and inode, or `none`.
pub fn config_stamp(path: Option<&Path>) -> String {
    match path.and_then(|p| fs::metadata(p).ok()) {
        Some(m) => format!("{}.{}-{}-{}", m.mtime(), m.mtime_nsec(), m.size(), m.ino()),
        None => "none".to_owned(),
    }
}

#[cfg(test)]
pub(crate) mod tests;

/// Whether a state write must survive a power cut.
#[derive(Clone, Copy)]
enum Durable {
    Yes,
    No,
}
