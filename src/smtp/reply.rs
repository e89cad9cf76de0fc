//! SMTP replies: a bounded, incremental parser over bytes, with no I/O (RFC 5321 §4.2, §4.2.1, §4.5.3.1.5).
//!
//! The session appends what it reads to a buffer and calls [`parse`] until it gets a complete reply;
//! bytes after that reply stay in the buffer for the next one (pipelining, RFC 2920). Line handling
//! follows smtplib's `getreply` (lines end at LF, the text is what follows the fourth byte stripped of
//! spaces, tabs and line ends, a line may hold 8192 bytes) but is stricter about syntax: the code must be
//! three digits 2..5 followed by a space, a hyphen or the line end, and every line of one reply must carry
//! the same code (security catalogue items 26–29). The number of lines is capped, so an endless `250-`
//! stream ends in an error instead of exhausting memory.

use std::fmt;

/// The longest reply line, line end included (smtplib's limit; RFC 5321 §4.5.3.1.5 only requires 512).
pub const MAX_LINE: usize = 8192;
/// The most lines one reply may have (catalogue item 27: endless continuation lines).
pub const MAX_LINES: usize = 100;

/// A reply code (RFC 5321 §4.2): three digits, the first giving the class. The session asks these
/// questions, never compares numbers (lettre's `Code`); the named codes are the ones the engine treats
/// specially.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Code(u16);

impl Code {
    /// 220: the greeting, and the go-ahead for the TLS handshake after STARTTLS (RFC 3207 §4).
    pub const READY: Code = Code(220);
    /// 221: the server closes the channel; the answer to QUIT and to nothing else (RFC 5321 §4.2.2).
    pub const CLOSING: Code = Code(221);
    /// 235: authentication succeeded (RFC 4954 §6).
    pub const AUTHENTICATED: Code = Code(235);
    /// 250: requested action completed.
    pub const OK: Code = Code(250);
    /// 334: a SASL challenge; the next line is a response that carries credentials (RFC 4954 §4).
    pub const AUTH_CHALLENGE: Code = Code(334);
    /// 354: start the mail input, end it with CRLF.CRLF (RFC 5321 §4.1.1.4).
    pub const START_INPUT: Code = Code(354);
    /// 421: the service is not available and the server is closing: no RSET, no QUIT (RFC 5321 §3.8).
    pub const UNAVAILABLE: Code = Code(421);

    pub const fn new(code: u16) -> Code {
        Code(code)
    }

    pub const fn get(self) -> u16 {
        self.0
    }

    /// The first digit. A parsed code is at most 599; a synthetic one above 25599 would not fit, so
    /// saturate.
    pub fn class(self) -> u8 {
        u8::try_from(self.0 / 100).unwrap_or(u8::MAX)
    }

    /// 2yz: the command succeeded; any 2yz, not only the usual one (RFC 5321 §4.2.1; issue 10, point 8).
    pub fn is_positive_completion(self) -> bool {
        self.class() == 2
    }

    /// 4yz: refused for now; worth retrying.
    pub fn is_transient(self) -> bool {
        self.class() == 4
    }

    /// 5yz: refused for good.
    pub fn is_permanent(self) -> bool {
        self.class() == 5
    }
}

impl From<u16> for Code {
    fn from(code: u16) -> Code {
        Code(code)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One complete reply: its code and the text of each line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: Code,
    /// The text of each line: the bytes after the fourth, stripped of `b" \t\r\n"` at both ends.
    pub lines: Vec<Vec<u8>>,
}

impl Reply {
    /// A one-line reply, for tests and for replies the engine makes up itself.
    pub fn new(code: u16, text: &str) -> Reply {
        Reply {
            code: Code(code),
            lines: vec![text.as_bytes().to_vec()],
        }
    }

    /// The lines joined with `\n`, which is smtplib's `msg`.
    pub fn message(&self) -> Vec<u8> {
        self.lines.join(&b'\n')
    }

    /// The first digit of the code.
    pub fn class(&self) -> u8 {
        self.code.class()
    }

    pub fn is_positive(&self) -> bool {
        self.code.is_positive_completion()
    }

