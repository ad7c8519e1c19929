#!/usr/bin/env bash
# scripts/bench.d/trainer-link.sh — the trainer's WebSocket link (bench/bench_link.c):
# messages/s and MB/s from link_send to an in-process loopback WebSocket server, and the
# cost of link_send on the training thread (connected; server down with a full queue).
# Medians of 5 runs.
set -euo pipefail
bin=${RD_BIN_DIR:-build/bin}
"$bin/bench_link" --runs 5
