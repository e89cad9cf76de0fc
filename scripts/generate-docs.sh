#!/usr/bin/env bash
# Regenerates the committed documentation from its one source, the program itself: the man page
# (clap definition in src/cli.rs plus the hand-written roff in man/sections/) and the shell
# completions (clap_complete). Run it after changing either and commit the result; the tests in
# src/manpage.rs fail while the committed files differ from what the code generates.
set -euo pipefail
cd "$(dirname "$0")/.."

mkdir -p man completions

# generate WHAT FILE: write `mailsend --generate WHAT` to FILE, replacing it only on success.
generate() {
	local what="$1" file="$2"
	if ! cargo run -q --bin mailsend -- --generate "$what" >"$file.tmp"; then
		rm -f "$file.tmp"
		return 1
	fi
	mv "$file.tmp" "$file"
	printf 'generate-docs: %s\n' "$file"
}

generate man man/mailsend.1
generate bash completions/mailsend.bash
generate zsh completions/_mailsend
generate fish completions/mailsend.fish
