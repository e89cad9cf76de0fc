//! Raw command line + configuration file → one resolved [`Settings`], once, before anything else happens
//! (two phases, like ripgrep's LowArgs → HiArgs and msmtp's override_account). Precedence: command line >
//! account (> its parents) > `[defaults]` > built-in defaults (spec §8). Nothing downstream reads the
//! environment or a file on its own.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

mod sender;

pub use sender::DefaultSender;

use crate::cli::{self, Cli};
use crate::config::{self, Account};
use crate::exit::Exit;
use crate::smtp::auth::Mechanism;
use crate::smtp::session::BodyType;
use crate::smtp::transport::Endpoint;
use crate::tls::TlsOptions;

/// The longest `--timeout` (one day): bounds every wait, and far below what `Instant` arithmetic and
/// `Duration` can hold, so no value a user gives can overflow them.
pub const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// The system-wide configuration file (spec §8).
pub const SYSTEM_CONFIG: &str = "/etc/mailsend.toml";

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
}

impl Env {
    pub fn from_process() -> Env {
        use std::io::IsTerminal;
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let from_passwd = || {
            let user = nix::unistd::User::from_uid(nix::unistd::getuid()).ok()??;
            Some((OsString::from(user.name), "the password database"))
        };
        Env {
            login: var("LOGNAME")
                .map(|v| (v, "$LOGNAME"))
                .or_else(|| var("USER").map(|v| (v, "$USER")))
                .or_else(from_passwd),
            home: var("HOME").map(PathBuf::from),
            xdg_config_home: var("XDG_CONFIG_HOME").map(PathBuf::from),
            hostname: gethostname::gethostname().to_string_lossy().into_owned(),
            stdin_is_terminal: std::io::stdin().is_terminal(),
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

/// The resolved `--auth` and credentials (the password itself is fetched just before connecting).
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// `None` = choose (`--auth on`).
    pub mechanism: Option<Mechanism>,
    pub user: String,
    pub password_command: Option<String>,
    pub password: Option<crate::secret::Secret>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub endpoint: Endpoint,
    pub lmtp: bool,
    /// `None`: the address literal of the connection's local end (issue 10, point 23).
    pub domain: Option<String>,
    pub source_address: Option<SocketAddr>,
    pub timeout: Duration,
    pub final_timeout: Duration,
    pub tls: TlsUse,
    pub tls_options: TlsOptions,
    pub auth: Option<AuthSettings>,
    pub allow_plaintext_auth: bool,
    pub no_initial_response: bool,
    pub debug: u8,
    /// Envelope sender from -f/-r or the account's `from` (None: from the headers, then $USER@domain).
    pub from: Option<String>,
    pub full_name: Option<String>,
    pub maildomain: Option<String>,
    /// The domain for `$USER@…` and the Message-ID: maildomain, else the host's FQDN.
    pub default_domain: String,
    /// Spec §2 rule 4, the sender when nothing else names one: the login name `@` the default domain.
    pub default_sender: DefaultSender,
    pub aliases: BTreeMap<String, String>,
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
    pub input: Option<PathBuf>,
    pub dot_ends_input: bool,
    pub logfile: Option<PathBuf>,
    /// The facility to log to syslog with; `None` is no syslog.
    pub syslog: Option<crate::log::Facility>,
    pub netrc: Option<PathBuf>,
    /// Where each setting came from, for --pretend: (key, value shown, source).
    pub origins: Vec<(String, String, String)>,
}

fn usage(msg: impl Into<String>) -> Exit {
    Exit::usage(msg)
}

/// Split `HOST[:PORT]`, `[v6]:PORT`, `[v6]`, a bare IPv6 literal, or a Unix socket path.
pub fn parse_host(spec: &str) -> Result<(String, Option<u16>), Exit> {
    let bad_port = |p: &str| usage(format!("invalid port {p:?} in --host {spec:?}"));
    if let Some(rest) = spec.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| usage(format!("missing ']' in --host {spec:?}")))?;
        return match after {
            "" => Ok((host.to_string(), None)),
            _ => {
                let port = after.strip_prefix(':').ok_or_else(|| bad_port(after))?;
                Ok((
                    host.to_string(),
                    Some(port.parse().map_err(|_| bad_port(port))?),
                ))
            }
        };
    }
    match spec.matches(':').count() {
        0 => Ok((spec.to_string(), None)),
        1 => {
            let (host, port) = spec.split_once(':').unwrap_or((spec, ""));
            Ok((
                host.to_string(),
                Some(port.parse().map_err(|_| bad_port(port))?),
            ))
        }
        _ => Ok((spec.to_string(), None)), // a bare IPv6 literal
    }
}

