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
#![no_main]

#[path = "../checks/auth_challenge.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
