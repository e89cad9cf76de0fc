//! Fuzzes the DATA encoder with random input and random chunk splits (catalogue items 15, 16, 32).
//! Input layout: the first byte is the number of split points (mod 8), then two bytes per split
//! point, then the message. Asserted: the output does not depend on the split, has no bare CR or LF,
//! and `\r\n.\r\n` (counting the start of the data as a line start) occurs once, at the very end.
//!
//! Shared by the cargo-fuzz target (fuzz/fuzz_targets/data_encoder.rs) and the corpus replay in
//! `cargo test` (tests/corpus_replay.rs), so the two cannot drift apart.

use mailsend::smtp::data::DataEncoder;

fn encode(chunks: &[&[u8]]) -> Vec<u8> {
    let mut encoder = DataEncoder::dot_stuffing();
    let mut out = Vec::new();
    for chunk in chunks {
        encoder.encode(chunk, &mut out);
    }
    encoder.finish(&mut out);
    out
}

pub fn check(data: &[u8]) {
    let Some((&count, rest)) = data.split_first() else {
        return;
    };
    let count = usize::from(count % 8);
    let Some((cut_bytes, message)) = rest.split_at_checked(count * 2) else {
        return;
    };
    let mut cuts: Vec<usize> = cut_bytes
        .chunks(2)
        .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])) % (message.len() + 1))
        .collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut from = 0;
    for cut in cuts {
        chunks.push(&message[from..cut]);
        from = cut;
    }
    chunks.push(&message[from..]);

    let out = encode(&chunks);
    assert_eq!(out, encode(&[message]));
    for (i, &b) in out.iter().enumerate() {
        match b {
            b'\r' => assert_eq!(out.get(i + 1), Some(&b'\n'), "bare CR at {i}"),
            b'\n' => assert!(i > 0 && out[i - 1] == b'\r', "bare LF at {i}"),
            _ => {}
        }
    }
    let seen = [b"\r\n".as_slice(), &out].concat();
    assert!(seen.ends_with(b"\r\n.\r\n"));
    assert_eq!(seen.windows(5).filter(|w| *w == b"\r\n.\r\n").count(), 1);
}
