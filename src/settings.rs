//! Raw command line + configuration file → one resolved [`Settings`], once, before anything else happens
//! (two phases, like ripgrep's LowArgs → HiArgs and msmtp's override_account). Precedence: command line >
//! account (> its parents) > `[defaults]` > built-in defaults (spec §8). Nothing downstream reads the
//! environment or a file on its own.
//!
//! The result is grouped by what uses it: the [`Mode`] of the run, the [`Server`] and its [`TlsSettings`]
//! (what the dialer needs), [`Auth`], the [`EnvelopePolicy`], the [`Input`] and [`Logging`]. Nothing after
//! resolution sees [`Cli`]. Imports the command line, the config model, the value types, and the engine's
//! plain data types (`Endpoint`, `TlsOptions`, `BodyType`).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod aliases;
mod envelope;
pub mod error;
mod layers;
mod mode;
mod queue;
mod sender;
mod server;

pub(crate) use envelope::{dsn_notify, dsn_ret};
pub use error::SettingsError;
pub use layers::Origin;
pub use mode::{EntryAction, Mode, Probe};
pub use sender::DefaultSender;

use crate::cli::Cli;
use crate::config::{self, Resolved};
use crate::password::PasswordSource;
use crate::secret::Secret;
use crate::smtp::session::BodyType;
use crate::smtp::transport::Endpoint;
use crate::tls::TlsOptions;
use crate::values::{AuthChoice, Mechanism, Protocol, TlsMode};
use layers::Layers;

pub use crate::config::SYSTEM_CONFIG;

/// Facts about the process's environment, read once in main.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// The login name and where it came from: `$LOGNAME`, else `$USER`, else the real uid's name in the
    /// password database (spec §2; getpwuid_r, so NSS and SSSD users resolve too).
    pub login: Option<(OsString, &'static str)>,
    pub home: Option<PathBuf>,
    pub xdg_config_home: Option<PathBuf>,
    pub hostname: String,
    pub stdin_is_terminal: bool,
    /// `$XDG_STATE_HOME`, for the user's queue (spec §9).
    pub xdg_state_home: Option<PathBuf>,
    /// The real user ID: the owner recorded in queue entries.
    pub uid: u32,
    /// Running setgid (effective group not the real one): only the system configuration is read
    /// (spec §9, multi-user system install).
    pub setgid: bool,
    /// The system's aliases file, `/etc/aliases` (spec §12); `-oAFILE` names another.
    pub aliases_file: PathBuf,
    /// `/etc/mailname`, the default maildomain (spec §2, §12).
    pub mailname_file: PathBuf,
}

impl Env {
    pub fn from_process() -> Env {
        use std::io::IsTerminal;
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let from_passwd = || {
            let user = nix::unistd::User::from_uid(nix::unistd::getuid()).ok()??;
            Some((OsString::from(user.name), "the password database"))
        };
        // A test build may put the system's files elsewhere (queue::hooks), never a release build.
        let etc = crate::queue::hooks::etc().unwrap_or_else(|| PathBuf::from("/etc"));
        Env {
            login: var("LOGNAME")
                .map(|v| (v, "$LOGNAME"))
                .or_else(|| var("USER").map(|v| (v, "$USER")))
                .or_else(from_passwd),
            home: var("HOME").map(PathBuf::from),
            xdg_config_home: var("XDG_CONFIG_HOME").map(PathBuf::from),
            hostname: gethostname::gethostname().to_string_lossy().into_owned(),
            stdin_is_terminal: std::io::stdin().is_terminal(),
            xdg_state_home: var("XDG_STATE_HOME").map(PathBuf::from),
            uid: nix::unistd::getuid().as_raw(),
            setgid: nix::unistd::getegid() != nix::unistd::getgid(),
            aliases_file: etc.join("aliases"),
            mailname_file: etc.join("mailname"),
        }
    }
}

/// TLS as it will be used on this connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsUse {
    None,
    StartTls,
    Implicit,
}

/// Everything one run needs, resolved.
#[derive(Debug)]
pub struct Settings {
    pub mode: Mode,
    pub server: Server,
    pub tls: TlsSettings,
    pub auth: Auth,
    pub envelope: EnvelopePolicy,
    pub input: Input,
    pub logging: Logging,
    pub queue: QueueSettings,
    /// Where each setting came from, for --pretend: (key, value shown, source).
    pub origins: Vec<Origin>,
}

