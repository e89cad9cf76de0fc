//! Authentication (spec §5, RFC 4954, catalogue section C): no AUTH without TLS unless allowed (C19),
//! credentials with no AUTH offered (C20), the mechanism choice from the post-TLS list and smtplib's
//! move-on-after-failure, forced mechanisms, failures with the server's reply, the bounded 334 loop (C21),
//! and `--no-initial-response`. Redaction (C22) and the password sources (C23, C24) are in submodules.

mod passwords;
mod redaction;

use std::time::{Duration, Instant};

use base64::prelude::*;
use tempfile::TempDir;

use crate::certs::Pki;
use crate::fixture::{
    ALICE_TO_BOB, MSG, assert_no_message, assert_quiet_success, assert_stderr_mentions, msg_on_wire,
};
use crate::harness::{Action, AuthAttempt, AuthCheck, Run, Script, Server, Stage, mailsend_to};
use crate::tls::{Mode, PASSWORD, USER, credentials, run_args, trusting};

/// A submission server: STARTTLS with the test PKI, AUTH offered only after TLS (catalogue C19).
fn submission(pki: &Pki, check: AuthCheck) -> Script {
    Mode::StartTls
        .script(pki.server.server_config())
        .auth(check.only_after_tls())
}

/// STARTTLS trusting the test CA, the credentials, then `extra`.
fn tls_args(pki: &Pki, extra: &[&str]) -> Vec<String> {
    let mut args = trusting(pki, Mode::StartTls);
    args.extend(credentials());
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

/// Run `mailsend ARGS alice → bob` against `script` with a prepared HOME; the run and its raw stderr.
pub(crate) fn launch(script: Script, home: &TempDir, args: &[String]) -> (Run, Vec<u8>) {
    let server = Server::start(script);
    let output = mailsend_to(home, &server)
        .args(args)
        .args(ALICE_TO_BOB)
        .write_stdin(MSG)
        .output()
        .expect("run mailsend");
    let port = server.port();
    let run = Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        port,
        transcript: server.finish(),
    };
    (run, output.stderr)
}

fn attempt(mechanism: &str, success: bool) -> AuthAttempt {
    AuthAttempt {
        mechanism: mechanism.to_string(),
        success,
    }
}

/// Nothing of the transaction may follow a failed or refused authentication.
#[track_caller]
fn assert_no_transaction(r: &Run) {
    assert!(!r.transcript.saw("MAIL"), "{:?}", r.transcript.commands);
    assert_no_message(&r.transcript);
}

// ---- C19: no AUTH without TLS unless allowed ----

fn plaintext_server() -> Script {
    Script::new()
        .no_pipelining()
        .auth(AuthCheck::new(USER, PASSWORD))
}

#[track_caller]
fn assert_plaintext_auth_refused(r: &Run) {
    r.expect_code(78);
    assert_stderr_mentions(r, "--allow-plaintext-auth");
    assert!(!r.transcript.saw("AUTH"), "{:?}", r.transcript.commands);
    assert_no_transaction(r);
}

#[test]
fn c19_plaintext_auth_is_refused_with_tls_off() {
    let mut args = vec!["--tls".to_string(), "off".to_string()];
    args.extend(credentials());
    assert_plaintext_auth_refused(&run_args(plaintext_server(), &args));
}

#[test]
fn c19_plaintext_auth_is_refused_with_tls_auto_on_loopback() {
    // `auto` on a loopback host means no TLS (spec §4); that is still a connection without TLS.
    assert_plaintext_auth_refused(&run_args(plaintext_server(), &credentials()));
}

#[test]
fn c19_plaintext_auth_is_allowed_with_the_flag() {
    let mut args = vec![
        "--tls".to_string(),
        "off".to_string(),
        "--allow-plaintext-auth".to_string(),
    ];
    args.extend(credentials());
    let r = run_args(plaintext_server(), &args);
    assert_quiet_success(&r);
    assert_eq!(r.transcript.auth, [attempt("CRAM-MD5", true)]);
    assert_eq!(r.transcript.data, vec![msg_on_wire()]);
}

// ---- C20: credentials configured, no AUTH offered ----

