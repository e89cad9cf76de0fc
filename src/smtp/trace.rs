//! The protocol trace (`--debug`, spec section 6): the one place that formats trace lines. It
//! reproduces CPython smtplib's `set_debuglevel` output (smtplib-behaviour.md section 1) — `connect:`,
//! `reply:`, `send:` and `data:` lines with Python `repr` quoting — so transcripts can be compared with
//! smtplib's line for line. Level 0 prints nothing, level 1 plain lines, level 2 and above prefix each
//! line with the local time `HH:MM:SS.ffffff`. Everything that came from the network or the user is
//! escaped before it reaches the terminal (security catalogue item 29: no raw control characters, so
//! no ANSI escape injection). Secrets never arrive here: the session passes each command's `Display`
//! form, in which credentials are already `<redacted>` (catalogue item 22).

use std::fmt::Write as _;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::Timelike as _;

/// How many bytes of message data the trace shows; longer data is shown truncated with its full
/// size (spec section 6: "Message data longer than 4 KiB is shown truncated").
pub const DATA_PREVIEW_LIMIT: usize = 4096;

/// The debug trace writer. Write failures are ignored: a broken stderr must not stop the mail.
pub struct Trace {
    level: u8,
    out: Box<dyn Write + Send>,
    preview: Vec<u8>,
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trace")
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

impl Trace {
    /// A trace on standard error, the product's only trace destination.
    pub fn stderr(level: u8) -> Trace {
        Trace::to_writer(level, Box::new(std::io::stderr()))
    }

    /// A trace into any writer (tests capture it with [`CaptureBuffer`]).
    pub fn to_writer(level: u8, out: Box<dyn Write + Send>) -> Trace {
        Trace {
            level,
            out,
            preview: Vec::new(),
        }
    }

    pub fn level(&self) -> u8 {
        self.level
    }

    /// `connect: to ('host', 25) None`, printed before the connect so it shows even when the
    /// connect fails (smtplib `_get_socket`).
    pub fn connect_to(&mut self, host: &str, port: u16, source: Option<SocketAddr>) {
        if self.level == 0 {
            return;
        }
        let source = match source {
            Some(addr) => format!("({}, {})", repr_str(&addr.ip().to_string()), addr.port()),
            None => "None".to_owned(),
        };
        self.line(&format!(
            "connect: to ({}, {port}) {source}",
            repr_str(host)
        ));
    }

    /// `connect: to '/run/dovecot/lmtp' None` for a Unix domain socket.
    pub fn connect_unix(&mut self, path: &Path) {
        if self.level == 0 {
            return;
        }
        let path = repr_str(&path.to_string_lossy());
        self.line(&format!("connect: to {path} None"));
    }

    /// `connect: b'<greeting text>'`, after the greeting's reply lines.
    pub fn greeting(&mut self, msg: &[u8]) {
        self.tagged_bytes("connect: ", msg);
    }

    /// One raw reply line as read, CRLF included; printed before any length check so that an
    /// overlong line is visible too (smtplib `getreply`).
    pub fn reply_line(&mut self, raw: &[u8]) {
        self.tagged_bytes("reply: ", raw);
    }

    /// The assembled reply: `reply: retcode (250); Msg: b'first\nsecond'`.
    pub fn reply(&mut self, code: u16, msg: &[u8]) {
        if self.level == 0 {
            return;
        }
        self.line(&format!(
            "reply: retcode ({code}); Msg: {}",
            repr_bytes(msg)
        ));
    }

    /// A command line as sent, in Python `str` repr: `send: 'ehlo host\r\n'`.
    pub fn send(&mut self, line: &str) {
        if self.level == 0 {
            return;
        }
        self.line(&format!("send: {}", repr_str(line)));
    }

    /// The reply to DATA and the final reply after the data: `data: (354, b'...')`.
    pub fn data_reply(&mut self, code: u16, msg: &[u8]) {
        if self.level == 0 {
            return;
        }
        self.line(&format!("data: ({code}, {})", repr_bytes(msg)));
    }

    /// Message data starts (after a 354, or with a BDAT chunk); forgets any earlier preview.
    pub fn data_begin(&mut self) {
        self.preview.clear();
    }

    /// Message data as it is written. Only the first [`DATA_PREVIEW_LIMIT`] bytes are kept, so
    /// memory does not grow with the message (spec section 1).
    pub fn data_chunk(&mut self, bytes: &[u8]) {
        if self.level == 0 {
            return;
        }
        let room = DATA_PREVIEW_LIMIT.saturating_sub(self.preview.len());
        self.preview
            .extend_from_slice(&bytes[..room.min(bytes.len())]);
    }

