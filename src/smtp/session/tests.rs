//! The session in memory, over a scripted server ([`crate::smtp::script`]): many transactions on one
//! session, the pipelining, CHUNKING and LMTP cases, and the fault matrix's stage × fault × mode table
//! as unit tests (the subprocess matrix in tests/integration/matrix.rs stays too).

use std::time::Duration;

use super::*;
use crate::smtp::error::{Acceptance, Refusal};
use crate::smtp::script::{Script, Step, client, server};

#[test]
fn ehlo_literal_is_the_connections_local_address() {
    // Issue 10, point 23: RFC 5321 §4.1.4 and §4.1.3 forms; a v4-mapped v6 address is the v4 one.
    let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
    assert_eq!(address_literal(ip("127.0.0.2")), "[127.0.0.2]");
    assert_eq!(address_literal(ip("::1")), "[IPv6:::1]");
    assert_eq!(address_literal(ip("2001:db8::5")), "[IPv6:2001:db8::5]");
    assert_eq!(address_literal(ip("::ffff:192.0.2.7")), "[192.0.2.7]");
    assert_eq!(address_literal(None), "[127.0.0.1]");
}

/// Which extensions the scripted server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Plain,
    Pipelining,
    /// PIPELINING and CHUNKING, as Exim and Dovecot offer them.
    Chunking,
}

pub(super) const MODES: [Mode; 3] = [Mode::Plain, Mode::Pipelining, Mode::Chunking];

/// Greeting and EHLO, offering what `mode` has.
pub(super) fn opening(mode: Mode, lmtp: bool) -> Vec<Step> {
    let mut ehlo = vec!["250-mx.example", "250-SIZE 1000000", "250-8BITMIME"];
    if mode != Mode::Plain {
        ehlo.push("250-PIPELINING");
    }
    if mode == Mode::Chunking {
        ehlo.push("250-CHUNKING");
    }
    ehlo.push("250 DSN");
    let hello = if lmtp {
        "LHLO client.example"
    } else {
        "EHLO client.example"
    };
    vec![
        server("220 mx.example ESMTP"),
        client(hello),
        Step::Send(format!("{}\r\n", ehlo.join("\r\n")).into_bytes()),
    ]
}

/// A session over `steps` (after the greeting and EHLO of `mode`), the script kept to look at.
pub(super) fn open(mode: Mode, lmtp: bool, steps: Vec<Step>) -> (Session, Script) {
    let mut all = opening(mode, lmtp);
    all.extend(steps);
    let script = Script::new(all);
    let opts = SessionOptions {
        domain: Some("client.example".into()),
        lmtp,
        timeout: Duration::from_secs(5),
        final_timeout: Duration::from_secs(5),
    };
    let mut session =
        Session::open(Box::new(script.clone()), Trace::stderr(0), opts, None).expect("greeting");
    session.hello().expect("EHLO");
    (session, script)
}

pub(super) fn tx(from: &str, to: &[&str], body: &[u8]) -> Transaction {
    Transaction {
        from: from.into(),
        recipients: to.iter().map(|r| r.to_string()).collect(),
        size: body.len() as u64,
        ..Transaction::default()
    }
}

pub(super) fn refusal(rcpt: &str, code: u16, text: &str) -> Refusal {
    (rcpt.to_string(), Reply::new(code, text))
}

pub(super) fn accepted(rcpt: &str, code: u16, text: &str) -> Acceptance {
    (rcpt.to_string(), Reply::new(code, text))
}

/// The client's bytes for one transaction in `mode`, each write of the client as one `Expect`, with
/// the server's replies; `then_quit` puts QUIT where it goes.
pub(super) struct Exchange {
    pub(super) mail: &'static str,
    pub(super) rcpts: Vec<(&'static str, &'static str)>,
    pub(super) body: &'static [u8],
    pub(super) data_reply: &'static str,
}

