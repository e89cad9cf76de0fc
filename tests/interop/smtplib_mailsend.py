#!/usr/bin/env python3
"""A stand-in for mailsend built on Python's smtplib, covering only the options the interop tests use.

It validates the interop suite itself (run it as MAILSEND=tests/interop/smtplib_mailsend.py
tests/interop/run.sh): a check that fails against this reference client too is a broken check or server,
not a mailsend bug. It follows the CLI and exit-status contract of the spec (§1, §2, §7) for:
  --host HOST[:PORT] --port N --socket PATH --protocol smtp|lmtp --tls auto|off|starttls|implicit
  --tls-trust-file PEM --auth on|off|MECH --user U --password-command CMD --allow-plaintext-auth
  -t -f/-r/--from ADDR -i -oi --debug N --timeout S RECIPIENT...
Known smtplib limits are kept: LMTP reads one reply after the data (gh-76984).
"""

import argparse
import email.utils
import re
import smtplib
import socket
import ssl
import subprocess
import sys

EX_USAGE, EX_DATAERR, EX_NOUSER, EX_UNAVAILABLE = 64, 65, 67, 69
EX_TEMPFAIL, EX_PROTOCOL, EX_NOPERM, EX_CONFIG = 75, 76, 77, 78


class Fail(Exception):
    def __init__(self, code, text):
        super().__init__(text)
        self.code = code


def parse_args(argv):
    p = argparse.ArgumentParser(prog="smtplib_mailsend")
    p.add_argument("--host", default="localhost")
    p.add_argument("--port", type=int)
    p.add_argument("--socket")
    p.add_argument("--protocol", choices=["smtp", "lmtp"], default="smtp")
    p.add_argument("--tls", choices=["auto", "off", "starttls", "implicit"], default="auto")
    p.add_argument("--tls-trust-file")
    p.add_argument("--auth", default=None)
    p.add_argument("--user")
    p.add_argument("--password-command")
    p.add_argument("--allow-plaintext-auth", action="store_true")
    p.add_argument("-t", "--read-recipients", action="store_true")
    p.add_argument("-f", "-r", "--from", dest="sender")
    p.add_argument("-i", action="store_true")
    p.add_argument("-o", dest="ignored_o")
    p.add_argument("--debug", type=int, default=0)
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("recipients", nargs="*")
    return p.parse_args(argv)


def split_message(data):
    """Header lines (with their line ends) and the rest, which starts with the empty line (CRLF or LF)."""
    m = re.search(rb"\r?\n(?=\r?\n)", data)
    if not m:
        return data.splitlines(keepends=True), b""
    return data[: m.end()].splitlines(keepends=True), data[m.end() :]


def fields(header_lines):
    """Unfolded (name, value) pairs, plus the raw line groups of every field."""
    groups = []
    for line in header_lines:
        if line[:1] in (b" ", b"\t") and groups:
            groups[-1].append(line)
        else:
            groups.append([line])
    return groups


def field_name(group):
    return group[0].split(b":", 1)[0].strip().lower()


def field_value(group):
    raw = b"".join(group).split(b":", 1)[1] if b":" in group[0] else b""
    return re.sub(rb"\r?\n", b"", raw).decode("utf-8", "surrogateescape").strip()


def addresses(values):
    return [a for _, a in email.utils.getaddresses(values) if a]


def envelope(args, data):
    header_lines, body = split_message(data)
    groups = fields(header_lines)
    rcpts = addresses(args.recipients)
    if args.read_recipients:
        rcpts += addresses([field_value(g) for g in groups if field_name(g) in (b"to", b"cc", b"bcc")])
    rcpts = list(dict.fromkeys(rcpts))
    if not rcpts:
        raise Fail(EX_USAGE, "no recipients")
    sender = args.sender
    if sender is None:
        for name in (b"sender", b"from"):
            found = addresses([field_value(g) for g in groups if field_name(g) == name])
            if found:
                sender = found[0]
                break
    if sender in ("<>",):
        sender = ""
    kept = b"".join(line for g in groups if field_name(g) != b"bcc" for line in g)
    # smtplib normalises line ends only for str messages; bytes go out as given (spec §3: all become CRLF).
    return sender or "", rcpts, re.sub(rb"\r\n|\r|\n", b"\r\n", kept + body)


def password(args):
    if not args.password_command:
        raise Fail(EX_CONFIG, "no password source")
    r = subprocess.run(["sh", "-c", args.password_command], stdin=subprocess.DEVNULL, capture_output=True)
    if r.returncode != 0:
        raise Fail(EX_CONFIG, "password command failed")
    return r.stdout.decode().splitlines()[0] if r.stdout else ""


