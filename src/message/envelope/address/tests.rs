use super::*;

fn ok(s: &str) -> Vec<String> {
    parse_address_list(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

#[test]
fn address_lists() {
    let cases: &[(&str, &[&str])] = &[
        ("", &[]),
        ("   ", &[]),
        ("bob@x", &["bob@x"]),
        ("\"Ann B\" <ann@x>, bob@x", &["ann@x", "bob@x"]),
        ("John, Sally ,Fred", &["John", "Sally", "Fred"]),
        ("root", &["root"]),
        ("root (Cron Daemon)", &["root"]),
        ("\"(Cron Daemon)\" <user>", &["user"]),
        ("mdadm monitoring <root@host>", &["root@host"]),
        ("team: a@x, b@x;", &["a@x", "b@x"]),
        ("team: a@x, b@x; c@y", &["a@x", "b@x", "c@y"]),
        ("undisclosed-recipients:;", &[]),
        ("undisclosed-recipients:", &[]),
        ("a@x,,b@x,", &["a@x", "b@x"]),
        ("\"Doe, John\" <j@x>", &["j@x"]),
        ("\"A; \\\"Quoted\\\" Name\" <to5@x>", &["to5@x"]),
        ("\"A Person: Personal\" <to9@x>", &["to9@x"]),
        ("j@x (John)", &["j@x"]),
        (
            "Some(wonderful \\) chap) <to10(his)@localhost(host)>",
            &["to10@localhost"],
        ),
        ("first . last @ example . org", &["first.last@example.org"]),
        (
            "<@relay.example,@b.example:user@c.example>",
            &["user@c.example"],
        ),
        ("user@[192.0.2.1]", &["user@[192.0.2.1]"]),
        ("user@[IPv6:::1]", &["user@[IPv6:::1]"]),
        ("\"john doe\"@example.com", &["\"john doe\"@example.com"]),
        ("\"john\"@example.com", &["john@example.com"]),
        ("\"a\\\"b\"@x", &["\"a\\\"b\"@x"]),
        (
            "=?utf-8?q?Micha=C3=ABl?= <michael@example.com>",
            &["michael@example.com"],
        ),
        ("Páolo <főo@bar.com>", &["főo@bar.com"]),
        ("René <rene@example.com>", &["rene@example.com"]),
        ("Jőhn, Sálly", &["Jőhn", "Sálly"]),
        ("-oQ/tmp", &["-oQ/tmp"]),
        ("a..b@docomo.example", &["a..b@docomo.example"]),
    ];
    for (input, want) in cases {
        assert_eq!(ok(input), *want, "input {input:?}");
    }
}

/// msmtp's tests/test-header-handling.sh list (catalogue 38), field by field.
#[test]
fn msmtp_hostile_list() {
    let cases: &[(&str, &[&str])] = &[
        (
            "to1@example.com, =?utf-8?B?VGVzdCDDnHNlcg==?= <to2@example.com>, Some One <to3@example.com>,",
            &["to1@example.com", "to2@example.com", "to3@example.com"],
        ),
        (
            "to4, \"A; \\\"Quoted\\\" Name\" <to5@example.com>",
            &["to4", "to5@example.com"],
        ),
        (
            "A Group:Person 1 <to6@example.com>,to7@example.com,SomeOne <to8@example.com>;",
            &["to6@example.com", "to7@example.com", "to8@example.com"],
        ),
        ("Undisclosed recipients:;", &[]),
        (
            "\"A Person: Personal Account\" <to9@example.com>",
            &["to9@example.com"],
        ),
        (
            "Some(wonderful \\) chap) <to10(his account)@localhost(this host)>",
            &["to10@localhost"],
        ),
        (
            "A Group(Some people)      :Some Person <to11@(their's host.)example.com>,\
             to12, \t        Person <to13@localhost> (a friend); (the end of the group)",
            &["to11@example.com", "to12", "to13@localhost"],
        ),
        (
            "(Empty list)(start)Undisclosed recipients  :(nobody(that I know))  ;",
            &[],
        ),
        ("bcc@example.com", &["bcc@example.com"]),
    ];
    for (input, want) in cases {
        assert_eq!(ok(input), *want, "input {input:?}");
    }
}

#[test]
fn malformed_lists_are_refused() {
    for input in [
        "a@b (c) d@e",
        "x <>",
        "<>",
        "a b",
        "John Smith",
        "\"Bernard, Bianca\"",
        "<bad",
        "bad>",
        "<<a@b>>",
        "a@",
        "@x",
        "a@x.",
        "a@b@c",
        "(unterminated",
        "\"unterminated",
        "a@[1.2.3.4",
        "a:b:c@x;",
        "g: h: a@x;;",
        ": a@x;",
        "a@x; b@x",
        "a\u{1}b@x",
        "..@x",
    ] {
        let err = parse_address_list(input).expect_err(input);
        assert!(
            matches!(err, MessageError::AddressSyntax { .. }),
            "{input:?}: {err:?}"
        );
        assert_eq!(crate::exit::classify(&err.into()), crate::exit::DATAERR);
    }
}

/// Catalogue 12: nothing with CR, LF or NUL may reach an SMTP command.
#[test]
fn cr_lf_nul_are_refused() {
    for input in [
        "a@x\r\nRCPT TO:<z@evil>",
        "a@x\nb@y",
        "a@x\rb@y",
        "a\0@x",
        "\"a\r\nDATA\"@x",
        "Name (comment\n) <a@x>",
    ] {
        assert!(
            matches!(
                parse_address_list(input),
                Err(MessageError::ControlInAddress(_))
            ),
            "{input:?}"
        );
    }
}

/// RFC 5321 §4.5.3.1: local part 64, domain 255, address 254 octets.
#[test]
fn length_limits() {
    let local64 = "l".repeat(64);
    let domain = format!("{}.example", "d".repeat(60));
    assert_eq!(ok(&format!("{local64}@x")), [format!("{local64}@x")]);
    assert!(matches!(
        parse_address_list(&format!("{local64}l@x")),
        Err(MessageError::LocalPartTooLong(_))
    ));
    assert!(matches!(
        parse_address_list(&"r".repeat(65)),
        Err(MessageError::LocalPartTooLong(_))
    ));
    let long_domain = vec!["d".repeat(63); 4].join(".");
    assert_eq!(long_domain.len(), 255);
    assert!(matches!(
        parse_address_list(&format!("a@{long_domain}x")),
        Err(MessageError::DomainTooLong(_))
    ));
    assert!(matches!(
        parse_address_list(&format!("{local64}@{long_domain}")),
        Err(MessageError::AddressTooLong(_))
    ));
    // 64 + 1 + 189 = 254: the longest address.
    let d189 = format!("{}.{}.{}", "d".repeat(63), "d".repeat(63), "d".repeat(61));
    assert_eq!(ok(&format!("{local64}@{d189}")).len(), 1);
    assert!(matches!(
        parse_address_list(&format!("{local64}@{d189}d")),
        Err(MessageError::AddressTooLong(_))
    ));
    // Octets, not characters: 32 two-octet characters fill a local part.
    assert!(parse_address_list(&format!("{}@x", "é".repeat(32))).is_ok());
    assert!(matches!(
        parse_address_list(&format!("{}e@x", "é".repeat(32))),
        Err(MessageError::LocalPartTooLong(_))
    ));
    assert!(ok(&format!("<{local64}@{domain}>"))[0].starts_with(&local64));
}

/// What the walk reports of each mailbox: its local part, its domain, and where the local part
/// ends in the input (for header qualification), on folded input too.
#[test]
fn the_walk_reports_each_mailbox_where_it_stands() {
    type Mailboxes<'a> = &'a [(&'a str, Option<&'a str>, usize)];
    let cases: &[(&[u8], Mailboxes)] = &[
        (b"root", &[("root", None, 4)]),
        (b"root (Cron Daemon)", &[("root", None, 4)]),
        (b"\"x\" <user>", &[("user", None, 9)]),
        (
            b"a@x,\r\n b (c),\r\n \"d e\"@[1.2.3.4]",
            &[
                ("a", Some("x"), 1),
                ("b", None, 8),
                ("\"d e\"", Some("[1.2.3.4]"), 21),
            ],
        ),
        (
            b"g: p . q, r@s . t;",
            &[("p.q", None, 8), ("r", Some("s.t"), 11)],
        ),
        (b"\"fol\r\n ded\"@x", &[("\"fol ded\"", Some("x"), 11)]),
    ];
    for (input, want) in cases {
        let mut got = Vec::new();
        walk(input, &mut |m| {
            got.push((m.local_part(), m.domain(), m.local_end()));
            Ok::<(), ()>(())
        })
        .expect("an address list");
        let want: Vec<_> = want
            .iter()
            .map(|(l, d, e)| (l.to_string(), d.map(str::to_string), *e))
            .collect();
        assert_eq!(got, want, "{:?}", String::from_utf8_lossy(input));
    }
}

/// The walk stops at the first error, the visitor's or the grammar's; C1 controls (U+0080 to
/// U+009F) are control characters in a header value as they are on the command line.
#[test]
fn the_walk_stops_at_the_first_error() {
    let mut seen = 0;
    let err = walk(b"a@x, b@x, c@x", &mut |_| {
        seen += 1;
        if seen == 2 { Err("enough") } else { Ok(()) }
    });
    assert!(matches!(err, Err(WalkError::Visit("enough"))));
    assert_eq!(seen, 2);
    for (input, reason) in [
        (&b"a@x b@x"[..], "expected ',' between addresses"),
        ("a\u{85}b@x".as_bytes(), "control character"),
        (b"(open", "unterminated comment"),
    ] {
        let err = walk(input, &mut |_| Ok::<(), ()>(()));
        assert!(
            matches!(err, Err(WalkError::Syntax(r)) if r == reason),
            "{input:?}: {err:?}"
        );
    }
}

proptest::proptest! {
    /// Any input either parses into addresses free of CR/LF/NUL or is refused; never a panic.
    #[test]
    fn never_panics(s in "[ -~\\r\\n\\t\\x00éő]{0,60}") {
        if let Ok(list) = parse_address_list(&s) {
            for a in list {
                proptest::prop_assert!(!a.is_empty());
                proptest::prop_assert!(!a.contains(['\r', '\n', '\0']));
            }
        }
    }
}
