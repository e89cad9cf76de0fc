//! Message text as lines: finding line ends, normalising them to CRLF, and the 998-octet line limit.
//! This layer lies below both the input spool (`message::spool`) and the data encoder (`smtp::data`)
//! and imports neither, so that neither imports the other (issue 11, point 4: the spool used to reach
//! up into the protocol for its line search, and each kept its own normaliser).
//!
//! RFC 5321 §2.3.8: a bare CR or a bare LF is not a line end on the wire, so every one becomes CRLF
//! and `\r\r\n` is two line ends (catalogue 15, SMTP smuggling). [`Splitter`] is the one streaming
//! state machine that decides where lines end; it hands runs of line text and line ends to a
//! [`LineSink`], which decides what to write: the spool writes CRLF and gathers its statistics, the
//! encoder writes CRLF and stuffs dots. Any split of the input into chunks gives the same calls,
//! except that a run of text may come in several pieces.

use std::ops::ControlFlow;

/// The longest line RFC 5321 §4.5.3.1.6 and RFC 5322 §2.1.1 allow, CRLF excluded.
pub const MAX_LINE: usize = 998;

/// [`MAX_LINE`] as a count of octets in a stream.
const MAX_LINE_OCTETS: u64 = MAX_LINE as u64;

/// How a line ended in the input; each of them is one CRLF once normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnd {
    Crlf,
    /// A CR not followed by LF.
    Cr,
    /// An LF not preceded by CR.
    Lf,
}

/// A line over the [`MAX_LINE`] octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongLine {
    /// Its number in the message, the first line being 1.
    pub number: u64,
    /// Its length in octets, line end excluded.
    pub len: u64,
}

/// What receives the lines a [`Splitter`] finds. Returning [`ControlFlow::Break`] stops the split
/// there: nothing more of the chunk being fed is looked at.
pub trait LineSink {
    /// A run of line text, holding no CR and no LF; `line_start` when it begins a line.
    fn text(&mut self, run: &[u8], line_start: bool) -> ControlFlow<()>;
    /// The end of the current line.
    fn line_end(&mut self, end: LineEnd) -> ControlFlow<()>;
}

/// The streaming line splitter. It carries a CR across chunk boundaries (whether it is bare depends
/// on the next byte) and counts the lines over [`MAX_LINE`].
#[derive(Debug, Clone, Default)]
pub struct Splitter {
    /// A CR ended the last chunk; the next byte says whether the input had CRLF or a bare CR.
    pending_cr: bool,
    /// Octets of the current line so far, line end excluded.
    line_len: u64,
    /// Lines ended so far: the current line's number is one more.
    lines: u64,
    long_lines: u64,
    first_long_line: Option<LongLine>,
}

impl Splitter {
    pub fn new() -> Splitter {
        Splitter::default()
    }

    /// Splits the next chunk of input. Runs of ordinary bytes go to the sink whole (the hot path for
    /// large messages, issue 6).
    pub fn feed<S: LineSink>(&mut self, input: &[u8], sink: &mut S) -> ControlFlow<()> {
        let mut rest = input;
        if self.pending_cr {
            let Some(&first) = rest.first() else {
                return ControlFlow::Continue(());
            };
            self.pending_cr = false;
            if first == b'\n' {
                rest = &rest[1..];
                self.end_line(LineEnd::Crlf, sink)?;
            } else {
                self.end_line(LineEnd::Cr, sink)?;
            }
        }
        while !rest.is_empty() {
            let at = find_line_end(rest);
            let text = &rest[..at.unwrap_or(rest.len())];
            if !text.is_empty() {
                let line_start = self.line_len == 0;
                self.line_len += text.len() as u64;
                sink.text(text, line_start)?;
            }
            let Some(at) = at else {
                break;
            };
            let after = &rest[at + 1..];
            let end = match (rest[at], after.first()) {
                (b'\r', None) => {
                    self.pending_cr = true;
                    break;
                }
                (b'\r', Some(b'\n')) => {
                    rest = &after[1..];
                    LineEnd::Crlf
                }
                (b'\r', Some(_)) => {
                    rest = after;
                    LineEnd::Cr
                }
                _ => {
                    rest = after;
                    LineEnd::Lf
                }
            };
            self.end_line(end, sink)?;
        }
        ControlFlow::Continue(())
    }

