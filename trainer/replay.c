/* trainer/replay.c — see replay.h. */
#include "trainer/replay.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int replay_init(replay_t *r, uint32_t capacity, double alpha) {
    memset(r, 0, sizeof *r);
    if (capacity < 1 || capacity > UINT32_C(1) << 31) return -1;
    r->items = calloc(capacity, sizeof *r->items);
    if (!r->items) return -1;
    r->capacity = capacity;
    if (alpha > 0) {
        uint32_t leaves = 1;
        while (leaves < capacity) leaves <<= 1;
        r->tree = calloc(2 * (size_t)leaves, sizeof *r->tree);
        if (!r->tree) {
            replay_free(r);
            return -1;
        }
        r->leaves = leaves;
        r->alpha = alpha;
        r->max_priority = 1.0;
    }
    return 0;
}

void replay_free(replay_t *r) {
    free(r->items);
    free(r->tree);
    memset(r, 0, sizeof *r);
}

/* Slot i's leaf = v and each ancestor recomputed from its two children (never by adding
 * the difference: see replay.h). log2(leaves) additions, no allocation. */
static void set_leaf(replay_t *r, uint32_t i, double v) {
    size_t j = (size_t)r->leaves + i;
    r->tree[j] = v;
    for (j >>= 1; j >= 1; j >>= 1) r->tree[j] = r->tree[2 * j] + r->tree[2 * j + 1];
}

void replay_capture(const env_t *e, replay_state *out) {
    for (int i = 0; i < CFG_NUM_METERS; i++) out->meters[i] = (float)e->meters[i];
    out->step = (int16_t)e->step;
    out->x = (int8_t)e->x;
    out->y = (int8_t)e->y;
    out->progress_aff = (int8_t)e->progress_aff;
    out->progress_ticks = (int8_t)e->progress_ticks;
    out->last_action = (int8_t)e->last_action;
    out->last_interact_ok = e->last_interact_ok;
}

void replay_restore(env_t *e, const replay_state *s) {
    for (int i = 0; i < CFG_NUM_METERS; i++) e->meters[i] = s->meters[i];
    e->step = s->step;
    e->x = s->x;
    e->y = s->y;
    e->progress_aff = s->progress_aff;
    e->progress_ticks = s->progress_ticks;
    e->last_action = s->last_action;
    e->last_interact_ok = s->last_interact_ok;
    e->outcome = ENV_RUNNING;
}

void replay_add(replay_t *r, const replay_transition *t) {
    r->items[r->cursor] = *t;
    if (r->tree) set_leaf(r, r->cursor, pow(r->max_priority, r->alpha));
    r->cursor = r->cursor + 1 == r->capacity ? 0 : r->cursor + 1;
    if (r->size < r->capacity) r->size++;
}

/* The transition after j in the ring belongs to the same episode: it exists (is not the
 * cursor, the oldest or the unwritten slot) and starts where j ended. */
static bool continues(const replay_t *r, uint32_t j, uint32_t next) {
    const replay_transition *a = &r->items[j], *b = &r->items[next];
    if (next == r->cursor || a->done) return false;
    return b->s.step == a->s2.step && b->s.x == a->s2.x && b->s.y == a->s2.y;
}

uint32_t replay_nstep(const replay_t *r, uint32_t i, int n, float gamma, float *ret,
                      float *discount) {
    const replay_transition *t = &r->items[i];
    float sum = t->reward, disc = gamma;
    for (int k = 1; k < n; k++) {
        uint32_t next = i + 1 == r->capacity ? 0 : i + 1;
        if (!continues(r, i, next)) break;
        i = next;
        t = &r->items[i];
        sum += disc * t->reward;
        disc *= gamma;
    }
    *ret = sum;
    *discount = t->done ? 0.0f : disc;
    return i;
}

void replay_draw(uint32_t size, rng_t *rng, int batch, uint32_t *idx) {
    for (int i = 0; i < batch; i++) idx[i] = rng_below(rng, size);
}

void replay_sample(const replay_t *r, rng_t *rng, int batch, uint32_t *idx) {
    replay_draw(r->size, rng, batch, idx);
}

double replay_total(const replay_t *r) {
    return r->tree[1];
}

double replay_leaf(const replay_t *r, uint32_t i) {
    return r->tree[(size_t)r->leaves + i];
}

uint32_t replay_find(const replay_t *r, double u) {
    size_t j = 1;
    while (j < r->leaves) {
        double left = r->tree[2 * j], right = r->tree[2 * j + 1];
        /* Left when u falls in it, or when the right holds nothing (u rounded past the
         * node's total); a node's sum is positive, so the side taken is too. */
        if (u < left || right <= 0.0) {
            j = 2 * j;
        } else {
            u -= left;
            j = 2 * j + 1;
        }
    }
    return (uint32_t)(j - r->leaves);
}

void replay_sample_prio(const replay_t *r, rng_t *rng, int batch, double beta, uint32_t *idx,
                        float *weight) {
    double seg = replay_total(r) / batch, min_leaf = HUGE_VAL;
    for (int k = 0; k < batch; k++) {
        idx[k] = replay_find(r, (k + rng_double(rng)) * seg);
        double leaf = replay_leaf(r, idx[k]);
        if (leaf < min_leaf) min_leaf = leaf;
    }
    /* (N P_k)^-beta / max_j (N P_j)^-beta = (P_min / P_k)^beta: N and the total cancel, and
     * the ratio <= 1 cannot overflow. */
    for (int k = 0; k < batch; k++) weight[k] = (float)pow(min_leaf / replay_leaf(r, idx[k]), beta);
}

void replay_set_priority(replay_t *r, uint32_t i, double priority) {
    if (!(priority > 0.0) || !isfinite(priority)) priority = r->max_priority;
    if (priority > r->max_priority) r->max_priority = priority;
    set_leaf(r, i, pow(priority, r->alpha));
}

void replay_load_priorities(replay_t *r, const void *leaves, uint32_t n, double max_priority) {
    double *leaf = r->tree + r->leaves;
    if (leaves)
        memcpy(leaf, leaves, sizeof(double) * n);
    else
        for (uint32_t i = 0; i < n; i++) leaf[i] = 1.0;
    memset(leaf + n, 0, sizeof(double) * (r->leaves - n));
    r->max_priority = max_priority;
    for (size_t j = r->leaves - 1; j >= 1; j--) r->tree[j] = r->tree[2 * j] + r->tree[2 * j + 1];
}
