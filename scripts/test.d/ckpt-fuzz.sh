#!/usr/bin/env bash
# scripts/test.d/ckpt-fuzz.sh [SECONDS] — fuzzes the checkpoint reader (tests/fuzz_ckpt.c)
# with libFuzzer under ASan + UBSan for SECONDS (default 20), seeded with valid checkpoints
# the target writes itself. Builds only fuzz_ckpt in $RD_FUZZ_BUILD (default build-fuzz,
# shared with scripts/fuzz). Exits non-zero if it found a crash (input in
# <build>/artifacts/).
set -uo pipefail
. "$(dirname "$0")/../lib/fuzz-target.sh"
fuzz_target_build ckpt-fuzz fuzz_ckpt || exit 1
seeds="$build/seeds-ckpt"
mkdir -p "$seeds"
RD_FUZZ_CKPT_SEEDS="$seeds" "$build/bin/fuzz_ckpt" -runs=0 >/dev/null 2>&1
fuzz_target_run fuzz_ckpt "$build/corpus-ckpt" "$seeds" "$secs" 65536
