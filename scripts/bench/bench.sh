#!/usr/bin/env bash
# The side-by-side benchmark of issue 6: mailsend against curl, msmtp, swaks and Python smtplib, in one run,
# on loopback, against Postfix's smtp-sink and Exim. Run by hand (not by CI), as root on a Debian 12 machine:
#
#   scripts/bench/bench.sh [quick|full]        (default quick: fewer runs, same measurements)
#
# It installs what it needs (the interop servers through scripts/install-test-deps.sh, then hyperfine, msmtp,
# swaks, libnet-ssleay-perl, curl and time by package name), builds mailsend in release, starts the servers
# and delay proxies, measures, and writes BENCHMARKS.md at the top of the repository. The raw figures
# (hyperfine JSON, /usr/bin/time lines, proxy logs, the exact commands) stay in $BENCH_RESULTS (default
# /var/tmp/mailsend-bench/DATE-TIME). Server start/stop, free ports and the EXIT trap that stops everything
# come from tests/interop/lib.sh.
#
# Measurements:
#   1 KB wall time (hyperfine) and peak RSS, every client against smtp-sink;
#   round trips at ${BENCH_DELAY_MS:-10} ms each way through delay_proxy.py, as (median through the proxy -
#     median direct) / RTT, with PIPELINING (smtp-sink), without (smtp-sink -p), with CHUNKING offered (Exim),
#     for one message to 100 recipients (smtp-sink), and for STARTTLS + AUTH PLAIN (Exim);
#   50 MB wall, user+sys CPU and peak RSS (/usr/bin/time), every client plus curl --crlf;
#   1 GB peak RSS for mailsend, curl and msmtp (each bounded by a timeout);
#   STARTTLS + AUTH PLAIN wall time against Exim.
# Every command runs under a timeout; a client that fails or times out is reported as such, not retried.
set -uo pipefail

MODE="${1:-quick}"
case "$MODE" in
quick)
	RUNS_DIRECT=20 WARM_DIRECT=3 RUNS_PROXY=8 WARM_PROXY=1 RUNS_BIG=3 RUNS_RSS=3
	;;
full)
	RUNS_DIRECT=100 WARM_DIRECT=10 RUNS_PROXY=20 WARM_PROXY=2 RUNS_BIG=5 RUNS_RSS=5
	;;
*)
	echo "usage: $0 [quick|full]" >&2
	exit 64
	;;
esac

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH_DIR/../.." && pwd)"
RESULTS="${BENCH_RESULTS:-/var/tmp/mailsend-bench/$(date +%Y%m%d-%H%M%S)}"
DELAY_MS="${BENCH_DELAY_MS:-10}"
# Bounds: one send of a small message, a whole hyperfine group, one send of a big message.
T_SMALL=60 T_GROUP=900 T_BIG=300
FROM=sender@example.org
RCPT=alice@example.org

