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
//! The grammar exists once (issue 11, point 4): [`walk`] tokenizes the bytes, folded or not, and
//! reports each mailbox with its place in the input; [`parse_address_list`] turns the mailboxes
//! into addresses, and header qualification (`rewrite::qualify`) inserts `@maildomain` after the
//! bare ones.
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
    let mut out = Vec::new();
    walk(s.as_bytes(), &mut |mailbox| {
        let addr = checked(mailbox.local_part(), mailbox.domain())?;
        out.push(addr);
        Ok(())
    })
    .map_err(|e| match e {
        WalkError::Syntax(reason) => MessageError::AddressSyntax {
            input: escaped(s),
            reason,
        },
        WalkError::Visit(e) => e,
    })?;
    Ok(out)
}

/// `local@domain` (or `local` alone), within the RFC 5321 §4.5.3.1 limits.
fn checked(local: String, domain: Option<String>) -> Result<String, MessageError> {
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
    Ok(addr)
}

/// Why a [`walk`] stopped: the input is not an address list (the reason says why), or the visitor
/// returned an error.
#[derive(Debug)]
pub enum WalkError<E> {
    Syntax(&'static str),
    Visit(E),
}

/// One mailbox of an address list as the input writes it: its local part (words and dots) and,
/// when it has one, its domain (one literal, or atoms and dots).
#[derive(Debug, Clone, Copy)]
pub struct Mailbox<'a> {
    input: &'a [u8],
    local: &'a [Token],
    domain: Option<&'a [Token]>,
}

impl Mailbox<'_> {
    /// The offset in the input just past the local part (where `@domain` would go).
    pub fn local_end(&self) -> usize {
        self.local.last().map_or(0, |t| t.end)
    }

    pub fn has_domain(&self) -> bool {
        self.domain.is_some()
    }

    /// The local part with comments and white space dropped and quoted-pairs resolved; quoted again
    /// when a word was quoted and the result is not a dot-atom (`"john doe"`, but `"john"` is `john`).
    pub fn local_part(&self) -> String {
        let mut text = String::new();
        let mut quoted = false;
        for t in self.local {
            quoted |= t.kind == Kind::Quoted;
            text.push_str(&t.text(self.input));
        }
        if !quoted || is_dot_atom(&text) {
            return text;
        }
        quoted_string(&text)
    }

    /// The domain as written, comments and white space dropped.
    pub fn domain(&self) -> Option<String> {
        let tokens = self.domain?;
        Some(tokens.iter().map(|t| t.text(self.input)).collect())
    }
}

/// Walks an RFC 5322 address-list (§3.4, with §4.4's obsolete forms), calling `visit` for each
/// mailbox in order, group members included. The input may be folded: a line end is white space.
/// The one grammar of the envelope's address lists and of header qualification (issue 11, point 4).
pub fn walk<E>(
    input: &[u8],
    visit: &mut dyn FnMut(Mailbox<'_>) -> Result<(), E>,
) -> Result<(), WalkError<E>> {
    let toks = lex(input).map_err(WalkError::Syntax)?;
    Walk {
        input,
        toks: &toks,
        pos: 0,
        visit,
    }
    .address_list()
}

/// What a token is; comments and white space (CFWS) are not tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A run of atext (RFC 5322 §3.2.3), UTF-8 included (RFC 6532 §3.2).
    Atom,
    /// A quoted-string, its quotes included.
    Quoted,
    /// A domain-literal, its brackets included.
    Literal,
    /// One of `< > @ , ; : .`
    Special(u8),
}

/// A token: what it is and where it stands in the input.
#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

impl Token {
    fn is_word(&self) -> bool {
        matches!(self.kind, Kind::Atom | Kind::Quoted)
    }

