//! Fuzzes the EHLO keyword parser over whatever the reply parser accepts (catalogue item 32).
//!
//! Shared by the cargo-fuzz target (fuzz/fuzz_targets/capabilities.rs) and the corpus replay in
//! `cargo test` (tests/corpus_replay.rs), so the two cannot drift apart.

use mailsend::smtp::capabilities::Capabilities;
use mailsend::smtp::reply::{Parsed, parse_at_eof};

pub fn check(data: &[u8]) {
    if let Ok(Parsed::Complete { reply, .. }) = parse_at_eof(data) {
        let caps = Capabilities::parse(&reply);
        let _ = caps.size_limit();
        for (keyword, params) in caps.keywords() {
            assert!(caps.has(&keyword) && caps.has(&keyword.to_ascii_lowercase()));
            assert_eq!(caps.param(&keyword), Some(params.as_str()));
            assert!(!params.chars().any(char::is_control));
        }
        for mechanism in caps.auth_mechanisms() {
            assert_eq!(*mechanism, mechanism.to_ascii_uppercase());
        }
    }
}
