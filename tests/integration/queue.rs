//! The durable queue end to end (spec §9, issue 12's tests): real processes, real files, a real server.
//! Crash safety at every step of enqueue and delivery (the debug build's kill hook), per-recipient state,
//! one connection attempt for a queue whose server is down, corrupt and planted files, a full disk,
//! hold and release, expiry, the listing, and concurrent submissions and runners.

mod crash;
mod entries;
mod multiuser;
mod sink;

use std::path::PathBuf;
use std::process::Output;

use assert_cmd::Command;
use tempfile::TempDir;

use crate::harness::{home, mailsend};

/// The message every test queues; its Subject says which one.
pub fn message(subject: &str) -> Vec<u8> {
    format!(
        "From: alice@example.org\nTo: bob@example.org\nDate: Mon, 01 Jan 2024 00:00:00 +0000\n\
         Message-ID: <{subject}@example.org>\nSubject: {subject}\n\nhello\n.dot\n"
    )
    .into_bytes()
}

/// A user with a configuration that logs to ~/queue.log and queues on failure.
pub struct User {
    pub home: TempDir,
}

impl User {
    pub fn new() -> User {
        let home = home();
        let dir = home.path().join(".config/mailsend");
        std::fs::create_dir_all(&dir).expect("config dir");
        std::fs::write(
            dir.join("config.toml"),
            "[defaults]\nlogfile = \"~/queue.log\"\nqueue = \"on-failure\"\n",
        )
        .expect("config");
        User { home }
    }

    /// `mailsend --host HOST --domain client.example`, with `env` set.
    pub fn cmd(&self, host: &str, env: &[(&str, String)]) -> Command {
        let mut cmd = mailsend(&self.home);
        cmd.args(["--host", host, "--domain", "client.example"]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Send `subject`'s message from alice to `rcpts` with extra `args`.
    pub fn send(
        &self,
        host: &str,
        args: &[&str],
        rcpts: &[&str],
        env: &[(&str, String)],
    ) -> Output {
        self.cmd(host, env)
            .args(["-f", "alice@example.org"])
            .args(args)
            .args(rcpts)
            .write_stdin(message("m"))
            .output()
            .expect("run")
    }

    /// `mailsend -q`.
    pub fn run_queue(&self, host: &str, env: &[(&str, String)]) -> Output {
        self.cmd(host, env).arg("-q").output().expect("run")
    }

    pub fn queue_dir(&self) -> PathBuf {
        self.home.path().join(".local/state/mailsend/queue")
    }

    /// The names in a subdirectory of the queue.
    pub fn names(&self, sub: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.queue_dir().join(sub))
            .map(|d| {
                d.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.path().join("queue.log")).unwrap_or_default()
    }
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A time far enough ahead that the sweep sees every file a test made as old garbage.
pub fn an_hour_later() -> (&'static str, String) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    ("MAILSEND_TEST_NOW", (now + 3600).to_string())
}
