//! Fuzzes the AUTH state machines with hostile 334 challenges (catalogue items 21, 32; RFC 4954 §4).
//! Input layout: the first byte picks the mechanism (mod 6) and, with bit 3, whether an initial
//! response is allowed; the rest is split at LF into challenges. A challenge starting with `!` is
//! handed over as it is (the base64 decoding under test); any other is base64-encoded here after
//! `%N` is replaced by the client's SCRAM nonce, so that the fuzzer can reach the server-first and
//! server-final checks of RFC 5802 §5.1 it could never guess its way into. Server-first messages
//! asking for more than 64 PBKDF2 rounds are not answered: that cost is bounded by the unit tests and
//! would only slow the fuzzer. Asserted: no panic, and every line returned is pure base64 (no CR, LF
//! or space could reach the wire, catalogue B.13).
//! tests/corpus_replay.rs repeats these checks over fuzz/corpus/auth_challenge: keep the two in step.
//!
//! Shared by the cargo-fuzz target (fuzz/fuzz_targets/auth_challenge.rs) and the corpus replay in
//! `cargo test` (tests/corpus_replay.rs), so the two cannot drift apart.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_PAD_INDIFFERENT};
use mailsend::secret::Secret;
use mailsend::smtp::auth::{Credentials, Exchange, Mechanism};

const MECHANISMS: [Mechanism; 6] = Mechanism::ALL;

const MAX_ROUNDS: u32 = 64;

fn check_line(line: &Secret) {
    assert!(
        line.expose()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)),
        "not base64"
    );
}

fn client_nonce(line: &Secret) -> Option<String> {
    let text = STANDARD.decode(line.expose()).ok()?;
    let text = String::from_utf8(text).ok()?;
    let bare = text.strip_prefix("n,,")?;
    Some(bare.rsplit_once(",r=")?.1.to_owned())
}

fn too_many_rounds(challenge: &[u8]) -> bool {
    let Ok(decoded) = STANDARD_PAD_INDIFFERENT.decode(challenge.trim_ascii()) else {
        return false;
    };
    String::from_utf8_lossy(&decoded)
        .split(',')
        .filter_map(|a| a.strip_prefix("i=")?.parse::<u32>().ok())
        .any(|n| n > MAX_ROUNDS)
}

pub fn check(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mech = MECHANISMS[usize::from(selector) % MECHANISMS.len()];
    let secret = Secret::new("pencil");
    let creds = Credentials {
        user: "fu=zz,user@example.org".to_owned(),
        secret: &secret,
        host: "mail.example.org".to_owned(),
        port: 587,
    };
    let Ok(mut exchange) = Exchange::start(mech, &creds, selector & 8 != 0) else {
        return;
    };
    let mut nonce = String::new();
    if let Some(line) = exchange.initial_response() {
        check_line(&line);
        nonce = client_nonce(&line).unwrap_or(nonce);
    }
    for segment in rest.split(|&b| b == b'\n').take(16) {
        let challenge = match segment.strip_prefix(b"!") {
            Some(raw) => raw.to_vec(),
            None => {
                let text = String::from_utf8_lossy(segment).replace("%N", &nonce);
                STANDARD.encode(text).into_bytes()
            }
        };
        if too_many_rounds(&challenge) {
            return;
        }
        match exchange.respond(&challenge) {
            Ok(line) => {
                check_line(&line);
                nonce = client_nonce(&line).unwrap_or(nonce);
            }
            Err(_) => return,
        }
    }
    let _ = exchange.finished_ok();
}
