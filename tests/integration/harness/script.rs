//! What the scripted server says: the defaults of a normal ESMTP or LMTP server (RFC 5321 §4.2, RFC 1869,
//! RFC 2033) and the faults a test injects, keyed by protocol stage and occurrence (the curl `<servercmd>` /
//! smtp-sink idea).

use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;

/// A point in the SMTP dialogue where a test can replace the server's normal behaviour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Right after accepting (and, for implicit TLS, after the handshake), before the greeting is sent.
    Connect,
    /// The greeting itself (RFC 5321 §4.3.1: must be 220).
    Greeting,
    /// The reply to EHLO, or to LHLO in LMTP mode.
    Ehlo,
    Helo,
    StartTls,
    /// In place of the TLS handshake after the `220` to STARTTLS: the action's bytes go where the
    /// ServerHello belongs (a reply action sends its text raw and then closes).
    TlsHandshake,
    /// The `AUTH` command line, before any SASL exchange.
    Auth,
    Mail,
    /// The n-th RCPT of the connection (1-based, counted across transactions).
    Rcpt(usize),
    /// The reply to the `DATA` command itself.
    Data,
    /// While the body is arriving, once at least this many body bytes were read (0: right after the 354).
    DataBody(usize),
    /// The reply to a `BDAT` chunk that is not the last (RFC 3030 §2); count occurrences with `on_nth`.
    BdatChunk,
    /// The reply after the terminating dot (or after `BDAT … LAST`).
    FinalReply,
    /// LMTP: the reply after the data for the n-th accepted recipient (1-based, in RCPT order, RFC 2033
    /// §4.2). A `FinalReply` fault in LMTP mode replaces all of them.
    LmtpReply(usize),
    Quit,
    Rset,
    /// Any other verb (`NOOP`, `VRFY`, `EXPN`, …), upper-case.
    Other(String),
}

/// What the server does at a stage instead of its default.
#[derive(Clone, Debug)]
pub enum Action {
    /// Send this reply (CRLF appended unless present; may hold several lines joined by `\r\n`), then go on.
    Reply(String),
    /// Send these exact bytes, then go on.
    Raw(Vec<u8>),
    /// Close the connection (FIN, catalogue E35).
    Close,
    /// Abort the connection with a TCP RST (`SO_LINGER` 0, catalogue E35).
    Reset,
    /// Say nothing for this long (or until the test finishes), then close (catalogue E33).
    Stall(Duration),
    /// Send this reply, then close (smtp-sink `-Q`).
    ReplyThenClose(String),
    /// Send these bytes again and again until the client goes away (endless `250-`, catalogue D27).
    Flood(Vec<u8>),
}

