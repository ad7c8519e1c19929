/* trainer/snapshot.c — see snapshot.h. */
#include "trainer/snapshot.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/le.h"
#include "common/log.h"

/* The TSTA section: explicit little-endian fields (common/le.h) behind a cursor. */
static uint8_t *put_u32(uint8_t *p, uint32_t v) {
    le_put32(p, v);
    return p + 4;
}
static uint8_t *put_u64(uint8_t *p, uint64_t v) {
    le_put64(p, v);
    return p + 8;
}
static uint8_t *put_f64(uint8_t *p, double d) {
    le_put_f64(p, d);
    return p + 8;
}
static uint8_t *put_rng(uint8_t *p, const rng_t *r) {
    for (int i = 0; i < 4; i++) p = put_u64(p, r->s[i]);
    return p;
}
static const uint8_t *get_u32(const uint8_t *p, uint32_t *v) {
    *v = le_get32(p);
    return p + 4;
}
static const uint8_t *get_u64(const uint8_t *p, uint64_t *v) {
    *v = le_get64(p);
    return p + 8;
}
static const uint8_t *get_i32(const uint8_t *p, int32_t *v) {
    uint32_t u;
    p = get_u32(p, &u);
    *v = (int32_t)u;
    return p;
}
static const uint8_t *get_i64(const uint8_t *p, int64_t *v) {
    uint64_t u;
    p = get_u64(p, &u);
    *v = (int64_t)u;
    return p;
}
static const uint8_t *get_f64(const uint8_t *p, double *d) {
    *d = le_get_f64(p);
    return p + 8;
}
static const uint8_t *get_rng(const uint8_t *p, rng_t *r) {
    for (int i = 0; i < 4; i++) p = get_u64(p, &r->s[i]);
    return p;
}

static void state_encode(const snapshot_state *st, uint8_t out[SNAPSHOT_STATE_BYTES]) {
    uint8_t *p = out;
    p = put_u32(p, st->version);
    p = put_u32(p, st->n_params);
    p = put_u64(p, st->seed);
    p = put_u64(p, (uint64_t)st->episode);
    p = put_u64(p, (uint64_t)st->steps);
    p = put_u64(p, (uint64_t)st->updates);
    p = put_u64(p, (uint64_t)st->adam_t);
    p = put_f64(p, st->best_score);
    p = put_f64(p, st->last_score);
    p = put_u32(p, (uint32_t)st->stage);
    p = put_u32(p, (uint32_t)st->stage_episodes);
    p = put_u32(p, (uint32_t)st->window_count);
    p = put_u32(p, (uint32_t)st->window_pos);
    p = put_u32(p, st->replay_capacity);
    p = put_u32(p, st->replay_size);
    p = put_u32(p, st->replay_cursor);
    p = put_u32(p, st->transition_size);
    p = put_rng(p, &st->env_rng);
    p = put_rng(p, &st->explore_rng);
    p = put_rng(p, &st->replay_rng);
    p = put_f64(p, st->train_seconds);
    p = put_u32(p, (uint32_t)st->best_steps);
    (void)p; /* p - out == SNAPSHOT_STATE_BYTES, checked by the resume tests */
}

/* Decodes a section of SNAPSHOT_STATE_BYTES; the caller checks the version. */
static void state_decode(const uint8_t *in, snapshot_state *st) {
    const uint8_t *p = in;
    memset(st, 0, sizeof *st);
    p = get_u32(p, &st->version);
    p = get_u32(p, &st->n_params);
    p = get_u64(p, &st->seed);
    p = get_i64(p, &st->episode);
    p = get_i64(p, &st->steps);
    p = get_i64(p, &st->updates);
    p = get_i64(p, &st->adam_t);
    p = get_f64(p, &st->best_score);
    p = get_f64(p, &st->last_score);
    p = get_i32(p, &st->stage);
    p = get_i32(p, &st->stage_episodes);
    p = get_i32(p, &st->window_count);
    p = get_i32(p, &st->window_pos);
    p = get_u32(p, &st->replay_capacity);
    p = get_u32(p, &st->replay_size);
    p = get_u32(p, &st->replay_cursor);
    p = get_u32(p, &st->transition_size);
    p = get_rng(p, &st->env_rng);
    p = get_rng(p, &st->explore_rng);
    p = get_rng(p, &st->replay_rng);
    p = get_f64(p, &st->train_seconds);
    p = get_i32(p, &st->best_steps);
    (void)p;
}

