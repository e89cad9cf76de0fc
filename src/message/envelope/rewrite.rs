//! The header section as sent: every `Bcc` and `Resent-Bcc` field removed (RFC 5322 §3.6.3: blind
//! recipients must not be disclosed; catalogue 38), and a missing `From`, `Date` or `Message-ID`
//! (RFC 5322 §3.6.1, §3.6.2, §3.6.4) appended after the existing fields. Nothing else changes: the
//! other fields are copied byte for byte, in order. Generated values never carry CR, LF or NUL
//! (catalogue 14); a non-ASCII full name is RFC 2047 encoded.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::address::quoted_string;
use crate::lines::MAX_LINE;
use crate::message::headers::{Field, HeaderBlock, MessageError, escaped};

mod qualify;

pub use qualify::qualify_header_addresses;

/// What the rewrite adds to a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Additions {
    /// The value of the generated From field (after `From: `), when one is added.
    pub from: Option<String>,
    /// A Date field is added.
    pub date: bool,
    /// A Message-ID field is added.
    pub message_id: bool,
}

/// What the rewrite needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewrite<'a> {
    /// The envelope sender, used in a generated From (empty: the null sender, then no From is
    /// generated, as `<>` is not a valid RFC 5322 mailbox).
    pub sender: &'a str,
    /// The `-F` full name for a generated From.
    pub full_name: Option<&'a str>,
    /// The right-hand side of a generated Message-ID.
    pub domain: &'a str,
    pub add_from: bool,
    pub add_date: bool,
    pub add_message_id: bool,
}

/// RFC 2047 §2: a line holding encoded-words is at most 76 characters. 42 octets of UTF-8 give 56
/// base64 characters, a 68-character word, which fits after `From: ` or a folding space.
const WORD_OCTETS: usize = 42;
const MAX_ENCODED_LINE: usize = 76;

/// Which fields [`rewrite_header_block`] adds, and the From value, checked for CR/LF/NUL.
pub fn additions(block: &HeaderBlock, rw: &Rewrite) -> Result<Additions, MessageError> {
    let has = |name: &str| block.fields.iter().any(|f| f.is(name));
    let from = if rw.add_from && !has("From") && !rw.sender.is_empty() {
        Some(from_value(rw.sender, rw.full_name)?)
    } else {
        None
    };
    Ok(Additions {
        from,
        date: rw.add_date && !has("Date"),
        message_id: rw.add_message_id && !has("Message-ID"),
    })
}

/// The new header section to send, ending with the separator CRLF when the original had one or when
/// a body follows. Send it, then the spool from `block.body_offset`.
pub fn rewrite_header_block(block: &HeaderBlock, rw: &Rewrite) -> Result<Vec<u8>, MessageError> {
    let add = additions(block, rw)?;
    let mut out = Vec::new();
    for f in &block.fields {
        if !(f.is("Bcc") || f.is("Resent-Bcc")) {
            out.extend_from_slice(&f.raw);
        }
    }
    let mut lines = Vec::new();
    if let Some(from) = &add.from {
        lines.push(format!("From: {from}"));
    }
    if add.date {
        lines.push(format!("Date: {}", date_now()));
    }
    if add.message_id {
        lines.push(format!("Message-ID: {}", message_id(rw.domain)?));
    }
    for line in lines {
        end_line(&mut out);
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if block.has_separator || (block.unseparated_body && !out.is_empty()) {
        end_line(&mut out);
        out.extend_from_slice(b"\r\n");
    }
    Ok(out)
}

/// Issue 15: `block` with each `(name, value)` of `--header` set: the first field of that name
/// (case-insensitive) becomes `name: value`, the others of that name are removed; a name absent is
/// appended. The values were checked for CR, LF and NUL when the settings were resolved.
pub fn set_fields<'b>(block: &'b HeaderBlock, set: &[(String, String)]) -> Cow<'b, HeaderBlock> {
    if set.is_empty() {
        return Cow::Borrowed(block);
    }
    let mut edited = block.clone();
    for (name, value) in set {
        let field = Field {
            name: name.clone(),
            raw: format!("{name}: {value}\r\n").into_bytes(),
        };
        match edited.fields.iter().position(|f| f.is(name)) {
            Some(first) => {
                edited.fields[first] = field;
                let mut i = 0;
                edited.fields.retain(|f| {
                    i += 1;
                    i - 1 == first || !f.is(name)
                });
            }
            None => {
                if let Some(last) = edited.fields.last_mut() {
                    end_line(&mut last.raw);
                }
                edited.fields.push(field);
            }
        }
    }
    Cow::Owned(edited)
}

/// The last field of a message without a final newline has no line end; give it one before
/// anything follows it.
fn end_line(out: &mut Vec<u8>) {
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.extend_from_slice(b"\r\n");
    }
}

