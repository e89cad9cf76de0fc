//! The input spool: the whole message is read before any connection is opened (spec §1; catalogue 43:
//! a producer killed mid-stream, as cronie does, must never lead to a partial message on the wire).
//!
//! While spooling, every line end is normalised to CRLF by [`crate::lines::Splitter`] (RFC 5321
//! §2.3.8: bare CR and bare LF are not line ends on the wire; catalogue 15, SMTP smuggling), the same
//! rules the data encoder follows, so the spool length is the exact `SIZE=`
//! (RFC 1870 §3) and later passes only ever see CRLF. The same pass notes 8-bit bytes (RFC 6152
//! `BODY=8BITMIME`) and lines over 998 octets (RFC 5321 §4.5.3.1.6, RFC 5322 §2.1.1).
//! Small inputs stay in memory; past [`MEMORY_LIMIT`] they go to an unlinked 0600 temporary file, and
//! memory stays flat whatever the size. An input that is a regular file is already complete and is
//! not copied at all: it is read twice instead, once to count and once to send ([`original`]).

mod original;

use std::fs::{File, Permissions};
use std::io::{self, Read, Write};
use std::ops::ControlFlow;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileExt, PermissionsExt};

use original::Original;

pub use crate::lines::LongLine;
use crate::lines::{LineEnd, LineSink, Splitter};

/// Inputs up to this many (normalised) bytes stay in memory; larger ones go to a temporary file.
pub const MEMORY_LIMIT: usize = 1 << 20;

/// Input is read in blocks of this size.
const BLOCK: usize = 64 * 1024;

/// Why spooling failed: reading the input, or writing the spool file, which is a local failure of
/// this host and, when the disk is full, a temporary one (issue 10, point 15).
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("{0}")]
    Read(io::Error),
    #[error("{0}")]
    Write(io::Error),
}

/// EIO (5 on every Unix): the disk under the spool failed a write; worth a retry, like a full one.
const EIO: i32 = 5;

impl SpoolError {
    /// A full file system or quota, or an I/O error, on the spool file: temporary (spec §7), as room
    /// may be made. Any other write failure (no such directory, no permission) will not go away by
    /// itself, and a read failure is the input's.
    pub fn is_temporary(&self) -> bool {
        match self {
            SpoolError::Write(e) => {
                matches!(
                    e.kind(),
                    io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
                ) || e.raw_os_error() == Some(EIO)
            }
            SpoolError::Read(_) => false,
        }
    }
}

/// Facts gathered while spooling, used to choose MAIL parameters and to refuse unsendable input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpoolStats {
    /// Length of the normalised message in octets (the `SIZE=` value).
    pub len: u64,
    /// Some byte has the high bit set (RFC 6152).
    pub eight_bit: bool,
    /// Number of lines longer than 998 octets, CRLF excluded.
    pub long_lines: u64,
    /// The first of them, for the warning every run prints (issue 10, point 18).
    pub first_long_line: Option<LongLine>,
    /// Offset (in the normalised message) of the first bare CR, which became a line end. Inside the
    /// header section it is refused: a CR there splits a field (catalogue F40).
    pub first_bare_cr: Option<u64>,
}

/// The normalised message, in memory or in an unlinked temporary file (deleted when dropped), or the
/// original regular file, normalised whenever it is read.
#[derive(Debug)]
pub struct Spool {
    store: Store,
    stats: SpoolStats,
}

#[derive(Debug)]
enum Store {
    Memory(Vec<u8>),
    File(File),
    Original(Original),
}

/// Standard input as a [`File`] when it is a regular file (`mailsend < msg.eml`), for
/// [`Spool::from_file`]; pipes, terminals and sockets give `None` and are spooled by copying.
pub fn regular_stdin() -> Option<File> {
    let file = File::from(io::stdin().as_fd().try_clone_to_owned().ok()?);
    file.metadata().ok()?.file_type().is_file().then_some(file)
}

