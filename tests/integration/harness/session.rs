//! One served connection: the command loop of a small ESMTP or LMTP server (RFC 5321 §4.1, RFC 1869 EHLO,
//! RFC 2033 LHLO, RFC 2920 pipelining by reading line by line, RFC 3030 BDAT, RFC 3207 STARTTLS) with the
//! script's faults applied at each stage, over TCP or a Unix domain socket. Every blocking call is bounded
//! by the stop flag and the server's lifetime.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rustls::{ServerConfig, ServerConnection, StreamOwned};

use super::script::{Action, AuthCheck, Script, Stage};
use super::transcript::Transcript;

/// How often a blocked read or write wakes up to look at the stop flag and the lifetime.
const POLL: Duration = Duration::from_millis(50);
/// `sent` keeps at most this much, so a flood cannot eat the test's memory.
const SENT_RECORD_CAP: usize = 1 << 20;
const HOSTNAME: &str = "test.example";

/// Why the dialogue ended; recorded in `Transcript::end`.
pub(super) struct End(pub String);

pub(super) enum Conn {
    Plain(TcpStream),
    Unix(UnixStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
    Gone,
}

impl Conn {
    fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Conn::Plain(tcp) => Some(tcp),
            Conn::Tls(tls) => Some(&tls.sock),
            Conn::Unix(_) | Conn::Gone => None,
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(tcp) => tcp.read(buf),
            Conn::Unix(unix) => unix.read(buf),
            Conn::Tls(tls) => tls.read(buf),
            Conn::Gone => Ok(0),
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(tcp) => tcp.write(buf),
            Conn::Unix(unix) => unix.write(buf),
            Conn::Tls(tls) => tls.write(buf),
            Conn::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(tcp) => tcp.flush(),
            Conn::Unix(unix) => unix.flush(),
            Conn::Tls(tls) => tls.flush(),
            Conn::Gone => Ok(()),
        }
    }
}

pub(super) struct Session<'s> {
    pub(super) script: &'s Script,
    conn: Conn,
    /// Bytes read from the client and not yet consumed.
    pub(super) buf: Vec<u8>,
    record: Arc<Mutex<Transcript>>,
    stop: Arc<AtomicBool>,
    deadline: Instant,
    /// Occurrences seen so far per stage (`Rcpt(n)` counts as one stage).
    occurrences: Vec<(String, usize)>,
    rcpts_seen: usize,
    /// Whether MAIL was accepted, so RCPT and DATA after a refused MAIL get a real server's `503`.
    in_transaction: bool,
    pub(super) accepted: usize,
    /// The accepted recipients in RCPT order: LMTP answers each after the data (RFC 2033 §4.2).
    pub(super) accepted_rcpts: Vec<String>,
    pub(super) messages: usize,
    pub(super) bdat: Option<Vec<u8>>,
    /// The `DataBody` fault still to fire in the BDAT message being received.
    pub(super) bdat_fault: Option<(usize, Action)>,
    tls: bool,
    stop_seen: bool,
}

