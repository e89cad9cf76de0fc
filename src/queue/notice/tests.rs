use super::*;
use crate::queue::id::Id;
use crate::queue::state::{Kind, Parameters, Recipient, Route};

fn state() -> State {
    let failed = |address: &str, reply: &str| Recipient {
        state: RcptState::Failed,
        attempts: 1,
        next_try: 0,
        last_reply: Some(reply.into()),
        ..Recipient::pending(address)
    };
    State {
        id: Id::new(1_767_225_600_000_000, 42),
        created: 1_767_225_600,
        uid: 1000,
        kind: Kind::Message,
        route: Route::default(),
        sender: "alice@example.org".into(),
        size: 10,
        params: Parameters {
            dsn_envid: Some("ENV1".into()),
            ..Parameters::default()
        },
        held: None,
        inflight: None,
        notice: None,
        recipients: vec![
            Recipient {
                state: RcptState::Sent,
                ..Recipient::pending("a@example.org")
            },
            failed("c@example.org", "550 5.1.1 <c@example.org>: no such user"),
            failed(
                "d@example.org",
                "gave up after 5 days; last reply: 451 4.3.0 later",
            ),
        ],
    }
}

fn context(headers: &[u8]) -> Context<'_> {
    Context {
        host: "client.example",
        domain: "example.org",
        date: "Thu, 1 Jan 2026 00:00:00 +0000",
        arrival: "Thu, 1 Jan 2026 00:00:00 +0000",
        headers,
    }
}

/// RFC 3464: multipart/report with a human part, the machine part (one block per failed recipient),
/// and the original headers; from the null sender's mailbox, marked auto-replied.
#[test]
fn one_notice_lists_every_failed_recipient() {
    let headers = b"Subject: hi\r\nFrom: alice@example.org\r\n";
    let text =
        String::from_utf8(build(&state(), &context(headers)).expect("a notice")).expect("utf-8");
    for want in [
        "From: Mail Delivery System <MAILER-DAEMON@example.org>\r\n",
        "To: <alice@example.org>\r\n",
        "Auto-Submitted: auto-replied\r\n",
        "Content-Type: multipart/report; report-type=delivery-status;\r\n",
        "Reporting-MTA: dns; client.example\r\n",
        "Original-Envelope-Id: ENV1\r\n",
        "Final-Recipient: rfc822; c@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 <c@example.org>: no such user\r\n",
        "Final-Recipient: rfc822; d@example.org\r\nAction: failed\r\nStatus: 4.4.7\r\n",
        "Content-Type: text/rfc822-headers\r\n\r\nSubject: hi\r\nFrom: alice@example.org\r\n\r\n--",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(
        !text.contains("a@example.org>:"),
        "a delivered recipient is not listed:\n{text}"
    );
    assert!(text.ends_with(&format!("--=_mailsend_notice_{}--\r\n", state().id)));
    assert!(
        !text.replace("\r\n", "").contains('\n'),
        "bare LF in:\n{text}"
    );
}

/// Spec §9: never for the null sender, never about a notice (nullmailer issue 69's loop).
#[test]
fn no_notice_for_the_null_sender_or_about_a_notice() {
    let mut s = state();
    s.sender = String::new();
    assert_eq!(build(&s, &context(b"")), None);
    let mut s = state();
    s.kind = Kind::Notice;
    assert_eq!(build(&s, &context(b"")), None);
}

#[test]
fn statuses_come_from_the_reply() {
    assert_eq!(status("550 5.7.1 relay denied"), "5.7.1");
    assert_eq!(status("550-5.2.2 full"), "5.2.2");
    assert_eq!(status("554 no enhanced code"), "5.0.0");
    assert_eq!(status("550 4.1.1 mismatched class"), "5.0.0");
    assert_eq!(status("451 4.3.0 later"), "4.3.0");
    assert_eq!(status("connection refused"), "4.4.7");
}

#[test]
fn the_header_section_ends_at_the_empty_line() {
    assert_eq!(
        header_section(b"A: 1\r\nB: 2\r\n\r\nbody\r\n"),
        b"A: 1\r\nB: 2\r\n"
    );
    assert_eq!(header_section(b"A: 1\r\n"), b"A: 1\r\n");
}
