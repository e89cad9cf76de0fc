//! Message transfer on the server side: a DATA body read up to its terminating dot line (RFC 5321 §4.1.1.4,
//! kept stuffed as received) and BDAT chunks (RFC 3030), each with the `DataBody` fault fired mid-message;
//! then the final reply, or for LMTP one reply per accepted recipient (RFC 2033 §4.2).

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
        if answered_early {
            self.reset_transaction();
            return Ok(());
        }
        self.final_reply()
    }

    /// RFC 3030: `BDAT size [LAST]`, exactly `size` octets follow the command line. The reply to a chunk
    /// that is not the last is the `BdatChunk` stage; a `DataBody` fault fires once that many octets of
    /// the message (all chunks so far) arrived, and a reply it sends stands for the chunk's own reply.
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
        if self.bdat.is_none() {
            self.messages += 1;
            self.bdat_fault = self.body_fault(self.messages);
        }
        let before = self.bdat.as_ref().map_or(0, Vec::len);
        let mut answered_early = false;
        loop {
            let have = before + self.buf.len().min(size);
            let due = self
                .bdat_fault
                .as_ref()
                .is_some_and(|(threshold, _)| have >= *threshold);
            if due && let Some((_, action)) = self.bdat_fault.take() {
                if let Err(end) = self.act(action) {
                    self.note_partial_bdat(size);
                    return Err(end);
                }
                answered_early = true;
            }
            if self.buf.len() >= size {
                break;
            }
            if let Err(end) = self.fill() {
                self.note_partial_bdat(size);
                return Err(end);
            }
        }
        let chunk: Vec<u8> = self.buf.drain(..size).collect();
        self.bdat.get_or_insert_default().extend_from_slice(&chunk);
        if !last {
            if answered_early {
                return Ok(());
            }
            return self
                .answer(
                    Stage::BdatChunk,
                    &format!("250 2.0.0 Ok: {size} octets received"),
                )
                .map(|_| ());
        }
        let message = self.bdat.take().unwrap_or_default();
        self.bdat_fault = None;
        self.note(|t| t.bdat.push(message));
        if answered_early {
            self.reset_transaction();
            return Ok(());
        }
        if self.accepted == 0 {
            self.reset_transaction();
            return self.reply("554 5.5.1 Error: no valid recipients");
        }
        self.final_reply()
    }

    /// The message so far (earlier chunks and what arrived of this one) when the connection ends mid-BDAT.
    fn note_partial_bdat(&mut self, size: usize) {
        let mut partial = self.bdat.take().unwrap_or_default();
        partial.extend_from_slice(&self.buf[..self.buf.len().min(size)]);
        self.note(|t| t.unterminated_data = Some(partial));
    }

    /// After the whole message: SMTP's one reply, or LMTP's one per accepted recipient in RCPT order
    /// (RFC 2033 §4.2), each the `LmtpReply(n)` stage. A `FinalReply` fault in LMTP mode replaces all of
    /// them (a server failing before its first per-recipient reply).
    fn final_reply(&mut self) -> Result<(), End> {
        let recipients = std::mem::take(&mut self.accepted_rcpts);
        self.reset_transaction();
        if !self.script.lmtp {
            return self
                .answer(Stage::FinalReply, "250 2.0.0 Ok: queued as ABC123")
                .map(|_| ());
        }
        if let Some(action) = self.fault(&Stage::FinalReply) {
            return self.act(action);
        }
        for (i, rcpt) in recipients.iter().enumerate() {
            self.answer(
                Stage::LmtpReply(i + 1),
                &format!("250 2.0.0 <{rcpt}> Saved"),
            )?;
        }
        Ok(())
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
