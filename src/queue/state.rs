//! The state file of a queue entry (spec §9 "Entry"): a versioned text file, one field a line, that says
//! who sent the message, through which account, with which MAIL parameters, and where each recipient
//! stands (`pending`, `sent`, `failed`, with its attempts, next try and last reply). It ends with an `end`
//! line carrying the SHA-256 of every byte before it, so a truncated file (a crash mid-write on a file
//! system that lost the fsync) and a corrupted one are both recognised, and such an entry is never sent.
//!
//! Free text (addresses, account names, server replies) is written with `%XX` escapes for `%`, control
//! characters and spaces where a space would end a field, so no value can add a line or a field. Nothing
//! here is ever a secret: credentials are resolved from the account again at delivery time. Pure: no I/O.

use sha2::{Digest, Sha256};

use super::id::Id;

/// The first line of every state file; the number is the format version.
const MAGIC: &str = "mailsend-queue 1";

/// Where one recipient stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RcptState {
    /// Not delivered yet: tried again at `next_try`.
    Pending,
    /// The server took it (its final 2xx); never sent again.
    Sent,
    /// Refused for good (a 5xx, or the lifetime ran out); listed in the failure notice.
    Failed,
}

impl RcptState {
    fn word(self) -> &'static str {
        match self {
            RcptState::Pending => "pending",
            RcptState::Sent => "sent",
            RcptState::Failed => "failed",
        }
    }

    fn from_word(word: &str) -> Option<RcptState> {
        match word {
            "pending" => Some(RcptState::Pending),
            "sent" => Some(RcptState::Sent),
            "failed" => Some(RcptState::Failed),
            _ => None,
        }
    }
}

/// One recipient of the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub address: String,
    pub state: RcptState,
    pub attempts: u32,
    /// Seconds since the epoch; 0 is "at once".
    pub next_try: i64,
    /// The server's last reply for this recipient, or why it was not tried (a connection failure).
    pub last_reply: Option<String>,
}

impl Recipient {
    pub fn pending(address: &str) -> Recipient {
        Recipient {
            address: address.to_owned(),
            state: RcptState::Pending,
            attempts: 0,
            next_try: 0,
            last_reply: None,
        }
    }
}

/// What kind of message the entry holds: a failure notice never causes another (no bounce loops,
/// nullmailer issue 69).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Message,
    Notice,
}

/// The server the entry goes to when it was named on the command line rather than by an account (spec §8:
/// such a server gets no credentials from the file, so the runner must know it was one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    pub account: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub socket: Option<String>,
    pub lmtp: bool,
}

/// The MAIL parameters the message was queued with (RFC 1870, 6152, 3461); SIZE is the data file's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parameters {
    pub eight_bit: bool,
    /// `8BITMIME` or `7BIT` (`-B`).
    pub body: Option<String>,
    pub dsn_ret: Option<String>,
    pub dsn_envid: Option<String>,
    pub dsn_notify: Option<String>,
}

/// An entry moved to `hold/`: when, why, and the configuration file as it was then, so that a changed
/// file releases it (spec §9 "retried … when the config file changes").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub since: i64,
    pub reason: String,
    /// [`super::store::config_stamp`] of the configuration file when the entry was held.
    pub config: String,
}

/// The stamp of an entry held by `--queue-hold`: only `--queue-release` lets it go.
pub const MANUAL_HOLD: &str = "manual";

/// The whole state of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub id: Id,
    pub created: i64,
    pub uid: u32,
    pub kind: Kind,
    pub route: Route,
    /// The envelope sender; "" is the null sender.
    pub sender: String,
    /// Octets of the data file (the message as sent, CRLF line ends).
    pub size: u64,
    pub params: Parameters,
    pub held: Option<Held>,
    /// A delivery attempt began at this time and its outcome was never recorded: the process died
    /// between the data and the state commit, so the message may have been delivered already.
    pub inflight: Option<i64>,
    /// The ID of the failure notice, chosen before it is queued so that it is queued at most once.
    pub notice: Option<Id>,
    pub recipients: Vec<Recipient>,
}

/// Why a state file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Corrupt {
    #[error("it does not start with \"{MAGIC}\" (another format or version)")]
    Magic,
    #[error("it has no end line: truncated")]
    Truncated,
    #[error("its checksum does not match: corrupted")]
    Checksum,
    #[error("line {0} is not understood")]
    Line(usize),
    #[error("the {0} field is missing")]
    Missing(&'static str),
    #[error("it names no recipient")]
    NoRecipient,
    #[error("its ID does not match its file name")]
    WrongId,
}