    /// The data is complete: `send: b'...'` with the whole data, or its first 4096 bytes followed
    /// by ` ... (N bytes in all, first 4096 shown)` when `total` is larger.
    pub fn data_end(&mut self, total: u64) {
        let preview = std::mem::take(&mut self.preview);
        if self.level == 0 {
            return;
        }
        let mut text = format!("send: {}", repr_bytes(&preview));
        if total > preview.len() as u64 {
            let _ = write!(
                text,
                " ... ({total} bytes in all, first {} shown)",
                preview.len()
            );
        }
        self.line(&text);
    }

    /// A line of mailsend's own, e.g. `tls: TLSv1.3, TLS13_AES_256_GCM_SHA384`. The text may hold
    /// certificate names or server text, so non-printable characters are escaped.
    pub fn note(&mut self, tag: &str, text: &str) {
        if self.level == 0 {
            return;
        }
        self.line(&format!("{}: {}", sanitize(tag), sanitize(text)));
    }

    fn tagged_bytes(&mut self, tag: &str, bytes: &[u8]) {
        if self.level == 0 {
            return;
        }
        self.line(&format!("{tag}{}", repr_bytes(bytes)));
    }

    /// Writes one whole line in one call, so concurrent stderr output cannot split it.
    fn line(&mut self, text: &str) {
        let mut out = String::with_capacity(text.len() + 17);
        if self.level >= 2 {
            // Six fractional digits always: Python drops them when microsecond == 0, but the test
            // regex `^\d{2}:\d{2}:\d{2}\.\d{6} ` (smtplib-behaviour.md section 1) requires them.
            let now = chrono::Local::now();
            let micros = (now.nanosecond() % 1_000_000_000) / 1_000;
            let _ = write!(out, "{}.{micros:06} ", now.format("%H:%M:%S"));
        }
        out.push_str(text);
        out.push('\n');
        let _ = self.out.write_all(out.as_bytes());
        let _ = self.out.flush();
    }
}

/// Python's `repr(str)`: single quotes unless the text holds `'` and no `"`; `\\`, `\t`, `\n`,
/// `\r` escaped; other non-printable characters as `\xNN`, `\uNNNN` or `\UNNNNNNNN`; printable
/// non-ASCII kept as is.
pub fn repr_str(text: &str) -> String {
    let quote = choose_quote(text.contains('\''), text.contains('"'));
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c => push_python_escape(&mut out, c),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr(bytes)`: `b'...'`, same quote rule as [`repr_str`]; every byte outside
/// 0x20..=0x7e as `\xNN` except `\t`, `\n`, `\r`.
pub fn repr_bytes(bytes: &[u8]) -> String {
    let quote = choose_quote(bytes.contains(&b'\''), bytes.contains(&b'"'));
    let mut out = String::with_capacity(bytes.len() + 3);
    out.push('b');
    out.push(quote);
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b if char::from(b) == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(char::from(b)),
            b => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push(quote);
    out
}

/// Text for a terminal: non-printable characters (controls, including ESC, and invisible format
/// characters such as bidi overrides) escaped as in [`repr_str`]; everything else, backslashes
/// included, kept, so certificate names read naturally (catalogue item 29).
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_printable(c) {
            out.push(c);
        } else {
            push_python_escape(&mut out, c);
        }
    }
    out
}

fn choose_quote(has_single: bool, has_double: bool) -> char {
    if has_single && !has_double { '"' } else { '\'' }
}

fn push_python_escape(out: &mut String, c: char) {
    let code = u32::from(c);
    let _ = if code < 0x100 {
        write!(out, "\\x{code:02x}")
    } else if code < 0x1_0000 {
        write!(out, "\\u{code:04x}")
    } else {
        write!(out, "\\U{code:08x}")
    };
}

/// Python's `str.isprintable` for one character. Rust's `escape_debug` uses the same definition
/// (everything but categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs other than space); a character
/// that does not come first is escaped only for that reason, not for being a grapheme extender.
fn is_printable(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    let mut buf = [0u8; 5];
    buf[0] = b'a';
    let len = 1 + c.encode_utf8(&mut buf[1..]).len();
    let pair = std::str::from_utf8(&buf[..len]).unwrap_or("a");
    pair.escape_debug().nth(1) != Some('\\')
}

/// A cloneable in-memory writer for capturing a trace (tests, and `--pretend`-like reports).
#[derive(Clone, Default, Debug)]
pub struct CaptureBuffer(Arc<Mutex<Vec<u8>>>);

impl CaptureBuffer {
    pub fn new() -> CaptureBuffer {
        CaptureBuffer::default()
    }

    /// Everything written so far, lossily decoded (the trace itself only writes UTF-8).
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for CaptureBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
