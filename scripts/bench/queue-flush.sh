#!/usr/bin/env bash
# The queue-flush benchmark of issue 12: `mailsend -q` against nullmailer-send, `dma -q` and msmtpq
# (`msmtp-queue -r`), each flushing the same queued 1 KB messages into Exim on loopback. Run by hand (never by
# CI), as root on a Debian 12 machine:
#
#   scripts/bench/queue-flush.sh [quick|full]     (quick: one run of each measurement; full: three, medians)
#
# What it does:
# - installs the interop servers (scripts/install-test-deps.sh) and unpacks the peers' Debian packages
#   (nullmailer, dma, msmtp with its msmtpq script) into $MAILSEND_SERVERS/peers (default
#   /var/tmp/mailsend-servers/peers): they conflict with each other and with any MTA, so none is installed;
#   only msmtp's run-time libraries are. Set-id bits are removed from the unpacked files. How each peer is
#   run from there, with its spool and configuration in the run's scratch directory, is in queue_tools.sh.
# - builds mailsend in release and asks it whether it has a queue (`-q` with a `queue_dir`); a binary without
#   one is reported ("mailsend has no -q yet") and left out, and the peers are measured all the same.
# - starts Exim (tests/interop/exim.conf.in) twice, with PIPELINING and CHUNKING and with PIPELINING only,
#   each with a delay proxy of $BENCH_DELAY_MS (10) ms each way in front (20 ms RTT). Both Exims queue what
#   they receive without delivering it (queue_only), so the server's own delivery work is not charged to
#   the flush, and accept any number of connections at once (dma opens one per message).
# - for each tool and run: empties its queue, enqueues $BENCH_QUEUE_COUNT (1000) distinct 1 KB messages
#   (queue_messages.py) with the tool's own enqueue command, points it at Exim directly or through the
#   proxy, and times ONE flush with flush_timer.py (until the tool and every process it started have ended,
#   bounded by $BENCH_QUEUE_TIMEOUT, 1800 s). Then Exim delivers what it queued into a Maildir (untimed) and
#   queue_messages.py checks it: exactly N stored, each once, header lines and body intact (by hash).
#   Peers flush into the CHUNKING Exim (none of them uses BDAT); mailsend into both.
# - takes about half an hour in quick mode at 1000 messages here, two thirds of it msmtpq (about 0.25 s a
#   message to enqueue, to flush, and more through the proxy), then nullmailer through the proxy (about
#   0.13 s a message); full mode three times that. BENCH_QUEUE_TOOLS="mailsend" alone takes minutes.
# - writes the figures as the marked queue-flush section of BENCHMARKS.md (scripts/bench/queue_report.py;
#   the rest of the file, which bench.sh writes, is kept, and bench.sh keeps this section in turn), or into
#   $BENCH_QUEUE_REPORT when set. Raw results stay in $BENCH_RESULTS (default
#   /var/tmp/mailsend-bench/queue-DATE-TIME): queue.tsv (one row per flush), meta.env, each flush's output.
#
# msgs/s = N / flush time; round trips per message = (flush time through the proxy - flush time direct) /
# RTT / N. BENCH_QUEUE_TOOLS (default "mailsend nullmailer dma msmtpq") picks the tools; BENCH_MAILSEND names
# a mailsend binary to measure instead of building target/release/mailsend (another branch's, say).
# Exim's spool and every tool's queue live in the scratch directory, on disk under /tmp: each fsync costs
# what the disk makes it cost (about 2.5 ms here), for Exim before each 250 as for the tools. TMPDIR=/dev/shm
# puts the scratch directory on tmpfs, where fsync costs nothing, to see the tools' other costs alone.
set -uo pipefail

MODE="${1:-quick}"
case "$MODE" in
quick) RUNS=1 ;;
full) RUNS=3 ;;
*)
	echo "usage: $0 [quick|full]" >&2
	exit 64
	;;
