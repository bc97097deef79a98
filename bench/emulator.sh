#!/usr/bin/env bash
# Emulator token endpoint throughput next to the raw RSA-4096 verify cost.
#
#   bench/emulator.sh [COUNT]      # COUNT requests / verifies per benchmark (default 2000)
#
# BenchmarkTokenEndpoint: 64 concurrent clients, real HTTP over 127.0.0.1,
# each request a fresh RS512 assertion signed with a 4096-bit key (signed
# before the timer). BenchmarkRSA4096VerifyPKCS1v15SHA512: rsa.VerifyPKCS1v15
# with SHA-512 on the same key, one goroutine; ...Parallel: on every core.
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-2000}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
go test -run '^$' -bench 'TokenEndpoint|RSA4096Verify' -benchtime "${count}x" ./emulator/ | tee "$out"

awk -v cores="$(nproc 2>/dev/null || echo '?')" '
/^BenchmarkTokenEndpoint/                          { for (i = 1; i <= NF; i++) if ($(i) == "req/s") req = $(i-1) }
/^BenchmarkRSA4096VerifyPKCS1v15SHA512-/           { for (i = 1; i <= NF; i++) if ($(i) == "verify/s") ver = $(i-1) }
/^BenchmarkRSA4096VerifyPKCS1v15SHA512Parallel/    { for (i = 1; i <= NF; i++) if ($(i) == "verify/s") par = $(i-1) }
END {
  if (req == "" || ver == "") { print "summary: benchmark output not found"; exit 1 }
  printf "\nSummary (%s cores)\n", cores
  printf "  token endpoint           %8.0f req/s\n", req
  printf "  RSA-4096 verify (1 core) %8.0f verify/s\n", ver
  if (par != "") printf "  RSA-4096 verify (all)    %8.0f verify/s\n", par
  printf "  req/s / verify/s (1 core)  %.2f\n", req / ver
  if (par != "") printf "  req/s / verify/s (all)     %.2f\n", req / par
}' "$out"
