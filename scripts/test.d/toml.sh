#!/usr/bin/env bash
# scripts/test.d/toml.sh — the TOML 1.0.0 conformance corpus against our parser
# (tests/toml2json.c). Fails unless every case passes. The corpus is the toml-test project's
# (github.com/toml-lang/toml-test, with its `run` script): $RD_TOML_TEST, else a shared/
# folder beside the clone (as CI lays it out). Without it the step says so in scripts/test's
# last line (a failure in CI).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
corpus=""
for c in "${RD_TOML_TEST:-}" "$root/../shared/toml-test" /work/shared/toml-test; do
    if [ -n "$c" ] && [ -x "$c/run" ]; then corpus=$c; break; fi
done
if [ -z "$corpus" ]; then
    echo "toml: conformance corpus not found (\$RD_TOML_TEST, ../shared/toml-test or /work/shared/toml-test)" >&2
    if [ "${CI:-}" = true ]; then exit 1; fi
    . "$root/scripts/lib/skip.sh"
    skip_check "TOML conformance corpus (not found; the parser's own tests in ctest still ran)"
    exit 0
fi
decoder="${RD_BIN_DIR:-$root/build/bin}/toml2json"
if [ ! -x "$decoder" ]; then
    echo "toml: $decoder is missing (build first)" >&2
    exit 1
fi
out=$("$corpus/run" "$decoder" --verbose)
status=$?
printf '%s\n' "$out"
# The runner exits non-zero on any failure; check the summary too in case it changes.
case "$out" in
    *" 0 failed"*) ;;
    *) status=1 ;;
esac
exit "$status"
