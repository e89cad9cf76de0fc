//! The envelope policy of spec §2 as one pure function (issue 11, point 4): from the envelope
//! settings, the scanned header section and the argument recipients to the envelope (sender and
//! recipients) and the header edits, or a typed reason why there is none.
//!
//! Recipients are the argument recipients, then with `-t` the header recipients (`To`, `Cc`, `Bcc`,
//! or those of the topmost Resent block), each once; aliases apply to names without `@`, then
//! `maildomain` qualifies what is still bare. The sender is the first of `-f`/`-r` or the account's
//! `from` (the settings merged them, in that order), the `Sender` or `From` header (their Resent
//! forms when a Resent block is used), and the login default. No I/O happens here: the login default
//! was judged when the settings were resolved, and the clock and the random part of a Message-ID
//! come in only when the edits are applied ([`Decision::header`]).

use std::collections::BTreeMap;

use super::aliases::Aliases;
use super::{
    Rewrite, Wanted, header_envelope_for, merge_recipients, parse_address_list,
    qualify_header_addresses, rewrite_header_block, set_fields,
};
use crate::message::headers::{HeaderBlock, MessageError};

/// The envelope settings the policy reads. `E` is the settings' reason for having no login default.
#[derive(Debug, Clone)]
pub struct Policy<'a, E> {
    /// `-f`/`-r`, else the account's `from`; `""` or `<>` is the null sender.
    pub from: Option<&'a str>,
    /// `-t`: the header recipients are added.
    pub read_recipients: bool,
    /// Bare name → address list; `default` catches every bare name without its own alias.
    pub aliases: &'a BTreeMap<String, String>,
    /// The aliases file's aliases (spec §12), which apply, recursively, only when `aliases` is empty: to
    /// bare names and to names `@` the maildomain.
    pub file_aliases: Option<&'a Aliases>,
    /// The domain for names still without `@` (recipients, and the sender too).
    pub maildomain: Option<&'a str>,
    /// Spec §2 rule 4: the login name `@` the default domain, or why there is none.
    pub default_sender: Result<String, E>,
    /// `-F`, for a generated From.
    pub full_name: Option<&'a str>,
    /// The right-hand side of a generated Message-ID.
    pub default_domain: &'a str,
    pub add_missing_from: bool,
    pub add_missing_date: bool,
    pub add_missing_message_id: bool,
    /// Qualify the bare addresses of the header fields too (with `maildomain`).
    pub qualify_headers: bool,
    /// Issue 15: the `--header` fields of plain mode, set before the envelope is read (so with `-t` a
    /// To, Cc or Bcc given changes the recipients).
    pub set_fields: &'a [(String, String)],
}

/// Why the policy gives no envelope.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError<E> {
    /// The message and the arguments give none: an address that does not parse (in an argument,
    /// an alias, `-f` or a header field used), no recipients at all, or a `-f` that is not one
    /// address.
    #[error(transparent)]
    Message(#[from] MessageError),
    /// Rule 4 applied and the login gives no sender.
    #[error(transparent)]
    DefaultSender(E),
}

/// The header edits besides the removal of every `Bcc` and `Resent-Bcc` field, which always
/// happens (spec §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edits<'a> {
    pub full_name: Option<&'a str>,
    pub domain: &'a str,
    pub add_from: bool,
    pub add_date: bool,
    pub add_message_id: bool,
    /// The domain bare header addresses get, when they are to be qualified.
    pub qualify_with: Option<&'a str>,
    /// Fields replaced or added, as [`set_fields`] does.
    pub set_fields: &'a [(String, String)],
}

/// What the policy decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'a> {
    /// The envelope sender; empty for the null sender.
    pub sender: String,
    /// Never empty.
    pub recipients: Vec<String>,
    pub edits: Edits<'a>,
}