pub(super) fn transaction_steps(mode: Mode, x: &Exchange, then_quit: bool) -> Vec<Step> {
    let size = x.body.len();
    let mail = client(&format!("MAIL FROM:<{}> SIZE={size}", x.mail));
    let rcpts: Vec<Step> = x
        .rcpts
        .iter()
        .map(|(r, _)| client(&format!("RCPT TO:<{r}>")))
        .collect();
    let replies: Vec<Step> = x.rcpts.iter().map(|(_, reply)| server(reply)).collect();
    let mut steps = vec![mail];
    match mode {
        Mode::Plain => {
            steps.push(server("250 2.1.0 ok"));
            for (rcpt, reply) in rcpts.into_iter().zip(replies) {
                steps.extend([rcpt, reply]);
            }
            steps.extend([client("DATA"), server("354 go ahead")]);
            steps.push(Step::Expect([x.body, b".\r\n"].concat()));
        }
        Mode::Pipelining => {
            steps.extend(rcpts);
            steps.push(client("DATA"));
            steps.push(server("250 2.1.0 ok"));
            steps.extend(replies);
            steps.push(server("354 go ahead"));
            steps.push(Step::Expect([x.body, b".\r\n"].concat()));
        }
        Mode::Chunking => {
            steps.extend(rcpts);
            steps.push(Step::Expect(
                [format!("BDAT {size} LAST\r\n").as_bytes(), x.body].concat(),
            ));
            steps.push(server("250 2.1.0 ok"));
            steps.extend(replies);
        }
    }
    if then_quit && mode != Mode::Plain {
        steps.push(client("QUIT"));
    }
    steps.push(server(x.data_reply));
    if then_quit {
        if mode == Mode::Plain {
            steps.push(client("QUIT"));
        }
        steps.push(server("221 2.0.0 bye"));
    }
    steps
}

/// Three messages, a recipient of the second refused: the exchanges of the many-transaction tests.
pub(super) fn three_exchanges() -> [Exchange; 3] {
    [
        Exchange {
            mail: "alice@example.org",
            rcpts: vec![("bob@example.org", "250 2.1.5 ok")],
            body: b"Subject: one\r\n\r\nfirst\r\n",
            data_reply: "250 2.0.0 queued as A1",
        },
        Exchange {
            mail: "alice@example.org",
            rcpts: vec![
                ("carol@example.org", "550 5.1.1 no such user"),
                ("dave@example.org", "250 2.1.5 ok"),
            ],
            body: b"Subject: two\r\n\r\nsecond\r\n",
            data_reply: "250 2.0.0 queued as A2",
        },
        Exchange {
            mail: "alice@example.org",
            rcpts: vec![("erin@example.org", "251 2.1.5 will forward")],
            body: b"Subject: three\r\n\r\nthird\r\n",
            data_reply: "250 2.0.0 queued as A3",
        },
    ]
}

/// THE test of issue 11: three messages over one session, a refused recipient in the second; every
/// byte both ways (the script checks each octet the client writes, in order, and that nothing more
/// was written) and the exact per-recipient results, without and with PIPELINING, and with CHUNKING.
#[test]
fn three_messages_over_one_session() {
    let exchanges = three_exchanges();
    for mode in MODES {
        let mut steps = Vec::new();
        for (i, x) in exchanges.iter().enumerate() {
            steps.extend(transaction_steps(mode, x, i == exchanges.len() - 1));
        }
        let (mut session, script) = open(mode, false, steps);
        let mut results = Vec::new();
        for (i, x) in exchanges.iter().enumerate() {
            let rcpts: Vec<&str> = x.rcpts.iter().map(|(r, _)| *r).collect();
            let then = if i == exchanges.len() - 1 {
                Then::Quit
            } else {
                Then::More
            };
            let mut body = x.body;
            let result = session.send(&tx(x.mail, &rcpts, x.body), &mut body, then);
            results.push(result.expect("delivered"));
            if then == Then::More {
                assert!(
                    session.is_ready(),
                    "{mode:?}: ready after message {}",
                    i + 1
                );
            }
        }
        session.quit();
        script.assert_done();
        let expected = [
            Delivery {
                delivered: vec![accepted("bob@example.org", 250, "2.0.0 queued as A1")],
                refused: vec![],
                reply: Reply::new(250, "2.0.0 queued as A1"),
            },
            Delivery {
                delivered: vec![accepted("dave@example.org", 250, "2.0.0 queued as A2")],
                refused: vec![refusal("carol@example.org", 550, "5.1.1 no such user")],
                reply: Reply::new(250, "2.0.0 queued as A2"),
            },
            Delivery {
                delivered: vec![accepted("erin@example.org", 250, "2.0.0 queued as A3")],
                refused: vec![],
                reply: Reply::new(250, "2.0.0 queued as A3"),
            },
        ];
        assert_eq!(results, expected, "{mode:?}");
    }
}

