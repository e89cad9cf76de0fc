//! The SMTP/ESMTP/LMTP engine: blocking, generic over `Read + Write` (RFC 5321, 1869, 2033, 2920,
//! 3030, 3207, 4954). Typed errors that keep the server's reply live in [`error`].

pub mod auth;
pub mod capabilities;
pub mod command;
pub mod data;
pub mod error;
pub mod reply;
#[cfg(test)]
pub mod script;
pub mod session;
pub mod trace;
pub mod transport;
