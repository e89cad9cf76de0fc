//! Standard input and output as the `-bs` server's channel. Every wait for the client is bounded by
//! `--timeout`: poll(2) on the descriptor, then one read(2) straight from it, so no bytes hide in a
//! buffer that poll cannot see (std's `Stdin` has one). Replies are written to a buffer and flushed
//! when the driver says so (before it waits for the client: RFC 2920 §3.2).

use std::io::{self, Write};
use std::os::fd::{AsFd as _, AsRawFd as _};
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::error::ServeError;

/// What one wait for the client gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    Bytes(usize),
    End,
    TimedOut,
}

/// The client's side of the pipe pair.
pub struct Client {
    timeout: Duration,
    out: io::BufWriter<io::Stdout>,
}

impl Client {
    pub fn new(timeout: Duration) -> Client {
        Client {
            timeout,
            out: io::BufWriter::new(io::stdout()),
        }
    }

    /// Wait up to the timeout for input, then read what is there.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<Read, ServeError> {
        let stdin = io::stdin();
        let ms = PollTimeout::try_from(self.timeout).unwrap_or(PollTimeout::MAX);
        loop {
            let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, ms) {
                Ok(0) => return Ok(Read::TimedOut),
                Ok(_) => break,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(ServeError::Read(e.into())),
            }
        }
        loop {
            match nix::unistd::read(stdin.as_raw_fd(), buf) {
                Ok(0) => return Ok(Read::End),
                Ok(n) => return Ok(Read::Bytes(n)),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(ServeError::Read(e.into())),
            }
        }
    }

    /// Queue a reply.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), ServeError> {
        self.out.write_all(bytes).map_err(ServeError::Write)
    }

    /// Send what is queued.
    pub fn flush(&mut self) -> Result<(), ServeError> {
        self.out.flush().map_err(ServeError::Write)
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}
