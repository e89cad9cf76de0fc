//! The one map from a failure to a sysexits.h status (spec §7): [`classify`] turns an error into a
//! number and [`for_outcome`] a run that did not fail, for main's exit and for the log line alike; no
//! other module picks one. Each area has its own typed error whose variants say what went wrong (the
//! engine's [`Error`] keeps the server's reply); this module decides the status of each, from the one
//! table in [`status`], which the man page lists.
//!
//! Imports every area's error type, so that none of them imports this module: they live in leaf
//! modules (`settings::error`, `debug::error`, `message::input`) or in modules that pick no status.

use std::io;

use crate::config::ConfigError;
use crate::debug::error::DebugError;
use crate::message::compose::ComposeError;
use crate::message::headers::MessageError;
use crate::message::input::InputError;
use crate::password::PasswordError;
use crate::queue::QueueError;
use crate::serve::error::ServeError;
use crate::settings::error::{AliasesError, SettingsError};
use crate::smtp::error::Error;
use crate::smtp::reply::Reply;
use crate::tls::TlsConfigError;

pub mod status;

pub use status::{
    CONFIG, DATAERR, IOERR, NOHOST, NOINPUT, NOPERM, NOUSER, OK, PROTOCOL, TEMPFAIL, UNAVAILABLE,
    USAGE,
};

/// How a run that did not fail ended; [`for_outcome`] says what it exits with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done as asked: the message accepted for every recipient, the report printed, the dialogue
    /// ended.
    Done,
    /// The replies refusing some recipients; the others got the message (or, `--quit-after rcpt`,
    /// were accepted).
    Refused(Vec<Reply>),
    /// The replies to `--command`, `--verify` and `--expn`, in order.
    Answered(Vec<Reply>),
    /// The server closed the session with 421 (`--command`, `--interactive`).
    Closing,
    /// `--serverinfo`: the server's certificate failed verification; a send would have stopped.
    CertificateFailed,
    /// `-q`: the run stopped at a connection failure; the rest waits for the next run (spec §9).
    QueueStopped,
    /// `--queue-check`: something is held or older than `queue_warn` (spec §9).
    QueueProblems,
}

impl Outcome {
    /// The refusals of a send (or of `--quit-after rcpt`); none is [`Outcome::Done`].
    pub fn refusals(refused: &[crate::smtp::error::Refusal]) -> Outcome {
        match refused.is_empty() {
            true => Outcome::Done,
            false => Outcome::Refused(refused.iter().map(|(_, r)| r.clone()).collect()),
        }
    }
}

/// The status of a run that did not fail.
pub fn for_outcome(outcome: &Outcome) -> u8 {
    match outcome {
        Outcome::Done => OK,
        Outcome::Refused(replies) => for_refusals(replies),
        // Spec §1: 75 once any reply was 4xx (worth retrying), else 69 when any was 5xx.
        Outcome::Answered(replies) if replies.iter().any(Reply::is_transient) => TEMPFAIL,
        Outcome::Answered(replies) if replies.iter().any(Reply::is_permanent) => UNAVAILABLE,
        Outcome::Answered(_) => OK,
        Outcome::Closing => TEMPFAIL,
        Outcome::CertificateFailed => PROTOCOL,
        Outcome::QueueStopped | Outcome::QueueProblems => TEMPFAIL,
    }
}

/// 4xx → 75, 5xx → `permanent`, anything else where a refusal was expected is a protocol error.
fn by_class(reply: &Reply, permanent: u8) -> u8 {
    match reply.class() {
        4 => TEMPFAIL,
        5 => permanent,
        _ => PROTOCOL,
    }
}

/// Refused recipients: any temporary refusal means a retry can still help (75), else 67.
fn for_refusals<'a>(replies: impl IntoIterator<Item = &'a Reply>) -> u8 {
    let mut code = OK;
    for reply in replies {
        if reply.is_transient() {
            return TEMPFAIL;
        }
        code = NOUSER;
    }
    code
}

fn for_engine(error: &Error) -> u8 {
    match error {
        // Issue 10, point 2: a lookup that failed is not a name that does not exist.
        Error::Resolve { definite: true, .. } => NOHOST,
        Error::Resolve { .. }
        | Error::Connect { .. }
        | Error::Timeout { .. }
        | Error::Closed { .. }
        | Error::Io { .. }
        | Error::UnknownOutcome { .. } => TEMPFAIL,
        Error::Protocol { .. }
        | Error::Unsolicited { .. }
        | Error::Unexpected { .. }
        | Error::StartTlsInjection
        | Error::Tls { .. }
        | Error::NotTls { .. }
        | Error::AuthLoop(_) => PROTOCOL,
        Error::Greeting(reply) | Error::Rejected { reply, .. } => by_class(reply, UNAVAILABLE),
        Error::RecipientsRefused { refused } => for_refusals(refused.iter().map(|(_, r)| r)),
        Error::NotOffered(_) | Error::MessageTooBig { .. } => UNAVAILABLE,
        Error::InvalidCommand(_) => DATAERR,
        // A 4xx to AUTH (454 temporary authentication failure, 421) is worth a retry (spec §7).
        Error::AuthFailed { reply, .. } if reply.is_transient() => TEMPFAIL,
        Error::AuthFailed { .. } | Error::AuthExchange { .. } => NOPERM,
        Error::Policy(_) => CONFIG,
        Error::Input(_) => IOERR,
    }
}

