//! What this run does, resolved once from the command line (ripgrep's `Mode`): send a message, show what
//! would be sent, probe a server, or stop the dialogue at a stage. Later stages read the mode, never the
//! flags. The queue runner (`-q`), the queue listing (`-bp`) and the `-bs` server (spec §9, §10) are
//! further variants of this enum. Imports the command line and the value types only.

use crate::cli::Cli;
use crate::values::Stage;

/// What one run of mailsend does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Read the message and send it (the sendmail job).
    Send,
    /// `--pretend`: read the message, print the settings, envelope and message; connect to nothing.
    Pretend,
    /// `--serverinfo`: report what the server offers; no message.
    ServerInfo,
    /// `--command`, `--verify`, `--expn`: send these after the set-up and print each reply; no message.
    Commands(Vec<Probe>),
    /// `--quit-after STAGE`: the normal dialogue up to STAGE, then QUIT; a message is read only for the
    /// envelope stages.
    QuitAfter(Stage),
    /// `--interactive`: commands typed on the terminal over the established connection.
    Interactive,
    /// `-q`: deliver the queue (spec §9).
    QueueRun,
    /// `-bp` or the name `mailq`: list the queue; `json` for `--json`.
    QueueList { json: bool },
    /// `-bi` or the name `newaliases`: check the aliases file (spec §12).
    CheckAliases,
    /// `--queue-check`: report held and old entries, for monitoring.
    QueueCheck,
    /// `--queue-delete`, `--queue-hold`, `--queue-release`: one entry, by ID.
    QueueEntry(EntryAction, String),
    /// `-bs`: an SMTP dialogue on standard input and output, each message relayed or queued at its
    /// final dot (spec §10).
    Serve,
}

/// What `--queue-delete`, `--queue-hold` and `--queue-release` do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryAction {
    Delete,
    Hold,
    Release,
}

/// One `--command`, `--verify` or `--expn`, in the order they are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Typed(String),
    Vrfy(String),
    Expn(String),
}

impl Probe {
    /// The option that asked for it, for messages.
    pub fn option(&self) -> &'static str {
        match self {
            Probe::Typed(_) => "--command",
            Probe::Vrfy(_) => "--verify",
            Probe::Expn(_) => "--expn",
        }
    }
}

impl Mode {
    /// The report modes first (clap lets only one of them through), then the probes, then the stop points
    /// that need no message; `--pretend` beats the stop points that do (it connects to nothing).
    pub fn from_cli(cli: &Cli) -> Mode {
        if cli.sendmail.mode.as_deref() == Some("i") {
            return Mode::CheckAliases;
        }
        if let Some(mode) = Mode::queue(cli) {
            return mode;
        }
        if cli.sendmail.mode.as_deref() == Some("s") {
            return Mode::Serve;
        }
        let probes: Vec<Probe> = cli
            .command
            .iter()
            .cloned()
            .map(Probe::Typed)
            .chain(cli.verify.iter().cloned().map(Probe::Vrfy))
            .chain(cli.expn.iter().cloned().map(Probe::Expn))
            .collect();
        match cli.quit_after {
            _ if cli.serverinfo => Mode::ServerInfo,
            _ if cli.interactive => Mode::Interactive,
            _ if !probes.is_empty() => Mode::Commands(probes),
            Some(stage) if stage < Stage::Mail => Mode::QuitAfter(stage),
            _ if cli.pretend => Mode::Pretend,
            Some(stage) => Mode::QuitAfter(stage),
            None => Mode::Send,
        }
    }

    /// The queue's modes: they read no message and connect only to run the queue.
    fn queue(cli: &Cli) -> Option<Mode> {
        let q = &cli.queue;
        let entry = [
            (EntryAction::Delete, &q.queue_delete),
            (EntryAction::Hold, &q.queue_hold),
            (EntryAction::Release, &q.queue_release),
        ]
        .into_iter()
        .find_map(|(action, id)| id.clone().map(|id| Mode::QueueEntry(action, id)));
        match () {
            _ if entry.is_some() => entry,
            _ if q.run.is_some() => Some(Mode::QueueRun),
            _ if q.queue_check => Some(Mode::QueueCheck),
            _ if cli.sendmail.mode.as_deref() == Some("p") => {
                Some(Mode::QueueList { json: q.json })
            }
            _ => None,
        }
    }

