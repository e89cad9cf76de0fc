//! The configuration file (spec §8): which file is read, its TOML model (`default_account`, `[defaults]`,
//! `[accounts.NAME]` with `parent` inheritance, `[aliases]`), validation with errors that name the file, the
//! line and the key, the permission rule for a file holding a password (security catalogue item 23), and the
//! resolution of one account onto `[defaults]` with the origin of every value for `--pretend`.
//!
//! Every error here is a configuration error, exit 78 (spec §7). The command line is layered on top of a
//! [`Resolved`] account by `settings`; nothing here reads the environment or the command line.

mod error;
mod permissions;
mod position;
mod values;

/// The system-wide configuration file (spec §8).
pub const SYSTEM_CONFIG: &str = "/etc/mailsend.toml";

pub use values::domain_problem;

pub use error::{ConfigError, Location};

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::de::DeTable;

use crate::secret::Secret;
use crate::values::{
    AuthChoice, Connections, OnOff, Port, Protocol, QueuePolicy, Span, Timeout, TlsMode,
};
use position::Part;

/// One account table. Every key is optional; the same shape serves `[defaults]` and `[accounts.NAME]`.
/// Keys are the long option names with `_` for `-` (spec §8). Values of a closed set (`protocol`, `tls`,
/// `auth`, `tls_certcheck`), the port and the timeout are parsed into the types the command line uses
/// ([`crate::values`]), case-insensitively.
#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub parent: Option<String>,
    #[serde(default, deserialize_with = "values::host")]
    pub host: Option<String>,
    pub port: Option<Port>,
    pub socket: Option<PathBuf>,
    pub protocol: Option<Protocol>,
    #[serde(default, deserialize_with = "values::ehlo_name")]
    pub domain: Option<String>,
    #[serde(default, deserialize_with = "values::line")]
    pub source_address: Option<String>,
    pub timeout: Option<Timeout>,
    pub tls: Option<TlsMode>,
    pub tls_trust_file: Option<PathBuf>,
    #[serde(default, deserialize_with = "values::fingerprint")]
    pub tls_fingerprint: Option<String>,
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    pub tls_certcheck: Option<OnOff>,
    #[serde(default, deserialize_with = "values::line")]
    pub tls_server_name: Option<String>,
    pub auth: Option<AuthChoice>,
    #[serde(default, deserialize_with = "values::line")]
    pub user: Option<String>,
    #[serde(default, deserialize_with = "values::password")]
    pub password: Option<Secret>,
    pub password_command: Option<String>,
    pub allow_plaintext_auth: Option<bool>,
    #[serde(default, deserialize_with = "values::line")]
    pub from: Option<String>,
    #[serde(default, deserialize_with = "values::line")]
    pub maildomain: Option<String>,
    pub qualify_headers: Option<bool>,
    pub add_missing_from: Option<bool>,
    pub add_missing_date: Option<bool>,
    pub add_missing_message_id: Option<bool>,
    pub logfile: Option<PathBuf>,
    #[serde(default, deserialize_with = "values::syslog")]
    pub syslog: Option<crate::log::Syslog>,
    #[serde(default, deserialize_with = "values::debug")]
    pub debug: Option<u8>,
    /// Like `-t` on every invocation (useful for a mail client).
    pub read_recipients: Option<bool>,
    /// When mail is queued (spec §9): `on-failure`, `always` or `never`.
    pub queue: Option<QueuePolicy>,
    /// The queue's directory instead of the system spool or the user's state directory.
    pub queue_dir: Option<PathBuf>,
    /// How long an entry may wait before it fails (default 5 days).
    pub queue_lifetime: Option<Span>,
    /// `--queue-check` reports entries older than this (default 1 hour).
    pub queue_warn: Option<Span>,
    /// The most connections the runner opens to one server at once (default 4).
    pub queue_connections: Option<Connections>,
}

