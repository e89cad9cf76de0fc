# Sourced by the package tests: one line per check, `NAME: ok   WHAT` or `NAME: FAIL WHAT` with the evidence
# indented below, and a summary line. The sourcing script sets `name` first.
passed=0
failed=0
pass() {
	printf '%s: ok   %s\n' "$name" "$1"
	passed=$((passed + 1))
}
fail() {
	printf '%s: FAIL %s\n' "$name" "$1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/    /'
	failed=$((failed + 1))
}
# summary: the last line, `NAME: N passed, M failed`; succeeds when none failed.
summary() {
	echo "$name: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