    /// What the token stands for: a quoted-string's content with its quoted-pairs resolved, a
    /// domain-literal without its white space, the rest as written. Line ends of folding are never
    /// part of it (RFC 5322 §3.2.4).
    fn text(&self, input: &[u8]) -> String {
        let raw = &input[self.start..self.end];
        let mut out = Vec::with_capacity(raw.len());
        match self.kind {
            Kind::Quoted => {
                let mut bytes = raw[1..raw.len() - 1].iter();
                while let Some(&b) = bytes.next() {
                    match b {
                        b'\\' => out.extend(bytes.next()),
                        b'\r' | b'\n' => {}
                        _ => out.push(b),
                    }
                }
            }
            Kind::Literal => out.extend(raw.iter().filter(|b| !b" \t\r\n".contains(b))),
            Kind::Atom | Kind::Special(_) => out.extend_from_slice(raw),
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// Whether a control character (Unicode Cc: C0, DEL, and C1 in its UTF-8 form) starts at `i`.
fn is_control(v: &[u8], i: usize) -> bool {
    let b = v[i];
    b < 0x20 || b == 0x7f || (b == 0xc2 && matches!(v.get(i + 1), Some(0x80..=0x9f)))
}

/// Splits the input into tokens; comments and white space (CFWS, folding included) are dropped.
fn lex(v: &[u8]) -> Result<Vec<Token>, &'static str> {
    let mut toks = Vec::new();
    let mut i = 0;
    while let Some(&c) = v.get(i) {
        let start = i;
        i += 1;
        let kind = match c {
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            b'(' => {
                i = comment_end(v, i)?;
                continue;
            }
            b'"' => {
                i = quoted_end(v, i)?;
                Kind::Quoted
            }
            b'[' => {
                i = literal_end(v, i)?;
                Kind::Literal
            }
            b'<' | b'>' | b'@' | b',' | b';' | b':' | b'.' => Kind::Special(c),
            b')' | b']' | b'\\' => return Err("unexpected character"),
            _ if is_control(v, start) => return Err("control character"),
            _ => {
                while i < v.len() && !is_control(v, i) && !b" \t()<>@,;:.\\\"[]".contains(&v[i]) {
                    i += 1;
                }
                Kind::Atom
            }
        };
        toks.push(Token {
            kind,
            start,
            end: i,
        });
    }
    Ok(toks)
}

/// The offset just past the comment whose `(` is just before `i`; comments nest.
fn comment_end(v: &[u8], mut i: usize) -> Result<usize, &'static str> {
    let mut depth = 1;
    while depth > 0 {
        match v.get(i) {
            None => return Err("unterminated comment"),
            Some(b'\\') => i += 1,
            Some(b'(') => depth += 1,
            Some(b')') => depth -= 1,
            Some(_) => {}
        }
        i += 1;
    }
    Ok(i)
}

/// The offset just past the quoted-string whose `"` is just before `i`.
fn quoted_end(v: &[u8], mut i: usize) -> Result<usize, &'static str> {
    loop {
        match v.get(i) {
            None => return Err("unterminated quoted string"),
            Some(b'"') => return Ok(i + 1),
            Some(b'\\') if i + 1 < v.len() => i += 2,
            Some(b'\\') => return Err("unterminated quoted string"),
            // Folding inside a quoted-string (RFC 5322 §3.2.4).
            Some(b'\t' | b'\r' | b'\n') => i += 1,
            Some(_) if is_control(v, i) => return Err("control character"),
            Some(_) => i += 1,
        }
    }
}

/// The offset just past the domain-literal whose `[` is just before `i`.
fn literal_end(v: &[u8], mut i: usize) -> Result<usize, &'static str> {
    loop {
        match v.get(i) {
            None | Some(b'[' | b'\\') => return Err("bad domain literal"),
            Some(b']') => return Ok(i + 1),
            Some(b' ' | b'\t' | b'\r' | b'\n') => i += 1,
            Some(_) if is_control(v, i) => return Err("control character"),
            Some(_) => i += 1,
        }
    }
}

/// The recursive-descent walk over the tokens.
struct Walk<'a, 'v, E> {
    input: &'a [u8],
    toks: &'a [Token],
    pos: usize,
    visit: &'v mut dyn FnMut(Mailbox<'_>) -> Result<(), E>,
}

type Step<E> = Result<(), WalkError<E>>;

