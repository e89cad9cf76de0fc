//! What reaches the `-bs` client when the upstream server refuses or is down, and what a crash between
//! the caller's dot and the reply leaves (issue 13, tests 2 and 4).

use super::bs_to;
use super::client::{Bs, stuffed};
use crate::harness::{Action, Script, Server, Stage, home};
use crate::queue::sink::Sink;
use crate::queue::{User, an_hour_later};

/// One message from a@example.org to `rcpts` after HELO; the reply to its dot.
fn one_message(bs: &mut Bs, rcpts: &[&str], body: &str) -> String {
    assert_eq!(bs.cmd("MAIL FROM:<a@example.org>"), "250 Ok\r\n");
    for r in rcpts {
        assert_eq!(bs.cmd(&format!("RCPT TO:<{r}>")), "250 Ok\r\n");
    }
    assert!(bs.cmd("DATA").starts_with("354 "));
    bs.send(&stuffed(&format!("Subject: {body}\n\n{body}")));
    bs.reply()
}

/// Spec §10: a 5xx to one RCPT upstream fails the transaction with 550 naming the recipient, and
/// nobody gets the message (no DATA goes upstream, so a retry by the caller cannot double it); a 5xx to
/// the data is the server's own reply, passed through. The session goes on after each.
#[test]
fn upstream_refusals_reach_the_client() {
    let home = home();
    let script = Script::new()
        .on(
            Stage::Rcpt(2),
            Action::reply("550 5.1.1 <nobody@example.org>: Recipient address rejected"),
        )
        .on_nth(
            Stage::FinalReply,
            1,
            Action::reply("554 5.7.1 Message refused: looks like spam"),
        );
    let server = Server::start(script);
    let mut bs = bs_to(&home, &server.host_arg(), &["--queue-on-failure"]);
    bs.reply();
    bs.cmd("HELO [127.0.0.1]");
    let reply = one_message(&mut bs, &["bob@example.org", "nobody@example.org"], "one");
    assert!(
        reply.starts_with("550 <nobody@example.org>: refused by the server: 550 5.1.1 <nobody@example.org>: Recipient address rejected"),
        "{reply}"
    );
    let reply = one_message(&mut bs, &["bob@example.org"], "two");
    assert_eq!(reply, "554 5.7.1 Message refused: looks like spam\r\n");
    let reply = one_message(&mut bs, &["bob@example.org"], "three");
    assert!(reply.starts_with("250 Ok: queued as "), "{reply}");
    bs.cmd("QUIT");
    let ended = bs.end();
    assert_eq!((ended.code, ended.stderr.as_str()), (Some(0), ""));
    let t = server.finish();
    assert_eq!(t.count("EHLO"), 1, "{:?}", t.commands);
    assert_eq!(
        t.count("DATA"),
        2,
        "bob never had message one: {:?}",
        t.commands
    );
    let queue = home.path().join(".local/state/mailsend/queue/queue");
    assert_eq!(std::fs::read_dir(&queue).map(|d| d.count()).unwrap_or(0), 0);
}

/// Upstream down: with the queue on, 250 with the queue ID once committed (and `-bp` lists that ID);
/// with the queue off, 451.
#[test]
fn upstream_down_queues_or_answers_451() {
    let user = User::new();
    let mut bs = bs_to(&user.home, "127.0.0.1:9", &[]);
    bs.reply();
    bs.cmd("HELO c");
    let reply = one_message(&mut bs, &["bob@example.org"], "queued");
    let id = reply
        .strip_prefix("250 Ok: queued as ")
        .and_then(|r| r.strip_suffix("\r\n"))
        .unwrap_or_else(|| panic!("{reply}"))
        .to_owned();
    assert_eq!(user.names("queue").len(), 1);
    assert_eq!(user.names("queue")[0].replace('.', ""), id);
    bs.cmd("QUIT");
    assert_eq!(bs.end().code, Some(0));
    let mut bs = bs_to(&user.home, "127.0.0.1:9", &["--no-queue"]);
    bs.reply();
    bs.cmd("HELO c");
    let reply = one_message(&mut bs, &["bob@example.org"], "not queued");
    assert!(
        reply.starts_with("451 ") && reply.contains("cannot connect"),
        "{reply}"
    );
    bs.cmd("QUIT");
    assert_eq!(bs.end().code, Some(0));
    assert_eq!(user.names("queue").len(), 1);
    // The queued one goes out with the next run.
    let sink = Sink::start();
    let run = user.run_queue(&sink.host(), &[an_hour_later()]);
    assert_eq!(run.status.code(), Some(0));
    assert_eq!(sink.count_for("bob@example.org"), 1);
}

/// Issue 13, test 4: SIGKILL after the caller's dot, before the reply. Never a 250 for a message that
/// is neither relayed nor queued; after each step the message is either nowhere (the caller saw no
/// 250, so it sends again), relayed once, or in the queue, which the next run delivers once.
#[test]
fn a_kill_between_the_dot_and_the_reply() {
    // (step, upstream up, relayed by the killed process, left in the queue)
    let steps: &[(&str, bool, usize, usize)] = &[
        ("bs:data-received", true, 0, 0),
        ("bs:attempted", true, 1, 0),
        ("bs:attempted", false, 0, 0),
        ("enqueue:state-written", false, 0, 0),
        ("enqueue:committed", false, 0, 1),
        ("bs:queued", false, 0, 1),
    ];
    for (step, up, relayed, queued) in steps {
        let user = User::new();
        let sink = Sink::start();
        let host = if *up {
            sink.host()
        } else {
            "127.0.0.1:9".to_owned()
        };
        let env = [("MAILSEND_TEST_KILL_AT", step.to_string())];
        let args = ["-bs", "--host", host.as_str(), "--domain", "client.example"];
        let mut bs = Bs::start(user.home.path(), &args, &env);
        bs.reply();
        bs.cmd("HELO c");
        let reply = one_message(&mut bs, &["bob@example.org"], "killed");
        let ended = bs.end();
        assert_eq!(
            ended.code, None,
            "{step}: not killed; reply {reply:?}: {}",
            ended.stderr
        );
        assert_eq!(reply, "", "{step}: no reply after the kill");
        assert_eq!(
            sink.count_for("bob@example.org"),
            *relayed,
            "{step} (upstream up: {up})"
        );
        assert_eq!(
            user.names("queue").len(),
            *queued,
            "{step} (upstream up: {up})"
        );
        let run = user.run_queue(&sink.host(), &[an_hour_later()]);
        assert_eq!(run.status.code(), Some(0), "{step}");
        assert_eq!(
            sink.count_for("bob@example.org"),
            relayed + queued,
            "{step}: after -q"
        );
    }
}
