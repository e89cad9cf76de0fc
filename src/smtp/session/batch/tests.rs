//! Batches over the scripted server, every byte both ways: three messages in one CHUNKING flight, the
//! end of one message's data with the next envelope under PIPELINING, one at a time without it; a
//! refused recipient, a refused MAIL, a 421 and a lost connection in the middle; LMTP; the bounds of a
//! flight; and the round trips a batch costs, counted (issue 12).
//!
//! The script expects every byte the client writes before it sends the replies that follow them, so a
//! client that waited for a reply in the middle of a flight fails the test (the script panics).

use std::collections::VecDeque;

use super::super::tests::{
    Exchange, Mode, accepted, open, refusal, three_exchanges, transaction_steps, tx,
};
use super::*;
use crate::smtp::error::Error;
use crate::smtp::reply::Reply;
use crate::smtp::script::{Script, Step, client, server};

/// A batch over fixed messages that logs when each is asked for and when each outcome comes.
#[derive(Default)]
struct Recorded {
    messages: VecDeque<(Transaction, &'static [u8])>,
    asked: usize,
    log: Vec<String>,
    outcomes: Vec<(usize, Result<Delivery, Error>)>,
}

impl Recorded {
    fn of(exchanges: &[Exchange]) -> Recorded {
        let messages = exchanges.iter().map(|x| (batch_tx(x), x.body)).collect();
        Recorded {
            messages,
            ..Recorded::default()
        }
    }

    /// The outcomes in the order they came, checked to be one per message asked for, in order.
    fn results(self) -> Vec<Result<Delivery, Error>> {
        let indexes: Vec<usize> = self.outcomes.iter().map(|(i, _)| *i).collect();
        assert_eq!(
            indexes,
            (0..self.asked).collect::<Vec<_>>(),
            "{:?}",
            self.log
        );
        self.outcomes.into_iter().map(|(_, r)| r).collect()
    }
}

impl Batch<'static> for Recorded {
    fn next(&mut self) -> Option<Message<'static>> {
        let Some((tx, body)) = self.messages.pop_front() else {
            self.log.push("end".into());
            return None;
        };
        self.log.push(format!("next {}", self.asked));
        self.asked += 1;
        Some(Message {
            tx,
            data: Box::new(body),
        })
    }

    fn outcome(&mut self, index: usize, result: Result<Delivery, Error>) {
        self.log.push(format!("outcome {index}"));
        self.outcomes.push((index, result));
    }
}

fn mail(x: &Exchange) -> Step {
    client(&format!("MAIL FROM:<{}> SIZE={}", x.mail, x.body.len()))
}

fn bdat(x: &Exchange) -> Step {
    let size = x.body.len();
    Step::Expect([format!("BDAT {size} LAST\r\n").as_bytes(), x.body].concat())
}

fn dot(x: &Exchange) -> Step {
    Step::Expect([x.body, b".\r\n"].concat())
}

/// One CHUNKING flight: each transaction whole, an RSET before each MAIL but the first, QUIT at the
/// end when `quit`; then every reply. `replies(i)` gives the server's replies to transaction `i`
/// (RSET's first when there is one).
fn chunking_flight(xs: &[Exchange], quit: bool) -> (Vec<Step>, Vec<Step>) {
    let (mut out, mut back) = (Vec::new(), Vec::new());
    for (i, x) in xs.iter().enumerate() {
        if i > 0 {
            out.push(client("RSET"));
            back.push(server("250 2.0.0 reset"));
        }
        out.push(mail(x));
        back.push(server("250 2.1.0 ok"));
        for (rcpt, reply) in &x.rcpts {
            out.push(client(&format!("RCPT TO:<{rcpt}>")));
            back.push(server(reply));
        }
        out.push(bdat(x));
        back.push(server(x.data_reply));
    }
    if quit {
        out.push(client("QUIT"));
        back.push(server("221 2.0.0 bye"));
    }
    (out, back)
}

