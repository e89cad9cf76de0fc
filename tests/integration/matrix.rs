//! The fault matrix (issue 5; spec §3 and §7; catalogue D26–D31, E33–E37, G44–G45): one table of protocol
//! stage × server fault, each cell run against a server without PIPELINING and with it (RFC 2920), and the
//! data stages a third time with CHUNKING (RFC 3030). Every cell pins the exit code, a class of stderr
//! message, and what the server received; over all cells, exit 0 only ever follows the final 250 (RFC 5321
//! §6.1). Each row is printed as it finishes, and every failing cell is listed at the end.
//!
//! How each fault is placed: a reply fault replaces the server's reply at that stage (`421` is followed by
//! a close, as smtp-sink `-Q` does); "malformed" is `xyz bad`; "long" is the stage's code and 9000 octets;
//! "flood" is endless `NNN-x` continuation lines; "unsolicited" is the stage's normal reply and one more
//! reply line in the same write. At the TLS handshake the fault's bytes stand where the ServerHello
//! belongs. During data transfer, a connection fault strikes mid-body of an 8 MiB message (larger than
//! the socket buffers, so the client is still writing); a reply fault arrives in the same write as the 354
//! (catalogue E37, smtp-sink `-A`), so the client sees it before it sends anything, whatever the timing.
//! With CHUNKING a data-transfer fault strikes near the end of the first 1 MiB chunk of a 1.5 MiB message
//! and a reply there stands for that chunk's reply.

mod setup;
mod verdict;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::certs::Pki;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// No PIPELINING: every command waits for its reply, so "nothing after" is exact.
    Plain,
    Pipelining,
    /// PIPELINING and CHUNKING (as Exim and Dovecot offer): BDAT instead of DATA.
    Chunking,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    /// Nothing listens on the port: the kernel refuses the connection.
    Connect,
    Greeting,
    Ehlo,
    StartTls,
    Handshake,
    Auth,
    Mail,
    Rcpt1,
    Rcpt2,
    /// The reply to DATA; with CHUNKING, the reply to the first (not last) BDAT chunk.
    Data,
    Transfer,
    Final,
    Quit,
    /// LMTP (RFC 2033): the reply after the data for the second recipient (the first got 250).
    Lmtp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    Close,
    Reset,
    Bye421,
    Temp451,
    Perm554,
    Stall,
    Malformed,
    LongLine,
    Flood,
    Unsolicited,
}

/// A class of stderr message: one of its substrings must appear (ASCII case-insensitive).
#[derive(Clone, Copy, Debug)]
enum Says {
    /// Level 0 prints nothing on success (spec §6).
    Quiet,
    Lost,
    TimedOut,
    Protocol,
    /// The server's reply text is relayed.
    Reply,
    /// Spec §7: "A connection lost after the final dot says the message may have been delivered."
    Maybe,
    Unasked,
    Injection,
    Tls,
    CannotConnect,
    Names(&'static str),
}

/// What the server must have received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Got {
    NoConnection,
    /// Not one command (the client cannot have sent QUIT either).
    NoCommand,
    NoMail,
    /// Not one octet of the message.
    NoData,
    /// No complete message: no final dot, no accepted BDAT LAST (catalogue E35, G44).
    Incomplete,
    /// The message, complete, exactly once, in one transaction (catalogue G45).
    Once,
    /// After a refused EHLO, HELO and then the message once (RFC 5321 §3.2).
    HeloOnce,
}

struct Cell {
    at: At,
    fault: Fault,
    code: i32,
    says: &'static [Says],
    got: Got,
}

const fn c(at: At, fault: Fault, code: i32, says: &'static [Says], got: Got) -> Cell {
    Cell {
        at,
        fault,
        code,
        says,
        got,
    }
}

