#!/usr/bin/env bash
# Runs every Fuzz* target of the module, one after the other, for a given
# time each, and prints one result line per target (the table
# docs/security.md records).
#
#   bench/fuzz.sh [FUZZTIME] [PATTERN] [TARGETS]
#
#   FUZZTIME  go test -fuzztime per target (default 2m; e.g. 30s, 1h, 5000x)
#   PATTERN   only packages whose import path matches this grep -E pattern
#   TARGETS   only targets whose name matches this grep -E pattern
#
# Environment:
#   FUZZ_PARALLEL  fuzzing workers per target (default: go's, GOMAXPROCS)
#   FUZZ_MINIMIZE  go test -fuzzminimizetime (default go's, 60s): a target
#                  whose inputs keep finding new coverage spends its time
#                  minimizing them, not fuzzing, unless this is short
#   FUZZ_KEEP      copy at most this many of the inputs the fuzzer found
#                  interesting (from go's fuzz cache) into the package's
#                  testdata/fuzz/<Target>/ (default 0: none), so that they
#                  become seed inputs that every plain `go test` runs.
#
# A failing input is written by go test itself to the package's
# testdata/fuzz/<Target>/ and the script exits 1 after running the others.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-2m}"
pattern="${2:-.}"
only="${3:-.}"
keep="${FUZZ_KEEP:-0}"
parallel=()
[ -n "${FUZZ_PARALLEL:-}" ] && parallel=(-parallel "$FUZZ_PARALLEL")
[ -n "${FUZZ_MINIMIZE:-}" ] && parallel+=(-fuzzminimizetime "$FUZZ_MINIMIZE")
cache="$(go env GOCACHE)/fuzz"
module="$(go list -m)"
failed=0
results=()

# Packages with fuzz targets: those whose test files declare func Fuzz...
mapfile -t pkgs < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Z0-9_]' . |
	grep -v '^./tools/' | xargs -r -n1 dirname | sort -u)
for dir in "${pkgs[@]}"; do
	pkg="$(go list "$dir")"
	rel="${pkg#"$module"}"
	echo "$pkg" | grep -Eq -- "$pattern" || continue
	mapfile -t targets < <(go test -list '^Fuzz' "$dir" | grep '^Fuzz' || true)
	for target in "${targets[@]}"; do
		echo "$target" | grep -Eq -- "$only" || continue
		echo "== $pkg $target ($fuzztime)"
		log="$(mktemp)"
		start=$(date +%s)
		if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "${parallel[@]}" "$dir" 2>&1 | tee "$log"; then
			status=ok
		else
			status=FAIL
			failed=1
		fi
		secs=$(( $(date +%s) - start ))
		# The last progress line: "fuzz: elapsed: 2m0s, execs: 123456 (1028/sec), new interesting: 12 (total: 40)"
		execs="$(grep -oE 'execs: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo '?')"
		interesting="$(grep -oE 'new interesting: [0-9]+ \(total: [0-9]+\)' "$log" | tail -1 || true)"
		rm -f "$log"
		results+=("$(printf '%-40s %-24s %-6s %6ss  execs %-10s %s' "${rel:-.}" "$target" "$status" "$secs" "$execs" "$interesting")")
		if [ "$keep" -gt 0 ] && [ -d "$cache/$pkg/$target" ]; then
			mkdir -p "$dir/testdata/fuzz/$target"
			# newest first; go's corpus file names are content hashes, so a
			# copy never overwrites a different input. Inputs holding a PEM
			# private key (mutated from a test key) are not kept, so that no
			# committed file looks like a secret.
			ls -t "$cache/$pkg/$target" | while read -r f; do
				grep -q 'PRIVATE KEY' "$cache/$pkg/$target/$f" || echo "$f"
			done | head -n "$keep" |
				while read -r f; do cp -n "$cache/$pkg/$target/$f" "$dir/testdata/fuzz/$target/$f"; done
		fi
	done
done

echo
echo "Fuzz results ($(go version | awk '{print $3}'), fuzztime $fuzztime per target, $(nproc 2>/dev/null || echo '?') cores):"
printf '%s\n' "${results[@]}"
exit "$failed"
