//! The certificate policy (spec §4, catalogue A5, A6, A8, A9): each bad certificate refused by default on
//! both configuration paths (STARTTLS and implicit TLS), `--tls-certcheck off` noted in the trace, pinning
//! right and wrong (and the handshake signature still checked), `--tls-server-name` for SNI and
//! verification, and client certificates.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

use super::raw;
use super::{MODES, Mode, arg, run_args, trusting};
use crate::certs::{Leaf, Pki};
use crate::fixture::{
    assert_no_message, assert_quiet_success, assert_stderr_mentions, msg_on_wire,
};
use crate::harness::Run;

/// A refused certificate: exit 76, a message naming the reason, no TLS session and nothing sent in it.
#[track_caller]
fn assert_refused(r: &Run, mode: Mode, reason: &str) {
    assert_eq!(
        r.code,
        Some(76),
        "{mode:?}: exit code; stderr: {}",
        r.stderr
    );
    assert!(
        r.stderr.to_lowercase().contains(&reason.to_lowercase()),
        "{mode:?}: stderr should say {reason:?}: {}",
        r.stderr
    );
    let t = &r.transcript;
    assert!(!t.tls_established, "{mode:?}");
    assert!(
        !t.saw("MAIL") && !t.saw("AUTH"),
        "{mode:?}: {:?}",
        t.commands
    );
    assert_no_message(t);
    if let Mode::StartTls = mode {
        assert_eq!(
            t.verbs(),
            ["EHLO", "STARTTLS"],
            "{mode:?}: nothing after the 220"
        );
    }
}

/// The server presents `leaf`; the client trusts the test CA.
fn presenting(leaf: impl Fn(&Pki) -> &Leaf, reason: &str) {
    for mode in MODES {
        let pki = Pki::new();
        let r = run_args(
            mode.script(leaf(&pki).server_config()),
            &trusting(&pki, mode),
        );
        assert_refused(&r, mode, reason);
    }
}

/// A CA of its own name that signed nothing here, written next to the test PKI.
fn unrelated_ca(pki: &Pki) -> PathBuf {
    let key = KeyPair::generate().expect("key generation");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("no names");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "an unrelated CA");
    let cert = params.self_signed(&key).expect("self-signed CA");
    let path = pki.dir().join("unrelated-ca.pem");
    std::fs::write(&path, cert.pem()).expect("write the unrelated CA");
    path
}

#[test]
fn a5_unknown_ca_is_refused() {
    // The good server certificate, but the client trusts another CA only.
    for mode in MODES {
        let pki = Pki::new();
        let args = [
            "--tls".into(),
            mode.flag().into(),
            "--tls-trust-file".into(),
            arg(&unrelated_ca(&pki)),
        ];
        let r = run_args(mode.script(pki.server.server_config()), &args);
        assert_refused(&r, mode, "unknown authority");
    }
}

#[test]
fn a5_ca_of_the_same_name_with_another_key_is_refused() {
    // Another test PKI's CA has the same name as ours: the issuer is found by name, its signature fails.
    for mode in MODES {
        let (pki, other) = (Pki::new(), Pki::new());
        let r = run_args(
            mode.script(pki.server.server_config()),
            &trusting(&other, mode),
        );
        assert_refused(&r, mode, "signature");
    }
}

#[test]
fn a5_expired_certificate_is_refused() {
    presenting(|p| &p.expired, "expired");
}

#[test]
fn a5_wrong_name_is_refused() {
    presenting(|p| &p.wrong_name, "not valid for");
}

#[test]
fn a5_self_signed_certificate_is_refused() {
    presenting(|p| &p.self_signed, "unknown authority");
}

#[test]
fn a5_ca_certificate_as_the_leaf_is_refused() {
    presenting(|p| &p.ca_as_leaf, "CA certificate");
}

