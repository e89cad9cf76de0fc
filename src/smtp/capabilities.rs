//! ESMTP capabilities: the keywords of an EHLO or LHLO reply (RFC 5321 §4.1.1.1 and §4.1.4, RFC 1869,
//! RFC 2033 §4.1), typed for the session.
//!
//! Parsing follows smtplib (reference section 3): the first line is the server's name and is dropped;
//! each other line starting with a keyword `[A-Za-z0-9][A-Za-z0-9-]*` contributes it and the rest of the
//! line as its parameters; a later line with the same keyword replaces the earlier one, except `AUTH`,
//! whose mechanisms accumulate, and old-style `AUTH=` lines (pre-RFC 2554 servers) which are merged into
//! `AUTH`; lines that do not start with a keyword are ignored. Unlike smtplib, keywords are kept upper
//! case and AUTH mechanisms are matched case-insensitively (RFC 4422 §3.1 names are upper case; smtplib's
//! case-sensitive match misses `AUTH plain`).

use crate::smtp::reply::{Reply, printable};

/// What a server offered in its EHLO/LHLO reply. `Default` and [`Capabilities::none`] offer nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// (KEYWORD, parameters) in the order the server first named them.
    keywords: Vec<(String, String)>,
    /// AUTH mechanisms from `AUTH` and `AUTH=` lines: upper case, without duplicates, in server order.
    mechanisms: Vec<String>,
}

impl Capabilities {
    /// The capabilities in an EHLO or LHLO reply. Parameters are kept as text with control characters
    /// escaped (they are printed by `--serverinfo`; none of the values used here contains any).
    pub fn parse(reply: &Reply) -> Capabilities {
        let mut caps = Capabilities::default();
        for line in reply.lines.iter().skip(1) {
            caps.add_line(line);
        }
        caps
    }

    /// After HELO: no service extensions at all (RFC 5321 §4.1.1.1).
    pub fn none() -> Capabilities {
        Capabilities::default()
    }

    fn add_line(&mut self, line: &[u8]) {
        if let Some(old_style) = strip_prefix_ignore_case(line, b"auth=") {
            self.add_mechanisms(old_style);
            return;
        }
        let keyword_len = match line.first() {
            Some(b) if b.is_ascii_alphanumeric() => line
                .iter()
                .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-'))
                .unwrap_or(line.len()),
            _ => return,
        };
        let (keyword, params) = line.split_at(keyword_len);
        let keyword = String::from_utf8_lossy(keyword).to_ascii_uppercase();
        if keyword == "AUTH" {
            self.add_mechanisms(params);
            return;
        }
        let params = printable(params.trim_ascii());
        match self.keywords.iter_mut().find(|(k, _)| *k == keyword) {
            Some(entry) => entry.1 = params,
            None => self.keywords.push((keyword, params)),
        }
    }

    fn add_mechanisms(&mut self, list: &[u8]) {
        for name in list.split(|b| b.is_ascii_whitespace()) {
            // SASL mechanism names are upper-case letters, digits, `-` and `_` (RFC 4422 §3.1); a token
            // like smtplib's `=` from `AUTH = x` names nothing and is left out.
            let valid = !name.is_empty()
                && name
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_');
            let name = String::from_utf8_lossy(name).to_ascii_uppercase();
            if valid && !self.mechanisms.contains(&name) {
                self.mechanisms.push(name);
            }
        }
        let joined = self.mechanisms.join(" ");
        match self.keywords.iter_mut().find(|(k, _)| k == "AUTH") {
            Some(entry) => entry.1 = joined,
            None => self.keywords.push(("AUTH".to_owned(), joined)),
        }
    }

    /// Whether the server offered `keyword` (any case).
    pub fn has(&self, keyword: &str) -> bool {
        self.param(keyword).is_some()
    }

