//! RFC 5322 address lists (§3.4, with the obsolete forms of §4.4: empty list elements, routes, CFWS
//! around dots) reduced to the bare addresses the envelope needs, with RFC 6532 UTF-8 allowed.
//!
//! mail-parser 0.11's address parser was tried first and falls short for an envelope: it never
//! fails, so `a@b (c) d@e` becomes `a@bd@e`, `x <>` becomes a recipient `x`, a nested comment such
//! as `:(nobody(that I know)) ;` becomes a mailbox, and `"john doe"@example.com` loses its local
//! part. Sending to a guessed address is worse than refusing (exit 65), so this is a small strict
//! tokenizer and recursive-descent parser instead. It also accepts the bare local names sendmail
//! callers use (`root`, `Jeff`, `<user>`), which aliases or `maildomain` qualify later.
//!
//! CR, LF and NUL are refused anywhere in the input (catalogue 12), other control characters are
//! syntax errors, and the RFC 5321 §4.5.3.1 limits hold: local part 64, domain 255, address 254
//! octets (the path, with its angle brackets, is 256).

use crate::message::headers::{MessageError, escaped};

const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 255;
const MAX_ADDRESS: usize = 254;

/// Parses an RFC 5322 address-list, as given on the command line or in a header field value
/// (unfolded), into bare addresses in order: display names and comments dropped, group members
/// kept, `undisclosed-recipients:;` yielding none. Never returns an empty string.
pub fn parse_address_list(s: &str) -> Result<Vec<String>, MessageError> {
    if s.contains(['\r', '\n', '\0']) {
        return Err(MessageError::ControlInAddress(escaped(s)));
    }
    let toks = lex(s)?;
    let mut p = Parser {
        toks: &toks,
        pos: 0,
        input: s,
        out: Vec::new(),
    };
    p.address_list()?;
    Ok(p.out)
}

/// Whether the address needs no SMTPUTF8 (RFC 6531 §3.4).
pub fn is_ascii_address(a: &str) -> bool {
    a.is_ascii()
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A run of atext (RFC 5322 §3.2.3), UTF-8 included (RFC 6532 §3.2).
    Atom(String),
    /// The content of a quoted-string, quoted-pairs resolved.
    Quoted(String),
    /// A domain-literal as written, brackets included, white space removed.
    Literal(String),
    /// One of `< > @ , ; : .`
    Special(char),
}

fn syntax(input: &str, reason: &'static str) -> MessageError {
    MessageError::AddressSyntax {
        input: escaped(input),
        reason,
    }
}

/// Splits the input into tokens; comments and white space (CFWS) are dropped.
fn lex(s: &str) -> Result<Vec<Tok>, MessageError> {
    let mut toks = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {}
            '(' => {
                let mut depth = 1;
                while depth > 0 {
                    match chars.next() {
                        None => return Err(syntax(s, "unterminated comment")),
                        Some('\\') => {
                            chars.next();
                        }
                        Some('(') => depth += 1,
                        Some(')') => depth -= 1,
                        Some(_) => {}
                    }
                }
            }
            '"' => {
                let mut q = String::new();
                loop {
                    match chars.next() {
                        None => return Err(syntax(s, "unterminated quoted string")),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e) => q.push(e),
                            None => return Err(syntax(s, "unterminated quoted string")),
                        },
                        Some(c) if c.is_control() && c != '\t' => {
                            return Err(syntax(s, "control character"));
                        }
                        Some(c) => q.push(c),
                    }
                }
                toks.push(Tok::Quoted(q));
            }
            '[' => {
                let mut lit = String::from("[");
                loop {
                    match chars.next() {
                        None | Some('[') | Some('\\') => {
                            return Err(syntax(s, "bad domain literal"));
                        }
                        Some(']') => break,
                        Some(' ' | '\t') => {}
                        Some(c) if c.is_control() => return Err(syntax(s, "control character")),
                        Some(c) => lit.push(c),
                    }
                }
                lit.push(']');
                toks.push(Tok::Literal(lit));
            }
            '<' | '>' | '@' | ',' | ';' | ':' | '.' => toks.push(Tok::Special(c)),
            ')' | ']' | '\\' => return Err(syntax(s, "unexpected character")),
            c if c.is_control() => return Err(syntax(s, "control character")),
            c => {
                let mut atom = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_control() || " \t()<>@,;:.\\\"[]".contains(n) {
                        break;
                    }
                    atom.push(n);
                    chars.next();
                }
                toks.push(Tok::Atom(atom));
            }
        }
    }
    Ok(toks)
}