/// Under PIPELINING: each envelope with DATA, its replies and 354; then the dot with the next
/// envelope (or QUIT), and the final reply before the next envelope's replies.
fn pipelined_steps(xs: &[Exchange]) -> Vec<Step> {
    let mut steps = Vec::new();
    for (i, x) in xs.iter().enumerate() {
        if i > 0 {
            steps.push(dot(&xs[i - 1]));
        }
        steps.push(mail(x));
        steps.extend(
            x.rcpts
                .iter()
                .map(|(r, _)| client(&format!("RCPT TO:<{r}>"))),
        );
        steps.push(client("DATA"));
        if i > 0 {
            steps.push(server(xs[i - 1].data_reply));
        }
        steps.push(server("250 2.1.0 ok"));
        steps.extend(x.rcpts.iter().map(|(_, reply)| server(reply)));
        steps.push(server("354 go ahead"));
    }
    let last = xs.last().expect("a message");
    steps.extend([dot(last), client("QUIT"), server(last.data_reply)]);
    steps.push(server("221 2.0.0 bye"));
    steps
}

/// The whole batch of `xs` in `mode`, QUIT at the end.
fn batch_steps(mode: Mode, xs: &[Exchange]) -> Vec<Step> {
    match mode {
        Mode::Plain => (0..xs.len())
            .flat_map(|i| transaction_steps(mode, &xs[i], i == xs.len() - 1))
            .collect(),
        Mode::Pipelining => pipelined_steps(xs),
        Mode::Chunking => {
            let (mut out, back) = chunking_flight(xs, true);
            out.extend(back);
            out
        }
    }
}

/// Send `xs` as one batch over a session in `mode` playing `steps`; the outcomes, the log and the script.
fn run(mode: Mode, lmtp: bool, xs: &[Exchange], steps: Vec<Step>) -> (Recorded, Script) {
    let (mut session, script) = open(mode, lmtp, steps);
    let mut batch = Recorded::of(xs);
    session.send_batch(&mut batch, Then::Quit);
    session.quit();
    (batch, script)
}

fn delivered(to: &[&str], refused: Vec<crate::smtp::error::Refusal>, reply: &str) -> Delivery {
    let (code, text) = reply.split_at(3);
    let reply = Reply::new(code.parse().expect("code"), &text[1..]);
    Delivery {
        delivered: to.iter().map(|r| (r.to_string(), reply.clone())).collect(),
        refused,
        reply,
    }
}

/// THE test of the batch: three messages, a refused recipient in the second, in every mode; each
/// outcome exactly what three single sends give, and handed over as soon as its last reply is read.
#[test]
fn three_messages_in_one_batch() {
    let xs = three_exchanges();
    let expected = [
        delivered(&["bob@example.org"], vec![], "250 2.0.0 queued as A1"),
        delivered(
            &["dave@example.org"],
            vec![refusal("carol@example.org", 550, "5.1.1 no such user")],
            "250 2.0.0 queued as A2",
        ),
        delivered(&["erin@example.org"], vec![], "250 2.0.0 queued as A3"),
    ];
    for (mode, order) in [
        (
            Mode::Plain,
            "next 0,outcome 0,next 1,outcome 1,next 2,outcome 2,end",
        ),
        // The next envelope goes with the dot, before the final reply is read.
        (
            Mode::Pipelining,
            "next 0,next 1,outcome 0,next 2,outcome 1,end,outcome 2",
        ),
        // One flight: every message asked for, then every reply read.
        (
            Mode::Chunking,
            "next 0,next 1,next 2,end,outcome 0,outcome 1,outcome 2",
        ),
    ] {
        let (batch, script) = run(mode, false, &xs, batch_steps(mode, &xs));
        script.assert_done();
        assert_eq!(batch.log.join(","), order, "{mode:?}");
        let results: Vec<Delivery> = batch
            .results()
            .into_iter()
            .map(|r| r.expect("delivered"))
            .collect();
        assert_eq!(results, expected, "{mode:?}");
    }
}

/// The CHUNKING flight literally, so the byte contract reads at a glance.
#[test]
fn chunking_flight_bytes() {
    let xs = &three_exchanges()[..2];
    let (batch, script) = run(Mode::Chunking, false, xs, batch_steps(Mode::Chunking, xs));
    script.assert_done();
    assert_eq!(batch.results().len(), 2);
    assert_eq!(
        script.written(),
        "EHLO client.example\r\n\
         MAIL FROM:<alice@example.org> SIZE=23\r\nRCPT TO:<bob@example.org>\r\n\
         BDAT 23 LAST\r\nSubject: one\r\n\r\nfirst\r\n\
         RSET\r\nMAIL FROM:<alice@example.org> SIZE=24\r\nRCPT TO:<carol@example.org>\r\n\
         RCPT TO:<dave@example.org>\r\nBDAT 24 LAST\r\nSubject: two\r\n\r\nsecond\r\nQUIT\r\n"
    );
}

