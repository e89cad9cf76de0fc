#!/usr/bin/env python3
"""Turns the raw results of scripts/bench/queue-flush.sh into the queue-flush section of BENCHMARKS.md.

Reads RESULTS/meta.env (machine, versions, what was skipped) and RESULTS/queue.tsv (one row per flush:
tool, variant, path, run, rc, seconds, queued, left, connections, held, verify counts) and writes the section
between the `queue-flush:begin` and `queue-flush:end` markers of OUTPUT: machine and versions, the goals of
issue 12 with a verdict computed from the figures, the table, and how it was measured. Everything outside the
markers is kept (scripts/bench/report.py writes it, and keeps this section when it does). OUTPUT is created
when missing.

Usage: queue_report.py RESULTS_DIR OUTPUT.md
"""

import os
import statistics
import sys

from report import QUEUE_BEGIN, QUEUE_END, put_between, read_meta, read_tsv, write_atomically

TOOLS = ["mailsend", "nullmailer", "dma", "msmtpq"]
VARIANTS = {"chunking": "PIPELINING + CHUNKING", "pipelining": "PIPELINING only"}
FLUSH = {
    "mailsend": "`mailsend -q`",
    "nullmailer": "`nullmailer-send` (one pass)",
    "dma": "`dma -D -q`",
    "msmtpq": "`msmtpq --q-mgmt -r` (= `msmtp-queue -r`)",
}


class Flush:
    """One row of queue.tsv."""

    def __init__(self, row):
        self.tool, self.variant, self.path, self.run, rc, secs, queued, left, conns, held = row[:10]
        self.counts = dict(kv.split("=", 1) for kv in (row[10] if len(row) > 10 else "").split() if "=" in kv)
        self.rc = int(rc) if rc.lstrip("-").isdigit() else None
        self.seconds = float(secs) if secs not in ("", "-") else None
        self.queued, self.left = int(queued), int(left)
        self.connections, self.held = int(conns), int(held or 0)

    def count(self, key):
        return int(self.counts.get(key, "0"))

    def exact(self, n):
        """Every message stored once, intact, and nothing left behind in the tool's queue."""
        return self.rc == 0 and self.count("stored") == n == self.count("intact") and self.left == 0


class Measured:
    """The flushes of one tool against one Exim variant."""

    def __init__(self, flushes, n, rtt):
        self.flushes, self.n, self.rtt = flushes, n, rtt

    def median(self, path):
        secs = [f.seconds for f in self.flushes if f.path == path and f.seconds is not None and f.rc == 0]
        return statistics.median(secs) if secs else None

    def rate(self, path):
        m = self.median(path)
        return self.n / m if m else None

    def round_trips(self):
        a, b = self.median("direct"), self.median("proxy")
        return None if a is None or b is None else (b - a) / self.rtt / self.n

    def connections(self, path):
        c = [f.connections for f in self.flushes if f.path == path]
        return statistics.median(c) if c else None

    def all_exact(self):
        return bool(self.flushes) and all(f.exact(self.n) for f in self.flushes)

    def stored(self):
        """'N/N intact' when every flush stored every message once; otherwise what went wrong, per flush."""
        if self.all_exact():
            return f"{self.n}/{self.n} intact" + (f" (all {len(self.flushes)} flushes)" if len(self.flushes) > 1 else "")
        bad = []
        for f in self.flushes:
            if f.exact(self.n):
                continue
            what = [f"{f.count('intact')}/{self.n} intact"]
            what += [f"{f.count(k)} {k}" for k in ("duplicates", "missing", "damaged", "foreign") if f.count(k)]
            if f.rc != 0:
                what.append("timed out" if f.rc == 124 else f"exit {f.rc}")
            if f.left:
                what.append(f"{f.left} left in its queue")
            if f.queued != self.n:
                what.append(f"{f.queued} queued")
            bad.append(f"{f.path} run {f.run}: " + ", ".join(what))
        return "; ".join(bad)


def rate(x):
    return f"{x:.1f}" if x is not None else "—"


