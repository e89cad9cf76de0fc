# shellcheck shell=bash
# Helpers shared by the benchmarks (scripts/bench/bench.sh and scripts/bench/queue-flush.sh), sourced after
# tests/interop/lib.sh (for $WORK, $PYTHON, track_pid and alive). Each script defines say and die.
#
# - apt_install_missing PKG...: installs by name those not installed yet (quietly; the log on failure).
# - bench_proxy NAME UPSTREAM_PORT: a delay proxy in front of a server.
# - machine_meta: the machine lines of meta.env, which report.py and queue_report.py read.

apt_install_missing() {
	local p missing=() log
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	say "apt-get install ${missing[*]}"
	log="$(mktemp)"
	{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}"; } >"$log" 2>&1 || {
		cat "$log" >&2
		rm -f "$log"
		die "apt-get install failed"
	}
	rm -f "$log"
}

# bench_proxy NAME UPSTREAM_PORT: delay_proxy.py on 127.0.0.1:${NAME}_PORT, adding $DELAY_MS each way and
# logging one line per connection to $WORK/NAME.flights. PROXY_BACKLOG (default 128) is its listen backlog.
bench_proxy() {
	local name="$1" upstream="$2" port pid
	port="$(free_port)" || return 1
	"$PYTHON" "$BENCH_DIR/delay_proxy.py" --listen "$port" --upstream "127.0.0.1:$upstream" \
		--delay-ms "$DELAY_MS" --backlog "${PROXY_BACKLOG:-128}" --log "$WORK/$name.flights" \
		--ready "$WORK/$name.ready" >"$WORK/$name.log" 2>&1 &
	pid=$!
	track_pid "$pid"
	for _ in $(seq 100); do
		[ -e "$WORK/$name.ready" ] && break
		alive "$pid" || break
		sleep 0.05
	done
	[ -e "$WORK/$name.ready" ] || {
		cat "$WORK/$name.log"
		return 1
	}
	printf -v "${name}_PORT" '%s' "$port"
}

# machine_meta LOAD_START: what the machine was and how busy, as KEY=VALUE lines.
machine_meta() {
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "nproc=$(nproc)"
	echo "cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "kernel=$(uname -sr)"
	echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "memory=$(free -m | awk '/^Mem:/ {print $2 " MiB"}')"
	echo "load_start=$1"
	echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "git=$(cd "$REPO" && git describe --always --dirty 2>/dev/null)"
	echo "v_rustc=$(rustc --version 2>&1)"
	echo "v_exim=$("$SERVERS_DIR/exim4/usr/sbin/exim4" -C /dev/null -bV 2>/dev/null | head -n 1)"
}
