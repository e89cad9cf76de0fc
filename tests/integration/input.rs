//! Message input (spec §1, §3 data rules, catalogue B15/B16/F41/F43): stdin or `--input`, read whole before
//! connecting, CRLF normalisation of bare CR and bare LF before dot-stuffing, dot edge cases, large messages
//! through the spool (and no spool file left behind).

use crate::fixture::{ALICE_TO_BOB, MSG, assert_quiet_success, msg_on_wire};
use crate::harness::{Run, Script, Server, home, mailsend_to, run};

/// Headers that keep mailsend from adding any (spec §2), so the data is exactly predictable.
const HEAD: &[u8] = b"From: alice@example.org\r\n\
Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n\
Message-ID: <in@example.org>\r\n\r\n";

fn send_body(body: &[u8]) -> Run {
    let input = [HEAD, body].concat();
    run(Script::new(), &ALICE_TO_BOB, &input)
}

/// The body must arrive as `expected` (stuffed, CRLF), in one message, with nothing after it but QUIT.
#[track_caller]
fn assert_body(body: &[u8], expected: &[u8]) {
    let r = send_body(body);
    assert_quiet_success(&r);
    let t = &r.transcript;
    assert_eq!(
        t.data,
        vec![[HEAD, expected].concat()],
        "input body {:?}",
        String::from_utf8_lossy(body)
    );
    let after_data = t.position("DATA").map_or(&[][..], |i| &t.commands[i + 1..]);
    assert_eq!(
        after_data,
        ["QUIT"],
        "the data must not be split into commands"
    );
}

#[test]
fn input_file_replaces_stdin() {
    let home = home();
    let file = home.path().join("message.eml");
    std::fs::write(&file, MSG).expect("write message");
    let server = Server::start(Script::new());
    let out = mailsend_to(&home, &server)
        .arg("--input")
        .arg(&file)
        .args(ALICE_TO_BOB)
        .write_stdin("this is not the message\n")
        .output()
        .expect("run");
    let t = server.finish();
    crate::fixture::assert_exit(&out, 0);
    assert_eq!(t.data, vec![msg_on_wire()]);
}

