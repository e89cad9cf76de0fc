//! The server certificate verifier: WebPKI chain and name checks (RFC 5280, RFC 6125 via rustls-webpki),
//! a SHA-256 pin (catalogue A.8), or none (`--tls-certcheck off`). In every mode the handshake signature
//! is verified (RFC 8446 §4.4.3, RFC 5246 §7.4.8), so a pinned or unchecked certificate still proves the
//! server holds its key. Each outcome is written to the shared [`VerifyLog`].

use super::{Verification, VerifyLog, describe_error};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, OtherError, SignatureScheme};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// How the server's certificate is judged.
#[derive(Debug)]
pub(super) enum Mode {
    /// Chain to a trusted root, validity and host name.
    WebPki(Arc<WebPkiServerVerifier>),
    /// Exactly this end-entity certificate (SHA-256 of its DER), whatever its issuer and names.
    Pin([u8; 32]),
    /// Any certificate (`--tls-certcheck off`).
    Off,
}

#[derive(Debug)]
pub(super) struct Verifier {
    pub(super) mode: Mode,
    pub(super) log: VerifyLog,
    /// `--serverinfo`: record a failure but let the handshake finish so the certificate can be shown.
    pub(super) inspect: bool,
    pub(super) algorithms: WebPkiSupportedAlgorithms,
}

/// The pin did not match; carried inside `CertificateError::Other` so that the handshake error and
/// [`describe_error`] can name it.
#[derive(Debug, thiserror::Error)]
#[error(
    "the certificate's SHA-256 fingerprint {0} does not match --tls-fingerprint (the server \
     presented a different certificate)"
)]
pub(super) struct PinMismatch(pub(super) String);

impl Verifier {
    /// Record a failure; in inspect mode accept it so the handshake can complete.
    fn fail(&self, e: Error) -> Result<ServerCertVerified, Error> {
        self.log.set(Verification::Failed(describe_error(&e)));
        if self.inspect {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(e)
        }
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        match &self.mode {
            Mode::WebPki(inner) => {
                match inner.verify_server_cert(
                    end_entity,
                    intermediates,
                    server_name,
                    ocsp_response,
                    now,
                ) {
                    Ok(ok) => {
                        self.log.set(Verification::Verified);
                        Ok(ok)
                    }
                    Err(e) => self.fail(e),
                }
            }
            Mode::Pin(pin) => {
                let got: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
                if &got == pin {
                    self.log.set(Verification::Pinned);
                    Ok(ServerCertVerified::assertion())
                } else {
                    let mismatch = PinMismatch(super::format_fingerprint(&got));
                    self.fail(CertificateError::Other(OtherError(Arc::new(mismatch))).into())
                }
            }
            Mode::Off => {
                self.log.set(Verification::Disabled);
                Ok(ServerCertVerified::assertion())
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
