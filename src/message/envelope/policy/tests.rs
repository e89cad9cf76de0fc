//! Spec §2 as a table: each row is the settings, the header section and the argument recipients of
//! one run, and the envelope (or the failure) the policy must decide.

use std::collections::BTreeMap;

use super::*;
use crate::message::headers::scan;

/// What a row expects.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// The sender and the recipients.
    Envelope(&'static str, &'static [&'static str]),
    NoRecipients,
    NoHeaderRecipients,
    SenderNotOneAddress,
    /// An address that does not parse (exit 65).
    BadAddress,
    /// Rule 4 applied and the login gave no sender.
    NoDefaultSender,
}

#[derive(Debug, Clone, Copy)]
struct Row {
    name: &'static str,
    args: &'static [&'static str],
    t: bool,
    from: Option<&'static str>,
    headers: &'static str,
    maildomain: Option<&'static str>,
    aliases: &'static [(&'static str, &'static str)],
    /// An aliases file's text (spec §12).
    file: Option<&'static str>,
    /// The login default (rule 4); `None`: there is no login name.
    login: Option<&'static str>,
    want: Want,
}

const BASE: Row = Row {
    name: "",
    args: &[],
    t: false,
    from: None,
    headers: "Subject: s\n",
    maildomain: None,
    aliases: &[],
    file: None,
    login: Some("me@host.example"),
    want: Want::NoRecipients,
};