#[test]
fn missing_input_file_is_an_io_error_before_connecting() {
    let home = home();
    let server = Server::start(Script::new());
    let missing = home.path().join("no-such-message.eml");
    let out = mailsend_to(&home, &server)
        .arg("--input")
        .arg(&missing)
        .args(ALICE_TO_BOB)
        .output()
        .expect("run");
    let t = server.finish();
    crate::fixture::assert_exit(&out, 74);
    assert!(
        !t.connected,
        "nothing may be sent when the input cannot be read"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-message.eml"));
}

#[test]
fn empty_input_is_sent_with_the_generated_headers() {
    // Decision (spec silent; Postfix's sendmail does the same): an empty message still gets From, Date and
    // Message-ID and goes out with an empty body.
    let r = run(Script::new(), &ALICE_TO_BOB, b"");
    assert_quiet_success(&r);
    let data = String::from_utf8_lossy(&r.transcript.data[0]).to_ascii_lowercase();
    for name in ["from:", "date:", "message-id:"] {
        assert!(data.contains(name), "{name} in {data}");
    }
    assert!(data.ends_with("\r\n"));
}

#[test]
fn line_endings_become_crlf() {
    assert_body(b"a\r\nb\r\n", b"a\r\nb\r\n");
    assert_body(b"a\nb\n", b"a\r\nb\r\n");
    assert_body(b"a\rb\r", b"a\r\nb\r\n");
    assert_body(b"a\r\nb\nc\rd", b"a\r\nb\r\nc\r\nd\r\n");
    // Catalogue B15: Postfix once condensed CR…CRLF.
    assert_body(b"x\r\r\ny\n", b"x\r\n\r\ny\r\n");
}

#[test]
fn smuggling_sequences_are_neutralised() {
    // Catalogue B15 (SEC Consult SMTP smuggling): normalise first, then stuff.
    assert_body(b"A\n.\r\nM", b"A\r\n..\r\nM\r\n");
    assert_body(b"C\r\n.\nD", b"C\r\n..\r\nD\r\n");
    assert_body(b"D\r.\r\nE", b"D\r\n..\r\nE\r\n");
    assert_body(
        b"F\n.\nMAIL FROM:<x@evil>\n",
        b"F\r\n..\r\nMAIL FROM:<x@evil>\r\n",
    );
}

#[test]
fn dot_edge_cases_are_stuffed() {
    // Catalogue B16 and curl tests 901/910/951/952/1520.
    assert_body(b".", b"..\r\n");
    assert_body(b".\n", b"..\r\n");
    assert_body(b"..\n", b"...\r\n");
    assert_body(
        b".first\nmiddle\n.\nlast",
        b"..first\r\nmiddle\r\n..\r\nlast\r\n",
    );
    assert_body(b"\r\n\r\n.\r\n", b"\r\n\r\n..\r\n");
    assert_body(b"no final newline", b"no final newline\r\n");
}

#[test]
fn a_lone_dot_line_does_not_end_piped_input() {
    // Spec §1: input ends at end of file; the dot rule is for terminals only, -i/-oi are accepted.
    for flag in [None, Some("-i"), Some("-oi")] {
        let mut args: Vec<&str> = flag.into_iter().collect();
        args.extend(ALICE_TO_BOB);
        let input = [HEAD, b"before\n.\nafter\n"].concat();
        let r = run(Script::new(), &args, &input);
        assert_quiet_success(&r);
        assert_eq!(
            r.transcript.data,
            vec![[HEAD, b"before\r\n..\r\nafter\r\n"].concat()]
        );
    }
}

#[test]
fn large_message_arrives_intact_and_no_spool_file_is_left() {
    let mut body = Vec::with_capacity(3 << 20);
    let mut n = 0u32;
    while body.len() < 3 << 20 {
        body.extend_from_slice(
            format!(
                "line {n:07} {}\n",
                if n.is_multiple_of(7) { ".dot" } else { "text" }
            )
            .as_bytes(),
        );
        if n.is_multiple_of(1000) {
            body.extend_from_slice(b".\n");
        }
        n += 1;
    }
    let home = home();
    let server = Server::start(Script::new());
    let out = mailsend_to(&home, &server)
        .args(ALICE_TO_BOB)
        .write_stdin([HEAD, &body].concat())
        .output()
        .expect("run");
    let t = server.finish();
    crate::fixture::assert_exit(&out, 0);
    let expected = crate::fixture::stuff(&[HEAD, &crate::fixture::crlf(&body)].concat());
    assert!(
        t.data.len() == 1 && t.data[0] == expected,
        "the large message differs"
    );
    let left: Vec<_> = std::fs::read_dir(home.path().join("tmp"))
        .expect("TMPDIR")
        .collect();
    assert!(left.is_empty(), "spool files left behind: {left:?}");
}

/// `mailsend --pretend … | head`: a reader that stops early is no failure: exit 0, nothing on stderr
/// (not "Broken pipe" with exit 69).
#[test]
fn pretend_into_a_closed_pipe_is_quiet() {
    let home = home();
    let message = [HEAD, &b"a line of the body\n".repeat(20_000)].concat();
    let path = home.path().join("big.eml");
    std::fs::write(&path, message).expect("write the message");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("mailsend"))
        .args(["--pretend", "--input"])
        .arg(&path)
        .arg("bob@example.org")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn mailsend");
    drop(child.stdout.take()); // the reader goes away before most of the 380 KB are written
    let out = child.wait_with_output().expect("wait for mailsend");
    crate::fixture::assert_exit(&out, 0);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `args` with `input` once piped and once as an `--input` file used in place (issue 6): the
/// two input paths must agree.
fn both_paths(args: &[&str], input: &[u8]) -> [Run; 2] {
    let piped = run(Script::new(), args, input);
    let home = home();
    let file = home.path().join("message.eml");
    std::fs::write(&file, input).expect("write message");
    let server = Server::start(Script::new());
    let in_place = crate::harness::run_in(&home, server, b"", |cmd| {
        cmd.arg("--input").arg(&file).args(args);
    });
    [piped, in_place]
}

/// Issue 10, point 3: a leading mbox `From ` line is dropped (as Postfix and Exim do) and a leading
/// byte order mark skipped; the fields after them are the header section, so the Bcc is used with
/// -t and removed, and no From, Date or Message-ID is added above the message.
#[test]
fn mbox_from_line_or_bom_does_not_turn_the_header_into_body_text() {
    let fields = b"From: alice@example.org\n\
To: bob@example.org\n\
Bcc: secret@example.org\n\
Date: Mon, 01 Jan 2024 00:00:00 +0000\n\
Message-ID: <mbox@example.org>\n\
Subject: s\n\
\n\
body\n";
    let sent = b"From: alice@example.org\r\n\
To: bob@example.org\r\n\
Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n\
Message-ID: <mbox@example.org>\r\n\
Subject: s\r\n\
\r\n\
body\r\n";
    let mbox = b"From alice@example.org Mon Jan  1 00:00:00 2024\n";
    let bom = b"\xef\xbb\xbf";
    for prefix in [&mbox[..], bom, &[bom, &mbox[..]].concat()] {
        let input = [prefix, fields].concat();
        for r in both_paths(&["-t"], &input) {
            assert_quiet_success(&r);
            assert_eq!(
                r.transcript.matching("RCPT"),
                ["RCPT TO:<bob@example.org>", "RCPT TO:<secret@example.org>"],
                "prefix {prefix:?}"
            );
            assert_eq!(r.transcript.data, vec![sent.to_vec()], "prefix {prefix:?}");
        }
    }
}

/// Issue 10, point 3: when the header scan stops at a line that is not a field while a Bcc (or To,
/// Cc) field follows, the message is refused (65) before connecting instead of sending that Bcc as
/// body text; plain text that happens to hold a colon is still sent as body.
#[test]
fn header_scan_stopping_before_a_bcc_refuses_the_message() {
    let input = b"From: alice@example.org\n\
To: bob@example.org\n\
X-F\xc3\xb6\xc3\xb6: an 8-bit field name is not a field\n\
Bcc: secret@example.org\n\
\n\
body\n";
    for args in [&ALICE_TO_BOB[..], &["-t"]] {
        for r in both_paths(args, input) {
            r.expect_code(65);
            assert!(!r.transcript.connected, "nothing may connect");
            crate::fixture::assert_stderr_mentions(&r, "line 3 of the message is not a header");
            assert!(!r.stderr.contains("secret"), "{}", r.stderr);
        }
    }
    for r in both_paths(&ALICE_TO_BOB, b"Backup done\nStatus: ok\n") {
        assert_quiet_success(&r);
        let data = String::from_utf8_lossy(&r.transcript.data[0]).into_owned();
        assert!(
            data.ends_with("\r\n\r\nBackup done\r\nStatus: ok\r\n"),
            "{data}"
        );
    }
}

/// Issue 10, point 15: a spool that cannot be written is reported as the spool (with TMPDIR named),
/// not as "cannot read the message from standard input". A full disk (ENOSPC, EDQUOT, EIO) is 75;
/// that needs a full file system, so the unit test `a_full_spool_is_a_temporary_write_error_not_a_read_error`
/// pins it with /dev/full. Here TMPDIR does not exist, which no retry cures: 74, named as the spool.
#[test]
fn a_spool_write_failure_is_not_reported_as_a_read_failure() {
    let home = home();
    let server = Server::start(Script::new());
    let missing = home.path().join("no-such-tmp");
    let body = b"0123456789abcdef\n".repeat(80_000); // over the 1 MiB kept in memory
    let out = mailsend_to(&home, &server)
        .env("TMPDIR", &missing)
        .args(ALICE_TO_BOB)
        .write_stdin([HEAD, &body].concat())
        .output()
        .expect("run");
    let t = server.finish();
    crate::fixture::assert_exit(&out, 74);
    assert!(!t.connected, "nothing may connect");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot write the message to its spool file")
            && stderr.contains("no-such-tmp"),
        "{stderr}"
    );
    assert!(!stderr.contains("cannot read"), "{stderr}");
}
