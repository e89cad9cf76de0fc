//! The replies of the `-bs` server (RFC 5321 §4.2, RFC 2034 enhanced status codes), as values: a code, an
//! optional enhanced status code and the text of each line. [`Answer::wire`] is the one writer of the
//! bytes on standard output and of the trace form: after EHLO every line carries its status code (RFC
//! 2034 §3), after HELO none does, so the reply to the dot is `250 Ok: queued as ID`, the form Symfony
//! Mailer parses. Text that came from the upstream server or the client is made printable and cut to a
//! line's length before it is written, so it can neither end the line early nor grow it without bound.

use crate::smtp::reply::{Reply, printable};

/// The longest text of one reply line, leaving room for the code, the status and CRLF within the 512
/// octets of RFC 5321 §4.5.3.1.5.
const MAX_TEXT: usize = 480;

/// One reply of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub code: u16,
    /// `x.y.z` (RFC 3463), written only when the client said EHLO; `None` for replies whose text
    /// already carries one (passed through from upstream) or that never have one (greeting, EHLO).
    pub status: Option<&'static str>,
    pub lines: Vec<String>,
}

impl Answer {
    /// A one-line reply with its enhanced status code.
    pub fn new(code: u16, status: &'static str, text: impl Into<String>) -> Answer {
        Answer {
            code,
            status: Some(status),
            lines: vec![text.into()],
        }
    }

    /// A reply that never carries an enhanced status code (the greeting, the EHLO lines, 221 has one).
    pub fn plain(code: u16, lines: Vec<String>) -> Answer {
        Answer {
            code,
            status: None,
            lines,
        }
    }

    /// The upstream server's own reply, passed through: its code and its lines, made printable.
    pub fn upstream(reply: &Reply) -> Answer {
        let lines = reply
            .lines
            .iter()
            .map(|l| printable(l))
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>();
        Answer::plain(reply.code.get(), lines)
    }

    /// This reply with `notes` as lines before its own (warnings the caller should see).
    pub fn with_notes(mut self, notes: Vec<String>) -> Answer {
        let mut lines = notes;
        lines.append(&mut self.lines);
        self.lines = lines;
        self
    }

    /// The bytes on the wire: `CODE-` on every line but the last, `CODE ` on the last, the status code
    /// after it when `enhanced`.
    pub fn wire(&self, enhanced: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let empty = [String::new()];
        let lines = match self.lines.is_empty() {
            true => &empty[..],
            false => &self.lines[..],
        };
        for (i, line) in lines.iter().enumerate() {
            let sep = if i + 1 == lines.len() { ' ' } else { '-' };
            out.extend_from_slice(format!("{}{sep}", self.code).as_bytes());
            if let (true, Some(status)) = (enhanced, self.status) {
                out.extend_from_slice(status.as_bytes());
                out.push(b' ');
            }
            out.extend_from_slice(clean(line).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out
    }
}

/// Text safe on one reply line: control characters escaped, cut to [`MAX_TEXT`] octets at a character
/// boundary.
fn clean(text: &str) -> String {
    let mut text = printable(text.as_bytes());
    if text.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enhanced_codes_only_after_ehlo() {
        let ok = Answer::new(250, "2.0.0", "Ok: queued as 0ABC");
        assert_eq!(ok.wire(false), b"250 Ok: queued as 0ABC\r\n");
        assert_eq!(ok.wire(true), b"250 2.0.0 Ok: queued as 0ABC\r\n");
        let ehlo = Answer::plain(250, vec!["mail.example".into(), "PIPELINING".into()]);
        assert_eq!(ehlo.wire(true), b"250-mail.example\r\n250 PIPELINING\r\n");
    }

    #[test]
    fn upstream_text_cannot_break_the_line() {
        let reply = Reply {
            code: 550.into(),
            lines: vec![b"5.1.1 no\r\n250 such".to_vec(), b"x".repeat(2000)],
        };
        let wire = Answer::upstream(&reply).wire(true);
        let text = String::from_utf8(wire).expect("utf-8");
        let lines: Vec<&str> = text.split_terminator("\r\n").collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].starts_with("550-5.1.1 no\\x0d\\x0a250 such"),
            "{text}"
        );
        assert!(
            lines[1].starts_with("550 xxx") && lines[1].len() <= 512,
            "{text}"
        );
    }

    #[test]
    fn notes_come_first() {
        let answer = Answer::new(250, "2.0.0", "Ok").with_notes(vec!["warning: long".into()]);
        assert_eq!(
            answer.wire(true),
            b"250-2.0.0 warning: long\r\n250 2.0.0 Ok\r\n"
        );
    }
}