const ROWS: &[Row] = &[
    Row {
        name: "argument recipients; the sender from the From header",
        args: &["bob@y"],
        headers: "From: Ann <ann@x>\nTo: other@x\n",
        want: Want::Envelope("ann@x", &["bob@y"]),
        ..BASE
    },
    Row {
        name: "an argument may hold several addresses in RFC 5322 syntax",
        args: &["\"Ann B\" <ann@x>, bob@y", "carl@z"],
        want: Want::Envelope("me@host.example", &["ann@x", "bob@y", "carl@z"]),
        ..BASE
    },
    Row {
        name: "-t reads To, Cc and Bcc in header order",
        t: true,
        headers: "Bcc: c@x\nTo: a@x\nCc: b@x\n",
        want: Want::Envelope("me@host.example", &["c@x", "a@x", "b@x"]),
        ..BASE
    },
    Row {
        name: "-t with arguments: the union, arguments first, each address once (domain case aside)",
        args: &["b@X.example"],
        t: true,
        headers: "To: a@x, b@x.EXAMPLE\nCc: a@x\n",
        want: Want::Envelope("me@host.example", &["b@X.example", "a@x"]),
        ..BASE
    },
    Row {
        name: "without -t the header recipients are neither used nor parsed (issue 10, point 13)",
        args: &["a@x"],
        headers: "To: <<broken\nCc: c@x\n",
        want: Want::Envelope("me@host.example", &["a@x"]),
        ..BASE
    },
    Row {
        name: "-t uses the topmost Resent block, sender included",
        t: true,
        headers: "Resent-From: r@x\nResent-To: new@x\nResent-Bcc: hidden@x\nFrom: f@x\nTo: old@x\n",
        want: Want::Envelope("r@x", &["new@x", "hidden@x"]),
        ..BASE
    },
    Row {
        name: "a group yields its members, undisclosed-recipients none",
        t: true,
        headers: "To: team: a@x, b@x;\nCc: undisclosed-recipients:;\n",
        want: Want::Envelope("me@host.example", &["a@x", "b@x"]),
        ..BASE
    },
    Row {
        name: "-t finding nothing says so, without advising -t (issue 10, point 12)",
        t: true,
        headers: "To: undisclosed-recipients:;\n",
        want: Want::NoHeaderRecipients,
        ..BASE
    },
    Row {
        name: "no recipients at all",
        headers: "To: a@x\n",
        want: Want::NoRecipients,
        ..BASE
    },
    Row {
        name: "aliases apply to bare names, `default` to those without their own",
        args: &["ROOT", "nobody", "x@y"],
        aliases: &[("root", "admin@x"), ("default", "catch@x")],
        want: Want::Envelope("me@host.example", &["admin@x", "catch@x", "x@y"]),
        ..BASE
    },
    Row {
        name: "an alias to a list, its bare names qualified, duplicates merged",
        args: &["ops", "b@y"],
        aliases: &[("ops", "anna, b@y")],
        maildomain: Some("example.org"),
        want: Want::Envelope("me@host.example", &["anna@example.org", "b@y"]),
        ..BASE
    },
    Row {
        name: "maildomain qualifies bare recipients and a bare -f (cron's -f root)",
        args: &["bob"],
        from: Some("root"),
        maildomain: Some("example.org"),
        want: Want::Envelope("root@example.org", &["bob@example.org"]),
        ..BASE
    },
    Row {
        name: "aliases apply to recipients only, never to the sender",
        args: &["root"],
        from: Some("root"),
        aliases: &[("root", "admin@x")],
        want: Want::Envelope("root", &["admin@x"]),
        ..BASE
    },
    Row {
        name: "-f (or the account's from) comes before the headers, which are then not parsed",
        args: &["a@x"],
        from: Some("f@x"),
        headers: "From: <<broken\nSender: s@x\n",
        want: Want::Envelope("f@x", &["a@x"]),
        ..BASE
    },
    Row {
        name: "-f '' is the null sender",
        args: &["a@x"],
        from: Some(""),
        headers: "From: h@x\n",
        want: Want::Envelope("", &["a@x"]),
        ..BASE
    },
    Row {
        name: "-f '<>' is the null sender",
        args: &["a@x"],
        from: Some(" <> "),
        want: Want::Envelope("", &["a@x"]),
        ..BASE
    },
    Row {
        name: "-f must be one address",
        args: &["a@x"],
        from: Some("a@x, b@y"),
        want: Want::SenderNotOneAddress,
        ..BASE
    },
    Row {
        name: "the Sender header comes before From",
        args: &["a@x"],
        headers: "From: f@x\nSender: s@x\n",
        want: Want::Envelope("s@x", &["a@x"]),
        ..BASE
    },
    Row {
        name: "a bare From header is qualified (cron's From: root (Cron Daemon))",
        args: &["a@x"],
        headers: "From: root (Cron Daemon)\n",
        maildomain: Some("example.org"),
        want: Want::Envelope("root@example.org", &["a@x"]),
        ..BASE
    },
    Row {
        name: "nothing names a sender: the login default",
        args: &["a@x"],
        want: Want::Envelope("me@host.example", &["a@x"]),
        ..BASE
    },
    Row {
        name: "nothing names a sender and there is no login name",
        args: &["a@x"],
        login: None,
        want: Want::NoDefaultSender,
        ..BASE
    },
    Row {
        name: "no login name does not matter when -f gives the sender",
        args: &["a@x"],
        from: Some("f@x"),
        login: None,
        want: Want::Envelope("f@x", &["a@x"]),
        ..BASE
    },
    Row {
        name: "a malformed argument is refused",
        args: &["a@b@c"],
        want: Want::BadAddress,
        ..BASE
    },
    Row {
        name: "with -t, a malformed To is refused rather than guessed",
        t: true,
        headers: "To: a@b (c) d@e\n",
        want: Want::BadAddress,
        ..BASE
    },
    Row {
        name: "the aliases file applies recursively to bare names and names @ the maildomain",
        args: &["postmaster", "ROOT@example.org", "root@other.org", "anna"],
        file: Some("postmaster: root\nroot: admin, ops@x\n"),
        maildomain: Some("example.org"),
        want: Want::Envelope(
            "me@host.example",
            &[
                "admin@example.org",
                "ops@x",
                "root@other.org",
                "anna@example.org",
            ],
        ),
        ..BASE
    },
    Row {
        name: "the aliases file without a maildomain: bare names only, its bare targets stay bare",
        args: &["root", "root@example.org"],
        file: Some("root: admin\n"),
        want: Want::Envelope("me@host.example", &["admin", "root@example.org"]),
        ..BASE
    },
    Row {
        name: "a loop in the aliases file keeps the name where it loops",
        args: &["a"],
        file: Some("a: b\nb: a, c@x\n"),
        maildomain: Some("example.org"),
        want: Want::Envelope("me@host.example", &["a@example.org", "c@x"]),
        ..BASE
    },
    Row {
        name: "a configured [aliases] table replaces the aliases file",
        args: &["root", "ops"],
        aliases: &[("root", "table@x")],
        file: Some("root: file@x\nops: file@x\n"),
        want: Want::Envelope("me@host.example", &["table@x", "ops"]),
        ..BASE
    },
    Row {
        name: "a malformed alias target is refused",
        args: &["root"],
        aliases: &[("root", "<<x")],
        want: Want::BadAddress,
        ..BASE
    },
];

fn decide_row<'a>(
    row: &Row,
    aliases: (&'a BTreeMap<String, String>, Option<&'a Aliases>),
    qualify_headers: bool,
) -> Result<Decision<'a>, PolicyError<&'static str>> {
    decide_setting(row, aliases, qualify_headers, &[])
}

/// [`decide_row`] with the `--header` fields of plain mode.
fn decide_setting<'a>(
    row: &Row,
    (aliases, file_aliases): (&'a BTreeMap<String, String>, Option<&'a Aliases>),
    qualify_headers: bool,
    set_fields: &'a [(String, String)],
) -> Result<Decision<'a>, PolicyError<&'static str>> {
    let policy = Policy {
        from: row.from,
        read_recipients: row.t,
        aliases,
        file_aliases,
        maildomain: row.maildomain,
        default_sender: row.login.map(str::to_owned).ok_or("no login name"),
        full_name: None,
        default_domain: "host.example",
        add_missing_from: true,
        add_missing_date: true,
        add_missing_message_id: true,
        qualify_headers,
        set_fields,
    };
    let block = scan(format!("{}\n", row.headers).as_bytes()).expect("a header section");
    let args: Vec<String> = row.args.iter().map(|a| a.to_string()).collect();
    decide(policy, &block, &args)
}