esac

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH_DIR/../.." && pwd)"
RESULTS="${BENCH_RESULTS:-/var/tmp/mailsend-bench/queue-$(date +%Y%m%d-%H%M%S)}"
REPORT="${BENCH_QUEUE_REPORT:-$REPO/BENCHMARKS.md}"
COUNT="${BENCH_QUEUE_COUNT:-1000}"
DELAY_MS="${BENCH_DELAY_MS:-10}"
T_FLUSH="${BENCH_QUEUE_TIMEOUT:-1800}"
read -r -a TOOLS <<<"${BENCH_QUEUE_TOOLS:-mailsend nullmailer dma msmtpq}"
PEER_PACKAGES=(nullmailer dma msmtp)
# What the unpacked peers link against (msmtp's first two are not on a fresh machine).
PEER_LIBRARIES=(libgsasl18 libsecret-1-0 libgnutls30 libssl3 libstdc++6)
# The benchmark's Exim: the interop configuration, queueing instead of delivering, with no limit on
# connections at once, a deep listen queue and a log line per connection (counted per flush).
EXIM_QUEUE_EDITS=(
	's/^queue_only = false$/queue_only = true/'
	's/^smtp_accept_max = 100$/smtp_accept_max = 0/'
	's/^smtp_connect_backlog = 100$/smtp_connect_backlog = 1024/'
	's/^log_file_path = .*/&\nlog_selector = +smtp_connection/'
)
EXIM_NO_CHUNKING='s/^chunking_advertise_hosts = \*$/chunking_advertise_hosts =/'

say() { printf 'queue-flush: %s\n' "$*"; }
die() {
	printf 'queue-flush: %s\n' "$*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root: Exim's daemon, apt-get and dma's mount namespace need it"
case "$COUNT" in '' | *[!0-9]* | 0) die "BENCH_QUEUE_COUNT must be a positive number, not '$COUNT'" ;; esac
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- tools ---------------------------------------------------------------------------------------------------
say "installing the interop servers (scripts/install-test-deps.sh)"
bash "$REPO/scripts/install-test-deps.sh" || die "scripts/install-test-deps.sh failed"
# shellcheck source=scripts/bench/lib.sh
. "$BENCH_DIR/lib.sh"
apt_install_missing "${PEER_LIBRARIES[@]}"

PEERS="${MAILSEND_SERVERS:-/var/tmp/mailsend-servers}/peers"

# unpack_peer PACKAGE: PACKAGE's .deb extracted into $PEERS/PACKAGE (no maintainer script runs), its
# set-id bits removed, its version in $PEERS/PACKAGE.version.
unpack_peer() {
	local pkg="$1" dl rc=0
	[ -s "$PEERS/$pkg.version" ] && [ -d "$PEERS/$pkg" ] && return 0
	say "unpacking $pkg into $PEERS/$pkg"
	dl="$(mktemp -d)"
	chmod 755 "$dl" # apt's _apt user writes the download here
	(cd "$dl" && apt-get download -q "$pkg") >"$dl/log" 2>&1 ||
		{ apt-get update -q >>"$dl/log" 2>&1 && (cd "$dl" && apt-get download -q "$pkg") >>"$dl/log" 2>&1; } || rc=1
	if [ "$rc" -eq 0 ]; then
		rm -rf "$PEERS/$pkg.new" && mkdir -p "$PEERS/$pkg.new" &&
			dpkg-deb -x "$dl"/"$pkg"_*.deb "$PEERS/$pkg.new" &&
			chmod -R ug-s "$PEERS/$pkg.new" &&
			rm -rf "${PEERS:?}/$pkg" && mv "$PEERS/$pkg.new" "$PEERS/$pkg" &&
			dpkg-deb -f "$dl"/"$pkg"_*.deb Version >"$PEERS/$pkg.version" || rc=1
	fi
	[ "$rc" -eq 0 ] || cat "$dl/log" >&2
	rm -rf "$dl"
	return "$rc"
}

mkdir -p "$PEERS" || die "cannot create $PEERS"
for pkg in "${PEER_PACKAGES[@]}"; do unpack_peer "$pkg" || die "cannot unpack $pkg"; done
for bin in nullmailer/usr/sbin/nullmailer-send nullmailer/usr/lib/nullmailer/smtp dma/usr/sbin/dma msmtp/usr/bin/msmtp; do
	if ldd "$PEERS/$bin" | grep 'not found'; then die "$PEERS/$bin lacks a library"; fi
