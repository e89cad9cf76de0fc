//! Issue 13, spec §10: `mailsend -bs` driven by a scripted client on its stdin and stdout, relaying into
//! the scripted server of the harness (one connection: the upstream session is kept across
//! transactions) or the queue's sink (many connections, for the crash tests).

mod client;
mod failures;

use client::{Bs, stuffed};

use crate::harness::{Script, Server, home};

/// `-bs` aimed at `host`, as Symfony runs it (`-bs`) or Laravel (`-bs -i`).
fn bs_to(home: &tempfile::TempDir, host: &str, extra: &[&str]) -> Bs {
    let mut args = vec!["-bs", "--host", host, "--domain", "client.example"];
    args.extend_from_slice(extra);
    Bs::start(home.path(), &args, &[])
}

const MESSAGE: &str = "From: app@example.org\nTo: bob@example.org\nSubject: hello\n\
                       Date: Mon, 01 Jan 2024 00:00:00 +0000\nMessage-ID: <m1@example.org>\n\n\
                       first line\n.starts with a dot\n.\n..two dots\nlast";

/// What the upstream server must store for [`MESSAGE`]: CRLF lines, one CRLF after the last.
fn stored(message: &str) -> Vec<u8> {
    let mut out = message.replace('\n', "\r\n").into_bytes();
    out.extend_from_slice(b"\r\n");
    out
}

fn assert_queued_as(reply: &str, enhanced: bool) {
    let prefix = if enhanced {
        "250 2.0.0 Ok: queued as "
    } else {
        "250 Ok: queued as "
    };
    let id = reply
        .strip_prefix(prefix)
        .and_then(|r| r.strip_suffix("\r\n"))
        .unwrap_or_else(|| panic!("not {prefix:?}: {reply:?}"));
    assert!(
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()),
        "Symfony reads the ID as letters and digits: {reply:?}"
    );
}

/// Symfony's dialogue, one command at a time after HELO, two messages, NOOP, RSET and VRFY between
/// them: both relayed byte-exact over one upstream connection, exit 0 after QUIT.
#[test]
fn transactions_after_helo_share_one_upstream_session() {
    let home = home();
    let server = Server::start(Script::new());
    let mut bs = bs_to(&home, &server.host_arg(), &[]);
    assert_eq!(bs.reply(), format!("220 {} ESMTP mailsend\r\n", hostname()));
    assert!(bs.cmd("HELO [127.0.0.1]").starts_with("250 "));
    for (n, to) in ["bob@example.org", "carol@example.org"].iter().enumerate() {
        assert_eq!(bs.cmd("MAIL FROM:<app@example.org>"), "250 Ok\r\n");
        assert_eq!(bs.cmd(&format!("RCPT TO:<{to}>")), "250 Ok\r\n");
        assert!(bs.cmd("DATA").starts_with("354 "));
        bs.send(&stuffed(MESSAGE));
        assert_queued_as(&bs.reply(), false);
        assert_eq!(bs.cmd("NOOP"), "250 Ok\r\n", "after message {n}");
        assert!(bs.cmd("VRFY bob").starts_with("252 "));
        assert_eq!(bs.cmd("RSET"), "250 Ok\r\n");
    }
    assert_eq!(bs.cmd("QUIT"), "221 Bye\r\n");
    let ended = bs.end();
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
    assert_eq!(ended.stderr, "", "nothing on stderr with -bs");
    let t = server.finish();
    assert_eq!(t.count("EHLO"), 1, "one upstream session: {:?}", t.commands);
    assert_eq!(
        t.matching("RCPT"),
        ["RCPT TO:<bob@example.org>", "RCPT TO:<carol@example.org>"]
    );
    assert_eq!(t.data.len(), 2);
    for i in 0..2 {
        assert_eq!(
            String::from_utf8_lossy(&t.unstuffed(i)),
            String::from_utf8_lossy(&stored(MESSAGE))
        );
    }
}

fn hostname() -> String {
    gethostname_for_test()
}

/// The mail name the greeting gives when nothing configures one: the host name.
fn gethostname_for_test() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