    /// The parameters after `keyword` (any case), `""` when it has none. For AUTH: the merged mechanisms.
    pub fn param(&self, keyword: &str) -> Option<&str> {
        self.keywords
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(keyword))
            .map(|(_, params)| params.as_str())
    }

    /// Every (KEYWORD, parameters) pair in the server's order, for `--serverinfo`.
    pub fn keywords(&self) -> Vec<(String, String)> {
        self.keywords.clone()
    }

    /// The advertised message size limit (RFC 1870 §4); `SIZE` alone or `SIZE 0` means no fixed limit.
    pub fn size_limit(&self) -> Option<u64> {
        self.param("SIZE")?.parse().ok().filter(|n| *n > 0)
    }

    /// AUTH mechanisms (RFC 4954 §3), upper case, without duplicates, in the server's order.
    pub fn auth_mechanisms(&self) -> &[String] {
        &self.mechanisms
    }

    /// RFC 2920.
    pub fn pipelining(&self) -> bool {
        self.has("PIPELINING")
    }

    /// RFC 3030 (BDAT).
    pub fn chunking(&self) -> bool {
        self.has("CHUNKING")
    }

    /// RFC 3207.
    pub fn starttls(&self) -> bool {
        self.has("STARTTLS")
    }

    /// RFC 6531.
    pub fn smtputf8(&self) -> bool {
        self.has("SMTPUTF8")
    }

    /// RFC 6152.
    pub fn eightbitmime(&self) -> bool {
        self.has("8BITMIME")
    }

    /// RFC 3461.
    pub fn dsn(&self) -> bool {
        self.has("DSN")
    }
}