impl Spool {
    /// Reads `input` to end of file. When `dot_ends` (stdin is a terminal), a line holding a single "."
    /// ends the input (that line is not part of the message). Line ends are normalised to CRLF while
    /// spooling (every bare CR and bare LF becomes CRLF) so that SIZE is exact and the later passes are
    /// simple.
    pub fn read_from(input: &mut dyn Read, dot_ends: bool) -> Result<Spool, SpoolError> {
        Spool::read_into(input, dot_ends, &private_tempfile)
    }

    /// [`Spool::read_from`] with the spool file made by `spool_file` (a test gives /dev/full).
    fn read_into(
        input: &mut dyn Read,
        dot_ends: bool,
        spool_file: &dyn Fn() -> io::Result<File>,
    ) -> Result<Spool, SpoolError> {
        let mut norm = Normaliser::new(dot_ends);
        let mut store = Store::Memory(Vec::new());
        let mut block = vec![0u8; BLOCK];
        let mut out = Vec::with_capacity(2 * BLOCK);
        loop {
            let n = match input.read(&mut block) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(SpoolError::Read(e)),
            };
            out.clear();
            let ended = norm.feed(&block[..n], &mut out);
            store.append(&out, spool_file).map_err(SpoolError::Write)?;
            if ended {
                break;
            }
        }
        out.clear();
        norm.finish(&mut out);
        store.append(&out, spool_file).map_err(SpoolError::Write)?;
        if let Store::File(f) = &mut store {
            f.flush().map_err(SpoolError::Write)?;
        }
        Ok(Spool {
            store,
            stats: norm.into_parts().0,
        })
    }

    /// Spools an opened input from its current position. A regular file with something left to read
    /// is used in place: one pass gathers the statistics and the head, and the readers normalise the
    /// file again as they go. Anything else (a pipe, a device, an empty file) is copied by
    /// [`Spool::read_from`].
    pub fn from_file(file: File) -> Result<Spool, SpoolError> {
        let meta = file.metadata().map_err(SpoolError::Read)?;
        // Only a regular file has a position (a pipe's lseek fails with ESPIPE).
        if !meta.file_type().is_file()
            || meta.len() <= io::Seek::stream_position(&mut &file).map_err(SpoolError::Read)?
        {
            return Spool::read_from(&mut &file, false);
        }
        let (original, stats) = Original::scan(file).map_err(SpoolError::Read)?;
        Ok(Spool {
            store: Store::Original(original),
            stats,
        })
    }

    /// The same normalisation over a byte slice, always kept in memory (for tests and small inputs).
    pub fn from_bytes(bytes: &[u8]) -> Spool {
        let mut norm = Normaliser::new(false);
        let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 8);
        norm.feed(bytes, &mut out);
        norm.finish(&mut out);
        Spool {
            store: Store::Memory(out),
            stats: norm.into_parts().0,
        }
    }

    pub fn stats(&self) -> &SpoolStats {
        &self.stats
    }

    /// Length of the normalised message in octets.
    pub fn len(&self) -> u64 {
        self.stats.len
    }

    pub fn is_empty(&self) -> bool {
        self.stats.len == 0
    }

    /// A reader over bytes [offset, len) of the normalised message, streaming from the file if spooled.
    pub fn reader_from(&self, offset: u64) -> io::Result<Box<dyn Read + '_>> {
        let start = offset.min(self.stats.len);
        Ok(match &self.store {
            Store::Memory(v) => Box::new(&v[usize::try_from(start).unwrap_or(v.len())..]),
            Store::File(f) => Box::new(FileRange {
                file: f,
                pos: start,
                end: self.stats.len,
            }),
            Store::Original(o) => o.reader_from(offset, self.stats.len)?,
        })
    }

    /// The first `max` bytes (for the header scan), without reading the whole file.
    pub fn head(&self, max: usize) -> io::Result<Vec<u8>> {
        if let Store::Original(o) = &self.store {
            return o.head(max, self.stats.len);
        }
        let mut head = Vec::new();
        self.reader_from(0)?
            .take(u64::try_from(max).unwrap_or(u64::MAX))
            .read_to_end(&mut head)?;
        Ok(head)
    }
}

