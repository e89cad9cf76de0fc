#!/usr/bin/env bash
# Symfony Mailer itself (Debian's php-symfony-mailer) sending through `mailsend -bs` and `-bs -i` (Laravel's
# command) into aiosmtpd (issue 13, spec §10): one message with To, Cc and Bcc and dot lines stored byte
# for byte, Bcc in the envelope and not in the data; five messages through one transport, one process; an
# upstream 550 to RCPT and a 554 to the data reaching Symfony as exceptions carrying the server's text; the
# upstream down with the queue on: accepted and queued. Group `symfony`.
# shellcheck source-path=SCRIPTDIR disable=SC2317  # check functions are called through `check`
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

group_enabled symfony || finish

SYMFONY_PHP="$INTEROP_DIR/symfony_send.php"

# php_send FLAGS COUNT [TO...]: Symfony sends COUNT messages through "mailsend FLAGS" into aiosmtpd, each
# as sent in $T/sent/N.eml; Symfony's output in $T/php.out; the -bs trace in $T/trace.
php_send() {
	local flags="$1" count="$2"
	shift 2
	mkdir -p "$T/sent" "$T/home"
	HOME="$T/home" timeout -k 5 60 php "$SYMFONY_PHP" \
		"$MAILSEND $flags --domain client.example --debug 1 --debug-file $T/trace" "$T/sent" "$count" "$@" \
		>"$T/php.out" 2>&1
}

# same_message N: the Nth message aiosmtpd stored since the check cleared its store (it numbers messages
# across its whole life) is exactly what Symfony sent as N (plus the CRLF that Symfony's "\r\n.\r\n"
# puts after the last line), and its envelope has the Bcc recipient.
same_message() {
	local n="$1" stored env
	wait_files "$AIO_STORE" $((2 * n))
	stored="$(find "$AIO_STORE" -maxdepth 1 -name '*.eml' | sort -V | sed -n "${n}p")"
	env="${stored%.eml}.env"
	cp "$T/sent/$n.eml" "$T/want.eml"
	printf '\r\n' >>"$T/want.eml"
	same_bytes "$T/want.eml" "$stored"
	assert_grep '^MAIL FROM:<app@example.org>' "$env" "the envelope"
	for r in bob carol dave; do
		assert_grep "^RCPT TO:<$r@example.org>\$" "$env" "the envelope"
	done
	assert_no_grep '^Bcc:' "$stored" "the stored message"
	# The lines that start with a dot, and the lone dot, went through the stuffing both ways.
	assert_grep $'^\\.\r$' "$stored" "the stored message"
	assert_grep '^\.\.two dots' "$stored" "the stored message"
}

# One message, -bs (Symfony's default command) or -bs -i (Laravel's).
t_one_message() {
	clear_dir "$AIO_STORE"
	php_send "$1 --host 127.0.0.1:$AIO_PORT" 1 || {
		cat "$T/php.out"
		return 1
	}
	same_message 1
	[ "$(grep -c 'bs server: 220 ' "$T/trace")" -eq 1 ]
}

# Five messages through one transport: one mailsend process, one upstream connection.
t_five_messages() {
	clear_dir "$AIO_STORE"
	php_send "-bs -i --host 127.0.0.1:$AIO_PORT" 5 || {
		cat "$T/php.out"
		return 1
	}
	for n in 1 2 3 4 5; do same_message "$n"; done
	local greetings connects
	greetings="$(grep -c 'bs server: 220 ' "$T/trace")"
	connects="$(grep -c '^connect: to ' "$T/trace")"
	note "mailsend processes: $greetings, upstream connections: $connects"
	[ "$greetings" -eq 1 ] && [ "$connects" -eq 1 ]
}

# An upstream refusal reaches Symfony as an exception with the server's own text.
t_refused_rcpt() {
	clear_dir "$AIO_STORE"
	if php_send "-bs --host 127.0.0.1:$AIO_PORT" 1 nobody@example.org; then
		echo "Symfony sent a message to a refused recipient"
		return 1
	fi
	assert_grep 'exception: .*550.*nobody@example.org.*Recipient address rejected' "$T/php.out" "Symfony's exception"
}

t_refused_data() {
	clear_dir "$AIO_STORE"
	if BODY="please REFUSE-ME" php_send "-bs --host 127.0.0.1:$AIO_PORT" 1; then
		echo "Symfony sent a message the server refused"
		return 1
	fi
	assert_grep 'exception: .*554 5.7.1 Message refused: content rejected' "$T/php.out" "Symfony's exception"
}

# The relay down, the queue on: Symfony is told the message went (after the queue's commit) and the
# queue holds it.
t_queued() {
	local down
	down="$(free_port)"
	php_send "-bs --queue-on-failure --host 127.0.0.1:$down" 1 || {
		cat "$T/php.out"
		return 1
	}
	HOME="$T/home" "$MAILSEND" -bp >"$T/mailq"
	assert_grep 'bob@example.org' "$T/mailq" "the queue listing"
	assert_grep 'dave@example.org' "$T/mailq" "the queue listing"
}

if ! php -r 'require "/usr/share/php/Symfony/Component/Mailer/autoload.php";' 2>/dev/null; then
	report FAIL "symfony: php-cli and php-symfony-mailer installed (scripts/install-test-deps.sh)"
	finish
fi
start_server "symfony: aiosmtpd" start_aiosmtpd --refuse nobody@example.org --refuse-data REFUSE-ME || finish
check "symfony: one message through -bs, stored byte-exact, Bcc only in the envelope" t_one_message -bs
check "symfony: one message through -bs -i (Laravel)" t_one_message "-bs -i"
check "symfony: five messages through one transport, one process, one connection" t_five_messages
check "symfony: an upstream 550 to RCPT is Symfony's exception, with the server's text" t_refused_rcpt
check "symfony: an upstream 554 to the data is Symfony's exception, with the server's text" t_refused_data
check "symfony: relay down, queue on: accepted and queued" t_queued
finish
