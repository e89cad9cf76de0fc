#!/usr/bin/env bash
# The server debugging toolkit against Exim 4.96 (group tls; issue 7): --command HELP, --verify (VRFY) and
# --expn (EXPN) over STARTTLS with their `CODE text` lines and exit codes (RFC 5321 §3.5, §4.1.1.6-8);
# --serverinfo (capabilities before and after TLS, RFC 3207 §4.2, and the certificate fingerprint, which
# then pins a real send); --quit-after rcpt (nothing delivered); and --interactive typed through tmux,
# its message compared byte for byte with what Exim stored.
# shellcheck source-path=SCRIPTDIR disable=SC2317  # check functions are called through `check`
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

group_enabled tls || finish

MSG="$WORK/simple.eml"
cat >"$MSG" <<'EOF'
From: Sender <sender@example.org>
To: Alice <alice@example.org>
Subject: interop exim debugging
Date: Mon, 23 Nov 2026 12:00:00 +0000
Message-ID: <exim-debug.1@example.org>

Hello Exim.
.a dot line
EOF

# starttls_args: STARTTLS to Exim on 127.0.0.1, trusting the test CA.
starttls_args() {
	printf '%s\n' --host "127.0.0.1:$EXIM_PORT" --tls starttls --tls-trust-file "$TLS_DIR/ca.pem"
}

auth_args() { printf '%s\n' --auth plain --user "$TEST_USER" --password-command "echo $TEST_PASSWORD"; }

alice_count() { find "$(exim_maildir alice)" -maxdepth 1 -type f 2>/dev/null | wc -l; }

# received_count: how many messages Exim has accepted so far (its `<=` log lines).
received_count() { grep -c ' <= ' "$EXIM_DIR/log/mainlog" || true; }

# HELP, a VRFY of a local user and an EXPN of the alias, all after STARTTLS: each reply as `CODE text`,
# the lines of a multi-line reply joined with newlines as smtplib's docmd does; exit 0.
t_commands() {
	local args
	mapfile -t args < <(starttls_args)
	ms 0 "${args[@]}" -d 1 --command HELP --verify alice@example.org --expn team@example.org
	# Exim's HELP lists its commands: the first line is the 214 text, the second the list.
	assert_grep '^214 Commands supported:$' "$T/stdout" "the HELP reply"
	sed -n 2p "$T/stdout" >"$T/help-list"
	assert_grep '(^| )VRFY( |$)' "$T/help-list" "HELP's command list"
	assert_grep '(^| )EXPN( |$)' "$T/help-list" "HELP's command list"
	sed -n '3,$p' "$T/stdout" >"$T/got"
	printf '%s\n' '250 <alice@example.org> is deliverable' '250 <alice@example.org>' '<bob@example.org>' \
		>"$T/want"
	same_bytes "$T/want" "$T/got"
	[ "$(wc -l <"$T/stdout")" -eq 5 ] || {
		echo "stdout holds $(wc -l <"$T/stdout") lines, expected 5"
		cat "$T/stdout"
		return 1
	}
	# The commands went over TLS: the trace shows the handshake before the first of them.
	local tls_line help_line
	tls_line="$(grep -n '^tls: TLSv1\.[23] ' "$T/stderr" | head -n 1 | cut -d: -f1)"
	help_line="$(grep -n "^send: 'HELP" "$T/stderr" | head -n 1 | cut -d: -f1)"
	if [ -z "$tls_line" ] || [ -z "$help_line" ] || [ "$tls_line" -gt "$help_line" ]; then
		echo "the trace does not show TLS before HELP:"
		head -n 40 "$T/stderr"
		return 1
	fi
}

# A VRFY Exim refuses (550 for an address it cannot route) makes the run exit 69; the reply before it is
# still printed, and so is the EXPN refusal after it.
t_refused() {
	local args
	mapfile -t args < <(starttls_args)
	ms 69 "${args[@]}" --verify alice@example.org --verify nobody@example.org --expn nobody@example.org
	printf '%s\n' '250 <alice@example.org> is deliverable' '550 <nobody@example.org> Unrouteable address' \
		'553 nobody@example.org is undeliverable' >"$T/want"
	same_bytes "$T/want" "$T/stdout"
}

# section TITLE FILE: the indented lines under the `TITLE:` line of a --serverinfo report.
section() {
	awk -v title="$1:" '$0 == title { on = 1; next } on && /^  / { print; next } { on = 0 }' "$2"
}

