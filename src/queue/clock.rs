//! Time in the queue (spec §9 "Retry and expiry"): the clock, injectable so that tests can age an entry
//! by days without waiting; the backoff, from 1 minute doubling to 1 hour, with a jitter so that entries
//! queued together do not come due together; the lifetime, after which an entry fails.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::id::Id;

/// The first retry comes this long after a failure; each further one waits twice as long...
pub const FIRST_RETRY: i64 = 60;
/// ...up to this.
pub const LONGEST_RETRY: i64 = 3600;
/// The default `queue_lifetime`: five days, as Postfix's maximal_queue_lifetime.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(5 * 86_400);
/// The default `queue_warn`: `--queue-check` reports entries older than this.
pub const DEFAULT_WARN: Duration = Duration::from_secs(3600);

/// The time the queue goes by.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    fixed: Option<i64>,
}

impl Clock {
    /// The system's clock, or in a debug build the time a test sets.
    pub fn system() -> Clock {
        Clock {
            fixed: super::hooks::now(),
        }
    }

    /// A clock stopped at `seconds` since the epoch.
    pub fn fixed(seconds: i64) -> Clock {
        Clock {
            fixed: Some(seconds),
        }
    }

    /// Seconds since the epoch.
    pub fn now(&self) -> i64 {
        self.fixed.unwrap_or_else(|| {
            let since = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        })
    }

    /// Microseconds since the epoch, for IDs: the fixed time has none, the system clock its own.
    pub fn micros(&self) -> u64 {
        match self.fixed {
            Some(s) => u64::try_from(s).unwrap_or(0) * 1_000_000,
            None => {
                let since = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
            }
        }
    }
}

/// The wait after the `attempts`-th failed attempt (1-based): 1, 2, 4, ... minutes up to an hour, plus a
/// jitter of up to a tenth, derived from the ID and the attempt so that it is the same on every run
/// (reproducible) yet differs between entries (they spread out).
pub fn backoff(id: &Id, attempts: u32) -> i64 {
    let doublings = attempts.saturating_sub(1).min(16);
    let base = (FIRST_RETRY << doublings).min(LONGEST_RETRY);
    let hash = Sha256::digest(format!("{id}/{attempts}").as_bytes());
    let spread = i64::from(u16::from_be_bytes([hash[0], hash[1]]));
    base + base * spread / (10 * 65_536)
}

/// Whether an entry made at `created` has outlived `lifetime` at `now`.
pub fn expired(created: i64, lifetime: Duration, now: i64) -> bool {
    let lifetime = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
    now.saturating_sub(created) >= lifetime
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_minute_to_an_hour_with_jitter() {
        let id = Id::new(1_767_225_600_000_000, 7);
        let waits: Vec<i64> = (1..=9).map(|n| backoff(&id, n)).collect();
        let bases = [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600];
        for (wait, base) in waits.iter().zip(bases) {
            assert!((base..=base + base / 10).contains(wait), "{waits:?}");
        }
        assert!(backoff(&id, u32::MAX) <= LONGEST_RETRY + LONGEST_RETRY / 10);
        // Entries queued in the same second spread out.
        let others: Vec<i64> = (0..20).map(|pid| backoff(&Id::new(1, pid), 3)).collect();
        assert!(others.iter().any(|w| *w != others[0]), "{others:?}");
    }

    #[test]
    fn lifetime_counts_from_creation() {
        let day = Duration::from_secs(86_400);
        assert!(!expired(1000, day, 1000 + 86_399));
        assert!(expired(1000, day, 1000 + 86_400));
        assert!(Clock::fixed(5).now() == 5 && Clock::fixed(5).micros() == 5_000_000);
    }
}
