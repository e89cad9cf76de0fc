//! Shared messages and assertions for the product tests: a complete message (so mailsend adds no header and
//! the wire bytes are predictable), CRLF conversion, MAIL/RCPT parameter parsing, and the checks of spec §7.

use crate::harness::{Run, Transcript};

/// A message with From, Date and Message-ID, so nothing is added (spec §2), with a line to dot-stuff.
pub const MSG: &[u8] = b"From: Alice <alice@example.org>\n\
To: bob@example.org\n\
Date: Mon, 01 Jan 2024 00:00:00 +0000\n\
Message-ID: <1@example.org>\n\
Subject: hi\n\
\n\
Hello\n\
.dot line\n\
last\n";

/// `MSG` as it must appear between 354 and the dot: CRLF line ends, the `.dot line` stuffed (RFC 5321 §4.5.2).
pub fn msg_on_wire() -> Vec<u8> {
    stuff(&crlf(MSG))
}

/// Replace every LF by CRLF (the input here has no CR).
pub fn crlf(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 16);
    for &b in text {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// Dot-stuff CRLF text (the sender's side of RFC 5321 §4.5.2).
pub fn stuff(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 8);
    let mut line_start = true;
    for (i, &b) in text.iter().enumerate() {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = b == b'\n' && i > 0 && text[i - 1] == b'\r';
    }
    out
}

/// The usual arguments: the envelope sender and one recipient.
pub const ALICE_TO_BOB: [&str; 3] = ["-f", "alice@example.org", "bob@example.org"];

/// The ESMTP parameters of a MAIL or RCPT command, upper-cased keywords with values as sent.
pub fn params(command: &str) -> Vec<String> {
    let after_path = command.rfind('>').map_or("", |i| &command[i + 1..]);
    after_path
        .split(' ')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => format!("{}={v}", k.to_ascii_uppercase()),
            None => p.to_ascii_uppercase(),
        })
        .collect()
}

/// The one MAIL command the server saw.
#[track_caller]
pub fn mail_command(t: &Transcript) -> String {
    let mails = t.matching("MAIL ");
    assert_eq!(mails.len(), 1, "one MAIL expected, got {:?}", t.commands);
    mails[0].to_string()
}

/// Spec §3 and catalogue E34: after a 421 the client closes without RSET or QUIT (nothing at all after it).
#[track_caller]
pub fn assert_nothing_after(t: &Transcript, prefix: &str) {
    let at = t
        .position(prefix)
        .unwrap_or_else(|| panic!("no {prefix} in {:?}", t.commands));
    assert_eq!(
        &t.commands[at + 1..],
        &[] as &[String],
        "nothing may follow the 421 to {prefix}"
    );
}

/// Case-insensitive substring check on stderr, with the whole stderr in the failure message.
#[track_caller]
pub fn assert_stderr_mentions(run: &Run, needle: &str) {
    assert!(
        run.stderr.to_lowercase().contains(&needle.to_lowercase()),
        "stderr should mention {needle:?}; stderr: {}",
        run.stderr
    );
}

/// Catalogue A/B: nothing of the message reached the server.
#[track_caller]
pub fn assert_no_message(t: &Transcript) {
    assert!(
        t.data.is_empty() && t.bdat.is_empty() && t.unterminated_data.is_none(),
        "no message data may be sent; got {:?}",
        t.received_text()
    );
}

/// Spec §6 level 0 and §7: a success prints nothing.
#[track_caller]
pub fn assert_quiet_success(run: &Run) {
    run.expect_code(0);
    assert_eq!(run.stderr, "", "level 0 prints nothing on success");
}

/// The run ended with `code`; stderr is shown when it did not.
#[track_caller]
pub fn assert_exit(out: &std::process::Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
