//! Typed engine errors. Each keeps what the user needs to hear: the stage, the server's reply, which
//! recipients did and did not get the message. The one map from these to exit codes lives in the exit
//! module, above the engine; this one imports only the engine's reply, command and auth modules and
//! `crate::tls` (to describe a TLS alert).

use std::io;

use super::auth::AuthError;
use super::command::CommandError;
use super::reply::{Code, Reply, ReplyError};

/// Where in the session something happened (for messages and for the fault matrix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Connect,
    Greeting,
    Hello,
    StartTls,
    TlsHandshake,
    Auth,
    Mail,
    Rcpt,
    Data,
    DataTransfer,
    FinalReply,
    Command,
    Quit,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Connect => "connecting",
            Stage::Greeting => "waiting for the greeting",
            Stage::Hello => "EHLO",
            Stage::StartTls => "STARTTLS",
            Stage::TlsHandshake => "the TLS handshake",
            Stage::Auth => "authentication",
            Stage::Mail => "MAIL FROM",
            Stage::Rcpt => "RCPT TO",
            Stage::Data => "DATA",
            Stage::DataTransfer => "sending the message data",
            Stage::FinalReply => "waiting for the reply to the end of the data",
            Stage::Command => "the command",
            Stage::Quit => "QUIT",
        })
    }
}

/// A recipient and the server's answer to it.
pub type Refusal = (String, Reply);

/// A recipient the server took the message for, with the reply that took it: over LMTP each recipient's
/// own (RFC 2033 §4.2), over SMTP the one reply to the data.
pub type Acceptance = (String, Reply);

/// Who may, who does and who does not have the message when the end of a transaction went unanswered
/// (spec §7: say which recipients did and did not get it).
#[derive(Debug, Clone, Default)]
pub struct Partial {
    /// Recipients whose outcome is unknown: they may have the message.
    pub unknown: Vec<String>,
    /// LMTP recipients already answered 250.
    pub delivered: Vec<Acceptance>,
    /// Recipients refused at RCPT (or, LMTP, after the data): they do not have it.
    pub refused: Vec<Refusal>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `definite`: the name does not exist (NXDOMAIN, no address), not a lookup that failed.
    #[error("cannot resolve host {host}: {source}")]
    Resolve {
        host: String,
        source: io::Error,
        definite: bool,
    },
    #[error("cannot connect to {target}: {source}")]
    Connect { target: String, source: io::Error },
    #[error("timed out {}", waiting(*stage))]
    Timeout { stage: Stage },
    #[error("the server closed the connection {}", during(*stage))]
    Closed { stage: Stage },
    #[error("connection error {}: {source}", during(*stage))]
    Io { stage: Stage, source: io::Error },
    #[error("protocol error {}: {source}", during(*stage))]
    Protocol { stage: Stage, source: ReplyError },
    #[error("the server sent data nobody asked for {} (a reply to a command that was not sent); stopped", during(*stage))]
    Unsolicited { stage: Stage },
    #[error("the server did not greet with 220: {0}")]
    Greeting(Reply),
    #[error("the server refused {stage}: {reply}")]
    Rejected { stage: Stage, reply: Reply },
    /// A reply that does not belong where it came (catalogue item 30): 221 to anything but QUIT, or a
    /// positive reply other than the one the command has.
    #[error("{}", unexpected_text(*stage, reply))]
    Unexpected { stage: Stage, reply: Reply },
    #[error("{}", refused_text(refused))]
    RecipientsRefused { refused: Vec<Refusal> },
    #[error(
        "the connection was lost after the message was sent ({cause}); the message may have been delivered"
    )]
    UnknownOutcome { cause: String, partial: Partial },
    #[error("{0}")]
    NotOffered(String),
    #[error(
        "the message is {size} bytes but the server accepts at most {limit} (SIZE); nothing was sent"
    )]
    MessageTooBig { size: u64, limit: u64 },
    #[error("{0}")]
    InvalidCommand(#[from] CommandError),
    #[error(
        "the server sent data after its 220 reply to STARTTLS and before the TLS handshake (response injection attack); stopped"
    )]
    StartTlsInjection,
    /// `certificate`: a certificate was refused, the server's or ours ([`crate::tls::is_certificate_error`]):
    /// the trust set-up, not the moment (the queue holds such mail rather than retrying it).
    #[error("TLS error during {stage}: {message}")]
    Tls {
        stage: Stage,
        message: String,
        certificate: bool,
    },
    /// The server answered the handshake with something that is not TLS. `implicit`: on a connection
    /// that starts with TLS (RFC 8314 §3), where the likely cause is a plaintext port, so the text says
    /// what to try.
    #[error(
        "TLS error during {stage}: {}{}",
        crate::tls::NOT_TLS,
        if *implicit { " (a plaintext port? try --tls starttls or --tls off)" } else { "" }
    )]
    NotTls { stage: Stage, implicit: bool },
    #[error("authentication failed ({mechanism}): {reply}")]
    AuthFailed { mechanism: String, reply: Reply },
    #[error("authentication failed ({mechanism}): {source}")]
    AuthExchange {
        mechanism: String,
        source: AuthError,
    },
    #[error("the server sent more than {0} AUTH challenges; stopped (endless AUTH loop)")]
    AuthLoop(usize),
    #[error("{0}")]
    Policy(String),
    #[error("cannot read the message: {0}")]
    Input(io::Error),
}

/// "waiting for the greeting" reads as it is; "the TLS handshake", "EHLO" want a "during".
fn waiting(stage: Stage) -> String {
    let text = stage.to_string();
    match text.starts_with("waiting") {
        true => text,
        false => format!("during {text}"),
    }
}

fn during(stage: Stage) -> String {
    format!("during {stage}")
}

