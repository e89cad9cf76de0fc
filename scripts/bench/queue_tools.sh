# shellcheck shell=bash
# The four queues of scripts/bench/queue-flush.sh, each behind the same five functions (sourced by it, after
# tests/interop/lib.sh; PEERS is where the Debian packages were unpacked, $WORK the run's scratch directory):
#
#   TOOL_reset          a fresh, empty queue and configuration under $WORK/TOOL
#   TOOL_enqueue DIR    put every DIR/*.eml into the queue for alice@example.org, without delivering
#   TOOL_queued         print how many messages the queue holds
#   TOOL_target PORT    point the next flush at 127.0.0.1:PORT
#   TOOL_flush OUT      one flush, timed by flush_timer.py (its `rc=N seconds=S` line on stdout,
#                       the tool's own output appended to OUT)
#
# Every peer runs from its unpacked package with its spool and configuration in $WORK, as root; none is
# installed. What each needs is written next to it.

Q_FROM=sender@example.org
Q_RCPT=alice@example.org

# timed_flush OUT CMD...: flush_timer.py with the run's timeout.
timed_flush() {
	local out="$1"
	shift
	"$PYTHON" "$BENCH_DIR/flush_timer.py" --timeout "$T_FLUSH" --output "$out" -- "$@"
}

# count_files DIR [GLOB]: the number of entries of DIR matching GLOB (default: any), dotfiles excluded.
count_files() {
	find "$1" -maxdepth 1 -type f -name "${2:-*}" ! -name '.*' 2>/dev/null | wc -l
}

# --- mailsend ------------------------------------------------------------------------------------------------
# Its own queue_dir in a -C configuration; `-odq` queues without trying, `-q` flushes (spec section 9).

ms_conf() { # PORT
	printf '[defaults]\nhost = "127.0.0.1"\nport = %s\ntls = "off"\nfrom = "%s"\nqueue_dir = "%s"\n' \
		"$1" "$Q_FROM" "$WORK/mailsend/queue" >"$WORK/mailsend/config.toml"
}

# mailsend_has_queue: the binary knows `-q` and `queue_dir` (an empty queue flushes with status 0).
mailsend_has_queue() {
	mkdir -p "$WORK/mailsend-probe"
	printf '[defaults]\nhost = "127.0.0.1"\nport = 9\ntls = "off"\nqueue_dir = "%s"\n' \
		"$WORK/mailsend-probe/queue" >"$WORK/mailsend-probe/config.toml"
	timeout -k 5 30 "$MAILSEND" -C "$WORK/mailsend-probe/config.toml" -q >"$WORK/mailsend-probe/out" 2>&1
}

mailsend_reset() {
	rm -rf "$WORK/mailsend"
	mkdir -p "$WORK/mailsend"
	ms_conf "$CLOSED_PORT"
}

