//! `--serverinfo`: the report's exact format without TLS, the TLS details after STARTTLS and with
//! implicit TLS, a failed verification (still reported, exit 76), and the printed fingerprint working as
//! `--tls-fingerprint`. Nothing but EHLO, STARTTLS and QUIT is ever sent.

use crate::certs::Pki;
use crate::harness::{AuthCheck, Script, run};

#[test]
fn plaintext_report_has_the_stable_format() {
    let script = Script::new().ehlo_lines(&[
        "PIPELINING",
        "SIZE 10240000",
        "8BITMIME",
        "AUTH PLAIN LOGIN CRAM-MD5",
        "XCLIENT NAME",
        "ENHANCEDSTATUSCODES",
    ]);
    let r = run(script, &["--serverinfo"], b"");
    r.expect_code(0);
    let expected = format!(
        "server: 127.0.0.1:{port}
greeting: 220 test.example ESMTP
capabilities (no TLS):
  PIPELINING
  SIZE 10240000
  8BITMIME
  AUTH PLAIN LOGIN CRAM-MD5
  XCLIENT NAME
  ENHANCEDSTATUSCODES
tls: none (--tls off, or --tls auto for a loopback host or a Unix socket)
extensions:
  PIPELINING: yes (MAIL, RCPT and DATA are sent together, RFC 2920)
  SIZE: yes (limit 10240000 bytes; SIZE= on MAIL, and a larger message is refused before sending, RFC 1870)
  8BITMIME: yes (BODY=8BITMIME for 8-bit messages and with -B, RFC 6152)
  AUTH: no (no credentials configured; with --user it would use CRAM-MD5); only over TLS or with --allow-plaintext-auth
  XCLIENT: no
  ENHANCEDSTATUSCODES: yes (the codes are shown in messages, RFC 2034)
",
        port = r.port
    );
    assert_eq!(r.stdout, expected);
    assert_eq!(
        r.transcript.received_text(),
        "EHLO client.example\r\nQUIT\r\n"
    );
}

#[test]
fn configured_credentials_are_never_used() {
    let script = Script::new().auth(AuthCheck::new("u", "p").mechanisms(&["PLAIN"]));
    let r = run(
        script,
        &[
            "--serverinfo",
            "--allow-plaintext-auth",
            "--user",
            "u",
            "--password-command",
            "echo p",
        ],
        b"",
    );
    r.expect_code(0);
    assert!(
        r.stdout
            .contains("\n  AUTH: yes (PLAIN, the first offered of"),
        "{}",
        r.stdout
    );
    assert_eq!(r.transcript.verbs(), ["EHLO", "QUIT"]);
}

#[test]
fn starttls_report_shows_both_lists_and_the_certificate() {
    let pki = Pki::new();
    let script = Script::new()
        .starttls(pki.server.server_config())
        .ehlo_lines_after_tls(&["PIPELINING", "SIZE 5000", "AUTH PLAIN"]);
    let ca = pki.ca_path.to_string_lossy().into_owned();
    let r = run(
        script,
        &["--serverinfo", "--tls", "starttls", "--tls-trust-file", &ca],
        b"",
    );
    r.expect_code(0);
    let out = &r.stdout;
    assert!(
        out.contains("capabilities (before TLS):\n  PIPELINING\n  8BITMIME\n  SIZE 10240000\n  ENHANCEDSTATUSCODES\n  STARTTLS\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "capabilities (after TLS):\n  PIPELINING\n  SIZE 5000\n  AUTH PLAIN\ntls: starttls\n"
        ),
        "{out}"
    );
    assert!(out.contains("\ntls version: TLSv1."), "{out}");
    assert!(out.contains("\ntls cipher: TLS"), "{out}");
    assert!(
        out.contains("\ncertificate issuer: CN=mailsend test CA\n"),
        "{out}"
    );
    assert!(out.contains("\ncertificate valid from: "), "{out}");
    assert!(out.contains("\ncertificate valid until: "), "{out}");
    assert!(
        out.contains(&format!(
            "\ncertificate sha256: {}\n",
            pki.server.fingerprint()
        )),
        "{out}"
    );
    assert!(
        out.contains("\ncertificate verification: verified"),
        "{out}"
    );
    // The limit in force is the one after TLS; STARTTLS is listed from the first list.
    assert!(
        out.contains("\n  STARTTLS: yes (used on this connection"),
        "{out}"
    );
    assert!(out.contains("\n  SIZE: yes (limit 5000 bytes"), "{out}");
    assert_eq!(r.transcript.verbs(), ["EHLO", "STARTTLS", "EHLO", "QUIT"]);
}

#[test]
fn a_failed_verification_is_reported_in_full_and_exits_76() {
    let pki = Pki::new();
    let script = Script::new().starttls(pki.expired.server_config());
    let ca = pki.ca_path.to_string_lossy().into_owned();
    let r = run(
        script,
        &["--serverinfo", "--tls", "starttls", "--tls-trust-file", &ca],
        b"",
    );
    r.expect_code(76);
    assert!(
        r.stdout
            .contains("\ncertificate verification: FAILED: the certificate has expired"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!(
            "\ncertificate sha256: {}\n",
            pki.expired.fingerprint()
        )),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("\nextensions:\n"), "{}", r.stdout);
    assert!(r.stderr.contains("failed verification"), "{}", r.stderr);
    assert!(!r.transcript.saw("AUTH") && !r.transcript.saw("MAIL"));
}

#[test]
fn implicit_tls_report_and_the_fingerprint_pins_it() {
    let pki = Pki::new();
    // A self-signed certificate: not verifiable, so the first report exits 76 and shows the fingerprint.
    let config = pki.self_signed.server_config();
    let ca = pki.ca_path.to_string_lossy().into_owned();
    let r = run(
        Script::new().implicit_tls(config.clone()),
        &["--serverinfo", "--tls", "implicit", "--tls-trust-file", &ca],
        b"",
    );
    r.expect_code(76);
    assert!(r.stdout.contains("\ncapabilities (TLS):\n"), "{}", r.stdout);
    assert!(r.stdout.contains("\ntls: implicit\n"), "{}", r.stdout);
    let printed = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("certificate sha256: "))
        .expect("a fingerprint line")
        .to_owned();
    assert_eq!(printed, pki.self_signed.fingerprint());

    // What --serverinfo printed is what --tls-fingerprint takes.
    let r = run(
        Script::new().implicit_tls(config),
        &[
            "--serverinfo",
            "--tls",
            "implicit",
            "--tls-fingerprint",
            &printed,
        ],
        b"",
    );
    r.expect_code(0);
    assert!(
        r.stdout.contains("\ncertificate verification: pinned"),
        "{}",
        r.stdout
    );
}

#[test]
fn starttls_not_offered_still_prints_what_was_learnt() {
    let r = run(
        Script::new(),
        &[
            "--serverinfo",
            "--tls",
            "starttls",
            "--tls-certcheck",
            "off",
        ],
        b"",
    );
    r.expect_code(69);
    assert!(
        r.stdout.starts_with(&format!(
            "server: 127.0.0.1:{}\ngreeting: 220 test.example ESMTP\ncapabilities (before TLS):\n  PIPELINING\n",
            r.port
        )),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("after TLS"), "{}", r.stdout);
    assert!(r.stderr.contains("does not offer STARTTLS"), "{}", r.stderr);
    assert_eq!(r.transcript.verbs(), ["EHLO", "QUIT"]);
}