/// The status for any error that reaches main (or the log line): the first cause in the chain that
/// an area's typed error classifies.
pub fn classify(error: &anyhow::Error) -> u8 {
    error
        .chain()
        .find_map(classify_cause)
        // An error no module classified: say so plainly rather than guess a server outcome.
        .unwrap_or(UNAVAILABLE)
}

fn classify_cause(cause: &(dyn std::error::Error + 'static)) -> Option<u8> {
    if let Some(e) = cause.downcast_ref::<Error>() {
        return Some(for_engine(e));
    }
    if let Some(e) = cause.downcast_ref::<SettingsError>() {
        return Some(for_settings(e));
    }
    if let Some(e) = cause.downcast_ref::<MessageError>() {
        return Some(for_message(e));
    }
    if let Some(e) = cause.downcast_ref::<InputError>() {
        return Some(for_input(e));
    }
    if let Some(e) = cause.downcast_ref::<ComposeError>() {
        return Some(for_compose(e));
    }
    if let Some(e) = cause.downcast_ref::<DebugError>() {
        return Some(for_debug(e));
    }
    if let Some(e) = cause.downcast_ref::<QueueError>() {
        return Some(for_queue(e));
    }
    if let Some(e) = cause.downcast_ref::<ServeError>() {
        return Some(for_serve(e));
    }
    if let Some(e) = cause.downcast_ref::<clap::Error>() {
        // `--help` and `--version` come as errors too, printed on stdout (clap's use_stderr).
        return Some(if e.use_stderr() { USAGE } else { OK });
    }
    if cause.is::<ConfigError>()
        || cause.is::<TlsConfigError>()
        || cause.is::<PasswordError>()
        || cause.is::<AliasesError>()
    {
        return Some(CONFIG);
    }
    // Every area wraps the I/O errors of its own input; a bare one is this process's output (a
    // report, --pretend, the man page) that could not be written.
    if cause.is::<io::Error>() {
        return Some(IOERR);
    }
    None
}

/// Spec §9: a queue that cannot be written, a full disk or a busy entry is temporary; an ID that names
/// nothing is a usage error, another user's entry a permission one.
fn for_queue(error: &QueueError) -> u8 {
    match error {
        QueueError::NotFound(_) | QueueError::Usage(_) => USAGE,
        QueueError::NotYours(_) => NOPERM,
        QueueError::Nowhere => CONFIG,
        QueueError::NoSpace { .. }
        | QueueError::NotWritable { .. }
        | QueueError::NotPlain { .. }
        | QueueError::Io { .. }
        | QueueError::Busy(_)
        | QueueError::Corrupt { .. } => TEMPFAIL,
    }
}

/// Spec §10: input that ended inside the data, or a client gone silent, is temporary (the caller may
/// send again); a pipe that cannot be read or written is an I/O error.
fn for_serve(error: &ServeError) -> u8 {
    match error {
        ServeError::EndOfInputInData | ServeError::Timeout { .. } => TEMPFAIL,
        ServeError::Read(_) | ServeError::Write(_) => IOERR,
    }
}

fn for_settings(error: &SettingsError) -> u8 {
    match error {
        SettingsError::BadPort { .. }
        | SettingsError::UnclosedBracket { .. }
        | SettingsError::BadDomain { .. }
        | SettingsError::BadSourceAddress(_)
        | SettingsError::BadDsnNotify(_)
        | SettingsError::BadDsnRet(_)
        | SettingsError::BadDsnEnvid
        | SettingsError::ServeWith(_)
        | SettingsError::ComposeWith(_)
        | SettingsError::BadHeaderField(_)
        | SettingsError::ServeDebugWithoutFile => USAGE,
        SettingsError::RefusedSetgid(_) => NOPERM,
        SettingsError::AccountWithoutFile
        | SettingsError::AuthWithoutUser
        | SettingsError::MechanismWithoutUser(_)
        | SettingsError::SocketTlsWithoutName
        | SettingsError::HomeNeeded { .. }
        | SettingsError::NoLoginName => CONFIG,
        // A login name no address can hold is unusable input, like a bad -f (spec §2 rule 4).
        SettingsError::UnusableLoginName { .. } => DATAERR,
    }
}

fn for_message(error: &MessageError) -> u8 {
    match error {
        // Spec §7: no recipients is a usage error, whether none was given or -t found none.
        MessageError::NoRecipients { .. } => USAGE,
        MessageError::HeaderTooLarge
        | MessageError::NulInHeader { .. }
        | MessageError::BareCrInHeader { .. }
        | MessageError::BareCrInHeaderSection
        | MessageError::ControlInAddress(_)
        | MessageError::AddressSyntax { .. }
        | MessageError::LocalPartTooLong(_)
        | MessageError::DomainTooLong(_)
        | MessageError::AddressTooLong(_)
        | MessageError::NotAField { .. }
        | MessageError::InHeader { .. }
        | MessageError::ControlInFullName
        | MessageError::FullNameTooLong(_)
        | MessageError::BadGeneratedValue { .. }
        | MessageError::SenderNotOne(_) => DATAERR,
    }
}

fn for_input(error: &InputError) -> u8 {
    match error {
        // Issue 10, point 15: a full spool is this host's temporary failure, not the input's.
        InputError::SpoolWrite {
            temporary: true, ..
        } => TEMPFAIL,
        InputError::Open { .. }
        | InputError::Read { .. }
        | InputError::SpoolWrite { .. }
        | InputError::Spooled(_) => IOERR,
    }
}

/// Spec §11: a file the compose flags name that cannot be read is EX_NOINPUT, before any connection.
fn for_compose(error: &ComposeError) -> u8 {
    match error {
        ComposeError::Open { .. } => NOINPUT,
        ComposeError::Stdin(_) => IOERR,
        ComposeError::NotText { .. } => DATAERR,
        ComposeError::BadHeader(_) | ComposeError::BadAttach(_) => USAGE,
    }
}

fn for_debug(error: &DebugError) -> u8 {
    match error {
        DebugError::EmptyCommand
        | DebugError::Typed(_)
        | DebugError::StarttlsWithoutTls
        | DebugError::AuthWithoutLogin
        | DebugError::NoEnvelope
        | DebugError::NotATerminal => USAGE,
        // Spec §3: a command holding CR, LF or NUL is unusable input (65).
        DebugError::Unsendable { .. } => DATAERR,
        DebugError::Terminal(_) | DebugError::TerminalRead(_) => IOERR,
    }
}

/// The texts of an error's chain, outermost first, each cause once: a cause whose text its wrapper
/// already quotes ("cannot connect to h: Connection refused" around "Connection refused") is left
/// out (issue 10, point 21: the log line said the cause twice).
pub fn causes(error: &anyhow::Error) -> Vec<String> {
    let mut chain: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !chain.last().is_some_and(|outer| outer.contains(&text)) {
            chain.push(text);
        }
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::error::Stage;

    fn status_of(error: impl std::error::Error + Send + Sync + 'static) -> u8 {
        classify(&anyhow::Error::new(error))
    }

    /// Issue 11, point 5: every area's typed error gets its status here, as `Exit { code }` gave it
    /// at each site before (spec §7).
    #[test]
    fn each_area_error_has_the_status_of_spec_7() {
        let usage = [
            SettingsError::BadDsnRet("x".into()),
            SettingsError::BadSourceAddress("x".into()),
        ];
        for e in usage {
            assert_eq!(status_of(e), USAGE);
        }
        assert_eq!(status_of(SettingsError::AccountWithoutFile), CONFIG);
        assert_eq!(status_of(SettingsError::NoLoginName), CONFIG);
        let login = SettingsError::UnusableLoginName {
            quoted: "\"a b\"".into(),
            from: "$USER",
            why: "it is not one address".into(),
        };
        assert_eq!(status_of(login), DATAERR);
        let none = MessageError::NoRecipients {
            read_recipients: true,
        };
        assert_eq!(status_of(none), USAGE);
        assert_eq!(status_of(MessageError::BareCrInHeaderSection), DATAERR);
        assert_eq!(status_of(PasswordError::EmptyLine), CONFIG);
        let broken = AliasesError::Syntax {
            path: "/etc/aliases".into(),
            line: 3,
            message: "no `:`".into(),
        };
        assert_eq!(status_of(broken), CONFIG);
        let unreadable = AliasesError::Read {
            path: "/etc/aliases".into(),
            source: std::io::Error::other("x"),
        };
        assert_eq!(status_of(unreadable), CONFIG);
        assert_eq!(status_of(DebugError::NotATerminal), USAGE);
        assert_eq!(
            status_of(crate::tls::TlsConfigError::Fingerprint("x".into())),
            CONFIG
        );
        let io = || std::io::Error::other("x");
        assert_eq!(status_of(InputError::Spooled(io())), IOERR);
        let full = |temporary| InputError::SpoolWrite {
            dir: "/tmp".into(),
            source: io(),
            temporary,
        };
        assert_eq!(status_of(full(true)), TEMPFAIL);
        assert_eq!(status_of(full(false)), IOERR);
    }

    /// The first classified cause decides: context around an area's error does not change it, and
    /// an I/O error only counts where no area's error wraps it.
    #[test]
    fn the_outermost_classified_cause_decides() {
        let wrapped = anyhow::Error::new(PasswordError::EmptyLine).context("while dialling");
        assert_eq!(classify(&wrapped), CONFIG);
        let output = anyhow::Error::new(std::io::Error::other("disk full")).context("--pretend");
        assert_eq!(classify(&output), IOERR);
        let connect = anyhow::Error::new(Error::Connect {
            target: "h:25".into(),
            source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        });
        assert_eq!(classify(&connect), TEMPFAIL);
        assert_eq!(classify(&anyhow::anyhow!("unclassified")), UNAVAILABLE);
    }

    #[test]
    fn help_is_not_a_usage_error() {
        let help = crate::cli::parse_from(["mailsend", "--help"]).expect_err("prints help");
        assert_eq!(status_of(help), OK);
        let bad = crate::cli::parse_from(["mailsend", "--no-such-flag"]).expect_err("unknown");
        assert_eq!(status_of(bad), USAGE);
    }

    #[test]
    fn replies_by_class() {
        let rejected = |code| Error::Rejected {
            stage: Stage::Mail,
            reply: Reply::new(code, "x"),
        };
        assert_eq!(for_engine(&rejected(421)), TEMPFAIL);
        assert_eq!(for_engine(&rejected(451)), TEMPFAIL);
        assert_eq!(for_engine(&rejected(550)), UNAVAILABLE);
        assert_eq!(for_engine(&rejected(250)), PROTOCOL);
    }

    /// Spec §1: the replies to `--command`s are 0 while 2xx or 3xx, 75 once any was 4xx, else 69 when
    /// any was 5xx.
    #[test]
    fn command_replies_prefer_tempfail_then_unavailable() {
        let mut replies = vec![Reply::new(250, "ok"), Reply::new(354, "go")];
        assert_eq!(for_outcome(&Outcome::Answered(replies.clone())), OK);
        replies.push(Reply::new(550, "no"));
        assert_eq!(
            for_outcome(&Outcome::Answered(replies.clone())),
            UNAVAILABLE
        );
        replies.push(Reply::new(450, "later"));
        assert_eq!(for_outcome(&Outcome::Answered(replies)), TEMPFAIL);
        assert_eq!(for_outcome(&Outcome::Closing), TEMPFAIL);
        assert_eq!(for_outcome(&Outcome::CertificateFailed), PROTOCOL);
    }

    #[test]
    fn a_send_with_refusals_is_67_or_75() {
        let refused = vec![("a@x".to_owned(), Reply::new(550, "no"))];
        assert_eq!(for_outcome(&Outcome::refusals(&refused)), NOUSER);
        assert_eq!(Outcome::refusals(&[]), Outcome::Done);
        assert_eq!(for_outcome(&Outcome::Done), OK);
    }

    #[test]
    fn refusals_prefer_tempfail() {
        let r = [Reply::new(550, "no"), Reply::new(450, "later")];
        assert_eq!(for_refusals(r.iter()), TEMPFAIL);
        assert_eq!(for_refusals(r[..1].iter()), NOUSER);
        assert_eq!(for_refusals(std::iter::empty()), OK);
    }

    /// Issue 10, point 2: EAI_AGAIN is 75, NXDOMAIN 68.
    #[test]
    fn temporary_dns_failure_is_tempfail() {
        let lookup = |gai: &str| {
            Error::resolve(
                "mail.example",
                std::io::Error::other(format!("failed to lookup address information: {gai}")),
            )
        };
        assert_eq!(
            for_engine(&lookup("Temporary failure in name resolution")),
            TEMPFAIL
        );
        assert_eq!(for_engine(&lookup("Name or service not known")), NOHOST);
    }

    /// Issue 10, point 21: "Connection refused (os error 111): Connection refused (os error 111)".
    #[test]
    fn log_line_states_each_cause_once() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let text = refused.to_string();
        let error = anyhow::Error::new(Error::Connect {
            target: "h:25".into(),
            source: refused,
        })
        .context("the message was not delivered to <b@y>");
        assert_eq!(
            causes(&error),
            [
                "the message was not delivered to <b@y>".to_string(),
                format!("cannot connect to h:25: {text}"),
            ]
        );
    }

    #[test]
    fn unknown_outcome_is_tempfail() {
        assert_eq!(
            for_engine(&Error::UnknownOutcome {
                cause: "closed".into(),
                partial: Default::default(),
            }),
            TEMPFAIL
        );
    }
}
