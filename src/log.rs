//! The per-message log line (issue 4): one line per message, to the `logfile` and/or the local
//! syslog, with msmtp's fields so that existing log readers keep working:
//!
//! `Nov 23 14:03:01 host=smtp.example.org tls=on auth=on user=me from=a@x recipients=b@y,c@z
//! mailsize=1234 smtpstatus=250 smtpmsg='250 2.0.0 Ok: queued' exitcode=EX_OK`
//!
//! A server reply gives `smtpstatus=` and `smtpmsg=`; any other failure text gives `errormsg=`.
//! The time is only in the file; syslog stamps its own (RFC 3164 §4.3.2). A [`Record`] holds no
//! secret by construction, and every value is made safe before it is written: a field can never
//! contain a line end, a control character or an unescaped delimiter, so a hostile server reply or
//! address cannot forge a log line (catalogue 14, 29).

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Local};

/// What is logged about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// The server's host name, or the socket path for LMTP over a Unix socket.
    pub host: &'a str,
    pub tls: bool,
    pub auth: bool,
    /// The AUTH user, when there is one.
    pub user: Option<&'a str>,
    /// The envelope sender (empty: the null sender).
    pub from: &'a str,
    pub recipients: &'a [String],
    /// The message size in octets, as sent.
    pub size: u64,
    /// The server's final reply (`250 2.0.0 Ok`), or the error text when there is none.
    pub reply: Option<String>,
    /// The sysexits status mailsend exits with.
    pub exit_status: u8,
}

/// Where the local syslog daemon listens (rsyslog, syslog-ng, journald, busybox syslogd).
const SYSLOG_SOCKET: &str = "/dev/log";

/// RFC 3164 §4.1.1 (and RFC 5424 Table 1): severity info = 6, err = 3.
const SEVERITY_INFO: u8 = 6;
const SEVERITY_ERR: u8 = 3;

/// A syslog facility (RFC 3164 §4.1.1, RFC 5424 Table 1). `syslog = true` means mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facility(u8);

/// msmtp's facility names (`syslog LOG_MAIL`, issue 10, point 21) and their codes.
const FACILITIES: &[(&str, u8)] = &[
    ("LOG_USER", 1),
    ("LOG_MAIL", 2),
    ("LOG_LOCAL0", 16),
    ("LOG_LOCAL1", 17),
    ("LOG_LOCAL2", 18),
    ("LOG_LOCAL3", 19),
    ("LOG_LOCAL4", 20),
    ("LOG_LOCAL5", 21),
    ("LOG_LOCAL6", 22),
    ("LOG_LOCAL7", 23),
];

impl Facility {
    pub const MAIL: Facility = Facility(2);

    /// One of msmtp's names (`LOG_MAIL`), in any case, with or without the `LOG_` prefix.
    pub fn from_name(name: &str) -> Option<Facility> {
        let upper = name.to_ascii_uppercase();
        let full = match upper.starts_with("LOG_") {
            true => upper,
            false => format!("LOG_{upper}"),
        };
        FACILITIES
            .iter()
            .find(|(n, _)| *n == full)
            .map(|(_, code)| Facility(*code))
    }

    /// The names [`Facility::from_name`] accepts, for error messages.
    pub fn names() -> String {
        let names: Vec<&str> = FACILITIES.iter().map(|(n, _)| *n).collect();
        names.join(", ")
    }
}

impl std::fmt::Display for Facility {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match FACILITIES.iter().find(|(_, code)| *code == self.0) {
            Some((name, _)) => f.write_str(name),
            None => write!(f, "facility {}", self.0),
        }
    }
}

/// The `syslog` setting: off, or on with a facility (`true` is mail).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Syslog {
    Off,
    On(Facility),
}

/// As `--pretend` shows it: the words a configuration file takes.
impl std::fmt::Debug for Syslog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Syslog::Off => f.write_str("off"),
            Syslog::On(facility) => write!(f, "on ({facility})"),
        }
    }
}

/// Why a log line was not written; the caller warns, the exit status does not change.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("cannot write the log file {}: {reason}", path.display())]
    File { path: PathBuf, reason: String },
    /// Issue 10, point 21: `syslog` asked for but nobody listens; said, not swallowed.
    #[error(
        "syslog is on but no syslog daemon listens at {SYSLOG_SOCKET}; the log line was not sent"
    )]
    NoSyslog,
    #[error("cannot send the log line to syslog at {SYSLOG_SOCKET}: {0}")]
    Syslog(io::Error),
}

