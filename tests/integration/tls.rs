//! TLS against the scripted server (spec §4, catalogue section A): STARTTLS done safely (RFC 3207), its
//! stripping and response injection, handshake failures, implicit TLS (RFC 8314), `--tls auto` on loopback,
//! the `tls:` trace lines, and IPv6. The certificate policy is in `certificates`; hand-written servers for
//! what the scripted one cannot do are in `raw`.

mod certificates;
mod raw;

use std::sync::Arc;

use rustls::ServerConfig;

use crate::certs::Pki;
use crate::fixture::{
    ALICE_TO_BOB, MSG, assert_no_message, assert_quiet_success, assert_stderr_mentions, msg_on_wire,
};
use crate::harness::{
    Action, AuthAttempt, AuthCheck, Run, Script, Server, Stage, home, mailsend, mailsend_to, run,
};
use raw::{AfterHello, RawServer, TLS10_SERVER_HELLO};

pub(crate) const USER: &str = "alice.user@example.org";
pub(crate) const PASSWORD: &str = "Pa55-w0rd-XYZZY";

/// How TLS starts: the two configuration paths every certificate check is tested on (catalogue A5).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Mode {
    StartTls,
    Implicit,
}

pub(crate) const MODES: [Mode; 2] = [Mode::StartTls, Mode::Implicit];

impl Mode {
    pub(crate) fn script(self, config: Arc<ServerConfig>) -> Script {
        let script = Script::new().no_pipelining();
        match self {
            Mode::StartTls => script.starttls(config),
            Mode::Implicit => script.implicit_tls(config),
        }
    }

    pub(crate) fn flag(self) -> &'static str {
        match self {
            Mode::StartTls => "starttls",
            Mode::Implicit => "implicit",
        }
    }
}

/// A path in a temp dir as an argument.
pub(crate) fn arg(path: &std::path::Path) -> String {
    path.to_str().expect("temp paths are UTF-8").to_string()
}

/// `run` with owned arguments followed by the usual sender and recipient.
pub(crate) fn run_args(script: Script, args: &[String]) -> Run {
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.extend(ALICE_TO_BOB);
    run(script, &all, MSG)
}

/// `--tls MODE --tls-trust-file CA`.
pub(crate) fn trusting(pki: &Pki, mode: Mode) -> Vec<String> {
    vec![
        "--tls".into(),
        mode.flag().into(),
        "--tls-trust-file".into(),
        arg(&pki.ca_path),
    ]
}

/// Credentials whose password comes from a command, so no test depends on a terminal.
pub(crate) fn credentials() -> Vec<String> {
    vec![
        "--user".into(),
        USER.into(),
        "--password-command".into(),
        format!("echo {PASSWORD}"),
    ]
}

/// Nothing that follows a failed or refused STARTTLS may be MAIL, AUTH or message data.
#[track_caller]
fn assert_stopped_before_auth_and_mail(r: &Run) {
    let t = &r.transcript;
    assert!(!t.saw("AUTH"), "no AUTH may be sent: {:?}", t.commands);
    assert!(!t.saw("MAIL"), "no MAIL may be sent: {:?}", t.commands);
    assert_no_message(t);
}

// ---- STARTTLS that works ----

#[test]
fn starttls_with_the_test_ca_sends_the_message_over_tls() {
    let pki = Pki::new();
    let r = run_args(
        Mode::StartTls.script(pki.server.server_config()),
        &trusting(&pki, Mode::StartTls),
    );
    assert_quiet_success(&r);
    let t = &r.transcript;
    assert!(t.tls_established);
    assert!(t.plaintext_after_starttls.is_empty());
    assert_eq!(
        t.verbs(),
        ["EHLO", "STARTTLS", "EHLO", "MAIL", "RCPT", "DATA", "QUIT"]
    );
    assert_eq!(t.data, vec![msg_on_wire()]);
}

