//! The command-line surface (spec section 1): clap definitions whose doc comments are the help
//! text, the man page and the completions (design habit 8), plus the small sendmail pre-pass that
//! clap cannot express. It accepts every argv in sendmail-callers.md, glued and split; the
//! sendmail flags that mean nothing here are parsed and ignored but hidden from `--help`. Values
//! are only parsed here; precedence against the configuration file and defaults belong to
//! `settings`, which is why every setting a config file can also give is an `Option`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::builder::ValueHint;
use clap::{ArgAction, CommandFactory as _, FromArgMatches as _};

use crate::values::{AuthChoice, BodyType, OnOff, Port, Protocol, Stage, Timeout, TlsMode};

const AFTER_HELP: &str = "\
Examples:
  mailsend -t < msg.eml
      Send msg.eml to the addresses in its To, Cc and Bcc headers.
  mailsend -FCronDaemon -i -odi -oem -oi -t -f root
      What cron runs (as /usr/sbin/sendmail) with a job's output on standard input.
  mailsend --debug 2 --host smtp.example.org:587 bob@example.org < msg.eml
      Send to bob@example.org and show the timestamped SMTP dialogue on standard error.";

/// The parsed command line, before the configuration file and defaults are applied.
#[derive(clap::Parser, Debug, Clone, Default, PartialEq)]
#[command(
    name = "mailsend",
    version,
    about = "Submit a mail message over SMTP, ESMTP or LMTP: a sendmail drop-in and an SMTP debugging tool",
    long_about = "mailsend reads one RFC 5322 message from standard input (or --input FILE), works out the \
envelope from the arguments and, with -t, the message headers, and hands the message to an SMTP, ESMTP or \
LMTP server. It accepts the flags cron, mail clients and scripts pass to /usr/sbin/sendmail, and installed as \
`sendmail` it behaves the same. The whole input is read before any connection is opened, so nothing partial \
is ever sent.",
    after_help = AFTER_HELP,
    disable_help_flag = true,
    disable_version_flag = true,
    args_override_self = true,
    group(clap::ArgGroup::new("report").multiple(false)),
    arg(clap::Arg::new("help").long("help").action(ArgAction::Help).help("Print help")),
    arg(clap::Arg::new("version").long("version").action(ArgAction::Version).help("Print version")),
)]
pub struct Cli {
    /// Recipient addresses; each may hold several, comma-separated, in RFC 5322 syntax
    ///
    /// Anything after `--` is a recipient, even when it starts with `-`.
    #[arg(value_name = "RECIPIENT", value_hint = ValueHint::EmailAddress)]
    pub recipients: Vec<String>,

    /// Also send to the To, Cc and Bcc addresses of the message (Resent-* when present)
    #[arg(short = 't', long, help_heading = "Sendmail compatibility")]
    pub read_recipients: bool,

