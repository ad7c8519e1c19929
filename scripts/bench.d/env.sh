#!/usr/bin/env bash
# scripts/bench.d/env.sh — the world (bench/bench_env.c): env steps/s with random valid
# actions at levels 1-3 and the cost of env_observe(), medians of 5 runs of >= 1 s each
# (per CPU second of the thread, and per wall second), then a random policy's mean
# survival over 1000 level 1 episodes at multipliers 0.2 and 1.0 (docs/design/world.md: the
# Python system's random policy survives about 190 and 110). RD_BENCH_QUICK=1: 3 runs
# of 0.2 s.
set -euo pipefail
bin=${RD_BIN_DIR:-build/bin}
if [ -n "${RD_BENCH_QUICK:-}" ]; then
    "$bin/bench_env" --quick
else
    "$bin/bench_env" --runs 5 --seconds 1
fi