say() { printf 'bench: %s\n' "$*"; }
die() {
	printf 'bench: %s\n' "$*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root: Exim's daemon and apt-get need it"
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- tools -------------------------------------------------------------------------------------------------
say "installing the interop servers (scripts/install-test-deps.sh)"
bash "$REPO/scripts/install-test-deps.sh" || die "scripts/install-test-deps.sh failed"

# msmtp, not msmtp-mta: the latter is an MTA package and would remove whatever MTA is installed.
# shellcheck source=scripts/bench/lib.sh
. "$BENCH_DIR/lib.sh"
apt_install_missing hyperfine msmtp swaks libnet-ssleay-perl curl time

say "building mailsend (release)"
(cd "$REPO" && cargo build --release -q) || die "cargo build --release failed"

mkdir -p "$RESULTS" || die "cannot create $RESULTS"
export MAILSEND="$REPO/target/release/mailsend"
# shellcheck source-path=SCRIPTDIR/../.. source=tests/interop/lib.sh
. "$REPO/tests/interop/lib.sh"
# PYTHON is the interpreter itself (lib.sh resolves it past any version-manager shim, whose own start-up
# would otherwise be charged to smtplib).

# --- servers and proxies -----------------------------------------------------------------------------------
# bench_sink NAME [FLAGS...]: smtp-sink on 127.0.0.1:${NAME}_PORT that keeps nothing (no -d dump, unlike the
# interop tests' start_sink: a dump would write every 1 GB message to disk and charge that to the clients).
bench_sink() {
	local name="$1" port pid user=()
	shift
	[ "$(id -u)" -eq 0 ] && user=(-u nobody)
	port="$(free_port)" || return 1
	LD_LIBRARY_PATH="$SERVERS_DIR/postfix/usr/lib/postfix" "$SERVERS_DIR/postfix/usr/sbin/smtp-sink" \
		"${user[@]}" "$@" "127.0.0.1:$port" 128 >"$WORK/$name.log" 2>&1 &
	pid=$!
	track_pid "$pid"
	wait_tcp 127.0.0.1 "$port" "$pid" || return 1
	printf -v "${name}_PORT" '%s' "$port"
}

say "starting smtp-sink (with and without PIPELINING), Exim and the delay proxies"
bench_sink SINK || die "smtp-sink did not start"
bench_sink NOPIPE -p || die "smtp-sink -p did not start"
start_exim >"$WORK/exim-start.log" 2>&1 || {
	cat "$WORK/exim-start.log"
	die "Exim did not start"
}
CA="$TLS_DIR/ca.pem"
bench_proxy PSINK "$SINK_PORT" || die "proxy to smtp-sink did not start"
bench_proxy PNOPIPE "$NOPIPE_PORT" || die "proxy to smtp-sink -p did not start"
bench_proxy PEXIM "$EXIM_PORT" || die "proxy to Exim did not start"

# --- messages ----------------------------------------------------------------------------------------------
# make_message FILE BYTES: a MIME message of about BYTES bytes with LF line ends (as a local program hands it
# to sendmail): a short text part and a base64 attachment of 76-character lines.
make_message() {
	"$PYTHON" - "$1" "$2" <<'EOF'
import base64, random, sys
path, size = sys.argv[1], int(sys.argv[2])
head = (
    "From: Sender <sender@example.org>\nTo: Alice <alice@example.org>\nSubject: benchmark message\n"
    "Date: Sun, 23 Nov 2025 12:00:00 +0000\nMessage-ID: <bench-%d@example.org>\nMIME-Version: 1.0\n"
    'Content-Type: multipart/mixed; boundary="b1"\n\n--b1\nContent-Type: text/plain; charset=us-ascii\n\n'
    "The attachment is random data.\n\n--b1\nContent-Type: application/octet-stream\n"
    "Content-Transfer-Encoding: base64\n\n" % size
).encode()
tail = b"\n--b1--\n"
rng = random.Random(6)
block = b"".join(base64.b64encode(rng.randbytes(57)) + b"\n" for _ in range(1024))
with open(path, "wb") as f:
    f.write(head)
    left = max(size - len(head) - len(tail), 0)
    while left >= len(block):
        f.write(block)
        left -= len(block)
    f.write(block[: left - left % 77])
    f.write(tail)
EOF
}

MSG_1K="$WORK/msg-1k.eml"
MSG_50M="$WORK/msg-50m.eml"
MSG_1G="$WORK/msg-1g.eml"
make_message "$MSG_1K" 1024 || die "cannot write $MSG_1K"

RCPTS_100=()
for i in $(seq -w 1 100); do RCPTS_100+=("rcpt$i@example.org"); done

# --- clients -----------------------------------------------------------------------------------------------
# conf_msmtp PORT MODE: an msmtp configuration for 127.0.0.1:PORT; MODE plain (tls off, auth off) or tls
# (STARTTLS verified against the test CA, AUTH PLAIN). msmtp insists on mode 0600 when it holds a password.
conf_msmtp() {
	local f="$WORK/msmtp-$1-$2.conf"
	{
		printf 'account default\nhost 127.0.0.1\nport %s\nfrom %s\nsyslog off\n' "$1" "$FROM"
		if [ "$2" = tls ]; then
			printf 'tls on\ntls_starttls on\ntls_trust_file %s\n' "$CA"
			printf 'auth plain\nuser %s\npassword %s\n' "$TEST_USER" "$TEST_PASSWORD"
		else
			printf 'tls off\nauth off\n'
		fi
	} >"$f"
	chmod 600 "$f"
	printf '%s' "$f"
}

# client_cmd CLIENT PORT MODE MSG RCPT...: the command that sends MSG with CLIENT to 127.0.0.1:PORT.
# MODE: plain (no TLS, no AUTH) or tls (STARTTLS + AUTH PLAIN with the test credentials, the certificate
# verified against the test CA by every client). swaks pipelines only when told to, so it gets --pipeline
# wherever PIPELINING is offered (it refuses a server that does not offer it).
# FORM=hf: a command for `hyperfine -N` (no shell, so no shell start-up in the figures): mailsend reads
# --input; msmtp, which reads only standard input, runs under `sh -c` (about 1 ms more, noted in the report).
# Otherwise a shell command line with the message on standard input where the client reads it there.
client_cmd() {
	local client="$1" port="$2" mode="$3" msg="$4" r form="${FORM:-shell}"
	shift 4
	local q_msg q_rcpts=() csv
	q_msg="$(printf '%q' "$msg")"
	for r in "$@"; do q_rcpts+=("$(printf '%q' "$r")"); done
	csv="$(
		IFS=,
		echo "$*"
	)"
	case "$client" in
	mailsend)
		local tls="--tls off" input="< $q_msg"
		[ "$mode" = tls ] && tls="--tls starttls --tls-trust-file $(printf '%q' "$CA") --auth plain --user $TEST_USER --password-command 'echo $TEST_PASSWORD'"
		[ "$form" = hf ] && input="--input $q_msg"
		echo "$(printf '%q' "$MAILSEND") --host 127.0.0.1:$port $tls -f $FROM ${q_rcpts[*]} $input"
		;;
	curl | curl-crlf)
		local extra="" rc=""
		[ "$client" = curl-crlf ] && extra=" --crlf"
		[ "$mode" = tls ] && extra+=" --ssl-reqd --cacert $(printf '%q' "$CA") --user $TEST_USER:$TEST_PASSWORD --login-options AUTH=PLAIN"
		for r in "${q_rcpts[@]}"; do rc+=" --mail-rcpt $r"; done
		echo "curl -sS smtp://127.0.0.1:$port$extra --mail-from $FROM$rc --upload-file $q_msg"
		;;
	msmtp)
		local conf line
		conf="$(conf_msmtp "$port" "$mode")"
		line="msmtp -C $(printf '%q' "$conf") -f $FROM ${q_rcpts[*]} < $q_msg"
		if [ "$form" = hf ]; then echo "sh -c '$line'"; else echo "$line"; fi
		;;
	swaks)
		local extra=""
		[ "$port" != "$NOPIPE_PORT" ] && [ "$port" != "$PNOPIPE_PORT" ] && extra=" --pipeline"
		[ "$mode" = tls ] && extra+=" -tls --tls-verify --tls-ca-path $(printf '%q' "$CA") --auth PLAIN --auth-user $TEST_USER --auth-password $TEST_PASSWORD"
		echo "swaks --silent 2 --server 127.0.0.1:$port$extra --from $FROM --to $csv --data @$q_msg"
		;;
	smtplib)
		local extra=""
		[ "$mode" = tls ] && extra=" --starttls $(printf '%q' "$CA") --user $TEST_USER --password $TEST_PASSWORD"
		echo "$(printf '%q' "$PYTHON") $(printf '%q' "$BENCH_DIR/smtplib_send.py") --port $port$extra --from $FROM --file $q_msg ${q_rcpts[*]}"
		;;
	esac
}

