//! The message: input spool, header block scan, envelope (-t, Resent-*, aliases), Bcc removal and
//! added headers. Pure functions over bytes; no I/O besides the spool.

pub mod compose;
pub mod envelope;
pub mod headers;
pub mod input;
pub mod spool;
