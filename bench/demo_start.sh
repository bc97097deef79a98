#!/usr/bin/env bash
# Time from process start to the demo's "Open http://..." line, for the first
# run (which generates the 4096-bit key) and for N later runs (which reuse it).
# Loopback only; each demo is stopped with SIGINT after it prints its URL.
# Usage: bench/demo_start.sh [runs]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/pkjwt" ./cmd/pkjwt

start_once() {
	local t0 t1 pid line
	t0=$(date +%s%N)
	"$work/pkjwt" demo --addr 127.0.0.1:0 --dir "$work/demo" >"$work/out" 2>"$work/err" &
	pid=$!
	for _ in $(seq 1 3000); do
		if grep -q '^Open http' "$work/out" 2>/dev/null; then
			t1=$(date +%s%N)
			kill -INT "$pid"
			wait "$pid"
			echo $(((t1 - t0) / 1000000))
			return
		fi
		sleep 0.01
	done
	kill "$pid" 2>/dev/null || true
	echo "demo did not print its URL within 30s" >&2
	cat "$work/err" >&2
	exit 1
}

first=$(start_once)
echo "first run (generates the key): ${first} ms"
total=0
for i in $(seq 1 "$runs"); do
	ms=$(start_once)
	echo "later run $i: ${ms} ms"
	total=$((total + ms))
done
echo "later runs, mean: $((total / runs)) ms (target: under 2000 ms)"