/// RFC 2920: every command of a group in one write, replies in order; after EHLO, enhanced codes.
#[test]
fn pipelined_commands_get_their_replies_in_order() {
    let home = home();
    let server = Server::start(Script::new());
    let mut bs = bs_to(&home, &server.host_arg(), &[]);
    bs.reply();
    bs.send(b"EHLO client\r\nMAIL FROM:<app@example.org> BODY=8BITMIME\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<carol@example.org> NOTIFY=FAILURE\r\nDATA\r\n");
    let ehlo = bs.reply();
    assert!(
        ehlo.contains("250-PIPELINING\r\n") && ehlo.ends_with("250 DSN\r\n"),
        "{ehlo}"
    );
    assert_eq!(bs.reply(), "250 2.1.0 Ok\r\n");
    assert_eq!(bs.reply(), "250 2.1.5 Ok\r\n");
    assert_eq!(bs.reply(), "250 2.1.5 Ok\r\n");
    assert!(bs.reply().starts_with("354 "));
    let mut rest = stuffed(MESSAGE);
    rest.extend_from_slice(b"MAIL FROM:<>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
    bs.send(&rest);
    assert_queued_as(&bs.reply(), true);
    assert_eq!(bs.reply(), "250 2.1.0 Ok\r\n");
    assert_eq!(bs.reply(), "250 2.1.5 Ok\r\n");
    assert!(bs.reply().starts_with("354 "));
    let mut rest = stuffed("Subject: bounce\n\nx");
    rest.extend_from_slice(b"QUIT\r\n");
    bs.send(&rest);
    assert_queued_as(&bs.reply(), true);
    assert_eq!(bs.reply(), "221 2.0.0 Bye\r\n");
    let ended = bs.end();
    assert_eq!(ended.code, Some(0), "{}", ended.stderr);
    let t = server.finish();
    assert_eq!(t.count("EHLO"), 1);
    let mails = t.matching("MAIL");
    assert!(
        mails.len() == 2
            && mails[0].starts_with("MAIL FROM:<app@example.org> SIZE=")
            && mails[0].ends_with(" BODY=8BITMIME")
            && mails[1].starts_with("MAIL FROM:<> SIZE="),
        "{mails:?}"
    );
    assert_eq!(t.data.len(), 2);
}

/// Spec §10's refusals, each answered and the session still usable: 503 out of order, 500 unknown,
/// a line over 1000 octets, CR, LF and NUL inside MAIL and RCPT arguments.
#[test]
fn refusals_leave_the_session_usable() {
    let home = home();
    let mut bs = Bs::start(home.path(), &["-bs", "--host", "127.0.0.1:9"], &[]);
    bs.reply();
    assert_eq!(
        bs.cmd("MAIL FROM:<a@example.org>"),
        "503 Error: send HELO/EHLO first\r\n"
    );
    assert_eq!(bs.cmd("EHLO client"), bs_ehlo_reply());
    assert_eq!(bs.cmd("FROB"), "500 5.5.1 Command unrecognized\r\n");
    assert_eq!(
        bs.cmd("RCPT TO:<b@example.org>"),
        "503 5.5.1 Error: need MAIL command\r\n"
    );
    assert_eq!(bs.cmd("DATA"), "503 5.5.1 Error: need MAIL command\r\n");
    let long = format!("NOOP {}", "x".repeat(5000));
    assert_eq!(bs.cmd(&long), "500 5.5.2 Error: line too long\r\n");
    assert_eq!(bs.cmd("NOOP"), "250 2.0.0 Ok\r\n");
    bs.send(b"MAIL FROM:<a\rb@example.org>\r\n");
    assert!(bs.reply().starts_with("501 5.5.2 "));
    bs.send(b"MAIL FROM:<a\0b@example.org>\r\n");
    assert!(bs.reply().starts_with("501 5.5.2 "));
    // An LF ends the line: what is left of the address is no command.
    bs.send(b"MAIL FROM:<a\nb@example.org>\r\n");
    assert!(bs.reply().starts_with("501 5.5.4 "));
    assert_eq!(bs.reply(), "500 5.5.1 Command unrecognized\r\n");
    assert_eq!(bs.cmd("MAIL FROM:<a@example.org>"), "250 2.1.0 Ok\r\n");
    bs.send(
        b"RCPT TO:<b\r@example.org>\r\nRCPT TO:<b\0@example.org>\r\nRCPT TO:<b@exa\nmple.org>\r\n",
    );
    assert!(bs.reply().starts_with("501 5.5.2 "));
    assert!(bs.reply().starts_with("501 5.5.2 "));
    assert!(bs.reply().starts_with("501 5.5.4 "));
    assert!(bs.reply().starts_with("500 5.5.1 "));
    assert_eq!(bs.cmd("DATA"), "503 5.5.1 Error: need RCPT command\r\n");
    assert_eq!(bs.cmd("QUIT"), "221 2.0.0 Bye\r\n");
    let ended = bs.end();
    assert_eq!((ended.code, ended.stderr.as_str()), (Some(0), ""));
}

fn bs_ehlo_reply() -> String {
    format!(
        "250-{}\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n\
         250-SIZE\r\n250 DSN\r\n",
        hostname()
    )
}

/// End of input in every state: exit 0 outside the data, 75 inside, and the partial message is
/// neither relayed nor queued.
#[test]
fn end_of_input_at_every_state() {
    let cases: &[(&str, &[u8], i32)] = &[
        ("at once", b"", 0),
        ("after HELO", b"HELO c\r\n", 0),
        ("after MAIL", b"HELO c\r\nMAIL FROM:<a@example.org>\r\n", 0),
        ("after RCPT", b"HELO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n", 0),
        ("in a command line", b"HELO c\r\nMAIL FROM:<a@exa", 0),
        ("after DATA", b"HELO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n", 75),
        (
            "inside the data",
            b"HELO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.",
            75,
        ),
    ];
    for (state, input, code) in cases {
        let home = home();
        let server = Server::start(Script::new());
        let mut bs = bs_to(&home, &server.host_arg(), &["--queue-on-failure"]);
        bs.send(input);
        let ended = bs.end();
        assert_eq!(ended.code, Some(*code), "{state}: {}", ended.stderr);
        if *code == 75 {
            assert!(
                ended.stderr.contains("partial message was discarded"),
                "{state}: {}",
                ended.stderr
            );
        } else {
            assert_eq!(ended.stderr, "", "{state}");
        }
        let t = server.finish();
        assert!(!t.connected, "{state}: nothing is relayed");
        let queue = home.path().join(".local/state/mailsend/queue/queue");
        let queued = std::fs::read_dir(&queue).map(|d| d.count()).unwrap_or(0);
        assert_eq!(queued, 0, "{state}: nothing is queued");
    }
}

/// A client that sends nothing is bounded by --timeout: 421, exit 75; inside the data too.
#[test]
fn a_silent_client_is_bounded_by_the_timeout() {
    for (state, input) in [
        ("before HELO", &b""[..]),
        (
            "inside the data",
            b"HELO c\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nDATA\r\nSubject: x\r\n",
        ),
    ] {
        let home = home();
        let started = std::time::Instant::now();
        let mut bs = Bs::start(
            home.path(),
            &["-bs", "--host", "127.0.0.1:9", "--timeout", "1"],
            &[],
        );
        bs.send(input);
        let mut replies = Vec::new();
        loop {
            let reply = bs.reply();
            if reply.is_empty() {
                break;
            }
            replies.push(reply);
        }
        let ended = bs.end();
        assert_eq!(ended.code, Some(75), "{state}: {}", ended.stderr);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{state}"
        );
        let last = replies.last().cloned().unwrap_or_default();
        assert!(
            last.starts_with("421 ") && last.contains("timeout"),
            "{state}: {replies:?}"
        );
    }
}

