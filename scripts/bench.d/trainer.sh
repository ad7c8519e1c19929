#!/usr/bin/env bash
# scripts/bench.d/trainer.sh [--quick] — the trainer's figures (docs/design/learner.md): the matrix
# work against single-core sgemm, environment and training throughput, wall time and peak
# RSS for 10,000 level 1 episodes, and the learning report (greedy evaluations at 1k/2k/5k/10k
# episodes for three seeds beside a random policy, 50-episode blocks at multiplier 0.2,
# curriculum stages, levels 2 and 3). --quick (or RD_BENCH_QUICK=1) shrinks every run for
# development. Learning runs of different seeds go two at a time (two cores); their
# learning figures do not depend on timing, throughput figures are measured alone.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${RD_BIN_DIR:-$root/build/bin}
quick=${RD_BENCH_QUICK:-0}
[ "${1:-}" = "--quick" ] && quick=1
export OPENBLAS_NUM_THREADS=1
B="$bin/bench_trainer"
L1="$root/configs/level1.toml"
for f in "$B" "$bin/bench_trainer_nn" "$bin/trainer"; do
    [ -x "$f" ] || { echo "trainer bench: $f missing (build first)" >&2; exit 1; }
done
if [ "$quick" = 1 ]; then
    runs=3; secs=1; wall_eps=1000; learn_eps=1000; evals=500,1000; seeds=(1); block_seeds=(1)
    lvl_eps=300
else
    runs=5; secs=3; wall_eps=10000; learn_eps=10000; evals=1000,2000,5000,10000; seeds=(1 2 3)
    block_seeds=(1 2 3); lvl_eps=3000
fi
tmp=$(mktemp -d /tmp/rd_bench_trainer_sh.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# Runs "$@" for each seed, two at a time, printing outputs in seed order.
per_seed() {
    local -a pids=(); local i=0
    for s in "${SEEDS[@]}"; do
        "$@" --seed "$s" > "$tmp/out.$s" 2>&1 &
        pids+=($!); i=$((i + 1))
        if [ $((i % 2)) = 0 ]; then wait "${pids[@]}"; pids=(); fi
    done
    [ "${#pids[@]}" -gt 0 ] && wait "${pids[@]}"
    for s in "${SEEDS[@]}"; do cat "$tmp/out.$s"; done
}

echo "--- matrix work: OpenBLAS sgemm vs native kernels at the update's shapes ---"
"$bin/bench_trainer_nn" --runs "$runs"
echo "--- environment (random valid actions, one core) ---"
"$B" env --config "$L1" --runs "$runs"
echo "--- training throughput (level 1, batch 64, one update per 4 steps) ---"
"$B" throughput --config "$L1" --runs "$runs" --seconds "$secs"
echo "--- wall time and peak RSS: $wall_eps level 1 episodes, the trainer binary, headless ---"
RD_LOG_LEVEL=warn "$B" wall --bin "$bin" --config "$L1" --episodes "$wall_eps" --seed 1
echo "--- random policy (level 1) ---"
for m in 0.2 0.5 0.8 1.0; do "$B" random --config "$L1" --multiplier "$m" --episodes 1000; done
echo "--- learning at multiplier 0.2: mean training survival per 50-episode block ---"
echo "    (Python system: ~240 for 0-49, 360 for 200-249, 430 for 400-449, 470 for 650-699)"
SEEDS=("${block_seeds[@]}")
per_seed "$B" learn --config "$L1" --multiplier 0.2 --episodes 700 \
    --blocks --eval-at 700
echo "--- learning with the curriculum (level 1): greedy evaluations, stages ---"
SEEDS=("${seeds[@]}")
per_seed "$B" learn --config "$L1" --episodes "$learn_eps" --eval-at "$evals"
for lvl in 2 3; do
    cfg="$root/configs/level$lvl.toml"
    [ -f "$cfg" ] || continue
    echo "--- level $lvl: learned vs random ---"
    "$B" random --config "$cfg" --episodes 1000
    "$B" learn --config "$cfg" --episodes "$lvl_eps" --eval-at "$lvl_eps" --seed 1
done
