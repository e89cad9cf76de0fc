//! The server debugging toolkit (issue 7) and `--serverinfo` (issues 3 and 7), run as the real binary
//! against the scripted server of the integration harness (shared read-only): the exact bytes each option
//! sends, the stdout formats, the exit statuses, and the interactive session through a pseudo-terminal.

#[allow(dead_code)] // a harness: not every test uses every helper
#[path = "integration/certs.rs"]
mod certs;
#[allow(dead_code)]
#[path = "integration/harness/mod.rs"]
mod harness;

mod debugging {
    mod commands;
    mod interactive;
    mod quit_after;
    mod serverinfo;
}
