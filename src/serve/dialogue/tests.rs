use super::*;
use proptest::prelude::*;

/// Refuses any address holding `bad`, takes the rest.
struct Judge;

impl Addresses for Judge {
    fn sender(&self, address: &str) -> Result<(), String> {
        match address.contains("bad") {
            true => Err("not an address".into()),
            false => Ok(()),
        }
    }
    fn recipient(&self, address: &str) -> Result<(), String> {
        self.sender(address)
    }
}

/// Each line's reply on the wire, as one string per line sent.
fn replies(lines: &[&str]) -> Vec<String> {
    let mut d = Dialogue::new("mail.example");
    lines
        .iter()
        .map(|line| {
            let step = d.on_line(Line::Text(line.as_bytes().to_vec()), &Judge);
            let enhanced = d.enhanced();
            let answer = match step {
                Step::Reply(a) | Step::Data(a) | Step::Quit(a) => a,
            };
            String::from_utf8(answer.wire(enhanced)).expect("utf-8")
        })
        .collect()
}

#[test]
fn symfony_dialogue_after_helo() {
    let got = replies(&[
        "HELO [127.0.0.1]",
        "MAIL FROM:<app@example.org>",
        "RCPT TO:<bob@example.org>",
        "RCPT TO:<carol@example.org>",
        "DATA",
    ]);
    assert_eq!(
        got,
        [
            "250 mail.example\r\n",
            "250 Ok\r\n",
            "250 Ok\r\n",
            "250 Ok\r\n",
            "354 End data with <CR><LF>.<CR><LF>\r\n",
        ]
    );
}

#[test]
fn ehlo_offers_exactly_the_spec_extensions() {
    let got = replies(&["EHLO client.example", "MAIL FROM:<> BODY=8BITMIME SIZE=10"]);
    assert_eq!(
        got[0],
        "250-mail.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n\
         250-ENHANCEDSTATUSCODES\r\n250-SIZE\r\n250 DSN\r\n"
    );
    for never in ["STARTTLS", "AUTH", "CHUNKING"] {
        assert!(!got[0].contains(never), "{never}");
    }
    assert_eq!(got[1], "250 2.1.0 Ok\r\n");
}

/// Spec §10: 503 out of order, 500 unknown, 252 VRFY, 221 QUIT, each line its reply.
#[test]
fn the_order_table() {
    let cases: &[(&[&str], &str)] = &[
        (&["MAIL FROM:<a@x>"], "503 Error: send HELO/EHLO first"),
        (
            &["EHLO c", "RCPT TO:<b@x>"],
            "503 5.5.1 Error: need MAIL command",
        ),
        (&["EHLO c", "DATA"], "503 5.5.1 Error: need MAIL command"),
        (
            &["EHLO c", "MAIL FROM:<a@x>", "DATA"],
            "503 5.5.1 Error: need RCPT command",
        ),
        (
            &["EHLO c", "MAIL FROM:<a@x>", "MAIL FROM:<a@x>"],
            "503 5.5.1 Error: nested MAIL command",
        ),
        (
            &["EHLO c", "MAIL FROM:<a@x>", "RCPT TO:<b@x>", "RSET", "DATA"],
            "503 5.5.1 Error: need MAIL command",
        ),
        (
            &["EHLO c", "MAIL FROM:<a@x>", "EHLO c", "RCPT TO:<b@x>"],
            "503 5.5.1 Error: need MAIL command",
        ),
        (&["EHLO c", "FROB"], "500 5.5.1 Command unrecognized"),
        (&["HELO c", "FROB"], "500 Command unrecognized"),
        (
            &["HELO c", "VRFY bob"],
            "252 Cannot VRFY user, but will accept message and attempt delivery",
        ),
        (&["EHLO c", "NOOP"], "250 2.0.0 Ok"),
        (&["NOOP"], "250 Ok"),
        (&["EHLO c", "QUIT"], "221 2.0.0 Bye"),
        (
            &["HELO c", "MAIL FROM:<a@x> SIZE=1"],
            "555 ESMTP parameters need EHLO",
        ),
        (
            &["HELO c", "MAIL FROM:<a@x>", "RCPT TO:<b@x> NOTIFY=NEVER"],
            "555 ESMTP parameters need EHLO",
        ),
        (
            &["EHLO c", "MAIL FROM:<bad@x>"],
            "553 5.1.7 Bad sender address: not an address",
        ),
        (
            &["EHLO c", "MAIL FROM:<a@x>", "RCPT TO:<bad@x>"],
            "553 5.1.3 Bad recipient address: not an address",
        ),
        (
            &["EHLO c", "HELP"],
            "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP",
        ),
    ];
    for (lines, last) in cases {
        let got = replies(lines);
        assert_eq!(got.last().map(|s| s.trim_end()), Some(*last), "{lines:?}");
    }
}

#[test]
fn a_too_long_line_and_recipient_bound() {
    let mut d = Dialogue::new("m");
    let step = d.on_line(Line::TooLong, &Judge);
    assert_eq!(
        step,
        Step::Reply(Answer::new(500, "5.5.2", "Error: line too long"))
    );
    d.on_line(Line::Text(b"EHLO c".to_vec()), &Judge);
    d.on_line(Line::Text(b"MAIL FROM:<a@x>".to_vec()), &Judge);
    for _ in 0..MAX_RECIPIENTS {
        let step = d.on_line(Line::Text(b"RCPT TO:<b@x>".to_vec()), &Judge);
        assert_eq!(step, Step::Reply(Answer::new(250, "2.1.5", "Ok")));
    }
    let step = d.on_line(Line::Text(b"RCPT TO:<b@x>".to_vec()), &Judge);
    assert!(matches!(step, Step::Reply(a) if a.code == 452));
    let envelope = d.end_transaction().expect("an envelope");
    assert_eq!(envelope.recipients.len(), MAX_RECIPIENTS);
    assert_eq!(d.end_transaction(), None);
}

proptest! {
    /// Any sequence of lines: a step for each, never a panic, the envelope never over its bound.
    #[test]
    fn any_lines(lines in proptest::collection::vec(
        prop_oneof![
            Just(b"EHLO c".to_vec()), Just(b"HELO c".to_vec()), Just(b"MAIL FROM:<a@x>".to_vec()),
            Just(b"RCPT TO:<b@x>".to_vec()), Just(b"DATA".to_vec()), Just(b"RSET".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..40),
        ],
        0..60,
    )) {
        let mut d = Dialogue::new("m");
        for line in lines {
            let _ = d.on_line(Line::Text(line), &Judge);
        }
        prop_assert!(d.end_transaction().is_none_or(|e| e.recipients.len() <= MAX_RECIPIENTS));
    }
}
