#!/usr/bin/env bash
# HTTP rows of bench/README.md, each pair side by side in one run, all from
# the same load generator (Debian's wrk) on 127.0.0.1:
#   2. the web app's JWKS endpoint (pkjwt serve) vs nginx serving the same
#      bytes as a static file          wrk -t2 -c64
#   3. the emulator's PDS GET /Patient/9000000009 with a valid token vs the
#      same request to nginx serving the same body as a static file (the
#      HTTP floor)                     wrk -t2 -c64, bench/pds.lua
#   4. the web app's System to System page (cached token, one PDS call per
#      page) vs the same PDS call made directly with a token: the latency the
#      page adds                       wrk -t1 -c1
# Usage: bench/http.sh   (PKJWT_BENCH_WRK_DURATION, default 10s per run)
source "$(dirname "$0")/lib.sh"
dur=${PKJWT_BENCH_WRK_DURATION:-10s}
need_apt wrk wrk
build_bins
start_pair 4096
start_nginx

check() { # check NAME NON2XX ERRORS
	if [ "$2" != 0 ] || [ "$3" != 0 ]; then
		log "$1: $2 non-2xx responses, $3 socket errors (see the wrk output above)"
		tail -40 "$WORK/wrk.log" >&2
		exit 1
	fi
}

# 2. JWKS: nginx serves the very bytes the web app serves.
mkdir -p "$WORK/www/.well-known"
"$BIN/tokenload" wait -url "$WEB_URL/.well-known/jwks.json" -o "$WORK/www/.well-known/jwks.json"
"$BIN/tokenload" wait -url "$NGINX_URL/.well-known/jwks.json" -o "$WORK/nginx-jwks.json"
cmp -s "$WORK/www/.well-known/jwks.json" "$WORK/nginx-jwks.json" || { log "nginx does not serve the same JWKS bytes"; exit 1; }
log "JWKS ($(wc -c <"$WORK/nginx-jwks.json") bytes): wrk -t2 -c64 -d$dur, web app then nginx"
read -r o_rps o_p50 o_p99 o_non o_err <<<"$(wrk_run -t2 -c64 -d"$dur" "$WEB_URL/.well-known/jwks.json")"
check "web app JWKS" "$o_non" "$o_err"
read -r n_rps n_p50 n_p99 n_non n_err <<<"$(wrk_run -t2 -c64 -d"$dur" "$NGINX_URL/.well-known/jwks.json")"
check "nginx JWKS" "$n_non" "$n_err"
row "2. JWKS endpoint, req/s (p99 ms)" "$o_rps ($o_p99)" "nginx $n_rps ($n_p99)" "$(ratio "$o_rps" "$n_rps")" "≥ 0.9" "wrk -t2 -c64 -d$dur; both log every request to a file"

# 3. PDS with a valid token vs the same request to a static file.
PKJWT_BENCH_TOKEN=$(get_token)
[ -n "$PKJWT_BENCH_TOKEN" ] || { log "no token from the emulator"; exit 1; }
export PKJWT_BENCH_TOKEN
patient=personal-demographics/FHIR/R4/Patient/9000000009
mkdir -p "$WORK/www/$(dirname "$patient")"
"$BIN/tokenload" wait -url "$EMU_URL/$patient" -bearer-env PKJWT_BENCH_TOKEN -o "$WORK/www/$patient"
"$BIN/tokenload" wait -url "$NGINX_URL/$patient"
log "PDS Patient ($(wc -c <"$WORK/www/$patient") bytes): wrk -t2 -c64 -d$dur -s bench/pds.lua, emulator then nginx"
read -r o_rps o_p50 o_p99 o_non o_err <<<"$(wrk_run -t2 -c64 -d"$dur" -s bench/pds.lua "$EMU_URL/$patient")"
check "emulator PDS" "$o_non" "$o_err"
read -r n_rps n_p50 n_p99 n_non n_err <<<"$(wrk_run -t2 -c64 -d"$dur" -s bench/pds.lua "$NGINX_URL/$patient")"
check "nginx PDS file" "$n_non" "$n_err"
row "3. PDS GET /Patient/9000000009 with a token, req/s (p99 ms)" "$o_rps ($o_p99)" "nginx static file $n_rps ($n_p99)" "$(ratio "$o_rps" "$n_rps")" "(the floor)" "wrk -t2 -c64 -d$dur -s bench/pds.lua"

# 4. The System to System page vs the PDS call it makes, one client at a time.
"$BIN/tokenload" wait -url "$WEB_URL/system-to-system" # fetches and caches the token
log "System to System page vs direct PDS call: wrk -t1 -c1 -d$dur"
read -r d_rps d_p50 d_p99 d_non d_err <<<"$(wrk_run -t1 -c1 -d"$dur" -s bench/pds.lua "$EMU_URL/$patient")"
check "direct PDS" "$d_non" "$d_err"
read -r p_rps p_p50 p_p99 p_non p_err <<<"$(wrk_run -t1 -c1 -d"$dur" "$WEB_URL/system-to-system")"
check "System to System page" "$p_non" "$p_err"
over=$(awk -v p="$p_p50" -v d="$d_p50" 'BEGIN { printf "+%.3f ms (%.0f%%)", p - d, (p / d - 1) * 100 }')
row "4. System to System page vs direct PDS call, p50 ms (p99)" "page $p_p50 ($p_p99)" "direct $d_p50 ($d_p99)" "$(ratio "$p_p50" "$d_p50"); $over" "≤ 1.10" "wrk -t1 -c1 -d$dur; cached token"
