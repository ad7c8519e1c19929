#!/usr/bin/env bash
# The orchestrator's long reliability runs against the real children (docs/design/orchestrator.md):
# kill -9 of run_demo 20 times (with `npm run dev` when frontend/node_modules exists) — no
# descendant may survive 1 s — and SIGINT at 50 random instants — exit 130, a loadable
# checkpoint, --checkpoint-dir resume at the saved episode, nothing left running. ctest runs
# the same test with 3 and 4 trials.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${RD_BIN_DIR:-$root/build/bin}
RD_ORCH_KILL_TRIALS=${RD_ORCH_KILL_TRIALS:-20} RD_ORCH_INT_TRIALS=${RD_ORCH_INT_TRIALS:-50} \
    RD_BIN_DIR="$bin" RD_SOURCE_DIR="$root" "$bin/test_orch_real"
rc=$?
# Sweeps: kill -9 of run_demo during a sweep with 2 trainers (and npm run dev when
# frontend/node_modules exists), 20 trials, each bounded (60 s to start, 1 s to be empty);
# the other sweep cases (override errors, grid, failure, SIGINT + exact resume) once.
RD_ORCH_SWEEP_KILL_TRIALS=${RD_ORCH_SWEEP_KILL_TRIALS:-20} RD_BIN_DIR="$bin" RD_SOURCE_DIR="$root" \
    timeout 1200 "$bin/test_orch_sweep" || rc=1
exit $rc
