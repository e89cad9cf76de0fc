#!/usr/bin/env python3
"""Turns the raw results of scripts/bench/bench.sh into BENCHMARKS.md.

Reads RESULTS/meta.env (machine, versions, ports), RESULTS/commands.tsv, RESULTS/failures.tsv, the hyperfine
exports RESULTS/SCENARIO--CLIENT.json, the delay proxy's per-connection logs RESULTS/SCENARIO--CLIENT.flights
and the /usr/bin/time lines RESULTS/time.tsv, and writes the markdown report: machine and versions, the
issue 6 targets with mailsend's figure, the ratio and whether it is met, each measurement side by side, and
the exact commands. Hand-written analysis between the `notes:begin` and `notes:end` markers of an existing
report is carried over, so a rerun refreshes the figures without losing it; so is the queue-flush section
between the `queue-flush:begin` and `queue-flush:end` markers, which scripts/bench/queue_report.py writes.

Usage: report.py RESULTS_DIR OUTPUT.md
"""

import collections
import json
import os
import re
import statistics
import sys

CLIENTS = ["mailsend", "curl", "curl-crlf", "msmtp", "swaks", "smtplib"]
NOTES_BEGIN = "<!-- notes:begin -->"
NOTES_END = "<!-- notes:end -->"
QUEUE_BEGIN = "<!-- queue-flush:begin -->"
QUEUE_END = "<!-- queue-flush:end -->"

# (direct scenario, proxied scenario, column title) for the round-trip table.
RT_PAIRS = [
    ("1k-sink", "1k-sink-proxy", "PIPELINING (smtp-sink)"),
    ("1k-nopipe", "1k-nopipe-proxy", "no PIPELINING (smtp-sink -p)"),
    ("1k-exim", "1k-exim-proxy", "CHUNKING offered (Exim)"),
    ("100rcpt-sink", "100rcpt-sink-proxy", "100 recipients (smtp-sink)"),
    ("tls-exim", "tls-exim-proxy", "STARTTLS + AUTH (Exim)"),
]

SCENARIO_TITLES = {
    "1k-sink": "1 KB message, smtp-sink (PIPELINING offered)",
    "1k-sink-proxy": "1 KB message, smtp-sink through the delay proxy",
    "1k-nopipe": "1 KB message, smtp-sink -p (no PIPELINING)",
    "1k-nopipe-proxy": "1 KB message, smtp-sink -p through the delay proxy",
    "1k-exim": "1 KB message, Exim (PIPELINING and CHUNKING offered)",
    "1k-exim-proxy": "1 KB message, Exim through the delay proxy",
    "100rcpt-sink": "1 KB message to 100 recipients, smtp-sink",
    "100rcpt-sink-proxy": "1 KB message to 100 recipients, smtp-sink through the delay proxy",
    "tls-exim": "STARTTLS + AUTH PLAIN, Exim",
    "tls-exim-proxy": "STARTTLS + AUTH PLAIN, Exim through the delay proxy",
    "rss-1k": "1 KB message peak RSS, smtp-sink",
    "50m": "50 MB message, smtp-sink",
    "1g": "1 GB message, smtp-sink",
}


def read_meta(results):
    meta = {}
    with open(os.path.join(results, "meta.env"), encoding="utf-8") as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("=")
            meta[key] = value
    return meta


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def read_hyperfine(results):
    """{(scenario, client): hyperfine result dict} for every export present."""
    out = {}
    for name in os.listdir(results):
        m = re.fullmatch(r"(.+)--(.+)\.json", name)
        if not m:
            continue
        with open(os.path.join(results, name), encoding="utf-8") as f:
            data = json.load(f)
        if data.get("results"):
            out[(m.group(1), m.group(2))] = data["results"][0]
    return out


def read_flights(results):
    """{(scenario, client): (most common flight count, mean proxy lateness in ms)}."""
    out = {}
    for name in os.listdir(results):
        m = re.fullmatch(r"(.+)--(.+)\.flights", name)
        if not m:
            continue
        counts, late = collections.Counter(), []
        with open(os.path.join(results, name), encoding="ascii") as f:
            for line in f:
                fields = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
                if "flights" in fields:
                    counts[int(fields["flights"])] += 1
                if "late_mean_ms" in fields:
                    late.append(float(fields["late_mean_ms"]))
        if counts:
            out[(m.group(1), m.group(2))] = (
                counts.most_common(1)[0][0],
                statistics.mean(late) if late else 0.0,
            )
    return out


