//! Unit tests for the trace: the captured smtplib transcripts of smtplib-behaviour.md section 1
//! reproduced line by line, the level-2 timestamp, Python repr quoting, truncation and redaction.

use super::*;

fn capture(level: u8) -> (Trace, CaptureBuffer) {
    let buf = CaptureBuffer::new();
    (Trace::to_writer(level, Box::new(buf.clone())), buf)
}

/// Drives the trace through the full `sendmail()` + `quit()` run of section 1, as the session
/// would: raw reply lines, then the assembled reply.
fn replay_section1(t: &mut Trace) {
    fn exchange(t: &mut Trace, lines: &[&[u8]], code: u16, msg: &[u8]) {
        for line in lines {
            t.reply_line(line);
        }
        t.reply(code, msg);
    }
    t.connect_to("127.0.0.1", 38973, None);
    exchange(
        t,
        &[b"220 mail.example.org ESMTP ready\r\n"],
        220,
        b"mail.example.org ESMTP ready",
    );
    t.greeting(b"mail.example.org ESMTP ready");
    t.send("ehlo client.example.com\r\n");
    exchange(
        t,
        &[
            b"250-mail.example.org Hello\r\n",
            b"250-SIZE 10240000\r\n",
            b"250-8BITMIME\r\n",
            b"250-AUTH PLAIN LOGIN\r\n",
            b"250 HELP\r\n",
        ],
        250,
        b"mail.example.org Hello\nSIZE 10240000\n8BITMIME\nAUTH PLAIN LOGIN\nHELP",
    );
    t.send("mail FROM:<alice@example.com> size=37\r\n");
    exchange(t, &[b"250 2.1.0 Ok\r\n"], 250, b"2.1.0 Ok");
    t.send("rcpt TO:<bob@example.org>\r\n");
    exchange(t, &[b"250 2.1.5 Ok\r\n"], 250, b"2.1.5 Ok");
    t.send("rcpt TO:<carol@example.net>\r\n");
    exchange(t, &[b"250 2.1.5 Ok\r\n"], 250, b"2.1.5 Ok");
    t.send("data\r\n");
    exchange(
        t,
        &[b"354 End data with <CR><LF>.<CR><LF>\r\n"],
        354,
        b"End data with <CR><LF>.<CR><LF>",
    );
    t.data_reply(354, b"End data with <CR><LF>.<CR><LF>");
    t.data_begin();
    // Written in two pieces, as a streaming writer would.
    t.data_chunk(b"Subject: hi\r\n\r\nHello\r\n");
    t.data_chunk(b"..dot line\r\nlast\r\n.\r\n");
    t.data_end(43);
    exchange(
        t,
        &[b"250 2.0.0 Ok: queued as ABC123\r\n"],
        250,
        b"2.0.0 Ok: queued as ABC123",
    );
    t.data_reply(250, b"2.0.0 Ok: queued as ABC123");
    t.send("quit\r\n");
    exchange(t, &[b"221 2.0.0 Bye\r\n"], 221, b"2.0.0 Bye");
}

const SECTION1_LEVEL1: &str = r"connect: to ('127.0.0.1', 38973) None
reply: b'220 mail.example.org ESMTP ready\r\n'
reply: retcode (220); Msg: b'mail.example.org ESMTP ready'
connect: b'mail.example.org ESMTP ready'
send: 'ehlo client.example.com\r\n'
reply: b'250-mail.example.org Hello\r\n'
reply: b'250-SIZE 10240000\r\n'
reply: b'250-8BITMIME\r\n'
reply: b'250-AUTH PLAIN LOGIN\r\n'
reply: b'250 HELP\r\n'
reply: retcode (250); Msg: b'mail.example.org Hello\nSIZE 10240000\n8BITMIME\nAUTH PLAIN LOGIN\nHELP'
send: 'mail FROM:<alice@example.com> size=37\r\n'
reply: b'250 2.1.0 Ok\r\n'
reply: retcode (250); Msg: b'2.1.0 Ok'
send: 'rcpt TO:<bob@example.org>\r\n'
reply: b'250 2.1.5 Ok\r\n'
reply: retcode (250); Msg: b'2.1.5 Ok'
send: 'rcpt TO:<carol@example.net>\r\n'
reply: b'250 2.1.5 Ok\r\n'
reply: retcode (250); Msg: b'2.1.5 Ok'
send: 'data\r\n'
reply: b'354 End data with <CR><LF>.<CR><LF>\r\n'
reply: retcode (354); Msg: b'End data with <CR><LF>.<CR><LF>'
data: (354, b'End data with <CR><LF>.<CR><LF>')
send: b'Subject: hi\r\n\r\nHello\r\n..dot line\r\nlast\r\n.\r\n'
reply: b'250 2.0.0 Ok: queued as ABC123\r\n'
reply: retcode (250); Msg: b'2.0.0 Ok: queued as ABC123'
data: (250, b'2.0.0 Ok: queued as ABC123')
send: 'quit\r\n'
reply: b'221 2.0.0 Bye\r\n'
reply: retcode (221); Msg: b'2.0.0 Bye'
";

