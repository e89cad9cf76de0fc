//! The envelope policy (spec §2): the sender given, the full name, `maildomain` and the default sender, the
//! aliases, the header fields to add or qualify, `-t`, the recipients given, and the MAIL/RCPT parameters of
//! `-B`, `-N`, `-R`, `-V` (RFC 6152, RFC 3461), checked here so that no value can add a parameter of its
//! own. Imports the command line, the config model and the value types.

use std::collections::BTreeMap;

use super::aliases::AliasesFile;
use super::layers::Layers;
use super::{DefaultSender, Env, EnvelopePolicy, SettingsError};
use crate::cli::Cli;
use crate::message::envelope::aliases::Aliases;

pub(super) fn policy(
    l: &mut Layers,
    cli: &Cli,
    env: &Env,
    (aliases, (aliases_file, file_aliases)): (
        BTreeMap<String, String>,
        (AliasesFile, Option<Aliases>),
    ),
) -> Result<EnvelopePolicy, SettingsError> {
    let from = l.pick("from", cli.from.clone(), |a| a.from.clone());
    let maildomain = match l.pick("maildomain", None, |a| a.maildomain.clone()) {
        Some(domain) => Some(domain),
        None => {
            let mailname = super::aliases::mailname(&env.mailname_file);
            if let Some(name) = &mailname {
                l.note("maildomain", name, &env.mailname_file.display().to_string());
            }
            mailname
        }
    };
    // `$USER@…` and the Message-ID want a name, never an address literal: the host name as it is.
    let default_domain = maildomain.clone().unwrap_or_else(|| env.hostname.clone());
    let default_sender = DefaultSender::from_login(env.login.as_ref(), &default_domain);
    Ok(EnvelopePolicy {
        from,
        full_name: cli.full_name.clone(),
        maildomain,
        default_domain,
        default_sender,
        aliases,
        aliases_file,
        file_aliases,
        qualify_headers: l.flag("qualify_headers", |a| a.qualify_headers, false),
        add_missing_from: l.flag("add_missing_from", |a| a.add_missing_from, true),
        add_missing_date: l.flag("add_missing_date", |a| a.add_missing_date, true),
        add_missing_message_id: l.flag(
            "add_missing_message_id",
            |a| a.add_missing_message_id,
            true,
        ),
        read_recipients: cli.read_recipients
            || l.flag("read_recipients", |a| a.read_recipients, false),
        body_type: cli.body_type,
        dsn_notify: cli.dsn_notify.as_deref().map(dsn_notify).transpose()?,
        dsn_ret: cli.dsn_ret.as_deref().map(dsn_ret).transpose()?,
        dsn_envid: cli.dsn_envid.as_deref().map(dsn_envid).transpose()?,
        // Spec §11: --to, --cc and --bcc are envelope recipients as well as (but Bcc) header ones.
        recipients: (cli.recipients.iter())
            .chain(&cli.compose.to)
            .chain(&cli.compose.cc)
            .chain(&cli.compose.bcc)
            .cloned()
            .collect(),
        set_fields: set_fields(cli)?,
    })
}

/// `-N`: NEVER, or a comma-separated list of SUCCESS, FAILURE, DELAY (RFC 3461 §4.1). Checked, because
/// the value becomes an ESMTP parameter: anything else (`NEVER ORCPT=…`) would add parameters of its own.
pub(crate) fn dsn_notify(value: &str) -> Result<String, SettingsError> {
    let upper = value.to_ascii_uppercase();
    let words: Vec<&str> = upper.split(',').map(str::trim).collect();
    let valid = upper.trim() == "NEVER"
        || words
            .iter()
            .all(|w| matches!(*w, "SUCCESS" | "FAILURE" | "DELAY"));
    match valid {
        true => Ok(if upper.trim() == "NEVER" {
            "NEVER".into()
        } else {
            words.join(",")
        }),
        false => Err(SettingsError::BadDsnNotify(value.to_owned())),
    }
}

/// `-R`: FULL or HDRS (RFC 3461 §4.3).
pub(crate) fn dsn_ret(value: &str) -> Result<String, SettingsError> {
    match value.trim().to_ascii_uppercase().as_str() {
        r @ ("FULL" | "HDRS") => Ok(r.to_string()),
        _ => Err(SettingsError::BadDsnRet(value.to_owned())),
    }
}

/// `-V`: any text of at most 100 characters, sent as xtext (RFC 3461 §4.4): every octet outside
/// `!`..`~`, and `+` and `=`, becomes `+XX`, so the value can never become a parameter of its own.
fn dsn_envid(value: &str) -> Result<String, SettingsError> {
    if value.is_empty() || value.chars().count() > 100 {
        return Err(SettingsError::BadDsnEnvid);
    }
    Ok(value
        .bytes()
        .map(|b| match b {
            b'!'..=b'~' if b != b'+' && b != b'=' => (b as char).to_string(),
            _ => format!("+{b:02X}"),
        })
        .collect())
}

/// Issue 15: the `--header` fields of plain mode, each checked as compose mode checks it (exit 64);
/// none when the compose flags build the message (they hold the fields then).
fn set_fields(cli: &Cli) -> Result<Vec<(String, String)>, SettingsError> {
    if cli.compose.active() {
        return Ok(Vec::new());
    }
    let field = |given: &String| {
        crate::message::compose::header_field(given)
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .map_err(|_| SettingsError::BadHeaderField(given.clone()))
    };
    cli.compose.header.iter().map(field).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by review: `-V 'id AUTH=<victim@x>'` added an AUTH= parameter to MAIL.
    #[test]
    fn dsn_values_cannot_add_parameters() {
        assert_eq!(dsn_notify("success, failure").unwrap(), "SUCCESS,FAILURE");
        assert_eq!(dsn_notify("never").unwrap(), "NEVER");
        assert!(dsn_notify("NEVER ORCPT=rfc822;boss@x").is_err());
        assert!(dsn_notify("NEVER,SUCCESS").is_err());
        assert_eq!(dsn_ret("hdrs").unwrap(), "HDRS");
        assert!(dsn_ret("HDRS SMTPUTF8").is_err());
        assert_eq!(dsn_envid("id AUTH=<v@x>").unwrap(), "id+20AUTH+3D<v@x>");
        assert_eq!(dsn_envid("a+b").unwrap(), "a+2Bb");
        assert!(dsn_envid("").is_err());
        assert!(dsn_envid(&"x".repeat(101)).is_err());
    }
}
