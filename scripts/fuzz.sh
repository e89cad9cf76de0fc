#!/bin/sh
# Runs the cargo-fuzz targets of fuzz/ (catalogue item 32) on a stable toolchain.
#
#   scripts/fuzz.sh [TARGET] [RUNS]    fuzz TARGET (default: every target, one after the other) for
#                                      RUNS executions each (default 10000000, what issue 5 asks for)
#   scripts/fuzz.sh --trim [TARGET]    fold what the runs found into the committed corpus, minimised
#
# A run starts from the committed corpus in fuzz/corpus/TARGET and writes what it finds to
# fuzz/target/corpus/TARGET (not committed). A crash stops that target and leaves the input in
# fuzz/artifacts/TARGET/; the script goes on with the next target and exits 1 at the end.
#
# --trim merges both directories with `cargo fuzz cmin`, then keeps at most FUZZ_CORPUS_MAX (200)
# files in fuzz/corpus/TARGET, chosen greedily for the most new code edges, then the most new
# coverage features, then the smallest size. `cargo test --test corpus_replay` replays the committed corpora without
# cargo-fuzz.
#
# cargo-fuzz needs nightly-only sanitizer flags, so RUSTC_BOOTSTRAP=1 lets the stable compiler accept
# them. One fuzzing process at a time (--jobs 1, libFuzzer's in-process mode): the build machines have
# two cores. libFuzzer's own -jobs=1 would do the same but hide the output in fuzz-0.log.
#
# The sanitizer is off by default (FUZZ_SANITIZER=none): mailsend forbids unsafe code, so what the
# targets catch is panics and failed assertions, overflow checks included (cargo-fuzz keeps debug
# assertions on). AddressSanitizer (for the unsafe code inside dependencies) makes the envelope
# target four times slower; FUZZ_SANITIZER=address turns it back on.
set -eu

cd "$(dirname "$0")/../fuzz"

sanitizer=${FUZZ_SANITIZER:-none}
keep=${FUZZ_CORPUS_MAX:-200}
trim=
if [ "${1:-}" = --trim ]; then
	trim=1
	shift
fi
runs=${2:-10000000}
case $runs in
'' | *[!0-9]*)
	echo "fuzz.sh: RUNS must be a number, not '$runs'" >&2
	exit 64
	;;
esac

if ! cargo fuzz --version >/dev/null 2>&1; then
	echo "fuzz.sh: installing cargo-fuzz" >&2
	cargo install --locked cargo-fuzz
fi

export RUSTC_BOOTSTRAP=1

if [ $# -ge 1 ] && [ -n "$1" ]; then
	targets=$1
else
	targets=$(cargo fuzz list)
fi

# Greedy set cover over a libFuzzer merge control file (a count, the files, then per file
# "STARTED index size", "FT index feature..." and "COV index edge..."): prints the paths of at most
# $keep files, each time the one adding the most uncovered edges, then the most uncovered features
# (edges hit a new number of times, comparisons), then the smaller.
pick() {
	awk -v max="$keep" '
	NR == 1 { n = $1; next }
	NR == 2 { next }
	NR <= n + 2 { path[NR - 3] = $0; next }
	$1 == "STARTED" { size[$2] = $3; has[$2] = 1; next }
	$1 == "FT" { f = $2; nf[f] = NF - 2; for (i = 3; i <= NF; i++) ft[f, i - 3] = $i; next }
	$1 == "COV" { f = $2; nc[f] = NF - 2; for (i = 3; i <= NF; i++) cov[f, i - 3] = $i; next }
	END {
		for (f in has) {
			for (i = 0; i < nf[f]; i++) allft[ft[f, i]] = 1
			for (i = 0; i < nc[f]; i++) allcov[cov[f, i]] = 1
		}
		for (picked = 0; picked < max; picked++) {
			best = -1; be = 0; bf = 0
			for (f in has) {
				if (f in done) continue
				ge = 0; gf = 0
				for (i = 0; i < nc[f]; i++) if (!((cov[f, i]) in seencov)) ge++
				for (i = 0; i < nf[f]; i++) if (!((ft[f, i]) in seenft)) gf++
				if (ge + gf == 0) continue
				if (best < 0 || ge > be || (ge == be && (gf > bf || (gf == bf && \
				    (size[f] < size[best] || (size[f] == size[best] && f + 0 < best + 0)))))) {
					best = f; be = ge; bf = gf
				}
			}
			if (best < 0) break
			done[best] = 1
			for (i = 0; i < nc[best]; i++) seencov[cov[best, i]] = 1
			for (i = 0; i < nf[best]; i++) seenft[ft[best, i]] = 1
			print path[best]
		}
		printf "fuzz.sh: kept %d files: %d of %d edges, %d of %d features\n", picked, \
		    count(seencov), count(allcov), count(seenft), count(allft) > "/dev/stderr"
	}
	function count(a,   k, c) { c = 0; for (k in a) c++; return c }' "$1"
}

trim_target() {
	target=$1
	work=target/corpus/$target
	mkdir -p "corpus/$target" "$work"
	# Everything found so far, then cargo-fuzz's own minimisation.
	find "$work" -maxdepth 1 -type f ! -name '.*' -exec cp -n {} "corpus/$target/" \;
	cargo fuzz cmin --sanitizer "$sanitizer" "$target" "corpus/$target"
	# A second merge into an empty directory only to get each file's features.
	host=$(rustc -vV | sed -n 's/^host: //p')
	tmp=$(mktemp -d)
	"target/$host/release/$target" -merge=1 -merge_control_file="$tmp/control" "$tmp" \
		"corpus/$target" >/dev/null 2>&1
	pick "$tmp/control" >"$tmp/keep"
	find "corpus/$target" -maxdepth 1 -type f ! -name '.*' | while read -r f; do
		grep -qxF "$f" "$tmp/keep" || rm -f "$f"
	done
	rm -rf "$tmp" "$work"
	echo "fuzz.sh: corpus/$target: $(find "corpus/$target" -type f ! -name '.*' | wc -l) files" >&2
}

failed=
for target in $targets; do
	if [ -n "$trim" ]; then
		trim_target "$target"
		continue
	fi
	echo "fuzz.sh: $target, $runs runs" >&2
	mkdir -p "corpus/$target" "target/corpus/$target"
	# Replies may have lines up to MAX_LINE (8192) octets: let inputs grow past that limit.
	case $target in
	reply | capabilities) max_len=20000 ;;
	*) max_len=4096 ;;
	esac
	start=$(date +%s)
	if cargo fuzz run --jobs 1 --sanitizer "$sanitizer" "$target" \
		"target/corpus/$target" "corpus/$target" \
		-- -runs="$runs" -max_len="$max_len" -print_final_stats=1; then
		echo "fuzz.sh: $target passed in $(($(date +%s) - start)) s" >&2
	else
		echo "fuzz.sh: $target FAILED after $(($(date +%s) - start)) s" >&2
		failed="$failed $target"
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz.sh: failed:$failed (inputs in fuzz/artifacts/)" >&2
	exit 1
fi
