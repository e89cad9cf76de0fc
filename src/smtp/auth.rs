//! SMTP AUTH mechanisms as data (RFC 4954): each [`Exchange`] is a pure state machine that turns a
//! server challenge into the next client line, with no I/O of its own; the session sends the lines,
//! counts the 334 rounds ([`MAX_CHALLENGES`]) and picks the mechanism ([`AUTO_ORDER`], spec §5).
//!
//! Mechanisms: PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login, smtplib's behaviour), CRAM-MD5
//! (RFC 2195), SCRAM-SHA-256 (RFC 5802/7677, in [`scram`]), XOAUTH2 (Google's protocol) and OAUTHBEARER
//! (RFC 7628). Every line that carries credentials is returned as a [`Secret`] so that no trace can print
//! it (catalogue C.22). Credentials are sent as UTF-8 (RFC 4616 §2); smtplib's ASCII-only restriction is
//! not copied.

mod scram;

use crate::secret::Secret;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_PAD_INDIFFERENT};
use hmac::{Hmac, KeyInit, Mac};
use std::fmt;

/// The mechanisms and their names live with the other setting values, so that the command line, the
/// configuration file and the engine share one list.
pub use crate::values::Mechanism;

/// `--auth on` preference (spec §5): the strongest first. XOAUTH2 and OAUTHBEARER need a token rather
/// than a password, so they are used only when named with `--auth MECH`.
pub const AUTO_ORDER: [Mechanism; 4] = [
    Mechanism::ScramSha256,
    Mechanism::CramMd5,
    Mechanism::Plain,
    Mechanism::Login,
];

/// The number of 334 challenges one AUTH may answer (smtplib's `_MAXCHALLENGE`, catalogue C.21); the
/// session enforces it.
pub const MAX_CHALLENGES: usize = 5;

/// Who authenticates. `Debug` shows the secret as `<redacted>`. The secret is lent by whoever holds it
/// (the settings, or the dialer that fetched it), never copied (issue 11).
#[derive(Debug)]
pub struct Credentials<'a> {
    pub user: String,
    /// The password, or the OAuth bearer token for XOAUTH2/OAUTHBEARER.
    pub secret: &'a Secret,
    /// The server as configured; OAUTHBEARER sends it (RFC 7628 §3.1).
    pub host: String,
    pub port: u16,
}

/// Why an exchange cannot go on. No variant carries a credential.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the server's AUTH challenge is not valid base64")]
    BadBase64,
    #[error("malformed AUTH challenge from the server: {0}")]
    BadChallenge(&'static str),
    #[error(
        "the server's SCRAM signature is wrong: it does not know the password (a possible impostor)"
    )]
    ServerSignatureMismatch,
    #[error("the server ended the SCRAM exchange with the error {0:?}")]
    ServerRefused(String),
    #[error("the server sent another AUTH challenge after the exchange was complete")]
    UnexpectedChallenge,
    #[error("the {0} contains a character that cannot be sent in AUTH (NUL, CR, LF or a control)")]
    InvalidCredential(&'static str),
    #[error("cannot read random bytes for the SCRAM nonce: {0}")]
    Random(std::io::Error),
}

/// The state of one AUTH exchange, on the credentials it borrows. `Debug` shows only the mechanism
/// and the user.
pub struct Exchange<'c> {
    mech: Mechanism,
    creds: &'c Credentials<'c>,
    initial_response_ok: bool,
    state: State,
}

enum State {
    Plain,
    /// LOGIN: whether the user name has gone out (then every later challenge gets the password).
    Login {
        user_sent: bool,
    },
    CramMd5,
    Scram(scram::Scram),
    /// XOAUTH2/OAUTHBEARER: whether the token has gone out (a later 334 is an error report).
    OAuth {
        sent: bool,
    },
}

impl fmt::Debug for Exchange<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exchange")
            .field("mechanism", &self.mech)
            .field("user", &self.creds.user)
            .finish_non_exhaustive()
    }
}

