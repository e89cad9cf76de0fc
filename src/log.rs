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
use std::path::Path;
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

/// RFC 3164 §4.1.1 (and RFC 5424 Table 1): facility mail = 2; severity info = 6, err = 3.
const FACILITY_MAIL: u8 = 2;
const SEVERITY_INFO: u8 = 6;
const SEVERITY_ERR: u8 = 3;

/// A syslog daemon that stops reading must not hold up the caller (cron waits for us).
const SYSLOG_TIMEOUT: Duration = Duration::from_secs(5);

/// The sysexits.h names msmtp logs in `exitcode=`.
const EXIT_NAMES: &[(u8, &str)] = &[
    (0, "EX_OK"),
    (64, "EX_USAGE"),
    (65, "EX_DATAERR"),
    (66, "EX_NOINPUT"),
    (67, "EX_NOUSER"),
    (68, "EX_NOHOST"),
    (69, "EX_UNAVAILABLE"),
    (70, "EX_SOFTWARE"),
    (71, "EX_OSERR"),
    (72, "EX_OSFILE"),
    (73, "EX_CANTCREAT"),
    (74, "EX_IOERR"),
    (75, "EX_TEMPFAIL"),
    (76, "EX_PROTOCOL"),
    (77, "EX_NOPERM"),
    (78, "EX_CONFIG"),
];

/// Logs `record` to `logfile` (appended; created 0600) and, with `syslog`, to /dev/log. Both are
/// attempted; the first error is returned. A missing /dev/log is not an error (containers and
/// minimal systems have none). The caller should only warn on error: the message's fate is
/// already decided, and the log must not change the exit status.
pub fn write(logfile: Option<&Path>, syslog: bool, record: &Record) -> io::Result<()> {
    let mut result = Ok(());
    if let Some(path) = logfile {
        result = append(path, &format_line(record, Local::now()));
    }
    if syslog {
        let sent = send_syslog(Path::new(SYSLOG_SOCKET), record, std::process::id());
        if result.is_ok() {
            result = sent;
        }
    }
    result
}

/// The logfile line, without its line end: the local time as msmtp writes it, then the fields.
fn format_line(record: &Record, time: DateTime<Local>) -> String {
    format!("{} {}", time.format("%b %d %H:%M:%S"), fields(record))
}

/// Appends one line. O_APPEND and a single write of the whole line keep lines from concurrent
/// mailsend processes whole (POSIX write(2): the offset move and the write are one step).
fn append(path: &Path, line: &str) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)?;
    let mut buf = String::with_capacity(line.len() + 1);
    buf.push_str(line);
    buf.push('\n');
    file.write_all(buf.as_bytes())
}

/// The RFC 3164 message sent to syslog: `<PRI>TAG[PID]: fields`, without a TIMESTAMP or
/// HOSTNAME, which the local daemon adds (§4.3.2), like glibc's syslog(3) for a local socket.
fn syslog_message(record: &Record, pid: u32) -> String {
    let severity = if record.exit_status == 0 {
        SEVERITY_INFO
    } else {
        SEVERITY_ERR
    };
    let pri = u16::from(FACILITY_MAIL) * 8 + u16::from(severity);
    format!("<{pri}>mailsend[{pid}]: {}", fields(record))
}

/// Sends the record to the syslog socket at `socket`: a datagram, or (when the socket is a stream
/// socket, as on some older systems) a NUL-terminated message on a stream, as glibc does.
fn send_syslog(socket: &Path, record: &Record, pid: u32) -> io::Result<()> {
    let message = syslog_message(record, pid);
    let datagram = UnixDatagram::unbound()?;
    datagram.set_write_timeout(Some(SYSLOG_TIMEOUT))?;
    let error = match datagram.send_to(message.as_bytes(), socket) {
        Ok(_) => return Ok(()),
        // No socket, or a stale one nobody listens on: no syslog here.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(());
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
    match EXIT_NAMES.iter().find(|(n, _)| *n == r.exit_status) {
        Some((_, name)) => s.push_str(name),
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
fn bare(s: &str, extra: &[char]) -> String {
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
fn quoted(s: &str) -> String {
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
        for (code, name) in EXIT_NAMES {
            let rec = Record {
                exit_status: *code,
                ..success(&r)
            };
            assert!(fields(&rec).ends_with(&format!(" exitcode={name}")));
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
        write(Some(&path), false, &first).expect("first");
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        write(Some(&path), false, &second).expect("second");
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
        write(Some(&path), false, &first).expect("third");
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640);
    }

    #[test]
    fn unwritable_logfile_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = rcpts();
        let missing = dir.path().join("no/such/dir/log");
        assert!(write(Some(&missing), false, &success(&r)).is_err());
        assert!(write(None, false, &success(&r)).is_ok());
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
                        write(Some(&path), false, &success(&many)).expect("write");
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

        send_syslog(&path, &success(&r), 4242).expect("send");
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
        send_syslog(&path, &failed, 7).expect("send");
        let n = server.recv(&mut buf).expect("recv");
        let got = std::str::from_utf8(&buf[..n]).expect("utf-8");
        assert!(got.starts_with("<19>mailsend[7]: host="), "{got}");
        assert!(got.ends_with(" exitcode=EX_UNAVAILABLE"), "{got}");
    }

    #[test]
    fn syslog_absent_or_stale_is_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = rcpts();
        let missing = dir.path().join("none");
        assert!(send_syslog(&missing, &success(&r), 1).is_ok());
        // A socket file left behind by a daemon that is gone.
        let stale = dir.path().join("stale");
        drop(UnixDatagram::bind(&stale).expect("bind"));
        assert!(stale.exists());
        assert!(send_syslog(&stale, &success(&r), 1).is_ok());
        // A plain file where the socket should be: nobody listens either (ECONNREFUSED).
        let file = dir.path().join("file");
        std::fs::write(&file, b"").expect("write");
        assert!(send_syslog(&file, &success(&r), 1).is_ok());
        // Anything else is reported, for the caller to warn about: here a path longer than
        // sockaddr_un allows.
        let long = dir.path().join("l".repeat(200));
        assert!(send_syslog(&long, &success(&r), 1).is_err());
    }

    #[test]
    fn syslog_stream_socket_gets_a_nul_terminated_message() {
        use std::io::Read;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log");
        let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind");
        let r = rcpts();
        send_syslog(&path, &success(&r), 5).expect("send");
        let (mut conn, _) = listener.accept().expect("accept");
        let mut got = Vec::new();
        conn.read_to_end(&mut got).expect("read");
        let want = format!("<22>mailsend[5]: {}\0", fields(&success(&r)));
        assert_eq!(got, want.into_bytes());
    }
}
