//! What one run of mailsend does, start to finish: settings → input spool → envelope → session →
//! outcome. main() only maps the result to an exit status. After [`run`] resolves the settings, everything
//! here reads [`Settings`] and its [`Mode`], never the command line; the debugging modes are in `debug`,
//! the connection set-up in `dial`.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};

use crate::cli::Cli;
use crate::debug;
use crate::dial::Plan;
use crate::exit::{self, Outcome};
use crate::lines::MAX_LINE;
use crate::message::envelope::policy::{self, Policy, PolicyError};
use crate::message::headers::{self, HEAD_SCAN_LEN, MessageError};
use crate::message::input::InputError;
use crate::message::spool::Spool;
use crate::password::PasswordSource;
use crate::settings::{self, Env, Mode, Settings, SettingsError, TlsUse};
use crate::smtp::error::Error;
use crate::smtp::session::{Delivery, Then, Transaction};
use crate::values::{QueuePolicy, Stage, TlsMode};

/// The message as it will be sent: the rewritten header section, then the spool from `body_offset`.
pub struct Prepared {
    pub transaction: Transaction,
    pub header: Vec<u8>,
    pub body_offset: u64,
}

impl Prepared {
    /// The whole message, streamed: new header section, then the body straight from the spool.
    pub fn reader<'a>(&'a self, spool: &'a Spool) -> io::Result<impl Read + 'a> {
        Ok(io::Cursor::new(&self.header[..]).chain(spool.reader_from(self.body_offset)?))
    }
}

pub fn run(cli: &Cli, env: &Env) -> anyhow::Result<Outcome> {
    if cli.list_accounts {
        return list_accounts(cli, env);
    }
    execute(cli, env, &settings::resolve(cli, env)?)
}

/// The run the settings describe.
fn execute(cli: &Cli, env: &Env, settings: &Settings) -> anyhow::Result<Outcome> {
    // The debugging modes need no message (issue 7); stop points before MAIL read no input.
    match &settings.mode {
        Mode::ServerInfo => return debug::serverinfo(settings),
        Mode::Interactive => return debug::interactive(settings),
        Mode::Commands(probes) => return debug::commands(settings, probes),
        Mode::QuitAfter(stage) if !settings.mode.reads_message() => {
            return debug::quit_after(settings, *stage, None);
        }
        Mode::QueueRun | Mode::QueueList { .. } | Mode::QueueCheck | Mode::QueueEntry(..) => {
            return crate::queue::command::run(cli, env, settings);
        }
        Mode::CheckAliases => {
            let envelope = &settings.envelope;
            let summary =
                settings::aliases::summary(&envelope.aliases_file, envelope.file_aliases.as_ref());
            writeln!(io::stdout(), "{summary}")?;
            return Ok(Outcome::Done);
        }
        Mode::Send | Mode::Pretend | Mode::QuitAfter(_) => {}
    }
    let spool = read_input(settings)?;
    let prepared = prepare(settings, &spool)?;
    match settings.mode {
        Mode::Pretend => {
            warn_long_lines(&spool);
            pretend(settings, &prepared, &spool)?;
            Ok(Outcome::Done)
        }
        Mode::QuitAfter(stage) => debug::quit_after(settings, stage, Some(&prepared.transaction)),
        _ => {
            warn_long_lines(&spool);
            send(cli, env, settings, &prepared, &spool)
        }
    }
}

/// Deliver the message, or queue it as the queue policy says (spec §9); after a successful send, run
/// the queue when it holds anything.
fn send(
    cli: &Cli,
    env: &Env,
    settings: &Settings,
    prepared: &Prepared,
    spool: &Spool,
) -> anyhow::Result<Outcome> {
    use crate::queue::command::{self as queue, send as queueing};
    let tx = &prepared.transaction;
    let policy = settings.queue.policy;
    if policy == QueuePolicy::Always {
        let mut data = prepared.reader(spool).map_err(InputError::Spooled)?;
        queueing::enqueue(settings, tx, None, &mut data)
            .map_err(|e| queueing::not_queued(e, "not tried: queue = \"always\" or -odq"))?;
        return Ok(Outcome::Done);
    }
    let result = deliver(settings, prepared, spool);
    log_outcome(settings, tx, &result);
    if policy == QueuePolicy::OnFailure
        && let Some(owed) = queueing::owed(&result, tx)
    {
        let mut data = prepared.reader(spool).map_err(InputError::Spooled)?;
        let id = queueing::enqueue(settings, tx, Some(&owed), &mut data)
            .map_err(|e| queueing::not_queued(e, &owed.reason))?;
        eprintln!(
            "mailsend: queued as {id} for {}: {}",
            shown_list(&owed.addresses()),
            owed.reason
        );
        for (rcpt, reply) in &owed.refused {
            eprintln!("mailsend: the server refused {}: {reply}", shown(rcpt));
        }
        return Ok(Outcome::refusals(&owed.refused));
    }
    let outcome = report(&result?);
    if outcome == Outcome::Done
        && let Err(e) = queue::run_queue(cli, env, settings, false)
    {
        eprintln!("mailsend: warning: the queue run after the send failed: {e}");
    }
    Ok(outcome)
}

