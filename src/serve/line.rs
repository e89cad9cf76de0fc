//! The `-bs` server's input buffer, sans I/O: the driver pushes what it read, the dialogue takes command
//! lines from it, and the DATA reader takes raw bytes. A command line ends at LF (a CR before it is
//! dropped; Postfix's smtpd is as tolerant, and a person typing into `mailsend -bs` sends bare LFs). A
//! line longer than [`MAX_LINE`] octets (RFC 5321 §4.5.3.1.6: 1000 with its CRLF) is not kept: its
//! first bytes are dropped as soon as it is known to be too long, the rest until its LF is discarded,
//! and the dialogue answers it once. So the buffer never holds more than one read plus a line.

/// The longest command line, CRLF included.
pub const MAX_LINE: usize = 1000;

/// What the buffer holds next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A line without its line end.
    Text(Vec<u8>),
    /// A line over [`MAX_LINE`] octets, now discarded whole.
    TooLong,
}

/// Bytes read from the client and not yet used.
#[derive(Debug, Default)]
pub struct Input {
    buf: Vec<u8>,
    /// Inside a line that was too long: everything up to its LF is dropped.
    discarding: bool,
}

impl Input {
    pub fn new() -> Input {
        Input::default()
    }

    /// Append what was read. The driver pushes only when [`Input::next_line`] has nothing (or, in
    /// DATA, when the buffer is used up), which keeps the buffer bounded.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete line, or `None` when more input is needed.
    pub fn next_line(&mut self) -> Option<Line> {
        match self.buf.iter().position(|&b| b == b'\n') {
            Some(lf) => {
                let line: Vec<u8> = self.buf.drain(..=lf).collect();
                if std::mem::take(&mut self.discarding) || line.len() > MAX_LINE {
                    return Some(Line::TooLong);
                }
                let end = line.len() - 1 - usize::from(line.ends_with(b"\r\n"));
                Some(Line::Text(line[..end].to_vec()))
            }
            None => {
                if self.buf.len() >= MAX_LINE {
                    self.discarding = true;
                    self.buf.clear();
                }
                None
            }
        }
    }

    /// Whether anything is waiting: with PIPELINING the replies are flushed only when it is not
    /// (RFC 2920 §3.2's server behaviour).
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The unread bytes, for the DATA reader.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Drop the first `n` unread bytes (the DATA reader used them).
    pub fn consume(&mut self, n: usize) {
        self.buf.drain(..n.min(self.buf.len()));
    }

    /// How many bytes are held (for the bound test).
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &mut Input) -> Vec<Line> {
        std::iter::from_fn(|| input.next_line()).collect()
    }

    #[test]
    fn lines_end_at_lf_with_or_without_cr() {
        let mut input = Input::new();
        input.push(b"HELO a\r\nNOOP\nMAIL FR");
        assert_eq!(
            lines(&mut input),
            [Line::Text(b"HELO a".to_vec()), Line::Text(b"NOOP".to_vec())]
        );
        input.push(b"OM:<>\r\n");
        assert_eq!(lines(&mut input), [Line::Text(b"MAIL FROM:<>".to_vec())]);
        assert!(input.is_empty());
    }

    #[test]
    fn a_long_line_is_discarded_whole_and_answered_once() {
        let mut input = Input::new();
        for _ in 0..50 {
            input.push(&[b'x'; 700]);
            assert_eq!(input.next_line(), None);
            assert!(input.held() < MAX_LINE);
        }
        input.push(b"xx\r\nNOOP\r\n");
        assert_eq!(
            lines(&mut input),
            [Line::TooLong, Line::Text(b"NOOP".to_vec())]
        );
        // Exactly at the limit, CRLF included: kept; one more octet: too long.
        let mut input = Input::new();
        let mut line = vec![b'a'; MAX_LINE - 2];
        line.extend_from_slice(b"\r\n");
        input.push(&line);
        assert!(matches!(input.next_line(), Some(Line::Text(t)) if t.len() == MAX_LINE - 2));
        let mut input = Input::new();
        let mut line = vec![b'a'; MAX_LINE - 1];
        line.extend_from_slice(b"\r\n");
        input.push(&line);
        assert_eq!(input.next_line(), Some(Line::TooLong));
    }

    proptest::proptest! {
        /// Any bytes in any pieces, pushed only when no line is ready, as the driver does: no panic,
        /// and never more held than one piece and one line.
        #[test]
        fn bounded_whatever_comes(
            pieces in proptest::collection::vec(
                proptest::collection::vec(proptest::sample::select(&b"ab\r\n\0"[..]), 0..3000),
                0..20,
            ),
        ) {
            let mut input = Input::new();
            for piece in pieces {
                input.push(&piece);
                proptest::prop_assert!(input.held() <= MAX_LINE + piece.len());
                while let Some(line) = input.next_line() {
                    if let Line::Text(text) = line {
                        proptest::prop_assert!(text.len() < MAX_LINE && !text.contains(&b'\n'));
                    }
                }
                proptest::prop_assert!(input.held() < MAX_LINE);
            }
        }
    }

    #[test]
    fn raw_bytes_for_data() {
        let mut input = Input::new();
        input.push(b"abc\r\n.\r\nQUIT\r\n");
        input.consume(8);
        assert_eq!(input.bytes(), b"QUIT\r\n");
        assert_eq!(lines(&mut input), [Line::Text(b"QUIT".to_vec())]);
    }
}
