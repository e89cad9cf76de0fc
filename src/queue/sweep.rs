//! Garbage a crash leaves, removed by the next run (spec §9 "A crash before it leaves only garbage that a
//! later run removes"): temporary files of dead writers, data files whose state was never committed, and
//! a state left in `queue/` by a move to `hold/` or `failed/` that was cut short. A file still locked
//! belongs to a live writer, and one younger than [`GRACE`] may belong to a writer that has not taken its
//! lock yet: both are left alone.

use std::fs;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::UNIX_EPOCH;

use super::error::QueueError;
use super::id::Id;
use super::store::{Dir, Queue};

/// A file younger than this is never garbage.
pub const GRACE: i64 = 60;

/// What a sweep removed, for the log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub temporary: usize,
    pub orphaned_data: usize,
    pub interrupted_moves: usize,
}

impl Queue {
    /// Remove the garbage; the caller holds the runner's lock.
    pub fn sweep(&self) -> Result<Swept, QueueError> {
        let mut swept = Swept::default();
        let tmp = self.path("tmp");
        for entry in read_dir(&tmp).map_err(|e| self.failure(&tmp, e))? {
            if self.remove_if_dead(&tmp.join(&entry))? {
                swept.temporary += 1;
            }
        }
        let held: Vec<Id> = [Dir::Hold, Dir::Failed]
            .iter()
            .map(|d| self.ids(*d))
            .collect::<Result<Vec<_>, _>>()?
            .concat();
        for id in self.ids(Dir::Queue)? {
            if held.contains(&id) {
                let path = self.state_path(Dir::Queue, &id);
                fs::remove_file(&path).map_err(|e| self.failure(&path, e))?;
                swept.interrupted_moves += 1;
            }
        }
        for id in self.orphans()? {
            if self.remove_if_dead(&self.data_path(&id))? {
                swept.orphaned_data += 1;
            }
        }
        if swept != Swept::default() {
            self.sync_dir("tmp")?;
            self.sync_dir("queue")?;
            self.sync_dir("data")?;
        }
        Ok(swept)
    }

    /// Data files with no state in any directory.
    fn orphans(&self) -> Result<Vec<Id>, QueueError> {
        let data = self.path("data");
        let mut with_state = Vec::new();
        for dir in [Dir::Queue, Dir::Hold, Dir::Failed] {
            with_state.extend(self.ids(dir)?);
        }
        Ok(read_dir(&data)
            .map_err(|e| self.failure(&data, e))?
            .iter()
            .filter_map(|name| Id::parse(name))
            .filter(|id| !with_state.contains(id))
            .collect())
    }

    /// Remove `path` when it is old enough and nobody holds its lock. A link is removed without being
    /// followed; a file renamed away in between is left alone.
    fn remove_if_dead(&self, path: &Path) -> Result<bool, QueueError> {
        let Ok(meta) = fs::symlink_metadata(path) else {
            return Ok(false);
        };
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        if self.clock.now().saturating_sub(modified) < GRACE {
            return Ok(false);
        }
        if meta.is_file() {
            let opened = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
                .open(path);
            let Ok(file) = opened else {
                return Ok(false);
            };
            if file.try_lock().is_err() {
                return Ok(false);
            }
            // The lock is on the inode; the name must still be that inode's.
            let same = fs::symlink_metadata(path).is_ok_and(|now| {
                use std::os::unix::fs::MetadataExt;
                now.ino() == meta.ino() && now.dev() == meta.dev()
            });
            if !same {
                return Ok(false);
            }
        }
        match fs::remove_file(path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.failure(path, e)),
        }
    }
}

/// The names in a directory; a missing directory has none.
fn read_dir(path: &Path) -> io::Result<Vec<String>> {
    let entries = match fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut names = Vec::new();
    for entry in entries {
        if let Some(name) = entry?.file_name().to_str() {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}