/// Generates [`ACCOUNT_KEYS`] and `overlay` from one list. `overlay` destructures [`Account`] without `..`,
/// so a field added to the struct and not to this list stops the build.
macro_rules! account_keys {
    ($($key:ident),* $(,)?) => {
        /// Every key an account table (and `[defaults]`) accepts, in the order of [`Account`].
        pub const ACCOUNT_KEYS: &[&str] = &[$(stringify!($key)),*];

        /// Fill the keys `into` lacks from `from`, recording `label` as their origin. The values move:
        /// a password is never copied (issue 11).
        fn overlay(
            into: &mut Account,
            from: Account,
            label: &str,
            sources: &mut BTreeMap<&'static str, String>,
        ) {
            let Account { $($key),* } = from;
            $(
                if into.$key.is_none() && $key.is_some() {
                    into.$key = $key;
                    sources.insert(stringify!($key), label.to_owned());
                }
            )*
        }
    };
}

account_keys!(
    parent,
    host,
    port,
    socket,
    protocol,
    domain,
    source_address,
    timeout,
    tls,
    tls_trust_file,
    tls_fingerprint,
    tls_cert_file,
    tls_key_file,
    tls_certcheck,
    tls_server_name,
    auth,
    user,
    password,
    password_command,
    allow_plaintext_auth,
    from,
    maildomain,
    qualify_headers,
    add_missing_from,
    add_missing_date,
    add_missing_message_id,
    logfile,
    syslog,
    debug,
    read_recipients,
    queue,
    queue_dir,
    queue_lifetime,
    queue_warn,
    queue_connections,
);

/// The keys that belong to one account's server (spec §8): a server named on the command line without
/// `-a` takes none of them from the file, not even from `[defaults]`, so a debugging run never sends the
/// smarthost's password to another server (issue 10, point 1). `auth` goes with them: it says how to use
/// credentials that are no longer there.
pub const CREDENTIAL_KEYS: &[&str] = &[
    "user",
    "password",
    "password_command",
    "auth",
    "tls_fingerprint",
    "tls_cert_file",
    "tls_key_file",
];

/// The keys of the top level of the file.
const TOP_KEYS: &[&str] = &["default_account", "defaults", "accounts", "aliases"];

/// A configuration file larger than this is not one (and `-C /dev/zero` must not exhaust memory).
const MAX_SIZE: u64 = 1 << 20;

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    default_account: Option<String>,
    #[serde(default)]
    defaults: Account,
    #[serde(default)]
    accounts: BTreeMap<String, Account>,
    #[serde(default)]
    aliases: BTreeMap<String, String>,
}

/// A parsed and validated configuration file.
#[derive(Debug, Default)]
pub struct Config {
    pub path: PathBuf,
    pub default_account: Option<String>,
    pub defaults: Account,
    pub accounts: BTreeMap<String, Account>,
    /// `[aliases]`: local name → comma-separated address list; `default` is the catch-all (spec §2).
    pub aliases: BTreeMap<String, String>,
}

/// One account resolved through its parent chain onto `[defaults]`.
#[derive(Debug, Default)]
pub struct Resolved {
    /// The account used, `None` when only `[defaults]` applies.
    pub name: Option<String>,
    pub account: Account,
    /// For every key set, where its value came from: `[accounts.work]`, `[accounts.base] via parent`,
    /// `[defaults]`.
    pub sources: BTreeMap<&'static str, String>,
}

/// Which file to read (spec §8): the explicit `-C` path, which must exist; else
/// `$XDG_CONFIG_HOME/mailsend/config.toml` (`$HOME/.config/…` when `XDG_CONFIG_HOME` is unset, empty or
/// relative, as the XDG base directory specification says) if present; else `system` if present.
/// A file that exists but cannot be inspected counts as present, so that [`load`] reports why.
pub fn locate(
    explicit: Option<&Path>,
    xdg_config_home: Option<&Path>,
    home: Option<&Path>,
    system: &Path,
) -> Result<Option<PathBuf>, ConfigError> {
    if let Some(path) = explicit {
        return if present(path) {
            Ok(Some(path.to_owned()))
        } else {
            Err(ConfigError::NotFound {
                path: path.to_owned(),
            })
        };
    }
    if let Some(path) = user_file(xdg_config_home, home)
        && present(&path)
    {
        return Ok(Some(path));
    }
    Ok(present(system).then(|| system.to_owned()))
}

