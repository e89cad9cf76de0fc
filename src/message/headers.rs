//! The header block: splits the start of the spooled message into header fields (RFC 5322 §2.2, §3.6)
//! and the body (§2.1), keeping every field's bytes exactly as read so that the fields the rewrite
//! does not touch go out byte-identical. Also owns [`MessageError`], the errors of the whole
//! `message` module (their exit statuses are decided by `exit::classify`).
//!
//! A field starts with `name:` where the name is printable ASCII except `:` (RFC 5322 §2.2); white
//! space before the colon is accepted as the obsolete form (§4.5) so that `Bcc : x` is still seen
//! as a Bcc field and removed. Continuation lines start with SP or HTAB (§2.2.3). The header section
//! ends at the first empty line, or at the first line that is neither (then there is no separator
//! and the body starts at that line). NUL and bare CR inside a field are refused (catalogue 40).
//!
//! Issue 10, point 3: a leading UTF-8 byte order mark and a leading mbox `From sender date` line
//! (which Postfix and Exim drop too) are not part of the message and are skipped, so the fields
//! after them are seen as the header section. And a header section is never sent as body text: when
//! the scan stops at a line that is not a field and a To, Cc or Bcc field (or a Resent- form) still
//! follows before the first empty line, the message is refused rather than sent with that Bcc in the
//! body for everyone to read (or, with `-t`, without those recipients).

use std::fmt::Write as _;

/// A header section larger than this (1 MiB, the fields without the separator line) is refused with
/// exit 65: no real message needs it, and it bounds the memory the header scan may take.
pub const MAX_HEADER_BLOCK: usize = 1 << 20;

/// How many bytes of the spool to hand to [`scan`]: enough to see a header section of exactly
/// [`MAX_HEADER_BLOCK`] octets followed by its CRLF separator, so anything larger is detected.
pub const HEAD_SCAN_LEN: usize = MAX_HEADER_BLOCK + 2;

/// Unusable message input, or an envelope that cannot be made from it and the arguments. Texts that
/// quote input escape control characters so they cannot forge lines on the terminal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("header section larger than {MAX_HEADER_BLOCK} octets (1 MiB): message refused")]
    HeaderTooLarge,
    #[error("NUL byte in the {field} header field: message refused")]
    NulInHeader { field: String },
    #[error("bare CR in the {field} header field: message refused")]
    BareCrInHeader { field: String },
    #[error("address \"{0}\" contains a CR, LF or NUL character")]
    ControlInAddress(String),
    #[error("bad address syntax in \"{input}\": {reason}")]
    AddressSyntax { input: String, reason: &'static str },
    #[error("local part of \"{0}\" is longer than 64 octets (RFC 5321 4.5.3.1.1)")]
    LocalPartTooLong(String),
    #[error("domain of \"{0}\" is longer than 255 octets (RFC 5321 4.5.3.1.2)")]
    DomainTooLong(String),
    #[error("address \"{0}\" is longer than 254 octets (RFC 5321 4.5.3.1.3)")]
    AddressTooLong(String),
    #[error(
        "line {line} of the message is not a header field, yet a {field} field follows it before the \
         empty line that ends the header section: it would be sent as body text for every recipient to \
         read; message refused (separate the header from the body with an empty line)"
    )]
    NotAField { line: u64, field: String },
    #[error("in the {field} header field: {source}")]
    InHeader {
        field: String,
        source: Box<MessageError>,
    },
    #[error("full name (-F) contains a CR, LF, NUL or other control character")]
    ControlInFullName,
    #[error("full name (-F) is too long for a From header line ({0} octets)")]
    FullNameTooLong(usize),
    #[error("{what} for a generated header field is unusable: \"{value}\"")]
    BadGeneratedValue { what: &'static str, value: String },
    /// A CR alone anywhere in the header section (also outside a field the scan looked at).
    #[error(
        "the header section holds a bare CR (a carriage return without a line feed); it could split a \
         field and change the recipients, so nothing was sent"
    )]
    BareCrInHeaderSection,
    /// `-f` (or `from`) names no address or more than one; the value as given.
    #[error("the envelope sender {0:?} must be exactly one address")]
    SenderNotOne(String),
    /// No address anywhere; `read_recipients`: -t was given (issue 10, point 12: then it is not
    /// suggested).
    #[error("{}", no_recipients(*read_recipients))]
    NoRecipients { read_recipients: bool },
}

