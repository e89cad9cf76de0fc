//! Which aliases file applies (spec §12: `/etc/aliases`, or the one `-oAFILE` names) and reading it, and
//! `/etc/mailname`, the default maildomain. The parsing is `message::envelope::aliases`'s; this module does
//! the I/O and says what a missing or broken file means. Imports the command line, the settings' error type
//! and the aliases parser.

use std::io;
use std::path::{Path, PathBuf};

use super::error::AliasesError;
use super::layers::Layers;
use super::{Env, Mode};
use crate::cli::Cli;
use crate::message::envelope::aliases::{self, Aliases};

/// The aliases file of this run and whether the command line named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasesFile {
    pub path: PathBuf,
    /// Given with `-oAFILE`: then a missing file is an error, not "no aliases".
    pub named: bool,
}

/// `-oAFILE` (sendmail's AliasFile option, glued as the other `-o` options are), else the system's file.
pub fn file(cli: &Cli, env: &Env) -> AliasesFile {
    let named = cli
        .sendmail
        .options
        .iter()
        .rev()
        .find_map(|o| o.strip_prefix('A'))
        .filter(|p| !p.is_empty());
    match named {
        Some(path) => AliasesFile {
            path: PathBuf::from(path),
            named: true,
        },
        None => AliasesFile {
            path: env.aliases_file.clone(),
            named: false,
        },
    }
}

/// The aliases file of this run and, when the run uses it, its aliases: a run that reads a message and has
/// no `[aliases]` table (`table_empty`), and `-bi`. The queue's modes never read it, so a broken file
/// cannot stop mail that was expanded when it was queued.
pub(super) fn for_mode(
    l: &mut Layers,
    cli: &Cli,
    env: &Env,
    mode: &Mode,
    table_empty: bool,
) -> Result<(AliasesFile, Option<Aliases>), AliasesError> {
    let file = file(cli, env);
    let used = *mode == Mode::CheckAliases
        || (table_empty && (mode.reads_message() || *mode == Mode::Serve));
    let aliases = match used {
        true => load(&file)?,
        false => None,
    };
    if let Some(a) = &aliases {
        let source = if file.named { "-oA" } else { "default" };
        l.note(
            "aliases file",
            format!("{} ({} aliases)", file.path.display(), a.len()),
            source,
        );
    }
    Ok((file, aliases))
}

/// The file's aliases, its warnings printed on stderr; `None` when the system's file does not exist (no
/// aliases, not an error). A syntax error, an unreadable file, or a named file that is missing is an error.
pub fn load(file: &AliasesFile) -> Result<Option<Aliases>, AliasesError> {
    let text = match std::fs::read_to_string(&file.path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound && !file.named => return Ok(None),
        Err(source) => {
            return Err(AliasesError::Read {
                path: file.path.clone(),
                source,
            });
        }
    };
    let parsed = aliases::parse(&text).map_err(|e| AliasesError::Syntax {
        path: file.path.clone(),
        line: e.line,
        message: e.message,
    })?;
    for w in &parsed.warnings {
        eprintln!(
            "mailsend: warning: {}:{}: {}",
            file.path.display(),
            w.line,
            w.message
        );
    }
    Ok(Some(parsed.aliases))
}

/// `-bi`'s one line: how many aliases the file defines, or that the system has none.
pub fn summary(file: &AliasesFile, aliases: Option<&Aliases>) -> String {
    let path = file.path.display();
    match aliases.map(Aliases::len) {
        Some(1) => format!("{path}: 1 alias"),
        Some(n) => format!("{path}: {n} aliases"),
        None => format!("{path}: no such file, so no aliases"),
    }
}

/// `/etc/mailname`'s first line, trimmed, when it reads as a domain; anything else (no file, unreadable,
/// empty, not a domain) gives `None`, as Debian policy asks of an MTA.
pub fn mailname(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let name = text.lines().next()?.trim();
    // The maildomain's own check (config), so that both stand after `@` as written.
    let valid = !name.is_empty() && crate::config::domain_problem(name).is_none();
    valid.then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn mailname_is_the_first_line_when_it_is_a_domain() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rows = [
            ("mail.example.org\n", Some("mail.example.org")),
            ("  example.org  \nsecond.line\n", Some("example.org")),
            ("", None),
            ("\nexample.org\n", None),
            ("not a domain\n", None),
            ("<root>\n", None),
            ("a..b\n", None),
        ];
        for (text, want) in rows {
            let path = write(dir.path(), "mailname", text);
            assert_eq!(mailname(&path).as_deref(), want, "{text:?}");
        }
        assert_eq!(mailname(&dir.path().join("absent")), None);
    }

    #[test]
    fn a_missing_system_file_is_no_aliases_but_a_named_one_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("aliases");
        let system = AliasesFile {
            path: missing.clone(),
            named: false,
        };
        assert!(load(&system).expect("no error").is_none());
        let named = AliasesFile {
            path: missing,
            named: true,
        };
        assert!(matches!(load(&named), Err(AliasesError::Read { .. })));
    }

    #[test]
    fn a_syntax_error_names_the_file_and_the_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(dir.path(), "aliases", "root: admin\n\nbroken\n");
        let file = AliasesFile { path, named: true };
        let e = load(&file).expect_err("broken");
        let text = e.to_string();
        assert!(
            text.ends_with(
                "aliases:3: no `:` after the alias name (expected `name: target, target`)"
            ),
            "{text}"
        );
        let good = write(dir.path(), "good", "root: admin\npostmaster: root\n");
        let aliases = load(&AliasesFile {
            path: good,
            named: true,
        })
        .expect("loads");
        assert_eq!(aliases.map(|a| a.len()), Some(2));
    }

    #[test]
    fn the_last_oa_names_the_file() {
        let env = Env {
            aliases_file: PathBuf::from("/etc/aliases"),
            ..Env::default()
        };
        let cli = crate::cli::parse_from(["mailsend", "-oem", "-oA/tmp/a", "-oA/tmp/b", "x"])
            .expect("parses");
        assert_eq!(
            file(&cli, &env),
            AliasesFile {
                path: "/tmp/b".into(),
                named: true
            }
        );
        let cli = crate::cli::parse_from(["mailsend", "x"]).expect("parses");
        assert_eq!(
            file(&cli, &env),
            AliasesFile {
                path: "/etc/aliases".into(),
                named: false
            }
        );
    }
}
