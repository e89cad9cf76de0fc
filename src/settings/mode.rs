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

    /// Whether the run reads a message (the debugging modes need none, issue 7).
    pub fn reads_message(&self) -> bool {
        match self {
            Mode::Send | Mode::Pretend => true,
            Mode::QuitAfter(stage) => *stage >= Stage::Mail,
            Mode::ServerInfo | Mode::Commands(_) | Mode::Interactive => false,
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
}
