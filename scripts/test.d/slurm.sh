#!/usr/bin/env bash
# scripts/test.d/slurm.sh — the test cluster itself (scripts/slurm-cluster): it starts, its
# status says so, a second start on the same directory is refused, a batch job runs; then
# stop leaves nothing behind — checked by pid: the keeper and the three daemons from their
# pid files, the job's own process, and a process the job detached with setsid (which
# scancel cannot reach without cgroups). A cluster started here is always stopped (trap).
# The C module's tests against a real cluster are in ctest (test_slurm_cluster).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cluster=$root/scripts/slurm-cluster
dir=$(mktemp -d /tmp/rd-slurm-step.XXXXXX)
trap '"$cluster" stop "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT
passed=0
failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

"$cluster" start "$dir" > "$dir/start.out" || { echo "FAIL: the cluster did not start"; exit 1; }
export SLURM_CONF=$dir/slurm.conf
grep -qx "SLURM_CONF=$SLURM_CONF" "$dir/start.out" && ok "start prints SLURM_CONF" ||
    bad "start printed: $(cat "$dir/start.out")"
status=$("$cluster" status "$dir") && ok "status: all up" || bad "status: $status"
grep -q ' idle ' <<< "$status" && ok "sinfo shows the node idle" || bad "sinfo: $status"
if "$cluster" start "$dir" 2> "$dir/again.err"; then
    bad "a second start on the same directory was accepted"
else
    grep -q "already runs under" "$dir/again.err" && ok "a second start is refused" ||
        bad "second start said: $(cat "$dir/again.err")"
fi

pids=()
for n in keeper munged slurmctld slurmd; do pids+=("$(cat "$dir/run/$n.pid" 2>/dev/null)"); done

# A job that detaches a process (setsid + fork) and then waits: both record their pids.
cat > "$dir/job.sh" <<EOF
#!/bin/bash
setsid bash -c 'echo \$\$ > "$dir/escapee.pid"; exec sleep 300' < /dev/null > /dev/null 2>&1 &
echo \$\$ > "$dir/job.pid"
sleep 300
EOF
job=$(sbatch --parsable --output=/dev/null "$dir/job.sh") && ok "sbatch accepted job $job" ||
    bad "sbatch failed"
for _ in $(seq 1 100); do
    [ -s "$dir/job.pid" ] && [ -s "$dir/escapee.pid" ] && break
    sleep 0.1
done
jobpid=$(cat "$dir/job.pid" 2>/dev/null)
escpid=$(cat "$dir/escapee.pid" 2>/dev/null)
alive "$jobpid" && alive "$escpid" && ok "the job and its detached process run" ||
    bad "job pid '$jobpid', escapee pid '$escpid' not running"

"$cluster" stop "$dir" 2> "$dir/stop.err" && ok "stop" || bad "stop failed: $(cat "$dir/stop.err")"
left=()
for p in "${pids[@]}" "$jobpid" "$escpid"; do alive "$p" && left+=("$p"); done
[ "${#left[@]}" = 0 ] && ok "nothing left after stop (keeper, daemons, job, escapee)" ||
    bad "still running after stop: ${left[*]}"
if "$cluster" status "$dir" > /dev/null; then bad "status after stop says up"; else
    ok "status after stop says down"
fi

echo "slurm-cluster: $passed passed, $failed failed"
[ "$failed" = 0 ]
