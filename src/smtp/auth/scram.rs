//! SCRAM-SHA-256 client (RFC 5802 §3, §5, §7 with the SHA-256 parameters of RFC 7677), no channel
//! binding (gs2 header `n,,`).
//!
//! SASLprep (RFC 4013) is implemented for ASCII only: ASCII control characters are refused (RFC 4013
//! §2.3, table C.2.1) and every other ASCII string is its own SASLprep result. A non-ASCII user name or
//! password is sent as its UTF-8 bytes unchanged, which equals the SASLprep result whenever the string is
//! already in NFKC form and holds none of the characters RFC 4013 §2.1 maps; other non-ASCII passwords
//! may fail to authenticate where a full SASLprep implementation would succeed.

use super::AuthError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::io::Read;

type HmacSha256 = Hmac<Sha256>;

/// RFC 5802 §7: the gs2 header of a client that neither supports nor requests channel binding.
const GS2_HEADER: &str = "n,,";
/// `c=` of the client-final message: base64 of [`GS2_HEADER`].
const CHANNEL_BINDING: &str = "biws";
/// Bound on the server-chosen PBKDF2 iteration count: a hostile server could otherwise make the client
/// spin for hours (RFC 5802 §9 leaves the count to the server). Real servers use 4096 (RFC 7677 §4) to
/// a few hundred thousand.
const MAX_ITERATIONS: u32 = 10_000_000;
/// Random bytes in the client nonce (base64: 32 printable characters without `,`, RFC 5802 §7 `c-nonce`).
const NONCE_BYTES: usize = 24;

/// Where the exchange stands.
pub(super) enum Scram {
    /// Nothing sent yet: the next step is the client-first message.
    Start { client_nonce: String },
    /// Client-first sent; waiting for the server-first message.
    SentFirst { client_first_bare: String },
    /// Client-final sent; the server-final must carry HMAC(server_key, auth_message) (RFC 5802 §3).
    SentFinal {
        server_key: [u8; 32],
        auth_message: String,
    },
    /// The server-final was checked (`verified`) or rejected.
    Done { verified: bool },
}

impl Drop for Scram {
    fn drop(&mut self) {
        // The server key is derived from the salted password; clear it (catalogue C.25).
        if let Scram::SentFinal { server_key, .. } = self {
            server_key.fill(0);
        }
    }
}

impl Scram {
    /// A fresh exchange with a client nonce from /dev/urandom.
    pub(super) fn new() -> Result<Scram, AuthError> {
        let mut raw = [0u8; NONCE_BYTES];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut raw))
            .map_err(AuthError::Random)?;
        Ok(Scram::with_nonce(STANDARD.encode(raw)))
    }

    /// An exchange with a given client nonce (RFC 7677 §3's test vector uses a fixed one).
    pub(super) fn with_nonce(client_nonce: String) -> Scram {
        Scram::Start { client_nonce }
    }

    /// The client-first message, `n,,n=USER,r=NONCE` (RFC 5802 §5.1).
    pub(super) fn client_first(&mut self, user: &str) -> Result<String, AuthError> {
        let Scram::Start { client_nonce } = self else {
            return Err(AuthError::UnexpectedChallenge);
        };
        let bare = format!(
            "n={},r={client_nonce}",
            saslname(prepare(user, "user name")?)
        );
        let first = format!("{GS2_HEADER}{bare}");
        *self = Scram::SentFirst {
            client_first_bare: bare,
        };
        Ok(first)
    }

    /// Answer a challenge: the server-first gets the client-final with the proof; the server-final is
    /// verified and gets an empty response (RFC 4954 §4: SMTP has no "additional data with success", so
    /// the server sends it in a 334 and the client answers with an empty line).
    pub(super) fn respond(
        &mut self,
        user: &str,
        password: &str,
        challenge: &[u8],
    ) -> Result<String, AuthError> {
        match self {
            Scram::Start { .. } => self.client_first(user),
            Scram::SentFirst { client_first_bare } => {
                let server_first = std::str::from_utf8(challenge)
                    .map_err(|_| AuthError::BadChallenge("server-first message is not UTF-8"))?;
                let (reply, server_key, auth_message) =
                    client_final(client_first_bare, server_first, password)?;
                *self = Scram::SentFinal {
                    server_key,
                    auth_message,
                };
                Ok(reply)
            }
            Scram::SentFinal {
                server_key,
                auth_message,
            } => {
                let verified = check_server_final(server_key, auth_message, challenge);
                *self = Scram::Done {
                    verified: verified.is_ok(),
                };
                verified.map(|()| String::new())
            }
            Scram::Done { .. } => Err(AuthError::UnexpectedChallenge),
        }
    }

    /// True once the server proved it knows the password (RFC 5802 §5: the client MUST verify `v=`).
    pub(super) fn verified(&self) -> bool {
        matches!(self, Scram::Done { verified: true })
    }
}

