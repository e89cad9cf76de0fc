//! Why a debugging mode (`--command`, `--quit-after`, `--interactive`) could not run: a request that
//! cannot be carried out as given, a command that cannot be sent, a terminal that cannot be used. The
//! exit status of each is decided by `exit::classify`. Imports only the engine's command errors.

use crate::smtp::command::{CommandError, TypedError};

#[derive(Debug, thiserror::Error)]
pub enum DebugError {
    #[error("--command needs a command, e.g. --command NOOP")]
    EmptyCommand,
    /// A typed line the engine does not send (STARTTLS).
    #[error("{0}")]
    Typed(TypedError),
    /// A planned command that cannot be written (CR, LF or NUL, spec §3): `option` is the flag that gave
    /// it, `number` its place among the `of` planned. The text never repeats the value, which may be a
    /// credential.
    #[error("{option} (command {number} of {of}): {source}")]
    Unsendable {
        option: &'static str,
        number: usize,
        of: usize,
        source: CommandError,
    },
    #[error(
        "--quit-after starttls, but TLS is not in use (--tls off, or --tls auto for a loopback host); \
         use --tls starttls"
    )]
    StarttlsWithoutTls,
    #[error(
        "--quit-after auth, but no credentials are configured (--user, or user in the configuration)"
    )]
    AuthWithoutLogin,
    #[error("--quit-after mail and rcpt need the envelope")]
    NoEnvelope,
    #[error("--interactive needs a terminal")]
    NotATerminal,
    #[error("cannot use the terminal: {0}")]
    Terminal(rustyline::error::ReadlineError),
    #[error("cannot read from the terminal: {0}")]
    TerminalRead(rustyline::error::ReadlineError),
}