/// The user's own file that [`locate`] looks for; `None` when neither directory is known.
pub fn user_file(xdg_config_home: Option<&Path>, home: Option<&Path>) -> Option<PathBuf> {
    let dir = xdg_config_home
        .filter(|dir| dir.is_absolute())
        .map(Path::to_path_buf)
        .or_else(|| {
            home.filter(|h| !h.as_os_str().is_empty())
                .map(|h| h.join(".config"))
        })?;
    Some(dir.join("mailsend").join("config.toml"))
}

/// Whether something is at `path`; a dangling symbolic link is something, for [`load`] to report.
fn present(path: &Path) -> bool {
    match fs::symlink_metadata(path) {
        Ok(_) => true,
        Err(e) => !matches!(
            e.kind(),
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
        ),
    }
}

/// Read, parse and validate `path`, then apply the permission rule when it holds a password.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let read_error = |source| ConfigError::Read {
        path: path.to_owned(),
        source,
    };
    let file = fs::File::open(path).map_err(read_error)?;
    // Metadata of the opened handle: the file checked is the file read, even if the path changes between.
    let meta = file.metadata().map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_SIZE {
        return Err(ConfigError::TooLarge {
            path: path.to_owned(),
        });
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..valid]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            return Err(ConfigError::NotUtf8 {
                at: Location {
                    path: path.to_owned(),
                    line: Some(line),
                },
            });
        }
    };
    let parsed = parse_str(path, &text);
    // The text may hold a password; leave no copy of it behind (catalogue 25).
    let mut bytes = text.into_bytes();
    bytes.fill(0);
    let config = parsed?;
    if config.holds_password() {
        permissions::check(path, &meta)?;
    }
    Ok(config)
}

/// Parse and validate `text` as the contents of `path`, without the permission rule.
pub fn parse_str(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let at = |offset: Option<usize>| Location {
        path: path.to_owned(),
        line: offset.map(|o| position::line_of(text, o)),
    };
    let doc = DeTable::parse(text).map_err(|e| ConfigError::Syntax {
        at: at(e.span().map(|s| s.start)),
        message: e.message().to_owned(),
    })?;
    let file = File::deserialize(toml::de::Deserializer::from(doc.clone()))
        .map_err(|e| field_error(&e, doc.get_ref(), at(e.span().map(|s| s.start))))?;
    let config = Config {
        path: path.to_owned(),
        default_account: file.default_account,
        defaults: file.defaults,
        accounts: file.accounts,
        aliases: file.aliases,
    };
    config
        .check(&|keys: &[&str]| at(position::value_span(doc.get_ref(), keys).map(|s| s.start)))?;
    Ok(config)
}

/// Turn a toml deserialisation error into one that names the key and its table.
fn field_error(error: &toml::de::Error, doc: &DeTable<'_>, at: Location) -> ConfigError {
    let entry = error.span().and_then(|s| position::entry_at(doc, s.start));
    let Some((mut path, part)) = entry else {
        return ConfigError::Invalid {
            at,
            message: error.message().to_owned(),
        };
    };
    let key = path.pop().unwrap_or_default();
    let table = position::table_name(&path);
    if part == Part::Key && error.message().starts_with("unknown field") {
        let hint = unknown_key_hint(&key, &path);
        return ConfigError::UnknownKey {
            at,
            key,
            table,
            hint,
        };
    }
    let message = if key == "password" {
        // The value may be the password itself: never echo it.
        "expected a string".to_owned()
    } else {
        error.message().to_owned()
    };
    ConfigError::BadValue {
        at,
        key,
        table,
        message,
    }
}