/// The contract, one line per cell. Choices where the spec is not explicit:
/// - EHLO refused with 4xx/5xx: spec §3 falls back to HELO, which this server accepts, so the mail goes.
/// - Closed, reset or stalled during the TLS handshake: 75, a lost connection (spec §7 "refused/reset/
///   timed-out connection"; a retry may succeed); bytes that are not TLS there: 76.
/// - AUTH answered 4xx: 75 (spec §7 "4xx anywhere"; RFC 4954 §6 454 is a temporary failure), 5xx: 77.
/// - After the final dot, anything but a reply (malformed, over-long, endless) leaves the outcome unknown:
///   75 and "may have been delivered" (spec §7 "unknown outcome after the final dot"), not 76.
/// - An extra line after the final 250 (or after every LMTP 250): the message was accepted, so 0; the
///   extra line can only disturb QUIT, whose reply does not matter then (spec §3).
/// - Every fault at QUIT: 0 and silent (spec §3: "a missing 221 is not an error once the message was
///   accepted"; spec §6: level 0 prints nothing on success).
#[rustfmt::skip]
fn table() -> Vec<Cell> {
    use At::*;
    use Fault::*;
    use Got::*;
    use Says::*;
    vec![
        c(Connect, Close, 75, &[CannotConnect], NoConnection),

        c(Greeting, Close, 75, &[Lost], NoCommand),
        c(Greeting, Reset, 75, &[Lost], NoCommand),
        c(Greeting, Bye421, 75, &[Reply], NoCommand),
        c(Greeting, Temp451, 75, &[Reply], NoMail),
        c(Greeting, Perm554, 69, &[Reply], NoMail),
        c(Greeting, Stall, 75, &[TimedOut], NoCommand),
        c(Greeting, Malformed, 76, &[Protocol], NoCommand),
        c(Greeting, LongLine, 76, &[Protocol], NoCommand),
        c(Greeting, Flood, 76, &[Protocol], NoCommand),
        c(Greeting, Unsolicited, 76, &[Unasked], NoCommand),

        c(Ehlo, Close, 75, &[Lost], NoMail),
        c(Ehlo, Reset, 75, &[Lost], NoMail),
        c(Ehlo, Bye421, 75, &[Reply], NoMail),
        c(Ehlo, Temp451, 0, &[Quiet], HeloOnce),
        c(Ehlo, Perm554, 0, &[Quiet], HeloOnce),
        c(Ehlo, Stall, 75, &[TimedOut], NoMail),
        c(Ehlo, Malformed, 76, &[Protocol], NoMail),
        c(Ehlo, LongLine, 76, &[Protocol], NoMail),
        c(Ehlo, Flood, 76, &[Protocol], NoMail),
        c(Ehlo, Unsolicited, 76, &[Unasked], NoMail),

        c(StartTls, Close, 75, &[Lost], NoMail),
        c(StartTls, Reset, 75, &[Lost], NoMail),
        c(StartTls, Bye421, 75, &[Reply], NoMail),
        c(StartTls, Temp451, 75, &[Reply], NoMail),
        c(StartTls, Perm554, 69, &[Reply], NoMail),
        c(StartTls, Stall, 75, &[TimedOut], NoMail),
        c(StartTls, Malformed, 76, &[Protocol], NoMail),
        c(StartTls, LongLine, 76, &[Protocol], NoMail),
        c(StartTls, Flood, 76, &[Protocol], NoMail),
        c(StartTls, Unsolicited, 76, &[Injection], NoMail),

        c(Handshake, Close, 75, &[Lost], NoMail),
        c(Handshake, Reset, 75, &[Lost], NoMail),
        c(Handshake, Bye421, 76, &[Tls], NoMail),
        c(Handshake, Temp451, 76, &[Tls], NoMail),
        c(Handshake, Perm554, 76, &[Tls], NoMail),
        c(Handshake, Stall, 75, &[TimedOut], NoMail),
        c(Handshake, Malformed, 76, &[Tls], NoMail),
        c(Handshake, LongLine, 76, &[Tls], NoMail),
        c(Handshake, Flood, 76, &[Tls], NoMail),
        c(Handshake, Unsolicited, 76, &[Tls], NoMail),

        c(Auth, Close, 75, &[Lost], NoMail),
        c(Auth, Reset, 75, &[Lost], NoMail),
        c(Auth, Bye421, 75, &[Reply], NoMail),
        c(Auth, Temp451, 75, &[Reply], NoMail),
        c(Auth, Perm554, 77, &[Reply], NoMail),
        c(Auth, Stall, 75, &[TimedOut], NoMail),
        c(Auth, Malformed, 76, &[Protocol], NoMail),
        c(Auth, LongLine, 76, &[Protocol], NoMail),
        c(Auth, Flood, 76, &[Protocol], NoMail),
        c(Auth, Unsolicited, 76, &[Unasked], NoMail),

        c(Mail, Close, 75, &[Lost], NoData),
        c(Mail, Reset, 75, &[Lost], NoData),
        c(Mail, Bye421, 75, &[Reply], NoData),
        c(Mail, Temp451, 75, &[Reply], NoData),
        c(Mail, Perm554, 69, &[Reply], NoData),
        c(Mail, Stall, 75, &[TimedOut], NoData),
        c(Mail, Malformed, 76, &[Protocol], NoData),
        c(Mail, LongLine, 76, &[Protocol], NoData),
        c(Mail, Flood, 76, &[Protocol], NoData),
        c(Mail, Unsolicited, 76, &[Unasked], NoData),

        c(Rcpt1, Close, 75, &[Lost], NoData),
        c(Rcpt1, Reset, 75, &[Lost], NoData),
        c(Rcpt1, Bye421, 75, &[Reply], NoData),
        c(Rcpt1, Temp451, 75, &[Reply, Names("bob@example.org")], Once),
        c(Rcpt1, Perm554, 67, &[Reply, Names("bob@example.org")], Once),
        c(Rcpt1, Stall, 75, &[TimedOut], NoData),
        c(Rcpt1, Malformed, 76, &[Protocol], NoData),
        c(Rcpt1, LongLine, 76, &[Protocol], NoData),
        c(Rcpt1, Flood, 76, &[Protocol], NoData),
        c(Rcpt1, Unsolicited, 76, &[Unasked], NoData),

        c(Rcpt2, Close, 75, &[Lost], NoData),
        c(Rcpt2, Reset, 75, &[Lost], NoData),
        c(Rcpt2, Bye421, 75, &[Reply], NoData),
        c(Rcpt2, Temp451, 75, &[Reply, Names("carol@example.org")], Once),
        c(Rcpt2, Perm554, 67, &[Reply, Names("carol@example.org")], Once),
        c(Rcpt2, Stall, 75, &[TimedOut], NoData),
        c(Rcpt2, Malformed, 76, &[Protocol], NoData),
        c(Rcpt2, LongLine, 76, &[Protocol], NoData),
        c(Rcpt2, Flood, 76, &[Protocol], NoData),
        c(Rcpt2, Unsolicited, 76, &[Unasked], NoData),

        c(Data, Close, 75, &[Lost], NoData),
        c(Data, Reset, 75, &[Lost], NoData),
        c(Data, Bye421, 75, &[Reply], NoData),
        c(Data, Temp451, 75, &[Reply], NoData),
        c(Data, Perm554, 69, &[Reply], NoData),
        c(Data, Stall, 75, &[TimedOut], NoData),
        c(Data, Malformed, 76, &[Protocol], NoData),
        c(Data, LongLine, 76, &[Protocol], NoData),
        c(Data, Flood, 76, &[Protocol], NoData),
        c(Data, Unsolicited, 76, &[Unasked], NoData),

        c(Transfer, Close, 75, &[Lost], Incomplete),
        c(Transfer, Reset, 75, &[Lost], Incomplete),
        c(Transfer, Bye421, 75, &[Reply], NoData),
        c(Transfer, Temp451, 75, &[Reply], NoData),
        c(Transfer, Perm554, 69, &[Reply], NoData),
        c(Transfer, Stall, 75, &[TimedOut], Incomplete),
        c(Transfer, Malformed, 76, &[Protocol], NoData),
        c(Transfer, LongLine, 76, &[Protocol], NoData),
        c(Transfer, Flood, 76, &[Protocol], NoData),
        c(Transfer, Unsolicited, 76, &[Unasked], NoData),

        c(Final, Close, 75, &[Maybe], Once),
        c(Final, Reset, 75, &[Maybe], Once),
        c(Final, Bye421, 75, &[Reply], Once),
        c(Final, Temp451, 75, &[Reply], Once),
        c(Final, Perm554, 69, &[Reply], Once),
        c(Final, Stall, 75, &[Maybe, TimedOut], Once),
        c(Final, Malformed, 75, &[Maybe], Once),
        c(Final, LongLine, 75, &[Maybe], Once),
        c(Final, Flood, 75, &[Maybe], Once),
        c(Final, Unsolicited, 0, &[Quiet], Once),

        c(Quit, Close, 0, &[Quiet], Once),
        c(Quit, Reset, 0, &[Quiet], Once),
        c(Quit, Bye421, 0, &[Quiet], Once),
        c(Quit, Temp451, 0, &[Quiet], Once),
        c(Quit, Perm554, 0, &[Quiet], Once),
        c(Quit, Stall, 0, &[Quiet], Once),
        c(Quit, Malformed, 0, &[Quiet], Once),
        c(Quit, LongLine, 0, &[Quiet], Once),
        c(Quit, Flood, 0, &[Quiet], Once),
        c(Quit, Unsolicited, 0, &[Quiet], Once),

        c(Lmtp, Close, 75, &[Maybe, Names("carol@example.org")], Once),
        c(Lmtp, Reset, 75, &[Maybe, Names("carol@example.org")], Once),
        c(Lmtp, Bye421, 75, &[Reply, Names("carol@example.org")], Once),
        c(Lmtp, Temp451, 75, &[Reply, Names("carol@example.org")], Once),
        c(Lmtp, Perm554, 67, &[Reply, Names("carol@example.org")], Once),
        c(Lmtp, Stall, 75, &[Maybe, TimedOut, Names("carol@example.org")], Once),
        c(Lmtp, Malformed, 75, &[Maybe, Names("carol@example.org")], Once),
        c(Lmtp, LongLine, 75, &[Maybe, Names("carol@example.org")], Once),
        c(Lmtp, Flood, 75, &[Maybe, Names("carol@example.org")], Once),
        c(Lmtp, Unsolicited, 0, &[Quiet], Once),
    ]
}

