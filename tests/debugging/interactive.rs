//! `--interactive` driven through a pseudo-terminal (expectrl): commands typed and their replies shown,
//! DATA with a dot-stuffed body, Ctrl-C clearing the line, Ctrl-D sending QUIT, AUTH lines masked and
//! redacted; and the refusal to run without a terminal.

use std::process::Command;
use std::time::Duration;

use expectrl::process::unix::WaitStatus;
use expectrl::session::OsSession;
use expectrl::{ControlCode, Eof, Expect};
use tempfile::TempDir;

use crate::harness::{AuthCheck, Script, Server, home, run};

/// The binary in a pseudo-terminal, hermetic as the harness runs it, aimed at `server`.
fn spawn(home: &TempDir, server: &Server, extra: &[&str]) -> OsSession {
    let dir = home.path();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailsend"));
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .env("TMPDIR", dir.join("tmp"))
        .env("USER", "tester")
        .env("LOGNAME", "tester")
        .env("LANG", "C")
        .env("TERM", "xterm")
        .args(["--host", &server.host_arg(), "--domain", "client.example"])
        .arg("--interactive")
        .args(extra);
    let mut session = OsSession::spawn(cmd).expect("spawn mailsend in a pseudo-terminal");
    session.set_expect_timeout(Some(Duration::from_secs(15)));
    session
}

/// Type a line as a terminal sends it (Enter is CR in raw mode).
fn type_line(p: &mut OsSession, line: &str) {
    p.send(format!("{line}\r"))
        .expect("write to the pseudo-terminal");
}

/// Everything the terminal shows until `needle`.
fn until(p: &mut OsSession, needle: &str) -> String {
    let found = p
        .expect(needle)
        .unwrap_or_else(|e| panic!("waiting for {needle:?}: {e}"));
    String::from_utf8_lossy(found.before()).into_owned()
}

/// Read to the end of output and give the exit status.
fn finish(mut p: OsSession) -> Option<i32> {
    let _ = p.expect(Eof);
    match p.get_process().wait() {
        Ok(WaitStatus::Exited(_, code)) => Some(code),
        _ => None,
    }
}

#[test]
fn a_typed_session_with_data_then_ctrl_d() {
    let server = Server::start(Script::new());
    let home = home();
    let mut p = spawn(&home, &server, &[]);
    until(&mut p, "220 test.example ESMTP");
    until(&mut p, "smtp> ");
    type_line(&mut p, "EHLO typed.example");
    until(&mut p, "250 test.example");
    until(&mut p, "smtp> ");
    type_line(&mut p, "NOOP");
    until(&mut p, "250 2.0.0 Ok");
    until(&mut p, "smtp> ");
    type_line(&mut p, "MAIL FROM:<alice@example.org>");
    until(&mut p, "250 2.1.0 Ok");
    until(&mut p, "smtp> ");
    type_line(&mut p, "RCPT TO:<bob@example.org>");
    until(&mut p, "250 2.1.5 Ok");
    until(&mut p, "smtp> ");
    type_line(&mut p, "DATA");
    until(&mut p, "354 End data");
    for line in ["Subject: typed", "", "first", ".leading dot", "."] {
        until(&mut p, "data> ");
        type_line(&mut p, line);
    }
    until(&mut p, "250 2.0.0 Ok: queued as ABC123");
    until(&mut p, "smtp> ");
    p.send(ControlCode::EndOfTransmission).expect("Ctrl-D");
    until(&mut p, "221 2.0.0 Bye");
    assert_eq!(finish(p), Some(0));

    let t = server.finish();
    assert_eq!(
        t.commands,
        [
            "EHLO client.example",
            "EHLO typed.example",
            "NOOP",
            "MAIL FROM:<alice@example.org>",
            "RCPT TO:<bob@example.org>",
            "DATA",
            "QUIT",
        ]
    );
    // Dot-stuffed on the wire (RFC 5321 §4.5.2), CRLF line ends.
    assert_eq!(
        String::from_utf8_lossy(&t.data[0]),
        "Subject: typed\r\n\r\nfirst\r\n..leading dot\r\n"
    );
}

#[test]
fn ctrl_c_clears_the_line_and_typed_quit_ends() {
    let server = Server::start(Script::new());
    let home = home();
    let mut p = spawn(&home, &server, &[]);
    until(&mut p, "smtp> ");
    p.send("RSET garbage").expect("type");
    p.send(ControlCode::EndOfText).expect("Ctrl-C");
    until(&mut p, "smtp> ");
    type_line(&mut p, "NOOP");
    until(&mut p, "250 2.0.0 Ok");
    until(&mut p, "smtp> ");
    type_line(&mut p, "quit");
    until(&mut p, "221 2.0.0 Bye");
    assert_eq!(finish(p), Some(0));
    let t = server.finish();
    assert_eq!(t.commands, ["EHLO client.example", "NOOP", "quit"]);
}

#[test]
fn auth_lines_are_masked_and_redacted_in_the_trace() {
    let server =
        Server::start(Script::new().auth(AuthCheck::new("u", "p").mechanisms(&["PLAIN", "LOGIN"])));
    let home = home();
    let mut p = spawn(&home, &server, &["--debug", "1"]);
    until(&mut p, "smtp> ");
    type_line(&mut p, "AUTH PLAIN AHUAcA==");
    let shown_plain = until(&mut p, "retcode (235)");
    until(&mut p, "smtp> ");
    type_line(&mut p, "AUTH LOGIN");
    until(&mut p, "auth> ");
    type_line(&mut p, "dQ==");
    until(&mut p, "auth> ");
    type_line(&mut p, "cA==");
    let shown = until(&mut p, "retcode (235)");
    until(&mut p, "smtp> ");
    p.send(ControlCode::EndOfTransmission).expect("Ctrl-D");
    let rest = until(&mut p, "retcode (221)");
    assert_eq!(finish(p), Some(0));

    assert_eq!(
        shown.matches("send: '<redacted>\\r\\n'").count(),
        2,
        "{shown}"
    );
    assert!(
        !shown.contains("dQ==") && !shown.contains("cA=="),
        "{shown}"
    );
    assert!(
        shown.contains("****"),
        "the typed response is masked: {shown}"
    );
    assert!(
        shown_plain.contains("send: 'AUTH PLAIN <redacted>\\r\\n'"),
        "{shown_plain}"
    );
    assert!(rest.contains("send: 'QUIT\\r\\n'"), "{rest}");
    let t = server.finish();
    assert_eq!(
        t.commands[1..5],
        ["AUTH PLAIN AHUAcA==", "AUTH LOGIN", "dQ==", "cA=="]
    );
    assert!(
        t.auth.len() == 2 && t.auth.iter().all(|a| a.success),
        "{:?}",
        t.auth
    );
}

#[test]
fn without_a_terminal_it_is_a_usage_error() {
    let r = run(Script::new(), &["--interactive"], b"NOOP\n");
    r.expect_code(64);
    assert!(
        r.stderr.contains("--interactive needs a terminal"),
        "{}",
        r.stderr
    );
    assert!(!r.transcript.connected);
}