/// A 5xx to the second MAIL fails the second message only. In a CHUNKING flight its RCPT and BDAT are
/// already sent and refused, and the RSET before the third MAIL ends it; under PIPELINING its DATA is
/// refused, so no data goes and RSET ends it before the third envelope.
#[test]
fn a_refused_mail_in_the_middle_fails_that_message_only() {
    let xs = three_exchanges();
    let refused_mail = "550 5.7.1 sender refused";
    for mode in [Mode::Pipelining, Mode::Chunking] {
        let steps = match mode {
            Mode::Chunking => {
                let (out, mut back) = chunking_flight(&xs, true);
                // After message 1's three replies and RSET's: MAIL, both RCPTs and BDAT refused.
                back[4] = server(refused_mail);
                back[5] = server("503 5.5.1 no MAIL");
                back[6] = server("503 5.5.1 no MAIL");
                back[7] = server("503 5.5.1 no valid recipients");
                [out, back].concat()
            }
            _ => {
                // Up to the first final reply, which comes before the second envelope's replies.
                let mut steps = pipelined_steps(&xs[..2]);
                let cut = steps.iter().position(|s| *s == server(xs[0].data_reply));
                steps.truncate(cut.expect("final reply") + 1);
                steps.extend([
                    server(refused_mail),
                    server("503 5.5.1 no MAIL"),
                    server("503 5.5.1 no MAIL"),
                    server("554 5.5.1 no valid recipients"),
                    client("RSET"),
                    server("250 2.0.0 reset"),
                ]);
                steps.extend(pipelined_steps(&xs[2..]));
                steps
            }
        };
        let (batch, script) = run(mode, false, &xs, steps);
        script.assert_done();
        let results = batch.results();
        assert!(
            results[0].is_ok() && results[2].is_ok(),
            "{mode:?}: {results:?}"
        );
        assert!(
            matches!(&results[1], Err(Error::Rejected { stage: Stage::Mail, reply }) if reply.code.get() == 550),
            "{mode:?}: {:?}",
            results[1]
        );
    }
}

/// The connection closes after the first message's final reply. CHUNKING: the later messages were
/// whole on the wire, so their outcome is unknown (the server may have taken them with their replies
/// still in its buffer). PIPELINING: the second had only its envelope sent, so it was not delivered,
/// and the third was never asked for.
#[test]
fn a_connection_closed_after_the_first_final_reply() {
    let xs = three_exchanges();
    let (out, back) = chunking_flight(&xs, true);
    let steps = [out, back[..3].to_vec(), vec![Step::Close]].concat();
    let (batch, script) = run(Mode::Chunking, false, &xs, steps);
    script.assert_done();
    let results = batch.results();
    assert!(results[0].is_ok());
    for (n, result) in results.iter().enumerate().skip(1) {
        match result {
            Err(Error::UnknownOutcome { partial, .. }) => {
                assert_eq!(partial.unknown, batch_tx(&xs[n]).recipients)
            }
            other => panic!("message {n}: {other:?}"),
        }
    }
    let mut steps = pipelined_steps(&xs[..2]);
    let cut = steps
        .iter()
        .position(|s| *s == server(xs[0].data_reply))
        .expect("final");
    steps.truncate(cut + 1);
    steps.push(Step::Close);
    let (batch, script) = run(Mode::Pipelining, false, &xs, steps);
    script.assert_done();
    assert_eq!(batch.log.join(","), "next 0,next 1,outcome 0,outcome 1");
    let results = batch.results();
    assert!(results[0].is_ok());
    assert!(
        matches!(results[1], Err(Error::Closed { .. })),
        "{:?}",
        results[1]
    );
}

fn batch_tx(x: &Exchange) -> Transaction {
    let rcpts: Vec<&str> = x.rcpts.iter().map(|(r, _)| *r).collect();
    tx(x.mail, &rcpts, x.body)
}

/// A 421 in the middle of a flight: the server closed before it read what followed, so the later
/// message was not delivered (not unknown), and the 421 one was refused.
#[test]
fn a_421_in_the_middle_of_a_flight() {
    let xs = three_exchanges();
    let (out, back) = chunking_flight(&xs, true);
    let steps = [
        out,
        back[..3].to_vec(),
        vec![server("421 4.3.2 shutting down"), Step::Close],
    ]
    .concat();
    let (batch, script) = run(Mode::Chunking, false, &xs, steps);
    script.assert_done();
    let results = batch.results();
    assert!(results[0].is_ok());
    assert!(
        matches!(&results[1], Err(Error::Rejected { reply, .. }) if reply.code.get() == 421),
        "{:?}",
        results[1]
    );
    assert!(
        matches!(results[2], Err(Error::Closed { .. })),
        "{:?}",
        results[2]
    );
}

