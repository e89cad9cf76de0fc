//! Composing a message on the command line (spec §11, issue 15): the flags build the message, the scripted
//! server receives it, and mail-parser reads it back part by part: the subject decoded, each attachment's
//! bytes and type, the text and HTML alternatives, Bcc only in the envelope; a file that cannot be read is
//! exit 66 before any connection, compose flags with -t a usage error.

use std::path::Path;

use mail_parser::{MessageParser, MimeHeaders};

use crate::fixture::assert_quiet_success;
use crate::harness::{Run, Script, home, run, run_with};

/// Run mailsend with `args` (after `-f alice@example.org`) and the text body `stdin`; expect success.
fn compose(args: &[&str], stdin: &[u8]) -> Run {
    let mut all = vec!["-f", "alice@example.org"];
    all.extend_from_slice(args);
    let r = run(Script::new(), &all, stdin);
    assert_quiet_success(&r);
    assert_eq!(r.transcript.data.len(), 1, "one message");
    r
}

fn received(r: &Run) -> Vec<u8> {
    r.transcript.unstuffed(0)
}

#[test]
fn subjects_and_names_in_several_scripts_arrive_encoded_and_decode_back() {
    for text in [
        "Crème brûlée à Zürich",
        "Привет, мир",
        "日本語の件名 中文 한국어",
        "Disk full 🔥🚨",
    ] {
        // Quoted, as RFC 5322 needs for the comma in one of them.
        let to = format!("\"{text}\" <bob@example.org>");
        let r = compose(&["--subject", text, "--to", &to], b"body\n");
        let data = received(&r);
        let head = String::from_utf8_lossy(&data);
        assert!(data.is_ascii(), "RFC 2047 keeps the header ASCII: {head}");
        let message = MessageParser::default().parse(&data).expect("parses");
        assert_eq!(message.subject(), Some(text));
        let to = message.to().and_then(|a| a.first()).expect("a To");
        assert_eq!(to.name(), Some(text));
        assert_eq!(to.address(), Some("bob@example.org"));
        assert_eq!(message.body_text(0).as_deref(), Some("body\r\n"));
        assert!(r.transcript.saw("RCPT TO:<bob@example.org>"));
    }
}

#[test]
fn from_date_and_message_id_are_generated_with_the_full_name() {
    let r = compose(
        &["-F", "Zoë Admin", "--subject", "s", "bob@example.org"],
        b"x\n",
    );
    let data = received(&r);
    let message = MessageParser::default().parse(&data).expect("parses");
    let from = message.from().and_then(|a| a.first()).expect("a From");
    assert_eq!(from.name(), Some("Zoë Admin"));
    assert_eq!(from.address(), Some("alice@example.org"));
    assert!(message.date().is_some(), "a Date");
    assert!(message.message_id().is_some(), "a Message-ID");
}

#[test]
fn attachments_arrive_base64_with_their_bytes_and_types() {
    let dir = home();
    let binary: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let bin = write(dir.path(), "blob.bin", &binary);
    let pdf = write(dir.path(), "report.pdf", b"%PDF-1.4 not really\n");
    let log = write(
        dir.path(),
        "app.data",
        "line one\nligne deux é\n".as_bytes(),
    );
    let overridden = format!("{log};type=text/plain");
    let args = [
        "--subject",
        "files",
        "--attach",
        &bin,
        "--attach",
        &pdf,
        "--attach",
        &overridden,
    ];
    let mut all = vec!["bob@example.org"];
    all.extend_from_slice(&args);
    let r = compose(&all, b"see attached\n");
    let data = received(&r);
    let message = MessageParser::default().parse(&data).expect("parses");
    assert_eq!(message.body_text(0).as_deref(), Some("see attached\r\n"));
    let parts: Vec<_> = message.attachments().collect();
    assert_eq!(parts.len(), 3);
    let expected: [(&str, &str, &[u8]); 3] = [
        ("blob.bin", "application/octet-stream", &binary),
        ("report.pdf", "application/pdf", b"%PDF-1.4 not really\n"),
        (
            "app.data",
            "text/plain",
            "line one\nligne deux é\n".as_bytes(),
        ),
    ];
    for (part, (name, ctype, bytes)) in parts.iter().zip(expected) {
        assert_eq!(part.attachment_name(), Some(name));
        let ct = part.content_type().expect("a content type");
        assert_eq!(
            format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("")),
            ctype
        );
        assert_eq!(part.contents(), bytes, "{name}");
    }
    assert!(String::from_utf8_lossy(&data).contains("Content-Transfer-Encoding: base64"));
}

