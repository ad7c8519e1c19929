/* trainer/dqn.c — see dqn.h. */
#include "trainer/dqn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/policy.h"

int dqn_init(dqn_t *d, const cfg_config *cfg, uint64_t seed, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    const cfg_agent *a = &cfg->agent;
    d->agent = a;
    d->curriculum = &cfg->curriculum;
    if (policy_shape(cfg, &d->shape) != 0) {
        snprintf(err, errlen, "unusable network shape");
        return -1;
    }
    if (a->batch_size < 1 || a->batch_size > 65536) {
        snprintf(err, errlen, "agent.batch_size %d out of range", a->batch_size);
        return -1;
    }
    d->n_params = nn_num_params(&d->shape);
    d->obs_size = d->shape.sizes[0];
    d->batch = a->batch_size;
    size_t B = (size_t)d->batch, np = d->n_params, obs = (size_t)d->obs_size;
    size_t nacts = nn_acts_size(&d->shape, d->batch);
    size_t total = 5 * np + 2 * B * obs + 2 * nacts + B * ENV_NUM_ACTIONS +
                   nn_scratch_size(&d->shape, d->batch) + obs + nn_acts_size(&d->shape, 1) + 6 * B;
    float *mem = calloc(total, sizeof(float));
    d->mask2 = calloc(B, 1);
    d->idx = calloc(3 * B, sizeof *d->idx);
    if (!mem || !d->mask2 || !d->idx) {
        free(mem);
        free(d->mask2);
        free(d->idx);
        snprintf(err, errlen, "out of memory for the learner (%zu floats)", total);
        return -1;
    }
    d->next_idx = d->idx + B;
    d->last = d->idx + 2 * B;
    float *p = mem;
#define TAKE(field, n)                                                                             \
    do {                                                                                           \
        d->field = p;                                                                              \
        p += (n);                                                                                  \
    } while (0)
    TAKE(online, np);
    TAKE(target, np);
    TAKE(grad, np);
    TAKE(adam_m, np);
    TAKE(adam_v, np);
    TAKE(x, B * obs);
    TAKE(x2, B * obs);
    TAKE(acts, nacts);
    TAKE(acts2, nacts);
    TAKE(dout, B * ENV_NUM_ACTIONS);
    TAKE(scratch, nn_scratch_size(&d->shape, d->batch));
    TAKE(act_obs, obs);
    TAKE(act_acts, nn_acts_size(&d->shape, 1));
    TAKE(pred, B);
    TAKE(tgt, B);
    TAKE(dpred, B);
    TAKE(nret, B);
    TAKE(ndisc, B);
    TAKE(weight, B);
#undef TAKE
    /* The same initial weights as policy_create(cfg, seed): every layer fresh. */
    dqn_reset_layers(d, d->shape.n_layers, seed);
    d->adam = (nn_adam){.lr = (float)a->learning_rate,
                        .beta1 = (float)a->adam_beta1,
                        .beta2 = (float)a->adam_beta2,
                        .eps = (float)a->adam_eps,
                        .t = 0};
    if (env_init(&d->scratch_env, &cfg->environment, 0) != 0) {
        dqn_free(d);
        snprintf(err, errlen, "environment cannot be built from the config");
        return -1;
    }
    return 0;
}

void dqn_free(dqn_t *d) {
    free(d->online);
    free(d->mask2);
    free(d->idx);
    memset(d, 0, sizeof *d);
}

/* Plans the prefetch of what the next update will most likely sample: the same draws from
 * a copy of the replay rng, over the size the buffer will have train_every steps from now.
 * Only a hint — the next update draws from the real rng and reads the buffer as it is then
 * — but it lets the DRAM latency of 128 scattered cache lines pass during the steps in
 * between instead of stalling the update. The prefetches go out a share per dqn_act():
 * issued all at once, most were dropped (the core tracks only so many misses). */
