//! The spool of a regular-file input used in place (issue 6: a 50 MB message spent most of its extra
//! time over curl copying an input that was already complete on disk). One pass over the file gathers
//! the same [`SpoolStats`] as the copying spool and keeps only the normalised head (what the header scan
//! reads); at send time the body is read again from the original file with positional reads and
//! normalised on the way out by the same state machine, so `SIZE=` (RFC 1870 §3) and the bytes on the
//! wire are what the copying spool would have given.
//!
//! Nothing partial or different is ever sent (spec §1, catalogue 43): the reader stops at the length
//! seen in the first pass (a file that grew is cut there), and a file that became shorter, or whose
//! normalised length no longer matches, fails the read with an io error before the end of the data
//! goes out, so the session drops the connection instead (exit 74).

use std::fs::File;
use std::io::{self, Read, Seek};
use std::os::unix::fs::FileExt;

use super::{BLOCK, Normaliser, SpoolStats};
use crate::message::headers::HEAD_SCAN_LEN;

/// The message as the original file, from `start` for `raw_len` octets, plus what the first pass kept.
#[derive(Debug)]
pub(super) struct Original {
    file: File,
    /// Where the message starts in the file: standard input may have been read from already.
    start: u64,
    raw_len: u64,
    /// The first [`HEAD_SCAN_LEN`] octets of the normalised message.
    head: Vec<u8>,
    /// One flag per line end within `head` (see `Spooled::crlf_ends`).
    crlf_ends: Vec<bool>,
}

impl Original {
    /// The first pass: reads `file` from its current position to its end (leaving its cursor there, as
    /// the copying spool does), normalising only to count.
    pub(super) fn scan(file: File) -> io::Result<(Original, SpoolStats)> {
        let start = (&file).stream_position()?;
        let head_len = HEAD_SCAN_LEN as u64;
        let mut norm = Normaliser::recording(head_len);
        let mut head = Vec::new();
        let mut raw_len = 0u64;
        let mut block = vec![0u8; BLOCK];
        let mut out = Vec::with_capacity(2 * BLOCK);
        loop {
            let n = match (&file).read(&mut block) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            raw_len += n as u64;
            out.clear();
            norm.feed(&block[..n], &mut out);
            keep_head(&mut head, &out);
        }
        out.clear();
        norm.finish(&mut out);
        keep_head(&mut head, &out);
        let (stats, crlf_ends) = norm.into_parts();
        let original = Original {
            file,
            start,
            raw_len,
            head,
            crlf_ends,
        };
        Ok((original, stats))
    }

    /// The first `max` normalised octets; from memory unless more than the kept head is asked for.
    pub(super) fn head(&self, max: usize, len: u64) -> io::Result<Vec<u8>> {
        if max <= self.head.len() || self.head.len() as u64 == len {
            return Ok(self.head[..max.min(self.head.len())].to_vec());
        }
        let mut head = Vec::new();
        self.reader_from(0, len)?
            .take(u64::try_from(max).unwrap_or(u64::MAX))
            .read_to_end(&mut head)?;
        Ok(head)
    }

