//! TLS client configuration (spec §4, catalogue section A): trust roots (system store through
//! rustls-native-certs, or `--tls-trust-file`), SHA-256 certificate pinning, `--tls-certcheck off`, client
//! certificates, the server name used for SNI and verification (RFC 6066 §3, RFC 6125), TLS 1.2 and 1.3
//! only (RFC 8996 deprecates older versions). Also the user-facing account of a handshake:
//! [`peer_info`] for the trace and `--serverinfo`, [`describe_error`] for error messages.
//!
//! The verifier itself lives in [`verify`]; what it concluded is kept in a [`VerifyLog`].

mod verify;

use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{CertificateError, ClientConfig, Error, PeerIncompatible, ProtocolVersion};
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What the user asked of TLS.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// The host as given, or `--tls-server-name`; an IP literal (brackets allowed) is checked against
    /// the certificate's IP address entries.
    pub server_name: String,
    /// PEM CA certificates to trust instead of the system store.
    pub trust_file: Option<PathBuf>,
    /// SHA-256 of the server certificate, hex, colons optional, any case. Takes precedence over the
    /// trust file and over `certcheck` (msmtp's `tls_fingerprint` rule, catalogue A.8).
    pub fingerprint: Option<String>,
    pub cert_file: Option<PathBuf>,
    /// The client key; when absent, the key is looked for in `cert_file` (a combined PEM).
    pub key_file: Option<PathBuf>,
    /// `false` is `--tls-certcheck off`: any certificate is accepted.
    pub certcheck: bool,
}

/// A TLS configuration that cannot be used (exit 78). Messages name the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} contains no PEM certificate", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{} contains no usable CA certificate ({reason})", path.display())]
    BadTrustFile { path: PathBuf, reason: String },
    #[error("{} contains no PEM private key", path.display())]
    NoKey { path: PathBuf },
    #[error("the client key {} was given without a client certificate (--tls-cert-file)", path.display())]
    KeyWithoutCert { path: PathBuf },
    #[error("the private key in {} does not match the certificate in {}", key.display(), cert.display())]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error("cannot use the client certificate {} with the key {}: {reason}", cert.display(), key.display())]
    ClientCert {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
    #[error(
        "invalid TLS fingerprint {0:?}: expected a SHA-256 fingerprint of 64 hex digits (colons optional)"
    )]
    Fingerprint(String),
    #[error("invalid TLS server name {0:?}: expected a host name or an IP address")]
    ServerName(String),
    #[error(
        "no trusted CA certificates found in the system store{0} (use --tls-trust-file or --tls-fingerprint)"
    )]
    NoSystemRoots(String),
    #[error("cannot set up TLS: {0}")]
    Setup(String),
}

/// What certificate verification concluded, for the trace and `--serverinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// The chain leads to a trusted root and the certificate is valid for the server name.
    Verified,
    /// The certificate matched `--tls-fingerprint`.
    Pinned,
    /// `--tls-certcheck off`: nothing was checked but the handshake signature.
    Disabled,
    /// Why it failed, as a user's sentence.
    Failed(String),
}

impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verification::Verified => f.write_str("verified (trusted chain, name matches)"),
            Verification::Pinned => {
                f.write_str("pinned (the fingerprint matches --tls-fingerprint)")
            }
            Verification::Disabled => {
                f.write_str("NOT VERIFIED: certificate checking is off (--tls-certcheck off)")
            }
            Verification::Failed(why) => write!(f, "FAILED: {why}"),
        }
    }
}

/// Shared record of what certificate verification concluded (for the trace and `--serverinfo`).
/// Each handshake overwrites it.
#[derive(Debug, Clone, Default)]
pub struct VerifyLog(Arc<Mutex<Option<Verification>>>);

impl VerifyLog {
    /// The last conclusion, if a certificate has been judged.
    pub fn get(&self) -> Option<Verification> {
        // A poisoned lock still holds a whole value: the writer only assigns.
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set(&self, v: Verification) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(v);
    }
}

/// A ready client configuration for one server.
#[derive(Debug, Clone)]
pub struct Tls {
    pub config: Arc<ClientConfig>,
    pub server_name: ServerName<'static>,
    pub log: VerifyLog,
}

