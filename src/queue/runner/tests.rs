//! The runner over the in-memory scripted server: one connection per route, per-recipient state, hold,
//! expiry, unknown outcomes and corrupt entries, each checked against the files left in the queue; the
//! batch and the pool in [`batch`].

mod batch;

use std::collections::VecDeque;
use std::time::Duration;

use super::*;
use crate::queue::Clock;
use crate::queue::state::Kind;
use crate::smtp::error::Error;
use crate::smtp::reply::Reply;
use crate::smtp::script::{Script, Step, client, server};
use crate::smtp::session::SessionOptions;
use crate::smtp::trace::Trace;

const NOW: i64 = 1_767_225_600;
const BODY: &[u8] = b"Subject: hi\r\n\r\nhello\r\n";

/// What each dial gets: a scripted server, or a failure.
enum Dial {
    Server(Vec<Step>),
    Fail(fn() -> anyhow::Error),
}

#[derive(Default)]
struct Scripted {
    dials: VecDeque<Dial>,
    dialled: usize,
    scripts: Vec<Script>,
    /// The EHLO reply's keywords after the name (none: lockstep, one transaction at a time).
    offers: &'static [&'static str],
    /// The server speaks LMTP (LHLO, one reply per recipient after the data).
    lmtp: bool,
}

impl Routes for Scripted {
    fn dial(&mut self, _route: &Route) -> anyhow::Result<Session> {
        self.dialled += 1;
        let steps = match self.dials.pop_front().expect("a dial the test planned") {
            Dial::Server(steps) => steps,
            Dial::Fail(error) => return Err(error()),
        };
        let keywords: Vec<&str> = std::iter::once("mx.example")
            .chain(self.offers.iter().copied())
            .collect();
        let last = keywords.len() - 1;
        let lines: Vec<String> = (keywords.iter().enumerate())
            .map(|(i, k)| format!("250{}{k}", if i == last { ' ' } else { '-' }))
            .collect();
        let hello = if self.lmtp { "LHLO" } else { "EHLO" };
        let mut all = vec![
            server("220 mx.example ESMTP"),
            client(&format!("{hello} client.example")),
            server(&lines.join("\r\n")),
        ];
        all.extend(steps);
        let script = Script::new(all);
        self.scripts.push(script.clone());
        let opts = SessionOptions {
            domain: Some("client.example".into()),
            lmtp: self.lmtp,
            timeout: Duration::from_secs(5),
            final_timeout: Duration::from_secs(5),
        };
        let mut session = Session::open(Box::new(script), Trace::stderr(0), opts, None)?;
        session.hello()?;
        Ok(session)
    }

    fn notice_names(&self, _route: &Route) -> (String, String) {
        ("client.example".into(), "example.org".into())
    }
}

fn queue(now: i64) -> (tempfile::TempDir, Queue) {
    crate::queue::store::tests::queue_at(now)
}

fn enqueue(queue: &Queue, sender: &str, recipients: &[&str]) -> Id {
    let draft = crate::queue::Draft {
        kind: Kind::Message,
        uid: 1000,
        route: Route::default(),
        sender: sender.into(),
        params: Default::default(),
        recipients: recipients.iter().map(|r| r.to_string()).collect(),
        tried: Vec::new(),
    };
    queue.enqueue(&draft, &mut &BODY[..]).expect("queued")
}

/// One lockstep transaction: MAIL, each RCPT with its reply, and (when one was accepted) the data.
fn transaction(sender: &str, rcpts: &[(&str, &str)], final_reply: &str) -> Vec<Step> {
    let mut steps = vec![client(&format!("MAIL FROM:<{sender}>")), server("250 ok")];
    for (rcpt, reply) in rcpts {
        steps.push(client(&format!("RCPT TO:<{rcpt}>")));
        steps.push(server(reply));
    }
    if rcpts.iter().any(|(_, r)| r.starts_with('2')) {
        steps.extend([client("DATA"), server("354 go")]);
        steps.push(Step::Expect([BODY, b".\r\n"].concat()));
        steps.push(server(final_reply));
    } else {
        steps.extend([client("RSET"), server("250 ok")]);
    }
    steps
}

fn quit() -> Vec<Step> {
    vec![client("QUIT"), server("221 bye")]
}

