//! The durable queue (spec §9): mail that could not be delivered at once is kept and delivered later,
//! exactly once, never lost to a crash, a full disk or a smarthost that is down, and never bounced in
//! storms. The lessons are the peers' (issue 12): nullmailer's missing directory fsync and bounce loops,
//! dma's per-recipient processes and bounces for its own AUTH failures, msmtpq's stale `mkdir` locks and
//! resent mail.
//!
//! The rooms: [`location`] (where), [`id`] (names), [`state`] (the entry format), [`store`] (files,
//! locks, the commit order), [`enqueue`] and [`sweep`] (the two ends of an entry's files), [`clock`]
//! (backoff and lifetime), [`listing`] (`-bp`, `--json`), [`notice`] (RFC 3464 failure notices),
//! [`error`] (one exit status per failure), and [`hooks`] (test-only faults, compiled out of release).

pub mod clock;
pub mod command;
pub mod enqueue;
pub mod error;
pub mod hooks;
pub mod id;
pub mod listing;
pub mod location;
pub mod notice;
pub mod runner;
pub mod state;
pub mod store;
pub mod sweep;

pub use clock::Clock;
pub use enqueue::Draft;
pub use error::QueueError;
pub use id::Id;
pub use location::Location;
pub use store::{Dir, Queue};
