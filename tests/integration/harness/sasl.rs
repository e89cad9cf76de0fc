//! The server side of SMTP AUTH (RFC 4954) for PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login) and
//! CRAM-MD5 (RFC 2195), checking one fixed set of credentials, plus an endless-challenge mode (catalogue C21).

use base64::prelude::*;
use hmac::{KeyInit, Mac};

use super::script::{AuthCheck, Stage};
use super::session::{End, Session};
use super::transcript::AuthAttempt;

/// The CRAM-MD5 challenge; fixed so a test can compute the expected response.
pub const CRAM_CHALLENGE: &str = "<1896.697170952@test.example>";

impl Session<'_> {
    pub(super) fn auth(&mut self, line: &str) -> Result<(), End> {
        if let Some(action) = self.fault(&Stage::Auth) {
            return self.act(action);
        }
        let offered = self
            .ehlo_extensions()
            .iter()
            .any(|l| l.to_ascii_uppercase().starts_with("AUTH"));
        let check = match (self.auth_check().cloned(), offered) {
            (Some(check), true) => check,
            _ => return self.reply("502 5.5.2 Error: command not recognized"),
        };
        let mut words = line.split(' ').skip(1);
        let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
        let initial = words.next().map(str::to_string);
        if let Some(limit) = check.challenge_forever {
            return self.challenge_forever(limit);
        }
        if !check
            .mechanisms
            .iter()
            .any(|m| m.eq_ignore_ascii_case(&mechanism))
        {
            return self.reply("504 5.5.4 Unrecognized authentication type");
        }
        let verdict = match mechanism.as_str() {
            "PLAIN" => self.plain(&check, initial)?,
            "LOGIN" => self.login(&check, initial)?,
            "CRAM-MD5" => self.cram_md5(&check)?,
            _ => None,
        };
        let Some(success) = verdict else {
            return self.reply("501 5.7.0 Authentication aborted");
        };
        self.note(|t| {
            t.auth.push(AuthAttempt {
                mechanism: mechanism.clone(),
                success,
            })
        });
        if success {
            self.reply("235 2.7.0 Authentication successful")
        } else {
            self.act(check.on_failure.clone())
        }
    }

    /// `Some(ok)` for a complete exchange, `None` when the client cancelled with `*` (RFC 4954 §4).
    fn plain(&mut self, check: &AuthCheck, initial: Option<String>) -> Result<Option<bool>, End> {
        let response = match initial {
            // RFC 4954 §4: "=" is an empty initial response.
            Some(r) if r == "=" => String::new(),
            Some(r) => r,
            None => match self.challenge("")? {
                Some(r) => r,
                None => return Ok(None),
            },
        };
        let decoded = BASE64_STANDARD.decode(response.trim()).unwrap_or_default();
        let parts: Vec<&[u8]> = decoded.split(|&b| b == 0).collect();
        Ok(Some(
            parts.len() == 3
                && parts[1] == check.user.as_bytes()
                && parts[2] == check.password.as_bytes(),
        ))
    }

    fn login(&mut self, check: &AuthCheck, initial: Option<String>) -> Result<Option<bool>, End> {
        let user = match initial {
            Some(r) => r,
            None => match self.challenge("Username:")? {
                Some(r) => r,
                None => return Ok(None),
            },
        };
        let Some(password) = self.challenge("Password:")? else {
            return Ok(None);
        };
        let decode = |s: &str| BASE64_STANDARD.decode(s.trim()).unwrap_or_default();
        Ok(Some(
            decode(&user) == check.user.as_bytes()
                && decode(&password) == check.password.as_bytes(),
        ))
    }

    fn cram_md5(&mut self, check: &AuthCheck) -> Result<Option<bool>, End> {
        let Some(response) = self.challenge(CRAM_CHALLENGE)? else {
            return Ok(None);
        };
        let decoded = BASE64_STANDARD.decode(response.trim()).unwrap_or_default();
        let text = String::from_utf8_lossy(&decoded);
        let expected = format!(
            "{} {}",
            check.user,
            cram_digest(&check.password, CRAM_CHALLENGE)
        );
        Ok(Some(text == expected))
    }

    /// Send `334 base64(text)` and read the answer; `None` for the `*` cancel.
    fn challenge(&mut self, text: &str) -> Result<Option<String>, End> {
        self.reply(&format!("334 {}", BASE64_STANDARD.encode(text)))?;
        let answer = self.read_line()?;
        self.note(|t| t.commands.push(answer.clone()));
        Ok((answer != "*").then_some(answer))
    }

    fn challenge_forever(&mut self, limit: usize) -> Result<(), End> {
        for _ in 0..limit {
            if self.challenge("again")?.is_none() {
                return self.reply("501 5.7.0 Authentication aborted");
            }
        }
        self.reply("535 5.7.8 Error: authentication failed")
    }
}

/// The hex HMAC-MD5 of the challenge keyed by the password (RFC 2195 §2).
pub fn cram_digest(password: &str, challenge: &str) -> String {
    let mut mac = hmac::Hmac::<md5::Md5>::new_from_slice(password.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(challenge.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
