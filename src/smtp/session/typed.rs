//! Commands a person asks for on an established session: lines typed at `--command` or
//! `--interactive`, and `--verify`/`--expn` (smtplib's `docmd`, `verify`, `expn`). The engine keeps
//! their rules: a typed STARTTLS is refused (RFC 3207 §4.2: mailsend negotiates TLS itself), the line
//! after a 334 is a SASL response redacted in the trace (RFC 4954 §4, catalogue item 22), a typed QUIT
//! is answered 221 (issue 10, point 9), and a 421 closes the session (RFC 5321 §3.8). Imports the
//! engine's command, error and reply modules only.

use super::Session;
use crate::smtp::command::{self, Command};
use crate::smtp::error::{Error, Stage};
use crate::smtp::reply::{Code, Reply};

impl Session {
    /// Send a line the user typed and return the server's reply. After a reply of 334 the next line is
    /// taken as the SASL response (masked in the trace); a typed STARTTLS is refused with
    /// [`Error::Policy`] and nothing is sent. After a 421, [`Session::is_broken`] is true.
    pub fn typed(&mut self, line: &str) -> Result<Reply, Error> {
        let cmd =
            command::typed(line, self.challenged).map_err(|e| Error::Policy(e.to_string()))?;
        let stage = match &cmd {
            Command::Raw(text) if is_quit(text) => Stage::Quit,
            _ => Stage::Command,
        };
        let reply = self.command(cmd, stage)?;
        self.challenged = reply.code == Code::AUTH_CHALLENGE;
        Ok(reply)
    }

    /// Whether the last reply to a typed line was a 334: the next line is a SASL response.
    pub fn challenged(&self) -> bool {
        self.challenged
    }

    /// `--verify`: VRFY (RFC 5321 §3.5).
    pub fn verify(&mut self, address: &str) -> Result<Reply, Error> {
        self.challenged = false;
        self.command(Command::Vrfy(address.to_owned()), Stage::Command)
    }

    /// `--expn`: EXPN (RFC 5321 §3.5).
    pub fn expand(&mut self, list: &str) -> Result<Reply, Error> {
        self.challenged = false;
        self.command(Command::Expn(list.to_owned()), Stage::Command)
    }
}

/// A typed QUIT, whatever its case or blanks (its 221 is the expected answer).
fn is_quit(line: &str) -> bool {
    line.split_ascii_whitespace()
        .next()
        .is_some_and(|verb| verb.eq_ignore_ascii_case("QUIT"))
}
