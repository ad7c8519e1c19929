# scripts/lib/frontend-ready.sh — the preamble of the frontend's test and bench steps:
# moves to frontend/, installs node_modules from the lock when missing, and rebuilds dist/
# when any source is newer (the bundle the server serves must be the current source).
# Source it; sets root (the repository). Non-zero when npm fails.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root/frontend" || return 1
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error || return 1
if [ ! -f dist/index.html ] || [ -n "$(find src index.html -newer dist/index.html 2>/dev/null | head -n 1)" ]; then
    npm run --silent build >/dev/null || { echo "frontend: npm run build failed" >&2; return 1; }
fi