impl Action {
    /// Shorthand for `Action::Reply(text.to_string())`.
    pub fn reply(text: &str) -> Action {
        Action::Reply(text.to_string())
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Fault {
    pub stage: Stage,
    /// Which occurrence of the stage (1-based); `None` is every occurrence.
    pub nth: Option<usize>,
    pub action: Action,
}

/// How the server answers `AUTH` (RFC 4954), with one fixed set of credentials.
#[derive(Clone, Debug)]
pub struct AuthCheck {
    pub mechanisms: Vec<String>,
    pub user: String,
    pub password: String,
    /// What to do when the credentials are wrong.
    pub on_failure: Action,
    /// Advertise AUTH only once TLS is active (a typical submission server, catalogue C19).
    pub only_after_tls: bool,
    /// Answer every line with another `334` challenge, up to this many (catalogue C21: a 334 flood).
    pub challenge_forever: Option<usize>,
}

impl AuthCheck {
    /// PLAIN, LOGIN and CRAM-MD5 for `user`/`password`; a failure answers `535 5.7.8`.
    pub fn new(user: &str, password: &str) -> AuthCheck {
        AuthCheck {
            mechanisms: ["PLAIN", "LOGIN", "CRAM-MD5"].map(String::from).to_vec(),
            user: user.to_string(),
            password: password.to_string(),
            on_failure: Action::reply("535 5.7.8 Error: authentication failed"),
            only_after_tls: false,
            challenge_forever: None,
        }
    }

    pub fn mechanisms(mut self, mechanisms: &[&str]) -> AuthCheck {
        self.mechanisms = mechanisms.iter().map(|m| m.to_string()).collect();
        self
    }

    pub fn on_failure(mut self, action: Action) -> AuthCheck {
        self.on_failure = action;
        self
    }

    pub fn only_after_tls(mut self) -> AuthCheck {
        self.only_after_tls = true;
        self
    }

    /// Never accept: answer `334` to the AUTH line and to each of up to `limit` client lines.
    pub fn challenge_forever(mut self, limit: usize) -> AuthCheck {
        self.challenge_forever = Some(limit);
        self
    }
}

/// The whole behaviour of one scripted server connection.
#[derive(Clone, Debug)]
pub struct Script {
    pub(crate) greeting: String,
    pub(crate) ehlo_lines: Vec<String>,
    pub(crate) ehlo_lines_after_tls: Option<Vec<String>>,
    pub(crate) helo_only: bool,
    pub(crate) faults: Vec<Fault>,
    pub(crate) starttls: Option<Arc<ServerConfig>>,
    pub(crate) starttls_reply: Option<String>,
    pub(crate) inject_after_starttls: Vec<u8>,
    pub(crate) implicit_tls: Option<Arc<ServerConfig>>,
    pub(crate) auth: Option<AuthCheck>,
    pub(crate) lmtp: bool,
    pub(crate) lifetime: Duration,
}

impl Default for Script {
    fn default() -> Script {
        Script {
            greeting: "220 test.example ESMTP".to_string(),
            ehlo_lines: [
                "PIPELINING",
                "8BITMIME",
                "SIZE 10240000",
                "ENHANCEDSTATUSCODES",
            ]
            .map(String::from)
            .to_vec(),
            ehlo_lines_after_tls: None,
            helo_only: false,
            faults: Vec::new(),
            starttls: None,
            starttls_reply: None,
            inject_after_starttls: Vec::new(),
            implicit_tls: None,
            auth: None,
            lmtp: false,
            lifetime: Duration::from_secs(20),
        }
    }
}

impl Script {
    pub fn new() -> Script {
        Script::default()
    }

    /// The greeting line (without CRLF); it may hold several lines joined by `\r\n`.
    pub fn greeting(mut self, greeting: &str) -> Script {
        self.greeting = greeting.to_string();
        self
    }

    /// The EHLO extension lines after `250-test.example` (no codes, no CRLF).
    pub fn ehlo_lines(mut self, lines: &[&str]) -> Script {
        self.ehlo_lines = lines.iter().map(|l| l.to_string()).collect();
        self
    }

    /// The default lines without PIPELINING, so each command waits for its reply (RFC 2920 not offered).
    pub fn no_pipelining(mut self) -> Script {
        self.ehlo_lines
            .retain(|l| !l.eq_ignore_ascii_case("PIPELINING"));
        self
    }

    /// A new LMTP server (RFC 2033): `LHLO` instead of `EHLO` (which, like `HELO`, gets `500`), and after the
    /// data one reply per accepted recipient, `250 2.0.0 <addr> Saved` unless `Stage::LmtpReply(n)` says
    /// otherwise. The EHLO lines stay the defaults (PIPELINING and the rest, as Dovecot offers).
    pub fn lmtp() -> Script {
        Script {
            lmtp: true,
            greeting: "220 test.example LMTP ready".to_string(),
            ..Script::default()
        }
    }

    /// An RFC 821 server: `EHLO` is answered `502`, `HELO` works.
    pub fn helo_only(mut self) -> Script {
        self.helo_only = true;
        self
    }

    /// Replace the server's behaviour at every occurrence of `stage`.
    pub fn on(mut self, stage: Stage, action: Action) -> Script {
        self.faults.push(Fault {
            stage,
            nth: None,
            action,
        });
        self
    }

    /// Replace the server's behaviour at the `nth` (1-based) occurrence of `stage` only.
    pub fn on_nth(mut self, stage: Stage, nth: usize, action: Action) -> Script {
        self.faults.push(Fault {
            stage,
            nth: Some(nth),
            action,
        });
        self
    }

    /// Offer STARTTLS (RFC 3207) and do the handshake with this configuration after the `220`.
    pub fn starttls(mut self, config: Arc<ServerConfig>) -> Script {
        self.starttls = Some(config);
        self
    }

    /// Offer STARTTLS but answer it with this reply; a `220` here only starts TLS when `starttls` is set.
    pub fn starttls_reply(mut self, reply: &str) -> Script {
        self.starttls_reply = Some(reply.to_string());
        self
    }

    /// Send these bytes in the same write as the `220` to STARTTLS (response injection, catalogue A1).
    pub fn inject_after_starttls(mut self, bytes: &[u8]) -> Script {
        self.inject_after_starttls = bytes.to_vec();
        self
    }

    /// Do the TLS handshake at once, before the greeting (RFC 8314 implicit TLS).
    pub fn implicit_tls(mut self, config: Arc<ServerConfig>) -> Script {
        self.implicit_tls = Some(config);
        self
    }

    /// The EHLO extension lines once TLS is active (by default: the plaintext ones minus STARTTLS).
    pub fn ehlo_lines_after_tls(mut self, lines: &[&str]) -> Script {
        self.ehlo_lines_after_tls = Some(lines.iter().map(|l| l.to_string()).collect());
        self
    }

    /// Offer and check AUTH; an `AUTH …` line is added to the EHLO reply unless one is listed already.
    pub fn auth(mut self, auth: AuthCheck) -> Script {
        self.auth = Some(auth);
        self
    }

    /// How long the server thread lives at most (default 20 s), whatever the client does.
    pub fn lifetime(mut self, lifetime: Duration) -> Script {
        self.lifetime = lifetime;
        self
    }
}