/// The whole client side of the plain-mode dialogue, literally, so the byte contract reads at a glance.
#[test]
fn plain_dialogue_bytes() {
    let x = Exchange {
        mail: "a@example.org",
        rcpts: vec![("b@example.org", "250 ok")],
        body: b"x\r\n.dot\r\n",
        data_reply: "250 queued",
    };
    let mut steps = transaction_steps(Mode::Plain, &x, true);
    assert_eq!(x.body.len(), 9);
    // Dot-stuffing (RFC 5321 §4.5.2): the script expects the body as sent.
    steps[6] = Step::Expect(b"x\r\n..dot\r\n.\r\n".to_vec());
    let (mut session, script) = open(Mode::Plain, false, steps);
    let mut body = x.body;
    let sent = session.send(
        &tx(x.mail, &["b@example.org"], x.body),
        &mut body,
        Then::Quit,
    );
    assert_eq!(
        sent.expect("delivered").delivered,
        [accepted("b@example.org", 250, "queued")]
    );
    session.quit();
    script.assert_done();
    assert_eq!(
        script.written(),
        "EHLO client.example\r\nMAIL FROM:<a@example.org> SIZE=9\r\nRCPT TO:<b@example.org>\r\n\
         DATA\r\nx\r\n..dot\r\n.\r\nQUIT\r\n"
    );
}

/// A refused MAIL ends the transaction with RSET (RFC 5321 §4.1.1.5), and the next one goes on the
/// same session; pipelined, the RCPT and DATA already sent are answered first.
#[test]
fn refused_transaction_is_reset_and_the_next_one_goes() {
    for mode in [Mode::Plain, Mode::Pipelining] {
        let mut steps = vec![client("MAIL FROM:<a@example.org> SIZE=3")];
        if mode == Mode::Pipelining {
            steps.extend([client("RCPT TO:<b@example.org>"), client("DATA")]);
        }
        steps.push(server("451 4.3.0 try later"));
        if mode == Mode::Pipelining {
            steps.extend([
                server("503 5.5.1 no MAIL"),
                server("503 5.5.1 no valid recipients"),
            ]);
        }
        steps.extend([client("RSET"), server("250 2.0.0 reset")]);
        let next = Exchange {
            mail: "a@example.org",
            rcpts: vec![("b@example.org", "250 ok")],
            body: b"x\r\n",
            data_reply: "250 queued",
        };
        steps.extend(transaction_steps(mode, &next, true));
        let (mut session, script) = open(mode, false, steps);
        let t = tx("a@example.org", &["b@example.org"], b"x\r\n");
        let first = session.send(&t, &mut &b"x\r\n"[..], Then::More);
        assert!(
            matches!(&first, Err(Error::Rejected { stage: Stage::Mail, reply }) if reply.code.get() == 451),
            "{mode:?}: {first:?}"
        );
        assert!(session.is_ready(), "{mode:?}");
        let second = session.send(&t, &mut &b"x\r\n"[..], Then::Quit);
        assert_eq!(
            second.expect("delivered").delivered,
            [accepted("b@example.org", 250, "queued")]
        );
        session.quit();
        script.assert_done();
    }
}

/// LMTP (RFC 2033 §4.2): one reply per accepted recipient after the data; each recipient's own outcome.
#[test]
fn lmtp_reports_each_recipient() {
    let steps = vec![
        client("MAIL FROM:<a@example.org> SIZE=3"),
        server("250 ok"),
        client("RCPT TO:<b@example.org>"),
        server("250 ok"),
        client("RCPT TO:<c@example.org>"),
        server("250 ok"),
        client("DATA"),
        server("354 go"),
        Step::Expect(b"x\r\n.\r\n".to_vec()),
        server("250 2.0.0 b delivered"),
        server("452 4.2.2 c over quota"),
        client("QUIT"),
        server("221 bye"),
    ];
    let (mut session, script) = open(Mode::Plain, true, steps);
    let delivery = to_b_and_c(&mut session, Then::Quit).expect("one delivered");
    // Each recipient's own reply (RFC 2033 §4.2), not the last of the transaction.
    assert_b_and_c(
        &delivery,
        ("2.0.0 b delivered", 250),
        ("4.2.2 c over quota", 452),
    );
    session.quit();
    script.assert_done();
}