    /// Whether this is one of the queue's modes.
    pub fn is_queue(&self) -> bool {
        matches!(
            self,
            Mode::QueueRun | Mode::QueueList { .. } | Mode::QueueCheck | Mode::QueueEntry(..)
        )
    }

    /// Whether the run reads a message (the debugging modes need none, issue 7).
    pub fn reads_message(&self) -> bool {
        match self {
            Mode::Send | Mode::Pretend => true,
            Mode::QuitAfter(stage) => *stage >= Stage::Mail,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(args: &[&str]) -> Mode {
        let mut argv = vec!["mailsend"];
        argv.extend_from_slice(args);
        Mode::from_cli(&crate::cli::parse_from(argv).expect("parses"))
    }

    #[test]
    fn mode_precedence_matches_the_flags() {
        assert_eq!(mode(&["x@y"]), Mode::Send);
        assert_eq!(mode(&["--pretend", "x@y"]), Mode::Pretend);
        assert_eq!(
            mode(&["--serverinfo", "--command", "NOOP"]),
            Mode::ServerInfo
        );
        assert_eq!(
            mode(&["--pretend", "--verify", "a", "--command", "NOOP"]),
            Mode::Commands(vec![Probe::Typed("NOOP".into()), Probe::Vrfy("a".into())])
        );
        assert_eq!(
            mode(&["--pretend", "--quit-after", "ehlo"]),
            Mode::QuitAfter(Stage::Ehlo)
        );
        assert_eq!(mode(&["--pretend", "--quit-after", "rcpt"]), Mode::Pretend);
        assert_eq!(
            mode(&["--quit-after", "mail"]),
            Mode::QuitAfter(Stage::Mail)
        );
        assert!(!mode(&["--quit-after", "auth"]).reads_message());
        assert!(mode(&["--quit-after", "rcpt"]).reads_message());
        assert!(!mode(&["--interactive"]).reads_message());
    }

    #[test]
    fn queue_modes_come_from_the_sendmail_and_own_flags() {
        assert_eq!(mode(&["-q"]), Mode::QueueRun);
        assert_eq!(mode(&["-q30m"]), Mode::QueueRun);
        assert_eq!(mode(&["-qR@example.org"]), Mode::QueueRun);
        assert_eq!(mode(&["-bp"]), Mode::QueueList { json: false });
        assert_eq!(mode(&["-bp", "--json"]), Mode::QueueList { json: true });
        assert_eq!(mode(&["--queue-check"]), Mode::QueueCheck);
        assert_eq!(
            mode(&["--queue-hold", "X"]),
            Mode::QueueEntry(EntryAction::Hold, "X".into())
        );
        assert_eq!(mode(&["-bm", "x@y"]), Mode::Send);
        assert_eq!(mode(&["-bs", "-i"]), Mode::Serve);
        assert!(!Mode::Serve.reads_message() && !Mode::Serve.is_queue());
        assert!(!Mode::QueueRun.reads_message() && Mode::QueueCheck.is_queue());
        let mailq = crate::cli::parse_from(["/usr/bin/mailq"]).expect("parses");
        assert_eq!(Mode::from_cli(&mailq), Mode::QueueList { json: false });
    }

    /// Issue 14, point 3: `-bi` and the name `newaliases` check the aliases file, whatever else is given.
    #[test]
    fn bi_and_newaliases_check_the_aliases_file() {
        assert_eq!(mode(&["-bi"]), Mode::CheckAliases);
        assert_eq!(mode(&["-b", "i", "-oA/tmp/aliases"]), Mode::CheckAliases);
        assert_eq!(mode(&["-bi", "-q"]), Mode::CheckAliases);
        for name in ["/usr/bin/newaliases", "newaliases"] {
            let cli = crate::cli::parse_from([name]).expect("parses");
            assert_eq!(Mode::from_cli(&cli), Mode::CheckAliases, "{name}");
        }
        let sendmail = crate::cli::parse_from(["/usr/sbin/sendmail", "x@y"]).expect("parses");
        assert_eq!(Mode::from_cli(&sendmail), Mode::Send);
        assert!(!Mode::CheckAliases.reads_message() && !Mode::CheckAliases.is_queue());
    }
}
