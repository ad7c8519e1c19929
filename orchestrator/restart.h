/* orchestrator/restart.h — the restart policy of one child (prefix restart_).
 *
 * Pure bookkeeping, no processes: given how the child ended and the [processes.*] policy,
 * decide whether to restart it and after how long. Backoff doubles per consecutive crash
 * from backoff_initial up to backoff_max; a child that ran longer than backoff_max (or
 * 10 s) is considered healthy again and its next crash starts from backoff_initial.
 * More than max_restarts restarts within restart_window seconds is a give-up. */
#ifndef RD_ORCH_RESTART_H
#define RD_ORCH_RESTART_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cfg.h"

#define RESTART_HISTORY 64

typedef struct {
    double times[RESTART_HISTORY]; /* when restarts were granted, oldest first */
    int n;
    int consecutive; /* crashes since the last healthy run */
    int total;
} restart_state;

typedef enum {
    RESTART_NO = 0,  /* the policy does not restart after this ending: it is final */
    RESTART_AFTER,   /* restart after *delay seconds */
    RESTART_GIVE_UP, /* the policy would restart, but the budget is spent */
} restart_verdict;

void restart_init(restart_state *s);

/* failed: a non-zero exit status or a signal. now and uptime in seconds. On GIVE_UP, why
 * says "5 restarts within 60 s". */
restart_verdict restart_decide(restart_state *s, const cfg_process *p, bool failed, double now,
                               double uptime, double *delay, char *why, size_t whylen);

#endif