/// `sender`, or `"Full Name" <sender>` (RFC 5322 §3.4 name-addr; the name as a quoted-string, or
/// RFC 2047 encoded-words when it is not ASCII).
fn from_value(sender: &str, full_name: Option<&str>) -> Result<String, MessageError> {
    if sender.chars().any(|c| c.is_control()) {
        return Err(MessageError::BadGeneratedValue {
            what: "sender address",
            value: escaped(sender),
        });
    }
    let name = match full_name {
        Some(n) if !n.is_empty() => n,
        _ => return Ok(sender.to_string()),
    };
    if name.chars().any(|c| c.is_control()) {
        return Err(MessageError::ControlInFullName);
    }
    let addr = format!("<{sender}>");
    if name.is_ascii() {
        let value = format!("{} {addr}", quoted_string(name));
        if "From: ".len() + value.len() > MAX_LINE {
            return Err(MessageError::FullNameTooLong(name.len()));
        }
        return Ok(value);
    }
    let mut value = String::new();
    let mut line = "From: ".len();
    for (i, word) in encoded_words(name).into_iter().enumerate() {
        if i > 0 {
            value.push_str("\r\n ");
            line = 1;
        }
        line += word.len();
        value.push_str(&word);
    }
    value.push_str(if line + 1 + addr.len() > MAX_ENCODED_LINE {
        "\r\n "
    } else {
        " "
    });
    value.push_str(&addr);
    Ok(value)
}

/// RFC 2047 `B` encoded-words of at most [`WORD_OCTETS`] octets each, never splitting a character
/// (RFC 2047 §5(3)).
fn encoded_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in s.chars() {
        if chunk.len() + c.len_utf8() > WORD_OCTETS {
            words.push(format!("=?UTF-8?B?{}?=", STANDARD.encode(&chunk)));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", STANDARD.encode(&chunk)));
    }
    words
}

/// The current local time as an RFC 5322 §3.3 date-time.
fn date_now() -> String {
    let mut s = String::new();
    // Written through fmt::Write so that an absurd clock cannot panic (to_rfc2822 may).
    let _ = write!(
        s,
        "{}",
        chrono::Local::now().format("%a, %d %b %Y %H:%M:%S %z")
    );
    s
}

/// Tells apart two Message-IDs made by one process within the same microsecond.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// `<unique@domain>` (RFC 5322 §3.6.4): time, process id, a per-process counter and 64 random bits
/// (std's `RandomState` is seeded from the OS) make it unique without any file I/O.
fn message_id(domain: &str) -> Result<String, MessageError> {
    if !valid_id_right(domain) {
        return Err(MessageError::BadGeneratedValue {
            what: "domain",
            value: escaped(domain),
        });
    }
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    h.write_u64(n);
    let now = chrono::Utc::now();
    let mut id = String::new();
    let _ = write!(
        id,
        "<{}.{:06}.{}.{}.{:016x}@{domain}>",
        now.format("%Y%m%d%H%M%S"),
        now.timestamp_subsec_micros(),
        std::process::id(),
        n,
        h.finish()
    );
    Ok(id)
}