/// Aliases and maildomain apply to RCPT, maildomain to a bare MAIL FROM, as spec §2 has them.
#[test]
fn aliases_and_maildomain_apply_to_the_envelope() {
    let home = home();
    let dir = home.path().join(".config/mailsend");
    std::fs::create_dir_all(&dir).expect("config dir");
    std::fs::write(
        dir.join("config.toml"),
        "[defaults]\nmaildomain = \"example.org\"\n[aliases]\nroot = \"admin@example.net, ops\"\n",
    )
    .expect("config");
    let server = Server::start(Script::new());
    let mut bs = bs_to(&home, &server.host_arg(), &[]);
    bs.reply();
    bs.cmd("EHLO c");
    assert_eq!(bs.cmd("MAIL FROM:<cron>"), "250 2.1.0 Ok\r\n");
    assert_eq!(bs.cmd("RCPT TO:<root>"), "250 2.1.5 Ok\r\n");
    assert_eq!(bs.cmd("RCPT TO:<bob>"), "250 2.1.5 Ok\r\n");
    bs.cmd("DATA");
    bs.send(&stuffed("Subject: cron\n\nout"));
    assert_queued_as(&bs.reply(), true);
    bs.cmd("QUIT");
    assert_eq!(bs.end().code, Some(0));
    let t = server.finish();
    let mails = t.matching("MAIL");
    assert!(
        mails.len() == 1 && mails[0].starts_with("MAIL FROM:<cron@example.org> SIZE="),
        "{mails:?}"
    );
    assert_eq!(
        t.matching("RCPT"),
        [
            "RCPT TO:<admin@example.net>",
            "RCPT TO:<ops@example.org>",
            "RCPT TO:<bob@example.org>"
        ]
    );
}

