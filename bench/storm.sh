#!/usr/bin/env bash
# Row 5 of bench/README.md: 10,000 goroutines ask the token source for a
# token at the moment the cached one expires; exactly one token request may
# reach the emulator (the benchmark fails otherwise). Prints their p50/p99
# wait. Usage: bench/storm.sh [STORMS]   (default 3)
source "$(dirname "$0")/lib.sh"
storms=${1:-3}
"$GO" test -run '^$' -bench 'RefreshStorm' -benchtime "${storms}x" ./bench/ | tee "$WORK/storm.out" >&2
read -r p50 p99 reqs <<<"$(awk '/^BenchmarkRefreshStorm/ {
	for (i = 1; i <= NF; i++) m[$(i)] = $(i-1)
	printf "%s %s %s\n", m["p50_wait_ms"], m["p99_wait_ms"], m["token_requests/storm"]
}' "$WORK/storm.out")"
[ -n "${reqs:-}" ] || { log "no result line from the benchmark"; exit 1; }
row "5. refresh storm: 10,000 goroutines at expiry" "$reqs token request per storm; wait p50 $p50 ms, p99 $p99 ms" "—" "—" "exactly 1 request" "go test -bench RefreshStorm -benchtime ${storms}x ./bench/; RSA-4096 signature + loopback request inside the wait"
