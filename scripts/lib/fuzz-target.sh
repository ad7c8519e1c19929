# scripts/lib/fuzz-target.sh — the build-and-run part shared by the short fuzz steps of
# scripts/test.d/ (ckpt-fuzz.sh, server-fuzz.sh). Source it with the step's arguments; it
# moves to the repository root and sets secs (the first argument, default 20) and build
# (the fuzz build directory: $RD_FUZZ_BUILD, default build-fuzz, shared with scripts/fuzz).
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
secs=${1:-20}
build=${RD_FUZZ_BUILD:-build-fuzz}

# fuzz_target_build STEP TARGET — checks for clang, configures $build with RD_FUZZ=ON when
# it is not yet, and builds TARGET alone (its errors shown on failure). Non-zero on failure.
fuzz_target_build() {
    local step=$1 target=$2
    if ! command -v clang >/dev/null 2>&1; then
        echo "$step: clang is needed (scripts/bootstrap --test installs it)" >&2
        return 1
    fi
    if [ ! -f "$build/CMakeCache.txt" ]; then
        CC=clang cmake -S . -B "$build" -DRD_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || return 1
    fi
    cmake --build "$build" --target "$target" -j 2 -- --no-print-directory >/dev/null 2>&1 || {
        cmake --build "$build" --target "$target" -j 1
        return 1
    }
}

# fuzz_target_run TARGET CORPUS SEEDS SECONDS MAX_LEN — runs $build/bin/TARGET on CORPUS
# and SEEDS for SECONDS under libFuzzer, log in $build/TARGET.log, crashing inputs in
# $build/artifacts/; prints one line (and the error lines on failure) and returns the
# fuzzer's exit status.
fuzz_target_run() {
    local target=$1 corpus=$2 seeds=$3 secs=$4 max_len=$5
    local log="$build/$target.log" rc execs
    mkdir -p "$corpus" "$seeds" "$build/artifacts"
    "$build/bin/$target" "$corpus" "$seeds" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 \
        -artifact_prefix="$build/artifacts/$target-" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ "$rc" = 0 ]; then
        echo "$target: ${execs:-?} executions in ${secs} s, nothing found"
    else
        echo "$target: FAILED (exit $rc) after ${execs:-?} executions; see $log and $build/artifacts/"
        grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 5
    fi
    return "$rc"
}