impl<'c> Exchange<'c> {
    /// Begin an exchange. Fails when a credential holds a byte the mechanism cannot carry (catalogue
    /// B.13: CR, LF and NUL never reach the wire, even base64-encoded) or when no nonce can be made.
    pub fn start(
        mech: Mechanism,
        creds: &'c Credentials<'c>,
        initial_response_ok: bool,
    ) -> Result<Exchange<'c>, AuthError> {
        check(mech, creds)?;
        let state = match mech {
            Mechanism::Plain => State::Plain,
            Mechanism::Login => State::Login { user_sent: false },
            Mechanism::CramMd5 => State::CramMd5,
            Mechanism::ScramSha256 => State::Scram(scram::Scram::new()?),
            Mechanism::XOAuth2 | Mechanism::OAuthBearer => State::OAuth { sent: false },
        };
        Ok(Exchange {
            mech,
            creds,
            initial_response_ok,
            state,
        })
    }

    /// An exchange with a fixed SCRAM client nonce, for RFC 7677's test vector.
    #[cfg(test)]
    fn start_with_nonce(creds: &'c Credentials<'c>, nonce: &str) -> Exchange<'c> {
        Exchange {
            mech: Mechanism::ScramSha256,
            creds,
            initial_response_ok: true,
            state: State::Scram(scram::Scram::with_nonce(nonce.to_owned())),
        }
    }

    pub fn mechanism(&self) -> Mechanism {
        self.mech
    }

    /// The initial response, base64-encoded (RFC 4954 §4: `=` for an empty one), if this mechanism
    /// sends one and initial responses are allowed. CRAM-MD5 never does (the challenge is its input);
    /// LOGIN sends the user name (smtplib); SCRAM its client-first message.
    pub fn initial_response(&mut self) -> Option<Secret> {
        if !self.initial_response_ok {
            return None;
        }
        let text = match &mut self.state {
            State::Plain => self.plain(),
            State::Login { user_sent } => {
                *user_sent = true;
                Secret::new(self.creds.user.clone())
            }
            State::CramMd5 => return None,
            State::Scram(s) => Secret::new(s.client_first(&self.creds.user).ok()?),
            State::OAuth { sent } => {
                *sent = true;
                self.oauth_token_message()
            }
        };
        Some(Secret::new(if text.is_empty() {
            "=".to_owned()
        } else {
            STANDARD.encode(text.expose())
        }))
    }

    /// Answer a 334 challenge (the base64 text after `334 `), returning the base64 line to send (an
    /// empty line is an empty response, RFC 4954 §4).
    pub fn respond(&mut self, challenge_b64: &[u8]) -> Result<Secret, AuthError> {
        let reply = match &mut self.state {
            // smtplib answers every PLAIN challenge with the same string; the round limit ends it.
            State::Plain => self.plain(),
            // smtplib: the challenge text ("Username:", "Password:") is ignored, the order decides.
            // The password is encoded straight from the lent secret, so no plain copy of it is made.
            State::Login { user_sent: true } => {
                return Ok(Secret::new(STANDARD.encode(self.creds.secret.expose())));
            }
            State::Login { user_sent } => {
                *user_sent = true;
                Secret::new(self.creds.user.clone())
            }
            State::CramMd5 => {
                let challenge = decode(challenge_b64)?;
                cram_md5(self.creds, &challenge)
            }
            State::Scram(s) => {
                let challenge = decode(challenge_b64)?;
                Secret::new(s.respond(&self.creds.user, self.creds.secret.expose(), &challenge)?)
            }
            State::OAuth { sent } => {
                if *sent {
                    // A 334 after the token carries a JSON error (RFC 7628 §3.2.3); the client must
                    // answer so the server can send its failure reply: %x01 for OAUTHBEARER, an
                    // empty line for XOAUTH2 (Google's documentation).
                    Secret::new(match self.mech {
                        Mechanism::OAuthBearer => "\x01",
                        _ => "",
                    })
                } else {
                    *sent = true;
                    self.oauth_token_message()
                }
            }
        };
        Ok(Secret::new(STANDARD.encode(reply.expose())))
    }

    /// After the final 235: whether the exchange is complete from the client's side. For SCRAM this is
    /// whether the server's signature was verified (RFC 5802 §5); a 235 without it must be treated as a
    /// failure, since the server has not proved it knows the password.
    pub fn finished_ok(&self) -> bool {
        match &self.state {
            State::Scram(s) => s.verified(),
            _ => true,
        }
    }

    /// RFC 4616 §2: `[authzid] NUL authcid NUL passwd`, with an empty authzid as smtplib sends.
    fn plain(&self) -> Secret {
        Secret::new(format!(
            "\0{}\0{}",
            self.creds.user,
            self.creds.secret.expose()
        ))
    }

    /// XOAUTH2 `user=U^Aauth=Bearer T^A^A`, or OAUTHBEARER's RFC 7628 §3.1 client response with the
    /// gs2 header `n,a=U,` (RFC 5801 §4 saslname escaping) and the host and port key-value pairs.
    fn oauth_token_message(&self) -> Secret {
        let c = &self.creds;
        let token = c.secret.expose();
        Secret::new(match self.mech {
            Mechanism::OAuthBearer => {
                let authzid = c.user.replace('=', "=3D").replace(',', "=2C");
                format!(
                    "n,a={authzid},\x01host={}\x01port={}\x01auth=Bearer {token}\x01\x01",
                    c.host, c.port
                )
            }
            _ => format!("user={}\x01auth=Bearer {token}\x01\x01", c.user),
        })
    }
}

