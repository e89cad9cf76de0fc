//! Handshakes between a real rustls client and server in memory (no sockets), with rcgen certificates
//! for each case of catalogue A.5 (untrusted CA, expired, wrong name, self-signed, CA used as the leaf),
//! pinning (A.8), `--tls-certcheck off`, inspect mode and client certificates (A.9).

use super::*;
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::PrivatePkcs8KeyDer;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{ClientConnection, ServerConfig, ServerConnection};
use std::io::Write as _;

const HOST: &str = "mail.example.org";

struct Ca {
    cert: Certificate,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("no names");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("CA cert");
    Ca {
        cert,
        issuer: Issuer::new(params, key),
    }
}

fn leaf_params(names: &[&str]) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names.clone()).expect("names");
    params
        .distinguished_name
        .push(DnType::CommonName, names[0].as_str());
    params
        .extended_key_usages
        .push(ExtendedKeyUsagePurpose::ServerAuth);
    params
}

/// A leaf for `names` signed by `ca`, with its key.
fn leaf(ca: &Ca, names: &[&str]) -> (Certificate, KeyPair) {
    let key = KeyPair::generate().expect("key");
    let cert = leaf_params(names)
        .signed_by(&key, &ca.issuer)
        .expect("leaf");
    (cert, key)
}

fn expired_leaf(ca: &Ca) -> (Certificate, KeyPair) {
    let mut params = leaf_params(&[HOST]);
    params.not_before = rcgen::date_time_ymd(2000, 1, 1);
    params.not_after = rcgen::date_time_ymd(2001, 1, 1);
    let key = KeyPair::generate().expect("key");
    (params.signed_by(&key, &ca.issuer).expect("leaf"), key)
}

fn self_signed(names: &[&str]) -> (Certificate, KeyPair) {
    let key = KeyPair::generate().expect("key");
    (leaf_params(names).self_signed(&key).expect("cert"), key)
}

fn der_key(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: &KeyPair,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ServerConfig> {
    Arc::new(
        ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(chain, der_key(key))
            .expect("server cert"),
    )
}

fn server(cert: &Certificate, key: &KeyPair) -> Arc<ServerConfig> {
    server_config(
        vec![cert.der().clone()],
        key,
        &[&rustls::version::TLS13, &rustls::version::TLS12],
    )
}

/// Presents one certificate but signs with another key: rustls's own builder refuses such a pair, so
/// this resolver hands it over directly.
#[derive(Debug)]
struct WrongKey(Arc<CertifiedKey>);

impl ResolvesServerCert for WrongKey {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

fn impostor_server(
    cert: &Certificate,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ServerConfig> {
    let other = KeyPair::generate().expect("key");
    let signing = provider()
        .key_provider
        .load_private_key(der_key(&other))
        .expect("signing key");
    let ck = CertifiedKey::new(vec![cert.der().clone()], signing);
    Arc::new(
        ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)
            .expect("versions")
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(WrongKey(Arc::new(ck)))),
    )
}

/// Move records between the two ends until both finish or one fails; the client's error wins.
fn drive(client: &mut ClientConnection, server: &mut ServerConnection) -> Result<(), Error> {
    for _ in 0..16 {
        let mut wire = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut wire).expect("write to Vec");
        }
        let mut rd = &wire[..];
        while !rd.is_empty() {
            server.read_tls(&mut rd).expect("server read");
        }
        let server_result = server.process_new_packets().map(|_| ());
        let mut wire = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut wire).expect("write to Vec");
        }
        let mut rd = &wire[..];
        while !rd.is_empty() {
            client.read_tls(&mut rd).expect("client read");
        }
        client.process_new_packets()?;
        server_result?;
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok(());
        }
    }
    Err(Error::General("the handshake did not finish".into()))
}

/// Configure with `opts`, handshake against `server`, return the outcome and the client connection.
fn connect(
    opts: &TlsOptions,
    inspect: bool,
    server: Arc<ServerConfig>,
) -> (Result<(), Error>, ClientConnection, Tls) {
    let tls = configure(opts, inspect).expect("configuration");
    let mut client =
        ClientConnection::new(tls.config.clone(), tls.server_name.clone()).expect("client");
    let mut srv = ServerConnection::new(server).expect("server");
    let result = drive(&mut client, &mut srv);
    (result, client, tls)
}