/// The server and how to talk to it.
#[derive(Debug, Clone)]
pub struct Server {
    pub endpoint: Endpoint,
    pub protocol: Protocol,
    /// The EHLO/LHLO name; `None`: the address literal of the connection's local end (issue 10, point 23).
    pub domain: Option<String>,
    pub source_address: Option<SocketAddr>,
    pub timeout: Duration,
    /// The wait for the reply to the final dot.
    pub final_timeout: Duration,
}

/// TLS on this connection.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// What `--tls` or `tls` asked for; `auto` is shown by --pretend with what it became.
    pub requested: TlsMode,
    pub mode: TlsUse,
    pub options: TlsOptions,
}

/// Authentication (spec §5).
#[derive(Debug)]
pub struct Auth {
    /// `None`: no AUTH (`--auth off`, or no user).
    pub login: Option<Login>,
    pub allow_plaintext: bool,
    /// RFC 4954 initial response (`--no-initial-response` turns it off).
    pub initial_response: bool,
}

/// Who authenticates and how; the password itself is fetched just before connecting.
#[derive(Debug)]
pub struct Login {
    /// `None` = choose (`--auth on`).
    pub mechanism: Option<Mechanism>,
    pub user: String,
    pub password: PasswordSource,
}

/// How the envelope and the added header fields are made (spec §2).
#[derive(Debug, Clone)]
pub struct EnvelopePolicy {
    /// Envelope sender from -f/-r or the account's `from` (None: from the headers, then $USER@domain).
    pub from: Option<String>,
    pub full_name: Option<String>,
    pub maildomain: Option<String>,
    /// The domain for `$USER@…` and the Message-ID: maildomain, else the host's FQDN.
    pub default_domain: String,
    /// Spec §2 rule 4, the sender when nothing else names one: the login name `@` the default domain.
    pub default_sender: DefaultSender,
    pub aliases: BTreeMap<String, String>,
    /// The aliases file of this run (spec §12).
    pub aliases_file: aliases::AliasesFile,
    /// The aliases file's aliases: read when the configuration has no `[aliases]` table (and for `-bi`);
    /// `None` when the system's file does not exist.
    pub file_aliases: Option<crate::message::envelope::aliases::Aliases>,
    pub qualify_headers: bool,
    pub add_missing_from: bool,
    pub add_missing_date: bool,
    pub add_missing_message_id: bool,
    pub read_recipients: bool,
    pub body_type: Option<BodyType>,
    pub dsn_notify: Option<String>,
    pub dsn_ret: Option<String>,
    pub dsn_envid: Option<String>,
    pub recipients: Vec<String>,
    /// Issue 15: `--header 'Name: value'` without the compose flags, as (name, value): each sets that
    /// field in the message read (replaced, or added when absent).
    pub set_fields: Vec<(String, String)>,
}

/// Where the message comes from.
#[derive(Debug, Clone)]
pub struct Input {
    /// `--input FILE`, else standard input.
    pub path: Option<PathBuf>,
    /// Spec §1: a lone "." ends input only on a terminal.
    pub dot_ends_input: bool,
    /// Spec §11: the compose flags, when any was given; the message is then built, not read.
    pub compose: Option<crate::cli::ComposeArgs>,
    /// Whether standard input is a terminal: composing without --body reads the text body from
    /// standard input only when it is not.
    pub stdin_is_terminal: bool,
}

/// The trace and the per-message log line.
#[derive(Debug, Clone)]
pub struct Logging {
    pub debug: u8,
    /// `--debug-file`: the trace goes here (appended) instead of standard error.
    pub debug_file: Option<PathBuf>,
    /// Whether warnings may go to standard error: not with -bs, where a caller takes any text there
    /// for a failed start (issue 13).
    pub stderr: bool,
    pub logfile: Option<PathBuf>,
    /// The facility to log to syslog with; `None` is no syslog.
    pub syslog: Option<crate::log::Facility>,
}

impl Logging {
    /// A line for the person watching: appended to `--debug-file` when one is given, else on stderr
    /// unless stderr must stay quiet (`-bs`). A write that fails is dropped, like a trace line.
    pub fn tell(&self, line: &str) {
        use std::io::Write as _;
        match &self.debug_file {
            Some(path) => {
                if let Ok(mut file) = crate::log::open_debug_file(path) {
                    let _ = writeln!(file, "{line}");
                }
            }
            None if self.stderr => eprintln!("{line}"),
            None => {}
        }
    }
}