impl LogError {
    fn file(path: &Path, e: &io::Error) -> LogError {
        let reason = match e.raw_os_error() {
            // O_NOFOLLOW on a link at the final component (POSIX open(2): ELOOP).
            Some(libc::ELOOP) => "it is a symbolic link, which mailsend does not follow (the log \
                                  would go to whatever file the link points at)"
                .to_owned(),
            _ => e.to_string(),
        };
        LogError::File {
            path: path.to_owned(),
            reason,
        }
    }

    fn syslog(e: io::Error) -> LogError {
        match e.kind() {
            // No socket, or a stale one nobody listens on (a plain file there is refused the same way).
            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => LogError::NoSyslog,
            _ => LogError::Syslog(e),
        }
    }
}

/// `~` and `~/…` in a configured path are the user's home directory (issue 10, point 21), as in the
/// shell and msmtp; `~user` is not expanded. `None` when the path needs a home and there is none.
/// `--debug-file`, opened to append (created 0600: a trace shows addresses and message data).
pub fn open_debug_file(path: &Path) -> io::Result<std::fs::File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
}

pub fn expand_home(path: &Path, home: Option<&Path>) -> Option<PathBuf> {
    let Ok(rest) = path.strip_prefix("~") else {
        return Some(path.to_owned());
    };
    let home = home.filter(|h| !h.as_os_str().is_empty())?;
    Some(if rest.as_os_str().is_empty() {
        home.to_owned()
    } else {
        home.join(rest)
    })
}

/// A syslog daemon that stops reading must not hold up the caller (cron waits for us).
const SYSLOG_TIMEOUT: Duration = Duration::from_secs(5);

/// Logs `record` to `logfile` (appended; created 0600; never through a symbolic link) and, with a
/// `syslog` facility, to /dev/log. Both are attempted; what failed is returned for the caller to warn
/// about: the message's fate is already decided, and the log must not change the exit status.
pub fn write(logfile: Option<&Path>, syslog: Option<Facility>, record: &Record) -> Vec<LogError> {
    let mut errors = Vec::new();
    if let Some(path) = logfile
        && let Err(e) = append(path, &format_line(record, Local::now()))
    {
        errors.push(LogError::file(path, &e));
    }
    if let Some(facility) = syslog
        && let Err(e) = send_syslog(
            Path::new(SYSLOG_SOCKET),
            facility,
            record,
            std::process::id(),
        )
    {
        errors.push(LogError::syslog(e));
    }
    errors
}

/// Logs one line of `fields` (already made safe with [`bare`] and [`quoted`]) the way [`write`] logs a
/// message: the queue's events (issue 12: queued, deferred, delivered, held, failed) go to the same file
/// and syslog as the per-message lines. `failure` chooses syslog's severity.
pub fn write_fields(
    logfile: Option<&Path>,
    syslog: Option<Facility>,
    failure: bool,
    fields: &str,
) -> Vec<LogError> {
    let mut errors = Vec::new();
    if let Some(path) = logfile {
        let line = format!("{} {fields}", Local::now().format("%b %d %H:%M:%S"));
        if let Err(e) = append(path, &line) {
            errors.push(LogError::file(path, &e));
        }
    }
    if let Some(facility) = syslog {
        let severity = if failure { SEVERITY_ERR } else { SEVERITY_INFO };
        let pri = u16::from(facility.0) * 8 + u16::from(severity);
        let message = format!("<{pri}>mailsend[{}]: {fields}", std::process::id());
        if let Err(e) = send_syslog_text(Path::new(SYSLOG_SOCKET), message) {
            errors.push(LogError::syslog(e));
        }
    }
    errors
}

/// The logfile line, without its line end: the local time as msmtp writes it, then the fields.
fn format_line(record: &Record, time: DateTime<Local>) -> String {
    format!("{} {}", time.format("%b %d %H:%M:%S"), fields(record))
}

/// Appends one line. O_APPEND and a single write of the whole line keep lines from concurrent
/// mailsend processes whole (POSIX write(2): the offset move and the write are one step).
fn append(path: &Path, line: &str) -> io::Result<()> {
    // Issue 10, point 6: O_NOFOLLOW, so a root-run sendmail never appends to a file a local user
    // linked at the log's path.
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    let mut buf = String::with_capacity(line.len() + 1);
    buf.push_str(line);
    buf.push('\n');
    file.write_all(buf.as_bytes())
}

