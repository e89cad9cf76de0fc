//! The errors of the configuration file: every one is exit 78 (EX_CONFIG, spec §7) and names the file,
//! and the line and key where known (spec §8), as `FILE:LINE: what`. None ever contains a password
//! (security catalogue item 25).

use std::fmt;
use std::io;
use std::path::PathBuf;

use super::MAX_SIZE;

/// A place in a file: `path:line`, or the path alone when no line applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    pub line: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.path.display()),
            None => write!(f, "{}", self.path.display()),
        }
    }
}

/// A configuration error; every one is exit 78 (EX_CONFIG). Messages never contain a password.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: no such configuration file", .path.display())]
    NotFound { path: PathBuf },
    #[error("{}: cannot read: {source}", .path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{}: larger than {MAX_SIZE} bytes: not a configuration file", .path.display())]
    TooLarge { path: PathBuf },
    #[error("{at}: not UTF-8 text")]
    NotUtf8 { at: Location },
    #[error("{at}: TOML syntax error: {message}")]
    Syntax { at: Location, message: String },
    #[error("{at}: unknown key `{key}` in {table}{hint}")]
    UnknownKey {
        at: Location,
        key: String,
        table: String,
        /// Empty, or ` (did you mean `host`?)` and the like.
        hint: String,
    },
    #[error("{at}: bad value for `{key}` in {table}: {message}")]
    BadValue {
        at: Location,
        key: String,
        table: String,
        message: String,
    },
    #[error("{at}: {message}")]
    Invalid { at: Location, message: String },
    #[error("{at}: unknown account `{name}`; {}", defined(.known))]
    UnknownAccount {
        at: Location,
        name: String,
        known: Vec<String>,
    },
    /// Issue 10, point 20: accounts are defined, none is chosen and nothing names a server, so the only
    /// server left would be a guess (localhost:25).
    #[error(
        "{}: no account chosen and no server set; {}: choose one with -a NAME or `default_account`, \
         or set `host` in [defaults]",
        .path.display(), defined(.known)
    )]
    NoAccount { path: PathBuf, known: Vec<String> },
    #[error("{at}: account `{account}` has parent `{parent}`, which does not exist")]
    MissingParent {
        at: Location,
        account: String,
        parent: String,
    },
    #[error("{at}: accounts inherit from each other in a cycle: {}", .chain.join(" -> "))]
    ParentCycle { at: Location, chain: Vec<String> },
    #[error(
        "{} must be mode 0600 and owned by you because it holds a password \
         (it is mode {mode:04o} and owned by uid {owner}; you are uid {uid})",
        .path.display()
    )]
    Permissions {
        path: PathBuf,
        mode: u32,
        owner: u32,
        uid: u32,
    },
}

fn defined(known: &[String]) -> String {
    if known.is_empty() {
        "the file defines no accounts".to_owned()
    } else {
        let names: Vec<String> = known.iter().map(|n| format!("`{n}`")).collect();
        format!("the file defines {}", names.join(", "))
    }
}