def connect(args):
    host, port = args.host, args.port
    m = re.fullmatch(r"\[(.*)\](?::(\d+))?|([^:]*)(?::(\d+))?", host)
    if m:
        host = m.group(1) or m.group(3)
        port = int(m.group(2) or m.group(4) or 0) or port
    ctx = ssl.create_default_context(cafile=args.tls_trust_file)
    implicit = args.tls == "implicit" or (args.tls == "auto" and port == 465)
    cls = smtplib.LMTP if args.protocol == "lmtp" else (smtplib.SMTP_SSL if implicit else smtplib.SMTP)
    kw = {"context": ctx} if cls is smtplib.SMTP_SSL else {}
    if args.socket:
        conn = smtplib.LMTP(args.socket) if args.protocol == "lmtp" else None
        if conn is None:
            conn = smtplib.SMTP()
            conn.sock = socket.socket(socket.AF_UNIX)
            conn.sock.connect(args.socket)
            conn.getreply()
    else:
        default = 465 if implicit else (24 if args.protocol == "lmtp" else 25)
        conn = cls(timeout=args.timeout, **kw)
        conn.set_debuglevel(args.debug)
        conn._host = host  # the name TLS verifies; smtplib sets it only when the constructor connects
        code, msg = conn.connect(host, port or default)
        if code != 220:
            raise Fail(EX_TEMPFAIL if code // 100 == 4 else EX_UNAVAILABLE, f"greeting {code} {msg!r}")
    conn.set_debuglevel(args.debug)
    conn.ehlo_or_helo_if_needed()
    loopback = host in ("localhost", "::1") or host.startswith("127.") or args.socket
    if args.tls == "starttls" or (args.tls == "auto" and not implicit and not loopback):
        if not conn.has_extn("starttls"):
            raise Fail(EX_UNAVAILABLE, "STARTTLS not offered")
        conn.starttls(context=ctx)
        conn.ehlo()
    return conn


def authenticate(args, conn):
    encrypted = isinstance(conn.sock, ssl.SSLSocket)
    mode = args.auth or ("on" if args.user else "off")
    if mode == "off":
        return
    if not encrypted and not args.allow_plaintext_auth:
        raise Fail(EX_UNAVAILABLE, "refusing AUTH without TLS")
    if not conn.has_extn("auth"):
        raise Fail(EX_UNAVAILABLE, "server offers no AUTH")
    conn.user, conn.password = args.user or "", password(args)
    offered = conn.esmtp_features["auth"].upper().split()
    order = ["CRAM-MD5", "PLAIN", "LOGIN"] if mode == "on" else [mode.upper()]
    last = None
    for mech in order:
        if mech not in offered:
            continue
        try:
            conn.auth(mech, getattr(conn, "auth_" + mech.lower().replace("-", "_")))
            return
        except smtplib.SMTPAuthenticationError as e:
            last = e
    raise Fail(EX_NOPERM, f"authentication failed: {last}")


def send(args, data):
    sender, rcpts, message = envelope(args, data)
    conn = connect(args)
    try:
        authenticate(args, conn)
        opts = []
        if any(ord(c) > 127 for c in sender + "".join(rcpts)):
            if not conn.has_extn("smtputf8"):
                raise Fail(EX_UNAVAILABLE, "SMTPUTF8 not offered")
            opts.append("SMTPUTF8")
        if any(b > 127 for b in message) and conn.has_extn("8bitmime"):
            opts.append("BODY=8BITMIME")
        try:
            refused = conn.sendmail(sender, rcpts, message, mail_options=opts)
        except smtplib.SMTPRecipientsRefused as e:
            codes = [c for c, _ in e.recipients.values()]
            raise Fail(EX_TEMPFAIL if any(c // 100 == 4 for c in codes) else EX_NOUSER, f"refused: {e.recipients}")
        except smtplib.SMTPSenderRefused as e:
            raise Fail(EX_TEMPFAIL if e.smtp_code // 100 == 4 else EX_UNAVAILABLE, f"MAIL refused: {e}")
        except smtplib.SMTPDataError as e:
            raise Fail(EX_TEMPFAIL if e.smtp_code // 100 == 4 else EX_UNAVAILABLE, f"data refused: {e}")
        if refused:
            codes = [c for c, _ in refused.values()]
            raise Fail(EX_TEMPFAIL if any(c // 100 == 4 for c in codes) else EX_NOUSER, f"refused: {refused}")
    finally:
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()


def main(argv):
    args = parse_args(argv)
    data = sys.stdin.buffer.read()
    try:
        send(args, data)
    except Fail as e:
        print(f"smtplib_mailsend: {e}", file=sys.stderr)
        return e.code
    except smtplib.SMTPServerDisconnected as e:
        print(f"smtplib_mailsend: connection lost ({e}); the message may have been delivered", file=sys.stderr)
        return EX_TEMPFAIL
    except smtplib.SMTPResponseException as e:
        print(f"smtplib_mailsend: {e}", file=sys.stderr)
        return EX_TEMPFAIL if e.smtp_code // 100 == 4 else EX_UNAVAILABLE
    except ssl.SSLError as e:
        print(f"smtplib_mailsend: TLS: {e}", file=sys.stderr)
        return EX_PROTOCOL
    except (OSError, smtplib.SMTPException) as e:
        print(f"smtplib_mailsend: {e}", file=sys.stderr)
        return EX_TEMPFAIL
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
