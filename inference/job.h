/* inference/job.h — the training jobs (prefix job_): what each job's trainer reported, its
 * history, and the relay of its messages to the job's viewers (/ws/training) and to the
 * overview (/ws/jobs) (docs/PROTOCOL.md §4, §5). Job [0] is the run directory's own (a
 * single run, as always); a sweep's runs are jobs from the start, and a trainer whose hello
 * names a run directory below the server's adds its own. The sweep file's run states
 * (sweepf.h) and the past runs under the runs root (past.h) complete the rows.
 *
 * Depends on the connections (conn.h) to send, never on the server: the server owns one
 * job_set and hands it the trainer's messages. */
#ifndef RD_INFERENCE_JOB_H
#define RD_INFERENCE_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/json.h"
#include "inference/cmd.h"
#include "inference/conn.h"
#include "inference/hist.h"
#include "inference/outq.h"
#include "inference/past.h"
#include "inference/sweepf.h"

#define JOB_MAX 64

/* One training job: its trainer's link, what the trainer reported, its history. */
typedef struct job {
    char job_id[208]; /* [0]: the run directory's base name; else the run name */
    char run_dir[CFG_PATH_MAX + 216];
    conn_t *trainer;
    hist_t hist;
    outq_msg *hello; /* cached training hello, NULL when stale */
    char config_name[64];
    char status[24];
    bool trainer_seen;
    int64_t episode, total_episodes, resumed_from;
    bool visual;
    double speed, epsilon, last_reward, best, sps, multiplier;
    int64_t last_steps;
    int64_t hist_last;  /* episode of the newest history record */
    char *last_episode; /* record JSON or NULL */
    long next_cmd_id;
    /* the row's wall time and best evaluation (PROTOCOL §5.4), NAN while unknown */
    double started, last_ts, best_eval;
    sweepf_entry sweep; /* its entry in sweep.toml, all "" when the file does not name it */
} job_t;

/* What a job id names (job_lookup): a job of this server, or a past run. */
typedef struct {
    job_t *job;     /* NULL for a past run */
    past_run *past; /* NULL for a job */
    const char *id, *dir;
    const double *multiplier; /* its trainer's difficulty multiplier, 0 = none */
} job_ref;

/* Every job, and what the jobs need from their owner (set before job_set_open()). */
typedef struct {
    conn_set *conns;
    const cfg_config *cfg;
    const char *run_dir;
    const char *runs_root; /* past runs below it (PROTOCOL §4 "Past runs"), NULL = none */
    const char *world;     /* the world object's JSON text (world.h), for the hello */
    size_t world_len;
    json_buf *jb; /* building area shared with the owner (dynamic, reused) */
    /* A checkpoint record arrived: called with arg. */
    void (*on_checkpoint)(void *arg);
    void *arg;

    job_t *jobs[JOB_MAX];
    int n_jobs;
    int n_overview; /* /ws/jobs viewers listed: the episode path skips the overview at 0 */
    uint64_t refused_busy, trainer_refused;
    sweepf_t sweep;    /* RUN_DIR/sweep.toml's run states */
    uint64_t sweep_ms; /* when it was looked at last */
    past_list past;    /* listed at most every 30 s, when asked for */
} job_set;

/* Creates job [0] (the run directory's, with its history from metrics.jsonl) and a job
 * for each sweep run below it. 0, or -1 with err. */
int job_set_open(job_set *s, char *err, size_t errlen);
/* Frees every job. */
void job_set_close(job_set *s);

/* The job named id, or NULL. */
job_t *job_find(job_set *s, const char *id);
/* Viewers of job j. */
int job_viewers(const job_set *s, const job_t *j);
/* The members every job listing has (/api/jobs, the overview's hello; PROTOCOL §5.4). */
void job_put_state(json_buf *jw, const job_t *j, bool is_default);
/* The same of a past run. */
void job_put_past(json_buf *jw, const past_run *r);
/* Lists the past runs again when the list is older than 30 s (or force). */
void job_refresh_past(job_set *s, bool force);
/* Reads sweep.toml again when it changed (at most once a second unless force): new
 * states and new runs go to the overview as `job` rows. */
void job_refresh_sweep(job_set *s, bool force);
/* What id names: NULL or "" the run's own job, else a job or a past run. 0, or -1 when
 * nothing has that id. */
int job_lookup(job_set *s, const char *id, job_ref *out);
/* The series of what ref names (PROTOCOL §2 /api/series) as a JSON object into jw. */
void job_put_series(job_set *s, const job_ref *ref, json_buf *jw);
/* Job j's training hello (cached until j changes; owned by j), or NULL. */
outq_msg *job_hello(job_set *s, job_t *j);
/* The overview's hello, built for one viewer (the caller's reference), or NULL. */
outq_msg *job_overview_hello(job_set *s);

/* One message from trainer connection c (binds c to its job on the first one). */
void job_trainer_message(job_set *s, conn_t *c, const char *in, size_t len);
/* Trainer connection c of job c->job has closed; the viewers hear of it unless the job
 * had ended or the server is stopping. */
void job_trainer_closed(job_set *s, conn_t *c, bool stopping);
/* Sends a validated command to j's trainer. 0, or -1 with *why. */
int job_relay_command(job_set *s, job_t *j, const cmd_msg *cmd, const char **why);

#endif
