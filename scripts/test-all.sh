#!/usr/bin/env bash
# Every test: install the test servers, cargo's unit and integration tests, the Debian packages' check
# (tests/package/check.sh: contents, control fields, lintian) and their install into a clean Debian 12 root
# (tests/package/debroot.sh, as root: chroot), then the interop tests against real servers
# (tests/interop/run.sh). Exits non-zero if anything failed; the last line is the interop
# summary `interop: N passed, M failed`.
# INTEROP_GROUPS (core, tls, lmtp, queue, load; default all) selects the interop groups.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

bash scripts/install-test-deps.sh || exit 1

status=0
echo "test-all: cargo test --all-targets --no-fail-fast"
cargo test --all-targets --no-fail-fast || status=1
echo "test-all: tests/package/check.sh"
bash tests/package/check.sh || status=1
echo "test-all: tests/package/debroot.sh"
if [ "$(id -u)" -eq 0 ]; then
	bash tests/package/debroot.sh || status=1
else
	sudo bash tests/package/debroot.sh || status=1
fi
echo "test-all: cargo build"
cargo build || status=1
echo "test-all: tests/interop/run.sh"
bash tests/interop/run.sh || status=1
exit "$status"
