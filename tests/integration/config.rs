//! The configuration file as the server sees it (spec §2, §8; issue 4): the precedence (command line, then
//! account, then its parent accounts, then `[defaults]`) observed on the wire (`domain` in EHLO, `from`
//! in MAIL, `host`/`port` in where the client connects); `default_account` and `-a`/`--account`; every
//! error is exit 78 naming the file, line and key, before anything connects; the 0600 rule for a file
//! holding a password (catalogue C23); aliases and `maildomain`; which file is read (`-C`,
//! `$XDG_CONFIG_HOME`, `~/.config`); and `--pretend`, which shows every setting with its source, masks
//! the password, and connects nowhere.

mod errors;
mod files;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::fixture::MSG;
use crate::harness::{AuthCheck, Run, Script, Server, Transcript, home, mailsend};

/// Write `text` (with `{HOST}` replaced) to `path` with `mode`.
fn write(path: &Path, text: &str, host: &str, mode: u32) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("config dir");
    }
    std::fs::write(path, text.replace("{HOST}", host)).expect("write config");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn xdg_file(home: &TempDir) -> PathBuf {
    home.path().join(".config/mailsend/config.toml")
}

/// Run `mailsend ARGS` (no `--host`, no `--domain`: they come from the file) against a fresh server whose
/// address replaces `{HOST}` in the user configuration file.
fn run_config(config: &str, args: &[&str], input: &[u8]) -> Run {
    run_config_with(Script::new(), config, 0o600, args, input)
}

fn run_config_with(script: Script, config: &str, mode: u32, args: &[&str], input: &[u8]) -> Run {
    let home = home();
    let server = Server::start(script);
    write(&xdg_file(&home), config, &server.host_arg(), mode);
    let out = mailsend(&home)
        .args(args)
        .write_stdin(input.to_vec())
        .output()
        .expect("run mailsend");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        port: server.port(),
        transcript: server.finish(),
    }
}

/// A server checking AUTH PLAIN for `me` / `s3cret-pw`.
fn auth_server() -> Script {
    Script::new().auth(AuthCheck::new("me", "s3cret-pw").mechanisms(&["PLAIN"]))
}

fn ehlo(t: &Transcript) -> String {
    t.matching("EHLO")
        .first()
        .map_or_else(String::new, |s| s.to_string())
}

fn mail_from(t: &Transcript) -> String {
    let mail = t.matching("MAIL FROM:").first().map_or("", |s| s);
    let path = mail.get("MAIL FROM:".len()..).unwrap_or("");
    path.split(' ').next().unwrap_or("").to_string()
}

// ---- precedence, observed on the wire ----

#[test]
fn domain_precedence_in_ehlo() {
    let defaults = "[defaults]\nhost = \"{HOST}\"\ndomain = \"defaults.example\"\n";
    let cases: &[(&str, String, &[&str], &str)] = &[
        (
            "[defaults] only",
            defaults.to_string(),
            &[],
            "defaults.example",
        ),
        (
            "the account beats [defaults]",
            format!("{defaults}[accounts.work]\ndomain = \"account.example\"\n"),
            &["-a", "work"],
            "account.example",
        ),
        (
            "the parent beats [defaults]",
            format!(
                "{defaults}[accounts.base]\ndomain = \"parent.example\"\n\
                 [accounts.work]\nparent = \"base\"\n"
            ),
            &["-a", "work"],
            "parent.example",
        ),
        (
            "the account beats its parent",
            format!(
                "{defaults}[accounts.base]\ndomain = \"parent.example\"\n\
                 [accounts.work]\nparent = \"base\"\ndomain = \"account.example\"\n"
            ),
            &["--account", "work"],
            "account.example",
        ),
        (
            "a grandparent, through the chain",
            format!(
                "{defaults}[accounts.base]\ndomain = \"grand.example\"\n\
                 [accounts.mid]\nparent = \"base\"\n[accounts.work]\nparent = \"mid\"\n"
            ),
            &["-a", "work"],
            "grand.example",
        ),
        (
            "the command line beats everything",
            format!("{defaults}[accounts.work]\ndomain = \"account.example\"\n"),
            &["-a", "work", "--domain", "cli.example"],
            "cli.example",
        ),
        (
            "default_account picks the account",
            format!(
                "default_account = \"work\"\n{defaults}[accounts.work]\ndomain = \"account.example\"\n"
            ),
            &[],
            "account.example",
        ),
        (
            "-a beats default_account",
            format!(
                "default_account = \"work\"\n{defaults}[accounts.work]\ndomain = \"account.example\"\n\
                 [accounts.other]\ndomain = \"other.example\"\n"
            ),
            &["-a", "other"],
            "other.example",
        ),
    ];
    for (what, config, extra, want) in cases {
        let mut args = extra.to_vec();
        args.extend(["-f", "alice@example.org", "bob@example.org"]);
        let r = run_config(config, &args, MSG);
        assert_eq!(r.code, Some(0), "{what}: {}", r.stderr);
        assert_eq!(ehlo(&r.transcript), format!("EHLO {want}"), "{what}");
    }
}