    /// Envelope sender; '' or '<>' is the null sender
    #[arg(
        short = 'f',
        long,
        visible_short_alias = 'r',
        value_name = "ADDR",
        value_hint = ValueHint::EmailAddress,
        help_heading = "Sendmail compatibility"
    )]
    pub from: Option<String>,

    /// Full name used when a From header is generated
    #[arg(
        short = 'F',
        long,
        value_name = "NAME",
        help_heading = "Sendmail compatibility"
    )]
    pub full_name: Option<String>,

    /// Accepted for compatibility (also as -oi); input always ends at end of file
    ///
    /// A line holding a single `.` ends the input only when standard input is a terminal.
    #[arg(short = 'i', long, help_heading = "Sendmail compatibility")]
    pub ignore_dots: bool,

    /// Body type for MAIL FROM when the server offers 8BITMIME
    #[arg(
        short = 'B',
        long,
        value_name = "TYPE",
        ignore_case = true,
        help_heading = "Sendmail compatibility"
    )]
    pub body_type: Option<BodyType>,

    /// DSN: when to notify, for each RCPT (NEVER, or SUCCESS,FAILURE,DELAY)
    #[arg(
        short = 'N',
        long,
        value_name = "NOTIFY",
        help_heading = "Sendmail compatibility"
    )]
    pub dsn_notify: Option<String>,

    /// DSN: what a notification returns (FULL or HDRS)
    #[arg(
        short = 'R',
        long,
        value_name = "RET",
        help_heading = "Sendmail compatibility"
    )]
    pub dsn_ret: Option<String>,

    /// DSN: envelope identifier sent with MAIL FROM
    #[arg(
        short = 'V',
        long,
        value_name = "ENVID",
        help_heading = "Sendmail compatibility"
    )]
    pub dsn_envid: Option<String>,

    /// Configuration file (instead of ~/.config/mailsend/config.toml or /etc/mailsend.toml)
    #[arg(short = 'C', long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub config: Option<PathBuf>,

    /// Account from the configuration file
    #[arg(short = 'a', long, value_name = "NAME")]
    pub account: Option<String>,

    /// Server as HOST[:PORT] ([::1]:25 for IPv6); a path starting with / is a Unix socket
    #[arg(long, value_name = "HOST", value_hint = ValueHint::Hostname, help_heading = "Connection")]
    pub host: Option<String>,

    /// Server port [default: 25; 465 for implicit TLS; 24 for LMTP]
    #[arg(long, value_name = "N", value_parser = Port::parse, help_heading = "Connection")]
    pub port: Option<Port>,

    /// Connect to this Unix domain socket (usual for LMTP)
    #[arg(long, value_name = "PATH", value_hint = ValueHint::FilePath, help_heading = "Connection")]
    pub socket: Option<PathBuf>,

    /// Protocol: lmtp sends LHLO and reads one reply per recipient (RFC 2033) [default: smtp]
    #[arg(long, value_name = "PROTOCOL", help_heading = "Connection")]
    pub protocol: Option<Protocol>,

    /// Name sent with EHLO/HELO/LHLO: one word, no spaces or control characters (else exit 64, before
    /// connecting) [default: this host's FQDN, else the [IP] literal of the connection's local address]
    #[arg(long, value_name = "NAME", help_heading = "Connection")]
    pub domain: Option<String>,

    /// Bind the local end to IP[:PORT] before connecting
    #[arg(long, value_name = "IP", help_heading = "Connection")]
    pub source_address: Option<String>,

    /// Bound in seconds on connecting and on every wait for the server [default: 60]
    #[arg(long, value_name = "SECONDS", value_parser = Timeout::parse, help_heading = "Connection")]
    pub timeout: Option<Timeout>,

    /// TLS mode [default: auto]
    #[arg(long, value_name = "MODE", help_heading = "TLS")]
    pub tls: Option<TlsMode>,

    /// Trust the CA certificates in this PEM file instead of the system store
    #[arg(long, value_name = "PEM", value_hint = ValueHint::FilePath, help_heading = "TLS")]
    pub tls_trust_file: Option<PathBuf>,

    /// Accept exactly the server certificate with this SHA-256 fingerprint (hex, colons optional)
    #[arg(long, value_name = "SHA256", help_heading = "TLS")]
    pub tls_fingerprint: Option<String>,

    /// Client certificate (PEM)
    #[arg(long, value_name = "PEM", value_hint = ValueHint::FilePath, help_heading = "TLS")]
    pub tls_cert_file: Option<PathBuf>,

    /// Private key of the client certificate (PEM)
    #[arg(long, value_name = "PEM", value_hint = ValueHint::FilePath, help_heading = "TLS")]
    pub tls_key_file: Option<PathBuf>,

    /// Verify the server certificate; off is insecure and says so in the trace [default: on]
    #[arg(long, value_name = "on|off", help_heading = "TLS")]
    pub tls_certcheck: Option<OnOff>,

    /// Name for SNI and certificate verification, when it differs from the host connected to
    #[arg(long, value_name = "NAME", value_hint = ValueHint::Hostname, help_heading = "TLS")]
    pub tls_server_name: Option<String>,

    /// Authenticate: on (best advertised mechanism), off, or one mechanism name
    ///
    /// on tries SCRAM-SHA-256, CRAM-MD5, PLAIN, LOGIN in that order among those the server
    /// offers after TLS. A mechanism name (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256, XOAUTH2,
    /// OAUTHBEARER) uses only that one. Default: on when a user is configured, else off.
    #[arg(long, value_name = "on|off|MECH", value_parser = AuthChoice::parse, help_heading = "Authentication")]
    pub auth: Option<AuthChoice>,

    /// User name for authentication
    #[arg(long, value_name = "NAME", help_heading = "Authentication")]
    pub user: Option<String>,

    /// Shell command whose first output line is the password (run with stdin from /dev/null)
    #[arg(long, value_name = "CMD", value_hint = ValueHint::CommandString, help_heading = "Authentication")]
    pub password_command: Option<String>,

    /// Permit authentication on a connection without TLS
    #[arg(long, help_heading = "Authentication")]
    pub allow_plaintext_auth: bool,

    /// Protocol trace on standard error: 1 as smtplib prints it, 2 with timestamps; -d and -v mean 1
    ///
    /// Credentials are always shown as <redacted>. Message data over 4 KiB is shown truncated.
    #[arg(
        short = 'd',
        long,
        value_name = "LEVEL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "1",
        value_parser = clap::value_parser!(u8).range(0..=2),
        help_heading = "Debugging and reports"
    )]
    pub debug: Option<u8>,

    /// Write the --debug trace to FILE (appended) instead of standard error
    ///
    /// With -bs standard output is the SMTP channel and standard error must stay quiet, so a trace
    /// needs this option there.
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath, help_heading = "Debugging and reports")]
    pub debug_file: Option<PathBuf>,

    /// Print the resolved settings, envelope and message as they would be sent; connect to nothing
    #[arg(long, group = "report", help_heading = "Debugging and reports")]
    pub pretend: bool,

    /// Connect, greet and EHLO, then print the server's greeting, capabilities and TLS details
    #[arg(long, group = "report", help_heading = "Debugging and reports")]
    pub serverinfo: bool,

    /// Print the man page or a shell completion script
    #[arg(
        long,
        value_name = "WHAT",
        group = "report",
        help_heading = "Debugging and reports"
    )]
    pub generate: Option<Generate>,

    /// Print the account names of the configuration file, one a line (for shell completion)
    #[arg(long, group = "report", hide = true)]
    pub list_accounts: bool,

    /// After greeting, EHLO, TLS and AUTH, send this command and print its reply (repeatable)
    ///
    /// The exit status is 0 when every reply is 2xx or 3xx, else 75 if any was 4xx, else 69.
    #[arg(long, value_name = "CMD ARGS", action = ArgAction::Append, help_heading = "Debugging and reports")]
    pub command: Vec<String>,

    /// Send VRFY ADDR, as --command (repeatable)
    #[arg(long, value_name = "ADDR", action = ArgAction::Append, help_heading = "Debugging and reports")]
    pub verify: Vec<String>,

    /// Send EXPN LIST, as --command (repeatable)
    #[arg(long, value_name = "LIST", action = ArgAction::Append, help_heading = "Debugging and reports")]
    pub expn: Vec<String>,

    /// Stop after this stage with a clean QUIT and send no message
    #[arg(long, value_name = "STAGE", help_heading = "Debugging and reports")]
    pub quit_after: Option<Stage>,

    /// Send AUTH without the RFC 4954 initial response
    #[arg(long, help_heading = "Authentication")]
    pub no_initial_response: bool,

    /// Type commands on the established connection and see the replies (on a terminal)
    #[arg(long, group = "report", help_heading = "Debugging and reports")]
    pub interactive: bool,

    /// Append one line per message to FILE (the `logfile` key; msmtp's -X)
    ///
    /// Sendmail's -X FILE logs the whole SMTP traffic; mailsend takes msmtp's meaning, the per-message
    /// log line, since a sendmail drop-in's callers mostly come from msmtp. Use --debug for the traffic.
    #[arg(short = 'X', long, value_name = "FILE", value_hint = ValueHint::FilePath, help_heading = "Debugging and reports")]
    pub logfile: Option<PathBuf>,

    /// Accepted for msmtp compatibility; changes nothing
    ///
    /// Without -f, the envelope sender already comes from the message's Sender or From header.
    #[arg(long, help_heading = "Sendmail compatibility")]
    pub read_envelope_from: bool,

    /// Read the message from FILE instead of standard input
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub input: Option<PathBuf>,

    #[command(flatten)]
    pub queue: QueueArgs,

    #[command(flatten)]
    pub compose: ComposeArgs,

    #[command(flatten)]
    pub sendmail: SendmailCompat,
}