    pub fn is_transient(&self) -> bool {
        self.code.is_transient()
    }

    pub fn is_permanent(&self) -> bool {
        self.code.is_permanent()
    }
}

/// `CODE text`, the lines joined by single spaces and made safe for a terminal (catalogue item 29).
/// Empty lines are skipped so `250-` / `250 x` shows as `250 x`.
impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        for line in self.lines.iter().filter(|l| !l.is_empty()) {
            write!(f, " {}", printable(line))?;
        }
        Ok(())
    }
}

/// Bytes a server sent, made safe to print: invalid UTF-8 becomes U+FFFD, and control characters
/// (C0, DEL, C1) and bidirectional overrides become visible escapes such as `\x1b` or `\u{202e}`, so a
/// hostile server can neither drive the user's terminal nor reorder what it shows (catalogue item 29).
pub fn printable(text: &[u8]) -> String {
    let lossy = String::from_utf8_lossy(text);
    let mut out = String::with_capacity(lossy.len());
    for c in lossy.chars() {
        let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_ascii_control() {
            out.push_str(&format!("\\x{:02x}", u32::from(c)));
        } else if c.is_control() || bidi {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Why bytes from the server are not a reply. Each of these is a protocol error (exit 76).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("the server sent a reply line longer than {MAX_LINE} bytes")]
    LineTooLong,
    #[error("the server sent a reply of more than {MAX_LINES} lines")]
    TooManyLines,
    #[error("the server sent a malformed reply line: \"{}\"", shorten(.line))]
    MalformedCode { line: Vec<u8> },
    #[error("the server sent a multi-line reply whose codes differ ({first}, then {then})")]
    MixedCodes { first: u16, then: u16 },
}

/// The start of an offending line, printable, for an error message of reasonable length.
fn shorten(line: &[u8]) -> String {
    const SHOWN: usize = 80;
    match line.get(..SHOWN) {
        Some(head) if line.len() > SHOWN => format!("{}...", printable(head)),
        _ => printable(line),
    }
}

/// What [`parse`] found at the start of the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// No complete reply yet; read more and call again with the whole buffer.
    Incomplete,
    /// A reply, the lines it came from (with their line ends, for the trace), and how many bytes of the
    /// buffer it took; the rest belongs to the next reply.
    Complete {
        reply: Reply,
        raw_lines: Vec<&'a [u8]>,
        consumed: usize,
    },
}

/// Parses the reply at the start of `buf`. Cheap to call again after each read: it rescans from the
/// start, but never looks further than one over-long line past the last complete one. Errors are found
/// as early as the bytes allow (a bad code, a code differing from the first, a line already too long),
/// so a hostile server cannot make the client wait for a line end that cannot help.
pub fn parse(buf: &[u8]) -> Result<Parsed<'_>, ReplyError> {
    parse_lines(buf, false)
}

/// Like [`parse`], for when the server has closed the connection: a last line without its LF counts as
/// complete, as smtplib parses `250 OK` followed by end of file as `(250, b'OK')`. `Incomplete` then
/// means the buffer holds no complete reply (it is empty or ends with a continuation line).
pub fn parse_at_eof(buf: &[u8]) -> Result<Parsed<'_>, ReplyError> {
    parse_lines(buf, true)
}

/// Whether a line continues the reply: the fourth byte is `-` (RFC 5321 §4.2.1).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Continues {
    Yes,
    No,
}

