//! A throw-away test PKI (rcgen): a CA, a server leaf for `localhost`/127.0.0.1/::1 signed by it, and the bad
//! certificates of catalogue A5 (expired, wrong name, self-signed, a CA used as the leaf), plus a client
//! certificate (catalogue A9). PEM files go into a temp dir; rustls `ServerConfig`s use the ring provider.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// The names every good server certificate carries.
const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// One certificate with its key, in memory and as PEM files.
pub struct Leaf {
    pub cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

impl Leaf {
    fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }

    /// A server presenting this certificate, no client authentication, TLS 1.2 and 1.3.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![self.cert_der.clone()], self.key())
            .expect("a freshly generated certificate and its key match");
        Arc::new(config)
    }

    /// The SHA-256 fingerprint of the DER certificate, upper-case hex with colons (msmtp's form).
    pub fn fingerprint(&self) -> String {
        Sha256::digest(self.cert_der.as_ref())
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    }
}

pub struct Pki {
    dir: TempDir,
    ca_der: CertificateDer<'static>,
    /// The CA certificate alone, for `--tls-trust-file`.
    pub ca_path: PathBuf,
    pub server: Leaf,
    pub expired: Leaf,
    pub wrong_name: Leaf,
    pub self_signed: Leaf,
    /// A CA certificate (signed by the test CA) presented as the server's own certificate.
    pub ca_as_leaf: Leaf,
    /// A client-authentication certificate signed by the test CA.
    pub client: Leaf,
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().expect("temp dir for the test PKI");
        let ca_key = KeyPair::generate().expect("key generation");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("no names");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "mailsend test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).expect("self-signed CA");
        let ca_path = dir.path().join("ca.pem");
        fs::write(&ca_path, ca_cert.pem()).expect("write ca.pem");
        let ca = Issuer::new(ca_params, ca_key);

        let make = |name: &str, spec: Spec| issue(dir.path(), name, spec, &ca);
        let server = make("server", Spec::server(&SERVER_NAMES));
        let expired = make(
            "expired",
            Spec {
                expired: true,
                ..Spec::server(&SERVER_NAMES)
            },
        );
        let wrong_name = make("wrong-name", Spec::server(&["mail.other.example"]));
        let self_signed = issue_self_signed(dir.path(), "self-signed");
        let ca_as_leaf = make(
            "ca-as-leaf",
            Spec {
                is_ca: true,
                ..Spec::server(&SERVER_NAMES)
            },
        );
        let client = make(
            "client",
            Spec {
                client: true,
                ..Spec::server(&["client.example"])
            },
        );
        Pki {
            ca_der: ca_cert.der().clone(),
            dir,
            ca_path,
            server,
            expired,
            wrong_name,
            self_signed,
            ca_as_leaf,
            client,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The good server certificate, and a client certificate from the test CA is required.
    pub fn server_config_requiring_client_cert(&self) -> Arc<ServerConfig> {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.ca_der.clone())
            .expect("the test CA is a valid trust anchor");
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .expect("client verifier from one root");
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![self.server.cert_der.clone()], self.server.key())
            .expect("a freshly generated certificate and its key match");
        Arc::new(config)
    }
}

pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

struct Spec<'a> {
    names: &'a [&'a str],
    expired: bool,
    is_ca: bool,
    client: bool,
}

impl<'a> Spec<'a> {
    fn server(names: &'a [&'a str]) -> Spec<'a> {
        Spec {
            names,
            expired: false,
            is_ca: false,
            client: false,
        }
    }
}

fn issue(dir: &Path, file: &str, spec: Spec<'_>, ca: &Issuer<'static, KeyPair>) -> Leaf {
    let key = KeyPair::generate().expect("key generation");
    let names: Vec<String> = spec.names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).expect("valid names");
    params.distinguished_name.push(
        DnType::CommonName,
        spec.names.first().copied().unwrap_or(file),
    );
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![if spec.client {
        ExtendedKeyUsagePurpose::ClientAuth
    } else {
        ExtendedKeyUsagePurpose::ServerAuth
    }];
    if spec.expired {
        params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        params.not_after = rcgen::date_time_ymd(2001, 1, 1);
    }
    if spec.is_ca {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages.push(KeyUsagePurpose::KeyCertSign);
    }
    let cert = params.signed_by(&key, ca).expect("signing by the test CA");
    write_leaf(dir, file, cert.der().clone(), &cert.pem(), &key)
}

fn issue_self_signed(dir: &Path, file: &str) -> Leaf {
    self_signed(dir, file, false)
}

/// What `openssl req -x509` makes by default and small servers ship: a self-signed certificate that
/// is also marked as a CA (basicConstraints CA:TRUE), naming localhost (issue 10, point 22).
pub fn issue_self_signed_ca(dir: &Path, file: &str) -> Leaf {
    self_signed(dir, file, true)
}

fn self_signed(dir: &Path, file: &str, is_ca: bool) -> Leaf {
    let key = KeyPair::generate().expect("key generation");
    let names: Vec<String> = SERVER_NAMES.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).expect("valid names");
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    if is_ca {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    }
    let cert = params.self_signed(&key).expect("self-signing");
    write_leaf(dir, file, cert.der().clone(), &cert.pem(), &key)
}

fn write_leaf(
    dir: &Path,
    file: &str,
    cert_der: CertificateDer<'static>,
    cert_pem: &str,
    key: &KeyPair,
) -> Leaf {
    let cert_path = dir.join(format!("{file}.pem"));
    let key_path = dir.join(format!("{file}.key"));
    fs::write(&cert_path, cert_pem).expect("write certificate");
    fs::write(&key_path, key.serialize_pem()).expect("write key");
    // A key file readable by others would be refused by a careful client (catalogue C23 spirit).
    fs::set_permissions(&key_path, fs::Permissions::from_mode(0o600)).expect("chmod key");
    Leaf {
        cert_der,
        key_der: key.serialize_der(),
        cert_path,
        key_path,
    }
}
