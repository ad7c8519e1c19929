/* orchestrator/cluster.h — a sweep's trainers as the tasks of a Slurm job array (prefix
 * cluster_): the sweep supervisor's Slurm backend (run_demo --backend slurm). The Slurm calls
 * themselves are orchestrator/slurm.h; docs/design/slurm.md has the whole story.
 *
 * Run r of the sweep is task r of a job array: the first submission holds every run that is
 * to train; a run retried by the restart policy (or continued after run_demo was gone) is
 * resubmitted alone, `--array=r`, under a new job id. Each run's job id and what Slurm last
 * said of its task are kept in sweep.toml (sweep_run.job, .slurm, .slurm_reason,
 * .slurm_node), which the server reads for the Runs view.
 *
 * Watching is ONE squeue call for the whole sweep every CLUSTER_POLL_MS (asynchronous, on the
 * supervisor's loop), whatever its size; while stopping, every CLUSTER_STOP_POLL_MS. Each
 * task's output file (slurm/task-R.out) is followed into the log multiplexer with its run's
 * prefix. The calls that change something (sbatch, scancel) are rare and block the loop for
 * their duration, bounded by SLURM_CALL_MS. */
#ifndef RD_ORCH_CLUSTER_H
#define RD_ORCH_CLUSTER_H

#include <stdbool.h>
#include <stdio.h>
#include <uv.h>

#include "orchestrator/logmux.h"
#include "orchestrator/plan.h"
#include "orchestrator/progress.h"

#define CLUSTER_POLL_MS      2000  /* one squeue per this, for the whole sweep */
#define CLUSTER_STOP_POLL_MS 250   /* while stopping: how soon the last task's end is seen */
#define CLUSTER_KILL_WAIT_MS 20000 /* after scancel, before giving up on the queue emptying */

typedef struct cluster cluster;

typedef struct {
    void (*changed)(void *ctx); /* a run's sweep state changed (done, failed, stopped, ...) */
    void (*stopped)(void *ctx); /* after cluster_stop: none of the sweep's tasks is left */
    void *ctx;
} cluster_hooks;

/* NULL when out of memory. Nothing is submitted before cluster_start. */
cluster *cluster_new(uv_loop_t *loop, plan_t *plan, logmux *mux, const cluster_hooks *hooks);

/* Once the server answers: reattaches to the tasks a continued sweep left pending or
 * running (never resubmitted), marks done the runs whose directories say so, and submits
 * the rest as one job array. -1 when sbatch refused (logged): nothing was submitted. */
int cluster_start(cluster *c);

/* Each tick of the supervisor: new lines of every task's output, and resubmissions whose
 * backoff has passed. */
void cluster_tick(cluster *c);

/* The metrics tail of run r while its task is submitted, else NULL. */
progress_metrics *cluster_metrics(cluster *c, int r);

/* Run r reached its episodes (its trainer idles, linked): its task is sent SIGTERM through
 * Slurm once; the task ends and the run is done. */
void cluster_complete(cluster *c, int r);

/* Ctrl+C: the pending tasks are cancelled, the running ones TERMed through Slurm (each
 * trainer writes its checkpoint); after the trainer's stop_timeout (or at once with hurry)
 * scancel. hooks.stopped is called once no task of the sweep is pending or running.
 * Returns true when that is already the case (then the hook is not called). */
bool cluster_stop(cluster *c, bool hurry);

/* Whether pid is a Slurm command the cluster runs now (the supervisor's orphan sweep must
 * leave it to libuv). */
bool cluster_owns(const cluster *c, int pid);

/* Closes the handles (the loop ends after); cluster_free once uv_run has returned. */
void cluster_close(cluster *c);
void cluster_free(cluster *c);

/* run_demo --cancel-sweep DIR: the sweep's pending tasks are cancelled and its running ones
 * stopped (checkpoints written), scancel after a bound; sweep.toml records the runs as
 * stopped or queued, so that --resume continues them. Starts nothing. Reports on out.
 * 0, 1 (a Slurm call failed or tasks remain), 2 (no sweep there, no Slurm). */
int cluster_cancel_sweep(const char *dir, FILE *out);

#endif
