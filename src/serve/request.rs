//! The client's commands as values (RFC 5321 §4.1.1; RFC 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8,
//! RFC 3461 DSN parameters), parsed from one line without I/O. A line that is not a command the server
//! takes becomes the [`Answer`] that refuses it: `500` for an unknown verb, `501` for bad arguments
//! (CR or NUL inside the line, a path that is not `<…>`, text that is not UTF-8), `555` for a MAIL or
//! RCPT parameter that was not offered. Whether a command comes in the right order is the dialogue's
//! business, not the parser's.

use super::reply::Answer;
use crate::smtp::command::BodyType;

/// One command from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Helo(String),
    Ehlo(String),
    Mail(Mail),
    Rcpt(Rcpt),
    Data,
    Rset,
    Noop,
    Quit,
    Vrfy,
    Help,
}

/// `MAIL FROM:<path> [parameters]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mail {
    /// The address without `<>` and without a source route; `""` is the null sender.
    pub from: String,
    pub size: Option<u64>,
    pub body: Option<BodyType>,
    pub smtputf8: bool,
    pub ret: Option<String>,
    /// RFC 3461 §4.4 xtext, as the client sent it.
    pub envid: Option<String>,
}

impl Mail {
    /// Whether any ESMTP parameter was given (after HELO none may be, RFC 5321 §4.1.1.11).
    pub fn has_parameters(&self) -> bool {
        self.size.is_some()
            || self.body.is_some()
            || self.smtputf8
            || self.ret.is_some()
            || self.envid.is_some()
    }
}

/// `RCPT TO:<path> [parameters]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rcpt {
    pub to: String,
    /// RFC 3461 §4.1, normalised (`NEVER` or `SUCCESS,FAILURE,DELAY` in the client's order).
    pub notify: Option<String>,
    /// ORCPT was given (accepted; the relay does not pass it on).
    pub orcpt: bool,
}

impl Rcpt {
    pub fn has_parameters(&self) -> bool {
        self.notify.is_some() || self.orcpt
    }
}

fn syntax(text: &str) -> Answer {
    Answer::new(501, "5.5.4", text)
}

fn parameter(text: String) -> Answer {
    Answer::new(555, "5.5.4", text)
}

/// One line (without its line end) as a command, or the reply that refuses it.
pub fn parse(line: &[u8]) -> Result<Request, Answer> {
    if line.iter().any(|&b| b == b'\r' || b == 0) {
        return Err(Answer::new(
            501,
            "5.5.2",
            "Syntax error: CR or NUL inside a command line",
        ));
    }
    let line = std::str::from_utf8(line)
        .map_err(|_| Answer::new(501, "5.5.2", "Syntax error: the line is not UTF-8"))?;
    let (verb, rest) = match line.split_once([' ', '\t']) {
        Some((verb, rest)) => (verb, rest.trim_matches([' ', '\t'])),
        None => (line, ""),
    };
    let no_argument = |request: Request| match rest.is_empty() {
        true => Ok(request),
        false => Err(syntax("Syntax error: this command takes no argument")),
    };
    match verb.to_ascii_uppercase().as_str() {
        "HELO" | "EHLO" if rest.is_empty() || rest.contains([' ', '\t']) => Err(syntax(&format!(
            "Syntax error: {} hostname",
            verb.to_ascii_uppercase()
        ))),
        "HELO" => Ok(Request::Helo(rest.to_owned())),
        "EHLO" => Ok(Request::Ehlo(rest.to_owned())),
        "MAIL" => mail(rest).map(Request::Mail),
        "RCPT" => rcpt(rest).map(Request::Rcpt),
        "DATA" => no_argument(Request::Data),
        "RSET" => no_argument(Request::Rset),
        "QUIT" => no_argument(Request::Quit),
        // RFC 5321 §4.1.1.9: NOOP may have an argument, to be ignored.
        "NOOP" => Ok(Request::Noop),
        "VRFY" if rest.is_empty() => Err(syntax("Syntax error: VRFY address")),
        "VRFY" => Ok(Request::Vrfy),
        "HELP" => Ok(Request::Help),
        _ => Err(Answer::new(500, "5.5.1", "Command unrecognized")),
    }
}

