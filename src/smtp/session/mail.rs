//! The envelope of one mail transaction: what the caller asks for ([`Transaction`]), the MAIL and RCPT
//! commands with their typed parameters as this server's extensions allow (RFC 1870 SIZE, RFC 6152
//! BODY, RFC 6531 SMTPUTF8, RFC 3461 DSN), what the server did with the message ([`Delivery`]), and
//! `--quit-after mail|rcpt`, which stops after the envelope. Imports the engine's command, error and
//! reply modules only.

use super::Session;
use crate::smtp::command::{BodyType, Command, MailParameter, RcptParameter};
use crate::smtp::error::{Acceptance, Error, Refusal, Stage};
use crate::smtp::reply::{Code, Reply};

/// One mail transaction: the envelope and what the session must know about the data.
#[derive(Debug, Clone, Default)]
pub struct Transaction {
    /// Envelope sender; "" is the null sender.
    pub from: String,
    pub recipients: Vec<String>,
    /// Size of the data after CRLF normalisation, before dot-stuffing (RFC 1870 §3).
    pub size: u64,
    pub eight_bit: bool,
    pub body_type: Option<BodyType>,
    pub dsn_notify: Option<String>,
    pub dsn_ret: Option<String>,
    pub dsn_envid: Option<String>,
}

/// What the server did with the message, recipient by recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Recipients the server took the message for, each with the reply that took it.
    pub delivered: Vec<Acceptance>,
    /// Recipients refused at RCPT, or (LMTP) after the data.
    pub refused: Vec<Refusal>,
    /// The reply to the end of the data (the last one for LMTP).
    pub reply: Reply,
}

/// The commands of an envelope, every one checked before the first is sent: nothing partial reaches
/// the server.
pub(super) struct Envelope {
    pub(super) mail: Command,
    pub(super) rcpts: Vec<Command>,
}

impl Session {
    /// MAIL and one RCPT per recipient, checked.
    pub(super) fn envelope(&self, tx: &Transaction) -> Result<Envelope, Error> {
        let mail = self.mail_command(tx)?;
        let rcpts: Vec<Command> = tx
            .recipients
            .iter()
            .map(|r| self.rcpt_command(tx, r))
            .collect();
        mail.validate()?;
        for r in &rcpts {
            r.validate()?;
        }
        Ok(Envelope { mail, rcpts })
    }

    /// `--quit-after mail|rcpt`: MAIL, and with `through_rcpt` every RCPT, one at a time, then stop
    /// (the caller QUITs). A refused MAIL or every RCPT refused ends it with the same errors as a real
    /// send; when some recipients were accepted, the refused ones are returned (issue 10, point 11).
    pub fn envelope_only(
        &mut self,
        tx: &Transaction,
        through_rcpt: bool,
    ) -> Result<Vec<Refusal>, Error> {
        let mail = self.mail_command(tx)?;
        let reply = self.command(mail, Stage::Mail)?;
        if !reply.is_positive() {
            return Err(Error::Rejected {
                stage: Stage::Mail,
                reply,
            });
        }
        if !through_rcpt {
            return Ok(Vec::new());
        }
        let mut refused = Vec::new();
        for rcpt in &tx.recipients {
            let reply = self.command(self.rcpt_command(tx, rcpt), Stage::Rcpt)?;
            if reply.code == Code::UNAVAILABLE {
                return Err(Error::Rejected {
                    stage: Stage::Rcpt,
                    reply,
                });
            }
            if !reply.is_positive() {
                refused.push((rcpt.clone(), reply));
            }
        }
        if refused.len() == tx.recipients.len() {
            return Err(Error::RecipientsRefused { refused });
        }
        Ok(refused)
    }

    /// MAIL FROM with the parameters this server's extensions allow. After HELO the capabilities are
    /// empty, so no parameter goes (RFC 5321 §4.1.1.1).
    fn mail_command(&self, tx: &Transaction) -> Result<Command, Error> {
        let utf8 = !tx.from.is_ascii() || tx.recipients.iter().any(|r| !r.is_ascii());
        if utf8 && !self.caps.smtputf8() {
            return Err(Error::NotOffered(
                "an address is not ASCII and the server does not offer SMTPUTF8 (RFC 6531); nothing was sent"
                    .into(),
            ));
        }
        let mut params = Vec::new();
        if self.caps.has("SIZE") {
            if let Some(limit) = self.caps.size_limit()
                && tx.size > limit
            {
                return Err(Error::MessageTooBig {
                    size: tx.size,
                    limit,
                });
            }
            params.push(MailParameter::Size(tx.size));
        }
        if self.caps.eightbitmime() {
            let implied = (tx.eight_bit || utf8).then_some(BodyType::EightBitMime);
            if let Some(body) = tx.body_type.or(implied) {
                params.push(MailParameter::Body(body));
            }
        }
        if utf8 {
            params.push(MailParameter::SmtpUtf8);
        }
        if self.caps.dsn() {
            params.extend(tx.dsn_ret.clone().map(MailParameter::Ret));
            params.extend(tx.dsn_envid.clone().map(MailParameter::EnvId));
        }
        Ok(Command::Mail {
            from: tx.from.clone(),
            params,
        })
    }

    fn rcpt_command(&self, tx: &Transaction, rcpt: &str) -> Command {
        let params = match &tx.dsn_notify {
            Some(notify) if self.caps.dsn() => vec![RcptParameter::Notify(notify.clone())],
            _ => Vec::new(),
        };
        Command::Rcpt {
            to: rcpt.to_owned(),
            params,
        }
    }
}
