//! Why the settings could not be resolved, beyond the configuration file's own errors
//! (`config::ConfigError`): a flag value that cannot be used, a setting missing or
//! contradicting another, a login name that cannot be the default sender. Each variant says what is
//! wrong; which exit status it leads to is decided by `exit::classify`. Imports only the value types.

use std::path::PathBuf;

use crate::values::Mechanism;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    // Flag values that cannot be used.
    #[error("invalid port {port:?} in --host {spec:?}")]
    BadPort { port: String, spec: String },
    #[error("missing ']' in --host {spec:?}")]
    UnclosedBracket { spec: String },
    /// `why` is `values::check_ehlo_name`'s.
    #[error("--domain {why}")]
    BadDomain { why: String },
    #[error("--source-address must be an IP address, not {0:?}")]
    BadSourceAddress(String),
    #[error("-N takes NEVER or a list of SUCCESS, FAILURE and DELAY, not {0:?}")]
    BadDsnNotify(String),
    #[error("-R takes FULL or HDRS, not {0:?}")]
    BadDsnRet(String),
    #[error("-V takes an envelope id of 1 to 100 characters")]
    BadDsnEnvid,

    /// Issue 13: -bs takes its envelope from the SMTP dialogue (spec §10).
    #[error(
        "-bs takes the recipients from the SMTP dialogue on standard input; {0} cannot be given with it"
    )]
    ServeWith(&'static str),
    /// Issue 15: the compose flags build the message (spec §11), so nothing else may supply it.
    #[error(
        "--subject, --body, --html, --attach, --header, --to, --cc and --bcc compose the message; \
         {0} cannot be given with them (send a ready message without the compose flags)"
    )]
    ComposeWith(&'static str),
    /// Issue 15: as compose mode's `ComposeError::BadHeader`.
    #[error(
        "--header takes 'Name: value', not {0:?} (a name of printable ASCII letters, then ':')"
    )]
    BadHeaderField(String),
    /// Issue 13: with -bs, standard output is the SMTP channel and standard error must stay quiet.
    #[error(
        "--debug with -bs needs --debug-file FILE: standard output is the SMTP channel and standard \
         error must stay quiet (Symfony Mailer takes any text there for a failed start)"
    )]
    ServeDebugWithoutFile,
    /// Spec §9: running setgid, a user may only submit mail; an option that would point the group's
    /// privileges (the system password, the spool) elsewhere is refused.
    #[error(
        "running setgid mailsend, {0} cannot be given: a user only submits mail and the system \
         configuration decides where it goes (run a copy of mailsend that is not setgid to use it)"
    )]
    RefusedSetgid(String),

    // Settings missing, or contradicting each other.
    #[error("--account given but no configuration file was found")]
    AccountWithoutFile,
    #[error("--auth on needs a user name (--user or `user`)")]
    AuthWithoutUser,
    #[error("--auth {0} needs a user name (--user)")]
    MechanismWithoutUser(Mechanism),
    #[error("TLS over a Unix socket needs --tls-server-name (the name to verify)")]
    SocketTlsWithoutName,
    /// `logfile` or `queue_dir` starts with `~` and there is no home directory to put there.
    #[error("{key} {} starts with ~ but HOME is not set", path.display())]
    HomeNeeded { key: &'static str, path: PathBuf },

    // The default sender of spec §2 rule 4, reported only when a message needs it.
    #[error(
        "no login name for the envelope sender ($LOGNAME and $USER are unset and the password \
         database has no entry for this uid); {SENDER_ADVICE}"
    )]
    NoLoginName,
    /// `quoted` is the name as Rust's `{:?}` shows it, so a control character in it is escaped;
    /// `from` says where it was read (`$LOGNAME`, `$USER`, the password database).
    #[error(
        "the login name {quoted} (from {from}) cannot be an envelope sender: {why}; {SENDER_ADVICE}"
    )]
    UnusableLoginName {
        quoted: String,
        from: &'static str,
        why: String,
    },
}

/// What to do when the login name gives no sender.
const SENDER_ADVICE: &str = "give the sender with -f ADDRESS or `from` in the configuration file";

/// The aliases file (`/etc/aliases`, or `-oAFILE`; spec §12) cannot be used: exit 78, naming the file and,
/// for a syntax error, the line.
#[derive(Debug, thiserror::Error)]
pub enum AliasesError {
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("cannot read the aliases file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
