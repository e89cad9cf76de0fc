use super::*;

fn ok(line: &str) -> Request {
    parse(line.as_bytes()).unwrap_or_else(|a| panic!("{line:?}: {a:?}"))
}

fn code(line: &[u8]) -> u16 {
    match parse(line) {
        Ok(r) => panic!("{:?} parsed as {r:?}", String::from_utf8_lossy(line)),
        Err(a) => a.code,
    }
}

#[test]
fn verbs_in_any_case() {
    assert_eq!(ok("helo [127.0.0.1]"), Request::Helo("[127.0.0.1]".into()));
    assert_eq!(
        ok("EHLO client.example"),
        Request::Ehlo("client.example".into())
    );
    assert_eq!(ok("data"), Request::Data);
    assert_eq!(ok("RSET"), Request::Rset);
    assert_eq!(ok("NOOP anything"), Request::Noop);
    assert_eq!(ok("QUIT"), Request::Quit);
    assert_eq!(ok("VRFY bob"), Request::Vrfy);
    assert_eq!(ok("HELP"), Request::Help);
}

#[test]
fn the_refusals_table() {
    let cases: &[(&[u8], u16)] = &[
        (b"EXPN staff", 500),
        (b"STARTTLS", 500),
        (b"AUTH PLAIN AGJvYgBzZWNyZXQ=", 500),
        (b"BDAT 10 LAST", 500),
        (b"", 500),
        (b"HELO", 501),
        (b"EHLO a b", 501),
        (b"DATA now", 501),
        (b"VRFY", 501),
        (b"MAIL TO:<a@x>", 501),
        (b"MAIL FROM:a@x", 501),
        (b"MAIL FROM:<a@x", 501),
        (b"MAIL FROM:<a@x>SIZE=1", 501),
        (b"RCPT TO:<>", 501),
        (b"MAIL FROM:<a\rb@x>", 501),
        (b"RCPT TO:<a\0b@x>", 501),
        (b"RCPT TO:<\xff@x>", 501),
        (b"MAIL FROM:<a@x> SIZE=big", 555),
        (b"MAIL FROM:<a@x> BODY=BINARYMIME", 555),
        (b"MAIL FROM:<a@x> AUTH=<>", 555),
        (b"MAIL FROM:<a@x> RET=ALL", 555),
        (b"MAIL FROM:<a@x> ENVID=a=b", 555),
        (b"MAIL FROM:<a@x> SMTPUTF8=yes", 555),
        (b"RCPT TO:<a@x> NOTIFY=SOMETIMES", 555),
        (b"RCPT TO:<a@x> FOO", 555),
    ];
    for (line, expected) in cases {
        assert_eq!(code(line), *expected, "{:?}", String::from_utf8_lossy(line));
    }
}

#[test]
fn mail_paths_and_parameters() {
    let Request::Mail(mail) = ok("MAIL FROM:<>") else {
        panic!("MAIL")
    };
    assert_eq!(mail.from, "");
    assert!(!mail.has_parameters());
    let Request::Mail(mail) = ok(
        "mail from: <@relay.example:ann@example.org> size=1024 BODY=8bitmime SMTPUTF8 RET=hdrs ENVID=QQ+2B1",
    ) else {
        panic!("MAIL")
    };
    assert_eq!(
        mail,
        Mail {
            from: "ann@example.org".into(),
            size: Some(1024),
            body: Some(BodyType::EightBitMime),
            smtputf8: true,
            ret: Some("HDRS".into()),
            envid: Some("QQ+2B1".into()),
        }
    );
    let Request::Mail(mail) = ok(r#"MAIL FROM:<"a> b"@example.org>"#) else {
        panic!("MAIL")
    };
    assert_eq!(mail.from, r#""a> b"@example.org"#);
}

#[test]
fn rcpt_parameters() {
    let Request::Rcpt(rcpt) =
        ok("RCPT TO:<bob@example.org> NOTIFY=failure,delay ORCPT=rfc822;bob@example.org")
    else {
        panic!("RCPT")
    };
    assert_eq!(rcpt.to, "bob@example.org");
    assert_eq!(rcpt.notify.as_deref(), Some("FAILURE,DELAY"));
    assert!(rcpt.orcpt && rcpt.has_parameters());
    let Request::Rcpt(rcpt) = ok("RCPT TO:<postmaster>") else {
        panic!("RCPT")
    };
    assert_eq!(rcpt.to, "postmaster");
}

proptest::proptest! {
    /// Any line: a command or a refusal, never a panic; a refusal is one short line.
    #[test]
    fn any_line(line in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
        if let Err(answer) = parse(&line) {
            proptest::prop_assert!(answer.wire(true).len() <= 512);
            proptest::prop_assert!((500..=555).contains(&answer.code));
        }
    }

    #[test]
    fn mail_like_lines(tail in "[<>@a-zA-Z=:\" .+-]{0,60}") {
        let _ = parse(format!("MAIL FROM:{tail}").as_bytes());
        let _ = parse(format!("RCPT TO:{tail}").as_bytes());
    }
}