    /// The end of the input: a CR still pending is a bare one and ends its line. Returns whether the
    /// last line is left without a line end (it is still a line, and counted as one here); the caller
    /// decides whether to end it. Nothing follows, so a sink's `Break` here changes nothing.
    pub fn finish<S: LineSink>(&mut self, sink: &mut S) -> bool {
        if self.pending_cr {
            self.pending_cr = false;
            let _ = self.end_line(LineEnd::Cr, sink);
        }
        let open = self.line_len > 0;
        if open {
            self.note_line();
            self.line_len = 0;
        }
        open
    }

    /// Whether the last byte fed was a CR whose kind of line end is not known yet.
    pub fn cr_pending(&self) -> bool {
        self.pending_cr
    }

    /// Lines over [`MAX_LINE`] octets so far: those ended, and the last one once
    /// [`Splitter::finish`] has seen it.
    pub fn long_lines(&self) -> u64 {
        self.long_lines
    }

    /// The first of the [`Splitter::long_lines`].
    pub fn first_long_line(&self) -> Option<LongLine> {
        self.first_long_line
    }

    fn end_line<S: LineSink>(&mut self, end: LineEnd, sink: &mut S) -> ControlFlow<()> {
        self.note_line();
        self.lines += 1;
        self.line_len = 0;
        sink.line_end(end)
    }

    /// Counts the current line if it is over the limit.
    fn note_line(&mut self) {
        if self.line_len > MAX_LINE_OCTETS {
            self.long_lines += 1;
            self.first_long_line.get_or_insert(LongLine {
                number: self.lines + 1,
                len: self.line_len,
            });
        }
    }
}

