//! The integration-test harness: a reactive scripted SMTP or LMTP server on loopback or a Unix socket
//! (curl's test servers and CPython's `test_smtplib` fake channel are the model) and a hermetic way to run
//! the `mailsend` binary.
//! Each test gets its own server on a free port and its own temporary HOME, so tests run in parallel.

mod client;
mod data;
mod sasl;
mod script;
mod server;
mod session;
mod transcript;

#[allow(unused_imports)]
pub use client::{
    Run, environment, home, mailsend, mailsend_as, mailsend_to, run, run_in, run_with,
};
#[allow(unused_imports)]
pub use sasl::{CRAM_CHALLENGE, cram_digest};
#[allow(unused_imports)]
pub use script::{Action, AuthCheck, Script, Stage};
pub use server::Server;
#[allow(unused_imports)]
pub use transcript::{AuthAttempt, Transcript, unstuff};