/// `--list-accounts`: the accounts of the file mailsend would read (honouring -C), for the shell
/// completions of `-a` (issue 10, point 24). Read without resolving any account, so that a file
/// whose default account is missing still lists what it has.
fn list_accounts(cli: &Cli, env: &Env) -> anyhow::Result<Outcome> {
    let Some(path) = settings::config_path(cli, env)? else {
        return Ok(Outcome::Done);
    };
    let config = crate::config::load(&path)?;
    let mut out = io::stdout().lock();
    for name in config.accounts.keys() {
        writeln!(out, "{name}")?;
    }
    Ok(Outcome::Done)
}

/// One log line per message when `logfile` or `syslog` is configured (msmtp's fields; never a secret).
fn log_outcome(settings: &Settings, tx: &Transaction, result: &anyhow::Result<Delivery>) {
    let logging = &settings.logging;
    if logging.logfile.is_none() && logging.syslog.is_none() {
        return;
    }
    let host = settings.server.endpoint.to_string();
    let (reply, exit_status) = match result {
        Ok(delivery) => (
            delivery.reply.to_string(),
            exit::for_outcome(&Outcome::refusals(&delivery.refused)),
        ),
        // Each cause once (issue 10, point 21): an io::Error is both quoted by and the source of
        // the error that wraps it.
        Err(e) => (exit::causes(e).join(": "), exit::classify(e)),
    };
    let record = crate::log::Record {
        host: &host,
        tls: settings.tls.mode != TlsUse::None,
        auth: settings.auth.login.is_some(),
        user: settings.auth.login.as_ref().map(|a| a.user.as_str()),
        from: &tx.from,
        recipients: &tx.recipients,
        size: tx.size,
        reply: Some(reply),
        exit_status,
    };
    for e in crate::log::write(logging.logfile.as_deref(), logging.syslog, &record) {
        eprintln!("mailsend: warning: {e}");
    }
}

fn read_input(settings: &Settings) -> anyhow::Result<Spool> {
    match &settings.input.path {
        Some(path) => {
            let file = File::open(path).map_err(|source| InputError::Open {
                path: path.clone(),
                source,
            })?;
            // A regular file is used in place, anything else copied (issue 6).
            let from = format!("the message file {}", path.display());
            Ok(Spool::from_file(file).map_err(|e| InputError::spooling(e, &from))?)
        }
        None => {
            // `mailsend < msg.eml`: the redirected file is used in place like --input (issue 6).
            if !settings.input.dot_ends_input
                && let Some(file) = crate::message::spool::regular_stdin()
            {
                return Spool::from_file(file)
                    .map_err(|e| InputError::spooling(e, "standard input").into());
            }
            let stdin = io::stdin();
            let mut lock = stdin.lock();
            Spool::read_from(&mut lock, settings.input.dot_ends_input)
                .map_err(|e| InputError::spooling(e, "standard input").into())
        }
    }
}

/// Issue 10, point 18: lines over 998 octets go out unchanged (never folded), but many servers break
/// or refuse them, so every run says so in one line, whatever the debug level; `--pretend` too, as
/// it shows what a real run would send.
fn warn_long_lines(spool: &Spool) {
    let stats = spool.stats();
    if let Some(first) = stats.first_long_line {
        let all = match stats.long_lines {
            1 => "the only line".to_string(),
            n => format!("the first of {n} lines"),
        };
        eprintln!(
            "mailsend: warning: line {} of the message is {} octets long, {all} over the {MAX_LINE} octets \
             RFC 5322 (2.1.1) allows; it is sent unchanged, but servers may break such lines or \
             refuse the message",
            first.number, first.len
        );
    }
}

