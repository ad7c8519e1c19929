#!/usr/bin/env bash
# scripts/test.d/server-fuzz.sh [SECONDS] — fuzzes the server's client-message parser
# (tests/fuzz_server_msg.c) with libFuzzer under ASan + UBSan for SECONDS (default 20),
# seeded with the commands of docs/PROTOCOL.md. Builds only fuzz_server_msg in
# $RD_FUZZ_BUILD (default build-fuzz, shared with scripts/fuzz). Exits non-zero if it found
# a crash (input in <build>/artifacts/).
set -uo pipefail
. "$(dirname "$0")/../lib/fuzz-target.sh"
fuzz_target_build server-fuzz fuzz_server_msg || exit 1
seeds="$build/seeds-server"
mkdir -p "$seeds"
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
fuzz_target_run fuzz_server_msg "$build/corpus-server" "$seeds" "$secs" 4096