/// Issue 10, point 22: a refused certificate a user may well mean to trust (an unknown issuer, a
/// self-signed one, one marked as a CA as `openssl req -x509` makes them) ends with the way forward:
/// see its fingerprint with --serverinfo, pin it, or trust its CA.
#[test]
fn self_signed_certificate_refusal_says_how_to_trust_it() {
    for mode in MODES {
        let pki = Pki::new();
        let self_signed_ca = crate::certs::issue_self_signed_ca(pki.dir(), "self-signed-ca");
        for (leaf, reason) in [
            (&self_signed_ca, "CA certificate"),
            (&pki.self_signed, "unknown authority"),
            (&pki.ca_as_leaf, "CA certificate"),
        ] {
            let r = run_args(mode.script(leaf.server_config()), &trusting(&pki, mode));
            assert_refused(&r, mode, reason);
            for hint in ["--serverinfo", "--tls-fingerprint", "--tls-trust-file"] {
                assert_stderr_mentions(&r, hint);
            }
        }
    }
}

#[test]
fn a5_certcheck_off_accepts_and_the_trace_says_not_verified() {
    for mode in MODES {
        let pki = Pki::new();
        let args: Vec<String> = [
            "--tls",
            mode.flag(),
            "--tls-certcheck",
            "off",
            "--debug",
            "1",
        ]
        .map(String::from)
        .to_vec();
        let r = run_args(mode.script(pki.self_signed.server_config()), &args);
        r.expect_code(0);
        assert!(
            r.stderr
                .lines()
                .any(|l| l.starts_with("tls:") && l.contains("NOT VERIFIED")),
            "{mode:?}: {}",
            r.stderr
        );
        assert_eq!(r.transcript.data, vec![msg_on_wire()]);
    }
}

#[test]
fn a8_right_pin_with_an_unknown_ca_is_accepted() {
    for mode in MODES {
        let pki = Pki::new();
        let colons = pki.self_signed.fingerprint();
        let bare = colons.replace(':', "").to_lowercase();
        for pin in [colons, bare] {
            let args = vec![
                "--tls".into(),
                mode.flag().into(),
                "--tls-fingerprint".into(),
                pin,
            ];
            let r = run_args(mode.script(pki.self_signed.server_config()), &args);
            assert_quiet_success(&r);
            assert!(r.transcript.tls_established);
        }
    }
}

#[test]
fn a8_wrong_pin_is_refused() {
    // The chain would verify against the trust file; the pin overrides it (msmtp's rule).
    for mode in MODES {
        let pki = Pki::new();
        let mut args = trusting(&pki, mode);
        args.extend(["--tls-fingerprint".into(), pki.expired.fingerprint()]);
        let r = run_args(mode.script(pki.server.server_config()), &args);
        assert_refused(&r, mode, "fingerprint");
    }
}

#[test]
fn a8_pinned_certificate_without_its_key_is_refused() {
    // The server presents the pinned certificate but signs the handshake with another key: the pin matches,
    // the handshake signature does not, so the peer is not the certificate's holder.
    for mode in MODES {
        let pki = Pki::new();
        let (config, _) = raw::server_config(&pki.server.cert_der, &pki.expired.key_path);
        let args = vec![
            "--tls".into(),
            mode.flag().into(),
            "--tls-fingerprint".into(),
            pki.server.fingerprint(),
        ];
        let r = run_args(mode.script(config), &args);
        assert_refused(&r, mode, "signature");
    }
}

#[test]
fn a6_tls_server_name_verifies_and_is_sent_as_sni() {
    // Connected to 127.0.0.1, the certificate names only mail.other.example.
    for mode in MODES {
        let pki = Pki::new();
        let (config, sni) = raw::server_config(&pki.wrong_name.cert_der, &pki.wrong_name.key_path);
        let mut args = trusting(&pki, mode);
        args.extend(["--tls-server-name".into(), "mail.other.example".into()]);
        let r = run_args(mode.script(config), &args);
        assert_quiet_success(&r);
        assert_eq!(
            sni.lock().map(|s| s.clone()).unwrap_or_default().as_deref(),
            Some("mail.other.example"),
            "{mode:?}"
        );
    }
}