pub fn prepare(settings: &Settings, spool: &Spool) -> anyhow::Result<Prepared> {
    let head = spool.head(HEAD_SCAN_LEN).map_err(InputError::Spooled)?;
    let block = headers::scan(&head)?;
    if let Some(at) = spool.stats().first_bare_cr
        && at < block.body_offset
    {
        return Err(MessageError::BareCrInHeaderSection.into());
    }
    let decision = policy::decide(policy_of(settings), &block, &settings.envelope.recipients)
        .map_err(policy_failure)?;
    let header = decision.header(&block)?;
    let body_len = spool.len().saturating_sub(block.body_offset);
    let stats = spool.stats();
    let transaction = Transaction {
        from: decision.sender,
        recipients: decision.recipients,
        size: header.len() as u64 + body_len,
        eight_bit: stats.eight_bit || !header.is_ascii(),
        body_type: settings.envelope.body_type,
        dsn_notify: settings.envelope.dsn_notify.clone(),
        dsn_ret: settings.envelope.dsn_ret.clone(),
        dsn_envid: settings.envelope.dsn_envid.clone(),
    };
    Ok(Prepared {
        transaction,
        header,
        body_offset: block.body_offset,
    })
}

/// The envelope settings as the policy reads them.
fn policy_of(settings: &Settings) -> Policy<'_, SettingsError> {
    let envelope = &settings.envelope;
    Policy {
        from: envelope.from.as_deref(),
        read_recipients: envelope.read_recipients,
        aliases: &envelope.aliases,
        file_aliases: envelope.file_aliases.as_ref(),
        maildomain: envelope.maildomain.as_deref(),
        default_sender: envelope.default_sender.get(),
        full_name: envelope.full_name.as_deref(),
        default_domain: &envelope.default_domain,
        add_missing_from: envelope.add_missing_from,
        add_missing_date: envelope.add_missing_date,
        add_missing_message_id: envelope.add_missing_message_id,
        qualify_headers: envelope.qualify_headers,
    }
}

/// Each cause as its own typed error, for `exit::classify`.
fn policy_failure(error: PolicyError<SettingsError>) -> anyhow::Error {
    match error {
        PolicyError::Message(e) => e.into(),
        PolicyError::DefaultSender(e) => e.into(),
    }
}

fn pretend(settings: &Settings, prepared: &Prepared, spool: &Spool) -> anyhow::Result<()> {
    let out = io::stdout();
    let mut out = out.lock();
    writeln!(out, "# settings")?;
    for (key, value, source) in &settings.origins {
        if source.is_empty() {
            writeln!(out, "{key} = {value}")?;
        } else {
            writeln!(out, "{key} = {value}    # {source}")?;
        }
    }
    effective(settings, &mut out)?;
    writeln!(out, "# envelope")?;
    writeln!(out, "MAIL FROM:<{}>", prepared.transaction.from)?;
    for r in &prepared.transaction.recipients {
        writeln!(out, "RCPT TO:<{r}>")?;
    }
    writeln!(out, "# message ({} bytes)", prepared.transaction.size)?;
    out.write_all(&prepared.header)?;
    let mut body = spool.reader_from(prepared.body_offset)?;
    io::copy(&mut body, &mut out)?;
    Ok(())
}