impl<'s> Session<'s> {
    pub(super) fn new(
        script: &'s Script,
        conn: Conn,
        record: Arc<Mutex<Transcript>>,
        stop: Arc<AtomicBool>,
        deadline: Instant,
    ) -> Session<'s> {
        // Accepted sockets may inherit the listener's non-blocking flag on some platforms.
        match &conn {
            Conn::Plain(tcp) => {
                let _ = tcp.set_nonblocking(false);
                let _ = tcp.set_read_timeout(Some(POLL));
                let _ = tcp.set_write_timeout(Some(POLL));
            }
            Conn::Unix(unix) => {
                let _ = unix.set_nonblocking(false);
                let _ = unix.set_read_timeout(Some(POLL));
                let _ = unix.set_write_timeout(Some(POLL));
            }
            Conn::Tls(_) | Conn::Gone => {}
        }
        Session {
            script,
            conn,
            buf: Vec::new(),
            record,
            stop,
            deadline,
            occurrences: Vec::new(),
            rcpts_seen: 0,
            in_transaction: false,
            accepted: 0,
            accepted_rcpts: Vec::new(),
            messages: 0,
            bdat: None,
            bdat_fault: None,
            tls: false,
            stop_seen: false,
        }
    }

    pub(super) fn run(&mut self) {
        self.note(|t| t.connected = true);
        let end = match self.dialogue() {
            Ok(()) => "QUIT answered".to_string(),
            Err(End(reason)) => reason,
        };
        self.note(|t| t.end = end);
    }

    fn dialogue(&mut self) -> Result<(), End> {
        if let Some(config) = self.script.implicit_tls.clone() {
            self.handshake(config)?;
        }
        if let Some(action) = self.fault(&Stage::Connect) {
            self.act(action)?;
        }
        let greeting = self.script.greeting.clone();
        self.answer(Stage::Greeting, &greeting)?;
        loop {
            let line = self.read_line()?;
            self.note(|t| t.commands.push(line.clone()));
            let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
            match verb.as_str() {
                // RFC 2033 §4.1: an LMTP server knows LHLO only; answering EHLO/HELO with 500 makes a
                // client that forgot `--protocol lmtp` fail visibly.
                "EHLO" | "HELO" if self.script.lmtp => {
                    self.answer(Stage::Ehlo, "500 5.5.1 Error: LMTP server, use LHLO")?;
                }
                "LHLO" if self.script.lmtp => {
                    let reply = self.ehlo_reply();
                    self.answer(Stage::Ehlo, &reply)?;
                }
                "EHLO" => {
                    let reply = if self.script.helo_only {
                        "502 5.5.2 Error: command not recognized".to_string()
                    } else {
                        self.ehlo_reply()
                    };
                    self.answer(Stage::Ehlo, &reply)?;
                }
                "HELO" => {
                    self.answer(Stage::Helo, &format!("250 {HOSTNAME}"))?;
                }
                "STARTTLS" => self.starttls()?,
                "AUTH" => self.auth(&line)?,
                "MAIL" => {
                    self.reset_transaction();
                    let sent = self.answer(Stage::Mail, "250 2.1.0 Ok")?;
                    self.in_transaction = sent.starts_with('2');
                }
                "RCPT" => {
                    self.rcpts_seen += 1;
                    let default = if self.in_transaction {
                        "250 2.1.5 Ok"
                    } else {
                        "503 5.5.1 Error: need MAIL command"
                    };
                    let sent = self.answer(Stage::Rcpt(self.rcpts_seen), default)?;
                    if sent.starts_with('2') {
                        self.accepted += 1;
                        self.accepted_rcpts.push(path_of(&line));
                    }
                }
                "DATA" => {
                    let default = if self.accepted == 0 {
                        "554 5.5.1 Error: no valid recipients"
                    } else {
                        "354 End data with <CR><LF>.<CR><LF>"
                    };
                    if self.answer(Stage::Data, default)?.starts_with("354") {
                        self.receive_body()?;
                    }
                }
                "BDAT" => self.bdat(&line)?,
                "RSET" => {
                    self.reset_transaction();
                    self.answer(Stage::Rset, "250 2.0.0 Ok")?;
                }
                "QUIT" => {
                    self.answer(Stage::Quit, "221 2.0.0 Bye")?;
                    return Ok(());
                }
                "NOOP" => {
                    self.answer(Stage::Other(verb), "250 2.0.0 Ok")?;
                }
                _ => {
                    self.answer(
                        Stage::Other(verb),
                        "502 5.5.2 Error: command not recognized",
                    )?;
                }
            }
        }
    }

    /// Forget the transaction (RFC 5321 §4.1.1.5 RSET, §4.1.1.2 a new MAIL, or the end of the data).
    pub(super) fn reset_transaction(&mut self) {
        self.in_transaction = false;
        self.accepted = 0;
        self.accepted_rcpts.clear();
        self.bdat = None;
        self.bdat_fault = None;
    }

    /// The extension lines in force now: RFC 3207 §4.2 has the server forget the plaintext list after TLS.
    pub(super) fn ehlo_extensions(&self) -> Vec<String> {
        let script = self.script;
        let mut lines = match (&script.ehlo_lines_after_tls, self.tls) {
            (Some(after), true) => after.clone(),
            _ => script.ehlo_lines.clone(),
        };
        let starttls_offered = script.starttls.is_some() || script.starttls_reply.is_some();
        if self.tls {
            lines.retain(|l| !l.eq_ignore_ascii_case("STARTTLS"));
        } else if starttls_offered && !lines.iter().any(|l| l.eq_ignore_ascii_case("STARTTLS")) {
            lines.push("STARTTLS".to_string());
        }
        if let Some(auth) = &script.auth {
            let listed = lines.iter().any(|l| {
                let upper = l.to_ascii_uppercase();
                upper.starts_with("AUTH ") || upper.starts_with("AUTH=")
            });
            if (self.tls || !auth.only_after_tls) && !listed {
                lines.push(format!("AUTH {}", auth.mechanisms.join(" ")));
            }
        }
        lines
    }

    fn ehlo_reply(&self) -> String {
        let mut lines = vec![HOSTNAME.to_string()];
        lines.extend(self.ehlo_extensions());
        let last = lines.len() - 1;
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| format!("250{}{l}", if i == last { ' ' } else { '-' }))
            .collect::<Vec<_>>()
            .join("\r\n")
    }

    fn starttls(&mut self) -> Result<(), End> {
        if let Some(action) = self.fault(&Stage::StartTls) {
            return self.act(action);
        }
        let offered = self.script.starttls.is_some() || self.script.starttls_reply.is_some();
        if !offered {
            return self.reply("502 5.5.2 Error: command not recognized");
        }
        if self.tls {
            return self.reply("554 5.5.1 Error: TLS already active");
        }
        let reply = self
            .script
            .starttls_reply
            .clone()
            .unwrap_or_else(|| "220 2.0.0 Ready to start TLS".to_string());
        // The injected bytes ride in the same write as the 220 (catalogue A1).
        let mut bytes = with_crlf(&reply);
        bytes.extend_from_slice(&self.script.inject_after_starttls);
        self.send(&bytes)?;
        match self.script.starttls.clone() {
            Some(config) if reply.starts_with("220") => {
                let early = std::mem::take(&mut self.buf);
                self.note(|t| t.plaintext_after_starttls = early);
                // A TlsHandshake fault replaces the handshake: its bytes go where the ServerHello belongs.
                match self.fault(&Stage::TlsHandshake) {
                    Some(action) => {
                        self.act(action)?;
                        Err(End("scripted handshake fault".to_string()))
                    }
                    None => self.handshake(config),
                }
            }
            _ => Ok(()),
        }
    }

    fn handshake(&mut self, config: Arc<ServerConfig>) -> Result<(), End> {
        let tcp = match std::mem::replace(&mut self.conn, Conn::Gone) {
            Conn::Plain(tcp) => tcp,
            other => {
                self.conn = other;
                return Err(End(
                    "a TLS handshake needs a plain TCP connection".to_string()
                ));
            }
        };
        let server = ServerConnection::new(config).map_err(|e| End(format!("TLS setup: {e}")))?;
        let mut tls = StreamOwned::new(server, tcp);
        while tls.conn.is_handshaking() {
            match tls.conn.complete_io(&mut tls.sock) {
                Ok((0, 0)) => return Err(self.tls_failed("client closed during the handshake")),
                Ok(_) => {}
                Err(e) if blocked(&e) => self.check_time()?,
                Err(e) => return Err(self.tls_failed(&e.to_string())),
            }
        }
        let certificates = tls.conn.peer_certificates().map_or(0, |c| c.len());
        self.note(|t| {
            t.tls_established = true;
            t.client_certificates = certificates;
        });
        self.conn = Conn::Tls(Box::new(tls));
        self.tls = true;
        Ok(())
    }

    fn tls_failed(&mut self, why: &str) -> End {
        self.note(|t| t.tls_error = Some(why.to_string()));
        End(format!("TLS handshake failed: {why}"))
    }

    /// Give the scripted action for this stage or else `default`; returns the text sent (empty if none).
    pub(super) fn answer(&mut self, stage: Stage, default: &str) -> Result<String, End> {
        match self.fault(&stage) {
            Some(action) => {
                let text = match &action {
                    Action::Reply(r) | Action::ReplyThenClose(r) => r.clone(),
                    Action::Raw(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                    _ => String::new(),
                };
                self.act(action)?;
                Ok(text)
            }
            None => {
                self.reply(default)?;
                Ok(default.to_string())
            }
        }
    }

    /// The scripted action for this occurrence of `stage`, counting the occurrence.
    pub(super) fn fault(&mut self, stage: &Stage) -> Option<Action> {
        let key = match stage {
            Stage::Rcpt(_) => "Rcpt".to_string(),
            other => format!("{other:?}"),
        };
        let count = match self.occurrences.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                self.occurrences.push((key, 1));
                1
            }
        };
        self.script
            .faults
            .iter()
            .find(|f| f.stage == *stage && f.nth.is_none_or(|n| n == count))
            .map(|f| f.action.clone())
    }

    pub(super) fn body_fault(&self, message: usize) -> Option<(usize, Action)> {
        self.script.faults.iter().find_map(|f| match f.stage {
            Stage::DataBody(threshold) if f.nth.is_none_or(|n| n == message) => {
                Some((threshold, f.action.clone()))
            }
            _ => None,
        })
    }

    /// Carry out a scripted action; `Err` when it ends the connection.
    pub(super) fn act(&mut self, action: Action) -> Result<(), End> {
        match action {
            Action::Reply(text) => self.reply(&text),
            Action::Raw(bytes) => self.send(&bytes),
            Action::Close => Err(End("scripted close".to_string())),
            Action::Reset => {
                // A Unix socket has no RST; the abrupt close is the nearest thing.
                if let Some(tcp) = self.conn.tcp() {
                    // SO_LINGER 0 makes the close send RST instead of FIN.
                    let _ = socket2::SockRef::from(tcp).set_linger(Some(Duration::ZERO));
                }
                self.conn = Conn::Gone;
                Err(End("scripted reset".to_string()))
            }
            Action::Stall(duration) => {
                let until = Instant::now() + duration;
                while Instant::now() < until && self.check_time().is_ok() {
                    thread::sleep(Duration::from_millis(10));
                }
                Err(End("scripted stall".to_string()))
            }
            Action::ReplyThenClose(text) => {
                self.reply(&text)?;
                Err(End("scripted close after reply".to_string()))
            }
            Action::Flood(bytes) => loop {
                self.check_time()?;
                self.send(&bytes)?;
            },
        }
    }

    pub(super) fn reply(&mut self, text: &str) -> Result<(), End> {
        self.send(&with_crlf(text))
    }

    pub(super) fn send(&mut self, bytes: &[u8]) -> Result<(), End> {
        self.note(|t| {
            if t.sent.len() < SENT_RECORD_CAP {
                t.sent.extend_from_slice(bytes);
            }
        });
        let mut offset = 0;
        while offset < bytes.len() {
            match self.conn.write(&bytes[offset..]) {
                Ok(0) => return Err(End("client stopped reading".to_string())),
                Ok(n) => offset += n,
                Err(e) if blocked(&e) => self.check_time()?,
                Err(e) => return Err(End(format!("write failed: {e}"))),
            }
        }
        loop {
            match self.conn.flush() {
                Ok(()) => return Ok(()),
                Err(e) if blocked(&e) => self.check_time()?,
                Err(e) => return Err(End(format!("flush failed: {e}"))),
            }
        }
    }

    /// One line from the client without its line ending; LF alone also ends a line, so a client that sends
    /// bare LF still shows up line by line in the transcript.
    pub(super) fn read_line(&mut self) -> Result<String, End> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            self.fill()?;
        }
    }

    pub(super) fn fill(&mut self) -> Result<(), End> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.conn.read(&mut chunk) {
                Ok(0) => return Err(End("client closed the connection".to_string())),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    self.note(|t| t.received.extend_from_slice(&chunk[..n]));
                    return Ok(());
                }
                Err(e) if blocked(&e) => self.check_time()?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(End(format!("read failed: {e}"))),
            }
        }
    }

    /// Whether to keep waiting. A stop seen for the first time grants one more poll, because the flag can
    /// be set just after a read timed out while the client's last bytes or EOF were on their way.
    fn check_time(&mut self) -> Result<(), End> {
        if self.stop.load(Ordering::SeqCst) {
            if self.stop_seen {
                return Err(End("the test finished first".to_string()));
            }
            self.stop_seen = true;
        }
        if Instant::now() >= self.deadline {
            Err(End("server lifetime over".to_string()))
        } else {
            Ok(())
        }
    }

    pub(super) fn note(&self, update: impl FnOnce(&mut Transcript)) {
        if let Ok(mut transcript) = self.record.lock() {
            update(&mut transcript);
        }
    }

    pub(super) fn auth_check(&self) -> Option<&AuthCheck> {
        self.script.auth.as_ref()
    }
}

/// The path of `RCPT TO:<path> params` without the brackets (RFC 5321 §4.1.1.3), for LMTP replies.
fn path_of(line: &str) -> String {
    let after = line
        .split_once(':')
        .map_or("", |(_, rest)| rest)
        .trim_start();
    let path = after.split(' ').next().unwrap_or("");
    path.trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

fn blocked(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn with_crlf(text: &str) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    if !bytes.ends_with(b"\r\n") {
        bytes.extend_from_slice(b"\r\n");
    }
    bytes
}
