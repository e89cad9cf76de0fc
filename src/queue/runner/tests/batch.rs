//! The runner's batch and pool over the scripted server: a route's entries in one CHUNKING flight and
//! back to back under PIPELINING, each committed as soon as its own replies are read (a connection lost
//! in the middle of a flight leaves the answered entries committed and the others unknown); and the
//! pool of connections where the server offers no CHUNKING, its dials counted.

use super::*;

const CHUNKING: &[&str] = &["PIPELINING", "CHUNKING"];

/// The client's bytes for one entry in a CHUNKING flight, an RSET first unless it opens the flight.
fn chunked(sender: &str, rcpts: &[&str], first: bool) -> Vec<Step> {
    let mut steps = Vec::new();
    if !first {
        steps.push(client("RSET"));
    }
    steps.push(client(&format!("MAIL FROM:<{sender}>")));
    steps.extend(rcpts.iter().map(|r| client(&format!("RCPT TO:<{r}>"))));
    let bdat = format!("BDAT {} LAST\r\n", BODY.len());
    steps.push(Step::Expect([bdat.as_bytes(), BODY].concat()));
    steps
}

/// Every reply of an entry in a CHUNKING flight (RSET's first unless it opens the flight).
fn chunked_replies(rcpts: &[&str], final_reply: &str, first: bool) -> Vec<Step> {
    let mut steps = Vec::new();
    if !first {
        steps.push(server("250 reset"));
    }
    steps.push(server("250 ok"));
    steps.extend(rcpts.iter().map(|r| server(r)));
    steps.push(server(final_reply));
    steps
}

fn scripted(offers: &'static [&'static str], dials: Vec<Dial>) -> Scripted {
    Scripted {
        dials: dials.into(),
        offers,
        ..Scripted::default()
    }
}

/// Three entries in one write under CHUNKING; each entry's state is its own: a 450 to one recipient
/// of the second defers that recipient only.
#[test]
fn a_routes_entries_share_one_flight_under_chunking() {
    let (_dir, queue) = queue(NOW);
    enqueue(&queue, "alice@example.org", &["b@x"]);
    let second = enqueue(&queue, "alice@example.org", &["c@x", "d@x"]);
    enqueue(&queue, "alice@example.org", &["e@x"]);
    let mut steps = chunked("alice@example.org", &["b@x"], true);
    steps.extend(chunked("alice@example.org", &["c@x", "d@x"], false));
    steps.extend(chunked("alice@example.org", &["e@x"], false));
    steps.push(client("QUIT"));
    steps.extend(chunked_replies(&["250 ok"], "250 one", true));
    steps.extend(chunked_replies(
        &["450 4.2.0 busy", "250 ok"],
        "250 two",
        false,
    ));
    steps.extend(chunked_replies(&["250 ok"], "250 three", false));
    steps.push(server("221 bye"));
    let mut routes = scripted(CHUNKING, vec![Dial::Server(steps)]);
    let (report, events) = run(&queue, &mut routes, options());
    routes.scripts[0].assert_done();
    assert_eq!(
        (routes.dialled, report.attempted, report.stopped),
        (1, 3, None)
    );
    assert_eq!(
        kinds(&events),
        [
            EventKind::Delivered,
            EventKind::Delivered,
            EventKind::Deferred,
            EventKind::Delivered
        ]
    );
    assert_eq!(
        queue.ids(Dir::Queue).expect("listed"),
        std::slice::from_ref(&second)
    );
    let state = queue.load(Dir::Queue, &second).expect("kept");
    let states: Vec<_> = state.recipients.iter().map(|r| r.state).collect();
    assert_eq!(states, [RcptState::Pending, RcptState::Sent]);
    assert_eq!(state.inflight, None);
}

/// The connection closes after the first entry's final reply: the first is committed as delivered
/// (gone from the queue), the two others, whole on the wire, are kept, unknown, and the run ends.
#[test]
fn a_flight_cut_short_commits_what_was_answered() {
    let (_dir, queue) = queue(NOW);
    enqueue(&queue, "alice@example.org", &["b@x"]);
    let second = enqueue(&queue, "alice@example.org", &["c@x"]);
    let third = enqueue(&queue, "alice@example.org", &["d@x"]);
    let mut steps = chunked("alice@example.org", &["b@x"], true);
    steps.extend(chunked("alice@example.org", &["c@x"], false));
    steps.extend(chunked("alice@example.org", &["d@x"], false));
    steps.push(client("QUIT"));
    steps.extend(chunked_replies(&["250 ok"], "250 one", true));
    steps.push(Step::Close);
    let mut routes = scripted(CHUNKING, vec![Dial::Server(steps)]);
    let (report, events) = run(&queue, &mut routes, options());
    routes.scripts[0].assert_done();
    assert!(report.stopped.is_some());
    assert_eq!(
        kinds(&events),
        [EventKind::Delivered, EventKind::Unknown, EventKind::Unknown]
    );
    assert_eq!(queue.ids(Dir::Queue).expect("listed"), [second, third]);
    for id in queue.ids(Dir::Queue).expect("listed") {
        let state = queue.load(Dir::Queue, &id).expect("kept");
        assert_eq!(
            (state.recipients[0].state, state.inflight),
            (RcptState::Pending, None)
        );
        assert_eq!(state.recipients[0].attempts, 1);
    }
}