static void plan_next_batch(dqn_t *d, const replay_t *r, const rng_t *rng) {
    rng_t peek = *rng;
    uint32_t size = r->size + (uint32_t)d->agent->train_every;
    if (size > r->capacity) size = r->capacity;
    replay_draw(size, &peek, d->batch, d->next_idx);
    d->next_items = r->items;
    d->next_done = 0;
}

/* Both cache lines of a transition: at 88 bytes, most straddle two. */
static void prefetch_transition(const replay_transition *t) {
    __builtin_prefetch(t);
    __builtin_prefetch((const char *)t + sizeof *t - 1);
}

static void prefetch_share(dqn_t *d) {
    if (!d->next_items) return;
    int share = (d->batch + d->agent->train_every - 1) / d->agent->train_every;
    int end = d->next_done + share < d->batch ? d->next_done + share : d->batch;
    for (; d->next_done < end; d->next_done++)
        prefetch_transition(&d->next_items[d->next_idx[d->next_done]]);
}

static int masked_argmax(const float *q, uint8_t mask) {
    int best = ENV_WAIT; /* always allowed */
    for (int a = 0; a < ENV_NUM_ACTIONS; a++)
        if ((mask >> a & 1) && q[a] > q[best]) best = a;
    return best;
}

int dqn_greedy(dqn_t *d, const float *obs, uint8_t mask, float *q) {
    nn_forward(&d->shape, d->online, obs, 1, d->act_acts);
    const float *out = nn_output(&d->shape, d->act_acts, 1);
    if (q) memcpy(q, out, sizeof(float) * ENV_NUM_ACTIONS);
    return masked_argmax(out, mask);
}

int dqn_act(dqn_t *d, const float *obs, uint8_t mask, double epsilon, rng_t *rng, float *q) {
    prefetch_share(d);
    mask |= 1u << ENV_WAIT;
    if (rng_double(rng) < epsilon) {
        int allowed[ENV_NUM_ACTIONS], n = 0;
        for (int a = 0; a < ENV_NUM_ACTIONS; a++)
            if (mask >> a & 1) allowed[n++] = a;
        int a = allowed[rng_below(rng, (uint32_t)n)];
        /* Frames show q-values even for exploratory steps; the forward pass is only
         * worth it when someone looks. */
        if (q) dqn_greedy(d, obs, mask, q);
        return a;
    }
    return dqn_greedy(d, obs, mask, q);
}

void dqn_sync_target(dqn_t *d) {
    memcpy(d->target, d->online, sizeof(float) * d->n_params);
}