fn parse_lines(buf: &[u8], eof: bool) -> Result<Parsed<'_>, ReplyError> {
    let mut start = 0;
    let mut first_code = None;
    let mut raw_lines: Vec<&[u8]> = Vec::new();
    loop {
        let rest = buf.get(start..).unwrap_or_default();
        // A line end further away than MAX_LINE cannot make the line valid: do not look for it.
        let window = rest.get(..=MAX_LINE).unwrap_or(rest);
        let line = match window.iter().position(|&b| b == b'\n') {
            Some(lf) => &rest[..=lf],
            None if eof && !rest.is_empty() && rest.len() <= MAX_LINE => rest,
            None => {
                if let Some(code) = check_fragment(rest)? {
                    same_code(first_code, code)?;
                }
                if rest.len() > MAX_LINE {
                    return Err(ReplyError::LineTooLong);
                }
                return Ok(Parsed::Incomplete);
            }
        };
        let (code, continues) = check_line(line)?;
        let first = *first_code.get_or_insert(code);
        same_code(Some(first), code)?;
        if line.len() > MAX_LINE {
            return Err(ReplyError::LineTooLong);
        }
        raw_lines.push(line);
        start += line.len();
        if continues == Continues::No {
            let lines = raw_lines.iter().map(|l| text_of(l).to_vec()).collect();
            return Ok(Parsed::Complete {
                reply: Reply {
                    code: Code(first),
                    lines,
                },
                raw_lines,
                consumed: start,
            });
        }
        // This line promised another: a reply needing more than MAX_LINES lines is refused now.
        if raw_lines.len() >= MAX_LINES {
            return Err(ReplyError::TooManyLines);
        }
    }
}

fn same_code(first: Option<u16>, then: u16) -> Result<(), ReplyError> {
    match first {
        Some(first) if first != then => Err(ReplyError::MixedCodes { first, then }),
        _ => Ok(()),
    }
}

/// The line without its line end (LF or CRLF), for error messages.
fn without_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn malformed(line: &[u8]) -> ReplyError {
    ReplyError::MalformedCode {
        line: without_line_end(line).to_vec(),
    }
}

/// Checks the code digits present in `bytes` (up to three) and returns the code once all three are
/// there. The first digit must be 2..5 (RFC 5321 §4.2); the grammar also narrows the second to 0..5, but
/// refusing a `26x` would only make a working server unusable, so any digit passes there.
fn check_digits(bytes: &[u8], line: &[u8]) -> Result<Option<u16>, ReplyError> {
    let digits = bytes.get(..3).unwrap_or(bytes);
    for (i, &b) in digits.iter().enumerate() {
        let ok = if i == 0 {
            (b'2'..=b'5').contains(&b)
        } else {
            b.is_ascii_digit()
        };
        if !ok {
            return Err(malformed(line));
        }
    }
    Ok(match *digits {
        [a, b, c] => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    })
}

/// Checks a complete line (ending in LF, or the last bytes before end of file).
fn check_line(line: &[u8]) -> Result<(u16, Continues), ReplyError> {
    let code = check_digits(line, line)?.ok_or_else(|| malformed(line))?;
    // `250` alone is legal: `Reply-code [ SP textstring ] CRLF` (RFC 5321 §4.2).
    let continues = match line.get(3..) {
        Some([b'-', ..]) => Continues::Yes,
        Some([] | [b' ', ..] | [b'\n'] | [b'\r'] | [b'\r', b'\n']) => Continues::No,
        _ => return Err(malformed(line)),
    };
    Ok((code, continues))
}

/// Checks the start of a line whose LF has not arrived: returns its code once three digits are there.
fn check_fragment(fragment: &[u8]) -> Result<Option<u16>, ReplyError> {
    let code = check_digits(fragment, fragment)?;
    match fragment.get(3..) {
        None | Some([] | [b' ' | b'-', ..] | [b'\r']) => Ok(code),
        Some(_) => Err(malformed(fragment)),
    }
}