    /// Normalised octets [offset, len). `offset` must be 0, `len`, the end of a leading byte order
    /// mark, or a line start within the head:
    /// anywhere else its position in the file is unknown, and it is an error rather than a guess.
    pub(super) fn reader_from(&self, offset: u64, len: u64) -> io::Result<Box<dyn Read + '_>> {
        if offset >= len {
            return Ok(Box::new(io::empty()));
        }
        let raw = self.raw_offset(offset).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("offset {offset} of the message is not a known line start"),
            )
        })?;
        Ok(Box::new(OriginalReader {
            file: &self.file,
            pos: self.start + raw,
            end: self.start + self.raw_len,
            norm: Normaliser::new(false),
            raw: vec![0u8; BLOCK],
            out: Vec::with_capacity(2 * BLOCK),
            out_pos: 0,
            left: len - offset,
            finished: false,
        }))
    }

    /// The input offset of the normalised line start `offset`: every line end before it that was a lone
    /// CR or LF in the input is one octet shorter there than its normalised CRLF.
    fn raw_offset(&self, offset: u64) -> Option<u64> {
        if offset == 0 {
            return Some(0);
        }
        let at = usize::try_from(offset).ok()?;
        let before = self.head.get(..at)?;
        // The end of a leading byte order mark is where the text starts when the header scan skips
        // it (issue 10, point 3); no line end precedes it, so it is the same offset in the file.
        if before == crate::message::headers::BOM {
            return Some(offset);
        }
        if before.last() != Some(&b'\n') {
            return None;
        }
        // In normalised text every LF ends a CRLF, so the LFs before `at` count the line ends.
        let ends = before.iter().filter(|&&b| b == b'\n').count();
        let lone = self.crlf_ends.get(..ends)?.iter().filter(|&&c| !c).count();
        Some(offset - lone as u64)
    }
}

/// Keeps the start of the normalised message, up to [`HEAD_SCAN_LEN`] octets.
fn keep_head(head: &mut Vec<u8>, out: &[u8]) {
    let room = HEAD_SCAN_LEN.saturating_sub(head.len());
    head.extend_from_slice(&out[..room.min(out.len())]);
}

/// Reads the original file from a line start to the recorded end, normalising as it goes.
struct OriginalReader<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
    norm: Normaliser,
    raw: Vec<u8>,
    /// Normalised octets not yet handed out: `out[out_pos..]`.
    out: Vec<u8>,
    out_pos: usize,
    /// Normalised octets still expected, from the first pass.
    left: u64,
    finished: bool,
}

impl OriginalReader<'_> {
    /// Normalises the next block into `out`, checking it against what the first pass saw.
    fn refill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.out_pos = 0;
        if self.pos < self.end {
            let want = usize::try_from(self.end - self.pos)
                .unwrap_or(usize::MAX)
                .min(self.raw.len());
            let n = loop {
                match self.file.read_at(&mut self.raw[..want], self.pos) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other?,
                }
            };
            if n == 0 {
                return Err(changed("became shorter"));
            }
            self.pos += n as u64;
            self.norm.feed(&self.raw[..n], &mut self.out);
        } else {
            self.norm.finish(&mut self.out);
            self.finished = true;
        }
        let got = self.out.len() as u64;
        if got > self.left || (self.finished && got != self.left) {
            return Err(changed("changed"));
        }
        self.left -= got;
        Ok(())
    }
}

fn changed(how: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("the message file {how} after it was read; nothing more is sent"),
    )
}

impl Read for OriginalReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_pos == self.out.len() {
            if self.finished || buf.is_empty() {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Seek, SeekFrom, Write};

    use super::super::{Spool, Store};
    use super::*;
    use crate::message::headers;

    fn file_with(bytes: &[u8]) -> File {
        let mut f = tempfile::tempfile().expect("tempfile");
        f.write_all(bytes).expect("write");
        f.seek(SeekFrom::Start(0)).expect("seek");
        f
    }

    fn in_place(bytes: &[u8]) -> Spool {
        let s = Spool::from_file(file_with(bytes)).expect("spool");
        assert!(matches!(s.store, Store::Original(_)), "used in place");
        s
    }

    fn read_all(s: &Spool, offset: u64) -> io::Result<Vec<u8>> {
        let mut v = Vec::new();
        s.reader_from(offset)?.read_to_end(&mut v)?;
        Ok(v)
    }

    /// Normalised offsets of every line start the head holds.
    fn line_starts(head: &[u8]) -> Vec<u64> {
        let mut starts = vec![0];
        starts.extend(
            head.iter()
                .enumerate()
                .filter(|&(_, &b)| b == b'\n')
                .map(|(i, _)| i as u64 + 1),
        );
        starts
    }

