/* orchestrator/slurm.h — run_demo's talk with a Slurm cluster (prefix slurm_): check the
 * environment, write a sweep's batch script (one job array, one task per run), submit it,
 * poll every task's state with one squeue call, stop and cancel. docs/design/slurm.md has
 * the contract, the script's shape and the figures.
 *
 * Every Slurm command runs as a child process through slurm_exec (libuv uv_spawn), bounded
 * by a timeout; its output is captured up to SLURM_OUT_MAX bytes and parsed as untrusted
 * text. Functions return 0, or -1 with one line in err (what failed and Slurm's own first
 * line of complaint, control characters replaced). Nothing here sacct: it needs slurmdbd. */
#ifndef RD_ORCH_SLURM_H
#define RD_ORCH_SLURM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define SLURM_CALL_MS   10000     /* bound on one sbatch/squeue/scancel/sinfo call */
#define SLURM_OUT_MAX   (1 << 20) /* captured bytes per stream; squeue of 10,000 tasks fits */
#define SLURM_TOKEN_ENV "RD_TRAINER_TOKEN"

/* ---- one bounded child process ---------------------------------------------------- */

typedef struct slurm_exec slurm_exec;
typedef void (*slurm_exec_cb)(slurm_exec *x);

struct slurm_exec {
    uv_loop_t *loop;
    uv_process_t proc;
    uv_pipe_t out_pipe, err_pipe;
    uv_timer_t timer;
    char *out, *err; /* NUL-terminated captures (never NULL after the callback) */
    size_t out_len, err_len;
    bool truncated;      /* a stream passed SLURM_OUT_MAX; the rest was dropped */
    bool timed_out;      /* killed (SIGKILL) at the timeout */
    int spawn_error;     /* libuv error of uv_spawn (UV_ENOENT: not on the PATH), else 0 */
    int64_t exit_status; /* meaningful when spawn_error == 0 and term_signal == 0 */
    int term_signal;     /* the signal that ended it, else 0 */
    char **env;          /* the child's environment (owned) */
    unsigned timeout_ms; /* the bound this call was given */
    int waiting;         /* exit + two EOFs still to come */
    int open;            /* handles not yet closed */
    slurm_exec_cb cb;
    void *data;
};

/* Starts argv[0] (searched on the PATH) with this process's environment plus extra_env
 * ("NAME=value" strings replacing any same-named variable; NULL for none), stdin from
 * /dev/null, stdout and stderr captured. cb runs once, after every handle is closed, so
 * x may be freed or restarted from inside it. 0, or -1 (out of memory) without callback;
 * a failed spawn still calls cb, with spawn_error set. */
int slurm_exec_start(slurm_exec *x, uv_loop_t *loop, const char *const *argv,
                     const char *const *extra_env, unsigned timeout_ms, slurm_exec_cb cb);

/* The same on a private loop, blocking until the child is done or killed at the timeout.
 * 0 when it ran and exited 0; -1 otherwise, with the reason in err ("sbatch: exit 1:
 * sbatch: error: ..."). The captures stay in x either way: free them with slurm_exec_free. */
int slurm_exec_run(slurm_exec *x, const char *const *argv, const char *const *extra_env,
                   unsigned timeout_ms, char *err, size_t errlen);

void slurm_exec_free(slurm_exec *x);

/* ---- environment --------------------------------------------------------------------- */

/* Is sbatch on the PATH, does sinfo answer, does the partition exist — one message each:
 *   slurm: sbatch is not on the PATH (...)
 *   slurm: sinfo does not answer: ...
 *   slurm: partition "P" does not exist on this cluster (partitions: a, b)
 * The caller exits 2 on -1, before anything is submitted. */
int slurm_check(const char *partition, char *err, size_t errlen);

/* ---- the batch script ----------------------------------------------------------------- */

typedef struct {
    const char *run_dir;     /* absolute; the trainer's --run-dir */
    const char *const *args; /* further trainer arguments (--config F --seed S ...), NULL-ended */
} slurm_task;

typedef struct {
    const char *job_name;     /* --job-name; safe characters only */
    const char *partition;    /* NULL or "": the cluster's default partition */
    const char *time_limit;   /* Slurm time ("90", "2:00:00", "1-00:00:00"); NULL: partition's */
    int cpus;                 /* --cpus-per-task; 0: Slurm's default (1) */
    const char *mem;          /* --mem ("4G"); NULL: Slurm's default */
    const char *account;      /* NULL: none */
    const char *qos;          /* NULL: none */
    const char *const *extra; /* further sbatch options, one #SBATCH line each; NULL-ended */
    int warn_seconds;         /* USR1 this long before the time limit; 0: no warning */
    int parallel;             /* tasks running at once (%P); 0: no throttle */
    const char *sweep_dir;    /* absolute: --chdir, and slurm/task-N.out for the output */
    const char *trainer;      /* absolute path of the trainer program */
    const char *server_url;   /* ws://HEAD:PORT/ws/trainer, as the nodes reach it */
    const slurm_task *tasks;
    size_t n_tasks;
} slurm_spec;

