//! Setting up one cell of the fault matrix: the scripted server's fault (placed as the parent module's
//! doc says), the message, the arguments, and the run itself.

use std::time::Duration;

use super::{At, Cell, Fault, Mode};
use crate::certs::Pki;
use crate::fixture::MSG;
use crate::harness::{Action, AuthCheck, Run, Script, Server, Stage, Transcript, home, run_in};

const BOB: &str = "bob@example.org";
const CAROL: &str = "carol@example.org";
/// A data-transfer connection fault strikes after this many body octets.
const EARLY: usize = 64 * 1024;
/// With CHUNKING, a data-transfer fault strikes just before the end of the first 1 MiB chunk, when the
/// client has written that chunk and waits for its reply.
const LATE: usize = 1024 * 1024 - 16;
const STALL: Duration = Duration::from_secs(20);

/// The fault as the server's action; `code` and `ok` are the stage's positive code and normal reply, so
/// that only the fault itself is wrong.
fn action(fault: Fault, code: &str, ok: &str) -> Action {
    match fault {
        Fault::Close => Action::Close,
        Fault::Reset => Action::Reset,
        Fault::Bye421 => Action::ReplyThenClose("421 4.3.2 matrix says bye".to_string()),
        Fault::Temp451 => Action::reply("451 4.3.0 matrix says later"),
        Fault::Perm554 => Action::reply("554 5.7.1 matrix says no"),
        Fault::Stall => Action::Stall(STALL),
        Fault::Malformed => Action::reply("xyz bad"),
        Fault::LongLine => Action::Raw(format!("{code} {}\r\n", "x".repeat(9000)).into_bytes()),
        Fault::Flood => Action::Flood(format!("{code}-x\r\n").into_bytes()),
        Fault::Unsolicited => Action::Raw(format!("{ok}\r\n250 2.0.0 surprise\r\n").into_bytes()),
    }
}

fn is_connection_fault(fault: Fault) -> bool {
    matches!(fault, Fault::Close | Fault::Reset | Fault::Stall)
}

