//! `--interactive` (issue 7): an SMTP session typed by hand on the connection the dialer set up
//! (greeting, EHLO, STARTTLS and AUTH as configured). Each line typed is sent as a command through the
//! engine's one writer and its reply shown: by the trace at `--debug 1` and 2, else as `CODE text` on
//! stdout. `DATA` answered 354 reads the message body up to a lone `.` and sends it dot-stuffed with
//! CRLF line ends (RFC 5321 §4.1.1.4, §4.5.2). Ctrl-D sends QUIT (RFC 5321 §4.1.1.10); Ctrl-C clears the
//! line. Line editing and an in-memory history come from rustyline.
//!
//! Credentials stay out of sight as everywhere (catalogue item 22): a typed `AUTH MECH response` and
//! every line answering a 334 are sent as AUTH commands, which the trace shows as `<redacted>`; they are
//! kept out of the history, and a line answering a 334 is masked on the screen as it is typed.

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{ColorMode, Config, Editor, Helper};

use super::{DebugError, reply_text, verb_of};
use crate::dial::Plan;
use crate::exit::Outcome;
use crate::settings::Settings;
use crate::smtp::command;
use crate::smtp::reply::{Code, Reply};
use crate::smtp::session::Session;
use crate::values::Stage as StopAt;

/// Shows each typed character as `*` while on: the line answers a 334 and holds a credential.
struct Masking {
    on: bool,
}

impl Completer for Masking {
    type Candidate = String;
}

impl Hinter for Masking {
    type Hint = String;
}

impl Validator for Masking {}

impl Helper for Masking {}

impl Highlighter for Masking {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.on {
            // rustyline needs the same display width; SASL responses are base64, one column a character.
            Cow::Owned("*".repeat(line.chars().count()))
        } else {
            Cow::Borrowed(line)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, kind: CmdKind) -> bool {
        self.on && kind != CmdKind::MoveCursor
    }
}

/// What one prompt produced.
enum Input {
    Line(String),
    /// Ctrl-C: the line was thrown away.
    Cleared,
    /// Ctrl-D on an empty line.
    End,
}

/// `--interactive`: only on a terminal; done after QUIT (typed or Ctrl-D), closing after a 421.
pub fn interactive(settings: &Settings) -> anyhow::Result<Outcome> {
    if !io::stdin().is_terminal() {
        return Err(DebugError::NotATerminal.into());
    }
    // Forced: the masking must work even when stdout is not a terminal.
    let config = Config::builder()
        .auto_add_history(false)
        .color_mode(ColorMode::Forced)
        .build();
    let mut editor: Editor<Masking, DefaultHistory> =
        Editor::with_config(config).map_err(DebugError::Terminal)?;
    editor.set_helper(Some(Masking { on: false }));
    let session = Plan::new(settings, StopAt::Auth)?.dial(&mut ())?;
    let console = Console {
        editor,
        session,
        show: settings.logging.debug == 0,
    };
    console.run(&settings.server.endpoint.to_string())
}

struct Console {
    editor: Editor<Masking, DefaultHistory>,
    session: Session,
    /// `--debug 0`: the trace is silent, so each reply is printed here.
    show: bool,
}

impl Console {
    fn run(mut self, endpoint: &str) -> anyhow::Result<Outcome> {
        let greeting = self.session.greeting().clone();
        self.show_reply(&greeting);
        note(&format!(
            "connected to {endpoint}; type SMTP commands; DATA reads a message up to a line holding a single \
             \".\"; Ctrl-D sends QUIT"
        ));
        loop {
            let challenged = self.session.challenged();
            let prompt = if challenged { "auth> " } else { "smtp> " };
            let line = match self.read(prompt, challenged)? {
                Input::Line(line) => line,
                Input::Cleared => continue,
                Input::End => return Ok(self.end(challenged)),
            };
            let verb = if challenged {
                String::new()
            } else {
                verb_of(&line)
            };
            if !challenged && verb.is_empty() {
                continue;
            }
            match command::typed(&line, challenged) {
                Err(refused) => {
                    note(&refused.to_string());
                    continue;
                }
                Ok(command) if !command.carries_secret() => {
                    let _ = self.editor.add_history_entry(line.as_str());
                }
                Ok(_) => {}
            }
            let reply = match self.session.typed(&line) {
                Ok(reply) => reply,
                Err(e) if self.session.is_broken() => return Err(e.into()),
                Err(e) => {
                    note(&e.to_string());
                    continue;
                }
            };
            self.show_reply(&reply);
            if reply.code == Code::UNAVAILABLE {
                note("the server closed the connection (421)");
                return Ok(Outcome::Closing);
            }
            if self.session.challenged() {
                note(
                    "the server asks for an AUTH response (334): it is masked, kept out of the history and \
                     shown as <redacted> in the trace; a single * cancels",
                );
            }
            match verb.as_str() {
                "QUIT" => {
                    self.session.into_trace();
                    return Ok(Outcome::Done);
                }
                "DATA" if reply.code == Code::START_INPUT => {
                    if let Some(outcome) = self.data()? {
                        return Ok(outcome);
                    }
                }
                _ => {}
            }
        }
    }

    /// One line from the terminal; masked while `secret`.
    fn read(&mut self, prompt: &str, secret: bool) -> anyhow::Result<Input> {
        if let Some(helper) = self.editor.helper_mut() {
            helper.on = secret;
        }
        match self.editor.readline(prompt) {
            Ok(line) => Ok(Input::Line(line)),
            Err(ReadlineError::Interrupted) => Ok(Input::Cleared),
            Err(ReadlineError::Eof) => Ok(Input::End),
            Err(e) => Err(DebugError::TerminalRead(e).into()),
        }
    }

    /// After 354: the body up to a lone `.` (or Ctrl-D), sent dot-stuffed; the final reply shown.
    /// `Some(outcome)` when the session is over.
    fn data(&mut self) -> anyhow::Result<Option<Outcome>> {
        let mut body = Vec::new();
        loop {
            match self.read("data> ", false)? {
                Input::Line(line) if line == "." => break,
                Input::Line(line) => {
                    body.extend_from_slice(line.as_bytes());
                    body.extend_from_slice(b"\r\n");
                }
                Input::Cleared => {}
                Input::End => break,
            }
        }
        let reply = self.session.send_data(&mut &body[..])?;
        self.show_reply(&reply);
        if reply.code == Code::UNAVAILABLE {
            note("the server closed the connection (421)");
            return Ok(Some(Outcome::Closing));
        }
        Ok(None)
    }

    /// Ctrl-D: cancel a pending AUTH exchange with `*` (RFC 4954 §4), then QUIT and show its reply.
    fn end(mut self, challenged: bool) -> Outcome {
        if challenged {
            match self.session.typed("*") {
                Ok(reply) => self.show_reply(&reply),
                Err(_) => return Outcome::Done,
            }
        }
        if let Ok(reply) = self.session.typed("QUIT") {
            self.show_reply(&reply);
        }
        // A missing 221 is not an error (spec §3); the connection is closed either way.
        self.session.into_trace();
        Outcome::Done
    }

    fn show_reply(&self, reply: &Reply) {
        if self.show {
            let mut out = io::stdout().lock();
            let _ = writeln!(out, "{}", reply_text(reply));
            let _ = out.flush();
        }
    }
}

/// mailsend's own remarks go to stderr, apart from the replies.
fn note(text: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "mailsend: {text}");
}