struct Files(tempfile::TempDir);

impl Files {
    fn new() -> Files {
        Files(tempfile::tempdir().expect("temp dir"))
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.path().join(name);
        let mut f = std::fs::File::create(&path).expect("create");
        f.write_all(contents.as_bytes()).expect("write");
        path
    }
}

fn opts(trust: Option<PathBuf>) -> TlsOptions {
    TlsOptions {
        server_name: HOST.to_owned(),
        trust_file: trust,
        fingerprint: None,
        cert_file: None,
        key_file: None,
        certcheck: true,
    }
}

/// Options trusting `ca` (through a trust file in `files`).
fn trusting(files: &Files, ca: &Ca) -> TlsOptions {
    opts(Some(files.write("ca.pem", &ca.cert.pem())))
}

fn rejected(result: Result<(), Error>) -> String {
    describe_error(&result.expect_err("the handshake must fail"))
}

#[test]
fn trusted_chain_is_verified_and_described() {
    let files = Files::new();
    let authority = ca("Test Root CA");
    let (cert, key) = leaf(&authority, &[HOST]);
    let (result, client, tls) = connect(&trusting(&files, &authority), false, server(&cert, &key));
    result.expect("handshake");
    assert_eq!(tls.log.get(), Some(Verification::Verified));
    let info = peer_info(&client, &tls.log);
    assert_eq!(info.version, "TLSv1.3");
    assert!(info.cipher.starts_with("TLS13_"), "{}", info.cipher);
    assert!(info.subject.contains(HOST), "{}", info.subject);
    assert!(info.issuer.contains("Test Root CA"), "{}", info.issuer);
    assert!(
        info.not_before.starts_with("1975-01-01"),
        "{}",
        info.not_before
    );
    assert!(
        info.not_after.starts_with("4096-01-01"),
        "{}",
        info.not_after
    );
    assert_eq!(info.fingerprint, fingerprint(cert.der()));
    assert_eq!(info.fingerprint.len(), 95);
    assert_eq!(info.verification, Some(Verification::Verified));
}

#[test]
fn tls12_is_accepted() {
    let files = Files::new();
    let authority = ca("Test Root CA");
    let (cert, key) = leaf(&authority, &[HOST]);
    let srv = server_config(vec![cert.der().clone()], &key, &[&rustls::version::TLS12]);
    let (result, client, tls) = connect(&trusting(&files, &authority), false, srv);
    result.expect("handshake");
    let info = peer_info(&client, &tls.log);
    assert_eq!(info.version, "TLSv1.2");
    assert!(info.cipher.starts_with("TLS_ECDHE_"), "{}", info.cipher);
}

#[test]
fn unknown_authority_is_rejected() {
    let files = Files::new();
    let (cert, key) = leaf(&ca("Someone Else"), &[HOST]);
    let opts = trusting(&files, &ca("Test Root CA"));
    let (result, _, tls) = connect(&opts, false, server(&cert, &key));
    let why = rejected(result);
    assert!(why.contains("unknown authority"), "{why}");
    assert!(why.contains("--tls-trust-file"), "{why}");
    assert_eq!(tls.log.get(), Some(Verification::Failed(why)));
}

#[test]
fn expired_certificate_is_rejected() {
    let files = Files::new();
    let authority = ca("Test Root CA");
    let (cert, key) = expired_leaf(&authority);
    let (result, _, _) = connect(&trusting(&files, &authority), false, server(&cert, &key));
    let why = rejected(result);
    assert!(why.starts_with("the certificate has expired"), "{why}");
    assert!(why.contains("2001-01-01"), "{why}");
}

#[test]
fn wrong_name_is_rejected() {
    let files = Files::new();
    let authority = ca("Test Root CA");
    let (cert, key) = leaf(&authority, &["other.example.net"]);
    let (result, _, _) = connect(&trusting(&files, &authority), false, server(&cert, &key));
    let why = rejected(result);
    assert!(
        why.starts_with("the certificate is not valid for mail.example.org"),
        "{why}"
    );
    assert_eq!(
        why,
        "the certificate is not valid for mail.example.org (it names other.example.net)"
    );
}

