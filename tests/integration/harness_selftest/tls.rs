//! The harness's TLS and AUTH side tested with a rustls client: STARTTLS and the post-TLS capabilities,
//! response injection, refusal, implicit TLS, client certificates, the bad certificates, SASL checks.

use std::net::TcpStream;
use std::sync::Arc;

use base64::prelude::*;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use super::{Client, DEFAULT_EHLO};
use crate::certs::{Pki, provider};
use crate::harness::{AuthCheck, CRAM_CHALLENGE, Script, Server, cram_digest};

fn tls_client(pki: &Pki, tcp: TcpStream) -> StreamOwned<ClientConnection, TcpStream> {
    let mut roots = RootCertStore::empty();
    let ca = std::fs::read(&pki.ca_path).expect("read ca.pem");
    for cert in rustls_pemfile::certs(&mut ca.as_slice()) {
        roots.add(cert.expect("PEM certificate")).expect("add root");
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").expect("server name");
    let conn = ClientConnection::new(Arc::new(config), name).expect("client connection");
    StreamOwned::new(conn, tcp)
}

#[test]
fn starttls_handshake_then_the_post_tls_capabilities() {
    let pki = Pki::new();
    let script = Script::new()
        .starttls(pki.server.server_config())
        .ehlo_lines_after_tls(&["AUTH PLAIN"]);
    let server = Server::start(script);
    let mut c = Client::connect(&server);
    c.reply();
    let ehlo = c.cmd("EHLO a");
    assert!(ehlo.ends_with("250 STARTTLS"), "{ehlo}");
    assert_eq!(c.cmd("STARTTLS"), "220 2.0.0 Ready to start TLS");
    let mut tls = Client {
        stream: tls_client(&pki, c.stream),
        buf: Vec::new(),
    };
    assert_eq!(tls.cmd("EHLO a"), "250-test.example\n250 AUTH PLAIN");
    assert_eq!(tls.cmd("STARTTLS"), "554 5.5.1 Error: TLS already active");
    assert_eq!(tls.cmd("QUIT"), "221 2.0.0 Bye");
    let t = server.finish();
    assert!(t.tls_established);
    assert!(t.received.ends_with(b"EHLO a\r\nSTARTTLS\r\nQUIT\r\n"));
    assert_eq!(t.verbs(), ["EHLO", "STARTTLS", "EHLO", "STARTTLS", "QUIT"]);
}

#[test]
fn starttls_injection_and_refusal() {
    let pki = Pki::new();
    let script = Script::new()
        .starttls(pki.server.server_config())
        .inject_after_starttls(b"250-x\r\n250 AUTH PLAIN\r\n");
    let server = Server::start(script);
    let mut c = Client::connect(&server);
    c.reply();
    c.cmd("EHLO a");
    c.send("STARTTLS\r\n");
    assert_eq!(c.line().as_deref(), Some("220 2.0.0 Ready to start TLS"));
    assert_eq!(c.reply(), "250-x\n250 AUTH PLAIN");
    drop(c);
    let t = server.finish();
    assert!(!t.tls_established);
    assert!(t.tls_error.is_some());

    let server = Server::start(Script::new().starttls_reply("454 4.7.0 TLS not available"));
    let mut c = Client::connect(&server);
    c.reply();
    assert!(c.cmd("EHLO a").ends_with("250 STARTTLS"));
    assert_eq!(c.cmd("STARTTLS"), "454 4.7.0 TLS not available");
    assert_eq!(c.cmd("NOOP"), "250 2.0.0 Ok");
    drop(c);
    server.finish();
}

#[test]
fn implicit_tls_and_client_certificates() {
    let pki = Pki::new();
    let server = Server::start(Script::new().implicit_tls(pki.server.server_config()));
    let tcp = TcpStream::connect(server.addr()).expect("connect");
    let mut c = Client {
        stream: tls_client(&pki, tcp),
        buf: Vec::new(),
    };
    assert_eq!(c.reply(), "220 test.example ESMTP");
    assert_eq!(c.cmd("QUIT"), "221 2.0.0 Bye");
    let t = server.finish();
    assert!(t.tls_established);
    assert_eq!(t.client_certificates, 0);

    // A server requiring a client certificate refuses a client without one.
    let server =
        Server::start(Script::new().implicit_tls(pki.server_config_requiring_client_cert()));
    let tcp = TcpStream::connect(server.addr()).expect("connect");
    let mut c = Client {
        stream: tls_client(&pki, tcp),
        buf: Vec::new(),
    };
    assert_eq!(c.reply(), "EOF");
    let t = server.finish();
    assert!(t.tls_error.is_some());
}

#[test]
fn bad_certificates_are_refused_by_a_verifying_client() {
    let pki = Pki::new();
    for (leaf, what) in [
        (&pki.expired, "expired"),
        (&pki.wrong_name, "wrong name"),
        (&pki.self_signed, "self-signed"),
        (&pki.ca_as_leaf, "CA as leaf"),
    ] {
        let server = Server::start(Script::new().implicit_tls(leaf.server_config()));
        let tcp = TcpStream::connect(server.addr()).expect("connect");
        let mut c = Client {
            stream: tls_client(&pki, tcp),
            buf: Vec::new(),
        };
        assert_eq!(c.reply(), "EOF", "{what} must fail verification");
        drop(c);
        assert!(server.finish().tls_error.is_some(), "{what}");
    }
    assert_eq!(pki.server.fingerprint().len(), 32 * 3 - 1);
    assert!(pki.dir().join("ca.pem").exists() && pki.client.key_path.exists());
}

#[test]
fn auth_mechanisms_check_credentials() {
    let b64 = |s: &[u8]| BASE64_STANDARD.encode(s);
    let script = Script::new().auth(AuthCheck::new("user", "secret"));
    let server = Server::start(script);
    let mut c = Client::connect(&server);
    c.reply();
    assert!(c.cmd("EHLO a").ends_with("250 AUTH PLAIN LOGIN CRAM-MD5"));
    let plain = b64(b"\0user\0secret");
    assert_eq!(
        c.cmd(&format!("AUTH PLAIN {plain}")),
        "235 2.7.0 Authentication successful"
    );
    assert_eq!(c.cmd("AUTH PLAIN"), "334 ");
    assert_eq!(
        c.cmd(&b64(b"\0user\0wrong")),
        "535 5.7.8 Error: authentication failed"
    );
    assert_eq!(c.cmd("AUTH LOGIN"), format!("334 {}", b64(b"Username:")));
    assert_eq!(c.cmd(&b64(b"user")), format!("334 {}", b64(b"Password:")));
    assert_eq!(
        c.cmd(&b64(b"secret")),
        "235 2.7.0 Authentication successful"
    );
    assert_eq!(
        c.cmd("AUTH CRAM-MD5"),
        format!("334 {}", b64(CRAM_CHALLENGE.as_bytes()))
    );
    let answer = format!("user {}", cram_digest("secret", CRAM_CHALLENGE));
    assert_eq!(
        c.cmd(&b64(answer.as_bytes())),
        "235 2.7.0 Authentication successful"
    );
    assert_eq!(c.cmd("AUTH LOGIN"), format!("334 {}", b64(b"Username:")));
    assert_eq!(c.cmd("*"), "501 5.7.0 Authentication aborted");
    assert_eq!(
        c.cmd("AUTH XOAUTH2 abc"),
        "504 5.5.4 Unrecognized authentication type"
    );
    drop(c);
    let t = server.finish();
    let results: Vec<(&str, bool)> = t
        .auth
        .iter()
        .map(|a| (a.mechanism.as_str(), a.success))
        .collect();
    assert_eq!(
        results,
        [
            ("PLAIN", true),
            ("PLAIN", false),
            ("LOGIN", true),
            ("CRAM-MD5", true)
        ]
    );
    // RFC 2195's own example.
    assert_eq!(
        cram_digest(
            "tanstaaftanstaaf",
            "<1896.697170952@postoffice.reston.mci.net>"
        ),
        "b913a602c7eda7a495b4e6e7334d3890"
    );
}

#[test]
fn auth_only_after_tls_and_challenges_forever() {
    let server = Server::start(Script::new().auth(AuthCheck::new("u", "p").only_after_tls()));
    let mut c = Client::connect(&server);
    c.reply();
    assert_eq!(c.cmd("EHLO a"), DEFAULT_EHLO);
    assert_eq!(
        c.cmd("AUTH PLAIN AHUAcA=="),
        "502 5.5.2 Error: command not recognized"
    );
    drop(c);
    server.finish();

    let server = Server::start(Script::new().auth(AuthCheck::new("u", "p").challenge_forever(3)));
    let mut c = Client::connect(&server);
    c.reply();
    c.cmd("EHLO a");
    let again = format!("334 {}", BASE64_STANDARD.encode("again"));
    assert_eq!(c.cmd("AUTH PLAIN"), again);
    assert_eq!(c.cmd("x"), again);
    assert_eq!(c.cmd("x"), again);
    assert_eq!(c.cmd("x"), "535 5.7.8 Error: authentication failed");
    drop(c);
    server.finish();
}
