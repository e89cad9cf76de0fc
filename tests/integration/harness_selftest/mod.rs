//! The harness tested on its own with a raw socket client, so a failing product test can be trusted to be
//! the product's fault: defaults, faults per stage, pipelining, BDAT, teardown (TLS and AUTH in `tls`).

mod tls;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::harness::{Action, Script, Server, Stage, unstuff};

/// A minimal SMTP client: send lines, read whole (multi-line) replies.
pub(super) struct Client<S: Read + Write> {
    pub(super) stream: S,
    pub(super) buf: Vec<u8>,
}

impl Client<TcpStream> {
    pub(super) fn connect(server: &Server) -> Client<TcpStream> {
        let stream = TcpStream::connect(server.addr()).expect("connect to the scripted server");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("read timeout");
        Client {
            stream,
            buf: Vec::new(),
        }
    }
}

impl<S: Read + Write> Client<S> {
    pub(super) fn send(&mut self, text: &str) {
        self.stream.write_all(text.as_bytes()).expect("write");
        self.stream.flush().expect("flush");
    }

    pub(super) fn cmd(&mut self, line: &str) -> String {
        self.send(&format!("{line}\r\n"));
        self.reply()
    }

    /// One complete reply, lines joined with `\n`, or `EOF` when the server closed first.
    pub(super) fn reply(&mut self) -> String {
        let mut lines = Vec::new();
        loop {
            let Some(line) = self.line() else {
                return "EOF".to_string();
            };
            let done = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line);
            if done {
                return lines.join("\n");
            }
        }
    }

    pub(super) fn line(&mut self) -> Option<String> {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..pos + 2).collect();
                return Some(String::from_utf8_lossy(&line[..pos]).into_owned());
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

pub(super) const DEFAULT_EHLO: &str =
    "250-test.example\n250-PIPELINING\n250-8BITMIME\n250-SIZE 10240000\n250 ENHANCEDSTATUSCODES";

#[test]
fn default_dialogue_records_commands_and_stuffed_data() {
    let server = Server::start(Script::new());
    let mut c = Client::connect(&server);
    assert_eq!(c.reply(), "220 test.example ESMTP");
    assert_eq!(c.cmd("EHLO client.example"), DEFAULT_EHLO);
    assert_eq!(c.cmd("MAIL FROM:<a@example.org> SIZE=10"), "250 2.1.0 Ok");
    assert_eq!(c.cmd("RCPT TO:<b@example.org>"), "250 2.1.5 Ok");
    assert_eq!(c.cmd("DATA"), "354 End data with <CR><LF>.<CR><LF>");
    c.send("Subject: x\r\n\r\n..dot\r\n");
    c.send("last\r\n.\r\n");
    assert_eq!(c.reply(), "250 2.0.0 Ok: queued as ABC123");
    assert_eq!(c.cmd("NOOP"), "250 2.0.0 Ok");
    assert_eq!(c.cmd("RSET"), "250 2.0.0 Ok");
    assert_eq!(c.cmd("VRFY x"), "502 5.5.2 Error: command not recognized");
    assert_eq!(c.cmd("QUIT"), "221 2.0.0 Bye");
    let t = server.finish();
    assert!(t.connected);
    assert_eq!(
        t.verbs(),
        [
            "EHLO", "MAIL", "RCPT", "DATA", "NOOP", "RSET", "VRFY", "QUIT"
        ]
    );
    assert_eq!(
        t.data,
        vec![b"Subject: x\r\n\r\n..dot\r\nlast\r\n".to_vec()]
    );
    assert_eq!(t.unstuffed(0), b"Subject: x\r\n\r\n.dot\r\nlast\r\n");
    assert!(t.saw("mail from:<a@"));
    assert_eq!(t.count("RCPT"), 1);
    assert_eq!(t.end, "QUIT answered");
    assert!(
        t.received
            .starts_with(b"EHLO client.example\r\nMAIL FROM:<a@example.org> SIZE=10\r\n")
    );
}

#[test]
fn pipelined_commands_in_one_write_get_replies_in_order() {
    let server = Server::start(Script::new());
    let mut c = Client::connect(&server);
    c.reply();
    c.cmd("EHLO client.example");
    c.send("MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nRCPT TO:<c@x>\r\nDATA\r\n");
    assert_eq!(c.reply(), "250 2.1.0 Ok");
    assert_eq!(c.reply(), "250 2.1.5 Ok");
    assert_eq!(c.reply(), "250 2.1.5 Ok");
    assert_eq!(c.reply(), "354 End data with <CR><LF>.<CR><LF>");
    // The dot line and the QUIT after it arrive together (RFC 2920 allows it).
    c.send(".\r\nQUIT\r\n");
    assert_eq!(c.reply(), "250 2.0.0 Ok: queued as ABC123");
    assert_eq!(c.reply(), "221 2.0.0 Bye");
    let t = server.finish();
    assert_eq!(t.data, vec![Vec::<u8>::new()]);
    assert_eq!(t.verbs(), ["EHLO", "MAIL", "RCPT", "RCPT", "DATA", "QUIT"]);
}

