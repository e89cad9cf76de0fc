//! Value checks for the keys of an account table, run while deserialising so that a bad value is reported
//! at the line of the value itself (spec §8: "a bad value … names the file, the line and the key").
//!
//! Every function here is a serde `deserialize_with` hook returning `Some(value)`; TOML has no null, so a
//! present key is always `Some`, and `#[serde(default)]` gives `None` for an absent one. Each hook takes the
//! value as a [`toml::Value`] first, so the error text is ours ("expected 0, 1 or 2, not 3")
//! rather than serde's type jargon. The key name and table are added by the caller, which knows the span.
//! The values the command line shares (timeout, port, TLS mode, protocol, auth, on/off) are parsed by their
//! own types in [`crate::values`]; the hooks here are for the keys only the file has, or checks beyond a type.

use serde::Deserialize as _;
use serde::de::{Deserializer, Error as _};
use toml::Value;

use crate::log::{Facility, Syslog};
use crate::message::envelope::parse_address_list;
use crate::secret::Secret;

/// `syslog`: a boolean (`true` logs to the mail facility), `"on"`/`"off"`, or one of msmtp's facility
/// names (`"LOG_MAIL"`, `"LOG_LOCAL0"`, ...; issue 10, point 21).
pub(super) fn syslog<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Syslog>, D::Error> {
    let value = Value::deserialize(d)?;
    match &value {
        Value::Boolean(true) => Ok(Some(Syslog::On(Facility::MAIL))),
        Value::Boolean(false) => Ok(Some(Syslog::Off)),
        Value::String(s) if s.eq_ignore_ascii_case("on") => Ok(Some(Syslog::On(Facility::MAIL))),
        Value::String(s) if s.eq_ignore_ascii_case("off") => Ok(Some(Syslog::Off)),
        Value::String(s) if Facility::from_name(s).is_some() => {
            Ok(Facility::from_name(s).map(Syslog::On))
        }
        _ => Err(D::Error::custom(format!(
            "expected true, false or a facility ({}), not {value}",
            Facility::names()
        ))),
    }
}

/// Debug levels of spec §6.
pub(super) fn debug<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u8>, D::Error> {
    let value = Value::deserialize(d)?;
    match &value {
        Value::Integer(n @ 0..=2) => Ok(u8::try_from(*n).ok()),
        _ => Err(D::Error::custom(format!("expected 0, 1 or 2, not {value}"))),
    }
}

/// A string that goes into a command line or a header: CR, LF or NUL in it would let the file inject
/// commands or headers (RFC 5321 §2.3.8 forbids bare CR and LF; security catalogue, header injection).
pub(super) fn line<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Value::deserialize(d)?;
    match value {
        Value::String(s) => single_line(&s).map(|()| Some(s)).map_err(D::Error::custom),
        other => Err(D::Error::custom(format!("expected a string, not {other}"))),
    }
}

/// The `domain` key (the EHLO argument): the same rule as `--domain` (issue 10, point 16).
pub(super) fn ehlo_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match line(d)? {
        Some(s) => crate::values::check_ehlo_name(&s)
            .map(|()| Some(s))
            .map_err(D::Error::custom),
        None => Ok(None),
    }
}

/// A host name: a one-line string that is not empty.
pub(super) fn host<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match line(d)? {
        Some(s) if s.is_empty() => Err(D::Error::custom("expected a host name, not \"\"")),
        other => Ok(other),
    }
}

/// The `--tls-fingerprint` form of spec §1: SHA-256 as hex, colons optional.
pub(super) fn fingerprint<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Value::deserialize(d)?;
    if let Value::String(s) = &value {
        let digits: Vec<char> = s.chars().filter(|c| *c != ':').collect();
        if digits.len() == 64 && digits.iter().all(char::is_ascii_hexdigit) {
            return Ok(Some(s.clone()));
        }
    }
    Err(D::Error::custom(format!(
        "expected a SHA-256 fingerprint as 64 hex digits (colons optional), not {value}"
    )))
}

/// The password never appears in the error: a wrong type says only what was expected (catalogue 25).
pub(super) fn password<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    match Value::deserialize(d) {
        Ok(Value::String(s)) => Ok(Some(Secret::new(s))),
        _ => Err(D::Error::custom("expected a string")),
    }
}

/// The check behind [`line`], shared with the alias values.
pub(super) fn single_line(s: &str) -> Result<(), String> {
    match s.chars().find(|c| matches!(c, '\r' | '\n' | '\0')) {
        Some(c) => Err(format!(
            "must not contain {}",
            match c {
                '\r' => "CR",
                '\n' => "LF",
                _ => "NUL",
            }
        )),
        None => Ok(()),
    }
}

/// Why `from` is not an envelope sender, if it is not: one address (a bare name is qualified by
/// `maildomain` later, as `-f root` is), or `""`/`"<>"` for the null sender, as with `-f` (spec §1).
pub(super) fn sender_problem(value: &str) -> Option<String> {
    if value.is_empty() || value.trim() == "<>" {
        return None;
    }
    match parse_address_list(value) {
        Ok(list) if list.len() == 1 => None,
        Ok(list) if list.is_empty() => Some("expected an address, not an empty list".to_owned()),
        Ok(_) => Some(format!(
            "expected one address, not a list of several: {value:?}"
        )),
        Err(e) => Some(e.to_string()),
    }
}

/// Why an alias target list is unusable, if it is (RFC 5322 §3.4, as a recipient argument is read).
pub(super) fn address_list_problem(value: &str) -> Option<String> {
    match parse_address_list(value) {
        Ok(list) if list.is_empty() => {
            Some(format!("expected one or more addresses, not {value:?}"))
        }
        Ok(_) => None,
        Err(e) => Some(e.to_string()),
    }
}

/// Why `maildomain` is not a domain (RFC 5321 §4.1.2 Domain or address literal), if it is not: it must
/// stand after `@` as it is written.
pub fn domain_problem(value: &str) -> Option<String> {
    let probe = format!("postmaster@{value}");
    match parse_address_list(&probe) {
        Ok(list) if list == [probe.clone()] => None,
        _ => Some(format!(
            "expected a domain such as \"example.org\", not {value:?}"
        )),
    }
}