/// loopback per spec §4: 127.0.0.0/8, ::1, `localhost`.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The EHLO name: the host's FQDN if it has a dot; else `None`, for the `[IP]` literal of the
/// connection's local address, which is known only once connected (RFC 5321 §4.1.4; smtplib takes the
/// host name's address instead: issue 10, point 23).
pub fn default_ehlo_name(hostname: &str) -> Option<String> {
    hostname.contains('.').then(|| hostname.to_string())
}

struct Layers<'a> {
    account: &'a Account,
    sources: &'a BTreeMap<&'static str, String>,
    origins: Vec<(String, String, String)>,
}

impl Layers<'_> {
    /// Take the command-line value, else the config's, recording where it came from.
    fn pick<T: Clone + std::fmt::Debug>(
        &mut self,
        key: &'static str,
        cli: Option<T>,
        conf: impl Fn(&Account) -> Option<T>,
    ) -> Option<T> {
        if let Some(v) = cli {
            self.origins
                .push((key.into(), format!("{v:?}"), "command line".into()));
            return Some(v);
        }
        let v = conf(self.account)?;
        let source = self
            .sources
            .get(key)
            .cloned()
            .unwrap_or_else(|| "config".into());
        self.origins.push((key.into(), format!("{v:?}"), source));
        Some(v)
    }

    fn note_default(&mut self, key: &str, value: impl std::fmt::Display) {
        self.origins
            .push((key.into(), value.to_string(), "default".into()));
    }
}