#[test]
fn a2_re_ehlo_after_tls_uses_only_the_new_capabilities() {
    // The catalogue's case: CRAM-MD5 appears only after TLS, so using it proves the new list was read.
    let pki = Pki::new();
    let script = Mode::StartTls
        .script(pki.server.server_config())
        .ehlo_lines(&["AUTH PLAIN LOGIN X-FOO", "SIZE 10240000"])
        .ehlo_lines_after_tls(&["AUTH CRAM-MD5", "SIZE 10240000"])
        .auth(AuthCheck::new(USER, PASSWORD));
    let mut args = trusting(&pki, Mode::StartTls);
    args.extend(credentials());
    let r = run_args(script, &args);
    assert_quiet_success(&r);
    let t = &r.transcript;
    assert_eq!(t.verbs()[..4], ["EHLO", "STARTTLS", "EHLO", "AUTH"]);
    assert_eq!(t.matching("AUTH "), ["AUTH CRAM-MD5"]);
    assert_eq!(
        t.auth,
        [AuthAttempt {
            mechanism: "CRAM-MD5".into(),
            success: true
        }]
    );
}

#[test]
fn a2_pre_tls_capabilities_are_forgotten() {
    // The plaintext list prefers CRAM-MD5 and allows only 10 bytes; after TLS only LOGIN and no SIZE limit
    // are in force, so a client that kept anything of the first list would pick CRAM-MD5 or refuse the size.
    let pki = Pki::new();
    let script = Mode::StartTls
        .script(pki.server.server_config())
        .ehlo_lines(&["AUTH CRAM-MD5 PLAIN", "SIZE 10"])
        .ehlo_lines_after_tls(&["AUTH LOGIN"])
        .auth(AuthCheck::new(USER, PASSWORD));
    let mut args = trusting(&pki, Mode::StartTls);
    args.extend(credentials());
    let r = run_args(script, &args);
    assert_quiet_success(&r);
    let t = &r.transcript;
    assert_eq!(
        t.auth,
        [AuthAttempt {
            mechanism: "LOGIN".into(),
            success: true
        }]
    );
    assert_eq!(t.matching("MAIL"), ["MAIL FROM:<alice@example.org>"]);
    assert_eq!(t.data, vec![msg_on_wire()]);
}

// ---- response injection (catalogue A1) ----

fn injected(bytes: &[u8]) -> Run {
    let pki = Pki::new();
    let script = Mode::StartTls
        .script(pki.server.server_config())
        .inject_after_starttls(bytes)
        .auth(AuthCheck::new(USER, PASSWORD));
    let mut args = trusting(&pki, Mode::StartTls);
    args.extend(credentials());
    run_args(script, &args)
}

#[track_caller]
fn assert_injection_stopped(r: &Run) {
    r.expect_code(76);
    assert_stderr_mentions(r, "injection");
    let t = &r.transcript;
    assert_eq!(
        t.verbs(),
        ["EHLO", "STARTTLS"],
        "nothing may follow the STARTTLS, in plaintext or TLS"
    );
    assert!(!t.tls_established);
    assert_stopped_before_auth_and_mail(r);
}

#[test]
fn a1_injection_in_the_same_segment_as_the_220() {
    assert_injection_stopped(&injected(b"250-x\r\n250 AUTH PLAIN\r\n"));
}

#[test]
fn a1_injection_as_a_trailing_fragment_without_crlf() {
    assert_injection_stopped(&injected(b"250 AUTH PLA"));
}

// ---- stripping (catalogue A3): with TLS required, stop before AUTH or MAIL ----

/// A server offering AUTH in plaintext (the bait) with the STARTTLS behaviour of `script`.
fn stripped(script: Script) -> Run {
    let pki = Pki::new();
    let mut args = trusting(&pki, Mode::StartTls);
    args.extend(credentials());
    run_args(script.auth(AuthCheck::new(USER, PASSWORD)), &args)
}

