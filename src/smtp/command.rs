//! SMTP commands as values (RFC 5321 §4.1.1, §4.1.2; RFC 2033 §4.1 LHLO; RFC 3207 §4 STARTTLS;
//! RFC 4954 §4 AUTH; RFC 3030 §2 BDAT).
//!
//! [`Command::wire`] gives the exact line sent, verbs in upper case; `Display` gives the same line with
//! every secret shown as `<redacted>`, which is what the trace prints (catalogue item 22). Before a
//! command is sent, [`Command::validate`] refuses CR, LF and NUL in any argument, secrets included, so no
//! value can inject a second command (catalogue items 12 and 13, CPython bpo-43124), and refuses lines
//! longer than RFC 5321 §4.5.3.1.4 allows. MAIL and RCPT parameters are values too ([`MailParameter`],
//! [`RcptParameter`], lettre's shape), written by the same writer. [`typed`] turns a line a person typed
//! into a command (AUTH secrets redacted, STARTTLS refused).

use std::fmt::{self, Write as _};

use crate::secret::Secret;

/// The longest command line, CRLF included (RFC 5321 §4.5.3.1.4).
pub const MAX_COMMAND_LINE: usize = 512;

/// How far MAIL and RCPT parameters may lengthen the line beyond [`MAX_COMMAND_LINE`]. Each parameter
/// extension raises the limit by its own amount (RFC 1870 §3: 26 for SIZE; RFC 6531 §3.1: 10 for
/// SMTPUTF8; RFC 3461 more for the DSN parameters), so the parameters get a budget of their own rather
/// than sharing the 512 octets with the address.
pub const MAX_PARAMETERS: usize = 512;

/// One command to the server.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Ehlo(String),
    Helo(String),
    Lhlo(String),
    StartTls,
    /// `initial` is the initial response, already base64 (`=` for an empty one, RFC 4954 §4).
    Auth {
        mechanism: String,
        initial: Option<Secret>,
    },
    /// A line sent after a 334, already base64 (may be empty).
    AuthResponse(Secret),
    /// `from` is the bare address; `""` is the null sender `<>`.
    Mail {
        from: String,
        params: Vec<MailParameter>,
    },
    Rcpt {
        to: String,
        params: Vec<RcptParameter>,
    },
    Data,
    Bdat {
        size: u64,
        last: bool,
    },
    Rset,
    Noop,
    Quit,
    Vrfy(String),
    Expn(String),
    Help(Option<String>),
    /// `--command 'CMD ARGS'`, sent as typed.
    Raw(String),
}

/// The body type asked for with `-B` (RFC 6152 §2: `BODY=8BITMIME`; RFC 1652's `BODY=7BIT`): the one type,
/// parsed once in the value types' leaf.
pub use crate::values::BodyType;

/// A MAIL FROM parameter (RFC 5321 §4.1.2 `Mail-parameters`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailParameter {
    /// RFC 1870 §3: the size of the data after CRLF normalisation.
    Size(u64),
    /// RFC 6152 §2.
    Body(BodyType),
    /// RFC 6531 §3.4.
    SmtpUtf8,
    /// RFC 3461 §4.3: `FULL` or `HDRS`, as configured.
    Ret(String),
    /// RFC 3461 §4.4: the envelope identifier, as configured (xtext).
    EnvId(String),
}

/// An RCPT TO parameter (RFC 5321 §4.1.2 `Rcpt-parameters`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RcptParameter {
    /// RFC 3461 §4.1: `NEVER` or a list of `SUCCESS`, `FAILURE`, `DELAY`, as configured.
    Notify(String),
}

/// The wire form, `KEYWORD[=value]`.
impl fmt::Display for MailParameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailParameter::Size(size) => write!(f, "SIZE={size}"),
            MailParameter::Body(BodyType::SevenBit) => f.write_str("BODY=7BIT"),
            MailParameter::Body(BodyType::EightBitMime) => f.write_str("BODY=8BITMIME"),
            MailParameter::SmtpUtf8 => f.write_str("SMTPUTF8"),
            MailParameter::Ret(ret) => write!(f, "RET={ret}"),
            MailParameter::EnvId(envid) => write!(f, "ENVID={envid}"),
        }
    }
}

