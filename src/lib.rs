//! mailsend: a sendmail-compatible mail submission tool with its own blocking SMTP/ESMTP/LMTP engine.
//!
//! Data flows one way: arguments and config → [`settings`]; input → [`message`] (spool, envelope);
//! settings + envelope + message → [`smtp::session`] → outcome → [`exit`] status.
#![forbid(unsafe_code)]

pub mod app;
pub mod cli;
pub mod config;
pub mod debug;
pub mod dial;
pub mod exit;
pub mod lines;
pub mod log;
pub mod manpage;
pub mod message;
pub mod password;
pub mod progress;
pub mod queue;
pub mod secret;
pub mod settings;
pub mod smtp;
pub mod tls;
pub mod values;
