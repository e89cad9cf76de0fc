//! Issue 12, tests 2 to 7: per-recipient state, one connection attempt for a queue whose server is down,
//! corrupt and planted files, a full disk, hold and release, expiry, the listing for two users, and
//! concurrent submissions with concurrent runners.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mailsend::queue::location::{Kind, Location};
use mailsend::queue::state::{Held, Kind as EntryKind, Route};
use mailsend::queue::{Clock, Dir, Draft, Queue};

use super::sink::Sink;
use super::{User, an_hour_later, message, stderr};
use crate::harness::{AuthCheck, Script, Server};

fn open(user: &User, clock: Clock) -> Queue {
    let location = Location {
        path: user.queue_dir(),
        kind: Kind::Own,
    };
    Queue::open(&location, clock, true)
        .expect("opens")
        .expect("made")
}

fn draft(uid: u32, recipients: &[&str]) -> Draft {
    Draft {
        kind: EntryKind::Message,
        uid,
        route: Route::default(),
        sender: "alice@example.org".into(),
        params: Default::default(),
        recipients: recipients.iter().map(|r| r.to_string()).collect(),
        tried: Vec::new(),
    }
}

/// Issue 12, test 3: a=250, b=450, c=550: a delivered once, c in one failure notice, only b retried,
/// and on the retry only b is sent.
#[test]
fn each_recipient_has_its_own_fate() {
    let b_tries = Arc::new(AtomicUsize::new(0));
    let tries = b_tries.clone();
    let rcpt = Arc::new(move |to: &str| match to {
        "b@example.org" if tries.fetch_add(1, Ordering::SeqCst) == 0 => {
            "450 4.2.1 try later".to_owned()
        }
        "c@example.org" => "550 5.1.1 no such user".to_owned(),
        _ => "250 2.1.5 ok".to_owned(),
    });
    let sink = Sink::with(rcpt, Arc::new(|_: &str| "250 2.0.0 queued".to_owned()));
    let user = User::new();
    let rcpts = ["a@example.org", "b@example.org", "c@example.org"];
    assert_eq!(
        user.send(&sink.host(), &["-odq"], &rcpts, &[])
            .status
            .code(),
        Some(0)
    );
    for _ in 0..3 {
        let run = user.run_queue(&sink.host(), &[]);
        assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    }
    let stored = sink.stored();
    let to = |who: &[&str]| stored.iter().filter(|m| m.recipients == who).count();
    assert_eq!(to(&["a@example.org"]), 1, "{stored:?}");
    assert_eq!(
        to(&["b@example.org"]),
        1,
        "the retry names b only: {stored:?}"
    );
    assert_eq!(sink.count_for("c@example.org"), 0);
    let notices: Vec<_> = stored.iter().filter(|m| m.from.is_empty()).collect();
    assert_eq!(notices.len(), 1, "{stored:?}");
    assert_eq!(notices[0].recipients, ["alice@example.org"]);
    let text = String::from_utf8_lossy(&notices[0].data);
    assert!(
        text.contains("Final-Recipient: rfc822; c@example.org"),
        "{text}"
    );
    assert!(!text.contains("rfc822; b@example.org"), "{text}");
    assert_eq!(user.names("failed").len(), 1);
    assert!(user.names("queue").is_empty());
}

/// Issue 12, test 6: with the server down and 500 entries queued, one `-q` makes one connection
/// attempt.
#[test]
fn five_hundred_entries_and_a_dead_server_mean_one_connection_attempt() {
    let user = User::new();
    let queue = open(&user, Clock::system());
    for n in 0..500 {
        let rcpt = format!("r{n}@example.org");
        queue
            .enqueue(&draft(0, &[&rcpt]), &mut &message("x")[..])
            .expect("queued");
    }
    // A server that is down in the way that costs most: it accepts and closes at once, counted.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let host = listener.local_addr().expect("addr").to_string();
    let counted = Arc::new(AtomicUsize::new(0));
    let count = counted.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            count.fetch_add(1, Ordering::SeqCst);
            drop(conn);
        }
    });
    let run = user.run_queue(&host, &[]);
    let accepted = counted.load(Ordering::SeqCst);
    assert_eq!(run.status.code(), Some(75), "{}", stderr(&run));
    assert_eq!(accepted, 1);
    assert_eq!(user.names("queue").len(), 500);
}

