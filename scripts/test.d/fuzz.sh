#!/usr/bin/env bash
# scripts/test.d/fuzz.sh — a short fuzz run (20 s per target) of the TOML parser and the
# config loader under ASan + UBSan; the long run is `scripts/fuzz` (10 minutes).
root=$(cd "$(dirname "$0")/../.." && pwd)
exec "$root/scripts/fuzz" 20