/// The modes a stage runs in: CHUNKING only changes the data stages; the refused port has no server.
fn modes(at: At) -> &'static [Mode] {
    match at {
        At::Connect => &[Mode::Plain],
        At::Data | At::Transfer | At::Final | At::Quit | At::Lmtp => {
            &[Mode::Plain, Mode::Pipelining, Mode::Chunking]
        }
        _ => &[Mode::Plain, Mode::Pipelining],
    }
}

/// The whole matrix, a few cells at a time (each cell has its own server and HOME).
#[test]
fn fault_matrix() {
    let pki = Pki::new();
    let cells = table();
    let jobs: Vec<(&Cell, Mode)> = cells
        .iter()
        .flat_map(|cell| modes(cell.at).iter().map(move |&mode| (cell, mode)))
        .collect();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&(cell, mode)) = jobs.get(i) else {
                        return;
                    };
                    let started = Instant::now();
                    let r = setup::execute(cell, mode, &pki);
                    let elapsed = started.elapsed();
                    let problems = verdict::check(cell, mode, &r, elapsed);
                    let first_line = r.stderr.lines().next().unwrap_or("");
                    let row = format!(
                        "{:<10} {:<9} {:<11} exit {:>4} (want {:>2}) {:>5} ms  {}",
                        format!("{mode:?}"),
                        format!("{:?}", cell.at),
                        format!("{:?}", cell.fault),
                        r.code.map_or("sig".to_string(), |c| c.to_string()),
                        cell.code,
                        elapsed.as_millis(),
                        first_line.chars().take(100).collect::<String>(),
                    );
                    if problems.is_empty() {
                        eprintln!("ok    {row}");
                    } else {
                        eprintln!("FAIL  {row}\n      {}", problems.join("; "));
                        let detail = format!(
                            "{mode:?} {:?} {:?}: {}\n    stderr: {}\n    server got: {:?}",
                            cell.at,
                            cell.fault,
                            problems.join("; "),
                            r.stderr.trim_end().replace('\n', "\n            "),
                            r.transcript.commands
                        );
                        if let Ok(mut f) = failures.lock() {
                            f.push(detail);
                        }
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap_or_default();
    assert!(
        failures.is_empty(),
        "{} of {} cells failed:\n{}",
        failures.len(),
        jobs.len(),
        failures.join("\n")
    );
}
