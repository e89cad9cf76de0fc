//! Wire-exact tests: smtplib's examples (smtplib-behaviour.md §6, §9 cases 51–56), RFC 7677 §3's
//! SCRAM-SHA-256 vector, and the OAuth formats.

use super::*;

fn creds<'a>(user: &str, secret: &'a Secret) -> Credentials<'a> {
    Credentials {
        user: user.to_owned(),
        secret,
        host: "mail.example.org".to_owned(),
        port: 587,
    }
}

fn b64(s: &str) -> String {
    STANDARD.encode(s)
}

fn ir(mech: Mechanism, c: &Credentials) -> Option<String> {
    Exchange::start(mech, c, true)
        .expect("valid credentials")
        .initial_response()
        .map(|s| s.expose().to_owned())
}

#[test]
fn names_round_trip_case_insensitively() {
    for m in [
        Mechanism::ScramSha256,
        Mechanism::CramMd5,
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::XOAuth2,
        Mechanism::OAuthBearer,
    ] {
        assert_eq!(Mechanism::from_name(m.name()), Some(m));
        assert_eq!(Mechanism::from_name(&m.name().to_lowercase()), Some(m));
    }
    assert_eq!(
        Mechanism::from_name("scram-sha-256"),
        Some(Mechanism::ScramSha256)
    );
    assert_eq!(Mechanism::from_name("BOGUS"), None);
    assert_eq!(Mechanism::from_name(""), None);
    assert_eq!(Mechanism::Plain.to_string(), "PLAIN");
}

#[test]
fn auto_order_never_picks_oauth() {
    assert!(!AUTO_ORDER.contains(&Mechanism::XOAuth2));
    assert!(!AUTO_ORDER.contains(&Mechanism::OAuthBearer));
    assert_eq!(AUTO_ORDER[0], Mechanism::ScramSha256);
}

#[test]
fn plain_matches_smtplib() {
    let secret = Secret::new("pass");
    let c = creds("user", &secret);
    assert_eq!(
        ir(Mechanism::Plain, &c).as_deref(),
        Some("AHVzZXIAcGFzcw==")
    );
    // Case 51.
    let secret = Secret::new("somepassword");
    let c = creds("Mr.A@somewhere.com", &secret);
    assert_eq!(
        ir(Mechanism::Plain, &c).as_deref(),
        Some("AE1yLkFAc29tZXdoZXJlLmNvbQBzb21lcGFzc3dvcmQ=")
    );
    // Without an initial response, the first (empty) 334 gets the same string.
    let secret = Secret::new("pass");
    let c = creds("user", &secret);
    let mut x = Exchange::start(Mechanism::Plain, &c, false).unwrap();
    assert!(x.initial_response().is_none());
    assert_eq!(x.respond(b"").unwrap().expose(), "AHVzZXIAcGFzcw==");
    assert!(x.finished_ok());
}

#[test]
fn login_with_initial_response() {
    let secret = Secret::new("somepassword");
    let c = creds("Mr.A@somewhere.com", &secret);
    let mut x = Exchange::start(Mechanism::Login, &c, true).unwrap();
    // Case 52.
    assert_eq!(
        x.initial_response().unwrap().expose(),
        "TXIuQUBzb21ld2hlcmUuY29t"
    );
    assert_eq!(
        x.respond(b"UGFzc3dvcmQ6").unwrap().expose(),
        "c29tZXBhc3N3b3Jk"
    );
}

#[test]
fn login_without_initial_response_ignores_challenge_text() {
    let secret = Secret::new("pass");
    let c = creds("user", &secret);
    let mut x = Exchange::start(Mechanism::Login, &c, false).unwrap();
    assert!(x.initial_response().is_none());
    // The challenge text does not matter (smtplib), nor does it have to be base64.
    assert_eq!(x.respond(b"UGFzc3dvcmQ6").unwrap().expose(), "dXNlcg==");
    assert_eq!(x.respond(b"not base64!").unwrap().expose(), "cGFzcw==");
}

