#!/usr/bin/env python3
"""A TCP proxy that delays each direction by a fixed time: a stand-in for network latency.

This kernel has no netem, so the benchmark (scripts/bench/bench.sh) puts this proxy between a client and a
server on loopback. Every chunk read from one side is written to the other side DELAY milliseconds after it
was read, in order; chunks are not delayed one after another, so a burst costs one DELAY however many writes
it took (a pipe with latency, not a slow link). End of file is forwarded the same way, after the same delay.
With --delay-ms 10 each round trip costs 20 ms, and (wall time through the proxy - wall time direct) / 20 ms
is the number of round trips a client needs. The TCP handshake is not delayed (the proxy connects upstream
only when a client arrives, at once), so a send that waits for the greeting, EHLO, one pipelined group and
the end of data costs 3.5 round trips: the greeting is half a round trip.

Optional --log FILE: one line per connection with the number of client-to-server "flights" (bursts of client
data sent after the client last received something), a cross-check of the wall-time estimate, and how late
the proxy delivered chunks past their due time (its own error).

Usage: delay_proxy.py --listen PORT --upstream HOST:PORT --delay-ms MS [--backlog N] [--log FILE] [--ready FILE]
Listens on 127.0.0.1 only. Stops on SIGTERM/SIGINT.
"""

import argparse
import asyncio
import resource
import signal
import socket
import sys
import time

COARSE_MARGIN = 0.002

class Flights:
    """Counts client-to-server bursts separated by server-to-client data, per connection, and how late the
    proxy delivered chunks (its own error, which inflates the round-trip estimate)."""

    def __init__(self):
        self.flights = 0
        self.last = None
        self.late_total = 0.0
        self.late_max = 0.0
        self.chunks = 0

    def delivered(self, late):
        self.chunks += 1
        self.late_total += late
        self.late_max = max(self.late_max, late)

    def saw(self, direction):
        if direction == "c2s" and self.last != "c2s":
            self.flights += 1
        self.last = direction


async def pump(reader, writer, delay, direction, flights, loop):
    """Copies reader to writer, each chunk DELAY seconds after it arrived; EOF is forwarded likewise."""
    queue = asyncio.Queue()

    async def read_side():
        while True:
            try:
                data = await reader.read(1 << 16)
            except (ConnectionError, OSError):
                data = b""
            due = loop.time() + delay
            if data:
                flights.saw(direction)
            await queue.put((due, data))
            if not data:
                return

    async def write_side():
        while True:
            due, data = await queue.get()
            # asyncio's epoll wait rounds its timeout up to whole milliseconds, which would add up to 1 ms
            # to every 10 ms hop; sleep coarsely until just before the deadline, then finish with a
            # blocking nanosleep, which is precise to tens of microseconds.
            wait = due - loop.time()
            if wait > COARSE_MARGIN:
                await asyncio.sleep(wait - COARSE_MARGIN)
            wait = due - loop.time()
            if wait > 0:
                time.sleep(wait)
            flights.delivered(loop.time() - due)
            try:
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
            except (ConnectionError, OSError):
                # The far side is gone: keep reading so the near side sees its own EOF in time.
                continue

    await asyncio.gather(read_side(), write_side())


async def handle(client_reader, client_writer, args, loop):
    host, port = args.upstream
    try:
        server_reader, server_writer = await asyncio.open_connection(host, port)
    except OSError as e:
        print(f"delay_proxy: upstream {host}:{port}: {e}", file=sys.stderr)
        client_writer.close()
        return
    for w in (client_writer, server_writer):
        sock = w.get_extra_info("socket")
        if sock is not None:
            # The proxy must not add Nagle stalls of its own: every chunk goes out when it is due.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    flights = Flights()
    delay = args.delay_ms / 1000.0
    try:
        await asyncio.gather(
            pump(client_reader, server_writer, delay, "c2s", flights, loop),
            pump(server_reader, client_writer, delay, "s2c", flights, loop),
        )
    finally:
        for w in (client_writer, server_writer):
            w.close()
        if args.log:
            with open(args.log, "a", encoding="ascii") as f:
                mean = flights.late_total / flights.chunks if flights.chunks else 0.0
                f.write(
                    f"flights={flights.flights} chunks={flights.chunks} "
                    f"late_mean_ms={mean * 1000:.3f} late_max_ms={flights.late_max * 1000:.3f}\n"
                )


def parse_hostport(value):
    host, _, port = value.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


async def main():
    p = argparse.ArgumentParser(description="TCP proxy adding a fixed delay in each direction")
    p.add_argument("--listen", type=int, required=True, help="port on 127.0.0.1")
    p.add_argument("--upstream", type=parse_hostport, required=True, help="HOST:PORT to forward to")
    p.add_argument("--delay-ms", type=float, required=True, help="one-way delay in milliseconds")
    p.add_argument(
        "--backlog", type=int, default=128, help="listen backlog (dma opens one connection per queued message)"
    )
    p.add_argument("--log", help="append one line per connection (flights=N)")
    p.add_argument("--ready", help="create this file once listening")
    args = p.parse_args()
    # Two descriptors per connection: a flush that opens a thousand at once needs more than the usual 1024.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    loop = asyncio.get_running_loop()
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, args, loop), "127.0.0.1", args.listen, backlog=args.backlog
    )
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    if args.ready:
        open(args.ready, "w", encoding="ascii").close()
    async with server:
        await stop


if __name__ == "__main__":
    asyncio.run(main())