/// What the settings amount to, for --pretend (issue 10, point 19): what `tls = auto` became, the
/// authentication, the timeouts in effect. Nothing is run: a password command is only named.
fn effective(settings: &Settings, out: &mut dyn Write) -> io::Result<()> {
    let line = |out: &mut dyn Write, key: &str, value: &str, note: &str| match note {
        "" => writeln!(out, "{key} = {value}"),
        _ => writeln!(out, "{key} = {value}    # {note}"),
    };
    writeln!(out, "# in effect")?;
    line(out, "server", &settings.server.endpoint.to_string(), "")?;
    let auto = settings.tls.requested == TlsMode::Auto;
    let (tls, why) = match settings.tls.mode {
        TlsUse::None => ("off", "auto: no TLS to a loopback host or a Unix socket"),
        TlsUse::StartTls => ("starttls", "auto: STARTTLS required"),
        TlsUse::Implicit => ("implicit", "auto: TLS from the first byte on port 465"),
    };
    line(out, "tls", tls, if auto { why } else { "" })?;
    if settings.tls.mode != TlsUse::None {
        let options = &settings.tls.options;
        let check = match (&options.fingerprint, &options.trust_file) {
            (Some(_), _) => "pinned by --tls-fingerprint".to_owned(),
            (None, _) if !options.certcheck => "NOT verified (--tls-certcheck off)".to_owned(),
            (None, Some(file)) => format!("verified against {}", file.display()),
            (None, None) => "verified against the system store".to_owned(),
        };
        line(out, "certificate", &check, "")?;
    }
    match &settings.auth.login {
        None => line(out, "auth", "off", "")?,
        Some(auth) => {
            match auth.mechanism {
                Some(mechanism) => line(out, "auth", mechanism.name(), "")?,
                None => {
                    let order: Vec<&str> = crate::smtp::auth::AUTO_ORDER
                        .iter()
                        .map(|m| m.name())
                        .collect();
                    let note = format!("the first of {} the server offers", order.join(", "));
                    line(out, "auth", "on", &note)?;
                }
            }
            line(out, "user", &auth.user, "")?;
            let (value, source) = match auth.password {
                PasswordSource::Command(_) => ("(not run)", "from password_command"),
                PasswordSource::File(_) => ("<redacted>", "from the config file"),
                PasswordSource::Netrc(_) | PasswordSource::Prompt => {
                    ("(not read)", "from ~/.netrc or a prompt")
                }
            };
            line(out, "password", value, source)?;
        }
    }
    let seconds = |d: std::time::Duration| format!("{} s", d.as_secs_f64());
    let server = &settings.server;
    line(out, "timeout", &seconds(server.timeout), "")?;
    if server.final_timeout != server.timeout {
        line(
            out,
            "final reply timeout",
            &seconds(server.final_timeout),
            "the wait for the reply to the end of the data (RFC 5321 4.5.3.2.6)",
        )?;
    }
    Ok(())
}

fn deliver(settings: &Settings, prepared: &Prepared, spool: &Spool) -> anyhow::Result<Delivery> {
    let mut session = Plan::new(settings, Stage::Auth)?.dial(&mut ())?;
    // A person at a terminal sees a long send move; scripts and the trace never see this line.
    if settings.logging.debug == 0
        && prepared.transaction.size >= crate::progress::MIN_SIZE
        && io::stderr().is_terminal()
    {
        let progress =
            crate::progress::Progress::new(prepared.transaction.size, Box::new(io::stderr()));
        session.show_progress(progress);
    }
    let mut data = prepared.reader(spool).map_err(InputError::Spooled)?;
    let result = session.send(&prepared.transaction, &mut data, Then::Quit);
    session.quit();
    match result {
        Ok(delivery) => Ok(delivery),
        Err(e) => Err(explain(e, &prepared.transaction)),
    }
}

/// An address as stderr shows it: `<…>` with control characters and bidirectional overrides
/// escaped by the function that escapes server replies, so an address from the input can neither
/// drive the terminal nor reorder the line (issue 10, point 17; catalogue item 29).
pub fn shown(address: &str) -> String {
    format!("<{}>", crate::smtp::reply::printable(address.as_bytes()))
}