done

if [ -n "${BENCH_MAILSEND:-}" ]; then
	[ -x "$BENCH_MAILSEND" ] || die "BENCH_MAILSEND=$BENCH_MAILSEND is not an executable"
	export MAILSEND="$BENCH_MAILSEND"
else
	say "building mailsend (release)"
	(cd "$REPO" && cargo build --release -q) || die "cargo build --release failed"
	export MAILSEND="$REPO/target/release/mailsend"
fi
mkdir -p "$RESULTS" || die "cannot create $RESULTS"
# shellcheck source-path=SCRIPTDIR/../.. source=tests/interop/lib.sh
. "$REPO/tests/interop/lib.sh"
# shellcheck source=scripts/bench/queue_tools.sh
. "$BENCH_DIR/queue_tools.sh"
CLOSED_PORT="$(free_port)" || die "no free port"

# --- which tools can run -------------------------------------------------------------------------------------
# without TOOL REASON: leave TOOL out of this run, saying why (the report lists it).
SKIPPED=()
without() {
	local t kept=()
	for t in "${TOOLS[@]}"; do [ "$t" = "$1" ] || kept+=("$t"); done
	TOOLS=("${kept[@]}")
	SKIPPED+=("$1: $2")
	say "skipping $1: $2"
}

if [[ " ${TOOLS[*]} " == *" mailsend "* ]] && ! mailsend_has_queue; then
	without mailsend "mailsend has no -q yet ($(head -n 1 "$WORK/mailsend-probe/out"))"
fi
if [[ " ${TOOLS[*]} " == *" dma "* ]]; then
	dma_reset
	dma_ns test -s /etc/dma/dma.conf 2>"$WORK/dma-probe" ||
		without dma "no private mount namespace with an overlay on /etc here ($(head -n 1 "$WORK/dma-probe"))"
fi
[ "${#TOOLS[@]}" -gt 0 ] || die "nothing left to measure"

# --- servers -------------------------------------------------------------------------------------------------
# Exim runs no queue runner of its own: it delivers only when asked, after each flush.
EXIM="$SERVERS_DIR/exim4/usr/sbin/exim4"
say "starting Exim (PIPELINING + CHUNKING) and its delay proxy"
EXIM_QUEUE_RUNS='' start_exim "${EXIM_QUEUE_EDITS[@]}" >"$WORK/exim-start.log" 2>&1 || {
	cat "$WORK/exim-start.log"
	die "Exim did not start"
}
CHUNKING_PORT="$EXIM_PORT" CHUNKING_DIR="$EXIM_DIR"
PROXY_BACKLOG=1024 bench_proxy PCHUNKING "$CHUNKING_PORT" || die "the delay proxy did not start"
if [[ " ${TOOLS[*]} " == *" mailsend "* ]]; then
	say "starting Exim (PIPELINING only) and its delay proxy"
	EXIM_QUEUE_RUNS='' start_exim "${EXIM_QUEUE_EDITS[@]}" "$EXIM_NO_CHUNKING" >"$WORK/exim-start.log" 2>&1 || {
		cat "$WORK/exim-start.log"
		die "Exim (no CHUNKING) did not start"
	}
	PIPELINING_PORT="$EXIM_PORT" PIPELINING_DIR="$EXIM_DIR"
	PROXY_BACKLOG=1024 bench_proxy PPIPELINING "$PIPELINING_PORT" || die "the delay proxy did not start"
fi

MSGS="$WORK/messages"
"$PYTHON" "$BENCH_DIR/queue_messages.py" make "$MSGS" "$COUNT" || die "cannot write the messages"

# --- measurements --------------------------------------------------------------------------------------------
# exim_connections DIR: connections Exim has logged so far.
exim_connections() { grep -c 'SMTP connection from .*(TCP/IP connection count = ' "$1/log/mainlog" 2>/dev/null || true; }

