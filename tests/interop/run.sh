#!/usr/bin/env bash
# Runs mailsend's interop tests against real servers and prints `interop: N passed, M failed`.
#
# usage: tests/interop/run.sh [GROUP...]     GROUP: core (plain SMTP), tls (TLS, AUTH and the debugging
#   toolkit), lmtp, queue (the queue flushed into Exim and Dovecot LMTP), load (100 MB messages, 500
#   sequential and 20 concurrent sends; about a minute), symfony (Symfony Mailer driving mailsend -bs;
#   needs php-cli and php-symfony-mailer)
#   Groups may also come from INTEROP_GROUPS="core tls"; the default is all of them.
#   MAILSEND=path/to/binary (default ./target/debug/mailsend); INTEROP_KEEP=1 keeps the work directories.
# Needs scripts/install-test-deps.sh to have run; Exim and Dovecot need root.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
if [ "$#" -gt 0 ]; then INTEROP_GROUPS="$*"; fi
export INTEROP_GROUPS="${INTEROP_GROUPS:-core tls lmtp queue load symfony}"
export MAILSEND="${MAILSEND:-target/debug/mailsend}"
case "$MAILSEND" in /*) ;; *) MAILSEND="$PWD/$MAILSEND" ;; esac

for g in ${INTEROP_GROUPS//,/ }; do
	case "$g" in core | tls | lmtp | queue | load | symfony) ;; *)
		echo "run.sh: unknown group '$g' (core, tls, lmtp, queue, load, symfony)" >&2
		exit 64
		;;
	esac
done

INTEROP_RESULTS="$(mktemp)"
export INTEROP_RESULTS
trap 'rm -f "$INTEROP_RESULTS"' EXIT

echo "interop: groups: $INTEROP_GROUPS; mailsend: $MAILSEND"
if [ ! -x "$MAILSEND" ]; then
	echo "FAIL mailsend binary: $MAILSEND is not an executable file (cargo build first)"
	echo "interop: 0 passed, 1 failed"
	exit 1
fi

for t in test_smtp_sink test_aiosmtpd test_exim test_exim_debug test_dovecot test_queue test_load test_symfony; do
	before="$(grep -c '^FAIL' "$INTEROP_RESULTS")"
	bash "tests/interop/$t.sh"
	rc=$?
	after="$(grep -c '^FAIL' "$INTEROP_RESULTS")"
	# A file that failed without reporting a failed check died on its own: count that too.
	if [ "$rc" -ne 0 ] && [ "$after" -eq "$before" ]; then
		echo "FAIL $t.sh exited $rc without reporting a failed check"
		printf 'FAIL\t%s\n' "$t.sh" >>"$INTEROP_RESULTS"
	fi
done

passed="$(grep -c '^ok' "$INTEROP_RESULTS")"
failed="$(grep -c '^FAIL' "$INTEROP_RESULTS")"
echo "interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