mailsend_enqueue() {
	local f
	for f in "$1"/*.eml; do
		"$MAILSEND" -C "$WORK/mailsend/config.toml" -odq -f "$Q_FROM" "$Q_RCPT" <"$f" || return 1
	done
}

mailsend_queued() { count_files "$WORK/mailsend/queue/queue"; }
mailsend_target() { ms_conf "$1"; }
mailsend_flush() { timed_flush "$1" "$MAILSEND" -C "$WORK/mailsend/config.toml" -q; }
mailsend_version() { "$MAILSEND" --version 2>&1 | head -n 1; }

# --- nullmailer ----------------------------------------------------------------------------------------------
# NULLMAILER_TEST_PREFIX=P (honoured when the program is not set-id) moves every compiled-in path: control
# files to P/conf, the queue to P/queue/{queue,tmp,failed} with the trigger FIFO P/queue/trigger,
# nullmailer-queue to P/sbin and the protocol modules to P/protocols; the host name comes from
# P/conf/../mailname. nullmailer-queue is shipped set-uid mail, which would make it ignore the prefix: the
# unpacked copy has its set-id bits removed. `pausetime 0` makes nullmailer-send exit after one pass.

nullmailer_reset() {
	local p="$WORK/nullmailer"
	rm -rf "$p"
	mkdir -p "$p/conf" "$p/queue/queue" "$p/queue/tmp" "$p/queue/failed"
	mkfifo "$p/queue/trigger"
	ln -s "$PEERS/nullmailer/usr/sbin" "$p/sbin"
	ln -s "$PEERS/nullmailer/usr/lib/nullmailer" "$p/protocols"
	echo localhost >"$p/mailname"
	echo 0 >"$p/conf/pausetime"
	nullmailer_target "$CLOSED_PORT"
}

nullmailer_enqueue() {
	local f
	for f in "$1"/*.eml; do
		NULLMAILER_TEST_PREFIX="$WORK/nullmailer" "$PEERS/nullmailer/usr/bin/nullmailer-inject" -a \
			-f "$Q_FROM" "$Q_RCPT" <"$f" || return 1
	done
}

nullmailer_queued() { count_files "$WORK/nullmailer/queue/queue"; }
nullmailer_target() { echo "127.0.0.1 smtp port=$1" >"$WORK/nullmailer/conf/remotes"; }
nullmailer_flush() {
	NULLMAILER_TEST_PREFIX="$WORK/nullmailer" timed_flush "$1" "$PEERS/nullmailer/usr/sbin/nullmailer-send"
}
nullmailer_version() { echo "nullmailer $(peer_version nullmailer)"; }

# --- dma -----------------------------------------------------------------------------------------------------
# dma reads only /etc/dma/dma.conf (no option or variable moves it; -C is accepted and ignored), so it runs
# in a private mount namespace (unshare -m) where an overlay puts $WORK/dma/etc/dma/dma.conf over the
# machine's /etc, which is never written. SPOOLDIR in that file is $WORK/dma/spool, owned by mail: run as
# root, dma switches to the user mail. DEFER queues without delivering; `dma -D -q` flushes in the
# foreground, forking one delivery process per queued message (flush_timer.py waits for all of them).

dma_reset() {
	local d="$WORK/dma"
	rm -rf "$d"
	mkdir -p "$d/etc/dma" "$d/overlay-work" "$d/spool"
	chown mail:mail "$d/spool"
	chmod 770 "$d/spool"
	dma_target "$CLOSED_PORT"
}

# dma_ns CMD...: CMD inside a mount namespace that sees $WORK/dma/etc over /etc.
dma_ns() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m sh -c 'mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/etc,workdir=$1/overlay-work" /etc &&
		shift && exec "$@"' sh "$WORK/dma" "$@"
}

dma_enqueue() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	dma_ns bash -c 'for f in "$1"/*.eml; do "$2" -f "$3" "$4" <"$f" || exit 1; done' sh \
		"$1" "$PEERS/dma/usr/sbin/dma" "$Q_FROM" "$Q_RCPT"
}

dma_queued() { count_files "$WORK/dma/spool" 'Q*'; }
dma_target() {
	printf 'SMARTHOST 127.0.0.1\nPORT %s\nSPOOLDIR %s\nMAILNAME localhost\nNULLCLIENT\nDEFER\n' \
		"$1" "$WORK/dma/spool" >"$WORK/dma/etc/dma/dma.conf"
}
dma_flush() {
	dma_ns "$PYTHON" "$BENCH_DIR/flush_timer.py" --timeout "$T_FLUSH" --output "$1" -- \
		"$PEERS/dma/usr/sbin/dma" -D -q
}
dma_version() { echo "dma $(peer_version dma)"; }

# --- msmtpq --------------------------------------------------------------------------------------------------
# The msmtpq script of the msmtp package with the unpacked msmtp (MSMTP), its queue in MSMTPQ_Q and its
# log in MSMTPQ_LOG, EMAIL_CONN_TEST=x (no ping to the internet before each send) and EMAIL_QUEUE_QUIET.
# msmtpq queues a message when msmtp fails to send it, so the enqueue runs with the account pointing at a
# closed port; the queued .msmtp files hold msmtp's arguments (-C CONFIG ...), so the flush reads the
# account as it is then. `msmtpq --q-mgmt -r` is what `msmtp-queue -r` runs.

msmtpq_env() {
	env MSMTP="$PEERS/msmtp/usr/bin/msmtp" MSMTPQ_Q="$WORK/msmtpq/queue" MSMTPQ_LOG="$WORK/msmtpq/queue.log" \
		EMAIL_CONN_TEST=x EMAIL_QUEUE_QUIET=t "$@"
}

msmtpq_reset() {
	rm -rf "$WORK/msmtpq"
	mkdir -p "$WORK/msmtpq/queue"
	chmod 700 "$WORK/msmtpq/queue"
	msmtpq_target "$CLOSED_PORT"
}

msmtpq_enqueue() {
	local f script="$PEERS/msmtp/usr/libexec/msmtp/msmtpq/msmtpq"
	for f in "$1"/*.eml; do
		msmtpq_env bash "$script" -C "$WORK/msmtpq/msmtprc" -f "$Q_FROM" "$Q_RCPT" <"$f" >/dev/null || return 1
	done
}

msmtpq_queued() { count_files "$WORK/msmtpq/queue" '*.mail'; }
msmtpq_target() {
	printf 'account default\nhost 127.0.0.1\nport %s\nfrom %s\ntls off\nauth off\nsyslog off\n' \
		"$1" "$Q_FROM" >"$WORK/msmtpq/msmtprc"
	chmod 600 "$WORK/msmtpq/msmtprc"
}
msmtpq_flush() {
	msmtpq_env "$PYTHON" "$BENCH_DIR/flush_timer.py" --timeout "$T_FLUSH" --output "$1" -- \
		bash "$PEERS/msmtp/usr/libexec/msmtp/msmtpq/msmtpq" --q-mgmt -r
}
msmtpq_version() { echo "msmtpq of msmtp $(peer_version msmtp) ($("$PEERS/msmtp/usr/bin/msmtp" --version | head -n 1))"; }

# peer_version PACKAGE: the Debian version of the unpacked package.
peer_version() { cat "$PEERS/$1.version" 2>/dev/null || echo '?'; }
