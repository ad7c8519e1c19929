#!/usr/bin/env bash
# scripts/bench.d/hostile.sh — the server under hostile clients (run by `scripts/bench
# hostile`): /healthz time (median/max of RD_BENCH_RUNS x 11 requests) and the server's RSS
# under 1,000 idle sockets, 300 slowloris sockets, forged Host and cross-site POSTs, a
# trainer sending oversized and invalid records, 200 viewers. See scripts/hostile and
# docs/design/security.md.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bindir=${RD_BIN_DIR:-$root/build/bin}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
status=0
for i in $(seq 1 "${RD_BENCH_RUNS:-3}"); do
    echo "run $i:"
    python3 "$root/scripts/hostile" --bin "$bindir" --runs 11 || status=1
done
exit "$status"