/// Spec §9: a server that offers no CHUNKING (the sink speaks lockstep) gets a pool of
/// `queue_connections` connections from one `-q`, sharing the entries, each delivered exactly once.
#[test]
fn a_server_without_chunking_gets_a_pool_of_connections() {
    let sink = Sink::start();
    let user = User::new();
    let config = user.home.path().join(".config/mailsend/config.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, format!("{text}queue_connections = 3\n")).expect("config");
    let queue = open(&user, Clock::system());
    for n in 0..12 {
        let rcpt = format!("r{n}@example.org");
        let data = message(&format!("m{n}"));
        queue
            .enqueue(&draft(0, &[&rcpt]), &mut &data[..])
            .expect("queued");
    }
    let run = user.run_queue(&sink.host(), &[]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert_eq!(sink.connections(), 3);
    for n in 0..12 {
        assert_eq!(sink.count_for(&format!("r{n}@example.org")), 1, "r{n}");
    }
    assert!(user.names("queue").is_empty());
}

/// A send that fails and queues records its attempt: one attempt, the failure as the last reply (which
/// -bp shows), the backoff before the next try. Found by the interop group queue: -bp showed no reason
/// for such an entry, --json called it never tried, --queue-check said "not tried yet".
#[test]
fn a_send_that_queues_records_its_failed_attempt() {
    let user = User::new();
    // A port nothing listens on: connection refused.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let host = listener.local_addr().expect("addr").to_string();
    drop(listener);
    let sent = user.send(&host, &[], &["bob@example.org"], &[]);
    assert_eq!(sent.status.code(), Some(0), "{}", stderr(&sent));
    let queue = open(&user, Clock::system());
    let ids = queue.ids(Dir::Queue).expect("listed");
    assert_eq!(ids.len(), 1);
    let state = queue.load(Dir::Queue, &ids[0]).expect("state");
    let r = &state.recipients[0];
    assert_eq!(r.attempts, 1, "{r:?}");
    assert!(
        r.last_reply
            .as_deref()
            .is_some_and(|t| t.starts_with("cannot connect to")),
        "{r:?}"
    );
    assert!(r.next_try >= state.created + 60, "{r:?}");
    let listed = user.cmd(&host, &[]).arg("-bp").output().expect("run");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("(cannot connect to"), "{listed}");
}

/// Issue 12, test 5: a truncated state is never sent and goes to failed/ with a log line; a link
/// planted in queue/ is refused and its target left alone.
#[test]
fn corrupt_and_planted_states_are_never_sent() {
    let sink = Sink::start();
    let user = User::new();
    user.send(&sink.host(), &["-odq"], &["bob@example.org"], &[]);
    let id = user.names("queue").remove(0);
    let path = user.queue_dir().join("queue").join(&id);
    let text = std::fs::read_to_string(&path).expect("state");
    std::fs::write(&path, &text[..text.len() / 2]).expect("truncate");
    let target = user.home.path().join("target");
    std::fs::write(&target, text.replace(&id, "00000000000001.1")).expect("write");
    let planted = user.queue_dir().join("queue/00000000000001.1");
    std::os::unix::fs::symlink(&target, &planted).expect("plant");
    let run = user.run_queue(&sink.host(), &[]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert_eq!(sink.stored().len(), 0);
    assert_eq!(
        user.names("failed"),
        ["00000000000001.1".to_string(), id.clone()]
    );
    let log = user.log();
    assert!(log.contains(&format!("queue={id} event=failed")), "{log}");
    assert!(log.contains("truncated"), "{log}");
    assert!(log.contains("symbolic link"), "{log}");
    assert_eq!(
        std::fs::read_to_string(&target).expect("target"),
        text.replace(&id, "00000000000001.1")
    );
}

/// Issue 12, test 5: a full disk while queueing is exit 75 and leaves no partial entry.
#[test]
fn a_full_disk_while_queueing_is_75_with_nothing_left() {
    for step in ["enqueue:data", "enqueue:state"] {
        let user = User::new();
        let out = user.send(
            "127.0.0.1:1",
            &["-odq"],
            &["bob@example.org"],
            &[("MAILSEND_TEST_FAIL_AT", step.into())],
        );
        assert_eq!(out.status.code(), Some(75), "{step}: {}", stderr(&out));
        assert!(stderr(&out).contains("is full"), "{step}: {}", stderr(&out));
        for sub in ["tmp", "data", "queue"] {
            assert!(
                user.names(sub).is_empty(),
                "{step}: {sub}/ holds {:?}",
                user.names(sub)
            );
        }
    }
}

/// Issue 12, test 4: 535 holds the entry with no notice; it is released when the configuration file
/// changes, and delivered.
#[test]
fn an_auth_refusal_holds_until_q_or_a_configuration_change() {
    let user = User::new();
    let config = user.home.path().join(".config/mailsend/config.toml");
    let write = |password: &str| {
        let text = format!(
            "[defaults]\nlogfile = \"~/queue.log\"\nqueue = \"on-failure\"\n[accounts.relay]\nhost = \"127.0.0.1\"\n\
             user = \"u\"\npassword_command = \"echo {password}\"\nallow_plaintext_auth = true\n"
        );
        std::fs::write(&config, text).expect("config");
    };
    write("wrong");
    let queued = user.send(
        "127.0.0.1:1",
        &["-a", "relay", "-odq"],
        &["bob@example.org"],
        &[],
    );
    assert_eq!(queued.status.code(), Some(0), "{}", stderr(&queued));
    let server = Server::start(Script::new().auth(AuthCheck::new("u", "right")));
    let run = user.run_queue(&server.host_arg(), &[]);
    let transcript = server.finish();
    assert!(stderr(&run).contains("held"), "{}", stderr(&run));
    assert!(transcript.data.is_empty());
    assert_eq!(user.names("hold").len(), 1);
    let listing = user
        .cmd("127.0.0.1:1", &[])
        .arg("-bp")
        .output()
        .expect("run");
    assert!(
        String::from_utf8_lossy(&listing.stdout).contains("! "),
        "{listing:?}"
    );
    // The same file: `-q` tries again (spec §9: "retried on -q"), one connection for the group, and
    // the entry is held again, still without a notice.
    let server = Server::start(Script::new().auth(AuthCheck::new("u", "right")));
    let again = user.run_queue(&server.host_arg(), &[]);
    let transcript = server.finish();
    assert!(stderr(&again).contains("held"), "{}", stderr(&again));
    assert!(transcript.data.is_empty());
    assert_eq!(user.names("hold").len(), 1);
    write("right, fixed");
    std::fs::write(
        &config,
        std::fs::read_to_string(&config)
            .expect("read")
            .replace("right, fixed", "right"),
    )
    .expect("config");
    let server = Server::start(Script::new().auth(AuthCheck::new("u", "right")));
    let run = user.run_queue(&server.host_arg(), &[]);
    let transcript = server.finish();
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert_eq!(transcript.data.len(), 1);
    assert!(user.names("hold").is_empty() && user.names("queue").is_empty());
    assert!(!user.log().contains("notice"), "{}", user.log());
}

/// Issue 12, test 4: past queue_lifetime (the debug build's clock), failed/ and one notice to the
/// sender, delivered by the next run.
#[test]
fn an_expired_entry_fails_with_one_notice() {
    let sink = Sink::start();
    let user = User::new();
    user.send(&sink.host(), &["-odq"], &["bob@example.org"], &[]);
    let id = user.names("queue").remove(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let later = ("MAILSEND_TEST_NOW", (now + 6 * 86_400).to_string());
    let run = user.run_queue(&sink.host(), std::slice::from_ref(&later));
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert_eq!(user.names("failed"), [id]);
    user.run_queue(&sink.host(), &[later]);
    let stored = sink.stored();
    assert_eq!(sink.count_for("bob@example.org"), 0);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(
        (stored[0].from.as_str(), stored[0].recipients.as_slice()),
        ("", &["alice@example.org".to_string()][..])
    );
    assert!(String::from_utf8_lossy(&stored[0].data).contains("Status: 4.4.7"));
}

/// Issue 12, test 7: -bp and --json against golden files; a second user's entry is not shown.
#[test]
fn the_listing_matches_the_golden_files_and_shows_only_ones_own() {
    let user = User::new();
    let queue = open(&user, Clock::fixed(1_767_225_600));
    let deferred = queue
        .enqueue(
            &draft(1000, &["bob@example.org", "carol@example.org"]),
            &mut &message("a")[..],
        )
        .expect("queued");
    let mut state = queue.load(Dir::Queue, &deferred).expect("state");
    for r in &mut state.recipients {
        r.attempts = 2;
        r.next_try = 1_767_225_900;
        r.last_reply = Some("451 4.7.1 greylisted, try again later".into());
    }
    queue.commit(Dir::Queue, &state).expect("commit");
    let held = queue
        .enqueue(&draft(1000, &["dave@example.org"]), &mut &message("b")[..])
        .expect("queued");
    let mut state = queue.load(Dir::Queue, &held).expect("state");
    state.held = Some(Held {
        since: 1_767_225_600,
        reason: "535 5.7.8 authentication failed".into(),
        config: "none".into(),
    });
    queue.relocate(Dir::Queue, Dir::Hold, &state).expect("held");
    queue
        .enqueue(
            &draft(4242, &["someone@example.org"]),
            &mut &message("c")[..],
        )
        .expect("queued");
    let env = [
        ("MAILSEND_TEST_UID", "1000".to_string()),
        ("TZ", "UTC".to_string()),
    ];
    let ids = BTreeMap::from([
        (deferred.to_string(), "ID-DEFERRED"),
        (held.to_string(), "ID-HELD"),
    ]);
    let shown = |args: &[&str]| {
        let out = user
            .cmd("127.0.0.1:1", &env)
            .args(args)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        ids.iter().fold(
            String::from_utf8_lossy(&out.stdout).into_owned(),
            |text, (id, name)| text.replace(id, name),
        )
    };
    assert_eq!(shown(&["-bp"]), include_str!("mailq.golden"));
    assert_eq!(shown(&["-bp", "--json"]), include_str!("mailq-json.golden"));
    let empty = User::new();
    let out = empty
        .cmd("127.0.0.1:1", &[])
        .arg("-bp")
        .output()
        .expect("run");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Mail queue is empty\n"
    );
}

/// Issue 12, test 2: 50 concurrent submissions while 3 runners run, against a server that answers 4xx
/// to the first attempts: every message delivered exactly once, the queue empty, no lock left.
#[test]
fn concurrent_submissions_and_runners_deliver_each_message_once() {
    let refusals = Arc::new(AtomicUsize::new(0));
    let counter = refusals.clone();
    let data = Arc::new(
        move |_: &str| match counter.fetch_add(1, Ordering::SeqCst) {
            0..20 => "451 4.3.0 not now".to_owned(),
            _ => "250 2.0.0 queued".to_owned(),
        },
    );
    let sink = Arc::new(Sink::with(Arc::new(|_: &str| "250 ok".to_owned()), data));
    let user = Arc::new(User::new());
    let mut threads = Vec::new();
    for n in 0..53 {
        let (sink, user) = (sink.clone(), user.clone());
        threads.push(std::thread::spawn(move || match n {
            0..50 => {
                let out = user
                    .cmd(&sink.host(), &[])
                    .args(["-f", "alice@example.org", "bob@example.org"])
                    .write_stdin(message(&format!("message-{n}")))
                    .output()
                    .expect("run");
                assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            }
            _ => {
                for _ in 0..5 {
                    user.run_queue(&sink.host(), &[]);
                }
            }
        }));
    }
    for t in threads {
        t.join().expect("thread");
    }
    for _ in 0..5 {
        if user.names("queue").is_empty() {
            break;
        }
        user.run_queue(&sink.host(), &[an_hour_later()]);
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut subjects = BTreeMap::new();
    for m in sink.stored() {
        let text = String::from_utf8_lossy(&m.data).into_owned();
        let subject = text
            .lines()
            .find(|l| l.starts_with("Subject: "))
            .expect("subject")
            .to_owned();
        *subjects.entry(subject).or_insert(0) += 1;
    }
    assert_eq!(subjects.len(), 50, "{subjects:?}");
    assert!(subjects.values().all(|n| *n == 1), "{subjects:?}");
    for sub in ["tmp", "data", "queue", "hold", "failed"] {
        assert!(
            user.names(sub).is_empty(),
            "{sub}/ holds {:?}",
            user.names(sub)
        );
    }
    let lock = std::fs::File::open(user.queue_dir().join("lock")).expect("lock file");
    assert!(lock.try_lock().is_ok(), "a lock was left behind");
}