    /// Both spools of `input` agree on the statistics, the head and the text from every line start
    /// in the head (the body offset among them).
    fn assert_same_as_copy(input: &[u8]) {
        let copy = Spool::from_bytes(input);
        let orig = Spool::from_file(file_with(input)).expect("spool");
        assert_eq!(orig.stats(), copy.stats(), "input {input:?}");
        let head = copy.head(HEAD_SCAN_LEN).expect("head");
        assert_eq!(orig.head(HEAD_SCAN_LEN).expect("head"), head);
        assert_eq!(orig.head(5).expect("head"), copy.head(5).expect("head"));
        if let Ok(block) = headers::scan(&head) {
            assert_eq!(
                read_all(&orig, block.body_offset).expect("body"),
                read_all(&copy, block.body_offset).expect("body"),
                "body of {input:?}"
            );
        }
        for start in line_starts(&head) {
            assert_eq!(
                read_all(&orig, start).expect("read"),
                read_all(&copy, start).expect("read"),
                "input {input:?} from {start}"
            );
        }
    }

    #[test]
    fn every_line_end_style_reads_back_like_the_copy() {
        for input in [
            &b"Subject: x\n\nbody\nmore\n"[..],
            b"Subject: x\r\n\r\nbody\r\nmore\r\n",
            b"Subject: x\r\rbody\rmore\r",
            b"Subject: x\n\r\n\rbody\r\r\n\n.\nno end",
            b"To: a@x\r\n\r\n\xe9\0\n",
            b"no header line\n\n",
            b"Subject: no line end",
            b"\xef\xbb\xbfno header, a byte order mark\n",
            b"\xef\xbb\xbfSubject: x\r\n\r\nbody",
            b"From a@x Mon Jan  1 00:00:00 2024\nSubject: x\n\nbody\n",
        ] {
            assert_same_as_copy(input);
            in_place(input);
        }
    }

    #[test]
    fn line_ends_across_block_boundaries() {
        let mut input = b"Subject: x\n\n".to_vec();
        input.resize(BLOCK - 1, b'a');
        input.extend_from_slice(b"\r\nb\r");
        input.resize(2 * BLOCK, b'c');
        input.extend_from_slice(b"\n\rend");
        let orig = in_place(&input);
        let copy = Spool::from_bytes(&input);
        assert_eq!(orig.stats(), copy.stats());
        assert_eq!(
            read_all(&orig, 0).expect("read"),
            read_all(&copy, 0).expect("read")
        );
        assert_eq!(
            read_all(&orig, 14).expect("read"),
            read_all(&copy, 14).expect("read")
        );
    }

    #[test]
    fn head_longer_than_kept_is_streamed() {
        let mut input = Vec::new();
        while input.len() < HEAD_SCAN_LEN + 10_000 {
            input.extend_from_slice(b"X-Line: some text\n");
        }
        let orig = in_place(&input);
        let copy = Spool::from_bytes(&input);
        let want = copy.head(HEAD_SCAN_LEN + 5000).expect("head");
        assert_eq!(orig.head(HEAD_SCAN_LEN + 5000).expect("head"), want);
        assert_eq!(
            orig.head(usize::MAX).expect("head"),
            read_all(&copy, 0).expect("all")
        );
    }

    #[test]
    fn starts_at_the_current_position_and_ends_at_eof() {
        let mut f = file_with(b"skipped line\nSubject: x\n\nbody\n");
        f.seek(SeekFrom::Start(13)).expect("seek");
        let s = Spool::from_file(f.try_clone().expect("dup")).expect("spool");
        assert!(matches!(s.store, Store::Original(_)));
        assert_eq!(
            s.stats(),
            Spool::from_bytes(b"Subject: x\n\nbody\n").stats()
        );
        assert_eq!(
            read_all(&s, 0).expect("read"),
            b"Subject: x\r\n\r\nbody\r\n"
        );
        assert_eq!(read_all(&s, 14).expect("read"), b"body\r\n");
        // Like the copying spool, the input is left consumed (the cursor is shared with the caller).
        assert_eq!(f.stream_position().expect("position"), 30);
    }