/// Composing a message on the command line instead of reading one (spec §11, issue 15). `-s` is not
/// offered: sendmail's `-s` (save From lines) and mailx's subject would mean different things here.
#[derive(clap::Args, Debug, Clone, Default, PartialEq)]
pub struct ComposeArgs {
    /// Compose the message: its Subject (RFC 2047 encoded when not ASCII)
    #[arg(long, value_name = "TEXT", help_heading = "Composing a message")]
    pub subject: Option<String>,

    /// Compose the message: the text body from FILE, or standard input for '-'
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath, help_heading = "Composing a message")]
    pub body: Option<PathBuf>,

    /// Compose the message: an HTML alternative to the text body, from FILE
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath, help_heading = "Composing a message")]
    pub html: Option<PathBuf>,

    /// Compose the message: attach FILE (repeatable); 'FILE;type=TYPE' overrides the content type
    #[arg(long, value_name = "FILE", action = ArgAction::Append, value_hint = ValueHint::FilePath, help_heading = "Composing a message")]
    pub attach: Vec<String>,

    /// Add the header field 'Name: value' (repeatable); without another compose flag, set it in the message read
    #[arg(long, value_name = "FIELD", action = ArgAction::Append, help_heading = "Composing a message")]
    pub header: Vec<String>,

    /// Compose the message: a To recipient, in the header and the envelope (repeatable)
    #[arg(long, value_name = "ADDR", action = ArgAction::Append, help_heading = "Composing a message")]
    pub to: Vec<String>,

    /// Compose the message: a Cc recipient, in the header and the envelope (repeatable)
    #[arg(long, value_name = "ADDR", action = ArgAction::Append, help_heading = "Composing a message")]
    pub cc: Vec<String>,

    /// Compose the message: a Bcc recipient, in the envelope only (repeatable)
    #[arg(long, value_name = "ADDR", action = ArgAction::Append, help_heading = "Composing a message")]
    pub bcc: Vec<String>,
}

