//! Progress of a long send, for a person watching a terminal: one line on stderr, rewritten in place at
//! most five times a second, cleared when the data is sent. Scripts (stderr not a terminal) and the
//! debug trace never see it: `app` creates one only for an interactive stderr at `--debug 0`.

use std::io::Write;
use std::time::{Duration, Instant};

/// Messages smaller than this go out too fast for progress to mean anything.
pub const MIN_SIZE: u64 = 4 * 1024 * 1024;
const EVERY: Duration = Duration::from_millis(200);

pub struct Progress {
    total: u64,
    sent: u64,
    last: Option<Instant>,
    shown: bool,
    out: Box<dyn Write + Send>,
}

impl Progress {
    pub fn new(total: u64, out: Box<dyn Write + Send>) -> Progress {
        Progress {
            total,
            sent: 0,
            last: None,
            shown: false,
            out,
        }
    }

    /// `n` more octets of data went to the server.
    pub fn advance(&mut self, n: u64) {
        self.sent += n;
        let now = Instant::now();
        if self.last.is_some_and(|t| now.duration_since(t) < EVERY) {
            return;
        }
        self.last = Some(now);
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        let percent = (self.sent.min(self.total) * 100)
            .checked_div(self.total)
            .unwrap_or(100);
        let _ = write!(
            self.out,
            "\rmailsend: sending the message: {percent:3}% ({:.1} of {:.1} MiB)",
            mib(self.sent.min(self.total)),
            mib(self.total)
        );
        let _ = self.out.flush();
        self.shown = true;
    }

    /// The data is sent: clear the line so that what follows starts clean.
    pub fn finish(&mut self) {
        if self.shown {
            let _ = write!(self.out, "\r\x1b[K");
            let _ = self.out.flush();
            self.shown = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn shows_then_clears() {
        let buf = Buf::default();
        let mut p = Progress::new(8 * 1024 * 1024, Box::new(buf.clone()));
        p.advance(4 * 1024 * 1024);
        p.advance(1); // within 200 ms: not redrawn
        p.finish();
        let text = String::from_utf8(buf.0.lock().expect("lock").clone()).expect("utf8");
        assert_eq!(
            text,
            "\rmailsend: sending the message:  50% (4.0 of 8.0 MiB)\r\x1b[K"
        );
    }

    #[test]
    fn silent_when_nothing_was_shown() {
        let buf = Buf::default();
        drop(Progress::new(10, Box::new(buf.clone())));
        assert!(buf.0.lock().expect("lock").is_empty());
    }
}
