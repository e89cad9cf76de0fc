#!/usr/bin/env bash
# Size and load against real servers (group load; issue 5): a 100 MB message through Exim (STARTTLS + AUTH
# PLAIN, sent with BDAT, RFC 3030) and through smtp-sink (DATA with dot-stuffing, RFC 5321 §4.5.2); 500
# sequential sends and 20 concurrent mailsend processes against Exim. Every message must be stored exactly
# once and byte for byte as meant (compared by SHA-256 after Exim's Received field, or smtp-sink's trace
# fields, are removed); no loss, no duplicate. Wall time, peak RSS and throughput are printed under each
# check as figures, never asserted: CI machines differ too much.
# shellcheck source-path=SCRIPTDIR disable=SC2317  # check functions are called through `check`
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

group_enabled load || finish

BIG_BYTES=$((100 * 1024 * 1024))
# The counts can be lowered while working on this file (INTEROP_LOAD_SEQUENTIAL, INTEROP_LOAD_PROCESSES,
# INTEROP_LOAD_EACH); CI runs the defaults, the issue's figures.
SEQUENTIAL="${INTEROP_LOAD_SEQUENTIAL:-500}"
PROCESSES="${INTEROP_LOAD_PROCESSES:-20}"
EACH="${INTEROP_LOAD_EACH:-25}"
# Bounds each mailsend; the 100 MB send of a debug build takes about 5 s on a loaded 2-CPU machine.
SEND_TIMEOUT=30
BIG_TIMEOUT=180

now() { date +%s.%N; }

# since START [COUNT]: seconds since START; with COUNT also messages per second and wall time per message.
since() {
	awk -v a="$1" -v b="$(now)" -v n="${2:-0}" 'BEGIN {
		s = b - a; printf "%.1f s", s
		if (n > 0) printf ", %.1f messages/s, %.1f ms per message", n / s, 1000 * s / n
	}'
}

# STARTTLS + AUTH PLAIN costs a few tens of ms a send against Exim; plain SMTP over 200 ms, because Exim
# holds its last replies up to 200 ms after QUIT on plain TCP (BENCHMARKS.md, notes).
exim_args() {
	printf '%s\n' --host "127.0.0.1:$EXIM_PORT" --tls starttls --tls-trust-file "$TLS_DIR/ca.pem" \
		--auth plain --user "$TEST_USER" --password-command "echo $TEST_PASSWORD"
}

# exim_settled MAILDIR N [SECONDS]: until Exim's queue is empty and MAILDIR holds at least N files;
# Exim answers after spooling a message and delivers it just after, so a message is in one or the other.
exim_settled() {
	local dir="$1" n="$2" secs="${3:-60}" queued count
	for _ in $(seq $((secs * 10))); do
		queued="$(find "$EXIM_DIR/spool/input" -name '*-H' 2>/dev/null | wc -l)"
		count="$(find "$dir" -maxdepth 1 -type f ! -name '.*' 2>/dev/null | wc -l)"
		[ "$queued" -eq 0 ] && [ "$count" -ge "$n" ] && return 0
		sleep 0.1
	done
	echo "after ${secs}s $dir holds $count file(s), expected $n; $queued message(s) still in Exim's queue"
	grep -E ' (==|\*\*) ' "$EXIM_DIR/log/mainlog" | tail -n 5
	return 1
}

# send_one FILE ERRLOG: one send of FILE to alice through Exim; on failure one line in ERRLOG.
send_one() {
	local rc=0 args
	mapfile -t args < <(exim_args)
	timeout -k 5 "$SEND_TIMEOUT" "$MAILSEND" "${args[@]}" -f sender@example.org alice@example.org \
		<"$1" >/dev/null 2>"$1.stderr" || rc=$?
	if [ "$rc" -ne 0 ]; then
		printf '%s: exit %s: %s\n' "${1##*/}" "$rc" "$(tail -n 1 "$1.stderr")" >>"$2"
	fi
}

# log_offset: where Exim's main log ends now; exim_log_since reads what comes after.
log_offset() { stat -c %s "$EXIM_DIR/log/mainlog"; }

# verify_maildir MSGDIR LOG_OFFSET: every MSGDIR/*.eml is in alice's Maildir exactly once, byte for byte,
# and Exim delivered each at once (its log after LOG_OFFSET), not in a later queue run.
verify_maildir() {
	local rc=0
	exim_settled "$(exim_maildir alice)" "$(find "$1" -name '*.eml' | wc -l)" || rc=1
	"$PYTHON" "$INTEROP_DIR/messages.py" verify "$(exim_maildir alice)" "$1" >"$T/verify" || rc=1
	"$PYTHON" "$INTEROP_DIR/messages.py" exim-log "$EXIM_DIR/log/mainlog" "$2" >"$T/exim-log" || rc=1
	note "stored: $(head -n 1 "$T/verify")"
	note "Exim: $(head -n 1 "$T/exim-log")"
	cat "$T/verify" "$T/exim-log"
	return "$rc"
}

# any_failures ERRLOG...: show the failed sends, if any, and fail.
any_failures() {
	local failures
	failures="$(cat "$@" 2>/dev/null || true)"
	[ -z "$failures" ] && return 0
	echo "$(printf '%s\n' "$failures" | wc -l) send(s) failed:"
	printf '%s\n' "$failures" | head -n 10
	return 1
}