/// Under PIPELINING the end of one entry's data goes with the next entry's envelope.
#[test]
fn under_pipelining_each_dot_goes_with_the_next_envelope() {
    let (_dir, queue) = queue(NOW);
    enqueue(&queue, "alice@example.org", &["b@x"]);
    enqueue(&queue, "alice@example.org", &["c@x"]);
    let data = Step::Expect([BODY, b".\r\n"].concat());
    let steps = vec![
        client("MAIL FROM:<alice@example.org>"),
        client("RCPT TO:<b@x>"),
        client("DATA"),
        server("250 ok"),
        server("250 ok"),
        server("354 go"),
        data.clone(),
        client("MAIL FROM:<alice@example.org>"),
        client("RCPT TO:<c@x>"),
        client("DATA"),
        server("250 one"),
        server("250 ok"),
        server("250 ok"),
        server("354 go"),
        data,
        client("QUIT"),
        server("250 two"),
        server("221 bye"),
    ];
    let mut routes = scripted(&["PIPELINING"], vec![Dial::Server(steps)]);
    let (_, events) = run(&queue, &mut routes, options());
    routes.scripts[0].assert_done();
    // The greeting's and EHLO's round trip, then three: each message's and the first envelope's.
    assert_eq!(routes.scripts[0].turns(), 4);
    assert_eq!(kinds(&events), [EventKind::Delivered, EventKind::Delivered]);
    assert!(queue.is_empty().expect("listed"));
}

/// `n` entries, and a run with a pool of up to `connections`.
fn pool_run(
    n: usize,
    connections: usize,
    routes: &mut Scripted,
) -> (Queue, tempfile::TempDir, Report, Vec<Event>) {
    let (dir, queue) = queue(NOW);
    for i in 0..n {
        enqueue(&queue, "alice@example.org", &[&format!("r{i}@x")]);
    }
    let options = Options {
        connections,
        ..options()
    };
    let (report, events) = run(&queue, routes, options);
    (queue, dir, report, events)
}

/// Each delivered entry once, whichever connection carried it, and the queue empty.
fn delivered_once(queue: &Queue, events: &[Event], n: usize) {
    let mut ids: Vec<&Id> = events
        .iter()
        .filter(|e| e.kind == EventKind::Delivered)
        .map(|e| &e.id)
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!((ids.len(), events.len()), (n, n), "{events:?}");
    assert!(queue.is_empty().expect("listed"));
}

fn servers(n: usize) -> Vec<Dial> {
    (0..n).map(|_| Dial::Server(vec![Step::Lenient])).collect()
}

/// Spec §9: without CHUNKING, a pool of `queue_connections` connections shares a route's entries;
/// never more connections than entries.
#[test]
fn without_chunking_a_pool_of_connections_shares_the_entries() {
    for (entries, pool, dials) in [(20, 4, 4), (2, 4, 2), (20, 1, 1)] {
        let mut routes = scripted(&["PIPELINING"], servers(dials));
        let (queue, _dir, report, events) = pool_run(entries, pool, &mut routes);
        assert_eq!((routes.dialled, report.connections), (dials, dials));
        assert_eq!((report.attempted, report.stopped), (entries, None));
        delivered_once(&queue, &events, entries);
        for script in &routes.scripts {
            script.assert_done();
        }
    }
}

/// With CHUNKING one connection carries every entry, several per write.
#[test]
fn with_chunking_one_connection_carries_the_route() {
    let mut routes = scripted(CHUNKING, servers(1));
    let (queue, _dir, report, events) = pool_run(20, 4, &mut routes);
    assert_eq!((routes.dialled, report.connections), (1, 1));
    delivered_once(&queue, &events, 20);
    // EHLO, then one flight of twenty.
    assert_eq!(routes.scripts[0].turns(), 2);
}

/// With CHUNKING, more than a flight's worth of entries shares a pool too (the server takes a flight's
/// messages one by one): one connection a flight (32 entries), up to `queue_connections`.
#[test]
fn with_chunking_a_queue_of_several_flights_shares_a_pool() {
    for (entries, pool, dials) in [(33, 4, 2), (200, 4, 4), (200, 1, 1), (32, 4, 1)] {
        let mut routes = scripted(CHUNKING, servers(dials));
        let (queue, _dir, report, events) = pool_run(entries, pool, &mut routes);
        assert_eq!(
            (routes.dialled, report.connections),
            (dials, dials),
            "{entries} entries, queue_connections {pool}"
        );
        delivered_once(&queue, &events, entries);
    }
}

/// The second connection is refused: no other is tried, and the first carries every entry.
#[test]
fn no_connection_is_opened_after_one_failed() {
    let refused = || {
        anyhow::Error::new(Error::Greeting(Reply::new(
            421,
            "4.7.0 too many connections",
        )))
    };
    let dials = vec![
        Dial::Server(vec![Step::Lenient]),
        Dial::Fail(refused),
        Dial::Server(vec![Step::Lenient]),
    ];
    let mut routes = scripted(&[], dials);
    let (queue, _dir, report, events) = pool_run(10, 4, &mut routes);
    assert_eq!((routes.dialled, report.connections), (2, 2));
    assert_eq!(report.stopped, None);
    delivered_once(&queue, &events, 10);
}