#[test]
fn cram_md5_matches_smtplib() {
    let secret = Secret::new("pass");
    let c = creds("user", &secret);
    let mut x = Exchange::start(Mechanism::CramMd5, &c, true).unwrap();
    assert!(x.initial_response().is_none());
    assert_eq!(
        x.respond(b"PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UuZXhhbXBsZS5uZXQ+")
            .unwrap()
            .expose(),
        "dXNlciAzNzE5ZTYwOTRmYjJhMGJiNDM0Yjg2NWM0OTM4YzIxNQ=="
    );
    // Case 56.
    let secret = Secret::new("somepassword");
    let c = creds("Mr.A@somewhere.com", &secret);
    let mut x = Exchange::start(Mechanism::CramMd5, &c, true).unwrap();
    let line = x
        .respond(b"PENCeUxFREJoU0NnbmhNWitOMjNGNndAZWx3b29kLmlubm9zb2Z0LmNvbT4=")
        .unwrap();
    assert_eq!(
        line.expose(),
        b64("Mr.A@somewhere.com 889d4290dd883f40858104eec2f7f885")
    );
}

#[test]
fn cram_md5_rejects_bad_base64_but_tolerates_whitespace_and_padding() {
    let secret = Secret::new("pass");
    let c = creds("user", &secret);
    let mut x = Exchange::start(Mechanism::CramMd5, &c, true).unwrap();
    assert!(matches!(x.respond(b"%%%"), Err(AuthError::BadBase64)));
    let padded = x.respond(b" PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UuZXhhbXBsZS5uZXQ+ \r\n");
    assert_eq!(
        padded.unwrap().expose(),
        "dXNlciAzNzE5ZTYwOTRmYjJhMGJiNDM0Yjg2NWM0OTM4YzIxNQ=="
    );
    // "abc" unpadded is "YWJj"; "ab" is "YWI" without its "=".
    let a = x.respond(b"YWI").unwrap();
    let b = x.respond(b"YWI=").unwrap();
    assert_eq!(a.expose(), b.expose());
}

const RFC7677_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
const RFC7677_SERVER_FIRST: &str =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
const RFC7677_CLIENT_FINAL: &str = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                                    p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
const RFC7677_SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

