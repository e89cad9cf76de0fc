#!/usr/bin/env bash
# Interop with aiosmtpd, which stores the data exactly as received (CRLF, dot-unstuffed): line ends on the
# wire (group core; spec §3, RFC 5321 §2.3.8 and §4.5.2), implicit TLS (RFC 8314 §3.3), STARTTLS
# (RFC 3207) and AUTH over TLS (group tls).
# shellcheck source-path=SCRIPTDIR disable=SC2317  # check functions are called through `check`
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

group_enabled core || group_enabled tls || finish

# aio_stored: the one message aiosmtpd stored, into $T/got.eml, and its envelope into $T/got.env.
aio_stored() {
	local f
	f="$(one_file_matching "$AIO_STORE" '*.eml')"
	cp "$f" "$T/got.eml"
	cp "${f%.eml}.env" "$T/got.env"
}

# one_file_matching DIR GLOB: the single file named GLOB in DIR, waiting for it.
one_file_matching() {
	local files=()
	for _ in $(seq 200); do
		mapfile -t files < <(find "$1" -maxdepth 1 -type f -name "$2")
		[ "${#files[@]}" -gt 0 ] && break
		sleep 0.05
	done
	if [ "${#files[@]}" -ne 1 ]; then
		echo "$1 holds ${#files[@]} files named $2, expected exactly one" >&2
		return 1
	fi
	printf '%s\n' "${files[0]}"
}

# LF input arrives as CRLF, byte for byte; the envelope is what was asked for.
t_crlf() {
	cat >"$T/in.eml" <<'EOF'
From: Sender <sender@example.org>
To: rcpt@example.org
Subject: line ends
Date: Mon, 23 Nov 2026 12:00:00 +0000
Message-ID: <crlf.1@example.org>

first line
second line
EOF
	lf2crlf <"$T/in.eml" >"$T/want.eml"
	clear_dir "$AIO_STORE"
	ms 0 --host "127.0.0.1:$AIO_PORT" -f sender@example.org rcpt@example.org <"$T/in.eml"
	aio_stored
	same_bytes "$T/want.eml" "$T/got.eml"
	# aiosmtpd offers SIZE, so MAIL carries it (RFC 1870), no smaller than the data as sent with CRLFs.
	assert_grep '^MAIL FROM:<sender@example.org> SIZE=[0-9]+$' "$T/got.env" "the envelope"
	local size
	size="$(sed -n 's/^MAIL .* SIZE=\([0-9]*\)$/\1/p' "$T/got.env")"
	[ "$size" -ge "$(wc -c <"$T/want.eml")" ] || {
		echo "SIZE=$size is smaller than the $(wc -c <"$T/want.eml") bytes sent"
		return 1
	}
	sed -n '2,$p' "$T/got.env" >"$T/got-rcpts"
	printf 'RCPT TO:<rcpt@example.org>\n' >"$T/want-rcpts"
	same_bytes "$T/want-rcpts" "$T/got-rcpts"
}

# CRLF, bare LF and bare CR mixed, and no final line end: every line ends in CRLF on the wire and the
# data ends with one (spec §3; security catalogue items 15 and 41).
t_mixed_line_ends() {
	printf 'From: Sender <sender@example.org>\r\nTo: rcpt@example.org\nSubject: mixed\r\n' >"$T/in.eml"
	printf 'Date: Mon, 23 Nov 2026 12:00:00 +0000\nMessage-ID: <mixed.1@example.org>\r\n\n' >>"$T/in.eml"
	printf 'crlf\r\nlf\ncr\rlast line without end' >>"$T/in.eml"
	printf 'From: Sender <sender@example.org>\r\nTo: rcpt@example.org\r\nSubject: mixed\r\n' >"$T/want.eml"
	printf 'Date: Mon, 23 Nov 2026 12:00:00 +0000\r\nMessage-ID: <mixed.1@example.org>\r\n\r\n' >>"$T/want.eml"
	printf 'crlf\r\nlf\r\ncr\r\nlast line without end\r\n' >>"$T/want.eml"
	clear_dir "$AIO_STORE"
	ms 0 --host "127.0.0.1:$AIO_PORT" -f sender@example.org rcpt@example.org <"$T/in.eml"
	aio_stored
	same_bytes "$T/want.eml" "$T/got.eml"
}

# Dot lines survive exactly, including a lone "." and ".\r" tricks that smuggling attacks rely on
# (RFC 5321 §4.5.2; security catalogue item 15).
t_dot_lines() {
	printf 'From: Sender <sender@example.org>\nTo: rcpt@example.org\nSubject: dots\n' >"$T/in.eml"
	printf 'Date: Mon, 23 Nov 2026 12:00:00 +0000\nMessage-ID: <dots.2@example.org>\n\n' >>"$T/in.eml"
	printf '.\n..\n.x\nMAIL FROM:<evil@example.org>\n.\n' >>"$T/in.eml"
	lf2crlf <"$T/in.eml" >"$T/want.eml"
	clear_dir "$AIO_STORE"
	ms 0 --host "127.0.0.1:$AIO_PORT" -f sender@example.org rcpt@example.org <"$T/in.eml"
	aio_stored
	same_bytes "$T/want.eml" "$T/got.eml"
	[ "$(find "$AIO_STORE" -name '*.eml' | wc -l)" -eq 1 ] || {
		echo "the server saw more than one message"
		return 1
	}
}

