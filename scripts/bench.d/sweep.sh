#!/usr/bin/env bash
# Sweep figures (docs/design/sweeps.md), printed, never asserted:
#  - aggregate training throughput (env steps of every run / wall time of run_demo, start
#    to exit) of one run, of a 2-run sweep with --parallel 2 and with --parallel 1, each
#    with the server and the static frontend running;
#  - exec → "All systems operational" for a 16-run sweep (--frontend none and static,
#    --parallel 2 and 8);
#  - checkpoint bytes of one run at the defaults after 3000 episodes (6 checkpoints).
# Medians of RUNS runs (default 3; RD_BENCH_RUNS overrides). RD_BENCH_EPISODES (default 600)
# sets the episodes per run of the throughput runs.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${RD_BIN_DIR:-$root/build/bin}
runs=${RD_BENCH_RUNS:-3}
eps=${RD_BENCH_EPISODES:-600}
for f in run_demo trainer server rd_exec; do
    [ -x "$bin/$f" ] || { echo "sweep bench: $bin/$f missing (build first)" >&2; exit 1; }
done
fe=static
[ -f "$root/frontend/dist/index.html" ] || fe=none
tmp=$(mktemp -d /tmp/rd_bench_sweep.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export RD_RUNS_DIR="$tmp/runs"

median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "n/a"}'; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Sum of "steps" over every metrics.jsonl under $1.
steps_in() { find "$1" -name metrics.jsonl -exec cat {} + | grep -o '"steps":[0-9]*' | awk -F: '{s+=$2} END {print s+0}'; }

# throughput DIR ARGS...: runs run_demo to completion, prints aggregate env steps/s.
throughput() {
    local dir=$1; shift
    local t0 t1
    t0=$(date +%s.%N)
    "$bin/run_demo" --port "$(free_port)" --frontend "$fe" --no-browser --exit-on-complete \
        --checkpoint-dir "$dir" --episodes "$eps" "$@" >"$dir.log" 2>&1 || { echo "run failed: $dir.log" >&2; }
    t1=$(date +%s.%N)
    awk -v s="$(steps_in "$dir")" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f\n", s / (b - a)}'
}

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
declare -A res
for mode in single p2 p1; do
    vals=()
    for r in $(seq "$runs"); do
        d="$tmp/$mode$r"
        case $mode in
            single) v=$(throughput "$d") ;;
            p2) v=$(throughput "$d" --runs 2 --parallel 2) ;;
            p1) v=$(throughput "$d" --runs 2 --parallel 1) ;;
        esac
        vals+=("$v")
        rm -rf "$d"
    done
    res[$mode]=$(printf '%s\n' "${vals[@]}" | median)
    echo "throughput $mode ($eps episodes per run, frontend $fe): runs ${vals[*]} steps/s, median ${res[$mode]}"
done
awk -v a="${res[p2]}" -v b="${res[single]}" -v c="${res[p1]}" \
    'BEGIN {printf "aggregate --parallel 2 / one run: %.2fx (target >= 1.8x); --parallel 1 / one run: %.2fx (target >= 1.0x)\n", a / b, c / b}'

# 16-run sweep: exec → "All systems operational".
for f in none $fe; do
    for p in 2 8; do
        vals=()
        for r in $(seq $((runs + 2))); do
            d="$tmp/start$r"
            "$bin/run_demo" --port "$(free_port)" --frontend "$f" --no-browser --runs 16 \
                --parallel "$p" --checkpoint-dir "$d" >"$d.log" 2>&1 &
            pid=$!
            for _ in $(seq 300); do grep -qs "All systems operational" "$d.log" && break; sleep 0.02; done
            kill -INT "$pid"; wait "$pid" 2>/dev/null
            vals+=("$(grep -o 'All systems operational ([0-9]* ms)' "$d.log" | grep -o '[0-9]*')")
            rm -rf "$d" "$d.log"
        done
        echo "16-run sweep, --parallel $p, --frontend $f: exec -> All systems operational ${vals[*]} ms, median $(printf '%s\n' "${vals[@]}" | median) ms (target <= 300)"
    done
done

# Checkpoint bytes of one run at the defaults (replay full after ~600 episodes).
d="$tmp/disk"
nice -n 10 "$bin/trainer" --run-dir "$d" --episodes "${RD_BENCH_DISK_EPISODES:-3000}" --quiet >/dev/null 2>&1
echo "checkpoints of one run at the defaults after ${RD_BENCH_DISK_EPISODES:-3000} episodes:"
ls -l "$d/checkpoints" | awk 'NR > 1 {printf "  %-22s %10d bytes\n", $9, $5}'
echo "  total $(du -sb "$d/checkpoints" | cut -f1) bytes (target <= 40 MB)"
