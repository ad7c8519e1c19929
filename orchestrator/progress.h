/* orchestrator/progress.h — what run_demo knows about training, read from the run
 * directory (prefix progress_), never from the trainer's free-text log.
 *
 * progress.json (rewritten atomically by the trainer) gives the status line and tells
 * when training is `completed`; metrics.jsonl (one JSON object per finished episode) is
 * tailed incrementally for the aggregate printed every PROGRESS_BLOCK episodes. */
#ifndef RD_ORCH_PROGRESS_H
#define RD_ORCH_PROGRESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PROGRESS_BLOCK 100

typedef struct {
    bool valid;
    char status[32]; /* running|paused|stopped|completed|failed */
    long episode, total_episodes;
    double mean_steps; /* survival, recent mean (NAN when not given) */
    double best;       /* best greedy evaluation score (NAN when not given) */
    double steps_per_second;
    double eta_seconds; /* < 0 unknown */
} progress_status;

/* Reads run_dir/progress.json. 0, or -1 when it is absent or not JSON yet. */
int progress_read(const char *run_dir, progress_status *out);

/* Whether run_dir's progress.json says it reached target episodes ("completed" alone is not
 * enough: a done run given more episodes shows the previous session's "completed" until its
 * trainer rewrites it). st is filled either way (st->valid false: no progress yet). */
bool progress_reached(const char *run_dir, long target, progress_status *st);

/* One line "Episode 1234/10000 | survival 245.3 | 812 steps/s | ETA 10m05s". */
void progress_format(const progress_status *s, char *out, size_t outlen);

typedef struct {
    char path[PATH_MAX];
    off_t offset;
    char partial[4096]; /* a line not yet terminated */
    size_t partial_len;
    long block_first, block_n; /* the current block of PROGRESS_BLOCK episodes */
    double sum_steps, sum_reward, min_steps, max_steps;
    double last_epsilon;
    double recent[PROGRESS_BLOCK]; /* steps of the last PROGRESS_BLOCK episodes (a ring) */
    int recent_n, recent_next;
    double recent_sum;
} progress_metrics;

/* Mean survival (steps) over the last PROGRESS_BLOCK episodes read, or NAN before any. */
double progress_metrics_recent_mean(const progress_metrics *m);

void progress_metrics_init(progress_metrics *m, const char *run_dir);

/* Reads what was appended since the last call; for every completed block of
 * PROGRESS_BLOCK episodes writes one summary line into out (several separated by '\n').
 * Returns the number of summaries. */
int progress_metrics_poll(progress_metrics *m, char *out, size_t outlen);

#endif
