#!/usr/bin/env bash
# scripts/test.d/toml.sh — the TOML 1.0.0 conformance corpus against our parser
# (tests/toml2json.c). Fails unless every case passes. The corpus lives in shared/, a
# sibling of the clone in CI; /work/shared on the development machine.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
corpus=""
for c in "${RD_TOML_TEST:-}" "$root/../shared/toml-test" /work/shared/toml-test; do
    if [ -n "$c" ] && [ -x "$c/run" ]; then corpus=$c; break; fi
done
if [ -z "$corpus" ]; then
    echo "toml: conformance corpus not found (\$RD_TOML_TEST, ../shared/toml-test or /work/shared/toml-test)" >&2
    if [ "${CI:-}" = true ]; then exit 1; fi
    echo "toml: SKIPPED (the parser's own tests in ctest still ran)"
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