#[test]
fn c20_credentials_and_no_auth_offered_fail_before_mail() {
    let pki = Pki::new();
    let r = run_args(
        Mode::StartTls.script(pki.server.server_config()),
        &tls_args(&pki, &[]),
    );
    r.expect_code(69);
    assert_stderr_mentions(&r, "AUTH");
    assert!(!r.transcript.saw("AUTH"));
    assert_no_transaction(&r);
}

// ---- C21: the mechanism choice ----

#[test]
fn c21_auth_on_prefers_cram_md5_then_plain_then_login() {
    let cases: [(&[&str], &str); 3] = [
        (&["LOGIN", "PLAIN", "CRAM-MD5"], "CRAM-MD5"),
        (&["LOGIN", "PLAIN"], "PLAIN"),
        (&["LOGIN"], "LOGIN"),
    ];
    for (offered, expected) in cases {
        // Explicitly and by default: a configured user turns authentication on (spec §5).
        for extra in [&["--auth", "on"][..], &[]] {
            let pki = Pki::new();
            let check = AuthCheck::new(USER, PASSWORD).mechanisms(offered);
            let r = run_args(submission(&pki, check), &tls_args(&pki, extra));
            assert_quiet_success(&r);
            assert_eq!(
                r.transcript.auth,
                [attempt(expected, true)],
                "{offered:?} {extra:?}"
            );
            assert_eq!(r.transcript.data, vec![msg_on_wire()]);
        }
    }
}

#[test]
fn c21_auth_on_moves_on_after_a_failure() {
    let pki = Pki::new();
    let script = submission(&pki, AuthCheck::new(USER, PASSWORD)).on_nth(
        Stage::Auth,
        1,
        Action::reply("535 5.7.8 CRAM-MD5 is switched off here"),
    );
    let r = run_args(script, &tls_args(&pki, &[]));
    assert_quiet_success(&r);
    let auth = r.transcript.matching("AUTH ");
    assert_eq!(auth.len(), 2, "{auth:?}");
    assert_eq!(auth[0], "AUTH CRAM-MD5");
    assert!(auth[1].starts_with("AUTH PLAIN"), "{auth:?}");
    assert_eq!(r.transcript.auth, [attempt("PLAIN", true)]);
    assert_eq!(r.transcript.data, vec![msg_on_wire()]);
}

#[test]
fn c21_auth_on_tries_each_mechanism_and_reports_the_last_failure() {
    let pki = Pki::new();
    let r = run_args(
        submission(&pki, AuthCheck::new(USER, "another password")),
        &tls_args(&pki, &[]),
    );
    r.expect_code(77);
    assert_eq!(
        r.transcript.auth,
        [
            attempt("CRAM-MD5", false),
            attempt("PLAIN", false),
            attempt("LOGIN", false)
        ]
    );
    assert_no_transaction(&r);

    let script = submission(&pki, AuthCheck::new(USER, PASSWORD))
        .on_nth(Stage::Auth, 1, Action::reply("535 5.7.8 first refusal"))
        .on_nth(Stage::Auth, 2, Action::reply("535 5.7.8 second refusal"))
        .on_nth(Stage::Auth, 3, Action::reply("535 5.7.8 third refusal"));
    let r = run_args(script, &tls_args(&pki, &[]));
    r.expect_code(77);
    assert_stderr_mentions(&r, "535 5.7.8 third refusal");
    assert_eq!(r.transcript.count("AUTH "), 3);
    assert_no_transaction(&r);
}

#[test]
fn c21_forced_mechanism_is_the_one_used() {
    let expected_plain = format!(
        "AUTH PLAIN {}",
        BASE64_STANDARD.encode(format!("\0{USER}\0{PASSWORD}"))
    );
    for (flag, mechanism) in [
        ("plain", "PLAIN"),
        ("login", "LOGIN"),
        ("cram-md5", "CRAM-MD5"),
        ("PLAIN", "PLAIN"),
    ] {
        let pki = Pki::new();
        let r = run_args(
            submission(&pki, AuthCheck::new(USER, PASSWORD)),
            &tls_args(&pki, &["--auth", flag]),
        );
        assert_quiet_success(&r);
        assert_eq!(r.transcript.auth, [attempt(mechanism, true)], "{flag}");
        let auth = r.transcript.matching("AUTH ");
        assert_eq!(auth.len(), 1, "{auth:?}");
        if mechanism == "PLAIN" {
            // RFC 4954 §4: the initial response rides on the AUTH line by default.
            assert_eq!(auth[0], expected_plain);
        }
    }
}

