/* trainer/trainer.h — one training run (prefix trainer_): the world, the learner, the
 * curriculum, evaluation, and the run directory's files (docs/design/run-directory.md,
 * docs/design/checkpoint.md).
 *
 * trainer_open() creates or resumes a run directory; trainer_run_episode() plays and
 * learns one episode; trainer_end_episode() does the per-episode bookkeeping (metrics line,
 * TensorBoard, evaluation, periodic/best checkpoints, progress.json). The program
 * (trainer/main.c) drives these and owns signals, commands and the server link.
 *
 * Determinism: separate rng streams for the world (1), exploration (2), replay sampling
 * (3), initial weights (4, POLICY_RNG_STREAM_INIT) and evaluation (5, reseeded per
 * evaluation from the seed and the episode). A checkpoint holds every bit of state the
 * next step reads — between episodes, or mid-episode with the episode in progress (the
 * EPIS section: the world and the episode's accumulators) — so a resumed run continues
 * exactly, in the middle of an episode if need be (the sections: trainer/snapshot.h). */
#ifndef RD_TRAINER_TRAINER_H
#define RD_TRAINER_TRAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/cfg.h"
#include "common/env.h"

enum {
    TRAINER_STREAM_ENV = 1,
    TRAINER_STREAM_EXPLORE = 2,
    TRAINER_STREAM_REPLAY = 3,
    TRAINER_STREAM_EVAL = 5
};

typedef enum {
    TRAINER_STATUS_RUNNING = 0,
    TRAINER_STATUS_PAUSED,
    TRAINER_STATUS_STOPPED,
    TRAINER_STATUS_COMPLETED,
    TRAINER_STATUS_FAILED
} trainer_status;
extern const char *const trainer_status_names[5]; /* "running", "paused", ... */

/* Called before every step. Returns 0 to go on, 1 to suspend the episode: the call
 * returns with res->suspended and the episode stays in progress in the trainer (a
 * checkpoint then saves it; the next trainer_run_episode() continues it). May block
 * (pause) and may write a checkpoint (the state is whole between two steps). */
typedef int (*trainer_before_step_fn)(void *ctx);
/* Called after every step with the action, its q-values (when want_q) and the reward. */
typedef void (*trainer_after_step_fn)(void *ctx, int action, const float *q, float reward);

typedef struct {
    trainer_before_step_fn before_step;
    trainer_after_step_fn after_step;
    bool want_q; /* compute q-values for after_step even on exploratory steps */
    void *ctx;
} trainer_hooks;

typedef struct {
    int steps;
    double total_reward;
    double loss; /* mean over the episode's updates, 0 when none */
    bool loss_valid;
    env_outcome outcome;
    bool suspended; /* before_step asked to stop: the episode is not finished */
    double seconds; /* wall time spent stepping it, over every part when it was suspended */
} trainer_episode_result;

typedef struct {
    const char *run_dir;
    int64_t episodes; /* target total */
    bool quiet;       /* no per-episode log lines */
} trainer_opts;

/* A run, opaque outside trainer/ (its layout: trainer/trainer_internal.h, for trainer.c and
 * white-box tests). */
typedef struct trainer trainer_t;

/* What the program reads of a run (trainer_get_view): a copy of the counters and the
 * names, valid until the next call into the trainer. */
typedef struct {
    const char *run_dir;
    uint64_t seed;
    int64_t episode;         /* episodes completed */
    int64_t steps;           /* env steps taken */
    int64_t target_episodes; /* the target total */
    trainer_status status;
    bool in_episode;          /* an episode is in progress (suspended, or restored from a file) */
    int32_t episode_steps;    /* its steps so far */
    double steps_per_second;  /* the recent training rate (0 before the first measure) */
    double last_score;        /* the last evaluation's mean survival, -1 before any */
    const char *resumed_from; /* the checkpoint this process resumed from, "" for a new run */
    int64_t resumed_episode;
    int n_inputs;    /* the network's input size */
    size_t n_params; /* and its parameter count */
    /* The last checkpoint written or resumed from (saved_episode -1: none): lets the
     * program skip a redundant write and report what trainer_end_episode() saved.
     * saved_episode_step is the step within the episode in progress it was taken at (0 at a
     * boundary). */
    int64_t saved_episode, saved_steps;
    int32_t saved_episode_step;
    const char *saved_name, *saved_path;
    bool saved_now, saved_best; /* trainer_end_episode() just wrote it (and as `best`) */
} trainer_view;

