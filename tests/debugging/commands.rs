//! `--command`, `--verify`, `--expn` (smtplib's docmd, verify, expn): the bytes sent, `CODE text` on
//! stdout, exit 0 / 75 / 69, the CR/LF check before connecting (65), 421, DATA, and typed AUTH redacted.

use crate::harness::{Action, AuthCheck, Script, Stage, run};

#[test]
fn command_sends_it_after_ehlo_prints_the_reply_and_quits() {
    let r = run(Script::new(), &["--command", "NOOP"], b"");
    r.expect_code(0);
    assert_eq!(r.stdout, "250 2.0.0 Ok\n");
    assert_eq!(
        r.transcript.received_text(),
        "EHLO client.example\r\nNOOP\r\nQUIT\r\n"
    );
    assert_eq!(r.stderr, "", "nothing on stderr at --debug 0");
}

#[test]
fn commands_then_verify_then_expn_each_reply_on_stdout() {
    let script = Script::new()
        .on(
            Stage::Other("VRFY".into()),
            Action::reply("252 2.0.0 Cannot VRFY user, but will accept message"),
        )
        .on(
            Stage::Other("EXPN".into()),
            Action::reply("250-Ann <ann@example.org>\r\n250 Bob <bob@example.org>"),
        );
    let r = run(
        script,
        &[
            "--expn",
            "staff",
            "--verify",
            "bob",
            "--command",
            "NOOP",
            "--command",
            "noop  sent as typed",
        ],
        b"",
    );
    r.expect_code(0);
    // A multi-line reply's lines are joined with "\n", as smtplib's docmd message is.
    assert_eq!(
        r.stdout,
        "250 2.0.0 Ok\n250 2.0.0 Ok\n252 2.0.0 Cannot VRFY user, but will accept message\n\
         250 Ann <ann@example.org>\nBob <bob@example.org>\n"
    );
    assert_eq!(
        r.transcript.received_text(),
        "EHLO client.example\r\nNOOP\r\nnoop  sent as typed\r\nVRFY bob\r\nEXPN staff\r\nQUIT\r\n"
    );
}

#[test]
fn a_permanent_refusal_exits_69_and_still_quits() {
    let r = run(Script::new(), &["--command", "HELP"], b"");
    r.expect_code(69);
    assert_eq!(r.stdout, "502 5.5.2 Error: command not recognized\n");
    assert_eq!(r.transcript.verbs(), ["EHLO", "HELP", "QUIT"]);
}

#[test]
fn a_temporary_refusal_wins_over_a_permanent_one() {
    let script = Script::new().on(
        Stage::Other("VRFY".into()),
        Action::reply("450 4.3.0 try again later"),
    );
    let r = run(script, &["--command", "HELP", "--verify", "bob"], b"");
    r.expect_code(75);
    assert_eq!(
        r.stdout,
        "502 5.5.2 Error: command not recognized\n450 4.3.0 try again later\n"
    );
    assert_eq!(r.transcript.verbs(), ["EHLO", "HELP", "VRFY", "QUIT"]);
}

#[test]
fn a_421_ends_the_run_without_more_commands_or_quit() {
    let script = Script::new().on(
        Stage::Other("NOOP".into()),
        Action::ReplyThenClose("421 4.3.2 shutting down".into()),
    );
    let r = run(script, &["--command", "NOOP", "--command", "RSET"], b"");
    r.expect_code(75);
    assert_eq!(r.stdout, "421 4.3.2 shutting down\n");
    assert_eq!(r.transcript.verbs(), ["EHLO", "NOOP"]);
}

#[test]
fn cr_or_lf_in_a_command_is_refused_before_connecting() {
    for args in [
        ["--command", "NOOP\r\nRSET"],
        ["--command", "NOOP\nRSET"],
        ["--command", "NOOP\rRSET"],
        ["--verify", "bob\r\nDATA"],
        ["--expn", "staff\nQUIT"],
    ] {
        let r = run(Script::new(), &args, b"");
        r.expect_code(65);
        assert!(!r.transcript.connected, "{args:?}: connected anyway");
        assert!(
            r.stderr.contains("refusing to send"),
            "{args:?}: {}",
            r.stderr
        );
        assert_eq!(r.stdout, "");
    }
}

