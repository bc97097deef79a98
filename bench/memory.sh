#!/usr/bin/env bash
# Row 6 of bench/README.md: resident memory (VmRSS) of the emulator under
# token requests and of the web app under System to System page calls,
# sampled by the load generator every PKJWT_BENCH_MEM_EVERY requests.
# The goal is 1,000,000 requests each; each run is also bounded in time
# (PKJWT_BENCH_MEM_DURATION, default 60s) and the row says how far it got.
# The emulator's key is RSA-2048 here (PKJWT_BENCH_MEM_BITS): every request
# is signed while the run goes (1 million could not be pre-signed), and a
# 2048-bit signature costs the generator about a sixth of a 4096-bit one;
# what the emulator keeps per request (a jti, a token) does not depend on
# the key size.
# Usage: bench/memory.sh
source "$(dirname "$0")/lib.sh"
n=${PKJWT_BENCH_MEM_N:-1000000}
dur=${PKJWT_BENCH_MEM_DURATION:-60s}
every=${PKJWT_BENCH_MEM_EVERY:-25000}
bits=${PKJWT_BENCH_MEM_BITS:-2048}
build_bins
start_pair "$bits"
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# trend JSON: "N1: X MiB, N2: Y MiB, ..." from tokenload's rss checkpoints.
trend() {
	grep -o '"requests":[0-9]*,"rss_kib":[0-9]*' <<<"$1" | tr -dc '0-9,\n' |
		awk -F, '{ printf "%s%sk: %.0f", (NR > 1 ? ", " : ""), ($1 % 1000 ? sprintf("%.1f", $1 / 1000) : $1 / 1000), $2 / 1024 } END { print "" }'
}
field() { grep -o "\"$2\":[0-9.]*" <<<"$1" | head -1 | cut -d: -f2; }

emu0=$(rss "$EMU_PID")
log "emulator: up to $n token requests (RSA-$bits, signed as they go, 64 clients) for at most $dur"
emu=$("$BIN/tokenload" live -dir "$KEYDIR" -client-id "$CLIENT_ID" -token-url "$TOKEN_URL" -n "$n" -c 64 \
	-duration "$dur" -pid "$EMU_PID" -every "$every")
[ "$(field "$emu" failed)" = 0 ] || { log "emulator: failed token requests: $emu"; exit 1; }
row "6a. emulator RSS (MiB) by token requests" \
	"$(trend "$emu") (start $((emu0 / 1024)))" "—" "—" "bounded" \
	"$(field "$emu" requests) requests in $(printf '%.0f' "$(field "$emu" seconds)") s of $n wanted; RSA-$bits; jti and token stores bounded at 100,000"

"$BIN/tokenload" wait -url "$WEB_URL/system-to-system" # the token is cached from here on
web0=$(rss "$WEB_PID")
log "web app: up to $n System to System page calls (64 clients) for at most $dur"
web=$("$BIN/tokenload" get -url "$WEB_URL/system-to-system" -n "$n" -c 64 -duration "$dur" -pid "$WEB_PID" -every "$every")
[ "$(field "$web" failed)" = 0 ] || { log "web app: failed page calls: $web"; exit 1; }
row "6b. web app RSS (MiB) by System to System page calls" \
	"$(trend "$web") (start $((web0 / 1024)))" "—" "—" "bounded" \
	"$(field "$web" requests) page calls in $(printf '%.0f' "$(field "$web" seconds)") s of $n wanted; each page calls the emulator's PDS"
