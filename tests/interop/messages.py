#!/usr/bin/env python3
"""Messages for the load and queue groups, and the check that each arrived exactly once, byte for byte.

usage:
  messages.py big PATH BYTES          write a message of at least BYTES to PATH; print the SHA-256 and the
                                      length of what a server storing LF line ends must hold
  messages.py batch DIR PREFIX COUNT  write DIR/PREFIX-NNNNN.eml, each with its own Subject and Message-ID
  messages.py varied DIR PREFIX COUNT like batch, but each message's body is one of VARIANTS in turn: dot
                                      lines, 8-bit text, lines far over 998 octets, an mbox-like body
  messages.py verify MAILDIR DIR [exim|dovecot]
                                      every DIR/*.eml stored exactly once in MAILDIR (the server's trace
                                      fields removed as stored.py does; exim by default), nothing else
                                      stored; prints the figures
  messages.py exim-log MAINLOG OFFSET every message Exim logged as received (<=) after byte OFFSET of its
                                      main log was delivered (=>) at once, never deferred (==) or left
                                      for a queue run; prints the figures

The big message is what the issue asks of a 100 MB test: lines of mixed lengths ending in LF (a few in CRLF,
which mailsend normalises, RFC 5321 §2.3.8), lines starting with '.', lone '.' and '..' lines (dot-stuffing,
RFC 5321 §4.5.2) and 8-bit bytes, UTF-8 and not (RFC 6152), never CR alone or NUL. It is built from a
fixed-seed pool of lines, so every run sends the same bytes and generating it costs well under a second.
"""

import datetime
import hashlib
import os
import random
import sys

# No __pycache__ in the source tree for the import below.
sys.dont_write_bytecode = True
from stored import strip  # noqa: E402

POOL_SIZE = 4096
WORDS = [
    b"alpha",
    b"beta",
    b"\xc3\xa9t\xc3\xa9",  # UTF-8
    b"gr\xc3\xbc\xc3\x9fe",
    b"\xe2\x82\xac",
    b"x" * 40,
    b"\xe9",  # Latin-1, not UTF-8
    b"\xff\xfe\x80",
    b"\t tab",
]

BIG_HEADER = (
    b"From: Sender <sender@example.org>\n"
    b"To: Alice <alice@example.org>\n"
    b"Subject: interop 100 MB\n"
    b"Date: Mon, 23 Nov 2026 12:00:00 +0000\n"
    b"Message-ID: <big.1@example.org>\n"
    b"Content-Type: text/plain; charset=utf-8\n"
    b"Content-Transfer-Encoding: 8bit\n"
    b"\n"
)


def line_pool():
    rng = random.Random(5)
    pool = []
    for _ in range(POOL_SIZE):
        line = b" ".join(rng.choice(WORDS) for _ in range(rng.randrange(0, 14)))
        r = rng.random()
        if r < 0.05:
            line = b"." + line
        elif r < 0.07:
            line = b"."
        elif r < 0.08:
            line = b".."
        pool.append(line)
    return rng, pool


def big(path, size):
    rng, pool = line_pool()
    want = hashlib.sha256(BIG_HEADER)
    length = len(BIG_HEADER)
    with open(path, "wb") as f:
        f.write(BIG_HEADER)
        while length < size:
            start = rng.randrange(POOL_SIZE)
            lines = pool[start:] + pool[:start]
            # One line in each block ends in CRLF: it must arrive as any other line.
            crlf = rng.randrange(POOL_SIZE)
            sent = b"\n".join(lines[:crlf]) + b"\r\n" + b"\n".join(lines[crlf:]) + b"\n"
            stored = sent.replace(b"\r\n", b"\n")
            f.write(sent)
            want.update(stored)
            length += len(stored)
    print(want.hexdigest(), length)


def batch_message(prefix, n):
    token = f"{prefix}-{n:05d}"
    return token, (
        f"From: Sender <sender@example.org>\n"
        f"To: Alice <alice@example.org>\n"
        f"Subject: load {token}\n"
        f"Date: Mon, 23 Nov 2026 12:00:00 +0000\n"
        f"Message-ID: <{token}@example.org>\n"
        f"Content-Type: text/plain; charset=utf-8\n"
        f"\n"
        f"Message {token}.\n"
        f".a dot line\n"
        f".\n"
        f"gr\u00fc\u00dfe from {token}\n"
    ).encode()


# Bodies for `varied` (LF line ends, as a cron job writes them): what a queued message must carry through
# the data file and the flush unchanged. Dot lines are stuffed on the wire (RFC 5321 §4.5.2) unless the
# server takes BDAT (RFC 3030); 8-bit text needs 8BITMIME (RFC 6152); a line of 2,500 octets breaks RFC
# 5322's 998 but servers store it (mailsend warns and sends it as it is).
VARIANTS = [
    ("dot lines", b".\n..\n.leading dot\n...three\nend . of line\n.\n"),
    ("8-bit", "UTF-8: \u00e9t\u00e9, gr\u00fc\u00dfe, \u20ac\n".encode() + b"Latin-1: \xe9 \xff\xfe\x80\n"),
    ("long lines", b"x" * 2500 + b"\n" + b"word " * 400 + b"\n\tshort\n" + b"." + b"y" * 1200 + b"\n"),
    ("mbox-like", b"From the cron job, line one\n>From quoted\n\n\nBcc: body text, not a header\n \n"),
]


