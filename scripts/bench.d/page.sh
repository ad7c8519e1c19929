#!/usr/bin/env bash
# The page that teaches (frontend/e2e/bench-page.mjs, against ./run_demo and Debian's
# Chromium): the live-agent panel's cost to the trainer's steps/s (page closed vs open,
# medians), recorded episodes' size on disk, and the time to open a replay.
set -uo pipefail
. "$(dirname "$0")/../lib/frontend-ready.sh" || exit 1
RD_BIN_DIR="${RD_BIN_DIR:-$root/build/bin}" timeout 600 nice -n 10 node e2e/bench-page.mjs
