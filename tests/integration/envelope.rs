//! The envelope (spec §2, catalogue B12/B14/B18/F38–F40): -t header recipients, Resent- blocks, groups,
//! duplicates, Bcc removal with and without -t, the null sender, no recipients, and addresses carrying
//! CR/LF/NUL refused before anything is sent.

use crate::fixture::{ALICE_TO_BOB, assert_quiet_success, crlf, mail_command};
use crate::harness::{Run, Script, Server, home, mailsend_to, run};

const DATE_ID: &str = "Date: Mon, 01 Jan 2024 00:00:00 +0000\nMessage-ID: <env@example.org>\n";

fn message(headers: &str, body: &str) -> Vec<u8> {
    format!("From: alice@example.org\n{DATE_ID}{headers}\n{body}").into_bytes()
}

fn rcpts(r: &Run) -> Vec<&str> {
    r.transcript.matching("RCPT")
}

fn data_text(r: &Run) -> String {
    String::from_utf8_lossy(r.transcript.data.first().map_or(&[][..], |d| d)).into_owned()
}

/// Header lines (unfolded starts) of the sent message, lower-cased names.
fn header_names(r: &Run) -> Vec<String> {
    let data = data_text(r);
    let head = data.split("\r\n\r\n").next().unwrap_or("");
    head.split("\r\n")
        .filter(|l| !l.starts_with([' ', '\t']))
        .filter_map(|l| l.split_once(':').map(|(n, _)| n.to_ascii_lowercase()))
        .collect()
}

#[test]
fn t_takes_to_cc_and_bcc_and_strips_bcc() {
    let msg = message(
        "To: Bob <bob@example.org>\nCc: carol@example.org, dave@example.org\nBcc: eve@example.org\nSubject: t\n",
        "body\n",
    );
    let r = run(Script::new(), &["-t"], &msg);
    assert_quiet_success(&r);
    assert_eq!(
        rcpts(&r),
        [
            "RCPT TO:<bob@example.org>",
            "RCPT TO:<carol@example.org>",
            "RCPT TO:<dave@example.org>",
            "RCPT TO:<eve@example.org>"
        ]
    );
    assert!(!header_names(&r).contains(&"bcc".to_string()));
    assert!(!data_text(&r).contains("eve@example.org"));
    assert!(mail_command(&r.transcript).starts_with("MAIL FROM:<alice@example.org>"));
}

#[test]
fn bcc_is_removed_without_t_in_every_form_but_body_text_stays() {
    let msg = message(
        "To: bob@example.org\nBcc: hidden1@example.org,\n  hidden2@example.org\nbcc:\nBCC: hidden3@example.org\nSubject: b\n",
        "Bcc: this line is body text\n",
    );
    let r = run(Script::new(), &ALICE_TO_BOB, &msg);
    assert_quiet_success(&r);
    let data = data_text(&r);
    assert!(!data.contains("hidden"), "{data}");
    assert_eq!(
        header_names(&r),
        ["from", "date", "message-id", "to", "subject"]
    );
    assert!(
        data.ends_with("\r\n\r\nBcc: this line is body text\r\n"),
        "{data}"
    );
    assert_eq!(rcpts(&r), ["RCPT TO:<bob@example.org>"]);
}

#[test]
fn arguments_and_headers_are_joined_without_duplicates() {
    let msg = message(
        "To: bob@example.org, carol@example.org\nCc: Bob Again <BOB@example.org>\n",
        "b\n",
    );
    let r = run(
        Script::new(),
        &["-t", "zed@example.org", "bob@example.org"],
        &msg,
    );
    assert_quiet_success(&r);
    let got = rcpts(&r);
    assert_eq!(
        got[..3],
        [
            "RCPT TO:<zed@example.org>",
            "RCPT TO:<bob@example.org>",
            "RCPT TO:<carol@example.org>"
        ]
    );
    // Whether BOB@ equals bob@ is the server's business (local parts are case-sensitive, RFC 5321 §2.4).
    assert!(got.len() <= 4, "{got:?}");
}