def varied_message(prefix, n):
    token = f"{prefix}-{n:05d}"
    what, body = VARIANTS[(n - 1) % len(VARIANTS)]
    header = (
        f"From: Sender <sender@example.org>\n"
        f"To: Alice <alice@example.org>\n"
        f"Subject: queue {token} ({what})\n"
        f"Date: Mon, 23 Nov 2026 12:00:00 +0000\n"
        f"Message-ID: <{token}@example.org>\n"
        f"MIME-Version: 1.0\n"
        f"Content-Type: text/plain; charset=utf-8\n"
        f"Content-Transfer-Encoding: 8bit\n"
        f"\n"
    ).encode()
    return token, header + body


def batch(directory, prefix, count, make=None):
    os.makedirs(directory, exist_ok=True)
    for n in range(1, count + 1):
        token, data = (make or batch_message)(prefix, n)
        with open(os.path.join(directory, token + ".eml"), "wb") as f:
            f.write(data)


def message_id(data):
    for line in data.split(b"\n\n", 1)[0].split(b"\n"):
        if line.lower().startswith(b"message-id:"):
            return line.split(b"<", 1)[-1].split(b"@", 1)[0].decode("ascii", "replace")
    return None


def verify(maildir, directory, kind="exim"):
    expected = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".eml"):
            with open(os.path.join(directory, name), "rb") as f:
                expected[name[: -len(".eml")]] = hashlib.sha256(f.read()).hexdigest()
    seen = {}
    unknown, differ = [], []
    stored_files = [n for n in sorted(os.listdir(maildir)) if not n.startswith(".")]
    for name in stored_files:
        with open(os.path.join(maildir, name), "rb") as f:
            body = strip(kind, f.read())
        token = message_id(body)
        if token not in expected:
            unknown.append(name)
            continue
        seen[token] = seen.get(token, 0) + 1
        if hashlib.sha256(body).hexdigest() != expected[token]:
            differ.append(token)
    missing = [t for t in expected if t not in seen]
    duplicated = [t for t, n in seen.items() if n > 1]
    print(
        f"{len(expected)} sent, {len(stored_files)} stored, {len(seen) - len(duplicated)} exactly once, "
        f"{len(missing)} missing, {len(duplicated)} duplicated, {len(differ)} differing, "
        f"{len(unknown)} unknown"
    )
    for what, items in (
        ("missing", missing),
        ("duplicated", duplicated),
        ("differing", differ),
        ("unknown", unknown),
    ):
        if items:
            print(f"{what}: {' '.join(items[:10])}{' …' if len(items) > 10 else ''}")
    ok = not (missing or duplicated or differ or unknown) and len(stored_files) == len(expected)
    return 0 if ok else 1


# A delivery this long after reception means the message waited for a queue run (the daemon runs one a
# minute), not the immediate delivery the load tests ask for.
MAX_DELIVERY_DELAY = 10


def exim_log(path, offset):
    with open(path, "rb") as f:
        f.seek(offset)
        lines = f.read().decode("utf-8", "replace").splitlines()
    received, delivered, deferred = {}, {}, []
    for line in lines:
        parts = line.split(" ", 4)
        if len(parts) < 5:
            continue
        try:
            when = datetime.datetime.strptime(parts[0] + " " + parts[1], "%Y-%m-%d %H:%M:%S")
        except ValueError:
            continue
        msg_id, flag = parts[2], parts[3]
        if flag == "<=":
            received[msg_id] = when
        elif flag in ("=>", "->") and msg_id not in delivered:
            delivered[msg_id] = when
        elif flag in ("==", "**"):
            deferred.append(msg_id)
    undelivered = [m for m in received if m not in delivered]
    delays = {m: (delivered[m] - received[m]).total_seconds() for m in received if m in delivered}
    slowest = max(delays.values(), default=0)
    print(
        f"{len(received)} received, {len(delays)} delivered, longest from reception to delivery "
        f"{slowest:.0f} s, {len(deferred)} deferred or failed, {len(undelivered)} not delivered"
    )
    late = [m for m, d in delays.items() if d > MAX_DELIVERY_DELAY]
    for what, items in (("deferred or failed", deferred), ("not delivered", undelivered), ("late", late)):
        if items:
            print(f"{what}: {' '.join(items[:10])}")
    return 1 if deferred or undelivered or late else 0


def main(argv):
    if len(argv) == 3 and argv[0] == "big":
        big(argv[1], int(argv[2]))
        return 0
    if len(argv) == 4 and argv[0] == "batch":
        batch(argv[1], argv[2], int(argv[3]))
        return 0
    if len(argv) == 4 and argv[0] == "varied":
        batch(argv[1], argv[2], int(argv[3]), varied_message)
        return 0
    if len(argv) in (3, 4) and argv[0] == "verify" and argv[3:] in ([], ["exim"], ["dovecot"]):
        return verify(*argv[1:])
    if len(argv) == 3 and argv[0] == "exim-log":
        return exim_log(argv[1], int(argv[2]))
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