impl MailParameter {
    /// The caller-supplied text in it, for [`Command::validate`].
    fn text(&self) -> Option<&str> {
        match self {
            MailParameter::Ret(text) | MailParameter::EnvId(text) => Some(text),
            MailParameter::Size(_) | MailParameter::Body(_) | MailParameter::SmtpUtf8 => None,
        }
    }
}

impl fmt::Display for RcptParameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RcptParameter::Notify(notify) => write!(f, "NOTIFY={notify}"),
        }
    }
}

/// A typed line that is not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypedError {
    /// The server would start the handshake while the typed dialogue went on in plaintext, so the
    /// dialogue would be lost; TLS is negotiated by mailsend itself (RFC 3207 §4.2 also needs the EHLO
    /// again, which the engine does).
    #[error(
        "STARTTLS cannot be typed: use --tls starttls, and mailsend starts TLS itself (handshake, \
         certificate check, EHLO again) before the commands"
    )]
    StartTls,
}

/// A line a person typed (`--command`, `--interactive`), as a command. Every line after a 334 and
/// `AUTH MECH initial-response` carry credentials, so they become the AUTH commands whose trace form is
/// `<redacted>`; STARTTLS is refused; anything else is sent exactly as typed.
pub fn typed(line: &str, after_challenge: bool) -> Result<Command, TypedError> {
    if after_challenge {
        return Ok(Command::AuthResponse(Secret::new(line)));
    }
    // Servers split on any blank, so must we: `AUTH\tPLAIN …` or ` AUTH PLAIN …` is an AUTH too.
    const BLANK: [char; 2] = [' ', '\t'];
    let mut words = line.trim_start_matches(BLANK).splitn(2, BLANK);
    let verb = words.next().unwrap_or_default();
    let rest = words.next().unwrap_or_default().trim_start_matches(BLANK);
    if line
        .split_ascii_whitespace()
        .next()
        .is_some_and(|first| first.eq_ignore_ascii_case("STARTTLS"))
    {
        return Err(TypedError::StartTls);
    }
    if !verb.eq_ignore_ascii_case("AUTH") || rest.is_empty() {
        return Ok(Command::Raw(line.to_owned()));
    }
    let (mechanism, initial) = match rest.split_once(BLANK) {
        Some((mechanism, initial)) => (mechanism, initial.trim_start_matches(BLANK)),
        None => (rest, ""),
    };
    Ok(Command::Auth {
        mechanism: mechanism.to_owned(),
        initial: (!initial.is_empty()).then(|| Secret::new(initial)),
    })
}

/// Which part of a command was refused, and why. The message names the part, never its value, so a
/// secret cannot leak through it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refusing to send {verb}: {}", self.describe())]
pub struct CommandError {
    verb: &'static str,
    part: &'static str,
    fault: Fault,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    CarriageReturn,
    LineFeed,
    Nul,
    /// The part is this many octets long, more than `max`.
    TooLong {
        len: usize,
        max: usize,
    },
}

impl CommandError {
    /// The verb of the refused command, as [`Command::verb`] gives it.
    pub fn verb(&self) -> &'static str {
        self.verb
    }

    /// The refused part in words, e.g. "the recipient address".
    pub fn part(&self) -> &'static str {
        self.part
    }

    fn describe(&self) -> String {
        let part = self.part;
        match self.fault {
            Fault::CarriageReturn => format!("{part} contains a carriage return (CR)"),
            Fault::LineFeed => format!("{part} contains a line feed (LF)"),
            Fault::Nul => format!("{part} contains a NUL byte"),
            Fault::TooLong { len, max } => {
                format!(
                    "{part} is {len} octets long, more than the {max} allowed (RFC 5321 §4.5.3.1.4)"
                )
            }
        }
    }
}

impl Command {
    /// The exact bytes on the wire, ending in CRLF. This exposes secrets: use it only to send.
    pub fn wire(&self) -> Vec<u8> {
        let mut line = String::new();
        self.write_line(&mut line, true);
        line.into_bytes()
    }