#[test]
fn without_t_header_recipients_are_ignored() {
    let msg = message("To: bob@example.org\nCc: carol@example.org\n", "b\n");
    let r = run(Script::new(), &["dave@example.org"], &msg);
    assert_quiet_success(&r);
    assert_eq!(rcpts(&r), ["RCPT TO:<dave@example.org>"]);
}

#[test]
fn groups_yield_their_members_and_undisclosed_none() {
    let msg = message(
        "To: friends: ann@example.org, \"B; b\" <bee@example.org>;\nCc: undisclosed-recipients:;\n",
        "b\n",
    );
    let r = run(Script::new(), &["-t"], &msg);
    assert_quiet_success(&r);
    assert_eq!(
        rcpts(&r),
        ["RCPT TO:<ann@example.org>", "RCPT TO:<bee@example.org>"]
    );
}

#[test]
fn topmost_resent_block_wins() {
    let msg = format!(
        "Resent-From: fwd2@example.org\nResent-Date: Tue, 02 Jan 2024 00:00:00 +0000\nResent-To: new2@example.org\n\
         Resent-Bcc: secret2@example.org\n\
         Resent-From: fwd1@example.org\nResent-Date: Mon, 01 Jan 2024 12:00:00 +0000\nResent-To: new1@example.org\n\
         From: alice@example.org\n{DATE_ID}To: orig@example.org\n\nbody\n"
    );
    let r = run(Script::new(), &["-t"], msg.as_bytes());
    assert_quiet_success(&r);
    assert_eq!(
        rcpts(&r),
        [
            "RCPT TO:<new2@example.org>",
            "RCPT TO:<secret2@example.org>"
        ]
    );
    assert!(mail_command(&r.transcript).starts_with("MAIL FROM:<fwd2@example.org>"));
    assert!(!data_text(&r).contains("secret2"), "Resent-Bcc is removed");
}

#[test]
fn no_recipients_is_a_usage_error_and_nothing_connects() {
    for (args, msg) in [
        (&[][..], message("To: bob@example.org\n", "b\n")),
        (&["-t"][..], message("Subject: nobody\n", "b\n")),
        (
            &["-t"][..],
            message("To: undisclosed-recipients:;\n", "b\n"),
        ),
    ] {
        let home = home();
        let server = Server::start(Script::new());
        let out = mailsend_to(&home, &server)
            .args(args)
            .write_stdin(msg)
            .output()
            .expect("run");
        let t = server.finish();
        assert_eq!(
            out.status.code(),
            Some(64),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!t.connected, "{args:?}: the server must never be contacted");
        assert!(!out.stderr.is_empty(), "a clear message");
    }
}

#[test]
fn address_after_double_dash_is_not_an_option() {
    let r = run(
        Script::new(),
        &["-f", "alice@example.org", "--", "-oQ@example.org"],
        &message("", "b\n"),
    );
    assert_quiet_success(&r);
    assert_eq!(rcpts(&r), ["RCPT TO:<-oQ@example.org>"]);
}

/// Catalogue B12: refused before connecting; nothing reaches the wire.
#[track_caller]
fn assert_refused_before_connecting(args: &[&str], input: &[u8]) {
    let home = home();
    let server = Server::start(Script::new());
    let out = mailsend_to(&home, &server)
        .args(args)
        .write_stdin(input.to_vec())
        .output()
        .expect("run");
    let t = server.finish();
    assert_eq!(
        out.status.code(),
        Some(65),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!t.connected, "{args:?}: got {:?}", t.received_text());
}

#[test]
fn cr_or_lf_in_a_recipient_argument_is_refused() {
    let msg = message("", "b\n");
    for rcpt in [
        "bob@example.org\r\nRCPT TO:<x@evil>",
        "bob@example.org\nDATA",
        "bob@exa\rmple.org",
    ] {
        assert_refused_before_connecting(&["-f", "alice@example.org", rcpt], &msg);
    }
}

#[test]
fn cr_or_lf_in_the_sender_is_refused() {
    let msg = message("", "b\n");
    for sender in [
        "a@example.org\r\nDATA",
        "a@example.org\nRCPT TO:<x@evil>",
        "a\r@example.org",
    ] {
        assert_refused_before_connecting(&["-f", sender, "bob@example.org"], &msg);
    }
}

