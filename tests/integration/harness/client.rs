//! Running the binary under test hermetically: a temp HOME (and XDG_CONFIG_HOME, TMPDIR and the `/etc` of
//! aliases and mailname inside it), USER `tester`, and no other environment, so nothing of the developer's setup leaks into a test.

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use tempfile::TempDir;

use super::script::Script;
use super::server::Server;
use super::transcript::Transcript;

/// No single run of the binary may take longer than this (a stall test needs about one second).
const RUN_LIMIT: Duration = Duration::from_secs(30);

/// A fresh HOME with `.config/` and `tmp/` in it.
pub fn home() -> TempDir {
    let dir = tempfile::tempdir().expect("temp HOME");
    for sub in [".config", "tmp"] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("create dir in temp HOME");
    }
    dir
}

/// `mailsend` with the environment cleared except a PATH, HOME/XDG_CONFIG_HOME/TMPDIR in `home`, USER tester.
pub fn mailsend(home: &TempDir) -> Command {
    mailsend_as(Path::new(env!("CARGO_BIN_EXE_mailsend")), home)
}

/// Like [`mailsend`], running the binary through another path (a `sendmail` symlink).
pub fn mailsend_as(program: &Path, home: &TempDir) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .envs(environment(home.path()))
        .timeout(RUN_LIMIT);
    cmd
}

/// The whole environment of a run in `home`: a PATH, HOME/XDG_CONFIG_HOME/TMPDIR in it, USER tester.
pub fn environment(home: &Path) -> Vec<(&'static str, std::ffi::OsString)> {
    vec![
        ("PATH", "/usr/local/bin:/usr/bin:/bin".into()),
        ("HOME", home.into()),
        ("XDG_CONFIG_HOME", home.join(".config").into()),
        ("TMPDIR", home.join("tmp").into()),
        ("USER", "tester".into()),
        ("LOGNAME", "tester".into()),
        ("LANG", "C".into()),
        // /etc/aliases and /etc/mailname are read in HOME/etc (absent unless a test writes them), never
        // the machine's own (issue 14).
        ("MAILSEND_TEST_ETC", home.join("etc").into()),
    ]
}

/// `mailsend --host ADDR:PORT --domain client.example` aimed at `server`.
pub fn mailsend_to(home: &TempDir, server: &Server) -> Command {
    let mut cmd = mailsend(home);
    cmd.args(["--host", &server.host_arg(), "--domain", "client.example"]);
    cmd
}

/// What one run produced: exit code (`None` when killed by a signal or the time limit), output, transcript.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub port: u16,
    pub transcript: Transcript,
}

impl Run {
    /// Panic with everything useful when the exit code is not `expected`.
    #[track_caller]
    pub fn expect_code(&self, expected: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(expected),
            "exit code; stderr: {}\nserver received: {:?}\nserver ended: {}",
            self.stderr,
            self.transcript.received_text(),
            self.transcript.end
        );
        self
    }
}

/// Start a server with `script`, run `mailsend --host … --domain client.example ARGS` on `stdin`, finish.
pub fn run(script: Script, args: &[&str], stdin: &[u8]) -> Run {
    run_with(script, stdin, |cmd| {
        cmd.args(args);
    })
}

/// Like [`run`], with a hook to adjust the command (extra env, files in HOME, …).
pub fn run_with(script: Script, stdin: &[u8], adjust: impl FnOnce(&mut Command)) -> Run {
    let home = home();
    let server = Server::start(script);
    run_in(&home, server, stdin, adjust)
}

/// Run `mailsend --host … --domain client.example` in `home` against a server the test started (a Unix
/// socket in `home`, an IPv6 one, …), then finish the server.
pub fn run_in(
    home: &TempDir,
    server: Server,
    stdin: &[u8],
    adjust: impl FnOnce(&mut Command),
) -> Run {
    let mut cmd = mailsend_to(home, &server);
    adjust(&mut cmd);
    let output = cmd
        .write_stdin(stdin.to_vec())
        .output()
        .expect("spawn mailsend");
    let port = server.port();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        port,
        transcript: server.finish(),
    }
}