# --serverinfo: AUTH only after TLS, STARTTLS only before; the TLS version and the certificate's SHA-256,
# which must equal openssl's; then that fingerprint alone (no trust file) lets a real send through, and a
# different one stops it with 76 before anything is sent.
t_serverinfo() {
	local args fp want_fp wrong auth
	mapfile -t args < <(starttls_args)
	mapfile -t auth < <(auth_args)
	ms 0 "${args[@]}" --serverinfo
	section "capabilities (before TLS)" "$T/stdout" >"$T/before"
	section "capabilities (after TLS)" "$T/stdout" >"$T/after"
	assert_grep '^  STARTTLS$' "$T/before" "the capabilities before TLS"
	assert_no_grep '^  AUTH' "$T/before" "the capabilities before TLS"
	assert_grep '^  AUTH PLAIN LOGIN CRAM-MD5$' "$T/after" "the capabilities after TLS"
	assert_no_grep '^  STARTTLS$' "$T/after" "the capabilities after TLS"
	assert_grep '^  CHUNKING$' "$T/after" "the capabilities after TLS"
	assert_grep '^tls version: TLSv1\.[23]$' "$T/stdout" "the report"
	assert_grep '^certificate verification: verified' "$T/stdout" "the report"
	fp="$(sed -n 's/^certificate sha256: //p' "$T/stdout")"
	want_fp="$(openssl x509 -in "$TLS_DIR/server.pem" -noout -fingerprint -sha256 | sed 's/^.*=//')"
	[ "$fp" = "$want_fp" ] || {
		echo "--serverinfo reports sha256 '$fp', openssl says '$want_fp'"
		return 1
	}
	clear_dir "$(exim_maildir alice)"
	ms 0 --host "127.0.0.1:$EXIM_PORT" --tls starttls --tls-fingerprint "$fp" "${auth[@]}" \
		-f sender@example.org alice@example.org <"$MSG"
	strip_server_headers exim "$(one_file "$(exim_maildir alice)")" >"$T/got.eml"
	same_bytes "$MSG" "$T/got.eml"
	# The same fingerprint with its last byte changed is another certificate.
	wrong="${fp%??}$(if [ "${fp: -2}" = 00 ]; then echo 01; else echo 00; fi)"
	clear_dir "$(exim_maildir alice)"
	ms 76 --host "127.0.0.1:$EXIM_PORT" --tls starttls --tls-fingerprint "$wrong" "${auth[@]}" \
		-f sender@example.org alice@example.org <"$MSG"
	sleep 0.3
	[ "$(alice_count)" -eq 0 ] || {
		echo "a message was delivered with a wrong fingerprint"
		return 1
	}
}

# --quit-after rcpt: the dialogue up to the accepted RCPT, then QUIT: exit 0, no data sent, nothing
# accepted or delivered.
t_quit_after_rcpt() {
	local args auth before
	mapfile -t args < <(starttls_args)
	mapfile -t auth < <(auth_args)
	clear_dir "$(exim_maildir alice)"
	before="$(received_count)"
	ms 0 "${args[@]}" "${auth[@]}" -d 1 --quit-after rcpt -f sender@example.org alice@example.org <"$MSG"
	assert_grep "^send: 'RCPT TO:<alice@example\.org>" "$T/stderr" "the trace"
	assert_grep "^reply: b'250 Accepted" "$T/stderr" "the trace"
	assert_grep "^send: 'QUIT" "$T/stderr" "the trace"
	assert_no_grep "^send: '(DATA|BDAT)" "$T/stderr" "the trace"
	sleep 0.3
	[ "$(alice_count)" -eq 0 ] || {
		echo "alice's Maildir holds a message after --quit-after rcpt"
		return 1
	}
	[ "$(received_count)" -eq "$before" ] || {
		echo "Exim logged a received message after --quit-after rcpt:"
		grep ' <= ' "$EXIM_DIR/log/mainlog" | tail -n 1
		return 1
	}
}

# The interactive session needs a terminal: tmux gives it one. tmux_* talk to a private tmux server on
# a socket in $T; the pane's text is what a user would see.
TMUX_SESSION=mailsend

tmux_() { tmux -S "$T/tmux.sock" "$@"; }

pane() { tmux_ capture-pane -p -J -S - -E - -t "$TMUX_SESSION"; }

