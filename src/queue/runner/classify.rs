//! Whose fault a failure is (spec §9 "Held, not bounced"): the message's (a 5xx to it: that recipient
//! fails), the moment's (a 4xx, a lost connection: retry later), or the smarthost's configuration (AUTH
//! refused, 530/534/535, 5.7.30 "basic auth disabled", a certificate not trusted, a password command
//! failing, a server name that does not exist): held, never bounced, since every message would fail the
//! same way (dma bounced every message ~15 times a day for its own AUTH failure).

use crate::smtp::error::Error;
use crate::smtp::reply::Reply;

/// What one attempt, or one dial, came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every pending recipient has the message.
    Delivered,
    /// Some recipients were refused for good or for now; the session goes on.
    Refused,
    /// The whole entry waits for a later run; the session goes on.
    Deferred,
    /// The smarthost's configuration: hold this and the group's remaining entries.
    Hold(String),
    /// The connection is gone: the run ends here.
    Stop(String),
}

/// A reply that says the smarthost wants other credentials or settings, not another message.
pub fn is_configuration(reply: &Reply) -> bool {
    matches!(reply.code.get(), 530 | 534 | 535) || reply.to_string().contains("5.7.30")
}

/// A failure to dial: hold for the smarthost's configuration, else the run stops (the first connection
/// or TLS failure ends it).
pub fn dial_failure(error: &anyhow::Error) -> Verdict {
    let reason = crate::exit::causes(error).join(": ");
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<Error>() {
            return match configuration_error(e) {
                true => Verdict::Hold(reason),
                false => Verdict::Stop(reason),
            };
        }
    }
    // Not the engine's: the password command, the TLS files, the account (exit 78).
    match crate::exit::classify(error) {
        crate::exit::CONFIG | crate::exit::NOPERM => Verdict::Hold(reason),
        _ => Verdict::Stop(reason),
    }
}

/// Engine errors that are the smarthost's configuration.
fn configuration_error(error: &Error) -> bool {
    match error {
        Error::AuthFailed { reply, .. } => !reply.is_transient(),
        Error::AuthExchange { .. }
        | Error::AuthLoop(_)
        | Error::Policy(_)
        | Error::NotOffered(_) => true,
        Error::Resolve { definite, .. } => *definite,
        Error::Tls { certificate, .. } => *certificate,
        Error::Rejected { reply, .. } | Error::Greeting(reply) => is_configuration(reply),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::error::Stage;

    fn verdict(error: Error) -> bool {
        matches!(dial_failure(&anyhow::Error::new(error)), Verdict::Hold(_))
    }

    #[test]
    fn configuration_failures_hold_and_the_rest_stop() {
        let auth = |code| Error::AuthFailed {
            mechanism: "PLAIN".into(),
            reply: Reply::new(code, "5.7.8 no"),
        };
        assert!(verdict(auth(535)));
        assert!(!verdict(auth(454)), "a temporary AUTH failure is retried");
        assert!(verdict(Error::Rejected {
            stage: Stage::Mail,
            reply: Reply::new(530, "5.7.0 Authentication required"),
        }));
        assert!(verdict(Error::Rejected {
            stage: Stage::Mail,
            reply: Reply::new(550, "5.7.30 Basic authentication is disabled"),
        }));
        let expired = rustls::Error::InvalidCertificate(rustls::CertificateError::Expired);
        assert!(verdict(Error::tls(Stage::TlsHandshake, &expired)));
        let aborted = rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure);
        assert!(!verdict(Error::tls(Stage::TlsHandshake, &aborted)));
        assert!(!verdict(Error::Connect {
            target: "h:25".into(),
            source: std::io::ErrorKind::ConnectionRefused.into(),
        }));
        let dns = |gai: &str| Error::resolve("h", std::io::Error::other(gai.to_owned()));
        assert!(verdict(dns("Name or service not known")));
        assert!(
            !verdict(dns("Temporary failure in name resolution")),
            "dma issue 30"
        );
        let command = anyhow::Error::new(crate::password::PasswordError::Failed { code: Some(1) });
        assert!(matches!(dial_failure(&command), Verdict::Hold(_)));
    }
}
