use super::*;

#[test]
fn content_types_come_from_the_extension() {
    assert_eq!(content_type_for("report.PDF"), "application/pdf");
    assert_eq!(content_type_for("/var/log/syslog.log"), "text/plain");
    assert_eq!(content_type_for("noextension"), "application/octet-stream");
}

#[test]
fn header_fields_need_a_name_and_one_line() {
    assert_eq!(header_field("X-Tag: a b").unwrap(), ("X-Tag", "a b"));
    assert!(header_field("no colon").is_err());
    assert!(header_field("Bad Name: v").is_err());
    assert!(header_field("X: a\r\nBcc: b").is_err());
}

fn args(to: &[&str], subject: &str) -> ComposeArgs {
    ComposeArgs {
        subject: Some(subject.to_owned()),
        to: to.iter().map(|s| s.to_string()).collect(),
        bcc: vec!["hidden@example.org".to_owned()],
        ..ComposeArgs::default()
    }
}

fn parts(text: &str) -> Parts {
    Parts {
        text: text.to_owned(),
        ..Parts::default()
    }
}

#[test]
fn a_flag_may_hold_several_addresses_and_quoted_commas_stay_in_the_name() {
    let a = args(&["\"Doe, Jane\" <jane@example.org>, bob@example.org"], "s");
    let bytes = build(&a, &Sender::default(), &parts("x\n")).unwrap();
    let message = mail_parser::MessageParser::default().parse(&bytes).unwrap();
    let to: Vec<_> = message.to().unwrap().iter().collect();
    assert_eq!(to.len(), 2);
    assert_eq!(to[0].name(), Some("Doe, Jane"));
    assert_eq!(to[0].address(), Some("jane@example.org"));
    assert_eq!(to[1].address(), Some("bob@example.org"));
}

#[test]
fn the_built_message_has_lf_lines_no_bcc_and_an_encoded_subject() {
    let sender = Sender {
        address: Some("alice@example.org"),
        full_name: Some("Ålice"),
    };
    let bytes = build(
        &args(&["bob@example.org"], "Überweisung"),
        &sender,
        &parts("hi\n"),
    )
    .unwrap();
    assert!(
        !bytes.windows(2).any(|w| w == b"\r\n"),
        "LF lines like typed input"
    );
    assert!(bytes.is_ascii());
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("hidden"), "{text}");
    let message = mail_parser::MessageParser::default().parse(&bytes).unwrap();
    assert_eq!(message.subject(), Some("Überweisung"));
    assert_eq!(
        message.from().unwrap().first().unwrap().name(),
        Some("Ålice")
    );
}

#[test]
fn the_null_sender_writes_no_from() {
    let sender = Sender {
        address: Some(""),
        full_name: None,
    };
    let bytes = build(&args(&[], "s"), &sender, &parts("")).unwrap();
    let message = mail_parser::MessageParser::default().parse(&bytes).unwrap();
    assert!(message.from().is_none());
}

#[test]
fn an_attach_option_other_than_type_is_refused() {
    assert!(matches!(
        attachment("x.pdf;name=y"),
        Err(ComposeError::BadAttach(_))
    ));
    assert!(matches!(
        attachment("/nonexistent/x.pdf"),
        Err(ComposeError::Open {
            what: "--attach",
            ..
        })
    ));
}
