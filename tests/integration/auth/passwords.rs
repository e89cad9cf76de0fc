//! Where the password comes from (spec §5, catalogue C23 and C24): the password command (run by `sh -c`,
//! stdin /dev/null, first line, failures are exit 78 without echoing its stderr), `password` in a 0600
//! config file, `~/.netrc`, and with no terminal a clear error instead of a hang. Every failure here is a
//! configuration error found before connecting, so the server must see no connection at all.
//! These servers are plaintext with `--allow-plaintext-auth`: the source of the secret is what is tested.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{attempt, launch};
use crate::fixture::{assert_quiet_success, assert_stderr_mentions, msg_on_wire};
use crate::harness::{AuthCheck, Run, Script, home};
use crate::tls::{PASSWORD, USER, arg};

fn server() -> Script {
    Script::new()
        .no_pipelining()
        .auth(AuthCheck::new(USER, PASSWORD).mechanisms(&["PLAIN"]))
}

/// `--tls off --allow-plaintext-auth` and `extra`, in `home`.
fn send(home: &TempDir, extra: &[String]) -> Run {
    let mut args: Vec<String> = ["--tls", "off", "--allow-plaintext-auth"]
        .map(String::from)
        .to_vec();
    args.extend(extra.iter().cloned());
    launch(server(), home, &args).0
}

fn with_command(command: &str) -> Vec<String> {
    ["--user", USER, "--password-command", command]
        .map(String::from)
        .to_vec()
}

#[track_caller]
fn assert_authenticated(r: &Run) {
    assert_quiet_success(r);
    assert_eq!(r.transcript.auth, [attempt("PLAIN", true)]);
    assert_eq!(r.transcript.data, vec![msg_on_wire()]);
}

#[track_caller]
fn assert_config_error_before_connecting(r: &Run) {
    r.expect_code(78);
    assert!(!r.transcript.connected, "the server must see no connection");
}

fn file_in(home: &TempDir, name: &str, text: &str, mode: u32) -> PathBuf {
    let path = home.path().join(name);
    std::fs::write(&path, text).expect("write file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path
}

// ---- the password command (catalogue C24) ----

#[test]
fn c24_password_command_failing_is_a_config_error_and_its_stderr_is_not_echoed() {
    let home = home();
    let r = send(&home, &with_command("echo topsecret >&2; exit 3"));
    assert_config_error_before_connecting(&r);
    assert_stderr_mentions(&r, "password command");
    assert!(!r.stderr.contains("topsecret"), "{}", r.stderr);
}

#[test]
fn c24_password_command_with_empty_output_is_a_config_error() {
    for command in ["true", "printf '\\n'", "echo"] {
        let home = home();
        let r = send(&home, &with_command(command));
        assert_config_error_before_connecting(&r);
        assert_stderr_mentions(&r, "password command");
    }
}

#[test]
fn c24_password_command_printing_two_lines_gives_the_first() {
    for command in [
        format!("printf '%s\\nsecond line\\n' '{PASSWORD}'"),
        format!("printf '%s\\r\\nsecond line\\r\\n' '{PASSWORD}'"),
        format!("printf '%s' '{PASSWORD}'"),
    ] {
        let home = home();
        assert_authenticated(&send(&home, &with_command(&command)));
    }
}

#[test]
fn c24_password_command_reading_stdin_gets_dev_null_and_the_message_arrives_intact() {
    // If stdin were the message (or the terminal), `read` would get a line or the link would differ.
    let command = format!(
        "if read -r line; then echo \"stdin: $line\"; \
         elif [ \"$(readlink /proc/self/fd/0)\" != /dev/null ]; then echo not-dev-null; \
         else echo '{PASSWORD}'; fi"
    );
    let home = home();
    assert_authenticated(&send(&home, &with_command(&command)));
}

#[test]
fn password_command_comes_before_the_config_file_and_netrc() {
    let home = home();
    let config = file_in(
        &home,
        "config.toml",
        &format!("[accounts.smarthost]\nuser = \"{USER}\"\npassword = \"from-the-config\"\n"),
        0o600,
    );
    file_in(
        &home,
        ".netrc",
        &format!("machine 127.0.0.1 login {USER} password from-netrc\n"),
        0o600,
    );
    // `-a`: with --host on the command line, only a named account lends its credentials (spec §8).
    let mut args = vec![
        "-C".to_string(),
        arg(&config),
        "-a".into(),
        "smarthost".into(),
    ];
    args.extend(with_command(&format!("echo '{PASSWORD}'")));
    assert_authenticated(&send(&home, &args));
}

// ---- the config file (catalogue C23) ----

fn config_with_password(home: &TempDir, mode: u32) -> Vec<String> {
    let config = file_in(
        home,
        "mailsend.toml",
        &format!("[accounts.smarthost]\nuser = \"{USER}\"\npassword = \"{PASSWORD}\"\n"),
        mode,
    );
    // `-a`: with --host on the command line, only a named account lends its credentials (spec §8).
    vec![
        "-C".to_string(),
        arg(&config),
        "-a".into(),
        "smarthost".into(),
    ]
}

#[test]
fn c23_config_password_in_a_0600_file_is_used() {
    let home = home();
    let args = config_with_password(&home, 0o600);
    assert_authenticated(&send(&home, &args));
}

#[test]
fn c23_config_password_in_a_readable_file_is_refused() {
    for mode in [0o644, 0o640, 0o604] {
        let home = home();
        let args = config_with_password(&home, mode);
        let r = send(&home, &args);
        assert_config_error_before_connecting(&r);
        assert_stderr_mentions(&r, "0600");
        assert!(!r.stderr.contains(PASSWORD), "{mode:o}: {}", r.stderr);
    }
}

// ---- ~/.netrc and the terminal ----

#[test]
fn netrc_in_home_supplies_the_password() {
    let home = home();
    file_in(
        &home,
        ".netrc",
        &format!(
            "machine other.example login {USER} password wrong\n\
             machine 127.0.0.1 login {USER} password {PASSWORD}\n"
        ),
        0o600,
    );
    assert_authenticated(&send(&home, &["--user".into(), USER.into()]));
}

#[test]
fn no_terminal_and_no_password_source_is_a_config_error_without_a_hang() {
    let home = home();
    let started = Instant::now();
    let r = send(&home, &["--user".into(), USER.into()]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "it waited for a terminal"
    );
    assert_config_error_before_connecting(&r);
    assert_stderr_mentions(&r, "password");
    assert_stderr_mentions(&r, "terminal");
}
