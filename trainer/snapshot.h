/* trainer/snapshot.h — a training run's state as checkpoint sections (prefix snapshot_):
 * what a trainer checkpoint holds beyond the common container (common/ckpt.h), how each
 * section is encoded, and how a file is checked and restored
 * (docs/design/checkpoint.md, docs/design/learner.md "Determinism and exact resume").
 *
 * The module knows the learner (dqn_, replay_), the world (env_) and the container
 * (ckpt_), not the run around them: the caller (trainer/trainer.c) hands it the parts in
 * a snapshot_parts, so the dependency runs one way. Every scalar section is written field
 * by field, little-endian (common/le.h), so a file depends neither on the compiler's
 * padding nor on the host's byte order; the bulk sections (weights, Adam, replay) are
 * arrays of this host's little-endian floats and fixed-width structs. */
#ifndef RD_TRAINER_SNAPSHOT_H
#define RD_TRAINER_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ckpt.h"
#include "common/cfg.h"
#include "common/env.h"
#include "common/rng.h"
#include "trainer/dqn.h"
#include "trainer/replay.h"

/* Checkpoint sections beyond CKPT_TAG_ONLINE (little-endian, this host's layout). */
#define SNAPSHOT_TAG_TARGET CKPT_TAG('T', 'R', 'G', 'T') /* target params, n_params floats */
#define SNAPSHOT_TAG_ADAM   CKPT_TAG('A', 'D', 'A', 'M') /* m then v, 2 x n_params floats */
#define SNAPSHOT_TAG_REPLAY CKPT_TAG('R', 'P', 'L', 'Y') /* replay_transition[size] */
#define SNAPSHOT_TAG_STATE  CKPT_TAG('T', 'S', 'T', 'A') /* snapshot_state, field by field */
#define SNAPSHOT_TAG_CURR   CKPT_TAG('C', 'U', 'R', 'R') /* int32 window of episode lengths */
/* The episode in progress (snapshot_episode and the world's state, field by field,
 * little-endian). Only a mid-episode checkpoint has it; a file without it (every file
 * written before it existed, and every checkpoint at an episode boundary) resumes at the
 * start of the next episode. */
#define SNAPSHOT_TAG_EPISODE     CKPT_TAG('E', 'P', 'I', 'S')
#define SNAPSHOT_EPISODE_VERSION 1
#define SNAPSHOT_EPISODE_BYTES   132 /* the serialized size of version 1 */
/* The weights kept for [training] restore_below: KEEP n_params floats, KEPS their score
 * (f64) and episode (i64), little-endian. Only a run that has kept weights has them; a file
 * without them (every file written before they existed) resumes with none kept. */
#define SNAPSHOT_TAG_KEEP       CKPT_TAG('K', 'E', 'E', 'P')
#define SNAPSHOT_TAG_KEEP_SCORE CKPT_TAG('K', 'E', 'P', 'S')
#define SNAPSHOT_KEEP_BYTES     16
/* Prioritized replay (priority_alpha > 0): PRIO the sum tree's leaves of the replay's size
 * slots (priority^alpha, this host's doubles: the tree is rebuilt from them bit for bit),
 * PRIM the max priority (f64, little-endian). Only such a run writes them; a file without
 * them (or without its replay) resumes with every priority and the max 1. */
#define SNAPSHOT_TAG_PRIO     CKPT_TAG('P', 'R', 'I', 'O')
#define SNAPSHOT_TAG_PRIO_MAX CKPT_TAG('P', 'R', 'I', 'M')

/* Version 2: the state section is serialized field by field, little-endian, in the order
 * of snapshot_state's members (pad excluded), rather than copied from memory, so that it
 * does not depend on the compiler's padding or the host's byte order. Version 1 files
 * (the struct's bytes) are refused with a message; the loader then falls back to nothing
 * older, so such a run directory must be started afresh. */
#define SNAPSHOT_STATE_VERSION 2
#define SNAPSHOT_STATE_BYTES   204 /* the serialized size of version 2 */

/* Everything scalar a resume needs (the TSTA section). */
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
} snapshot_state;

/* The episode in progress: what the step loop carries from one step to the next beyond
 * the world, the learner and the counters of snapshot_state (the EPIS section with the
 * world's episode state). The train_every and target_update_every phases follow
 * snapshot_state.steps, and the transition's first state is rebuilt from the world
 * (replay_capture), so they need nothing here. */
typedef struct {
    bool active; /* begun (the world reset) and not finished */
    int32_t steps;
    double total_reward;
    double loss_sum; /* sum of the losses of the episode's updates */
    int32_t updates;
    double seconds; /* wall time spent in the parts before the current one */
} snapshot_episode;

/* The online weights of the best evaluation at the last stage (restore_below). */
typedef struct {
    float *weights; /* n_params, allocated by the caller */
    bool valid;     /* weights hold something */
    double score;
    int64_t episode;
} snapshot_keep;

/* The parts of a run a checkpoint holds, all owned by the caller. */
typedef struct {
    const cfg_config *cfg; /* the run's config: sizes and the world's ranges */
    dqn_t *dqn;
    replay_t *replay;
    snapshot_state *st;
    snapshot_episode *ep; /* the episode in progress, if ep->active */
    env_t *env;           /* the world */
    rng_t *explore_rng, *replay_rng;
    int32_t *window;     /* cfg->curriculum.window episode lengths */
    snapshot_keep *keep; /* saved when valid */
} snapshot_parts;

/* Writes <dir>/<name>.ckpt with header h (through ckpt_save: `best` when is_best, the
 * newest `keep` periodic ones kept). The counters and rng states that live in the learner
 * and the world are copied into p->st first. With p->ep->active the file has the EPIS
 * section. 0, or -1 with err. */
int snapshot_save(const snapshot_parts *p, const ckpt_header *h, const char *dir, const char *name,
                  bool is_best, int keep, char *err, size_t errlen);

/* Checks every section of f (read from path) against the parts' sizes and the config,
 * then restores them; nothing is changed when a section is refused. An episode in
 * progress comes back in p->ep (active) and p->env, whose multiplier the caller sets (it
 * follows the restored curriculum stage). 0, or -1 with err naming path and section. */
int snapshot_restore(const snapshot_parts *p, ckpt_file *f, const char *path, char *err,
                     size_t errlen);

#endif
