#!/usr/bin/env python3
"""The messages of the queue-flush benchmark (scripts/bench/queue-flush.sh), and the check of what arrived.

  queue_messages.py make DIR N
      Writes N distinct messages DIR/0001.eml ... of 1024 bytes each, with LF line ends (as a local program
      hands a message to sendmail). Every one carries all the header fields a sendmail would otherwise add
      (Date, Message-ID), so no tool has a reason to change it, and a Message-ID of its own,
      <queue-bench-NNNN@example.org>, by which it is found again.

  queue_messages.py verify DIR MAILDIR
      Compares what the server stored (every file in MAILDIR, one message each) with DIR. A stored message
      is intact when its body is byte for byte the original's and every header line of the original is in
      it, in the original order; the tools and the server may add fields of their own (Received, a
      nullmailer or dma trace line), which are ignored. Intactness is checked by hash: SHA-256 of the
      original's header lines and body against SHA-256 of the same lines picked out of the stored copy.
      Prints one line of counts, `stored=S intact=I duplicates=D missing=M damaged=X foreign=F`, and exits 0
      only when exactly N messages were stored, each original once and intact.

Line ends are compared after CRLF -> LF (Exim's Maildir stores LF). Header fields are compared unfolded.
"""

import hashlib
import os
import re
import sys

SIZE = 1024
MSGID = re.compile(rb"^message-id:\s*<(queue-bench-\d+@example\.org)>\s*$", re.IGNORECASE | re.MULTILINE)


def message(seq, total):
    head = (
        f"From: Queue Bench <sender@example.org>\n"
        f"To: Alice <alice@example.org>\n"
        f"Subject: queue benchmark message {seq} of {total}\n"
        f"Date: Sun, 23 Nov 2025 12:00:00 +0000\n"
        f"Message-ID: <queue-bench-{seq:04d}@example.org>\n"
        f"MIME-Version: 1.0\n"
        f"Content-Type: text/plain; charset=us-ascii\n"
        f"\n"
    ).encode()
    line = f"Message {seq:04d} of the queue-flush benchmark; this line fills it up to one kilobyte.\n".encode()
    body = b""
    while len(head) + len(body) + len(line) <= SIZE:
        body += line
    body += b"." * (SIZE - len(head) - len(body) - 1) + b"\n"
    return head + body


def make(directory, count):
    os.makedirs(directory, exist_ok=True)
    for seq in range(1, count + 1):
        with open(os.path.join(directory, f"{seq:04d}.eml"), "wb") as f:
            f.write(message(seq, count))


def split(data):
    """(unfolded header lines, body) of a message with LF line ends."""
    data = data.replace(b"\r\n", b"\n")
    head, _, body = data.partition(b"\n\n")
    fields = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b" " + line.strip()
        else:
            fields.append(line)
    return fields, body


def digest(fields, body):
    h = hashlib.sha256()
    for f in fields:
        h.update(f + b"\n")
    h.update(b"\n" + body)
    return h.hexdigest()


def picked(original_fields, stored_fields):
    """The stored header lines equal to the original's, in order (a subsequence match), or None."""
    out, i = [], 0
    for f in stored_fields:
        if i < len(original_fields) and f == original_fields[i]:
            out.append(f)
            i += 1
    return out if i == len(original_fields) else None


def verify(directory, maildir):
    originals = {}
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            data = f.read()
        key = MSGID.search(data).group(1)
        fields, body = split(data)
        originals[key] = (fields, body, digest(fields, body))
    seen = {}
    counts = {"stored": 0, "intact": 0, "duplicates": 0, "missing": 0, "damaged": 0, "foreign": 0}
    for name in sorted(os.listdir(maildir)):
        path = os.path.join(maildir, name)
        if name.startswith(".") or not os.path.isfile(path):
            continue
        counts["stored"] += 1
        with open(path, "rb") as f:
            data = f.read()
        m = MSGID.search(data.partition(b"\n\n")[0].replace(b"\r\n", b"\n") + b"\n")
        if not m or m.group(1) not in originals:
            counts["foreign"] += 1
            continue
        key = m.group(1)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            counts["duplicates"] += 1
            continue
        fields, body, want = originals[key]
        got_fields, got_body = split(data)
        got = picked(fields, got_fields)
        if got is not None and digest(got, got_body) == want:
            counts["intact"] += 1
        else:
            counts["damaged"] += 1
    counts["missing"] = sum(1 for k in originals if k not in seen)
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    ok = counts["intact"] == len(originals) == counts["stored"]
    return 0 if ok else 1


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]))
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "verify":
        return verify(sys.argv[2], sys.argv[3])
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main())
