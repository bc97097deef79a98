#!/usr/bin/env bash
# make bench: every benchmark of bench/README.md's table in one run, on
# 127.0.0.1 only, then the table in Markdown (machine, date, command, load
# average before and after). Each script installs what it needs (wrk,
# nginx and gcc from apt; Hydra and local-kms built once into
# ${XDG_CACHE_HOME:-$HOME/.cache}/pkjwt-tools). About 6 minutes on an idle
# 2-core machine; a failing script is reported and the others still run.
# Usage: bench/all.sh [SCRIPT...]   (default: tokens http storm memory localkms)
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
scripts=("$@")
[ ${#scripts[@]} -gt 0 ] || scripts=(tokens http storm memory localkms)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pkjwt-bench-all.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export PKJWT_BENCH_ROWS=$tmp/rows PKJWT_BENCH_BIN=$tmp/bin
: >"$PKJWT_BENCH_ROWS"
mkdir -p "$PKJWT_BENCH_BIN"
"$GO" build -o "$PKJWT_BENCH_BIN/pkjwt" ./cmd/pkjwt
"$GO" build -o "$PKJWT_BENCH_BIN/tokenload" ./bench/cmd/tokenload

load() { cut -d' ' -f1-3 /proc/loadavg; }
started=$(date -u '+%Y-%m-%d %H:%M UTC')
load_before=$(load)
t0=$(date +%s)
failed=()
for s in "${scripts[@]}"; do
	echo "== bench/$s.sh" >&2
	if ! bash "bench/$s.sh" >&2; then
		failed+=("$s")
		echo "| bench/$s.sh | FAILED | | | | see its output above |" >>"$PKJWT_BENCH_ROWS"
	fi
done
secs=$(($(date +%s) - t0))

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
echo
echo "Machine: $(nproc) cores ($cpu), $mem, $(uname -sr), $("$GO" version | cut -d' ' -f3-)."
echo "Run: \`bash bench/all.sh ${scripts[*]}\` (\`make bench\` runs them all), $started, ${secs} s; load average (1, 5, 15 min) $load_before before, $(load) after."
echo
echo "| row | ours | peer | ratio (ours ÷ peer) | target | how |"
echo "| --- | ---: | ---: | ---: | --- | --- |"
cat "$PKJWT_BENCH_ROWS"
if [ ${#failed[@]} -gt 0 ]; then
	echo "failed: ${failed[*]}" >&2
	exit 1
fi
