//! A scripted SMTP client for `mailsend -bs`: the real binary with its stdin and stdout as pipes, a
//! thread reading its replies so that every wait is bounded, and the run's end (exit status, stderr).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

/// No reply takes longer than this in a test (a timeout test waits about one second).
const REPLY_WAIT: Duration = Duration::from_secs(20);

/// A running `mailsend -bs`.
pub struct Bs {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

/// How a session ended.
#[derive(Debug)]
pub struct Ended {
    /// `None`: killed by a signal.
    pub code: Option<i32>,
    pub stderr: String,
}

impl Bs {
    /// `mailsend ARGS` in `home` (the harness's hermetic environment), with `env` added.
    pub fn start(home: &Path, args: &[&str], env: &[(&str, String)]) -> Bs {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailsend"));
        cmd.env_clear()
            .envs(crate::harness::environment(home))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn mailsend -bs");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).split(b'\n') {
                let Ok(mut line) = line else { break };
                line.push(b'\n');
                if tx
                    .send(String::from_utf8_lossy(&line).into_owned())
                    .is_err()
                {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Bs {
            child,
            stdin,
            lines,
        }
    }

    /// Write bytes to mailsend's stdin (a client gone already is not an error here).
    pub fn send(&mut self, bytes: &[u8]) {
        if let Some(stdin) = &mut self.stdin {
            let _ = stdin.write_all(bytes).and_then(|()| stdin.flush());
        }
    }

    /// One whole reply (every line up to `CODE SP`), CRLFs kept; "" when stdout ended or nothing came
    /// in time.
    pub fn reply(&mut self) -> String {
        let deadline = Instant::now() + REPLY_WAIT;
        let mut reply = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = self.lines.recv_timeout(left) else {
                return reply;
            };
            reply.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return reply;
            }
        }
    }

    /// Send `line` with CRLF and read its reply.
    pub fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes());
        self.reply()
    }

    /// Close mailsend's stdin: the end of input.
    pub fn close(&mut self) {
        self.stdin = None;
    }

    /// Wait for the end (bounded), stdin closed first; what stdout still had is dropped.
    pub fn end(mut self) -> Ended {
        self.close();
        let deadline = Instant::now() + REPLY_WAIT;
        while self.child.try_wait().expect("wait").is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let status = self.child.wait().expect("wait");
        let mut stderr = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_string(&mut stderr);
        }
        Ended {
            code: status.code(),
            stderr,
        }
    }
}

/// A message as Symfony Mailer sends it after DATA: CRLF lines, lines starting with a dot stuffed,
/// then `\r\n.\r\n` after the last line (Symfony writes the data, then "\r\n.\r\n").
pub fn stuffed(message: &str) -> Vec<u8> {
    let crlf = message.replace('\n', "\r\n");
    let mut out = crlf.replace("\r\n.", "\r\n..").into_bytes();
    out.extend_from_slice(b"\r\n.\r\n");
    out
}