fn options() -> Options {
    Options {
        ignore_backoff: true,
        lifetime: Duration::from_secs(5 * 86_400),
        config_stamp: "stamp-1".into(),
        // One connection, so that each test's one script sees every entry.
        connections: 1,
    }
}

fn run(queue: &Queue, routes: &mut Scripted, options: Options) -> (Report, Vec<Event>) {
    let mut events = Vec::new();
    let report = Runner {
        queue,
        routes,
        events: &mut events,
        options,
    }
    .run()
    .expect("runs");
    (report, events)
}

fn kinds(events: &[Event]) -> Vec<EventKind> {
    events.iter().map(|e| e.kind).collect()
}

/// Spec §9: one connection for the due entries of an account, RSET-free when all goes well.
#[test]
fn two_entries_go_over_one_connection_and_leave_the_queue() {
    let (_dir, queue) = queue(NOW);
    enqueue(&queue, "alice@example.org", &["bob@example.org"]);
    enqueue(&queue, "alice@example.org", &["carol@example.org"]);
    let mut steps = transaction(
        "alice@example.org",
        &[("bob@example.org", "250 ok")],
        "250 one",
    );
    steps.extend(transaction(
        "alice@example.org",
        &[("carol@example.org", "250 ok")],
        "250 two",
    ));
    steps.extend(quit());
    let mut routes = Scripted {
        dials: VecDeque::from([Dial::Server(steps)]),
        ..Scripted::default()
    };
    let (report, events) = run(&queue, &mut routes, options());
    routes.scripts[0].assert_done();
    assert_eq!(
        (routes.dialled, report.attempted, report.stopped),
        (1, 2, None)
    );
    assert_eq!(kinds(&events), [EventKind::Delivered, EventKind::Delivered]);
    assert!(queue.is_empty().expect("listed"));
    assert!(queue.ids(Dir::Failed).expect("listed").is_empty());
}

/// Issue 12, test 3: a=250, b=450, c=550: a delivered once, c failed, only b retried; once b is
/// delivered, one notice lists c and the entry moves to failed/.
#[test]
fn each_recipient_keeps_its_own_state() {
    let (_dir, queue) = queue(NOW);
    let id = enqueue(&queue, "alice@example.org", &["a@x", "b@x", "c@x"]);
    let rcpts = [
        ("a@x", "250 ok"),
        ("b@x", "450 4.2.0 busy"),
        ("c@x", "550 5.1.1 unknown"),
    ];
    let mut steps = transaction("alice@example.org", &rcpts, "250 queued");
    steps.extend(quit());
    let mut routes = Scripted {
        dials: VecDeque::from([Dial::Server(steps)]),
        ..Scripted::default()
    };
    run(&queue, &mut routes, options());
    routes.scripts[0].assert_done();
    let state = queue.load(Dir::Queue, &id).expect("still queued");
    let states: Vec<_> = state
        .recipients
        .iter()
        .map(|r| (r.state, r.attempts))
        .collect();
    assert_eq!(
        states,
        [
            (RcptState::Sent, 0),
            (RcptState::Pending, 1),
            (RcptState::Failed, 1)
        ]
    );
    assert_eq!(state.recipients[1].next_try - NOW, backoff(&id, 1));
    // The retry names b only.
    let mut steps = transaction("alice@example.org", &[("b@x", "250 ok")], "250 queued");
    steps.extend(quit());
    routes.dials.push_back(Dial::Server(steps));
    let (_, events) = run(&queue, &mut routes, options());
    routes.scripts[1].assert_done();
    assert_eq!(
        kinds(&events),
        [
            EventKind::Delivered,
            EventKind::NoticeQueued,
            EventKind::Failed
        ]
    );
    assert_eq!(
        queue.ids(Dir::Failed).expect("listed"),
        std::slice::from_ref(&id)
    );
    let notices = queue.ids(Dir::Queue).expect("listed");
    assert_eq!(notices.len(), 1);
    let notice = queue.load(Dir::Queue, &notices[0]).expect("notice");
    assert_eq!((notice.kind, notice.sender.as_str()), (Kind::Notice, ""));
    assert_eq!(notice.recipients[0].address, "alice@example.org");
    let data = std::fs::read_to_string(queue.data_path(&notices[0])).expect("data");
    assert!(data.contains("Final-Recipient: rfc822; c@x\r\n"), "{data}");
    assert!(!data.contains("rfc822; b@x"), "{data}");
}

