#!/usr/bin/env bash
# scripts/bench.d/server.sh — the server's figures (run by `scripts/bench server`):
# episode -> /ws/training latency p50/p99 with 1, 100 and 1,000 clients; the largest
# client count held at 20 msg/s with p99 < 50 ms; RSS per idle client; inference sessions
# at 10 steps/s before the p99 frame delay passes 50 ms. Each figure is the median of
# RD_BENCH_RUNS runs (default 3). bench_server starts its own server on a free loopback
# port and stops it. Figures depend on the machine's load: compare runs on a quiet machine.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bindir=${RD_BIN_DIR:-$root/build/bin}
# Thousands of sockets on each side: raise the soft limit as far as the hard one allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ ! -x "$bindir/bench_server" ] || [ ! -x "$bindir/server" ]; then
    echo "server bench: $bindir/bench_server or $bindir/server missing (build first)" >&2
    exit 1
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
RD_BIN_DIR="$bindir" "$bindir/bench_server" --runs "${RD_BENCH_RUNS:-3}" ${RD_BENCH_QUICK:+--quick} \
    ${RD_BENCH_ONLY:+--only "$RD_BENCH_ONLY"}
