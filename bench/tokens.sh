#!/usr/bin/env bash
# Row 1 of bench/README.md: the emulator's token endpoint vs ORY Hydra
# v2.3.0 (SQLite file), same RSA-4096 key, RS512, same load generator
# (bench/cmd/tokenload: 64 clients, pre-signed assertions), and the raw
# rsa.VerifyPKCS1v15 rate with that key on 2 goroutines, in one run.
# Hydra is built once by tools/hydra/build.sh into the tools cache (gcc
# from apt if missing; several minutes the first time).
# Usage: bench/tokens.sh   (PKJWT_BENCH_EMULATOR_N, PKJWT_BENCH_HYDRA_N:
# assertions for each, default 12000 and 4000)
source "$(dirname "$0")/lib.sh"
need_apt gcc gcc
build_bins
export PKJWT_BENCH_BIN=$BIN
hydra=$(GO=$GO bash tools/hydra/build.sh)
PKJWT_HYDRA=$hydra PKJWT_REQUIRE_HYDRA=1 "$GO" test -run '^$' -bench 'TokenEndpointVsHydra' -benchtime 1x -timeout 20m ./bench/ | tee "$WORK/tokens.out" >&2
read -r emu emu99 hyd hyd99 ver emucpu hydcpu vercpu gencpu <<<"$(awk '/^BenchmarkTokenEndpointVsHydra/ {
	for (i = 1; i <= NF; i++) m[$(i)] = $(i-1)
	printf "%s %s %s %s %s %s %s %s %s\n", m["emulator_tokens/s"], m["emulator_p99_ms"], m["hydra_tokens/s"], m["hydra_p99_ms"], m["verify/s"],
		m["emulator_cpu_ms/token"], m["hydra_cpu_ms/token"], m["cpu_ms/verify"], m["loadgen_cpu_ms/emulator_token"]
}' "$WORK/tokens.out")"
[ -n "${gencpu:-}" ] || { log "no result line from the benchmark"; exit 1; }
row "1a. token endpoint vs ORY Hydra v2.3.0, tokens/s (p99 ms)" "$emu ($emu99)" "Hydra $hyd ($hyd99)" "$(ratio "$emu" "$hyd")" "≥ 3" "tokenload, 64 clients, pre-signed RS512 RSA-4096; Hydra over TLS, SQLite file in WAL mode"
row "1b. token endpoint vs raw RSA-4096 verify on 2 goroutines, per s" "$emu" "rsa.VerifyPKCS1v15 $ver" "$(ratio "$emu" "$ver")" "≥ 0.85" "same key, same run (tokenload verify)"
row "1c. CPU time per token (ms, user + system of the server process)" "$emucpu" "Hydra $hydcpu; one verify $vercpu" "Hydra ÷ ours $(ratio "$hydcpu" "$emucpu"); ours ÷ verify $(ratio "$emucpu" "$vercpu")" "(less noisy than 1a, 1b)" "/proc/PID/stat over each timed run; the load generator took $gencpu ms per emulator token on the same cores"