/// A 421 ends the session: no RSET, no QUIT, and no further transaction.
#[test]
fn closing_reply_ends_the_session() {
    let steps = vec![
        client("MAIL FROM:<a@example.org> SIZE=3"),
        server("421 4.3.2 shutting down"),
        Step::Close,
    ];
    let (mut session, script) = open(Mode::Plain, false, steps);
    let t = tx("a@example.org", &["b@example.org"], b"x\r\n");
    let first = session.send(&t, &mut &b"x\r\n"[..], Then::More);
    assert!(matches!(
        first,
        Err(Error::Rejected {
            stage: Stage::Mail,
            ..
        })
    ));
    assert!(session.is_broken() && !session.is_ready());
    let second = session.send(&t, &mut &b"x\r\n"[..], Then::Quit);
    assert!(matches!(second, Err(Error::Closed { .. })), "{second:?}");
    session.quit();
    script.assert_done();
}

/// Typed lines: the engine redacts the response after a 334, answers a typed QUIT's 221 as expected,
/// and refuses a typed STARTTLS without sending anything.
#[test]
fn typed_lines_follow_the_engine_rules() {
    let steps = vec![
        client("AUTH LOGIN"),
        server("334 VXNlcm5hbWU6"),
        client("*"),
        server("501 5.7.0 cancelled"),
        client("quit"),
        server("221 bye"),
    ];
    let (mut session, script) = open(Mode::Plain, false, steps);
    assert!(matches!(session.typed("STARTTLS"), Err(Error::Policy(_))));
    assert_eq!(
        session.typed("AUTH LOGIN").expect("334").code,
        Code::AUTH_CHALLENGE
    );
    assert!(session.challenged());
    assert_eq!(session.typed("*").expect("501").code.get(), 501);
    assert!(!session.challenged());
    assert_eq!(session.typed("quit").expect("221").code, Code::CLOSING);
    assert!(session.is_broken());
    session.into_trace();
    script.assert_done();
}

// The fault matrix in memory: stage × fault × mode, the shape of tests/integration/matrix.rs.

/// Where the fault strikes in a one-recipient transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    Mail,
    Rcpt,
    /// The reply to DATA; with CHUNKING, the reply standing for the BDAT LAST.
    Data,
    Final,
    Quit,
}

/// The server faults of the subprocess matrix that a script can play (the over-long and endless
/// replies are the parser's, tested in reply.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// End of file; writes fail with a broken pipe.
    Close,
    Reset,
    /// 421, then end of file (smtp-sink `-Q`).
    Bye421,
    /// A refusal with this code (451, 554) in place of the reply.
    Refuse(u16),
    /// Silence: the read times out.
    Stall,
    /// `xyz bad`.
    Malformed,
    /// The normal reply and one more line in the same write.
    Unsolicited,
}

/// What the engine must make of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Delivered,
    Lost,
    TimedOut,
    Protocol,
    /// Refused with this code at this stage.
    Refused(u16),
    /// The only recipient refused.
    NoRecipient,
    /// Lost after the whole message was sent: may have been delivered.
    Maybe,
    Unasked,
}

/// The server's lines for a fault in place of the normal `reply`, and whether the script goes on as
/// it was after them (else it ends there: only the replies already earned by commands in flight are
/// still sent, then any line is answered, [`Step::Lenient`]).
fn fault_steps(fault: Fault, reply: &str) -> (Vec<Step>, bool) {
    match fault {
        Fault::Close => (vec![Step::Close], false),
        Fault::Reset => (vec![Step::Reset], false),
        Fault::Bye421 => (vec![server("421 4.3.2 bye"), Step::Close], false),
        Fault::Refuse(code) => (vec![server(&format!("{code} refused"))], false),
        Fault::Stall => (vec![Step::Stall], false),
        Fault::Malformed => (vec![server("xyz bad")], false),
        Fault::Unsolicited => (vec![server(reply), server("250 unasked")], true),
    }
}

