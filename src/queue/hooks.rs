//! Test-only hooks, compiled into debug builds only (`cfg(debug_assertions)`); a release build has the
//! same functions doing nothing, so no environment variable can change what an installed mailsend does.
//! They are read here, deep down, rather than resolved with the settings (design habit 7), because they
//! stand for the world (a crash, a full disk, the clock, another user), not for a choice of the user.
//!
//! - `MAILSEND_TEST_KILL_AT=STEP`: the process raises SIGKILL on itself when it reaches STEP (issue 12,
//!   test 1: crash safety at every step of enqueue and delivery).
//! - `MAILSEND_TEST_FAIL_AT=STEP`: the write at STEP fails with ENOSPC (issue 12, test 5).
//! - `MAILSEND_TEST_NOW=SECONDS`: the queue's clock reads this time (issue 12, test 4: expiry).
//! - `MAILSEND_TEST_UID=N`: the queue takes this as the user's ID (issue 12, test 7: a second user).
//! - `MAILSEND_TEST_ETC=DIR`: `/etc/aliases` and `/etc/mailname` are read in DIR instead (issue 14), so
//!   that no test reads the machine's own files.

use std::io;

#[cfg(debug_assertions)]
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Die at `step` when the test asks for it.
pub fn kill_at(step: &str) {
    #[cfg(debug_assertions)]
    if var("MAILSEND_TEST_KILL_AT").as_deref() == Some(step) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
    #[cfg(not(debug_assertions))]
    let _ = step;
}

/// A full disk at `step` when the test asks for it.
pub fn fail_at(step: &str) -> io::Result<()> {
    #[cfg(debug_assertions)]
    if var("MAILSEND_TEST_FAIL_AT").as_deref() == Some(step) {
        return Err(io::Error::from_raw_os_error(libc::ENOSPC));
    }
    #[cfg(not(debug_assertions))]
    let _ = step;
    Ok(())
}

/// The time the test sets, in seconds since the epoch.
pub fn now() -> Option<i64> {
    #[cfg(debug_assertions)]
    return var("MAILSEND_TEST_NOW").and_then(|v| v.parse().ok());
    #[cfg(not(debug_assertions))]
    None
}

/// The user ID the test sets.
pub fn uid() -> Option<u32> {
    #[cfg(debug_assertions)]
    return var("MAILSEND_TEST_UID").and_then(|v| v.parse().ok());
    #[cfg(not(debug_assertions))]
    None
}

/// The directory the test puts the system's aliases file and mailname in.
pub fn etc() -> Option<std::path::PathBuf> {
    #[cfg(debug_assertions)]
    return var("MAILSEND_TEST_ETC").map(std::path::PathBuf::from);
    #[cfg(not(debug_assertions))]
    None
}