fn no_recipients(read_recipients: bool) -> &'static str {
    match read_recipients {
        true => {
            "no recipients: -t found no address in the To, Cc and Bcc header fields (or in the topmost \
             Resent- block), and none was given as an argument"
        }
        false => {
            "no recipients: give the addresses as arguments, or use -t to read them from the To, Cc and \
             Bcc headers"
        }
    }
}

impl MessageError {
    /// Wraps an error with the header field it came from.
    pub(crate) fn in_field(self, field: &str) -> MessageError {
        MessageError::InHeader {
            field: field.to_string(),
            source: Box::new(self),
        }
    }
}

/// Quotes input for an error message: control characters and quotes escaped, long input cut.
pub(crate) fn escaped(s: &str) -> String {
    const MAX: usize = 200;
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == MAX {
            out.push_str("...");
            break;
        }
        let _ = write!(out, "{}", c.escape_debug());
    }
    out
}

/// One header field, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field name as written (without the colon or any white space before it).
    pub name: String,
    /// The whole field: name, colon, value, folded continuation lines and the final line end (the
    /// last field of a message without a final newline has none).
    pub raw: Vec<u8>,
}

impl Field {
    /// The value after `Name:`, still folded, without the final line end.
    pub fn value(&self) -> &[u8] {
        let start = self
            .raw
            .iter()
            .position(|&b| b == b':')
            .map_or(self.raw.len(), |i| i + 1);
        let v = &self.raw[start..];
        let v = v.strip_suffix(b"\n").unwrap_or(v);
        v.strip_suffix(b"\r").unwrap_or(v)
    }

