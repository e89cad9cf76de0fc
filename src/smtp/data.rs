//! The message data as sent: streaming line-end normalisation and dot-stuffing (RFC 5321 §2.3.8,
//! §4.1.1.4, §4.5.2; RFC 3030 §2 for BDAT).
//!
//! Every bare CR and every bare LF becomes CRLF (so `\r\r\n` becomes `\r\n\r\n`), and only then, in the
//! DATA form, does a line starting with `.` get a second `.` (RFC 5321 §4.5.2). Normalising first is what
//! defeats SMTP smuggling (CVE-2023-51764/51765/51766, catalogue item 15): no `\n.\r\n` or `\r.\r\n`
//! survives to be read as the end of data by a server that accepts bare line ends. The encoder is
//! streaming, so a spooled 50 MB message goes through in chunks; any split of the input gives the same
//! output. Where lines end is decided by [`crate::lines::Splitter`], the same state machine the
//! spool uses; this module adds only the wire form (dot-stuffing, the terminator).
//!
//! An empty message sent with DATA is just the terminator `.\r\n`: RFC 5321 §4.1.1.4 ends the data with
//! a line holding only `.`, the first CRLF of `<CRLF>.<CRLF>` being the end of the last data line, and
//! an empty message has no data line (the DATA command's own CRLF precedes it). smtplib sends `\r\n.\r\n`
//! for `''`, which adds an empty line to the message; we do not.

use std::ops::ControlFlow;

use crate::lines::{LineEnd, LineSink, Splitter};

/// Turns message bytes into the bytes on the wire, chunk by chunk.
#[derive(Debug, Clone)]
pub struct DataEncoder {
    /// Double a leading dot and end with `.\r\n` (DATA); else normalise line ends only (BDAT).
    dot_stuffing: bool,
    /// Where lines end, and how many are over 998 octets (the line-end rules live there).
    lines: Splitter,
    finished: bool,
}

/// The wire form of the lines of one chunk: CRLF for every line end, a second `.` before a line
/// starting with `.` when stuffing.
struct Wire<'a> {
    out: &'a mut Vec<u8>,
    dot_stuffing: bool,
}

impl LineSink for Wire<'_> {
    fn text(&mut self, run: &[u8], line_start: bool) -> ControlFlow<()> {
        if line_start && self.dot_stuffing && run.first() == Some(&b'.') {
            self.out.push(b'.');
        }
        self.out.extend_from_slice(run);
        ControlFlow::Continue(())
    }

    fn line_end(&mut self, _: LineEnd) -> ControlFlow<()> {
        self.out.extend_from_slice(b"\r\n");
        ControlFlow::Continue(())
    }
}

impl DataEncoder {
    /// For DATA: CRLF normalisation, dot-stuffing, and the `.\r\n` terminator from [`DataEncoder::finish`].
    pub fn dot_stuffing() -> DataEncoder {
        DataEncoder::new(true)
    }

    /// For BDAT (RFC 3030 §2: no stuffing, no terminator) and the queue's data files: CRLF
    /// normalisation only.
    pub fn plain() -> DataEncoder {
        DataEncoder::new(false)
    }

    fn new(dot_stuffing: bool) -> DataEncoder {
        DataEncoder {
            dot_stuffing,
            lines: Splitter::new(),
            finished: false,
        }
    }