/// The bytes of a reply fault that arrives with the 354 (catalogue E37); the flood is finite here (far
/// over any sane cap on continuation lines) because it must share one write with the 354.
fn early_reply(fault: Fault) -> Vec<u8> {
    let text = match fault {
        Fault::Bye421 => "421 4.3.2 matrix says bye\r\n".to_string(),
        Fault::Temp451 => "451 4.3.0 matrix says later\r\n".to_string(),
        Fault::Perm554 => "554 5.7.1 matrix says no\r\n".to_string(),
        Fault::Malformed => "xyz bad\r\n".to_string(),
        Fault::LongLine => format!("250 {}\r\n", "x".repeat(9000)),
        Fault::Flood => "250-x\r\n".repeat(5000),
        _ => "250 2.0.0 surprise\r\n".to_string(),
    };
    let mut bytes = b"354 End data with <CR><LF>.<CR><LF>\r\n".to_vec();
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

fn script(cell: &Cell, mode: Mode, pki: &Pki) -> Script {
    let base = if cell.at == At::Lmtp {
        Script::lmtp()
    } else {
        Script::new()
    };
    let mut s = match mode {
        Mode::Plain => base.no_pipelining(),
        Mode::Pipelining => base,
        Mode::Chunking => base.ehlo_lines(&[
            "PIPELINING",
            "8BITMIME",
            "SIZE 10240000",
            "CHUNKING",
            "ENHANCEDSTATUSCODES",
        ]),
    };
    if matches!(cell.at, At::StartTls | At::Handshake) {
        s = s.starttls(pki.server.server_config());
    }
    if cell.at == At::Auth {
        s = s.auth(AuthCheck::new("u", "p").mechanisms(&["PLAIN"]));
    }
    let f = cell.fault;
    match cell.at {
        At::Connect => s,
        At::Greeting => s.on(Stage::Greeting, action(f, "220", "220 test.example ESMTP")),
        At::Ehlo => s.on(Stage::Ehlo, action(f, "250", "250 test.example")),
        At::StartTls => s.on(
            Stage::StartTls,
            action(f, "220", "220 2.0.0 Ready to start TLS"),
        ),
        At::Handshake => s.on(Stage::TlsHandshake, action(f, "220", "220 again")),
        At::Auth => s.on(
            Stage::Auth,
            action(f, "235", "235 2.7.0 Authentication successful"),
        ),
        At::Mail => s.on(Stage::Mail, action(f, "250", "250 2.1.0 Ok")),
        At::Rcpt1 => s.on(Stage::Rcpt(1), action(f, "250", "250 2.1.5 Ok")),
        At::Rcpt2 => s.on(Stage::Rcpt(2), action(f, "250", "250 2.1.5 Ok")),
        At::Data if mode == Mode::Chunking => s.on_nth(
            Stage::BdatChunk,
            1,
            action(f, "250", "250 2.0.0 Ok: chunk received"),
        ),
        At::Data => s.on(
            Stage::Data,
            action(f, "354", "354 End data with <CR><LF>.<CR><LF>"),
        ),
        At::Transfer if mode == Mode::Chunking => s.on(
            Stage::DataBody(LATE),
            action(f, "250", "250 2.0.0 Ok: chunk received"),
        ),
        At::Transfer if is_connection_fault(f) => {
            s.on(Stage::DataBody(EARLY), action(f, "250", "250 2.0.0 Ok"))
        }
        At::Transfer => s
            .on(Stage::Data, Action::Raw(early_reply(f)))
            .on(Stage::DataBody(0), Action::Raw(Vec::new())),
        At::Final => s.on(
            Stage::FinalReply,
            action(f, "250", "250 2.0.0 Ok: queued as ABC123"),
        ),
        At::Quit => s.on(Stage::Quit, action(f, "221", "221 2.0.0 Bye")),
        At::Lmtp => s.on(
            Stage::LmtpReply(2),
            action(f, "250", "250 2.0.0 <carol@example.org> Saved"),
        ),
    }
}

/// A message of about `size` octets in 100-octet lines.
fn big_message(size: usize) -> Vec<u8> {
    let mut m = b"From: alice@example.org\nDate: Mon, 01 Jan 2024 00:00:00 +0000\n\
Message-ID: <big@example.org>\nSubject: big\n\n"
        .to_vec();
    let line = format!("{}\n", "0123456789".repeat(10));
    while m.len() < size {
        m.extend_from_slice(line.as_bytes());
    }
    m
}

fn message(cell: &Cell, mode: Mode) -> Vec<u8> {
    match (cell.at, mode) {
        (At::Data | At::Transfer, Mode::Chunking) => big_message(1536 * 1024),
        (At::Transfer, _) if is_connection_fault(cell.fault) => big_message(8 * 1024 * 1024),
        _ => MSG.to_vec(),
    }
}

fn args(cell: &Cell, pki: &Pki) -> Vec<String> {
    let timeout = if cell.fault == Fault::Stall { "1" } else { "5" };
    let mut a = vec!["--timeout".to_string(), timeout.to_string()];
    let extra: Vec<String> = match cell.at {
        At::StartTls | At::Handshake => vec![
            "--tls".into(),
            "starttls".into(),
            "--tls-trust-file".into(),
            pki.ca_path.display().to_string(),
        ],
        At::Auth => ["--allow-plaintext-auth", "--user", "u"]
            .map(String::from)
            .into_iter()
            .chain(["--password-command".to_string(), "echo p".to_string()])
            .collect(),
        At::Lmtp => vec!["--protocol".into(), "lmtp".into()],
        _ => Vec::new(),
    };
    a.extend(extra);
    a.extend(["-f", "alice@example.org", BOB, CAROL].map(String::from));
    a
}

pub(super) fn execute(cell: &Cell, mode: Mode, pki: &Pki) -> Run {
    let home = home();
    let server = Server::start(script(cell, mode, pki));
    if cell.at == At::Connect {
        // Free the port: the connection is then refused by the kernel (RST to the SYN).
        let host = server.host_arg();
        server.finish();
        let out = crate::harness::mailsend(&home)
            .args(["--host", &host, "--domain", "client.example"])
            .args(args(cell, pki))
            .write_stdin(MSG.to_vec())
            .output()
            .expect("spawn mailsend");
        return Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            port: 0,
            transcript: Transcript::default(),
        };
    }
    let msg = message(cell, mode);
    let a = args(cell, pki);
    run_in(&home, server, &msg, |cmd| {
        cmd.args(&a);
    })
}
