//! Fuzzes header and envelope extraction and the header rewrite (catalogue items 12, 15, 32, 38).
//! The input is a message. It goes through the header scan twice: as given (no panic on bytes the
//! spool would never hand over) and normalised by the spool as in a real run. Asserted: no panic;
//! every address the parsers return is non-empty, within the RFC 5321 §4.5.3.1 limits and free of
//! CR, LF and NUL; the rewritten header section has no `Bcc` or `Resent-Bcc` field left, starts with
//! the kept fields byte for byte, and (normalised) has only CRLF line ends and ends in CRLF unless it
//! is the message's own unterminated last line with nothing after it.
//! tests/corpus_replay.rs repeats these checks over fuzz/corpus/envelope: keep the two in step.
//!
//! Shared by the cargo-fuzz target (fuzz/fuzz_targets/envelope.rs) and the corpus replay in
//! `cargo test` (tests/corpus_replay.rs), so the two cannot drift apart.

use mailsend::message::envelope::{
    Rewrite, header_envelope, parse_address_list, rewrite_header_block,
};
use mailsend::message::headers::{HEAD_SCAN_LEN, HeaderBlock, scan};
use mailsend::message::spool::Spool;

const KEEP: Rewrite = Rewrite {
    sender: "me@example.org",
    full_name: None,
    domain: "example.org",
    add_from: false,
    add_date: false,
    add_message_id: false,
};

const ADD: Rewrite = Rewrite {
    sender: "me@example.org",
    full_name: Some("Fuzz \u{dc}ser"),
    domain: "example.org",
    add_from: true,
    add_date: true,
    add_message_id: true,
};

fn check_addresses<'a>(list: impl IntoIterator<Item = &'a String>) {
    for a in list {
        assert!(!a.is_empty() && a.len() <= 254, "address {a:?}");
        assert!(!a.contains(['\r', '\n', '\0']), "address {a:?}");
    }
}

fn starts_bcc(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let name = line[..colon].trim_ascii_end();
    name.eq_ignore_ascii_case(b"bcc") || name.eq_ignore_ascii_case(b"resent-bcc")
}

fn check_rewrite(block: &HeaderBlock, out: &[u8]) {
    assert!(
        !out.split(|&b| b == b'\n').any(starts_bcc),
        "Bcc left in {out:?}"
    );
    let kept: Vec<u8> = block
        .fields
        .iter()
        .filter(|f| !(f.is("Bcc") || f.is("Resent-Bcc")))
        .flat_map(|f| f.raw.iter().copied())
        .collect();
    assert!(out.starts_with(&kept), "kept fields changed: {out:?}");
}

fn check_block(block: &HeaderBlock, normalised: Option<&[u8]>) {
    if let Ok(env) = header_envelope(block) {
        check_addresses(env.recipients.iter().chain(&env.sender));
    }
    for rw in [KEEP, ADD] {
        let Ok(out) = rewrite_header_block(block, &rw) else {
            continue;
        };
        check_rewrite(block, &out);
        let Some(msg) = normalised else {
            continue;
        };
        for (i, &b) in out.iter().enumerate() {
            match b {
                b'\r' => assert_eq!(out.get(i + 1), Some(&b'\n'), "bare CR in {out:?}"),
                b'\n' => assert!(i > 0 && out[i - 1] == b'\r', "bare LF in {out:?}"),
                _ => {}
            }
        }
        if !out.is_empty() && !out.ends_with(b"\r\n") {
            assert_eq!(block.body_offset, msg.len() as u64, "{out:?}");
            assert!(
                msg.ends_with(&out[out.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)..])
            );
        }
    }
}

pub fn check(data: &[u8]) {
    if let Ok(list) = parse_address_list(&String::from_utf8_lossy(data)) {
        check_addresses(&list);
    }
    if let Ok(block) = scan(data) {
        check_block(&block, None);
    }
    let spool = Spool::from_bytes(data);
    let msg = spool.head(usize::MAX).expect("an in-memory spool reads");
    if let Ok(block) = scan(&msg[..msg.len().min(HEAD_SCAN_LEN)]) {
        check_block(&block, Some(&msg));
    }
}
