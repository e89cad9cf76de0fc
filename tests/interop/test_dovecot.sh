#!/usr/bin/env bash
# Interop with Dovecot LMTP (group lmtp; RFC 2033): over TCP and over its Unix socket, to two users at once;
# a recipient refused at RCPT and one refused after the data (one reply per recipient, RFC 2033 §4.2 —
# smtplib reads only one, gh-76984). Each Maildir copy is compared byte for byte (Dovecot stores LF line
# ends) after the Return-Path, Delivered-To and Received fields Dovecot puts in front.
# shellcheck source-path=SCRIPTDIR disable=SC2317  # check functions are called through `check`
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

group_enabled lmtp || finish

MSG="$WORK/simple.eml"
cat >"$MSG" <<'EOF'
From: Sender <sender@example.org>
To: Alice <alice@example.org>, Bob <bob@example.org>
Subject: interop dovecot
Date: Mon, 23 Nov 2026 12:00:00 +0000
Message-ID: <dovecot.1@example.org>

Hello over LMTP.
.a dot line
EOF

clear_maildirs() {
	local u
	for u in alice bob carol; do clear_dir "$(dovecot_maildir "$u")"; done
}

# dovecot_stored USER: USER's one new message into $T/got.eml, Dovecot's trace fields removed.
dovecot_stored() {
	local f
	f="$(one_file "$(dovecot_maildir "$1")")"
	strip_server_headers dovecot "$f" >"$T/got.eml"
}

# nothing_for USER: no message was delivered to USER.
nothing_for() {
	sleep 0.2
	assert_no_grep . <(find "$(dovecot_maildir "$1")" -type f 2>/dev/null) "$1's Maildir"
}

t_tcp_two_users() {
	clear_maildirs
	ms 0 --protocol lmtp --host "127.0.0.1:$DOVECOT_PORT" -f sender@example.org \
		alice@example.org bob@example.org <"$MSG"
	dovecot_stored alice
	same_bytes "$MSG" "$T/got.eml"
	dovecot_stored bob
	same_bytes "$MSG" "$T/got.eml"
}

t_socket_two_users() {
	clear_maildirs
	ms 0 --protocol lmtp --socket "$DOVECOT_SOCKET" -f sender@example.org alice@example.org bob@example.org \
		<"$MSG"
	dovecot_stored alice
	same_bytes "$MSG" "$T/got.eml"
	dovecot_stored bob
	same_bytes "$MSG" "$T/got.eml"
}

# Unknown user: 550 5.1.1 at RCPT; the known one still gets the message; exit 67 naming the refused one.
t_unknown_user() {
	clear_maildirs
	ms 67 --protocol lmtp --host "127.0.0.1:$DOVECOT_PORT" -f sender@example.org \
		nobody@example.org alice@example.org <"$MSG"
	dovecot_stored alice
	same_bytes "$MSG" "$T/got.eml"
	assert_grep 'nobody@example\.org' "$T/stderr" "mailsend's error message"
}

t_only_unknown_user() {
	clear_maildirs
	ms 67 --protocol lmtp --socket "$DOVECOT_SOCKET" -f sender@example.org nobody@example.org <"$MSG"
}

# carol is accepted at RCPT but her delivery fails after the data (552 5.2.2 over quota) while alice's and
# bob's succeed: each reply is read and reported, and the exit is 67.
t_failure_after_data() {
	clear_maildirs
	ms 67 --protocol lmtp --host "127.0.0.1:$DOVECOT_PORT" -f sender@example.org \
		alice@example.org carol@example.org bob@example.org <"$MSG"
	dovecot_stored alice
	same_bytes "$MSG" "$T/got.eml"
	dovecot_stored bob
	same_bytes "$MSG" "$T/got.eml"
	nothing_for carol
	assert_grep 'carol@example\.org' "$T/stderr" "mailsend's error message"
}

if start_server dovecot start_dovecot; then
	check "dovecot: LMTP over TCP to two users" t_tcp_two_users
	check "dovecot: LMTP over the Unix socket to two users" t_socket_two_users
	check "dovecot: unknown user exits 67, the known one delivered" t_unknown_user
	check "dovecot: only an unknown user exits 67" t_only_unknown_user
	check "dovecot: one recipient failing after the data exits 67, the others delivered" t_failure_after_data
fi

finish