/* The batch script's text (malloc'd), or NULL with err: a field Slurm's #SBATCH lines cannot
 * carry (whitespace, quotes, backslash, control characters; relative paths). */
char *slurm_script(const slurm_spec *s, char *err, size_t errlen);

/* Writes slurm_script() to path (mode 0644: it holds no secret; the token is never in it),
 * creating sweep_dir/slurm/ for the output files. */
int slurm_script_write(const slurm_spec *s, const char *path, char *err, size_t errlen);

/* ---- submit, watch, stop --------------------------------------------------------------- */

/* sbatch --parsable --array=0-(n_tasks-1)[%parallel] SCRIPT (SBATCH_EXPORT=ALL),
 * with token (if not NULL) placed in sbatch's own environment only. *job_id: the array's
 * job id. */
int slurm_submit(const char *script_path, size_t n_tasks, int parallel, const char *token,
                 long *job_id, char *err, size_t errlen);

/* The same with an explicit --array value ("0-15%4", "2,5%2"): a sweep resubmits some of its
 * runs, each keeping its task id (the run's index). */
int slurm_submit_array(const char *script_path, const char *array, const char *token, long *job_id,
                       char *err, size_t errlen);

typedef enum {
    SLURM_UNKNOWN = 0, /* never seen */
    SLURM_PENDING,     /* reason says why */
    SLURM_RUNNING,     /* node says where (COMPLETING and CONFIGURING count as running) */
    SLURM_COMPLETED,
    SLURM_FAILED, /* FAILED, NODE_FAIL, BOOT_FAIL, OUT_OF_MEMORY */
    SLURM_TIMEOUT,
    SLURM_CANCELLED,
    SLURM_OTHER, /* any other Slurm state: raw has its name */
    SLURM_GONE,  /* seen before, now forgotten by slurmctld (MinJobAge passed) */
} slurm_state;

typedef struct {
    slurm_state state;
    char raw[24];    /* Slurm's state name as printed */
    char reason[64]; /* pending reason ("Resources", "JobArrayTaskLimit"), else "" */
    char node[64];   /* node list when running or finished, else "" */
    bool seen;       /* in the last poll's output */
} slurm_task_status;

const char *slurm_state_name(slurm_state s);

/* The squeue command line for one array: every task one line, finished ones included
 * while slurmctld remembers them. Builds into argv[8] with buf for the job id. */
void slurm_squeue_argv(long job_id, const char *argv[8], char buf[32]);

/* The same for several jobs at once: jobs is "12,15" (argv[4] points into buf). */
void slurm_squeue_jobs_argv(const char *jobs, const char *argv[8], char *buf, size_t len);

/* Applies squeue's output (slurm_squeue_argv's format) to t[0..n): lines of another job,
 * task ids out of range, unknown fields are skipped. Tasks not in the output that were
 * known become SLURM_GONE. Returns the number of lines applied. */
int slurm_parse_squeue(const char *text, long job_id, slurm_task_status *t, size_t n);

/* The same when task i belongs to job jobs[i] (jobs NULL: job_id for all): a sweep whose
 * runs were resubmitted one by one keeps each run's task id under a new job id. */
int slurm_parse_squeue_jobs(const char *text, long job_id, const long *jobs, slurm_task_status *t,
                            size_t n);

/* One squeue call for the whole array (slurm_squeue_argv), parsed into t. A job id that
 * slurmctld no longer knows is not an error: its tasks are gone. */
int slurm_poll(long job_id, slurm_task_status *t, size_t n, char *err, size_t errlen);

/* A clean stop: the pending tasks are cancelled first (so that none starts meanwhile), then
 * the running ones get SIGTERM through Slurm (--full: the batch shell and every process of
 * the job) and end by themselves, checkpoint written. */
int slurm_stop(long job_id, char *err, size_t errlen);

/* SIGTERM through Slurm to one task (JOB_TASK) and every process of it: a run that reached
 * its episodes idles, linked to the server, until told to end. */
int slurm_signal_task(long job_id, int task, char *err, size_t errlen);

/* scancel of the whole array: whatever is left ends (SIGTERM, SIGKILL after KillWait). */
int slurm_cancel(long job_id, char *err, size_t errlen);

#endif
