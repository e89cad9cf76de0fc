//! `--serverinfo` (issues 3 and 7): connect, greet, EHLO, and STARTTLS with EHLO again when TLS
//! applies (RFC 3207 §4.2: the capabilities after TLS are the ones that count), then report on stdout
//! the greeting, both capability lists, the TLS session and certificate, and for each advertised
//! extension whether mailsend uses it. Nothing is sent beyond EHLO, STARTTLS and QUIT: no AUTH, no mail.
//!
//! The report is plain text, one fact per line, `label: value`, with lists indented by two spaces, so it
//! can be read and grepped. Everything the server chose (greeting, parameters, certificate names) is
//! escaped before it reaches the terminal (catalogue item 29). TLS is configured in inspect mode: a
//! certificate that fails verification is still shown, then the run says so and exits 76.

use std::io::{self, Write};

use crate::dial::{Observer, Plan};
use crate::exit::Outcome;
use crate::settings::{Settings, TlsUse};
use crate::smtp::auth::{AUTO_ORDER, Mechanism};
use crate::smtp::capabilities::Capabilities;
use crate::smtp::session::Session;
use crate::smtp::trace::sanitize;
use crate::tls::{PeerInfo, Verification};
use crate::values::Stage;

/// What the dialer shows on its way: the greeting, and the capabilities before TLS while they are the
/// server's first answer (what was learnt so far stays on the screen if STARTTLS fails).
struct Report<W: Write> {
    out: W,
    tls: TlsUse,
    before_tls: Option<Capabilities>,
}

impl<W: Write> Observer for Report<W> {
    fn reached(&mut self, stage: Stage, session: &Session) -> anyhow::Result<()> {
        match stage {
            Stage::Greeting => writeln!(self.out, "greeting: {}", session.greeting())?,
            Stage::Ehlo if self.tls == TlsUse::StartTls => {
                let caps = session.capabilities().clone();
                write_capabilities(&mut self.out, "before TLS", &caps)?;
                self.out.flush()?;
                self.before_tls = Some(caps);
            }
            _ => {}
        }
        Ok(())
    }
}

/// `--serverinfo`: the report on stdout; done, or the certificate failed verification.
pub fn serverinfo(settings: &Settings) -> anyhow::Result<Outcome> {
    let plan = Plan::inspect(settings)?;
    let mut report = Report {
        out: io::stdout().lock(),
        tls: settings.tls.mode,
        before_tls: None,
    };
    let endpoint = settings.server.endpoint.to_string();
    writeln!(report.out, "server: {}", sanitize(&endpoint))?;
    let session = plan.dial(&mut report)?;
    let Report {
        mut out,
        before_tls,
        ..
    } = report;
    let now = session.capabilities().clone();
    let (first, after_tls) = match before_tls {
        Some(first) => {
            write_capabilities(&mut out, "after TLS", &now)?;
            (first, Some(now))
        }
        None => {
            let when = match settings.tls.mode {
                TlsUse::Implicit => "TLS",
                _ => "no TLS",
            };
            write_capabilities(&mut out, when, &now)?;
            (now, None)
        }
    };
    let info = session.tls_info().cloned();
    write_tls(&mut out, settings.tls.mode, info.as_ref())?;
    write_extensions(
        &mut out,
        settings,
        &first,
        after_tls.as_ref(),
        info.is_some(),
    )?;
    out.flush()?;
    session.quit();
    match info.and_then(|i| i.verification) {
        Some(Verification::Failed(why)) => {
            let mut err = io::stderr().lock();
            let _ = writeln!(
                err,
                "mailsend: the server's certificate failed verification: {}; a real send would stop \
                 before EHLO over TLS",
                sanitize(&why)
            );
            Ok(Outcome::CertificateFailed)
        }
        _ => Ok(Outcome::Done),
    }
}

/// `capabilities (WHEN):`, then each keyword and its parameters on an indented line.
fn write_capabilities(out: &mut dyn Write, when: &str, caps: &Capabilities) -> io::Result<()> {
    writeln!(out, "capabilities ({when}):")?;
    let keywords = caps.keywords();
    if keywords.is_empty() {
        writeln!(out, "  (none)")?;
    }
    for (keyword, params) in keywords {
        if params.is_empty() {
            writeln!(out, "  {keyword}")?;
        } else {
            writeln!(out, "  {keyword} {params}")?;
        }
    }
    Ok(())
}

/// The TLS session and the server certificate; the fingerprint in the form `--tls-fingerprint` takes.
fn write_tls(out: &mut dyn Write, mode: TlsUse, info: Option<&PeerInfo>) -> io::Result<()> {
    let Some(info) = info else {
        return writeln!(
            out,
            "tls: none (--tls off, or --tls auto for a loopback host or a Unix socket)"
        );
    };
    let mode = match mode {
        TlsUse::Implicit => "implicit",
        TlsUse::StartTls | TlsUse::None => "starttls",
    };
    let verification = match &info.verification {
        Some(v) => v.to_string(),
        None => "unknown".to_owned(),
    };
    let lines = [
        ("tls", mode),
        ("tls version", &info.version),
        ("tls cipher", &info.cipher),
        ("certificate subject", &info.subject),
        ("certificate issuer", &info.issuer),
        ("certificate valid from", &info.not_before),
        ("certificate valid until", &info.not_after),
        ("certificate sha256", &info.fingerprint),
        ("certificate verification", &verification),
    ];
    for (label, value) in lines {
        writeln!(out, "{label}: {}", sanitize(value))?;
    }
    Ok(())
}

