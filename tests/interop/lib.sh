# shellcheck shell=bash source-path=SCRIPTDIR
# Helpers for mailsend's interop tests: sourced by every tests/interop/test_*.sh and by scripts/demo.sh.
#
# - A private work directory ($WORK) and an EXIT trap that stops every server started here, by PID.
# - free_port, wait_tcp, wait_unix, track_pid, stop_server: run real servers on 127.0.0.1/::1 or on a Unix
#   socket inside $WORK, never on another address.
# - check NAME FUNC ARGS...: runs FUNC in a subshell under `set -e`, prints `ok NAME` or `FAIL NAME` with
#   FUNC's output as the reason, and counts; finish prints `interop: N passed, M failed` when the file runs on
#   its own (run.sh prints the total instead) and exits 1 when anything failed. note TEXT prints a figure
#   (timing, count) under the verdict.
# - ms EXPECTED_EXIT ARGS...: runs $MAILSEND with stdin as the message and checks its exit status;
#   ms_fails ARGS... only asks for a failure of mailsend's own (any status but 0 or one from `timeout`).
# - same_bytes, wait_files, one_file, assert_grep: assertions that explain themselves when they fail.
# Server starters live in servers.sh, sourced at the end.

INTEROP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$INTEROP_DIR/../.." && pwd)"
SERVERS_DIR="${MAILSEND_SERVERS:-/var/tmp/mailsend-servers}"
# The interpreter itself, not a version manager's shim: the tests start Python often.
PYTHON="${PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}"
MAILSEND="${MAILSEND:-$REPO_DIR/target/debug/mailsend}"
case "$MAILSEND" in /*) ;; *) MAILSEND="$PWD/$MAILSEND" ;; esac
# Groups follow the order features arrive in: plain SMTP, then TLS and AUTH, then LMTP, then the queue;
# load; Symfony Mailer driving -bs.
INTEROP_GROUPS="${INTEROP_GROUPS:-core tls lmtp queue load symfony}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/mailsend-interop.XXXXXX")"
# Servers that drop privileges (smtp-sink as nobody, Exim as Debian-exim) must reach their files in here.
chmod 755 "$WORK"
: >"$WORK/pids"
PASSED=0
FAILED=0
CHECK_N=0

cleanup() {
	local pid
	while read -r pid; do
		stop_server "$pid"
	done <"$WORK/pids"
	if [ -n "${INTEROP_KEEP:-}" ]; then
		echo "interop: kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

group_enabled() {
	case " ${INTEROP_GROUPS//,/ } " in *" $1 "*) return 0 ;; *) return 1 ;; esac
}

# free_port: print a TCP port that is free on both 127.0.0.1 and ::1 (Exim listens on both).
free_port() {
	"$PYTHON" - <<'EOF'
import socket
for _ in range(100):
    with socket.socket() as s4:
        s4.bind(("127.0.0.1", 0))
        port = s4.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET6) as s6:
                s6.bind(("::1", port))
        except OSError:
            continue
    print(port)
    break
else:
    raise SystemExit("no free port")
EOF
}

# track_pid PID: remember a server so the EXIT trap stops it even if a check dies half-way.
track_pid() { echo "$1" >>"$WORK/pids"; }

# alive PID: the process exists and is not a zombie (a TERMed child stays a zombie until it is reaped).
alive() {
	local state
	state="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)"
	[ -n "$state" ] && [ "$state" != Z ]
}

# group_alive PGID: some process of the process group is alive.
group_alive() {
	local p
	for p in $(pgrep -g "$1"); do
		if alive "$p"; then return 0; fi
	done
	return 1
}

# stop_server PID: TERM, then KILL after 3 s; reaps it when it is our child. Servers are started with
# setsid (see servers.sh), so PID leads a process group: the signals go to the whole group, and this
# returns only when every process in it is gone. A straggler (an Exim child still finishing a
# connection) would otherwise recreate its log directory after the EXIT trap removed $WORK.
stop_server() {
	local pid="$1" target="$1"
	if [ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$pid" ]; then target="-$pid"; fi
	kill -TERM -- "$target" 2>/dev/null || true
	for _ in $(seq 60); do
		if [ "$target" = "$pid" ]; then alive "$pid" || break; else group_alive "$pid" || break; fi
		sleep 0.05
	done
	kill -KILL -- "$target" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# wait_tcp HOST PORT PID: until HOST:PORT accepts a connection (10 s), or PID has died.
wait_tcp() {
	local host="$1" port="$2" pid="$3"
	for _ in $(seq 200); do
		if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
		alive "$pid" || {
			echo "server (pid $pid) exited before listening on $host:$port"
			return 1
		}
		sleep 0.05
	done
	echo "nothing accepted on $host:$port within 10 s"
	return 1
}

# wait_unix PATH PID: until the Unix socket PATH accepts a connection (10 s), or PID has died.
wait_unix() {
	local path="$1" pid="$2"
	for _ in $(seq 200); do
		if [ -S "$path" ] && "$PYTHON" -c 'import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' \
			"$path" 2>/dev/null; then return 0; fi
		alive "$pid" || {
			echo "server (pid $pid) exited before listening on $path"
			return 1
		}
		sleep 0.05
	done
	echo "nothing accepted on $path within 10 s"
	return 1
}

# start_server NAME FUNC ARGS...: run a starter in this shell (it sets globals such as the port) and count
# a failure to start as one FAIL, with the starter's output as the reason.
start_server() {
	local name="$1"
	shift
	local out="$WORK/start.out"
	if "$@" >"$out" 2>&1; then return 0; fi
	report FAIL "$name: server starts" "$out"
	return 1
}

report() {
	local verdict="$1" name="$2" out="${3:-}"
	if [ "$verdict" = ok ]; then
		PASSED=$((PASSED + 1))
		echo "ok $name"
	else
		FAILED=$((FAILED + 1))
		echo "FAIL $name"
		[ -n "$out" ] && [ -s "$out" ] && tail -n 40 "$out" | sed 's/^/    /'
	fi
	if [ -n "${INTEROP_RESULTS:-}" ]; then printf '%s\t%s\n' "$verdict" "$name" >>"$INTEROP_RESULTS"; fi
}

# check NAME FUNC ARGS...: FUNC runs in a subshell with `set -e` and its own scratch dir $T; any failing
# command fails the check. Never call check inside `if`/`&&`/`||`: bash would switch `set -e` off.
check() {
	local name="$1"
	shift
	CHECK_N=$((CHECK_N + 1))
	T="$WORK/check$CHECK_N"
	mkdir -p "$T"
	(
		set -e
		"$@"
	) >"$T/check.out" 2>&1
	local rc=$?
	if [ "$rc" -eq 0 ]; then report ok "$name"; else report FAIL "$name" "$T/check.out"; fi
	if [ -s "$T/notes" ]; then sed 's/^/    /' "$T/notes"; fi
}

# note TEXT...: a figure worth seeing (a timing, a count), printed under the check's verdict whether it
# passed or failed; not an assertion.
note() { printf '%s\n' "$*" >>"$T/notes"; }

finish() {
	if [ -z "${INTEROP_RESULTS:-}" ]; then
		echo "interop: $PASSED passed, $FAILED failed"
	fi
	[ "$FAILED" -eq 0 ]
	exit $?
}

# ms EXPECTED_EXIT ARGS...: run mailsend (stdin is the message); stdout and stderr land in $T/stdout and
# $T/stderr. Fails, showing stderr, when the exit status is not EXPECTED_EXIT.
ms() {
	local want="$1" rc=0
	shift
	timeout -k 5 "${MAILSEND_TEST_TIMEOUT:-30}" "$MAILSEND" "$@" >"$T/stdout" 2>"$T/stderr" || rc=$?
	if [ "$rc" -ne "$want" ]; then
		local note=""
		if [ "$rc" -eq 124 ]; then note=" (killed after ${MAILSEND_TEST_TIMEOUT:-30}s)"; fi
		echo "mailsend$(printf ' %q' "$@") exited $rc$note, expected $want"
		echo "stderr:"
		tail -n 30 "$T/stderr" | sed 's/^/  /'
		return 1
	fi
}

# ms_fails ARGS...: mailsend must fail by itself (any status but 0, and not one from `timeout`).
ms_fails() {
	local rc=0
	timeout -k 5 "${MAILSEND_TEST_TIMEOUT:-30}" "$MAILSEND" "$@" >"$T/stdout" 2>"$T/stderr" || rc=$?
	case "$rc" in
	0 | 124 | 125 | 126 | 127 | 137)
		echo "mailsend$(printf ' %q' "$@") exited $rc, expected its own failure status"
		tail -n 20 "$T/stderr"
		return 1
		;;
	esac
}

# lf2crlf: a message written with LF line ends as it should look on the wire and in a CRLF store.
lf2crlf() { sed 's/$/\r/'; }

# same_bytes WANT GOT: byte-for-byte equality; shows both sides (control characters visible) otherwise.
same_bytes() {
	if cmp -s "$1" "$2"; then return 0; fi
	echo "stored message differs from the expected bytes (- expected, + stored):"
	diff <(cat -A "$1") <(cat -A "$2") | head -n 40
	return 1
}

# assert_grep PATTERN FILE [WHAT]: FILE has a line matching the extended regex PATTERN.
assert_grep() {
	if grep -Eq -- "$1" "$2"; then return 0; fi
	echo "${3:-$2} has no line matching /$1/; it holds:"
	head -n 30 "$2" | cat -A | sed 's/^/  /'
	return 1
}

# assert_no_grep PATTERN FILE [WHAT]: no line of FILE matches.
assert_no_grep() {
	if ! grep -Eq -- "$1" "$2"; then return 0; fi
	echo "${3:-$2} has a line matching /$1/:"
	grep -En -- "$1" "$2" | head -n 5 | sed 's/^/  /'
	return 1
}

# wait_files DIR N [SECONDS]: until DIR holds N regular files (not dotfiles); some servers deliver after
# they have answered the client.
wait_files() {
	local dir="$1" n="$2" secs="${3:-10}" count
	for _ in $(seq $((secs * 20))); do
		count="$(find "$dir" -maxdepth 1 -type f ! -name '.*' 2>/dev/null | wc -l)"
		[ "$count" -ge "$n" ] && return 0
		sleep 0.05
	done
	echo "$dir holds $count file(s) after ${secs}s, expected $n"
	return 1
}

# one_file DIR: print the path of the single file in DIR (waiting for it); fails if there are more.
one_file() {
	wait_files "$1" 1 >&2 || return 1
	local files
	mapfile -t files < <(find "$1" -maxdepth 1 -type f ! -name '.*')
	if [ "${#files[@]}" -ne 1 ]; then
		echo "$1 holds ${#files[@]} files, expected exactly one" >&2
		return 1
	fi
	printf '%s\n' "${files[0]}"
}

# clear_dir DIR...: forget earlier messages so the next check reads only its own.
clear_dir() {
	local d
	for d in "$@"; do find "$d" -maxdepth 1 -type f -delete 2>/dev/null || true; done
}

# strip_server_headers FILE: the stored message without the trace fields the server put in front of it
# (smtp-sink's X-* and Received, Exim's Received, Dovecot's Return-Path, Delivered-To and Received) and
# without smtp-sink's closing empty line. Only these named fields are removed, and only at the top.
strip_server_headers() {
	"$PYTHON" "$INTEROP_DIR/stored.py" "$@"
}

. "$INTEROP_DIR/servers.sh"
