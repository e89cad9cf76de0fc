#!/usr/bin/env bash
# The installed MTA in a clean Debian 12 root (issue 14): a minimal bookworm made once with mmdebstrap and
# cached as a tarball ($MAILSEND_DEBROOT_CACHE, default /var/cache/mailsend-debroot), unpacked afresh for
# each run, entered with chroot (as root). In it: mailsend and mailsend-mta installed, then cron and
# bsd-mailx, with no other MTA pulled in; a non-root user's `mail -s` to root queued through the setgid
# binary into the spool while the server is down; the queue runner, as the cron fallback runs it (no systemd
# runs in a chroot), delivering it to a test server (tests/interop/aiosmtpd_server.py) once the server is
# up, with the root alias applied; a cron job's output, mailed by the cron daemon started in the root,
# delivered the same way; then purge leaves no file, user, group or override behind.
# Needs network access to Debian's archive (apt in the root), mmdebstrap and aiosmtpd. Prints one line per
# check; the last line is `debroot: N passed, M failed`.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../.." || exit 1

cache="${MAILSEND_DEBROOT_CACHE:-/var/cache/mailsend-debroot}"
port="${MAILSEND_DEBROOT_PORT:-8725}"
name=debroot
# shellcheck source=tests/package/lib.sh
. "$here/lib.sh"
# check WHAT CMD...: pass when CMD succeeds, else fail with its output.
check() {
	local what="$1" log
	shift
	if log="$("$@" 2>&1)"; then pass "$what"; else fail "$what" "$log"; fi
}
finish() {
	summary
	exit
}

if [ "$(id -u)" -ne 0 ]; then
	echo "debroot: must run as root (chroot)" >&2
	exit 1
fi

work="$(mktemp -d /var/tmp/mailsend-debroot.XXXXXX)"
root="$work/root"
server_pid=""
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
	mountpoint -q "$root/proc" && umount "$root/proc"
	rm -rf "$work"
}
trap cleanup EXIT

# inroot CMD...: run CMD inside the root.
inroot() { chroot "$root" "$@"; }
apt_in() { inroot env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"; }

mkdir -p "$cache"
if [ ! -f "$cache/bookworm.tar" ]; then
	check "mmdebstrap a Debian 12 root into $cache" \
		mmdebstrap --variant=minbase bookworm "$cache/bookworm.tar.new" http://deb.debian.org/debian
	mv "$cache/bookworm.tar.new" "$cache/bookworm.tar" || finish
fi
mkdir -p "$root" && tar -C "$root" -xf "$cache/bookworm.tar" && mount -t proc proc "$root/proc" &&
	cp /etc/resolv.conf "$root/etc/resolv.conf" || {
	fail "unpack the cached root"
	finish
}

if ! bash scripts/package-deb.sh "$root/tmp" >"$work/debs" 2>"$work/build.log"; then
	fail "scripts/package-deb.sh" "$(tail -n 20 "$work/build.log")"
	finish
fi
debs=()
while read -r deb; do debs+=("/tmp/${deb##*/}"); done <"$work/debs"

check "apt-get update in the root" inroot apt-get update -q
check "install mailsend and mailsend-mta" apt_in "${debs[@]}"
check "then cron and bsd-mailx" apt_in cron bsd-mailx
mtas="$(inroot dpkg-query -W -f '${db:Status-Abbrev} ${Package} ${Provides}\n' |
	awk '$1 == "ii" && /mail-transport-agent/ { print $2 }')"
if [ "$mtas" = "mailsend-mta" ]; then pass "no other MTA pulled in"; else fail "no other MTA pulled in" "$mtas"; fi

check "the user mailsend and its group" inroot sh -c 'getent passwd mailsend && getent group mailsend'
check "/usr/bin/mailsend is setgid mailsend" \
	test "$(inroot stat -c '%a %U:%G' /usr/bin/mailsend)" = "2755 root:mailsend"
check "/etc/mailsend.toml is 0640 root:mailsend" \
	test "$(inroot stat -c '%a %U:%G' /etc/mailsend.toml)" = "640 root:mailsend"