/// Addresses as stderr shows them, separated by commas.
fn shown_list(addresses: &[String]) -> String {
    addresses
        .iter()
        .map(|r| shown(r))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The recipients the server took the message for, without its replies.
fn recipients(delivered: &[crate::smtp::error::Acceptance]) -> Vec<String> {
    delivered.iter().map(|(r, _)| r.clone()).collect()
}

/// Add to an engine error which recipients did and did not get the message (spec §7).
fn explain(error: Error, tx: &Transaction) -> anyhow::Error {
    let list = shown_list;
    let mut notes = Vec::new();
    match &error {
        Error::UnknownOutcome { partial, .. } => {
            notes.push(format!(
                "the message may have been delivered to {}",
                list(&partial.unknown)
            ));
            if !partial.delivered.is_empty() {
                notes.push(format!(
                    "the message was delivered to {}",
                    list(&recipients(&partial.delivered))
                ));
            }
            for (rcpt, reply) in &partial.refused {
                notes.push(format!("the server refused {}: {reply}", shown(rcpt)));
            }
        }
        Error::RecipientsRefused { .. } => {
            notes.push("the message was not delivered to anyone".into())
        }
        _ => notes.push(format!(
            "the message was not delivered to {}",
            list(&tx.recipients)
        )),
    }
    // Printed root cause first, then these in order.
    notes
        .into_iter()
        .fold(anyhow::Error::new(error), |e, note| e.context(note))
}

/// Partial refusals: name them and who did get the message; the outcome keeps the refusals.
fn report(delivery: &Delivery) -> Outcome {
    if delivery.refused.is_empty() {
        return Outcome::Done;
    }
    let mut err = io::stderr().lock();
    for (rcpt, reply) in &delivery.refused {
        let _ = writeln!(err, "mailsend: the server refused {}: {reply}", shown(rcpt));
    }
    let _ = writeln!(
        err,
        "mailsend: the message was delivered to {}",
        shown_list(&recipients(&delivery.delivered))
    );
    Outcome::refusals(&delivery.refused)
}

/// `--generate`: the man page or a completion script, from the clap definition (one source of truth).
pub fn generate(what: crate::cli::Generate, out: &mut dyn Write) -> io::Result<()> {
    use clap_complete::Shell;
    let mut command = crate::cli::command();
    let shell = match what {
        crate::cli::Generate::Man => return crate::manpage::render(out),
        crate::cli::Generate::Bash => Shell::Bash,
        crate::cli::Generate::Zsh => Shell::Zsh,
        crate::cli::Generate::Fish => Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "mailsend", &mut script);
    let script = String::from_utf8(script).map_err(io::Error::other)?;
    let script = complete_accounts(shell, &script).ok_or_else(|| {
        io::Error::other("the generated completion script has no -a/--account entry to extend")
    })?;
    out.write_all(script.as_bytes())
}

/// `-a`/`--account` complete to the accounts of the configuration file rather than to file names
/// (issue 10, point 24): clap only knows the value is a word, so its script is extended here, and
/// `None` says the generated script no longer has the shape this expects (a test pins it).
fn complete_accounts(shell: clap_complete::Shell, script: &str) -> Option<String> {
    use clap_complete::Shell;
    let replace_all = |script: &str, pairs: &[(&str, &str)]| {
        let mut out = script.to_owned();
        for (from, to) in pairs {
            if !out.contains(from) {
                return None;
            }
            out = out.replace(from, to);
        }
        Some(out)
    };
    match shell {
        Shell::Bash => {
            let files = "COMPREPLY=($(compgen -f \"${cur}\"))";
            let accounts = "COMPREPLY=($(compgen -W \"$(_mailsend_accounts)\" -- \"${cur}\"))";
            let mut out = replace_all(
                script,
                &[
                    (
                        &format!("--account)\n                    {files}"),
                        &format!("--account)\n                    {accounts}"),
                    ),
                    (
                        &format!("-a)\n                    {files}"),
                        &format!("-a)\n                    {accounts}"),
                    ),
                ],
            )?;
            out.push_str(BASH_ACCOUNTS);
            Some(out)
        }
        Shell::Zsh => replace_all(
            script,
            &[(
                "file]:NAME:_default' \\",
                "file]:NAME:{compadd -- $(mailsend --list-accounts 2>/dev/null)}' \\",
            )],
        ),
        Shell::Fish => replace_all(
            script,
            &[(
                "-s a -l account -d 'Account from the configuration file' -r",
                "-s a -l account -d 'Account from the configuration file' -r -f -a \"(mailsend --list-accounts 2>/dev/null)\"",
            )],
        ),
        _ => Some(script.to_owned()),
    }
}

/// The accounts of the file the command line being completed would read: its -C, else the usual
/// places; the program is the one being completed (`${COMP_WORDS[0]}`), so a sendmail link works too.
const BASH_ACCOUNTS: &str = r#"
_mailsend_accounts() {
    local i config=()
    for (( i = 1; i < COMP_CWORD; i++ )); do
        case "${COMP_WORDS[i]}" in
            -C|--config) config=(--config "${COMP_WORDS[i+1]}") ;;
            --config=*) config=(--config "${COMP_WORDS[i]#--config=}") ;;
            -C?*) config=(--config "${COMP_WORDS[i]#-C}") ;;
        esac
    done
    "${COMP_WORDS[0]}" "${config[@]}" --list-accounts 2>/dev/null
}
"#;
