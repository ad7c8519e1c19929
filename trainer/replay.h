/* trainer/replay.h — the replay buffer, uniform or prioritized (prefix replay_).
 *
 * Preallocated ring of transitions. A transition holds the world's compact state before
 * and after the step (position, step counter, meters, level 3 progress: 40 bytes) rather
 * than two observations (2 x 87 floats at level 1): observations are rebuilt with
 * env_observe() when a batch is sampled, which costs less than a microsecond per row,
 * and the buffer — which every checkpoint holds — shrinks 8x (100,000 transitions: 8.8 MB
 * instead of 70 MB), so that a checkpoint on SIGINT fits the orchestrator's 500 ms.
 *
 * With priority_alpha > 0 it also keeps a sum tree of the transitions' priorities
 * (proportional prioritized replay, docs/design/learner.md "Prioritized replay"): a
 * transition is drawn with probability leaf / total, leaf = priority^alpha. Every internal
 * node is recomputed as left + right, never adjusted by a difference, so the tree is a pure
 * function of its leaves: a checkpoint holds only the leaves and the tree rebuilt from them
 * is bit for bit the one the run had. */
#ifndef RD_TRAINER_REPLAY_H
#define RD_TRAINER_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "common/env.h"
#include "common/rng.h"

/* What env_observe() and env_action_mask() read of an env_t beyond its config. */
typedef struct {
    float meters[CFG_NUM_METERS];
    int16_t step;
    int8_t x, y;
    int8_t progress_aff, progress_ticks;
    int8_t last_action;
    uint8_t last_interact_ok;
} replay_state;

typedef struct {
    replay_state s, s2;
    float reward;
    uint8_t action;
    uint8_t done; /* s2 is terminal (death): no bootstrap. A time limit is not terminal. */
    /* The curriculum stage the step was played at: its multiplier is part of the
     * observation with observe_multiplier (0 in files written before it was kept). */
    uint8_t stage;
    uint8_t pad;
} replay_transition;

typedef struct {
    replay_transition *items; /* capacity entries, allocated once */
    uint32_t capacity, size, cursor;
    /* Prioritized replay only (NULL / 0 when uniform): the sum tree, 2 * leaves nodes, the
     * root at [1], node j's children at [2j] and [2j + 1], slot i's leaf at [leaves + i];
     * leaves is the power of two >= capacity, so that a prefix descends left to right in
     * slot order. Slots not yet written hold 0. */
    double *tree;
    uint32_t leaves;
    double alpha;
    double max_priority; /* largest priority set so far (new transitions get it), from 1 */
} replay_t;

/* 0, or -1 when capacity < 1 or memory is short. alpha > 0 makes it prioritized (the sum
 * tree is allocated here, once); 0 is uniform. Free with replay_free(). */
int replay_init(replay_t *r, uint32_t capacity, double alpha);
void replay_free(replay_t *r);

void replay_capture(const env_t *e, replay_state *out);
/* Sets the state fields of scratch (an env_t bound to the same config) from s. */
void replay_restore(env_t *scratch, const replay_state *s);

/* Appends one transition, overwriting the oldest when full; prioritized, its priority is
 * max_priority. No allocation. */
void replay_add(replay_t *r, const replay_transition *t);

/* The n-step return of transition i: its reward and those of up to n - 1 transitions that
 * follow it in the same episode, the k-th discounted by gamma^k. It stops early at a death
 * (s2 terminal), at the episode's end (the next transition's s is not this one's s2: a
 * time limit or a new episode) and at the newest transition (the cursor). Sets *ret to
 * the discounted sum and *discount to gamma^m (m transitions summed), 0 when the last one
 * is a death; returns the index of the last one, whose s2 the target bootstraps from:
 * target = *ret + *discount * Q(s2). With n = 1: r + gamma * Q(s2), or r at a death. */
uint32_t replay_nstep(const replay_t *r, uint32_t i, int n, float gamma, float *ret,
                      float *discount);

/* Draws `batch` uniform indices with rng. */
void replay_sample(const replay_t *r, rng_t *rng, int batch, uint32_t *idx);
/* The draws replay_sample() makes for a buffer of `size` transitions (to predict a later
 * sample from a copy of the rng). */
void replay_draw(uint32_t size, rng_t *rng, int batch, uint32_t *idx);

/* ---- Prioritized replay (r->tree set) ---- */

/* The sum of the leaves (the root). */
double replay_total(const replay_t *r);
/* Slot i's leaf, priority^alpha. */
double replay_leaf(const replay_t *r, uint32_t i);
/* The slot whose interval [prefix, prefix + leaf) holds u, the prefix being the sum of the
 * leaves before it; for 0 <= u < replay_total(). Never a slot whose leaf is 0: a value
 * pushed past the end of an interval by rounding stays in the nearest nonzero leaf. */
uint32_t replay_find(const replay_t *r, double u);
/* Stratified proportional sampling: the total split into `batch` equal segments, one
 * uniform draw from rng (rng_double) in each, so batch draws in all. weight[k] is the
 * importance weight (N P(k))^-beta divided by the batch's largest. */
void replay_sample_prio(const replay_t *r, rng_t *rng, int batch, double beta, uint32_t *idx,
                        float *weight);
/* Slot i's priority: its leaf becomes priority^alpha and max_priority follows. A priority
 * that is not finite and positive (a diverged TD error) counts as max_priority, so that
 * the tree stays usable. No allocation. */
void replay_set_priority(replay_t *r, uint32_t i, double priority);
/* Sets the leaves as a checkpoint holds them: slots [0, n) from `leaves` (n doubles of this
 * host, any alignment), or every one 1 (priority 1) when leaves is NULL; the others 0. Then
 * max_priority and every internal node, recomputed from the leaves. */
void replay_load_priorities(replay_t *r, const void *leaves, uint32_t n, double max_priority);

#endif
