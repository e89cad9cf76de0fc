#!/usr/bin/env bash
# Interop with Exim 4.96 (group tls): STARTTLS (RFC 3207) then AUTH PLAIN, LOGIN and CRAM-MD5 (RFC 4954,
# 4616, 2195) over 127.0.0.1 and ::1, SMTPUTF8 (RFC 6531), -t with Bcc, partial recipient refusal; what lands
# in each Maildir is compared byte for byte (Exim stores LF line ends) after Exim's one Received field,
# which also tells the protocol used (esmtpsa = ESMTP + TLS + AUTH), the login and the authenticator.
# shellcheck source-path=SCRIPTDIR disable=SC2317  # check functions are called through `check`
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

group_enabled tls || finish

MSG="$WORK/simple.eml"
cat >"$MSG" <<'EOF'
From: Sender <sender@example.org>
To: Alice <alice@example.org>
Subject: interop exim
Date: Mon, 23 Nov 2026 12:00:00 +0000
Message-ID: <exim.1@example.org>

Hello Exim.
.a dot line
EOF

# exim_send EXIT HOST ARGS...: STARTTLS to Exim at HOST (an address literal), trusting the test CA.
exim_send() {
	local want="$1" host="$2"
	shift 2
	ms "$want" --host "$host:$EXIM_PORT" --tls starttls --tls-trust-file "$TLS_DIR/ca.pem" "$@"
}

# auth_args MECH: the credentials, given as the spec says (password only through --password-command).
auth_args() { printf '%s\n' --auth "$1" --user "$TEST_USER" --password-command "echo $TEST_PASSWORD"; }

clear_maildirs() {
	local u
	for u in alice bob jose; do clear_dir "$(exim_maildir "$u")"; done
}

# exim_stored USER: USER's one new message into $T/got.eml (Received removed) and $T/received.
exim_stored() {
	local f
	f="$(one_file "$(exim_maildir "$1")")"
	strip_server_headers exim "$f" >"$T/got.eml"
	head -n 1 "$f" >"$T/received"
}

# t_auth MECH HOST AUTHENTICATOR: deliver to alice over STARTTLS + AUTH MECH; Exim must have used
# AUTHENTICATOR (its driver name) for the test user.
t_auth() {
	local mech="$1" host="$2" authenticator="$3" args
	mapfile -t args < <(auth_args "$mech")
	clear_maildirs
	exim_send 0 "$host" "${args[@]}" -f sender@example.org alice@example.org <"$MSG"
	exim_stored alice
	same_bytes "$MSG" "$T/got.eml"
	assert_grep "with esmtpsa auth=$TEST_USER/$authenticator tls=yes " "$T/received" "Exim's Received field"
}

t_wrong_password() {
	clear_maildirs
	exim_send 77 127.0.0.1 --auth plain --user "$TEST_USER" --password-command 'echo wrong' \
		-f sender@example.org alice@example.org <"$MSG"
	assert_no_grep . <(find "$EXIM_DIR/mail" -path '*/new/*' -type f) "the Maildirs"
}

# Without TLS Exim offers no AUTH: configured credentials then fail the send (spec §5, §7).
t_auth_not_offered() {
	clear_maildirs
	ms 69 --host "127.0.0.1:$EXIM_PORT" --tls off --allow-plaintext-auth --auth plain --user "$TEST_USER" \
		--password-command "echo $TEST_PASSWORD" -f sender@example.org alice@example.org <"$MSG"
}

t_untrusted() {
	clear_maildirs
	ms 76 --host "127.0.0.1:$EXIM_PORT" --tls starttls -f sender@example.org alice@example.org <"$MSG"
}

# A UTF-8 sender and recipient need SMTPUTF8 (RFC 6531 §3.4); the UTF-8 header fields arrive as sent.
t_smtputf8() {
	local args
	mapfile -t args < <(auth_args plain)
	printf 'From: Ren\303\251 <ren\303\251@example.org>\nTo: J\303\266s\303\251 <j\303\266s\303\251@example.org>\n' \
		>"$T/in.eml"
	printf 'Subject: gr\303\274\303\237e\nDate: Mon, 23 Nov 2026 12:00:00 +0000\n' >>"$T/in.eml"
	printf 'Message-ID: <utf8.1@example.org>\nContent-Type: text/plain; charset=utf-8\n\n\303\251t\303\251\n' \
		>>"$T/in.eml"
	clear_maildirs
	exim_send 0 127.0.0.1 "${args[@]}" -f "$(printf 'ren\303\251@example.org')" \
		"$(printf 'j\303\266s\303\251@example.org')" <"$T/in.eml"
	exim_stored jose
	same_bytes "$T/in.eml" "$T/got.eml"
	assert_grep "with utf8esmtpsa auth=$TEST_USER/" "$T/received" "Exim's Received field"
}

# -t: the Bcc recipient gets the message too, and no copy holds the Bcc field (spec §2).
t_bcc() {
	local args
	mapfile -t args < <(auth_args plain)
	cat >"$T/in.eml" <<'EOF'
From: Sender <sender@example.org>
To: Alice <alice@example.org>
Bcc: Bob <bob@example.org>
Subject: Bcc through Exim
Date: Mon, 23 Nov 2026 12:00:00 +0000
Message-ID: <exim-bcc.1@example.org>

Bob is not named here.
EOF
	grep -v '^Bcc:' "$T/in.eml" >"$T/want.eml"
	clear_maildirs
	exim_send 0 "[::1]" "${args[@]}" -t <"$T/in.eml"
	exim_stored alice
	same_bytes "$T/want.eml" "$T/got.eml"
	exim_stored bob
	same_bytes "$T/want.eml" "$T/got.eml"
}

# One recipient refused at RCPT (550): the others get the message, the exit is 67 (spec §3, §7).
t_partial() {
	local args
	mapfile -t args < <(auth_args plain)
	clear_maildirs
	exim_send 67 127.0.0.1 "${args[@]}" -f sender@example.org alice@example.org nobody@example.org <"$MSG"
	exim_stored alice
	same_bytes "$MSG" "$T/got.eml"
	assert_grep 'nobody@example\.org' "$T/stderr" "mailsend's error message"
}

if start_server exim start_exim; then
	check "exim: STARTTLS + AUTH PLAIN over 127.0.0.1" t_auth plain 127.0.0.1 plain
	check "exim: STARTTLS + AUTH PLAIN over ::1" t_auth plain "[::1]" plain
	check "exim: STARTTLS + AUTH LOGIN over 127.0.0.1" t_auth login 127.0.0.1 login
	check "exim: STARTTLS + AUTH LOGIN over ::1" t_auth login "[::1]" login
	check "exim: STARTTLS + AUTH CRAM-MD5 over 127.0.0.1" t_auth cram-md5 127.0.0.1 cram_md5
	check "exim: STARTTLS + AUTH CRAM-MD5 over ::1" t_auth cram-md5 "[::1]" cram_md5
	check "exim: --auth on prefers CRAM-MD5" t_auth on 127.0.0.1 cram_md5
	check "exim: wrong password exits 77, nothing delivered" t_wrong_password
	check "exim: AUTH not offered without TLS exits 69" t_auth_not_offered
	check "exim: STARTTLS with an untrusted certificate exits 76" t_untrusted
	check "exim: SMTPUTF8 sender and recipient" t_smtputf8
	check "exim: -t delivers to Bcc, no copy holds Bcc" t_bcc
	check "exim: one unknown recipient exits 67, the other delivered" t_partial
fi

finish