/// Refuse credentials that would break the mechanism's framing or smuggle a line break.
fn check(mech: Mechanism, creds: &Credentials<'_>) -> Result<(), AuthError> {
    let oauth = matches!(mech, Mechanism::XOAuth2 | Mechanism::OAuthBearer);
    // \x01 separates OAuth key-value pairs (RFC 7628 §3.1); SASLprep prohibits every ASCII control
    // (RFC 4013 §2.3), which SCRAM applies to both strings.
    let bad = |c: char| {
        matches!(c, '\0' | '\r' | '\n')
            || (oauth && c == '\x01')
            || (mech == Mechanism::ScramSha256 && c.is_ascii_control())
    };
    if creds.user.contains(bad) {
        return Err(AuthError::InvalidCredential("user name"));
    }
    if creds.secret.expose().contains(bad) {
        return Err(AuthError::InvalidCredential(if oauth {
            "OAuth token"
        } else {
            "password"
        }));
    }
    if mech == Mechanism::OAuthBearer && creds.host.contains(|c: char| c.is_ascii_control()) {
        return Err(AuthError::InvalidCredential("host name"));
    }
    Ok(())
}

/// A challenge's bytes. Surrounding whitespace and missing padding are tolerated (Python's lenient
/// `base64.decodebytes` accepts both); anything else that is not base64 is an error.
fn decode(challenge_b64: &[u8]) -> Result<Vec<u8>, AuthError> {
    STANDARD_PAD_INDIFFERENT
        .decode(challenge_b64.trim_ascii())
        .map_err(|_| AuthError::BadBase64)
}

/// RFC 2195 §2: `user SP hex(HMAC-MD5(password, challenge))`, lower-case hex.
fn cram_md5(creds: &Credentials<'_>, challenge: &[u8]) -> Secret {
    let mut mac = <Hmac<md5::Md5> as KeyInit>::new_from_slice(creds.secret.expose().as_bytes())
        .expect("HMAC accepts any key length");
    mac.update(challenge);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Secret::new(format!("{} {hex}", creds.user))
}

#[cfg(test)]
mod tests;
