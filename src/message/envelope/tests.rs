//! Envelope tests: smtplib's send_message cases (smtplib-behaviour.md §5, §9 cases 36-44), the
//! Resent rules of spec §2, and one message shaped like each caller in sendmail-callers.md.

use super::*;
use crate::message::headers::scan;

fn env(msg: &str) -> HeaderEnvelope {
    header_envelope(&scan(msg.as_bytes()).expect("scan")).expect("envelope")
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

const REWRITE: Rewrite = Rewrite {
    sender: "sender@example.org",
    full_name: None,
    domain: "example.org",
    add_from: true,
    add_date: true,
    add_message_id: true,
};

/// smtplib case 36: header order, Bcc recipients included, Bcc not sent.
#[test]
fn smtplib_36_bcc_recipients_and_removal() {
    let msg = "From: foo@bar.com\r\nTo: John\r\nCC: Sally, Fred\r\n\
               Bcc: John Root <root@localhost>, \"Dinsdale\" <warped@silly.walks.com>\r\n\r\nbody\r\n";
    let e = env(msg);
    assert_eq!(e.sender.as_deref(), Some("foo@bar.com"));
    assert_eq!(
        e.recipients,
        [
            "John",
            "Sally",
            "Fred",
            "root@localhost",
            "warped@silly.walks.com"
        ]
    );
    assert!(!e.resent);
    let b = scan(msg.as_bytes()).expect("scan");
    let sent = rewrite_header_block(&b, &REWRITE).expect("rewrite");
    let sent = String::from_utf8(sent).expect("utf-8");
    assert!(!sent.to_ascii_lowercase().contains("bcc"), "{sent}");
    assert!(sent.starts_with("From: foo@bar.com\r\nTo: John\r\nCC: Sally, Fred\r\n"));
}

/// smtplib case 37: From and To only.
#[test]
fn smtplib_37_from_and_to() {
    let e = env("From: foo@bar.com\r\nTo: John, Dinsdale\r\n\r\n");
    assert_eq!(e.recipients, ["John", "Dinsdale"]);
}

/// smtplib case 39: Sender wins over From.
#[test]
fn smtplib_39_sender_wins() {
    let e = env(
        "From: Bernard, Bianca\r\nSender: the_rescuers@Rescue-Aid-Society.com\r\nTo: John\r\n\r\n",
    );
    assert_eq!(
        e.sender.as_deref(),
        Some("the_rescuers@Rescue-Aid-Society.com")
    );
    // Without Sender, the first From address.
    assert_eq!(
        env("From: Bernard, Bianca\r\n\r\n").sender.as_deref(),
        Some("Bernard")
    );
    // An empty Sender gives way to From.
    assert_eq!(
        env("Sender:\r\nFrom: a@x\r\n\r\n").sender.as_deref(),
        Some("a@x")
    );
}

/// smtplib case 40: one Resent block replaces the ordinary fields; both Bcc kinds are removed.
#[test]
fn smtplib_40_resent_block() {
    let msg = "From: foo@bar.com\r\nTo: John\r\nCC: Sally, Fred\r\n\
               Bcc: John Root <root@localhost>, \"Dinsdale\" <warped@silly.walks.com>\r\n\
               Resent-Date: Thu, 1 Jan 1970 17:42:00 +0000\r\nResent-From: holy@grail.net\r\n\
               Resent-To: Martha <my_mom@great.cooker.com>, Jeff\r\nResent-Bcc: doe@losthope.net\r\n\r\n";
    let e = env(msg);
    assert!(e.resent);
    assert_eq!(e.sender.as_deref(), Some("holy@grail.net"));
    assert_eq!(
        e.recipients,
        ["my_mom@great.cooker.com", "Jeff", "doe@losthope.net"]
    );
    let sent =
        rewrite_header_block(&scan(msg.as_bytes()).expect("scan"), &REWRITE).expect("rewrite");
    let sent = String::from_utf8(sent).expect("utf-8");
    assert!(!sent.contains("Bcc"), "{sent}");
    assert!(sent.contains("Resent-To: Martha <my_mom@great.cooker.com>, Jeff\r\n"));
}

/// smtplib case 41 raises on two blocks; spec §2 takes the topmost (the most recent).
#[test]
fn two_resent_blocks_use_the_topmost() {
    let msg = "Resent-Date: Tue, 2 Jan 2024 00:00:00 +0000\r\nResent-From: second@x\r\n\
               Resent-To: new1@x\r\nResent-To: new2@x\r\n\
               Received: from a by b; Tue, 2 Jan 2024 00:00:00 +0000\r\n\
               Resent-Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nResent-From: first@x\r\n\
               Resent-To: old@x\r\nResent-Cc: oldcc@x\r\n\
               From: orig@x\r\nTo: origto@x\r\n\r\n";
    let e = env(msg);
    assert!(e.resent);
    assert_eq!(e.sender.as_deref(), Some("second@x"));
    assert_eq!(e.recipients, ["new1@x", "new2@x"]);
}

#[test]
fn resent_block_runs() {
    // (message, sender, recipients)
    let cases: &[(&str, Option<&str>, &[&str])] = &[
        // Trace fields inside a block do not end it.
        (
            "Return-Path: <r@x>\r\nResent-From: a@x\r\nReceived: from x\r\n\tby y\r\n\
             Resent-Cc: c@x\r\nResent-Sender: s@x\r\nFrom: f@x\r\nTo: t@x\r\n\r\n",
            Some("s@x"),
            &["c@x"],
        ),
        // Any other field ends the block.
        (
            "Resent-From: a@x\r\nSubject: s\r\nResent-To: late@x\r\nTo: t@x\r\n\r\n",
            Some("a@x"),
            &[],
        ),
        // Resent fields without a Resent-From: no header sender (the caller falls back).
        (
            "Resent-Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nResent-To: r@x\r\nFrom: f@x\r\n\r\n",
            None,
            &["r@x"],
        ),
        // Field names in any case.
        (
            "RESENT-FROM: a@x\r\nresent-to: r@x\r\nresent-bcc: b@x\r\n\r\n",
            Some("a@x"),
            &["r@x", "b@x"],
        ),
    ];
    for &(msg, sender, rcpts) in cases {
        let e = env(msg);
        assert!(e.resent, "{msg:?}");
        assert_eq!(e.sender.as_deref(), sender, "{msg:?}");
        assert_eq!(e.recipients, rcpts, "{msg:?}");
    }
}

/// smtplib case 42: RFC 2047 display names are dropped with the rest of the name.
#[test]
fn smtplib_42_encoded_display_names() {
    let e = env("From: =?utf-8?q?Micha=C3=ABl?= <michael@example.com>\r\n\
         To: =?utf-8?q?Ren=C3=A9?= <rene@example.com>\r\n\r\n");
    assert_eq!(e.sender.as_deref(), Some("michael@example.com"));
    assert_eq!(e.recipients, ["rene@example.com"]);
}

/// smtplib cases 43, 67, 71: raw UTF-8 addresses (RFC 6532) need SMTPUTF8.
#[test]
fn utf8_addresses() {
    let e = env("From: Páolo <főo@bar.com>\r\nTo: Dinsdale\r\nSubject: Nudge nudge\r\n\r\n");
    assert_eq!(e.sender.as_deref(), Some("főo@bar.com"));
    assert_eq!(e.recipients, ["Dinsdale"]);
    // 8-bit bytes that are not UTF-8: fine in a display name, refused in an address.
    let ok = scan(b"To: Caf\xe9 <a@x>\r\n\r\n").expect("scan");
    assert_eq!(header_envelope(&ok).expect("envelope").recipients, ["a@x"]);
    let bad = scan(b"To: caf\xe9@x\r\n\r\n").expect("scan");
    assert!(matches!(
        header_envelope(&bad),
        Err(MessageError::InHeader { .. })
    ));
}

#[test]
fn groups_comments_and_folding() {
    let e = env(
        "To: team: a@x,\r\n b@x;, c@x\r\nCc: undisclosed-recipients:;\r\n\
         Bcc: (hidden) d@x (dee)\r\nTo: \"Last; First\" <e@x>\r\n\r\n",
    );
    assert_eq!(e.recipients, ["a@x", "b@x", "c@x", "d@x", "e@x"]);
    assert!(
        env("To: undisclosed-recipients:;\r\n\r\n")
            .recipients
            .is_empty()
    );
    assert!(env("Subject: no recipients\r\n\r\n").recipients.is_empty());
    assert_eq!(env("").sender, None);
}

/// The msmtp hostile header (catalogue 38), as a whole message.
#[test]
fn msmtp_header_handling_message() {
    let msg = "From: Some Name <from@example.com>\r\n\
        X-Comment: Recipient address madness inspired by the RFC 2822 appendix\r\n\
        To: to1@example.com,\r\n\t=?utf-8?B?VGVzdCDDnHNlcg==?= <to2@example.com>, Some\r\n\tOne <to3@example.com>,\r\n\
        Cc: to4, \"A; \\\"Quoted\\\" Name\" <to5@example.com>\r\n\
        To: A Group:Person 1 <to6@example.com>,to7@example.com,SomeOne <to8@example.com>;\r\n\
        Cc: Undisclosed recipients:;\r\n\
        To: \"A Person: Personal Account\" <to9@example.com>\r\n\
        To: Some(wonderful \\) chap) <to10(his account)@localhost(this host)>\r\n\
        Cc:A Group(Some people)\r\n     :Some Person <to11@(their's host.)example.com>,\r\n              to12, \r\n\t        Person <to13@localhost> (a friend); (the end of the group)\r\n\
        Bcc:(Empty list)(start)Undisclosed recipients  :(nobody(that I know))  ;\r\n\
        Bcc: bcc@example.com\r\n\
        Subject: Test\r\n\r\nThis is a test.\r\n";
    let e = env(msg);
    assert_eq!(e.sender.as_deref(), Some("from@example.com"));
    let want: Vec<String> = (1..=13)
        .map(|i| match i {
            4 | 12 => format!("to{i}"),
            10 | 13 => format!("to{i}@localhost"),
            _ => format!("to{i}@example.com"),
        })
        .chain(["bcc@example.com".to_string()])
        .collect();
    assert_eq!(e.recipients, want);
    let sent =
        rewrite_header_block(&scan(msg.as_bytes()).expect("scan"), &REWRITE).expect("rewrite");
    let sent = String::from_utf8(sent).expect("utf-8");
    assert!(!sent.lines().any(|l| l.starts_with("Bcc")), "{sent}");
    assert!(sent.contains("Subject: Test\r\nDate: "), "{sent}");
}

#[test]
fn malformed_recipient_field_names_the_field() {
    let b = scan(b"To: ok@x\r\nCc: a@b (c) d@e\r\n\r\n").expect("scan");
    let err = header_envelope(&b).expect_err("bad Cc");
    assert!(
        err.to_string().starts_with("in the Cc header field: "),
        "{err}"
    );
    assert_eq!(crate::exit::classify(&err.into()), crate::exit::DATAERR);
}

#[test]
fn merge_keeps_order_and_drops_duplicates() {
    let cases: &[(&[&str], &[&str], &[&str])] = &[
        (&[], &[], &[]),
        (&["a@x"], &[], &["a@x"]),
        (&[], &["a@x", "b@x"], &["a@x", "b@x"]),
        (&["b@x", "a@x"], &["a@x", "c@x"], &["b@x", "a@x", "c@x"]),
        (&["a@Example.ORG"], &["a@example.org"], &["a@Example.ORG"]),
        (&["A@x"], &["a@x"], &["A@x", "a@x"]),
        (&["root", "root"], &["root", "Root"], &["root", "Root"]),
        (&["a@x", "a@X"], &[], &["a@x"]),
    ];
    for &(args, header, want) in cases {
        assert_eq!(
            merge_recipients(&strings(args), &strings(header)),
            want,
            "{args:?} + {header:?}"
        );
    }
}

/// One message per caller of sendmail-callers.md: (caller, message, header sender, header
/// recipients, whether From / Date / Message-ID get added).
#[test]
fn sendmail_callers() {
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, &'a [&'a str], [bool; 3]);
    let cases: &[Case] = &[
        (
            "cronie",
            "From: \"(Cron Daemon)\" <alice>\r\nTo: alice\r\nSubject: Cron <alice@host> /bin/job\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\
             X-Cron-Env: <SHELL=/bin/sh>\r\n\r\noutput\r\n",
            Some("alice"),
            &["alice"],
            [false, true, true],
        ),
        (
            "Debian cron",
            "From: root (Cron Daemon)\r\nTo: root\r\nSubject: Cron <root@host> run-parts\r\n\
             Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nout\r\n",
            Some("root"),
            &["root"],
            [false, true, true],
        ),
        (
            "bcron",
            "To: bob\r\nFrom: bob\r\nSubject: Cron output\r\n\r\nout\r\n",
            Some("bob"),
            &["bob"],
            [false, true, true],
        ),
        (
            "systemd-cron",
            "From: root (systemd-cron)\r\nTo: root\r\nSubject: [host] job.service failed\r\n\
             Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: binary\r\n\
             Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n\u{e9}t\u{e9}\r\n",
            Some("root"),
            &["root"],
            [false, false, true],
        ),
        (
            "at",
            "Subject: Output from your job        7\r\nTo: carol\r\n\r\nhello\r\n",
            None,
            &["carol"],
            [true, true, true],
        ),
        (
            "mdadm",
            "From: mdadm monitoring <root@host>\r\nTo: root\r\n\
             Subject: Fail event on /dev/md0:host\r\n\r\nThis is an automatically generated mail\r\n",
            Some("root@host"),
            &["root"],
            [false, true, true],
        ),
        (
            "bsd-mailx",
            "To: a@example.org\r\nCc: b@example.org\r\nBcc: hidden@example.org\r\nSubject: hi\r\n\r\ntext\r\n",
            None,
            &["a@example.org", "b@example.org", "hidden@example.org"],
            [true, true, true],
        ),
        (
            "s-nail",
            "Date: Mon, 01 Jan 2024 00:00:00 +0000\r\nTo: a@example.org\r\nSubject: hi\r\n\
             Message-ID: <20240101.abc@host>\r\nUser-Agent: s-nail v14.9.24\r\n\r\ntext\r\n",
            None,
            &["a@example.org"],
            [true, false, false],
        ),
        (
            "GNU mailutils",
            "To: a@example.org\r\nSubject: hi\r\nX-Mailer: mail (GNU Mailutils 3.15)\r\n\r\ntext\r\n",
            None,
            &["a@example.org"],
            [true, true, true],
        ),
        (
            "logwatch",
            "To: root\r\nFrom: Logwatch <logwatch@host>\r\nSubject: Logwatch for host (Linux)\r\n\
             Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n\r\n report\r\n",
            Some("logwatch@host"),
            &["root"],
            [false, true, true],
        ),
        (
            "unattended-upgrades",
            "From: root\r\nTo: root\r\nSubject: unattended-upgrades result for host: SUCCESS\r\n\r\nok\r\n",
            Some("root"),
            &["root"],
            [false, true, true],
        ),
        (
            "fail2ban",
            "Subject: [Fail2Ban] sshd: banned 192.0.2.7 from host\r\n\
             Date: Mon, 01 Jan 2024 00:00:00 +0000\r\nFrom: Fail2Ban <fail2ban@host>\r\n\
             To: root@host\r\n\r\nHi,\r\n",
            Some("fail2ban@host"),
            &["root@host"],
            [false, false, true],
        ),
        (
            "git send-email",
            "From: Dev One <dev@example.org>\r\nTo: list@example.org\r\nCc: Reviewer <rev@example.org>\r\n\
             Subject: [PATCH] fix\r\nDate: Mon,  1 Jan 2024 00:00:00 +0000\r\n\
             Message-ID: <20240101000000.1-1-dev@example.org>\r\nX-Mailer: git-send-email 2.39.2\r\n\
             MIME-Version: 1.0\r\nContent-Transfer-Encoding: 8bit\r\n\r\n---\r\n",
            Some("dev@example.org"),
            &["list@example.org", "rev@example.org"],
            [false, false, false],
        ),
        (
            "mutt",
            "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nFrom: Me <me@example.org>\r\nTo: you@example.org\r\n\
             Bcc: secret@example.org\r\nSubject: hi\r\nMessage-ID: <Z1@host>\r\nMIME-Version: 1.0\r\n\
             Content-Disposition: inline\r\nUser-Agent: NeoMutt/20220429\r\n\r\nhi\r\n",
            Some("me@example.org"),
            &["you@example.org", "secret@example.org"],
            [false, false, false],
        ),
        (
            "PHP mail()",
            "To: alice@example.org\r\nSubject: Order 17\r\nX-PHP-Originating-Script: 1000:shop.php\r\n\
             From: shop@example.org\r\nReply-To: help@example.org\r\n\r\nThanks\r\n",
            Some("shop@example.org"),
            &["alice@example.org"],
            [false, true, true],
        ),
    ];
    for &(caller, msg, sender, rcpts, [from, date, id]) in cases {
        let block = scan(msg.as_bytes()).expect(caller);
        let e = header_envelope(&block).expect(caller);
        assert_eq!(e.sender.as_deref(), sender, "{caller}");
        assert_eq!(e.recipients, rcpts, "{caller}");
        let add = additions(&block, &REWRITE).expect(caller);
        assert_eq!(
            [add.from.is_some(), add.date, add.message_id],
            [from, date, id],
            "{caller}"
        );
        let sent = rewrite_header_block(&block, &REWRITE).expect(caller);
        let sent = String::from_utf8(sent).expect(caller);
        // Every original field except Bcc is there, unchanged and in order, at the start.
        let kept: String = block
            .fields
            .iter()
            .filter(|f| !f.is("Bcc"))
            .map(|f| String::from_utf8_lossy(&f.raw).into_owned())
            .collect();
        assert!(sent.starts_with(&kept), "{caller}: {sent}");
        assert!(sent.ends_with("\r\n\r\n"), "{caller}");
        assert!(!sent.contains("Bcc:"), "{caller}");
    }
}

