//! Composing a message from the command line (spec §11, issue 15): the text body, an HTML alternative,
//! attachments, header fields and recipients given as flags become one RFC 5322 message, built with
//! mail-builder. [`read_parts`] is the only I/O (the files named and standard input); [`build`] is a pure
//! function of what was read. The bytes then take the normal path (spool, prepare, send) as if read
//! from standard input, so --pretend shows them and the envelope rules apply. Imports only the flags.

use std::borrow::Cow;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::text::Text;

use crate::cli::ComposeArgs;

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// `what`: "--body", "--html" or "--attach"; exit 66 (EX_NOINPUT), before any connection.
    #[error("cannot read the {what} file {}: {source}; nothing was sent", .path.display())]
    Open {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("cannot read the text body from standard input: {0}; nothing was sent")]
    Stdin(io::Error),
    /// The text body and the HTML are text; mail-builder encodes them, so they must be UTF-8.
    #[error("the {what} is not UTF-8 text; attach it with --attach instead")]
    NotText { what: String },
    #[error(
        "--header takes 'Name: value', not {0:?} (a name of printable ASCII letters, then ':')"
    )]
    BadHeader(String),
    #[error("--attach {0:?}: after ';' only 'type=TYPE/SUBTYPE' is understood")]
    BadAttach(String),
}

/// What the flags name, read: the text body, the HTML alternative, the attachments.
#[derive(Debug, Default)]
pub struct Parts {
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, PartialEq)]
pub struct Attachment {
    /// The file name as the recipient sees it (the last component of the path).
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Who the message is from, as -f and -F give it; `None` leaves From to the normal path, which adds
/// it as sendmail does.
#[derive(Debug, Default)]
pub struct Sender<'a> {
    pub address: Option<&'a str>,
    pub full_name: Option<&'a str>,
}

/// Read the files the flags name and, when `--body -` is given or no --body is given and standard
/// input is not a terminal, the text body from `stdin`.
pub fn read_parts(
    args: &ComposeArgs,
    stdin: &mut dyn Read,
    stdin_is_terminal: bool,
) -> Result<Parts, ComposeError> {
    let text = match &args.body {
        Some(path) if path.as_os_str() == "-" => read_stdin(stdin)?,
        Some(path) => utf8(read_file("--body", path)?, path)?,
        None if !stdin_is_terminal => read_stdin(stdin)?,
        None => String::new(),
    };
    let html = match &args.html {
        Some(path) => Some(utf8(read_file("--html", path)?, path)?),
        None => None,
    };
    let attachments = args
        .attach
        .iter()
        .map(|spec| attachment(spec))
        .collect::<Result<_, _>>()?;
    Ok(Parts {
        text,
        html,
        attachments,
    })
}

fn read_stdin(stdin: &mut dyn Read) -> Result<String, ComposeError> {
    let mut bytes = Vec::new();
    stdin.read_to_end(&mut bytes).map_err(ComposeError::Stdin)?;
    String::from_utf8(bytes).map_err(|_| ComposeError::NotText {
        what: "text body read from standard input".to_owned(),
    })
}

fn read_file(what: &'static str, path: &Path) -> Result<Vec<u8>, ComposeError> {
    std::fs::read(path).map_err(|source| ComposeError::Open {
        what,
        path: path.to_owned(),
        source,
    })
}

fn utf8(bytes: Vec<u8>, path: &Path) -> Result<String, ComposeError> {
    String::from_utf8(bytes).map_err(|_| ComposeError::NotText {
        what: format!("file {}", path.display()),
    })
}

/// `FILE` or `FILE;type=TYPE/SUBTYPE`.
fn attachment(spec: &str) -> Result<Attachment, ComposeError> {
    let (path, content_type) = match spec.rsplit_once(';') {
        Some((path, option)) => match option.trim().strip_prefix("type=") {
            Some(t) if t.contains('/') && !t.contains(char::is_whitespace) => (path, t.to_owned()),
            _ => return Err(ComposeError::BadAttach(spec.to_owned())),
        },
        None => (spec, content_type_for(spec).to_owned()),
    };
    let path = Path::new(path);
    let bytes = read_file("--attach", path)?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(Attachment {
        name,
        content_type,
        bytes,
    })
}

