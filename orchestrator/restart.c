/* orchestrator/restart.c — see restart.h. */
#include "orchestrator/restart.h"

#include <stdio.h>
#include <string.h>

void restart_init(restart_state *s) {
    memset(s, 0, sizeof *s);
}

restart_verdict restart_decide(restart_state *s, const cfg_process *p, bool failed, double now,
                               double uptime, double *delay, char *why, size_t whylen) {
    *delay = 0;
    if (why && whylen) why[0] = '\0';
    if (p->restart == CFG_RESTART_NEVER) return RESTART_NO;
    if (p->restart == CFG_RESTART_ON_FAILURE && !failed) return RESTART_NO;

    double healthy_after = p->backoff_max > 10.0 ? p->backoff_max : 10.0;
    if (uptime >= healthy_after) s->consecutive = 0;

    /* Forget restarts that left the window. */
    int keep = 0;
    for (int i = 0; i < s->n; i++)
        if (now - s->times[i] < p->restart_window) s->times[keep++] = s->times[i];
    s->n = keep;
    if (s->n >= p->max_restarts) {
        if (why)
            snprintf(why, whylen, "%d restart%s within %g s", s->n, s->n == 1 ? "" : "s",
                     p->restart_window);
        return RESTART_GIVE_UP;
    }
    double d = p->backoff_initial;
    for (int i = 0; i < s->consecutive && d < p->backoff_max; i++) d *= 2;
    if (d > p->backoff_max) d = p->backoff_max;
    if (d < 0) d = 0;
    *delay = d;
    s->consecutive++;
    s->total++;
    if (s->n == RESTART_HISTORY) {
        memmove(s->times, s->times + 1, sizeof s->times[0] * (RESTART_HISTORY - 1));
        s->n--;
    }
    s->times[s->n++] = now;
    return RESTART_AFTER;
}