#[test]
fn self_signed_is_rejected() {
    let files = Files::new();
    let (cert, key) = self_signed(&[HOST]);
    let opts = trusting(&files, &ca("Test Root CA"));
    let (result, _, _) = connect(&opts, false, server(&cert, &key));
    assert!(rejected(result).contains("unknown authority"));
}

#[test]
fn ca_certificate_as_leaf_is_rejected() {
    // A trusted CA certificate that names the host, presented by the server as its own.
    let files = Files::new();
    let mut params = leaf_params(&[HOST]);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("cert");
    let opts = opts(Some(files.write("ca.pem", &cert.pem())));
    let (result, _, _) = connect(&opts, false, server(&cert, &key));
    let why = rejected(result);
    assert!(why.contains("CA certificate"), "{why}");
}

#[test]
fn ip_address_names_are_checked_against_ip_entries() {
    let files = Files::new();
    let authority = ca("Test Root CA");
    let (cert, key) = leaf(&authority, &["127.0.0.1"]);
    let mut o = trusting(&files, &authority);
    o.server_name = "127.0.0.1".to_owned();
    let (result, _, tls) = connect(&o, false, server(&cert, &key));
    result.expect("IP match");
    assert_eq!(tls.log.get(), Some(Verification::Verified));

    let (cert, key) = leaf(&authority, &[HOST]);
    let (result, _, _) = connect(&o, false, server(&cert, &key));
    assert!(rejected(result).contains("not valid for 127.0.0.1"));
}

#[test]
fn right_pin_accepts_any_issuer_and_name() {
    let (cert, key) = self_signed(&["unrelated.example"]);
    let mut o = opts(None);
    // Lower case without colons, as users paste it.
    o.fingerprint = Some(fingerprint(cert.der()).replace(':', "").to_lowercase());
    let (result, _, tls) = connect(&o, false, server(&cert, &key));
    result.expect("pinned handshake");
    assert_eq!(tls.log.get(), Some(Verification::Pinned));
}

#[test]
fn pin_overrides_the_trust_file() {
    let files = Files::new();
    let authority = ca("Test Root CA");
    let (cert, key) = leaf(&authority, &[HOST]);
    let (other, _) = self_signed(&[HOST]);
    let mut o = trusting(&files, &authority);
    o.fingerprint = Some(fingerprint(other.der()));
    let (result, _, _) = connect(&o, false, server(&cert, &key));
    let why = rejected(result);
    assert!(why.contains("does not match --tls-fingerprint"), "{why}");
    assert!(why.contains(&fingerprint(cert.der())), "{why}");
}

#[test]
fn pin_still_requires_the_handshake_signature() {
    let (cert, _) = self_signed(&[HOST]);
    let mut o = opts(None);
    o.fingerprint = Some(fingerprint(cert.der()));
    for versions in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let (result, _, tls) = connect(&o, false, impostor_server(&cert, &[versions]));
        assert!(
            result.is_err(),
            "{versions:?}: a certificate without its key passed"
        );
        // The certificate itself matched; the signature is what failed.
        assert_eq!(tls.log.get(), Some(Verification::Pinned));
    }
}

#[test]
fn certcheck_off_accepts_anything_but_still_checks_the_signature() {
    let (cert, key) = self_signed(&["unrelated.example"]);
    let mut o = opts(None);
    o.certcheck = false;
    let (result, _, tls) = connect(&o, false, server(&cert, &key));
    result.expect("handshake");
    assert_eq!(tls.log.get(), Some(Verification::Disabled));

    let (expired, key) = expired_leaf(&ca("Nobody"));
    let (result, _, _) = connect(&o, false, server(&expired, &key));
    result.expect("expired accepted when checking is off");

    let (result, _, _) = connect(
        &o,
        false,
        impostor_server(&cert, &[&rustls::version::TLS13]),
    );
    assert!(result.is_err());
}

