#!/usr/bin/env bash
# Row 7 of bench/README.md: one token request (sign, POST, emulator
# verifies, token) with a local RSA-4096 key vs the same with an RSA-4096
# key held in local-kms (an AWS KMS API server on 127.0.0.1, built once by
# tools/localkms/build.sh into the tools cache), side by side in one
# go test run: keys/awskms's BenchmarkTokenRequest.
# Usage: bench/localkms.sh [N]   (requests each, default 30)
source "$(dirname "$0")/lib.sh"
n=${1:-30}
localkms=$(GO=$GO bash tools/localkms/build.sh)
PKJWT_LOCALKMS=$localkms PKJWT_REQUIRE_LOCALKMS=1 "$GO" test -run '^$' -bench 'BenchmarkTokenRequest' \
	-benchtime "${n}x" -timeout 10m ./keys/awskms/ | tee "$WORK/localkms.out" >&2
read -r local kms <<<"$(awk '
/^BenchmarkTokenRequest\/local-/    { l = $3 }
/^BenchmarkTokenRequest\/localkms-/ { k = $3 }
END { printf "%s %s\n", l, k }' "$WORK/localkms.out")"
[ -n "${kms:-}" ] || { log "no result lines from the benchmark"; exit 1; }
ms() { awk -v ns="$1" 'BEGIN { printf "%.2f", ns / 1e6 }'; }
row "7. one token request, ms: local key vs key in local-kms" "local $(ms "$local")" "local-kms $(ms "$kms")" "$(ratio "$kms" "$local")" "(cost of the KMS hop)" "go test -bench BenchmarkTokenRequest -benchtime ${n}x ./keys/awskms/; RSA-4096 RS512, emulator on loopback"
