#!/usr/bin/env bash
# The queue against real servers (group queue; issue 12, test 8; spec §9). Messages queued while Exim is
# down, with -odq and by a send under queue = "on-failure" that found it down, are flushed by `mailsend -q`
# into Exim over STARTTLS + AUTH with the account's credentials (read again at delivery time, never kept in
# the queue): each stored exactly once and byte for byte (Exim's Received field removed), all over one
# connection, the queue empty afterwards and a second -q sending nothing. Entries for LMTP routes (an
# account's Unix socket, a TCP server named on the command line) are flushed into Dovecot (RFC 2033), one
# recipient refused at RCPT (unknown user) and one after the data (over quota): those two fail, the others
# get the message once, the entry is kept in failed/ and ONE failure notice (RFC 3464) to the sender is
# queued, which the next run delivers from the null sender.
# shellcheck source-path=SCRIPTDIR disable=SC2317  # check functions are called through `check`
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

group_enabled queue || finish

# One message per body variant of messages.py (dot lines, 8-bit, long lines, mbox-like).
COUNT=4
SENDER=sender@example.org

# queued_ids DIR: the IDs of the entries waiting in the queue DIR, in ID (time) order.
queued_ids() { find "$1/queue" -maxdepth 1 -type f -printf '%f\n' 2>/dev/null | sort; }

# enqueue DIR TOKEN EXIT ARGS...: mailsend -C DIR/config.toml ARGS with stdin as the message; the one new
# entry's ID is recorded as "TOKEN ID" in DIR/ids and left in $ENQUEUED.
enqueue() {
	local dir="$1" token="$2" want="$3" id
	shift 3
	queued_ids "$dir/queue" >"$T/before"
	ms "$want" -C "$dir/config.toml" "$@"
	id="$(comm -13 "$T/before" <(queued_ids "$dir/queue"))"
	if [ -z "$id" ] || [ "$(wc -l <<<"$id")" -ne 1 ]; then
		echo "expected one new entry in $dir/queue/queue, found: ${id:-none}"
		return 1
	fi
	echo "$token $id" >>"$dir/ids"
	ENQUEUED="$id"
}

# id_of DIR TOKEN: the queue ID recorded for TOKEN.
id_of() { awk -v t="$2" '$1 == t { print $2 }' "$1/ids"; }

# bp DIR: `mailsend -bp` of DIR's queue into $T/bp.
bp() {
	ms 0 -C "$1/config.toml" -bp
	cp "$T/stdout" "$T/bp"
}

# queue_is_empty DIR: -bp says so, and no file is left in the queue but those of entries kept in failed/
# (which stay until --queue-delete).
queue_is_empty() {
	local id
	bp "$1"
	if [ "$(cat "$T/bp")" != "Mail queue is empty" ]; then
		echo "-bp should say only 'Mail queue is empty'; it says:"
		cat "$T/bp"
		return 1
	fi
	find "$1/queue/tmp" "$1/queue/queue" "$1/queue/hold" -type f >"$T/left"
	while read -r id; do
		[ -e "$1/queue/failed/$id" ] || echo "$1/queue/data/$id" >>"$T/left"
	done < <(find "$1/queue/data" -type f -printf '%f\n')
	if [ -s "$T/left" ]; then
		echo "files left in the queue:"
		cat "$T/left"
		return 1
	fi
}

# crlf FILE: FILE with CRLF line ends, as the queue's data file must hold it (spec §9 "Entry").
crlf() { LC_ALL=C sed 's/$/\r/' "$1"; }

# no_secret DIR: the password is nowhere in the queue (spec §9: entries never hold secrets).
no_secret() {
	if grep -rlF -- "$TEST_PASSWORD" "$1/queue"; then
		echo "the password is in the queue files above"
		return 1
	fi
}

# verify MAILDIR MSGDIR KIND: every MSGDIR/*.eml stored once in MAILDIR, byte for byte, nothing else.
verify() {
	"$PYTHON" "$INTEROP_DIR/messages.py" verify "$1" "$2" "$3" >"$T/verify" || {
		cat "$T/verify"
		return 1
	}
	note "stored: $(head -n 1 "$T/verify")"
}

# ---- Exim: the smarthost is down, then up ----