CLIENTS=(mailsend curl msmtp swaks smtplib)
: >"$RESULTS/commands.tsv"
: >"$RESULTS/failures.tsv"

# precheck SCENARIO CLIENT CMD: one bounded run; a failure is recorded with the client's stderr and the
# client is left out of this scenario (hyperfine would abort on it anyway).
precheck() {
	local out="$WORK/precheck.err" rc=0
	timeout -k 5 "$T_SMALL" sh -c "$3" >/dev/null 2>"$out" || rc=$?
	[ "$rc" -eq 0 ] && return 0
	say "  $2 FAILED in $1 (exit $rc): $(head -c 300 "$out" | tr '\n' ' ')"
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$rc" "$(head -c 300 "$out" | tr '\n\t' '  ')" >>"$RESULTS/failures.tsv"
	return 1
}

# hf SCENARIO RUNS WARMUP FLIGHTS-LOG PORT MODE MSG RCPT...: hyperfine every client in turn, one JSON file
# per client ($RESULTS/SCENARIO--CLIENT.json); through a proxy, its per-connection log is kept beside it.
# hyperfine runs without a shell (-N): its correction for a shell's start-up is noisier than mailsend's
# whole 1 KB send on a busy machine.
hf() {
	local scenario="$1" runs="$2" warm="$3" flights="$4" port="$5" mode="$6" msg="$7" client cmd
	shift 7
	say "$scenario"
	for client in "${CLIENTS[@]}"; do
		cmd="$(FORM=hf client_cmd "$client" "$port" "$mode" "$msg" "$@")"
		printf '%s\t%s\t%s\n' "$scenario" "$client" "$cmd" >>"$RESULTS/commands.tsv"
		precheck "$scenario" "$client" "$cmd" || continue
		[ -n "$flights" ] && : >"$flights"
		timeout -k 5 "$T_GROUP" hyperfine -N --style basic --warmup "$warm" --runs "$runs" \
			--export-json "$RESULTS/$scenario--$client.json" -n "$client" "$cmd" >"$WORK/hf.out" 2>&1 || {
			say "  $client: hyperfine failed: $(tail -n 3 "$WORK/hf.out" | tr '\n' ' ')"
			printf '%s\t%s\thyperfine\t%s\n' "$scenario" "$client" "$(tail -n 3 "$WORK/hf.out" | tr '\n\t' '  ')" \
				>>"$RESULTS/failures.tsv"
			continue
		}
		grep -E '^ +Time' "$WORK/hf.out" | sed "s/^ */bench:   $client: /"
		[ -n "$flights" ] && cp "$flights" "$RESULTS/$scenario--$client.flights"
	done
}