impl ComposeArgs {
    /// Whether a flag that composes was given: the message is then built, not read. `--header`
    /// alone does not compose; it then sets a field of the message read (issue 15's plain mode).
    pub fn active(&self) -> bool {
        let header_only = ComposeArgs {
            header: self.header.clone(),
            ..ComposeArgs::default()
        };
        *self != header_only
    }
}

/// The queue (spec §9): run it, list it, manage its entries, and choose per run whether a message may
/// wait in it. `-bp` (list) and `-odq` (queue only) are the sendmail spellings, parsed with the other
/// sendmail flags.
#[derive(clap::Args, Debug, Clone, Default, PartialEq)]
pub struct QueueArgs {
    /// Deliver the queue now, ignoring the backoff (-qR..., -q30m are accepted; the interval is ignored)
    #[arg(
        short = 'q',
        value_name = "INTERVAL",
        num_args = 0..=1,
        default_missing_value = "",
        help_heading = "Queue"
    )]
    pub run: Option<String>,

    /// With -bp (or as mailq): one JSON object per entry and line, with postqueue -j's fields
    #[arg(long, help_heading = "Queue")]
    pub json: bool,

    /// Remove queue entry ID (held and failed ones too); only your own unless you are root
    #[arg(long, value_name = "ID", help_heading = "Queue")]
    pub queue_delete: Option<String>,

    /// Hold queue entry ID: no delivery until --queue-release ID
    #[arg(long, value_name = "ID", help_heading = "Queue")]
    pub queue_hold: Option<String>,

    /// Release held queue entry ID: delivered by the next -q, the backoff forgotten
    #[arg(long, value_name = "ID", help_heading = "Queue")]
    pub queue_release: Option<String>,

    /// For monitoring: exit 75 with one line per entry that is held or older than queue_warn, else 0
    #[arg(long, help_heading = "Queue")]
    pub queue_check: bool,

    /// Queue the message when a temporary failure stops its delivery (queue = "on-failure")
    #[arg(long, conflicts_with = "no_queue", help_heading = "Queue")]
    pub queue_on_failure: bool,

    /// Never queue: a temporary failure is exit 75 (queue = "never")
    #[arg(long, help_heading = "Queue")]
    pub no_queue: bool,
}

/// Sendmail flags accepted for compatibility. Apart from `-v` and `-oi`, which [`parse_from`]
/// folds into `debug` and `ignore_dots`, they change nothing; they are kept so that nothing is
/// lost. Hidden from `--help`.
#[derive(clap::Args, Debug, Clone, Default, PartialEq)]
pub struct SendmailCompat {
    /// Same as --debug 1
    #[arg(short = 'v', help_heading = "Sendmail compatibility")]
    pub verbose: bool,

