#!/usr/bin/env bash
# The frontend's tests: Vitest unit tests (message handling, downsampling), then the
# browser tests that drive Debian's Chromium against the real ./run_demo (frontend/e2e/
# run.mjs, teach.mjs, then runs.mjs with a sweep; needs build/bin/* — scripts/test builds
# them first — and frontend/dist).
# RD_BIN_DIR overrides where the C programs are; the browser tests run a second time
# against build-asan/bin (RD_ASAN_BIN_DIR) when it is built, and say SKIPPED in the last line
# (and in scripts/test's) when it is not. RD_E2E_MOCK in the environment fails the suite.
set -uo pipefail
. "$(dirname "$0")/../lib/skip.sh"
# The mock server (frontend/e2e/mock-server.mjs) is for `npm run e2e` by hand; left in the
# environment it would turn this suite into a run that tests nothing of the system.
if [ -n "${RD_E2E_MOCK:-}" ]; then
    echo "frontend: RD_E2E_MOCK=$RD_E2E_MOCK is set: the browser tests would run against the mock server, not run_demo; unset it" >&2
    echo "frontend: FAILED (RD_E2E_MOCK set)"
    exit 1
fi
. "$(dirname "$0")/../lib/frontend-ready.sh" || exit 1
status=0
echo "--- vitest"
npm test --silent || status=1
echo "--- browser (run_demo + chromium)"
# Screenshots go to build/ so a test run leaves the tracked docs/screenshots/ alone;
# refresh those with RD_E2E_SHOTS=../docs/screenshots npm run e2e. RD_E2E_DEV=1: the
# dev-server checks run here whatever the environment says.
RD_E2E_DEV=1 RD_E2E_SHOTS="${RD_E2E_SHOTS:-$root/build/screenshots}" RD_BIN_DIR="${RD_BIN_DIR:-$root/build/bin}" \
    timeout 900 npm run --silent e2e || status=1
# The Runs view against a real 4-run sweep (--runs 4 --parallel 2): release build only, as
# four trainers under the sanitizers would take minutes and the page code is the same.
echo "--- browser: Runs view of a sweep (e2e/runs.mjs)"
RD_E2E_SHOTS="${RD_E2E_SHOTS:-$root/build/screenshots}" RD_BIN_DIR="${RD_BIN_DIR:-$root/build/bin}" \
    timeout 900 node e2e/runs.mjs || status=1
# Again against the sanitizer build when there is one (the check fails on any ASan/UBSan
# report in run_demo's output); the dev-server part is the same code, so it is skipped.
asan="${RD_ASAN_BIN_DIR:-$root/build-asan/bin}"
if [ -x "$asan/run_demo" ] && [ -x "$asan/server" ] && [ -x "$asan/trainer" ]; then
    echo "--- browser against the ASan + UBSan build ($asan)"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        RD_E2E_DEV=0 RD_E2E_SHOTS="${TMPDIR:-/tmp}/rd-e2e-asan-shots" RD_BIN_DIR="$asan" \
        timeout 900 npm run --silent e2e || status=1
    rm -rf "${TMPDIR:-/tmp}/rd-e2e-asan-shots"
    asan_run=ran
else
    skip_check "browser tests against the ASan + UBSan build ($asan/run_demo, server or trainer not built)"
    asan_run=SKIPPED
fi
echo "frontend: $([ "$status" = 0 ] && echo passed || echo FAILED); browser tests against ASan + UBSan: $asan_run"
exit "$status"