    /// The value unfolded (RFC 5322 §2.2.3: a line end followed by white space is removed, the white
    /// space stays).
    pub fn unfolded(&self) -> Vec<u8> {
        let v = self.value();
        let mut out = Vec::with_capacity(v.len());
        let mut i = 0;
        while i < v.len() {
            match (v[i], v.get(i + 1)) {
                (b'\r', Some(b'\n')) => i += 2,
                (b'\n', _) => i += 1,
                (b, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        out
    }

    /// Whether this field has the given name (field names are case-insensitive, RFC 5322 §1.2.2).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// The header section of a message and where its body starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeaderBlock {
    pub fields: Vec<Field>,
    /// Offset in the spool of the first body byte (after the separator line when there is one).
    pub body_offset: u64,
    /// The header section ended with an empty line.
    pub has_separator: bool,
    /// The header section ended at a line that is not a header field, so message text follows
    /// without the empty line RFC 5322 §2.1 requires (the rewrite inserts one).
    pub unseparated_body: bool,
}

impl HeaderBlock {
    /// Issue 15: no empty line ended the "header section" and none of its fields is To, From or
    /// Subject, so the input is almost certainly a body typed without headers (`echo "Warning: disk
    /// full" | mailsend admin`), its first lines taken as header fields.
    pub fn looks_like_a_bare_body(&self) -> bool {
        !self.has_separator
            && !self.fields.is_empty()
            && !self
                .fields
                .iter()
                .any(|f| f.is("To") || f.is("From") || f.is("Subject"))
    }
}

/// The UTF-8 byte order mark some editors put at the start of a file (RFC 3629 §6).
pub const BOM: &[u8] = b"\xef\xbb\xbf";

/// Header fields whose text in the body would disclose blind recipients or lose `-t` recipients.
const RECIPIENT_FIELDS: &[&str] = &["To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"];

/// Splits `head`, the start of the normalised message, into header fields and the body offset.
/// `head` is either the whole message or at least [`HEAD_SCAN_LEN`] bytes of it. A leading BOM and a
/// leading mbox `From ` line are skipped: they are sent neither as a field nor as body text.
pub fn scan(head: &[u8]) -> Result<HeaderBlock, MessageError> {
    let mut block = HeaderBlock::default();
    let mut pos = if head.starts_with(BOM) { BOM.len() } else { 0 };
    let first_end = head[pos..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(head.len(), |i| pos + i + 1);
    // `From sender date` is the mbox separator, not a field (no colon after the name); `From :` with
    // white space before the colon is the obsolete field form and stays a field.
    if head[pos..].starts_with(b"From ") && field_name(&head[pos..first_end]).is_none() {
        pos = first_end;
    }
    while pos < head.len() {
        let next = head[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(head.len(), |i| pos + i + 1);
        let line = &head[pos..next];
        if line == b"\r\n" || line == b"\n" || line == b"\r" {
            block.has_separator = true;
            pos = next;
            break;
        }
        let continuation = matches!(line[0], b' ' | b'\t');
        if let (true, Some(last)) = (continuation, block.fields.last_mut()) {
            last.raw.extend_from_slice(line);
        } else if let Some(name) = field_name(line) {
            block.fields.push(Field {
                name,
                raw: line.to_vec(),
            });
        } else {
            block.unseparated_body = true;
            refuse_fields_after(head, pos)?;
            break;
        }
        if next > MAX_HEADER_BLOCK {
            return Err(MessageError::HeaderTooLarge);
        }
        pos = next;
    }
    for f in &block.fields {
        check_field(f)?;
    }
    block.body_offset = pos as u64;
    Ok(block)
}

/// The scan stopped at `stop`, a line that is not a field: refuses the message when a recipient
/// field follows before the first empty line (see the module documentation).
fn refuse_fields_after(head: &[u8], stop: usize) -> Result<(), MessageError> {
    let rest = &head[stop..];
    let lines = rest
        .split_inclusive(|&b| b == b'\n')
        .skip(1)
        .take_while(|l| !matches!(*l, b"\r\n" | b"\n" | b"\r"));
    for line in lines {
        if let Some(name) = field_name(line)
            && RECIPIENT_FIELDS
                .iter()
                .any(|n| name.eq_ignore_ascii_case(n))
        {
            let line = head[..stop].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
            return Err(MessageError::NotAField {
                line,
                field: escaped(&name),
            });
        }
    }
    Ok(())
}

/// The name of the field this line starts, if it starts one: `name *WSP ":"`.
fn field_name(line: &[u8]) -> Option<String> {
    let end = line
        .iter()
        .position(|&b| !(33..=126).contains(&b) || b == b':')?;
    if end == 0 {
        return None;
    }
    let rest = &line[end..];
    let colon = rest.iter().position(|&b| b != b' ' && b != b'\t')?;
    (rest[colon] == b':').then(|| String::from_utf8_lossy(&line[..end]).into_owned())
}

/// Catalogue 40: a NUL or a CR that does not end a line could make a server or a later relay see
/// a different header than we did; refuse rather than guess.
fn check_field(f: &Field) -> Result<(), MessageError> {
    let raw = &f.raw;
    if raw.contains(&0) {
        return Err(MessageError::NulInHeader {
            field: escaped(&f.name),
        });
    }
    let bare_cr = raw
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\r' && raw.get(i + 1) != Some(&b'\n'));
    if bare_cr {
        return Err(MessageError::BareCrInHeader {
            field: escaped(&f.name),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_body_is_told_from_a_headed_message() {
        let bare = |m: &[u8]| scan(m).unwrap().looks_like_a_bare_body();
        assert!(bare(b"Warning: disk 95% full\n"));
        assert!(bare(b"Warning: disk full\nnot a field line\n"));
        assert!(!bare(b"Subject: disk full\n"));
        assert!(!bare(b"Warning: x\n\nbody\n"));
        assert!(!bare(b"just text, no colon\n"));
    }

    fn names(b: &HeaderBlock) -> Vec<&str> {
        b.fields.iter().map(|f| f.name.as_str()).collect()
    }

    #[test]
    fn splits_fields_and_body() {
        let msg = b"From: a@x\r\nTo: b@x,\r\n c@x\r\nSubject: hi\r\n\r\nBcc: body@x\r\n";
        let b = scan(msg).expect("scan");
        assert_eq!(names(&b), ["From", "To", "Subject"]);
        assert_eq!(b.fields[1].raw, b"To: b@x,\r\n c@x\r\n");
        assert_eq!(b.fields[1].value(), b" b@x,\r\n c@x");
        assert_eq!(b.fields[1].unfolded(), b" b@x, c@x");
        assert!(b.has_separator && !b.unseparated_body);
        assert_eq!(&msg[b.body_offset as usize..], b"Bcc: body@x\r\n");
        let joined: Vec<u8> = b.fields.iter().flat_map(|f| f.raw.clone()).collect();
        assert_eq!(joined, &msg[..b.body_offset as usize - 2]);
    }

    #[test]
    fn structure_edge_cases() {
        /// (input, field names, body offset, has_separator, unseparated_body)
        type Case<'a> = (&'a [u8], &'a [&'a str], u64, bool, bool);
        let cases: &[Case] = &[
            (b"", &[], 0, false, false),
            (b"\r\n", &[], 2, true, false),
            (b"\r\nbody\r\n", &[], 2, true, false),
            (b"Subject: x\r\n", &["Subject"], 12, false, false),
            (b"Subject: x", &["Subject"], 10, false, false),
            (b"Subject: x\r\n\r\n", &["Subject"], 14, true, false),
            (
                b"Subject: x\r\nnot a field\r\n",
                &["Subject"],
                12,
                false,
                true,
            ),
            (b"hello world\r\n", &[], 0, false, true),
            (b" leading continuation\r\n", &[], 0, false, true),
            (
                b"From sender Mon Jan 1\r\nTo: x\r\n",
                &["To"],
                30,
                false,
                false,
            ),
            (b"\xef\xbb\xbfTo: x\r\n\r\nb", &["To"], 12, true, false),
            (b"\xef\xbb\xbfhello\r\n", &[], 3, false, true),
            (b"From : obsolete@form\r\n\r\n", &["From"], 24, true, false),
            (b"From x\r\nFrom y\r\n", &[], 8, false, true),
            (b"Bcc : x@y\r\nTo:\r\n\r\n", &["Bcc", "To"], 18, true, false),
            (
                b"X-Empty:\r\n\tfolded\r\n\r\n",
                &["X-Empty"],
                21,
                true,
                false,
            ),
            (b"A: 1\nB: 2\n\nbody", &["A", "B"], 11, true, false),
            (b":no name\r\n", &[], 0, false, true),
        ];
        for &(input, want, off, sep, unsep) in cases {
            let b = scan(input).expect("scan");
            assert_eq!(names(&b), want, "input {input:?}");
            assert_eq!(b.body_offset, off, "input {input:?}");
            assert_eq!(b.has_separator, sep, "input {input:?}");
            assert_eq!(b.unseparated_body, unsep, "input {input:?}");
        }
    }

    /// Issue 10, point 3: an mbox `From ` line or a BOM at the start does not turn the header into
    /// body text, and neither does any other line that stops the scan while a Bcc follows.
    #[test]
    fn mbox_from_line_and_bom_do_not_make_the_header_body_text() {
        for msg in [
            &b"From alice@example.org Mon Jan  1 00:00:00 2024\r\nTo: a@x\r\nBcc: secret@x\r\n\r\nbody\r\n"[..],
            b"\xef\xbb\xbfTo: a@x\r\nBcc: secret@x\r\n\r\nbody\r\n",
            b"\xef\xbb\xbfFrom alice Mon Jan  1 00:00:00 2024\r\nTo: a@x\r\nBcc: secret@x\r\n\r\nbody\r\n",
        ] {
            let b = scan(msg).expect("scan");
            assert_eq!(names(&b), ["To", "Bcc"], "input {msg:?}");
            assert!(b.has_separator);
            assert_eq!(&msg[b.body_offset as usize..], b"body\r\n");
        }
        // (input, line named, field named)
        let refused: &[(&[u8], u64, &str)] = &[
            (b"not a header\r\nBcc: secret@x\r\n\r\nbody\r\n", 1, "Bcc"),
            (
                b"To: a@x\r\nX-F\xc3\xb6o: 8-bit name\r\nbcc: s@x\r\n\r\n",
                2,
                "bcc",
            ),
            (b" continuation first\r\nTo: a@x\r\n", 1, "To"),
            (b"From x\r\nFrom y\r\nCc: c@x\r\n", 2, "Cc"),
            (
                b"Subject: s\r\nno colon\r\nX: y\r\nResent-Bcc: r@x\r\n",
                2,
                "Resent-Bcc",
            ),
        ];
        for &(msg, line, field) in refused {
            assert_eq!(
                scan(msg),
                Err(MessageError::NotAField {
                    line,
                    field: field.into()
                }),
                "input {msg:?}"
            );
        }
        // Plain text without any header, or fields only after the empty line: body text, as before.
        for msg in [
            &b"Backup done\r\nStatus: ok\r\n"[..],
            b"Hello\r\n\r\nBcc: quoted in the body\r\n",
            b"Subject: s\r\ntext\r\n\r\nTo: later@x\r\n",
        ] {
            assert!(scan(msg).expect("scan").unseparated_body, "input {msg:?}");
        }
    }

    #[test]
    fn utf8_value_is_kept() {
        let b = scan("Subject: caf\u{e9}\r\n\r\n".as_bytes()).expect("scan");
        assert_eq!(b.fields[0].value(), " caf\u{e9}".as_bytes());
        assert!(b.fields[0].is("subject"));
    }

    #[test]
    fn nul_and_bare_cr_in_a_field_are_refused() {
        assert_eq!(
            scan(b"To: a@x\0b@y\r\n\r\n"),
            Err(MessageError::NulInHeader { field: "To".into() })
        );
        assert_eq!(
            scan(b"To: b@example.org\rRCPT TO:<z@evil>\r\n\r\n"),
            Err(MessageError::BareCrInHeader { field: "To".into() })
        );
        // A NUL in the body is not the header scan's business.
        assert!(scan(b"To: a@x\r\n\r\nbody\0\r\n").is_ok());
    }

    #[test]
    fn oversized_header_section_is_refused() {
        let mut msg = b"X-Big: ".to_vec();
        while msg.len() < MAX_HEADER_BLOCK + 10 {
            msg.extend_from_slice(b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n ");
        }
        msg.truncate(HEAD_SCAN_LEN);
        let err = scan(&msg).expect_err("too large");
        assert_eq!(err, MessageError::HeaderTooLarge);
        assert!(err.to_string().contains("1048576"));
        assert_eq!(crate::exit::classify(&err.into()), crate::exit::DATAERR);
        // Exactly at the limit, followed by the separator: accepted.
        let mut ok = b"X-Big: ".to_vec();
        ok.resize(MAX_HEADER_BLOCK - 2, b'a');
        ok.extend_from_slice(b"\r\n\r\nbody");
        let b = scan(&ok[..HEAD_SCAN_LEN]).expect("at the limit");
        assert!(b.has_separator);
        assert_eq!(b.body_offset, HEAD_SCAN_LEN as u64);
    }

    #[test]
    fn error_texts_escape_input() {
        let e = MessageError::ControlInAddress(escaped("a\r\nRCPT TO:<x>"));
        assert_eq!(
            e.to_string(),
            "address \"a\\r\\nRCPT TO:<x>\" contains a CR, LF or NUL character"
        );
    }
}