impl State {
    /// The recipients still owed the message.
    pub fn pending(&self) -> impl Iterator<Item = &Recipient> {
        self.recipients
            .iter()
            .filter(|r| r.state == RcptState::Pending)
    }

    /// No recipient is pending: the entry is done with, one way or the other.
    pub fn finished(&self) -> bool {
        self.pending().next().is_none()
    }

    pub fn failed(&self) -> impl Iterator<Item = &Recipient> {
        self.recipients
            .iter()
            .filter(|r| r.state == RcptState::Failed)
    }

    /// Spec §9: a notice goes to the sender, never for the null sender, never about a notice.
    pub fn wants_notice(&self) -> bool {
        self.kind == Kind::Message && !self.sender.is_empty() && self.failed().next().is_some()
    }

    /// The file's bytes.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{MAGIC}\nid {}\ncreated {}\nuid {}\n",
            self.id, self.created, self.uid
        );
        let kind = match self.kind {
            Kind::Message => "message",
            Kind::Notice => "notice",
        };
        out.push_str(&format!("kind {kind}\n"));
        self.render_route(&mut out);
        out.push_str(&format!(
            "sender {}\nsize {}\n",
            field(&self.sender),
            self.size
        ));
        self.render_params(&mut out);
        if let Some(h) = &self.held {
            out.push_str(&format!(
                "held {} {} {}\n",
                h.since,
                field(&h.config),
                text(&h.reason)
            ));
        }
        if let Some(t) = self.inflight {
            out.push_str(&format!("inflight {t}\n"));
        }
        if let Some(id) = &self.notice {
            out.push_str(&format!("notice {id}\n"));
        }
        for r in &self.recipients {
            out.push_str(&format!(
                "rcpt {} {} {} {}\n",
                r.state.word(),
                r.attempts,
                r.next_try,
                field(&r.address)
            ));
            if let Some(reply) = &r.last_reply {
                out.push_str(&format!("reply {}\n", text(reply)));
            }
        }
        let sum = hex(&Sha256::digest(out.as_bytes()));
        out.push_str(&format!("end {sum}\n"));
        out
    }

    fn render_route(&self, out: &mut String) {
        let r = &self.route;
        let lines = [
            ("account", r.account.as_deref().map(field)),
            ("host", r.host.as_deref().map(field)),
            ("port", r.port.map(|p| p.to_string())),
            ("socket", r.socket.as_deref().map(field)),
            ("protocol", r.lmtp.then(|| "lmtp".to_owned())),
        ];
        for (key, value) in lines {
            if let Some(value) = value {
                out.push_str(&format!("{key} {value}\n"));
            }
        }
    }

    fn render_params(&self, out: &mut String) {
        let p = &self.params;
        if p.eight_bit {
            out.push_str("param eight-bit\n");
        }
        let lines = [
            ("body", &p.body),
            ("ret", &p.dsn_ret),
            ("envid", &p.dsn_envid),
            ("notify", &p.dsn_notify),
        ];
        for (key, value) in lines {
            if let Some(value) = value {
                out.push_str(&format!("param {key} {}\n", field(value)));
            }
        }
    }

    /// Read a state file, refusing anything [`State::render`] would not have written; `id` is the file's
    /// name, which the content must repeat.
    pub fn parse(bytes: &[u8], id: &Id) -> Result<State, Corrupt> {
        let body = check_end(bytes)?;
        let mut lines = body.lines();
        if lines.next() != Some(MAGIC) {
            return Err(Corrupt::Magic);
        }
        let mut b = Builder::default();
        for (n, line) in lines.enumerate() {
            b.line(line).ok_or(Corrupt::Line(n + 2))?;
        }
        let state = b.build()?;
        if &state.id != id {
            return Err(Corrupt::WrongId);
        }
        Ok(state)
    }
}

/// The text before a valid `end` line.
fn check_end(bytes: &[u8]) -> Result<&str, Corrupt> {
    let text = std::str::from_utf8(bytes).map_err(|_| Corrupt::Line(0))?;
    if !text.starts_with(MAGIC) {
        return Err(Corrupt::Magic);
    }
    let Some(without_nl) = text.strip_suffix('\n') else {
        return Err(Corrupt::Truncated);
    };
    let start = without_nl.rfind('\n').map_or(0, |i| i + 1);
    let Some(sum) = without_nl[start..].strip_prefix("end ") else {
        return Err(Corrupt::Truncated);
    };
    let body = &text[..start];
    if hex(&Sha256::digest(body.as_bytes())) != sum {
        return Err(Corrupt::Checksum);
    }
    Ok(body)
}