pub fn resolve(cli: &Cli, env: &Env) -> anyhow::Result<Settings> {
    let system_file = std::path::Path::new(SYSTEM_CONFIG);
    let path = config::locate(
        cli.config.as_deref(),
        env.xdg_config_home.as_deref(),
        env.home.as_deref(),
        system_file,
    )?;
    let config = match &path {
        Some(p) => Some(config::load(p)?),
        None => None,
    };
    if config.is_none() && cli.account.is_some() {
        return Err(Exit::config("--account given but no configuration file was found").into());
    }
    // Spec §8, issue 10, point 1: a server named on the command line without -a is not the account's
    // server, so it gets no account and none of the file's credentials, pins or client certificate.
    let from_cli = cli.host.is_some() || cli.socket.is_some();
    let other_server = from_cli && cli.account.is_none();
    let resolved = match &config {
        Some(c) if other_server => c.resolve_for_other_server(),
        Some(c) => c.resolve(cli.account.as_deref())?,
        None => config::Resolved::default(),
    };
    // Issue 10, point 20: accounts defined, none chosen, no server anywhere: refuse rather than guess.
    if let Some(c) = &config
        && !c.accounts.is_empty()
        && resolved.name.is_none()
        && !from_cli
        && resolved.account.host.is_none()
        && resolved.account.socket.is_none()
    {
        return Err(config::ConfigError::NoAccount {
            path: c.path.clone(),
            known: c.account_names(),
        }
        .into());
    }
    let aliases = config
        .as_ref()
        .map(|c| c.aliases.clone())
        .unwrap_or_default();
    let mut l = Layers {
        account: &resolved.account,
        sources: &resolved.sources,
        origins: Vec::new(),
    };
    match &path {
        Some(p) => {
            l.origins
                .push(("config file".into(), p.display().to_string(), "".into()));
            match &resolved.name {
                Some(name) => l.origins.push((
                    "account".into(),
                    name.clone(),
                    match cli.account {
                        Some(_) => "command line".into(),
                        None => "default_account".into(),
                    },
                )),
                None if other_server => l.origins.push((
                    "account".into(),
                    "none".into(),
                    "server on the command line without -a: no credentials, pins or client \
                     certificate from the file"
                        .into(),
                )),
                None => {}
            }
        }
        // Issue 10, point 19: --pretend says where it looked when it found nothing.
        None => {
            let user = config::user_file(env.xdg_config_home.as_deref(), env.home.as_deref());
            let looked: Vec<String> = user
                .iter()
                .map(|p| p.as_path())
                .chain([system_file])
                .map(|p| p.display().to_string())
                .collect();
            l.origins.push((
                "config file".into(),
                "none".into(),
                format!("looked for {}", looked.join(" and ")),
            ));
        }
    }

    // Where to connect. The server is one setting given two ways (`host`, `socket`): the command line's
    // --host or --socket beats both keys of the file; at one level, the socket beats the host.
    let socket = match from_cli {
        true => l.pick("socket", cli.socket.clone(), |_| None),
        false => l.pick("socket", None, |a| a.socket.clone()),
    };
    let host = match (from_cli, &socket) {
        (true, Some(_)) => None,
        (true, None) => l.pick("host", cli.host.clone(), |_| None),
        (false, None) => l.pick("host", None, |a| a.host.clone()),
        (false, Some(_)) => None,
    };
    let lmtp = match l.pick(
        "protocol",
        cli.protocol.map(|p| format!("{p:?}").to_lowercase()),
        |a| a.protocol.clone(),
    ) {
        Some(p) => p.eq_ignore_ascii_case("lmtp"),
        None => false,
    };
    let tls_mode = l.pick(
        "tls",
        cli.tls.map(|t| format!("{t:?}").to_lowercase()),
        |a| a.tls.clone(),
    );

    let (endpoint, host_name) = match (socket, host) {
        (Some(path), _) => (Endpoint::Unix(path.clone()), None),
        (None, Some(h)) if h.starts_with('/') => (Endpoint::Unix(PathBuf::from(&h)), None),
        (None, host) => {
            let given = host.unwrap_or_else(|| {
                l.note_default("host", "localhost");
                "localhost".to_string()
            });
            let (h, in_host) = parse_host(&given)?;
            // A port written in --host beats --port; --port beats a port written in the file's host;
            // that beats the file's `port`.
            let port = match (cli.host.is_some(), in_host, cli.port) {
                (true, Some(p), _) => Some(p),
                (_, _, Some(p)) => l.pick("port", Some(p), |_| None),
                (_, Some(p), None) => Some(p),
                (_, None, None) => l.pick("port", None, |a| a.port),
            };
            let implicit = tls_mode.as_deref() == Some("implicit");
            let port = port.unwrap_or(if lmtp {
                24
            } else if implicit {
                465
            } else {
                25
            });
            (
                Endpoint::Tcp {
                    host: h.clone(),
                    port,
                },
                Some(h),
            )
        }
    };

    // Issue 10, point 5: a pin, a trust file or a client certificate given for this server (on the command
    // line or in the account, not merely in [defaults]) means TLS is wanted, even on loopback, where an
    // ssh tunnel to a smarthost lands: `auto` then means STARTTLS, never a silent plaintext send.
    let given_for_this_server = |key: &str| {
        resolved
            .sources
            .get(key)
            .is_some_and(|source| source != "[defaults]")
    };
    let tls_material = cli.tls_fingerprint.is_some()
        || cli.tls_trust_file.is_some()
        || cli.tls_cert_file.is_some()
        || ["tls_fingerprint", "tls_trust_file", "tls_cert_file"]
            .into_iter()
            .any(given_for_this_server);
    let tls = match tls_mode.as_deref().unwrap_or("auto") {
        "off" => TlsUse::None,
        "starttls" => TlsUse::StartTls,
        "implicit" => TlsUse::Implicit,
        _ => match &endpoint {
            Endpoint::Tcp { port: 465, .. } => TlsUse::Implicit,
            Endpoint::Tcp { host, .. } if !is_loopback(host) => TlsUse::StartTls,
            _ if tls_material => TlsUse::StartTls,
            _ => TlsUse::None,
        },
    };

    let server_name = l.pick("tls_server_name", cli.tls_server_name.clone(), |a| {
        a.tls_server_name.clone()
    });
    let tls_options = TlsOptions {
        server_name: server_name.or(host_name).unwrap_or_default(),
        trust_file: l.pick("tls_trust_file", cli.tls_trust_file.clone(), |a| {
            a.tls_trust_file.clone()
        }),
        fingerprint: l.pick("tls_fingerprint", cli.tls_fingerprint.clone(), |a| {
            a.tls_fingerprint.clone()
        }),
        cert_file: l.pick("tls_cert_file", cli.tls_cert_file.clone(), |a| {
            a.tls_cert_file.clone()
        }),
        key_file: l.pick("tls_key_file", cli.tls_key_file.clone(), |a| {
            a.tls_key_file.clone()
        }),
        certcheck: l
            .pick(
                "tls_certcheck",
                cli.tls_certcheck.map(|c| c == cli::OnOff::On),
                |a| a.tls_certcheck,
            )
            .unwrap_or(true),
    };
    if tls != TlsUse::None && tls_options.server_name.is_empty() {
        return Err(Exit::config(
            "TLS over a Unix socket needs --tls-server-name (the name to verify)",
        )
        .into());
    }

    let timeout_secs = l.pick("timeout", cli.timeout, |a| a.timeout);
    // cli and config check the range already; this keeps a Settings built any other way from panicking.
    if let Some(t) = timeout_secs
        && !(t > 0.0 && t <= MAX_TIMEOUT_SECS)
    {
        return Err(Exit::usage(format!(
            "--timeout must be above 0 and at most {MAX_TIMEOUT_SECS} seconds"
        ))
        .into());
    }
    let timeout = Duration::from_secs_f64(timeout_secs.unwrap_or(60.0));
    // RFC 5321 §4.5.3.2.6: wait 10 minutes for the reply to the final dot, unless the user said otherwise.
    let final_timeout = if timeout_secs.is_some() {
        timeout
    } else {
        timeout.max(Duration::from_secs(600))
    };

    let source_address = match l.pick("source_address", cli.source_address.clone(), |a| {
        a.source_address.clone()
    }) {
        None => None,
        Some(s) => Some(parse_source(&s)?),
    };

    // Issue 10, point 16: checked here with the other arguments (64), not by the engine after connecting.
    if let Some(d) = &cli.domain {
        check_ehlo_name(d).map_err(|e| Exit::usage(format!("--domain {e}")))?;
    }
    let domain = match l.pick("domain", cli.domain.clone(), |a| a.domain.clone()) {
        Some(d) => Some(d),
        None => {
            let d = default_ehlo_name(&env.hostname);
            let shown = d
                .as_deref()
                .unwrap_or("[IP] of the connection's local address");
            l.note_default("domain", shown);
            d
        }
    };

    // Authentication.
    let user = l.pick("user", cli.user.clone(), |a| a.user.clone());
    let auth_word = l.pick("auth", cli.auth.clone(), |a| a.auth.clone());
    let password_command = l.pick("password_command", cli.password_command.clone(), |a| {
        a.password_command.clone()
    });
    let password = resolved.account.password.clone();
    let auth = match (
        auth_word.as_deref().map(str::to_ascii_lowercase).as_deref(),
        user,
    ) {
        (Some("off"), _) => None,
        (None, None) => None,
        (Some("on") | None, Some(user)) => Some(AuthSettings {
            mechanism: None,
            user,
            password_command,
            password,
        }),
        (Some("on"), None) => {
            return Err(Exit::config("--auth on needs a user name (--user or `user`)").into());
        }
        (Some(mech), user) => {
            let mechanism = Mechanism::from_name(mech)
                .ok_or_else(|| Exit::usage(format!("unknown authentication mechanism {mech:?}")))?;
            let user = user
                .ok_or_else(|| Exit::config(format!("--auth {mech} needs a user name (--user)")))?;
            Some(AuthSettings {
                mechanism: Some(mechanism),
                user,
                password_command,
                password,
            })
        }
    };
    let allow_plaintext_auth = cli.allow_plaintext_auth
        || l.pick("allow_plaintext_auth", None, |a| a.allow_plaintext_auth)
            .unwrap_or(false);

    let debug = l.pick("debug", cli.debug, |a| a.debug).unwrap_or(0);
    let from = l.pick("from", cli.from.clone(), |a| a.from.clone());
    let maildomain = l.pick("maildomain", None, |a| a.maildomain.clone());
    // `$USER@…` and the Message-ID want a name, never an address literal: the host name as it is.
    let default_domain = maildomain.clone().unwrap_or_else(|| env.hostname.clone());
    let default_sender = DefaultSender::from_login(env.login.as_ref(), &default_domain);
    let flag = |l: &mut Layers, key, f: fn(&Account) -> Option<bool>, default| {
        l.pick(key, None, f).unwrap_or(default)
    };
    let qualify_headers = flag(&mut l, "qualify_headers", |a| a.qualify_headers, false);
    let add_missing_from = flag(&mut l, "add_missing_from", |a| a.add_missing_from, true);
    let add_missing_date = flag(&mut l, "add_missing_date", |a| a.add_missing_date, true);
    let add_missing_message_id = flag(
        &mut l,
        "add_missing_message_id",
        |a| a.add_missing_message_id,
        true,
    );
    let read_recipients =
        cli.read_recipients || flag(&mut l, "read_recipients", |a| a.read_recipients, false);
    // -X FILE is msmtp's (and sendmail's traffic log's) way to name the log file (issue 10, point 21).
    let logfile = match l.pick("logfile", cli.logfile.clone(), |a| a.logfile.clone()) {
        Some(path) => Some(
            crate::log::expand_home(&path, env.home.as_deref()).ok_or_else(|| {
                Exit::config(format!(
                    "logfile {} starts with ~ but HOME is not set",
                    path.display()
                ))
            })?,
        ),
        None => None,
    };
    let syslog = match l.pick("syslog", None, |a| a.syslog) {
        Some(crate::log::Syslog::On(facility)) => Some(facility),
        Some(crate::log::Syslog::Off) | None => None,
    };

    Ok(Settings {
        endpoint,
        lmtp,
        domain,
        source_address,
        timeout,
        final_timeout,
        tls,
        tls_options,
        auth,
        allow_plaintext_auth,
        no_initial_response: cli.no_initial_response,
        debug,
        from,
        full_name: cli.full_name.clone(),
        maildomain,
        default_domain,
        default_sender,
        aliases,
        qualify_headers,
        add_missing_from,
        add_missing_date,
        add_missing_message_id,
        read_recipients,
        body_type: cli.body_type.map(|b| match b {
            cli::BodyType::EightBitMime => BodyType::EightBitMime,
            cli::BodyType::SevenBit => BodyType::SevenBit,
        }),
        dsn_notify: cli.dsn_notify.as_deref().map(dsn_notify).transpose()?,
        dsn_ret: cli.dsn_ret.as_deref().map(dsn_ret).transpose()?,
        dsn_envid: cli.dsn_envid.as_deref().map(dsn_envid).transpose()?,
        recipients: cli.recipients.clone(),
        input: cli.input.clone(),
        // Spec §1: a lone "." ends input only on a terminal (and -i/-oi are accepted either way).
        dot_ends_input: env.stdin_is_terminal && cli.input.is_none(),
        logfile,
        syslog,
        netrc: env.home.as_ref().map(|h| h.join(".netrc")),
        origins: l.origins,
    })
}

