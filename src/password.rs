//! Where the password (or OAuth token) comes from, in the spec's order (§5): the password command, the
//! config file's `password`, `~/.netrc`, then a prompt on the terminal. With no terminal: an error, never a
//! hang. The command runs under `sh -c` with stdin from /dev/null (so it cannot eat the message: catalogue
//! C24); only its first line is used; a non-zero exit is an error; its stderr is not echoed (it may hold
//! the secret).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::secret::Secret;

/// Why no password could be had. No text ever holds the secret or the command's output, which may.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("cannot run the password command: {0}")]
    Spawn(std::io::Error),
    /// `code`: the command's exit status, `None` when a signal ended it.
    #[error(
        "the password command failed ({}); its output is not shown because it may hold the secret",
        ended_by(*.code)
    )]
    Failed { code: Option<i32> },
    #[error("the password command printed something that is not UTF-8")]
    NotUtf8,
    #[error("the password command printed an empty first line")]
    EmptyLine,
    #[error(
        "no password for {user} at {host}: set password_command (or --password-command), a password \
         in the config file, or an entry in ~/.netrc; there is no terminal to ask on"
    )]
    NoSource { user: String, host: String },
    #[error("cannot read the password from the terminal: {0}")]
    Terminal(std::io::Error),
}

fn ended_by(code: Option<i32>) -> String {
    match code {
        Some(code) => format!("exit status {code}"),
        None => "a signal".to_string(),
    }
}

/// Where the password comes from, chosen when the settings are resolved (spec §5 order) and read only
/// just before connecting, so that `--pretend` and a run that fails earlier never run the command.
#[derive(Debug)]
pub enum PasswordSource {
    /// `password_command`.
    Command(String),
    /// The configuration file's `password`.
    File(Secret),
    /// `~/.netrc`, then a prompt when it has no entry for the host and user.
    Netrc(PathBuf),
    /// A prompt on the terminal (no home directory, so no `~/.netrc`).
    Prompt,
}

impl PasswordSource {
    /// The secret for `user` at `host`: the file's, lent; any other, fetched now.
    pub fn fetch(&self, user: &str, host: &str) -> Result<Password<'_>, PasswordError> {
        let fetched = match self {
            PasswordSource::File(secret) => return Ok(Password::Configured(secret)),
            PasswordSource::Command(command) => from_command(command)?,
            PasswordSource::Netrc(path) => match from_netrc(path, host, user) {
                Some(secret) => secret,
                None => prompt(user, host)?,
            },
            PasswordSource::Prompt => prompt(user, host)?,
        };
        Ok(Password::Fetched(fetched))
    }
}

/// A password ready for AUTH. The configuration file's stays where the settings hold it and is lent,
/// so that no second copy of it exists (issue 11); one from a command, `~/.netrc` or the terminal is
/// owned here and wiped when this is dropped.
#[derive(Debug)]
pub enum Password<'a> {
    Configured(&'a Secret),
    Fetched(Secret),
}

impl Password<'_> {
    pub fn secret(&self) -> &Secret {
        match self {
            Password::Configured(secret) => secret,
            Password::Fetched(secret) => secret,
        }
    }
}

/// Run `command` and take the first line of its output.
pub fn from_command(command: &str) -> Result<Secret, PasswordError> {
    let output = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .output()
        .map_err(PasswordError::Spawn)?;
    if !output.status.success() {
        return Err(PasswordError::Failed {
            code: output.status.code(),
        });
    }
    let stdout = String::from_utf8(output.stdout).map_err(|_| PasswordError::NotUtf8)?;
    let first = stdout.lines().next().unwrap_or("");
    if first.is_empty() {
        return Err(PasswordError::EmptyLine);
    }
    Ok(Secret::new(first))
}

/// The password for `user` at `host` in a netrc file (`machine`, `login`, `password` tokens; `default`).
pub fn from_netrc(path: &Path, host: &str, user: &str) -> Option<Secret> {
    let text = std::fs::read_to_string(path).ok()?;
    parse_netrc(&text, host, user)
}

fn parse_netrc(text: &str, host: &str, user: &str) -> Option<Secret> {
    let mut tokens = text.split_whitespace();
    let mut found: Option<Secret> = None;
    let mut machine_matches = false;
    let mut login_ok = true;
    let mut password: Option<String> = None;
    let finish = |m: bool, l: bool, p: &mut Option<String>, found: &mut Option<Secret>| {
        if m && l
            && found.is_none()
            && let Some(p) = p.take()
        {
            *found = Some(Secret::new(p));
        }
        *p = None;
    };
    while let Some(token) = tokens.next() {
        match token {
            "machine" => {
                finish(machine_matches, login_ok, &mut password, &mut found);
                machine_matches = tokens.next().is_some_and(|m| m.eq_ignore_ascii_case(host));
                login_ok = true;
            }
            "default" => {
                finish(machine_matches, login_ok, &mut password, &mut found);
                machine_matches = true;
                login_ok = true;
            }
            "login" => login_ok = tokens.next() == Some(user),
            "password" => password = tokens.next().map(str::to_string),
            "account" | "macdef" => {
                tokens.next();
            }
            _ => {}
        }
    }
    finish(machine_matches, login_ok, &mut password, &mut found);
    found
}

/// Ask on the terminal; with no terminal, say what to configure instead.
pub fn prompt(user: &str, host: &str) -> Result<Secret, PasswordError> {
    if !std::io::stdin().is_terminal() && !std::io::stderr().is_terminal() {
        return Err(PasswordError::NoSource {
            user: user.to_owned(),
            host: host.to_owned(),
        });
    }
    rpassword::prompt_password(format!("Password for {user} at {host}: "))
        .map(Secret::new)
        .map_err(PasswordError::Terminal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netrc_machine_and_default() {
        let text = "machine a.example login u password pa\nmachine b.example login v password pb\ndefault login u password pd\n";
        assert_eq!(parse_netrc(text, "b.example", "v").unwrap().expose(), "pb");
        assert_eq!(parse_netrc(text, "A.EXAMPLE", "u").unwrap().expose(), "pa");
        assert_eq!(parse_netrc(text, "c.example", "u").unwrap().expose(), "pd");
        assert!(
            parse_netrc(text, "b.example", "u").is_none()
                || parse_netrc(text, "b.example", "u").unwrap().expose() == "pd"
        );
    }

    /// Issue 11: the configuration file's password is lent to AUTH, not copied; a fetched one is owned.
    #[test]
    fn the_file_password_is_lent_not_copied() {
        let source = PasswordSource::File(Secret::new("from-the-file"));
        let password = source.fetch("u", "h").expect("no fetching needed");
        let PasswordSource::File(held) = &source else {
            unreachable!("built as File above")
        };
        assert!(std::ptr::eq(password.secret(), held));
        let command = PasswordSource::Command("echo fetched".into());
        let fetched = command.fetch("u", "h").expect("the command runs");
        assert!(matches!(&fetched, Password::Fetched(s) if s.expose() == "fetched"));
    }

    #[test]
    fn command_first_line_and_failures() {
        assert_eq!(
            from_command("printf 'one\\ntwo\\n'").unwrap().expose(),
            "one"
        );
        let e = from_command("echo secret-on-stderr >&2; exit 3").unwrap_err();
        assert!(matches!(e, PasswordError::Failed { code: Some(3) }), "{e}");
        assert!(!e.to_string().contains("secret-on-stderr"));
        assert!(from_command("true").is_err());
        // stdin is /dev/null: a command that reads stdin gets EOF at once, not the message
        assert_eq!(from_command("cat; echo pw").unwrap().expose(), "pw");
    }
}