    /// Refuses CR, LF or NUL anywhere (RFC 5321 §2.3.8: a line ends only at CRLF, so a CR or LF inside an
    /// argument would start a new command), and a line over 512 octets (RFC 5321 §4.5.3.1.4), except for
    /// AUTH lines, which carry OAuth tokens of any length (catalogue item 17), and `--command` lines,
    /// which the user typed and the server may judge.
    pub fn validate(&self) -> Result<(), CommandError> {
        let verb = self.verb();
        for (part, text) in self.parts() {
            check_bytes(verb, part, text)?;
        }
        let limited = |part, len, max| {
            if len > max {
                Err(CommandError {
                    verb,
                    part,
                    fault: Fault::TooLong { len, max },
                })
            } else {
                Ok(())
            }
        };
        match self {
            Command::Auth { .. } | Command::AuthResponse(_) | Command::Raw(_) => Ok(()),
            Command::Mail { from: addr, .. } | Command::Rcpt { to: addr, .. } => {
                let verb_len = if let Command::Mail { .. } = self {
                    "MAIL FROM:<"
                } else {
                    "RCPT TO:<"
                }
                .len();
                limited(
                    "the command line",
                    verb_len + addr.len() + ">\r\n".len(),
                    MAX_COMMAND_LINE,
                )?;
                limited("the parameter list", self.params_len(), MAX_PARAMETERS)
            }
            _ => limited("the command line", self.wire().len(), MAX_COMMAND_LINE),
        }
    }

    /// Whether the line carries a credential (the AUTH forms whose trace form is `<redacted>`), so it
    /// must stay out of a history.
    pub fn carries_secret(&self) -> bool {
        matches!(
            self,
            Command::AuthResponse(_)
                | Command::Auth {
                    initial: Some(_),
                    ..
                }
        )
    }

