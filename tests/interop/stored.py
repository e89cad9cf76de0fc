#!/usr/bin/env python3
"""Print a message as the client sent it, from the file a test server stored.

usage: stored.py sink|exim|dovecot FILE

Servers put trace fields in front of what they received (RFC 5321 §4.4); these are removed, and only these,
only at the top of the file, so that the rest can be compared byte for byte with what was meant to arrive:
  sink     Postfix smtp-sink's dump: X-Client-Addr, X-Client-Proto, X-Helo-Args, X-Mail-Args, X-Rcpt-Args,
           then its three-line Received field; the dump also ends with one empty line of its own.
  exim     the one Received field of the test configuration (its other trace fields are switched off).
  dovecot  Return-Path, Delivered-To and the Received field of Dovecot's LMTP delivery.
Line ends are left as stored (smtp-sink, Exim and Dovecot store LF).
"""

import sys

PREFIX_FIELDS = {
    "sink": ["x-client-addr", "x-client-proto", "x-helo-args", "x-mail-args", "x-rcpt-args", "received"],
    "exim": ["received"],
    "dovecot": ["return-path", "delivered-to", "received"],
}
REPEATABLE = {"x-rcpt-args"}


def strip(kind, data):
    allowed = PREFIX_FIELDS[kind]
    seen = set()
    lines = data.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        name = lines[i].split(b":", 1)[0].decode("ascii", "replace").lower()
        if name not in allowed or (name in seen and name not in REPEATABLE):
            break
        seen.add(name)
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
        if name == "received":
            # Every kind ends its trace block with the Received field.
            break
    if "received" not in seen:
        raise SystemExit(f"stored.py: no {kind} trace block at the top of the file")
    body = b"".join(lines[i:])
    if kind == "sink":
        if not body.endswith(b"\n\n"):
            raise SystemExit("stored.py: smtp-sink dump does not end with its empty line")
        body = body[:-1]
    return body


def main(argv):
    if len(argv) != 2 or argv[0] not in PREFIX_FIELDS:
        raise SystemExit(__doc__)
    with open(argv[1], "rb") as f:
        data = f.read()
    sys.stdout.buffer.write(strip(argv[0], data))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
