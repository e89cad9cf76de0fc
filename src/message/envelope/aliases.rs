//! The aliases(5) file (`/etc/aliases`, or the one `-oAFILE` names; spec §2, §12), parsed without I/O,
//! and its recursive expansion.
//!
//! The format, as Postfix's aliases(5) and sendmail read it: `name: target, target`; a line starting with
//! whitespace continues the entry above; blank lines and lines whose first non-blank character is `#` are
//! ignored (a comment between continuation lines does not end the entry). A name may be quoted
//! (`"john doe": john`). Names are compared without regard to case, as Postfix lowercases them.
//!
//! Targets are addresses or local names. `|command`, `/file` and `:include:list` targets (quoted or not)
//! deliver to a program or a file, which a submission tool cannot do: each is refused with a warning and
//! the rest of its entry stays; an entry left with no target is dropped, so its name is sent as it is.
//! A name given twice keeps its first entry with a warning (Postfix's postalias keeps the first too).
//!
//! Expansion ([`Aliases::expand`]) follows names recursively; a name met again while it is being
//! expanded (`root: root, admin`, or `a: b` with `b: a`) is kept as it is rather than followed, as
//! sendmail and Postfix's local(8) do for an alias that names itself, so a loop ends and nothing is lost.
//! Each name is expanded once per recipient and at most [`MAX_DEPTH`] names deep, so that no file can make
//! the expansion slow or deep.

use std::collections::{BTreeMap, HashSet};

use super::parse_address_list;
use crate::message::headers::escaped;

/// The aliases of one file: lowercased name → its targets, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aliases {
    entries: BTreeMap<String, Vec<String>>,
}

/// A target refused or an entry ignored; not fatal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The line the entry starts on (1-based).
    pub line: usize,
    pub message: String,
}

/// The first line the file cannot be read at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

/// A parsed file: the aliases and the warnings about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub aliases: Aliases,
    pub warnings: Vec<Warning>,
}

/// Parses an aliases(5) file; the first syntax error stops it.
pub fn parse(text: &str) -> Result<Parsed, SyntaxError> {
    let mut parsed = Parsed::default();
    let mut first_line: BTreeMap<String, usize> = BTreeMap::new();
    for (line, entry) in logical_lines(text)? {
        let error = |message: String| SyntaxError { line, message };
        let (name, rest) = split_name(&entry).map_err(error)?;
        let mut targets = Vec::new();
        for target in split_targets(rest).map_err(error)? {
            match classify(&target).map_err(error)? {
                Ok(address) => targets.push(address),
                Err(refused) => parsed.warnings.push(Warning {
                    line,
                    message: format!(
                        "alias `{}`: {refused} target `{}` refused",
                        escaped(&name),
                        escaped(&target)
                    ),
                }),
            }
        }
        if let Some(first) = first_line.get(&name) {
            parsed.warnings.push(Warning {
                line,
                message: format!(
                    "alias `{}` given again; the first, on line {first}, is kept",
                    escaped(&name)
                ),
            });
            continue;
        }
        first_line.insert(name.clone(), line);
        if targets.is_empty() {
            continue;
        }
        parsed.aliases.entries.insert(name, targets);
    }
    Ok(parsed)
}

/// The entries, each with the line it starts on, continuation lines joined with a space.
fn logical_lines(text: &str) -> Result<Vec<(usize, String)>, SyntaxError> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if raw.contains('\0') {
            return Err(SyntaxError {
                line,
                message: "a NUL character".into(),
            });
        }
        if raw.starts_with([' ', '\t']) {
            match out.last_mut() {
                Some((_, entry)) => {
                    entry.push(' ');
                    entry.push_str(trimmed);
                }
                None => {
                    return Err(SyntaxError {
                        line,
                        message:
                            "a continuation line (starting with whitespace) with no alias before it"
                                .into(),
                    });
                }
            }
            continue;
        }
        out.push((line, trimmed.to_owned()));
    }
    Ok(out)
}

/// `name: rest` → the lowercased name (quotes removed) and the rest.
fn split_name(entry: &str) -> Result<(String, &str), String> {
    let (name, rest) = match entry.strip_prefix('"') {
        Some(quoted) => {
            let end = quoted
                .find('"')
                .ok_or("the quoted alias name has no closing `\"`")?;
            let after = quoted[end + 1..].trim_start();
            let rest = after
                .strip_prefix(':')
                .ok_or("no `:` after the quoted alias name")?;
            (&quoted[..end], rest)
        }
        None => {
            let colon = entry
                .find(':')
                .ok_or("no `:` after the alias name (expected `name: target, target`)")?;
            let name = entry[..colon].trim_end();
            if name.contains(char::is_whitespace) {
                return Err(format!(
                    "the alias name `{0}` holds whitespace; quote it (`\"{0}\": …`)",
                    escaped(name)
                ));
            }
            (name, &entry[colon + 1..])
        }
    };
    if name.is_empty() {
        return Err("an empty alias name".into());
    }
    Ok((name.to_lowercase(), rest))
}