/// The recipients' fates and the replies they record, in enqueue order.
fn fates(state: &State) -> Vec<(RcptState, &str)> {
    state
        .recipients
        .iter()
        .map(|r| (r.state, r.last_reply.as_deref().unwrap_or("")))
        .collect()
}

/// Over LMTP each recipient has its own reply after the data (RFC 2033 §4.2), and a delivered one records
/// the 250 that took it, not the transaction's last reply. Found by the interop group queue: against
/// Dovecot, alice's state and log line said "552 5.2.2 <carol@example.org> Quota exceeded".
#[test]
fn each_lmtp_recipient_records_its_own_reply() {
    let (_dir, queue) = queue(NOW);
    let id = enqueue(&queue, "alice@example.org", &["a@x", "b@x", "c@x"]);
    let rcpts = [("a@x", "250 ok"), ("b@x", "250 ok"), ("c@x", "250 ok")];
    let mut steps = transaction("alice@example.org", &rcpts, "250 2.0.0 <a@x> saved");
    steps.extend([
        server("250 2.0.0 <b@x> saved"),
        server("552 5.2.2 <c@x> over quota"),
    ]);
    steps.extend(quit());
    let mut routes = Scripted {
        dials: VecDeque::from([Dial::Server(steps)]),
        lmtp: true,
        ..Scripted::default()
    };
    let (_, events) = run(&queue, &mut routes, options());
    routes.scripts[0].assert_done();
    let state = queue.load(Dir::Failed, &id).expect("kept in failed/");
    assert_eq!(
        fates(&state),
        [
            (RcptState::Sent, "250 2.0.0 <a@x> saved"),
            (RcptState::Sent, "250 2.0.0 <b@x> saved"),
            (RcptState::Failed, "552 5.2.2 <c@x> over quota"),
        ]
    );
    let delivered: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::Delivered)
        .map(|e| (e.recipients.join(","), e.reason.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        delivered,
        [
            ("a@x".to_owned(), "250 2.0.0 <a@x> saved"),
            ("b@x".to_owned(), "250 2.0.0 <b@x> saved"),
        ]
    );
}

/// A connection lost between the LMTP replies: the recipient answered records its own 250 (never a
/// made-up one), the others stay pending with the outcome unknown.
#[test]
fn a_connection_lost_between_lmtp_replies_keeps_the_answered_reply() {
    let (_dir, queue) = queue(NOW);
    let id = enqueue(&queue, "alice@example.org", &["a@x", "b@x"]);
    let rcpts = [("a@x", "250 ok"), ("b@x", "250 ok")];
    let mut steps = transaction("alice@example.org", &rcpts, "250 2.0.0 <a@x> saved");
    steps.push(Step::Close);
    let mut routes = Scripted {
        dials: VecDeque::from([Dial::Server(steps)]),
        lmtp: true,
        ..Scripted::default()
    };
    let (_, events) = run(&queue, &mut routes, options());
    assert_eq!(kinds(&events), [EventKind::Delivered, EventKind::Unknown]);
    let state = queue.load(Dir::Queue, &id).expect("kept");
    assert_eq!(fates(&state)[0], (RcptState::Sent, "250 2.0.0 <a@x> saved"));
    assert_eq!(state.recipients[1].state, RcptState::Pending);
}

/// Issue 12, test 6: with the server down, one connection attempt however many entries wait.
#[test]
fn the_first_connection_failure_ends_the_run() {
    let (_dir, queue) = queue(NOW);
    for n in 0..20 {
        enqueue(&queue, "alice@example.org", &[&format!("r{n}@x")]);
    }
    let refused = || {
        anyhow::Error::new(Error::Connect {
            target: "127.0.0.1:25".into(),
            source: std::io::ErrorKind::ConnectionRefused.into(),
        })
    };
    let mut routes = Scripted {
        dials: VecDeque::from([Dial::Fail(refused)]),
        ..Scripted::default()
    };
    let (report, events) = run(&queue, &mut routes, options());
    assert_eq!(routes.dialled, 1);
    assert!(report.stopped.is_some_and(|r| r.contains("cannot connect")));
    assert_eq!(events.len(), 20);
    for id in queue.ids(Dir::Queue).expect("listed") {
        let state = queue.load(Dir::Queue, &id).expect("state");
        assert_eq!(state.recipients[0].attempts, 1);
    }
}

