//! LMTP (RFC 2033, spec §1 and §3, issue 4): LHLO, then after the data one reply per accepted recipient,
//! each reported; all delivered → 0, any 4xx → 75, otherwise any 5xx → 67 (spec §7); a connection lost
//! between those replies may have delivered to the recipients not yet answered; the message goes out
//! once (catalogue G45: never resent to recipients that were accepted). Over TCP, over a Unix socket
//! (`--socket PATH` and `--host /PATH`), and with BDAT when CHUNKING is offered (RFC 3030).

use crate::fixture::{MSG, assert_quiet_success, assert_stderr_mentions, msg_on_wire};
use crate::harness::{Action, Run, Script, Server, Stage, home, run, run_in};

const THREE: [&str; 6] = [
    "--protocol",
    "lmtp",
    "-f",
    "alice@example.org",
    "ann@example.org",
    "ben@example.org",
];

fn three_rcpts() -> Vec<&'static str> {
    let mut args = THREE.to_vec();
    args.push("cat@example.org");
    args
}

fn lmtp() -> Script {
    Script::lmtp()
}

fn reply(text: &str) -> Action {
    Action::reply(text)
}

/// How many per-recipient replies the server gave after the data (the `Saved` default or a scripted one
/// is counted from what it sent after the 354 or the BDAT).
fn replies_after_data(r: &Run) -> Vec<String> {
    let sent = String::from_utf8_lossy(&r.transcript.sent).into_owned();
    let start = sent
        .find("354 ")
        .map(|i| i + sent[i..].find("\r\n").map_or(0, |j| j + 2))
        .unwrap_or(0);
    sent[start..]
        .split("\r\n")
        .filter(|l| l.len() > 3 && !l.starts_with("221"))
        .map(str::to_string)
        .collect()
}

/// Catalogue G45: exactly one MAIL, one DATA (or BDAT LAST) and one copy of the message.
#[track_caller]
fn assert_sent_once(r: &Run) {
    let t = &r.transcript;
    assert_eq!(t.count("MAIL"), 1, "{:?}", t.commands);
    assert!(t.count("DATA") <= 1, "{:?}", t.commands);
    assert_eq!(
        t.data.len() + t.bdat.len(),
        1,
        "the message goes out exactly once: {:?}",
        t.commands
    );
}

#[test]
fn lhlo_and_one_reply_per_recipient_all_delivered_is_success() {
    let r = run(lmtp(), &three_rcpts(), MSG);
    assert_quiet_success(&r);
    let t = &r.transcript;
    assert_eq!(
        t.verbs(),
        ["LHLO", "MAIL", "RCPT", "RCPT", "RCPT", "DATA", "QUIT"]
    );
    assert_eq!(t.commands[0], "LHLO client.example");
    assert_eq!(t.data, vec![msg_on_wire()]);
    assert_eq!(
        replies_after_data(&r),
        [
            "250 2.0.0 <ann@example.org> Saved",
            "250 2.0.0 <ben@example.org> Saved",
            "250 2.0.0 <cat@example.org> Saved",
        ]
    );
}

#[test]
fn without_the_lmtp_protocol_an_lmtp_server_is_not_spoken_to() {
    // The harness's LMTP server answers EHLO and HELO with 500 (RFC 2033 §4.1 knows LHLO only), so a
    // client that does not say LHLO can send nothing: a permanent refusal, no MAIL.
    let r = run(lmtp(), &THREE[2..], MSG);
    r.expect_code(69);
    assert!(!r.transcript.saw("MAIL"), "{:?}", r.transcript.commands);
}

#[test]
fn lhlo_refused_has_no_helo_fallback() {
    // RFC 2033 has no HELO; the SMTP fallback of spec §3 does not apply to LHLO.
    for (text, code) in [("554 5.7.1 not here", 69), ("421 4.3.2 shutting down", 75)] {
        let r = run(lmtp().on(Stage::Ehlo, reply(text)), &three_rcpts(), MSG);
        r.expect_code(code);
        assert_eq!(
            r.transcript.verbs().first().map(String::as_str),
            Some("LHLO")
        );
        assert!(
            !r.transcript.saw("HELO") && !r.transcript.saw("EHLO") && !r.transcript.saw("MAIL"),
            "{:?}",
            r.transcript.commands
        );
        assert_stderr_mentions(&r, &text[4..]);
    }
}

