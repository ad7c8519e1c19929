#!/usr/bin/env bash
# Slurm test-cluster figures (docs/design/slurm.md), medians of RUNS runs (default 5;
# RD_BENCH_RUNS overrides): scripts/slurm-cluster start (command start → node idle) and
# stop; sbatch's own call time; sbatch → the task's first command running; one squeue call
# for a 16-task array (the module's poll); a clean stop of a 16-task array (pending ones
# cancelled, running ones TERMed through Slurm, the module's slurm_stop) → no task pending
# or running in squeue; then run_demo --backend slurm on it (a 16-run sweep): sbatch → the
# trainer's first episode at the server, Ctrl+C → empty squeue, squeue calls per 2 s.
# Loopback only; every cluster started here is stopped.
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

# run_demo --backend slurm itself (docs/design/slurm.md's targets): a 16-run sweep, 16 at
# once, each run long enough to outlast the measure. sbatch and squeue are wrapped (a PATH
# shim ahead of Slurm's) to time each submission and count each query.
bin=$root/build/bin
if [ -x "$bin/run_demo" ] && [ -x "$bin/trainer" ] && [ -x "$bin/server" ]; then
    shim=$base/shim
    mkdir -p "$shim"
    for tool in sbatch squeue; do
        real=$(command -v "$tool")
        printf '#!/bin/bash\ndate +%%s.%%N >> %s/%s.log\nexec %s "$@"\n' "$base" "$tool" "$real" > "$shim/$tool"
        chmod +x "$shim/$tool"
    done
    printf '[environment]\nmax_steps = 100\n[agent]\nhidden = [32, 32]\nreplay_capacity = 5000\nlearning_starts = 200\n[training]\ncheckpoint_every = 50\neval_every = 0\nprogress_every = 1\n' > "$base/fast.toml"
    iso() { date -d "$1" +%s.%N; } # the trainer's own UTC timestamps
    firsts=() rates=() stops=()
    for i in $(seq 1 "$runs"); do
        sweep=$base/sweep$i
        rm -f "$base/sbatch.log" "$base/squeue.log"
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        PATH=$shim:$PATH nice -n 10 "$bin/run_demo" --backend slurm --config "$base/fast.toml" \
            --runs 16 --parallel 16 --episodes 1000000 --checkpoint-dir "$sweep" --port "$port" \
            --frontend none --no-browser --color never > "$base/run$i.out" 2>&1 &
        rd=$!
        for _ in $(seq 1 300); do grep -q 'INFO trainer: link: connected' "$base/run$i.out" && break; sleep 0.1; done
        sleep 10 # a steady phase: the queries counted below
        q0=$(wc -l < "$base/squeue.log"); t0=$(now); sleep 10
        q1=$(wc -l < "$base/squeue.log"); t1=$(now)
        rates+=("$(awk -v n=$((q1 - q0)) -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", n / ((b - a) / 2) }')")
        # sbatch → the first episode at the server: the later of the trainer's first episode
        # and its link's connection (the episode waits in the link's queue until then).
        sub=$(head -1 "$base/sbatch.log")
        ep=$(grep -m1 -o '[0-9T:.-]*Z INFO trainer: episode 1/' "$base/run$i.out" | cut -d' ' -f1)
        ln=$(grep -m1 -o '[0-9T:.-]*Z INFO trainer: link: connected' "$base/run$i.out" | cut -d' ' -f1)
        if [ -n "$ep" ] && [ -n "$ln" ]; then
            a=$(iso "$ep"); b=$(iso "$ln")
            firsts+=("$(ms "$sub" "$(awk -v a="$a" -v b="$b" 'BEGIN { print (a > b ? a : b) }')")")
        fi
        kill -INT "$rd"; t0=$(now)
        for _ in $(seq 1 1000); do
            [ -z "$(squeue --noheader --states=PENDING,RUNNING,COMPLETING,CONFIGURING --format=%i)" ] && break
            sleep 0.02
        done
        stops+=("$(ms "$t0" "$(now)")")
        wait "$rd"
        echo "run_demo --backend slurm run $i: exit $?, $(grep -c . "$base/sbatch.log") sbatch"
    done
    report "run_demo: sbatch to first episode at server" ms "${firsts[@]}"
    report "run_demo: Ctrl+C to empty squeue (16 tasks)" ms "${stops[@]}"
    report "run_demo: squeue calls per 2 s (16 runs)" calls "${rates[@]}"
else
    echo "run_demo --backend slurm: skipped (build run_demo, trainer and server first)"
fi

t0=$(now)
"$cluster" stop "$current" >/dev/null 2>&1
current=""
echo "cluster stop after the jobs: $(ms "$t0" "$(now)") ms"