/* The EPIS section: the episode in progress and the world's state, the env_t fields an
 * episode changes (its rng is in TSTA; its multiplier follows the curriculum stage, also
 * in TSTA; the rest is derived from the config). */
static void episode_encode(const snapshot_episode *ep, const env_t *e,
                           uint8_t out[SNAPSHOT_EPISODE_BYTES]) {
    uint8_t *p = out;
    p = put_u32(p, SNAPSHOT_EPISODE_VERSION);
    p = put_u32(p, (uint32_t)ep->steps);
    p = put_f64(p, ep->total_reward);
    p = put_f64(p, ep->loss_sum);
    p = put_u32(p, (uint32_t)ep->updates);
    p = put_f64(p, ep->seconds);
    p = put_u32(p, (uint32_t)e->x);
    p = put_u32(p, (uint32_t)e->y);
    p = put_u32(p, (uint32_t)e->step);
    for (int i = 0; i < CFG_NUM_METERS; i++) p = put_f64(p, e->meters[i]);
    p = put_u32(p, (uint32_t)e->progress_aff);
    p = put_u32(p, (uint32_t)e->progress_ticks);
    p = put_u32(p, (uint32_t)e->outcome);
    p = put_u32(p, (uint32_t)e->last_action);
    p = put_u32(p, e->last_interact_ok ? 1u : 0u);
    (void)p; /* p - out == SNAPSHOT_EPISODE_BYTES: episode_decode() checks its own count */
}

/* Decodes a section of SNAPSHOT_EPISODE_BYTES into ep and e (bound to the run's config);
 * 0, or -1 with err when the contents cannot be an episode of this config. */
static int episode_decode(const uint8_t *in, const cfg_config *cfg, snapshot_episode *ep, env_t *e,
                          const char *path, char *err, size_t errlen) {
    const uint8_t *p = in;
    uint32_t version, ok;
    int32_t outcome;
    memset(ep, 0, sizeof *ep);
    p = get_u32(p, &version);
    p = get_i32(p, &ep->steps);
    p = get_f64(p, &ep->total_reward);
    p = get_f64(p, &ep->loss_sum);
    p = get_i32(p, &ep->updates);
    p = get_f64(p, &ep->seconds);
    p = get_i32(p, &e->x);
    p = get_i32(p, &e->y);
    p = get_i32(p, &e->step);
    for (int i = 0; i < CFG_NUM_METERS; i++) p = get_f64(p, &e->meters[i]);
    p = get_i32(p, &e->progress_aff);
    p = get_i32(p, &e->progress_ticks);
    p = get_i32(p, &outcome);
    p = get_i32(p, &e->last_action);
    p = get_u32(p, &ok);
    e->outcome = (env_outcome)outcome;
    e->last_interact_ok = ok != 0;
    const cfg_environment *c = &cfg->environment;
    const char *bad = NULL;
    if ((size_t)(p - in) != SNAPSHOT_EPISODE_BYTES || version != SNAPSHOT_EPISODE_VERSION)
        bad = "another version";
    else if (ep->steps < 0 || ep->steps >= c->max_steps || e->step != ep->steps)
        bad = "a step count outside the episode";
    else if (e->x < 0 || e->x >= c->width || e->y < 0 || e->y >= c->height)
        bad = "a position outside the grid";
    else if (outcome != ENV_RUNNING)
        bad = "a finished episode";
    else if (e->progress_aff < -1 || e->progress_aff >= c->n_affordances || e->last_action < -1 ||
             e->last_action >= ENV_NUM_ACTIONS || ep->updates < 0)
        bad = "a field out of range";
    if (bad) {
        snprintf(err, errlen, "%s: the episode in progress (EPIS) holds %s", path, bad);
        return -1;
    }
    return 0;
}