impl Store {
    /// Appends normalised bytes, moving to a temporary file once the memory limit would be passed.
    fn append(
        &mut self,
        bytes: &[u8],
        spool_file: &dyn Fn() -> io::Result<File>,
    ) -> io::Result<()> {
        match self {
            Store::Memory(v) if v.len() + bytes.len() <= MEMORY_LIMIT => {
                v.extend_from_slice(bytes);
            }
            Store::Memory(v) => {
                let mut f = spool_file()?;
                f.write_all(v)?;
                f.write_all(bytes)?;
                *self = Store::File(f);
            }
            Store::File(f) => f.write_all(bytes)?,
            // Only read_from appends, to a store it created; an input used in place is never written.
            Store::Original(_) => {
                return Err(io::Error::other(
                    "the message file itself is never written to",
                ));
            }
        }
        Ok(())
    }
}

/// The spool file. tempfile() leaves no name behind (nothing remains if we are killed), but on
/// Linux it uses O_TMPFILE with the umask's mode (often 0644). The spool must be private (spec §1)
/// and may later be linked into a queue (§9), so it is made 0600 before the first byte is written.
fn private_tempfile() -> io::Result<File> {
    let f = tempfile::tempfile()?;
    f.set_permissions(Permissions::from_mode(0o600))?;
    Ok(f)
}

/// A reader over a byte range of the spool file. Positional reads (pread) leave the file's cursor
/// alone, so several readers over one spool do not disturb each other.
struct FileRange<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for FileRange<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_sub(self.pos);
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "spool file shorter than its recorded length",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// The spool's normaliser: [`Splitter`] decides where lines end (the same rules as the data
/// encoder's), [`Spooled`] writes each as CRLF and gathers the statistics.
struct Normaliser {
    lines: Splitter,
    spooled: Spooled,
}

/// What the spool keeps of the lines: the statistics, and the line-start "." of a terminal.
struct Spooled {
    dot_ends: bool,
    /// A "." was seen at the start of a line; it is the terminator if the line ends right after it.
    pending_dot: bool,
    /// The terminator line was seen: everything after it is ignored.
    done: bool,
    stats: SpoolStats,
    /// Line ends are recorded in [`Spooled::crlf_ends`] while the normalised length stays within this.
    record_limit: u64,
    /// For each line end, in order, within `record_limit`: whether the input had CRLF there (two octets)
    /// rather than a lone CR or LF (one octet). This maps a normalised line start back to its input
    /// position when the input is used in place.
    crlf_ends: Vec<bool>,
}

/// [`Spooled`] writing one block's lines onto `out`.
struct Writer<'a> {
    spooled: &'a mut Spooled,
    out: &'a mut Vec<u8>,
}

impl Normaliser {
    fn new(dot_ends: bool) -> Self {
        Normaliser {
            lines: Splitter::new(),
            spooled: Spooled {
                dot_ends,
                pending_dot: false,
                done: false,
                stats: SpoolStats::default(),
                record_limit: 0,
                crlf_ends: Vec::new(),
            },
        }
    }

    /// A normaliser that records the kind of each line end within the first `limit` octets.
    fn recording(limit: u64) -> Self {
        let mut norm = Normaliser::new(false);
        norm.spooled.record_limit = limit;
        norm
    }

    /// Normalises `input` onto `out`; returns true once the terminating "." line was seen.
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> bool {
        if !self.spooled.done {
            let mut writer = Writer {
                spooled: &mut self.spooled,
                out,
            };
            let _ = self.lines.feed(input, &mut writer);
            // A terminal hands over the "." line with its line end as the last bytes of a read: the
            // byte after a CR will not come before the user types more, so ".\r" ends the input now.
            if self.spooled.pending_dot && self.lines.cr_pending() {
                self.spooled.done = true;
            }
        }
        self.spooled.done
    }