/// The content type for a file name, from its extension; unknown ones are application/octet-stream.
pub fn content_type_for(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("txt" | "log" | "text") => "text/plain",
        Some("csv") => "text/csv",
        Some("htm" | "html") => "text/html",
        Some("json") => "application/json",
        Some("xml") => "application/xml",
        Some("pdf") => "application/pdf",
        Some("zip") => "application/zip",
        Some("gz" | "tgz") => "application/gzip",
        Some("tar") => "application/x-tar",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("svg") => "image/svg+xml",
        Some("webp") => "image/webp",
        Some("eml") => "message/rfc822",
        _ => "application/octet-stream",
    }
}

/// A header field from `--header 'Name: value'`: the name printable ASCII without ':' or spaces,
/// the value on one line.
pub fn header_field(field: &str) -> Result<(&str, &str), ComposeError> {
    let bad = || ComposeError::BadHeader(field.to_owned());
    let (name, value) = field.split_once(':').ok_or_else(bad)?;
    let name_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
    if !name_ok || value.contains(['\r', '\n', '\0']) {
        return Err(bad());
    }
    Ok((name, value.trim()))
}

/// `Name <addr>` or `addr` as mail-builder's address, so a non-ASCII name is RFC 2047 encoded.
fn address(given: &str) -> Address<'_> {
    let given = given.trim();
    match given.strip_suffix('>').and_then(|g| g.rsplit_once('<')) {
        Some((name, addr)) => {
            let name = name.trim().trim_matches('"').trim();
            let name = (!name.is_empty()).then_some(name);
            Address::new_address(name, addr.trim())
        }
        None => Address::new_address(None::<&str>, given),
    }
}

/// Every address of the flags; one flag may hold several, comma-separated (commas inside double
/// quotes belong to a name), as the envelope reads them.
fn addresses(given: &[String]) -> Address<'_> {
    let list = given.iter().flat_map(|g| split_list(g)).map(address);
    Address::new_list(list.collect())
}

fn split_list(list: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in list.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                items.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&list[start..]);
    items.into_iter().filter(|i| !i.trim().is_empty()).collect()
}

/// The message: From (when -f gave one), To, Cc, Subject, the --header fields, Date and Message-ID
/// (generated), and the body: text, text and HTML as multipart/alternative, attachments base64 in
/// multipart/mixed. Bcc is never written; it is in the envelope only. Lines end in LF like a message
/// typed on standard input; the engine sends CRLF.
pub fn build(args: &ComposeArgs, sender: &Sender, parts: &Parts) -> Result<Vec<u8>, ComposeError> {
    let mut message = MessageBuilder::new();
    if let Some(from) = sender.address.filter(|a| !a.is_empty() && *a != "<>") {
        message = message.from(Address::new_address(sender.full_name, from));
    }
    if !args.to.is_empty() {
        message = message.to(addresses(&args.to));
    }
    if !args.cc.is_empty() {
        message = message.cc(addresses(&args.cc));
    }
    if let Some(subject) = &args.subject {
        message = message.subject(subject.as_str());
    }
    for field in &args.header {
        let (name, value) = header_field(field)?;
        message = message.header(name, Text::new(value));
    }
    message = message.text_body(parts.text.as_str());
    if let Some(html) = &parts.html {
        message = message.html_body(html.as_str());
    }
    for a in &parts.attachments {
        let name: Cow<str> = Cow::Borrowed(&a.name);
        message = message.attachment(a.content_type.as_str(), name, a.bytes.as_slice());
    }
    let mut bytes = Vec::new();
    message.serialize(&mut bytes);
    Ok(crlf_to_lf(&bytes))
}

fn crlf_to_lf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(i) = rest.windows(2).position(|w| w == b"\r\n") {
        out.extend_from_slice(&rest[..i]);
        out.push(b'\n');
        rest = &rest[i + 2..];
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests;
