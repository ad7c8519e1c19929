#!/usr/bin/env bash
# scripts/bench.d/overview.sh — the sweep overview (run by `scripts/bench overview`):
# 1. a sweep directory of 16 runs x 10,000 episodes (metrics.jsonl records as the trainer
#    writes them), the server started on it; the size of the /ws/jobs hello (target <=
#    1 MiB) and the time from connecting to having it (median of RD_BENCH_RUNS x 5), the
#    server's RSS;
# 2. 8 trainers linked and 100 viewers on /ws/jobs: trainer -> browser latency p50/p99
#    (target p99 <= 10 ms), median of RD_BENCH_RUNS runs (bench_server --only overview).
# Printed, never asserted: the figures depend on the machine's load.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bindir=${RD_BIN_DIR:-$root/build/bin}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
python3 - "$root" "$bindir" "${RD_BENCH_RUNS:-3}" <<'PY'
import os, random, shutil, statistics, sys, tempfile, time
root, bindir, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path.insert(0, os.path.join(root, "scripts", "lib"))
from rdclient import WS, rss_mb, start_server, stop_server
tmp = tempfile.mkdtemp(prefix="rd_overview_")
try:
    sweep = os.path.join(tmp, "sweep")
    rnd = random.Random(1)
    for r in range(16):
        d = os.path.join(sweep, f"agent.gamma=0.99,seed={r}")
        os.makedirs(d)
        open(os.path.join(d, "config.toml"), "w").close()
        with open(os.path.join(d, "metrics.jsonl"), "w") as f:
            for e in range(1, 10001):
                st = rnd.randint(50, 500)
                ev = f',"eval_score":{rnd.uniform(100, 500):.2f}' if e % 50 == 0 else ""
                f.write(f'{{"episode":{e},"steps":{st},"total_reward":{st - 1}.000,"epsilon":0.05,'
                        f'"loss":0.0123,"steps_per_second":25000.0,"eta_seconds":12.5,"best":500,'
                        f'"multiplier":1,"stage":3,"outcome":"health"{ev},"timestamp":1764106080.5}}\n')
    log = open(os.path.join(tmp, "server.log"), "w+")
    t0 = time.monotonic()
    srv, port = start_server(bindir, sweep, log)
    print(f"server up with 16 x 10,000 episodes in {1000 * (time.monotonic() - t0):.0f} ms, "
          f"RSS {rss_mb(srv.pid):.1f} MB")
    try:
        times, size = [], 0
        for _ in range(runs * 5):
            t = time.monotonic()
            w = WS(port, "/ws/jobs")
            msg = w.recv()
            times.append(1000 * (time.monotonic() - t))
            size = len(msg)
            w.close()
        print(f"overview hello: {size / 1024:.1f} KiB (target <= 1024 KiB); connect to hello "
              f"median {statistics.median(times):.1f} ms, max {max(times):.1f} ms over {len(times)}; "
              f"RSS {rss_mb(srv.pid):.1f} MB")
    finally:
        stop_server(srv)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
PY
echo "--- 8 trainers, 100 overview viewers (bench_server --only overview)"
if [ -x "$bindir/bench_server" ]; then
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    RD_BIN_DIR="$bindir" "$bindir/bench_server" --runs "${RD_BENCH_RUNS:-3}" --only overview |
        grep -E '^(server pid|overview)'
else
    echo "overview bench: $bindir/bench_server missing (build first)" >&2
    exit 1
fi
