//! The debug trace (spec §6, modeled on smtplib's `set_debuglevel`, reference smtplib-behaviour.md §1):
//! level 0 is silent on success, level 1 prints smtplib's lines (with upper-case verbs), level 2 prefixes
//! `HH:MM:SS.ffffff `, long data is truncated with its size, and bytes are shown as Python reprs.

use crate::fixture::{ALICE_TO_BOB, MSG, crlf, msg_on_wire, stuff};
use crate::harness::{Action, Run, Script, Server, Stage, home, mailsend, mailsend_to, run};

/// Python's `repr()` of a bytes or str value: single quotes unless the text has `'` and no `"`;
/// `\t \n \r \\` and the quote escaped; bytes outside 0x20–0x7e as `\xNN` (for `str`, printable non-ASCII
/// stays as it is).
fn py_repr(bytes: &[u8], is_bytes: bool) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from(if is_bytes { "b" } else { "" });
    out.push(quote);
    let text = String::from_utf8_lossy(bytes);
    let push_byte = |out: &mut String, b: u8| match b {
        b'\\' => out.push_str("\\\\"),
        b'\t' => out.push_str("\\t"),
        b'\n' => out.push_str("\\n"),
        b'\r' => out.push_str("\\r"),
        b if b as char == quote => {
            out.push('\\');
            out.push(quote)
        }
        0x20..=0x7e => out.push(b as char),
        b => out.push_str(&format!("\\x{b:02x}")),
    };
    if is_bytes {
        for &b in bytes {
            push_byte(&mut out, b);
        }
    } else {
        for c in text.chars() {
            if c.is_ascii() {
                push_byte(&mut out, c as u8);
            } else {
                out.push(c);
            }
        }
    }
    out.push(quote);
    out
}

/// Every `expected` line appears in stderr as a whole line, in this order (other lines may come between).
#[track_caller]
fn assert_lines_in_order(stderr: &str, expected: &[String]) {
    let lines: Vec<&str> = stderr.lines().collect();
    let mut from = 0;
    for want in expected {
        match lines[from..].iter().position(|l| l == want) {
            Some(i) => from += i + 1,
            None => panic!("trace line missing or out of order: {want}\n--- stderr ---\n{stderr}"),
        }
    }
}

fn traced(args: &[&str]) -> Run {
    let all: Vec<&str> = args.iter().chain(ALICE_TO_BOB.iter()).copied().collect();
    run(Script::new().no_pipelining(), &all, MSG)
}

#[test]
fn level_zero_success_prints_nothing() {
    let r = run(Script::new(), &ALICE_TO_BOB, MSG);
    r.expect_code(0);
    assert_eq!(r.stderr, "");
    assert_eq!(r.stdout, "");
}

#[test]
fn level_one_prints_smtplib_lines() {
    let r = traced(&["--debug", "1"]);
    r.expect_code(0);
    let size = crlf(MSG).len();
    let mut data = msg_on_wire();
    data.extend_from_slice(b".\r\n");
    let expected = [
        format!("connect: to ('127.0.0.1', {}) None", r.port),
        r"reply: b'220 test.example ESMTP\r\n'".to_string(),
        "reply: retcode (220); Msg: b'test.example ESMTP'".to_string(),
        "connect: b'test.example ESMTP'".to_string(),
        r"send: 'EHLO client.example\r\n'".to_string(),
        r"reply: b'250-test.example\r\n'".to_string(),
        r"reply: b'250-8BITMIME\r\n'".to_string(),
        r"reply: b'250-SIZE 10240000\r\n'".to_string(),
        r"reply: b'250 ENHANCEDSTATUSCODES\r\n'".to_string(),
        r"reply: retcode (250); Msg: b'test.example\n8BITMIME\nSIZE 10240000\nENHANCEDSTATUSCODES'"
            .to_string(),
        format!(r"send: 'MAIL FROM:<alice@example.org> SIZE={size}\r\n'"),
        r"reply: b'250 2.1.0 Ok\r\n'".to_string(),
        "reply: retcode (250); Msg: b'2.1.0 Ok'".to_string(),
        r"send: 'RCPT TO:<bob@example.org>\r\n'".to_string(),
        r"reply: b'250 2.1.5 Ok\r\n'".to_string(),
        "reply: retcode (250); Msg: b'2.1.5 Ok'".to_string(),
        r"send: 'DATA\r\n'".to_string(),
        r"reply: b'354 End data with <CR><LF>.<CR><LF>\r\n'".to_string(),
        "reply: retcode (354); Msg: b'End data with <CR><LF>.<CR><LF>'".to_string(),
        "data: (354, b'End data with <CR><LF>.<CR><LF>')".to_string(),
        format!("send: {}", py_repr(&data, true)),
        r"reply: b'250 2.0.0 Ok: queued as ABC123\r\n'".to_string(),
        "reply: retcode (250); Msg: b'2.0.0 Ok: queued as ABC123'".to_string(),
        "data: (250, b'2.0.0 Ok: queued as ABC123')".to_string(),
        r"send: 'QUIT\r\n'".to_string(),
        r"reply: b'221 2.0.0 Bye\r\n'".to_string(),
        "reply: retcode (221); Msg: b'2.0.0 Bye'".to_string(),
    ];
    // Exactly smtplib's lines, nothing more (reference smtplib-behaviour.md §1, upper-case verbs).
    assert_eq!(
        r.stderr.lines().collect::<Vec<_>>(),
        expected,
        "--- stderr ---\n{}",
        r.stderr
    );
}

