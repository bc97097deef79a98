#!/usr/bin/env bash
# The first demo on a fresh machine: time from `go run ./cmd/pkjwt demo` to
# its "Open http://..." line with EMPTY module and build caches, so the time
# includes downloading the modules, compiling every package and generating
# the RSA-4096 key. GOPROXY is whatever the environment has; the temporary
# caches are deleted at the end (-modcacherw makes the module cache
# deletable). Loopback only; the demo is stopped with SIGINT.
# Usage: bench/demo_first.sh [timeout-seconds]   (default 1800)
set -euo pipefail
set -m # the demo runs in a process group of its own: SIGINT reaches go run's child
cd "$(dirname "$0")/.."
limit=${1:-1800}
work=$(mktemp -d "${TMPDIR:-/tmp}/pkjwt-demo-first.XXXXXX")
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill -INT -- "-$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	chmod -R u+w "$work" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

export GOMODCACHE="$work/mod" GOCACHE="$work/cache"
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-modcacherw"
echo "go: $(go version); GOPROXY=$(go env GOPROXY); $(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

t0=$(date +%s%N)
go run ./cmd/pkjwt demo --addr 127.0.0.1:0 --dir "$work/demo" >"$work/out" 2>"$work/err" &
pid=$!
while ! grep -q '^Open http' "$work/out" 2>/dev/null; do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "go run exited before the demo printed its URL:" >&2
		cat "$work/err" >&2
		pid=
		exit 1
	fi
	if [ $((($(date +%s%N) - t0) / 1000000000)) -ge "$limit" ]; then
		echo "the demo did not print its URL within ${limit}s" >&2
		tail -20 "$work/err" >&2
		exit 1
	fi
	sleep 0.1
done
t1=$(date +%s%N)
kill -INT -- "-$pid"
wait "$pid" 2>/dev/null || true
pid=

ms=$(((t1 - t0) / 1000000))
modules=$(find "$GOMODCACHE/cache/download" -name '*.zip' | wc -l)
printf 'first demo with empty caches: %d.%01d s to "Open http" (%d module zips downloaded, module cache %s, build cache %s); load average at end: %s\n' \
	$((ms / 1000)) $((ms % 1000 / 100)) "$modules" "$(du -sh "$GOMODCACHE" | cut -f1)" "$(du -sh "$GOCACHE" | cut -f1)" "$(cut -d' ' -f1-3 /proc/loadavg)"
