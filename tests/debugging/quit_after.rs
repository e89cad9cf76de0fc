//! `--quit-after STAGE` (swaks' stop points) and `--no-initial-response`: the dialogue up to the stage, a
//! clean QUIT, nothing after it, no message; stages before MAIL need no input.

use crate::certs::Pki;
use crate::harness::{Action, AuthCheck, Script, Stage, run, run_with};

const MSG: &[u8] = b"From: alice@example.org\nTo: bob@example.org\nSubject: hi\n\nHello\n";

/// Stages before MAIL: run with no input at all (stdin closed and empty), no recipient.
fn stop(script: Script, stage: &str, extra: &[&str]) -> crate::harness::Run {
    let mut args = vec!["--quit-after", stage];
    args.extend_from_slice(extra);
    run(script, &args, b"")
}

#[test]
fn after_connect_the_connection_is_just_closed() {
    let r = stop(Script::new(), "connect", &[]);
    r.expect_code(0);
    assert!(r.transcript.connected);
    assert!(
        r.transcript.commands.is_empty(),
        "{:?}",
        r.transcript.commands
    );
    assert_eq!(r.stdout, "");
}

#[test]
fn after_greeting_only_quit() {
    let r = stop(Script::new(), "greeting", &[]);
    r.expect_code(0);
    assert_eq!(r.transcript.received_text(), "QUIT\r\n");
    assert_eq!(r.stdout, "");
}

#[test]
fn after_ehlo_then_quit() {
    let r = stop(Script::new(), "ehlo", &["--debug", "1"]);
    r.expect_code(0);
    assert_eq!(
        r.transcript.received_text(),
        "EHLO client.example\r\nQUIT\r\n"
    );
    assert_eq!(r.stdout, "", "the dialogue is in the trace, not on stdout");
    assert!(r.stderr.contains("send: 'QUIT\\r\\n'"), "{}", r.stderr);
}

#[test]
fn a_refused_greeting_is_reported_with_its_status() {
    let script = Script::new().greeting("554 5.3.2 go away");
    let r = stop(script, "greeting", &[]);
    r.expect_code(69);
    assert!(r.stderr.contains("554 5.3.2 go away"), "{}", r.stderr);
}

#[test]
fn starttls_without_tls_is_a_usage_error() {
    let r = stop(Script::new(), "starttls", &[]);
    r.expect_code(64);
    assert!(r.stderr.contains("TLS is not in use"), "{}", r.stderr);
    assert!(!r.transcript.connected);
}

#[test]
fn auth_without_credentials_is_a_usage_error() {
    let r = stop(Script::new(), "auth", &[]);
    r.expect_code(64);
    assert!(r.stderr.contains("no credentials"), "{}", r.stderr);
    assert!(!r.transcript.connected);
}

#[test]
fn after_starttls_the_second_ehlo_then_quit() {
    let pki = Pki::new();
    let script = Script::new().starttls(pki.server.server_config());
    let ca = pki.ca_path.to_string_lossy().into_owned();
    let r = stop(
        script,
        "starttls",
        &["--tls", "starttls", "--tls-trust-file", &ca],
    );
    r.expect_code(0);
    assert!(r.transcript.tls_established);
    assert_eq!(r.transcript.verbs(), ["EHLO", "STARTTLS", "EHLO", "QUIT"]);
}

#[test]
fn after_auth_then_quit() {
    let script = Script::new().auth(AuthCheck::new("u", "p").mechanisms(&["PLAIN"]));
    let r = stop(
        script,
        "auth",
        &[
            "--allow-plaintext-auth",
            "--user",
            "u",
            "--password-command",
            "echo p",
        ],
    );
    r.expect_code(0);
    assert_eq!(
        r.transcript.received_text(),
        "EHLO client.example\r\nAUTH PLAIN AHUAcA==\r\nQUIT\r\n"
    );
}

#[test]
fn no_initial_response_sends_the_credentials_after_the_334() {
    let script = Script::new().auth(AuthCheck::new("u", "p").mechanisms(&["PLAIN"]));
    let r = stop(
        script,
        "auth",
        &[
            "--no-initial-response",
            "--allow-plaintext-auth",
            "--user",
            "u",
            "--password-command",
            "echo p",
            "--debug",
            "1",
        ],
    );
    r.expect_code(0);
    assert_eq!(
        r.transcript.received_text(),
        "EHLO client.example\r\nAUTH PLAIN\r\nAHUAcA==\r\nQUIT\r\n"
    );
    assert!(r.transcript.auth.iter().all(|a| a.success));
    assert!(
        r.stderr.contains("send: 'AUTH PLAIN\\r\\n'"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("send: '<redacted>\\r\\n'"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("AHUAcA"), "{}", r.stderr);
}

#[test]
fn after_mail_no_rcpt_and_no_data() {
    let r = run(
        Script::new(),
        &[
            "--quit-after",
            "mail",
            "-f",
            "alice@example.org",
            "bob@example.org",
        ],
        MSG,
    );
    r.expect_code(0);
    assert_eq!(r.transcript.verbs(), ["EHLO", "MAIL", "QUIT"]);
    assert!(r.transcript.commands[1].starts_with("MAIL FROM:<alice@example.org> SIZE="));
    assert!(r.transcript.data.is_empty());
}

#[test]
fn after_rcpt_every_recipient_and_no_data() {
    let r = run(
        Script::new(),
        &[
            "--quit-after",
            "rcpt",
            "-f",
            "alice@example.org",
            "bob@example.org",
            "carol@example.org",
        ],
        MSG,
    );
    r.expect_code(0);
    assert_eq!(
        r.transcript.verbs(),
        ["EHLO", "MAIL", "RCPT", "RCPT", "QUIT"]
    );
    assert!(r.transcript.data.is_empty() && r.transcript.unterminated_data.is_none());
}

#[test]
fn a_refused_recipient_at_the_rcpt_stop_is_reported_and_quits() {
    let script = Script::new().on(Stage::Rcpt(1), Action::reply("550 5.1.1 no such user"));
    let r = run_with(script, MSG, |cmd| {
        cmd.args([
            "--quit-after",
            "rcpt",
            "-f",
            "alice@example.org",
            "bob@example.org",
        ]);
    });
    r.expect_code(67);
    assert!(r.stderr.contains("550 5.1.1 no such user"), "{}", r.stderr);
    assert_eq!(r.transcript.verbs(), ["EHLO", "MAIL", "RCPT", "QUIT"]);
}

#[test]
fn quit_after_rcpt_with_one_refused_recipient_names_who_was_accepted_and_refused() {
    // Issue 10, point 11: one accepted, one refused was reported as "refused every recipient".
    let script = Script::new().on(Stage::Rcpt(2), Action::reply("550 5.1.1 no such user"));
    let r = run_with(script, MSG, |cmd| {
        cmd.args([
            "--quit-after",
            "rcpt",
            "-f",
            "alice@example.org",
            "bob@example.org",
            "carol@example.org",
        ]);
    });
    r.expect_code(67);
    assert!(!r.stderr.contains("every recipient"), "{}", r.stderr);
    assert!(
        r.stderr
            .lines()
            .any(|l| l.contains("carol@example.org") && l.contains("550 5.1.1 no such user")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .lines()
            .any(|l| l.contains("accepted") && l.contains("bob@example.org")),
        "{}",
        r.stderr
    );
    assert_eq!(
        r.transcript.verbs(),
        ["EHLO", "MAIL", "RCPT", "RCPT", "QUIT"]
    );
}
