/* trainer/replay.c — see replay.h. */
#include "trainer/replay.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int replay_init(replay_t *r, uint32_t capacity) {
    memset(r, 0, sizeof *r);
    if (capacity < 1) return -1;
    r->items = calloc(capacity, sizeof *r->items);
    if (!r->items) return -1;
    r->capacity = capacity;
    return 0;
}

void replay_free(replay_t *r) {
    free(r->items);
    memset(r, 0, sizeof *r);
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
