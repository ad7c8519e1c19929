# scripts/lib/skip.sh — how a step of scripts/test says it could not run a check. Source it;
# `skip_check "WHAT (WHY)"` prints "SKIPPED: WHAT (WHY)" and, under scripts/test, adds the
# line to $RD_TEST_SKIPS, which scripts/test names in its last line: a check that did not
# run is never mistaken for one that passed.
skip_check() {
    echo "SKIPPED: $*"
    if [ -n "${RD_TEST_SKIPS:-}" ]; then printf '%s\n' "$*" >>"$RD_TEST_SKIPS"; fi
}