/// The index of the first CR or LF, eight bytes at a time (SWAR): the encoder and the spool spend
/// most of their time looking for line ends, and a byte-by-byte search is several times slower on a
/// 50 MB message (issue 6). A lane of `x ^ c` is zero exactly where `x` has byte `c`;
/// `(v - 0x01…) & !v & 0x80…` flags zero lanes, and its lowest flag is always a true one (a borrow
/// only runs upwards).
pub fn find_line_end(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let zero_lanes = |v: u64| v.wrapping_sub(LO) & !v & HI;
    let mut words = s.chunks_exact(8);
    let mut base = 0;
    for word in &mut words {
        let mut lanes = [0u8; 8];
        lanes.copy_from_slice(word);
        let x = u64::from_le_bytes(lanes);
        let hits =
            zero_lanes(x ^ (LO * u64::from(b'\r'))) | zero_lanes(x ^ (LO * u64::from(b'\n')));
        if hits != 0 {
            return Some(base + (hits.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .map(|p| base + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a sink was told, with adjacent text runs of one line joined (a chunk boundary may cut a
    /// run in two) and the line start flag of a line's first run.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct Events(Vec<(String, Option<LineEnd>)>);

    impl LineSink for Events {
        fn text(&mut self, run: &[u8], line_start: bool) -> ControlFlow<()> {
            assert!(!run.is_empty() && find_line_end(run).is_none(), "{run:?}");
            let run = String::from_utf8_lossy(run);
            match self.0.last_mut() {
                Some((text, None)) => {
                    assert!(!line_start, "a line's second run is not its start");
                    text.push_str(&run);
                }
                _ => {
                    assert!(line_start, "a line's first run is its start");
                    self.0.push((run.into_owned(), None));
                }
            }
            ControlFlow::Continue(())
        }

        fn line_end(&mut self, end: LineEnd) -> ControlFlow<()> {
            match self.0.last_mut() {
                Some((_, e @ None)) => *e = Some(end),
                _ => self.0.push((String::new(), Some(end))),
            }
            ControlFlow::Continue(())
        }
    }

    fn split(chunks: &[&[u8]]) -> (Events, bool, Splitter) {
        let mut splitter = Splitter::new();
        let mut events = Events::default();
        for chunk in chunks {
            assert!(splitter.feed(chunk, &mut events).is_continue());
        }
        let open = splitter.finish(&mut events);
        (events, open, splitter)
    }

    /// The lines a sink is told of: each one's text and its end (none for an open last line).
    type Lines<'a> = &'a [(&'a str, Option<LineEnd>)];

    #[test]
    fn line_ends_of_every_kind() {
        use LineEnd::{Cr, Crlf, Lf};
        let cases: &[(&[u8], Lines, bool)] = &[
            (b"", &[], false),
            (b"a", &[("a", None)], true),
            (b"a\r\nb\n", &[("a", Some(Crlf)), ("b", Some(Lf))], false),
            (b"a\r", &[("a", Some(Cr))], false),
            (b"\r\r\n", &[("", Some(Cr)), ("", Some(Crlf))], false),
            (b"\n\r", &[("", Some(Lf)), ("", Some(Cr))], false),
            (
                b"x\r\ry",
                &[("x", Some(Cr)), ("", Some(Cr)), ("y", None)],
                true,
            ),
            (b"\xe9\0\r\n", &[("\u{fffd}\0", Some(Crlf))], false),
        ];
        for (input, want, want_open) in cases {
            let want: Vec<_> = want.iter().map(|(t, e)| (t.to_string(), *e)).collect();
            for cut in 0..=input.len() {
                let (events, open, _) = split(&[&input[..cut], &input[cut..]]);
                assert_eq!(events.0, want, "{input:?} cut at {cut}");
                assert_eq!(open, *want_open, "{input:?}");
            }
        }
    }

    #[test]
    fn long_lines_are_counted_when_they_end() {
        let mut input = vec![b'a'; MAX_LINE];
        input.extend_from_slice(b"\r\n");
        input.extend(vec![b'b'; MAX_LINE + 1]);
        input.extend_from_slice(b"\n");
        input.extend(vec![b'c'; 1500]);
        let mut splitter = Splitter::new();
        let mut events = Events::default();
        for chunk in input.chunks(7) {
            let _ = splitter.feed(chunk, &mut events);
        }
        assert_eq!(
            splitter.long_lines(),
            1,
            "the open last line is not yet counted"
        );
        let (_, open, splitter) = split(&[&input]);
        assert!(open);
        assert_eq!(splitter.long_lines(), 2);
        assert_eq!(
            splitter.first_long_line(),
            Some(LongLine {
                number: 2,
                len: 999
            })
        );
    }

    #[test]
    fn a_break_stops_the_split() {
        struct FirstLine(Vec<u8>);
        impl LineSink for FirstLine {
            fn text(&mut self, run: &[u8], _: bool) -> ControlFlow<()> {
                self.0.extend_from_slice(run);
                ControlFlow::Continue(())
            }
            fn line_end(&mut self, _: LineEnd) -> ControlFlow<()> {
                ControlFlow::Break(())
            }
        }
        let mut sink = FirstLine(Vec::new());
        let mut splitter = Splitter::new();
        assert!(splitter.feed(b"one\ntwo\n", &mut sink).is_break());
        assert_eq!(sink.0, b"one");
        // A CR at the end of a chunk is left pending, and said so.
        let mut splitter = Splitter::new();
        assert!(splitter.feed(b"one\r", &mut sink).is_continue());
        assert!(splitter.cr_pending());
    }

    proptest::proptest! {
        /// Whatever the input and however it is split, the same lines.
        #[test]
        fn the_same_lines_whatever_the_split(
            input in proptest::collection::vec(proptest::sample::select(b"a.\r\n\0\xe9".to_vec()), 0..200),
            size in 1usize..17,
        ) {
            let chunks: Vec<&[u8]> = input.chunks(size).collect();
            let (events, open, _) = split(&chunks);
            let (whole, whole_open, _) = split(&[&input]);
            proptest::prop_assert_eq!(events, whole);
            proptest::prop_assert_eq!(open, whole_open);
        }

        /// The word-at-a-time search finds what a byte-by-byte one finds, near-misses included.
        #[test]
        fn line_end_search_is_exact(
            input in proptest::collection::vec(proptest::sample::select(
                b"\r\n\x0b\x0c\x0e\x09\x8a\x8d\x00\xffa".to_vec()), 0..40),
            skip in 0usize..8,
        ) {
            let s = &input[skip.min(input.len())..];
            proptest::prop_assert_eq!(
                find_line_end(s),
                s.iter().position(|&b| b == b'\r' || b == b'\n')
            );
        }
    }
}