/// The comma-separated targets, commas inside double quotes kept; empty elements skipped.
fn split_targets(rest: &str) -> Result<Vec<String>, String> {
    let mut targets = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in rest.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                targets.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if quoted {
        return Err("a `\"` with no closing `\"`".into());
    }
    targets.push(current);
    let targets: Vec<String> = targets
        .into_iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    if targets.is_empty() {
        return Err("an alias with no target".into());
    }
    Ok(targets)
}

/// `Ok(Ok(address))` for an address or local name, `Ok(Err(kind))` for a target kind that is refused,
/// `Err` for a target that is neither.
fn classify(target: &str) -> Result<Result<String, &'static str>, String> {
    let bare = match target.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) if !inner.contains('"') => inner,
        _ => target,
    };
    if bare.starts_with('|') {
        return Ok(Err("command"));
    }
    if bare.starts_with('/') {
        return Ok(Err("file"));
    }
    if bare
        .get(..9)
        .is_some_and(|p| p.eq_ignore_ascii_case(":include:"))
    {
        return Ok(Err(":include:"));
    }
    match parse_address_list(target) {
        Ok(list) => match <[String; 1]>::try_from(list) {
            Ok([address]) => Ok(Ok(address)),
            Err(_) => Err(format!(
                "the target `{}` is not one address",
                escaped(target)
            )),
        },
        Err(e) => Err(format!(
            "the target `{}` is not an address: {e}",
            escaped(target)
        )),
    }
}

impl Aliases {
    /// How many names the file defines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The local name of `address`: itself when it has no `@`, its local part when its domain is
    /// `domain` (the maildomain); `None` for any other address, which no alias applies to.
    fn local_name(address: &str, domain: Option<&str>) -> Option<String> {
        match address.rsplit_once('@') {
            None => Some(address.to_lowercase()),
            Some((local, d)) if domain.is_some_and(|m| m.eq_ignore_ascii_case(d)) => {
                Some(local.to_lowercase())
            }
            Some(_) => None,
        }
    }

    /// The addresses `address` stands for, recursively, or `None` when no alias applies to it. A name met
    /// again while it is being expanded is kept as it is (see the module's text); a name already
    /// expanded for this recipient is not expanded again (its addresses are there), and expansion stops
    /// [`MAX_DEPTH`] names deep, keeping the name reached, so that no file can make it take exponential
    /// time or exhaust the stack.
    pub fn expand(&self, address: &str, domain: Option<&str>) -> Option<Vec<String>> {
        let name = Aliases::local_name(address, domain)?;
        self.entries.get(&name)?;
        let mut walk = Walk {
            aliases: self,
            domain,
            stack: Vec::new(),
            expanded: HashSet::new(),
            seen: HashSet::new(),
            out: Vec::new(),
        };
        walk.visit(address);
        Some(walk.out)
    }
}

/// How deep aliases are followed (sendmail stops at 10 levels; real files need a few).
pub const MAX_DEPTH: usize = 64;

/// One recipient's expansion under way.
struct Walk<'a> {
    aliases: &'a Aliases,
    domain: Option<&'a str>,
    /// The names being expanded, outermost first.
    stack: Vec<String>,
    /// The names expanded already.
    expanded: HashSet<String>,
    /// The addresses in `out`.
    seen: HashSet<String>,
    out: Vec<String>,
}

impl Walk<'_> {
    fn visit(&mut self, address: &str) {
        let name = Aliases::local_name(address, self.domain);
        let targets = name.as_ref().and_then(|n| self.aliases.entries.get(n));
        match (name, targets) {
            (Some(name), _) if self.expanded.contains(&name) && !self.stack.contains(&name) => {}
            (Some(name), Some(targets))
                if !self.stack.contains(&name) && self.stack.len() < MAX_DEPTH =>
            {
                self.expanded.insert(name.clone());
                self.stack.push(name);
                for target in targets {
                    self.visit(target);
                }
                self.stack.pop();
            }
            _ => {
                if self.seen.insert(address.to_owned()) {
                    self.out.push(address.to_owned());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