/// The RFC 3164 message sent to syslog: `<PRI>TAG[PID]: fields`, without a TIMESTAMP or
/// HOSTNAME, which the local daemon adds (§4.3.2), like glibc's syslog(3) for a local socket.
fn syslog_message(facility: Facility, record: &Record, pid: u32) -> String {
    let severity = if record.exit_status == 0 {
        SEVERITY_INFO
    } else {
        SEVERITY_ERR
    };
    let pri = u16::from(facility.0) * 8 + u16::from(severity);
    format!("<{pri}>mailsend[{pid}]: {}", fields(record))
}

/// Sends the record to the syslog socket at `socket`: a datagram, or (when the socket is a stream
/// socket, as on some older systems) a NUL-terminated message on a stream, as glibc does.
fn send_syslog(socket: &Path, facility: Facility, record: &Record, pid: u32) -> io::Result<()> {
    send_syslog_text(socket, syslog_message(facility, record, pid))
}

/// Sends one formatted RFC 3164 message to the syslog socket at `socket`.
fn send_syslog_text(socket: &Path, message: String) -> io::Result<()> {
    let datagram = UnixDatagram::unbound()?;
    datagram.set_write_timeout(Some(SYSLOG_TIMEOUT))?;
    let error = match datagram.send_to(message.as_bytes(), socket) {
        Ok(_) => return Ok(()),
        // No socket, or a stale one nobody listens on: no stream socket either.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(e);
        }
        Err(e) => e,
    };
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return Err(error);
    };
    stream.set_write_timeout(Some(SYSLOG_TIMEOUT))?;
    let mut framed = message.into_bytes();
    framed.push(0);
    stream.write_all(&framed)
}

/// The fields after the time, in msmtp's order.
fn fields(r: &Record) -> String {
    let on = |b: bool| if b { "on" } else { "off" };
    let mut s = format!(
        "host={} tls={} auth={} ",
        bare(r.host, &[]),
        on(r.tls),
        on(r.auth)
    );
    if let Some(user) = r.user {
        s.push_str(&format!("user={} ", bare(user, &[])));
    }
    let from = if r.from.is_empty() {
        "<>".to_string()
    } else {
        bare(r.from, &[])
    };
    let recipients: Vec<String> = r.recipients.iter().map(|a| bare(a, &[','])).collect();
    s.push_str(&format!(
        "from={from} recipients={} mailsize={} ",
        recipients.join(","),
        r.size
    ));
    if let Some(reply) = r.reply.as_deref() {
        match smtp_status(reply) {
            Some(code) => s.push_str(&format!("smtpstatus={code} smtpmsg={} ", quoted(reply))),
            None => s.push_str(&format!("errormsg={} ", quoted(reply))),
        }
    }
    s.push_str("exitcode=");
    // The sysexits names msmtp logs, from the one table of statuses.
    match crate::exit::status::name(r.exit_status) {
        Some(name) => s.push_str(name),
        None => s.push_str(&r.exit_status.to_string()),
    }
    s
}

/// The reply code when `text` starts like an SMTP reply (RFC 5321 §4.2: three digits, the first
/// 2 to 5, then a space, a hyphen or the end).
fn smtp_status(text: &str) -> Option<&str> {
    let code = text.get(..3)?;
    let first_ok = matches!(code.as_bytes().first(), Some(b'2'..=b'5'));
    let rest = &text[3..];
    (first_ok
        && code.bytes().all(|b| b.is_ascii_digit())
        && (rest.is_empty() || rest.starts_with([' ', '-'])))
    .then_some(code)
}

/// A value written without quotes: white space, `,` where `extra` says so, and what [`escape`]
/// escapes become escapes, so the value ends at the next space.
pub fn bare(s: &str, extra: &[char]) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_whitespace() || extra.contains(&c) {
            push_code(&mut out, c);
        } else {
            escape(&mut out, c);
        }
    }
    out
}

/// A value in single quotes, as msmtp writes the reply, with `'` and `\` escaped so the closing
/// quote is the only unescaped one.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        escape(&mut out, c);
    }
    out.push('\'');
    out
}