/// Build the client configuration. All files are read and checked here, before any connection
/// (catalogue A.9). System roots are loaded only here, i.e. only when TLS is used.
///
/// `inspect` (for `--serverinfo`): a failed verification is recorded in the log and the handshake is
/// allowed to finish so the certificate can be shown; the caller then exits 76 and sends nothing.
/// Never used for sending.
pub fn configure(opts: &TlsOptions, inspect: bool) -> Result<Tls, TlsConfigError> {
    let server_name = server_name(&opts.server_name)?;
    let pin = opts
        .fingerprint
        .as_deref()
        .map(parse_fingerprint)
        .transpose()?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mode = match pin {
        Some(pin) => verify::Mode::Pin(pin),
        None if !opts.certcheck => verify::Mode::Off,
        None => {
            let roots = match &opts.trust_file {
                Some(path) => trust_file_roots(path)?,
                None => system_roots()?,
            };
            let inner =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| TlsConfigError::Setup(e.to_string()))?;
            verify::Mode::WebPki(inner)
        }
    };
    let log = VerifyLog::default();
    let verifier = Arc::new(verify::Verifier {
        mode,
        log: log.clone(),
        inspect,
        algorithms: provider.signature_verification_algorithms,
    });
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsConfigError::Setup(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match (&opts.cert_file, &opts.key_file) {
        (None, None) => builder.with_no_client_auth(),
        (None, Some(key)) => return Err(TlsConfigError::KeyWithoutCert { path: key.clone() }),
        (Some(cert), key) => {
            let key = key.as_ref().unwrap_or(cert);
            let chain = read_certs(cert)?;
            let private = read_key(key)?;
            builder
                .with_client_auth_cert(chain, private)
                .map_err(|e| client_cert_error(cert, key, e))?
        }
    };
    // A resumed TLS 1.3 session skips certificate verification, which would leave the log describing
    // an earlier handshake; one connection per run gains nothing from resumption.
    config.resumption = Resumption::disabled();
    Ok(Tls {
        config: Arc::new(config),
        server_name,
        log,
    })
}

/// Parse a `--tls-fingerprint` value: SHA-256, 64 hex digits, colons optional, any case.
pub fn parse_fingerprint(s: &str) -> Result<[u8; 32], TlsConfigError> {
    let bad = || TlsConfigError::Fingerprint(s.to_owned());
    let hex: Vec<u8> = s.trim().bytes().filter(|&b| b != b':').collect();
    if hex.len() != 64 {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let text = std::str::from_utf8(pair).map_err(|_| bad())?;
        *o = u8::from_str_radix(text, 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// The SHA-256 fingerprint of a DER certificate in the form `--tls-fingerprint` takes (`AA:BB:…`).
pub fn fingerprint(der: &[u8]) -> String {
    format_fingerprint(&Sha256::digest(der).into())
}

fn format_fingerprint(digest: &[u8; 32]) -> String {
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}

/// RFC 6066 §3: SNI carries DNS names only; rustls sends none for an IP address, which is then matched
/// against the certificate's iPAddress entries (RFC 6125 §3.1.3.2).
fn server_name(name: &str) -> Result<ServerName<'static>, TlsConfigError> {
    let bare = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(bare.to_owned()).map_err(|_| TlsConfigError::ServerName(name.to_owned()))
}

fn open(path: &Path) -> Result<BufReader<std::fs::File>, TlsConfigError> {
    std::fs::File::open(path)
        .map(BufReader::new)
        .map_err(|source| TlsConfigError::Read {
            path: path.to_owned(),
            source,
        })
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let certs = rustls_pemfile::certs(&mut open(path)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsConfigError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsConfigError> {
    rustls_pemfile::private_key(&mut open(path)?)
        .map_err(|source| TlsConfigError::Read {
            path: path.to_owned(),
            source,
        })?
        .ok_or_else(|| TlsConfigError::NoKey {
            path: path.to_owned(),
        })
}

fn client_cert_error(cert: &Path, key: &Path, e: Error) -> TlsConfigError {
    match e {
        Error::InconsistentKeys(_) => TlsConfigError::KeyMismatch {
            cert: cert.to_owned(),
            key: key.to_owned(),
        },
        other => TlsConfigError::ClientCert {
            cert: cert.to_owned(),
            key: key.to_owned(),
            reason: other.to_string(),
        },
    }
}

fn trust_file_roots(path: &Path) -> Result<rustls::RootCertStore, TlsConfigError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in read_certs(path)? {
        roots.add(cert).map_err(|e| TlsConfigError::BadTrustFile {
            path: path.to_owned(),
            reason: describe_error(&e),
        })?;
    }
    Ok(roots)
}

fn system_roots() -> Result<rustls::RootCertStore, TlsConfigError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    // Unparsable entries in the system store are skipped, as every TLS client does.
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let detail = found
            .errors
            .first()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        return Err(TlsConfigError::NoSystemRoots(detail));
    }
    Ok(roots)
}

/// The negotiated parameters and the server certificate, for the trace and `--serverinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// `TLSv1.3` or `TLSv1.2`.
    pub version: String,
    /// The IANA cipher suite name, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher: String,
    pub subject: String,
    pub issuer: String,
    /// `YYYY-MM-DD HH:MM:SS UTC`.
    pub not_before: String,
    pub not_after: String,
    /// SHA-256, in the form `--tls-fingerprint` takes.
    pub fingerprint: String,
    pub verification: Option<Verification>,
}

