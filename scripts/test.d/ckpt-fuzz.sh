#!/usr/bin/env bash
# scripts/test.d/ckpt-fuzz.sh [SECONDS] — fuzzes the checkpoint reader (tests/fuzz_ckpt.c)
# with libFuzzer under ASan + UBSan for SECONDS (default 20), seeded with valid checkpoints
# the target writes itself. Builds only fuzz_ckpt in $RD_FUZZ_BUILD (default build-fuzz,
# shared with scripts/fuzz). Exits non-zero if it found a crash (input in
# <build>/artifacts/).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
secs=${1:-20}
build=${RD_FUZZ_BUILD:-build-fuzz}

if ! command -v clang >/dev/null 2>&1; then
    echo "ckpt-fuzz: clang is needed (scripts/bootstrap --test installs it)" >&2
    exit 1
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
    CC=clang cmake -S . -B "$build" -DRD_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
fi
cmake --build "$build" --target fuzz_ckpt -j 2 -- --no-print-directory >/dev/null 2>&1 || {
    cmake --build "$build" --target fuzz_ckpt -j 1
    exit 1
}
seeds="$build/seeds-ckpt"
corpus="$build/corpus-ckpt"
mkdir -p "$seeds" "$corpus" "$build/artifacts"
RD_FUZZ_CKPT_SEEDS="$seeds" "$build/bin/fuzz_ckpt" -runs=0 >/dev/null 2>&1
log="$build/fuzz_ckpt.log"
"$build/bin/fuzz_ckpt" "$corpus" "$seeds" -max_total_time="$secs" -timeout=10 \
    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/fuzz_ckpt-" >"$log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
if [ "$rc" = 0 ]; then
    echo "fuzz_ckpt: ${execs:-?} executions in ${secs} s, nothing found"
else
    echo "fuzz_ckpt: FAILED (exit $rc) after ${execs:-?} executions; see $log and $build/artifacts/"
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 5
fi
exit "$rc"