#[test]
fn sender_precedence_in_mail_from() {
    // Spec §2: -f, then the account's `from`, then the Sender/From header, then $USER@maildomain.
    let message = b"From: hdr@example.org\nSubject: x\n\nb\n";
    let base = "[defaults]\nhost = \"{HOST}\"\ndomain = \"c.example\"\n";
    let cases: &[(&str, String, &[&str], &str)] = &[
        (
            "the header when nothing is configured",
            base.to_string(),
            &[],
            "<hdr@example.org>",
        ),
        (
            "[defaults] from beats the header",
            format!("{base}from = \"defaults@example.org\"\n"),
            &[],
            "<defaults@example.org>",
        ),
        (
            "the account's from beats [defaults]",
            format!(
                "default_account = \"work\"\n{base}from = \"defaults@example.org\"\n\
                 [accounts.work]\nfrom = \"account@example.org\"\n"
            ),
            &[],
            "<account@example.org>",
        ),
        (
            "-f beats the account",
            format!(
                "default_account = \"work\"\n{base}[accounts.work]\nfrom = \"account@example.org\"\n"
            ),
            &["-f", "cli@example.org"],
            "<cli@example.org>",
        ),
    ];
    for (what, config, extra, want) in cases {
        let mut args = extra.to_vec();
        args.push("bob@example.org");
        let r = run_config(config, &args, message);
        assert_eq!(r.code, Some(0), "{what}: {}", r.stderr);
        assert_eq!(mail_from(&r.transcript), *want, "{what}");
    }
}

#[test]
fn host_and_port_come_from_the_chosen_account() {
    // [defaults] points at a port nothing listens on; the account points at the server.
    let closed = {
        let s = Server::start(Script::new());
        let port = s.port();
        s.finish();
        port
    };
    let config = format!(
        "[defaults]\nhost = \"127.0.0.1\"\nport = {closed}\ndomain = \"c.example\"\n\
         [accounts.work]\nhost = \"{{HOST}}\"\n"
    );
    let r = run_config(&config, &["-a", "work", "bob@example.org"], MSG);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.transcript.connected);
    let r = run_config(&config, &["bob@example.org"], MSG);
    assert_eq!(
        r.code,
        Some(75),
        "[defaults] alone reaches the closed port: {}",
        r.stderr
    );
    assert!(!r.transcript.connected);
}

// ---- aliases and maildomain (spec §2) ----

const ALIASES: &str = "[defaults]\nhost = \"{HOST}\"\ndomain = \"c.example\"\nmaildomain = \"example.org\"\n\
[aliases]\nroot = \"admin@example.org\"\nops = \"alice@example.net, oncall\"\n";

#[test]
fn aliases_then_maildomain_for_recipients() {
    let config = format!("{ALIASES}default = \"catchall@example.org\"\n");
    let r = run_config(
        &config,
        &[
            "-f",
            "alice@example.org",
            "root",
            "ops",
            "bob@example.net",
            "stranger",
        ],
        MSG,
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        r.transcript.matching("RCPT"),
        [
            "RCPT TO:<admin@example.org>",
            "RCPT TO:<alice@example.net>",
            "RCPT TO:<oncall@example.org>",
            "RCPT TO:<bob@example.net>",
            "RCPT TO:<catchall@example.org>",
        ]
    );
}

