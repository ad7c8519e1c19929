#!/usr/bin/env bash
# scripts/test.d/ckpt-fuzz.sh [SECONDS] — fuzzes the checkpoint reader (tests/fuzz_ckpt.c)
# with libFuzzer under ASan + UBSan for SECONDS (default 20), seeded with valid checkpoints
# the target writes itself. Builds only fuzz_ckpt in $RD_FUZZ_BUILD (default build-fuzz,
# shared with scripts/fuzz). Exits non-zero if it found a crash (input in
# <build>/artifacts/), and if the seeds could not be written.
set -uo pipefail
. "$(dirname "$0")/../lib/fuzz-target.sh"
fuzz_target_build ckpt-fuzz fuzz_ckpt || exit 1
seeds="$build/seeds-ckpt"
# Fresh seeds each run: a failed generation must not hide behind last run's files.
rm -rf "$seeds" && mkdir -p "$seeds" || exit 1
if ! RD_FUZZ_CKPT_SEEDS="$seeds" "$build/bin/fuzz_ckpt" -runs=0 >"$build/seeds-ckpt.log" 2>&1; then
    echo "ckpt-fuzz: writing the seed checkpoints failed (see $build/seeds-ckpt.log):" >&2
    grep -E 'fuzz_ckpt:|ERROR' "$build/seeds-ckpt.log" | head -n 5 >&2
    exit 1
fi
n=$(find "$seeds" -type f -size +0 | wc -l)
if [ "$n" -ne 3 ]; then
    echo "ckpt-fuzz: $n seed checkpoints in $seeds, want 3" >&2
    exit 1
fi
fuzz_target_run fuzz_ckpt "$build/corpus-ckpt" "$seeds" "$secs" 65536