#[test]
fn rcpt_fault_hits_only_the_nth_recipient_and_data_needs_an_accepted_one() {
    let script = Script::new()
        .on(Stage::Rcpt(2), Action::reply("550 5.1.1 no such user"))
        .on(Stage::Rcpt(3), Action::reply("550 5.1.1 no such user"));
    let server = Server::start(script);
    let mut c = Client::connect(&server);
    c.reply();
    c.cmd("EHLO c");
    c.cmd("MAIL FROM:<a@x>");
    assert_eq!(c.cmd("RCPT TO:<1@x>"), "250 2.1.5 Ok");
    assert_eq!(c.cmd("RCPT TO:<2@x>"), "550 5.1.1 no such user");
    c.cmd("RSET");
    c.cmd("MAIL FROM:<a@x>");
    assert_eq!(c.cmd("RCPT TO:<3@x>"), "550 5.1.1 no such user");
    assert_eq!(c.cmd("DATA"), "554 5.5.1 Error: no valid recipients");
    drop(c);
    let t = server.finish();
    assert!(t.data.is_empty());
    assert_eq!(t.end, "client closed the connection");
}

#[test]
fn on_nth_counts_occurrences_of_a_stage() {
    let script = Script::new().on_nth(Stage::Ehlo, 2, Action::reply("550 second"));
    let server = Server::start(script);
    let mut c = Client::connect(&server);
    c.reply();
    assert_eq!(c.cmd("EHLO a"), DEFAULT_EHLO);
    assert_eq!(c.cmd("EHLO a"), "550 second");
    assert_eq!(c.cmd("EHLO a"), DEFAULT_EHLO);
    drop(c);
    server.finish();
}

#[test]
fn close_reset_and_reply_then_close_end_the_connection() {
    let server = Server::start(Script::new().on(Stage::Mail, Action::Close));
    let mut c = Client::connect(&server);
    c.reply();
    c.cmd("EHLO a");
    assert_eq!(c.cmd("MAIL FROM:<a@x>"), "EOF");
    assert_eq!(server.finish().end, "scripted close");

    let server = Server::start(Script::new().on(Stage::Greeting, Action::Reset));
    let mut c = Client::connect(&server);
    let mut byte = [0u8; 1];
    let error = loop {
        match c.stream.read(&mut byte) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
            other => break other,
        }
    };
    assert_eq!(
        error.map_err(|e| e.kind()),
        Err(ErrorKind::ConnectionReset),
        "RST, not FIN"
    );
    server.finish();

    let script = Script::new().on(Stage::Data, Action::ReplyThenClose("421 4.3.0 bye".into()));
    let server = Server::start(script);
    let mut c = Client::connect(&server);
    c.reply();
    c.cmd("EHLO a");
    c.cmd("MAIL FROM:<a@x>");
    c.cmd("RCPT TO:<b@x>");
    assert_eq!(c.cmd("DATA"), "421 4.3.0 bye");
    assert_eq!(c.reply(), "EOF");
    server.finish();
}

#[test]
fn stall_ends_as_soon_as_the_test_finishes() {
    let server =
        Server::start(Script::new().on(Stage::Greeting, Action::Stall(Duration::from_secs(60))));
    let c = Client::connect(&server);
    std::thread::sleep(Duration::from_millis(100));
    drop(c);
    let started = Instant::now();
    let t = server.finish();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(t.end, "scripted stall");
}

