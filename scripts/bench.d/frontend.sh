#!/usr/bin/env bash
# Frontend benchmark (browser side): bundle size gzipped, first render of a 10,000-episode
# history, and frames received/drawn per second with the trainer at full speed in visual
# mode, as medians (frontend/e2e/bench.mjs, against ./run_demo and Debian's Chromium).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root/frontend" || exit 1
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error || exit 1
if [ ! -f dist/index.html ] || [ -n "$(find src index.html -newer dist/index.html 2>/dev/null | head -n 1)" ]; then
    npm run --silent build >/dev/null || exit 1
fi
RD_BIN_DIR="${RD_BIN_DIR:-$root/build/bin}" timeout 300 npm run --silent bench