/// Spec §2 for one message: `block` is its scanned header section, `args` the argument recipients
/// (each may hold several addresses).
pub fn decide<'a, E>(
    policy: Policy<'a, E>,
    block: &HeaderBlock,
    args: &[String],
) -> Result<Decision<'a>, PolicyError<E>> {
    // Only the header fields the envelope uses are parsed (issue 10, point 13): recipients with -t,
    // the sender when neither -f nor the account's `from` gives it.
    let from_headers = header_envelope_for(
        &set_fields(block, policy.set_fields),
        Wanted {
            recipients: policy.read_recipients,
            sender: policy.from.is_none(),
        },
    )?;
    let recipients = recipients(&policy, args, &from_headers.recipients)?;
    let qualify = |address| qualify(policy.maildomain, address);
    let sender = match policy.from {
        Some(f) if f.is_empty() || f.trim() == "<>" => String::new(),
        Some(f) => match <[String; 1]>::try_from(parse_address_list(f)?) {
            Ok([address]) => qualify(address),
            Err(_) => return Err(MessageError::SenderNotOne(f.to_owned()).into()),
        },
        None => match from_headers.sender {
            Some(address) => qualify(address),
            None => policy.default_sender.map_err(PolicyError::DefaultSender)?,
        },
    };
    let edits = Edits {
        full_name: policy.full_name,
        domain: policy.default_domain,
        add_from: policy.add_missing_from,
        add_date: policy.add_missing_date,
        add_message_id: policy.add_missing_message_id,
        qualify_with: policy.maildomain.filter(|_| policy.qualify_headers),
        set_fields: policy.set_fields,
    };
    Ok(Decision {
        sender,
        recipients,
        edits,
    })
}

/// The argument recipients, then the header ones, each once, expanded and qualified.
fn recipients<E>(
    policy: &Policy<'_, E>,
    args: &[String],
    from_headers: &[String],
) -> Result<Vec<String>, PolicyError<E>> {
    let mut given = Vec::new();
    for arg in args {
        given.extend(parse_address_list(arg)?);
    }
    let mut expanded = Vec::new();
    for r in merge_recipients(&given, from_headers) {
        expand(policy, r, &mut expanded)?;
    }
    let recipients = merge_recipients(&expanded, &[]);
    if recipients.is_empty() {
        // Issue 10, point 12: a user who gave -t is not told to use -t.
        return Err(MessageError::NoRecipients {
            read_recipients: policy.read_recipients,
        }
        .into());
    }
    Ok(recipients)
}

/// Apply aliases to a bare name (the aliases file's to a local one), then qualify names still without `@`
/// with maildomain (spec §2, §12).
fn expand<E>(
    policy: &Policy<'_, E>,
    address: String,
    out: &mut Vec<String>,
) -> Result<(), MessageError> {
    let file = policy.file_aliases.filter(|_| policy.aliases.is_empty());
    if let Some(targets) = file.and_then(|f| f.expand(&address, policy.maildomain)) {
        out.extend(targets.into_iter().map(|t| qualify(policy.maildomain, t)));
        return Ok(());
    }
    if address.contains('@') {
        out.push(address);
        return Ok(());
    }
    let alias = policy
        .aliases
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&address))
        .or_else(|| policy.aliases.get_key_value("default"));
    match alias {
        Some((_, targets)) => {
            for target in parse_address_list(targets)? {
                out.push(qualify(policy.maildomain, target));
            }
        }
        None => out.push(qualify(policy.maildomain, address)),
    }
    Ok(())
}

/// `address@maildomain` for a bare, non-empty name when a maildomain is set.
fn qualify(maildomain: Option<&str>, address: String) -> String {
    match maildomain {
        Some(domain) if !address.contains('@') && !address.is_empty() => {
            format!("{address}@{domain}")
        }
        _ => address,
    }
}

impl Decision<'_> {
    /// The header section to send: `block` with the edits applied (the --header fields set, Bcc
    /// removed, missing fields added, bare addresses qualified when asked).
    pub fn header(&self, block: &HeaderBlock) -> Result<Vec<u8>, MessageError> {
        let edits = &self.edits;
        let header = rewrite_header_block(
            &set_fields(block, edits.set_fields),
            &Rewrite {
                sender: &self.sender,
                full_name: edits.full_name,
                domain: edits.domain,
                add_from: edits.add_from,
                add_date: edits.add_date,
                add_message_id: edits.add_message_id,
            },
        )?;
        // Cron's `From: root (Cron Daemon)` must reach a smarthost that wants qualified addresses
        // (issue 4).
        match edits.qualify_with {
            Some(domain) => qualify_header_addresses(&header, domain),
            None => Ok(header),
        }
    }
}

#[cfg(test)]
mod tests;
