#!/usr/bin/env bash
# Interop with Postfix smtp-sink (group core): what arrives, byte for byte, and the exit status for every
# fault smtp-sink can inject (spec §7; security catalogue items 34, 36, 37).
# smtp-sink stores messages with LF line ends, so these checks compare LF text; test_aiosmtpd.sh checks CRLF.
# shellcheck source-path=SCRIPTDIR disable=SC2317  # check functions are called through `check`
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

group_enabled core || finish

# A message that needs nothing added (From, Date and Message-ID present), so what arrives must equal it.
MSG="$WORK/simple.eml"
cat >"$MSG" <<'EOF'
From: Sender <sender@example.org>
To: Rcpt <rcpt@example.org>
Subject: interop simple
Date: Mon, 23 Nov 2026 12:00:00 +0000
Message-ID: <simple.1@example.org>

Hello from mailsend.
EOF

# sink_send EXIT ARGS...: clear the dump dir, send stdin to the shared sink, expect EXIT.
sink_send() {
	local want="$1"
	shift
	clear_dir "$SINK_DIR"
	ms "$want" --host "127.0.0.1:$SINK_PORT" "$@"
}

# sink_stored: the one message smtp-sink dumped, into $T/got.eml (trace fields removed); dump in $T/dump.
sink_stored() {
	local f
	f="$(one_file "$SINK_DIR")"
	cp "$f" "$T/dump"
	strip_server_headers sink "$f" >"$T/got.eml"
}

t_plain() {
	sink_send 0 -f sender@example.org rcpt@example.org <"$MSG"
	sink_stored
	same_bytes "$MSG" "$T/got.eml"
	assert_grep '^X-Mail-Args: <sender@example.org>$' "$T/dump" "the MAIL command"
	assert_grep '^X-Rcpt-Args: <rcpt@example.org>$' "$T/dump" "the RCPT commands"
	[ "$(grep -c '^X-Rcpt-Args:' "$T/dump")" -eq 1 ]
}

t_sender_from_header() {
	sink_send 0 rcpt@example.org <"$MSG"
	sink_stored
	assert_grep '^X-Mail-Args: <sender@example.org>$' "$T/dump" "the MAIL command"
}

t_null_sender() {
	sink_send 0 -f '' rcpt@example.org <"$MSG"
	sink_stored
	assert_grep '^X-Mail-Args: <>$' "$T/dump" "the MAIL command"
}

t_comma_recipients() {
	sink_send 0 -f sender@example.org '"Ann B" <ann@example.org>, bob@example.org' carol@example.org <"$MSG"
	sink_stored
	grep '^X-Rcpt-Args:' "$T/dump" >"$T/rcpts"
	printf 'X-Rcpt-Args: <%s>\n' ann@example.org bob@example.org carol@example.org >"$T/want-rcpts"
	same_bytes "$T/want-rcpts" "$T/rcpts"
}

# -t: To, Cc and Bcc (folded, several) become RCPTs; every Bcc field is gone from what arrives; a Bcc:
# line in the body is body text and stays (spec §2; security catalogue item 38).
t_read_recipients_bcc() {
	cat >"$T/in.eml" <<'EOF'
From: Sender <sender@example.org>
To: Ann <ann@example.org>
Bcc: hidden1@example.org,
 "Hidden Two" <hidden2@example.org>
Cc: bob@example.org
bcc: hidden3@example.org
Subject: -t with Bcc
Date: Mon, 23 Nov 2026 12:00:00 +0000
Message-ID: <bcc.1@example.org>

Body text.
Bcc: this line is body text and stays
EOF
	cat >"$T/want.eml" <<'EOF'
From: Sender <sender@example.org>
To: Ann <ann@example.org>
Cc: bob@example.org
Subject: -t with Bcc
Date: Mon, 23 Nov 2026 12:00:00 +0000
Message-ID: <bcc.1@example.org>

Body text.
Bcc: this line is body text and stays
EOF
	sink_send 0 -t <"$T/in.eml"
	sink_stored
	same_bytes "$T/want.eml" "$T/got.eml"
	grep '^X-Rcpt-Args:' "$T/dump" | sort >"$T/rcpts"
	printf 'X-Rcpt-Args: <%s>\n' ann@example.org bob@example.org hidden1@example.org hidden2@example.org \
		hidden3@example.org | sort >"$T/want-rcpts"
	same_bytes "$T/want-rcpts" "$T/rcpts"
}

# Lines starting with '.' (one alone, which unstuffed would end the data early) arrive intact
# (RFC 5321 §4.5.2; security catalogue item 15).
t_dot_lines() {
	cat >"$T/in.eml" <<'EOF'
From: Sender <sender@example.org>
To: rcpt@example.org
Subject: dot lines
Date: Mon, 23 Nov 2026 12:00:00 +0000
Message-ID: <dots.1@example.org>

.
..
...
.leading dot
 .space then dot
end.
.
EOF
	sink_send 0 -f sender@example.org rcpt@example.org <"$T/in.eml"
	sink_stored
	same_bytes "$T/in.eml" "$T/got.eml"
}

