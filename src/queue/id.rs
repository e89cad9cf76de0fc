//! Queue IDs (spec §9): time-ordered, so that a listing sorted by name is sorted by arrival and the runner
//! sends the oldest first; unique, because the first file of an entry is created with O_EXCL under its
//! name and a clash takes the next one. An ID is only ever made of upper-case hex digits and one dot, so
//! one read from the command line (`--queue-delete ID`) can never name a path outside the queue.

use std::fmt;

/// One queue entry's name: the arrival time in microseconds since the epoch (14 hex digits, so names
/// sort as times until the year 4253), a dot, and the process ID that made it (in hex).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(String);

impl Id {
    /// The ID for an entry made at `micros` by process `pid`; the caller bumps `micros` on a clash.
    pub fn new(micros: u64, pid: u32) -> Id {
        Id(format!("{micros:014X}.{pid:X}"))
    }

    /// An ID as a user or a directory listing gives it: `None` for anything mailsend did not make (a
    /// temporary file, a stray file, `../x`). The [`Id::compact`] form is taken too.
    pub fn parse(text: &str) -> Option<Id> {
        let (time, pid) = match text.split_once('.') {
            Some(parts) => parts,
            None if text.len() > 14 && text.is_char_boundary(14) => text.split_at(14),
            None => return None,
        };
        let hex = |s: &str, max: usize| {
            !s.is_empty()
                && s.len() <= max
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
        };
        (time.len() == 14 && hex(time, 14) && hex(pid, 8)).then(|| Id(format!("{time}.{pid}")))
    }

    /// The ID without its dot, as the `-bs` server's `250 Ok: queued as ID` gives it: Symfony Mailer
    /// reads the ID after "queued as" as letters and digits only (issue 13). [`Id::parse`] takes it
    /// back, so `--queue-delete` accepts either form.
    pub fn compact(&self) -> String {
        self.0.replace('.', "")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The arrival time the ID encodes, in seconds since the epoch.
    pub fn seconds(&self) -> i64 {
        let micros = u64::from_str_radix(&self.0[..14], 16).unwrap_or(0);
        i64::try_from(micros / 1_000_000).unwrap_or(i64::MAX)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_round_trip() {
        let early = Id::new(1_767_225_600_000_000, 4242);
        let later = Id::new(1_767_225_600_000_001, 1);
        assert!(early < later);
        assert_eq!(early.as_str(), "06474846204000.1092");
        assert_eq!(Id::parse(early.as_str()), Some(early.clone()));
        assert_eq!(early.seconds(), 1_767_225_600);
        assert_eq!(early.compact(), "064748462040001092");
        assert_eq!(Id::parse(&early.compact()), Some(early.clone()));
    }

    /// `--queue-delete ../../etc/passwd` must not name a path: only what [`Id::new`] makes is an ID.
    #[test]
    fn only_what_new_makes_parses() {
        for bad in [
            "",
            "..",
            "../x",
            "00064753E0A000",
            "00064753E0A000.",
            "00064753e0a000.1",
            "00064753E0A000.1/x",
            "0064753E0A000.1",
            "00064753E0A000.123456789",
            "tmp.00064753E0A000.1",
        ] {
            assert_eq!(Id::parse(bad), None, "{bad:?}");
        }
    }
}