# timed SCENARIO CLIENT RUN CMD: one run under /usr/bin/time; appends "scenario client run rc wall user sys
# maxrss_kb" to $RESULTS/time.tsv (rc 124: killed by the timeout).
timed() {
	local tf="$WORK/time.out" rc=0
	: >"$tf"
	eval "timeout -k 5 $T_BIG /usr/bin/time -o $(printf '%q' "$tf") -f '%e %U %S %M' $4" \
		>/dev/null 2>"$WORK/timed.err" || rc=$?
	local t
	t="$(grep -E '^[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+$' "$tf" | tail -n 1)"
	[ -n "$t" ] || t="- - - -"
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$rc" "$t" | tr ' ' '\t' >>"$RESULTS/time.tsv"
	if [ "$rc" -ne 0 ]; then
		say "  $2 run $3: exit $rc $(head -c 200 "$WORK/timed.err" | tr '\n' ' ')"
	fi
}

# timed_group SCENARIO RUNS MSG CLIENT...: RUNS rounds, each client once per round (interleaved, so a
# burst of background load hits everyone alike), against smtp-sink.
timed_group() {
	local scenario="$1" runs="$2" msg="$3" run client cmd
	shift 3
	say "$scenario ($runs runs each: $*)"
	for client in "$@"; do
		cmd="$(client_cmd "$client" "$SINK_PORT" plain "$msg" "$RCPT")"
		printf '%s\t%s\t%s\n' "$scenario" "$client" "/usr/bin/time -f '%e %U %S %M' $cmd" >>"$RESULTS/commands.tsv"
	done
	for run in $(seq "$runs"); do
		for client in "$@"; do
			timed "$scenario" "$client" "$run" "$(client_cmd "$client" "$SINK_PORT" plain "$msg" "$RCPT")"
		done
	done
}

: >"$RESULTS/time.tsv"

