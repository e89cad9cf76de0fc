//! Hostile and broken input (issue 5; spec §1, §2, §7; catalogue B12–B18, F40–F41): each case is a named
//! test with the exit status of spec §7, and for every refusal the server saw no connection at all (the
//! whole input is read and checked before connecting, spec §1) — so nothing of it can reach the wire.

use std::time::{Duration, Instant};

use assert_cmd::Command;
use tempfile::TempDir;

use crate::fixture::{assert_quiet_success, crlf, mail_command};
use crate::harness::{Action, Run, Script, Server, Stage, home, mailsend_to, run, run_in};

const DATE_ID: &str = "Date: Mon, 01 Jan 2024 00:00:00 +0000\nMessage-ID: <h@example.org>\n";
const TO_BOB: [&str; 3] = ["-f", "alice@example.org", "bob@example.org"];

/// Run against a server that must never be contacted; returns the exit status and stderr.
#[track_caller]
fn refused(args: &[&str], input: &[u8], code: i32) -> String {
    refused_in(&home(), args, input, code, |_| {})
}

#[track_caller]
fn refused_in(
    home: &TempDir,
    args: &[&str],
    input: &[u8],
    code: i32,
    adjust: impl FnOnce(&mut Command),
) -> String {
    let server = Server::start(Script::new());
    let mut cmd = mailsend_to(home, &server);
    cmd.args(args);
    adjust(&mut cmd);
    let out = cmd.write_stdin(input.to_vec()).output().expect("run");
    let t = server.finish();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(
        !t.connected,
        "{args:?}: nothing may reach the server; it got {:?}",
        t.received_text()
    );
    assert!(!stderr.trim().is_empty(), "{args:?}: a clear message");
    assert!(
        !stderr.contains('\r') && !stderr.contains('\0'),
        "input control characters must not reach the terminal: {stderr:?}"
    );
    stderr
}

fn message(headers: &str, body: &str) -> Vec<u8> {
    format!("From: alice@example.org\n{DATE_ID}{headers}\n{body}").into_bytes()
}

fn write_config(home: &TempDir, text: &str) {
    let dir = home.path().join(".config/mailsend");
    std::fs::create_dir_all(&dir).expect("config dir");
    std::fs::write(dir.join("config.toml"), text).expect("write config");
}

// ---- structure (catalogue F41) ----

#[test]
fn empty_input_with_t_has_no_recipients() {
    // With recipients on the command line an empty input is sent with generated headers (input.rs,
    // `empty_input_is_sent_with_the_generated_headers`); with -t alone there is nobody to send it to.
    refused(&["-t"], b"", 64);
}

#[test]
fn headers_only_is_a_message_with_an_empty_body() {
    // RFC 5322 §3.5: the body is optional; a message that ends after its header fields is sent as it is.
    let input = format!("From: alice@example.org\n{DATE_ID}Subject: no body\n");
    let r = run(Script::new(), &TO_BOB, input.as_bytes());
    assert_quiet_success(&r);
    let data = String::from_utf8_lossy(&r.transcript.data[0]).into_owned();
    assert!(data.contains("Subject: no body\r\n"), "{data:?}");
    assert!(data.ends_with("\r\n"), "{data:?}");
}

#[test]
fn no_blank_line_after_the_headers_ends_the_header_section_at_the_first_non_field() {
    // A line that is not a field ends the header section (RFC 5322 §2.2); what follows is body.
    let input = format!(
        "From: alice@example.org\n{DATE_ID}To: bob@example.org\nthis line is body text\nStatus: ok\n"
    );
    let r = run(Script::new(), &["-t"], input.as_bytes());
    assert_quiet_success(&r);
    assert_eq!(r.transcript.matching("RCPT"), ["RCPT TO:<bob@example.org>"]);
    let data = String::from_utf8_lossy(&r.transcript.data[0]).into_owned();
    assert!(
        data.contains("\r\n\r\nthis line is body text\r\nStatus: ok\r\n"),
        "{data:?}"
    );
}