impl<'a, E> Walk<'a, '_, E> {
    fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    fn peek_special(&self) -> Option<u8> {
        match self.toks.get(self.pos)?.kind {
            Kind::Special(c) => Some(c),
            _ => None,
        }
    }

    fn err<T>(&self, reason: &'static str) -> Result<T, WalkError<E>> {
        Err(WalkError::Syntax(reason))
    }

    fn mailbox(&mut self, local: &'a [Token], domain: Option<&'a [Token]>) -> Step<E> {
        let mailbox = Mailbox {
            input: self.input,
            local,
            domain,
        };
        (self.visit)(mailbox).map_err(WalkError::Visit)
    }

    /// address-list, with obs-addr-list's empty elements (`a@x,,b@x`).
    fn address_list(&mut self) -> Step<E> {
        loop {
            match self.peek_special() {
                _ if self.at_end() => return Ok(()),
                Some(b',') => self.pos += 1,
                _ => {
                    self.address(false)?;
                    // A group's closing ';' already separates it from what follows.
                    let after_group =
                        self.pos > 0 && self.toks[self.pos - 1].kind == Kind::Special(b';');
                    match self.peek_special() {
                        _ if self.at_end() => return Ok(()),
                        Some(b',') => self.pos += 1,
                        _ if after_group => {}
                        _ => return self.err("expected ',' between addresses"),
                    }
                }
            }
        }
    }

    /// The words (and dots) starting here.
    fn words(&mut self) -> &'a [Token] {
        let start = self.pos;
        while self
            .toks
            .get(self.pos)
            .is_some_and(|t| t.is_word() || t.kind == Kind::Special(b'.'))
        {
            self.pos += 1;
        }
        &self.toks[start..self.pos]
    }

    /// One mailbox or group; what follows the leading words decides which.
    fn address(&mut self, in_group: bool) -> Step<E> {
        let words = self.words();
        match self.peek_special() {
            Some(b'<') => {
                self.pos += 1;
                self.angle_addr()
            }
            Some(b':') if in_group => self.err("group inside a group"),
            Some(b':') if words.is_empty() => self.err("group without a name"),
            Some(b':') => {
                self.pos += 1;
                self.group_list()
            }
            Some(b'@') => {
                self.pos += 1;
                self.local_part(words)?;
                let domain = self.domain()?;
                self.mailbox(words, Some(domain))
            }
            _ if words.is_empty() => self.err("expected an address"),
            _ => {
                // A phrase alone: a bare local name (`root`) if it is one, else a display name
                // whose address is missing.
                if words.iter().any(|t| t.kind == Kind::Quoted) {
                    return self.err("display name without an address");
                }
                self.local_part(words)?;
                self.mailbox(words, None)
            }
        }
    }

    /// The members of a group after its `:`, up to `;`. A missing `;` at the end is forgiven, as
    /// `undisclosed-recipients:` is common in the wild.
    fn group_list(&mut self) -> Step<E> {
        loop {
            match self.peek_special() {
                _ if self.at_end() => return Ok(()),
                Some(b';') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b',') => self.pos += 1,
                _ => {
                    self.address(true)?;
                    match self.peek_special() {
                        _ if self.at_end() => return Ok(()),
                        Some(b',') => self.pos += 1,
                        Some(b';') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return self.err("expected ',' or ';' in a group"),
                    }
                }
            }
        }
    }

    /// After `<`: an optional obs-route (`@a,@b:`), the addr-spec (or a bare local name, as cronie
    /// writes `"(Cron Daemon)" <user>`), then `>`.
    fn angle_addr(&mut self) -> Step<E> {
        if self.peek_special() == Some(b'@') {
            while let Some(c @ (b'@' | b',')) = self.peek_special() {
                self.pos += 1;
                if c == b'@' {
                    self.domain()?;
                }
            }
            if self.peek_special() != Some(b':') {
                return self.err("bad source route");
            }
            self.pos += 1;
        }
        let words = self.words();
        if words.is_empty() {
            return self.err("empty address in angle brackets");
        }
        self.local_part(words)?;
        let domain = if self.peek_special() == Some(b'@') {
            self.pos += 1;
            Some(self.domain()?)
        } else {
            None
        };
        if self.peek_special() != Some(b'>') {
            return self.err("missing '>'");
        }
        self.pos += 1;
        self.mailbox(words, domain)
    }

    /// Whether `words` form a local part: words joined by dots (obs-local-part, lenient about
    /// repeated dots as real servers are; two words in a row are a display name), holding more
    /// than dots.
    fn local_part(&self, words: &[Token]) -> Step<E> {
        let mut last_word = false;
        for t in words {
            if t.is_word() && last_word {
                return self.err("display name without an address");
            }
            last_word = t.is_word();
        }
        let text = words
            .iter()
            .any(|t| t.is_word() && t.text(self.input).chars().any(|c| c != '.'));
        if !text {
            return self.err("empty local part");
        }
        Ok(())
    }

    /// A domain after `@`: dot-separated atoms or one domain literal.
    fn domain(&mut self) -> Result<&'a [Token], WalkError<E>> {
        let start = self.pos;
        if self.toks.get(self.pos).map(|t| t.kind) == Some(Kind::Literal) {
            self.pos += 1;
            return Ok(&self.toks[start..self.pos]);
        }
        loop {
            if self.toks.get(self.pos).map(|t| t.kind) != Some(Kind::Atom) {
                return self.err("bad domain");
            }
            self.pos += 1;
            if self.peek_special() != Some(b'.') {
                return Ok(&self.toks[start..self.pos]);
            }
            self.pos += 1;
        }
    }
}

/// `text` as an RFC 5322 §3.2.4 quoted-string: in quotes, `"` and `\\` escaped.
pub(super) fn quoted_string(text: &str) -> String {
    let mut q = String::with_capacity(text.len() + 2);
    q.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
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
mod tests;