# 8-bit body (UTF-8 and a Latin-1 byte) arrives unchanged, announced with BODY=8BITMIME (RFC 6152).
t_8bit() {
	{
		printf 'From: Sender <sender@example.org>\nTo: rcpt@example.org\nSubject: 8bit\n'
		printf 'Date: Mon, 23 Nov 2026 12:00:00 +0000\nMessage-ID: <8bit.1@example.org>\n'
		printf 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
		printf 'Gr\303\274\303\237e, \316\261\316\262\316\263, \342\202\254 and a raw \351 byte\n'
	} >"$T/in.eml"
	sink_send 0 -f sender@example.org rcpt@example.org <"$T/in.eml"
	sink_stored
	same_bytes "$T/in.eml" "$T/got.eml"
	assert_grep '^X-Mail-Args: <sender@example.org> BODY=8BITMIME$' "$T/dump" "the MAIL command"
}

# Nothing is sent without recipients (spec §2).
t_no_recipients() {
	sink_send 64 -f sender@example.org <"$MSG"
	[ -z "$(find "$SINK_DIR" -type f)" ] || {
		echo "a message was stored"
		return 1
	}
}

# sink_fault EXIT FLAGS...: a fresh smtp-sink with fault FLAGS; mailsend must exit EXIT.
sink_fault() {
	local want="$1"
	shift
	start_sink "$@"
	ms "$want" --host "127.0.0.1:$SINK_PORT" -f sender@example.org rcpt@example.org <"$MSG"
	stop_server "$SINK_PID"
}

# A lost connection after the final dot is an unknown outcome: 75, and say so (catalogue item 36).
t_hangup_after_dot() {
	sink_fault 75 -q .
	assert_grep 'may have been delivered' "$T/stderr" "mailsend's error message"
}

# EHLO refused: fall back to HELO and deliver (RFC 5321 §3.2; spec §3).
t_ehlo_refused() {
	start_sink -f EHLO
	ms 0 --host "127.0.0.1:$SINK_PORT" -f sender@example.org rcpt@example.org <"$MSG"
	sink_stored
	same_bytes "$MSG" "$T/got.eml"
	assert_grep '^X-Client-Proto: SMTP$' "$T/dump" "the protocol smtp-sink saw"
	stop_server "$SINK_PID"
}

# A slow DATA reply within the timeout is fine; past --timeout it is a temporary failure (catalogue 33).
t_slow_data_reply() {
	start_sink -w 2
	ms 0 --host "127.0.0.1:$SINK_PORT" -f sender@example.org rcpt@example.org <"$MSG"
	ms 75 --host "127.0.0.1:$SINK_PORT" --timeout 1 -f sender@example.org rcpt@example.org <"$MSG"
	stop_server "$SINK_PID"
}

if start_server smtp-sink start_sink; then
	check "smtp-sink: plain send arrives byte for byte" t_plain
	check "smtp-sink: sender taken from From header" t_sender_from_header
	check "smtp-sink: -f '' sends MAIL FROM:<>" t_null_sender
	check "smtp-sink: comma-separated recipient arguments" t_comma_recipients
	check "smtp-sink: -t with Bcc (folded, several) strips every Bcc field" t_read_recipients_bcc
	check "smtp-sink: dot lines arrive intact" t_dot_lines
	check "smtp-sink: 8-bit body intact with BODY=8BITMIME" t_8bit
	check "smtp-sink: no recipients exits 64, sends nothing" t_no_recipients
fi

check "smtp-sink: 4xx greeting (-r CONNECT) exits 75" sink_fault 75 -r CONNECT
check "smtp-sink: 5xx greeting (-f CONNECT) exits 69" sink_fault 69 -f CONNECT
check "smtp-sink: hang-up before greeting (-q CONNECT) exits 75" sink_fault 75 -q CONNECT
check "smtp-sink: EHLO refused, HELO fallback delivers" t_ehlo_refused
for cmd in MAIL RCPT DATA; do
	case "$cmd" in RCPT) perm=67 ;; *) perm=69 ;; esac
	check "smtp-sink: 4xx to $cmd (-r $cmd) exits 75" sink_fault 75 -r "$cmd"
	check "smtp-sink: 5xx to $cmd (-f $cmd) exits $perm" sink_fault "$perm" -f "$cmd"
	check "smtp-sink: 421 to $cmd (-Q $cmd) exits 75" sink_fault 75 -Q "$cmd"
	check "smtp-sink: hang-up at $cmd (-q $cmd) exits 75" sink_fault 75 -q "$cmd"
done
check "smtp-sink: 4xx after the dot (-r .) exits 75" sink_fault 75 -r .
check "smtp-sink: 5xx after the dot (-f .) exits 69" sink_fault 69 -f .
check "smtp-sink: 421 after the dot (-Q .) exits 75" sink_fault 75 -Q .
check "smtp-sink: hang-up after the dot (-q .) exits 75, may have been delivered" t_hangup_after_dot
check "smtp-sink: 550 during DATA (-A 0) exits 69" sink_fault 69 -A 0
check "smtp-sink: slow DATA reply (-w 2): ok, and 75 past --timeout 1" t_slow_data_reply

finish