    #[test]
    fn only_line_starts_in_the_head_are_offsets() {
        let s = in_place(b"Subject: x\n\nbody\n");
        assert_eq!(read_all(&s, 14).expect("line start"), b"body\r\n");
        for bad in [3, 11, 15] {
            let err = read_all(&s, bad).expect_err("not a line start");
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "offset {bad}");
        }
        // The end (or beyond) is an empty body, as with the copying spool.
        assert_eq!(read_all(&s, s.len()).expect("end"), b"");
        assert_eq!(read_all(&s, s.len() + 9).expect("beyond"), b"");
        // A line start past the kept head is unknown.
        let mut big = Vec::new();
        while big.len() < HEAD_SCAN_LEN + 100 {
            big.extend_from_slice(b"0123456789\n");
        }
        let s = in_place(&big);
        let past = (HEAD_SCAN_LEN as u64 / 12 + 2) * 12;
        assert!(read_all(&s, past).is_err());
    }

    #[test]
    fn a_truncated_file_fails_the_read() {
        let input = b"Subject: x\n\nbody line\n".repeat(10_000);
        let f = file_with(&input);
        let s = Spool::from_file(f.try_clone().expect("dup")).expect("spool");
        f.set_len(input.len() as u64 - 100).expect("truncate");
        let err = read_all(&s, 0).expect_err("truncated");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(err.to_string().contains("became shorter"), "{err}");
    }

    #[test]
    fn growth_is_ignored() {
        let f = file_with(b"Subject: x\n\nbody\r");
        let s = Spool::from_file(f.try_clone().expect("dup")).expect("spool");
        // The appended LF would have made the CR a CRLF; the first pass did not see it, nor does the send.
        (&f).write_all(b"\nmore text\n").expect("append");
        assert_eq!(
            read_all(&s, 0).expect("read"),
            b"Subject: x\r\n\r\nbody\r\n"
        );
        assert_eq!(s.len(), 20);
    }

    #[test]
    fn a_changed_length_fails_the_read() {
        let f = file_with(b"Subject: x\n\nbody\n");
        let s = Spool::from_file(f.try_clone().expect("dup")).expect("spool");
        // Same file length, one more line end once normalised.
        f.write_all_at(b"\n", 13).expect("overwrite");
        assert!(read_all(&s, 0).is_err());
        // And one fewer.
        f.write_all_at(b"Subject: x\r\n\r\nbod", 0)
            .expect("overwrite");
        let err = read_all(&s, 0).expect_err("changed");
        assert!(err.to_string().contains("changed"), "{err}");
    }

    #[test]
    fn pipes_and_empty_files_are_copied() {
        let (reader, mut writer) = io::pipe().expect("pipe");
        writer.write_all(b"Subject: x\n\nbody\n").expect("write");
        drop(writer);
        let s = Spool::from_file(File::from(std::os::fd::OwnedFd::from(reader))).expect("spool");
        assert!(matches!(s.store, Store::Memory(_)));
        assert_eq!(read_all(&s, 14).expect("read"), b"body\r\n");
        let s = Spool::from_file(file_with(b"")).expect("spool");
        assert!(matches!(s.store, Store::Memory(_)));
        assert!(s.is_empty());
    }

    proptest::proptest! {
        /// Whatever the input: the same statistics, head and text from every line start as the copy.
        #[test]
        fn same_as_the_copying_spool(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                &b"To: a@x"[..], b"Subject: s", b" folded", b"body", b".", b"\r", b"\n", b"\r\n",
                b"\0", b"\xe9", b"x", &[b'y'; 500],
            ]), 0..60),
        ) {
            let input = pieces.concat();
            assert_same_as_copy(&input);
        }
    }
}