/// The contract, one line per stage and fault (the same verdicts in every mode, except where noted in
/// `verdict`).
#[rustfmt::skip]
const TABLE: &[(At, Fault, Verdict)] = {
    use At::*;
    use Fault::*;
    use Verdict::*;
    &[
        (Mail, Close, Lost), (Mail, Reset, Lost), (Mail, Bye421, Refused(421)),
        (Mail, Refuse(451), Refused(451)), (Mail, Refuse(554), Refused(554)), (Mail, Stall, TimedOut),
        (Mail, Malformed, Protocol), (Mail, Unsolicited, Unasked),
        (Rcpt, Close, Lost), (Rcpt, Reset, Lost), (Rcpt, Bye421, Refused(421)),
        (Rcpt, Refuse(451), NoRecipient), (Rcpt, Refuse(554), NoRecipient), (Rcpt, Stall, TimedOut),
        (Rcpt, Malformed, Protocol), (Rcpt, Unsolicited, Unasked),
        (Data, Close, Lost), (Data, Reset, Lost), (Data, Bye421, Refused(421)),
        (Data, Refuse(451), Refused(451)), (Data, Refuse(554), Refused(554)), (Data, Stall, TimedOut),
        (Data, Malformed, Protocol), (Data, Unsolicited, Unasked),
        (Final, Close, Maybe), (Final, Reset, Maybe), (Final, Bye421, Refused(421)),
        (Final, Refuse(451), Refused(451)), (Final, Refuse(554), Refused(554)), (Final, Stall, Maybe),
        (Final, Malformed, Maybe), (Final, Unsolicited, Delivered),
        (Quit, Close, Delivered), (Quit, Reset, Delivered), (Quit, Bye421, Delivered),
        (Quit, Refuse(451), Delivered), (Quit, Refuse(554), Delivered), (Quit, Stall, Delivered),
        (Quit, Malformed, Delivered), (Quit, Unsolicited, Delivered),
    ]
};

/// The modes a stage runs in, as in the subprocess matrix: CHUNKING only changes the data stages.
fn modes(at: At) -> &'static [Mode] {
    match at {
        At::Mail | At::Rcpt => &[Mode::Plain, Mode::Pipelining],
        At::Data | At::Final | At::Quit => &MODES,
    }
}

/// With CHUNKING the only BDAT is the LAST, so its reply is the final reply: the data stage's faults
/// have the final stage's verdicts.
fn verdict(mode: Mode, at: At, fault: Fault) -> Verdict {
    let at = match (mode, at) {
        (Mode::Chunking, At::Data) => At::Final,
        _ => at,
    };
    TABLE
        .iter()
        .find(|(a, f, _)| (*a, *f) == (at, fault))
        .map(|(_, _, v)| *v)
        .expect("every stage and fault has a verdict")
}

/// The script of a one-recipient send with `fault` at `at`, in `mode`. Unless the fault lets the
/// dialogue go on, the script ends after it: only the replies already earned by commands in flight
/// are still sent, then any line is answered ([`Step::Lenient`]).
fn faulty_script(mode: Mode, at: At, fault: Fault) -> Vec<Step> {
    let chunked = mode == Mode::Chunking;
    // In CHUNKING mode the data stage is the BDAT LAST's reply, which is the final reply.
    let at = if chunked && at == At::Data {
        At::Final
    } else {
        at
    };
    let mut cut_at = None;
    let mut reply = |steps: &mut Vec<Step>, stage: At, normal: &str| {
        if stage != at {
            return steps.push(server(normal));
        }
        let (fault_steps, goes_on) = fault_steps(fault, normal);
        if !goes_on {
            cut_at = Some(steps.len() + fault_steps.len());
        }
        steps.extend(fault_steps);
    };
    let mut steps = vec![client("MAIL FROM:<a@example.org> SIZE=3")];
    let rcpt = client("RCPT TO:<b@example.org>");
    let data = match chunked {
        true => Step::Expect(b"BDAT 3 LAST\r\nx\r\n".to_vec()),
        false => client("DATA"),
    };
    if mode == Mode::Plain {
        reply(&mut steps, At::Mail, "250 ok");
        steps.push(rcpt);
        reply(&mut steps, At::Rcpt, "250 ok");
        steps.push(data);
    } else {
        steps.extend([rcpt, data]);
        reply(&mut steps, At::Mail, "250 ok");
        reply(&mut steps, At::Rcpt, "250 ok");
    }
    if !chunked {
        reply(&mut steps, At::Data, "354 go");
        steps.push(Step::Expect(b"x\r\n.\r\n".to_vec()));
    }
    if mode != Mode::Plain {
        steps.push(client("QUIT"));
    }
    reply(&mut steps, At::Final, "250 queued");
    if mode == Mode::Plain {
        steps.push(client("QUIT"));
    }
    reply(&mut steps, At::Quit, "221 bye");
    let Some(cut_at) = cut_at else {
        return steps;
    };
    let earned = steps[cut_at..]
        .iter()
        .take_while(|s| matches!(s, Step::Send(_)))
        .count();
    steps.truncate(cut_at + earned);
    if !matches!(steps.last(), Some(Step::Close | Step::Reset | Step::Stall)) {
        steps.push(Step::Lenient);
    }
    steps
}

