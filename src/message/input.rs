//! Why the message could not be read: the `--input` file, the input while it was spooled, the spool
//! file (issue 10, point 15: say which side failed). The exit status of each is decided by
//! `exit::classify`. Imports only the spool's error.

use std::io;
use std::path::PathBuf;

use super::spool::SpoolError;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot open the message file {}: {source}", .path.display())]
    Open { path: PathBuf, source: io::Error },
    /// `from`: "standard input" or "the message file NAME".
    #[error("cannot read the message from {from}: {source}")]
    Read { from: String, source: io::Error },
    /// This host's failure, not the input's; `temporary` when room may be made (a full disk).
    #[error(
        "cannot write the message to its spool file in {} (the temporary directory, $TMPDIR): \
         {source}; nothing was sent{}",
        .dir.display(),
        if *.temporary { ", try again when there is room" } else { "" }
    )]
    SpoolWrite {
        dir: PathBuf,
        source: io::Error,
        temporary: bool,
    },
    /// Reading back what was spooled.
    #[error("cannot read the spooled message: {0}")]
    Spooled(io::Error),
}

impl InputError {
    /// A spooling failure, said from the side that failed; `from` names the input.
    pub fn spooling(error: SpoolError, from: &str) -> InputError {
        let temporary = error.is_temporary();
        match error {
            SpoolError::Read(source) => InputError::Read {
                from: from.to_owned(),
                source,
            },
            SpoolError::Write(source) => InputError::SpoolWrite {
                dir: std::env::temp_dir(),
                source,
                temporary,
            },
        }
    }
}
