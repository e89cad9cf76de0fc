//! Catalogue C22 and spec §6: at `--debug 1` and `--debug 2` the trace shows `<redacted>` for AUTH arguments
//! and for every line sent after a 334, and the raw stderr bytes hold no secret in any encoding: not the
//! password, not base64 of `\0user\0pass` (PLAIN), not base64 of the password (LOGIN), not the CRAM-MD5
//! response, not the OAuth token or its XOAUTH2 string.

use std::os::unix::fs::PermissionsExt;

use base64::prelude::*;

use super::{launch, submission};
use crate::certs::Pki;
use crate::fixture::msg_on_wire;
use crate::harness::{
    Action, AuthCheck, CRAM_CHALLENGE, Script, Stage, Transcript, cram_digest, home,
};
use crate::tls::{Mode, PASSWORD, USER, arg, trusting};

const TOKEN: &str = "ya29.a0-OAuth-Token-Do-Not-Print";

/// The lines the client sent from its AUTH command up to MAIL: the AUTH argument and every SASL response.
fn sasl_lines(t: &Transcript) -> Vec<String> {
    let start = t.position("AUTH ").expect("an AUTH command");
    let end = t.position("MAIL").unwrap_or(t.commands.len());
    let mut lines: Vec<String> = t.commands[start + 1..end].to_vec();
    if let Some((_, argument)) = t.commands[start]
        .split_once(' ')
        .and_then(|(_, rest)| rest.split_once(' '))
    {
        lines.push(argument.to_string());
    }
    lines
}

/// Send with `mechanism` at `level`, the secret coming from a file through the password command (so it is
/// on no command line), and check the raw stderr.
fn assert_redacted(
    script: fn(&Pki) -> Script,
    mechanism: &str,
    secret: &str,
    level: &str,
    encodings: &[String],
) {
    let pki = Pki::new();
    let home = home();
    let file = home.path().join("secret");
    std::fs::write(&file, format!("{secret}\n")).expect("write the secret");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let mut args = trusting(&pki, Mode::StartTls);
    args.extend([
        "--user".into(),
        USER.into(),
        "--password-command".into(),
        format!("cat '{}'", arg(&file)),
        "--auth".into(),
        mechanism.into(),
        "--debug".into(),
        level.into(),
    ]);
    let (r, stderr) = launch(script(&pki), &home, &args);
    r.expect_code(0);
    let t = &r.transcript;
    assert_eq!(t.data, vec![msg_on_wire()], "{mechanism} at {level}");

    let mut forbidden: Vec<String> = vec![secret.to_string(), BASE64_STANDARD.encode(secret)];
    forbidden.extend(encodings.iter().cloned());
    let sasl = sasl_lines(t);
    assert!(
        !sasl.is_empty(),
        "{mechanism}: no SASL data on the wire: {:?}",
        t.commands
    );
    forbidden.extend(sasl);
    for needle in &forbidden {
        assert!(
            !contains(&stderr, needle.as_bytes()),
            "{mechanism} at --debug {level}: stderr shows {needle:?}:\n{}",
            r.stderr
        );
    }
    assert!(
        contains(&stderr, b"<redacted>"),
        "{mechanism} at {level}:\n{}",
        r.stderr
    );
    assert!(
        contains(
            &stderr,
            format!("AUTH {}", mechanism.to_uppercase()).as_bytes()
        ),
        "{mechanism} at {level}: the AUTH command itself is traced:\n{}",
        r.stderr
    );
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn sasl_server(pki: &Pki) -> Script {
    submission(pki, AuthCheck::new(USER, PASSWORD))
}

#[test]
fn c22_plain_is_redacted_at_debug_1_and_2() {
    let plain = BASE64_STANDARD.encode(format!("\0{USER}\0{PASSWORD}"));
    for level in ["1", "2"] {
        assert_redacted(
            sasl_server,
            "plain",
            PASSWORD,
            level,
            std::slice::from_ref(&plain),
        );
    }
}

#[test]
fn c22_plain_without_initial_response_is_redacted() {
    // The response then travels alone after the 334: that line is the secret.
    let plain = BASE64_STANDARD.encode(format!("\0{USER}\0{PASSWORD}"));
    for level in ["1", "2"] {
        let pki = Pki::new();
        let home = home();
        let mut args = trusting(&pki, Mode::StartTls);
        args.extend(crate::tls::credentials());
        args.extend(
            ["--auth", "plain", "--no-initial-response", "--debug", level].map(String::from),
        );
        let (r, stderr) = launch(sasl_server(&pki), &home, &args);
        r.expect_code(0);
        for needle in [PASSWORD, plain.as_str()] {
            assert!(
                !contains(&stderr, needle.as_bytes()),
                "{level}: {}",
                r.stderr
            );
        }
        assert!(contains(&stderr, b"<redacted>"), "{level}: {}", r.stderr);
    }
}

#[test]
fn c22_login_is_redacted_at_debug_1_and_2() {
    for level in ["1", "2"] {
        assert_redacted(sasl_server, "login", PASSWORD, level, &[]);
    }
}

#[test]
fn c22_cram_md5_is_redacted_at_debug_1_and_2() {
    let digest = cram_digest(PASSWORD, CRAM_CHALLENGE);
    let response = BASE64_STANDARD.encode(format!("{USER} {digest}"));
    for level in ["1", "2"] {
        assert_redacted(
            sasl_server,
            "cram-md5",
            PASSWORD,
            level,
            &[digest.clone(), response.clone()],
        );
    }
}

fn xoauth2_server(pki: &Pki) -> Script {
    // The scripted server does not speak XOAUTH2: it offers it after TLS and accepts whatever comes.
    Mode::StartTls
        .script(pki.server.server_config())
        .ehlo_lines_after_tls(&["AUTH XOAUTH2", "SIZE 10240000"])
        .on(Stage::Auth, Action::reply("235 2.7.0 Accepted"))
}

#[test]
fn c22_xoauth2_token_is_redacted_at_debug_1_and_2() {
    let xoauth2 = BASE64_STANDARD.encode(format!("user={USER}\x01auth=Bearer {TOKEN}\x01\x01"));
    for level in ["1", "2"] {
        assert_redacted(
            xoauth2_server,
            "xoauth2",
            TOKEN,
            level,
            std::slice::from_ref(&xoauth2),
        );
    }
}

#[test]
fn xoauth2_sends_the_token_in_googles_format() {
    let pki = Pki::new();
    let home = home();
    let mut args = trusting(&pki, Mode::StartTls);
    args.extend(["--user", USER, "--auth", "xoauth2", "--password-command"].map(String::from));
    args.push(format!("echo {TOKEN}"));
    let (r, _) = launch(xoauth2_server(&pki), &home, &args);
    r.expect_code(0);
    let expected = BASE64_STANDARD.encode(format!("user={USER}\x01auth=Bearer {TOKEN}\x01\x01"));
    assert_eq!(
        r.transcript.matching("AUTH "),
        [format!("AUTH XOAUTH2 {expected}")]
    );
}
