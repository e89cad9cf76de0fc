//! `qualify_headers`: bare local names (cron's `root`, cronie's `<user>`) in the originator and
//! destination fields get `@maildomain` appended, so a smarthost that demands fully qualified
//! addresses (RFC 5321 §4.1.2 requires a domain; RFC 5322 §3.4.1 addr-spec has one) takes the
//! message (spec §2, issue 4). Only the address fields RFC 5322 §3.6.2, §3.6.3 and §3.6.6 define
//! change, and in them only the insertion itself: display names, comments, folding and every other
//! byte stay as written.
//!
//! The grammar is the one [`parse_address_list`](super::super::parse_address_list) accepts (RFC
//! 5322 §3.4 with the obsolete forms of §4.4), walked over the folded raw bytes so that each bare
//! local part's end is known as an offset. A field that does not parse is left as it is: the
//! envelope already refused malformed From, Sender, To and Cc fields, and the others (Reply-To,
//! older Resent blocks) are sent unchanged without this option too.

use crate::lines::MAX_LINE;
use crate::message::headers::{Field, MessageError, escaped, scan};

/// The fields whose bare addresses are qualified (RFC 5322 §3.6.2, §3.6.3, §3.6.6; Resent-Reply-To
/// from RFC 822 §4.4.4). Bcc is not listed: the rewrite has already removed it.
const ADDRESS_FIELDS: &[&str] = &[
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Resent-From",
    "Resent-Sender",
    "Resent-Reply-To",
    "Resent-To",
    "Resent-Cc",
];

/// `block` (a header section as [`rewrite_header_block`](super::rewrite_header_block) returns it)
/// with every address without `@` in the [`ADDRESS_FIELDS`] turned into `name@domain`.
/// `From: root (Cron Daemon)` becomes `From: root@example.org (Cron Daemon)`.
pub fn qualify_header_addresses(block: &[u8], domain: &str) -> Result<Vec<u8>, MessageError> {
    if !super::valid_id_right(domain) {
        return Err(MessageError::BadGeneratedValue {
            what: "maildomain",
            value: escaped(domain),
        });
    }
    let parsed = scan(block)?;
    let mut out = Vec::with_capacity(block.len() + 64);
    let mut consumed = 0;
    for f in &parsed.fields {
        consumed += f.raw.len();
        if ADDRESS_FIELDS.iter().any(|n| f.is(n)) {
            out.extend_from_slice(&qualify_field(f, domain)?);
        } else {
            out.extend_from_slice(&f.raw);
        }
    }
    // The separator line (and anything after it) as it was.
    out.extend_from_slice(block.get(consumed..).unwrap_or_default());
    Ok(out)
}