/// The queue (spec §9).
#[derive(Debug, Clone)]
pub struct QueueSettings {
    pub policy: crate::values::QueuePolicy,
    /// `None`: no place for a queue (no HOME and no system spool).
    pub location: Option<crate::queue::Location>,
    pub lifetime: Duration,
    pub warn: Duration,
    pub connections: crate::values::Connections,
    /// The configuration file read, whose changes release held entries.
    pub config_file: Option<PathBuf>,
    /// What an entry queued by this run records to find its server again.
    pub route: crate::queue::state::Route,
    /// The owner recorded in entries and the only one whose entries a non-root user sees.
    pub uid: u32,
}

/// The configuration file found, and the account resolved from it.
struct Loaded {
    path: Option<PathBuf>,
    /// The file's `[aliases]`.
    aliases: BTreeMap<String, String>,
    resolved: Resolved,
    /// Spec §8, issue 10, point 1: a server named on the command line without -a is not the account's
    /// server, so it gets no account and none of the file's credentials, pins or client certificate.
    other_server: bool,
}

/// The file mailsend reads (honouring -C), if any.
pub fn config_path(cli: &Cli, env: &Env) -> Result<Option<PathBuf>, config::ConfigError> {
    // Spec §9: running setgid mailsend, only the system's file, so that a user cannot point the
    // group's privileges at a file of their own (-C) nor read the system password through one.
    if env.setgid {
        return config::locate(None, None, None, Path::new(SYSTEM_CONFIG));
    }
    config::locate(
        cli.config.as_deref(),
        env.xdg_config_home.as_deref(),
        env.home.as_deref(),
        Path::new(SYSTEM_CONFIG),
    )
}

fn load(cli: &Cli, env: &Env) -> anyhow::Result<Loaded> {
    let from_cli = cli.host.is_some() || cli.socket.is_some();
    let other_server = from_cli && cli.account.is_none();
    let Some(path) = config_path(cli, env)? else {
        if cli.account.is_some() {
            return Err(SettingsError::AccountWithoutFile.into());
        }
        return Ok(Loaded {
            path: None,
            aliases: BTreeMap::new(),
            resolved: Resolved::default(),
            other_server,
        });
    };
    let mut config = config::load(&path)?;
    let aliases = std::mem::take(&mut config.aliases);
    let known = config.account_names();
    let resolved = match other_server {
        true => config.resolve_for_other_server(),
        false => config.resolve(cli.account.as_deref())?,
    };
    // Issue 10, point 20: accounts defined, none chosen, no server anywhere: refuse rather than guess.
    if !known.is_empty()
        && resolved.name.is_none()
        && !from_cli
        && resolved.account.host.is_none()
        && resolved.account.socket.is_none()
    {
        return Err(config::ConfigError::NoAccount { path, known }.into());
    }
    Ok(Loaded {
        path: Some(path),
        aliases,
        resolved,
        other_server,
    })
}

/// Why --pretend names only the system file (spec §9).
fn setgid_note(env: &Env) -> &'static str {
    match env.setgid {
        true => " (running setgid: -C and the user's own file are not read)",
        false => "",
    }
}

/// The first lines of --pretend: which file, which account, and why.
fn note_file(l: &mut Layers, cli: &Cli, env: &Env, loaded: &Loaded) {
    let Some(path) = &loaded.path else {
        // Issue 10, point 19: --pretend says where it looked when it found nothing.
        let user = match env.setgid {
            true => None,
            false => config::user_file(env.xdg_config_home.as_deref(), env.home.as_deref()),
        };
        let looked: Vec<String> = user
            .iter()
            .map(|p| p.as_path())
            .chain([Path::new(SYSTEM_CONFIG)])
            .map(|p| p.display().to_string())
            .collect();
        l.note(
            "config file",
            "none",
            &format!("looked for {}{}", looked.join(" and "), setgid_note(env)),
        );
        return;
    };
    l.note("config file", path.display(), setgid_note(env).trim_start());
    match &loaded.resolved.name {
        Some(name) => {
            let source = match cli.account {
                Some(_) => "command line",
                None => "default_account",
            };
            l.note("account", name, source);
        }
        None if loaded.other_server => l.note(
            "account",
            "none",
            "server on the command line without -a: no credentials, pins or client certificate from the \
             file",
        ),
        None => {}
    }
}