#[test]
fn without_a_default_alias_a_bare_name_gets_the_maildomain() {
    let r = run_config(
        ALIASES,
        &["-f", "alice@example.org", "stranger", "root"],
        MSG,
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        r.transcript.matching("RCPT"),
        [
            "RCPT TO:<stranger@example.org>",
            "RCPT TO:<admin@example.org>"
        ]
    );
}

#[test]
fn aliases_apply_to_header_recipients_with_t() {
    let r = run_config(
        ALIASES,
        &["-t"],
        b"From: alice@example.org\nTo: root\nCc: ops\nSubject: x\n\nb\n",
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        r.transcript.matching("RCPT"),
        [
            "RCPT TO:<admin@example.org>",
            "RCPT TO:<alice@example.net>",
            "RCPT TO:<oncall@example.org>",
        ]
    );
}

#[test]
fn a_bare_sender_is_qualified_but_never_aliased() {
    // Spec §2: "Aliases apply to recipients only; maildomain qualifies a bare sender too".
    let r = run_config(ALIASES, &["-f", "root", "bob@example.org"], MSG);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(mail_from(&r.transcript), "<root@example.org>");
    // And $USER@maildomain when nothing names the sender.
    let r = run_config(ALIASES, &["bob@example.org"], b"Subject: x\n\nb\n");
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(mail_from(&r.transcript), "<tester@example.org>");
}

/// The server is one setting: `--host` on the command line beats a `socket` in the file (which would
/// otherwise win, being a different key), and `--port` beats a port written into the file's `host`.
#[test]
fn command_line_server_beats_the_files_socket_and_host_port() {
    let server = Server::start(Script::new());
    let host = server.host_arg();
    let dir = home();
    write(
        &xdg_file(&dir),
        "[defaults]\nsocket = \"/nonexistent/lmtp.sock\"\n",
        "",
        0o600,
    );
    let out = mailsend(&dir)
        .args([
            "--host",
            &host,
            "--domain",
            "client.example",
            "bob@example.org",
        ])
        .write_stdin(MSG.to_vec())
        .output()
        .expect("run mailsend");
    crate::fixture::assert_exit(&out, 0);
    assert!(server.finish().saw("MAIL FROM:"));

    // A dead port in the file's host; the live one on the command line.
    let server = Server::start(Script::new());
    let port = server.port().to_string();
    let dir2 = home();
    write(
        &xdg_file(&dir2),
        "[defaults]\nhost = \"127.0.0.1:1\"\n",
        "",
        0o600,
    );
    let out = mailsend(&dir2)
        .args([
            "--port",
            &port,
            "--domain",
            "client.example",
            "bob@example.org",
        ])
        .write_stdin(MSG.to_vec())
        .output()
        .expect("run mailsend");
    crate::fixture::assert_exit(&out, 0);
    assert!(server.finish().saw("MAIL FROM:"));
}

// ---- a server named on the command line (spec §8; issue 10, points 1 and 20) ----

/// Run `mailsend --host SERVER ARGS` with `config` as the user file; `{HOST}` in it is the same server.
fn run_cli_host(script: Script, config: &str, args: &[&str]) -> Run {
    let home = home();
    let server = Server::start(script);
    write(&xdg_file(&home), config, &server.host_arg(), 0o600);
    let out = mailsend(&home)
        .args(["--host", &server.host_arg(), "--domain", "c.example"])
        .args(args)
        .write_stdin(MSG.to_vec())
        .output()
        .expect("run mailsend");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        port: server.port(),
        transcript: server.finish(),
    }
}

/// The smarthost's credentials, pin and client certificate, in the default account and in [defaults];
/// plaintext AUTH allowed, so that only the rule of spec §8 keeps them from the server on the command line.
const SMARTHOST: &str = "default_account = \"work\"\n\
[defaults]\nuser = \"me\"\npassword = \"s3cret-pw\"\nallow_plaintext_auth = true\n\
[accounts.work]\nhost = \"smtp.invalid\"\nport = 587\nuser = \"me\"\npassword = \"s3cret-pw\"\n\
from = \"work@example.org\"\n\
tls_fingerprint = \"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"\n";

