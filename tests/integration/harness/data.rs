//! Message transfer on the server side: a DATA body read up to its terminating dot line (RFC 5321 §4.1.1.4,
//! kept stuffed as received) with the `DataBody` fault fired mid-body, and BDAT chunks (RFC 3030).

use super::script::Stage;
use super::session::{End, Session};

impl Session<'_> {
    /// Read a DATA body up to the terminating `.` line (RFC 5321 §4.1.1.4), firing a `DataBody` fault once
    /// enough body bytes arrived, and then give the final reply unless the fault already answered.
    pub(super) fn receive_body(&mut self) -> Result<(), End> {
        self.messages += 1;
        let mut pending = self.body_fault(self.messages);
        let mut answered_early = false;
        let mut body: Vec<u8> = Vec::new();
        let mut scan_from = 0;
        loop {
            body.append(&mut self.buf);
            let end = find_terminator(&body, scan_from);
            let available = end.map_or(body.len(), |(len, _)| len);
            if let Some((threshold, action)) = pending.take() {
                if available >= threshold {
                    if let Err(end) = self.act(action) {
                        body.truncate(available);
                        self.note(|t| t.unterminated_data = Some(body));
                        return Err(end);
                    }
                    answered_early = true;
                } else {
                    pending = Some((threshold, action));
                }
            }
            if let Some((len, after)) = end {
                self.buf = body.split_off(after);
                body.truncate(len);
                break;
            }
            scan_from = body.len().saturating_sub(4);
            if let Err(end) = self.fill() {
                self.note(|t| t.unterminated_data = Some(body));
                return Err(end);
            }
        }
        self.note(|t| t.data.push(body));
        self.accepted = 0;
        if answered_early {
            return Ok(());
        }
        self.answer(Stage::FinalReply, "250 2.0.0 Ok: queued as ABC123")
            .map(|_| ())
    }

    /// RFC 3030: `BDAT size [LAST]`, exactly `size` octets follow the command line.
    pub(super) fn bdat(&mut self, line: &str) -> Result<(), End> {
        let chunking = self
            .ehlo_extensions()
            .iter()
            .any(|l| l.eq_ignore_ascii_case("CHUNKING"));
        if !chunking {
            return self.reply("502 5.5.2 Error: command not recognized");
        }
        let mut words = line.split(' ').skip(1);
        let size = words.next().and_then(|s| s.parse::<usize>().ok());
        let last = words.next().is_some_and(|w| w.eq_ignore_ascii_case("LAST"));
        let Some(size) = size else {
            return self.reply("501 5.5.4 Syntax: BDAT size [LAST]");
        };
        while self.buf.len() < size {
            self.fill()?;
        }
        let chunk: Vec<u8> = self.buf.drain(..size).collect();
        self.bdat.get_or_insert_default().extend_from_slice(&chunk);
        if !last {
            return self.reply(&format!("250 2.0.0 Ok: {size} octets received"));
        }
        let message = self.bdat.take().unwrap_or_default();
        self.note(|t| t.bdat.push(message));
        let reply = if self.accepted == 0 {
            "554 5.5.1 Error: no valid recipients"
        } else {
            "250 2.0.0 Ok: queued as ABC123"
        };
        self.accepted = 0;
        self.answer(Stage::FinalReply, reply).map(|_| ())
    }
}

/// `(message length, offset after the terminator)` of the first `.` line, scanning from `from`.
fn find_terminator(body: &[u8], from: usize) -> Option<(usize, usize)> {
    if body.starts_with(b".\r\n") {
        return Some((0, 3));
    }
    body.get(from..)?
        .windows(5)
        .position(|w| w == b"\r\n.\r\n")
        .map(|p| (from + p + 2, from + p + 5))
}
