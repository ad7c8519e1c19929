#!/usr/bin/env bash
# scripts/bench.d/learn.sh [--quick] [--levels "1 2 3"] [--seeds "1 2 3 4 5"]
#                          [--episodes N] [--configs DIR] [--stop]
# Time to competence, the headline learning figure: per level and seed, `bench_trainer
# competence` trains with configs/levelL.toml (its curriculum, its defaults) and every 50
# episodes runs a greedy evaluation of 100 episodes at multiplier 1.0 on its own clock. It
# prints the episode and the training wall time (evaluations excluded) at which the greedy
# score first reached 90 % of max_steps (450 of 500 at levels 1 and 2, 648 of 720 at level
# 3), when each curriculum stage was reached, the greedy score at 1.0 after N episodes,
# and how steady the policy was late (of the probes after 40 % of the episodes, how many
# reached 98 % of max_steps, the target for the final; their mean and the lowest); then
# per level the median and the worst seed. A seed that never got there counts as
# worst ("never"). Times are given as wall seconds and as the training thread's CPU
# seconds: on a shared machine the wall clock also measures the neighbours.
#   full (default): seeds 1-5, 10,000 episodes per run (about 50 minutes on a quiet core).
#   --quick (or RD_BENCH_QUICK=1): seeds 1-3, 3,000 episodes, each run stopped at
#       competence (no final figure) — for screening a change.
#   --configs DIR: take levelL.toml from DIR instead of configs/ (an ablation's variant).
# Runs go one at a time under `nice -n 10` (the machine is shared); a run's learning does
# not depend on timing, only its wall time does.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${RD_BIN_DIR:-$root/build/bin}
quick=${RD_BENCH_QUICK:-0}
levels="1 2 3"
seeds=""
episodes=""
cfgdir="$root/configs"
stop=""
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1 ;;
    --levels) levels=$2; shift ;;
    --seeds) seeds=$2; shift ;;
    --episodes) episodes=$2; shift ;;
    --configs) cfgdir=$2; shift ;;
    --stop) stop=--stop ;;
    *) echo "learn bench: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
if [ "$quick" = 1 ]; then
    seeds=${seeds:-1 2 3}; episodes=${episodes:-3000}; stop=--stop
else
    seeds=${seeds:-1 2 3 4 5}; episodes=${episodes:-10000}
fi
B="$bin/bench_trainer"
[ -x "$B" ] || { echo "learn bench: $B missing (build first)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/rd_bench_learn.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

echo "time to competence: greedy (100 episodes) at multiplier 1.0 >= 90 % of max_steps;"
echo "configs from $cfgdir, seeds $seeds, $episodes episodes${stop:+, stopped at competence}"
for lvl in $levels; do
    cfg="$cfgdir/level$lvl.toml"
    [ -f "$cfg" ] || { echo "learn bench: $cfg missing" >&2; exit 1; }
    echo "--- level $lvl ($cfg) ---"
    : > "$tmp/lines.$lvl"
    for s in $seeds; do
        nice -n 10 "$B" competence --config "$cfg" --episodes "$episodes" --seed "$s" \
            --probe-every 50 --eval-episodes 100 $stop > "$tmp/out" 2>&1 || {
            echo "learn bench: level $lvl seed $s failed:" >&2; cat "$tmp/out" >&2; exit 1
        }
        line=$(grep '^competence ' "$tmp/out")
        echo "$line" >> "$tmp/lines.$lvl"
        echo "  $line"
        echo "$line" | awk '{
            for (i = 2; i < NF; i += 2) v[$i] = $(i + 1)
            st = ""
            for (k = 1; ("stage" k "_ep") in v; k++) {
                e = v["stage" k "_ep"]
                st = st " " (e < 0 ? "-" : e "/" v["stage" k "_s"] "s")
            }
            if (v["reached_episode"] < 0) when = "never in " v["episodes"] " episodes"
            else when = "at episode " v["reached_episode"] " after " v["reached_s"] " s (" v["reached_cpu_s"] " CPU s)"
            fin = v["final"] < 0 ? "-" : v["final"]
            printf "  seed %s: competent %s; stages reached (episode/s):%s; final %s; training %s s, probes %s s\n", v["seed"], when, st, fin, v["train_s"], v["eval_s"]
            if (v["late_probes"] > 0)
                printf "    steady: after episode %s, %s of %s probes at 98 %% of max, mean %s, lowest %s\n", v["late_from"], v["late_ok"], v["late_probes"], v["late_mean"], v["late_min"]
        }'
    done
    # Medians and worst over the seeds; "never" sorts after every time.
    awk -v lvl="$lvl" '
        function med(a, n,   i, j, t) {
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            if (n % 2) return a[(n + 1) / 2]
            # Even: the mean of the middle two, unless one is "never" (then never).
            return a[n / 2 + 1] >= 1e9 ? 1e9 : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        function show(x) { return x >= 1e9 ? "never" : sprintf("%.1f", x) }
        function showe(x) { return x >= 1e9 ? "never" : sprintf("%d", x) }
        { for (i = 2; i < NF; i += 2) v[$i] = $(i + 1)
          n++
          rs[n] = v["reached_s"] < 0 ? 1e9 : v["reached_s"]
          rc[n] = v["reached_cpu_s"] < 0 ? 1e9 : v["reached_cpu_s"]
          if (rc[n] > wrc) wrc = rc[n]
          re[n] = v["reached_episode"] < 0 ? 1e9 : v["reached_episode"]
          fin[n] = v["final"]; if (v["final"] >= 0) nf++
          lp += v["late_probes"]; lo += v["late_ok"]
          if (rs[n] > wrs) wrs = rs[n]
          if (re[n] > wre) wre = re[n]
          if (n == 1 || v["final"] < wf) wf = v["final"]
          for (k = 1; ("stage" k "_ep") in v; k++) { se[k, n] = v["stage" k "_ep"] < 0 ? 1e9 : v["stage" k "_ep"]; ss[k, n] = v["stage" k "_s"] < 0 ? 1e9 : v["stage" k "_s"]; nk = k }
        }
        END {
            printf "  level %s, %d seeds: competent after %s s wall, %s CPU s (median; worst %s / %s), episode %s (worst %s)", lvl, n, show(med(rs, n)), show(med(rc, n)), show(wrs), show(wrc), showe(med(re, n)), showe(wre)
            if (nf == n) printf "; final greedy median %.1f, worst %.1f", med(fin, n), wf
            if (lp > 0) printf "; late probes at 98 %%: %d of %d", lo, lp
            printf "\n  stages reached, median episode / s (worst):"
            for (k = 1; k <= nk; k++) {
                w1 = w2 = 0
                for (i = 1; i <= n; i++) { a[i] = se[k, i]; b[i] = ss[k, i]; if (a[i] > w1) w1 = a[i]; if (b[i] > w2) w2 = b[i] }
                printf " stage %d %s / %s (%s / %s);", k, showe(med(a, n)), show(med(b, n)), showe(w1), show(w2)
            }
            printf "\n"
        }' "$tmp/lines.$lvl"
done