    /// End of input: a trailing CR is a line end. A trailing lone "." line is the terminator too. The
    /// statistics are complete after this.
    fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.spooled.done {
            self.lines.finish(&mut Writer {
                spooled: &mut self.spooled,
                out,
            });
        }
        self.spooled.pending_dot = false;
        self.spooled.stats.long_lines = self.lines.long_lines();
        self.spooled.stats.first_long_line = self.lines.first_long_line();
    }

    /// The statistics and the recorded line ends, after [`Normaliser::finish`].
    fn into_parts(self) -> (SpoolStats, Vec<bool>) {
        (self.spooled.stats, self.spooled.crlf_ends)
    }
}

impl Writer<'_> {
    fn write(&mut self, run: &[u8]) {
        self.out.extend_from_slice(run);
        let stats = &mut self.spooled.stats;
        stats.len += run.len() as u64;
        stats.eight_bit |= !stats.eight_bit && !run.is_ascii();
    }
}

impl LineSink for Writer<'_> {
    fn text(&mut self, run: &[u8], line_start: bool) -> ControlFlow<()> {
        if self.spooled.pending_dot {
            // The "." was the start of a longer line after all.
            self.spooled.pending_dot = false;
            self.write(b".");
        } else if self.spooled.dot_ends && line_start && run == b"." {
            self.spooled.pending_dot = true;
            return ControlFlow::Continue(());
        }
        self.write(run);
        ControlFlow::Continue(())
    }

    fn line_end(&mut self, end: LineEnd) -> ControlFlow<()> {
        let spooled = &mut *self.spooled;
        if spooled.pending_dot {
            spooled.done = true;
            return ControlFlow::Break(());
        }
        if end == LineEnd::Cr && spooled.stats.first_bare_cr.is_none() {
            spooled.stats.first_bare_cr = Some(spooled.stats.len);
        }
        if spooled.stats.len + 2 <= spooled.record_limit {
            spooled.crlf_ends.push(end == LineEnd::Crlf);
        }
        spooled.stats.len += 2;
        self.out.extend_from_slice(b"\r\n");
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(s: &Spool, offset: u64) -> Vec<u8> {
        let mut v = Vec::new();
        s.reader_from(offset)
            .expect("reader")
            .read_to_end(&mut v)
            .expect("read");
        v
    }

    fn spool(input: &[u8], dot_ends: bool) -> Spool {
        Spool::read_from(&mut &input[..], dot_ends).expect("spool")
    }

    /// Hands out its data in fixed-size pieces, to put block boundaries where a test wants them.
    struct Chunked<'a> {
        data: &'a [u8],
        size: usize,
    }

    impl Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.size.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn normalises_line_ends() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"a", b"a"),
            (b"a\n", b"a\r\n"),
            (b"a\r", b"a\r\n"),
            (b"a\r\n", b"a\r\n"),
            (b"a\n.\r\nM", b"a\r\n.\r\nM"),
            (b"C\r\n.\nD", b"C\r\n.\r\nD"),
            (b"D\r.\r\nE", b"D\r\n.\r\nE"),
            (b"\r\r\n", b"\r\n\r\n"),
            (b"\n\r", b"\r\n\r\n"),
            (b"x\r\r\ry", b"x\r\n\r\n\r\ny"),
        ];
        for (input, want) in cases {
            let s = spool(input, false);
            assert_eq!(read_all(&s, 0), *want, "input {input:?}");
            assert_eq!(s.len(), want.len() as u64);
            assert_eq!(Spool::from_bytes(input).len(), want.len() as u64);
            assert_eq!(read_all(&Spool::from_bytes(input), 0), *want);
        }
    }

    /// Issue 10, point 18: the first long line's number and length, whatever the line ends and
    /// wherever the blocks split it, and a last line without a line end counts too.
    #[test]
    fn first_long_line_is_located() {
        let mut input = b"a\r\nb\rc\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 1500));
        input.extend_from_slice(b"\n");
        input.extend(std::iter::repeat_n(b'y', 2000));
        let want = Some(LongLine {
            number: 4,
            len: 1500,
        });
        for size in [1, 7, 999, 4096] {
            let s = Spool::read_from(&mut Chunked { data: &input, size }, false).expect("spool");
            assert_eq!(s.stats().first_long_line, want, "chunk size {size}");
            assert_eq!(s.stats().long_lines, 2);
        }
        let last = [&b"short\n"[..], &[b'z'; 999]].concat();
        assert_eq!(
            Spool::from_bytes(&last).stats().first_long_line,
            Some(LongLine {
                number: 2,
                len: 999
            })
        );
        assert_eq!(
            Spool::from_bytes(&[b'z'; 998]).stats().first_long_line,
            None
        );
    }

    /// Issue 10, point 15: a full spool is a write failure, temporary (75), not a read failure (74);
    /// a spool that cannot be created at all is 74, and so is an input that cannot be read.
    #[test]
    fn a_full_spool_is_a_temporary_write_error_not_a_read_error() {
        let big = vec![b'x'; MEMORY_LIMIT + 10];
        let full = || File::options().write(true).open("/dev/full");
        let err = Spool::read_into(&mut &big[..], false, &full).expect_err("/dev/full");
        assert!(matches!(&err, SpoolError::Write(e) if e.kind() == io::ErrorKind::StorageFull));
        assert!(err.is_temporary());
        // Small messages never touch the spool file.
        assert!(Spool::read_into(&mut &b"small"[..], false, &full).is_ok());
        let missing = || File::create("/nonexistent-dir/spool");
        let err = Spool::read_into(&mut &big[..], false, &missing).expect_err("no dir");
        assert!(matches!(err, SpoolError::Write(_)));
        assert!(!err.is_temporary());
        let eio = SpoolError::Write(io::Error::from_raw_os_error(EIO));
        assert!(eio.is_temporary());
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::StorageFull, "as if"))
            }
        }
        let err = Spool::read_from(&mut Failing, false).expect_err("read");
        assert!(matches!(err, SpoolError::Read(_)));
        assert!(
            !err.is_temporary(),
            "a read failure is the input's, whatever its kind"
        );
    }

    #[test]
    fn cr_at_block_boundary_is_one_line_end() {
        let input = b"abc\r\ndef\r\nghi\n\rjkl\r";
        let want = spool(input, false);
        for size in 1..input.len() {
            let mut r = Chunked { data: input, size };
            let s = Spool::read_from(&mut r, false).expect("spool");
            assert_eq!(read_all(&s, 0), read_all(&want, 0), "chunk size {size}");
        }
        // And at the real 64 KiB block boundary.
        let mut big = vec![b'x'; BLOCK - 1];
        big.extend_from_slice(b"\r\nrest\n");
        let s = spool(&big, false);
        let got = read_all(&s, 0);
        assert_eq!(&got[BLOCK - 1..], b"\r\nrest\r\n");
    }

    #[test]
    fn stats_are_counted() {
        let mut input = b"caf\xc3\xa9\0\n".to_vec();
        input.extend(std::iter::repeat_n(b'a', 999));
        input.extend_from_slice(b"\n");
        input.extend(std::iter::repeat_n(b'b', 998));
        input.extend_from_slice(b"\r\n");
        let s = spool(&input, false);
        let st = s.stats();
        assert!(st.eight_bit);
        assert_eq!(st.long_lines, 1);
        assert_eq!(
            st.first_long_line,
            Some(LongLine {
                number: 2,
                len: 999
            })
        );
        assert_eq!(st.len, s.len());
        let plain = spool(b"hello\n", false);
        assert_eq!(
            plain.stats(),
            &SpoolStats {
                len: 7,
                eight_bit: false,
                first_bare_cr: None,
                long_lines: 0,
                first_long_line: None,
            }
        );
    }

    #[test]
    fn dot_line_ends_input_on_a_terminal() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"a\n.\nb\n", b"a\r\n"),
            (b"a\r\n.\r\nb", b"a\r\n"),
            (b".\n", b""),
            (b"a\n.", b"a\r\n"),
            (b"a\n..\nb\n", b"a\r\n..\r\nb\r\n"),
            (b"a\n.b\n", b"a\r\n.b\r\n"),
            (b"a.\nb", b"a.\r\nb"),
        ];
        for (input, want) in cases {
            assert_eq!(read_all(&spool(input, true), 0), *want, "input {input:?}");
        }
        // Without dot_ends the "." line is message text.
        assert_eq!(read_all(&spool(b"a\n.\nb\n", false), 0), b"a\r\n.\r\nb\r\n");
        // The terminator split across reads.
        let mut r = Chunked {
            data: b"a\n.\nb\n",
            size: 1,
        };
        let s = Spool::read_from(&mut r, true).expect("spool");
        assert_eq!(read_all(&s, 0), b"a\r\n");
    }

    #[test]
    fn large_input_is_spooled_to_a_private_file() {
        let mut input = Vec::new();
        let mut want = Vec::new();
        let mut i = 0u32;
        while input.len() < 3 * MEMORY_LIMIT {
            let line = format!("line {i} \u{e9}");
            input.extend_from_slice(line.as_bytes());
            want.extend_from_slice(line.as_bytes());
            input.extend_from_slice(if i.is_multiple_of(3) { b"\n" } else { b"\r\n" });
            want.extend_from_slice(b"\r\n");
            i += 1;
        }
        let s = spool(&input, false);
        let Store::File(f) = &s.store else {
            panic!("a 3 MiB input should be spooled to a file");
        };
        let mode = f.metadata().expect("fstat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(s.len(), want.len() as u64);
        assert!(s.stats().eight_bit);
        assert_eq!(read_all(&s, 0), want);
        assert_eq!(read_all(&s, 1000), &want[1000..]);
        assert_eq!(read_all(&s, s.len() + 5), b"");
        assert_eq!(s.head(100).expect("head"), &want[..100]);
        // Small input stays in memory.
        assert!(matches!(spool(b"x\n", false).store, Store::Memory(_)));
    }

    #[test]
    fn head_and_offsets_in_memory() {
        let s = Spool::from_bytes(b"Subject: x\n\nbody\n");
        assert_eq!(s.head(7).expect("head"), b"Subject");
        assert_eq!(s.head(1000).expect("head"), b"Subject: x\r\n\r\nbody\r\n");
        assert_eq!(read_all(&s, 14), b"body\r\n");
    }

    proptest::proptest! {
        /// Whatever the input and however it is split: only CRLF line ends, and the same bytes.
        #[test]
        fn normalised_whatever_the_split(
            input in proptest::collection::vec(proptest::sample::select(b"a.\r\n\0\xe9".to_vec()), 0..200),
            size in 1usize..17,
        ) {
            let mut r = Chunked { data: &input, size };
            let s = Spool::read_from(&mut r, false).expect("spool");
            let out = read_all(&s, 0);
            proptest::prop_assert_eq!(&out, &read_all(&Spool::from_bytes(&input), 0));
            proptest::prop_assert_eq!(out.len() as u64, s.len());
            for (i, &b) in out.iter().enumerate() {
                if b == b'\r' {
                    proptest::prop_assert_eq!(out.get(i + 1), Some(&b'\n'));
                }
                if b == b'\n' {
                    proptest::prop_assert!(i > 0 && out[i - 1] == b'\r');
                }
            }
        }
    }

    #[test]
    fn read_error_is_reported() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("boom"))
            }
        }
        assert!(Spool::read_from(&mut Failing, false).is_err());
    }
}