#[test]
fn mixed_replies_after_the_data_name_every_recipient_and_any_4xx_is_tempfail() {
    let r = run(
        lmtp()
            .on(
                Stage::LmtpReply(2),
                reply("550 5.1.1 <ben@example.org> User unknown"),
            )
            .on(
                Stage::LmtpReply(3),
                reply("452 4.2.2 <cat@example.org> Mailbox full"),
            ),
        &three_rcpts(),
        MSG,
    );
    r.expect_code(75);
    assert_sent_once(&r);
    assert_stderr_mentions(&r, "ben@example.org");
    assert_stderr_mentions(&r, "User unknown");
    assert_stderr_mentions(&r, "cat@example.org");
    assert_stderr_mentions(&r, "Mailbox full");
    // The one that got it is named as delivered.
    assert!(
        r.stderr
            .lines()
            .any(|l| l.contains("delivered") && l.contains("ann@example.org")),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.lines().any(|l| l.contains("delivered")
            && (l.contains("ben@example.org") || l.contains("cat@example.org"))
            && !l.contains("not")),
        "a refused recipient must not be reported as delivered: {}",
        r.stderr
    );
}

#[test]
fn permanent_refusals_after_the_data_are_nouser() {
    let r = run(
        lmtp().on(
            Stage::LmtpReply(1),
            reply("550 5.1.1 <ann@example.org> User unknown"),
        ),
        &three_rcpts(),
        MSG,
    );
    r.expect_code(67);
    assert_sent_once(&r);
    assert_stderr_mentions(&r, "ann@example.org");
    assert_stderr_mentions(&r, "User unknown");
}

#[test]
fn every_recipient_refused_after_the_data() {
    for (text, code) in [
        ("554 5.7.1 rejected by policy", 67),
        ("451 4.3.0 temporary failure", 75),
    ] {
        let r = run(
            lmtp()
                .on(Stage::LmtpReply(1), reply(text))
                .on(Stage::LmtpReply(2), reply(text))
                .on(Stage::LmtpReply(3), reply(text)),
            &three_rcpts(),
            MSG,
        );
        r.expect_code(code);
        assert_sent_once(&r);
        for who in ["ann@example.org", "ben@example.org", "cat@example.org"] {
            assert_stderr_mentions(&r, who);
        }
    }
}

#[test]
fn disconnect_after_some_replies_may_have_delivered_to_the_rest() {
    for action in [Action::Close, Action::Reset] {
        let r = run(
            lmtp().on(Stage::LmtpReply(2), action.clone()),
            &three_rcpts(),
            MSG,
        );
        r.expect_code(75);
        assert_sent_once(&r);
        assert_stderr_mentions(&r, "may have been delivered");
        // The recipients without a reply are named (the first one had its 250).
        assert!(
            r.stderr.contains("ben@example.org") && r.stderr.contains("cat@example.org"),
            "{action:?}: {}",
            r.stderr
        );
    }
}

#[test]
fn disconnect_before_any_reply_may_have_been_delivered() {
    let r = run(
        lmtp().on(Stage::FinalReply, Action::Close),
        &three_rcpts(),
        MSG,
    );
    r.expect_code(75);
    assert_sent_once(&r);
    assert_stderr_mentions(&r, "may have been delivered");
}

#[test]
fn stall_between_replies_times_out_as_unknown_outcome() {
    let mut args = vec!["--timeout", "1"];
    args.extend(three_rcpts());
    let r = run(
        lmtp().on(
            Stage::LmtpReply(3),
            Action::Stall(std::time::Duration::from_secs(20)),
        ),
        &args,
        MSG,
    );
    r.expect_code(75);
    assert_sent_once(&r);
    assert_stderr_mentions(&r, "may have been delivered");
    assert_stderr_mentions(&r, "cat@example.org");
}

#[test]
fn rcpt_refusals_before_the_data_leave_one_reply_per_accepted_recipient() {
    // Dovecot refuses an unknown user at RCPT (test-servers.md); the replies after the data are then for
    // the two accepted recipients only, and reading a third would wait for a reply that never comes.
    let r = run(
        lmtp().on(
            Stage::Rcpt(2),
            reply("550 5.1.1 <ben@example.org> User unknown"),
        ),
        &three_rcpts(),
        MSG,
    );
    r.expect_code(67);
    assert_sent_once(&r);
    assert_eq!(
        replies_after_data(&r),
        [
            "250 2.0.0 <ann@example.org> Saved",
            "250 2.0.0 <cat@example.org> Saved",
        ]
    );
    assert_stderr_mentions(&r, "ben@example.org");
    assert_stderr_mentions(&r, "User unknown");
}

#[test]
fn every_rcpt_refused_sends_no_data() {
    for script in [lmtp(), lmtp().no_pipelining()] {
        let r = run(
            script
                .on(Stage::Rcpt(1), reply("550 5.1.1 User unknown"))
                .on(Stage::Rcpt(2), reply("550 5.1.1 User unknown")),
            &THREE,
            MSG,
        );
        r.expect_code(67);
        crate::fixture::assert_no_message(&r.transcript);
    }
}

#[test]
fn lmtp_without_pipelining_waits_for_each_reply() {
    let r = run(
        lmtp()
            .no_pipelining()
            .on(Stage::LmtpReply(2), reply("452 4.2.2 Mailbox full")),
        &three_rcpts(),
        MSG,
    );
    r.expect_code(75);
    assert_sent_once(&r);
    assert_stderr_mentions(&r, "Mailbox full");
}

