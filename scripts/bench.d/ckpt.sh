#!/usr/bin/env bash
# scripts/bench.d/ckpt.sh — checkpoint save/load times for a 100,000-transition replay
# buffer (bench/bench_ckpt.c), median of 5 runs, once with the SSE4.2 CRC32C and once with
# the table fallback. Files go to $TMPDIR (default /tmp): the figures include that disk's
# fsync.
set -euo pipefail
bin=${RD_BIN_DIR:-build/bin}
"$bin/bench_ckpt" --runs 5
echo "-- without SSE4.2 (RD_CKPT_CRC=sw):"
RD_CKPT_CRC=sw "$bin/bench_ckpt" --runs 5
