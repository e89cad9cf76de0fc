use super::*;

const D: &str = "example.org";

fn q(block: &str) -> String {
    let out =
        qualify_header_addresses(block.as_bytes(), D).unwrap_or_else(|e| panic!("{block:?}: {e}"));
    String::from_utf8(out).expect("utf-8")
}

/// The From shapes of the callers in sendmail-callers.md.
#[test]
fn cron_shapes() {
    let cases: &[(&str, &str)] = &[
        // cronie
        (
            "From: \"(Cron Daemon)\" <user>\r\n",
            "From: \"(Cron Daemon)\" <user@example.org>\r\n",
        ),
        // Debian cron
        (
            "From: root (Cron Daemon)\r\n",
            "From: root@example.org (Cron Daemon)\r\n",
        ),
        // systemd-cron
        (
            "From: root (systemd-cron)\r\n",
            "From: root@example.org (systemd-cron)\r\n",
        ),
        // unattended-upgrades
        ("From: root\r\n", "From: root@example.org\r\n"),
        ("From:root\r\n", "From:root@example.org\r\n"),
        // mdadm: already qualified
        (
            "From: mdadm monitoring <root@host>\r\n",
            "From: mdadm monitoring <root@host>\r\n",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(q(input), *want, "input {input:?}");
    }
}

/// A whole Debian cron message head: only the address fields change.
#[test]
fn only_address_fields_change() {
    let head = "From: root (Cron Daemon)\r\n\
                To: root\r\n\
                Subject: Cron <root@host> test -x /usr/sbin/anacron\r\n\
                MIME-Version: 1.0\r\n\
                Content-Type: text/plain; charset=UTF-8\r\n\
                X-Cron-Env: <SHELL=/bin/sh>\r\n\
                X-Cron-Env: <LOGNAME=root>\r\n\
                Comments: root\r\n\
                In-Reply-To: <a@b>\r\n\
                Message-ID: <x@y>\r\n\
                \r\n";
    let want = head
        .replace("From: root (", "From: root@example.org (")
        .replace("To: root\r\n", "To: root@example.org\r\n");
    assert_eq!(q(head), want);
}

#[test]
fn every_address_field_and_its_resent_form() {
    for name in [
        "From",
        "Sender",
        "Reply-To",
        "To",
        "Cc",
        "Resent-From",
        "Resent-Sender",
        "Resent-Reply-To",
        "Resent-To",
        "Resent-Cc",
        "from",
        "RESENT-TO",
    ] {
        assert_eq!(
            q(&format!("{name}: root\r\n\r\n")),
            format!("{name}: root@example.org\r\n\r\n")
        );
    }
    for name in ["Subject", "Comments", "X-From", "Return-Path", "Keywords"] {
        let h = format!("{name}: root\r\n\r\n");
        assert_eq!(q(&h), h);
    }
}

#[test]
fn lists_groups_and_folding() {
    let cases: &[(&str, &str)] = &[
        (
            "To: John, Sally ,Fred\r\n",
            "To: John@example.org, Sally@example.org ,Fred@example.org\r\n",
        ),
        (
            "To: a,\r\n b@x.example,\r\n\t\"C D\" <c>\r\n",
            "To: a@example.org,\r\n b@x.example,\r\n\t\"C D\" <c@example.org>\r\n",
        ),
        // Folded between a display name and its address.
        (
            "From: \"(Cron Daemon)\"\r\n <user>\r\n",
            "From: \"(Cron Daemon)\"\r\n <user@example.org>\r\n",
        ),
        // Group name untouched, members qualified, the empty group kept.
        (
            "To: team: a, b@x; undisclosed-recipients:;, c\r\n",
            "To: team: a@example.org, b@x; undisclosed-recipients:;, c@example.org\r\n",
        ),
        (
            "Cc: A Group(Some people) :Some Person <p>,\r\n q, Person <r@localhost> (a friend);\r\n",
            "Cc: A Group(Some people) :Some Person <p@example.org>,\r\n q@example.org, Person <r@localhost> (a friend);\r\n",
        ),
        (
            "To: undisclosed-recipients:;\r\n",
            "To: undisclosed-recipients:;\r\n",
        ),
        // Comments, encoded words, routes and obs-local-parts.
        (
            "From: root(first) (second)\r\n",
            "From: root@example.org(first) (second)\r\n",
        ),
        (
            "From: =?utf-8?q?Micha=C3=ABl?= <michael>\r\n",
            "From: =?utf-8?q?Micha=C3=ABl?= <michael@example.org>\r\n",
        ),
        (
            "To: <@relay.example:user>\r\n",
            "To: <@relay.example:user@example.org>\r\n",
        ),
        ("To: first.last\r\n", "To: first.last@example.org\r\n"),
        ("To: a,,b,\r\n", "To: a@example.org,,b@example.org,\r\n"),
        (
            "To: <\"john doe\">\r\n",
            "To: <\"john doe\"@example.org>\r\n",
        ),
        // Quoted local parts that look like addresses or white space are still bare.
        ("To: <\"a@b\">\r\n", "To: <\"a@b\"@example.org>\r\n"),
        ("To: <\"\t\">\r\n", "To: <\"\t\"@example.org>\r\n"),
        (
            "To: <\"folded\r\n name\">\r\n",
            "To: <\"folded\r\n name\"@example.org>\r\n",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(q(input), *want, "input {input:?}");
    }
}

#[test]
fn qualified_addresses_untouched() {
    for h in [
        "From: me@example.net\r\n",
        "From: Me <me@example.net> (comment)\r\n",
        "To: \"john doe\"@example.com, user@[192.0.2.1]\r\n",
        "To: a@x (A),\r\n b@y\r\n",
        "From: P\u{e1}olo <f\u{151}o@bar.com>\r\n",
        "Reply-To: \"Doe, John\" <j@x>\r\n",
    ] {
        assert_eq!(q(h), h);
    }
}

/// Fields the envelope parser would refuse are not ours to repair: they go out as written.
#[test]
fn unparseable_fields_left_as_written() {
    for h in [
        "Reply-To: a@b (c) d@e\r\n",
        "Reply-To: John Smith\r\n",
        "Reply-To: \"Bernard, Bianca\"\r\n",
        "Reply-To: <bad\r\n",
        "Reply-To: (unterminated\r\n",
        "Reply-To: \"unterminated\r\n",
        "Reply-To: a\u{1}b\r\n",
        "Reply-To: a:b:c;\r\n",
        // Empty or all-dot local parts (found by the property below).
        "Reply-To: <\"\">\r\n",
        "Reply-To: <\".\">\r\n",
        "Reply-To: <\"\\.\" . \"\">\r\n",
    ] {
        assert_eq!(q(h), h, "{h:?}");
    }
}

/// The section's structure is kept: no separator, no final newline, an empty section.
#[test]
fn structure_kept_byte_for_byte() {
    assert_eq!(q(""), "");
    assert_eq!(q("\r\n"), "\r\n");
    assert_eq!(q("From: root"), "From: root@example.org");
    assert_eq!(q("From: root\n\n"), "From: root@example.org\n\n");
    assert_eq!(
        q("Subject: s\r\nFrom: root\r\n\r\n"),
        "Subject: s\r\nFrom: root@example.org\r\n\r\n"
    );
    // 8-bit bytes that are not UTF-8 in an untouched field, and in a display name.
    let block = b"X-Old: caf\xe9\r\nFrom: caf\xe9 <root>\r\n\r\n";
    let out = qualify_header_addresses(block, D).expect("qualify");
    assert_eq!(
        out,
        b"X-Old: caf\xe9\r\nFrom: caf\xe9 <root@example.org>\r\n\r\n".to_vec()
    );
}

#[test]
fn domain_literal_and_bad_domains() {
    let out = qualify_header_addresses(b"From: root\r\n", "[192.0.2.1]").expect("literal");
    assert_eq!(out, b"From: root@[192.0.2.1]\r\n".to_vec());
    for domain in ["", "a b", "x\r\nBcc: evil@x", "a>b", "x\0", "a..b", "[x"] {
        assert!(
            matches!(
                qualify_header_addresses(b"From: root\r\n", domain),
                Err(MessageError::BadGeneratedValue {
                    what: "maildomain",
                    ..
                })
            ),
            "{domain:?}"
        );
    }
}

/// RFC 5322 §2.1.1: qualifying must not make a line longer than 998 octets.
#[test]
fn overlong_line_refused() {
    let names = vec!["r"; 300].join(",");
    let h = format!("To: {names}\r\n");
    assert!(h.len() < 998);
    assert!(matches!(
        qualify_header_addresses(h.as_bytes(), D),
        Err(MessageError::BadGeneratedValue { .. })
    ));
    // The same list folded fits.
    let folded = format!("To: {}\r\n", vec!["r"; 300].join(",\r\n "));
    let out = qualify_header_addresses(folded.as_bytes(), D).expect("folded");
    assert_eq!(
        out,
        format!("To: {}\r\n", vec!["r@example.org"; 300].join(",\r\n ")).into_bytes()
    );
}

/// An `@` after the last quote: `"a@b"` is a bare (quoted) local part.
fn has_domain(a: &str) -> bool {
    a.rfind('@').is_some_and(|i| !a[i..].contains('"'))
}

/// The qualified addresses are exactly what the envelope parser reads back with the domain added.
#[test]
fn agrees_with_the_envelope_parser() {
    use crate::message::envelope::parse_address_list;
    for value in [
        "root (Cron Daemon)",
        "\"(Cron Daemon)\" <user>",
        "a, b@x, G: c, d@y;, <e>",
        "first . last, \"q\" <w>",
        "<\"a@b\">, \"x y\"@z",
        "A Group(Some people)      :Some Person <to11@(their's host.)example.com>, to12, \t  Person <to13@localhost> (a friend); (the end)",
    ] {
        let before = parse_address_list(value).expect("parses");
        let out = q(&format!("To: {value}\r\n"));
        let after_value = out
            .strip_prefix("To:")
            .and_then(|v| v.strip_suffix("\r\n"))
            .expect("field");
        let after = parse_address_list(after_value).expect("still parses");
        let want: Vec<String> = before
            .iter()
            .map(|a| {
                if has_domain(a) {
                    a.clone()
                } else {
                    format!("{a}@{D}")
                }
            })
            .collect();
        assert_eq!(after, want, "{value:?}");
    }
}

proptest::proptest! {
    /// Never a panic, and agreement with the envelope parser: a value it accepts comes out with
    /// `@example.org` added to exactly its bare addresses; a value it refuses comes out unchanged.
    /// With `fold`, every space is written as a folding line end, which unfolding removes again.
    #[test]
    fn agrees_on_any_input(v in "[a-c ,<>@.:;\"()\\\t]{0,40}", fold: bool) {
        use crate::message::envelope::parse_address_list;
        let written = if fold { v.replace(' ', "\r\n ") } else { v.clone() };
        let block = format!("To:{written}\r\n\r\n");
        let out = qualify_header_addresses(block.as_bytes(), D);
        match parse_address_list(&v) {
            Ok(before) => {
                let out = String::from_utf8(out.expect("qualify")).expect("utf-8");
                let value = out[3..out.len() - 4].replace("\r\n", "");
                let want: Vec<String> = before
                    .iter()
                    .map(|a| if has_domain(a) { a.clone() } else { format!("{a}@{D}") })
                    .collect();
                proptest::prop_assert_eq!(parse_address_list(&value).expect("reparse"), want);
            }
            Err(_) => proptest::prop_assert_eq!(out.expect("qualify"), block.into_bytes()),
        }
    }
}