class QueueReport:
    def __init__(self, results):
        self.meta = read_meta(results)
        self.meta_lines = []
        with open(os.path.join(results, "meta.env"), encoding="utf-8") as f:
            self.meta_lines = [line.rstrip("\n").split("=", 1) for line in f if "=" in line]
        self.n = int(self.meta.get("count", "1000"))
        self.rtt = 2 * float(self.meta.get("delay_ms", "10")) / 1000
        self.flushes = [Flush(r) for r in read_tsv(os.path.join(results, "queue.tsv")) if len(r) >= 10]

    def measured(self, tool, variant):
        fl = [f for f in self.flushes if f.tool == tool and f.variant == variant]
        return Measured(fl, self.n, self.rtt) if fl else None

    def skipped(self):
        return [v for k, v in self.meta_lines if k == "skipped"]

    def why_missing(self, tool):
        """'not measured: REASON' without the reason's details in brackets (the table shows them)."""
        for s in self.skipped():
            if s.startswith(tool + ":"):
                return "not measured: " + s.split(":", 1)[1].split(" (", 1)[0].strip()
        return "not measured"

    # --- sections -----------------------------------------------------------------------------------------

    def goals(self):
        rows = []
        ms = self.measured("mailsend", "chunking")

        def verdict(ok):
            return "**met**" if ok else "**missed**"

        def compare(goal, peer, factor):
            other = self.measured(peer, "chunking")
            if not ms or not other:
                rows.append(f"| {goal} | {self.why_missing('mailsend' if not ms else peer)} | n/a |")
                return
            cells, ok = [], ms.all_exact()
            for path, label in (("direct", "direct"), ("proxy", f"at {self.rtt * 1000:.0f} ms RTT")):
                a, b = ms.rate(path), other.rate(path)
                if a is None or b is None:
                    cells.append(f"{label}: not measured")
                    ok = False
                    continue
                cells.append(f"{label}: {a:.1f} vs {b:.1f} msgs/s = {a / b:.1f} ×")
                ok = ok and (a >= factor * b if factor > 1 else a > b)
            if not ms.all_exact():
                cells.append("mailsend did not store every message exactly once, intact")
            rows.append(f"| {goal} | {'; '.join(cells)} | {verdict(ok)} |")

        compare("mailsend ≥ 10 × msmtpq (msgs/s, both at Exim with CHUNKING)", "msmtpq", 10)
        compare("mailsend ahead of nullmailer (msgs/s, likewise)", "nullmailer", 1)
        compare("mailsend ahead of dma (msgs/s, likewise)", "dma", 1)
        for variant in ("pipelining", "chunking"):
            goal = f"< 1 round trip per message, Exim offering {VARIANTS[variant]}"
            m = self.measured("mailsend", variant)
            rt = m.round_trips() if m else None
            if rt is None:
                rows.append(f"| {goal} | {self.why_missing('mailsend') if not m else 'not measured'} | n/a |")
            else:
                lost = "" if m.all_exact() else "; not every message stored exactly once, intact"
                rows.append(f"| {goal} | {rt:.3f} round trips per message{lost} | {verdict(rt < 1 and m.all_exact())} |")
        return [
            "### Goals (issue 12)",
            "",
            "A goal is met only when every flush of mailsend stored every message exactly once, intact.",
            "",
            "| goal | figures | verdict |",
            "|---|---|---|",
            *rows,
            "",
        ]

    def table(self):
        rtt = f"{self.rtt * 1000:.0f} ms"
        lines = [
            f"### {self.n} queued 1 KB messages, one flush into Exim",
            "",
            f"| tool | Exim offers | msgs/s direct | msgs/s at {rtt} RTT | round trips per message | "
            "connections per flush | stored |",
            "|---|---|---|---|---|---|---|",
        ]
        for tool in TOOLS:
            for variant in VARIANTS:
                m = self.measured(tool, variant)
                if not m:
                    continue
                rt = m.round_trips()
                conns = m.connections("proxy")
                lines.append(
                    f"| {tool} | {VARIANTS[variant]} | {rate(m.rate('direct'))} | {rate(m.rate('proxy'))} | "
                    f"{f'{rt:.3f}' if rt is not None else '—'} | {f'{conns:.0f}' if conns is not None else '—'} | "
                    f"{m.stored()} |"
                )
        for s in self.skipped():
            tool, _, why = s.partition(":")
            lines.append(f"| {tool} | | {why.strip()} | | | | |")
        return lines + [""]

    def machine(self):
        m = self.meta
        busy = []
        try:
            if float(m.get("load_start", "0").split()[0]) >= float(m.get("nproc", "1")) / 2:
                busy = [f"- **The machine was busy** at the start (load {m.get('load_start')}): figures carry that noise."]
        except ValueError:
            pass
        versions = [(t, m.get(f"v_{t}", "")) for t in TOOLS if f"v_{t}" in m]
        versions += [("Exim", m.get("v_exim", "")), ("rustc", m.get("v_rustc", ""))]
        return [
            f"- Run: {m.get('date', '?')}, `scripts/bench/queue-flush.sh {m.get('mode', '?')}`, {self.n} messages, "
            f"{m.get('runs', '?')} flush(es) of each (medians), git {m.get('git', '?')}; load average "
            f"{m.get('load_start', '?')} at the start and {m.get('load', '?')} at the end",
            *busy,
            f"- CPU: {m.get('cpu', '?')}, {m.get('nproc', '?')} CPUs; memory {m.get('memory', '?')}; "
            f"{m.get('kernel', '?')}; {m.get('os', '?')}",
            "",
            "| tool | version |",
            "|---|---|",
            *(f"| {k} | {v} |" for k, v in versions),
            "",
        ]

    def method(self):
        rtt = f"{self.rtt * 1000:.0f} ms"
        return [
            "### How it was measured",
            "",
            "- Each tool queued the messages with its own enqueue command (mailsend `-odq`, nullmailer-inject, "
            "dma with `DEFER`, msmtpq with the account pointing at a closed port), then ONE flush was timed: "
            + ", ".join(f"{t} {c}" for t, c in FLUSH.items())
            + ". A flush ends when the command and every process it started have ended (dma forks one "
            "delivery process per message).",
            f"- msgs/s = messages / flush time; round trips per message = (flush time through a delay proxy "
            f"adding {rtt} per round trip − flush time direct) / {rtt} / messages: the wall time a message "
            "costs at that RTT, so the round trips of connections open at the same time (dma's) overlap. "
            "Connections are those Exim logged during the flush through the proxy.",
            "- Exim (tests/interop/exim.conf.in) queues what it receives without delivering it during the flush "
            "(`queue_only`), so its own delivery work is not charged to the client, and accepts any number of "
            "connections at once. "
            + "After each flush it delivers into a Maildir, and every stored message is "
            "compared with the original by hash (its header lines, in order, and its body); trace fields a "
            "tool or Exim adds are ignored.",
            "- Exim's spool and every tool's queue were "
            + (
                "on tmpfs (TMPDIR=/dev/shm), where fsync costs nothing."
                if self.meta.get("scratch_fs") == "tmpfs"
                else f"on disk ({self.meta.get('scratch_fs', '?')}): Exim fsyncs each message before its 250, "
                "and each tool pays for its own fsyncs."
            ),
            "- The peers run from their unpacked Debian packages with their spool and configuration in a "
            "scratch directory: nullmailer through NULLMAILER_TEST_PREFIX, dma in a private mount namespace "
            "with its dma.conf overlaid on /etc, msmtpq with MSMTPQ_Q and MSMTPQ_LOG (details in "
            "scripts/bench/queue_tools.sh). Nothing is installed but msmtp's libraries.",
            "",
        ]

    def render(self):
        return "\n".join(
            [
                "## Queue flush (issue 12)",
                "",
                "`mailsend -q` side by side with nullmailer, dma and msmtpq, each flushing the same queued "
                "messages into Exim on loopback. This section is generated by `scripts/bench/queue_report.py` "
                "from a run of `scripts/bench/queue-flush.sh` (by hand, not by CI); `scripts/bench/report.py` "
                "keeps it as it is.",
                "",
                *self.machine(),
                *self.goals(),
                *self.table(),
                *self.method(),
            ]
        )


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 64
    results, output = sys.argv[1], sys.argv[2]
    text = "# Benchmarks\n"
    if os.path.exists(output):
        with open(output, encoding="utf-8") as f:
            text = f.read()
    write_atomically(output, put_between(text, QUEUE_BEGIN, QUEUE_END, QueueReport(results).render()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
