//! The failure notice (spec §9 "Retry and expiry"): one RFC 3464 delivery status notification per message,
//! listing every failed recipient, sent to the envelope sender from the null sender (RFC 5321 §4.5.5, so
//! that a notice that fails makes no notice of its own), with `Auto-Submitted: auto-replied` (RFC 3834).
//! It carries the original header section only (`text/rfc822-headers`, RFC 6522 §4), never the whole
//! message: a notice must not double the queue's size. The callers enforce the rules of when (never for
//! the null sender, never about a notice, [`State::wants_notice`]); this module only builds the bytes.

use super::state::{RcptState, State};

/// The header section of a message is never longer than this in a notice.
pub const MAX_HEADERS: usize = 64 * 1024;

/// What the notice says besides the entry itself.
pub struct Context<'a> {
    /// The host name in `Reporting-MTA` and the From address's domain.
    pub host: &'a str,
    /// The domain for the From address and the Message-ID.
    pub domain: &'a str,
    /// RFC 5322 date of the notice.
    pub date: &'a str,
    /// RFC 5322 date of the message's arrival.
    pub arrival: &'a str,
    /// The original message's header section, CRLF line ends, without the empty line.
    pub headers: &'a [u8],
}

/// The notice for `state` as message bytes (CRLF line ends), or `None` when it gets none.
pub fn build(state: &State, ctx: &Context) -> Option<Vec<u8>> {
    if !state.wants_notice() {
        return None;
    }
    let boundary = format!("=_mailsend_notice_{}", state.id);
    let failed: Vec<_> = state.failed().collect();
    let mut m = String::new();
    m.push_str(&format!(
        "From: Mail Delivery System <MAILER-DAEMON@{}>\r\n\
         To: <{}>\r\n\
         Subject: Undelivered Mail Returned to Sender\r\n\
         Date: {}\r\n\
         Message-ID: <notice.{}@{}>\r\n\
         Auto-Submitted: auto-replied\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status;\r\n\
         \tboundary=\"{boundary}\"\r\n\r\n\
         This is a MIME-encapsulated message.\r\n\r\n",
        ctx.domain, state.sender, ctx.date, state.id, ctx.domain
    ));
    m.push_str(&format!(
        "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         This is mailsend on {}.\r\n\r\n\
         Your message of {} could not be delivered to {} of its recipients;\r\n\
         mailsend has given up. The reasons follow.\r\n\r\n",
        ctx.host,
        ctx.arrival,
        if failed.len() == 1 { "one" } else { "some" }
    ));
    for r in &failed {
        m.push_str(&format!(
            "<{}>: {}\r\n",
            r.address,
            r.last_reply.as_deref().unwrap_or("no reason recorded")
        ));
    }
    m.push_str(&format!(
        "\r\n--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n\
         Reporting-MTA: dns; {}\r\nArrival-Date: {}\r\n",
        ctx.host, ctx.arrival
    ));
    if let Some(envid) = &state.params.dsn_envid {
        m.push_str(&format!("Original-Envelope-Id: {envid}\r\n"));
    }
    for r in &failed {
        let reply = r.last_reply.as_deref().unwrap_or("");
        m.push_str(&format!(
            "\r\nFinal-Recipient: rfc822; {}\r\nAction: failed\r\nStatus: {}\r\n",
            r.address,
            status(reply)
        ));
        if starts_with_code(reply) {
            m.push_str(&format!("Diagnostic-Code: smtp; {reply}\r\n"));
        }
    }
    m.push_str(&format!(
        "\r\n--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
    ));
    let mut bytes = m.into_bytes();
    bytes.extend_from_slice(&ctx.headers[..ctx.headers.len().min(MAX_HEADERS)]);
    if !bytes.ends_with(b"\r\n") {
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    debug_assert!(failed.iter().all(|r| r.state == RcptState::Failed));
    Some(bytes)
}

/// The header section of a message as the data file holds it: up to the empty line.
pub fn header_section(data: &[u8]) -> &[u8] {
    let end = data
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(data.len(), |i| i + 2);
    &data[..end.min(MAX_HEADERS)]
}

fn starts_with_code(reply: &str) -> bool {
    let b = reply.as_bytes();
    b.len() >= 3 && b[..3].iter().all(u8::is_ascii_digit) && matches!(b[0], b'4' | b'5')
}

/// RFC 3463 status: the reply's enhanced code when it has one, else from its class; a recipient that
/// ran out of time without a permanent reply is 4.4.7 (delivery time expired).
fn status(reply: &str) -> String {
    if !starts_with_code(reply) {
        return "4.4.7".to_owned();
    }
    let class = &reply[..1];
    let enhanced = reply[3..].trim_start_matches([' ', '-']).split(' ').next();
    match enhanced {
        Some(code)
            if code.starts_with(class)
                && code.split('.').count() == 3
                && code
                    .split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) =>
        {
            code.to_owned()
        }
        _ if class == "5" => "5.0.0".to_owned(),
        _ => "4.4.7".to_owned(),
    }
}

#[cfg(test)]
mod tests;
