#!/usr/bin/env bash
# Orchestrator figures (docs/design/orchestrator.md): start → "All systems operational" and SIGINT → exit
# (fixture children, and the real children with --frontend none/static/dev), log lines/s
# through the multiplexer with three children flooding (every line checked), run_demo's
# peak RSS and idle CPU. Medians of RUNS runs (default 5; RD_BENCH_RUNS overrides).
set -uo pipefail
bin=${RD_BIN_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build/bin}
root=$(cd "$(dirname "$0")/../.." && pwd)
"$bin/bench_orch" all "${RD_BENCH_RUNS:-5}" || exit 1
# Orphan strategies compared (docs/design/orchestrator.md): needs the frontend's packages.
if [ -d "$root/frontend/node_modules" ] && command -v python3 >/dev/null; then
    RD_BIN_DIR="$bin" python3 "$root/tests/fixtures/orphans_measure.py" 3
else
    echo "orphans: skipped (frontend/node_modules or python3 missing)"
fi