fn strip_prefix_ignore_case<'a>(line: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = line.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &line[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::reply::{Parsed, parse};

    fn caps(wire: &str) -> Capabilities {
        match parse(wire.as_bytes()) {
            Ok(Parsed::Complete { reply, .. }) => Capabilities::parse(&reply),
            other => panic!("bad test reply {wire:?}: {other:?}"),
        }
    }

    fn ehlo(lines: &[&str]) -> Capabilities {
        let mut wire = String::from("250-server.example\r\n");
        for (i, line) in lines.iter().enumerate() {
            let sep = if i + 1 == lines.len() { ' ' } else { '-' };
            wire.push_str(&format!("250{sep}{line}\r\n"));
        }
        caps(&wire)
    }

    #[test]
    fn smtplib_trace_example() {
        let c = ehlo(&["SIZE 10240000", "8BITMIME", "AUTH PLAIN LOGIN", "HELP"]);
        assert_eq!(c.size_limit(), Some(10_240_000));
        assert!(c.eightbitmime());
        assert_eq!(c.auth_mechanisms(), ["PLAIN", "LOGIN"]);
        assert!(c.has("help") && c.has("HELP") && c.has("Help"));
        assert!(!c.starttls() && !c.pipelining() && !c.chunking());
        assert!(!c.smtputf8() && !c.dsn());
    }

    #[test]
    fn old_style_auth_lines_are_merged() {
        let c = ehlo(&["AUTH=LOGIN PLAIN", "AUTH CRAM-MD5"]);
        assert_eq!(c.auth_mechanisms(), ["LOGIN", "PLAIN", "CRAM-MD5"]);
        assert_eq!(c.param("auth"), Some("LOGIN PLAIN CRAM-MD5"));
        let only_old = ehlo(&["auth=login"]);
        assert!(only_old.has("AUTH"));
        assert_eq!(only_old.auth_mechanisms(), ["LOGIN"]);
    }

    #[test]
    fn size_with_equals_is_a_parameter_not_a_limit() {
        let c = ehlo(&["SIZE=100"]);
        assert_eq!(c.param("SIZE"), Some("=100"));
        assert_eq!(c.size_limit(), None);
    }

    #[test]
    fn parameters_are_trimmed() {
        assert_eq!(ehlo(&["X-FOO  bar baz "]).param("x-foo"), Some("bar baz"));
        assert_eq!(ehlo(&["X-FOO\tbar"]).param("X-FOO"), Some("bar"));
    }

    #[test]
    fn auth_space_equals_keeps_only_real_names() {
        // smtplib stores ' = x'; `=` is no mechanism name.
        assert_eq!(ehlo(&["AUTH = x"]).auth_mechanisms(), ["X"]);
    }

    #[test]
    fn keyword_without_parameters() {
        let c = ehlo(&["8BITMIME"]);
        assert_eq!(c.param("8BITMIME"), Some(""));
        assert!(c.eightbitmime());
    }

    #[test]
    fn single_line_reply_is_only_the_server_name() {
        let c = caps("250 SIZE 100\r\n");
        assert_eq!(c, Capabilities::none());
        assert!(!c.has("SIZE"));
    }

    #[test]
    fn lines_without_a_keyword_are_ignored() {
        let c = ehlo(&["-bad", "", "=x", "PIPELINING"]);
        assert_eq!(c.keywords(), vec![("PIPELINING".to_owned(), String::new())]);
    }

    #[test]
    fn last_one_wins_except_auth() {
        let c = ehlo(&["SIZE 100", "AUTH PLAIN", "SIZE 200", "AUTH LOGIN plain"]);
        assert_eq!(c.size_limit(), Some(200));
        assert_eq!(c.auth_mechanisms(), ["PLAIN", "LOGIN"]);
        assert_eq!(
            c.keywords(),
            vec![
                ("SIZE".to_owned(), "200".to_owned()),
                ("AUTH".to_owned(), "PLAIN LOGIN".to_owned())
            ]
        );
    }

    #[test]
    fn lower_case_server_is_understood() {
        // smtplib's case-sensitive mechanism match finds nothing here; we find both.
        let c = ehlo(&[
            "auth plain login",
            "starttls",
            "pipelining",
            "chunking",
            "smtputf8",
            "dsn",
        ]);
        assert_eq!(c.auth_mechanisms(), ["PLAIN", "LOGIN"]);
        assert!(c.starttls() && c.pipelining() && c.chunking() && c.smtputf8() && c.dsn());
        assert_eq!(c.keywords()[1].0, "STARTTLS");
    }

    #[test]
    fn sim_smtp_channel_features() {
        // smtplib test 45.
        let c = ehlo(&["EXPN", "SIZE 20000000", "STARTTLS", "DELIVERBY", "HELP"]);
        let names: Vec<String> = c.keywords().into_iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["EXPN", "SIZE", "STARTTLS", "DELIVERBY", "HELP"]);
        assert!(!c.has("unsupported-feature"));
        assert_eq!(c.param("size"), Some("20000000"));
    }

    #[test]
    fn size_without_limit() {
        assert_eq!(ehlo(&["SIZE"]).size_limit(), None);
        assert_eq!(ehlo(&["SIZE 0"]).size_limit(), None);
        assert_eq!(ehlo(&["SIZE lots"]).size_limit(), None);
        assert_eq!(ehlo(&["SIZE 99999999999999999999999"]).size_limit(), None);
        assert!(ehlo(&["SIZE"]).has("SIZE"));
        assert_eq!(ehlo(&["PIPELINING"]).size_limit(), None);
    }

    #[test]
    fn duplicate_mechanisms_are_dropped() {
        let c = ehlo(&["AUTH PLAIN LOGIN PLAIN", "AUTH=plain XOAUTH2"]);
        assert_eq!(c.auth_mechanisms(), ["PLAIN", "LOGIN", "XOAUTH2"]);
    }

    #[test]
    fn control_characters_in_parameters_are_escaped() {
        let c = caps("250-x\r\n250 X-EVIL a\x1b[2Jb\r\n");
        assert_eq!(c.param("X-EVIL"), Some("a\\x1b[2Jb"));
    }

    #[test]
    fn none_offers_nothing() {
        let c = Capabilities::none();
        assert!(c.keywords().is_empty() && c.auth_mechanisms().is_empty());
        assert!(!c.has("AUTH") && c.param("SIZE").is_none());
    }
}
