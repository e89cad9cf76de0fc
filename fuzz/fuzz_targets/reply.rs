//! Fuzzes the reply parser (catalogue item 32): no panic on any bytes, and what it accepts is
//! consistent: the consumed bytes are exactly the raw lines, each within the limits, and parsing a
//! prefix never claims a different reply.
#![no_main]

#[path = "../checks/reply.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
