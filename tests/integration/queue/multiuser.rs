//! The multi-user rules of spec §9, with a real setgid binary and a real unprivileged user: running
//! setgid, mailsend reads neither `-C` nor the user's own file (a user cannot point the group's
//! privileges at a file of their own); a queue the user cannot write is 75 with the fix named. They
//! need root (to make the binary setgid and to drop to `nobody` with setpriv), which CI is.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

const NOBODY: &str = "65534";
/// A group that is not nobody's: the binary's group when it runs setgid.
const GROUP: u32 = 4242;

/// A directory `nobody` can enter, holding a copy of the binary (so that its mode and group are the
/// test's own) and the files the test writes.
fn place() -> Option<(TempDir, PathBuf)> {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: making a setgid binary and becoming nobody needs root");
        return None;
    }
    let dir = tempfile::Builder::new()
        .prefix("mailsend-multiuser")
        .tempdir_in("/tmp")
        .expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let bin = dir.path().join("mailsend");
    std::fs::copy(assert_cmd::cargo::cargo_bin("mailsend"), &bin).expect("copy the binary");
    Some((dir, bin))
}

fn setgid(bin: &Path, on: bool) {
    std::os::unix::fs::chown(bin, None, Some(GROUP)).expect("chgrp");
    let mode = if on { 0o2755 } else { 0o755 };
    std::fs::set_permissions(bin, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// `bin args…` as uid and gid 65534 with no supplementary groups, HOME in `dir`.
fn as_nobody(dir: &Path, bin: &Path, args: &[&str]) -> Output {
    use std::io::Write;
    let mut child = Command::new("setpriv")
        .args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
        ])
        .arg(bin)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("xdg"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("LOGNAME", "nobody")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("setpriv runs");
    let message = b"From: a@example.org\nTo: b@example.org\nSubject: s\n\nhello\n";
    // A run refused before it reads its input closes the pipe: that is not the test's failure.
    let _ = child.stdin.take().expect("stdin").write_all(message);
    child.wait_with_output().expect("wait")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Spec §9: "Running setgid, mailsend ignores -C and the user's own config." The same binary without
/// the bit reads both, so the test shows the bit is what changes it.
#[test]
fn running_setgid_reads_neither_c_nor_the_users_own_file() {
    let Some((dir, bin)) = place() else { return };
    let named = dir.path().join("named.toml");
    std::fs::write(&named, "[defaults]\nhost = \"named.example\"\n").expect("-C file");
    let own = dir.path().join("xdg/mailsend");
    std::fs::create_dir_all(&own).expect("xdg");
    std::fs::write(
        own.join("config.toml"),
        "[defaults]\nhost = \"own.example\"\n",
    )
    .expect("own");
    for path in [dir.path().join("xdg"), own.clone()] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let pretend = ["--pretend", "-f", "a@example.org", "b@example.org"];

    setgid(&bin, false);
    let plain = [&["-C", named.to_str().expect("utf-8")][..], &pretend].concat();
    let plain = as_nobody(dir.path(), &bin, &plain);
    assert_eq!(plain.status.code(), Some(0), "{}", text(&plain));
    assert!(text(&plain).contains("named.example"), "{}", text(&plain));
    let plain_own = as_nobody(dir.path(), &bin, &pretend);
    assert!(
        text(&plain_own).contains("own.example"),
        "{}",
        text(&plain_own)
    );

    setgid(&bin, true);
    let args = [&["-C", named.to_str().expect("utf-8")][..], &pretend].concat();
    let out = as_nobody(dir.path(), &bin, &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("running setgid"), "{shown}");
    assert!(
        !shown.contains("named.example") && !shown.contains("own.example"),
        "{shown}"
    );
    let out = as_nobody(dir.path(), &bin, &pretend);
    assert!(!text(&out).contains("own.example"), "{}", text(&out));
}

/// Spec §9: "A spool it cannot write is exit 75 with a message that names the fix", and nothing of the
/// message is left anywhere.
#[test]
fn a_queue_the_user_cannot_write_is_75_naming_the_fix() {
    let Some((dir, bin)) = place() else { return };
    setgid(&bin, false);
    let spool = dir.path().join("spool");
    std::fs::create_dir(&spool).expect("spool");
    std::fs::set_permissions(&spool, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let config = dir.path().join("queue.toml");
    std::fs::write(
        &config,
        format!("[defaults]\nqueue_dir = \"{}\"\n", spool.display()),
    )
    .expect("config");
    let args = [
        "-C",
        config.to_str().expect("utf-8"),
        "-odq",
        "-f",
        "a@example.org",
        "b@example.org",
    ];
    let out = as_nobody(dir.path(), &bin, &args);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(75), "{shown}");
    assert!(shown.contains(&spool.display().to_string()), "{shown}");
    assert!(
        shown.contains("owns") || shown.contains("group mailsend"),
        "{shown}"
    );
    assert_eq!(std::fs::read_dir(&spool).expect("read").count(), 0);
}

/// Spec §9: running setgid, a user only submits. Another server (with `-a`, the account's credentials
/// would go to it), another trust, a command or a file read or written with the group's privileges,
/// or a hand-typed dialogue is refused with 77, before any file is read or connection made.
#[test]
fn running_setgid_refuses_what_would_lend_the_groups_privileges() {
    let Some((dir, bin)) = place() else { return };
    setgid(&bin, true);
    let cases: [(&[&str], &str); 5] = [
        (
            &["-a", "relay", "--host", "127.0.0.1:1", "b@example.org"],
            "--host",
        ),
        (
            &["--tls-fingerprint", "AA", "b@example.org"],
            "--tls-fingerprint",
        ),
        (
            &["--input", "/etc/mailsend.toml", "b@example.org"],
            "--input",
        ),
        (&["-oA/etc/mailsend.toml", "-bi"], "-oA"),
        (&["--interactive"], "--interactive"),
    ];
    for (args, named) in cases {
        let out = as_nobody(dir.path(), &bin, args);
        let shown = text(&out);
        assert_eq!(out.status.code(), Some(77), "{args:?}: {shown}");
        assert!(
            shown.contains(&format!("running setgid mailsend, {named} cannot be given")),
            "{args:?}: {shown}"
        );
    }
    // Without the bit the same binary takes them (here: a connection refused, 75).
    setgid(&bin, false);
    let out = as_nobody(
        dir.path(),
        &bin,
        &["--host", "127.0.0.1:1", "b@example.org"],
    );
    assert_eq!(out.status.code(), Some(75), "{}", text(&out));
}
