//! Fuzzes the DATA encoder with random input and random chunk splits (catalogue items 15, 16, 32).
//! Input layout: the first byte is the number of split points (mod 8), then two bytes per split
//! point, then the message. Asserted: the output does not depend on the split, has no bare CR or LF,
//! and `\r\n.\r\n` (counting the start of the data as a line start) occurs once, at the very end.
#![no_main]

#[path = "../checks/data_encoder.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