/// LMTP (RFC 2033 §4.2) in a batch: one reply per accepted recipient after each message's data, each
/// recipient's own outcome, with CHUNKING (as Dovecot offers it) and with PIPELINING only.
#[test]
fn lmtp_in_a_batch() {
    let xs = [
        Exchange {
            mail: "a@example.org",
            rcpts: vec![("b@example.org", "250 ok"), ("c@example.org", "250 ok")],
            body: b"x\r\n",
            data_reply: "250 2.0.0 b delivered",
        },
        Exchange {
            mail: "a@example.org",
            rcpts: vec![("d@example.org", "250 ok")],
            body: b"y\r\n",
            data_reply: "250 2.0.0 d delivered",
        },
    ];
    let second_reply = server("452 4.2.2 c over quota");
    for mode in [Mode::Pipelining, Mode::Chunking] {
        let mut steps = batch_steps(mode, &xs);
        let first = steps
            .iter()
            .position(|s| *s == server(xs[0].data_reply))
            .expect("final");
        steps.insert(first + 1, second_reply.clone());
        let hello = |s: Step| match s {
            Step::Expect(bytes) if bytes == b"EHLO client.example\r\n" => {
                client("LHLO client.example")
            }
            s => s,
        };
        let steps: Vec<Step> = steps.into_iter().map(hello).collect();
        let (batch, script) = run(mode, true, &xs, steps);
        script.assert_done();
        let results = batch.results();
        let first = results[0].as_ref().expect("one delivered");
        assert_eq!(
            first.delivered,
            [accepted("b@example.org", 250, "2.0.0 b delivered")],
            "{mode:?}"
        );
        assert_eq!(
            first.refused,
            [refusal("c@example.org", 452, "4.2.2 c over quota")]
        );
        assert_eq!(
            results[1].as_ref().expect("delivered").delivered,
            [accepted("d@example.org", 250, "2.0.0 d delivered")]
        );
    }
}

/// A small message, `n` of them.
fn small(n: usize) -> Vec<Exchange> {
    (0..n)
        .map(|_| Exchange {
            mail: "alice@example.org",
            rcpts: vec![("bob@example.org", "250 2.1.5 ok")],
            body: b"Subject: hi\r\n\r\nhello\r\n",
            data_reply: "250 2.0.0 queued",
        })
        .collect()
}

/// A flight holds at most FLIGHT_MESSAGES messages: the rest go in the next flight, after the replies.
#[test]
fn a_flight_is_bounded() {
    let xs = small(FLIGHT_MESSAGES + 8);
    let (out1, back1) = chunking_flight(&xs[..FLIGHT_MESSAGES], false);
    let (out2, back2) = chunking_flight(&xs[FLIGHT_MESSAGES..], true);
    let steps = [out1, back1, out2, back2].concat();
    let (batch, script) = run(Mode::Chunking, false, &xs, steps);
    script.assert_done();
    assert!(batch.results().iter().all(Result::is_ok));
    // EHLO, then two flights.
    assert_eq!(script.turns(), 3);
}

/// Issue 12's goal, counted: round trips per message for a batch of ten small messages (the greeting
/// and EHLO excluded). CHUNKING: one flight for all ten, fewer than one per message. PIPELINING: the
/// first envelope, then one per message (each dot with the next envelope, the last with QUIT): n + 1,
/// one per message and the session's QUIT. Without either: four per message (MAIL, RCPT, DATA, dot).
#[test]
fn round_trips_per_message() {
    let n = 10;
    let xs = small(n);
    for (mode, flights) in [
        (Mode::Chunking, 1),
        (Mode::Pipelining, n + 1),
        (Mode::Plain, 4 * n + 1),
    ] {
        let (batch, script) = run(mode, false, &xs, batch_steps(mode, &xs));
        script.assert_done();
        assert_eq!(batch.results().len(), n);
        let used = script.turns() - 1;
        assert_eq!(used, flights, "{mode:?}");
        match mode {
            Mode::Chunking => assert!(used < n, "fewer than one per message"),
            Mode::Pipelining => assert!(used - 1 <= n, "one per message, and QUIT's"),
            Mode::Plain => {}
        }
    }
}
