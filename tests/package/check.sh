#!/usr/bin/env bash
# The Debian packages of spec section 12 (issue 14): builds them with scripts/package-deb.sh, checks that
# `cargo install --path .` gives a working mailsend, then checks each package's files (`dpkg-deb -c`: mode,
# path, link target; directories left out), its control fields (`dpkg-deb -f`), its conffiles and
# maintainer scripts against the expected lists next to this script, and runs lintian, whose errors fail
# the check. Needs cargo-deb (the build script installs it), dpkg-deb and lintian
# (scripts/install-test-deps.sh installs both). Prints one line per check and exits non-zero if any
# failed; the last line is `package: N passed, M failed`.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../.." || exit 1

name=package
# shellcheck source=tests/package/lib.sh
. "$here/lib.sh"

# same WHAT EXPECTED ACTUAL: pass when the two texts are equal, else fail showing the difference.
same() {
	local diff
	if diff="$(diff -u --label expected --label actual <(printf '%s\n' "$2") <(printf '%s\n' "$3"))"; then
		pass "$1"
	else
		fail "$1" "$diff"
	fi
}

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
if ! bash scripts/package-deb.sh "$out" >"$out/built" 2>"$out/build.log"; then
	fail "scripts/package-deb.sh builds both packages" "$(tail -n 30 "$out/build.log")"
	summary
	exit 1
fi
pass "scripts/package-deb.sh builds both packages"

# Point 1 of issue 14: `cargo install --path .` from the clone gives a working mailsend (it reuses the
# release build the packages just made).
if log="$(cargo install --path . --locked --root "$out/cargo-root" 2>&1)" &&
	"$out/cargo-root/bin/mailsend" --version >/dev/null 2>&1; then
	pass "cargo install --path . gives a working mailsend"
else
	fail "cargo install --path . gives a working mailsend" "$(printf '%s\n' "$log" | tail -n 20)"
fi

version="$(cargo metadata --no-deps --format-version 1 |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["packages"][0]["version"])')"
arch="$(dpkg --print-architecture)"

# contents DEB: "MODE PATH[ -> TARGET]" for every file and link, sorted.
contents() {
	dpkg-deb -c "$1" | awk '$1 !~ /^d/ { line = $1; for (i = 6; i <= NF; i++) line = line " " $i; print line }' |
		LC_ALL=C sort
}

# control DEB EXPECTED_FILE: the fields the expected file names, as the package has them.
control() {
	local field
	while IFS=: read -r field _; do
		printf '%s: %s\n' "$field" "$(dpkg-deb -f "$1" "$field")"
	done <"$2"
}

for pkg in mailsend mailsend-mta; do
	deb="$out/${pkg}_${version}-1_${arch}.deb"
	same "$pkg: files (dpkg-deb -c)" "$(LC_ALL=C sort "$here/$pkg.contents")" "$(contents "$deb")"
	same "$pkg: control fields (dpkg-deb -f)" \
		"$(sed -e "s/@VERSION@/$version/g" -e "s/@ARCH@/$arch/g" "$here/$pkg.control")" \
		"$(control "$deb" "$here/$pkg.control")"
done

mta="$out/mailsend-mta_${version}-1_${arch}.deb"
same "mailsend-mta: conffiles" "$(cat "$here/mailsend-mta.conffiles")" \
	"$(dpkg-deb -I "$mta" conffiles | LC_ALL=C sort)"
dpkg-deb -e "$mta" "$out/mta-control"
for script in postinst prerm postrm; do
	file="$out/mta-control/$script"
	if [ -x "$file" ] && sh -n "$file"; then
		pass "mailsend-mta: $script is an executable shell script"
	else
		fail "mailsend-mta: $script is an executable shell script"
	fi
done
# What the postinst must set up (spec sections 9 and 12): the user, the spool, the overrides, the units.
for want in 'adduser --system' 'chmod 2770' 'statoverride root mailsend 2755 /usr/bin/mailsend' \
	'statoverride root mailsend 0640 /etc/mailsend.toml' 'mailsend-queue.timer mailsend-queue.path'; do
	if grep -qF -- "$want" "$out/mta-control/postinst"; then
		pass "mailsend-mta: postinst has '$want'"
	else
		fail "mailsend-mta: postinst has '$want'"
	fi
done
for want in 'rm -rf /var/spool/mailsend' 'deluser --system' 'delgroup --system' 'dpkg-statoverride --remove'; do
	if grep -qF -- "$want" "$out/mta-control/postrm"; then
		pass "mailsend-mta: postrm purge has '$want'"
	else
		fail "mailsend-mta: postrm purge has '$want'"
	fi
done

# The units as systemd reads them, where systemd-analyze is available.
if command -v systemd-analyze >/dev/null; then
	dpkg-deb -x "$mta" "$out/mta-root"
	# A build machine without mailsend installed may be told that /usr/bin/mailsend is missing.
	if log="$(cd "$out/mta-root/lib/systemd/system" &&
		systemd-analyze verify --man=no ./mailsend-queue.timer ./mailsend-queue.path 2>&1)" &&
		! printf '%s\n' "$log" | grep -v '^$' | grep -qv '/usr/bin/mailsend'; then
		pass "mailsend-mta: systemd-analyze verify"
	else
		fail "mailsend-mta: systemd-analyze verify" "$log"
	fi
fi

if lint="$(lintian --fail-on error "$out/mailsend_${version}-1_${arch}.deb" "$mta" 2>&1)"; then
	pass "lintian: no errors${lint:+ ($(printf '%s\n' "$lint" | grep -c '^[WI]:') warnings or notes)}"
else
	fail "lintian: no errors" "$lint"
fi

summary