#[test]
fn a3_stripping_starttls_not_offered() {
    let r = stripped(Script::new().no_pipelining());
    r.expect_code(69);
    assert_stderr_mentions(&r, "STARTTLS");
    assert_stderr_mentions(&r, "--tls off");
    assert!(!r.transcript.saw("STARTTLS"));
    assert_stopped_before_auth_and_mail(&r);
}

#[test]
fn a3_stripping_starttls_answered_502() {
    let r = stripped(
        Script::new()
            .no_pipelining()
            .starttls_reply("502 5.5.2 not today"),
    );
    r.expect_code(69);
    assert_stderr_mentions(&r, "not today");
    assert_stopped_before_auth_and_mail(&r);
}

#[test]
fn a3_stripping_starttls_answered_454() {
    let r = stripped(
        Script::new()
            .no_pipelining()
            .starttls_reply("454 4.7.0 TLS not available"),
    );
    r.expect_code(75);
    assert_stderr_mentions(&r, "TLS not available");
    assert_stopped_before_auth_and_mail(&r);
}

#[test]
fn a3_stripping_starttls_answered_354() {
    let r = stripped(Script::new().no_pipelining().starttls_reply("354 go ahead"));
    r.expect_code(76);
    assert_stopped_before_auth_and_mail(&r);
}

#[test]
fn a3_stripping_ehlo_500_forces_helo() {
    let pki = Pki::new();
    let script = Mode::StartTls
        .script(pki.server.server_config())
        .on(Stage::Ehlo, Action::reply("500 5.5.1 command unrecognized"));
    let r = stripped(script);
    r.expect_code(69);
    assert_stderr_mentions(&r, "STARTTLS");
    assert!(!r.transcript.saw("STARTTLS"));
    assert_stopped_before_auth_and_mail(&r);
}

// ---- handshake failure after the 220 (catalogue A4): never plaintext on that connection ----

/// Run against a [`RawServer`]; the bytes it received after its `220` to STARTTLS.
fn raw_session(after: AfterHello) -> (Run, Vec<u8>) {
    let pki = Pki::new();
    let server = RawServer::start(after);
    let home = home();
    let output = mailsend(&home)
        .args(["--host", server.host_arg(), "--domain", "client.example"])
        .args(trusting(&pki, Mode::StartTls))
        .args(credentials())
        .args(ALICE_TO_BOB)
        .write_stdin(MSG)
        .output()
        .expect("run mailsend");
    let after_220 = server.finish();
    let run = Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        port: 0,
        transcript: Default::default(),
    };
    (run, after_220)
}

/// Where TLS was due the client may only speak TLS records: a handshake record first, then at most an alert.
#[track_caller]
fn assert_only_tls(bytes: &[u8]) {
    assert_eq!(
        bytes.first(),
        Some(&0x16),
        "a TLS handshake record first: {bytes:?}"
    );
    let text = String::from_utf8_lossy(bytes).to_ascii_uppercase();
    for verb in [
        "EHLO", "HELO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT", "RSET",
    ] {
        assert!(
            !text.contains(verb),
            "{verb} sent in plaintext where TLS was due"
        );
    }
}

#[test]
fn a4_handshake_failure_server_closes_after_the_client_hello() {
    // A connection lost during the handshake is 75 like any lost connection (man page, EXIT STATUS);
    // what matters for A4 is that nothing follows in plaintext.
    let (r, after) = raw_session(AfterHello::Close);
    r.expect_code(75);
    assert_stderr_mentions(&r, "TLS handshake");
    assert_only_tls(&after);
}

#[test]
fn a4_handshake_failure_server_answers_garbage() {
    let (r, after) = raw_session(AfterHello::Send(b"HTTP/1.1 400 Bad Request\r\n\r\n"));
    r.expect_code(76);
    assert_stderr_mentions(&r, "TLS");
    // The advice must fit the case: STARTTLS is what was being done.
    assert!(
        !r.stderr.contains("try --tls starttls"),
        "misleading advice: {}",
        r.stderr
    );
    assert_only_tls(&after);
}

