//! `qualify_headers`: bare local names (cron's `root`, cronie's `<user>`) in the originator and
//! destination fields get `@maildomain` appended, so a smarthost that demands fully qualified
//! addresses (RFC 5321 §4.1.2 requires a domain; RFC 5322 §3.4.1 addr-spec has one) takes the
//! message (spec §2, issue 4). Only the address fields RFC 5322 §3.6.2, §3.6.3 and §3.6.6 define
//! change, and in them only the insertion itself: display names, comments, folding and every other
//! byte stay as written.
//!
//! The grammar is the one [`parse_address_list`](super::super::parse_address_list) accepts (RFC
//! 5322 §3.4 with the obsolete forms of §4.4): its [`walk`] runs over the folded raw bytes, so that
//! each bare local part's end is known as an offset. A field that does not parse is left as it is: the
//! envelope already refused malformed From, Sender, To and Cc fields, and the others (Reply-To,
//! older Resent blocks) are sent unchanged without this option too.

use std::convert::Infallible;

use crate::lines::MAX_LINE;
use crate::message::envelope::address::walk;
use crate::message::headers::{Field, MessageError, escaped, scan};

/// The fields whose bare addresses are qualified (RFC 5322 §3.6.2, §3.6.3, §3.6.6; Resent-Reply-To
/// from RFC 822 §4.4.4). Bcc is not listed: the rewrite has already removed it.
const ADDRESS_FIELDS: &[&str] = &[
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Resent-From",
    "Resent-Sender",
    "Resent-Reply-To",
    "Resent-To",
    "Resent-Cc",
];

/// `block` (a header section as [`rewrite_header_block`](super::rewrite_header_block) returns it)
/// with every address without `@` in the [`ADDRESS_FIELDS`] turned into `name@domain`.
/// `From: root (Cron Daemon)` becomes `From: root@example.org (Cron Daemon)`.
pub fn qualify_header_addresses(block: &[u8], domain: &str) -> Result<Vec<u8>, MessageError> {
    if !super::valid_id_right(domain) {
        return Err(MessageError::BadGeneratedValue {
            what: "maildomain",
            value: escaped(domain),
        });
    }
    let parsed = scan(block)?;
    let mut out = Vec::with_capacity(block.len() + 64);
    let mut consumed = 0;
    for f in &parsed.fields {
        consumed += f.raw.len();
        if ADDRESS_FIELDS.iter().any(|n| f.is(n)) {
            out.extend_from_slice(&qualify_field(f, domain)?);
        } else {
            out.extend_from_slice(&f.raw);
        }
    }
    // The separator line (and anything after it) as it was.
    out.extend_from_slice(block.get(consumed..).unwrap_or_default());
    Ok(out)
}

/// One field with `@domain` inserted after each bare local part.
fn qualify_field(f: &Field, domain: &str) -> Result<Vec<u8>, MessageError> {
    let Some(colon) = f.raw.iter().position(|&b| b == b':') else {
        return Ok(f.raw.clone());
    };
    let start = colon + 1;
    let value = f.value();
    let Some(inserts) = bare_local_part_ends(value) else {
        return Ok(f.raw.clone());
    };
    if inserts.is_empty() {
        return Ok(f.raw.clone());
    }
    let suffix = format!("@{domain}");
    let mut out = Vec::with_capacity(f.raw.len() + inserts.len() * suffix.len());
    let mut from = 0;
    for at in inserts {
        out.extend_from_slice(&f.raw[from..start + at]);
        out.extend_from_slice(suffix.as_bytes());
        from = start + at;
    }
    out.extend_from_slice(&f.raw[from..]);
    let line_too_long = out
        .split(|&b| b == b'\n')
        .any(|l| l.strip_suffix(b"\r").unwrap_or(l).len() > MAX_LINE);
    if line_too_long {
        return Err(MessageError::BadGeneratedValue {
            what: "line after qualifying the addresses (RFC 5322 2.1.1 allows 998 octets)",
            value: escaped(&f.name),
        });
    }
    Ok(out)
}

/// The offsets (in `v`) just past each local part that has no domain, in order; `None` when the
/// value is not an address list.
fn bare_local_part_ends(v: &[u8]) -> Option<Vec<usize>> {
    let mut ends = Vec::new();
    walk(v, &mut |mailbox| {
        if !mailbox.has_domain() {
            ends.push(mailbox.local_end());
        }
        Ok::<(), Infallible>(())
    })
    .ok()?;
    Some(ends)
}

#[cfg(test)]
mod tests;