#[test]
fn c21_forced_mechanism_not_offered_fails_before_auth() {
    let pki = Pki::new();
    let check = AuthCheck::new(USER, PASSWORD).mechanisms(&["PLAIN", "LOGIN"]);
    let r = run_args(
        submission(&pki, check),
        &tls_args(&pki, &["--auth", "cram-md5"]),
    );
    r.expect_code(69);
    assert_stderr_mentions(&r, "CRAM-MD5");
    assert!(!r.transcript.saw("AUTH"), "{:?}", r.transcript.commands);
    assert_no_transaction(&r);
}

#[test]
fn wrong_password_is_exit_77_with_the_servers_reply() {
    let wrong = "Not-The-Password-42";
    let pki = Pki::new();
    let check = AuthCheck::new(USER, PASSWORD).on_failure(Action::reply(
        "535 5.7.8 Username and Password not accepted",
    ));
    let mut args = trusting(&pki, Mode::StartTls);
    args.extend([
        "--user".into(),
        USER.into(),
        "--password-command".into(),
        format!("echo {wrong}"),
        "--auth".into(),
        "plain".into(),
    ]);
    let r = run_args(submission(&pki, check), &args);
    r.expect_code(77);
    assert_stderr_mentions(&r, "535 5.7.8 Username and Password not accepted");
    assert!(!r.stderr.contains(wrong), "{}", r.stderr);
    assert_eq!(r.transcript.auth, [attempt("PLAIN", false)]);
    assert_no_transaction(&r);
}

#[test]
fn temporary_auth_failure_is_exit_75() {
    // A 4xx to AUTH (RFC 4954 §6: 454 temporary failure) may succeed later, unlike a 535.
    let pki = Pki::new();
    let script = submission(&pki, AuthCheck::new(USER, PASSWORD)).on(
        Stage::Auth,
        Action::reply("454 4.7.0 Temporary authentication failure"),
    );
    let r = run_args(script, &tls_args(&pki, &["--auth", "plain"]));
    r.expect_code(75);
    assert_stderr_mentions(&r, "454 4.7.0 Temporary authentication failure");
    assert_no_transaction(&r);
}

#[test]
fn c21_endless_334_challenges_end() {
    let pki = Pki::new();
    let started = Instant::now();
    let r = run_args(
        submission(&pki, AuthCheck::new(USER, PASSWORD).challenge_forever(1000)),
        &tls_args(&pki, &["--auth", "login"]),
    );
    assert!(started.elapsed() < Duration::from_secs(10), "it hung");
    r.expect_code(76);
    assert_stderr_mentions(&r, "challenge");
    // smtplib allows 5 challenges, lettre 10 (catalogue C21): a handful of lines, not a thousand.
    let after_auth = r.transcript.commands.len() - r.transcript.position("AUTH").unwrap_or(0);
    assert!(after_auth <= 12, "{:?}", r.transcript.commands);
    assert_no_transaction(&r);
}

#[test]
fn no_initial_response_sends_the_plain_response_after_the_334() {
    let pki = Pki::new();
    let r = run_args(
        submission(&pki, AuthCheck::new(USER, PASSWORD)),
        &tls_args(&pki, &["--auth", "plain", "--no-initial-response"]),
    );
    assert_quiet_success(&r);
    let t = &r.transcript;
    let at = t.position("AUTH").expect("an AUTH command");
    assert_eq!(t.commands[at], "AUTH PLAIN");
    assert_eq!(
        t.commands[at + 1],
        BASE64_STANDARD.encode(format!("\0{USER}\0{PASSWORD}"))
    );
    assert_eq!(t.auth, [attempt("PLAIN", true)]);
    assert_eq!(t.data, vec![msg_on_wire()]);
}
