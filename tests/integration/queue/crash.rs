//! Issue 12, test 1: SIGKILL at every step of enqueue and of delivery (the debug build's
//! MAILSEND_TEST_KILL_AT), then `-q` against the server: before the commit point nothing is ever
//! delivered and the caller saw a failure; after it, delivered exactly once; killed between the final
//! 250 and the state commit, at most twice and logged as a possible duplicate. Every step, not a sample.

use super::sink::Sink;
use super::{User, an_hour_later, stderr};
use mailsend::queue::enqueue::STEPS;

/// Where the commit point falls among the enqueue steps.
const COMMITTED_FROM: &str = "enqueue:committed";

#[test]
fn a_kill_at_every_enqueue_step() {
    let commit = STEPS
        .iter()
        .position(|s| *s == COMMITTED_FROM)
        .expect("a commit step");
    for (n, step) in STEPS.iter().enumerate() {
        let sink = Sink::start();
        let user = User::new();
        let killed = user.send(
            &sink.host(),
            &["-odq"],
            &["bob@example.org"],
            &[("MAILSEND_TEST_KILL_AT", step.to_string())],
        );
        assert_eq!(
            killed.status.code(),
            None,
            "{step}: not killed: {}",
            stderr(&killed)
        );
        let later = user.run_queue(&sink.host(), &[an_hour_later()]);
        assert_eq!(later.status.code(), Some(0), "{step}: {}", stderr(&later));
        let expected = usize::from(n >= commit);
        assert_eq!(sink.count_for("bob@example.org"), expected, "{step}");
        for sub in ["tmp", "data", "queue", "hold", "failed"] {
            assert!(
                user.names(sub).is_empty(),
                "{step}: {sub}/ holds {:?}",
                user.names(sub)
            );
        }
    }
}

/// The delivery steps, what a second run must leave delivered in total, and whether the log must say
/// the message may have gone twice.
const DELIVERY: &[(&str, usize, bool)] = &[
    ("deliver:connected", 1, false),
    ("deliver:locked", 1, false),
    ("deliver:marked", 1, true),
    ("deliver:replied", 2, true),
    ("deliver:committed", 1, false),
    ("remove:state-removed", 1, false),
];

#[test]
fn a_kill_at_every_delivery_step() {
    for (step, total, logged) in DELIVERY {
        let sink = Sink::start();
        let user = User::new();
        let queued = user.send(&sink.host(), &["-odq"], &["bob@example.org"], &[]);
        assert_eq!(queued.status.code(), Some(0), "{step}: {}", stderr(&queued));
        let killed = user.run_queue(&sink.host(), &[("MAILSEND_TEST_KILL_AT", step.to_string())]);
        assert_eq!(
            killed.status.code(),
            None,
            "{step}: not killed: {}",
            stderr(&killed)
        );
        let again = user.run_queue(&sink.host(), &[an_hour_later()]);
        assert_eq!(again.status.code(), Some(0), "{step}: {}", stderr(&again));
        assert_eq!(sink.count_for("bob@example.org"), *total, "{step}");
        let log = user.log();
        assert_eq!(
            log.contains("may be delivered twice"),
            *logged,
            "{step}: {log}"
        );
        for sub in ["tmp", "data", "queue", "hold", "failed"] {
            assert!(
                user.names(sub).is_empty(),
                "{step}: {sub}/ holds {:?}",
                user.names(sub)
            );
        }
    }
}