/// `extensions:`, then `  KEYWORD: yes (how)` or `  KEYWORD: no` for every keyword advertised before or
/// after TLS, in the server's order.
fn write_extensions(
    out: &mut dyn Write,
    settings: &Settings,
    first: &Capabilities,
    after_tls: Option<&Capabilities>,
    tls_active: bool,
) -> io::Result<()> {
    let in_force = after_tls.unwrap_or(first);
    let mut keywords: Vec<String> = Vec::new();
    for caps in [Some(first), after_tls].into_iter().flatten() {
        for (keyword, _) in caps.keywords() {
            if !keywords.contains(&keyword) {
                keywords.push(keyword);
            }
        }
    }
    writeln!(out, "extensions:")?;
    if keywords.is_empty() {
        writeln!(out, "  (none)")?;
    }
    for keyword in keywords {
        // AUTH counts where it will be used: after TLS when there is TLS (RFC 3207 §4.2).
        let caps = if in_force.has(&keyword) {
            in_force
        } else {
            first
        };
        let usage = extension_use(&keyword, caps, settings, tls_active);
        writeln!(out, "  {keyword}: {usage}")?;
    }
    Ok(())
}

/// Whether and how mailsend uses one advertised extension.
fn extension_use(
    keyword: &str,
    caps: &Capabilities,
    settings: &Settings,
    tls_active: bool,
) -> String {
    match keyword {
        "PIPELINING" => "yes (MAIL, RCPT and DATA are sent together, RFC 2920)".to_owned(),
        "SIZE" => match caps.size_limit() {
            Some(limit) => format!(
                "yes (limit {limit} bytes; SIZE= on MAIL, and a larger message is refused before sending, RFC 1870)"
            ),
            None => "yes (no fixed limit; SIZE= on MAIL, RFC 1870)".to_owned(),
        },
        "8BITMIME" => "yes (BODY=8BITMIME for 8-bit messages and with -B, RFC 6152)".to_owned(),
        "SMTPUTF8" => "yes (for non-ASCII addresses, RFC 6531)".to_owned(),
        "DSN" => "yes (NOTIFY=, RET=, ENVID= from -N, -R, -V, RFC 3461)".to_owned(),
        "CHUNKING" => "yes (BDAT instead of DATA, RFC 3030)".to_owned(),
        "ENHANCEDSTATUSCODES" => "yes (the codes are shown in messages, RFC 2034)".to_owned(),
        "STARTTLS" => match settings.tls.mode {
            TlsUse::StartTls => "yes (used on this connection, RFC 3207)".to_owned(),
            _ => "yes with --tls starttls (not used on this connection, RFC 3207)".to_owned(),
        },
        "AUTH" => auth_use(caps.auth_mechanisms(), settings, tls_active),
        _ => "no".to_owned(),
    }
}

/// Which mechanism a send with these settings would use (spec §5), or why none.
fn auth_use(offered: &[String], settings: &Settings, tls_active: bool) -> String {
    let is_offered = |m: Mechanism| offered.iter().any(|o| o.eq_ignore_ascii_case(m.name()));
    let auto = AUTO_ORDER.iter().copied().find(|m| is_offered(*m));
    let mut text = match settings.auth.login.as_ref().map(|a| a.mechanism) {
        Some(Some(m)) if is_offered(m) => format!("yes ({}, as --auth asks)", m.name()),
        Some(Some(m)) => format!("no (--auth {} is not offered)", m.name()),
        Some(None) => match auto {
            Some(m) => format!("yes ({}, the first offered of {})", m.name(), auto_order()),
            None => format!("no (none of {} is offered)", auto_order()),
        },
        None => match auto {
            Some(m) => format!(
                "no (no credentials configured; with --user it would use {})",
                m.name()
            ),
            None => format!(
                "no (no credentials configured, and none of {} is offered)",
                auto_order()
            ),
        },
    };
    if !tls_active && !settings.auth.allow_plaintext {
        text.push_str("; only over TLS or with --allow-plaintext-auth");
    }
    text
}