/// Describe an established (or inspected) connection. Missing pieces are empty strings.
pub fn peer_info(conn: &rustls::ClientConnection, log: &VerifyLog) -> PeerInfo {
    let version = match conn.protocol_version() {
        Some(ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
        Some(ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    };
    let cipher = conn
        .negotiated_cipher_suite()
        .map(|s| {
            let suite = s.suite();
            suite
                .as_str()
                .map_or_else(|| format!("{suite:?}"), str::to_owned)
        })
        .unwrap_or_default();
    let mut info = PeerInfo {
        version,
        cipher,
        subject: String::new(),
        issuer: String::new(),
        not_before: String::new(),
        not_after: String::new(),
        fingerprint: String::new(),
        verification: log.get(),
    };
    let Some(leaf) = conn.peer_certificates().and_then(|c| c.first()) else {
        return info;
    };
    info.fingerprint = fingerprint(leaf.as_ref());
    match x509_parser::parse_x509_certificate(leaf.as_ref()) {
        Ok((_, cert)) => {
            info.subject = cert.subject().to_string();
            info.issuer = cert.issuer().to_string();
            info.not_before = utc(cert.validity().not_before.timestamp());
            info.not_after = utc(cert.validity().not_after.timestamp());
        }
        Err(_) => info.subject = "(the certificate cannot be parsed)".to_owned(),
    }
    info
}

fn utc(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| secs.to_string())
}

/// A server that answers in plaintext; the caller adds the advice that fits the TLS mode.
pub const NOT_TLS: &str = "the server did not answer with TLS";

/// Issue 10, point 22: a certificate nobody vouches for may still be the one the user means to trust (a
/// self-signed one on a small server); say how to check it and how to trust it.
const TRUST_HINT: &str = "`mailsend --serverinfo` shows its SHA-256 fingerprint; \
                          --tls-fingerprint pins it; --tls-trust-file trusts the CA that signed it";

/// Whether `e` refuses a certificate: the server's (not trusted, expired, another name, none at all)
/// or ours (the server does not trust it, or wants one). Such a failure repeats until the trust
/// set-up changes.
pub fn is_certificate_error(e: &Error) -> bool {
    use rustls::AlertDescription as A;
    matches!(
        e,
        Error::InvalidCertificate(_)
            | Error::NoCertificatesPresented
            | Error::AlertReceived(
                A::UnknownCA
                    | A::CertificateRequired
                    | A::BadCertificate
                    | A::CertificateExpired
                    | A::CertificateRevoked
                    | A::CertificateUnknown
                    | A::UnsupportedCertificate
            )
    )
}

/// A TLS failure as a user's sentence (spec §7: what failed, in one line).
pub fn describe_error(e: &Error) -> String {
    const NO_VERSION: &str = "the server offered no TLS version we accept (TLS 1.2 or 1.3)";
    match e {
        Error::InvalidCertificate(c) => describe_certificate_error(c),
        Error::NoCertificatesPresented => "the server presented no certificate".to_owned(),
        Error::PeerIncompatible(
            PeerIncompatible::ServerDoesNotSupportTls12Or13
            | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
            | PeerIncompatible::SupportedVersionsExtensionRequired
            | PeerIncompatible::Tls12NotOffered
            | PeerIncompatible::Tls12NotOfferedOrEnabled,
        ) => NO_VERSION.to_owned(),
        Error::AlertReceived(rustls::AlertDescription::ProtocolVersion) => NO_VERSION.to_owned(),
        Error::PeerIncompatible(p) => {
            format!("the server's TLS settings are incompatible with ours ({p:?})")
        }
        Error::AlertReceived(rustls::AlertDescription::UnknownCA) => {
            "the server does not trust our client certificate".to_owned()
        }
        Error::AlertReceived(rustls::AlertDescription::CertificateRequired) => {
            "the server requires a client certificate (--tls-cert-file)".to_owned()
        }
        Error::AlertReceived(a) => format!("the server aborted the TLS handshake ({a:?})"),
        Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType) => NOT_TLS.to_owned(),
        Error::InvalidMessage(m) => format!("the server sent a malformed TLS message ({m:?})"),
        Error::PeerMisbehaved(m) => format!("the server broke the TLS protocol ({m:?})"),
        Error::DecryptError => "the TLS connection was corrupted (decryption failed)".to_owned(),
        other => format!("TLS error: {other}"),
    }
}

