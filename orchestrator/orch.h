/* orchestrator/orch.h — the supervisor (prefix orch_): runs a plan to its end.
 *
 * A small state machine on one libuv loop (as tini and s6 are):
 *   STARTING  children spawned (server, trainer, frontend), health polled until all are
 *             healthy ("All systems operational", browser) or the deadline passes (exit 1);
 *   UP        logs multiplexed, status line and per-100-episode aggregates from the run
 *             directory, crashed children restarted per policy;
 *   STOPPING  on a signal, a failure beyond policy, or completion with --exit-on-complete:
 *             trainer, then server, then frontend, each SIGTERM → stop_timeout → kill of
 *             its whole tree (via rd_exec) → SIGKILL to its group as a last resort;
 *             a second signal skips the waiting.
 * Every child runs under bin/rd_exec (see orchestrator/rd_exec/rd_exec.c), in its own
 * session, with stdout/stderr on pipes; run_demo is a child subreaper and kills any
 * orphan that reaches it. */
#ifndef RD_ORCH_ORCH_H
#define RD_ORCH_ORCH_H

#include "orchestrator/plan.h"

/* Runs everything; returns the process exit status (0, 1, 128 + signal). The plan's run
 * directory must exist (plan_create_run_dir). */
int orch_run(plan_t *plan);

#endif