/// The text of a line: the bytes after the fourth, stripped like smtplib's `line[4:].strip(b' \t\r\n')`.
fn text_of(line: &[u8]) -> &[u8] {
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let text = line.get(4..).unwrap_or_default();
    let begin = text.iter().position(|b| !is_space(b)).unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(begin, |i| i + 1);
    &text[begin..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn complete(buf: &[u8]) -> (Reply, Vec<&[u8]>, usize) {
        match parse(buf) {
            Ok(Parsed::Complete {
                reply,
                raw_lines,
                consumed,
            }) => (reply, raw_lines, consumed),
            other => panic!("expected a complete reply for {buf:?}, got {other:?}"),
        }
    }

    fn reply_of(buf: &[u8]) -> (u16, Vec<u8>) {
        let (reply, _, _) = complete(buf);
        (reply.code.get(), reply.message())
    }

    fn is_malformed(buf: &[u8]) -> bool {
        matches!(parse(buf), Err(ReplyError::MalformedCode { .. }))
    }

    // smtplib section 2 table, rows that are valid under our rules (given their line end, since we do
    // not take end of data as a line end except at end of file).
    #[test]
    fn smtplib_multiline() {
        assert_eq!(
            reply_of(b"250-first\r\n250 second\r\n"),
            (250, b"first\nsecond".to_vec())
        );
        assert_eq!(parse(b"250-first\r\n250 second"), Ok(Parsed::Incomplete));
    }

    #[test]
    fn smtplib_code_only() {
        assert_eq!(reply_of(b"250\r\n"), (250, b"".to_vec()));
        assert_eq!(reply_of(b"250\n"), (250, b"".to_vec()));
    }

    #[test]
    fn smtplib_empty_continuation_text() {
        assert_eq!(reply_of(b"250-\r\n250 x\r\n"), (250, b"\nx".to_vec()));
    }

    #[test]
    fn smtplib_text_is_stripped() {
        assert_eq!(
            reply_of(b"250  two spaces  \r\n"),
            (250, b"two spaces".to_vec())
        );
        assert_eq!(reply_of(b"250 a\t \r\r\n"), (250, b"a".to_vec()));
    }

    #[test]
    fn smtplib_partial_last_line_at_eof() {
        let Ok(Parsed::Complete {
            reply, consumed, ..
        }) = parse_at_eof(b"250-first\r\n250 second")
        else {
            panic!("expected a reply at end of file");
        };
        assert_eq!(
            (reply.code.get(), reply.message()),
            (250, b"first\nsecond".to_vec())
        );
        assert_eq!(consumed, 21);
        assert_eq!(parse_at_eof(b"250-first\r\n"), Ok(Parsed::Incomplete));
        assert_eq!(parse_at_eof(b""), Ok(Parsed::Incomplete));
        assert!(matches!(
            parse_at_eof(b"25"),
            Err(ReplyError::MalformedCode { .. })
        ));
    }

    // Rows smtplib accepts (or returns -1 for) that we refuse on purpose.
    #[test]
    fn rejected_codes() {
        for bad in [
            &b"abc hello"[..],
            b"abc hello\r\n",
            b"\r\n",
            b"\n",
            b"250\tTAB\r\n",
            b"25\r",
            b"25\r\n",
            b" 25\r\n",
            b"+25 x\r\n",
            b"2_5 x\r\n",
            b"150 too low\r\n",
            b"650 too high\r\n",
            b"2500 four digits\r\n",
            b"250x",
            b"250\rx\r\n",
            b"250-ok\r\nabc\r\n",
        ] {
            assert!(is_malformed(bad), "{bad:?} should be malformed");
        }
    }

    #[test]
    fn malformed_code_found_before_line_end() {
        // A server sending `abc` and waiting must not make us wait for a line end.
        assert!(is_malformed(b"a"));
        assert!(is_malformed(b"2a"));
        assert!(is_malformed(b"220\t"));
        assert_eq!(parse(b"2"), Ok(Parsed::Incomplete));
        assert_eq!(parse(b"220"), Ok(Parsed::Incomplete));
        assert_eq!(parse(b"220\r"), Ok(Parsed::Incomplete));
        assert_eq!(parse(b""), Ok(Parsed::Incomplete));
    }

    #[test]
    fn malformed_error_keeps_line_without_line_end() {
        assert_eq!(
            parse(b"abc hello\r\n"),
            Err(ReplyError::MalformedCode {
                line: b"abc hello".to_vec()
            })
        );
    }

    #[test]
    fn mixed_codes() {
        assert_eq!(
            parse(b"250-a\r\n550 b\r\n"),
            Err(ReplyError::MixedCodes {
                first: 250,
                then: 550
            })
        );
        // smtplib's `250-a` / `251 b` example, refused too; found as soon as the digits arrive.
        assert_eq!(
            parse(b"250-a\r\n251"),
            Err(ReplyError::MixedCodes {
                first: 250,
                then: 251
            })
        );
    }

    fn line_of_len(len: usize, sep: u8) -> Vec<u8> {
        let mut line = vec![b'2', b'5', b'0', sep];
        line.resize(len - 2, b'x');
        line.extend_from_slice(b"\r\n");
        line
    }

    #[test]
    fn line_exactly_at_limit() {
        let line = line_of_len(MAX_LINE, b' ');
        let (reply, raw, consumed) = complete(&line);
        assert_eq!(consumed, MAX_LINE);
        assert_eq!(raw, vec![&line[..]]);
        assert_eq!(reply.lines[0].len(), MAX_LINE - 6);
    }

    #[test]
    fn line_over_limit() {
        assert_eq!(
            parse(&line_of_len(MAX_LINE + 1, b' ')),
            Err(ReplyError::LineTooLong)
        );
        let mut two = line_of_len(100, b'-');
        two.extend(line_of_len(MAX_LINE + 1, b' '));
        assert_eq!(parse(&two), Err(ReplyError::LineTooLong));
    }

    #[test]
    fn incomplete_line_over_limit() {
        let mut fragment = line_of_len(MAX_LINE + 2, b' ');
        fragment.truncate(MAX_LINE);
        // A fragment is refused once it is itself longer than the limit, not a byte earlier.
        assert_eq!(parse(&fragment), Ok(Parsed::Incomplete));
        fragment.push(b'x');
        assert_eq!(parse(&fragment), Err(ReplyError::LineTooLong));
        // Huge buffers are not scanned past one line's worth.
        fragment.resize(10 * MAX_LINE, b'x');
        fragment.push(b'\n');
        assert_eq!(parse(&fragment), Err(ReplyError::LineTooLong));
    }

    #[test]
    fn at_most_max_lines() {
        let mut buf = b"250-x\r\n".repeat(MAX_LINES - 1);
        buf.extend_from_slice(b"250 last\r\n");
        let (reply, raw, _) = complete(&buf);
        assert_eq!((reply.lines.len(), raw.len()), (MAX_LINES, MAX_LINES));
    }

    #[test]
    fn too_many_lines() {
        let endless = b"250-x\r\n".repeat(MAX_LINES);
        assert_eq!(parse(&endless), Err(ReplyError::TooManyLines));
        assert_eq!(parse(&endless[..endless.len() - 1]), Ok(Parsed::Incomplete));
    }

    #[test]
    fn bare_lf_ends_lines_and_bare_cr_does_not() {
        let (reply, raw, consumed) = complete(b"250-a\n250-b\rc\n250 d\n");
        assert_eq!(
            reply.lines,
            vec![b"a".to_vec(), b"b\rc".to_vec(), b"d".to_vec()]
        );
        assert_eq!(raw, vec![&b"250-a\n"[..], b"250-b\rc\n", b"250 d\n"]);
        assert_eq!(consumed, 20);
    }

    #[test]
    fn pipelined_replies_leave_the_rest() {
        let buf = b"250 ok\r\n550 no\r\n354 go";
        let (first, _, consumed) = complete(buf);
        assert_eq!((first.code.get(), consumed), (250, 8));
        let (second, _, more) = complete(&buf[consumed..]);
        assert_eq!((second.code.get(), more), (550, 8));
        assert_eq!(parse(&buf[consumed + more..]), Ok(Parsed::Incomplete));
    }

    #[test]
    fn hostile_bytes_parse_and_display_safely() {
        let buf =
            b"250-mail\x1b[31m.example\x00\r\n250 caf\xc3\xa9 \xff\x9b2J \xe2\x80\xae\x7f\r\n";
        let (reply, _, _) = complete(buf);
        assert_eq!(reply.lines[0], b"mail\x1b[31m.example\x00");
        let shown = reply.to_string();
        assert_eq!(
            shown,
            "250 mail\\x1b[31m.example\\x00 caf\u{e9} \u{fffd}\u{fffd}2J \\u{202e}\\x7f"
        );
        assert!(!shown.chars().any(char::is_control));
    }

    #[test]
    fn c1_controls_are_escaped() {
        assert_eq!(printable("a\u{9b}b".as_bytes()), "a\\u{9b}b");
    }

    #[test]
    fn display_joins_lines_with_spaces() {
        let (reply, _, _) = complete(b"550-5.1.1 no such\r\n550-\r\n550 user\r\n");
        assert_eq!(reply.to_string(), "550 5.1.1 no such user");
        assert_eq!(Reply::new(250, "").to_string(), "250");
    }

    #[test]
    fn error_messages_are_readable_and_safe() {
        assert_eq!(
            ReplyError::LineTooLong.to_string(),
            "the server sent a reply line longer than 8192 bytes"
        );
        assert_eq!(
            ReplyError::TooManyLines.to_string(),
            "the server sent a reply of more than 100 lines"
        );
        let Err(err) = parse(b"\x1b]0;pwned\x07\r\n") else {
            panic!("expected an error");
        };
        assert_eq!(
            err.to_string(),
            "the server sent a malformed reply line: \"\\x1b]0;pwned\\x07\""
        );
        let long = ReplyError::MalformedCode {
            line: vec![b'z'; 500],
        };
        assert!(long.to_string().ends_with("zzz...\""));
        assert!(long.to_string().len() < 200);
    }

    #[test]
    fn reply_helpers() {
        let reply = Reply::new(354, "go ahead");
        assert_eq!(reply.message(), b"go ahead");
        assert_eq!(reply.code, Code::START_INPUT);
        assert_eq!(reply.code.class(), 3);
        assert!(!reply.is_positive() && !reply.is_transient() && !reply.is_permanent());
        assert!(Reply::new(250, "").is_positive());
        assert!(Reply::new(252, "").code.is_positive_completion());
        assert!(Reply::new(421, "").is_transient());
        assert!(Reply::new(554, "").is_permanent());
        assert_eq!(Code::new(u16::MAX).class(), 255);
        assert_eq!(Code::UNAVAILABLE.to_string(), "421");
    }

    fn valid_text() -> impl Strategy<Value = Vec<u8>> {
        // Text as the parser keeps it: no CR or LF, and no space or tab at either end.
        proptest::collection::vec(
            any::<u8>().prop_filter("no line end", |b| *b != b'\r' && *b != b'\n'),
            0..40,
        )
        .prop_map(|t| text_of(&[b"250 ".as_slice(), &t].concat()).to_vec())
    }

    proptest! {
        #[test]
        fn parse_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse(&buf);
            let _ = parse_at_eof(&buf);
        }

        #[test]
        fn parse_never_panics_on_reply_like_bytes(
            buf in proptest::collection::vec(
                proptest::sample::select(&b"25-0 \r\n\tx"[..]), 0..300)
        ) {
            let _ = parse(&buf);
            let _ = parse_at_eof(&buf);
        }

        #[test]
        fn valid_replies_round_trip(
            code in 200u16..600,
            texts in proptest::collection::vec(valid_text(), 1..12),
            bare_lf in any::<bool>(),
            rest in proptest::collection::vec(any::<u8>(), 0..20),
        ) {
            let end: &[u8] = if bare_lf { b"\n" } else { b"\r\n" };
            let mut wire = Vec::new();
            for (i, text) in texts.iter().enumerate() {
                wire.extend_from_slice(code.to_string().as_bytes());
                let last = i + 1 == texts.len();
                if !last {
                    wire.push(b'-');
                } else if !text.is_empty() {
                    wire.push(b' ');
                }
                wire.extend_from_slice(text);
                wire.extend_from_slice(end);
            }
            // Every proper prefix is incomplete, never an error.
            for cut in 0..wire.len() {
                prop_assert_eq!(parse(&wire[..cut]), Ok(Parsed::Incomplete));
            }
            let whole = [wire.as_slice(), &rest].concat();
            let Ok(Parsed::Complete { reply, raw_lines, consumed }) = parse(&whole) else {
                return Err(TestCaseError::fail("no complete reply"));
            };
            prop_assert_eq!(reply.code.get(), code);
            prop_assert_eq!(&reply.lines, &texts);
            prop_assert_eq!(consumed, wire.len());
            prop_assert_eq!(raw_lines.concat(), wire);
        }
    }
}