/// Issue 12, test 4 (half): 535 holds every entry of the account, with no notice; a changed
/// configuration releases them.
#[test]
fn an_auth_refusal_holds_without_a_notice_until_q_or_a_config_change() {
    let (_dir, queue) = queue(NOW);
    enqueue(&queue, "alice@example.org", &["b@x"]);
    enqueue(&queue, "alice@example.org", &["c@x"]);
    let denied = || {
        anyhow::Error::new(Error::AuthFailed {
            mechanism: "PLAIN".into(),
            reply: Reply::new(535, "5.7.8 Error: authentication failed"),
        })
    };
    let mut routes = Scripted {
        dials: VecDeque::from([Dial::Fail(denied)]),
        ..Scripted::default()
    };
    let (report, events) = run(&queue, &mut routes, options());
    assert_eq!(report.stopped, None);
    assert_eq!(kinds(&events), [EventKind::Held, EventKind::Held]);
    assert_eq!(queue.ids(Dir::Hold).expect("listed").len(), 2);
    assert!(queue.is_empty().expect("listed"));
    // The run after a send, the same configuration: still held, nothing dialled.
    let after_send = Options {
        ignore_backoff: false,
        ..options()
    };
    let (_, events) = run(&queue, &mut routes, after_send);
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(routes.dialled, 1);
    // `-q`, the same configuration: tried again once for the group, held again, no notice.
    routes.dials.push_back(Dial::Fail(denied));
    let (_, events) = run(&queue, &mut routes, options());
    assert_eq!(
        kinds(&events),
        [
            EventKind::Released,
            EventKind::Released,
            EventKind::Held,
            EventKind::Held
        ]
    );
    assert_eq!(routes.dialled, 2);
    // A changed file: released and delivered.
    let mut steps = transaction("alice@example.org", &[("b@x", "250 ok")], "250 a");
    steps.extend(transaction(
        "alice@example.org",
        &[("c@x", "250 ok")],
        "250 b",
    ));
    steps.extend(quit());
    routes.dials.push_back(Dial::Server(steps));
    let changed = Options {
        config_stamp: "stamp-2".into(),
        ..options()
    };
    let (_, events) = run(&queue, &mut routes, changed);
    assert_eq!(
        kinds(&events),
        [
            EventKind::Released,
            EventKind::Released,
            EventKind::Delivered,
            EventKind::Delivered
        ]
    );
    assert!(queue.ids(Dir::Hold).expect("listed").is_empty());
    assert!(queue.is_empty().expect("listed"));
}

/// A 530 to MAIL is the smarthost's configuration too: the entry and the rest of the group are held.
#[test]
fn a_530_to_mail_holds_the_group() {
    let (_dir, queue) = queue(NOW);
    enqueue(&queue, "alice@example.org", &["b@x"]);
    enqueue(&queue, "alice@example.org", &["c@x"]);
    let mut steps = vec![
        client("MAIL FROM:<alice@example.org>"),
        server("530 5.7.0 Authentication required"),
        client("RSET"),
        server("250 ok"),
    ];
    steps.extend(quit());
    let mut routes = Scripted {
        dials: VecDeque::from([Dial::Server(steps)]),
        ..Scripted::default()
    };
    let (_, events) = run(&queue, &mut routes, options());
    routes.scripts[0].assert_done();
    assert_eq!(kinds(&events), [EventKind::Held, EventKind::Held]);
    assert_eq!(queue.ids(Dir::Hold).expect("listed").len(), 2);
}

/// Spec §9: a lost connection after the dot keeps the entry, says "outcome unknown", ends the run.
#[test]
fn a_lost_connection_after_the_data_keeps_the_entry() {
    let (_dir, queue) = queue(NOW);
    let id = enqueue(&queue, "alice@example.org", &["b@x"]);
    enqueue(&queue, "alice@example.org", &["c@x"]);
    let mut steps = transaction("alice@example.org", &[("b@x", "250 ok")], "250 x");
    steps.pop();
    steps.push(Step::Close);
    let mut routes = Scripted {
        dials: VecDeque::from([Dial::Server(steps)]),
        ..Scripted::default()
    };
    let (report, events) = run(&queue, &mut routes, options());
    assert_eq!(kinds(&events), [EventKind::Unknown]);
    assert!(
        events[0]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains(attempt::MAY_BE_TWICE))
    );
    assert!(report.stopped.is_some());
    assert_eq!(report.attempted, 1);
    let state = queue.load(Dir::Queue, &id).expect("kept");
    assert_eq!(
        (state.recipients[0].state, state.inflight),
        (RcptState::Pending, None)
    );
}