/// Spec §9, "Running setgid": the options that would point the group's privileges elsewhere — another
/// server or trust for the system's credentials, a command or a file read or written as the group (the
/// spool, `/etc/mailsend.toml`), or a dialogue typed by hand — are refused, not ignored.
fn setgid_refusals(cli: &Cli) -> Result<(), SettingsError> {
    let given = [
        ("--host", cli.host.is_some()),
        ("--port", cli.port.is_some()),
        ("--socket", cli.socket.is_some()),
        ("--protocol", cli.protocol.is_some()),
        ("--source-address", cli.source_address.is_some()),
        ("--tls", cli.tls.is_some()),
        ("--tls-trust-file", cli.tls_trust_file.is_some()),
        ("--tls-fingerprint", cli.tls_fingerprint.is_some()),
        ("--tls-cert-file", cli.tls_cert_file.is_some()),
        ("--tls-key-file", cli.tls_key_file.is_some()),
        ("--tls-certcheck", cli.tls_certcheck.is_some()),
        ("--tls-server-name", cli.tls_server_name.is_some()),
        ("--auth", cli.auth.is_some()),
        ("--user", cli.user.is_some()),
        ("--password-command", cli.password_command.is_some()),
        ("--allow-plaintext-auth", cli.allow_plaintext_auth),
        ("--logfile/-X", cli.logfile.is_some()),
        ("--debug-file", cli.debug_file.is_some()),
        ("--input", cli.input.is_some()),
        (
            "-oA",
            cli.sendmail.options.iter().any(|o| o.starts_with('A')),
        ),
        ("--serverinfo", cli.serverinfo),
        ("--command", !cli.command.is_empty()),
        ("--verify", !cli.verify.is_empty()),
        ("--expn", !cli.expn.is_empty()),
        ("--quit-after", cli.quit_after.is_some()),
        ("--interactive", cli.interactive),
    ];
    let refused: Vec<&str> = given.iter().filter(|(_, g)| *g).map(|(o, _)| *o).collect();
    match refused.is_empty() {
        true => Ok(()),
        false => Err(SettingsError::RefusedSetgid(refused.join(", "))),
    }
}

pub fn resolve(cli: &Cli, env: &Env) -> anyhow::Result<Settings> {
    if env.setgid {
        setgid_refusals(cli)?;
    }
    let mode = Mode::from_cli(cli);
    if mode == Mode::Serve {
        serve_alone(cli)?;
    }
    let mut loaded = load(cli, env)?;
    let aliases = std::mem::take(&mut loaded.aliases);
    // Moved, not copied, into the password source: the one copy of the file's password (issue 11).
    let file_password = loaded.resolved.account.password.take();
    let mut l = Layers {
        account: &loaded.resolved.account,
        sources: &loaded.resolved.sources,
        origins: Vec::new(),
    };
    note_file(&mut l, cli, env, &loaded);
    let from_cli = cli.host.is_some() || cli.socket.is_some();
    let target = server::target(&mut l, cli, from_cli)?;
    let tls = server::tls(&mut l, cli, &target, &loaded.resolved)?;
    let server = server::server(&mut l, cli, env, &target)?;
    let auth = auth(&mut l, cli, env, file_password)?;
    let file_aliases = aliases::for_mode(&mut l, cli, env, &mode, aliases.is_empty())?;
    let envelope = envelope::policy(&mut l, cli, env, (aliases, file_aliases))?;
    let mut logging = logging(&mut l, cli, env)?;
    logging.stderr = mode != Mode::Serve;
    if mode == Mode::Serve && logging.debug > 0 && logging.debug_file.is_none() {
        return Err(SettingsError::ServeDebugWithoutFile.into());
    }
    let queue = queue::settings(
        &mut l,
        cli,
        env,
        loaded.resolved.name.clone(),
        loaded.path.clone(),
    )?;
    Ok(Settings {
        mode,
        server,
        tls,
        auth,
        envelope,
        input: Input {
            path: cli.input.clone(),
            dot_ends_input: env.stdin_is_terminal && cli.input.is_none(),
            compose: compose(cli)?,
            stdin_is_terminal: env.stdin_is_terminal,
        },
        logging,
        queue,
        origins: l.origins,
    })
}