#[test]
fn inspect_mode_records_the_failure_and_completes() {
    let files = Files::new();
    let authority = ca("Test Root CA");
    let (cert, key) = expired_leaf(&authority);
    let (result, client, tls) = connect(&trusting(&files, &authority), true, server(&cert, &key));
    result.expect("inspect mode lets the handshake finish");
    let info = peer_info(&client, &tls.log);
    match info.verification {
        Some(Verification::Failed(why)) => assert!(why.contains("expired"), "{why}"),
        other => panic!("expected a recorded failure, got {other:?}"),
    }
    assert!(
        info.not_after.starts_with("2001-01-01"),
        "{}",
        info.not_after
    );
    assert_eq!(info.fingerprint, fingerprint(cert.der()));

    // A wrong pin in inspect mode is recorded the same way.
    let mut o = opts(None);
    o.fingerprint = Some("00".repeat(32));
    let (result, _, tls) = connect(&o, true, server(&cert, &key));
    result.expect("inspect");
    assert!(matches!(tls.log.get(), Some(Verification::Failed(_))));
}

#[test]
fn client_certificate_is_presented() {
    let files = Files::new();
    let authority = ca("Test Root CA");
    let client_ca = ca("Client CA");
    let (server_cert, server_key) = leaf(&authority, &[HOST]);
    let client_key = KeyPair::generate().expect("key");
    let mut params = leaf_params(&["client.example.org"]);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = params
        .signed_by(&client_key, &client_ca.issuer)
        .expect("client cert");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(client_ca.cert.der().clone()).expect("root");
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .expect("client verifier");
    let srv = Arc::new(
        ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![server_cert.der().clone()], der_key(&server_key))
            .expect("server"),
    );

    let (result, _, _) = connect(&trusting(&files, &authority), false, srv.clone());
    assert!(result.is_err(), "the server demands a client certificate");

    let mut o = trusting(&files, &authority);
    // One combined PEM file: the key is looked for in the certificate file.
    let combined = format!("{}{}", client_cert.pem(), client_key.serialize_pem());
    o.cert_file = Some(files.write("client.pem", &combined));
    let (result, _, _) = connect(&o, false, srv);
    result.expect("client certificate accepted");
}