#[test]
fn a_bcc_after_a_line_that_ends_the_header_section_is_never_sent_as_body_text() {
    // Issue 10, point 3 (this test used to pin the opposite): a Bcc field after such a line, before
    // any empty line, would reach every recipient as body text, or be missed by -t. Refused instead.
    let input = format!(
        "From: alice@example.org\n{DATE_ID}To: bob@example.org\nthis line is not a field\nBcc: eve@example.org\n"
    );
    for args in [&["-t"][..], &TO_BOB] {
        let stderr = refused(args, input.as_bytes(), 65);
        assert!(stderr.contains("line 5 of the message"), "{stderr}");
    }
}

#[test]
fn nul_in_a_header_is_refused() {
    // Catalogue F40: NUL inside a header field, with or without -t.
    let input = b"From: alice@example.org\nSubject: a\0b\n\nbody\n";
    refused(&TO_BOB, input, 65);
    refused(
        &["-t"],
        b"From: alice@example.org\nTo: bob@example.org\nX-A: \0\n\nb\n",
        65,
    );
}

#[test]
fn nul_in_the_body_is_sent_unchanged() {
    // Spec silent; RFC 5321 §4.5.2 and RFC 6152 allow no NUL in SMTP data (only BINARYMIME would). What
    // the product does, pinned: the body goes out byte for byte, NUL included, and the server decides
    // (Postfix and Exim accept or strip it). A NUL in a header is refused (above); in the body it cannot
    // change the envelope or the framing.
    let input = message("", "before\0after\n");
    let r = run(Script::new(), &TO_BOB, &input);
    assert_quiet_success(&r);
    assert_eq!(r.transcript.data, vec![crlf(&input)]);
}

#[test]
fn bare_cr_inside_a_header_is_refused_without_t_too() {
    // Catalogue F40: msmtp delivered `To: b@example.org\rRCPT TO:<z@evil>` to z@evil.
    refused(
        &TO_BOB,
        b"From: alice@example.org\nSubject: a\rRCPT TO:<z@evil>\n\nb\n",
        65,
    );
}