def read_times(results):
    """{(scenario, client): {"ok": [(wall, user, sys, rss_kb)], "failed": [rc, ...]}}."""
    out = collections.defaultdict(lambda: {"ok": [], "failed": []})
    for row in read_tsv(os.path.join(results, "time.tsv")):
        if len(row) < 8:
            continue
        scenario, client, _run, rc, wall, user, sys_, rss = row[:8]
        entry = out[(scenario, client)]
        if rc == "0" and wall != "-":
            entry["ok"].append((float(wall), float(user), float(sys_), int(rss)))
        else:
            entry["failed"].append(rc)
    return out


def ms(seconds):
    return f"{seconds * 1000:.1f} ms"


def mib(kb):
    return f"{kb / 1024:.1f} MB"


def half_round(x):
    """Round trips come in halves (the greeting is half of one): the nearest half, to absorb noise."""
    return round(x * 2) / 2


class Report:
    def __init__(self, results):
        self.results = results
        self.meta = read_meta(results)
        self.hf = read_hyperfine(results)
        self.flights = read_flights(results)
        self.times = read_times(results)
        self.failures = read_tsv(os.path.join(results, "failures.tsv"))
        self.commands = read_tsv(os.path.join(results, "commands.tsv"))
        self.rtt = 2 * float(self.meta.get("delay_ms", "10")) / 1000

    def median(self, scenario, client):
        r = self.hf.get((scenario, client))
        return r["median"] if r else None

    def round_trips(self, direct, proxied, client):
        a, b = self.median(direct, client), self.median(proxied, client)
        if a is None or b is None:
            return None
        return (b - a) / self.rtt

    def big(self, scenario, client):
        """(median wall, median user+sys, max RSS kB, runs ok, runs failed) of /usr/bin/time runs."""
        entry = self.times.get((scenario, client))
        if not entry or not entry["ok"]:
            return None if not entry else (None, None, None, 0, len(entry["failed"]))
        ok = entry["ok"]
        return (
            statistics.median(w for w, _, _, _ in ok),
            statistics.median(u + s for _, u, s, _ in ok),
            max(r for _, _, _, r in ok),
            len(ok),
            len(entry["failed"]),
        )

    def failure_note(self, scenario, client):
        for row in self.failures:
            if row[0] == scenario and row[1] == client:
                return f"failed (exit {row[2]})" if row[2] != "hyperfine" else "failed (hyperfine)"
        entry = self.times.get((scenario, client))
        if entry and entry["failed"]:
            rcs = set(entry["failed"])
            return "timed out" if rcs == {"124"} else f"failed (exit {', '.join(sorted(rcs))})"
        return "not run"

    # --- sections ---------------------------------------------------------------------------------------

    def targets(self):
        rows = []

        def verdict(ok):
            return "**met**" if ok else "**missed**"

        def add(target, measured, ratio, ok):
            rows.append(f"| {target} | {measured} | {ratio} | {verdict(ok) if ok is not None else 'n/a'} |")

        m, c = self.median("1k-sink", "mailsend"), self.median("1k-sink", "curl")
        if m and c:
            add("1 KB wall ≤ 0.8 × curl", f"{ms(m)} vs curl {ms(c)}", f"{m / c:.2f} × curl", m / c <= 0.8)
        else:
            add("1 KB wall ≤ 0.8 × curl", "not measured", "", None)

        for direct, proxied, title, limit in (
            ("1k-sink", "1k-sink-proxy", "round trips with PIPELINING ≤ 3.5", 3.5),
            ("1k-exim", "1k-exim-proxy", "round trips with CHUNKING (Exim) ≤ 2.5", 2.5),
        ):
            rt = self.round_trips(direct, proxied, "mailsend")
            if rt is None:
                add(title, "not measured", "", None)
            else:
                add(title, f"{rt:.2f}", f"{rt / limit:.2f} × target", half_round(rt) <= limit)

        one = self.round_trips("1k-sink", "1k-sink-proxy", "mailsend")
        hundred = self.round_trips("100rcpt-sink", "100rcpt-sink-proxy", "mailsend")
        if one is None or hundred is None:
            add("100 recipients cost no more round trips than 1", "not measured", "", None)
        else:
            add(
                "100 recipients cost no more round trips than 1",
                f"{hundred:.2f} vs {one:.2f}",
                f"{hundred - one:+.2f} round trips",
                half_round(hundred) <= half_round(one),
            )

        ms50, curl50, crlf50 = self.big("50m", "mailsend"), self.big("50m", "curl"), self.big("50m", "curl-crlf")
        if ms50 and ms50[0] and curl50 and curl50[0]:
            add(
                "50 MB wall ≤ curl",
                f"{ms50[0]:.2f} s vs curl {curl50[0]:.2f} s",
                f"{ms50[0] / curl50[0]:.2f} × curl",
                ms50[0] <= curl50[0],
            )
        else:
            add("50 MB wall ≤ curl", "not measured", "", None)
        if ms50 and ms50[1] is not None and crlf50 and crlf50[1]:
            add(
                "50 MB CPU (user+sys) ≤ 1.5 × curl --crlf",
                f"{ms50[1]:.2f} s vs curl --crlf {crlf50[1]:.2f} s",
                f"{ms50[1] / crlf50[1]:.2f} × curl --crlf",
                ms50[1] <= 1.5 * crlf50[1],
            )
        else:
            add("50 MB CPU (user+sys) ≤ 1.5 × curl --crlf", "not measured", "", None)

        peaks = {}
        for scenario, label in (("rss-1k", "1 KB"), ("50m", "50 MB"), ("1g", "1 GB")):
            b = self.big(scenario, "mailsend")
            if b and b[2]:
                peaks[label] = b[2]
        if peaks:
            worst = max(peaks.values())
            detail = ", ".join(f"{k} {mib(v)}" for k, v in peaks.items())
            spread = ""
            if "1 KB" in peaks and "1 GB" in peaks:
                spread = f"1 GB − 1 KB = {(peaks['1 GB'] - peaks['1 KB']) / 1024:+.1f} MB"
            add("peak RSS ≤ 10 MB at any size", detail, spread or f"max {mib(worst)}", worst <= 10 * 1024)
        else:
            add("peak RSS ≤ 10 MB at any size", "not measured", "", None)

        m, c = self.median("tls-exim", "mailsend"), self.median("tls-exim", "curl")
        if m and c:
            add("STARTTLS + AUTH PLAIN ≤ curl", f"{ms(m)} vs curl {ms(c)}", f"{m / c:.2f} × curl", m <= c)
        else:
            add("STARTTLS + AUTH PLAIN ≤ curl", "not measured", "", None)

        return [
            "## Targets (issue 6)",
            "",
            "Wall times compare medians. Round trips are rounded to the nearest half before they are compared "
            "with a target (a send costs a whole number of round trips plus half of one for the greeting; the "
            "rest is noise).",
            "",
            "| target | mailsend | ratio | verdict |",
            "|---|---|---|---|",
            *rows,
        ]

    def wall_table(self, scenario, title, with_rss=None):
        lines = [f"### {title}", ""]
        base = self.median(scenario, "mailsend")
        header = "| client | median | mean ± σ | min | user + sys (mean) | × mailsend |"
        rule = "|---|---|---|---|---|---|"
        if with_rss:
            header += " peak RSS |"
            rule += "---|"
        lines += [header, rule]
        for client in CLIENTS:
            r = self.hf.get((scenario, client))
            if not r:
                if any(row[0] == scenario and row[1] == client for row in self.commands):
                    cells = f"| {client} | {self.failure_note(scenario, client)} | | | | |"
                    lines.append(cells + (" |" if with_rss else ""))
                continue
            ratio = f"{r['median'] / base:.2f}" if base else ""
            cpu = (r.get("user") or 0) + (r.get("system") or 0)
            row = (
                f"| {client} | {ms(r['median'])} | {ms(r['mean'])} ± {ms(r['stddev'] or 0)} | "
                f"{ms(r['min'])} | {ms(cpu)} | {ratio} |"
            )
            if with_rss:
                b = self.big(with_rss, client)
                row += f" {mib(b[2]) if b and b[2] else '—'} |"
            lines.append(row)
        return lines + [""]

    def rt_table(self):
        lines = [
            f"### Round trips at {self.rtt * 1000:.0f} ms RTT",
            "",
            "(median through the delay proxy − median direct) / RTT; in brackets the client's flights counted "
            "by the proxy (bursts of client data sent after the client last received something). A send that "
            "waits for the greeting, EHLO, one pipelined MAIL/RCPT/DATA group and the end of data costs 3.5; "
            "with BDAT (MAIL, RCPT and BDAT LAST in one group) 2.5.",
            "",
            "| client | " + " | ".join(t for _, _, t in RT_PAIRS) + " |",
            "|---|" + "---|" * len(RT_PAIRS),
        ]
        late = [v[1] for v in self.flights.values()]
        for client in CLIENTS:
            cells = []
            for direct, proxied, _ in RT_PAIRS:
                rt = self.round_trips(direct, proxied, client)
                if rt is None:
                    planned = any(row[0] == proxied and row[1] == client for row in self.commands)
                    cells.append(self.failure_note(proxied, client) if planned else "—")
                    continue
                f = self.flights.get((proxied, client))
                cells.append(f"{rt:.2f} [{f[0]}]" if f else f"{rt:.2f}")
            if any(c != "—" for c in cells):
                lines.append(f"| {client} | " + " | ".join(cells) + " |")
        if late:
            lines += [
                "",
                f"The proxy delivered chunks {statistics.mean(late):.2f} ms late on average (its own error; "
                f"each of the about 7 delayed hops of a send inflates the estimate by that / RTT).",
            ]
        return lines + [""]

    def big_table(self, scenario, title, clients):
        lines = [
            f"### {title}",
            "",
            "| client | wall (median) | user + sys (median) | peak RSS (max) | runs |",
            "|---|---|---|---|---|",
        ]
        for client in clients:
            b = self.big(scenario, client)
            if b is None:
                continue
            wall, cpu, rss, ok, failed = b
            runs = f"{ok} ok" + (f", {failed} {self.failure_note(scenario, client)}" if failed else "")
            if wall is None:
                lines.append(f"| {client} | {self.failure_note(scenario, client)} | | | {runs} |")
            else:
                lines.append(f"| {client} | {wall:.2f} s | {cpu:.2f} s | {mib(rss)} | {runs} |")
        return lines + [""]

    def machine(self):
        m = self.meta
        versions = [
            ("mailsend", m.get("v_mailsend", "") + f" (git {m.get('git', '?')}), {m.get('v_rustc', '')}"),
            ("curl", m.get("v_curl", "")),
            ("msmtp", m.get("v_msmtp", "")),
            ("swaks", m.get("v_swaks", "")),
            ("Python smtplib", m.get("v_python", "")),
            ("smtp-sink", m.get("v_smtp_sink", "")),
            ("Exim", m.get("v_exim", "")),
            ("hyperfine", m.get("v_hyperfine", "")),
        ]
        busy = []
        try:
            start_load = float(m.get("load_start", "0").split()[0])
            if start_load >= float(m.get("nproc", "1")) / 2:
                busy = [
                    f"- **The machine was busy** (1-minute load {start_load:.2f} on {m.get('nproc')} CPUs at "
                    "the start): wall times of a few milliseconds carry that noise; medians resist it best.",
                ]
        except ValueError:
            pass
        return [
            "## Machine and versions",
            "",
            f"- Run: {m.get('date', '?')}, mode `{m.get('mode', '?')}`, load average {m.get('load_start', '?')} "
            f"at the start and {m.get('load', '?')} at the end",
            *busy,
            f"- CPU: {m.get('cpu', '?')}, {m.get('nproc', '?')} CPUs (nproc); memory {m.get('memory', '?')}",
            f"- Kernel: {m.get('kernel', '?')}; {m.get('os', '?')}",
            "",
            "| tool | version |",
            "|---|---|",
            *(f"| {k} | {v} |" for k, v in versions),
            "",
        ]

    def command_list(self):
        m = self.meta
        subst = [
            (m.get("mailsend", "\0"), "./target/release/mailsend"),
            (m.get("work", "\0"), "$WORK"),
            (m.get("repo", "\0") + "/", "./"),
            (m.get("python", "\0"), "python3"),
        ]
        ports = sorted(
            ((k[len("port_"):], v) for k, v in m.items() if k.startswith("port_")), key=lambda kv: -len(kv[1])
        )
        lines = [
            "## Commands",
            "",
            "Servers, all on 127.0.0.1 on free ports picked at start (`$SINK_PORT` …):",
            "",
            "```sh",
            "smtp-sink -u nobody 127.0.0.1:$SINK_PORT 128       # PIPELINING, 8BITMIME, DSN …",
            "smtp-sink -u nobody -p 127.0.0.1:$NOPIPE_PORT 128  # the same without PIPELINING",
            "exim4 -C tests/interop/exim.conf.in(filled in) -bdf -q1m   # $EXIM_PORT: STARTTLS, AUTH, CHUNKING",
            f"python3 scripts/bench/delay_proxy.py --listen $PSINK_PORT --upstream 127.0.0.1:$SINK_PORT "
            f"--delay-ms {m.get('delay_ms', '10')}",
            "# likewise $PNOPIPE_PORT -> $NOPIPE_PORT and $PEXIM_PORT -> $EXIM_PORT",
            "```",
            "",
            "Clients. hyperfine runs them without a shell (`hyperfine -N --warmup W --runs N --export-json "
            "…`), so mailsend reads the message with `--input` there, and msmtp, which reads only standard "
            "input, runs under `sh -c` (about 1 ms of its time is the shell's). The peak-RSS and big-message "
            "runs use `/usr/bin/time -f '%e %U %S %M'` with the message on standard input:",
            "",
        ]
        seen = set()
        for row in self.commands:
            if len(row) < 3:
                continue
            scenario, client, cmd = row[:3]
            for a, b in subst:
                cmd = cmd.replace(a, b)
            for name, port in ports:
                cmd = re.sub(rf"(?<=:){port}\b|(?<=--port ){port}\b", f"${name}", cmd)
                cmd = re.sub(rf"(?<=msmtp-){port}(?=-)", f"${name}", cmd)
            if len(cmd) > 400:
                cmd = re.sub(r"--to (rcpt\d+@example\.org,?)+", "--to rcpt001@example.org,…,rcpt100@example.org", cmd)
                cmd = re.sub(
                    r"( rcpt\d+@example\.org| --mail-rcpt rcpt\d+@example\.org)+",
                    lambda mt: mt.group(0)[: mt.group(0).index("@") + 12] + " … rcpt100@example.org",
                    cmd,
                )
            if scenario not in seen:
                seen.add(scenario)
                lines += ["", f"{SCENARIO_TITLES.get(scenario, scenario)}:", ""]
            lines.append(f"    {cmd}")
        return lines + [""]

    def render(self, notes, queue=None):
        m = self.meta
        out = [
            "# Benchmarks",
            "",
            "mailsend side by side with curl, msmtp, swaks and Python smtplib, measured in one run on one "
            "machine by `scripts/bench/bench.sh " + m.get("mode", "quick") + "` (run by hand, not by CI; "
            "everything on loopback). This file is generated by `scripts/bench/report.py`; only the notes "
            "section is written by hand and survives a rerun.",
            "",
        ]
        out += self.machine()
        out += self.targets()
        out += ["", "## Measurements", ""]
        out += self.wall_table("1k-sink", "1 KB message, smtp-sink (wall time)", with_rss="rss-1k")
        out += self.rt_table()
        out += self.wall_table("tls-exim", "STARTTLS + AUTH PLAIN, 1 KB message, Exim (wall time)")
        out += self.wall_table("1k-exim", "1 KB message, Exim, no TLS (wall time)")
        out += self.wall_table("100rcpt-sink", "1 KB message to 100 recipients, smtp-sink (wall time)")
        out += self.big_table("50m", "50 MB message, smtp-sink", CLIENTS)
        out += self.big_table("1g", "1 GB message, smtp-sink (one run each)", CLIENTS)
        if self.failures:
            out += ["### Failures", "", "| scenario | client | exit | stderr |", "|---|---|---|---|"]
            out += [f"| {r[0]} | {r[1]} | {r[2]} | `{r[3] if len(r) > 3 else ''}` |" for r in self.failures]
            out += [""]
        if queue:
            out += [QUEUE_BEGIN, queue.strip("\n"), QUEUE_END, ""]
        out += ["## Notes", "", NOTES_BEGIN, notes.strip("\n") if notes else "(none yet)", NOTES_END, ""]
        out += self.command_list()
        return "\n".join(out)


def between(text, begin, end):
    """The text between the markers BEGIN and END, or None when they are not both there in that order."""
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        return None
    return text[start + len(begin) : stop]


def put_between(text, begin, end, body, before="## Notes"):
    """TEXT with BODY between the markers: in place of what was there, else inserted (markers and all) just
    before the BEFORE heading, else at the end."""
    block = f"{begin}\n{body.strip(chr(10))}\n{end}"
    start, stop = text.find(begin), text.find(end)
    if start >= 0 and stop > start:
        return text[:start] + block + text[stop + len(end) :]
    at = text.find("\n" + before + "\n")
    if at < 0:
        return text.rstrip("\n") + "\n\n" + block + "\n"
    return text[: at + 1] + block + "\n\n" + text[at + 1 :]


def write_atomically(path, text):
    """A reader of PATH sees the old report or the new one, never half of one."""
    with open(path + ".new", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".new", path)


def existing(path, begin, end):
    if not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8") as f:
        return (between(f.read(), begin, end) or "").strip("\n")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 64
    results, output = sys.argv[1], sys.argv[2]
    notes = existing(output, NOTES_BEGIN, NOTES_END)
    write_atomically(output, Report(results).render(notes, existing(output, QUEUE_BEGIN, QUEUE_END)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
