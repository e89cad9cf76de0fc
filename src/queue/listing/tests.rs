use super::*;
use crate::queue::id::Id;
use crate::queue::state::{Held, Kind, Parameters, Recipient, Route};

fn time(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .expect("a time")
        .format("%a %b %e %H:%M:%S")
        .to_string()
}

fn entry(n: u64, sender: &str, size: u64, recipients: Vec<Recipient>) -> State {
    State {
        id: Id::new(1_767_225_600_000_000 + n, 42),
        created: 1_767_225_600 + i64::try_from(n).expect("small"),
        uid: 1000,
        kind: Kind::Message,
        route: Route::default(),
        sender: sender.into(),
        size,
        params: Parameters::default(),
        held: None,
        inflight: None,
        notice: None,
        recipients,
    }
}

fn deferred(address: &str, reply: &str) -> Recipient {
    Recipient {
        attempts: 1,
        next_try: 1_767_225_700,
        last_reply: Some(reply.into()),
        ..Recipient::pending(address)
    }
}

fn render(entries: &[Listed]) -> String {
    let mut out = Vec::new();
    mailq(entries, &time, &mut out).expect("write");
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn an_empty_queue_says_so() {
    assert_eq!(render(&[]), "Mail queue is empty\n");
}

/// Postfix's showq layout, column for column (issue 12, test 7 has the golden files end to end).
#[test]
fn entries_in_postfix_layout() {
    let mut sent = Recipient::pending("done@example.org");
    sent.state = RcptState::Sent;
    let first = entry(
        0,
        "alice@example.org",
        2167,
        vec![
            deferred("bob@example.org", "451 4.3.0 try later"),
            deferred("carol@example.org", "451 4.3.0 try later"),
            sent,
        ],
    );
    let mut second = entry(1, "", 900, vec![Recipient::pending("dave@example.org")]);
    second.held = Some(Held {
        since: 1,
        reason: "535 5.7.8 authentication failed".into(),
        config: "none".into(),
    });
    let text = render(&[
        Listed {
            state: first,
            held: false,
        },
        Listed {
            state: second,
            held: true,
        },
    ]);
    let expected = "\
-Queue ID- --Size-- ----Arrival Time---- -Sender/Recipient-------
06474846204000.2A     2167 Thu Jan  1 00:00:00  alice@example.org
                                                         (451 4.3.0 try later)
                                         bob@example.org
                                         carol@example.org

06474846204001.2A!     900 Thu Jan  1 00:00:01  MAILER-DAEMON
                                             (535 5.7.8 authentication failed)
                                         dave@example.org

-- 2 Kbytes in 2 Requests.
";
    assert_eq!(text, expected);
}

#[test]
fn json_has_postqueue_fields_one_entry_a_line() {
    let state = entry(
        0,
        "a\"b@example.org",
        10,
        vec![deferred("bob@example.org", "451 wait\tplease")],
    );
    let mut out = Vec::new();
    json(&[Listed { state, held: false }], &mut out).expect("write");
    assert_eq!(
        String::from_utf8(out).expect("utf-8"),
        "{\"queue_name\": \"deferred\", \"queue_id\": \"06474846204000.2A\", \"arrival_time\": 1767225600, \
         \"message_size\": 10, \"forced_expire\": false, \"sender\": \"a\\\"b@example.org\", \"recipients\": \
         [{\"address\": \"bob@example.org\", \"delay_reason\": \"451 wait\\u0009please\", \"attempts\": 1, \
         \"next_try\": 1767225700}]}\n"
    );
}