int snapshot_save(const snapshot_parts *p, const ckpt_header *h, const char *dir, const char *name,
                  bool is_best, int keep, char *err, size_t errlen) {
    dqn_t *d = p->dqn;
    snapshot_state *st = p->st;
    st->updates = d->updates;
    st->adam_t = d->adam.t;
    st->replay_capacity = p->replay->capacity;
    st->replay_size = p->replay->size;
    st->replay_cursor = p->replay->cursor;
    st->env_rng = p->env->rng;
    st->explore_rng = *p->explore_rng;
    st->replay_rng = *p->replay_rng;
    uint8_t state_buf[SNAPSHOT_STATE_BYTES], ep_buf[SNAPSHOT_EPISODE_BYTES];
    uint8_t keep_buf[SNAPSHOT_KEEP_BYTES], prio_max_buf[8];
    state_encode(st, state_buf);
    const snapshot_keep *k = p->keep;
    put_u64(put_f64(keep_buf, k->score), (uint64_t)k->episode);
    ckpt_section s[] = {
        {CKPT_TAG_ONLINE, d->online, sizeof(float) * d->n_params},
        {SNAPSHOT_TAG_TARGET, d->target, sizeof(float) * d->n_params},
        {SNAPSHOT_TAG_ADAM, d->adam_m, 2 * sizeof(float) * d->n_params},
        {SNAPSHOT_TAG_REPLAY, p->replay->items, sizeof(replay_transition) * p->replay->size},
        {SNAPSHOT_TAG_STATE, state_buf, sizeof state_buf},
        {SNAPSHOT_TAG_CURR, p->window, sizeof(int32_t) * (size_t)p->cfg->curriculum.window},
        {SNAPSHOT_TAG_EPISODE, ep_buf, sizeof ep_buf},
        {SNAPSHOT_TAG_KEEP, k->weights, sizeof(float) * d->n_params},
        {SNAPSHOT_TAG_KEEP_SCORE, keep_buf, sizeof keep_buf},
        {SNAPSHOT_TAG_PRIO, NULL, 0},
        {SNAPSHOT_TAG_PRIO_MAX, prio_max_buf, sizeof prio_max_buf},
    };
    /* The optional sections are left out by moving the later ones down: no EPIS at an
     * episode boundary (the layout every boundary checkpoint has always had), no KEEP
     * while nothing is kept, no PRIO with uniform replay. */
    int n = 6;
    if (p->ep->active) {
        episode_encode(p->ep, p->env, ep_buf);
        n++;
    }
    if (k->valid) {
        s[n++] = s[7];
        s[n++] = s[8];
    }
    const replay_t *rb = p->replay;
    if (rb->tree) {
        s[9].data = rb->tree + rb->leaves;
        s[9].len = sizeof(double) * rb->size;
        put_f64(prio_max_buf, rb->max_priority);
        s[n++] = s[9];
        s[n++] = s[10];
    }
    return ckpt_save(dir, name, h, s, n, is_best, keep, err, errlen);
}

static const void *need_section(ckpt_file *f, uint32_t tag, uint64_t len, const char *what,
                                const char *path, char *err, size_t errlen) {
    uint64_t got = 0;
    const void *p = ckpt_file_section(f, tag, &got);
    if (!p || got != len) {
        snprintf(err, errlen, "%s: section %s is %s (%" PRIu64 " bytes, expected %" PRIu64 ")",
                 path, what, p ? "the wrong size" : "missing", got, len);
        return NULL;
    }
    return p;
}

