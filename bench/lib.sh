# Shared by the bench/*.sh scripts (sourced, not run): dependencies, the
# binaries, loopback servers started and stopped by the script, wrk parsing,
# and the result rows that bench/all.sh gathers into one table.
# Everything listens on 127.0.0.1 only; every process started here is
# stopped by its PID when the script exits.

set -euo pipefail
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$BENCH_ROOT"
GO=${GO:-go}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pkjwt-bench.XXXXXX")
BENCH_PIDS=()

# The client's settings come from flags here, never from the caller's
# environment (a PKJWT_KEYS or PKJWT_PROFILE there would change the run).
for v in $(compgen -e | grep '^PKJWT_' || true); do
	case $v in PKJWT_HYDRA | PKJWT_LOCALKMS | PKJWT_REQUIRE_* | PKJWT_BENCH_*) ;; *) unset "$v" ;; esac
done

bench_cleanup() {
	local pid
	for pid in "${BENCH_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${BENCH_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap bench_cleanup EXIT

log() { echo "bench: $*" >&2; }

# need_apt CMD PACKAGE: install PACKAGE with apt-get when CMD is missing.
need_apt() {
	command -v "$1" >/dev/null 2>&1 && return 0
	log "$1 is missing: installing the Debian package $2"
	local sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >&2
}

# build_bins: pkjwt and tokenload into $BIN (reused when bench/all.sh built
# them already and exported PKJWT_BENCH_BIN).
build_bins() {
	BIN=${PKJWT_BENCH_BIN:-$WORK/bin}
	if [ ! -x "$BIN/pkjwt" ] || [ ! -x "$BIN/tokenload" ]; then
		mkdir -p "$BIN"
		"$GO" build -o "$BIN/pkjwt" ./cmd/pkjwt
		"$GO" build -o "$BIN/tokenload" ./bench/cmd/tokenload
	fi
}

# freeport: a TCP port of 127.0.0.1 that nothing answered on a moment ago,
# for nginx only (it cannot report a port it picked); our servers take
# --addr 127.0.0.1:0 and report theirs (wait_addr).
freeport() {
	local p i
	for i in $(seq 1 200); do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	log "no free port found"
	return 1
}

# start_pair BITS [EMULATOR FLAGS...]: a key directory with one RSA key of
# BITS bits, "pkjwt serve" (the web app: JWKS, pages) and "pkjwt emulator"
# with the app registered against the web app's JWKS. Sets CLIENT_ID,
# KEYDIR, EMU_URL, EMU_PID, TOKEN_URL, PDS_URL, WEB_URL, WEB_PID. Both log
# one line per request, to files (as they would in production). Each
# server takes a free port and reports it (--addr 127.0.0.1:0
# --addr-file). The emulator needs the app's JWKS URL and the web app the
# emulator's token URL: a first "pkjwt serve" of the same key directory
# (the same JWKS) publishes the one the app is registered with, then the
# emulator starts, then the web app measured here.
start_pair() {
	local bits=$1
	shift
	CLIENT_ID=bench-app
	KEYDIR=$WORK/keys
	"$BIN/pkjwt" keys generate --dir "$KEYDIR" --bits "$bits" >/dev/null
	"$BIN/pkjwt" serve --addr 127.0.0.1:0 --addr-file "$WORK/jwks.addr" --profile local \
		--client-id "$CLIENT_ID" --dir "$KEYDIR" >"$WORK/jwks.out" 2>"$WORK/jwks.log" &
	BENCH_PIDS+=("$!")
	local jwks_url
	jwks_url=http://$(wait_addr "$WORK/jwks.addr")/.well-known/jwks.json
	"$BIN/pkjwt" emulator --addr 127.0.0.1:0 --addr-file "$WORK/emulator.addr" --app-key "$CLIENT_ID" \
		--app-jwks-url "$jwks_url" "$@" >"$WORK/emulator.out" 2>"$WORK/emulator.log" &
	EMU_PID=$!
	BENCH_PIDS+=("$EMU_PID")
	EMU_URL=http://$(wait_addr "$WORK/emulator.addr")
	TOKEN_URL=$EMU_URL/oauth2/token
	PDS_URL=$EMU_URL/personal-demographics/FHIR/R4
	"$BIN/pkjwt" serve --addr 127.0.0.1:0 --addr-file "$WORK/serve.addr" --profile local --token-url "$TOKEN_URL" \
		--client-id "$CLIENT_ID" --dir "$KEYDIR" >"$WORK/serve.out" 2>"$WORK/serve.log" &
	WEB_PID=$!
	BENCH_PIDS+=("$WEB_PID")
	WEB_URL=http://$(wait_addr "$WORK/serve.addr")
}

# wait_addr FILE: wait (60 s at most) for the --addr-file a server writes
# once it listens, and print the address in it.
wait_addr() {
	local i
	for i in $(seq 1 600); do
		[ -s "$1" ] && cat "$1" && return 0
		sleep 0.1
	done
	log "no address in $1 after 60 s"
	return 1
}

# wait_line FILE PATTERN: wait (60 s at most) until FILE holds PATTERN.
wait_line() {
	local i
	for i in $(seq 1 600); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	log "$1 never said '$2'"
	return 1
}

# get_token: a valid access token of the app from the emulator, through the
# CLI (kept in a shell variable, never printed).
get_token() {
	"$BIN/pkjwt" token --profile local --token-url "$TOKEN_URL" --client-id "$CLIENT_ID" \
		--dir "$KEYDIR" --show-token | sed -n 's/.*"access_token": *"\([^"]*\)".*/\1/p' | head -1
}

# start_nginx: Debian's nginx, in the foreground (no daemon), serving
# $WORK/www on a free port of 127.0.0.1 with 2 workers (nproc), keep-alive
# unlimited and an access log to a file like our servers. Sets NGINX_URL.
start_nginx() {
	need_apt nginx nginx
	local np
	np=$(freeport)
	mkdir -p "$WORK/nginx" "$WORK/www"
	chmod 0755 "$WORK" "$WORK/www" "$WORK/nginx" # the workers run as nobody
	cat >"$WORK/nginx/nginx.conf" <<CONF
daemon off;
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
	access_log $WORK/nginx/access.log;
	client_body_temp_path $WORK/nginx/body;
	proxy_temp_path $WORK/nginx/proxy;
	fastcgi_temp_path $WORK/nginx/fastcgi;
	uwsgi_temp_path $WORK/nginx/uwsgi;
	scgi_temp_path $WORK/nginx/scgi;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 10000000;
	keepalive_timeout 65s;
	default_type application/json;
	server {
		listen 127.0.0.1:$np;
		root $WORK/www;
	}
}
CONF
	nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" &
	BENCH_PIDS+=("$!")
	NGINX_URL=http://127.0.0.1:$np
}