    /// Sendmail option (-oem, -odi, -oi, ...); ignored except -oi, -odq and -oAFILE (aliases file)
    #[arg(short = 'o', value_name = "OPTION", action = ArgAction::Append, hide = true)]
    pub options: Vec<String>,

    /// Mode: -bm (deliver), -bp (list the queue), -bs (SMTP on stdin/stdout) or -bi (check the aliases file)
    #[arg(short = 'b', value_name = "MODE", value_parser = parse_mode, hide = true)]
    pub mode: Option<String>,

    /// Sendmail -A (alternate configuration); ignored
    #[arg(short = 'A', value_name = "X", hide = true)]
    pub alternate_config: Option<String>,

    /// Sendmail -G (gateway submission); ignored
    #[arg(short = 'G', hide = true)]
    pub gateway: bool,

    /// Sendmail -h (hop count); ignored
    #[arg(short = 'h', value_name = "N", hide = true)]
    pub hop_count: Option<String>,

    /// Sendmail -L (syslog tag); ignored
    #[arg(short = 'L', value_name = "TAG", hide = true)]
    pub log_tag: Option<String>,

    /// Sendmail -m (me too); ignored
    #[arg(short = 'm', hide = true)]
    pub me_too: bool,

    /// Sendmail -n (no aliasing); ignored
    #[arg(short = 'n', hide = true)]
    pub no_alias: bool,

    /// Sendmail -O (option=value); ignored
    #[arg(short = 'O', value_name = "OPT", hide = true)]
    pub long_option: Option<String>,

    /// Sendmail -U (initial user submission); ignored
    #[arg(short = 'U', hide = true)]
    pub initial_submission: bool,
}

/// `--generate`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generate {
    Man,
    Bash,
    Zsh,
    Fish,
}

/// The clap command, for parsing and for `--generate` (man page and completions).
pub fn command() -> clap::Command {
    Cli::command()
}

/// Parses a full argv (program name first): the sendmail pre-pass, then clap, then the folding
/// of `-v` into `debug` and `-oi` into `ignore_dots`.
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args = prepass(args.into_iter().map(Into::into));
    let matches = command().try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command()))?;
    if cli.sendmail.options.iter().any(|o| o == "i") {
        cli.ignore_dots = true;
    }
    if cli.sendmail.verbose {
        cli.debug = Some(cli.debug.unwrap_or(0).max(1));
    }
    Ok(cli)
}

/// Rewrites the debug forms clap cannot take as written into `--debug=N`: glued `-dN` (sendmail
/// style), and `-d N` / `--debug N` when N is a number (clap then checks the range). Any other
/// word after `-d`/`--debug` is left alone, so `--debug bob@example.org` keeps bob as a
/// recipient. Stops at `--`.
fn prepass(args: impl Iterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut args = args.peekable();
    if let Some(program) = args.next() {
        // Installed as `mailq`, mailsend lists the queue; as `newaliases`, it checks the aliases file
        // (spec §9, §12).
        let mode = match Path::new(&program).file_name().and_then(|n| n.to_str()) {
            Some("mailq") => Some("-bp"),
            Some("newaliases") => Some("-bi"),
            _ => None,
        };
        out.push(program);
        out.extend(mode.map(OsString::from));
    }
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--") => {
                out.push(arg);
                out.extend(args);
                break;
            }
            Some("-d" | "--debug") => {
                // A number is a level even when out of range, so that `--debug 3` is an error
                // rather than a recipient named "3".
                let level = args
                    .next_if(|next| next.to_str().is_some_and(is_number))
                    .and_then(|next| next.into_string().ok())
                    .unwrap_or_else(|| "1".to_owned());
                out.push(format!("--debug={level}").into());
            }
            Some(glued) if glued.len() > 2 && glued.starts_with("-d") => {
                out.push(format!("--debug={}", &glued[2..]).into());
            }
            _ => out.push(arg),
        }
    }
    out
}

fn is_number(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit())
}

fn parse_mode(text: &str) -> Result<String, String> {
    match text {
        "m" | "p" | "s" | "i" => Ok(text.to_owned()),
        _ => Err(format!(
            "mode -b{text} is not supported; mailsend delivers (-bm, the default), lists the queue (-bp), \
             speaks SMTP on standard input and output (-bs) or checks the aliases file (-bi)"
        )),
    }
}

#[cfg(test)]
mod tests;
