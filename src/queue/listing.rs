//! `mailsend -bp` and `mailq` (spec §9 "Listing"): Postfix's `mailq` layout, so that the eyes and scripts
//! that read Postfix's read ours — the ID (with `!` for a held entry), the size, the arrival time and the
//! sender, then each pending recipient with, in parentheses above it, the last reply; a blank line between
//! entries; `-- N Kbytes in M Requests.` at the end, or `Mail queue is empty`. `--json` writes one
//! object per line with the field names of Postfix's `postqueue -j`. Pure: entries in, text out.

use std::io::{self, Write};

use super::state::{RcptState, State};

/// One entry as listed.
#[derive(Debug, Clone)]
pub struct Listed {
    pub state: State,
    pub held: bool,
}

/// The mailq text; `time` formats an arrival time as `Fri Aug 14 09:05:18` (local time in a run, fixed
/// in tests). The widths are Postfix's showq: `%-10s%c%8ld %20.20s %s` for the entry, the reason
/// right-aligned to column 78 in parentheses, each recipient after 41 spaces.
pub fn mailq(
    entries: &[Listed],
    time: &dyn Fn(i64) -> String,
    out: &mut dyn Write,
) -> io::Result<()> {
    if entries.is_empty() {
        return writeln!(out, "Mail queue is empty");
    }
    writeln!(
        out,
        "{:<10} {:>8} {:<20} -Sender/Recipient-------",
        "-Queue ID-", "--Size--", "----Arrival Time----"
    )?;
    let mut bytes = 0u64;
    for (n, entry) in entries.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        bytes += entry.state.size;
        entry.write(time, out)?;
    }
    let requests = entries.len();
    writeln!(
        out,
        "\n-- {} Kbytes in {requests} Request{}.",
        bytes / 1024,
        if requests == 1 { "" } else { "s" }
    )
}

impl Listed {
    fn write(&self, time: &dyn Fn(i64) -> String, out: &mut dyn Write) -> io::Result<()> {
        let state = &self.state;
        let mark = if self.held { '!' } else { ' ' };
        let sender = match state.sender.as_str() {
            "" => "MAILER-DAEMON",
            s => s,
        };
        writeln!(
            out,
            "{:<10}{mark}{:>8} {:<20.20} {sender}",
            state.id.as_str(),
            state.size,
            time(state.created)
        )?;
        let mut previous: Option<&str> = None;
        for r in state
            .recipients
            .iter()
            .filter(|r| r.state == RcptState::Pending)
        {
            let why = self.reason(r.last_reply.as_deref());
            if let Some(text) = why
                && why != previous
            {
                let pad = 76usize.saturating_sub(text.chars().count());
                writeln!(out, "{:pad$}({text})", "")?;
            }
            previous = why;
            writeln!(out, "{:41}{}", "", r.address)?;
        }
        Ok(())
    }

    /// The line in parentheses for a recipient: why the entry is held, else its last reply.
    fn reason<'a>(&'a self, last_reply: Option<&'a str>) -> Option<&'a str> {
        match &self.state.held {
            Some(held) if self.held => Some(held.reason.as_str()),
            _ => last_reply,
        }
    }
}

/// `--json`: one object per entry per line, Postfix's `postqueue -j` fields plus the attempt counts.
pub fn json(entries: &[Listed], out: &mut dyn Write) -> io::Result<()> {
    for entry in entries {
        let s = &entry.state;
        let queue_name = match (entry.held, s.recipients.iter().any(|r| r.attempts > 0)) {
            (true, _) => "hold",
            (false, true) => "deferred",
            (false, false) => "incoming",
        };
        let recipients: Vec<String> = s
            .recipients
            .iter()
            .filter(|r| r.state == RcptState::Pending)
            .map(|r| {
                format!(
                    "{{\"address\": {}, \"delay_reason\": {}, \"attempts\": {}, \"next_try\": {}}}",
                    string(&r.address),
                    string(entry.reason(r.last_reply.as_deref()).unwrap_or("")),
                    r.attempts,
                    r.next_try
                )
            })
            .collect();
        writeln!(
            out,
            "{{\"queue_name\": \"{queue_name}\", \"queue_id\": {}, \"arrival_time\": {}, \
             \"message_size\": {}, \"forced_expire\": false, \"sender\": {}, \"recipients\": [{}]}}",
            string(s.id.as_str()),
            s.created,
            s.size,
            string(&s.sender),
            recipients.join(", ")
        )?;
    }
    Ok(())
}

/// A JSON string (RFC 8259 §7): quotes, backslashes and control characters escaped.
fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests;