# wrk_run ARGS...: runs wrk --latency --timeout 10s and prints
# "RPS P50MS P99MS NON2XX ERRORS": ERRORS counts connect, read and write
# errors and requests without an answer within 10 s (wrk's default of 2 s
# would count a slow answer on a busy machine as an error).
wrk_run() {
	need_apt wrk wrk
	local out
	out=$(wrk --latency --timeout 10s "$@")
	echo "$out" >>"$WORK/wrk.log"
	echo "$out" | awk '
	function toms(v) {
		if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
		if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
		if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
		return v + 0
	}
	/^ +50%/ { p50 = toms($2) }
	/^ +99%/ { p99 = toms($2) }
	/^Requests\/sec:/ { rps = $2 }
	/Non-2xx or 3xx responses:/ { non = $NF }
	/Socket errors:/ { err = $0; gsub(/[^0-9 ]/, "", err); split(err, a, " "); errs = a[1] + a[2] + a[3] + a[4] }
	END { printf "%s %.3f %.3f %d %d\n", rps, p50, p99, non, errs }'
}

# row NAME OURS PEER RATIO TARGET NOTE: one line of the results table, on
# stdout and appended to $PKJWT_BENCH_ROWS (bench/all.sh's table).
row() {
	local line="| $1 | $2 | $3 | $4 | $5 | $6 |"
	echo "$line"
	if [ -n "${PKJWT_BENCH_ROWS:-}" ]; then echo "$line" >>"$PKJWT_BENCH_ROWS"; fi
}

# ratio A B: A/B with 2 decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