struct Parser<'a> {
    toks: &'a [Tok],
    pos: usize,
    input: &'a str,
    out: Vec<String>,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a Tok> {
        self.toks.get(self.pos)
    }

    fn peek_special(&self) -> Option<char> {
        match self.peek() {
            Some(Tok::Special(c)) => Some(*c),
            _ => None,
        }
    }

    fn err(&self, reason: &'static str) -> MessageError {
        syntax(self.input, reason)
    }

    /// address-list, with obs-addr-list's empty elements (`a@x,,b@x`).
    fn address_list(&mut self) -> Result<(), MessageError> {
        loop {
            match self.peek_special() {
                _ if self.peek().is_none() => return Ok(()),
                Some(',') => self.pos += 1,
                _ => {
                    self.address(false)?;
                    // A group's closing ';' already separates it from what follows.
                    let after_group =
                        self.toks.get(self.pos.wrapping_sub(1)) == Some(&Tok::Special(';'));
                    match self.peek_special() {
                        _ if self.peek().is_none() => return Ok(()),
                        Some(',') => self.pos += 1,
                        _ if after_group => {}
                        _ => return Err(self.err("expected ',' between addresses")),
                    }
                }
            }
        }
    }

    /// One mailbox or group; what follows the leading words decides which.
    fn address(&mut self, in_group: bool) -> Result<(), MessageError> {
        let start = self.pos;
        while matches!(
            self.peek(),
            Some(Tok::Atom(_) | Tok::Quoted(_) | Tok::Special('.'))
        ) {
            self.pos += 1;
        }
        let words = &self.toks[start..self.pos];
        match self.peek_special() {
            Some('<') => {
                self.pos += 1;
                self.angle_addr()
            }
            Some(':') if in_group => Err(self.err("group inside a group")),
            Some(':') if words.is_empty() => Err(self.err("group without a name")),
            Some(':') => {
                self.pos += 1;
                self.group_list()
            }
            Some('@') => {
                self.pos += 1;
                let local = self.local_part(words)?;
                let domain = self.domain()?;
                self.push(local, Some(domain))
            }
            _ if words.is_empty() => Err(self.err("expected an address")),
            _ => {
                // A phrase alone: a bare local name (`root`) if it is one, else a display name
                // whose address is missing.
                if words.iter().any(|t| matches!(t, Tok::Quoted(_))) {
                    return Err(self.err("display name without an address"));
                }
                let local = self.local_part(words)?;
                self.push(local, None)
            }
        }
    }

    /// The members of a group after its `:`, up to `;`. A missing `;` at the end is forgiven, as
    /// `undisclosed-recipients:` is common in the wild.
    fn group_list(&mut self) -> Result<(), MessageError> {
        loop {
            match self.peek_special() {
                _ if self.peek().is_none() => return Ok(()),
                Some(';') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(',') => self.pos += 1,
                _ => {
                    self.address(true)?;
                    match self.peek_special() {
                        _ if self.peek().is_none() => return Ok(()),
                        Some(',') => self.pos += 1,
                        Some(';') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(self.err("expected ',' or ';' in a group")),
                    }
                }
            }
        }
    }

    /// After `<`: an optional obs-route (`@a,@b:`), the addr-spec (or a bare local name, as cronie
    /// writes `"(Cron Daemon)" <user>`), then `>`.
    fn angle_addr(&mut self) -> Result<(), MessageError> {
        if self.peek_special() == Some('@') {
            while let Some(c @ ('@' | ',')) = self.peek_special() {
                self.pos += 1;
                if c == '@' {
                    self.domain()?;
                }
            }
            if self.peek_special() != Some(':') {
                return Err(self.err("bad source route"));
            }
            self.pos += 1;
        }
        let start = self.pos;
        while matches!(
            self.peek(),
            Some(Tok::Atom(_) | Tok::Quoted(_) | Tok::Special('.'))
        ) {
            self.pos += 1;
        }
        let words = &self.toks[start..self.pos];
        if words.is_empty() {
            return Err(self.err("empty address in angle brackets"));
        }
        let local = self.local_part(words)?;
        let domain = if self.peek_special() == Some('@') {
            self.pos += 1;
            Some(self.domain()?)
        } else {
            None
        };
        if self.peek_special() != Some('>') {
            return Err(self.err("missing '>'"));
        }
        self.pos += 1;
        self.push(local, domain)
    }

    /// A local part from words and dots (obs-local-part, lenient about repeated dots as real
    /// servers are); quoted when any word was quoted and the result is not a dot-atom.
    fn local_part(&self, words: &[Tok]) -> Result<String, MessageError> {
        let mut text = String::new();
        let mut quoted = false;
        let mut last_word = false;
        for t in words {
            match t {
                Tok::Atom(a) | Tok::Quoted(a) => {
                    if last_word {
                        return Err(self.err("display name without an address"));
                    }
                    quoted |= matches!(t, Tok::Quoted(_));
                    text.push_str(a);
                    last_word = true;
                }
                _ => {
                    text.push('.');
                    last_word = false;
                }
            }
        }
        if text.is_empty() || text.chars().all(|c| c == '.') {
            return Err(self.err("empty local part"));
        }
        if quoted && !is_dot_atom(&text) {
            let mut q = String::from("\"");
            for c in text.chars() {
                if c == '"' || c == '\\' {
                    q.push('\\');
                }
                q.push(c);
            }
            q.push('"');
            return Ok(q);
        }
        Ok(text)
    }

    /// A domain after `@`: dot-separated atoms or one domain literal.
    fn domain(&mut self) -> Result<String, MessageError> {
        if let Some(Tok::Literal(l)) = self.peek() {
            self.pos += 1;
            return Ok(l.clone());
        }
        let mut d = String::new();
        loop {
            match self.peek() {
                Some(Tok::Atom(a)) => {
                    d.push_str(a);
                    self.pos += 1;
                }
                _ => return Err(self.err("bad domain")),
            }
            if self.peek_special() != Some('.') {
                return Ok(d);
            }
            self.pos += 1;
            d.push('.');
        }
    }

    fn push(&mut self, local: String, domain: Option<String>) -> Result<(), MessageError> {
        let addr = match &domain {
            Some(d) => format!("{local}@{d}"),
            None => local.clone(),
        };
        if local.len() > MAX_LOCAL {
            return Err(MessageError::LocalPartTooLong(escaped(&addr)));
        }
        if domain.as_ref().is_some_and(|d| d.len() > MAX_DOMAIN) {
            return Err(MessageError::DomainTooLong(escaped(&addr)));
        }
        if addr.len() > MAX_ADDRESS {
            return Err(MessageError::AddressTooLong(escaped(&addr)));
        }
        self.out.push(addr);
        Ok(())
    }
}