#[test]
fn v_and_d_mean_level_one() {
    for flag in ["-v", "-d"] {
        let r = traced(&[flag]);
        r.expect_code(0);
        assert_lines_in_order(
            &r.stderr,
            &[
                format!("connect: to ('127.0.0.1', {}) None", r.port),
                r"send: 'EHLO client.example\r\n'".to_string(),
            ],
        );
    }
}

#[test]
fn level_two_stamps_every_line_with_microseconds() {
    let r = traced(&["--debug", "2"]);
    r.expect_code(0);
    assert!(r.stderr.lines().count() > 20, "{}", r.stderr);
    for line in r.stderr.lines() {
        let b = line.as_bytes();
        let stamped = b.len() > 16
            && [0, 1, 3, 4, 6, 7, 9, 10, 11, 12, 13, 14]
                .iter()
                .all(|&i| b[i].is_ascii_digit())
            && b[2] == b':'
            && b[5] == b':'
            && b[8] == b'.'
            && b[15] == b' ';
        assert!(stamped, "not HH:MM:SS.ffffff-stamped: {line:?}");
    }
    assert!(
        r.stderr
            .lines()
            .any(|l| l[16..].starts_with("connect: to ('127.0.0.1', "))
    );
}

#[test]
fn long_data_is_truncated_with_its_size() {
    let mut message = MSG.to_vec();
    for _ in 0..200 {
        message.extend_from_slice(
            b"0123456789012345678901234567890123456789012345678901234567890123456789\n",
        );
    }
    let r = run(
        Script::new().no_pipelining(),
        &["--debug", "1", "-f", "a@example.org", "b@example.org"],
        &message,
    );
    r.expect_code(0);
    let send_data = r
        .stderr
        .lines()
        .find(|l| l.starts_with("send: b'") || l.starts_with("send: b\""))
        .unwrap_or_else(|| panic!("no data line: {}", r.stderr));
    assert!(
        send_data.len() < 4096 + 512,
        "data line is {} chars",
        send_data.len()
    );
    let wire = stuff(&crlf(&message)).len();
    let sizes = [crlf(&message).len(), wire, wire + 3];
    assert!(
        sizes.iter().any(|n| r.stderr.contains(&n.to_string())),
        "the full size ({sizes:?}) is shown: {send_data}"
    );
}

#[test]
fn odd_reply_bytes_are_escaped_in_the_trace() {
    let greeting = b"220 test.example \xc3\xa9 \x1b[31mred\x00\r\n".to_vec();
    let script = Script::new().on(Stage::Greeting, Action::Raw(greeting.clone()));
    let r = run(
        script,
        &["--debug", "1", "-f", "a@example.org", "b@example.org"],
        MSG,
    );
    r.expect_code(0);
    assert!(
        !r.stderr.contains('\x1b') && !r.stderr.contains('\0'),
        "raw control bytes in the trace"
    );
    assert_lines_in_order(&r.stderr, &[format!("reply: {}", py_repr(&greeting, true))]);
}

#[test]
fn a_quote_in_a_command_switches_to_double_quotes() {
    let r = run(
        Script::new().ehlo_lines(&["8BITMIME"]),
        &["--debug", "1", "-f", "o'brien@example.org", "b@example.org"],
        MSG,
    );
    r.expect_code(0);
    assert_lines_in_order(
        &r.stderr,
        &[r#"send: "MAIL FROM:<o'brien@example.org>\r\n""#.to_string()],
    );
    assert_eq!(py_repr(b"it's", false), r#""it's""#);
}

#[test]
fn the_connect_line_appears_even_when_the_connection_is_refused() {
    let server = Server::start(Script::new());
    let host = server.host_arg();
    let port = server.port();
    server.finish();
    let home = home();
    let out = mailsend(&home)
        .args([
            "--host",
            &host,
            "--domain",
            "client.example",
            "--debug",
            "1",
        ])
        .args(ALICE_TO_BOB)
        .write_stdin(MSG)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(75));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_lines_in_order(
        &stderr,
        &[format!("connect: to ('127.0.0.1', {port}) None")],
    );
}

#[test]
fn ipv6_connect_line() {
    let Some(server) = Server::start_v6(Script::new()) else {
        return;
    };
    let home = home();
    let port = server.port();
    let out = mailsend_to(&home, &server)
        .args(["--debug", "1"])
        .args(ALICE_TO_BOB)
        .write_stdin(MSG)
        .output()
        .expect("run");
    server.finish();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_lines_in_order(&stderr, &[format!("connect: to ('::1', {port}) None")]);
}

#[test]
fn python_repr_helper_matches_python() {
    // Values checked against CPython 3.11's repr().
    assert_eq!(py_repr(b"a\r\n", true), r"b'a\r\n'");
    assert_eq!(py_repr(b"\xc3\xa9\x00\\", true), r"b'\xc3\xa9\x00\\'");
    assert_eq!(py_repr(b"'\"", true), r#"b'\'"'"#);
    assert_eq!(py_repr("é\n".as_bytes(), false), r"'é\n'");
}