proptest::proptest! {
    /// Any header section: no panic, and no Bcc field survives the rewrite.
    #[test]
    fn rewrite_never_leaks_bcc(
        lines in proptest::collection::vec(
            proptest::sample::select(vec![
                "Bcc: a@x", "bcc : b@x", "BCC:", " folded@x", "\tc@x", "To: d@x, e@x",
                "Resent-Bcc: f@x", "Resent-To: g@x", "Subject: s", "", "body", "Received: r",
            ]),
            0..12,
        ),
        final_newline in proptest::bool::ANY,
    ) {
        let mut msg = lines.join("\r\n");
        if final_newline {
            msg.push_str("\r\n");
        }
        // Issue 10, point 3: a Bcc after a line that stops the scan refuses the message...
        let block = match scan(msg.as_bytes()) {
            Ok(block) => block,
            Err(e) => {
                proptest::prop_assert!(matches!(e, MessageError::NotAField { .. }), "{e}");
                return Ok(());
            }
        };
        // ... so no Bcc field ever reaches the body's first paragraph either.
        let body = &msg[usize::try_from(block.body_offset).expect("offset")..];
        if block.unseparated_body {
            for line in body.split("\r\n").take_while(|l| !l.is_empty()) {
                let name = line.split(':').next().unwrap_or("").trim().to_ascii_lowercase();
                proptest::prop_assert!(
                    !(line.contains(':') && (name == "bcc" || name == "resent-bcc")),
                    "{}",
                    msg
                );
            }
        }
        let _ = header_envelope(&block);
        let sent = rewrite_header_block(&block, &REWRITE).expect("rewrite");
        let sent = String::from_utf8(sent).expect("utf-8");
        let mut in_bcc = false;
        for line in sent.split("\r\n") {
            let folded = line.starts_with([' ', '\t']);
            let name = line.split(':').next().unwrap_or("").trim().to_ascii_lowercase();
            if !folded {
                in_bcc = line.contains(':') && (name == "bcc" || name == "resent-bcc");
            }
            proptest::prop_assert!(!in_bcc, "{}", sent);
        }
    }
}

/// Issue 10, point 13: only the wanted parts are parsed, so an unused malformed field is no error.
#[test]
fn unused_header_fields_are_not_parsed() {
    let long = "x".repeat(70);
    let msg = format!("From: {long}@x\r\nTo: \"open <a@x>\r\nCc: ok@x\r\n\r\n");
    let b = scan(msg.as_bytes()).expect("scan");
    assert!(
        header_envelope(&b).is_err(),
        "both parts: the bad fields are judged"
    );
    let none = Wanted {
        recipients: false,
        sender: false,
    };
    assert_eq!(
        header_envelope_for(&b, none).expect("nothing parsed"),
        HeaderEnvelope::default()
    );
    let sender_only = Wanted {
        recipients: false,
        sender: true,
    };
    assert!(matches!(
        header_envelope_for(&b, sender_only),
        Err(MessageError::InHeader { .. })
    ));
    let ok = format!("From: a@x\r\nTo: \"open <a@x>\r\nCc: {long}@x\r\n\r\n");
    let b = scan(ok.as_bytes()).expect("scan");
    let e = header_envelope_for(&b, sender_only).expect("To and Cc not parsed");
    assert_eq!(e.sender.as_deref(), Some("a@x"));
    assert!(e.recipients.is_empty());
}