#[test]
fn a_typed_starttls_or_an_empty_command_is_a_usage_error() {
    for command in ["STARTTLS", "", "  "] {
        let r = run(Script::new(), &["--command", command], b"");
        r.expect_code(64);
        assert!(!r.transcript.connected);
    }
}

#[test]
fn data_closes_the_connection_without_the_final_dot() {
    let r = run(
        Script::new(),
        &[
            "--command",
            "MAIL FROM:<a@example.org>",
            "--command",
            "RCPT TO:<b@example.org>",
            "--command",
            "DATA",
            "--command",
            "NOOP",
        ],
        b"",
    );
    r.expect_code(0);
    assert_eq!(
        r.stdout,
        "250 2.1.0 Ok\n250 2.1.5 Ok\n354 End data with <CR><LF>.<CR><LF>\n"
    );
    assert!(r.stderr.contains("without the final dot"), "{}", r.stderr);
    assert!(r.transcript.data.is_empty(), "a message was delivered");
    assert_eq!(r.transcript.verbs(), ["EHLO", "MAIL", "RCPT", "DATA"]);
}

#[test]
fn a_typed_quit_is_the_last_command() {
    let r = run(
        Script::new(),
        &["--command", "QUIT", "--command", "NOOP"],
        b"",
    );
    r.expect_code(0);
    assert_eq!(r.stdout, "221 2.0.0 Bye\n");
    assert_eq!(r.transcript.verbs(), ["EHLO", "QUIT"]);
}

#[test]
fn typed_auth_secrets_are_redacted_in_the_trace() {
    let script = Script::new().auth(AuthCheck::new("u", "p").mechanisms(&["PLAIN", "LOGIN"]));
    // PLAIN with the initial response on the AUTH line: \0u\0p.
    let r = run(
        script.clone(),
        &["--debug", "1", "--command", "AUTH PLAIN AHUAcA=="],
        b"",
    );
    r.expect_code(0);
    assert_eq!(r.stdout, "235 2.7.0 Authentication successful\n");
    assert!(r.transcript.saw("AUTH PLAIN AHUAcA=="));
    assert!(
        r.stderr.contains("send: 'AUTH PLAIN <redacted>\\r\\n'"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("AHUAcA"),
        "secret in the trace: {}",
        r.stderr
    );

    // LOGIN: each line after a 334 is a credential.
    let r = run(
        script,
        &[
            "--debug",
            "2",
            "--command",
            "AUTH LOGIN",
            "--command",
            "dQ==",
            "--command",
            "cA==",
        ],
        b"",
    );
    r.expect_code(0);
    assert_eq!(r.transcript.commands[1..4], ["AUTH LOGIN", "dQ==", "cA=="]);
    assert_eq!(
        r.stdout.lines().last(),
        Some("235 2.7.0 Authentication successful")
    );
    assert_eq!(
        r.stderr.matches("send: '<redacted>\\r\\n'").count(),
        2,
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("dQ==") && !r.stderr.contains("cA=="),
        "{}",
        r.stderr
    );
}

#[test]
fn commands_run_after_the_configured_auth() {
    let script = Script::new().auth(AuthCheck::new("u", "p").mechanisms(&["PLAIN"]));
    let r = run(
        script,
        &[
            "--allow-plaintext-auth",
            "--user",
            "u",
            "--password-command",
            "echo p",
            "--command",
            "NOOP",
        ],
        b"",
    );
    r.expect_code(0);
    assert_eq!(r.transcript.verbs(), ["EHLO", "AUTH", "NOOP", "QUIT"]);
    assert!(r.transcript.auth.iter().all(|a| a.success));
    assert_eq!(r.stdout, "250 2.0.0 Ok\n");
}