fn unix_run(script: Script, how: &str) -> Run {
    let home = home();
    let path = home.path().join("lmtp.sock");
    let server = Server::start_unix(script, &path);
    let socket = path.display().to_string();
    run_in(&home, server, MSG, |cmd| {
        // `mailsend_to` already gave `--host /path`; `--socket` must win over it or agree with it.
        if how == "--socket" {
            cmd.args(["--socket", &socket]);
        }
        cmd.args(three_rcpts());
    })
}

#[test]
fn over_a_unix_socket_by_host_path_and_by_socket() {
    for how in ["--host", "--socket"] {
        let r = unix_run(lmtp(), how);
        assert_quiet_success(&r);
        assert_eq!(r.transcript.commands[0], "LHLO client.example", "{how}");
        assert_eq!(r.transcript.data, vec![msg_on_wire()], "{how}");
        assert_eq!(replies_after_data(&r).len(), 3, "{how}");
    }
}

#[test]
fn over_a_unix_socket_mixed_replies() {
    let r = unix_run(
        lmtp().on(
            Stage::LmtpReply(3),
            reply("550 5.1.1 <cat@example.org> User unknown"),
        ),
        "--socket",
    );
    r.expect_code(67);
    assert_sent_once(&r);
    assert_stderr_mentions(&r, "cat@example.org");
}

#[test]
fn over_a_unix_socket_disconnect_after_some_replies() {
    let r = unix_run(lmtp().on(Stage::LmtpReply(2), Action::Close), "--host");
    r.expect_code(75);
    assert_sent_once(&r);
    assert_stderr_mentions(&r, "may have been delivered");
}

fn chunking() -> Script {
    lmtp().ehlo_lines(&["PIPELINING", "8BITMIME", "CHUNKING", "ENHANCEDSTATUSCODES"])
}

#[test]
fn bdat_with_lmtp_gets_one_reply_per_recipient_after_last() {
    let r = run(chunking(), &three_rcpts(), MSG);
    assert_quiet_success(&r);
    let t = &r.transcript;
    assert!(!t.saw("DATA"), "{:?}", t.commands);
    assert_eq!(t.bdat, vec![crate::fixture::crlf(MSG)]);
    let saved = String::from_utf8_lossy(&t.sent)
        .matches(" Saved\r\n")
        .count();
    assert_eq!(saved, 3);
}

#[test]
fn bdat_with_lmtp_mixed_replies() {
    let r = run(
        chunking()
            .on(
                Stage::LmtpReply(1),
                reply("452 4.2.2 <ann@example.org> Mailbox full"),
            )
            .on(
                Stage::LmtpReply(3),
                reply("550 5.1.1 <cat@example.org> User unknown"),
            ),
        &three_rcpts(),
        MSG,
    );
    r.expect_code(75);
    assert_sent_once(&r);
    assert_stderr_mentions(&r, "ann@example.org");
    assert_stderr_mentions(&r, "cat@example.org");
}

#[test]
fn bdat_with_lmtp_disconnect_after_some_replies() {
    let r = run(
        chunking().on(Stage::LmtpReply(2), Action::Reset),
        &three_rcpts(),
        MSG,
    );
    r.expect_code(75);
    assert_sent_once(&r);
    assert_stderr_mentions(&r, "may have been delivered");
}

#[test]
fn pipelined_quit_reply_is_not_read_as_a_recipients_result() {
    // Issue 10, point 7: the server answers the first recipient, then answers the pipelined QUIT (221)
    // and closes. That 221 is not ben's result: ben's and cat's outcomes are unknown (75), not refused.
    let r = run(
        lmtp().on(
            Stage::LmtpReply(2),
            Action::ReplyThenClose("221 2.0.0 Bye".into()),
        ),
        &three_rcpts(),
        MSG,
    );
    r.expect_code(75);
    assert_sent_once(&r);
    assert_stderr_mentions(&r, "may have been delivered");
    assert!(
        !r.stderr.contains("refused"),
        "no recipient was refused: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("ben@example.org") && r.stderr.contains("cat@example.org"),
        "the unanswered recipients are named: {}",
        r.stderr
    );
    assert!(
        r.stderr
            .lines()
            .any(|l| l.contains("delivered") && l.contains("ann@example.org")),
        "{}",
        r.stderr
    );
}

#[test]
fn lmtp_2xx_other_than_250_after_the_data_is_delivered() {
    // Issue 10, point 8: any 2xx is a positive completion (RFC 5321 §4.2.1, RFC 2033 §4.2).
    let r = run(
        lmtp().on(
            Stage::LmtpReply(2),
            reply("251 2.1.5 <ben@example.org> forwarded"),
        ),
        &three_rcpts(),
        MSG,
    );
    assert_quiet_success(&r);
    assert_sent_once(&r);
}
