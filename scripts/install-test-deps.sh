#!/usr/bin/env bash
# Installs what the interop tests and the demo need on a Debian 12 machine, idempotently.
#
# - Debian packages that do not conflict with anything: Dovecot LMTP, groff (man page check), openssl,
#   iproute2, time (/usr/bin/time: peak RSS in the load tests), tmux (a terminal for the interactive
#   session test), lintian (the package check, tests/package/check.sh), mmdebstrap (the clean Debian 12
#   root of tests/package/debroot.sh), and the run-time libraries of the unpacked Exim binary.
# - cargo-deb (`cargo install cargo-deb --locked`), which builds the Debian packages the package check tests.
# - aiosmtpd from PyPI into the machine's python3.
# - Postfix (for smtp-sink) and exim4-daemon-light are MTAs that conflict with each other (installing one
#   removes the other), so they are downloaded and unpacked into a cache directory, never installed.
# - The Debian-exim system user that Exim drops privileges to.
#
# The cache directory is $MAILSEND_SERVERS (default /var/tmp/mailsend-servers), outside the work tree.
# Prints one line per step; the output of a step is shown only when it fails.
set -euo pipefail

SERVERS_DIR="${MAILSEND_SERVERS:-/var/tmp/mailsend-servers}"
APT_PACKAGES=(dovecot-core dovecot-lmtpd groff openssl iproute2 ca-certificates time tmux php-cli php-symfony-mailer
	lintian mmdebstrap
	libidn12 libnsl2 libgnutls30 libgnutls-dane0 libdb5.3 libpcre2-8-0 libsasl2-2 libicu72)

if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT

# step DESCRIPTION CMD...: run CMD quietly; on failure show its output and stop.
step() {
	local what="$1"
	shift
	printf 'install-test-deps: %s\n' "$what"
	if ! "$@" >"$LOG" 2>&1; then
		printf 'install-test-deps: FAILED: %s\n' "$what" >&2
		cat "$LOG" >&2
		exit 1
	fi
}

apt_updated=0
apt_update_once() {
	if [ "$apt_updated" -eq 0 ]; then
		step "apt-get update" "${SUDO[@]}" apt-get update -q
		apt_updated=1
	fi
}

missing_packages() {
	local p
	for p in "${APT_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || printf '%s\n' "$p"
	done
}

# unpack PACKAGE DIR: download PACKAGE's .deb and extract it into DIR (no maintainer scripts run).
unpack() {
	local pkg="$1" dest="$2" dl
	dl="$(mktemp -d)"
	chmod 755 "$dl" # apt's _apt user writes the download here
	(cd "$dl" && apt-get download -q "$pkg") &&
		rm -rf "$dest.new" && mkdir -p "$dest.new" &&
		dpkg-deb -x "$dl"/"$pkg"_*.deb "$dest.new" &&
		rm -rf "$dest" && mv "$dest.new" "$dest"
	local rc=$?
	rm -rf "$dl"
	return $rc
}

mapfile -t missing < <(missing_packages)
if [ "${#missing[@]}" -gt 0 ]; then
	apt_update_once
	# policy-rc.d may or may not stop dovecot from starting as a service; the tests run their own instance
	# with their own config and ports, so a system instance does no harm either way.
	step "apt-get install ${missing[*]}" "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}"
else
	echo "install-test-deps: apt packages already installed"
fi

if python3 -c 'import aiosmtpd' 2>/dev/null; then
	echo "install-test-deps: aiosmtpd already installed"
else
	pip_install() {
		python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore aiosmtpd ||
			# A Debian python3 (PEP 668) refuses plain pip installs; the tests only need the module importable.
			python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore \
				--break-system-packages aiosmtpd
	}
	step "pip install aiosmtpd" pip_install
fi

if cargo deb --version >/dev/null 2>&1; then
	echo "install-test-deps: cargo-deb already installed"
else
	step "cargo install cargo-deb" cargo install cargo-deb --locked
fi

mkdir -p "$SERVERS_DIR"
if [ -x "$SERVERS_DIR/postfix/usr/sbin/smtp-sink" ]; then
	echo "install-test-deps: postfix (smtp-sink) already unpacked"
else
	apt_update_once
	step "unpack postfix into $SERVERS_DIR/postfix" unpack postfix "$SERVERS_DIR/postfix"
fi
if [ -x "$SERVERS_DIR/exim4/usr/sbin/exim4" ]; then
	echo "install-test-deps: exim4 already unpacked"
else
	apt_update_once
	# exim4-daemon-light holds the whole binary; exim4-base only adds cron jobs, docs and helper scripts
	# that a daemon started with -C CONF -bdf does not use.
	step "unpack exim4-daemon-light into $SERVERS_DIR/exim4" unpack exim4-daemon-light "$SERVERS_DIR/exim4"
fi

if getent passwd Debian-exim >/dev/null; then
	echo "install-test-deps: user Debian-exim exists"
else
	step "create user Debian-exim" "${SUDO[@]}" useradd --system --no-create-home --user-group \
		--home-dir /var/spool/exim4 --shell /usr/sbin/nologin Debian-exim
fi

# The unpacked binaries must find all their libraries; a missing one is reported here, not in a test.
check_binaries() {
	LD_LIBRARY_PATH="$SERVERS_DIR/postfix/usr/lib/postfix" ldd "$SERVERS_DIR/postfix/usr/sbin/smtp-sink" |
		{ ! grep 'not found'; } &&
		ldd "$SERVERS_DIR/exim4/usr/sbin/exim4" | { ! grep 'not found'; } &&
		"$SERVERS_DIR/exim4/usr/sbin/exim4" -C /dev/null -bV | grep '^Exim version 4' >/dev/null &&
		command -v dovecot && command -v openssl && command -v groff && command -v tmux && [ -x /usr/bin/time ] &&
		command -v lintian && command -v mmdebstrap
}
step "check server binaries" check_binaries