t_sequential() {
	clear_dir "$(exim_maildir alice)"
	"$PYTHON" "$INTEROP_DIR/messages.py" batch "$T/msgs" seq "$SEQUENTIAL"
	local start f offset
	offset="$(log_offset)"
	start="$(now)"
	for f in "$T/msgs"/*.eml; do send_one "$f" "$T/failures"; done
	note "$SEQUENTIAL sequential sends (STARTTLS + AUTH PLAIN): $(since "$start" "$SEQUENTIAL")"
	any_failures "$T/failures"
	verify_maildir "$T/msgs" "$offset"
}

# PROCESSES loops at once, each sending its own EACH messages one after another.
t_concurrent() {
	clear_dir "$(exim_maildir alice)"
	local total=$((PROCESSES * EACH)) start p offset pids=()
	"$PYTHON" "$INTEROP_DIR/messages.py" batch "$T/msgs" par "$total"
	offset="$(log_offset)"
	start="$(now)"
	for p in $(seq 0 $((PROCESSES - 1))); do
		(
			for n in $(seq $((p * EACH + 1)) $((p * EACH + EACH))); do
				send_one "$(printf '%s/par-%05d.eml' "$T/msgs" "$n")" "$T/failures.$p"
			done
		) &
		pids+=("$!")
	done
	for p in "${pids[@]}"; do wait "$p" || true; done
	note "$PROCESSES concurrent processes x $EACH sends (STARTTLS + AUTH PLAIN): $(since "$start" "$total")"
	any_failures "$T"/failures.*
	verify_maildir "$T/msgs" "$offset"
}

# big_message: the 100 MB message in $WORK/big.eml, made once; prints the SHA-256 and length of the
# message as a server storing LF line ends must hold it.
big_message() {
	if [ ! -s "$WORK/big.want" ]; then
		"$PYTHON" "$INTEROP_DIR/messages.py" big "$WORK/big.eml" "$BIG_BYTES" >"$WORK/big.want"
	fi
	cat "$WORK/big.want"
}

# timed_send LABEL ARGS...: mailsend ARGS with the 100 MB message on stdin under /usr/bin/time; prints
# the wall time, the peak RSS and the throughput as a note.
timed_send() {
	local label="$1" rc=0
	shift
	[ -x /usr/bin/time ] || {
		echo "/usr/bin/time missing: run scripts/install-test-deps.sh"
		return 1
	}
	timeout -k 5 "$BIG_TIMEOUT" /usr/bin/time -o "$T/time" -f '%e %M' "$MAILSEND" "$@" \
		<"$WORK/big.eml" >"$T/stdout" 2>"$T/stderr" || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "mailsend$(printf ' %q' "$@") exited $rc"
		tail -n 20 "$T/stderr"
		return 1
	fi
	local wall rss
	read -r wall rss < <(tail -n 1 "$T/time")
	# Parenthesised: a bare `>` after printf's arguments would be awk's output redirection.
	note "$label: $(awk -v s="$wall" -v k="$rss" -v b="$(stat -c %s "$WORK/big.eml")" 'BEGIN {
		printf "wall %.2f s, peak RSS %.1f MB, %.0f MB/s", s, k / 1024, (s > 0 ? b / s / 1048576 : 0)
	}')"
}

# same_digest WANT FILE KIND: FILE, without KIND's trace fields, has the SHA-256 WANT.
same_digest() {
	local got
	got="$(strip_server_headers "$3" "$2" | sha256sum | cut -d' ' -f1)"
	[ "$got" = "$1" ] && return 0
	echo "the stored message differs from what was sent: sha256 $got, expected $1"
	echo "stored $(stat -c %s "$2") bytes (trace fields included)"
	return 1
}

t_big_exim() {
	local want bytes args f
	read -r want bytes < <(big_message)
	mapfile -t args < <(exim_args)
	clear_dir "$(exim_maildir alice)"
	timed_send "100 MB to Exim (STARTTLS + AUTH PLAIN, BDAT)" "${args[@]}" -f sender@example.org \
		alice@example.org
	exim_settled "$(exim_maildir alice)" 1 120
	f="$(one_file "$(exim_maildir alice)")"
	same_digest "$want" "$f" exim
	# Exim marks a message received with CHUNKING with K on its reception line.
	assert_grep '<= sender@example\.org .* K S=[0-9]+ id=big\.1@example\.org' "$EXIM_DIR/log/mainlog" \
		"Exim's reception log"
	note "stored once: $bytes bytes, sha256 ${want:0:16}… as sent"
	clear_dir "$(exim_maildir alice)"
}

t_big_sink() {
	local want bytes f
	read -r want bytes < <(big_message)
	# smtp-sink offers no CHUNKING: mailsend sends DATA and dot-stuffs the message (RFC 5321 §4.5.2).
	# shellcheck disable=SC2119  # a sink without fault flags
	start_sink
	timed_send "100 MB to smtp-sink (no TLS, DATA)" --host "127.0.0.1:$SINK_PORT" -f sender@example.org \
		alice@example.org
	f="$(one_file "$SINK_DIR")"
	same_digest "$want" "$f" sink
	note "stored once: $bytes bytes, sha256 ${want:0:16}… as sent"
	stop_server "$SINK_PID"
	rm -rf "$SINK_DIR"
}

if start_server exim start_exim; then
	check "load: 100 MB message through Exim (STARTTLS + AUTH PLAIN, BDAT) stored once, byte for byte" t_big_exim
	check "load: $SEQUENTIAL sequential sends to Exim, each stored exactly once" t_sequential
	check "load: $PROCESSES concurrent mailsend processes x $EACH sends to Exim, each stored exactly once" \
		t_concurrent
fi
check "load: 100 MB message through smtp-sink (DATA, dot-stuffed) stored once, byte for byte" t_big_sink
rm -f "$WORK/big.eml"

finish