# --- measurements ------------------------------------------------------------------------------------------
hf 1k-sink "$RUNS_DIRECT" "$WARM_DIRECT" "" "$SINK_PORT" plain "$MSG_1K" "$RCPT"
timed_group rss-1k "$RUNS_RSS" "$MSG_1K" "${CLIENTS[@]}"
hf 1k-sink-proxy "$RUNS_PROXY" "$WARM_PROXY" "$WORK/PSINK.flights" "$PSINK_PORT" plain "$MSG_1K" "$RCPT"
hf 1k-nopipe "$RUNS_DIRECT" "$WARM_DIRECT" "" "$NOPIPE_PORT" plain "$MSG_1K" "$RCPT"
hf 1k-nopipe-proxy "$RUNS_PROXY" "$WARM_PROXY" "$WORK/PNOPIPE.flights" "$PNOPIPE_PORT" plain "$MSG_1K" "$RCPT"
hf 1k-exim "$RUNS_DIRECT" "$WARM_DIRECT" "" "$EXIM_PORT" plain "$MSG_1K" "$RCPT"
hf 1k-exim-proxy "$RUNS_PROXY" "$WARM_PROXY" "$WORK/PEXIM.flights" "$PEXIM_PORT" plain "$MSG_1K" "$RCPT"
hf 100rcpt-sink "$RUNS_DIRECT" "$WARM_DIRECT" "" "$SINK_PORT" plain "$MSG_1K" "${RCPTS_100[@]}"
hf 100rcpt-sink-proxy "$RUNS_PROXY" "$WARM_PROXY" "$WORK/PSINK.flights" "$PSINK_PORT" plain "$MSG_1K" \
	"${RCPTS_100[@]}"
hf tls-exim "$RUNS_DIRECT" "$WARM_DIRECT" "" "$EXIM_PORT" tls "$MSG_1K" "$RCPT"
hf tls-exim-proxy "$RUNS_PROXY" "$WARM_PROXY" "$WORK/PEXIM.flights" "$PEXIM_PORT" tls "$MSG_1K" "$RCPT"

make_message "$MSG_50M" $((50 * 1024 * 1024)) || die "cannot write $MSG_50M"
timed_group 50m "$RUNS_BIG" "$MSG_50M" mailsend curl curl-crlf msmtp swaks smtplib
rm -f "$MSG_50M"

make_message "$MSG_1G" $((1024 * 1024 * 1024)) || die "cannot write $MSG_1G"
timed_group 1g 1 "$MSG_1G" mailsend curl curl-crlf msmtp
rm -f "$MSG_1G"

# --- machine, versions, report -----------------------------------------------------------------------------
{
	echo "mode=$MODE"
	echo "delay_ms=$DELAY_MS"
	machine_meta "$LOAD_START"
	echo "v_mailsend=$("$MAILSEND" --version 2>&1 | head -n 1)"
	echo "v_curl=$(curl --version | head -n 1)"
	echo "v_msmtp=$(msmtp --version | head -n 1) ($(msmtp --version | grep -i 'TLS/SSL library' | sed 's/.*: //'))"
	echo "v_swaks=$(swaks --version | grep -m1 -i 'version')"
	echo "v_python=$("$PYTHON" --version 2>&1)"
	echo "v_hyperfine=$(hyperfine --version)"
	echo "v_smtp_sink=Postfix $(LD_LIBRARY_PATH="$SERVERS_DIR/postfix/usr/lib/postfix" \
		"$SERVERS_DIR/postfix/usr/sbin/postconf" -d mail_version 2>/dev/null | sed 's/.*= //')"
	echo "work=$WORK"
	echo "repo=$REPO"
	echo "mailsend=$MAILSEND"
	echo "python=$PYTHON"
	echo "ca=$CA"
	echo "port_SINK_PORT=$SINK_PORT"
	echo "port_NOPIPE_PORT=$NOPIPE_PORT"
	echo "port_EXIM_PORT=$EXIM_PORT"
	echo "port_PSINK_PORT=$PSINK_PORT"
	echo "port_PNOPIPE_PORT=$PNOPIPE_PORT"
	echo "port_PEXIM_PORT=$PEXIM_PORT"
} >"$RESULTS/meta.env"

"$PYTHON" "$BENCH_DIR/report.py" "$RESULTS" "$REPO/BENCHMARKS.md" || die "report.py failed"
say "wrote $REPO/BENCHMARKS.md; raw results in $RESULTS"