/// `-N`: NEVER, or a comma-separated list of SUCCESS, FAILURE, DELAY (RFC 3461 §4.1). Checked, because
/// the value becomes an ESMTP parameter: anything else (`NEVER ORCPT=…`) would add parameters of its own.
fn dsn_notify(value: &str) -> Result<String, Exit> {
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
        false => Err(Exit::usage(format!(
            "-N takes NEVER or a list of SUCCESS, FAILURE and DELAY, not {value:?}"
        ))),
    }
}

/// `-R`: FULL or HDRS (RFC 3461 §4.3).
fn dsn_ret(value: &str) -> Result<String, Exit> {
    match value.trim().to_ascii_uppercase().as_str() {
        r @ ("FULL" | "HDRS") => Ok(r.to_string()),
        _ => Err(Exit::usage(format!("-R takes FULL or HDRS, not {value:?}"))),
    }
}

/// `-V`: any text of at most 100 characters, sent as xtext (RFC 3461 §4.4): every octet outside
/// `!`..`~`, and `+` and `=`, becomes `+XX`, so the value can never become a parameter of its own.
fn dsn_envid(value: &str) -> Result<String, Exit> {
    if value.is_empty() || value.chars().count() > 100 {
        return Err(Exit::usage(
            "-V takes an envelope id of 1 to 100 characters",
        ));
    }
    Ok(value
        .bytes()
        .map(|b| match b {
            b'!'..=b'~' if b != b'+' && b != b'=' => (b as char).to_string(),
            _ => format!("+{b:02X}"),
        })
        .collect())
}

