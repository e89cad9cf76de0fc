//! What can go wrong with the queue's files, typed so that `exit::classify`, the one map to an exit status, can tell them apart: a full
//! disk and a spool that cannot be written are temporary (75, spec §9), and each message names the
//! path and, where there is one, the fix.

use std::io;
use std::path::PathBuf;

use super::id::Id;
use super::state::Corrupt;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// ENOSPC or EDQUOT while writing an entry; nothing of it is left behind.
    #[error(
        "the file system holding the queue {} is full ({source}); the message was not queued, try again \
         when there is room",
        path.display()
    )]
    NoSpace { path: PathBuf, source: io::Error },
    #[error("cannot write the queue at {}: {source}; {fix}", path.display())]
    NotWritable {
        path: PathBuf,
        source: io::Error,
        fix: String,
    },
    #[error(
        "{} is a symbolic link or not a {what}; mailsend does not follow links in its queue ({fix})",
        path.display()
    )]
    NotPlain {
        path: PathBuf,
        what: &'static str,
        fix: String,
    },
    #[error("the queue needs a place: set queue_dir, or HOME (or XDG_STATE_HOME)")]
    Nowhere,
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("there is no queue entry {0}")]
    NotFound(String),
    #[error("queue entry {0} belongs to another user")]
    NotYours(Id),
    #[error("queue entry {0} is being delivered right now; try again in a moment")]
    Busy(Id),
    /// A queue command that does not apply (`--queue-release` of an entry that is not held).
    #[error("{0}")]
    Usage(String),
    #[error("the state file of queue entry {id} is unusable: {why}")]
    Corrupt { id: Id, why: Corrupt },
}

/// An I/O failure on `path`, classified: a full disk, a permission problem (with `fix`), or another.
pub fn classify(path: PathBuf, source: io::Error, fix: &dyn Fn() -> String) -> QueueError {
    match source.raw_os_error() {
        Some(libc::ENOSPC | libc::EDQUOT) => QueueError::NoSpace { path, source },
        Some(libc::EACCES | libc::EPERM | libc::EROFS) => QueueError::NotWritable {
            path,
            source,
            fix: fix(),
        },
        Some(libc::ELOOP) => QueueError::NotPlain {
            path,
            what: "regular file",
            fix: fix(),
        },
        _ => QueueError::Io { path, source },
    }
}
