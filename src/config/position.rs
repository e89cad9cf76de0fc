//! Where in the configuration file a problem is, and how to name it in a message (spec §8: errors name
//! the file, the line and the key).
//!
//! The file is parsed once into toml's spanned tree ([`DeTable`]); a byte offset from a toml error, or a key
//! path for a check made after deserialising, is turned into a 1-based line and a table name written the way
//! the user wrote the header (`[accounts.work]`). Table spans in the tree cover only the header line, not the
//! body, so the search visits every table instead of descending by span.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// The 1-based line holding byte `offset` of `text`; an offset past the end counts as the last line.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Which part of an entry an offset falls in: toml puts the offset of an unknown field on its key and the
/// offset of a wrong value on the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    Key,
    Value,
}

/// The key path of the innermost entry whose key or value holds `offset`.
pub(super) fn entry_at(doc: &DeTable<'_>, offset: usize) -> Option<(Vec<String>, Part)> {
    let mut path = Vec::new();
    search(doc, offset, &mut path).map(|part| (path, part))
}

fn search(table: &DeTable<'_>, offset: usize, path: &mut Vec<String>) -> Option<Part> {
    for (key, value) in table.iter() {
        path.push(key.get_ref().to_string());
        if key.span().contains(&offset) {
            return Some(Part::Key);
        }
        if let DeValue::Table(inner) = value.get_ref()
            && let Some(part) = search(inner, offset, path)
        {
            return Some(part);
        }
        if value.span().contains(&offset) {
            return Some(Part::Value);
        }
        path.pop();
    }
    None
}

/// The span of the value at `path` (`["accounts", "work", "parent"]`), if the file has it.
pub(super) fn value_span(doc: &DeTable<'_>, path: &[&str]) -> Option<Range<usize>> {
    let (last, tables) = path.split_last()?;
    let mut table = doc;
    for key in tables {
        table = table.get(*key)?.get_ref().as_table()?;
    }
    table.get(*last).map(|value| value.span())
}

/// A table path as its header: `[accounts.work]`, `[accounts."my.isp"]`; the root is "the top level".
pub(super) fn table_name<S: AsRef<str>>(path: &[S]) -> String {
    if path.is_empty() {
        return "the top level".to_owned();
    }
    let keys: Vec<String> = path.iter().map(|k| key_text(k.as_ref())).collect();
    format!("[{}]", keys.join("."))
}

/// A key as TOML would need it written: bare when it can be, else quoted (TOML 1.0, "Keys").
pub(super) fn key_text(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    }
}

/// The candidate closest to a mistyped key, when it is close enough to be the likely intent.
pub(super) fn closest<'a>(key: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (distance(key, c), *c))
        .filter(|(d, c)| *d <= 2.min(c.len() / 2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "top = 1\n[accounts.work]\nhost = 'x'\n[accounts]\nhome.port = 2\n";

    #[test]
    fn lines_are_one_based_and_clamped() {
        assert_eq!(line_of(TEXT, 0), 1);
        assert_eq!(line_of(TEXT, TEXT.find("host").expect("in text")), 3);
        assert_eq!(line_of(TEXT, 10_000), 6);
        assert_eq!(line_of("", 5), 1);
    }

    #[test]
    fn finds_keys_and_values_in_header_and_dotted_tables() {
        let doc = DeTable::parse(TEXT).expect("valid TOML");
        let doc = doc.get_ref();
        let at = |needle: &str| entry_at(doc, TEXT.find(needle).expect("in text"));
        assert_eq!(
            at("host"),
            Some((
                vec!["accounts".into(), "work".into(), "host".into()],
                Part::Key
            ))
        );
        assert_eq!(
            at("'x'"),
            Some((
                vec!["accounts".into(), "work".into(), "host".into()],
                Part::Value
            ))
        );
        assert_eq!(
            at("port"),
            Some((
                vec!["accounts".into(), "home".into(), "port".into()],
                Part::Key
            ))
        );
        assert_eq!(at("top"), Some((vec!["top".into()], Part::Key)));
        assert_eq!(entry_at(doc, 10_000), None);
        let span = value_span(doc, &["accounts", "work", "host"]).expect("present");
        assert_eq!(&TEXT[span], "'x'");
        assert_eq!(value_span(doc, &["accounts", "nope", "host"]), None);
        assert_eq!(value_span(doc, &["top", "x"]), None);
    }

    #[test]
    fn names_tables_as_headers() {
        assert_eq!(table_name::<&str>(&[]), "the top level");
        assert_eq!(table_name(&["accounts", "work"]), "[accounts.work]");
        assert_eq!(table_name(&["accounts", "my.isp"]), "[accounts.\"my.isp\"]");
        assert_eq!(key_text(""), "\"\"");
    }

    #[test]
    fn suggests_only_close_keys() {
        let keys = ["host", "port", "user", "tls_trust_file"];
        assert_eq!(closest("hots", &keys), Some("host"));
        assert_eq!(closest("tls_trustfile", &keys), Some("tls_trust_file"));
        assert_eq!(closest("colour", &keys), None);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