#[test]
fn no_client_means_not_connected_and_a_quick_finish() {
    let server = Server::start(Script::new());
    let started = Instant::now();
    let t = server.finish();
    assert!(!t.connected);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn lifetime_bounds_a_server_whose_client_never_speaks() {
    let server = Server::start(Script::new().lifetime(Duration::from_millis(300)));
    let _c = Client::connect(&server);
    std::thread::sleep(Duration::from_millis(600));
    // finish() would also stop it; the lifetime already did.
    assert_eq!(server.finish().end, "server lifetime over");
}

#[test]
fn flood_and_raw_bytes() {
    let script = Script::new().on(Stage::Ehlo, Action::Flood(b"250-x\r\n".to_vec()));
    let server = Server::start(script);
    let mut c = Client::connect(&server);
    c.reply();
    c.send("EHLO a\r\n");
    for _ in 0..1000 {
        assert_eq!(c.line().as_deref(), Some("250-x"));
    }
    drop(c);
    server.finish();

    let script = Script::new().greeting("220-first\r\n220 second").on(
        Stage::Mail,
        Action::Raw(b"250 ok\r\n250 extra\r\n".to_vec()),
    );
    let server = Server::start(script);
    let mut c = Client::connect(&server);
    assert_eq!(c.reply(), "220-first\n220 second");
    c.cmd("EHLO a");
    assert_eq!(c.cmd("MAIL FROM:<a@x>"), "250 ok");
    assert_eq!(c.reply(), "250 extra");
    drop(c);
    server.finish();
}

#[test]
fn data_body_fault_answers_early_and_skips_the_final_reply() {
    let script = Script::new().on(Stage::DataBody(0), Action::reply("550 5.7.1 go away"));
    let server = Server::start(script);
    let mut c = Client::connect(&server);
    c.reply();
    c.cmd("EHLO a");
    c.cmd("MAIL FROM:<a@x>");
    c.cmd("RCPT TO:<b@x>");
    c.cmd("DATA");
    assert_eq!(c.reply(), "550 5.7.1 go away");
    c.send("body\r\n.\r\n");
    assert_eq!(c.cmd("QUIT"), "221 2.0.0 Bye");
    let t = server.finish();
    assert_eq!(t.data, vec![b"body\r\n".to_vec()]);

    let script = Script::new().on(Stage::DataBody(10), Action::Close);
    let server = Server::start(script);
    let mut c = Client::connect(&server);
    c.reply();
    c.cmd("EHLO a");
    c.cmd("MAIL FROM:<a@x>");
    c.cmd("RCPT TO:<b@x>");
    c.cmd("DATA");
    c.send("0123456789abcdef\r\n.\r\n");
    assert_eq!(c.reply(), "EOF");
    let t = server.finish();
    assert!(t.data.is_empty());
    assert_eq!(
        t.unterminated_data.as_deref(),
        Some(&b"0123456789abcdef\r\n"[..])
    );
}

#[test]
fn helo_only_refuses_ehlo() {
    let server = Server::start(Script::new().helo_only());
    let mut c = Client::connect(&server);
    c.reply();
    assert_eq!(c.cmd("EHLO a"), "502 5.5.2 Error: command not recognized");
    assert_eq!(c.cmd("HELO a"), "250 test.example");
    drop(c);
    server.finish();
}

#[test]
fn bdat_only_with_chunking() {
    let script = Script::new().ehlo_lines(&["CHUNKING"]);
    let server = Server::start(script);
    let mut c = Client::connect(&server);
    c.reply();
    assert_eq!(c.cmd("EHLO a"), "250-test.example\n250 CHUNKING");
    c.cmd("MAIL FROM:<a@x>");
    c.cmd("RCPT TO:<b@x>");
    c.send("BDAT 5\r\nab\r\nc");
    assert_eq!(c.reply(), "250 2.0.0 Ok: 5 octets received");
    c.send("BDAT 3 LAST\r\n.\r\n");
    assert_eq!(c.reply(), "250 2.0.0 Ok: queued as ABC123");
    drop(c);
    let t = server.finish();
    assert_eq!(t.bdat, vec![b"ab\r\nc.\r\n".to_vec()]);

    let server = Server::start(Script::new());
    let mut c = Client::connect(&server);
    c.reply();
    assert_eq!(
        c.cmd("BDAT 1 LAST"),
        "502 5.5.2 Error: command not recognized"
    );
    drop(c);
    server.finish();
}

#[test]
fn ipv6_loopback_when_available() {
    let Some(server) = Server::start_v6(Script::new()) else {
        return;
    };
    assert!(server.host_arg().starts_with("[::1]:"));
    let mut c = Client::connect(&server);
    assert_eq!(c.reply(), "220 test.example ESMTP");
    drop(c);
    assert!(server.finish().connected);
}

#[test]
fn unstuff_removes_one_dot_at_line_starts_only() {
    assert_eq!(
        unstuff(b"..a\r\n.\r\nb.c\r\n...\r\n"),
        b".a\r\n\r\nb.c\r\n..\r\n"
    );
    // A dot after a bare LF is not at a line start in SMTP's sense.
    assert_eq!(unstuff(b"a\n.b\r\n"), b"a\n.b\r\n");
}
