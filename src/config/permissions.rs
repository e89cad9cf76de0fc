//! The permission rule for a configuration file that holds a password (spec §5 and §8, security catalogue
//! item 23, after msmtp): the file must belong to the user running mailsend and grant nothing to group or
//! others, so that no other local account can read the secret or replace it. The one exception is the
//! system install of spec §9: the system file `/etc/mailsend.toml` owned by root, which its group may only
//! read and others nothing (0640 root:mailsend), read by the queue runner (user `mailsend`) and the setgid
//! binary; root chose who is in that group, and nobody but root can write the file.
//!
//! Policy for symbolic links: the file checked is the one the link leads to, because that is the file whose
//! bytes are read (the metadata comes from the opened handle, so the check and the read see the same file).
//! A link's own mode means nothing on Linux. Unlike msmtp, root and the system-wide file get no exemption: a
//! password in a file other users can read is a leak whoever runs the program.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::ConfigError;

/// Group and other permission bits.
const SHARED_BITS: u32 = 0o077;

/// Check the opened file's metadata against the rule.
pub(super) fn check(path: &Path, meta: &Metadata) -> Result<(), ConfigError> {
    let uid = current_uid()?;
    let system = path == Path::new(super::SYSTEM_CONFIG);
    if allowed(meta.mode(), meta.uid(), uid, system) {
        Ok(())
    } else {
        Err(ConfigError::Permissions {
            path: path.to_owned(),
            mode: meta.mode() & 0o7777,
            owner: meta.uid(),
            uid,
        })
    }
}

/// Group write and every bit for others: what a root-owned system file must not grant.
const GROUP_WRITE_AND_OTHER_BITS: u32 = 0o027;

/// The rule itself, apart from the file system so that every case can be tested as any user.
fn allowed(mode: u32, owner: u32, uid: u32, system: bool) -> bool {
    (owner == uid && mode & SHARED_BITS == 0)
        || (system && owner == 0 && mode & GROUP_WRITE_AND_OTHER_BITS == 0)
}

/// The real user id without `unsafe` or a libc binding: the kernel shows `/proc/self` as owned by it.
pub(super) fn current_uid() -> Result<u32, ConfigError> {
    let proc_self = Path::new("/proc/self");
    std::fs::metadata(proc_self)
        .map(|m| m.uid())
        .map_err(|source| ConfigError::Read {
            path: proc_self.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_matrix() {
        // (mode, owner, uid, allowed) for a user's file, then for the system file
        let cases = [
            (0o100600, 1000, 1000, true),
            (0o100400, 1000, 1000, true),
            (0o100700, 1000, 1000, true),
            (0o100640, 1000, 1000, false),
            (0o100604, 1000, 1000, false),
            (0o100620, 1000, 1000, false),
            (0o100602, 1000, 1000, false),
            (0o100644, 1000, 1000, false),
            (0o100600, 0, 1000, false),
            (0o100600, 1000, 0, false),
            (0o100600, 0, 0, true),
            (0o100640, 0, 0, false),
        ];
        for (mode, owner, uid, expected) in cases {
            assert_eq!(
                allowed(mode, owner, uid, false),
                expected,
                "mode {mode:o} owner {owner} uid {uid}"
            );
        }
        // Spec §9's /etc/mailsend.toml, 0640 root:mailsend, read by the runner or the setgid binary.
        let system = [
            (0o100640, 0, 998, true),
            (0o100640, 0, 0, true),
            (0o100600, 0, 1000, true),
            (0o100660, 0, 998, false),
            (0o100644, 0, 998, false),
            (0o100641, 0, 998, false),
            (0o100640, 1000, 998, false),
            (0o100600, 998, 998, true),
        ];
        for (mode, owner, uid, expected) in system {
            assert_eq!(
                allowed(mode, owner, uid, true),
                expected,
                "system file: mode {mode:o} owner {owner} uid {uid}"
            );
        }
    }

    #[test]
    fn current_uid_owns_a_new_file() {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        let meta = file.as_file().metadata().expect("metadata");
        assert_eq!(current_uid().expect("/proc/self"), meta.uid());
    }
}
