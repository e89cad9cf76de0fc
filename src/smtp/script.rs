//! Test-only: an in-memory [`Stream`] that plays a scripted server. The script is a list of steps:
//! bytes the client must write next (checked octet for octet), bytes the server sends once everything
//! before them was written, and faults (the server closes, stalls, or the connection resets). Reads
//! give every reply the client's writes so far have earned, as a real server's would arrive; every byte
//! written is recorded, so a test can check the whole dialogue both ways without a socket. Imports only
//! the transport's `Stream` trait.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};

use super::transport::Stream;

/// One step of the server's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The client must write exactly these bytes next.
    Expect(Vec<u8>),
    /// The server sends these bytes.
    Send(Vec<u8>),
    /// The server closes: reads see end of file, writes fail with a broken pipe.
    Close,
    /// The server says nothing more: reads time out (as `Timed` reports a passed deadline).
    Stall,
    /// The connection is reset: reads and writes fail.
    Reset,
    /// From here on, everything the client writes is answered, unchecked, as a server that takes
    /// everything would: QUIT with 221, DATA with 354 and the data up to its dot with 250, `BDAT n`
    /// with 250 once its n octets are in, anything else with 250 (the tail of a dialogue after a
    /// fault, where only the verdict matters, and servers for tests that count other things).
    Lenient,
}

/// `Expect` the client's line (CRLF added).
pub fn client(line: &str) -> Step {
    Step::Expect(format!("{line}\r\n").into_bytes())
}

/// `Send` a reply line (CRLF added).
pub fn server(line: &str) -> Step {
    Step::Send(format!("{line}\r\n").into_bytes())
}

#[derive(Debug, Default)]
struct State {
    steps: VecDeque<Step>,
    /// Every byte the client wrote.
    written: Vec<u8>,
    /// How much of `written` the `Expect` steps have matched.
    matched: usize,
    /// Server bytes earned but not read yet.
    pending: VecDeque<u8>,
    /// A fault reached: it holds from then on.
    fault: Option<Step>,
    /// [`Step::Lenient`]: inside DATA's data, or how many octets of a BDAT chunk are still to come.
    in_data: bool,
    chunk_left: usize,
    /// The client's turns: writes that follow a read (or start the dialogue). A turn and the replies it
    /// waits for are one round trip, however many writes the turn takes.
    turns: usize,
    /// The client read since its last write: its next write starts a turn.
    read_since_write: bool,
}

impl State {
    /// Play every step the client's writes allow.
    fn advance(&mut self) {
        while let Some(step) = self.steps.front().cloned() {
            match step {
                Step::Expect(want) => {
                    let have = &self.written[self.matched..];
                    let n = have.len().min(want.len());
                    assert_eq!(
                        String::from_utf8_lossy(&have[..n]),
                        String::from_utf8_lossy(&want[..n]),
                        "the client wrote something else than the script expects"
                    );
                    if n < want.len() {
                        return;
                    }
                    self.matched += n;
                }
                Step::Send(bytes) => self.pending.extend(bytes),
                Step::Lenient => {
                    self.answer_lines();
                    return;
                }
                fault => {
                    self.fault = Some(fault);
                    self.steps.pop_front();
                    return;
                }
            }
            self.steps.pop_front();
        }
    }
}

impl State {
    /// [`Step::Lenient`]: a reply to each command, each data's dot and each chunk written.
    fn answer_lines(&mut self) {
        loop {
            let rest = &self.written[self.matched..];
            if self.chunk_left > 0 {
                let n = rest.len().min(self.chunk_left);
                if n == 0 {
                    return;
                }
                self.matched += n;
                self.chunk_left -= n;
                if self.chunk_left == 0 {
                    self.pending.extend(b"250 ok\r\n");
                }
                continue;
            }
            let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let line = rest[..end].to_ascii_uppercase();
            self.matched += end + 2;
            if self.in_data {
                if line == b"." {
                    self.in_data = false;
                    self.pending.extend(b"250 ok\r\n");
                }
                continue;
            }
            let reply: &[u8] = match line.as_slice() {
                b"QUIT" => b"221 bye\r\n",
                b"DATA" => {
                    self.in_data = true;
                    b"354 go\r\n"
                }
                _ => match chunk_size(&line) {
                    Some(size) if size > 0 => {
                        self.chunk_left = size;
                        continue;
                    }
                    _ => b"250 ok\r\n",
                },
            };
            self.pending.extend(reply);
        }
    }
}

/// The size a `BDAT n [LAST]` line announces.
fn chunk_size(line: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(line).ok()?;
    let mut words = text.split_ascii_whitespace();
    (words.next()? == "BDAT").then_some(())?;
    words.next()?.parse().ok()
}

/// The scripted server; clones share it, so a test keeps one to look at after the session is gone.
#[derive(Debug, Clone, Default)]
pub struct Script(Arc<Mutex<State>>);

impl Script {
    pub fn new(steps: Vec<Step>) -> Script {
        let state = State {
            steps: steps.into(),
            ..State::default()
        };
        Script(Arc::new(Mutex::new(state)))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every byte the client wrote, as text.
    pub fn written(&self) -> String {
        String::from_utf8_lossy(&self.state().written).into_owned()
    }

    /// How many round trips the client made: turns of writing, each followed by a wait for replies.
    pub fn turns(&self) -> usize {
        self.state().turns
    }

    /// The script was played to the end (a [`Step::Lenient`] holds to the end) and every byte written
    /// was expected or answered.
    pub fn assert_done(&self) {
        let mut state = self.state();
        state.advance();
        let state = &*state;
        assert!(
            state.steps.iter().all(|s| *s == Step::Lenient),
            "steps left: {:?}\nwritten:\n{}",
            state.steps,
            String::from_utf8_lossy(&state.written)
        );
        assert_eq!(
            String::from_utf8_lossy(&state.written[state.matched..]),
            "",
            "the client wrote more than the script expects"
        );
        assert!(
            !state.in_data && state.chunk_left == 0,
            "the client stopped in the middle of a message's data"
        );
    }
}

impl Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut state = self.state();
        state.read_since_write = true;
        state.advance();
        if !state.pending.is_empty() {
            let n = buf.len().min(state.pending.len());
            for (slot, byte) in buf.iter_mut().zip(state.pending.drain(..n)) {
                *slot = byte;
            }
            return Ok(n);
        }
        match &state.fault {
            Some(Step::Close) => Ok(0),
            Some(Step::Reset) => Err(io::ErrorKind::ConnectionReset.into()),
            Some(_) => Err(io::ErrorKind::TimedOut.into()),
            None if state.steps.is_empty() => Ok(0),
            None if state.steps.front() == Some(&Step::Lenient) => panic!(
                "the client waits for a reply without having written a line; written:\n{}",
                String::from_utf8_lossy(&state.written)
            ),
            None => panic!(
                "the client waits for a reply while the script expects {:?}; written:\n{}",
                state.steps.front(),
                String::from_utf8_lossy(&state.written)
            ),
        }
    }
}

impl Write for Script {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut state = self.state();
        match state.fault {
            Some(Step::Close) => return Err(io::ErrorKind::BrokenPipe.into()),
            Some(Step::Reset) => return Err(io::ErrorKind::ConnectionReset.into()),
            _ => {}
        }
        if state.read_since_write || state.turns == 0 {
            state.turns += 1;
            state.read_since_write = false;
        }
        state.written.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Stream for Script {}