fn auto_order() -> String {
    let names: Vec<&str> = AUTO_ORDER.iter().map(|m| m.name()).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::reply::{Code, Reply};

    fn caps(lines: &[&str]) -> Capabilities {
        let mut reply_lines = vec![b"test.example".to_vec()];
        reply_lines.extend(lines.iter().map(|l| l.as_bytes().to_vec()));
        Capabilities::parse(&Reply {
            code: Code::OK,
            lines: reply_lines,
        })
    }

    #[test]
    fn capability_list_is_indented_and_escaped() {
        let mut out = Vec::new();
        write_capabilities(
            &mut out,
            "before TLS",
            &caps(&["SIZE 1000", "X-EVIL \x1b[31m"]),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "capabilities (before TLS):\n  SIZE 1000\n  X-EVIL \\x1b[31m\n"
        );
    }

    #[test]
    fn empty_capability_list_says_none() {
        let mut out = Vec::new();
        write_capabilities(&mut out, "no TLS", &Capabilities::none()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "capabilities (no TLS):\n  (none)\n"
        );
    }

    #[test]
    fn tls_block_has_every_field_and_escapes_names() {
        let info = PeerInfo {
            version: "TLSv1.3".into(),
            cipher: "TLS13_AES_128_GCM_SHA256".into(),
            subject: "CN=evil\u{202e}".into(),
            issuer: "CN=ca".into(),
            not_before: "2024-01-01 00:00:00 UTC".into(),
            not_after: "2025-01-01 00:00:00 UTC".into(),
            fingerprint: "AA:BB".into(),
            verification: Some(Verification::Failed("the certificate has expired".into())),
        };
        let mut out = Vec::new();
        write_tls(&mut out, TlsUse::StartTls, Some(&info)).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "tls: starttls\ntls version: TLSv1.3\ntls cipher: TLS13_AES_128_GCM_SHA256\n\
             certificate subject: CN=evil\\u202e\ncertificate issuer: CN=ca\n\
             certificate valid from: 2024-01-01 00:00:00 UTC\n\
             certificate valid until: 2025-01-01 00:00:00 UTC\ncertificate sha256: AA:BB\n\
             certificate verification: FAILED: the certificate has expired\n"
        );
    }

    #[test]
    fn no_tls_is_one_line() {
        let mut out = Vec::new();
        write_tls(&mut out, TlsUse::None, None).unwrap();
        assert!(String::from_utf8(out).unwrap().starts_with("tls: none ("));
    }

    #[test]
    fn auth_choice_follows_the_spec_order() {
        let offered = vec![
            "PLAIN".to_owned(),
            "CRAM-MD5".to_owned(),
            "LOGIN".to_owned(),
        ];
        let mut settings = crate::debug::tests::settings();
        assert_eq!(
            auth_use(&offered, &settings, true),
            "no (no credentials configured; with --user it would use CRAM-MD5)"
        );
        settings.auth.login = Some(crate::debug::tests::login(None));
        assert_eq!(
            auth_use(&offered, &settings, true),
            "yes (CRAM-MD5, the first offered of SCRAM-SHA-256, CRAM-MD5, PLAIN, LOGIN)"
        );
        settings.auth.login = Some(crate::debug::tests::login(Some(Mechanism::XOAuth2)));
        assert_eq!(
            auth_use(&offered, &settings, false),
            "no (--auth XOAUTH2 is not offered); only over TLS or with --allow-plaintext-auth"
        );
        settings.auth.allow_plaintext = true;
        settings.auth.login = Some(crate::debug::tests::login(Some(Mechanism::Plain)));
        assert_eq!(
            auth_use(&offered, &settings, false),
            "yes (PLAIN, as --auth asks)"
        );
    }

    #[test]
    fn each_extension_says_yes_or_no() {
        let settings = crate::debug::tests::settings();
        let c = caps(&["SIZE 10240000", "PIPELINING", "VRFY", "CHUNKING"]);
        assert!(
            extension_use("SIZE", &c, &settings, false).starts_with("yes (limit 10240000 bytes")
        );
        assert!(extension_use("PIPELINING", &c, &settings, false).starts_with("yes"));
        assert!(extension_use("CHUNKING", &c, &settings, false).starts_with("yes (BDAT"));
        assert_eq!(extension_use("VRFY", &c, &settings, false), "no");
        assert!(
            extension_use("STARTTLS", &c, &settings, false).starts_with("yes with --tls starttls")
        );
        let unlimited = caps(&["SIZE"]);
        assert!(
            extension_use("SIZE", &unlimited, &settings, false).starts_with("yes (no fixed limit")
        );
    }

    #[test]
    fn extensions_cover_both_lists_and_judge_auth_after_tls() {
        let mut settings = crate::debug::tests::settings();
        settings.tls.mode = TlsUse::StartTls;
        let before = caps(&["STARTTLS", "SIZE 100"]);
        let after = caps(&["SIZE 200", "AUTH PLAIN"]);
        let mut out = Vec::new();
        write_extensions(&mut out, &settings, &before, Some(&after), true).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "extensions:\n  STARTTLS: yes (used on this connection, RFC 3207)\n  SIZE: yes (limit 200 bytes; \
             SIZE= on MAIL, and a larger message is refused before sending, RFC 1870)\n  AUTH: no (no \
             credentials configured; with --user it would use PLAIN)\n"
        );
    }
}
