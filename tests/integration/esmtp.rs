//! ESMTP parameters (spec §3): SIZE (RFC 1870) and refusing an over-size message before DATA, BODY for 8-bit
//! data and `-B` (RFC 6152), SMTPUTF8 (RFC 6531) and its absence, DSN from `-N -R -V` (RFC 3461).

use crate::fixture::{
    ALICE_TO_BOB, MSG, assert_no_message, assert_quiet_success, crlf, mail_command, params,
};
use crate::harness::{Script, run};

const EIGHT_BIT: &[u8] = "From: alice@example.org\n\
Date: Mon, 01 Jan 2024 00:00:00 +0000\n\
Message-ID: <8@example.org>\n\
Subject: caf\u{e9}\n\
\n\
Gr\u{fc}\u{df}e\n"
    .as_bytes();

#[test]
fn size_parameter_counts_the_crlf_message_without_stuffing() {
    let r = run(Script::new(), &ALICE_TO_BOB, MSG);
    assert_quiet_success(&r);
    // RFC 1870 §3: the message size excludes the added transparency dots and the terminator.
    assert_eq!(
        params(&mail_command(&r.transcript)),
        [format!("SIZE={}", crlf(MSG).len())]
    );
}

#[test]
fn message_over_the_advertised_size_is_refused_before_data() {
    let r = run(Script::new().ehlo_lines(&["SIZE 100"]), &ALICE_TO_BOB, MSG);
    r.expect_code(69);
    assert!(!r.transcript.saw("DATA"), "{:?}", r.transcript.commands);
    assert_no_message(&r.transcript);
    crate::fixture::assert_stderr_mentions(&r, "size");
}

#[test]
fn eight_bit_data_gets_body_8bitmime_when_offered() {
    let r = run(Script::new(), &ALICE_TO_BOB, EIGHT_BIT);
    assert_quiet_success(&r);
    let p = params(&mail_command(&r.transcript));
    assert!(p.contains(&"BODY=8BITMIME".to_string()), "{p:?}");
    assert_eq!(r.transcript.data, vec![crlf(EIGHT_BIT)]);
}

#[test]
fn seven_bit_data_has_no_body_parameter() {
    let r = run(Script::new(), &ALICE_TO_BOB, MSG);
    assert_quiet_success(&r);
    assert!(
        !params(&mail_command(&r.transcript))
            .iter()
            .any(|p| p.starts_with("BODY="))
    );
}

#[test]
fn eight_bit_data_without_8bitmime_is_sent_without_body() {
    // Spec §1 (-B): "otherwise no BODY parameter and the message is sent all the same".
    let r = run(
        Script::new().ehlo_lines(&["SIZE 1000000"]),
        &ALICE_TO_BOB,
        EIGHT_BIT,
    );
    assert_quiet_success(&r);
    assert!(
        !params(&mail_command(&r.transcript))
            .iter()
            .any(|p| p.starts_with("BODY="))
    );
    assert_eq!(r.transcript.data, vec![crlf(EIGHT_BIT)]);
}

#[test]
fn b_flag_sets_body_when_offered_in_every_spelling() {
    for (args, body) in [
        (&["-B", "8BITMIME"][..], "BODY=8BITMIME"),
        (&["-B8BITMIME"], "BODY=8BITMIME"),
        (&["-B", "7BIT"], "BODY=7BIT"),
    ] {
        let all: Vec<&str> = args.iter().chain(ALICE_TO_BOB.iter()).copied().collect();
        let r = run(Script::new(), &all, MSG);
        assert_quiet_success(&r);
        let p = params(&mail_command(&r.transcript));
        assert!(p.contains(&body.to_string()), "{args:?}: {p:?}");
    }
    let all: Vec<&str> = ["-B", "8BITMIME"]
        .iter()
        .chain(ALICE_TO_BOB.iter())
        .copied()
        .collect();
    let r = run(Script::new().ehlo_lines(&["PIPELINING"]), &all, MSG);
    assert_quiet_success(&r);
    assert_eq!(mail_command(&r.transcript), "MAIL FROM:<alice@example.org>");
}

#[test]
fn non_ascii_address_without_smtputf8_fails_before_mail() {
    let r = run(
        Script::new(),
        &["-f", "alice@example.org", "jos\u{e9}@example.org"],
        MSG,
    );
    r.expect_code(69);
    assert!(!r.transcript.saw("MAIL"), "{:?}", r.transcript.commands);
    assert_no_message(&r.transcript);
    crate::fixture::assert_stderr_mentions(&r, "SMTPUTF8");
}

#[test]
fn non_ascii_address_with_smtputf8_adds_the_parameter() {
    let script = Script::new().ehlo_lines(&["PIPELINING", "8BITMIME", "SMTPUTF8", "SIZE 1000000"]);
    let r = run(
        script,
        &["-f", "alice@example.org", "jos\u{e9}@example.org"],
        MSG,
    );
    assert_quiet_success(&r);
    let p = params(&mail_command(&r.transcript));
    assert!(p.contains(&"SMTPUTF8".to_string()), "{p:?}");
    assert_eq!(
        r.transcript.matching("RCPT"),
        ["RCPT TO:<jos\u{e9}@example.org>"]
    );
}

#[test]
fn ascii_addresses_do_not_ask_for_smtputf8() {
    let script = Script::new().ehlo_lines(&["SMTPUTF8", "SIZE 1000000"]);
    let r = run(script, &ALICE_TO_BOB, MSG);
    assert_quiet_success(&r);
    assert!(!params(&mail_command(&r.transcript)).contains(&"SMTPUTF8".to_string()));
}

#[test]
fn dsn_flags_become_parameters_when_dsn_is_offered() {
    let script = Script::new().ehlo_lines(&["PIPELINING", "DSN", "SIZE 1000000"]);
    let args = [
        "-N",
        "SUCCESS,FAILURE",
        "-R",
        "HDRS",
        "-V",
        "envid42",
        "-f",
        "alice@example.org",
        "bob@example.org",
        "carol@example.org",
    ];
    let r = run(script, &args, MSG);
    assert_quiet_success(&r);
    let mail = params(&mail_command(&r.transcript));
    assert!(mail.contains(&"RET=HDRS".to_string()), "{mail:?}");
    assert!(mail.contains(&"ENVID=envid42".to_string()), "{mail:?}");
    let rcpts = r.transcript.matching("RCPT");
    assert_eq!(rcpts.len(), 2);
    for rcpt in rcpts {
        assert_eq!(params(rcpt), ["NOTIFY=SUCCESS,FAILURE"], "{rcpt}");
    }
}

#[test]
fn dsn_flags_are_dropped_when_dsn_is_not_offered() {
    let args = [
        "-N",
        "NEVER",
        "-R",
        "FULL",
        "-V",
        "x1",
        "-f",
        "alice@example.org",
        "bob@example.org",
    ];
    let r = run(Script::new(), &args, MSG);
    assert_quiet_success(&r);
    let mail = params(&mail_command(&r.transcript));
    assert!(
        !mail
            .iter()
            .any(|p| p.starts_with("RET=") || p.starts_with("ENVID=")),
        "{mail:?}"
    );
    assert_eq!(r.transcript.matching("RCPT"), ["RCPT TO:<bob@example.org>"]);
}