fn unexpected_text(stage: Stage, reply: &Reply) -> String {
    if reply.code == Code::CLOSING {
        // RFC 5321 §4.2.2: 221 is "closing transmission channel"; it answers QUIT and nothing else.
        let at = match waiting(stage) {
            text if text.starts_with("waiting") => format!("while {text}"),
            text => text,
        };
        return format!("the server closed the session with {reply} {at} (221 answers only QUIT)");
    }
    format!("the server answered {stage} with {reply}, a reply that does not belong there; stopped")
}

fn refused_text(refused: &[Refusal]) -> String {
    let list: Vec<String> = refused
        .iter()
        // Issue 10, point 17: the address is escaped like the reply (catalogue item 29).
        .map(|(r, reply)| format!("<{}>: {reply}", super::reply::printable(r.as_bytes())))
        .collect();
    format!("the server refused every recipient: {}", list.join("; "))
}

/// What getaddrinfo(3)'s gai_strerror says for a definite "no such name": EAI_NONAME and
/// EAI_NODATA in glibc, musl and the BSDs. std's `to_socket_addrs` keeps only this text
/// ("failed to lookup address information: …"), so the text is what can be classified.
const NO_SUCH_NAME: &[&str] = &[
    "Name or service not known",                    // glibc EAI_NONAME
    "No address associated with hostname",          // glibc EAI_NODATA
    "Name does not resolve",                        // musl EAI_NONAME
    "nodename nor servname provided, or not known", // BSD, macOS EAI_NONAME
    "No address associated with nodename",          // BSD EAI_NODATA
];

/// Issue 10, point 2: only a definite "no such name" is 68; anything else that went wrong in a
/// lookup (EAI_AGAIN from an unreachable resolver, EAI_FAIL from a SERVFAIL, a system error) may
/// pass, so it is temporary (75), and the queue retries it.
pub(crate) fn name_does_not_exist(e: &io::Error) -> bool {
    if e.kind() == io::ErrorKind::NotFound {
        return true;
    }
    let text = e.to_string();
    NO_SUCH_NAME.iter().any(|m| text.contains(m))
}

impl Error {
    /// A failed lookup of `host`, classified as definite or temporary.
    pub(crate) fn resolve(host: &str, source: io::Error) -> Error {
        Error::Resolve {
            host: host.to_owned(),
            definite: name_does_not_exist(&source),
            source,
        }
    }

    /// A TLS failure, described for people and classified once.
    pub(crate) fn tls(stage: Stage, e: &rustls::Error) -> Error {
        Error::Tls {
            stage,
            message: crate::tls::describe_error(e),
            certificate: crate::tls::is_certificate_error(e),
        }
    }

    pub(crate) fn io(stage: Stage, e: io::Error) -> Error {
        // Inside TLS a read can fail with a TLS alert (TLS 1.3 reports a refused client certificate only
        // after the handshake): that is a TLS failure (76), not a lost connection.
        if let Some(tls_error) = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return match tls_error {
                rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType) => {
                    Error::NotTls {
                        stage,
                        implicit: false,
                    }
                }
                _ => Error::tls(stage, tls_error),
            };
        }
        match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::Timeout { stage },
            io::ErrorKind::UnexpectedEof | io::ErrorKind::BrokenPipe => Error::Closed { stage },
            _ => Error::Io { stage, source: e },
        }
    }

    /// The server's reply that ended the session, if one did.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Error::Greeting(r)
            | Error::Rejected { reply: r, .. }
            | Error::Unexpected { reply: r, .. }
            | Error::AuthFailed { reply: r, .. } => Some(r),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// std's text around gai_strerror's, as `to_socket_addrs` reports a failed lookup.
    fn lookup_error(gai: &str) -> io::Error {
        io::Error::other(format!("failed to lookup address information: {gai}"))
    }

    /// Issue 10, point 2: a resolver that cannot be reached (EAI_AGAIN) was "host does not exist"
    /// (68); only a definite no-such-name is, every other lookup failure is temporary.
    #[test]
    fn temporary_dns_failure_is_not_host_does_not_exist() {
        for (gai, definite) in [
            ("Name or service not known", true),
            ("No address associated with hostname", true),
            ("Name does not resolve", true),
            ("nodename nor servname provided, or not known", true),
            ("Temporary failure in name resolution", false),
            ("Non-recoverable failure in name resolution", false),
            ("Try again", false),
            ("System error", false),
            ("Address family for hostname not supported", false),
        ] {
            let error = Error::resolve("mail.example", lookup_error(gai));
            assert!(
                matches!(error, Error::Resolve { definite: d, .. } if d == definite),
                "{gai}: {error:?}"
            );
        }
        // A name with addresses, none of the family --source-address needs: definite.
        let family = io::Error::new(io::ErrorKind::NotFound, "no address of the right family");
        assert!(name_does_not_exist(&family));
    }

    /// Issue 11, point 5: a server that does not speak TLS was recognised by comparing the error's
    /// text; it is a variant of its own, which the dialer marks as implicit TLS.
    #[test]
    fn a_plaintext_answer_to_the_handshake_is_its_own_variant() {
        let alert = rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType);
        let error = Error::io(
            Stage::TlsHandshake,
            io::Error::new(io::ErrorKind::InvalidData, alert),
        );
        assert!(
            matches!(
                error,
                Error::NotTls {
                    stage: Stage::TlsHandshake,
                    implicit: false
                }
            ),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "TLS error during the TLS handshake: the server did not answer with TLS"
        );
        let other = rustls::Error::DecryptError;
        let error = Error::io(
            Stage::TlsHandshake,
            io::Error::new(io::ErrorKind::InvalidData, other),
        );
        assert!(matches!(error, Error::Tls { .. }), "{error:?}");
    }
}
