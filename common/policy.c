/* common/policy.c — see policy.h. */
#include "common/policy.h"

#include <stdio.h>
#include <stdlib.h>

struct policy {
    nn_shape shape;
    size_t n_params;
    float *params; /* one allocation: parameters, then one row of activations */
    float *acts;
};

int policy_shape(const cfg_config *cfg, nn_shape *s) {
    int in = env_obs_size(&cfg->environment);
    if (in < 1 || in > ENV_MAX_OBS) return -1;
    if (cfg->agent.dueling)
        return nn_shape_init_dueling(s, in, cfg->agent.hidden, cfg->agent.n_hidden,
                                     ENV_NUM_ACTIONS);
    return nn_shape_init(s, in, cfg->agent.hidden, cfg->agent.n_hidden, ENV_NUM_ACTIONS);
}

policy_t *policy_create(const cfg_config *cfg, uint64_t seed, char *err, size_t errlen) {
    policy_t *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (policy_shape(cfg, &p->shape) != 0) {
        snprintf(err, errlen, "unusable network shape (observation %d floats, %d hidden layers)",
                 env_obs_size(&cfg->environment), cfg->agent.n_hidden);
        free(p);
        return NULL;
    }
    p->n_params = nn_num_params(&p->shape);
    p->params = malloc(sizeof(float) * (p->n_params + nn_acts_size(&p->shape, 1)));
    if (!p->params) {
        snprintf(err, errlen, "out of memory for %zu parameters", p->n_params);
        free(p);
        return NULL;
    }
    p->acts = p->params + p->n_params;
    rng_t r;
    rng_seed(&r, seed, POLICY_RNG_STREAM_INIT);
    nn_init_params(&p->shape, p->params, &r);
    return p;
}

void policy_free(policy_t *p) {
    if (!p) return;
    free(p->params);
    free(p);
}

int policy_act(policy_t *p, const float *obs, uint8_t mask, float q[ENV_NUM_ACTIONS]) {
    nn_forward(&p->shape, p->params, obs, 1, p->acts);
    const float *out = nn_output(&p->shape, p->acts, 1);
    int best = ENV_WAIT; /* always allowed */
    for (int a = 0; a < ENV_NUM_ACTIONS; a++) {
        q[a] = out[a];
        if ((mask >> a & 1) && out[a] > out[best]) best = a;
    }
    return best;
}

float *policy_params(policy_t *p) {
    return p->params;
}

size_t policy_num_params(const policy_t *p) {
    return p->n_params;
}

const nn_shape *policy_get_shape(const policy_t *p) {
    return &p->shape;
}