/// id-right (RFC 5322 §3.6.4): a dot-atom-text or a `[...]` literal, nothing that could break the
/// field.
fn valid_id_right(d: &str) -> bool {
    let bad = |c: char| c.is_control() || c.is_whitespace() || "<>\"\\".contains(c);
    if let Some(inner) = d.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return !inner.is_empty() && !inner.contains(['[', ']']) && !inner.chars().any(bad);
    }
    !d.is_empty()
        && d.split('.')
            .all(|p| !p.is_empty() && !p.chars().any(|c| bad(c) || "()<>@,;:[]".contains(c)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::headers::scan;

    const RW: Rewrite = Rewrite {
        sender: "me@example.org",
        full_name: None,
        domain: "example.org",
        add_from: true,
        add_date: true,
        add_message_id: true,
    };

    const KEEP: Rewrite = Rewrite {
        sender: "me@example.org",
        full_name: None,
        domain: "example.org",
        add_from: false,
        add_date: false,
        add_message_id: false,
    };

    fn rewrite(msg: &[u8], rw: &Rewrite) -> String {
        let b = scan(msg).expect("scan");
        let out = rewrite_header_block(&b, rw).expect("rewrite");
        String::from_utf8(out).expect("utf-8")
    }

    fn count(h: &str, name: &str) -> usize {
        h.split("\r\n")
            .filter(|l| {
                l.get(..name.len() + 1)
                    .is_some_and(|p| p.eq_ignore_ascii_case(&format!("{name}:")))
            })
            .count()
    }

    #[test]
    fn bcc_removed_in_every_form() {
        // (input, header section sent)
        let cases: &[(&str, &str)] = &[
            ("To: a@x\r\nBcc: b@x\r\n\r\nbody\r\n", "To: a@x\r\n\r\n"),
            ("BCC: b@x\r\nTo: a@x\r\n\r\n", "To: a@x\r\n\r\n"),
            ("bcc: b@x\r\nTo: a@x\r\n\r\n", "To: a@x\r\n\r\n"),
            (
                "To: a@x\r\nBcc: b@x,\r\n c@x,\r\n\td@x\r\nSubject: s\r\n\r\n",
                "To: a@x\r\nSubject: s\r\n\r\n",
            ),
            ("Bcc: b@x\r\nTo: a@x\r\nBcc: c@x\r\n\r\n", "To: a@x\r\n\r\n"),
            ("To: a@x\r\nBcc:\r\n\r\n", "To: a@x\r\n\r\n"),
            ("To: a@x\r\nBcc : b@x\r\n\r\n", "To: a@x\r\n\r\n"),
            (
                "Resent-To: r@x\r\nResent-Bcc: rb@x\r\nTo: a@x\r\nBcc: b@x\r\n\r\n",
                "Resent-To: r@x\r\nTo: a@x\r\n\r\n",
            ),
            ("To: a@x\r\nBcc: b@x\r\n", "To: a@x\r\n"),
            ("To: a@x\r\nBcc: b@x", "To: a@x\r\n"),
            ("Bcc: b@x\r\n\r\n", "\r\n"),
            (
                "X-Bcc: kept\r\nBccx: kept\r\n\r\n",
                "X-Bcc: kept\r\nBccx: kept\r\n\r\n",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(rewrite(input.as_bytes(), &KEEP), *want, "input {input:?}");
        }
    }

    #[test]
    fn bcc_in_the_body_stays() {
        let msg = b"To: a@x\r\n\r\nBcc: body@x\r\n";
        let b = scan(msg).expect("scan");
        assert_eq!(rewrite(msg, &KEEP), "To: a@x\r\n\r\n");
        assert_eq!(&msg[b.body_offset as usize..], b"Bcc: body@x\r\n");
    }

    #[test]
    fn other_fields_stay_byte_identical() {
        let msg = "Received: from x\r\n\tby y; Mon, 1 Jan 2024 00:00:00 +0000\r\n\
                   From: A <a@x>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <1@x>\r\n\
                   Subject:  =?UTF-8?Q?caf=C3=A9?=   \r\nX-8bit: caf\u{e9}\r\nsubject: twice\r\n\r\nbody";
        assert_eq!(
            rewrite(msg.as_bytes(), &RW),
            &msg[..msg.find("\r\n\r\n").expect("separator") + 4]
        );
    }

    #[test]
    fn missing_fields_added_once_after_existing_ones() {
        let h = rewrite(b"Subject: s\r\n\r\nbody\r\n", &RW);
        assert!(
            h.starts_with("Subject: s\r\nFrom: me@example.org\r\nDate: "),
            "{h}"
        );
        assert!(h.ends_with(">\r\n\r\n"), "{h}");
        for name in ["From", "Date", "Message-ID", "Subject"] {
            assert_eq!(count(&h, name), 1, "{name} in {h}");
        }
        let date = h
            .split("\r\n")
            .find_map(|l| l.strip_prefix("Date: "))
            .expect("Date");
        assert!(chrono::DateTime::parse_from_rfc2822(date).is_ok(), "{date}");
        let id = h
            .split("\r\n")
            .find_map(|l| l.strip_prefix("Message-ID: "))
            .expect("Message-ID");
        assert!(id.starts_with('<') && id.ends_with("@example.org>"), "{id}");
        // Present in any case: not added.
        let h = rewrite(
            b"from: x@y\r\nDATE: whenever\r\nmessage-id: <a@b>\r\n\r\n",
            &RW,
        );
        assert_eq!(
            h,
            "from: x@y\r\nDATE: whenever\r\nmessage-id: <a@b>\r\n\r\n"
        );
        // Switched off: not added.
        assert_eq!(rewrite(b"Subject: s\r\n\r\n", &KEEP), "Subject: s\r\n\r\n");
    }

    #[test]
    fn message_ids_are_unique() {
        let ids: std::collections::HashSet<String> = (0..1000)
            .map(|_| message_id("x.example").expect("id"))
            .collect();
        assert_eq!(ids.len(), 1000);
    }

    #[test]
    fn structure_without_separator_or_final_newline() {
        // No final newline: the last field gets one before the added fields.
        let h = rewrite(b"Subject: s", &KEEP);
        assert_eq!(h, "Subject: s");
        let add_date = Rewrite {
            add_date: true,
            ..KEEP
        };
        let h = rewrite(b"Subject: s", &add_date);
        assert!(
            h.starts_with("Subject: s\r\nDate: ") && h.ends_with("\r\n"),
            "{h}"
        );
        assert!(!h.ends_with("\r\n\r\n"), "no body, no separator: {h}");
        // A body line right after the fields: a separator is inserted.
        assert_eq!(
            rewrite(b"Subject: s\r\nhello\r\n", &KEEP),
            "Subject: s\r\n\r\n"
        );
        // No header at all: the added fields, then the separator before the text.
        let h = rewrite(b"hello world\r\n", &RW);
        assert!(
            h.starts_with("From: me@example.org\r\n") && h.ends_with("\r\n\r\n"),
            "{h}"
        );
        // No header, nothing added: the message is left exactly as it was.
        assert_eq!(rewrite(b"hello world\r\n", &KEEP), "");
        assert_eq!(rewrite(b"", &KEEP), "");
        assert_eq!(rewrite(b"\r\nbody", &KEEP), "\r\n");
    }

    #[test]
    fn generated_from() {
        let cases: &[(Option<&str>, &str)] = &[
            (None, "me@example.org"),
            (Some(""), "me@example.org"),
            (Some("Test User"), "\"Test User\" <me@example.org>"),
            (Some("CronDaemon"), "\"CronDaemon\" <me@example.org>"),
            (Some("(Cron Daemon)"), "\"(Cron Daemon)\" <me@example.org>"),
            (
                Some("a \"b\" \\c"),
                "\"a \\\"b\\\" \\\\c\" <me@example.org>",
            ),
            (
                Some("Test Üser"),
                "=?UTF-8?B?VGVzdCDDnHNlcg==?= <me@example.org>",
            ),
        ];
        for &(name, want) in cases {
            assert_eq!(
                from_value("me@example.org", name).expect("from"),
                want,
                "{name:?}"
            );
        }
    }

    #[test]
    fn long_non_ascii_name_is_folded_into_short_words() {
        let name = "Jőhn Ünicode ".repeat(12);
        let v = from_value("me@example.org", Some(&name)).expect("from");
        let field = format!("From: {v}");
        for line in field.split("\r\n") {
            assert!(line.len() <= MAX_ENCODED_LINE, "{line:?}");
        }
        let decoded: String = field
            .split(['\r', '\n', ' '])
            .filter_map(|w| w.strip_prefix("=?UTF-8?B?")?.strip_suffix("?="))
            .map(|b| String::from_utf8(STANDARD.decode(b).expect("b64")).expect("utf-8"))
            .collect();
        assert_eq!(decoded, name);
        assert!(field.ends_with("<me@example.org>"));
    }

    /// Catalogue 14: `-F $'Evil\r\nX-Injected: yes'` must not make a header.
    #[test]
    fn control_characters_in_generated_values_are_refused() {
        let b = scan(b"Subject: s\r\n\r\n").expect("scan");
        for name in [
            "Evil\r\nX-Injected: yes",
            "a\nb",
            "a\rb",
            "a\0b",
            "\u{1b}[31m",
        ] {
            let rw = Rewrite {
                full_name: Some(name),
                ..RW
            };
            assert_eq!(
                rewrite_header_block(&b, &rw),
                Err(MessageError::ControlInFullName)
            );
        }
        let rw = Rewrite {
            sender: "a@x\r\nX-Injected: yes",
            ..RW
        };
        assert!(matches!(
            rewrite_header_block(&b, &rw),
            Err(MessageError::BadGeneratedValue {
                what: "sender address",
                ..
            })
        ));
        for domain in ["x\r\nX-Injected: yes", "x\0", "", "a b", "a>b", "[x"] {
            let rw = Rewrite { domain, ..RW };
            assert!(
                matches!(
                    rewrite_header_block(&b, &rw),
                    Err(MessageError::BadGeneratedValue { what: "domain", .. })
                ),
                "{domain:?}"
            );
        }
        assert!(valid_id_right("[192.0.2.1]") && valid_id_right("host.example"));
        // Not generated, so not checked: a From already present.
        let b = scan(b"From: a@x\r\n\r\n").expect("scan");
        let rw = Rewrite {
            full_name: Some("a\nb"),
            ..RW
        };
        assert!(rewrite_header_block(&b, &rw).is_ok());
    }

    #[test]
    fn overlong_ascii_name_is_refused() {
        let name = "n".repeat(1000);
        assert!(matches!(
            from_value("me@example.org", Some(&name)),
            Err(MessageError::FullNameTooLong(1000))
        ));
    }

    #[test]
    fn null_sender_generates_no_from() {
        let rw = Rewrite { sender: "", ..RW };
        let h = rewrite(b"Subject: s\r\n\r\n", &rw);
        assert_eq!(count(&h, "From"), 0, "{h}");
        let b = scan(b"Subject: s\r\n\r\n").expect("scan");
        assert_eq!(additions(&b, &rw).expect("additions").from, None);
    }
}
