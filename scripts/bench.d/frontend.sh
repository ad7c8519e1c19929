#!/usr/bin/env bash
# Frontend benchmark (browser side): bundle size gzipped, first render of a 10,000-episode
# history, and frames received/drawn per second with the trainer at full speed in visual
# mode, and the Runs view's overlay of 16 runs x 10,000 episodes, as medians
# (frontend/e2e/bench.mjs, against ./run_demo and Debian's Chromium).
set -uo pipefail
. "$(dirname "$0")/../lib/frontend-ready.sh" || exit 1
RD_BIN_DIR="${RD_BIN_DIR:-$root/build/bin}" timeout 300 npm run --silent bench