#[test]
fn bare_cr_in_a_header_address_is_refused_with_t() {
    // Catalogue F40: msmtp delivered `To: b@example.org\rRCPT TO:<z@evil>` to z@evil; a bare CR inside a
    // header field is refused, not taken as a line break that ends the header section.
    let msg = b"From: alice@example.org\nTo: b@example.org\rRCPT TO:<z@evil>\nSubject: x\n\nb\n";
    assert_refused_before_connecting(&["-t"], msg);
}

#[test]
fn nul_in_a_header_address_is_refused_with_t() {
    let msg = b"From: alice@example.org\nTo: b@example.org\0z@evil\nSubject: x\n\nb\n";
    assert_refused_before_connecting(&["-t"], msg);
}

#[test]
fn full_name_cannot_inject_headers() {
    // Catalogue B14: refuse (65) or encode; never emit the injected line.
    let r = run(
        Script::new(),
        &[
            "-F",
            "Evil\r\nX-Injected: yes",
            "-f",
            "alice@example.org",
            "bob@example.org",
        ],
        b"Subject: x\n\nb\n",
    );
    match r.code {
        Some(65) => assert!(!r.transcript.connected),
        Some(0) => {
            let data = data_text(&r);
            assert!(
                !data.split("\r\n").any(|l| l.starts_with("X-Injected")),
                "{data}"
            );
        }
        other => panic!("exit {other:?}: {}", r.stderr),
    }
}

#[test]
fn header_recipients_with_folding_and_comments() {
    let msg = message(
        "To: (the boss) Boss <boss@example.org>,\n\tsecond@example.org (comment)\nCc: \"Doe, Jane\" <jane@example.org>\n",
        "b\n",
    );
    let r = run(Script::new(), &["-t"], &msg);
    assert_quiet_success(&r);
    assert_eq!(
        rcpts(&r),
        [
            "RCPT TO:<boss@example.org>",
            "RCPT TO:<second@example.org>",
            "RCPT TO:<jane@example.org>"
        ]
    );
    assert_eq!(r.transcript.data[0], crlf(&msg));
}

/// Issue 10, point 12: `-t` finding no header recipient must not tell the user to "use -t".
#[test]
fn t_without_header_recipients_does_not_suggest_t() {
    let r = run(Script::new(), &["-t"], &message("Subject: nobody\n", "b\n"));
    r.expect_code(64);
    assert!(!r.transcript.connected, "nothing may connect");
    assert!(!r.stderr.contains("use -t"), "{}", r.stderr);
    crate::fixture::assert_stderr_mentions(&r, "-t found no address");
    // Without -t the hint stays.
    let r = run(Script::new(), &[], &message("Subject: nobody\n", "b\n"));
    r.expect_code(64);
    crate::fixture::assert_stderr_mentions(&r, "use -t");
}

