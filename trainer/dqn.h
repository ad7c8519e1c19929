/* trainer/dqn.h — the DQN learner (prefix dqn_): online and target networks, Adam,
 * masked epsilon-greedy acting, and the update from a replay batch (docs/design/learner.md).
 *
 * All buffers are allocated by dqn_init() once; dqn_act() and dqn_update() allocate
 * nothing. The online parameters are in policy_params() layout (common/policy.h), so a
 * checkpoint's ONLINE section is directly loadable by the server's policy. */
#ifndef RD_TRAINER_DQN_H
#define RD_TRAINER_DQN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/env.h"
#include "common/nn.h"
#include "trainer/replay.h"

typedef struct {
    const cfg_agent *agent;           /* borrowed */
    const cfg_curriculum *curriculum; /* borrowed: a transition's stage -> its multiplier */
    nn_shape shape;
    size_t n_params;
    int obs_size, batch;
    float *online, *target, *grad, *adam_m, *adam_v; /* n_params each, one allocation */
    nn_adam adam;
    /* Work buffers for one update (batch rows) and for acting (one row). */
    float *x, *x2, *acts, *acts2, *dout, *scratch, *act_obs, *act_acts;
    float *pred, *tgt, *dpred;
    float *nret, *ndisc; /* per row: the n-step return and gamma^m (replay_nstep) */
    float *weight;       /* per row: the importance weight (prioritized replay) */
    uint32_t *last;      /* per row: the transition whose s2 the target bootstraps from */
    uint8_t *mask2;
    uint32_t *idx;
    /* The next update's likely samples, prefetched a few per dqn_act() call: see
     * prefetch_next_batch() in dqn.c. */
    uint32_t *next_idx;
    const replay_transition *next_items;
    int next_done;
    env_t scratch_env; /* rebuilds observations from replay states */
    int64_t updates;
} dqn_t;

/* Allocates everything for cfg (borrowed, must outlive d) and initialises the online
 * weights as policy_create(cfg, seed) does; the target starts as a copy. 0 or -1 + err. */
int dqn_init(dqn_t *d, const cfg_config *cfg, uint64_t seed, char *err, size_t errlen);
void dqn_free(dqn_t *d);

/* Greedy action among `mask` for obs, q-values into q (may be NULL). */
int dqn_greedy(dqn_t *d, const float *obs, uint8_t mask, float *q);

/* Epsilon-greedy among `mask`: with probability epsilon a uniform allowed action (drawn
 * from rng), else greedy. Always draws exactly one float, plus one index when exploring. */
int dqn_act(dqn_t *d, const float *obs, uint8_t mask, double epsilon, rng_t *rng, float *q);

/* One gradient step on a batch drawn from r with rng. Returns the Huber loss (unweighted).
 * Applies the Polyak target update when configured. With a prioritized r, the batch is drawn
 * by priority, each row's gradient scaled by its importance weight, and the drawn slots'
 * priorities set to |TD error| + priority_eps. */
float dqn_update(dqn_t *d, replay_t *r, rng_t *rng);

/* target <- online. */
void dqn_sync_target(dqn_t *d);
/* Fresh weights for the last `layers` weight layers of the online and the target network
 * (drawn from seed), and their Adam moments zeroed; the layers below keep what they
 * learnt. For [curriculum] plateau_reset_layers. */
void dqn_reset_layers(dqn_t *d, int layers, uint64_t seed);

#endif
