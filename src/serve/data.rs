//! The message data after `354`, sans I/O (RFC 5321 §4.1.1.4, §4.5.2): dot-unstuffing, and the end of
//! the data, a line holding only `.`. Only `CRLF . CRLF` ends the data (the data's first line counts as
//! following a CRLF): a bare LF is data, never a line end here, so text a web form put into a body
//! (`\n.\n`) cannot end the message early and have the rest read as commands (SMTP smuggling). A leading
//! dot is removed only at the start of a line, that is after CRLF, which is where the client stuffed
//! it. Streaming, byte by byte in state, so no line is ever held whole.

/// Where the unstuffer is within a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line.
    LineStart,
    /// A `.` at the start of a line, held back.
    Dot,
    /// `.` and CR at the start of a line, held back: an LF now ends the data.
    DotCr,
    /// Within a line.
    Text,
    /// A CR within a line: an LF now ends the line.
    Cr,
}

/// Turns the client's dot-stuffed data into the message.
#[derive(Debug)]
pub struct Unstuffer {
    state: State,
}

impl Default for Unstuffer {
    fn default() -> Self {
        Unstuffer::new()
    }
}

impl Unstuffer {
    pub fn new() -> Unstuffer {
        Unstuffer {
            state: State::LineStart,
        }
    }

    /// Unstuff `input` into `out`: how many bytes were used, and whether the end of the data was among
    /// them (the bytes after it are not used: they are the next commands).
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> (usize, bool) {
        let mut i = 0;
        while i < input.len() {
            if self.state == State::Text {
                // The common case: copy up to the next CR at once.
                let run = input[i..]
                    .iter()
                    .position(|&b| b == b'\r')
                    .unwrap_or(input.len() - i);
                out.extend_from_slice(&input[i..i + run]);
                i += run;
                if i == input.len() {
                    break;
                }
            }
            let b = input[i];
            i += 1;
            if self.step(b, out) {
                return (i, true);
            }
        }
        (i, false)
    }

    /// One byte; `true` at the end of the data.
    fn step(&mut self, b: u8, out: &mut Vec<u8>) -> bool {
        self.state = match (self.state, b) {
            (State::LineStart, b'.') => State::Dot,
            (State::Dot, b'\r') => State::DotCr,
            (State::DotCr, b'\n') => return true,
            // `.` and more on the line: the dot was the client's stuffing; `.\r` and more: the CR
            // is data, and what follows it is looked at as after any CR.
            (State::DotCr, _) => {
                out.push(b'\r');
                return self.after_cr(b, out);
            }
            (State::Dot, _) => {
                out.push(b);
                State::Text
            }
            (State::Cr, _) => return self.after_cr(b, out),
            (State::LineStart | State::Text, b'\r') => {
                out.push(b);
                State::Cr
            }
            (State::LineStart | State::Text, _) => {
                out.push(b);
                State::Text
            }
        };
        false
    }

    fn after_cr(&mut self, b: u8, out: &mut Vec<u8>) -> bool {
        out.push(b);
        self.state = match b {
            b'\n' => State::LineStart,
            b'\r' => State::Cr,
            _ => State::Text,
        };
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The message and how many bytes were used, feeding `input` in pieces of `step` bytes.
    fn unstuff(input: &[u8], step: usize) -> (Vec<u8>, Option<usize>) {
        let mut u = Unstuffer::new();
        let mut out = Vec::new();
        let mut at = 0;
        for chunk in input.chunks(step.max(1)) {
            let (used, ended) = u.feed(chunk, &mut out);
            at += used;
            if ended {
                return (out, Some(at));
            }
        }
        (out, None)
    }

    #[test]
    fn the_rfc_5321_cases() {
        let cases: &[(&[u8], &[u8], Option<usize>)] = &[
            (b".\r\n", b"", Some(3)),
            (b"a\r\n.\r\nQUIT\r\n", b"a\r\n", Some(6)),
            (b"..\r\n.\r\n", b".\r\n", Some(7)),
            (b"..x\r\n...\r\n.\r\n", b".x\r\n..\r\n", Some(13)),
            // A bare LF is no line end: `\n.\n` is data, the end needs CRLF.CRLF.
            (b"a\n.\nb\r\n.\r\n", b"a\n.\nb\r\n", Some(10)),
            (b"a\r\n.\nb\r\n.\r\n", b"a\r\n\nb\r\n", Some(11)),
            (b"a\r\n.\rb\r\n.\r\n", b"a\r\n\rb\r\n", Some(11)),
            (b"a\r\n.\r\r\n.\r\n", b"a\r\n\r\r\n", Some(10)),
            (b"no end\r\n", b"no end\r\n", None),
            (b"x\r\n.", b"x\r\n", None),
        ];
        for (input, message, end) in cases {
            for step in [1, 2, 3, 64] {
                let (out, at) = unstuff(input, step);
                assert_eq!(
                    (&out[..], at),
                    (&message[..], *end),
                    "{:?} in steps of {step}",
                    String::from_utf8_lossy(input)
                );
            }
        }
    }

    /// Stuffing as a client does (RFC 5321 §4.5.2), for the round trip.
    fn stuff(message: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut at_start = true;
        let mut prev = 0u8;
        for &b in message {
            if at_start && b == b'.' {
                out.push(b'.');
            }
            out.push(b);
            at_start = prev == b'\r' && b == b'\n';
            prev = b;
        }
        if !message.is_empty() && !message.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        out
    }

    proptest! {
        /// Any message of CRLF lines, stuffed and sent in any pieces, comes back exactly.
        #[test]
        fn stuffing_round_trips(
            lines in proptest::collection::vec("[.a\r\n]{0,6}", 0..12),
            step in 1usize..9,
        ) {
            let mut message = Vec::new();
            for line in &lines {
                let line: Vec<u8> = line.bytes().filter(|&b| b != b'\r' && b != b'\n').collect();
                message.extend_from_slice(&line);
                message.extend_from_slice(b"\r\n");
            }
            let mut input = stuff(&message);
            input.extend_from_slice(b"NOOP\r\n");
            let (out, at) = unstuff(&input, step);
            prop_assert_eq!(out, message);
            prop_assert_eq!(at, Some(input.len() - 6));
        }

        /// Whatever the bytes, no panic, and the output never grows beyond the input.
        #[test]
        fn any_bytes(input in proptest::collection::vec(any::<u8>(), 0..256), step in 1usize..9) {
            let (out, _) = unstuff(&input, step);
            prop_assert!(out.len() <= input.len());
        }
    }
}
