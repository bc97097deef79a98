#!/usr/bin/env bash
# Client-core benchmarks, each pair measured side by side in one run:
#   - a cached Token() under b.RunParallel: pkjwt vs oauth2.ReuseTokenSource
#   - one RS512 assertion on an RSA-4096 key vs bare SHA-512 + rsa.SignPKCS1v15
#   - one full token fetch over loopback (the cost of a cache miss)
#   - a wall-clock read under b.RunParallel: time.Now vs the coarse clock
# Usage: bench/core.sh [count] [benchtime]   (defaults: 5, 1s)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-5}
benchtime=${2:-1s}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -run '^$' -bench 'CachedToken|Assertion|TokenFetch|ClockRead' -benchmem -count "$count" -benchtime "$benchtime" . | tee "$out"
echo
echo "Medians over $count runs (ns/op):"
awk '
/^Benchmark/ {
  name=$1; sub(/-[0-9]+$/, "", name)
  v[name]=v[name] " " $3; n[name]++
}
function median(s,   a, k, i, j, t) {
  k = split(s, a, " ")
  for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
  return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
}
END {
  for (b in v) { m[b] = median(v[b]); printf "  %-60s %14.1f\n", b, m[b] }
  c1 = m["BenchmarkCachedToken/pkjwt"]; c2 = m["BenchmarkCachedToken/oauth2.ReuseTokenSource"]
  a1 = m["BenchmarkAssertion/pkjwt.Assertion.Sign"]; a2 = m["BenchmarkAssertion/rsa.SignPKCS1v15-SHA512"]
  t1 = m["BenchmarkClockRead/time.Now"]; t2 = m["BenchmarkClockRead/coarse.Clock"]
  if (c1 > 0) printf "cached Token(): oauth2.ReuseTokenSource / pkjwt = %.1fx (target >= 5x)\n", c2 / c1
  if (t2 > 0) printf "clock read: time.Now / coarse clock = %.1fx\n", t1 / t2
  if (a2 > 0) printf "assertion: pkjwt sign / bare RSA sign = %.3f (target <= 1.05)\n", a1 / a2
}' "$out"
