//! Fuzzes the EHLO keyword parser over whatever the reply parser accepts (catalogue item 32).
#![no_main]

#[path = "../checks/capabilities.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check(data));