/// A likely correction for an unknown key found in the table at `path`.
fn unknown_key_hint(key: &str, path: &[String]) -> String {
    let in_account =
        matches!(path, [t] if t == "defaults") || matches!(path, [t, _] if t == "accounts");
    if in_account && TOP_KEYS.contains(&key) {
        return format!(" (`{key}` belongs at the top of the file, before the first [table])");
    }
    if path.is_empty() && ACCOUNT_KEYS.contains(&key) {
        return format!(" (`{key}` belongs in [defaults] or an [accounts.NAME] table)");
    }
    let candidates = if path.is_empty() {
        TOP_KEYS
    } else if in_account {
        ACCOUNT_KEYS
    } else {
        &[]
    };
    position::closest(key, candidates)
        .map(|k| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

/// A check of one value: why it is unusable, if it is.
type ValueCheck = fn(&str) -> Option<String>;

/// Why an account's parent chain cannot be followed.
enum ChainError {
    Unknown(String),
    MissingParent { account: String, parent: String },
    Cycle(Vec<String>),
}

impl Config {
    /// Resolve account `name` (else `default_account`, else `[defaults]` alone) through its parent chain
    /// onto `[defaults]`: the account's keys beat its parent's, which beat the grandparent's, …, which beat
    /// `[defaults]`. The file is used up: its values move into the result, so that the password exists
    /// once.
    pub fn resolve(mut self, name: Option<&str>) -> Result<Resolved, ConfigError> {
        let name = name.map(str::to_owned).or(self.default_account.take());
        let chain: Vec<String> = match &name {
            Some(name) => self
                .chain(name)
                .map_err(|e| self.chain_error(e, &|_: &[&str]| self.at(None)))?
                .into_iter()
                .map(|(account_name, _)| account_name.to_owned())
                .collect(),
            None => Vec::new(),
        };
        let mut resolved = Resolved {
            name,
            ..Resolved::default()
        };
        for (depth, account_name) in chain.iter().enumerate() {
            // The chain names each account once, and only accounts that exist.
            let Some(account) = self.accounts.remove(account_name) else {
                continue;
            };
            let table = position::table_name(&["accounts", account_name]);
            let label = if depth == 0 {
                table
            } else {
                format!("{table} via parent")
            };
            overlay(
                &mut resolved.account,
                account,
                &label,
                &mut resolved.sources,
            );
        }
        overlay(
            &mut resolved.account,
            self.defaults,
            "[defaults]",
            &mut resolved.sources,
        );
        Ok(resolved)
    }

    /// `[defaults]` alone, without the [`CREDENTIAL_KEYS`]: what applies to a server named on the command
    /// line without `-a` (spec §8). `default_account` is not applied: that server is not the account's.
    pub fn resolve_for_other_server(self) -> Resolved {
        let mut resolved = Resolved::default();
        overlay(
            &mut resolved.account,
            self.defaults,
            "[defaults]",
            &mut resolved.sources,
        );
        let a = &mut resolved.account;
        (a.user, a.password, a.password_command, a.auth) = (None, None, None, None);
        (a.tls_fingerprint, a.tls_cert_file, a.tls_key_file) = (None, None, None);
        resolved
            .sources
            .retain(|key, _| !CREDENTIAL_KEYS.contains(key));
        resolved
    }

    /// The names of the `[accounts.NAME]` tables, sorted.
    pub fn account_names(&self) -> Vec<String> {
        self.accounts.keys().cloned().collect()
    }

    /// Whether any table holds a `password` (the trigger for the permission rule).
    pub fn holds_password(&self) -> bool {
        self.defaults.password.is_some() || self.accounts.values().any(|a| a.password.is_some())
    }

    /// `name` and its ancestors, nearest first.
    fn chain<'a>(&'a self, name: &'a str) -> Result<Vec<(&'a str, &'a Account)>, ChainError> {
        let account = self
            .accounts
            .get(name)
            .ok_or_else(|| ChainError::Unknown(name.to_owned()))?;
        let mut chain = vec![(name, account)];
        let mut current = (name, account);
        while let Some(parent) = current.1.parent.as_deref() {
            if chain.iter().any(|(n, _)| *n == parent) {
                let mut names: Vec<String> = chain.iter().map(|(n, _)| (*n).to_owned()).collect();
                names.push(parent.to_owned());
                return Err(ChainError::Cycle(names));
            }
            let Some(account) = self.accounts.get(parent) else {
                return Err(ChainError::MissingParent {
                    account: current.0.to_owned(),
                    parent: parent.to_owned(),
                });
            };
            current = (parent, account);
            chain.push(current);
        }
        Ok(chain)
    }

    fn chain_error(&self, error: ChainError, at: &dyn Fn(&[&str]) -> Location) -> ConfigError {
        match error {
            ChainError::Unknown(name) => ConfigError::UnknownAccount {
                at: at(&["default_account"]),
                name,
                known: self.accounts.keys().cloned().collect(),
            },
            ChainError::MissingParent { account, parent } => ConfigError::MissingParent {
                at: at(&["accounts", &account, "parent"]),
                account,
                parent,
            },
            ChainError::Cycle(chain) => {
                let last = chain.len().saturating_sub(2);
                ConfigError::ParentCycle {
                    at: at(&["accounts", &chain[last], "parent"]),
                    chain,
                }
            }
        }
    }

    fn at(&self, line: Option<usize>) -> Location {
        Location {
            path: self.path.clone(),
            line,
        }
    }

    /// The checks that span keys or tables; `at` finds the line of a key path.
    fn check(&self, at: &dyn Fn(&[&str]) -> Location) -> Result<(), ConfigError> {
        if self.defaults.parent.is_some() {
            return Err(ConfigError::BadValue {
                at: at(&["defaults", "parent"]),
                key: "parent".to_owned(),
                table: "[defaults]".to_owned(),
                message: "only an [accounts.NAME] table can have a parent".to_owned(),
            });
        }
        if let Some(name) = &self.default_account {
            self.chain(name).map_err(|e| self.chain_error(e, at))?;
        }
        for name in self.accounts.keys() {
            self.chain(name).map_err(|e| self.chain_error(e, at))?;
        }
        // Issue 10, point 14: an address in the file is a configuration value, so a bad one is 78 naming
        // the file, line and key here, not 65 from the envelope later.
        let tables = std::iter::once((vec!["defaults".to_owned()], &self.defaults)).chain(
            self.accounts
                .iter()
                .map(|(name, a)| (vec!["accounts".to_owned(), name.clone()], a)),
        );
        for (path, account) in tables {
            let keys: [(&str, Option<&String>, ValueCheck); 2] = [
                ("from", account.from.as_ref(), values::sender_problem),
                (
                    "maildomain",
                    account.maildomain.as_ref(),
                    values::domain_problem,
                ),
            ];
            for (key, value, problem) in keys {
                if let Some(message) = value.and_then(|v| problem(v)) {
                    let mut at_path: Vec<&str> = path.iter().map(String::as_str).collect();
                    let table = position::table_name(&at_path);
                    at_path.push(key);
                    return Err(ConfigError::BadValue {
                        at: at(&at_path),
                        key: key.to_owned(),
                        table,
                        message,
                    });
                }
            }
        }
        for (name, list) in &self.aliases {
            let problem = if let Err(e) = values::single_line(name) {
                Some(format!("the alias name {e}"))
            } else if name.contains('@') {
                Some("aliases apply only to names without `@` (spec §2)".to_owned())
            } else if let Err(e) = values::single_line(list) {
                Some(e)
            } else if list.trim().is_empty() {
                Some("expected one or more addresses, not \"\"".to_owned())
            } else {
                values::address_list_problem(list)
            };
            if let Some(message) = problem {
                return Err(ConfigError::BadValue {
                    at: at(&["aliases", name]),
                    key: position::key_text(name),
                    table: "[aliases]".to_owned(),
                    message,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
