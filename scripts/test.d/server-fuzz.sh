#!/usr/bin/env bash
# scripts/test.d/server-fuzz.sh [SECONDS] — fuzzes the server's client-message parser
# (tests/fuzz_server_msg.c) with libFuzzer under ASan + UBSan for SECONDS (default 20),
# seeded with the commands of docs/PROTOCOL.md. Builds only fuzz_server_msg in
# $RD_FUZZ_BUILD (default build-fuzz, shared with scripts/fuzz). Exits non-zero if it found
# a crash (input in <build>/artifacts/).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
secs=${1:-20}
build=${RD_FUZZ_BUILD:-build-fuzz}

if ! command -v clang >/dev/null 2>&1; then
    echo "server-fuzz: clang is needed (scripts/bootstrap --test installs it)" >&2
    exit 1
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
    CC=clang cmake -S . -B "$build" -DRD_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
fi
cmake --build "$build" --target fuzz_server_msg -j 2 -- --no-print-directory >/dev/null || {
    cmake --build "$build" --target fuzz_server_msg -j 1
    exit 1
}
seeds="$build/seeds-server"
corpus="$build/corpus-server"
mkdir -p "$seeds" "$corpus" "$build/artifacts"
i=0
while IFS= read -r line; do
    [ -n "$line" ] && printf '%s' "$line" >"$seeds/seed-$i" && i=$((i + 1))
done <<'SEEDS'
{"command":"pause"}
{"command":"set_speed","speed":20,"id":"ui-1"}
{"command":"set_mode","visual":true,"id":7}
{"command":"load","model":"ep_0000500"}
{"command":"load","model":"../../x"}
{"command":"follow_latest","enabled":false}
{"command":"set_speed","speed":1e309}
{"command":"x\"y","id":"\u0000\n"}
{"episode":1,"steps":245,"total_reward":244.0,"loss":null}
[1,2,3]
SEEDS
log="$build/fuzz_server_msg.log"
"$build/bin/fuzz_server_msg" "$corpus" "$seeds" -max_total_time="$secs" -timeout=10 \
    -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/fuzz_server_msg-" >"$log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
if [ "$rc" = 0 ]; then
    echo "fuzz_server_msg: ${execs:-?} executions in ${secs} s, nothing found"
else
    echo "fuzz_server_msg: FAILED (exit $rc) after ${execs:-?} executions; see $log and $build/artifacts/"
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 5
fi
exit "$rc"