#[test]
fn scram_sha256_rfc7677_vector() {
    let secret = Secret::new("pencil");
    let c = creds("user", &secret);
    let mut x = Exchange::start_with_nonce(&c, RFC7677_NONCE);
    assert_eq!(
        x.initial_response().unwrap().expose(),
        b64("n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
    );
    assert!(!x.finished_ok());
    let last = x.respond(b64(RFC7677_SERVER_FIRST).as_bytes()).unwrap();
    assert_eq!(last.expose(), b64(RFC7677_CLIENT_FINAL));
    assert!(!x.finished_ok(), "not verified before the server-final");
    let empty = x.respond(b64(RFC7677_SERVER_FINAL).as_bytes()).unwrap();
    assert_eq!(empty.expose(), "");
    assert!(x.finished_ok());
    // Nothing more is expected.
    assert!(matches!(
        x.respond(b""),
        Err(AuthError::UnexpectedChallenge)
    ));
}

#[test]
fn scram_without_initial_response_sends_client_first_on_the_empty_challenge() {
    let secret = Secret::new("pencil");
    let c = creds("user", &secret);
    let mut x = Exchange::start_with_nonce(&c, RFC7677_NONCE);
    x.initial_response_ok = false;
    assert!(x.initial_response().is_none());
    assert_eq!(
        x.respond(b"").unwrap().expose(),
        b64("n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
    );
    let last = x.respond(b64(RFC7677_SERVER_FIRST).as_bytes()).unwrap();
    assert_eq!(last.expose(), b64(RFC7677_CLIENT_FINAL));
}

#[test]
fn scram_signature_mismatch_is_rejected() {
    let secret = Secret::new("pencil");
    let c = creds("user", &secret);
    let mut x = Exchange::start_with_nonce(&c, RFC7677_NONCE);
    x.initial_response();
    x.respond(b64(RFC7677_SERVER_FIRST).as_bytes()).unwrap();
    let forged = b64("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    assert!(matches!(
        x.respond(forged.as_bytes()),
        Err(AuthError::ServerSignatureMismatch)
    ));
    assert!(!x.finished_ok());
}

#[test]
fn scram_wrong_password_does_not_verify_the_real_server() {
    // The server-final for "pencil" cannot come from someone who was given "pencil2".
    let secret = Secret::new("pencil2");
    let c = creds("user", &secret);
    let mut x = Exchange::start_with_nonce(&c, RFC7677_NONCE);
    x.initial_response();
    let last = x.respond(b64(RFC7677_SERVER_FIRST).as_bytes()).unwrap();
    assert_ne!(last.expose(), b64(RFC7677_CLIENT_FINAL));
    assert!(x.respond(b64(RFC7677_SERVER_FINAL).as_bytes()).is_err());
}

#[test]
fn scram_server_errors_and_malformed_messages() {
    let secret = Secret::new("pencil");
    let c = creds("user", &secret);
    let start = || {
        let mut x = Exchange::start_with_nonce(&c, RFC7677_NONCE);
        x.initial_response();
        x
    };
    let mut x = start();
    x.respond(b64(RFC7677_SERVER_FIRST).as_bytes()).unwrap();
    let err = x.respond(b64("e=invalid-proof").as_bytes()).unwrap_err();
    assert!(matches!(&err, AuthError::ServerRefused(e) if e == "invalid-proof"));
    assert!(!x.finished_ok());

    for bad in [
        // The nonce does not extend ours.
        "r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        // Echoed unchanged.
        "r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        "r=rOprNGfwEbeRWgbNEkqOxyz,s=,i=4096",
        "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",
        "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4294967295",
        "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==",
        "m=ext,r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        "",
    ] {
        let mut x = start();
        assert!(
            matches!(
                x.respond(b64(bad).as_bytes()),
                Err(AuthError::BadChallenge(_))
            ),
            "{bad:?}"
        );
    }
    let mut x = start();
    assert!(matches!(
        x.respond(b64("e=other-error").as_bytes()),
        Err(AuthError::ServerRefused(_))
    ));
    let mut x = start();
    assert!(matches!(
        x.respond(STANDARD.encode([0xff, 0xfe]).as_bytes()),
        Err(AuthError::BadChallenge(_))
    ));
}

#[test]
fn scram_escapes_the_user_name_and_uses_a_random_nonce() {
    let secret = Secret::new("pencil");
    let c = creds("a=b,c", &secret);
    let mut x = Exchange::start(Mechanism::ScramSha256, &c, true).unwrap();
    let first = STANDARD
        .decode(x.initial_response().unwrap().expose())
        .unwrap();
    let first = String::from_utf8(first).unwrap();
    let nonce = first
        .strip_prefix("n,,n=a=3Db=2Cc,r=")
        .expect("escaped saslname");
    // 24 random bytes in base64, with no ',' (RFC 5802 §7 printable).
    assert_eq!(nonce.len(), 32);
    assert!(!nonce.contains(','));
    let mut y = Exchange::start(Mechanism::ScramSha256, &c, true).unwrap();
    assert_ne!(
        x.initial_response().map(|s| s.expose().to_owned()),
        y.initial_response().map(|s| s.expose().to_owned())
    );
}

#[test]
fn xoauth2_exact_bytes() {
    let secret = Secret::new("ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg");
    let c = creds("someuser@example.com", &secret);
    let mut x = Exchange::start(Mechanism::XOAuth2, &c, true).unwrap();
    // Google's documented example.
    assert_eq!(
        x.initial_response().unwrap().expose(),
        "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52\
         YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
    );
    // The 334 error challenge gets an empty line.
    assert_eq!(x.respond(b"eyJzdGF0dXMiOiI0MDEifQ==").unwrap().expose(), "");

    let mut y = Exchange::start(Mechanism::XOAuth2, &c, false).unwrap();
    assert!(y.initial_response().is_none());
    let line = y.respond(b"").unwrap();
    let raw = STANDARD.decode(line.expose()).unwrap();
    assert_eq!(
        raw,
        b"user=someuser@example.com\x01auth=Bearer \
          ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
    );
}

#[test]
fn oauthbearer_exact_bytes() {
    // RFC 7628 §4.1's example (host server.example.com, port 143).
    let secret = Secret::new("vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==");
    let c = Credentials {
        user: "user@example.com".to_owned(),
        secret: &secret,
        host: "server.example.com".to_owned(),
        port: 143,
    };
    let mut x = Exchange::start(Mechanism::OAuthBearer, &c, true).unwrap();
    let first = STANDARD
        .decode(x.initial_response().unwrap().expose())
        .unwrap();
    assert_eq!(
        first,
        b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01\
          auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
    );
    // RFC 7628 §3.2.3: the error challenge is answered with a single %x01.
    assert_eq!(
        x.respond(b"eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=")
            .unwrap()
            .expose(),
        "AQ=="
    );
}

#[test]
fn line_breaks_and_separators_in_credentials_are_refused() {
    for mech in [
        Mechanism::ScramSha256,
        Mechanism::CramMd5,
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::XOAuth2,
        Mechanism::OAuthBearer,
    ] {
        for bad in ["a\rb", "a\nb", "a\0b"] {
            assert!(
                matches!(
                    Exchange::start(mech, &creds(bad, &Secret::new("pass")), true),
                    Err(AuthError::InvalidCredential("user name"))
                ),
                "{mech} user {bad:?}"
            );
            let err = Exchange::start(mech, &creds("user", &Secret::new(bad)), true).unwrap_err();
            assert!(matches!(err, AuthError::InvalidCredential(_)), "{mech}");
            assert!(!err.to_string().contains(bad));
        }
    }
    let starts = |mech, user: &str, secret: &str| {
        Exchange::start(mech, &creds(user, &Secret::new(secret)), true).is_ok()
    };
    assert!(!starts(Mechanism::XOAuth2, "u\x01", "t"));
    assert!(!starts(Mechanism::OAuthBearer, "u", "t\x01"));
    assert!(!starts(Mechanism::ScramSha256, "u", "p\tq"));
    // A tab is fine in a PLAIN password.
    assert!(starts(Mechanism::Plain, "u", "p\tq"));
}

#[test]
fn debug_output_holds_no_secret() {
    let secret = Secret::new("hunter2-secret");
    let c = creds("alice", &secret);
    assert!(!format!("{c:?}").contains("hunter2"));
    for mech in [
        Mechanism::ScramSha256,
        Mechanism::CramMd5,
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::XOAuth2,
    ] {
        let mut x = Exchange::start(mech, &c, true).unwrap();
        let line = x.initial_response();
        let shown = format!("{x:?} {line:?}");
        assert!(shown.contains("alice"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains(&b64("hunter2-secret")), "{shown}");
        assert!(!shown.contains("AGFsaWNl"), "{shown}");
    }
}

#[test]
fn empty_initial_response_is_an_equals_sign() {
    // RFC 4954 §4: a zero-length initial response is sent as "=". LOGIN with an empty user is the one
    // way to produce one here.
    let secret = Secret::new("pass");
    let c = creds("", &secret);
    let mut x = Exchange::start(Mechanism::Login, &c, true).unwrap();
    assert_eq!(x.initial_response().unwrap().expose(), "=");
}