/// Why the server's certificate was refused, as a user's sentence.
fn describe_certificate_error(c: &CertificateError) -> String {
    match c {
        CertificateError::Expired => "the certificate has expired".to_owned(),
        CertificateError::ExpiredContext { not_after, .. } => format!(
            "the certificate has expired (valid until {})",
            utc(i64::try_from(not_after.as_secs()).unwrap_or(i64::MAX))
        ),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "the certificate is not valid yet (or the local clock is wrong)".to_owned()
        }
        CertificateError::NotValidForName => {
            "the certificate is not valid for the server name".to_owned()
        }
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => {
            let mut s = format!("the certificate is not valid for {}", expected.to_str());
            if !presented.is_empty() {
                let names: Vec<&str> = presented.iter().map(|p| presented_name(p)).collect();
                s.push_str(&format!(" (it names {})", names.join(", ")));
            }
            s
        }
        CertificateError::UnknownIssuer => {
            format!("the certificate is signed by an unknown authority ({TRUST_HINT})")
        }
        // rustls reports a bad handshake signature the same way as a bad chain signature.
        CertificateError::BadSignature => "a signature in the certificate chain or the handshake \
                                           is invalid (the server may not hold the certificate's key)"
            .to_owned(),
        CertificateError::Revoked => "the certificate has been revoked".to_owned(),
        CertificateError::BadEncoding => "the certificate is malformed".to_owned(),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "the certificate is not meant for a TLS server".to_owned()
        }
        CertificateError::Other(o) => {
            if let Some(pin) = o.0.downcast_ref::<verify::PinMismatch>() {
                return pin.to_string();
            }
            // rustls-webpki's CaUsedAsEndEntity reaches us only as text (its error type is not
            // re-exported by rustls); catalogue A.5 names this case.
            let text = o.0.to_string();
            if text.contains("CaUsedAsEndEntity") {
                format!(
                    "the server presented a CA certificate as its own certificate (a self-signed \
                     certificate made as a CA?) ({TRUST_HINT})"
                )
            } else {
                format!("the certificate was rejected ({text})")
            }
        }
        other => format!("the certificate was rejected ({other:?})"),
    }
}

/// rustls-webpki reports a certificate's names as `DnsName("host")` or `IpAddress(1.2.3.4)`; a user
/// needs only the value.
fn presented_name(p: &str) -> &str {
    p.split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .map_or(p, |v| v.trim_matches('"'))
}

#[cfg(test)]
mod tests;