check "the spool is 2770 root:mailsend" \
	test "$(inroot stat -c '%a %U:%G' /var/spool/mailsend /var/spool/mailsend/queue | sort -u)" = "2770 root:mailsend"

cat >"$root/etc/mailsend.toml" <<CONF
[defaults]
host = "127.0.0.1"
port = $port
tls = "off"
maildomain = "example.test"
queue = "always"
[aliases]
root = "admin@example.test"
CONF
inroot useradd --create-home alice
check "a user's mail -s to root is queued (server down)" \
	inroot su alice -c 'echo "hello from alice" | mail -s debroot-test root'
check "mailq (the package's link) shows it" sh -c "chroot '$root' mailq | grep -q admin@example.test"

mkdir -p "$work/store"
python3 tests/interop/aiosmtpd_server.py --port "$port" --store "$work/store" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()" 2>/dev/null && break
	sleep 0.1
done
# The cron fallback's line, run as its user the way cron would (there is no systemd in a chroot).
cron_line="$(grep -v '^#' "$root/etc/cron.d/mailsend-mta" | grep '^\*/5')"
cron_user="$(printf '%s\n' "$cron_line" | awk '{ print $6 }')"
cron_cmd="$(printf '%s\n' "$cron_line" | cut -d' ' -f7-)"
check "the cron fallback runs as mailsend" test "$cron_user" = mailsend
inroot su -s /bin/sh -c "$cron_cmd" "$cron_user"
check "the server got the message, to the alias, from alice" \
	sh -c "grep -q 'Subject: debroot-test' '$work/store/1.eml' &&
		grep -q 'RCPT TO:<admin@example.test>' '$work/store/1.env' &&
		grep -q 'MAIL FROM:<alice@example.test>' '$work/store/1.env'"
check "the queue is empty" sh -c "chroot '$root' mailq | grep -q 'Mail queue is empty'"

# newaliases (the package's link) checks /etc/aliases: a broken file is 78 naming its line.
printf '# aliases\npostmaster: root\nroot admin@example.test\n' >"$root/etc/aliases"
newaliases_out="$(chroot "$root" newaliases 2>&1)"
newaliases_rc=$?
check "newaliases reports a broken /etc/aliases with its line, exit 78" \
	sh -c "[ $newaliases_rc -eq 78 ] && printf '%s' \"\$1\" | grep -q '/etc/aliases:3:'" _ "$newaliases_out"
printf 'postmaster: root\nroot: admin@example.test\n' >"$root/etc/aliases"
check "newaliases accepts a good /etc/aliases" inroot newaliases

# A cron job's output, mailed by the real cron daemon through /usr/sbin/sendmail, queued and then delivered by
# the runner. cron is started in the root and stopped by its pid file.
echo '* * * * * alice echo "output of a cron job"' >"$root/etc/cron.d/debroot-job"
inroot cron
cron_mail=""
for _ in $(seq 45); do
	sleep 2
	inroot su -s /bin/sh -c "$cron_cmd" "$cron_user"
	cron_mail="$(grep -l 'output of a cron job' "$work"/store/*.eml 2>/dev/null)"
	[ -n "$cron_mail" ] && break
done
[ -f "$root/run/crond.pid" ] && kill "$(cat "$root/run/crond.pid")"
rm -f "$root/etc/cron.d/debroot-job"
check "a cron job's output reaches the server, to alice's address" \
	grep -q 'RCPT TO:<alice@example.test>' "${cron_mail%.eml}.env"

check "purge" inroot dpkg --purge bsd-mailx mailsend-mta mailsend
left="$(inroot sh -c 'ls -d /var/spool/mailsend /etc/mailsend.toml /etc/cron.d/mailsend-mta \
	/lib/systemd/system/mailsend-queue.* /usr/sbin/sendmail /usr/bin/mailsend 2>/dev/null;
	getent passwd mailsend; getent group mailsend; dpkg-statoverride --list | grep mailsend;
	find /etc/systemd /var/lib/systemd -name "mailsend*" 2>/dev/null')"
if [ -z "$left" ]; then pass "purge leaves nothing behind"; else fail "purge leaves nothing behind" "$left"; fi
finish