SIMPLE="$WORK/simple.eml"
cat >"$SIMPLE" <<'EOF'
From: Sender <sender@example.org>
To: rcpt@example.org
Subject: over TLS
Date: Mon, 23 Nov 2026 12:00:00 +0000
Message-ID: <tls.1@example.org>

Sent over TLS.
EOF
lf2crlf <"$SIMPLE" >"$WORK/simple.crlf"

t_implicit_tls() {
	clear_dir "$AIO_STORE"
	ms 0 --host "127.0.0.1:$AIO_PORT" --tls implicit --tls-trust-file "$TLS_DIR/ca.pem" \
		-f sender@example.org rcpt@example.org <"$SIMPLE"
	aio_stored
	same_bytes "$WORK/simple.crlf" "$T/got.eml"
	assert_grep '^TLS TLSv1\.[23]$' "$T/got.env" "the envelope"
}

# Verification against the system store must fail for the test CA: 76, nothing sent (spec §4, §7).
t_implicit_tls_untrusted() {
	clear_dir "$AIO_STORE"
	ms 76 --host "127.0.0.1:$AIO_PORT" --tls implicit -f sender@example.org rcpt@example.org <"$SIMPLE"
	sleep 0.2
	[ -z "$(find "$AIO_STORE" -type f)" ] || {
		echo "a message was stored"
		return 1
	}
}

t_implicit_tls_auth_plain() {
	clear_dir "$AIO_STORE"
	ms 0 --host "127.0.0.1:$AIO_PORT" --tls implicit --tls-trust-file "$TLS_DIR/ca.pem" \
		--auth plain --user "$TEST_USER" --password-command "echo $TEST_PASSWORD" \
		-f sender@example.org rcpt@example.org <"$SIMPLE"
	aio_stored
	same_bytes "$WORK/simple.crlf" "$T/got.eml"
	assert_grep "^AUTH $TEST_USER\$" "$T/got.env" "the envelope"
}

t_starttls() {
	clear_dir "$AIO_STORE"
	ms 0 --host "127.0.0.1:$AIO_PORT" --tls starttls --tls-trust-file "$TLS_DIR/ca.pem" \
		-f sender@example.org rcpt@example.org <"$SIMPLE"
	aio_stored
	same_bytes "$WORK/simple.crlf" "$T/got.eml"
	assert_grep '^TLS TLSv1\.[23]$' "$T/got.env" "the envelope"
}

# AUTH is offered in clear text here; without --allow-plaintext-auth mailsend must not use it, nor send
# the message unauthenticated (spec §5).
t_no_plaintext_auth() {
	clear_dir "$AIO_STORE"
	ms_fails --host "127.0.0.1:$AIO_PORT" --user "$TEST_USER" --password-command "echo $TEST_PASSWORD" \
		-f sender@example.org rcpt@example.org <"$SIMPLE"
	sleep 0.2
	[ -z "$(find "$AIO_STORE" -type f)" ] || {
		echo "a message was stored"
		return 1
	}
}

if group_enabled core && start_server aiosmtpd start_aiosmtpd; then
	check "aiosmtpd: LF input arrives as CRLF, envelope as asked" t_crlf
	check "aiosmtpd: mixed CR/LF/CRLF and no final newline normalised to CRLF" t_mixed_line_ends
	check "aiosmtpd: dot lines arrive exactly, one message" t_dot_lines
	stop_server "$AIO_PID"
fi

if group_enabled tls && start_server "aiosmtpd implicit TLS" make_certs &&
	start_server "aiosmtpd implicit TLS" start_aiosmtpd --implicit-tls "$TLS_DIR/server.pem" \
		"$TLS_DIR/server.key" --auth "$TEST_USER:$TEST_PASSWORD"; then
	check "aiosmtpd: implicit TLS with --tls-trust-file" t_implicit_tls
	check "aiosmtpd: implicit TLS, untrusted certificate exits 76" t_implicit_tls_untrusted
	check "aiosmtpd: implicit TLS + AUTH PLAIN" t_implicit_tls_auth_plain
	stop_server "$AIO_PID"
fi

if group_enabled tls && start_server "aiosmtpd STARTTLS" make_certs &&
	start_server "aiosmtpd STARTTLS" start_aiosmtpd --starttls "$TLS_DIR/server.pem" "$TLS_DIR/server.key" \
		--auth "$TEST_USER:$TEST_PASSWORD" --auth-without-tls; then
	check "aiosmtpd: STARTTLS with --tls-trust-file" t_starttls
	check "aiosmtpd: AUTH offered without TLS is not used" t_no_plaintext_auth
	stop_server "$AIO_PID"
fi

finish