/// RFC 5802 §5.1 `saslname`: `=` and `,` are escaped as `=3D` and `=2C`.
fn saslname(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// The ASCII part of SASLprep (see the module comment): control characters are prohibited.
fn prepare<'a>(s: &'a str, what: &'static str) -> Result<&'a str, AuthError> {
    if s.chars().any(|c| c.is_ascii_control()) {
        return Err(AuthError::InvalidCredential(what));
    }
    Ok(s)
}

/// Parse the server-first message (RFC 5802 §7 `server-first-message`), compute the proof (§3) and
/// return the client-final message with the server key and auth message that check the server-final.
fn client_final(
    client_first_bare: &str,
    server_first: &str,
    password: &str,
) -> Result<(String, [u8; 32], String), AuthError> {
    let mut attrs = server_first.split(',');
    let first = attrs.next().unwrap_or("");
    if first.starts_with("m=") {
        // §5.1: a mandatory extension this client does not know means the exchange must fail.
        return Err(AuthError::BadChallenge(
            "the server requires an unknown SCRAM extension",
        ));
    }
    if let Some(e) = first.strip_prefix("e=") {
        return Err(AuthError::ServerRefused(printable(e)));
    }
    let nonce = first
        .strip_prefix("r=")
        .ok_or(AuthError::BadChallenge("server-first message has no nonce"))?;
    let client_nonce = client_first_bare.rsplit_once(",r=").map_or("", |(_, n)| n);
    // §5.1: the server's nonce extends ours; a strictly longer one also rules out a replayed echo.
    if !nonce.starts_with(client_nonce) || nonce.len() <= client_nonce.len() {
        return Err(AuthError::BadChallenge(
            "server nonce does not extend the client nonce",
        ));
    }
    let salt = attrs
        .next()
        .and_then(|a| a.strip_prefix("s="))
        .and_then(|s| STANDARD.decode(s).ok())
        .filter(|s| !s.is_empty())
        .ok_or(AuthError::BadChallenge(
            "server-first message has no valid salt",
        ))?;
    let iterations = attrs
        .next()
        .and_then(|a| a.strip_prefix("i="))
        .and_then(|i| i.parse::<u32>().ok())
        .filter(|&i| (1..=MAX_ITERATIONS).contains(&i))
        .ok_or(AuthError::BadChallenge(
            "server-first message has no acceptable iteration count",
        ))?;

    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(
        prepare(password, "password")?.as_bytes(),
        &salt,
        iterations,
        &mut salted,
    );
    let mut client_key = hmac(&salted, b"Client Key");
    let stored_key: [u8; 32] = Sha256::digest(client_key).into();
    let without_proof = format!("c={CHANNEL_BINDING},r={nonce}");
    let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
    let client_signature = hmac(&stored_key, auth_message.as_bytes());
    let mut proof = [0u8; 32];
    for (p, (k, s)) in proof
        .iter_mut()
        .zip(client_key.iter().zip(client_signature.iter()))
    {
        *p = k ^ s;
    }
    let server_key = hmac(&salted, b"Server Key");
    let reply = format!("{without_proof},p={}", STANDARD.encode(proof));
    // Key material does not outlive the computation (catalogue C.25).
    salted.fill(0);
    client_key.fill(0);
    Ok((reply, server_key, auth_message))
}

/// RFC 5802 §7 `server-final-message`: `v=` must equal HMAC(ServerKey, AuthMessage); `e=` is a refusal.
fn check_server_final(
    server_key: &[u8; 32],
    auth_message: &str,
    message: &[u8],
) -> Result<(), AuthError> {
    let text = std::str::from_utf8(message)
        .map_err(|_| AuthError::BadChallenge("server-final message is not UTF-8"))?;
    let first = text.split(',').next().unwrap_or("");
    if let Some(e) = first.strip_prefix("e=") {
        return Err(AuthError::ServerRefused(printable(e)));
    }
    let given = first
        .strip_prefix("v=")
        .and_then(|v| STANDARD.decode(v).ok())
        .ok_or(AuthError::BadChallenge(
            "server-final message has no verifier",
        ))?;
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(server_key).expect("HMAC accepts any key length");
    mac.update(auth_message.as_bytes());
    // verify_slice compares in constant time.
    mac.verify_slice(&given)
        .map_err(|_| AuthError::ServerSignatureMismatch)
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// A server-supplied error value, reduced to printable ASCII and bounded, for an error message.
fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(100)
        .collect()
}
