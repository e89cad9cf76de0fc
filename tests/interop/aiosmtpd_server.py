#!/usr/bin/env python3
"""A small aiosmtpd server for mailsend's interop tests.

Stores every accepted message in --store DIR as two files, written atomically once the data is complete:
  N.eml  the message data exactly as received, dot-unstuffed, with its CRLF line ends (RFC 5321 §4.5.2)
  N.env  the envelope: "MAIL FROM:<addr> PARAMS" then one "RCPT TO:<addr> PARAMS" line per recipient, then
         "AUTH <login>" when the client authenticated and "TLS <version>" when the session was encrypted.

Modes: plain SMTP (default), STARTTLS (--starttls), implicit TLS (--implicit-tls, RFC 8314 §3.3), LMTP
(--lmtp, RFC 2033: one reply per recipient after the data), AUTH PLAIN/LOGIN/CRAM-MD5 with one fixed user
(--auth USER:PASSWORD), and a TCP address or a Unix socket (--unix PATH). Runs until SIGTERM/SIGINT.
"""

import argparse
import base64
import hmac
import os
import secrets
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller, UnixSocketController
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Store:
    """Writes each message and its envelope into a directory; file names count up from 1."""

    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    def save(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        lines = [f"MAIL FROM:<{envelope.mail_from}> {' '.join(envelope.mail_options)}".rstrip()]
        lines += [f"RCPT TO:<{r}>" for r in envelope.rcpt_tos]
        if session.authenticated:
            login = getattr(session.auth_data, "login", b"")
            lines.append("AUTH " + (login.decode("utf-8", "replace") if isinstance(login, bytes) else str(login)))
        tls = server.transport.get_extra_info("ssl_object") if server.transport else None
        if tls is not None:
            lines.append(f"TLS {tls.version()}")
        self._write(f"{n}.env", ("\n".join(lines) + "\n").encode("utf-8"))
        # The .eml is written last: a test that sees it knows the envelope is there too.
        self._write(f"{n}.eml", envelope.original_content)

    def _write(self, name, data):
        tmp = os.path.join(self.directory, "." + name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, os.path.join(self.directory, name))


class Handler:
    def __init__(self, store, lmtp, refuse, user, password, refuse_data=()):
        self.store = store
        self.lmtp = lmtp
        self.refuse = refuse
        self.refuse_data = [t.encode() for t in refuse_data]
        self.user = user
        self.password = password

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if any(t in envelope.original_content for t in self.refuse_data):
            return "554 5.7.1 Message refused: content rejected"
        self.store.save(server, session, envelope)
        if self.lmtp:
            # RFC 2033 §4.2: one reply per accepted recipient, in RCPT order.
            return "\r\n".join("250 2.0.0 <%s> delivered" % r for r in envelope.rcpt_tos)
        return "250 2.0.0 OK: stored as %d" % self.store.count

    async def auth_CRAM__MD5(self, server, args):
        """RFC 2195; aiosmtpd has no built-in CRAM-MD5, this is its documented extension point."""
        challenge = f"<{secrets.token_hex(8)}@aiosmtpd.test>".encode()
        answer = await server.challenge_auth(challenge)
        if not isinstance(answer, bytes):
            return AuthResult(success=False, handled=True)
        login, _, digest = answer.partition(b" ")
        want = hmac.new(self.password.encode(), challenge, "md5").hexdigest().encode()
        ok = login == self.user.encode() and hmac.compare_digest(digest, want)
        # handled=False: let aiosmtpd send 235 or 535 (its default, True, means "reply already sent").
        return AuthResult(success=ok, handled=False, auth_data=LoginPassword(login, b""))


def make_authenticator(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return authenticator


def tls_context(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8025)
    p.add_argument("--unix", metavar="PATH", help="listen on this Unix socket instead of TCP")
    p.add_argument("--store", required=True, metavar="DIR")
    p.add_argument("--lmtp", action="store_true")
    tls = p.add_mutually_exclusive_group()
    tls.add_argument("--implicit-tls", nargs=2, metavar=("CERT", "KEY"))
    tls.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--auth", metavar="USER:PASSWORD", help="offer AUTH PLAIN, LOGIN and CRAM-MD5")
    p.add_argument("--auth-without-tls", action="store_true", help="offer AUTH on a cleartext session")
    p.add_argument("--refuse", action="append", default=[], metavar="ADDR", help="550 this RCPT")
    p.add_argument("--refuse-data", action="append", default=[], metavar="TEXT", help="554 data holding TEXT")
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    os.makedirs(args.store, exist_ok=True)
    user, _, password = (args.auth or "").partition(":")
    handler = Handler(Store(args.store), args.lmtp, set(args.refuse), user, password, args.refuse_data)
    smtp_kwargs = {
        "enable_SMTPUTF8": True,
        "server_hostname": "aiosmtpd.test",
        # aiosmtpd counts only STARTTLS as TLS; an implicit-TLS session is encrypted from its first byte.
        "auth_require_tls": not (args.auth_without_tls or args.implicit_tls),
        "authenticator": make_authenticator(user, password),
    }
    if not args.auth:
        # aiosmtpd offers its built-in PLAIN and LOGIN whenever any authenticator is set.
        smtp_kwargs["auth_exclude_mechanism"] = ["PLAIN", "LOGIN", "CRAM-MD5"]
    ssl_context = None
    if args.implicit_tls:
        ssl_context = tls_context(*args.implicit_tls)
    if args.starttls:
        smtp_kwargs["tls_context"] = tls_context(*args.starttls)
    server_class = LMTP if args.lmtp else SMTP

    def factory(self):
        return server_class(self.handler, **self.SMTP_kwargs)

    if args.unix:
        cls = type("Ctl", (UnixSocketController,), {"factory": factory})
        controller = cls(handler, unix_socket=args.unix, ssl_context=ssl_context, **smtp_kwargs)
    else:
        cls = type("Ctl", (Controller,), {"factory": factory})
        controller = cls(handler, hostname=args.host, port=args.port, ssl_context=ssl_context, **smtp_kwargs)
    controller.start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print("aiosmtpd_server: ready", flush=True)
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
