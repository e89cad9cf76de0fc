//! The envelope taken from the message and the header section actually sent (spec §2).
//!
//! Header recipients are every `To`, `Cc` and `Bcc` field in header order; when the message carries
//! `Resent-` fields the topmost (most recent, RFC 5322 §3.6.6) Resent block is used instead, with
//! its `Resent-To`, `Resent-Cc`, `Resent-Bcc` (smtplib refuses more than one block and msmtp takes
//! the first; we take the topmost, like Postfix). The sender candidate is `Sender`, else the first
//! `From` address, or their `Resent-` forms. Argument and header recipients are merged without
//! duplicates (RFC 5321 §2.4: the local part is case-sensitive, the domain is not).
//!
//! Submodules: `address` parses RFC 5322 address lists; `policy` decides the envelope of spec §2
//! from the settings, these header fields and the argument recipients; `rewrite` builds the header
//! section to send (Bcc removal, added From/Date/Message-ID).

mod address;
pub mod aliases;
pub mod policy;
mod rewrite;

pub use address::parse_address_list;
pub use rewrite::{
    Additions, Rewrite, additions, qualify_header_addresses, rewrite_header_block, set_fields,
};

use std::borrow::Cow;
use std::collections::HashSet;

use crate::message::headers::{Field, HeaderBlock, MessageError};

/// The envelope as the header fields give it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeaderEnvelope {
    /// `Sender`, else the first `From` address (or their `Resent-` forms); `None` when absent.
    pub sender: Option<String>,
    /// The header recipients, in header order, duplicates kept (see [`merge_recipients`]).
    pub recipients: Vec<String>,
    /// The topmost Resent block was used.
    pub resent: bool,
}

/// Fields that may sit between the fields of one Resent block without ending it: trace fields
/// (RFC 5322 §3.6.7) and the signatures relays prepend alongside them (RFC 6376, RFC 8617).
const TRACE_FIELDS: &[&str] = &[
    "Received",
    "Return-Path",
    "DKIM-Signature",
    "ARC-Seal",
    "ARC-Message-Signature",
    "ARC-Authentication-Results",
    "Authentication-Results",
];

/// Resent fields that may be repeated inside one block (a long list split over several fields).
/// Any other Resent field seen twice starts the next, older block (RFC 5322 §3.6: at most one per
/// block).
const RESENT_LISTS: &[&str] = &["Resent-To", "Resent-Cc", "Resent-Bcc"];

/// Which parts of the header envelope a run uses. Issue 10, point 13: a field that is not used for
/// the envelope (To/Cc/Bcc without `-t`; Sender/From when `-f` or the account's `from` gives the
/// sender) is not parsed at all, so its address syntax can never block the send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    pub recipients: bool,
    pub sender: bool,
}

/// The envelope given by the header section (both parts).
pub fn header_envelope(block: &HeaderBlock) -> Result<HeaderEnvelope, MessageError> {
    header_envelope_for(
        block,
        Wanted {
            recipients: true,
            sender: true,
        },
    )
}

/// The parts of the header envelope `wanted` asks for; the others are left empty and their fields
/// are not parsed.
pub fn header_envelope_for(
    block: &HeaderBlock,
    wanted: Wanted,
) -> Result<HeaderEnvelope, MessageError> {
    let (fields, prefix, resent) = match resent_block(&block.fields) {
        Some(b) => (b, "Resent-", true),
        None => (block.fields.iter().collect(), "", false),
    };
    let mut recipients = Vec::new();
    if wanted.recipients {
        for f in &fields {
            if ["To", "Cc", "Bcc"]
                .iter()
                .any(|n| f.is(&format!("{prefix}{n}")))
            {
                recipients.extend(addresses(f)?);
            }
        }
    }
    let sender = if !wanted.sender {
        None
    } else {
        match first_address(&fields, &format!("{prefix}Sender"))? {
            Some(s) => Some(s),
            None => first_address(&fields, &format!("{prefix}From"))?,
        }
    };
    Ok(HeaderEnvelope {
        sender,
        recipients,
        resent,
    })
}

/// The union of `args` and `header` in that order, each address once. Local parts compare exactly,
/// domains case-insensitively (RFC 5321 §2.4).
pub fn merge_recipients(args: &[String], header: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for a in args.iter().chain(header) {
        let key = match a.rsplit_once('@') {
            Some((local, domain)) => (local.to_string(), Some(domain.to_lowercase())),
            None => (a.clone(), None),
        };
        if seen.insert(key) {
            out.push(a.clone());
        }
    }
    out
}

/// The topmost Resent block: the run of Resent fields starting at the first one, through trace
/// fields, up to any other field or a repeated once-per-block Resent field.
fn resent_block(fields: &[Field]) -> Option<Vec<&Field>> {
    let is_resent = |f: &Field| {
        f.name
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("Resent-"))
    };
    let start = fields.iter().position(is_resent)?;
    let mut seen: Vec<String> = Vec::new();
    let mut block = Vec::new();
    for f in &fields[start..] {
        if is_resent(f) {
            let name = f.name.to_ascii_lowercase();
            if seen.contains(&name) && !RESENT_LISTS.iter().any(|n| f.is(n)) {
                break;
            }
            seen.push(name);
            block.push(f);
        } else if !TRACE_FIELDS.iter().any(|n| f.is(n)) {
            break;
        }
    }
    Some(block)
}

/// The addresses of an address-list field, errors naming the field.
fn addresses(f: &Field) -> Result<Vec<String>, MessageError> {
    let unfolded = f.unfolded();
    let value = String::from_utf8_lossy(&unfolded);
    let list = parse_address_list(&value).map_err(|e| e.in_field(&f.name))?;
    // 8-bit bytes that are not UTF-8 (RFC 6532 requires UTF-8) cannot be an address we may send.
    if matches!(value, Cow::Owned(_)) && list.iter().any(|a| a.contains('\u{fffd}')) {
        return Err(MessageError::AddressSyntax {
            input: crate::message::headers::escaped(&value),
            reason: "address is not valid UTF-8",
        }
        .in_field(&f.name));
    }
    Ok(list)
}

/// The first address of the first field called `name`, if there is one.
fn first_address(fields: &[&Field], name: &str) -> Result<Option<String>, MessageError> {
    match fields.iter().find(|f| f.is(name)) {
        Some(f) => Ok(addresses(f)?.into_iter().next()),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests;