#[test]
fn client_certificate_files_are_checked_before_connecting() {
    let files = Files::new();
    let (cert, key) = self_signed(&["client.example.org"]);
    let (_, other_key) = self_signed(&["client.example.org"]);
    let cert_path = files.write("cert.pem", &cert.pem());
    let key_path = files.write("key.pem", &key.serialize_pem());
    let other_path = files.write("other.pem", &other_key.serialize_pem());
    let mut o = opts(None);
    o.certcheck = false;

    o.cert_file = Some(cert_path.clone());
    o.key_file = Some(key_path.clone());
    configure(&o, false).expect("matching pair");

    o.key_file = Some(other_path.clone());
    let err = configure(&o, false).unwrap_err();
    assert!(matches!(err, TlsConfigError::KeyMismatch { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("other.pem") && msg.contains("cert.pem"),
        "{msg}"
    );

    // The certificate file alone holds no key.
    o.key_file = None;
    let err = configure(&o, false).unwrap_err();
    assert!(matches!(err, TlsConfigError::NoKey { .. }), "{err}");

    o.cert_file = None;
    o.key_file = Some(key_path.clone());
    assert!(matches!(
        configure(&o, false),
        Err(TlsConfigError::KeyWithoutCert { .. })
    ));

    o.cert_file = Some(files.0.path().join("missing.pem"));
    let err = configure(&o, false).unwrap_err();
    assert!(err.to_string().contains("missing.pem"), "{err}");

    o.cert_file = Some(key_path);
    o.key_file = Some(other_path);
    assert!(matches!(
        configure(&o, false),
        Err(TlsConfigError::NoCertificate { .. })
    ));
}

#[test]
fn trust_file_problems_are_config_errors() {
    let files = Files::new();
    let mut o = opts(Some(files.write("empty.pem", "no PEM here\n")));
    let err = configure(&o, false).unwrap_err();
    assert!(matches!(err, TlsConfigError::NoCertificate { .. }), "{err}");
    assert!(err.to_string().contains("empty.pem"));

    o.trust_file = Some(files.0.path().join("absent.pem"));
    let err = configure(&o, false).unwrap_err();
    assert!(matches!(err, TlsConfigError::Read { .. }), "{err}");
    assert!(err.to_string().contains("absent.pem"));
}

#[test]
fn fingerprints_parse_and_format() {
    let der = b"not really a certificate";
    let shown = fingerprint(der);
    assert_eq!(shown.split(':').count(), 32);
    assert!(
        shown
            .chars()
            .all(|c| c == ':' || c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
    );
    let digest: [u8; 32] = Sha256::digest(der).into();
    assert_eq!(parse_fingerprint(&shown).unwrap(), digest);
    assert_eq!(
        parse_fingerprint(&shown.replace(':', "").to_lowercase()).unwrap(),
        digest
    );
    for bad in [
        "",
        "AA:BB",
        &"0".repeat(63),
        &"g".repeat(64),
        &"0".repeat(40),
        "é".repeat(32).as_str(),
    ] {
        let err = parse_fingerprint(bad).unwrap_err();
        assert!(matches!(err, TlsConfigError::Fingerprint(_)), "{bad:?}");
    }
    let mut o = opts(None);
    o.fingerprint = Some("AB:CD".to_owned());
    assert!(matches!(
        configure(&o, false),
        Err(TlsConfigError::Fingerprint(_))
    ));
}

#[test]
fn server_names() {
    assert!(matches!(
        server_name("127.0.0.1"),
        Ok(ServerName::IpAddress(_))
    ));
    assert!(matches!(server_name("[::1]"), Ok(ServerName::IpAddress(_))));
    assert!(matches!(server_name("::1"), Ok(ServerName::IpAddress(_))));
    assert!(matches!(server_name(HOST), Ok(ServerName::DnsName(_))));
    assert!(matches!(
        server_name("localhost"),
        Ok(ServerName::DnsName(_))
    ));
    for bad in ["", "bad name", "mail\r\n.example.org", "[mail.example.org"] {
        assert!(
            matches!(server_name(bad), Err(TlsConfigError::ServerName(_))),
            "{bad:?}"
        );
    }
}

/// Feed the client raw server bytes and describe what it makes of them.
fn client_reaction(server_bytes: &[u8]) -> String {
    let mut o = opts(None);
    o.certcheck = false;
    let tls = configure(&o, false).expect("config");
    let mut client = ClientConnection::new(tls.config, tls.server_name).expect("client");
    let mut hello = Vec::new();
    client.write_tls(&mut hello).expect("client hello");
    let mut rd = server_bytes;
    client.read_tls(&mut rd).expect("read");
    describe_error(&client.process_new_packets().expect_err("must fail"))
}

#[test]
fn old_protocol_versions_get_a_clear_error() {
    // A TLS 1.0 ServerHello: record 16 03 01, handshake type 2, version 03 01, 32 random bytes, empty
    // session id, TLS_RSA_WITH_AES_128_CBC_SHA, null compression.
    let mut body = vec![0x03, 0x01];
    body.extend([0x42; 32]);
    body.extend([0x00, 0x00, 0x2f, 0x00]);
    let mut handshake = vec![0x02, 0x00, 0x00, u8::try_from(body.len()).unwrap()];
    handshake.extend(body);
    let mut record = vec![
        0x16,
        0x03,
        0x01,
        0x00,
        u8::try_from(handshake.len()).unwrap(),
    ];
    record.extend(handshake);
    let why = client_reaction(&record);
    assert_eq!(
        why,
        "the server offered no TLS version we accept (TLS 1.2 or 1.3)"
    );

    // A protocol_version alert, as OpenSSL sends when it has no version in common.
    let why = client_reaction(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]);
    assert_eq!(
        why,
        "the server offered no TLS version we accept (TLS 1.2 or 1.3)"
    );
}

#[test]
fn plaintext_greeting_on_a_tls_port_is_explained() {
    let why = client_reaction(b"220 mail.example.org ESMTP\r\n");
    assert!(why.contains("did not answer with TLS"), "{why}");
}

#[test]
fn verification_is_displayed_for_the_trace() {
    assert!(Verification::Verified.to_string().starts_with("verified"));
    assert!(
        Verification::Disabled
            .to_string()
            .contains("--tls-certcheck off")
    );
    assert_eq!(Verification::Failed("x".into()).to_string(), "FAILED: x");
    assert_eq!(VerifyLog::default().get(), None);
}
