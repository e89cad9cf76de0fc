//! Fuzzes header and envelope extraction and the header rewrite (catalogue items 12, 15, 32, 38).
//! The input is a message. It goes through the header scan twice: as given (no panic on bytes the
//! spool would never hand over) and normalised by the spool as in a real run. Asserted: no panic;
//! every address the parsers return is non-empty, within the RFC 5321 §4.5.3.1 limits and free of
//! CR, LF and NUL; the rewritten header section has no `Bcc` or `Resent-Bcc` field left, starts with
//! the kept fields byte for byte, and (normalised) has only CRLF line ends and ends in CRLF unless it
//! is the message's own unterminated last line with nothing after it.
//! tests/corpus_replay.rs repeats these checks over fuzz/corpus/envelope: keep the two in step.
#![no_main]

#[path = "../checks/envelope.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
