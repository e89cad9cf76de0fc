//! Why a `-bs` session ended in failure (spec §10): the client's input ended inside the data or went
//! silent for longer than `--timeout`, or standard input or output failed. Which exit status each
//! gets is decided by `exit::classify`. A leaf: imports nothing of the crate.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// nullmailer-smtpd commits such a truncated message; mailsend discards it (issue 13).
    #[error("standard input ended inside the message data; the partial message was discarded")]
    EndOfInputInData,
    #[error(
        "the SMTP client on standard input sent nothing for {seconds} s (--timeout){}",
        if *in_data { "; the partial message was discarded" } else { "" }
    )]
    Timeout { seconds: u64, in_data: bool },
    #[error("cannot read standard input: {0}")]
    Read(io::Error),
    #[error("cannot write the reply to standard output: {0}")]
    Write(io::Error),
}
