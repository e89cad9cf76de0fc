#!/usr/bin/env python3
"""The Python smtplib peer of the benchmark: send one message file as it is, the way a script would.

smtplib is used with its defaults (EHLO name from socket.getfqdn(), no pipelining, no BDAT); the message
bytes go to SMTP.sendmail, which normalises line ends and dot-stuffs in memory (RFC 5321 §4.5.2).
With --starttls CA it verifies the server against CA; with --user it authenticates with AUTH PLAIN
(RFC 4616) explicitly, because smtplib's login() would pick CRAM-MD5 first and the benchmark compares PLAIN.

Usage: smtplib_send.py --port N [--host H] --from ADDR --file MSG [--starttls CA --user U --password P] RCPT...
Exit status 0 when the server accepted the message for every recipient, 1 otherwise.
"""

import argparse
import smtplib
import ssl
import sys


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--from", dest="sender", required=True)
    p.add_argument("--file", required=True)
    p.add_argument("--starttls", metavar="CA")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("rcpts", nargs="+")
    args = p.parse_args()
    with open(args.file, "rb") as f:
        message = f.read()
    with smtplib.SMTP(args.host, args.port, timeout=60) as s:
        if args.starttls:
            s.starttls(context=ssl.create_default_context(cafile=args.starttls))
            # RFC 3207 §4.2: the capabilities are forgotten with TLS; AUTH is offered only in the new EHLO.
            s.ehlo()
        if args.user:
            s.user, s.password = args.user, args.password
            s.auth("PLAIN", s.auth_plain)
        refused = s.sendmail(args.sender, args.rcpts, message)
    return 1 if refused else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, smtplib.SMTPException) as e:
        print(f"smtplib_send: {e}", file=sys.stderr)
        sys.exit(1)
