//! A server for the queue's tests, which need many connections (a send, then runs of the queue, then
//! concurrent runners): it accepts every connection until dropped, speaks lockstep ESMTP (no
//! PIPELINING, so the transcript is simple), answers each RCPT and each message's data by a policy the
//! test gives, and keeps every message it accepted, so a test counts and hashes what was delivered.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// The reply to a RCPT (by address) or to the data (by the message's recipients).
pub type Policy = dyn Fn(&str) -> String + Send + Sync;

/// A message the sink accepted.
#[derive(Debug, Clone)]
pub struct Stored {
    pub from: String,
    pub recipients: Vec<String>,
    pub data: Vec<u8>,
}

#[derive(Default)]
struct Shared {
    stored: Mutex<Vec<Stored>>,
    /// Connections accepted (the queue's pool is counted).
    connections: AtomicUsize,
    stop: AtomicBool,
}

pub struct Sink {
    pub port: u16,
    shared: Arc<Shared>,
}

impl Sink {
    /// Accept everything.
    pub fn start() -> Sink {
        Sink::with(
            Arc::new(|_: &str| "250 2.1.5 ok".to_owned()),
            Arc::new(|_: &str| "250 2.0.0 queued".to_owned()),
        )
    }

    /// Answer each RCPT with `rcpt(address)` and each message's data with `data(recipients)`.
    pub fn with(rcpt: Arc<Policy>, data: Arc<Policy>) -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("address").port();
        let shared = Arc::new(Shared::default());
        let inner = shared.clone();
        thread::spawn(move || {
            while !inner.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        inner.connections.fetch_add(1, Ordering::SeqCst);
                        let (shared, rcpt, data) = (inner.clone(), rcpt.clone(), data.clone());
                        thread::spawn(move || {
                            let _ = serve(stream, &shared, &*rcpt, &*data);
                        });
                    }
                    Err(_) => thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Sink { port, shared }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn stored(&self) -> Vec<Stored> {
        self.shared.stored.lock().expect("lock").clone()
    }

    /// How many messages went to `recipient`.
    pub fn count_for(&self, recipient: &str) -> usize {
        self.stored()
            .iter()
            .filter(|m| m.recipients.iter().any(|r| r == recipient))
            .count()
    }

    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(stream: TcpStream, shared: &Shared, rcpt: &Policy, data: &Policy) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    out.write_all(b"220 sink.example ESMTP\r\n")?;
    let (mut from, mut accepted) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let reply = if upper.starts_with("EHLO") {
            "250-sink.example\r\n250-8BITMIME\r\n250 SIZE 10000000".to_owned()
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&command[10..]);
            accepted.clear();
            "250 2.1.0 ok".to_owned()
        } else if upper.starts_with("RCPT TO:") {
            let to = address(&command[8..]);
            let reply = rcpt(&to);
            if reply.starts_with('2') {
                accepted.push(to);
            }
            reply
        } else if upper == "DATA" {
            out.write_all(b"354 go ahead\r\n")?;
            let body = read_data(&mut input)?;
            let reply = data(&accepted.join(","));
            if reply.starts_with('2') {
                shared.stored.lock().expect("lock").push(Stored {
                    from: from.clone(),
                    recipients: accepted.clone(),
                    data: body,
                });
            }
            reply
        } else if upper == "QUIT" {
            out.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            "250 ok".to_owned()
        };
        out.write_all(format!("{reply}\r\n").as_bytes())?;
    }
}

/// The address inside `<…>` (parameters after it dropped).
fn address(text: &str) -> String {
    let start = text.find('<').map_or(0, |i| i + 1);
    let end = text[start..].find('>').map_or(text.len(), |i| start + i);
    text[start..end].to_owned()
}

/// The data up to the lone dot, unstuffed.
fn read_data(input: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" {
            return Ok(body);
        }
        let start = usize::from(line.starts_with(b".."));
        body.extend_from_slice(&line[start..]);
    }
}
