//! The integration tests: the `mailsend` binary against a scripted in-process SMTP server (one binary, as
//! design.md asks). `harness` and `certs` are the tools, `fixture` the shared messages and checks; the
//! other modules are the contract, grouped by topic.

#[allow(dead_code)] // a harness: not every test uses every helper
mod certs;
#[allow(dead_code)]
mod fixture;
#[allow(dead_code)]
mod harness;
mod harness_selftest;

mod aliases;
mod auth;
mod bs;
mod callers;
mod completion;
mod compose;
mod config;
mod envelope;
mod esmtp;
mod faults;
mod hostile;
mod input;
mod lmtp;
mod logging;
mod matrix;
mod queue;
mod send;
mod tls;
mod trace;