/// The fields as they are read, checked once all lines are in.
#[derive(Default)]
struct Builder {
    id: Option<Id>,
    created: Option<i64>,
    uid: Option<u32>,
    kind: Option<Kind>,
    route: Route,
    sender: Option<String>,
    size: Option<u64>,
    params: Parameters,
    held: Option<Held>,
    inflight: Option<i64>,
    notice: Option<Id>,
    recipients: Vec<Recipient>,
}

impl Builder {
    /// One line; `None` when it is not one [`State::render`] writes.
    fn line(&mut self, line: &str) -> Option<()> {
        let (key, rest) = line.split_once(' ')?;
        match key {
            "id" => self.id = Some(Id::parse(rest)?),
            "created" => self.created = Some(rest.parse().ok()?),
            "uid" => self.uid = Some(rest.parse().ok()?),
            "kind" => {
                self.kind = Some(match rest {
                    "message" => Kind::Message,
                    "notice" => Kind::Notice,
                    _ => return None,
                })
            }
            "account" => self.route.account = Some(unfield(rest)?),
            "host" => self.route.host = Some(unfield(rest)?),
            "port" => self.route.port = Some(rest.parse().ok()?),
            "socket" => self.route.socket = Some(unfield(rest)?),
            "protocol" if rest == "lmtp" => self.route.lmtp = true,
            "sender" => self.sender = Some(unfield(rest)?),
            "size" => self.size = Some(rest.parse().ok()?),
            "param" => self.param(rest)?,
            "held" => self.held = Some(held(rest)?),
            "inflight" => self.inflight = Some(rest.parse().ok()?),
            "notice" => self.notice = Some(Id::parse(rest)?),
            "rcpt" => self.recipients.push(recipient(rest)?),
            "reply" => self.recipients.last_mut()?.last_reply = Some(untext(rest)?),
            _ => return None,
        }
        Some(())
    }

    fn param(&mut self, rest: &str) -> Option<()> {
        if rest == "eight-bit" {
            self.params.eight_bit = true;
            return Some(());
        }
        let (key, value) = rest.split_once(' ')?;
        let value = Some(unfield(value)?);
        match key {
            "body" => self.params.body = value,
            "ret" => self.params.dsn_ret = value,
            "envid" => self.params.dsn_envid = value,
            "notify" => self.params.dsn_notify = value,
            _ => return None,
        }
        Some(())
    }

    fn build(self) -> Result<State, Corrupt> {
        if self.recipients.is_empty() {
            return Err(Corrupt::NoRecipient);
        }
        Ok(State {
            id: self.id.ok_or(Corrupt::Missing("id"))?,
            created: self.created.ok_or(Corrupt::Missing("created"))?,
            uid: self.uid.ok_or(Corrupt::Missing("uid"))?,
            kind: self.kind.ok_or(Corrupt::Missing("kind"))?,
            route: self.route,
            sender: self.sender.ok_or(Corrupt::Missing("sender"))?,
            size: self.size.ok_or(Corrupt::Missing("size"))?,
            params: self.params,
            held: self.held,
            inflight: self.inflight,
            notice: self.notice,
            recipients: self.recipients,
        })
    }
}

fn held(rest: &str) -> Option<Held> {
    let mut parts = rest.splitn(3, ' ');
    Some(Held {
        since: parts.next()?.parse().ok()?,
        config: unfield(parts.next()?)?,
        reason: untext(parts.next()?)?,
    })
}

fn recipient(rest: &str) -> Option<Recipient> {
    let mut parts = rest.splitn(4, ' ');
    Some(Recipient {
        state: RcptState::from_word(parts.next()?)?,
        attempts: parts.next()?.parse().ok()?,
        next_try: parts.next()?.parse().ok()?,
        address: unfield(parts.next()?)?,
        last_reply: None,
    })
}

/// A value that ends at the next space: `%`, white space and control characters escaped; the empty
/// string is `%` alone (a line never ends in a space).
fn field(value: &str) -> String {
    if value.is_empty() {
        return "%".to_owned();
    }
    escape(value, true)
}

fn unfield(text: &str) -> Option<String> {
    match text {
        "%" => Some(String::new()),
        _ if text.contains(' ') => None,
        _ => unescape(text),
    }
}

/// The rest of a line: spaces kept, `%` and control characters escaped.
fn text(value: &str) -> String {
    escape(value, false)
}

fn untext(text: &str) -> Option<String> {
    unescape(text)
}

fn escape(value: &str, spaces: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c == '%' || c.is_control() || (spaces && c.is_whitespace()) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn unescape(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else if bytes[i].is_ascii_control() {
            return None;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