#[test]
fn html_makes_a_multipart_alternative_with_the_text() {
    let dir = home();
    let html = write(dir.path(), "report.html", b"<h1>Report</h1><p>All good</p>");
    let r = compose(
        &["--subject", "report", "--html", &html, "bob@example.org"],
        b"All good\n",
    );
    let data = received(&r);
    let message = MessageParser::default().parse(&data).expect("parses");
    let root = message.content_type().expect("a content type");
    assert_eq!(
        (root.ctype(), root.subtype()),
        ("multipart", Some("alternative"))
    );
    assert_eq!(message.body_text(0).as_deref(), Some("All good\r\n"));
    assert_eq!(
        message.body_html(0).as_deref(),
        Some("<h1>Report</h1><p>All good</p>")
    );
}

#[test]
fn a_text_body_that_is_not_seven_bit_goes_quoted_printable() {
    let body = "Grüße aus Köln, the disk is at 95%\n";
    let r = compose(&["--subject", "s", "bob@example.org"], body.as_bytes());
    // Text lines end in CRLF on the wire (RFC 5322), so that is what the parser decodes.
    let body = body.replace('\n', "\r\n");
    let data = received(&r);
    assert!(data.is_ascii(), "{}", String::from_utf8_lossy(&data));
    assert!(String::from_utf8_lossy(&data).contains("Content-Transfer-Encoding: quoted-printable"));
    let message = MessageParser::default().parse(&data).expect("parses");
    assert_eq!(message.body_text(0).as_deref(), Some(body.as_str()));
}

#[test]
fn bcc_is_in_the_envelope_and_never_in_the_data() {
    let args = [
        "--subject",
        "s",
        "--to",
        "bob@example.org",
        "--cc",
        "carol@example.org",
    ];
    let mut all = args.to_vec();
    all.extend(["--bcc", "hidden@example.org"]);
    let r = compose(&all, b"x\n");
    let t = &r.transcript;
    for rcpt in ["bob", "carol", "hidden"] {
        assert!(t.saw(&format!("RCPT TO:<{rcpt}@example.org>")), "{rcpt}");
    }
    let data = received(&r);
    assert!(!String::from_utf8_lossy(&data).contains("hidden"));
    let message = MessageParser::default().parse(&data).expect("parses");
    assert!(message.bcc().is_none());
    let cc = message
        .cc()
        .and_then(|a| a.first())
        .and_then(|a| a.address());
    assert_eq!(cc, Some("carol@example.org"));
}

#[test]
fn header_fields_are_added_and_the_body_read_from_a_file() {
    let dir = home();
    let body = write(dir.path(), "body.txt", b"from a file\n");
    let r = compose(
        &[
            "--header",
            "X-Alert: disk",
            "--body",
            &body,
            "bob@example.org",
        ],
        b"stdin is not the body\n",
    );
    let message_bytes = received(&r);
    let message = MessageParser::default()
        .parse(&message_bytes)
        .expect("parses");
    assert_eq!(message.header_raw("X-Alert").map(str::trim), Some("disk"));
    assert_eq!(message.body_text(0).as_deref(), Some("from a file\r\n"));
}

#[test]
fn a_missing_attachment_is_66_before_any_connection() {
    let r = run_with(Script::new(), b"x\n", |cmd| {
        cmd.args([
            "--subject",
            "s",
            "--attach",
            "/nonexistent/report.pdf",
            "bob@example.org",
        ]);
    });
    r.expect_code(66);
    assert!(r.stderr.contains("/nonexistent/report.pdf"), "{}", r.stderr);
    assert!(!r.transcript.connected, "no connection");
}

#[test]
fn compose_flags_with_t_are_a_usage_error() {
    let r = run(
        Script::new(),
        &["-t", "--subject", "s"],
        b"To: bob@example.org\n\nx\n",
    );
    r.expect_code(64);
    assert!(r.stderr.contains("-t cannot be given"), "{}", r.stderr);
    assert!(!r.transcript.connected, "no connection");
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write a test file");
    path.display().to_string()
}

#[test]
fn a_body_typed_without_headers_gets_one_warning_line_and_is_still_sent() {
    let r = run(
        Script::new(),
        &["bob@example.org"],
        b"Warning: disk 95% full on /var\n",
    );
    r.expect_code(0);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("no To, From or Subject"), "{}", r.stderr);
    assert_eq!(r.transcript.data.len(), 1);
}