# exim_config DIR [LINE...]: DIR/config.toml whose default account is the Exim smarthost (STARTTLS, the
# test CA, AUTH with the password in the file, so mode 0600), its queue DIR/queue and its log DIR/log;
# each LINE goes to [defaults].
exim_config() {
	local dir="$1"
	shift
	mkdir -p "$dir"
	{
		printf 'default_account = "smarthost"\n[defaults]\nqueue_dir = "%s/queue"\nlogfile = "%s/log"\n' \
			"$dir" "$dir"
		printf '%s\n' "$@"
		printf '[accounts.smarthost]\nhost = "127.0.0.1"\nport = %s\ntls = "starttls"\n' "$EXIM_PORT"
		printf 'tls_trust_file = "%s"\nuser = "%s"\npassword = "%s"\n' "$TLS_DIR/ca.pem" "$TEST_USER" \
			"$TEST_PASSWORD"
	} >"$dir/config.toml"
	chmod 600 "$dir/config.toml"
}

# prepare_exim: the port Exim will listen on (nothing does yet), the two queues' configurations (A: -odq,
# B: queue = "on-failure") and the messages.
prepare_exim() {
	make_certs || return 1
	EXIM_PORT="$(free_port)" || return 1
	A="$WORK/a"
	B="$WORK/b"
	exim_config "$A"
	exim_config "$B" 'queue = "on-failure"'
	"$PYTHON" "$INTEROP_DIR/messages.py" varied "$A/msgs" q "$COUNT" &&
		"$PYTHON" "$INTEROP_DIR/messages.py" varied "$B/msgs" onfailure 1
}