#[test]
fn a4_handshake_failure_scripted_close_right_after_the_220() {
    let pki = Pki::new();
    let script = Mode::StartTls.script(pki.server.server_config()).on(
        Stage::StartTls,
        Action::ReplyThenClose("220 2.0.0 go".into()),
    );
    let r = stripped(script);
    r.expect_code(75);
    assert_stderr_mentions(&r, "TLS handshake");
    assert_stopped_before_auth_and_mail(&r);
}

#[test]
fn a7_tls_1_0_only_server_fails_with_a_clear_error() {
    let (r, after) = raw_session(AfterHello::Send(TLS10_SERVER_HELLO));
    r.expect_code(76);
    assert_stderr_mentions(&r, "TLS 1.2");
    assert_only_tls(&after);
}

// ---- implicit TLS (catalogue A10) ----

#[test]
fn a10_implicit_tls_sends_the_message() {
    let pki = Pki::new();
    let r = run_args(
        Mode::Implicit.script(pki.server.server_config()),
        &trusting(&pki, Mode::Implicit),
    );
    assert_quiet_success(&r);
    let t = &r.transcript;
    assert!(t.tls_established);
    assert_eq!(t.verbs(), ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"]);
    assert_eq!(t.data, vec![msg_on_wire()]);
}

#[test]
fn a10_implicit_tls_against_a_plaintext_greeting_fails() {
    let pki = Pki::new();
    let mut args = trusting(&pki, Mode::Implicit);
    args.extend(credentials());
    let r = run_args(Script::new().auth(AuthCheck::new(USER, PASSWORD)), &args);
    r.expect_code(76);
    // Issue 11, point 5: the dialer tells this case by the engine error's variant (it compared the
    // error's text before) and says what to try.
    assert_stderr_mentions(
        &r,
        "the server did not answer with TLS (a plaintext port? try --tls starttls or --tls off)",
    );
    // The server reads the ClientHello as if it were a command line; nothing else may arrive.
    assert_only_tls(&r.transcript.received);
}

// ---- --tls auto (spec §4): loopback means no TLS ----

#[test]
fn tls_auto_on_loopback_does_not_starttls_even_when_offered() {
    let pki = Pki::new();
    for args in [&[][..], &["--tls", "auto"]] {
        let r = run(
            Mode::StartTls.script(pki.server.server_config()),
            &[args, &ALICE_TO_BOB[..]].concat(),
            MSG,
        );
        assert_quiet_success(&r);
        assert!(!r.transcript.saw("STARTTLS"), "{args:?}");
        assert!(!r.transcript.tls_established);
        assert_eq!(r.transcript.data, vec![msg_on_wire()]);
    }
}

// ---- the trace (spec §6) ----

#[test]
fn trace_shows_tls_version_cipher_subject_and_verification() {
    for mode in MODES {
        let pki = Pki::new();
        let mut args = trusting(&pki, mode);
        args.extend(["--debug".into(), "1".into()]);
        let r = run_args(mode.script(pki.server.server_config()), &args);
        r.expect_code(0);
        let tls: Vec<&str> = r.stderr.lines().filter(|l| l.starts_with("tls:")).collect();
        let all = tls.join("\n");
        assert!(
            all.contains("1.3") || all.contains("1_3"),
            "{mode:?} version: {all}"
        );
        assert!(all.contains("TLS13_"), "{mode:?} cipher suite: {all}");
        assert!(all.contains("localhost"), "{mode:?} subject: {all}");
        assert!(all.contains("mailsend test CA"), "{mode:?} issuer: {all}");
        assert!(
            all.to_lowercase().contains("verified"),
            "{mode:?} verification: {all}"
        );
        assert!(!all.contains("NOT VERIFIED"), "{mode:?}: {all}");
    }
}

// ---- IPv6 ----

#[test]
fn starttls_and_auth_over_ipv6() {
    let pki = Pki::new();
    let script = Mode::StartTls
        .script(pki.server.server_config())
        .auth(AuthCheck::new(USER, PASSWORD).only_after_tls());
    let Some(server) = Server::start_v6(script) else {
        return;
    };
    let home = home();
    let output = mailsend_to(&home, &server)
        .args(trusting(&pki, Mode::StartTls))
        .args(credentials())
        .args(ALICE_TO_BOB)
        .write_stdin(MSG)
        .output()
        .expect("run mailsend");
    let t = server.finish();
    crate::fixture::assert_exit(&output, 0);
    assert!(t.tls_established);
    assert_eq!(t.auth.len(), 1);
    assert!(t.auth[0].success);
    assert_eq!(t.data, vec![msg_on_wire()]);
}

/// Found by review: a server trickling its TLS handshake one byte at a time reset the wait on every
/// byte, so `--timeout 1` held for minutes. The handshake is one wait: exit 75 within the bound.
#[test]
fn a_trickled_tls_handshake_is_bounded_by_timeout() {
    use std::io::Write as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        // A ServerHello record header and body, one byte every 200 ms: never complete in 1 s.
        let record = [&[0x16u8, 0x03, 0x03, 0x00, 0x40][..], &[0u8; 0x40][..]].concat();
        for byte in record {
            if conn.write_all(&[byte]).is_err() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    });
    let home = crate::harness::home();
    let started = std::time::Instant::now();
    let out = crate::harness::mailsend(&home)
        .args([
            "--host",
            &format!("127.0.0.1:{port}"),
            "--tls",
            "implicit",
            "--timeout",
            "1",
        ])
        .args(["-f", "alice@example.org", "bob@example.org"])
        .write_stdin(MSG.to_vec())
        .output()
        .expect("run mailsend");
    let elapsed = started.elapsed();
    crate::fixture::assert_exit(&out, 75);
    assert!(
        elapsed < std::time::Duration::from_secs(5),
        "took {elapsed:?}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("timed out"));
    server.join().expect("server thread");
}

/// Issue 10, point 5: an ssh tunnel to a smarthost lands on loopback; a pin, a trust file or a client
/// certificate given for it means TLS is wanted, so `auto` does STARTTLS instead of ignoring them.
#[test]
fn tls_material_on_loopback_with_tls_auto_is_not_ignored() {
    let pki = Pki::new();
    let fingerprint = pki.server.fingerprint();
    let cert = arg(&pki.client.cert_path);
    let key = arg(&pki.client.key_path);
    let ca = arg(&pki.ca_path);
    let cases: [(&str, Vec<&str>); 3] = [
        ("fingerprint", vec!["--tls-fingerprint", &fingerprint]),
        ("trust file", vec!["--tls-trust-file", &ca]),
        (
            "client certificate",
            vec![
                "--tls-trust-file",
                &ca,
                "--tls-cert-file",
                &cert,
                "--tls-key-file",
                &key,
            ],
        ),
    ];
    for (what, args) in cases {
        let config = match what {
            "client certificate" => pki.server_config_requiring_client_cert(),
            _ => pki.server.server_config(),
        };
        let r = run(
            Mode::StartTls.script(config),
            &[&args[..], &ALICE_TO_BOB[..]].concat(),
            MSG,
        );
        assert_quiet_success(&r);
        assert!(r.transcript.saw("STARTTLS"), "{what}");
        assert!(r.transcript.tls_established, "{what}");
        assert!(r.transcript.plaintext_after_starttls.is_empty(), "{what}");
        assert_eq!(r.transcript.data, vec![msg_on_wire()], "{what}");
    }
    // A server that offers no STARTTLS is refused, not sent to in plaintext.
    let r = run(
        Script::new(),
        &[&["--tls-fingerprint", &fingerprint][..], &ALICE_TO_BOB[..]].concat(),
        MSG,
    );
    assert_eq!(r.code, Some(69), "{}", r.stderr);
    assert_no_message(&r.transcript);
}
