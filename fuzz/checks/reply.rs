//! Fuzzes the reply parser (catalogue item 32): no panic on any bytes, and what it accepts is
//! consistent: the consumed bytes are exactly the raw lines, each within the limits, and parsing a
//! prefix never claims a different reply.
//!
//! Shared by the cargo-fuzz target (fuzz/fuzz_targets/reply.rs) and the corpus replay in
//! `cargo test` (tests/corpus_replay.rs), so the two cannot drift apart.

use mailsend::smtp::reply::{MAX_LINE, MAX_LINES, Parsed, parse, parse_at_eof};

pub fn check(data: &[u8]) {
    let _ = parse_at_eof(data);
    if let Ok(Parsed::Complete {
        reply,
        raw_lines,
        consumed,
    }) = parse(data)
    {
        assert_eq!(raw_lines.concat(), &data[..consumed]);
        assert_eq!(reply.lines.len(), raw_lines.len());
        assert!(raw_lines.len() <= MAX_LINES);
        assert!(
            raw_lines
                .iter()
                .all(|l| l.len() <= MAX_LINE && l.ends_with(b"\n"))
        );
        assert!((200..600).contains(&reply.code.get()));
        assert!(!reply.to_string().chars().any(char::is_control));
        match parse(&data[..consumed]) {
            Ok(Parsed::Complete { reply: again, .. }) => assert_eq!(again, reply),
            other => panic!("prefix parsed differently: {other:?}"),
        }
    }
}
