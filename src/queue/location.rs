//! Where the queue lives (spec §9 "Where"): `queue_dir` when configured; else the system spool
//! `/var/spool/mailsend` when it exists (only the system install makes it; mailsend never does); else the
//! user's own, `$XDG_STATE_HOME/mailsend/queue` or `~/.local/state/mailsend/queue`, made 0700 on first
//! use. Also the sentence that names the fix when a queue cannot be written (spec §9, multi-user).

use std::path::{Path, PathBuf};

/// The system spool of the installed MTA (spec §12).
pub const SYSTEM_SPOOL: &str = "/var/spool/mailsend";

/// Which kind of queue a path is: it decides whether mailsend may make it and how a failure is fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The shared spool of a system install: never made by mailsend, group-writable (2770 root:mailsend).
    System,
    /// A user's own queue (XDG state directory), or `queue_dir`: made 0700 on first use.
    Own,
}

/// The queue's directory and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    pub kind: Kind,
}

/// The queue a run uses: `configured` (`queue_dir`), else `system` when it is a directory, else the
/// user's own under `xdg_state_home` (absolute only, as the XDG specification says) or `home`. `None`:
/// no place at all (no HOME), which a run that needs the queue reports.
pub fn locate(
    configured: Option<&Path>,
    system: &Path,
    xdg_state_home: Option<&Path>,
    home: Option<&Path>,
) -> Option<Location> {
    if let Some(path) = configured {
        return Some(Location {
            path: path.to_owned(),
            kind: Kind::Own,
        });
    }
    if system.is_dir() {
        return Some(Location {
            path: system.to_owned(),
            kind: Kind::System,
        });
    }
    let state = xdg_state_home
        .filter(|p| p.is_absolute())
        .map(Path::to_owned)
        .or_else(|| home.map(|h| h.join(".local/state")))?;
    Some(Location {
        path: state.join("mailsend/queue"),
        kind: Kind::Own,
    })
}

impl Location {
    /// What to do when this queue cannot be written (spec §9: "a spool it cannot write is exit 75 with a
    /// message that names the fix").
    pub fn fix(&self) -> String {
        match self.kind {
            Kind::System => format!(
                "users queue into {} through the group mailsend: install mailsend setgid mailsend \
                 (chgrp mailsend BINARY; chmod g+s BINARY, as the mailsend-mta package does) or add \
                 the user to the group, and keep the spool mode 2770 root:mailsend",
                self.path.display()
            ),
            Kind::Own => format!(
                "{} must be a directory this user owns and can write (mode 0700), not a symbolic \
                 link; fix its owner and mode, or set queue_dir to another directory",
                self.path.display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_then_system_then_the_users_own() {
        let dir = tempfile::tempdir().expect("temp dir");
        let system = dir.path().join("spool");
        let home = Path::new("/home/u");
        let own = |xdg: Option<&Path>| locate(None, &system, xdg, Some(home));
        assert_eq!(
            own(None).map(|l| l.path),
            Some(PathBuf::from("/home/u/.local/state/mailsend/queue"))
        );
        assert_eq!(
            own(Some(Path::new("/x/state"))).map(|l| l.path),
            Some(PathBuf::from("/x/state/mailsend/queue"))
        );
        // A relative XDG_STATE_HOME is ignored, as the XDG specification says.
        assert_eq!(
            own(Some(Path::new("rel"))).map(|l| l.path),
            Some(PathBuf::from("/home/u/.local/state/mailsend/queue"))
        );
        assert_eq!(locate(None, &system, None, None), None);
        std::fs::create_dir(&system).expect("mkdir");
        assert_eq!(
            own(None),
            Some(Location {
                path: system.clone(),
                kind: Kind::System
            })
        );
        let configured = locate(Some(Path::new("/q")), &system, None, None).expect("configured");
        assert_eq!(
            (configured.path.as_path(), configured.kind),
            (Path::new("/q"), Kind::Own)
        );
        assert!(own(None).expect("system").fix().contains("setgid"));
    }
}
