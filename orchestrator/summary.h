/* orchestrator/summary.h — what run_demo prints when it exits (prefix summary_): episodes
 * done, the best greedy evaluation and the checkpoint that holds it, wall time, the run
 * directory and the exact command that resumes the run. Read from the run directory
 * (progress.json, checkpoints/), like the rest of run_demo's knowledge of training. */
#ifndef RD_ORCH_SUMMARY_H
#define RD_ORCH_SUMMARY_H

#include <stddef.h>

#include "orchestrator/plan.h"

/* Writes the summary (several lines, no trailing newline) into out. Returns its length,
 * or 0 when the run directory holds nothing to summarize (it was never created). */
size_t summary_format(const plan_t *p, double wall_seconds, char *out, size_t cap);

#endif
