//! Every exit status mailsend can return (spec §7, sysexits.h), in one table: the number, the sysexits
//! name the log line writes (`exitcode=EX_TEMPFAIL`, msmtp's field), and what it means, which the man
//! page's EXIT STATUS section is generated from. Which failure gets which status is decided in the
//! parent module, `exit`; this leaf only names them, so any module may import it.
//!
//! A meaning is plain prose for the man page: a `` `word` `` is set in bold (an option, a variable)
//! and a `-` in it is an option's hyphen; the man page generator turns both into roff.

pub const OK: u8 = 0;
pub const USAGE: u8 = 64;
pub const DATAERR: u8 = 65;
pub const NOINPUT: u8 = 66;
pub const NOUSER: u8 = 67;
pub const NOHOST: u8 = 68;
pub const UNAVAILABLE: u8 = 69;
pub const IOERR: u8 = 74;
pub const TEMPFAIL: u8 = 75;
pub const PROTOCOL: u8 = 76;
pub const NOPERM: u8 = 77;
pub const CONFIG: u8 = 78;

/// One exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub code: u8,
    /// The sysexits.h name.
    pub name: &'static str,
    /// When mailsend exits with it, for the man page.
    pub meaning: &'static str,
}

/// Every status mailsend returns, in numeric order. sysexits.h has more (70 to 73);
/// mailsend never returns them, so neither the log nor the man page names them.
pub const STATUSES: &[Status] = &[
    Status {
        code: OK,
        name: "EX_OK",
        meaning: "The message was accepted for every recipient (with LMTP: every per-recipient \
                  reply was 2xx), or the report asked for was printed.",
    },
    Status {
        code: USAGE,
        name: "EX_USAGE",
        meaning: "Bad flags or option values; no recipients.",
    },
    Status {
        code: DATAERR,
        name: "EX_DATAERR",
        meaning: "Unusable message input: bad address syntax, CR, LF or NUL in an address or in \
                  `-F`, an address over the RFC 5321 length limits, a NUL or bare CR in a header \
                  field, a header section over 1 MiB; a command holding CR or LF.",
    },
    Status {
        code: NOINPUT,
        name: "EX_NOINPUT",
        meaning: "A file named by `--body`, `--html` or `--attach` is missing or unreadable; \
                  nothing was sent and no connection was made.",
    },
    Status {
        code: NOUSER,
        name: "EX_NOUSER",
        meaning: "A recipient was refused permanently (5xx) and no refusal was temporary; the other \
                  recipients, if any, got the message.",
    },
    Status {
        code: NOHOST,
        name: "EX_NOHOST",
        meaning: "The server's host name does not exist: the resolver answered that there is no \
                  such name or no address for it. A lookup that failed otherwise (no resolver \
                  reachable, a server failure) is temporary: 75.",
    },
    Status {
        code: UNAVAILABLE,
        name: "EX_UNAVAILABLE",
        meaning: "A permanent refusal (5xx) of the greeting, EHLO and HELO, STARTTLS, MAIL, DATA or \
                  the data; STARTTLS, AUTH or SMTPUTF8 needed but not offered; a message larger \
                  than the server's SIZE limit.",
    },
    Status {
        code: IOERR,
        name: "EX_IOERR",
        meaning: "The input could not be read (also: the `--input` file does not exist); the spool \
                  file for a message over 1 MiB could not be created or written for a reason no \
                  retry cures (such as a `$TMPDIR` that does not exist); the output (a report, \
                  `--pretend`) could not be written.",
    },
    Status {
        code: TEMPFAIL,
        name: "EX_TEMPFAIL",
        meaning: "A temporary failure: a 4xx reply (421 included) other than to AUTH; a host name \
                  lookup that failed without a definite answer; a connection refused, reset, closed \
                  or timed out; an unknown outcome after the end of the data (the message may have \
                  been delivered); the spool file in `$TMPDIR` could not be written because the \
                  file system or the quota is full, or the disk failed (ENOSPC, EDQUOT, EIO; nothing \
                  was sent). Retrying later may succeed.",
    },
    Status {
        code: PROTOCOL,
        name: "EX_PROTOCOL",
        meaning: "The server broke the protocol: a malformed reply, a reply line over 8192 bytes, a \
                  reply of more than 100 lines, a reply to a command that was not sent, a reply of \
                  the wrong kind (such as 354 to the end of the data, 220 to EHLO, or 221 to \
                  anything but QUIT before the data), endless AUTH challenges, a STARTTLS response \
                  injection; a TLS handshake that fails as TLS (certificate verification, no common \
                  version, a server that does not speak TLS). A connection closed, reset or stalled \
                  during the handshake is 75 like any other lost connection.",
    },
    Status {
        code: NOPERM,
        name: "EX_NOPERM",
        meaning: "Authentication failed: the server refused AUTH with a permanent (5xx) reply, or \
                  the exchange itself failed (a SCRAM server signature that does not verify). A \
                  temporary refusal such as 454 is 75: retrying later may succeed.",
    },
    Status {
        code: CONFIG,
        name: "EX_CONFIG",
        meaning: "A configuration error: the file (syntax, unknown key, bad value, unknown account, \
                  missing parent, the permissions of a file holding a password), a failed password \
                  command, no password source, unusable TLS files, AUTH refused on a connection \
                  without TLS (see `--allow-plaintext-auth`), TLS over a Unix socket without \
                  `--tls-server-name`; an aliases file with a syntax error (the file and the line \
                  are named), unreadable, or named with `-oA` and missing.",
    },
];

/// The sysexits name of `code`, when mailsend returns it.
pub fn name(code: u8) -> Option<&'static str> {
    STATUSES.iter().find(|s| s.code == code).map(|s| s.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_code_in_order_with_sysexits_names() {
        let codes: Vec<u8> = STATUSES.iter().map(|s| s.code).collect();
        assert_eq!(codes, [0, 64, 65, 66, 67, 68, 69, 74, 75, 76, 77, 78]);
        for status in STATUSES {
            assert!(status.name.starts_with("EX_"), "{status:?}");
            assert!(status.meaning.ends_with('.'), "{status:?}");
        }
        assert_eq!(name(TEMPFAIL), Some("EX_TEMPFAIL"));
        assert_eq!(name(70), None);
    }
}