/* The PRIO and PRIM sections for n slots, both or neither: *leaves NULL when the file has
 * neither. A leaf of a written slot is positive and finite (priority^alpha with a priority
 * >= priority_eps > 0), the max at least 1 (where it starts): anything else is refused, as
 * it would make the draws undefined. 0, or -1 with err. */
static int prio_decode(ckpt_file *f, uint32_t n, const void **leaves, double *max, const char *path,
                       char *err, size_t errlen) {
    *leaves = NULL;
    *max = 1.0;
    if (!ckpt_file_section(f, SNAPSHOT_TAG_PRIO, NULL) &&
        !ckpt_file_section(f, SNAPSHOT_TAG_PRIO_MAX, NULL))
        return 0;
    const uint8_t *pl = need_section(f, SNAPSHOT_TAG_PRIO, sizeof(double) * n, "priorities (PRIO)",
                                     path, err, errlen);
    const uint8_t *pm =
        pl ? need_section(f, SNAPSHOT_TAG_PRIO_MAX, 8, "max priority (PRIM)", path, err, errlen)
           : NULL;
    if (!pm) return -1;
    get_f64(pm, max);
    if (!isfinite(*max) || *max < 1.0) {
        snprintf(err, errlen, "%s: section max priority (PRIM) is out of range", path);
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        double v;
        memcpy(&v, pl + sizeof v * i, sizeof v); /* the section need not be aligned */
        if (!isfinite(v) || !(v > 0.0)) {
            snprintf(err, errlen,
                     "%s: section priorities (PRIO) holds %g at slot %" PRIu32
                     " (a priority is finite and positive)",
                     path, v, i);
            return -1;
        }
    }
    *leaves = pl;
    return 0;
}

