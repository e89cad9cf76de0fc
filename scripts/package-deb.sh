#!/usr/bin/env bash
# Builds the two Debian packages of spec section 12 from this one crate with cargo-deb (installed with
# `cargo install cargo-deb --locked` when missing): `mailsend` (the program, its man page, the bash, zsh
# and fish completions, the example configuration) and `mailsend-mta` (the system's sendmail: links,
# the mailsend user and spool, the queue runner's systemd units and cron fallback). The metadata is in
# Cargo.toml ([package.metadata.deb] and its variant `mta`), the maintainer scripts and units in pkg/deb/.
#
# Usage: scripts/package-deb.sh [OUTPUT_DIR]   (default target/debian); prints the two .deb paths.
set -euo pipefail
cd "$(dirname "$0")/.."

out="${1:-target/debian}"
mkdir -p "$out"

if ! cargo deb --version >/dev/null 2>&1; then
	echo "package-deb: installing cargo-deb" >&2
	cargo install cargo-deb --locked
fi

# The first build compiles the release binary; the variant reuses it (--no-build).
cargo deb --output "$out" >&2
cargo deb --no-build --variant mta --output "$out" >&2

version="$(cargo metadata --no-deps --format-version 1 |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["packages"][0]["version"])')"
arch="$(dpkg --print-architecture)"
for name in mailsend mailsend-mta; do
	deb="$out/${name}_${version}-1_${arch}.deb"
	if [ ! -f "$deb" ]; then
		echo "package-deb: $deb was not built" >&2
		exit 1
	fi
	printf '%s\n' "$deb"
done