fn file_aliases(row: &Row) -> Option<Aliases> {
    row.file.map(|text| {
        crate::message::envelope::aliases::parse(text)
            .expect("an aliases file")
            .aliases
    })
}

fn aliases(row: &Row) -> BTreeMap<String, String> {
    row.aliases
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn spec_section_2() {
    for row in ROWS {
        let (aliases, file) = (aliases(row), file_aliases(row));
        let got = decide_row(row, (&aliases, file.as_ref()), false);
        let name = row.name;
        match (row.want, got) {
            (Want::Envelope(sender, recipients), Ok(d)) => {
                assert_eq!(d.sender, sender, "{name}");
                assert_eq!(d.recipients, recipients, "{name}");
            }
            (
                Want::NoRecipients,
                Err(PolicyError::Message(MessageError::NoRecipients {
                    read_recipients: false,
                })),
            )
            | (
                Want::NoHeaderRecipients,
                Err(PolicyError::Message(MessageError::NoRecipients {
                    read_recipients: true,
                })),
            )
            | (
                Want::SenderNotOneAddress,
                Err(PolicyError::Message(MessageError::SenderNotOne(_))),
            )
            | (
                Want::BadAddress,
                Err(PolicyError::Message(
                    MessageError::AddressSyntax { .. } | MessageError::InHeader { .. },
                )),
            )
            | (Want::NoDefaultSender, Err(PolicyError::DefaultSender("no login name"))) => {}
            (want, got) => panic!("{name}: wanted {want:?}, got {got:?}"),
        }
    }
}

/// The header edits: the added fields as the settings say, and qualification only when it is
/// asked for and there is a maildomain to qualify with. Bcc goes in every case.
#[test]
fn header_edits() {
    let row = Row {
        args: &["a@x"],
        headers: "From: root\nBcc: secret@x\n",
        maildomain: Some("example.org"),
        ..BASE
    };
    let aliases = aliases(&row);
    let block = scan(b"From: root\nBcc: secret@x\n\nbody\n").expect("header");
    let asked = decide_row(&row, (&aliases, None), true).expect("decision");
    assert_eq!(asked.edits.qualify_with, Some("example.org"));
    let header = String::from_utf8(asked.header(&block).expect("header")).expect("UTF-8");
    assert!(header.starts_with("From: root@example.org\n"), "{header}");
    assert!(!header.contains("secret"), "{header}");
    assert!(header.contains("\nDate: ") && header.contains("\nMessage-ID: <"));

    let not_asked = decide_row(&row, (&aliases, None), false).expect("decision");
    assert_eq!(not_asked.edits.qualify_with, None);
    let header = String::from_utf8(not_asked.header(&block).expect("header")).expect("UTF-8");
    assert!(header.starts_with("From: root\n"), "{header}");
    assert!(!header.contains("secret"), "{header}");

    let no_domain = Row {
        maildomain: None,
        ..row
    };
    let decision = decide_row(&no_domain, (&aliases, None), true).expect("decision");
    assert_eq!(decision.edits.qualify_with, None);
    assert_eq!(decision.edits.domain, "host.example");
}

/// Issue 15: `--header` in plain mode replaces every field of its name (case-insensitive), the first
/// in place, or appends it; with -t a To set so is where the message goes (the old To is not).
#[test]
fn header_fields_are_set_before_the_recipients_are_read() {
    let row = Row {
        t: true,
        headers: "To: old@x\nSubject: Old\nsubject: Older\nFrom: a@x",
        ..BASE
    };
    let set = [
        ("SUBJECT".to_owned(), "New".to_owned()),
        ("To".to_owned(), "new@x".to_owned()),
        ("X-Foo".to_owned(), "bar".to_owned()),
    ];
    let aliases = aliases(&row);
    let decision = decide_setting(&row, (&aliases, None), false, &set).expect("decision");
    assert_eq!(decision.recipients, ["new@x"]);
    let block = scan(b"To: old@x\nSubject: Old\nsubject: Older\nFrom: a@x").expect("header");
    let header = String::from_utf8(decision.header(&block).expect("header")).expect("UTF-8");
    let fields: Vec<&str> = header.lines().take(4).collect();
    assert_eq!(
        fields,
        ["To: new@x", "SUBJECT: New", "From: a@x", "X-Foo: bar"],
        "{header}"
    );
    assert!(!header.contains("Old"), "{header}");
}