int snapshot_restore(const snapshot_parts *p, ckpt_file *f, const char *path, char *err,
                     size_t errlen) {
    dqn_t *d = p->dqn;
    replay_t *rb = p->replay;
    size_t window = (size_t)p->cfg->curriculum.window;
    /* The version comes first whatever the size, so an old file gets a clear message. */
    uint64_t got = 0;
    const uint8_t *raw = ckpt_file_section(f, SNAPSHOT_TAG_STATE, &got);
    uint32_t version = 0;
    if (raw && got >= 4) get_u32(raw, &version);
    if (raw && version != SNAPSHOT_STATE_VERSION) {
        snprintf(err, errlen, "%s: trainer state version %" PRIu32 ", this build reads %d", path,
                 version, SNAPSHOT_STATE_VERSION);
        return -1;
    }
    raw = need_section(f, SNAPSHOT_TAG_STATE, SNAPSHOT_STATE_BYTES, "state", path, err, errlen);
    if (!raw) return -1;
    snapshot_state decoded;
    const snapshot_state *st = &decoded;
    state_decode(raw, &decoded);
    if (st->n_params != d->n_params || st->transition_size != sizeof(replay_transition) ||
        st->replay_capacity != rb->capacity || st->replay_size > rb->capacity ||
        st->replay_cursor >= rb->capacity) {
        snprintf(err, errlen, "%s: trainer state does not match this build or config", path);
        return -1;
    }
    size_t np = d->n_params;
    const void *on =
        need_section(f, CKPT_TAG_ONLINE, sizeof(float) * np, "online", path, err, errlen);
    const void *tg =
        on ? need_section(f, SNAPSHOT_TAG_TARGET, sizeof(float) * np, "target", path, err, errlen)
           : NULL;
    const void *ad =
        tg ? need_section(f, SNAPSHOT_TAG_ADAM, 2 * sizeof(float) * np, "adam", path, err, errlen)
           : NULL;
    /* A checkpoint older than the newest holds no replay (trainer_checkpoint drops it):
     * resuming from one restores weights, optimizer, counters and RNG states with an empty
     * replay buffer — training goes on, no longer bit for bit as it would have. */
    bool no_replay = ad && !ckpt_file_section(f, SNAPSHOT_TAG_REPLAY, NULL);
    const void *rp =
        no_replay ? (const void *)rb->items
        : ad ? need_section(f, SNAPSHOT_TAG_REPLAY, sizeof(replay_transition) * st->replay_size,
                            "replay", path, err, errlen)
             : NULL;
    const void *cu = rp ? need_section(f, SNAPSHOT_TAG_CURR, sizeof(int32_t) * window, "curriculum",
                                       path, err, errlen)
                        : NULL;
    if (!cu) return -1;
    /* The episode in progress, when the file has one (decoded into copies first, so that a
     * refused section changes nothing). */
    snapshot_episode ep = {0};
    env_t world = *p->env;
    if (ckpt_file_section(f, SNAPSHOT_TAG_EPISODE, NULL)) {
        const uint8_t *es = need_section(f, SNAPSHOT_TAG_EPISODE, SNAPSHOT_EPISODE_BYTES, "episode",
                                         path, err, errlen);
        if (!es || episode_decode(es, p->cfg, &ep, &world, path, err, errlen) != 0) return -1;
        ep.active = true;
    }
    /* The kept weights, when the file has them (both sections or neither). */
    const void *kw = NULL;
    snapshot_keep kept = {.weights = p->keep->weights, .valid = false, .score = 0, .episode = 0};
    if (ckpt_file_section(f, SNAPSHOT_TAG_KEEP, NULL) ||
        ckpt_file_section(f, SNAPSHOT_TAG_KEEP_SCORE, NULL)) {
        kw = need_section(f, SNAPSHOT_TAG_KEEP, sizeof(float) * np, "kept weights", path, err,
                          errlen);
        const uint8_t *ks = kw ? need_section(f, SNAPSHOT_TAG_KEEP_SCORE, SNAPSHOT_KEEP_BYTES,
                                              "kept score", path, err, errlen)
                               : NULL;
        if (!ks) return -1;
        get_i64(get_f64(ks, &kept.score), &kept.episode);
        if (!isfinite(kept.score) || kept.episode < 0 || kept.episode > st->episode) {
            snprintf(err, errlen, "%s: section kept score is out of range", path);
            return -1;
        }
        kept.valid = true;
    }
    /* The priorities of prioritized replay (none to read for an empty replay). */
    const void *prio = NULL;
    double prio_max = 1.0;
    if (rb->tree && !no_replay &&
        prio_decode(f, st->replay_size, &prio, &prio_max, path, err, errlen) != 0)
        return -1;
    memcpy(d->online, on, sizeof(float) * np);
    memcpy(d->target, tg, sizeof(float) * np);
    memcpy(d->adam_m, ad, 2 * sizeof(float) * np);
    if (!no_replay) memcpy(rb->items, rp, sizeof(replay_transition) * st->replay_size);
    memcpy(p->window, cu, sizeof(int32_t) * window);
    if (kw) memcpy(p->keep->weights, kw, sizeof(float) * np);
    *p->keep = kept;
    *p->st = *st;
    if (no_replay) {
        log_warn("%s holds no replay buffer (only the newest checkpoint does): resuming with an "
                 "empty one, not exactly",
                 path);
        p->st->replay_size = p->st->replay_cursor = 0;
    }
    rb->size = p->st->replay_size;
    rb->cursor = p->st->replay_cursor;
    if (rb->tree) replay_load_priorities(rb, prio, rb->size, prio_max);
    p->env->rng = st->env_rng;
    *p->explore_rng = st->explore_rng;
    *p->replay_rng = st->replay_rng;
    d->updates = st->updates;
    d->adam.t = st->adam_t;
    *p->ep = ep;
    if (ep.active) { /* the caller sets its multiplier, which follows the stage */
        world.rng = st->env_rng;
        *p->env = world;
    }
    return 0;
}