/// One field with `@domain` inserted after each bare local part.
fn qualify_field(f: &Field, domain: &str) -> Result<Vec<u8>, MessageError> {
    let Some(colon) = f.raw.iter().position(|&b| b == b':') else {
        return Ok(f.raw.clone());
    };
    let start = colon + 1;
    let value = f.value();
    let Some(inserts) = bare_local_part_ends(value) else {
        return Ok(f.raw.clone());
    };
    if inserts.is_empty() {
        return Ok(f.raw.clone());
    }
    let suffix = format!("@{domain}");
    let mut out = Vec::with_capacity(f.raw.len() + inserts.len() * suffix.len());
    let mut from = 0;
    for at in inserts {
        out.extend_from_slice(&f.raw[from..start + at]);
        out.extend_from_slice(suffix.as_bytes());
        from = start + at;
    }
    out.extend_from_slice(&f.raw[from..]);
    let line_too_long = out
        .split(|&b| b == b'\n')
        .any(|l| l.strip_suffix(b"\r").unwrap_or(l).len() > MAX_LINE);
    if line_too_long {
        return Err(MessageError::BadGeneratedValue {
            what: "line after qualifying the addresses (RFC 5322 2.1.1 allows 998 octets)",
            value: escaped(&f.name),
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An atom, or a quoted-string (`dots_only`: its content is empty or only dots, as in `""`
    /// or `"."`).
    Word {
        quoted: bool,
        dots_only: bool,
    },
    Literal,
    Special(u8),
}

/// A token and the offset just past its last byte.
#[derive(Debug, Clone, Copy)]
struct Tok {
    kind: Kind,
    end: usize,
}

/// Tokens of a folded field value; CFWS (line ends of folding included) is dropped. `None` for
/// anything [`parse_address_list`](super::super::parse_address_list) would refuse to tokenize.
fn lex(v: &[u8]) -> Option<Vec<Tok>> {
    let mut toks = Vec::new();
    let mut i = 0;
    while let Some(&c) = v.get(i) {
        i += 1;
        let kind = match c {
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            b'(' => {
                let mut depth = 1;
                while depth > 0 {
                    match v.get(i)? {
                        b'\\' => i += 1,
                        b'(' => depth += 1,
                        b')' => depth -= 1,
                        _ => {}
                    }
                    i += 1;
                }
                continue;
            }
            b'"' => {
                let mut dots_only = true;
                loop {
                    match v.get(i)? {
                        b'"' => break,
                        b'\\' => {
                            i += 1;
                            dots_only &= *v.get(i)? == b'.';
                        }
                        // The line end of folding inside a quoted-string (RFC 5322 §3.2.4) is not
                        // content; the white space after it is.
                        b'\r' | b'\n' => {}
                        b'\t' => dots_only = false,
                        &b if b < 0x20 || b == 0x7f => return None,
                        &b => dots_only &= b == b'.',
                    }
                    i += 1;
                }
                i += 1;
                Kind::Word {
                    quoted: true,
                    dots_only,
                }
            }
            b'[' => {
                loop {
                    match v.get(i)? {
                        b']' => break,
                        b'[' | b'\\' => return None,
                        b' ' | b'\t' | b'\r' | b'\n' => {}
                        &b if b < 0x20 || b == 0x7f => return None,
                        _ => {}
                    }
                    i += 1;
                }
                i += 1;
                Kind::Literal
            }
            b'<' | b'>' | b'@' | b',' | b';' | b':' | b'.' => Kind::Special(c),
            b')' | b']' | b'\\' => return None,
            c if c < 0x20 || c == 0x7f => return None,
            _ => {
                while let Some(&n) = v.get(i) {
                    if n < 0x20 || n == 0x7f || b" ()<>@,;:.\\\"[]".contains(&n) {
                        break;
                    }
                    i += 1;
                }
                Kind::Word {
                    quoted: false,
                    dots_only: false,
                }
            }
        };
        toks.push(Tok { kind, end: i });
    }
    Some(toks)
}

/// The offsets (in `v`) just past each local part that has no domain, in order; `None` when the
/// value is not an address list.
fn bare_local_part_ends(v: &[u8]) -> Option<Vec<usize>> {
    let toks = lex(v)?;
    let mut p = Parser {
        toks: &toks,
        pos: 0,
        out: Vec::new(),
    };
    p.address_list()?;
    Some(p.out)
}

/// The address-list grammar of `envelope::address`, reporting insertion points instead of
/// addresses.
struct Parser<'a> {
    toks: &'a [Tok],
    pos: usize,
    out: Vec<usize>,
}

impl<'a> Parser<'a> {
    fn special(&self) -> Option<u8> {
        match self.toks.get(self.pos)?.kind {
            Kind::Special(c) => Some(c),
            _ => None,
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    /// address-list with obs-addr-list's empty elements.
    fn address_list(&mut self) -> Option<()> {
        loop {
            if self.at_end() {
                return Some(());
            }
            if self.special() == Some(b',') {
                self.pos += 1;
                continue;
            }
            self.address(false)?;
            let after_group = self.pos > 0
                && self
                    .toks
                    .get(self.pos - 1)
                    .is_some_and(|t| t.kind == Kind::Special(b';'));
            match self.special() {
                _ if self.at_end() => return Some(()),
                Some(b',') => self.pos += 1,
                _ if after_group => {}
                _ => return None,
            }
        }
    }

    /// The words (and dots) starting here, as a token range.
    fn words(&mut self) -> &'a [Tok] {
        let start = self.pos;
        while self
            .toks
            .get(self.pos)
            .is_some_and(|t| matches!(t.kind, Kind::Word { .. } | Kind::Special(b'.')))
        {
            self.pos += 1;
        }
        &self.toks[start..self.pos]
    }

    fn address(&mut self, in_group: bool) -> Option<()> {
        let words = self.words();
        let empty = words.is_empty();
        let any_quoted = words
            .iter()
            .any(|t| matches!(t.kind, Kind::Word { quoted: true, .. }));
        let bare_end = local_part_end(words);
        match self.special() {
            Some(b'<') => {
                self.pos += 1;
                self.angle_addr()
            }
            Some(b':') if in_group || empty => None,
            Some(b':') => {
                self.pos += 1;
                self.group_list()
            }
            Some(b'@') => {
                bare_end?;
                self.pos += 1;
                self.domain()
            }
            _ if empty || any_quoted => None,
            _ => {
                self.out.push(bare_end?);
                Some(())
            }
        }
    }

    fn group_list(&mut self) -> Option<()> {
        loop {
            match self.special() {
                _ if self.at_end() => return Some(()),
                Some(b';') => {
                    self.pos += 1;
                    return Some(());
                }
                Some(b',') => self.pos += 1,
                _ => {
                    self.address(true)?;
                    match self.special() {
                        _ if self.at_end() => return Some(()),
                        Some(b',') => self.pos += 1,
                        Some(b';') => {
                            self.pos += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
        }
    }

    /// After `<`: an optional obs-route, a local part, an optional `@domain`, then `>`.
    fn angle_addr(&mut self) -> Option<()> {
        if self.special() == Some(b'@') {
            while let Some(c @ (b'@' | b',')) = self.special() {
                self.pos += 1;
                if c == b'@' {
                    self.domain()?;
                }
            }
            if self.special() != Some(b':') {
                return None;
            }
            self.pos += 1;
        }
        let end = local_part_end(self.words())?;
        if self.special() == Some(b'@') {
            self.pos += 1;
            self.domain()?;
        } else {
            self.out.push(end);
        }
        if self.special() != Some(b'>') {
            return None;
        }
        self.pos += 1;
        Some(())
    }

    /// A domain after `@`: one literal, or atoms separated by dots.
    fn domain(&mut self) -> Option<()> {
        if self.toks.get(self.pos)?.kind == Kind::Literal {
            self.pos += 1;
            return Some(());
        }
        loop {
            if !matches!(
                self.toks.get(self.pos)?.kind,
                Kind::Word { quoted: false, .. }
            ) {
                return None;
            }
            self.pos += 1;
            if self.special() != Some(b'.') {
                return Some(());
            }
            self.pos += 1;
        }
    }
}

/// Where a local part made of `words` ends, if they form one: words joined by dots (two words in a
/// row are a display name, not a local part), holding more than dots.
fn local_part_end(words: &[Tok]) -> Option<usize> {
    let mut last_word = false;
    let mut any_text = false;
    for t in words {
        let is_word = matches!(t.kind, Kind::Word { .. });
        if is_word && last_word {
            return None;
        }
        last_word = is_word;
        any_text |= matches!(
            t.kind,
            Kind::Word {
                dots_only: false,
                ..
            }
        );
    }
    if !any_text {
        return None;
    }
    words.last().map(|t| t.end)
}

#[cfg(test)]
mod tests;