/// A mark left by an attempt a crash cut short is logged before the next attempt.
#[test]
fn an_attempt_cut_short_is_logged_as_a_possible_duplicate() {
    let (_dir, queue) = queue(NOW);
    let id = enqueue(&queue, "alice@example.org", &["b@x"]);
    let mut state = queue.load(Dir::Queue, &id).expect("state");
    state.inflight = Some(NOW - 10);
    queue.commit(Dir::Queue, &state).expect("marked");
    let mut steps = transaction("alice@example.org", &[("b@x", "250 ok")], "250 x");
    steps.extend(quit());
    let mut routes = Scripted {
        dials: VecDeque::from([Dial::Server(steps)]),
        ..Scripted::default()
    };
    let (_, events) = run(&queue, &mut routes, options());
    assert_eq!(kinds(&events), [EventKind::Unknown, EventKind::Delivered]);
    assert!(queue.is_empty().expect("listed"));
}

/// Issue 12, test 4 (other half): past the lifetime, failed/ and one notice, no connection at all; for
/// the null sender, no notice.
#[test]
fn expired_entries_fail_with_one_notice_and_none_for_the_null_sender() {
    let (dir, queue) = queue(NOW);
    let id = enqueue(&queue, "alice@example.org", &["b@x", "c@x"]);
    let bounce = enqueue(&queue, "", &["d@x"]);
    let later = queue.with_clock(Clock::fixed(NOW + 5 * 86_400));
    let mut routes = Scripted::default();
    let (report, events) = run(&later, &mut routes, options());
    assert_eq!((routes.dialled, report.connections), (0, 0));
    assert_eq!(
        kinds(&events),
        [
            EventKind::Expired,
            EventKind::NoticeQueued,
            EventKind::Failed,
            EventKind::Expired,
            EventKind::Failed
        ]
    );
    let mut failed = later.ids(Dir::Failed).expect("listed");
    failed.sort();
    assert_eq!(failed, [id.clone(), bounce]);
    let notices = later.ids(Dir::Queue).expect("listed");
    assert_eq!(notices.len(), 1, "one notice, for alice only");
    let state = later.load(Dir::Failed, &id).expect("state");
    assert_eq!(state.notice.as_ref(), Some(&notices[0]));
    drop(dir);
}

/// Issue 12, test 5: a corrupt state is never sent; it goes to failed/ with a log line.
#[test]
fn a_corrupt_state_is_moved_to_failed_and_never_sent() {
    let (_dir, queue) = queue(NOW);
    let id = enqueue(&queue, "alice@example.org", &["b@x"]);
    let path = queue.state_path(Dir::Queue, &id);
    let text = std::fs::read_to_string(&path).expect("state");
    std::fs::write(&path, &text[..text.len() - 20]).expect("truncate");
    let mut routes = Scripted::default();
    let (_, events) = run(&queue, &mut routes, options());
    assert_eq!(routes.dialled, 0);
    assert_eq!(kinds(&events), [EventKind::Failed]);
    assert!(
        events[0]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("truncated"))
    );
    assert_eq!(queue.ids(Dir::Failed).expect("listed"), [id]);
}

/// Without `-q`, the backoff holds an entry back; a second runner finds the lock taken.
#[test]
fn the_backoff_and_the_runner_lock() {
    let (_dir, queue) = queue(NOW);
    let id = enqueue(&queue, "alice@example.org", &["b@x"]);
    let mut state = queue.load(Dir::Queue, &id).expect("state");
    defer(&mut state, &["b@x".to_string()], "451 later", NOW);
    queue.commit(Dir::Queue, &state).expect("deferred");
    let patient = Options {
        ignore_backoff: false,
        ..options()
    };
    let mut routes = Scripted::default();
    let (report, _) = run(&queue, &mut routes, patient);
    assert_eq!((routes.dialled, report.connections), (0, 0));
    let _held = queue.runner_lock().expect("lock").expect("free");
    let (report, _) = run(&queue, &mut routes, options());
    assert!(report.busy);
}
