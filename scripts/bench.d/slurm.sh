#!/usr/bin/env bash
# Slurm test-cluster figures (docs/design/slurm.md), medians of RUNS runs (default 5;
# RD_BENCH_RUNS overrides): scripts/slurm-cluster start (command start → node idle) and
# stop; sbatch's own call time; sbatch → the task's first command running; one squeue call
# for a 16-task array (the module's poll); a clean stop of a 16-task array (pending ones
# cancelled, running ones TERMed through Slurm, the module's slurm_stop) → no task pending
# or running in squeue. Loopback only; every cluster started here is stopped.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cluster=$root/scripts/slurm-cluster
runs=${RD_BENCH_RUNS:-5}
command -v slurmctld >/dev/null || { echo "slurm: slurmctld not installed (scripts/bootstrap --test)"; exit 1; }
base=$(mktemp -d /tmp/rd-slurm-bench.XXXXXX)
chmod 711 "$base" # munged wants every directory above its socket searchable by all
current=""
trap '[ -n "$current" ] && "$cluster" stop "$current" >/dev/null 2>&1; rm -rf "$base"' EXIT

now() { date +%s.%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
report() { # report NAME UNIT VALUES...
    local name=$1 unit=$2; shift 2
    printf '%-44s median %6s %s   (runs: %s)\n' "$name" "$(printf '%s\n' "$@" | median)" "$unit" "$*"
}

starts=() stops=()
for i in $(seq 1 "$runs"); do
    d="$base/c$i"
    mkdir -p "$d"
    t0=$(now)
    current=$d
    "$cluster" start "$d" >/dev/null 2>&1 || { echo "slurm: the cluster did not start (logs in $d/log)"; exit 1; }
    t1=$(now)
    starts+=("$(ms "$t0" "$t1")")
    if [ "$i" -lt "$runs" ]; then
        t0=$(now)
        "$cluster" stop "$d" >/dev/null 2>&1
        stops+=("$(ms "$t0" "$(now)")")
        current=""
    fi
done
report "cluster start (command to node idle)" ms "${starts[@]}"
report "cluster stop (idle cluster)" ms "${stops[@]}"

export SLURM_CONF=$current/slurm.conf
cat > "$base/stamp.sh" <<'EOF'
#!/bin/bash
date +%s.%N > "$1"
EOF
chmod +x "$base/stamp.sh"
subs=() lat=()
for i in $(seq 1 "$runs"); do
    f="$base/stamp.$i"
    t0=$(now)
    sbatch --parsable --output=/dev/null "$base/stamp.sh" "$f" >/dev/null || exit 1
    t1=$(now)
    for _ in $(seq 1 200); do [ -s "$f" ] && break; sleep 0.01; done
    [ -s "$f" ] || { echo "slurm: job $i never ran"; exit 1; }
    subs+=("$(ms "$t0" "$t1")")
    lat+=("$(ms "$t0" "$(cat "$f")")")
done
report "sbatch call" ms "${subs[@]}"
report "sbatch to task running (its first command)" ms "${lat[@]}"

cat > "$base/sleep.sh" <<'EOF'
#!/bin/bash
trap 'exit 0' TERM
sleep 300 & wait
EOF
chmod +x "$base/sleep.sh"
polls=() stopt=()
for i in $(seq 1 "$runs"); do
    job=$(sbatch --parsable --array=0-15 --output=/dev/null "$base/sleep.sh") || exit 1
    for _ in $(seq 1 100); do
        [ "$(squeue --noheader --jobs="$job" --states=RUNNING --format=%i | wc -l)" -ge 1 ] && break
        sleep 0.05
    done
    for _ in 1 2 3 4; do
        t0=$(now)
        squeue --noheader --array --states=all --jobs="$job" --format='%F|%K|%T|%N|%r' >/dev/null
        polls+=("$(ms "$t0" "$(now)")")
    done
    t0=$(now)
    scancel --state=PENDING "$job"
    scancel --signal=TERM --full --state=RUNNING "$job"
    for _ in $(seq 1 500); do
        [ -z "$(squeue --noheader --jobs="$job" --states=PENDING,RUNNING,COMPLETING --format=%i)" ] && break
        sleep 0.02
    done
    stopt+=("$(ms "$t0" "$(now)")")
done
report "squeue of a 16-task array (one poll)" ms "${polls[@]}"
report "stop of a 16-task array to none in squeue" ms "${stopt[@]}"

t0=$(now)
"$cluster" stop "$current" >/dev/null 2>&1
current=""
echo "cluster stop after the jobs: $(ms "$t0" "$(now)") ms"