/// The EHLO/HELO/LHLO argument: one word (RFC 5321 §4.1.1.1: a Domain or an address literal) of
/// printable characters, so it can neither add a command (CR, LF) nor split into arguments (a space).
pub fn check_ehlo_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    match name.chars().find(|c| c.is_control() || c.is_whitespace()) {
        Some(c) => Err(format!(
            "must be one host name or address literal, without spaces or control characters \
             ({c:?} in {name:?})"
        )),
        None => Ok(()),
    }
}

fn parse_source(s: &str) -> Result<SocketAddr, Exit> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    let (host, port) = parse_host(s)?;
    let ip: IpAddr = host
        .parse()
        .map_err(|_| Exit::usage(format!("--source-address must be an IP address, not {s:?}")))?;
    Ok(SocketAddr::new(ip, port.unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_forms() {
        assert_eq!(
            parse_host("mail.example:587").unwrap(),
            ("mail.example".into(), Some(587))
        );
        assert_eq!(
            parse_host("[::1]:2525").unwrap(),
            ("::1".into(), Some(2525))
        );
        assert_eq!(parse_host("[::1]").unwrap(), ("::1".into(), None));
        assert_eq!(parse_host("::1").unwrap(), ("::1".into(), None));
        assert_eq!(
            parse_host("mail.example").unwrap(),
            ("mail.example".into(), None)
        );
        assert_eq!(parse_host("h:bogus").unwrap_err().code, crate::exit::USAGE);
    }

    #[test]
    fn loopback_rule() {
        assert!(is_loopback("127.0.0.5"));
        assert!(is_loopback("::1"));
        assert!(is_loopback("LOCALHOST"));
        assert!(!is_loopback("mail.example.org"));
    }

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

    #[test]
    fn source_address_forms() {
        assert_eq!(
            parse_source("127.0.0.1").unwrap(),
            "127.0.0.1:0".parse().unwrap()
        );
        assert_eq!(
            parse_source("[::1]:2000").unwrap(),
            "[::1]:2000".parse().unwrap()
        );
        assert!(parse_source("example.org").is_err());
    }
}