/// Issue 10, point 13: a header field the envelope does not use cannot block the send with 65, in
/// each combination: To/Cc without -t, From with -f, and with qualify_headers rewriting the header.
#[test]
fn unused_header_field_with_bad_address_syntax_does_not_block_the_send() {
    let long_local = "x".repeat(70);
    let cases: [(&[&str], String, &str); 3] = [
        // Recipients as arguments, no -t: To and Cc are not the envelope.
        (
            &["bob@example.org"],
            format!("To: {long_local}@example.org\nCc: \"unterminated@example.org\nSubject: s\n"),
            "alice@example.org",
        ),
        // -f and -t: the recipients come from the header, the sender does not.
        (
            &["-t", "-f", "sender@example.org"],
            "To: bob@example.org\nSubject: s\n".to_string(),
            "sender@example.org",
        ),
        // -f without -t: neither From nor To is used.
        (
            &["-f", "sender@example.org", "bob@example.org"],
            "To: \"open quote <x@example.org>\nSubject: s\n".to_string(),
            "sender@example.org",
        ),
    ];
    for (i, (args, headers, sender)) in cases.iter().enumerate() {
        // Case 1 and 2 carry a From that does not parse; case 0 has a good one (it is the sender).
        let from = if i == 0 {
            "From: alice@example.org\n".to_string()
        } else {
            format!("From: {long_local}@example.org (\"unterminated\n")
        };
        let msg = format!("{from}{DATE_ID}{headers}\nbody\n");
        for qualify in [false, true] {
            let home = home();
            if qualify {
                std::fs::create_dir_all(home.path().join(".config/mailsend")).expect("dir");
                std::fs::write(
                    home.path().join(".config/mailsend/config.toml"),
                    "[defaults]\nmaildomain = \"example.org\"\nqualify_headers = true\n",
                )
                .expect("config");
            }
            let server = Server::start(Script::new());
            let r = crate::harness::run_in(&home, server, msg.as_bytes(), |cmd| {
                cmd.args(*args);
            });
            assert_quiet_success(&r);
            let mail = mail_command(&r.transcript);
            assert!(
                mail.starts_with(&format!("MAIL FROM:<{sender}>")),
                "case {i}, qualify {qualify}: {mail}"
            );
            assert_eq!(rcpts(&r), ["RCPT TO:<bob@example.org>"], "case {i}");
        }
    }
}

// ---- the login name as the sender (spec §2 rule 4; issue 10, point 4) ----

/// Send a message with no From (so the login name is the sender) with the environment set by `env`.
fn sent_as(env: &[(&str, Option<&str>)]) -> Run {
    crate::harness::run_with(
        Script::new(),
        b"Subject: x\n\nb\n",
        |cmd: &mut assert_cmd::Command| {
            cmd.arg("bob@example.org");
            for (key, value) in env {
                match value {
                    Some(v) => cmd.env(key, v),
                    None => cmd.env_remove(key),
                };
            }
        },
    )
}

#[test]
fn login_name_with_smtp_syntax_is_quoted_not_spliced_into_mail_from() {
    let r = sent_as(&[("LOGNAME", Some("a> SIZE=1"))]);
    assert_quiet_success(&r);
    let mail = mail_command(&r.transcript);
    assert!(mail.starts_with("MAIL FROM:<\"a> SIZE=1\"@"), "{mail}");
    assert!(
        !crate::fixture::params(&mail).iter().any(|p| p == "SIZE=1"),
        "{mail}"
    );
    // A name no address can hold is refused before connecting (65).
    let r = sent_as(&[("LOGNAME", Some("a\u{1b}[2Jb"))]);
    assert_eq!(r.code, Some(65), "{}", r.stderr);
    assert!(!r.transcript.connected);
    assert!(r.stderr.contains("-f"), "{}", r.stderr);
    assert!(!r.stderr.contains('\u{1b}'), "{:?}", r.stderr);
}

#[test]
fn sssd_login_name_that_is_an_address_is_not_qualified_again() {
    let r = sent_as(&[("LOGNAME", Some("alice@corp.example"))]);
    assert_quiet_success(&r);
    let mail = mail_command(&r.transcript);
    assert!(
        mail.starts_with("MAIL FROM:<alice@corp.example> "),
        "{mail}"
    );
}

#[test]
fn login_name_is_logname_then_user_then_the_password_database_never_nobody() {
    let local = |r: &Run| {
        let mail = mail_command(&r.transcript);
        mail["MAIL FROM:<".len()..]
            .split('@')
            .next()
            .unwrap_or("")
            .to_string()
    };
    let r = sent_as(&[("LOGNAME", Some("first")), ("USER", Some("second"))]);
    assert_quiet_success(&r);
    assert_eq!(local(&r), "first", "spec §2: $LOGNAME first");
    let r = sent_as(&[("LOGNAME", None), ("USER", Some("second"))]);
    assert_quiet_success(&r);
    assert_eq!(local(&r), "second");
    let r = sent_as(&[("LOGNAME", None), ("USER", None)]);
    assert_quiet_success(&r);
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .expect("password database")
        .expect("the test runs as a user with an entry")
        .name;
    assert_eq!(local(&r), me);
}
