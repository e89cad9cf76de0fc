use super::*;

pub(crate) fn sample() -> State {
    State {
        id: Id::new(1_767_225_600_000_000, 42),
        created: 1_767_225_600,
        uid: 1000,
        kind: Kind::Message,
        route: Route {
            account: Some("work mail".into()),
            ..Route::default()
        },
        sender: "alice@example.org".into(),
        size: 1234,
        params: Parameters {
            eight_bit: true,
            body: Some("8BITMIME".into()),
            dsn_ret: Some("HDRS".into()),
            dsn_envid: None,
            dsn_notify: Some("FAILURE,DELAY".into()),
        },
        held: None,
        inflight: None,
        notice: None,
        recipients: vec![
            Recipient::pending("bob@example.org"),
            Recipient {
                address: "\"c d\"@example.org".into(),
                state: RcptState::Failed,
                attempts: 2,
                next_try: 1_767_225_720,
                last_reply: Some("550 5.1.1 no such user\r\n100% sure".into()),
            },
        ],
    }
}

#[test]
fn every_field_round_trips() {
    let mut state = sample();
    let text = state.render();
    assert_eq!(State::parse(text.as_bytes(), &state.id), Ok(state.clone()));
    state.sender = String::new();
    state.kind = Kind::Notice;
    state.route = Route {
        account: None,
        host: Some("[::1]:2525".into()),
        port: Some(2525),
        socket: Some("/run/lmtp sock".into()),
        lmtp: true,
    };
    state.held = Some(Held {
        since: 5,
        reason: "535 5.7.8 authentication failed".into(),
        config: "none".into(),
    });
    state.inflight = Some(7);
    state.notice = Some(Id::new(1, 2));
    let text = state.render();
    assert_eq!(State::parse(text.as_bytes(), &state.id), Ok(state));
}

/// A value cannot add a line or a field: replies and addresses are escaped.
#[test]
fn free_text_stays_on_its_line() {
    let text = sample().render();
    assert!(
        text.contains("reply 550 5.1.1 no such user%0D%0A100%25 sure\n"),
        "{text}"
    );
    assert!(
        text.contains("rcpt failed 2 1767225720 \"c%20d\"@example.org\n"),
        "{text}"
    );
    assert!(text.contains("account work%20mail\n"), "{text}");
    assert_eq!(text.lines().count(), 16, "{text}");
}

/// Spec §9: a truncated file is recognised and never sent; so is any changed byte.
#[test]
fn truncated_or_changed_files_are_refused() {
    let state = sample();
    let text = state.render();
    for cut in 0..text.len() {
        let result = State::parse(&text.as_bytes()[..cut], &state.id);
        assert!(result.is_err(), "accepted a file cut at {cut}: {result:?}");
    }
    let changed = text.replace("rcpt pending", "rcpt sent");
    assert_eq!(
        State::parse(changed.as_bytes(), &state.id),
        Err(Corrupt::Checksum)
    );
    let other = Id::new(9, 9);
    assert_eq!(State::parse(text.as_bytes(), &other), Err(Corrupt::WrongId));
    assert_eq!(
        State::parse(b"\x00\x01garbage", &state.id),
        Err(Corrupt::Magic)
    );
    assert_eq!(State::parse(b"\xff\xfe", &state.id), Err(Corrupt::Line(0)));
    assert_eq!(
        State::parse(b"mailsend-queue 9\nend x\n", &state.id),
        Err(Corrupt::Magic)
    );
}

/// A file with a valid checksum but a line the writer never writes (a hand edit with a recomputed sum,
/// a newer version) is refused too.
#[test]
fn unknown_lines_are_refused() {
    let state = sample();
    let text = state.render();
    let body = &text[..text.rfind("end ").expect("end line")];
    let edited = format!("{body}colour blue\n");
    let sum = hex(&Sha256::digest(edited.as_bytes()));
    let file = format!("{edited}end {sum}\n");
    assert_eq!(
        State::parse(file.as_bytes(), &state.id),
        Err(Corrupt::Line(16))
    );
}

#[test]
fn notices_follow_the_rules() {
    let mut state = sample();
    assert!(state.wants_notice());
    state.sender = String::new();
    assert!(!state.wants_notice(), "never for the null sender");
    state.sender = "alice@example.org".into();
    state.kind = Kind::Notice;
    assert!(!state.wants_notice(), "never about a notice");
    state.kind = Kind::Message;
    state.recipients[1].state = RcptState::Sent;
    assert!(!state.wants_notice(), "nothing failed");
    assert!(!state.finished());
}