/// `FROM:<path> params`, the path as RFC 5321 §4.1.2 has it (a space after the colon tolerated).
fn mail(rest: &str) -> Result<Mail, Answer> {
    let (from, params) = path(rest, "FROM:")?;
    let mut mail = Mail {
        from,
        ..Mail::default()
    };
    for (keyword, value) in params {
        match (keyword.to_ascii_uppercase().as_str(), value) {
            ("SIZE", Some(v)) if !v.is_empty() && v.len() <= 20 => {
                let size = v.parse().map_err(|_| parameter(format!("Bad SIZE={v}")))?;
                mail.size = Some(size);
            }
            ("BODY", Some(v)) if v.eq_ignore_ascii_case("8BITMIME") => {
                mail.body = Some(BodyType::EightBitMime);
            }
            ("BODY", Some(v)) if v.eq_ignore_ascii_case("7BIT") => {
                mail.body = Some(BodyType::SevenBit);
            }
            ("SMTPUTF8", None) => mail.smtputf8 = true,
            ("RET", Some(v)) => {
                let ret = crate::settings::dsn_ret(v).map_err(|e| parameter(e.to_string()))?;
                mail.ret = Some(ret);
            }
            ("ENVID", Some(v)) if is_xtext(v) && v.len() <= 100 => mail.envid = Some(v.to_owned()),
            _ => return Err(unknown_parameter(keyword, value)),
        }
    }
    Ok(mail)
}

/// `TO:<path> params`.
fn rcpt(rest: &str) -> Result<Rcpt, Answer> {
    let (to, params) = path(rest, "TO:")?;
    if to.is_empty() {
        return Err(syntax("Syntax error: RCPT TO:<address>"));
    }
    let mut rcpt = Rcpt {
        to,
        ..Rcpt::default()
    };
    for (keyword, value) in params {
        match (keyword.to_ascii_uppercase().as_str(), value) {
            ("NOTIFY", Some(v)) => {
                let notify =
                    crate::settings::dsn_notify(v).map_err(|e| parameter(e.to_string()))?;
                rcpt.notify = Some(notify);
            }
            ("ORCPT", Some(v)) if v.contains(';') && is_xtext(v) => rcpt.orcpt = true,
            _ => return Err(unknown_parameter(keyword, value)),
        }
    }
    Ok(rcpt)
}

fn unknown_parameter(keyword: &str, value: Option<&str>) -> Answer {
    let shown = match value {
        Some(v) => format!("{keyword}={v}"),
        None => keyword.to_owned(),
    };
    parameter(format!("Unsupported or bad parameter {shown}"))
}

/// RFC 3461 §4: printable ASCII without `=` and with `+` only as `+XX`.
fn is_xtext(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                let hex = |b: u8| b.is_ascii_digit() || (b'A'..=b'F').contains(&b);
                match (bytes.get(i + 1), bytes.get(i + 2)) {
                    (Some(&a), Some(&b)) if hex(a) && hex(b) => i += 3,
                    _ => return false,
                }
            }
            b'!'..=b'~' if bytes[i] != b'=' => i += 1,
            _ => return false,
        }
    }
    !text.is_empty()
}

/// One ESMTP parameter, `KEYWORD` or `KEYWORD=value`.
type Parameter<'a> = (&'a str, Option<&'a str>);

/// `KEYWORD:<path> params`: the path's address (source route dropped, RFC 5321 §4.1.1.3 and C) and
/// the parameters as `(keyword, value)`.
fn path<'a>(rest: &'a str, keyword: &str) -> Result<(String, Vec<Parameter<'a>>), Answer> {
    let usage = || syntax(&format!("Syntax error: {keyword}<address>"));
    let head = rest.get(..keyword.len()).ok_or_else(usage)?;
    if !head.eq_ignore_ascii_case(keyword) {
        return Err(usage());
    }
    let rest = rest[keyword.len()..].trim_start_matches([' ', '\t']);
    let after_open = rest.strip_prefix('<').ok_or_else(usage)?;
    let close = closing_bracket(after_open).ok_or_else(usage)?;
    let inside = &after_open[..close];
    let params = &after_open[close + 1..];
    if !params.is_empty() && !params.starts_with([' ', '\t']) {
        return Err(usage());
    }
    // `@a,@b:user@x`: the route is obsolete and ignored (RFC 5321 §3.3, appendix C).
    let address = match inside.starts_with('@') {
        true => inside.split_once(':').map(|(_, a)| a).ok_or_else(usage)?,
        false => inside,
    };
    let params = params
        .split([' ', '\t'])
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (p, None),
        })
        .collect();
    Ok((address.to_owned(), params))
}

/// The `>` that closes the path: the first one outside a quoted local part.
fn closing_bracket(text: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '>' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests;