#[test]
fn a6_ip_address_host_is_checked_against_the_ip_entries() {
    // The good certificate holds IP 127.0.0.1 and no SNI is sent for an IP address (RFC 6066 §3).
    for mode in MODES {
        let pki = Pki::new();
        let (config, sni) = raw::server_config(&pki.server.cert_der, &pki.server.key_path);
        let r = run_args(mode.script(config), &trusting(&pki, mode));
        assert_quiet_success(&r);
        assert_eq!(
            sni.lock().map(|s| s.clone()).unwrap_or_default(),
            None,
            "{mode:?}"
        );
    }
}

// ---- client certificates (catalogue A9) ----

fn client_cert_args(pki: &Pki, mode: Mode, cert: &Path, key: &Path) -> Vec<String> {
    let mut args = trusting(pki, mode);
    args.extend([
        "--tls-cert-file".into(),
        arg(cert),
        "--tls-key-file".into(),
        arg(key),
    ]);
    args
}

#[test]
fn a9_client_certificate_is_presented() {
    for mode in MODES {
        let pki = Pki::new();
        let args = client_cert_args(&pki, mode, &pki.client.cert_path, &pki.client.key_path);
        let r = run_args(
            mode.script(pki.server_config_requiring_client_cert()),
            &args,
        );
        assert_quiet_success(&r);
        assert!(r.transcript.client_certificates >= 1, "{mode:?}");
        assert_eq!(r.transcript.data, vec![msg_on_wire()]);
    }
}

#[test]
fn a9_server_requiring_a_client_certificate_refuses_a_client_without_one() {
    for mode in MODES {
        let pki = Pki::new();
        let r = run_args(
            mode.script(pki.server_config_requiring_client_cert()),
            &trusting(&pki, mode),
        );
        r.expect_code(76);
        assert_stderr_mentions(&r, "client certificate");
        assert!(!r.transcript.saw("MAIL"), "{mode:?}");
        assert_no_message(&r.transcript);
    }
}

#[track_caller]
fn assert_config_error_before_connecting(r: &Run, what: &str) {
    r.expect_code(78);
    assert_stderr_mentions(r, what);
    assert!(!r.transcript.connected, "the server must see no connection");
}

#[test]
fn a9_unreadable_client_key_is_a_config_error_before_connecting() {
    for mode in MODES {
        let pki = Pki::new();
        let missing = pki.dir().join("no-such-key.pem");
        let args = client_cert_args(&pki, mode, &pki.client.cert_path, &missing);
        let r = run_args(
            mode.script(pki.server_config_requiring_client_cert()),
            &args,
        );
        assert_config_error_before_connecting(&r, "no-such-key.pem");

        // A directory cannot be read as a file, whoever runs the test (root reads any mode).
        let args = client_cert_args(&pki, mode, &pki.client.cert_path, pki.dir());
        let r = run_args(
            mode.script(pki.server_config_requiring_client_cert()),
            &args,
        );
        r.expect_code(78);
        assert!(!r.transcript.connected, "{mode:?}");
    }
}

#[test]
fn a9_mismatched_client_key_is_a_config_error_before_connecting() {
    for mode in MODES {
        let pki = Pki::new();
        let args = client_cert_args(&pki, mode, &pki.client.cert_path, &pki.server.key_path);
        let r = run_args(
            mode.script(pki.server_config_requiring_client_cert()),
            &args,
        );
        assert_config_error_before_connecting(&r, "does not match");
    }
}

#[test]
fn a9_client_key_without_a_certificate_is_a_config_error_before_connecting() {
    for mode in MODES {
        let pki = Pki::new();
        let mut args = trusting(&pki, mode);
        args.extend(["--tls-key-file".into(), arg(&pki.client.key_path)]);
        let r = run_args(mode.script(pki.server.server_config()), &args);
        assert_config_error_before_connecting(&r, "--tls-cert-file");
    }
}