    /// The verb, for error messages: "EHLO", "MAIL", ...; "AUTH" for AUTH and the lines after a 334;
    /// "RAW" for a `--command` line.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Ehlo(_) => "EHLO",
            Command::Helo(_) => "HELO",
            Command::Lhlo(_) => "LHLO",
            Command::StartTls => "STARTTLS",
            Command::Auth { .. } | Command::AuthResponse(_) => "AUTH",
            Command::Mail { .. } => "MAIL",
            Command::Rcpt { .. } => "RCPT",
            Command::Data => "DATA",
            Command::Bdat { .. } => "BDAT",
            Command::Rset => "RSET",
            Command::Noop => "NOOP",
            Command::Quit => "QUIT",
            Command::Vrfy(_) => "VRFY",
            Command::Expn(_) => "EXPN",
            Command::Help(_) => "HELP",
            Command::Raw(_) => "RAW",
        }
    }

    /// The octets the parameters add to a MAIL or RCPT line, a space before each.
    fn params_len(&self) -> usize {
        let mut line = String::new();
        self.write_params(&mut line);
        line.len()
    }

    /// Every caller-supplied string in the command, named for error messages.
    fn parts(&self) -> Vec<(&'static str, &str)> {
        match self {
            Command::Ehlo(name) | Command::Helo(name) | Command::Lhlo(name) => {
                vec![("the client name", name)]
            }
            Command::Auth { mechanism, initial } => {
                let mut parts = vec![("the AUTH mechanism", mechanism.as_str())];
                if let Some(initial) = initial {
                    parts.push(("the AUTH initial response", initial.expose()));
                }
                parts
            }
            Command::AuthResponse(response) => {
                vec![("the authentication response", response.expose())]
            }
            Command::Mail { from, params } => {
                let mut parts = vec![("the sender address", from.as_str())];
                parts.extend(
                    params
                        .iter()
                        .filter_map(MailParameter::text)
                        .map(|text| ("a MAIL parameter", text)),
                );
                parts
            }
            Command::Rcpt { to, params } => {
                let mut parts = vec![("the recipient address", to.as_str())];
                parts.extend(
                    params
                        .iter()
                        .map(|RcptParameter::Notify(text)| ("an RCPT parameter", text.as_str())),
                );
                parts
            }
            Command::Vrfy(arg) => vec![("the VRFY argument", arg)],
            Command::Expn(arg) => vec![("the EXPN argument", arg)],
            Command::Help(Some(arg)) => vec![("the HELP argument", arg)],
            Command::Raw(line) => vec![("the command", line)],
            Command::StartTls
            | Command::Data
            | Command::Bdat { .. }
            | Command::Rset
            | Command::Noop
            | Command::Quit
            | Command::Help(None) => Vec::new(),
        }
    }

    /// Writes the line with its CRLF; secrets as they are when `expose`, else as `<redacted>`.
    fn write_line(&self, out: &mut String, expose: bool) {
        let secret = |s: &Secret| {
            if expose {
                s.expose().to_owned()
            } else {
                "<redacted>".to_owned()
            }
        };
        // Writing to a String cannot fail.
        let _ = match self {
            Command::Ehlo(name) => write!(out, "EHLO {name}"),
            Command::Helo(name) => write!(out, "HELO {name}"),
            Command::Lhlo(name) => write!(out, "LHLO {name}"),
            Command::StartTls => write!(out, "STARTTLS"),
            Command::Auth {
                mechanism,
                initial: None,
            } => write!(out, "AUTH {mechanism}"),
            Command::Auth {
                mechanism,
                initial: Some(initial),
            } => write!(out, "AUTH {mechanism} {}", secret(initial)),
            Command::AuthResponse(response) => write!(out, "{}", secret(response)),
            Command::Mail { from, .. } => write!(out, "MAIL FROM:<{from}>"),
            Command::Rcpt { to, .. } => write!(out, "RCPT TO:<{to}>"),
            Command::Data => write!(out, "DATA"),
            Command::Bdat { size, last: false } => write!(out, "BDAT {size}"),
            Command::Bdat { size, last: true } => write!(out, "BDAT {size} LAST"),
            Command::Rset => write!(out, "RSET"),
            Command::Noop => write!(out, "NOOP"),
            Command::Quit => write!(out, "QUIT"),
            Command::Vrfy(arg) => write!(out, "VRFY {arg}"),
            Command::Expn(arg) => write!(out, "EXPN {arg}"),
            Command::Help(Some(arg)) if !arg.is_empty() => write!(out, "HELP {arg}"),
            Command::Help(_) => write!(out, "HELP"),
            Command::Raw(line) => write!(out, "{line}"),
        };
        self.write_params(out);
        out.push_str("\r\n");
    }

    /// MAIL and RCPT parameters, each after a space; nothing for other commands.
    fn write_params(&self, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = match self {
            Command::Mail { params, .. } => params.iter().try_for_each(|p| write!(out, " {p}")),
            Command::Rcpt { params, .. } => params.iter().try_for_each(|p| write!(out, " {p}")),
            _ => Ok(()),
        };
    }
}

/// The trace form: the wire line, CRLF included, with secrets shown as `<redacted>`.
impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = String::new();
        self.write_line(&mut line, false);
        f.write_str(&line)
    }
}