    /// Encodes the next chunk of the message, appending to `out`. One encoder serves one message:
    /// nothing may be encoded after [`DataEncoder::finish`].
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len() + input.len() / 64);
        let mut wire = Wire {
            out,
            dot_stuffing: self.dot_stuffing,
        };
        // The wire never stops a split.
        let _ = self.lines.feed(input, &mut wire);
    }

    /// Ends the data: a last line without a line end gets CRLF, then the DATA form appends `.\r\n`.
    /// Empty input gives nothing in the plain form and `.\r\n` alone in the DATA form (see the module
    /// comment). Calling it again adds nothing.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.finished {
            return;
        }
        self.finished = true;
        let mut wire = Wire {
            out,
            dot_stuffing: self.dot_stuffing,
        };
        if self.lines.finish(&mut wire) {
            out.extend_from_slice(b"\r\n");
        }
        if self.dot_stuffing {
            out.extend_from_slice(b".\r\n");
        }
    }

    /// Lines longer than 998 octets (CRLF excluded, RFC 5321 §4.5.3.1.6) ended so far; the last line
    /// counts once [`DataEncoder::finish`] has ended it.
    pub fn long_lines(&self) -> u64 {
        self.lines.long_lines()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode_chunks(encoder: &mut DataEncoder, chunks: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in chunks {
            encoder.encode(chunk, &mut out);
        }
        out
    }

    /// The DATA form without and with `finish`, checked to be the same for every split into two chunks
    /// and for byte-by-byte input (catalogue item 16: every chunk split position).
    fn stuffed(input: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut encoder = DataEncoder::dot_stuffing();
        let body = encode_chunks(&mut encoder, &[input]);
        let mut full = body.clone();
        encoder.finish(&mut full);
        for cut in 0..=input.len() {
            let mut split = DataEncoder::dot_stuffing();
            let mut out = encode_chunks(&mut split, &[&input[..cut], &input[cut..]]);
            split.finish(&mut out);
            assert_eq!(out, full, "split at {cut} of {input:?}");
        }
        let mut bytewise = DataEncoder::dot_stuffing();
        let chunks: Vec<&[u8]> = input.chunks(1).collect();
        let mut out = encode_chunks(&mut bytewise, &chunks);
        bytewise.finish(&mut out);
        assert_eq!(out, full, "byte by byte {input:?}");
        (body, full)
    }

    fn plain(input: &[u8]) -> Vec<u8> {
        let mut encoder = DataEncoder::plain();
        let mut out = encode_chunks(&mut encoder, &[input]);
        encoder.finish(&mut out);
        out
    }

    // Catalogue item 15 (SMTP smuggling): exact wire bytes.
    #[test]
    fn smuggling_bare_lf_before_dot() {
        assert_eq!(stuffed(b"A\n.\r\nM").0, b"A\r\n..\r\nM");
    }

    #[test]
    fn smuggling_dot_before_bare_lf() {
        assert_eq!(stuffed(b"C\r\n.\nD").0, b"C\r\n..\r\nD");
    }

    #[test]
    fn smuggling_bare_cr_around_dot() {
        assert_eq!(stuffed(b"D\r.\r\nE").0, b"D\r\n..\r\nE");
    }

    #[test]
    fn smuggling_cr_cr_lf_is_two_line_ends() {
        assert_eq!(stuffed(b"\r\r\n").0, b"\r\n\r\n");
        assert_eq!(plain(b"\r\r\n"), b"\r\n\r\n");
    }

    // Catalogue item 16: dot-stuffing edges.
    #[test]
    fn dot_first_line_is_stuffed() {
        assert_eq!(stuffed(b".\r\nbody\r\n").1, b"..\r\nbody\r\n.\r\n");
    }

    #[test]
    fn dot_only_body() {
        assert_eq!(stuffed(b".").1, b"..\r\n.\r\n");
        assert_eq!(stuffed(b".\r\n").1, b"..\r\n.\r\n");
    }

    #[test]
    fn dot_dot() {
        assert_eq!(stuffed(b"..").1, b"...\r\n.\r\n");
    }

    #[test]
    fn dot_after_two_line_ends() {
        // lettre RUSTSEC-2021-0069.
        assert_eq!(stuffed(b"a\r\n\r\n.\r\n").1, b"a\r\n\r\n..\r\n.\r\n");
        assert_eq!(stuffed(b"a\n\n.\n").1, b"a\r\n\r\n..\r\n.\r\n");
    }

    #[test]
    fn final_line_without_newline() {
        // curl test 910.
        assert_eq!(stuffed(b"a\r\nlast").1, b"a\r\nlast\r\n.\r\n");
        assert_eq!(stuffed(b"a\r\nlast\r").1, b"a\r\nlast\r\n.\r\n");
    }

    #[test]
    fn smtplib_quotedata() {
        assert_eq!(
            stuffed(b"abc\n.jkl\rfoo\r\n..blue").0,
            b"abc\r\n..jkl\r\nfoo\r\n...blue"
        );
    }

    #[test]
    fn smtplib_data_examples() {
        assert_eq!(
            stuffed(b".A test\n.mes.sage.").1,
            b"..A test\r\n..mes.sage.\r\n.\r\n"
        );
        assert_eq!(
            stuffed(b"Subject: hi\n\nHello\n.dot line\nlast").1,
            b"Subject: hi\r\n\r\nHello\r\n..dot line\r\nlast\r\n.\r\n"
        );
    }

    #[test]
    fn empty_message_is_the_terminator_alone() {
        // smtplib sends "\r\n.\r\n"; we send no data line at all (module comment).
        assert_eq!(stuffed(b"").1, b".\r\n");
        assert_eq!(plain(b""), b"");
    }

    #[test]
    fn empty_lines_are_kept() {
        assert_eq!(stuffed(b"\n").1, b"\r\n.\r\n");
        assert_eq!(stuffed(b"\r\n\r\n").1, b"\r\n\r\n.\r\n");
    }

    #[test]
    fn plain_normalises_without_stuffing() {
        assert_eq!(plain(b".x\n.\n"), b".x\r\n.\r\n");
        assert_eq!(plain(b"a"), b"a\r\n");
        assert_eq!(plain(b"a\r"), b"a\r\n");
        assert_eq!(plain(b"a\rb\nc\r\n"), b"a\r\nb\r\nc\r\n");
    }

    #[test]
    fn finish_twice_adds_nothing() {
        let mut encoder = DataEncoder::dot_stuffing();
        let mut out = Vec::new();
        encoder.encode(b"x", &mut out);
        encoder.finish(&mut out);
        encoder.finish(&mut out);
        assert_eq!(out, b"x\r\n.\r\n");
    }

    #[test]
    fn long_lines_are_counted() {
        let mut input = vec![b'a'; 998];
        input.extend_from_slice(b"\r\n.");
        input.extend(vec![b'b'; 998]);
        input.extend_from_slice(b"\n");
        input.extend(vec![b'c'; 1500]);
        let mut encoder = DataEncoder::dot_stuffing();
        let mut out = Vec::new();
        for chunk in input.chunks(7) {
            encoder.encode(chunk, &mut out);
        }
        // The stuffed dot is not counted, but the original one is: ".bbb…" is 999 octets.
        assert_eq!(encoder.long_lines(), 1);
        encoder.finish(&mut out);
        assert_eq!(encoder.long_lines(), 2);
    }

    /// A byte-by-byte model of the rules, to check the fast encoder against.
    fn reference_normalise(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < input.len() {
            match input[i] {
                b'\r' if input.get(i + 1) == Some(&b'\n') => {
                    out.extend_from_slice(b"\r\n");
                    i += 1;
                }
                b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
                b => out.push(b),
            }
            i += 1;
        }
        if !out.is_empty() && !out.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    fn has_bare_cr_or_lf(data: &[u8]) -> bool {
        data.iter().enumerate().any(|(i, &b)| match b {
            b'\r' => data.get(i + 1) != Some(&b'\n'),
            b'\n' => i == 0 || data[i - 1] != b'\r',
            _ => false,
        })
    }

    fn input_bytes() -> impl Strategy<Value = Vec<u8>> {
        // Mostly the bytes that matter, some of anything.
        let interesting = proptest::sample::select(&b"\r\n.\r\n.ax"[..]);
        proptest::collection::vec(prop_oneof![4 => interesting, 1 => any::<u8>()], 0..200)
    }

    fn split(input: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut from = 0;
        for cut in cuts {
            chunks.push(input[from..cut].to_vec());
            from = cut;
        }
        chunks.push(input[from..].to_vec());
        chunks
    }

    proptest! {
        #[test]
        fn dot_stuffing_property(input in input_bytes(), cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
            let mut whole = DataEncoder::dot_stuffing();
            let mut expected = Vec::new();
            whole.encode(&input, &mut expected);
            whole.finish(&mut expected);

            let mut encoder = DataEncoder::dot_stuffing();
            let mut out = Vec::new();
            for chunk in split(&input, &cuts) {
                encoder.encode(&chunk, &mut out);
            }
            encoder.finish(&mut out);
            prop_assert_eq!(&out, &expected);
            prop_assert_eq!(encoder.long_lines(), whole.long_lines());

            prop_assert!(!has_bare_cr_or_lf(&out));
            // The start of the data counts as a line start: "\r\n.\r\n" occurs once, at the very end.
            let seen = [b"\r\n".as_slice(), &out].concat();
            let ends = seen.windows(5).filter(|w| *w == b"\r\n.\r\n").count();
            prop_assert_eq!(ends, 1);
            prop_assert!(seen.ends_with(b"\r\n.\r\n"));

            // Removing the terminator and the stuffed dots gives the normalised input back.
            let body = &out[..out.len() - 3];
            let mut unstuffed = Vec::new();
            for line in body.split_inclusive(|&b| b == b'\n') {
                unstuffed.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
            }
            prop_assert_eq!(unstuffed, reference_normalise(&input));
        }

        #[test]
        fn plain_property(input in input_bytes(), cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
            let mut encoder = DataEncoder::plain();
            let mut out = Vec::new();
            for chunk in split(&input, &cuts) {
                encoder.encode(&chunk, &mut out);
            }
            encoder.finish(&mut out);
            prop_assert!(!has_bare_cr_or_lf(&out));
            prop_assert_eq!(out, reference_normalise(&input));
        }
    }
}