#[test]
fn headers_without_a_body_or_with_an_empty_line_get_no_warning() {
    for input in [&b"Subject: disk\n"[..], b"Warning: disk full\n\nbody\n"] {
        let r = run(Script::new(), &["bob@example.org"], input);
        assert_quiet_success(&r);
    }
}

#[test]
fn pretend_shows_the_composed_message_and_sends_nothing() {
    let home = home();
    let output = crate::harness::mailsend(&home)
        .args(["--pretend", "-f", "alice@example.org", "--subject", "Grüße"])
        .args(["--bcc", "hidden@example.org", "bob@example.org"])
        .write_stdin("hello\n")
        .output()
        .expect("spawn mailsend");
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("RCPT TO:<hidden@example.org>"), "{stdout}");
    assert!(stdout.contains("Subject: =?utf-8?"), "{stdout}");
    assert!(!stdout.contains("Bcc:"), "{stdout}");
}

#[test]
fn an_unreadable_body_or_html_is_66_and_a_bad_header_is_64() {
    let dir = home();
    let as_dir = dir.path().display().to_string();
    for flag in ["--body", "--html", "--attach"] {
        let r = run(
            Script::new(),
            &["--subject", "s", flag, &as_dir, "bob@example.org"],
            b"",
        );
        r.expect_code(66);
        assert!(r.stderr.contains(flag), "{}", r.stderr);
        assert!(!r.transcript.connected, "no connection");
    }
    // Plain mode checks --header as compose mode does: a space in the name, no colon.
    for bad in ["X A: b", "no colon"] {
        let r = run(
            Script::new(),
            &["--header", bad, "bob@example.org"],
            b"Subject: s\n\nx\n",
        );
        r.expect_code(64);
        assert!(r.stderr.contains("--header"), "{}", r.stderr);
        assert!(!r.transcript.connected, "no connection");
    }
}

/// Issue 15, plain mode: --header replaces every field of its name in the message read (any case)
/// or adds it; with -t a To given so is where the message goes, and the old To is not.
#[test]
fn header_in_plain_mode_replaces_or_adds_a_field_of_the_message_read() {
    let message = b"To: old@example.org\nSubject: Old\nsubject: Older\n\nthe body\n";
    let args = [
        "-f",
        "alice@example.org",
        "-t",
        "--header",
        "SUBJECT: New subject",
        "--header",
        "X-Foo: bar",
        "--header",
        "to: bob@example.org",
    ];
    let r = run(Script::new(), &args, message);
    assert_quiet_success(&r);
    assert!(r.transcript.saw("RCPT TO:<bob@example.org>"));
    assert!(!r.transcript.saw("RCPT TO:<old@example.org>"));
    let data = received(&r);
    let head = String::from_utf8_lossy(&data);
    assert!(!head.contains("Old") && !head.contains("old@"), "{head}");
    let parsed = MessageParser::default().parse(&data).expect("parses");
    assert_eq!(parsed.subject(), Some("New subject"));
    assert_eq!(parsed.header_raw("X-Foo").map(str::trim), Some("bar"));
    let to = parsed.to().and_then(|a| a.first()).expect("a To");
    assert_eq!(to.address(), Some("bob@example.org"));
    assert_eq!(parsed.body_text(0).as_deref(), Some("the body\r\n"));
}

#[test]
fn a_control_character_in_the_full_name_is_65_as_for_a_message_read() {
    let args = [
        "-f",
        "a@example.org",
        "-F",
        "Evil\nBcc: x@example.org",
        "--subject",
        "s",
    ];
    let mut all = args.to_vec();
    all.push("bob@example.org");
    let r = run(Script::new(), &all, b"");
    r.expect_code(65);
    assert!(!r.transcript.connected, "no connection");
}

#[test]
fn a_non_ascii_attachment_name_arrives_encoded_and_decodes_back() {
    let dir = home();
    let path = write(dir.path(), "résumé 2026.pdf", b"%PDF-1.4\n");
    let r = compose(
        &["--subject", "cv", "--attach", &path, "bob@example.org"],
        b"",
    );
    let data = received(&r);
    assert!(data.is_ascii(), "{}", String::from_utf8_lossy(&data));
    let message = MessageParser::default().parse(&data).expect("parses");
    let part = message.attachments().next().expect("the attachment");
    assert_eq!(part.attachment_name(), Some("résumé 2026.pdf"));
    assert_eq!(part.contents(), b"%PDF-1.4\n");
}