/// RFC 5322 §3.2.3 dot-atom-text, with RFC 6532 UTF-8.
fn is_dot_atom(s: &str) -> bool {
    s.split('.').all(|part| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| !c.is_control() && !" ()<>@,;:\\\"[]".contains(c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Vec<String> {
        parse_address_list(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    #[test]
    fn address_lists() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("   ", &[]),
            ("bob@x", &["bob@x"]),
            ("\"Ann B\" <ann@x>, bob@x", &["ann@x", "bob@x"]),
            ("John, Sally ,Fred", &["John", "Sally", "Fred"]),
            ("root", &["root"]),
            ("root (Cron Daemon)", &["root"]),
            ("\"(Cron Daemon)\" <user>", &["user"]),
            ("mdadm monitoring <root@host>", &["root@host"]),
            ("team: a@x, b@x;", &["a@x", "b@x"]),
            ("team: a@x, b@x; c@y", &["a@x", "b@x", "c@y"]),
            ("undisclosed-recipients:;", &[]),
            ("undisclosed-recipients:", &[]),
            ("a@x,,b@x,", &["a@x", "b@x"]),
            ("\"Doe, John\" <j@x>", &["j@x"]),
            ("\"A; \\\"Quoted\\\" Name\" <to5@x>", &["to5@x"]),
            ("\"A Person: Personal\" <to9@x>", &["to9@x"]),
            ("j@x (John)", &["j@x"]),
            (
                "Some(wonderful \\) chap) <to10(his)@localhost(host)>",
                &["to10@localhost"],
            ),
            ("first . last @ example . org", &["first.last@example.org"]),
            (
                "<@relay.example,@b.example:user@c.example>",
                &["user@c.example"],
            ),
            ("user@[192.0.2.1]", &["user@[192.0.2.1]"]),
            ("user@[IPv6:::1]", &["user@[IPv6:::1]"]),
            ("\"john doe\"@example.com", &["\"john doe\"@example.com"]),
            ("\"john\"@example.com", &["john@example.com"]),
            ("\"a\\\"b\"@x", &["\"a\\\"b\"@x"]),
            (
                "=?utf-8?q?Micha=C3=ABl?= <michael@example.com>",
                &["michael@example.com"],
            ),
            ("Páolo <főo@bar.com>", &["főo@bar.com"]),
            ("René <rene@example.com>", &["rene@example.com"]),
            ("Jőhn, Sálly", &["Jőhn", "Sálly"]),
            ("-oQ/tmp", &["-oQ/tmp"]),
            ("a..b@docomo.example", &["a..b@docomo.example"]),
        ];
        for (input, want) in cases {
            assert_eq!(ok(input), *want, "input {input:?}");
        }
    }

    /// msmtp's tests/test-header-handling.sh list (catalogue 38), field by field.
    #[test]
    fn msmtp_hostile_list() {
        let cases: &[(&str, &[&str])] = &[
            (
                "to1@example.com, =?utf-8?B?VGVzdCDDnHNlcg==?= <to2@example.com>, Some One <to3@example.com>,",
                &["to1@example.com", "to2@example.com", "to3@example.com"],
            ),
            (
                "to4, \"A; \\\"Quoted\\\" Name\" <to5@example.com>",
                &["to4", "to5@example.com"],
            ),
            (
                "A Group:Person 1 <to6@example.com>,to7@example.com,SomeOne <to8@example.com>;",
                &["to6@example.com", "to7@example.com", "to8@example.com"],
            ),
            ("Undisclosed recipients:;", &[]),
            (
                "\"A Person: Personal Account\" <to9@example.com>",
                &["to9@example.com"],
            ),
            (
                "Some(wonderful \\) chap) <to10(his account)@localhost(this host)>",
                &["to10@localhost"],
            ),
            (
                "A Group(Some people)      :Some Person <to11@(their's host.)example.com>,\
                 to12, \t        Person <to13@localhost> (a friend); (the end of the group)",
                &["to11@example.com", "to12", "to13@localhost"],
            ),
            (
                "(Empty list)(start)Undisclosed recipients  :(nobody(that I know))  ;",
                &[],
            ),
            ("bcc@example.com", &["bcc@example.com"]),
        ];
        for (input, want) in cases {
            assert_eq!(ok(input), *want, "input {input:?}");
        }
    }

    #[test]
    fn malformed_lists_are_refused() {
        for input in [
            "a@b (c) d@e",
            "x <>",
            "<>",
            "a b",
            "John Smith",
            "\"Bernard, Bianca\"",
            "<bad",
            "bad>",
            "<<a@b>>",
            "a@",
            "@x",
            "a@x.",
            "a@b@c",
            "(unterminated",
            "\"unterminated",
            "a@[1.2.3.4",
            "a:b:c@x;",
            "g: h: a@x;;",
            ": a@x;",
            "a@x; b@x",
            "a\u{1}b@x",
            "..@x",
        ] {
            let err = parse_address_list(input).expect_err(input);
            assert!(
                matches!(err, MessageError::AddressSyntax { .. }),
                "{input:?}: {err:?}"
            );
            assert_eq!(crate::exit::classify(&err.into()), crate::exit::DATAERR);
        }
    }

    /// Catalogue 12: nothing with CR, LF or NUL may reach an SMTP command.
    #[test]
    fn cr_lf_nul_are_refused() {
        for input in [
            "a@x\r\nRCPT TO:<z@evil>",
            "a@x\nb@y",
            "a@x\rb@y",
            "a\0@x",
            "\"a\r\nDATA\"@x",
            "Name (comment\n) <a@x>",
        ] {
            assert!(
                matches!(
                    parse_address_list(input),
                    Err(MessageError::ControlInAddress(_))
                ),
                "{input:?}"
            );
        }
    }

    /// RFC 5321 §4.5.3.1: local part 64, domain 255, address 254 octets.
    #[test]
    fn length_limits() {
        let local64 = "l".repeat(64);
        let domain = format!("{}.example", "d".repeat(60));
        assert_eq!(ok(&format!("{local64}@x")), [format!("{local64}@x")]);
        assert!(matches!(
            parse_address_list(&format!("{local64}l@x")),
            Err(MessageError::LocalPartTooLong(_))
        ));
        assert!(matches!(
            parse_address_list(&"r".repeat(65)),
            Err(MessageError::LocalPartTooLong(_))
        ));
        let long_domain = vec!["d".repeat(63); 4].join(".");
        assert_eq!(long_domain.len(), 255);
        assert!(matches!(
            parse_address_list(&format!("a@{long_domain}x")),
            Err(MessageError::DomainTooLong(_))
        ));
        assert!(matches!(
            parse_address_list(&format!("{local64}@{long_domain}")),
            Err(MessageError::AddressTooLong(_))
        ));
        // 64 + 1 + 189 = 254: the longest address.
        let d189 = format!("{}.{}.{}", "d".repeat(63), "d".repeat(63), "d".repeat(61));
        assert_eq!(ok(&format!("{local64}@{d189}")).len(), 1);
        assert!(matches!(
            parse_address_list(&format!("{local64}@{d189}d")),
            Err(MessageError::AddressTooLong(_))
        ));
        // Octets, not characters: 32 two-octet characters fill a local part.
        assert!(parse_address_list(&format!("{}@x", "é".repeat(32))).is_ok());
        assert!(matches!(
            parse_address_list(&format!("{}e@x", "é".repeat(32))),
            Err(MessageError::LocalPartTooLong(_))
        ));
        assert!(ok(&format!("<{local64}@{domain}>"))[0].starts_with(&local64));
    }

    #[test]
    fn ascii_check() {
        assert!(is_ascii_address("foo@bar.com"));
        assert!(!is_ascii_address("főo@bar.com"));
        assert!(!is_ascii_address("Jőhn"));
    }

    proptest::proptest! {
        /// Any input either parses into addresses free of CR/LF/NUL or is refused; never a panic.
        #[test]
        fn never_panics(s in "[ -~\\r\\n\\t\\x00éő]{0,60}") {
            if let Ok(list) = parse_address_list(&s) {
                for a in list {
                    proptest::prop_assert!(!a.is_empty());
                    proptest::prop_assert!(!a.contains(['\r', '\n', '\0']));
                }
            }
        }
    }
}