/// Spec §11: the compose flags, checked against what would also supply the message (exit 64).
fn compose(cli: &Cli) -> Result<Option<crate::cli::ComposeArgs>, SettingsError> {
    if !cli.compose.active() {
        // --header alone edits the message read (issue 15's plain mode; `EnvelopePolicy::set_fields`).
        return Ok(None);
    }
    match () {
        _ if cli.read_recipients => Err(SettingsError::ComposeWith("-t")),
        _ if cli.input.is_some() => Err(SettingsError::ComposeWith("--input")),
        _ => Ok(Some(cli.compose.clone())),
    }
}

/// Spec §10: with -bs the envelope and the message come from the SMTP dialogue (exit 64 otherwise).
fn serve_alone(cli: &Cli) -> Result<(), SettingsError> {
    match () {
        _ if !cli.recipients.is_empty() => Err(SettingsError::ServeWith("recipient arguments")),
        _ if cli.read_recipients => Err(SettingsError::ServeWith("-t")),
        _ if cli.input.is_some() => Err(SettingsError::ServeWith("--input")),
        _ if cli.compose.active() => Err(SettingsError::ServeWith("the compose flags")),
        _ if !cli.compose.header.is_empty() => Err(SettingsError::ServeWith("--header")),
        _ => Ok(()),
    }
}

/// `--auth`, the user and where the password comes from (spec §5 order: command, file, netrc, prompt).
fn auth(
    l: &mut Layers,
    cli: &Cli,
    env: &Env,
    file_password: Option<Secret>,
) -> Result<Auth, SettingsError> {
    let user = l.pick("user", cli.user.clone(), |a| a.user.clone());
    let choice = l.pick("auth", cli.auth, |a| a.auth);
    let password_command = l.pick("password_command", cli.password_command.clone(), |a| {
        a.password_command.clone()
    });
    let password = match (password_command, file_password) {
        (Some(command), _) => PasswordSource::Command(command),
        (None, Some(secret)) => PasswordSource::File(secret),
        (None, None) => match &env.home {
            Some(home) => PasswordSource::Netrc(home.join(".netrc")),
            None => PasswordSource::Prompt,
        },
    };
    let login = match (choice, user) {
        (Some(AuthChoice::Off), _) | (None, None) => None,
        (Some(AuthChoice::On) | None, Some(user)) => Some(Login {
            mechanism: None,
            user,
            password,
        }),
        (Some(AuthChoice::On), None) => return Err(SettingsError::AuthWithoutUser),
        (Some(AuthChoice::Only(mechanism)), user) => {
            let user = user.ok_or(SettingsError::MechanismWithoutUser(mechanism))?;
            Some(Login {
                mechanism: Some(mechanism),
                user,
                password,
            })
        }
    };
    let allow_plaintext = cli.allow_plaintext_auth
        || l.flag("allow_plaintext_auth", |a| a.allow_plaintext_auth, false);
    Ok(Auth {
        login,
        allow_plaintext,
        initial_response: !cli.no_initial_response,
    })
}

/// A configured path with `~` expanded (issue 10, point 21), or the error naming `key`.
fn expand_home(key: &'static str, path: &Path, env: &Env) -> Result<PathBuf, SettingsError> {
    crate::log::expand_home(path, env.home.as_deref()).ok_or_else(|| SettingsError::HomeNeeded {
        key,
        path: path.to_owned(),
    })
}

fn logging(l: &mut Layers, cli: &Cli, env: &Env) -> Result<Logging, SettingsError> {
    let debug = l.pick("debug", cli.debug, |a| a.debug).unwrap_or(0);
    // -X FILE is msmtp's (and sendmail's traffic log's) way to name the log file (issue 10, point 21).
    let logfile = l.pick("logfile", cli.logfile.clone(), |a| a.logfile.clone());
    let logfile = logfile
        .map(|path| expand_home("logfile", &path, env))
        .transpose()?;
    let syslog = match l.pick("syslog", None, |a| a.syslog) {
        Some(crate::log::Syslog::On(facility)) => Some(facility),
        Some(crate::log::Syslog::Off) | None => None,
    };
    let debug_file = cli
        .debug_file
        .as_deref()
        .map(|path| expand_home("--debug-file", path, env))
        .transpose()?;
    Ok(Logging {
        debug,
        debug_file,
        stderr: true,
        logfile,
        syslog,
    })
}
