//! The `-bs` server's dialogue as a state machine without I/O (RFC 5321 §4.1.1, §4.1.4 on the order of
//! commands; spec §10 for the codes): each line from the client becomes one [`Step`], a reply or the
//! start of the data or the end of the session. The envelope is kept here until the data has arrived;
//! what happens to the message at its final dot is the driver's business ([`super::relay`]), and the
//! reply to the dot comes from there.
//!
//! EHLO offers PIPELINING, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, SIZE and DSN, never STARTTLS, AUTH
//! or CHUNKING: the client is a local process on a pipe, and the relay speaks BDAT, TLS and AUTH to the
//! upstream server itself. After EHLO every reply carries an enhanced status code (RFC 2034), after
//! HELO none does.

use super::line::Line;
use super::reply::Answer;
use super::request::{self, Mail, Rcpt, Request};

/// RFC 5321 §4.5.3.1.8 asks for at least 100; more are refused for now (452), so the envelope stays
/// bounded.
pub const MAX_RECIPIENTS: usize = 1000;

/// The extensions EHLO offers, after the name line.
const EXTENSIONS: &[&str] = &[
    "PIPELINING",
    "8BITMIME",
    "SMTPUTF8",
    "ENHANCEDSTATUSCODES",
    "SIZE",
    "DSN",
];

/// Which greeting the client used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hello {
    None,
    Helo,
    Ehlo,
}

/// How the addresses of MAIL and RCPT are judged (aliases and maildomain as spec §2 has them): the
/// reason a sender or recipient is refused.
pub trait Addresses {
    fn sender(&self, address: &str) -> Result<(), String>;
    fn recipient(&self, address: &str) -> Result<(), String>;
}

/// The envelope of one transaction, as the client gave it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    pub mail: Mail,
    pub recipients: Vec<Rcpt>,
}

/// What a line leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Reply(Answer),
    /// `354`: the data follows.
    Data(Answer),
    /// `221`: the session ends.
    Quit(Answer),
}

/// The server side of one session.
#[derive(Debug)]
pub struct Dialogue {
    name: String,
    hello: Hello,
    envelope: Option<Envelope>,
}

fn out_of_order(text: &str) -> Step {
    Step::Reply(Answer::new(503, "5.5.1", format!("Error: {text}")))
}

impl Dialogue {
    /// `name` is the server's name in the greeting (the mail name).
    pub fn new(name: &str) -> Dialogue {
        Dialogue {
            name: name.to_owned(),
            hello: Hello::None,
            envelope: None,
        }
    }

    /// `220 NAME ESMTP mailsend`.
    pub fn greeting(&self) -> Answer {
        Answer::plain(220, vec![format!("{} ESMTP mailsend", self.name)])
    }

    /// Whether replies carry enhanced status codes: only after EHLO (RFC 2034 §3).
    pub fn enhanced(&self) -> bool {
        self.hello == Hello::Ehlo
    }

    /// The reply to the timeout that ends a session (RFC 5321 §4.5.3.2.7).
    pub fn timed_out(&self) -> Answer {
        Answer::new(
            421,
            "4.4.2",
            format!("{} Error: timeout exceeded", self.name),
        )
    }

    /// One line from the client.
    pub fn on_line(&mut self, line: Line, addresses: &dyn Addresses) -> Step {
        let text = match line {
            Line::TooLong => return Step::Reply(Answer::new(500, "5.5.2", "Error: line too long")),
            Line::Text(text) => text,
        };
        match request::parse(&text) {
            Ok(request) => self.on_request(request, addresses),
            Err(answer) => Step::Reply(answer),
        }
    }

    fn on_request(&mut self, request: Request, addresses: &dyn Addresses) -> Step {
        let ok = |status, text: &str| Step::Reply(Answer::new(250, status, text));
        match request {
            Request::Helo(_) => {
                self.hello = Hello::Helo;
                self.envelope = None;
                Step::Reply(Answer::plain(250, vec![self.name.clone()]))
            }
            Request::Ehlo(_) => {
                self.hello = Hello::Ehlo;
                self.envelope = None;
                let mut lines = vec![self.name.clone()];
                lines.extend(EXTENSIONS.iter().map(|e| e.to_string()));
                Step::Reply(Answer::plain(250, lines))
            }
            Request::Mail(mail) => self.mail(mail, addresses),
            Request::Rcpt(rcpt) => self.rcpt(rcpt, addresses),
            Request::Data => match &self.envelope {
                None => out_of_order("need MAIL command"),
                Some(e) if e.recipients.is_empty() => out_of_order("need RCPT command"),
                Some(_) => Step::Data(Answer::plain(
                    354,
                    vec!["End data with <CR><LF>.<CR><LF>".into()],
                )),
            },
            Request::Rset => {
                self.envelope = None;
                ok("2.0.0", "Ok")
            }
            Request::Noop => ok("2.0.0", "Ok"),
            Request::Quit => Step::Quit(Answer::new(221, "2.0.0", "Bye")),
            // RFC 5321 §3.5.3: 252, neither verified nor refused; the relay decides at the dot.
            Request::Vrfy => Step::Reply(Answer::new(
                252,
                "2.0.0",
                "Cannot VRFY user, but will accept message and attempt delivery",
            )),
            Request::Help => Step::Reply(Answer::new(
                214,
                "2.0.0",
                "Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP",
            )),
        }
    }

    fn mail(&mut self, mail: Mail, addresses: &dyn Addresses) -> Step {
        match (self.hello, &self.envelope) {
            (Hello::None, _) => return out_of_order("send HELO/EHLO first"),
            (_, Some(_)) => return out_of_order("nested MAIL command"),
            (Hello::Helo, None) if mail.has_parameters() => {
                return Step::Reply(no_parameters_after_helo());
            }
            _ => {}
        }
        if !mail.from.is_empty()
            && let Err(why) = addresses.sender(&mail.from)
        {
            return Step::Reply(Answer::new(
                553,
                "5.1.7",
                format!("Bad sender address: {why}"),
            ));
        }
        self.envelope = Some(Envelope {
            mail,
            recipients: Vec::new(),
        });
        Step::Reply(Answer::new(250, "2.1.0", "Ok"))
    }

    fn rcpt(&mut self, rcpt: Rcpt, addresses: &dyn Addresses) -> Step {
        let helo = self.hello == Hello::Helo;
        let Some(envelope) = &mut self.envelope else {
            return out_of_order("need MAIL command");
        };
        if helo && rcpt.has_parameters() {
            return Step::Reply(no_parameters_after_helo());
        }
        if envelope.recipients.len() >= MAX_RECIPIENTS {
            return Step::Reply(Answer::new(452, "4.5.3", "Error: too many recipients"));
        }
        if let Err(why) = addresses.recipient(&rcpt.to) {
            return Step::Reply(Answer::new(
                553,
                "5.1.3",
                format!("Bad recipient address: {why}"),
            ));
        }
        envelope.recipients.push(rcpt);
        Step::Reply(Answer::new(250, "2.1.5", "Ok"))
    }

    /// The envelope of the transaction whose data has just ended; the next one starts afresh (RFC 5321
    /// §4.1.1.4: the end of the data clears the buffers, whatever the outcome).
    pub fn end_transaction(&mut self) -> Option<Envelope> {
        self.envelope.take()
    }
}

fn no_parameters_after_helo() -> Answer {
    Answer::new(555, "5.5.4", "ESMTP parameters need EHLO")
}

#[cfg(test)]
mod tests;
