#!/usr/bin/env bash
# Demo: build mailsend, start Postfix's smtp-sink on 127.0.0.1, send examples/hello.eml with -t and the
# protocol trace on, show what the server received, stop the server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-test-deps.sh
echo "demo: cargo build --release"
cargo build --release -q
MAILSEND="$PWD/target/release/mailsend"

# The interop helpers start the server on a free port and stop it on exit, whatever happens.
# shellcheck source=tests/interop/lib.sh
. tests/interop/lib.sh
start_sink || {
	echo "demo: smtp-sink did not start" >&2
	exit 1
}

echo
echo "demo: smtp-sink (Postfix's test server) listens on 127.0.0.1:$SINK_PORT"
echo "demo: \$ mailsend --debug 1 --host 127.0.0.1:$SINK_PORT -t < examples/hello.eml"
echo
rc=0
"$MAILSEND" --debug 1 --host "127.0.0.1:$SINK_PORT" -t <examples/hello.eml || rc=$?
echo
echo "demo: mailsend exited $rc"
if [ "$rc" -ne 0 ]; then exit "$rc"; fi

stored="$(one_file "$SINK_DIR")"
echo "demo: what the server received (smtp-sink's X-* and Received lines first, then the message):"
echo
cat "$stored"