float dqn_update(dqn_t *d, replay_t *r, rng_t *rng) {
    const cfg_agent *a = d->agent;
    int B = d->batch, obs = d->obs_size;
    bool prioritized = r->tree != NULL;
    if (prioritized)
        replay_sample_prio(r, rng, B, a->priority_beta, d->idx, d->weight);
    else
        replay_sample(r, rng, B, d->idx);
    /* Mostly in cache already (plan_next_batch); the rest: start every miss at once. */
    for (int i = 0; i < B; i++) prefetch_transition(&r->items[d->idx[i]]);
    float gamma = (float)a->gamma;
    for (int i = 0; i < B; i++) {
        const replay_transition *t = &r->items[d->idx[i]];
        /* Only the observation reads it (with observe_multiplier); no step is taken here. */
        d->scratch_env.multiplier = cfg_stage_multiplier(d->curriculum, t->stage);
        replay_restore(&d->scratch_env, &t->s);
        env_observe(&d->scratch_env, d->x + (size_t)i * obs);
        d->last[i] = replay_nstep(r, d->idx[i], a->n_step, gamma, &d->nret[i], &d->ndisc[i]);
        replay_restore(&d->scratch_env, &r->items[d->last[i]].s2);
        env_observe(&d->scratch_env, d->x2 + (size_t)i * obs);
        d->mask2[i] = env_action_mask(&d->scratch_env) | (1u << ENV_WAIT);
    }

    /* Targets: y = R + gamma^m Q_target(s', a*) for non-terminal s', where R and m are the
     * n-step return and its length (replay_nstep: R = r, m = 1 at n = 1) and a* is the
     * masked argmax of the online network (Double DQN) or of the target network itself. */
    nn_forward(&d->shape, d->target, d->x2, B, d->acts2);
    const float *qt = nn_output(&d->shape, d->acts2, B);
    if (a->double_dqn) {
        /* Save Q_target(s', .) rows in dout (free until the backward pass). */
        memcpy(d->dout, qt, sizeof(float) * (size_t)B * ENV_NUM_ACTIONS);
        nn_forward(&d->shape, d->online, d->x2, B, d->acts2);
        const float *qo2 = nn_output(&d->shape, d->acts2, B);
        for (int i = 0; i < B; i++) {
            int best = masked_argmax(qo2 + i * ENV_NUM_ACTIONS, d->mask2[i]);
            d->tgt[i] = d->dout[i * ENV_NUM_ACTIONS + best];
        }
    } else {
        for (int i = 0; i < B; i++) {
            const float *row = qt + i * ENV_NUM_ACTIONS;
            d->tgt[i] = row[masked_argmax(row, d->mask2[i])];
        }
    }
    for (int i = 0; i < B; i++) d->tgt[i] = d->nret[i] + d->ndisc[i] * d->tgt[i];

    nn_forward(&d->shape, d->online, d->x, B, d->acts);
    const float *q = nn_output(&d->shape, d->acts, B);
    for (int i = 0; i < B; i++) d->pred[i] = q[i * ENV_NUM_ACTIONS + r->items[d->idx[i]].action];
    float loss = nn_huber(d->pred, d->tgt, B, (float)a->huber_delta, d->dpred);
    if (prioritized) {
        /* The importance weight corrects the bias of drawing by priority (Schaul et al.
         * 2016); the new priority is the TD error before the Huber clip, in row order, so
         * that a slot drawn twice keeps its last row's. */
        for (int i = 0; i < B; i++) {
            d->dpred[i] *= d->weight[i];
            replay_set_priority(r, d->idx[i],
                                fabs((double)d->tgt[i] - d->pred[i]) + a->priority_eps);
        }
    }
    memset(d->dout, 0, sizeof(float) * (size_t)B * ENV_NUM_ACTIONS);
    for (int i = 0; i < B; i++)
        d->dout[i * ENV_NUM_ACTIONS + r->items[d->idx[i]].action] = d->dpred[i];
    nn_backward(&d->shape, d->online, d->x, B, d->acts, d->dout, d->grad, d->scratch);
    float scale = nn_clip_scale(d->grad, d->n_params, (float)a->grad_clip, NULL);
    nn_adam_step(&d->adam, d->online, d->grad, scale, d->adam_m, d->adam_v, d->n_params,
                 a->target_update == CFG_TARGET_POLYAK ? d->target : NULL, (float)a->tau);
    d->updates++;
    /* The prediction replays uniform draws: meaningless for a prioritized batch. */
    if (!prioritized) plan_next_batch(d, r, rng);
    return loss;
}

void dqn_reset_layers(dqn_t *d, int layers, uint64_t seed) {
    if (layers <= 0) return;
    int from = layers > d->shape.n_layers ? 0 : d->shape.n_layers - layers;
    size_t off = nn_weight_offset(&d->shape, from), n = d->n_params - off;
    rng_t r;
    rng_seed(&r, seed, POLICY_RNG_STREAM_INIT);
    nn_init_layers(&d->shape, d->online, from, &r);
    memcpy(d->target + off, d->online + off, sizeof(float) * n);
    memset(d->adam_m + off, 0, sizeof(float) * n);
    memset(d->adam_v + off, 0, sizeof(float) * n);
}
