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
 * exactly, in the middle of an episode if need be. */
#ifndef RD_TRAINER_TRAINER_H
#define RD_TRAINER_TRAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/cfg.h"
#include "common/env.h"
#include "trainer/dqn.h"
#include "trainer/replay.h"
#include "trainer/tb.h"

enum {
    TRAINER_STREAM_ENV = 1,
    TRAINER_STREAM_EXPLORE = 2,
    TRAINER_STREAM_REPLAY = 3,
    TRAINER_STREAM_EVAL = 5
};

/* Checkpoint sections beyond CKPT_TAG_ONLINE (little-endian, this host's layout). */
#define TRAINER_TAG_TARGET CKPT_TAG('T', 'R', 'G', 'T') /* target params, n_params floats */
#define TRAINER_TAG_ADAM   CKPT_TAG('A', 'D', 'A', 'M') /* m then v, 2 x n_params floats */
#define TRAINER_TAG_REPLAY CKPT_TAG('R', 'P', 'L', 'Y') /* replay_transition[size] */
#define TRAINER_TAG_STATE  CKPT_TAG('T', 'S', 'T', 'A') /* trainer_state, field by field */
#define TRAINER_TAG_CURR   CKPT_TAG('C', 'U', 'R', 'R') /* int32 window of episode lengths */
/* The episode in progress (trainer_episode and the world's state, field by field,
 * little-endian). Only a mid-episode checkpoint has it; a file without it (every file
 * written before it existed, and every checkpoint at an episode boundary) resumes at the
 * start of the next episode. */
#define TRAINER_TAG_EPISODE     CKPT_TAG('E', 'P', 'I', 'S')
#define TRAINER_EPISODE_VERSION 1
#define TRAINER_EPISODE_BYTES   132 /* the serialized size of version 1 */

/* Version 2: the state section is serialized field by field, little-endian, in the order
 * of trainer_state's members (pad excluded), rather than copied from memory, so that it
 * does not depend on the compiler's padding or the host's byte order. Version 1 files
 * (the struct's bytes) are refused with a message; the loader then falls back to nothing
 * older, so such a run directory must be started afresh. */
#define TRAINER_STATE_VERSION 2
#define TRAINER_STATE_BYTES   204 /* the serialized size of version 2 */

/* Everything scalar a resume needs. */
typedef struct {
    uint32_t version, n_params;
    uint64_t seed;
    int64_t episode, steps, updates, adam_t;
    double best_score, last_score;
    int32_t stage, stage_episodes, window_count, window_pos;
    uint32_t replay_capacity, replay_size, replay_cursor, transition_size;
    rng_t env_rng, explore_rng, replay_rng;
    double train_seconds; /* wall time spent training, for steps/s and ETA */
    int32_t best_steps;   /* longest training episode so far (the `best` of PROTOCOL §4.1) */
    int32_t pad;
} trainer_state;

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

/* The episode in progress: what the step loop carries from one step to the next beyond
 * the world (t->env), the learner and the counters of trainer_state. The train_every and
 * target_update_every phases follow trainer_state.steps, and the transition's first state
 * is rebuilt from the world (replay_capture), so they need nothing here. */
typedef struct {
    bool active; /* begun (the world reset) and not finished */
    int32_t steps;
    double total_reward;
    double loss_sum; /* sum of the losses of the episode's updates */
    int32_t updates;
    double seconds; /* wall time spent in the parts before the current one */
} trainer_episode;

typedef struct {
    const char *run_dir;
    int64_t episodes; /* target total */
    bool quiet;       /* no per-episode log lines */
} trainer_opts;

typedef struct {
    cfg_config cfg;
    char run_dir[CFG_PATH_MAX];
    char ckpt_dir[CFG_PATH_MAX + 16];
    int64_t target_episodes;
    bool quiet;
    dqn_t dqn;
    replay_t replay;
    env_t env;
    rng_t explore_rng, replay_rng;
    trainer_state st;
    trainer_episode ep; /* the episode in progress, if any */
    int32_t *window;    /* curriculum: lengths of the last episodes at this stage */
    float *obs;
    FILE *metrics;
    tb_writer *tb;
    trainer_status status;
    double ema_sps;         /* training env steps per second: see trainer_end_episode() */
    double sec_per_episode; /* wall seconds per episode over the same span, for the ETA */
    double win_secs;        /* the window being measured */
    int64_t win_steps, win_eps;
    double run_secs; /* since this process opened the run (started or resumed) */
    int64_t run_steps, run_eps;
    char resumed_from[CFG_PATH_MAX]; /* "" for a new run */
    int64_t resumed_episode;
    /* The last checkpoint written or resumed from (-1 = none): lets the program skip a
     * redundant write and report what trainer_end_episode() saved. saved_episode_step is
     * the step within the episode in progress it was taken at (0 at a boundary). */
    int64_t saved_episode, saved_steps;
    int32_t saved_episode_step;
    char saved_name[64];
    char saved_path[CFG_PATH_MAX + 96];
    bool saved_now, saved_best; /* set by trainer_end_episode() when it wrote one */
} trainer_t;

/* Creates or resumes opts->run_dir for cfg (copied). A new run writes config.toml; an
 * existing one must hold a config.toml with the same cfg_hash() (else -2 with err: the
 * caller exits 2) and resumes from its newest checkpoint that verifies. Other errors -1. */
int trainer_open(trainer_t *t, const cfg_config *cfg, const trainer_opts *opts, char *err,
                 size_t errlen);
/* Flushes and closes the files; frees everything. Writes nothing else. */
void trainer_close(trainer_t *t);

/* Epsilon for the next episode (linear schedule by episode). */
double trainer_epsilon(const trainer_t *t);
/* Adam's step size for the current episode: the [agent] learning_rate schedule. */
double trainer_learning_rate(const trainer_t *t);
double trainer_multiplier(const trainer_t *t);

/* Plays and learns one episode, or the rest of the one in progress (t->ep.active: one
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
 * one is (t->ep.active): <episode> episodes completed, <step> steps into the next. A
 * mid-episode checkpoint is never `best` (is_best must be false). Fills path if non-NULL. */
int trainer_checkpoint(trainer_t *t, bool is_best, char *path, size_t pathlen, char *err,
                       size_t errlen);

/* Rewrites progress.json atomically (tmp + rename) with the current status. */
int trainer_write_progress(trainer_t *t);

#endif