/// Control characters (C0, DEL, C1, so CR and LF too) and bidirectional overrides become `\xNN`
/// or `\u{N}`: they could end the line or make it read differently on a terminal (catalogue 29).
fn escape(out: &mut String, c: char) {
    let bidi =
        matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    match c {
        '\\' | '\'' => {
            out.push('\\');
            out.push(c);
        }
        c if c.is_control() || bidi || c == '\u{2028}' || c == '\u{2029}' => push_code(out, c),
        c => out.push(c),
    }
}

fn push_code(out: &mut String, c: char) {
    if c.is_ascii() {
        out.push_str(&format!("\\x{:02x}", u32::from(c)));
    } else {
        out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::os::unix::fs::PermissionsExt;

    fn time() -> DateTime<Local> {
        Local
            .with_ymd_and_hms(2024, 11, 23, 14, 3, 1)
            .earliest()
            .expect("a valid local time")
    }

    fn success(recipients: &[String]) -> Record<'_> {
        Record {
            host: "smtp.example.org",
            tls: true,
            auth: true,
            user: Some("me"),
            from: "a@x",
            recipients,
            size: 1234,
            reply: Some("250 2.0.0 Ok: queued".to_string()),
            exit_status: 0,
        }
    }

    fn rcpts() -> Vec<String> {
        vec!["b@y".to_string(), "c@z".to_string()]
    }

    #[test]
    fn success_line() {
        let r = rcpts();
        assert_eq!(
            format_line(&success(&r), time()),
            "Nov 23 14:03:01 host=smtp.example.org tls=on auth=on user=me from=a@x \
             recipients=b@y,c@z mailsize=1234 smtpstatus=250 smtpmsg='250 2.0.0 Ok: queued' \
             exitcode=EX_OK"
        );
    }

    #[test]
    fn failure_lines() {
        let r = vec!["b@y".to_string()];
        let refused = Record {
            tls: false,
            auth: false,
            user: None,
            reply: Some("550 5.1.1 <b@y>: Recipient address rejected: User unknown".to_string()),
            exit_status: 67,
            ..success(&r)
        };
        assert_eq!(
            format_line(&refused, time()),
            "Nov 23 14:03:01 host=smtp.example.org tls=off auth=off from=a@x recipients=b@y \
             mailsize=1234 smtpstatus=550 smtpmsg='550 5.1.1 <b@y>: Recipient address rejected: \
             User unknown' exitcode=EX_NOUSER"
        );
        let unreachable = Record {
            reply: Some(
                "cannot connect to smtp.example.org port 587: Connection refused".to_string(),
            ),
            exit_status: 75,
            ..refused.clone()
        };
        assert_eq!(
            fields(&unreachable),
            "host=smtp.example.org tls=off auth=off from=a@x recipients=b@y mailsize=1234 \
             errormsg='cannot connect to smtp.example.org port 587: Connection refused' \
             exitcode=EX_TEMPFAIL"
        );
        let nothing = Record {
            reply: None,
            from: "",
            exit_status: 99,
            ..refused
        };
        assert_eq!(
            fields(&nothing),
            "host=smtp.example.org tls=off auth=off from=<> recipients=b@y mailsize=1234 \
             exitcode=99"
        );
    }

    #[test]
    fn reply_or_error_text() {
        for (text, code) in [
            ("250 ok", Some("250")),
            ("421", Some("421")),
            ("554-multi", Some("554")),
            ("199 no", None),
            ("600 no", None),
            ("2500 no", None),
            ("25", None),
            ("", None),
            ("abc def", None),
            ("é50 x", None),
        ] {
            assert_eq!(smtp_status(text), code, "{text:?}");
        }
    }

    #[test]
    fn every_exit_name() {
        let r = rcpts();
        for status in crate::exit::status::STATUSES {
            let rec = Record {
                exit_status: status.code,
                ..success(&r)
            };
            assert!(fields(&rec).ends_with(&format!(" exitcode={}", status.name)));
        }
    }

    /// Catalogue 14, 29: nothing a server or a header supplies can end the line, add a field or
    /// close the quote early.
    #[test]
    fn hostile_values_stay_inside_their_field() {
        let r = vec!["b,c@y".to_string(), "d'@z\n".to_string()];
        let rec = Record {
            host: "h\r\nx",
            user: Some("me me"),
            from: "a@x exitcode=EX_OK",
            reply: Some("250 ok\r\nexitcode=EX_OK' \\ \u{1b}[31m \u{202e}".to_string()),
            exit_status: 75,
            ..success(&r)
        };
        let line = format_line(&rec, time());
        assert_eq!(
            line,
            "Nov 23 14:03:01 host=h\\x0d\\x0ax tls=on auth=on user=me\\x20me \
             from=a@x\\x20exitcode=EX_OK recipients=b\\x2cc@y,d\\'@z\\x0a mailsize=1234 \
             smtpstatus=250 smtpmsg='250 ok\\x0d\\x0aexitcode=EX_OK\\' \\\\ \\x1b[31m \\u{202e}' \
             exitcode=EX_TEMPFAIL"
        );
        assert!(!line.chars().any(char::is_control));
        assert_eq!(line.matches(" exitcode=").count(), 1);
    }

    #[test]
    fn logfile_created_0600_and_appended() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mailsend.log");
        let r = rcpts();
        let first = success(&r);
        let second = Record {
            reply: Some("451 4.3.0 try later".to_string()),
            exit_status: 75,
            ..success(&r)
        };
        assert!(write(Some(&path), None, &first).is_empty(), "first");
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(write(Some(&path), None, &second).is_empty(), "second");
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        assert_eq!(lines.len(), 2, "{text:?}");
        for (line, rec) in lines.iter().zip([&first, &second]) {
            let line = line.strip_suffix('\n').expect("line end");
            // "Mmm dd hh:mm:ss " then the fields.
            assert_eq!(&line[15..], format!(" {}", fields(rec)));
            assert!(
                chrono::NaiveTime::parse_from_str(&line[7..15], "%H:%M:%S").is_ok(),
                "{line}"
            );
        }
        // An existing file keeps its mode: the log is the user's file.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        assert!(write(Some(&path), None, &first).is_empty(), "third");
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640);
    }

    /// Issue 10, point 6: a root-run sendmail must not append to whatever file a local user links
    /// at the log's path; the failure names the path.
    #[test]
    fn logfile_symlink_is_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("shadow");
        std::fs::write(&victim, b"root:x:0:0\n").expect("write victim");
        let link = dir.path().join("mailsend.log");
        std::os::unix::fs::symlink(&victim, &link).expect("symlink");
        let r = rcpts();
        let errors = write(Some(&link), None, &success(&r));
        assert_eq!(
            std::fs::read(&victim).expect("read victim"),
            b"root:x:0:0\n",
            "the link's target is untouched"
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        let text = errors[0].to_string();
        assert!(text.contains(&link.display().to_string()), "{text}");
        assert!(text.contains("symbolic link"), "{text}");
        // A dangling link is refused the same way: nothing is created at its target.
        let missing = dir.path().join("created-by-no-one");
        let dangling = dir.path().join("dangling.log");
        std::os::unix::fs::symlink(&missing, &dangling).expect("symlink");
        assert_eq!(write(Some(&dangling), None, &success(&r)).len(), 1);
        assert!(!missing.exists());
    }

    #[test]
    fn unwritable_logfile_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = rcpts();
        let missing = dir.path().join("no/such/dir/log");
        let errors = write(Some(&missing), None, &success(&r));
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .to_string()
                .contains(&missing.display().to_string())
        );
        assert!(write(None, None, &success(&r)).is_empty());
    }

    /// One write per line: concurrent writers never interleave inside a line.
    #[test]
    fn concurrent_writers_keep_lines_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log");
        let many: Vec<String> = (0..200).map(|i| format!("rcpt{i}@example.org")).collect();
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..50 {
                        assert!(write(Some(&path), None, &success(&many)).is_empty());
                    }
                });
            }
        });
        let text = std::fs::read_to_string(&path).expect("read");
        let want = format!(" {}", fields(&success(&many)));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 400);
        for line in lines {
            assert_eq!(&line[15..], want);
        }
    }

    #[test]
    fn syslog_datagram() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log");
        let server = UnixDatagram::bind(&path).expect("bind");
        let r = rcpts();
        let mut buf = vec![0; 65536];

        send_syslog(&path, Facility::MAIL, &success(&r), 4242).expect("send");
        let n = server.recv(&mut buf).expect("recv");
        assert_eq!(
            std::str::from_utf8(&buf[..n]).expect("utf-8"),
            format!("<22>mailsend[4242]: {}", fields(&success(&r)))
        );

        let failed = Record {
            reply: Some("554 5.7.1 no".to_string()),
            exit_status: 69,
            ..success(&r)
        };
        send_syslog(&path, Facility::MAIL, &failed, 7).expect("send");
        let n = server.recv(&mut buf).expect("recv");
        let got = std::str::from_utf8(&buf[..n]).expect("utf-8");
        assert!(got.starts_with("<19>mailsend[7]: host="), "{got}");
        assert!(got.ends_with(" exitcode=EX_UNAVAILABLE"), "{got}");
    }

    /// Issue 10, point 21: `syslog = true` with no daemon listening was silent; it is now a warning
    /// that names the socket, whether the socket is missing, stale, or a plain file.
    #[test]
    fn syslog_without_a_daemon_warns() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = rcpts();
        let send = |path: &Path| send_syslog(path, Facility::MAIL, &success(&r), 1);
        let missing = dir.path().join("none");
        let stale = dir.path().join("stale");
        drop(UnixDatagram::bind(&stale).expect("bind"));
        assert!(stale.exists());
        let file = dir.path().join("file");
        std::fs::write(&file, b"").expect("write");
        for path in [&missing, &stale, &file] {
            let error = LogError::syslog(send(path).expect_err("nobody listens"));
            assert!(matches!(error, LogError::NoSyslog), "{path:?}: {error:?}");
            assert!(error.to_string().contains("/dev/log"), "{error}");
        }
        // Anything else is reported as it is: here a path longer than sockaddr_un allows.
        let long = dir.path().join("l".repeat(200));
        let error = LogError::syslog(send(&long).expect_err("too long"));
        assert!(matches!(error, LogError::Syslog(_)), "{error:?}");
    }

    /// Issue 10, point 21: msmtp's `syslog LOG_MAIL` form names the facility.
    #[test]
    fn syslog_takes_msmtp_facility_names() {
        assert_eq!(Facility::from_name("LOG_MAIL"), Some(Facility::MAIL));
        assert_eq!(Facility::from_name("mail"), Some(Facility::MAIL));
        assert_eq!(Facility::from_name("log_local3"), Some(Facility(19)));
        assert_eq!(Facility::from_name("LOG_USER"), Some(Facility(1)));
        assert_eq!(Facility::from_name("LOG_KERN"), None);
        assert_eq!(Facility::from_name("LOG_LOCAL8"), None);
        assert_eq!(Facility(19).to_string(), "LOG_LOCAL3");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log");
        let server = UnixDatagram::bind(&path).expect("bind");
        let r = rcpts();
        send_syslog(&path, Facility(16), &success(&r), 9).expect("send");
        let mut buf = vec![0; 65536];
        let n = server.recv(&mut buf).expect("recv");
        // local0 (16) * 8 + info (6).
        assert!(buf[..n].starts_with(b"<134>mailsend[9]: "));
    }

    /// Issue 10, point 21: `logfile = "~/mailsend.log"` means the home directory.
    #[test]
    fn logfile_tilde_is_the_home_directory() {
        let home = Path::new("/home/ann");
        let expand = |p: &str| expand_home(Path::new(p), Some(home));
        assert_eq!(expand("~/mailsend.log"), Some(home.join("mailsend.log")));
        assert_eq!(expand("~"), Some(home.to_owned()));
        assert_eq!(expand("/var/log/m.log"), Some("/var/log/m.log".into()));
        assert_eq!(expand("~bob/m.log"), Some("~bob/m.log".into()));
        assert_eq!(expand("log/~/m.log"), Some("log/~/m.log".into()));
        assert_eq!(expand_home(Path::new("~/m.log"), None), None);
    }

    #[test]
    fn syslog_stream_socket_gets_a_nul_terminated_message() {
        use std::io::Read;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log");
        let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind");
        let r = rcpts();
        send_syslog(&path, Facility::MAIL, &success(&r), 5).expect("send");
        let (mut conn, _) = listener.accept().expect("accept");
        let mut got = Vec::new();
        conn.read_to_end(&mut got).expect("read");
        let want = format!("<22>mailsend[5]: {}\0", fields(&success(&r)));
        assert_eq!(got, want.into_bytes());
    }
}