#[test]
fn command_line_host_takes_no_credentials_from_the_file() {
    let r = run_cli_host(auth_server(), SMARTHOST, &["bob@example.org"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.transcript.auth.is_empty(),
        "no AUTH may reach this server"
    );
    assert!(!r.transcript.saw("AUTH"), "{:?}", r.transcript.commands);
    assert!(
        !r.transcript.saw("STARTTLS"),
        "the account's pin is not taken"
    );
    // "uses no account": the default account's `from` does not apply either; the header's does.
    assert_eq!(mail_from(&r.transcript), "<alice@example.org>");

    // Without allow_plaintext_auth it used to fail with "refusing to send credentials" none were given.
    let plain = SMARTHOST.replace("allow_plaintext_auth = true\n", "");
    let r = run_cli_host(auth_server(), &plain, &["bob@example.org"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.transcript.auth.is_empty());

    // --pretend says why.
    let r = run_cli_host(Script::new(), SMARTHOST, &["--pretend", "bob@example.org"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("account = none"), "{}", r.stdout);
    assert!(!r.stdout.contains("user ="), "{}", r.stdout);
}

#[test]
fn account_named_with_a_command_line_host_still_lends_its_credentials() {
    let config = SMARTHOST.replace("tls_fingerprint", "# tls_fingerprint");
    let r = run_cli_host(auth_server(), &config, &["-a", "work", "bob@example.org"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.transcript.auth.len(), 1, "{:?}", r.transcript.commands);
    assert!(r.transcript.auth[0].success);
    assert_eq!(mail_from(&r.transcript), "<work@example.org>");
}

#[test]
fn accounts_without_a_default_account_are_not_a_guess_at_localhost() {
    let config = "[defaults]\ndomain = \"c.example\"\n\
                  [accounts.work]\nhost = \"{HOST}\"\n[accounts.home]\nhost = \"{HOST}\"\n";
    let r = run_config(config, &["bob@example.org"], MSG);
    assert_eq!(r.code, Some(78), "{}", r.stderr);
    assert!(!r.transcript.connected);
    for needle in ["config.toml", "`home`", "`work`", "-a"] {
        crate::fixture::assert_stderr_mentions(&r, needle);
    }
    // The debugging modes too.
    let r = run_config(config, &["--serverinfo"], b"");
    assert_eq!(r.code, Some(78), "{}", r.stderr);
    // A server on the command line, an account named, or a host in [defaults] is no guess.
    let r = run_cli_host(Script::new(), config, &["bob@example.org"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = run_config(config, &["-a", "work", "bob@example.org"], MSG);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let with_host = config.replace("[defaults]\n", "[defaults]\nhost = \"{HOST}\"\n");
    let r = run_config(&with_host, &["bob@example.org"], MSG);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

/// Issue 10, point 5, from the file: a pin in the account used means STARTTLS on loopback (an ssh tunnel);
/// a site-wide CA file in [defaults] is no such wish, and loopback stays plaintext under `auto`.
#[test]
fn tls_material_in_the_account_means_starttls_on_loopback_but_not_from_defaults() {
    let pki = crate::certs::Pki::new();
    let script = || {
        Script::new()
            .no_pipelining()
            .starttls(pki.server.server_config())
    };
    let tunnel = format!(
        "default_account = \"tunnel\"\n[defaults]\ndomain = \"c.example\"\n\
         [accounts.tunnel]\nhost = \"{{HOST}}\"\ntls_fingerprint = \"{}\"\n",
        pki.server.fingerprint()
    );
    let r = run_config_with(script(), &tunnel, 0o600, &["bob@example.org"], MSG);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.transcript.tls_established, "{:?}", r.transcript.commands);

    let site_ca = format!(
        "[defaults]\nhost = \"{{HOST}}\"\ndomain = \"c.example\"\ntls_trust_file = \"{}\"\n",
        pki.ca_path.display()
    );
    let r = run_config_with(script(), &site_ca, 0o600, &["bob@example.org"], MSG);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(!r.transcript.saw("STARTTLS"), "{:?}", r.transcript.commands);
}
