#!/usr/bin/env bash
# The page that teaches (frontend/e2e/bench-page.mjs, against ./run_demo and Debian's
# Chromium): the live-agent panel's cost to the trainer's steps/s (page closed vs open,
# medians), recorded episodes' size on disk, and the time to open a replay.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root/frontend" || exit 1
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error || exit 1
if [ ! -f dist/index.html ] || [ -n "$(find src index.html -newer dist/index.html 2>/dev/null | head -n 1)" ]; then
    npm run --silent build >/dev/null || exit 1
fi
RD_BIN_DIR="${RD_BIN_DIR:-$root/build/bin}" timeout 600 nice -n 10 node e2e/bench-page.mjs