# exim_settle DIR: deliver everything Exim queued (untimed), then print the count of messages it still holds.
exim_settle() {
	"$EXIM" -C "$1/exim.conf" -qff >>"$WORK/exim-deliver.log" 2>&1
	"$EXIM" -C "$1/exim.conf" -bpc
}

: >"$RESULTS/queue.tsv"
# measure TOOL VARIANT PATH RUN: one enqueue and one timed flush; appends a row to queue.tsv: tool, variant,
# path, run, rc, seconds, queued, left in the tool's queue, Exim connections, messages Exim still held,
# and queue_messages.py's counts (stored, intact, duplicates, missing, damaged, foreign).
measure() {
	local tool="$1" variant="$2" path="$3" run="$4" dir port name rc=- secs=- queued left conns held counts
	# shellcheck disable=SC2153 # the proxies' ports are set by bench_proxy through printf -v
	case "$variant-$path" in
	chunking-direct) dir="$CHUNKING_DIR" port="$CHUNKING_PORT" ;;
	chunking-proxy) dir="$CHUNKING_DIR" port="$PCHUNKING_PORT" ;;
	pipelining-direct) dir="$PIPELINING_DIR" port="$PIPELINING_PORT" ;;
	pipelining-proxy) dir="$PIPELINING_DIR" port="$PPIPELINING_PORT" ;;
	esac
	name="$tool-$variant-$path-$run"
	"${tool}_reset"
	"${tool}_enqueue" "$MSGS" >"$RESULTS/$name.enqueue" 2>&1 || say "  $name: enqueue failed (see $RESULTS/$name.enqueue)"
	queued="$("${tool}_queued")"
	"${tool}_target" "$port"
	conns="$(exim_connections "$dir")"
	if [ "$queued" -gt 0 ]; then
		local line
		line="$("${tool}_flush" "$RESULTS/$name.out")"
		rc="$(sed -n 's/^rc=\([0-9-]*\) .*/\1/p' <<<"$line")"
		secs="$(sed -n 's/.* seconds=\([0-9.]*\)$/\1/p' <<<"$line")"
	fi
	left="$("${tool}_queued")"
	conns=$(($(exim_connections "$dir") - conns))
	held="$(exim_settle "$dir")"
	counts="$("$PYTHON" "$BENCH_DIR/queue_messages.py" verify "$MSGS" "$dir/mail/alice/Maildir/new" 2>&1 | tail -n 1)"
	rm -rf "$dir/mail/alice"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$variant" "$path" "$run" "$rc" "$secs" \
		"$queued" "$left" "$conns" "$held" "$counts" >>"$RESULTS/queue.tsv"
	say "  $name: queued $queued, flush exit $rc in ${secs} s, $conns connection(s), left $left; $counts"
}

for run in $(seq "$RUNS"); do
	for tool in "${TOOLS[@]}"; do
		variants=(chunking)
		[ "$tool" = mailsend ] && variants=(chunking pipelining)
		for variant in "${variants[@]}"; do
			say "run $run/$RUNS: $tool ($variant), $COUNT messages, direct and at $((2 * DELAY_MS)) ms RTT"
			measure "$tool" "$variant" direct "$run"
			measure "$tool" "$variant" proxy "$run"
		done
	done
done

# --- machine, versions, report -------------------------------------------------------------------------------
{
	echo "mode=$MODE"
	echo "count=$COUNT"
	echo "runs=$RUNS"
	echo "delay_ms=$DELAY_MS"
	echo "scratch_fs=$(stat -f -c %T "$WORK")"
	machine_meta "$LOAD_START"
	echo "tools=${TOOLS[*]}"
	for s in "${SKIPPED[@]}"; do echo "skipped=$s"; done
	for t in "${TOOLS[@]}"; do echo "v_$t=$("${t}_version")"; done
} >"$RESULTS/meta.env"

"$PYTHON" "$BENCH_DIR/queue_report.py" "$RESULTS" "$REPORT" || die "queue_report.py failed"
say "wrote the queue-flush section of $REPORT; raw results in $RESULTS"