#[test]
fn ten_megabyte_header_block_is_refused() {
    let mut input = b"From: alice@example.org\n".to_vec();
    let field = format!("X-Filler: {}\n", "y".repeat(990));
    while input.len() < 10 * 1024 * 1024 {
        input.extend_from_slice(field.as_bytes());
    }
    input.extend_from_slice(b"\nbody\n");
    let started = Instant::now();
    refused(&TO_BOB, &input, 65);
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn invalid_utf8_in_an_unstructured_header_is_sent_unchanged() {
    // Decision: header text is octets; an 8-bit Subject goes out as it came (with BODY=8BITMIME when
    // offered), like Postfix's sendmail. Only addresses must be valid.
    let input = b"From: alice@example.org\nDate: Mon, 01 Jan 2024 00:00:00 +0000\nMessage-ID: <u@example.org>\nSubject: caf\xe9 \xff\xfe\n\nbody\n";
    let r = run(Script::new(), &TO_BOB, input);
    assert_quiet_success(&r);
    assert_eq!(r.transcript.data, vec![crlf(input)]);
}

#[test]
fn invalid_utf8_in_an_address_is_refused() {
    // An address is sent in MAIL or RCPT; invalid UTF-8 there can be neither SMTPUTF8 (RFC 6531 needs
    // UTF-8) nor ASCII, so it is unusable input.
    refused(
        &["-t"],
        b"From: alice@example.org\nTo: b\xff@example.org\n\nb\n",
        65,
    );
    refused(
        &["bob@example.org"],
        b"From: al\xffce@example.org\n\nb\n",
        65,
    );
}

// ---- size of the envelope ----

#[test]
fn hundred_thousand_recipients_do_not_crash_and_finish_in_bounded_time() {
    // 20 arguments of 5000 comma-separated addresses (spec §1), 1.2 MB of argv. Either they all go out
    // and the message with them, or a clear error; never a crash, a hang or a quadratic stall.
    let lists: Vec<String> = (0..20)
        .map(|a| {
            (0..5000)
                .map(|i| format!("{}@x.io", a * 5000 + i))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    let home = home();
    let server = Server::start(Script::new().lifetime(Duration::from_secs(60)));
    let started = Instant::now();
    let r = run_in(&home, server, &message("", "b\n"), |cmd| {
        cmd.args(["-f", "alice@example.org"]).args(&lists);
    });
    let elapsed = started.elapsed();
    eprintln!("100,000 recipients: exit {:?} in {elapsed:?}", r.code);
    assert!(
        elapsed < Duration::from_secs(25),
        "took {elapsed:?}; exit {:?}",
        r.code
    );
    match r.code {
        Some(0) => {
            assert_eq!(r.transcript.count("RCPT"), 100_000);
            assert_eq!(r.transcript.data.len(), 1);
        }
        Some(code) => {
            assert!(
                code != 101 && !r.stderr.is_empty(),
                "exit {code}: {}",
                r.stderr
            );
            assert!(r.transcript.data.is_empty());
        }
        None => panic!("killed (time limit or signal): {}", r.stderr),
    }
}

#[test]
fn addresses_over_the_rfc_5321_limits_are_refused() {
    // RFC 5321 §4.5.3.1: local part ≤ 64 octets, domain ≤ 255, path ≤ 256 (catalogue B17).
    let local = format!("{}@example.org", "l".repeat(65));
    let label = "d".repeat(60);
    let domain = format!("a@{label}.{label}.{label}.{label}.{label}.org");
    // 64 + 1 + 207 = 272 octets: each part within its limit, the whole over 254 (256 with the brackets).
    let path = format!(
        "{}@{label}.{label}.{label}.{}.org",
        "p".repeat(64),
        "e".repeat(20)
    );
    for address in [&local, &domain, &path] {
        refused(
            &["-f", "alice@example.org", address],
            &message("", "b\n"),
            65,
        );
        refused(&["-f", address, "bob@example.org"], &message("", "b\n"), 65);
        let to = format!("To: {address}\n");
        refused(&["-t"], &message(&to, "b\n"), 65);
    }
    // The limits themselves are fine.
    let at_limit = format!("{}@example.org", "l".repeat(64));
    let r = run(
        Script::new(),
        &["-f", "alice@example.org", &at_limit],
        &message("", "b\n"),
    );
    assert_quiet_success(&r);
}

// ---- CR, LF and NUL wherever an address or a name comes from (catalogue B12–B14) ----

#[test]
fn cr_lf_in_recipient_arguments_and_the_sender_flag() {
    let input = message("", "b\n");
    for bad in [
        "bob@example.org\r\nDATA",
        "bob@example.org\nRCPT TO:<x@evil>",
        "bob\r@example.org",
        "\"bob\nx\"@example.org",
    ] {
        refused(&["-f", "alice@example.org", bad], &input, 65);
        refused(&["-f", bad, "bob@example.org"], &input, 65);
        refused(&["-r", bad, "bob@example.org"], &input, 65);
    }
}

#[test]
fn cr_lf_in_the_full_name_is_refused() {
    // -F goes into a generated From header (catalogue B14): refused, never emitted. The input has no From.
    for name in ["Evil\r\nX-Injected: yes", "Evil\nBcc: eve@evil", "Evil\rX"] {
        refused(
            &["-F", name, "-f", "alice@example.org", "bob@example.org"],
            b"Subject: x\n\nb\n",
            65,
        );
    }
}

#[test]
fn cr_lf_nul_in_header_addresses_with_t() {
    for to in [
        &b"To: bob@example.org\rRCPT TO:<z@evil>\n"[..],
        b"To: bob@example.org\0z@evil\n",
        b"Cc: \"x\0y\" <c@example.org>\n",
        b"Bcc: b\r@example.org\n",
    ] {
        let input = [b"From: alice@example.org\n".as_slice(), to, b"\nb\n"].concat();
        refused(&["-t"], &input, 65);
    }
}

#[test]
fn cr_lf_nul_in_the_from_header_used_as_sender() {
    // Without -f the sender comes from From (spec §2); a control character there must not reach MAIL.
    for from in [
        &b"From: alice@example.org\rMAIL FROM:<x@evil>\n"[..],
        b"From: ali\0ce@example.org\n",
        b"Sender: s\r@example.org\nFrom: alice@example.org\n",
    ] {
        let input = [from, b"Subject: x\n\nb\n".as_slice()].concat();
        refused(&["bob@example.org"], &input, 65);
    }
}

#[test]
fn cr_lf_in_the_user_name_used_as_sender() {
    // Spec §2 rule 4: `$USER@` the domain when nothing else names the sender. The environment is input.
    let home = home();
    refused_in(
        &home,
        &["bob@example.org"],
        b"Subject: x\n\nb\n",
        65,
        |cmd| {
            cmd.env("LOGNAME", "tester\r\nRCPT TO:<x@evil>");
            cmd.env("USER", "tester\r\nRCPT TO:<x@evil>");
        },
    );
}

#[test]
fn cr_lf_nul_in_the_configured_sender_is_a_config_error() {
    // Spec §8: a bad value in the file is exit 78 naming file, line and key; it is found before connecting.
    for value in [
        r"a@example.org\r\nDATA",
        r"a@example.org\nX",
        r"a\u0000@example.org",
    ] {
        let home = home();
        write_config(&home, &format!("[defaults]\nfrom = \"{value}\"\n"));
        let stderr = refused_in(&home, &["bob@example.org"], &message("", "b\n"), 78, |_| {});
        assert!(stderr.contains("config.toml:2"), "{stderr}");
        assert!(stderr.contains("from"), "{stderr}");
    }
}

#[test]
fn cr_lf_nul_in_an_alias_is_refused() {
    // Spec §8: a bad value in the file is a configuration error naming file, line and key (78). An alias
    // target is such a value, whether or not this run uses it.
    for value in [
        r"admin@example.org\r\nRCPT TO:<x@evil>",
        r"admin@example.org\nDATA",
        r"ad\u0000min@example.org",
    ] {
        let home = home();
        write_config(&home, &format!("[aliases]\nroot = \"{value}\"\n"));
        let stderr = refused_in(&home, &["root"], &message("", "b\n"), 78, |_| {});
        assert!(stderr.contains("config.toml:2"), "{stderr}");
    }
}

// ---- long lines and option confusion ----

#[test]
fn lines_over_998_octets_go_out_unchanged_and_the_trace_says_so() {
    // Catalogue B17: never folded silently. The message is sent as is; level 1 notes the long line.
    let long = "z".repeat(5000);
    let input = message("", &format!("short\n{long}\nend\n"));
    let r = run(
        Script::new(),
        &["--debug", "1", "-f", "alice@example.org", "bob@example.org"],
        &input,
    );
    r.expect_code(0);
    assert_eq!(r.transcript.data, vec![crlf(&input)]);
    assert!(
        r.stderr.contains("998"),
        "the trace must note the over-long line: {}",
        r.stderr
    );
}

#[test]
fn a_line_over_998_octets_is_reported_at_every_debug_level() {
    // Issue 10, point 18: at --debug 0 the long line used to go out without a word. One warning line
    // names the first long line, its length and the count, at every level and with --pretend.
    let long = "z".repeat(5000);
    let input = message("", &format!("short\n{long}\nend\n{long}\n"));
    // The message's header is From, Date, Message-ID, then the empty line: "short" is line 5.
    let want = "line 6 of the message is 5000 octets long, the first of 2 lines over the 998";
    for level in ["0", "1", "2"] {
        let r = run(
            Script::new(),
            &[
                "--debug",
                level,
                "-f",
                "alice@example.org",
                "bob@example.org",
            ],
            &input,
        );
        r.expect_code(0);
        assert_eq!(r.transcript.data, vec![crlf(&input)], "sent unchanged");
        let warnings: Vec<&str> = r
            .stderr
            .lines()
            .filter(|l| l.starts_with("mailsend: warning:"))
            .collect();
        assert_eq!(warnings.len(), 1, "level {level}: {}", r.stderr);
        assert!(warnings[0].contains(want), "level {level}: {}", warnings[0]);
        assert!(warnings[0].contains("refuse"), "{}", warnings[0]);
    }
    let r = run(Script::new(), &["--pretend", "bob@example.org"], &input);
    r.expect_code(0);
    assert!(r.stderr.contains(want), "--pretend: {}", r.stderr);
    // A message without long lines stays quiet.
    let r = run(Script::new(), &TO_BOB, &message("", "short\n"));
    assert_quiet_success(&r);
}

#[test]
fn a_recipient_starting_with_a_dash_after_double_dash_is_an_address() {
    // Catalogue B18: after `--` nothing is an option, not even `-t` or `-oQ/tmp` (lettre GHSA-vc2p-r46x-m3vx).
    let input = message("To: header-only@example.org\n", "b\n");
    let r = run(
        Script::new(),
        &[
            "-f",
            "alice@example.org",
            "--",
            "-t@example.org",
            "-oQ@example.org",
        ],
        &input,
    );
    assert_quiet_success(&r);
    assert_eq!(
        r.transcript.matching("RCPT"),
        ["RCPT TO:<-t@example.org>", "RCPT TO:<-oQ@example.org>"]
    );
    assert!(mail_command(&r.transcript).starts_with("MAIL FROM:<alice@example.org>"));

    // `-t` itself after `--` is a recipient, so -t is not in force and the To header adds nobody.
    let r: Run = run(
        Script::new(),
        &["-f", "alice@example.org", "--", "-t"],
        &input,
    );
    assert!(
        !r.transcript
            .matching("RCPT")
            .contains(&"RCPT TO:<header-only@example.org>"),
        "-t after -- must not read the headers: {:?}",
        r.transcript.commands
    );
    assert_ne!(r.code, Some(64), "-t after -- is not a flag: {}", r.stderr);
}

#[test]
fn addresses_in_error_messages_are_escaped_like_server_replies() {
    // Issue 10, point 17: an address from the input reached stderr raw, so a right-to-left override
    // could reorder "the server refused <…>" on the terminal. (C0 and C1 controls never get this far:
    // the address parser refuses them, and its message escapes them.)
    let bidi = "evil\u{202e}gro.elpmaxe@example.org";
    let isolate = "\"isolate\u{2067}d\"@example.org";
    let script = || {
        Script::new()
            .ehlo_lines(&["PIPELINING", "8BITMIME", "SMTPUTF8"])
            .on(Stage::Rcpt(2), Action::reply("550 5.1.1 no such user"))
            .on(Stage::Rcpt(3), Action::reply("550 5.1.1 no such user"))
    };
    // Partial refusal: report() names the refused and the delivered.
    let r = run(
        script(),
        &["-f", "alice@example.org", "bob@example.org", bidi, isolate],
        &message("", "b\n"),
    );
    r.expect_code(67);
    // Every refusal: the engine's error names them all.
    let all = run(
        script().on(Stage::Rcpt(1), Action::reply("550 5.1.1 no such user")),
        &["-f", "alice@example.org", bidi, "bob@example.org", isolate],
        &message("", "b\n"),
    );
    all.expect_code(67);
    for stderr in [&r.stderr, &all.stderr] {
        assert!(!stderr.contains('\u{202e}'), "raw override: {stderr:?}");
        assert!(!stderr.contains('\u{2067}'), "raw isolate: {stderr:?}");
        assert!(stderr.contains("evil\\u{202e}gro"), "{stderr}");
        assert!(stderr.contains("isolate\\u{2067}d"), "{stderr}");
    }
}

#[test]
fn cr_lf_in_the_domain_is_a_usage_error_before_connecting() {
    // Issue 10, point 16: the EHLO argument is checked with the other arguments (64), not after connecting.
    for bad in [
        "client.example\r\nMAIL FROM:<x@evil>",
        "client.example\nRSET",
        "client.example MAIL",
        "client\texample",
        "",
    ] {
        let stderr = refused(
            &["--domain", bad, "-f", "a@example.org", "b@example.org"],
            b"",
            64,
        );
        assert!(stderr.contains("--domain"), "{stderr}");
    }
}

#[test]
fn cr_lf_or_space_in_the_configured_domain_is_a_config_error() {
    for value in [r"c.example\r\nRSET", r"c.example\nX", "c.example MAIL", ""] {
        let home = home();
        write_config(&home, &format!("[defaults]\ndomain = \"{value}\"\n"));
        let stderr = refused_in(&home, &["bob@example.org"], &message("", "b\n"), 78, |_| {});
        assert!(stderr.contains("config.toml:2"), "{stderr}");
        assert!(stderr.contains("domain"), "{stderr}");
    }
}
