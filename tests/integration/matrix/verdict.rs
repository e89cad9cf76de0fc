//! Judging one cell of the fault matrix: the exit code, the stderr class, what the server received, that
//! the client dropped the connection when it had to (catalogue D31, E34), and that exit 0 only ever
//! follows the final 250 (RFC 5321 §6.1, catalogue G44).

use std::time::Duration;

use super::{At, Cell, Fault, Got, Mode, Says};
use crate::harness::{Run, Transcript};

impl Says {
    fn needles(self) -> &'static [&'static str] {
        match self {
            Says::Quiet | Says::Names(_) => &[],
            Says::Lost => &[
                "closed",
                "connection error",
                "reset",
                "broken pipe",
                "eof",
                "lost",
            ],
            Says::TimedOut => &["timed out"],
            Says::Protocol => &["protocol error"],
            Says::Reply => &["matrix says"],
            Says::Maybe => &["may have been delivered"],
            Says::Unasked => &["nobody asked for", "not sent", "unsolicited"],
            Says::Injection => &["injection"],
            Says::Tls => &["tls", "handshake"],
            Says::CannotConnect => &["cannot connect", "connection refused"],
        }
    }

    fn check(self, stderr: &str) -> Option<String> {
        let lower = stderr.to_ascii_lowercase();
        let ok = match self {
            Says::Quiet => stderr.is_empty(),
            Says::Names(who) => lower.contains(who),
            _ => self.needles().iter().any(|n| lower.contains(n)),
        };
        (!ok).then(|| format!("stderr is not {self:?}"))
    }
}

/// The command a fault answered, as (prefix, occurrence), for "nothing after it".
fn anchor(at: At) -> Option<(&'static str, usize)> {
    match at {
        At::Connect | At::Greeting | At::Quit => None,
        At::Ehlo => Some(("EHLO", 1)),
        At::StartTls | At::Handshake => Some(("STARTTLS", 1)),
        At::Auth => Some(("AUTH", 1)),
        At::Mail => Some(("MAIL", 1)),
        At::Rcpt1 => Some(("RCPT", 1)),
        At::Rcpt2 => Some(("RCPT", 2)),
        At::Data | At::Transfer | At::Final | At::Lmtp => Some(("DATA", 1)),
    }
}

fn commands_after(t: &Transcript, prefix: &str, nth: usize) -> Option<Vec<String>> {
    let index = t
        .commands
        .iter()
        .enumerate()
        .filter(|(_, c)| c.to_ascii_uppercase().starts_with(prefix))
        .nth(nth - 1)
        .map(|(i, _)| i)?;
    Some(t.commands[index + 1..].to_vec())
}

pub(super) fn check(cell: &Cell, mode: Mode, r: &Run, elapsed: Duration) -> Vec<String> {
    let mut problems = Vec::new();
    let t = &r.transcript;
    // A reset at QUIT when QUIT was pipelined with the data: Linux drops the bytes a client has not read
    // yet when the RST arrives, so the final 250 may be lost with them. Then the client cannot know, and
    // the only right answer is the unknown outcome (spec §7), never "not delivered".
    let lost_250 = cell.at == At::Quit
        && cell.fault == Fault::Reset
        && mode != Mode::Plain
        && r.code == Some(75);
    let (code, says): (i32, &[Says]) = if lost_250 {
        (75, &[Says::Maybe])
    } else {
        (cell.code, cell.says)
    };
    if r.code != Some(code) {
        problems.push(format!("exit {:?}, want {code}", r.code));
    }
    problems.extend(says.iter().filter_map(|s| s.check(&r.stderr)));

    let messages = t.data.len() + t.bdat.len();
    let no_octet = t.data.is_empty()
        && t.bdat.is_empty()
        && t.unterminated_data.as_ref().is_none_or(Vec::is_empty);
    let got = match (cell.got, mode) {
        // With CHUNKING the first chunk rides with MAIL and RCPT (pipelined), before any reply.
        (Got::NoData, Mode::Chunking) => Got::Incomplete,
        (got, _) => got,
    };
    let received_ok = match got {
        Got::NoConnection => !t.connected,
        Got::NoCommand => t.commands.is_empty(),
        Got::NoMail => !t.saw("MAIL"),
        Got::NoData => no_octet,
        Got::Incomplete => messages == 0,
        Got::Once => messages == 1 && t.count("MAIL") == 1,
        Got::HeloOnce => t.saw("HELO") && messages == 1 && t.count("MAIL") == 1,
    };
    if !received_ok {
        problems.push(format!("server did not get {got:?}"));
    }

    // Catalogue D31 and E34: after a 421, a timeout, a lost connection or a reply out of step, the client
    // drops the connection: no RSET, no QUIT, nothing more. An early reply during DATA leaves the
    // dialogue out of step too (the server still expects the data).
    let drops = !matches!(cell.fault, Fault::Temp451 | Fault::Perm554)
        || (cell.at == At::Transfer && mode != Mode::Chunking);
    if drops && cell.code != 0 && cell.at != At::Quit {
        match mode {
            Mode::Plain => {
                let after = match anchor(cell.at) {
                    None => Some(t.commands.clone()),
                    Some((prefix, nth)) => commands_after(t, prefix, nth),
                };
                if let Some(after) = after
                    && !after.is_empty()
                {
                    problems.push(format!("commands after the fault: {after:?}"));
                }
            }
            Mode::Pipelining | Mode::Chunking => {
                // Only what was pipelined before the fault may follow it; QUIT rides only with the data.
                if t.saw("RSET") {
                    problems.push("RSET after the fault".to_string());
                }
                if matches!(got, Got::NoCommand | Got::NoMail | Got::NoData) && t.saw("QUIT") {
                    problems.push("QUIT after the fault, with no message sent".to_string());
                }
            }
        }
    }
    if cell.at == At::Mail && mode == Mode::Plain && t.saw("RCPT") {
        problems.push("RCPT after a failed MAIL".to_string());
    }

    // RFC 5321 §6.1, catalogue G44: 0 only after the final 250 (LMTP: a 250 for every recipient).
    if r.code == Some(0) {
        let sent = String::from_utf8_lossy(&t.sent);
        let accepted = if cell.at == At::Lmtp {
            sent.matches(" Saved\r\n").count() == 2
        } else {
            sent.contains("250 2.0.0 Ok: queued as ABC123\r\n")
        };
        if !accepted || messages != 1 {
            problems.push("exit 0 without the final 250".to_string());
        }
    }
    // Every wait is bounded (spec §1 --timeout): no cell may come near the harness's 30 s limit.
    if elapsed > Duration::from_secs(10) {
        problems.push(format!("took {elapsed:?}"));
    }
    problems
}