/* Zeroed storage for a trainer_t (free() it after trainer_close), or NULL. */
trainer_t *trainer_new(void);

/* Creates or resumes opts->run_dir for cfg (copied). A new run writes config.toml; an
 * existing one must hold a config.toml with the same cfg_hash() (else -2 with err: the
 * caller exits 2) and resumes from its newest checkpoint that verifies. Other errors -1. */
int trainer_open(trainer_t *t, const cfg_config *cfg, const trainer_opts *opts, char *err,
                 size_t errlen);
/* Flushes and closes the files; frees everything. Writes nothing else. */
void trainer_close(trainer_t *t);

void trainer_get_view(const trainer_t *t, trainer_view *v);
/* The run's config (after trainer_open: the one its run directory was made with). */
const cfg_config *trainer_config(const trainer_t *t);
/* The world: the episode in progress, or the last one played. */
const env_t *trainer_world(const trainer_t *t);
/* The online network's q-values for the observation the last action was chosen from (one
 * greedy forward pass; draws no random number, so the run is the same with or without). */
void trainer_q_values(trainer_t *t, float q[ENV_NUM_ACTIONS]);
/* The status progress.json and the link report (the program decides it). */
void trainer_set_status(trainer_t *t, trainer_status s);
/* Raises the target by n episodes (`extend`); a completed run that now falls short goes
 * back to running. */
void trainer_extend(trainer_t *t, int64_t n);

/* Epsilon for the next episode (linear schedule by episode). */
double trainer_epsilon(const trainer_t *t);
/* Adam's step size for the current episode: the [agent] learning_rate schedule. */
double trainer_learning_rate(const trainer_t *t);
double trainer_multiplier(const trainer_t *t);

/* Plays and learns one episode, or the rest of the one in progress (view.in_episode: one
 * suspended by before_step, or restored from a mid-episode checkpoint). Returns when it
 * ends or when before_step suspends it (res->suspended). */
void trainer_run_episode(trainer_t *t, const trainer_hooks *h, trainer_episode_result *res);

/* Bookkeeping after a finished (not suspended) episode: curriculum, metrics.jsonl line,
 * TensorBoard, evaluation and `best`, periodic checkpoint, progress.json. Writes the
 * episode's JSON record (the link's `episode` message) into json when json is non-NULL.
 * 0 or -1 with err (a write failed). */
int trainer_end_episode(trainer_t *t, const trainer_episode_result *res, double seconds, char *json,
                        size_t jsonlen, char *err, size_t errlen);

/* Mean steps survived over cfg.training.eval_episodes greedy episodes at the current
 * multiplier; the world is seeded from the run's seed and `salt`, so the training state
 * is untouched. */
double trainer_evaluate(trainer_t *t, int episodes, uint64_t salt);
/* The same at a given decay multiplier (the benchmark's probe at full difficulty). */
double trainer_evaluate_at(trainer_t *t, int episodes, uint64_t salt, double multiplier);

/* Writes checkpoints/ep_<episode>.ckpt (and `best` when is_best) between episodes, or
 * checkpoints/ep_<episode>_s<step>.ckpt with the episode in progress (EPIS section) when
 * one is (view.in_episode): <episode> episodes completed, <step> steps into the next. A
 * mid-episode checkpoint is never `best` (is_best must be false). Fills path if non-NULL. */
int trainer_checkpoint(trainer_t *t, bool is_best, char *path, size_t pathlen, char *err,
                       size_t errlen);

/* Rewrites progress.json atomically (tmp + rename) with the current status. */
int trainer_write_progress(trainer_t *t);

#endif