#[test]
fn level1_reproduces_smtplib_transcript_line_by_line() {
    let (mut t, buf) = capture(1);
    replay_section1(&mut t);
    let got = buf.text();
    for (n, (got, want)) in got.lines().zip(SECTION1_LEVEL1.lines()).enumerate() {
        assert_eq!(got, want, "line {}", n + 1);
    }
    assert_eq!(got, SECTION1_LEVEL1);
}

#[test]
fn level0_prints_nothing() {
    let (mut t, buf) = capture(0);
    replay_section1(&mut t);
    t.note("tls", "TLSv1.3");
    t.connect_unix(Path::new("/run/dovecot/lmtp"));
    assert_eq!(buf.text(), "");
    assert_eq!(t.level(), 0);
}

fn is_timestamp_prefix(line: &str) -> bool {
    // ^\d{2}:\d{2}:\d{2}\.\d{6} — the regex of smtplib's test_debuglevel_2.
    let b = line.as_bytes();
    b.len() > 16
        && b[..15].iter().enumerate().all(|(i, &c)| match i {
            2 | 5 => c == b':',
            8 => c == b'.',
            _ => c.is_ascii_digit(),
        })
        && b[15] == b' '
}

#[test]
fn level2_prefixes_every_line_with_six_digit_time() {
    let (mut t, buf) = capture(2);
    replay_section1(&mut t);
    let got = buf.text();
    let first = got.lines().next().unwrap_or_default();
    assert!(is_timestamp_prefix(first), "{first:?}");
    assert_eq!(&first[16..25], "connect: ");
    // The same lines as level 1 once the 16-character prefix is taken off.
    let stripped: Vec<&str> = got
        .lines()
        .inspect(|l| assert!(is_timestamp_prefix(l), "{l:?}"))
        .map(|l| &l[16..])
        .collect();
    assert_eq!(stripped, SECTION1_LEVEL1.lines().collect::<Vec<_>>());
}

#[test]
fn run_a_quote_rule_for_apostrophe() {
    let (mut t, buf) = capture(1);
    t.send("mail FROM:<o'brien@example.com>\r\n");
    t.reply(
        550,
        b"5.1.1 <nobody@example.org>: Recipient address rejected",
    );
    assert_eq!(
        buf.text(),
        "send: \"mail FROM:<o'brien@example.com>\\r\\n\"\n\
         reply: retcode (550); Msg: b'5.1.1 <nobody@example.org>: Recipient address rejected'\n"
    );
}