/// Recipients, -t or --header (issue 15) with -bs: exit 64 at once; so is --debug without --debug-file. With one, the
/// trace goes to the file and stderr stays empty.
#[test]
fn usage_errors_and_the_debug_file() {
    for args in [
        &["-bs", "bob@example.org"][..],
        &["-bs", "-t"],
        &["-bs", "--input", "/dev/null"],
        &["-bs", "--header", "X-A: b"],
        &["-bs", "--debug", "1"],
        &["-bs", "-v"],
    ] {
        let home = home();
        let ended = Bs::start(home.path(), args, &[]).end();
        assert_eq!(ended.code, Some(64), "{args:?}: {}", ended.stderr);
        assert!(ended.stderr.contains("-bs"), "{args:?}: {}", ended.stderr);
    }
    let home = home();
    let server = Server::start(Script::new());
    let file = home.path().join("trace.txt");
    let file_arg = file.to_string_lossy().into_owned();
    let mut bs = bs_to(
        &home,
        &server.host_arg(),
        &["--debug=2", "--debug-file", &file_arg],
    );
    bs.reply();
    bs.cmd("HELO c");
    bs.cmd("MAIL FROM:<a@example.org>");
    bs.cmd("RCPT TO:<b@example.org>");
    bs.cmd("DATA");
    bs.send(&stuffed("Subject: traced\n\nbody"));
    assert_queued_as(&bs.reply(), false);
    bs.cmd("QUIT");
    let ended = bs.end();
    assert_eq!((ended.code, ended.stderr.as_str()), (Some(0), ""));
    server.finish();
    let trace = std::fs::read_to_string(&file).expect("the trace file");
    for expected in [
        "bs client: HELO c",
        "bs server: 250 ",
        "send: 'EHLO client.example\\r\\n'",
        "send: b'Subject: traced",
    ] {
        assert!(trace.contains(expected), "{expected:?} in {trace}");
    }
}

/// A client that pipelines commands but never reads the replies cannot hold mailsend: once the pipe
/// is full, the wait for room is bounded by --timeout too.
#[test]
fn a_client_that_never_reads_is_bounded_by_the_timeout() {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let home = home();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailsend"))
        .env_clear()
        .envs(crate::harness::environment(home.path()))
        .args(["-bs", "--host", "127.0.0.1:9", "--timeout", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        let flood = b"NOOP\r\n".repeat(100_000);
        let _ = stdin.write_all(&flood);
    });
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > std::time::Duration::from_secs(15) {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let _ = writer.join();
    let status = status.expect("mailsend ended by itself");
    assert_eq!(
        status.code(),
        Some(74),
        "cannot write the replies: an I/O error"
    );
}
