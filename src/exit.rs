//! The one map from a failure to a sysexits.h status (spec §7). Engine errors keep their replies; this
//! module only decides the number, so the table in the man page and this code say the same thing.

use crate::smtp::error::Error;
use crate::smtp::reply::Reply;

pub mod status;

pub use status::{
    CONFIG, DATAERR, IOERR, NOHOST, NOPERM, NOUSER, OK, PROTOCOL, TEMPFAIL, UNAVAILABLE, USAGE,
};

/// A failure outside the engine that carries its own status: usage, input, configuration.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Exit {
    pub code: u8,
    pub message: String,
}

impl Exit {
    pub fn new(code: u8, message: impl Into<String>) -> Exit {
        Exit {
            code,
            message: message.into(),
        }
    }
    pub fn usage(message: impl Into<String>) -> Exit {
        Exit::new(USAGE, message)
    }
    pub fn data(message: impl Into<String>) -> Exit {
        Exit::new(DATAERR, message)
    }
    pub fn config(message: impl Into<String>) -> Exit {
        Exit::new(CONFIG, message)
    }
    pub fn io(message: impl Into<String>) -> Exit {
        Exit::new(IOERR, message)
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
pub fn for_refusals<'a>(replies: impl IntoIterator<Item = &'a Reply>) -> u8 {
    let mut code = OK;
    for reply in replies {
        if reply.is_transient() {
            return TEMPFAIL;
        }
        code = NOUSER;
    }
    code
}

pub fn for_engine(error: &Error) -> u8 {
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

/// The status for any error that reaches main.
pub fn code(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<Exit>() {
            return e.code;
        }
        if let Some(e) = cause.downcast_ref::<Error>() {
            return for_engine(e);
        }
        if cause.downcast_ref::<crate::config::ConfigError>().is_some()
            || cause.downcast_ref::<crate::tls::TlsConfigError>().is_some()
        {
            return CONFIG;
        }
        if cause
            .downcast_ref::<crate::message::headers::MessageError>()
            .is_some()
        {
            return DATAERR;
        }
    }
    // An error no module classified: say so plainly rather than guess a server outcome.
    UNAVAILABLE
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