fn check_bytes(verb: &'static str, part: &'static str, text: &str) -> Result<(), CommandError> {
    let fault = text.bytes().find_map(|b| match b {
        b'\r' => Some(Fault::CarriageReturn),
        b'\n' => Some(Fault::LineFeed),
        0 => Some(Fault::Nul),
        _ => None,
    });
    match fault {
        Some(fault) => Err(CommandError { verb, part, fault }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(from: &str, params: &[MailParameter]) -> Command {
        Command::Mail {
            from: from.to_owned(),
            params: params.to_vec(),
        }
    }

    fn rcpt(to: &str, notify: Option<&str>) -> Command {
        Command::Rcpt {
            to: to.to_owned(),
            params: notify
                .map(|n| RcptParameter::Notify(n.to_owned()))
                .into_iter()
                .collect(),
        }
    }

    use MailParameter::{Body, EnvId, Ret, Size, SmtpUtf8};

    fn auth(mechanism: &str, initial: Option<&str>) -> Command {
        Command::Auth {
            mechanism: mechanism.to_owned(),
            initial: initial.map(Secret::new),
        }
    }

    #[test]
    fn wire_forms() {
        let table: Vec<(Command, &[u8])> = vec![
            (
                Command::Ehlo("client.example.com".into()),
                b"EHLO client.example.com\r\n",
            ),
            (Command::Helo("[192.0.2.1]".into()), b"HELO [192.0.2.1]\r\n"),
            (Command::Lhlo("client".into()), b"LHLO client\r\n"),
            (Command::StartTls, b"STARTTLS\r\n"),
            (
                auth("PLAIN", Some("AHVzZXIAcGFzcw==")),
                b"AUTH PLAIN AHVzZXIAcGFzcw==\r\n",
            ),
            (auth("PLAIN", Some("=")), b"AUTH PLAIN =\r\n"),
            (auth("LOGIN", None), b"AUTH LOGIN\r\n"),
            (
                Command::AuthResponse(Secret::new("cGFzcw==")),
                b"cGFzcw==\r\n",
            ),
            (Command::AuthResponse(Secret::new("")), b"\r\n"),
            (
                mail("a@b", &[Size(12), Body(BodyType::EightBitMime)]),
                b"MAIL FROM:<a@b> SIZE=12 BODY=8BITMIME\r\n",
            ),
            (
                mail(
                    "a@b",
                    &[
                        Body(BodyType::SevenBit),
                        SmtpUtf8,
                        Ret("HDRS".into()),
                        EnvId("x+2By".into()),
                    ],
                ),
                b"MAIL FROM:<a@b> BODY=7BIT SMTPUTF8 RET=HDRS ENVID=x+2By\r\n",
            ),
            (mail("", &[]), b"MAIL FROM:<>\r\n"),
            (
                rcpt("a@b", Some("SUCCESS,FAILURE")),
                b"RCPT TO:<a@b> NOTIFY=SUCCESS,FAILURE\r\n",
            ),
            (rcpt("a@b", None), b"RCPT TO:<a@b>\r\n"),
            (Command::Data, b"DATA\r\n"),
            (
                Command::Bdat {
                    size: 1234,
                    last: false,
                },
                b"BDAT 1234\r\n",
            ),
            (
                Command::Bdat {
                    size: 1234,
                    last: true,
                },
                b"BDAT 1234 LAST\r\n",
            ),
            (
                Command::Bdat {
                    size: 0,
                    last: true,
                },
                b"BDAT 0 LAST\r\n",
            ),
            (Command::Rset, b"RSET\r\n"),
            (Command::Noop, b"NOOP\r\n"),
            (Command::Quit, b"QUIT\r\n"),
            (Command::Vrfy("x".into()), b"VRFY x\r\n"),
            (Command::Expn("list-1".into()), b"EXPN list-1\r\n"),
            (Command::Help(None), b"HELP\r\n"),
            (Command::Help(Some(String::new())), b"HELP\r\n"),
            (Command::Help(Some("x".into())), b"HELP x\r\n"),
            (Command::Raw("XCMD a b".into()), b"XCMD a b\r\n"),
        ];
        for (command, wire) in table {
            assert_eq!(command.wire(), wire, "{command:?}");
            assert_eq!(command.validate(), Ok(()), "{command:?}");
        }
    }

    #[test]
    fn non_ascii_addresses_go_as_utf8() {
        let command = mail("J\u{151}hn@b\u{e9}.example", &[SmtpUtf8]);
        assert_eq!(
            command.wire(),
            "MAIL FROM:<J\u{151}hn@b\u{e9}.example> SMTPUTF8\r\n".as_bytes()
        );
        assert_eq!(command.validate(), Ok(()));
    }

    #[test]
    fn display_is_the_wire_line_with_secrets_redacted() {
        assert_eq!(
            auth("PLAIN", Some("AHVzZXIAcGFzcw==")).to_string(),
            "AUTH PLAIN <redacted>\r\n"
        );
        assert_eq!(auth("LOGIN", None).to_string(), "AUTH LOGIN\r\n");
        assert_eq!(
            Command::AuthResponse(Secret::new("cGFzcw==")).to_string(),
            "<redacted>\r\n"
        );
        let plain = mail("a@b", &[Size(12)]);
        assert_eq!(plain.to_string().as_bytes(), plain.wire());
        assert!(!format!("{:?}", auth("PLAIN", Some("AHVzZXIAcGFzcw=="))).contains("AHVz"));
    }

    #[test]
    fn verbs() {
        assert_eq!(Command::Ehlo(String::new()).verb(), "EHLO");
        assert_eq!(mail("", &[]).verb(), "MAIL");
        assert_eq!(Command::AuthResponse(Secret::new("")).verb(), "AUTH");
        assert_eq!(
            Command::Bdat {
                size: 1,
                last: true
            }
            .verb(),
            "BDAT"
        );
        assert_eq!(Command::Raw("X".into()).verb(), "RAW");
    }

    /// Every string-bearing variant, with `bad` put into the string.
    fn with_each_string(bad: &str) -> Vec<(Command, &'static str)> {
        let s = || format!("x{bad}y");
        vec![
            (Command::Ehlo(s()), "the client name"),
            (Command::Helo(s()), "the client name"),
            (Command::Lhlo(s()), "the client name"),
            (auth(&s(), None), "the AUTH mechanism"),
            (auth("PLAIN", Some(&s())), "the AUTH initial response"),
            (
                Command::AuthResponse(Secret::new(s())),
                "the authentication response",
            ),
            (mail(&s(), &[]), "the sender address"),
            (mail("a@b", &[Size(1), Ret(s())]), "a MAIL parameter"),
            (mail("a@b", &[EnvId(s())]), "a MAIL parameter"),
            (rcpt(&s(), None), "the recipient address"),
            (rcpt("a@b", Some(&s())), "an RCPT parameter"),
            (Command::Vrfy(s()), "the VRFY argument"),
            (Command::Expn(s()), "the EXPN argument"),
            (Command::Help(Some(s())), "the HELP argument"),
            (Command::Raw(s()), "the command"),
        ]
    }

    #[test]
    fn line_breaks_and_nul_are_refused_everywhere() {
        for (bad, says) in [
            ("\r", "carriage return (CR)"),
            ("\n", "line feed (LF)"),
            ("\r\nDATA", "carriage return (CR)"),
            ("\nX-INJECTED", "line feed (LF)"),
            ("\0", "NUL byte"),
        ] {
            for (command, part) in with_each_string(bad) {
                let err = command.validate().expect_err("must be refused");
                assert_eq!(err.part(), part);
                assert_eq!(err.verb(), command.verb());
                let text = err.to_string();
                assert!(text.contains(part) && text.contains(says), "{text}");
                assert!(
                    !text.contains("xy") && !text.contains('x'),
                    "value leaked: {text}"
                );
            }
        }
    }

    #[test]
    fn refused_secret_is_not_in_the_message() {
        let err = Command::AuthResponse(Secret::new("hunter2\r\nQUIT"))
            .validate()
            .expect_err("must be refused");
        assert_eq!(
            err.to_string(),
            "refusing to send AUTH: the authentication response contains a carriage return (CR)"
        );
        let err = auth("XOAUTH2", Some("dG9rZW4\0"))
            .validate()
            .expect_err("must be refused");
        assert!(!err.to_string().contains("dG9r"));
        assert!(!format!("{err:?}").contains("dG9r"));
    }

    #[test]
    fn command_line_limit_is_512_octets() {
        // "EHLO " + name + CRLF
        let fits = Command::Ehlo("h".repeat(MAX_COMMAND_LINE - 7));
        assert_eq!(fits.wire().len(), MAX_COMMAND_LINE);
        assert_eq!(fits.validate(), Ok(()));
        let err = Command::Ehlo("h".repeat(MAX_COMMAND_LINE - 6))
            .validate()
            .expect_err("too long");
        assert_eq!(
            err.to_string(),
            "refusing to send EHLO: the command line is 513 octets long, more than the 512 allowed \
             (RFC 5321 §4.5.3.1.4)"
        );
        assert!(Command::Vrfy("v".repeat(600)).validate().is_err());
    }

    #[test]
    fn mail_and_rcpt_parameters_have_their_own_budget() {
        let long_address = format!("{}@example.org", "a".repeat(480));
        assert_eq!(mail(&long_address, &[]).wire().len(), 506);
        let params = [
            Size(123456789),
            Body(BodyType::EightBitMime),
            SmtpUtf8,
            Ret("HDRS".into()),
            EnvId("e".repeat(100)),
        ];
        assert_eq!(mail(&long_address, &params).validate(), Ok(()));
        assert_eq!(
            rcpt(&long_address, Some(&"o".repeat(300))).validate(),
            Ok(())
        );
        let too_long = format!("{}@example.org", "a".repeat(490));
        assert_eq!(
            mail(&too_long, &[]).validate().map_err(|e| e.part()),
            Err("the command line")
        );
        assert!(rcpt(&too_long[2..], None).validate().is_ok());
        assert!(rcpt(&too_long, None).validate().is_err());
        // " ENVID=" is 7 octets: the value that just fits, and one more.
        let fits = EnvId("X".repeat(MAX_PARAMETERS - 7));
        assert_eq!(mail("a@b", &[fits]).validate(), Ok(()));
        let huge = EnvId("X".repeat(MAX_PARAMETERS - 6));
        assert_eq!(
            mail("a@b", &[huge]).validate().map_err(|e| e.part()),
            Err("the parameter list")
        );
    }

    /// A typed line that must be sendable: every test line here is.
    fn typed_ok(line: &str, after_challenge: bool) -> Command {
        typed(line, after_challenge).expect("a sendable line")
    }

    #[test]
    fn typed_lines_are_sent_as_typed() {
        assert_eq!(typed_ok("NOOP", false), Command::Raw("NOOP".into()));
        assert_eq!(
            typed_ok("xclient  a=b", false),
            Command::Raw("xclient  a=b".into())
        );
        assert_eq!(typed_ok("AUTH", false), Command::Raw("AUTH".into()));
        assert_eq!(typed_ok("AUTH", false).wire(), b"AUTH\r\n");
    }

    #[test]
    fn typed_auth_hides_the_initial_response() {
        let cmd = typed_ok("auth PLAIN AHUAcA==", false);
        assert_eq!(cmd.wire(), b"AUTH PLAIN AHUAcA==\r\n");
        assert_eq!(cmd.to_string(), "AUTH PLAIN <redacted>\r\n");
        let bare = typed_ok("AUTH LOGIN", false);
        assert_eq!(bare.wire(), b"AUTH LOGIN\r\n");
        assert_eq!(bare.to_string(), "AUTH LOGIN\r\n");
    }

    /// Found by review: a tab after AUTH, or a blank before it, left the credentials in the trace.
    #[test]
    fn typed_auth_with_tabs_or_leading_blanks_is_still_redacted() {
        for line in [
            "AUTH\tPLAIN AHUAcA==",
            " AUTH PLAIN AHUAcA==",
            "auth PLAIN\t AHUAcA==",
        ] {
            let cmd = typed_ok(line, false);
            assert_eq!(cmd.to_string(), "AUTH PLAIN <redacted>\r\n", "{line:?}");
            assert_eq!(cmd.wire(), b"AUTH PLAIN AHUAcA==\r\n", "{line:?}");
        }
    }

    #[test]
    fn lines_after_a_challenge_are_secret() {
        let cmd = typed_ok("cGFzcw==", true);
        assert_eq!(cmd.wire(), b"cGFzcw==\r\n");
        assert_eq!(cmd.to_string(), "<redacted>\r\n");
        // Even a line that looks like a command: after a 334 the server reads a SASL response.
        assert_eq!(typed_ok("NOOP", true).to_string(), "<redacted>\r\n");
        assert!(matches!(
            typed("STARTTLS", true),
            Ok(Command::AuthResponse(_))
        ));
    }

    #[test]
    fn typed_starttls_is_refused() {
        for line in ["STARTTLS", "starttls", "  StartTLS extra", "STARTTLS\r"] {
            assert_eq!(typed(line, false), Err(TypedError::StartTls), "{line:?}");
        }
    }

    #[test]
    fn auth_and_raw_lines_may_be_long() {
        let token = "t".repeat(4000);
        assert_eq!(auth("XOAUTH2", Some(&token)).validate(), Ok(()));
        assert_eq!(
            Command::AuthResponse(Secret::new(token.clone())).validate(),
            Ok(())
        );
        assert_eq!(Command::Raw(token).validate(), Ok(()));
    }
}
