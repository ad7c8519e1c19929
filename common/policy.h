/* common/policy.h — the Q-network as a policy (prefix policy_): what an inference session
 * needs to play a trained agent, and what the trainer acts with.
 *
 * An MLP obs -> hidden... -> ENV_NUM_ACTIONS with ReLU, shapes from cfg_agent and
 * env_obs_size(). The parameter layout is shared with the learner and the checkpoint
 * format (common/ckpt.h). */
#ifndef RD_COMMON_POLICY_H
#define RD_COMMON_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/env.h"
#include "common/nn.h"

typedef struct policy policy_t;

/* Allocates a policy for cfg with weights initialised from `seed` (an untrained agent).
 * Returns NULL with err on failure. Free with policy_free(). */
policy_t *policy_create(const cfg_config *cfg, uint64_t seed, char *err, size_t errlen);
void policy_free(policy_t *p);

/* Q-values of one observation into q[ENV_NUM_ACTIONS]; returns the greedy action among
 * those allowed by `mask` (env_action_mask()). No allocation. */
int policy_act(policy_t *p, const float *obs, uint8_t mask, float q[ENV_NUM_ACTIONS]);

/* The flat parameter vector (all layers, one allocation) and its length in floats. */
float *policy_params(policy_t *p);
size_t policy_num_params(const policy_t *p);

/* The network's shape for cfg: env_obs_size() -> agent.hidden... -> ENV_NUM_ACTIONS.
 * 0, or -1 when the config's sizes are unusable. (Added by the learner: the trainer builds
 * its online and target networks with the same shape and layout.) */
int policy_shape(const cfg_config *cfg, nn_shape *s);
const nn_shape *policy_get_shape(const policy_t *p);

/* The rng stream (common/rng.h) that seeds the initial weights. */
#define POLICY_RNG_STREAM_INIT 4

#endif
