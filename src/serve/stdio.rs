//! Standard input and output as the `-bs` server's channel. Every wait for the client is bounded by
//! `--timeout`, reading and writing alike: poll(2) on the descriptor, then one read(2) or write(2)
//! straight on it, so no bytes hide in a buffer that poll cannot see (std's `Stdin` has one), and a
//! client that stops reading its replies cannot hold mailsend forever. Replies are kept in a buffer
//! and flushed when the driver says so (before it waits for the client: RFC 2920 §3.2).

use std::io;
use std::os::fd::{AsFd, AsRawFd as _};
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::error::ServeError;

/// What a pipe takes at once when poll(2) says it has room (POSIX's minimum PIPE_BUF).
const PIPE_BUF: usize = 512;

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
    /// Replies not yet written.
    out: Vec<u8>,
}

impl Client {
    pub fn new(timeout: Duration) -> Client {
        Client {
            timeout,
            out: Vec::new(),
        }
    }

    /// Whether `fd` became ready for `events` within the timeout.
    fn ready(&self, fd: impl AsFd, events: PollFlags) -> nix::Result<bool> {
        let ms = PollTimeout::try_from(self.timeout).unwrap_or(PollTimeout::MAX);
        loop {
            let mut fds = [PollFd::new(fd.as_fd(), events)];
            match poll(&mut fds, ms) {
                Ok(0) => return Ok(false),
                Ok(_) => return Ok(true),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Wait up to the timeout for input, then read what is there.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<Read, ServeError> {
        let stdin = io::stdin();
        match self.ready(&stdin, PollFlags::POLLIN) {
            Ok(true) => {}
            Ok(false) => return Ok(Read::TimedOut),
            Err(e) => return Err(ServeError::Read(e.into())),
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
        self.out.extend_from_slice(bytes);
        Ok(())
    }

    /// Send what is queued, each wait for room in the pipe bounded by the timeout.
    pub fn flush(&mut self) -> Result<(), ServeError> {
        let stdout = io::stdout();
        while !self.out.is_empty() {
            match self.ready(&stdout, PollFlags::POLLOUT) {
                Ok(true) => {}
                Ok(false) => return Err(ServeError::Write(io::ErrorKind::TimedOut.into())),
                Err(e) => return Err(ServeError::Write(e.into())),
            }
            // POLLOUT promises room for PIPE_BUF octets (POSIX), no more: a larger write to a
            // blocking pipe would wait, unbounded, for the rest.
            let chunk = self.out.len().min(PIPE_BUF);
            match nix::unistd::write(&stdout, &self.out[..chunk]) {
                Ok(n) => drop(self.out.drain(..n)),
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                Err(e) => return Err(ServeError::Write(e.into())),
            }
        }
        Ok(())
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}
