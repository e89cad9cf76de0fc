//! What one run of mailsend does, start to finish: settings → input spool → envelope → session →
//! outcome. main() only maps the result to an exit status. After [`run`] resolves the settings, everything
//! here reads [`Settings`] and its [`Mode`], never the command line; the debugging modes are in `debug`,
//! the connection set-up in `dial`, the `-bs` server in `serve`, and what a send shares with it (the
//! prepared message, the explained error, the log line) in `submission`.

use std::fs::File;
use std::io::{self, IsTerminal, Write};

use crate::cli::Cli;
use crate::debug;
use crate::dial::Plan;
use crate::exit::Outcome;
use crate::message::input::InputError;
use crate::message::spool::Spool;
use crate::password::PasswordSource;
use crate::settings::{self, Env, Mode, Settings, TlsUse};
use crate::smtp::session::{Delivery, Then};
pub use crate::submission::{Prepared, prepare};
use crate::submission::{explain, log_outcome, long_line_note, recipients, shown, shown_list};
use crate::values::{QueuePolicy, Stage, TlsMode};

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
        Mode::Serve => return crate::serve::run(settings),
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
    if prepared.bare_body {
        eprintln!(
            "mailsend: warning: the message has no empty line after its first lines and no To, From \
             or Subject field, so its text was read as header fields; to send text as the body, use \
             --subject (or start the input with an empty line)"
        );
    }
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

fn read_input(settings: &Settings) -> anyhow::Result<Spool> {
    if let Some(args) = &settings.input.compose {
        return composed(settings, args);
    }
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

/// Spec §11: the message the compose flags describe, spooled as if it had been read on standard input.
fn composed(settings: &Settings, args: &crate::cli::ComposeArgs) -> anyhow::Result<Spool> {
    use crate::message::compose::{self, Sender};
    let stdin = io::stdin();
    let parts = compose::read_parts(args, &mut stdin.lock(), settings.input.stdin_is_terminal)?;
    let full_name = settings.envelope.full_name.as_deref();
    // Spec §7: a control character in -F is 65, here as when From is added to a message read.
    if full_name.is_some_and(|n| n.chars().any(char::is_control)) {
        return Err(crate::message::headers::MessageError::ControlInFullName.into());
    }
    let sender = Sender {
        address: settings.envelope.from.as_deref(),
        full_name,
    };
    let bytes = compose::build(args, &sender, &parts)?;
    Spool::read_from(&mut io::Cursor::new(bytes), false)
        .map_err(|e| InputError::spooling(e, "the composed message").into())
}

/// Issue 10, point 18: lines over 998 octets go out unchanged (never folded), but many servers break
/// or refuse them, so every run says so in one line, whatever the debug level; `--pretend` too, as
/// it shows what a real run would send.
fn warn_long_lines(spool: &Spool) {
    if let Some(note) = long_line_note(spool) {
        eprintln!("mailsend: {note}");
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