fn judge(result: &Result<Delivery, Error>) -> Verdict {
    match result {
        Ok(_) => Verdict::Delivered,
        Err(Error::Closed { .. } | Error::Io { .. }) => Verdict::Lost,
        Err(Error::Timeout { .. }) => Verdict::TimedOut,
        Err(Error::Protocol { .. }) => Verdict::Protocol,
        Err(Error::Unsolicited { .. }) => Verdict::Unasked,
        Err(Error::UnknownOutcome { .. }) => Verdict::Maybe,
        Err(Error::RecipientsRefused { .. }) => Verdict::NoRecipient,
        Err(Error::Rejected { reply, .. }) => Verdict::Refused(reply.code.get()),
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn fault_matrix_in_memory() {
    let mut failures = Vec::new();
    for &(at, fault, _) in TABLE {
        for &mode in modes(at) {
            let steps = faulty_script(mode, at, fault);
            let expected = verdict(mode, at, fault);
            // The script is cut short where the fault ends the dialogue; only the verdict and the
            // bytes up to there are checked.
            let (mut session, script) = open(mode, false, steps);
            let t = tx("a@example.org", &["b@example.org"], b"x\r\n");
            let result = session.send(&t, &mut &b"x\r\n"[..], Then::Quit);
            let got = judge(&result);
            session.quit();
            let written = script.written();
            // Exit 0 only ever follows the final 2xx (RFC 5321 §6.1).
            let whole = written.contains("x\r\n.\r\n") || written.contains("BDAT 3 LAST\r\nx\r\n");
            if got != expected || (got == Verdict::Delivered && !whole) {
                failures.push(format!(
                    "{mode:?} {at:?} {fault:?}: {got:?}, expected {expected:?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Spec §10 (`-bs`): with [`Session::whole_or_none`], a recipient refused for good means nobody gets the
/// message: the RCPTs are answered one at a time, RSET follows, no DATA or BDAT is sent, and the send
/// fails with every refusal; a refusal for now alone still lets the others have it.
#[test]
fn whole_or_none_sends_no_data_after_a_permanent_refusal() {
    for mode in MODES {
        let steps = vec![
            client("MAIL FROM:<a@example.org> SIZE=3"),
            server("250 ok"),
            client("RCPT TO:<b@example.org>"),
            server("250 ok"),
            client("RCPT TO:<c@example.org>"),
            server("550 5.1.1 no such user"),
            client("RSET"),
            server("250 reset"),
            client("QUIT"),
            server("221 bye"),
        ];
        let (mut session, script) = open(mode, false, steps);
        session.whole_or_none();
        let result = to_b_and_c(&mut session, Then::More);
        match &result {
            Err(Error::RecipientsRefused { refused }) => {
                assert_eq!(
                    refused,
                    &[refusal("c@example.org", 550, "5.1.1 no such user")]
                )
            }
            other => panic!("{mode:?}: {other:?}"),
        }
        assert!(session.is_ready(), "{mode:?}");
        session.quit();
        script.assert_done();
    }
    // A 450 alone: b gets it, c is left to the caller (the queue), as without the rule.
    let steps = vec![
        client("MAIL FROM:<a@example.org> SIZE=3"),
        server("250 ok"),
        client("RCPT TO:<b@example.org>"),
        server("250 ok"),
        client("RCPT TO:<c@example.org>"),
        server("450 4.2.0 busy"),
        client("DATA"),
        server("354 go"),
        Step::Expect(b"x\r\n.\r\n".to_vec()),
        server("250 queued"),
    ];
    let (mut session, script) = open(Mode::Pipelining, false, steps);
    session.whole_or_none();
    let delivery = to_b_and_c(&mut session, Then::More).expect("b has it");
    assert_b_and_c(&delivery, ("queued", 250), ("4.2.0 busy", 450));
    script.assert_done();
}

/// One message from a@ to b@ and c@, body `x`.
fn to_b_and_c(session: &mut Session, then: Then) -> Result<Delivery, Error> {
    let t = tx(
        "a@example.org",
        &["b@example.org", "c@example.org"],
        b"x\r\n",
    );
    session.send(&t, &mut &b"x\r\n"[..], then)
}

/// b@ delivered with `b`'s reply, c@ refused with `c`'s.
fn assert_b_and_c(delivery: &Delivery, b: (&str, u16), c: (&str, u16)) {
    assert_eq!(delivery.delivered, [accepted("b@example.org", b.1, b.0)]);
    assert_eq!(delivery.refused, [refusal("c@example.org", c.1, c.0)]);
}