#[test]
fn str_repr_quote_rules() {
    assert_eq!(repr_str("o'brien"), r#""o'brien""#);
    assert_eq!(repr_str(r#"say "hi""#), r#"'say "hi"'"#);
    // Both kinds: single quotes, the single one escaped.
    assert_eq!(repr_str(r#"it's "x""#), r#"'it\'s "x"'"#);
    assert_eq!(repr_str(""), "''");
}

#[test]
fn str_repr_escapes() {
    assert_eq!(repr_str("a\\b\tc\r\n"), r"'a\\b\tc\r\n'");
    assert_eq!(repr_str("\x00\x1b[31m\x7f"), r"'\x00\x1b[31m\x7f'");
    // Printable non-ASCII stays; C1 controls, NBSP, bidi override and unassigned do not.
    assert_eq!(repr_str("grüße 日本 é"), "'grüße 日本 é'");
    assert_eq!(repr_str("\u{85}\u{a0}"), r"'\x85\xa0'");
    assert_eq!(repr_str("\u{202e}x"), r"'\u202ex'");
    assert_eq!(repr_str("\u{e0001}"), r"'\U000e0001'");
    // A combining mark after a base letter is printable (Python: isprintable() is True).
    assert_eq!(repr_str("e\u{301}"), "'e\u{301}'");
}

#[test]
fn bytes_repr_escapes_and_quotes() {
    assert_eq!(repr_bytes(b""), "b''");
    assert_eq!(
        repr_bytes(b"\x00\x1b\x7f\x80\xff\\\t\r\n"),
        r"b'\x00\x1b\x7f\x80\xff\\\t\r\n'"
    );
    assert_eq!(repr_bytes("é".as_bytes()), r"b'\xc3\xa9'");
    assert_eq!(repr_bytes(b"o'brien"), r#"b"o'brien""#);
    assert_eq!(repr_bytes(br#"both ' and ""#), r#"b'both \' and "'"#);
    assert_eq!(repr_bytes(br#"say "x""#), r#"b'say "x"'"#);
}

#[test]
fn connect_lines() {
    let (mut t, buf) = capture(1);
    t.connect_to("::1", 25, Some("10.0.0.1:0".parse().expect("literal")));
    t.connect_to("127.0.0.1", 2525, None);
    t.connect_to(
        "2001:db8::1",
        587,
        Some("[::1]:4000".parse().expect("literal")),
    );
    t.connect_unix(Path::new("/run/dovecot/lmtp"));
    assert_eq!(
        buf.text(),
        "connect: to ('::1', 25) ('10.0.0.1', 0)\n\
         connect: to ('127.0.0.1', 2525) None\n\
         connect: to ('2001:db8::1', 587) ('::1', 4000)\n\
         connect: to '/run/dovecot/lmtp' None\n"
    );
}

#[test]
fn redacted_auth_prints_as_given() {
    let (mut t, buf) = capture(1);
    t.send("AUTH PLAIN <redacted>\r\n");
    t.send("<redacted>\r\n");
    assert_eq!(
        buf.text(),
        "send: 'AUTH PLAIN <redacted>\\r\\n'\nsend: '<redacted>\\r\\n'\n"
    );
}

#[test]
fn data_at_limit_is_shown_whole() {
    let (mut t, buf) = capture(1);
    t.data_begin();
    t.data_chunk(&[b'x'; DATA_PREVIEW_LIMIT]);
    t.data_end(DATA_PREVIEW_LIMIT as u64);
    let want = format!("send: b'{}'\n", "x".repeat(DATA_PREVIEW_LIMIT));
    assert_eq!(buf.text(), want);
}

#[test]
fn long_data_is_truncated_with_full_size() {
    let (mut t, buf) = capture(1);
    t.data_begin();
    for _ in 0..10 {
        t.data_chunk(&[b'y'; 1000]);
    }
    t.data_end(10_000);
    let want = format!(
        "send: b'{}' ... (10000 bytes in all, first 4096 shown)\n",
        "y".repeat(DATA_PREVIEW_LIMIT)
    );
    assert_eq!(buf.text(), want);
}

#[test]
fn data_begin_forgets_previous_message() {
    let (mut t, buf) = capture(1);
    t.data_begin();
    t.data_chunk(b"first");
    t.data_end(5);
    t.data_begin();
    t.data_chunk(b"second");
    t.data_end(6);
    assert_eq!(buf.text(), "send: b'first'\nsend: b'second'\n");
}

#[test]
fn note_is_sanitised() {
    let (mut t, buf) = capture(1);
    t.note("tls", "TLSv1.3, TLS13_AES_256_GCM_SHA384");
    t.note(
        "tls",
        "subject CN=evil\x1b[2J\u{202e}\r\nfake: line, O=a\\,b",
    );
    assert_eq!(
        buf.text(),
        "tls: TLSv1.3, TLS13_AES_256_GCM_SHA384\n\
         tls: subject CN=evil\\x1b[2J\\u202e\\x0d\\x0afake: line, O=a\\,b\n"
    );
}

#[test]
fn reply_line_escapes_hostile_bytes() {
    let (mut t, buf) = capture(1);
    t.reply_line(b"250 \x1b]0;pwned\x07\xfe\r\n");
    assert_eq!(buf.text(), "reply: b'250 \\x1b]0;pwned\\x07\\xfe\\r\\n'\n");
}

struct Broken;

impl Write for Broken {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::other("closed"))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Err(std::io::Error::other("closed"))
    }
}

#[test]
fn write_failures_are_ignored() {
    let mut t = Trace::to_writer(2, Box::new(Broken));
    replay_section1(&mut t);
    t.note("tls", "x");
    assert_eq!(t.level(), 2);
}