# prompts: how many prompts (smtp> or data>) the pane shows so far; tmux drops the trailing space of a
# prompt with nothing typed after it.
prompts() { pane | grep -cE '^(smtp|data)>( |$)' || true; }

# wait_pane PATTERN: until a line of the pane matches the extended regex (10 s).
wait_pane() {
	for _ in $(seq 200); do
		if pane | grep -Eq -- "$1"; then return 0; fi
		sleep 0.05
	done
	echo "the pane shows no line matching /$1/ after 10 s:"
	pane | grep -v '^$' | tail -n 30
	return 1
}

# type_line TEXT: type TEXT and Enter, then wait for the next prompt: after a command that is the reply
# being shown; inside DATA the next data> prompt.
type_line() {
	local n
	n="$(prompts)"
	if [ -n "$1" ]; then tmux_ send-keys -t "$TMUX_SESSION" -l "$1"; fi
	tmux_ send-keys -t "$TMUX_SESSION" Enter
	for _ in $(seq 200); do
		[ "$(prompts)" -gt "$n" ] && return 0
		sleep 0.05
	done
	echo "no new prompt after typing '$1':"
	pane | grep -v '^$' | tail -n 30
	return 1
}

t_interactive() {
	command -v tmux >/dev/null || {
		echo "tmux missing: run scripts/install-test-deps.sh"
		return 1
	}
	cat >"$T/typed.eml" <<'EOF'
From: Typed <a@example.org>
To: alice@example.org
Subject: typed through tmux
Date: Mon, 23 Nov 2026 12:00:00 +0000
Message-ID: <exim-interactive.1@example.org>

Typed by hand.
..a typed line that starts with two dots, sent as three (RFC 5321 4.5.2)
EOF
	clear_dir "$(exim_maildir alice)"
	# The pane outlives mailsend (the sleep) so that its last replies and exit status can be read.
	tmux_ new-session -d -s "$TMUX_SESSION" -x 200 -y 60 \
		"$(printf '%q ' "$MAILSEND" --interactive --host "127.0.0.1:$EXIM_PORT" --tls off); \
		echo \"mailsend exited \$?\"; sleep 60"
	track_pid "$(tmux_ display-message -p -t "$TMUX_SESSION" '#{pid}')"
	wait_pane '^smtp>( |$)'
	type_line 'EHLO x'
	type_line NOOP
	type_line 'MAIL FROM:<a@example.org>'
	type_line 'RCPT TO:<alice@example.org>'
	type_line DATA
	local line
	while IFS= read -r line; do type_line "$line"; done <"$T/typed.eml"
	type_line .
	tmux_ send-keys -t "$TMUX_SESSION" C-d
	wait_pane '^mailsend exited [0-9]+$'
	pane >"$T/pane"
	tmux_ kill-server || true
	assert_grep '^220 exim\.test ESMTP' "$T/pane" "the session"
	assert_grep '^250 exim\.test Hello x ' "$T/pane" "the EHLO reply"
	assert_grep '^CHUNKING$' "$T/pane" "the EHLO reply's lines"
	[ "$(grep -c '^250 OK$' "$T/pane")" -eq 2 ] || {
		echo "expected 250 OK for NOOP and MAIL:"
		cat "$T/pane"
		return 1
	}
	assert_grep '^250 Accepted$' "$T/pane" "the RCPT reply"
	assert_grep '^354 ' "$T/pane" "the DATA reply"
	assert_grep '^250 OK id=' "$T/pane" "the reply after the data"
	assert_grep '^221 exim\.test closing connection$' "$T/pane" "the QUIT reply after Ctrl-D"
	assert_grep '^mailsend exited 0$' "$T/pane" "the exit status"
	# Typed lines end in CRLF on the wire; Exim stores LF, as the file was written.
	strip_server_headers exim "$(one_file "$(exim_maildir alice)")" >"$T/got.eml"
	same_bytes "$T/typed.eml" "$T/got.eml"
}

if start_server exim start_exim; then
	check "exim: --command HELP --verify --expn over STARTTLS print CODE text, exit 0" t_commands
	check "exim: a refused VRFY and EXPN print their replies, exit 69" t_refused
	check "exim: --serverinfo shows AUTH only after TLS and a fingerprint that pins a send" t_serverinfo
	check "exim: --quit-after rcpt exits 0, nothing delivered" t_quit_after_rcpt
	check "exim: --interactive through tmux delivers the typed message" t_interactive
fi

finish