# -odq queues each message without trying (Exim is not even running); -bp lists them; each data file holds
# the message as it will be sent (CRLF); the password is in no queue file.
t_odq() {
	local f token id
	for f in "$A"/msgs/*.eml; do
		token="$(basename "$f" .eml)"
		enqueue "$A" "$token" 0 -odq -f "$SENDER" alice@example.org <"$f"
		id="$ENQUEUED"
		crlf "$f" >"$T/want"
		same_bytes "$T/want" "$A/queue/data/$id"
	done
	bp "$A"
	assert_grep "^-- [0-9]+ Kbytes in $COUNT Requests\.$" "$T/bp" "-bp"
	[ "$(grep -c '^ *alice@example\.org$' "$T/bp")" -eq "$COUNT" ] || {
		echo "-bp should list alice@example.org $COUNT times:"
		cat "$T/bp"
		return 1
	}
	while read -r token id; do assert_grep "^$id +[0-9]+ .* $SENDER$" "$T/bp" "-bp"; done <"$A/ids"
	no_secret "$A"
}

# -q while the smarthost is down: 75, the run says why it stopped, every entry stays with the reason.
t_run_while_down() {
	ms 75 -C "$A/config.toml" -q
	assert_grep 'stopped: cannot connect to 127\.0\.0\.1:[0-9]+: Connection refused' "$T/stderr" "stderr"
	bp "$A"
	assert_grep "^-- [0-9]+ Kbytes in $COUNT Requests\.$" "$T/bp" "-bp"
	assert_grep '\(cannot connect to .*Connection refused' "$T/bp" "-bp"
}

# queue = "on-failure": a send that finds the smarthost down exits 0 with ONE line on stderr naming the
# queue ID and the reason (spec §9); the entry records that attempt and its reason, which -bp shows.
t_on_failure_down() {
	local id
	enqueue "$B" onfailure-00001 0 -f "$SENDER" bob@example.org <"$B/msgs/onfailure-00001.eml"
	id="$ENQUEUED"
	assert_grep "^mailsend: queued as $id for <bob@example\.org>: cannot connect to 127\.0\.0\.1:$EXIM_PORT" \
		"$T/stderr" "stderr"
	[ "$(wc -l <"$T/stderr")" -eq 1 ] || {
		echo "stderr should be one line:"
		cat "$T/stderr"
		return 1
	}
	bp "$B"
	assert_grep "^$id +[0-9]+ .* $SENDER$" "$T/bp" "-bp"
	assert_grep "\(cannot connect to 127\.0\.0\.1:$EXIM_PORT: Connection refused" "$T/bp" "-bp"
	no_secret "$B"
}

# exim_ids MAILDIR: the Exim message ID in each stored message's Received field, one a line.
exim_ids() { sed -n 's/^Received: by exim\.test .* id \([^;]*\);.*/\1/p' "$1"/*; }

# -q with the account's configuration: every entry into Exim over STARTTLS + AUTH, byte for byte, once,
# all over ONE connection (Exim forks one process per connection: its message IDs name that process).
t_flush() {
	local maildir connections
	maildir="$(exim_maildir alice)"
	ms 0 -C "$A/config.toml" -q
	wait_files "$maildir" "$COUNT"
	verify "$maildir" "$A/msgs" exim
	grep -h '^Received: by exim\.test' "$maildir"/* >"$T/received"
	assert_no_grep "^" <(grep -Ev "with esmtpsa auth=$TEST_USER/[a-z_0-9]+ tls=yes id " "$T/received") \
		"Received fields without STARTTLS + AUTH"
	connections="$(exim_ids "$maildir" | cut -d- -f2 | sort -u | wc -l)"
	note "Exim received the $COUNT messages over $connections connection(s)"
	[ "$connections" -eq 1 ] || {
		echo "expected one connection for the $COUNT entries of one account; Exim IDs:"
		exim_ids "$maildir"
		return 1
	}
	[ "$(grep -c " event=delivered .* reason='250 " "$A/log")" -eq "$COUNT" ] || {
		echo "the log should record $COUNT deliveries with Exim's 250:"
		cat "$A/log"
		return 1
	}
}

t_flushed_queue_empty() { queue_is_empty "$A"; }

# received_count: how many messages Exim's main log says it received.
received_count() { grep -c ' <= ' "$EXIM_DIR/log/mainlog" || true; }

# A second -q finds nothing to send: Exim receives nothing more, the Maildir keeps its COUNT messages.
t_second_run() {
	local before
	before="$(received_count)"
	ms 0 -C "$A/config.toml" -q
	sleep 0.5
	[ "$(received_count)" -eq "$before" ] || {
		echo "Exim received $(($(received_count) - before)) more message(s) on the second -q"
		return 1
	}
	wait_files "$(exim_maildir alice)" "$COUNT"
	verify "$(exim_maildir alice)" "$A/msgs" exim
}

# The entry the on-failure send queued (the dot-lines body) goes out once with the next -q, and only once;
# this Exim offers no CHUNKING, so it goes with DATA, dot-stuffed (RFC 5321 §4.5.2), where the flush
# above went with BDAT (RFC 3030).
t_on_failure_flush() {
	local maildir
	maildir="$(exim_maildir bob)"
	ms 0 -C "$B/config.toml" -q
	wait_files "$maildir" 1
	verify "$maildir" "$B/msgs" exim
	assert_grep ' <= ' "$EXIM_DIR/log/mainlog" "Exim's main log"
	assert_no_grep ' <= .* K S=' "$EXIM_DIR/log/mainlog" "Exim's main log (K: received with CHUNKING)"
	queue_is_empty "$B"
	ms 0 -C "$B/config.toml" -q
	sleep 0.5
	verify "$maildir" "$B/msgs" exim
}

# ---- Dovecot LMTP ----

# prepare_dovecot: the queue D whose default account is Dovecot's LMTP Unix socket, and the messages
# (sender bob, who gets the failure notice: Dovecot is the only server here).
prepare_dovecot() {
	D="$WORK/d"
	mkdir -p "$D"
	printf 'default_account = "lmtp"\n[defaults]\nqueue_dir = "%s/queue"\nlogfile = "%s/log"\n' "$D" "$D" \
		>"$D/config.toml"
	printf '[accounts.lmtp]\nprotocol = "lmtp"\nsocket = "%s"\n' "$DOVECOT_SOCKET" >>"$D/config.toml"
	"$PYTHON" "$INTEROP_DIR/messages.py" varied "$D/msgs" lmtp 3
	mkdir -p "$D/want/alice" "$D/want/bob"
	local n
	for n in 1 2 3; do
		ln -s "$D/msgs/lmtp-0000$n.eml" "$D/want/alice/"
		ln -s "$D/msgs/lmtp-0000$n.eml" "$D/want/bob/"
	done
}

# Three entries for LMTP routes: two through the account (Unix socket), the second also for an unknown
# user (550 at RCPT) and an over-quota one (552 after the data); one for a TCP server named on the
# command line, which the entry itself must remember.
t_lmtp_enqueue() {
	enqueue "$D" lmtp-00001 0 -odq -f bob@example.org alice@example.org bob@example.org \
		<"$D/msgs/lmtp-00001.eml"
	enqueue "$D" lmtp-00002 0 -odq -f bob@example.org alice@example.org nobody@example.org \
		bob@example.org carol@example.org <"$D/msgs/lmtp-00002.eml"
	enqueue "$D" lmtp-00003 0 -odq --protocol lmtp --host "127.0.0.1:$DOVECOT_PORT" -f bob@example.org \
		alice@example.org bob@example.org <"$D/msgs/lmtp-00003.eml"
	bp "$D"
	assert_grep '^-- [0-9]+ Kbytes in 3 Requests\.$' "$T/bp" "-bp"
	assert_grep '^ +nobody@example\.org$' "$T/bp" "-bp"
}

# -q: alice and bob get each message once, byte for byte; nobody and carol fail, and the entry that named
# them is said to have failed.
t_lmtp_flush() {
	ms 0 -C "$D/config.toml" -q
	verify "$(dovecot_maildir alice)" "$D/want/alice" dovecot
	verify "$(dovecot_maildir bob)" "$D/want/bob" dovecot
	assert_no_grep . <(find "$(dovecot_maildir carol)" -type f 2>/dev/null) "carol's Maildir"
	assert_grep "queue entry $(id_of "$D" lmtp-00002) failed" "$T/stderr" "stderr of -q"
	find "$(dovecot_maildir bob)" -type f >"$D/bob.before"
}

# state_rcpt STATE ADDRESS: "STATE-WORD REPLY" of ADDRESS in the state file STATE (its lines
# `rcpt STATE ATTEMPTS NEXT-TRY ADDRESS`, then `reply TEXT`).
state_rcpt() {
	awk -v a="$2" '
		$1 == "rcpt" { this = ($5 == a); word = $2 }
		this && $1 == "reply" { print word, substr($0, 7) }' "$1"
}

# The entry with failed recipients is kept in failed/ with each recipient's fate, and names the ONE
# notice it queued to the sender: from the null sender, to bob, the only entry -bp lists.
t_lmtp_failed_entry() {
	local id state notice
	id="$(id_of "$D" lmtp-00002)"
	state="$D/queue/failed/$id"
	[ -f "$state" ] || {
		echo "no $state; failed/ holds: $(ls "$D/queue/failed")"
		return 1
	}
	state_rcpt "$state" nobody@example.org >"$T/nobody"
	assert_grep '^failed 550 5\.1\.1 ' "$T/nobody" "nobody's state"
	state_rcpt "$state" carol@example.org >"$T/carol"
	assert_grep '^failed 552 5\.2\.2 ' "$T/carol" "carol's state"
	state_rcpt "$state" alice@example.org >"$T/alice"
	assert_grep '^sent ' "$T/alice" "alice's state"
	notice="$(sed -n 's/^notice //p' "$state")"
	if [ -z "$notice" ] || [ ! -f "$D/queue/queue/$notice" ]; then
		echo "the failed entry names notice '$notice', which is not in queue/: $(ls "$D/queue/queue")"
		return 1
	fi
	assert_grep '^kind notice$' "$D/queue/queue/$notice" "the notice's state"
	bp "$D"
	assert_grep '^-- [0-9]+ Kbytes in 1 Request\.$' "$T/bp" "-bp"
	assert_grep "^$notice +[0-9]+ .* MAILER-DAEMON$" "$T/bp" "-bp"
	assert_grep '^ +bob@example\.org$' "$T/bp" "-bp"
	assert_grep "queue=$id event=notice-queued .*reason='$notice'" "$D/log" "the log"
}

# Each delivered recipient's recorded reply is its own LMTP reply (RFC 2033 §4.2), in the state file and
# in the log: not another recipient's, and never a refusal.
t_lmtp_own_replies() {
	local id a
	id="$(id_of "$D" lmtp-00002)"
	for a in alice@example.org bob@example.org; do
		state_rcpt "$D/queue/failed/$id" "$a" >"$T/rcpt"
		assert_grep "^sent 250 .*<$a>" "$T/rcpt" "$a's recorded reply"
	done
	assert_no_grep "event=delivered .*reason='[^2]" "$D/log" "the log"
}

# The next -q delivers the notice to bob from the null sender: a delivery status report naming both failed
# recipients and carrying the header of the message; nothing else moves, and the queue is then empty.
t_lmtp_notice() {
	local f
	ms 0 -C "$D/config.toml" -q
	comm -13 <(sort "$D/bob.before") <(find "$(dovecot_maildir bob)" -type f | sort) >"$T/new"
	[ "$(wc -l <"$T/new")" -eq 1 ] || {
		echo "bob should have got exactly one new message (the notice); new: $(cat "$T/new")"
		return 1
	}
	f="$(cat "$T/new")"
	assert_grep '^Return-Path: <>' "$f" "the notice"
	assert_grep '^Content-Type: multipart/report; report-type=delivery-status;' "$f" "the notice"
	assert_grep '^Final-Recipient: rfc822; nobody@example\.org' "$f" "the notice"
	assert_grep '^Final-Recipient: rfc822; carol@example\.org' "$f" "the notice"
	assert_grep '^Status: 5\.1\.1' "$f" "the notice"
	assert_grep '^Message-ID: <lmtp-00002@example\.org>' "$f" "the notice"
	assert_no_grep 'Final-Recipient: rfc822; (alice|bob)@' "$f" "the notice"
	verify "$(dovecot_maildir alice)" "$D/want/alice" dovecot
	queue_is_empty "$D"
	[ "$(find "$D/queue/failed" -type f | wc -l)" -eq 1 ] || {
		echo "failed/ should keep only the failed message: $(ls "$D/queue/failed")"
		return 1
	}
}

# A third -q sends nothing: no mailbox changes.
t_lmtp_nothing_more() {
	local before
	before="$(find "$DOVECOT_DIR/mail" -path '*/new/*' -type f | sort)"
	ms 0 -C "$D/config.toml" -q
	[ "$(find "$DOVECOT_DIR/mail" -path '*/new/*' -type f | sort)" = "$before" ] || {
		echo "a -q of an empty queue delivered something"
		return 1
	}
	queue_is_empty "$D"
}

if start_server "queue: setup" prepare_exim; then
	check "queue: -odq queues $COUNT messages while Exim is down; -bp lists them" t_odq
	check "queue: -q while Exim is down exits 75, every entry stays with the reason" t_run_while_down
	check "queue: on-failure send with Exim down exits 0, one line naming the queue ID" t_on_failure_down
	if EXIM_LISTEN_PORT="$EXIM_PORT" start_server exim start_exim; then
		check "queue: -q flushes into Exim (STARTTLS + AUTH), byte-exact, once, one connection" t_flush
		check "queue: after the flush -bp says the queue is empty, no file left" t_flushed_queue_empty
		check "queue: a second -q sends nothing more" t_second_run
		stop_server "$EXIM_PID"
	fi
	if EXIM_LISTEN_PORT="$EXIM_PORT" start_server "exim without CHUNKING" start_exim \
		's/^chunking_advertise_hosts = \*$/chunking_advertise_hosts =/'; then
		check "queue: the on-failure entry is delivered by -q exactly once (DATA, dot-stuffed)" \
			t_on_failure_flush
	fi
fi

if start_server dovecot start_dovecot && start_server "queue: LMTP setup" prepare_dovecot; then
	check "queue: -odq queues entries for LMTP routes (account socket, TCP on the command line)" t_lmtp_enqueue
	check "queue: -q flushes into Dovecot LMTP, byte-exact per mailbox, once" t_lmtp_flush
	check "queue: unknown and over-quota recipients fail; entry in failed/, one notice queued" \
		t_lmtp_failed_entry
	check "queue: each delivered LMTP recipient records its own reply" t_lmtp_own_replies
	check "queue: the next -q delivers the notice to the sender from <>, then the queue is empty" t_lmtp_notice
	check "queue: a further -q sends nothing" t_lmtp_nothing_more
fi

finish
