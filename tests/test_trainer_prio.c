/* tests/test_trainer_prio.c — proportional prioritized replay (trainer/replay.h, the sum
 * tree; trainer/dqn.c, its use in an update; trainer/snapshot.c, its checkpoint sections):
 * the tree's sums and prefix descent against hand-computed cases, stratified sampling (never
 * a zero leaf, in proportion to the leaves), importance weights, the priority an update
 * sets, the tree rebuilt from its leaves equal bit for bit to the one kept up step by step,
 * and the PRIO / PRIM sections saved, restored and refused when corrupt. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "common/ckpt.h"
#include "common/env.h"
#include "common/le.h"
#include "trainer/dqn.h"
#include "trainer/replay.h"
#include "trainer/snapshot.h"
#include "tests/support/runner.h"
#include "tests/support/scratch.h"

static void add_blank(replay_t *r, int n) {
    replay_transition t;
    memset(&t, 0, sizeof t);
    for (int i = 0; i < n; i++) replay_add(r, &t);
}

/* Five slots with alpha 1 (leaf = priority) and the leaves 0.5, 2, 0.25, 1.25, 4: every
 * sum is exact in binary, so the expectations are exact. Capacity 5 rounds up to 8 leaves. */
static void five_slots(replay_t *r) {
    ck_assert_int_eq(replay_init(r, 5, 1.0), 0);
    add_blank(r, 5);
    static const double p[] = {0.5, 2, 0.25, 1.25, 4};
    for (uint32_t i = 0; i < 5; i++) replay_set_priority(r, i, p[i]);
}

START_TEST(test_tree_sums) {
    replay_t r;
    ck_assert_int_eq(replay_init(&r, 5, 1.0), 0);
    ck_assert_uint_eq(r.leaves, 8);
    ck_assert(r.max_priority == 1.0);
    add_blank(&r, 3);
    /* New transitions take the max priority, 1 at the start; unwritten slots are 0. */
    ck_assert(replay_total(&r) == 3.0);
    ck_assert(replay_leaf(&r, 2) == 1.0 && replay_leaf(&r, 3) == 0.0);
    replay_free(&r);

    five_slots(&r);
    ck_assert(replay_total(&r) == 8.0);
    ck_assert(r.tree[2] == 4.0 && r.tree[3] == 4.0); /* slots 0-3 | 4-7 */
    ck_assert(r.tree[4] == 2.5 && r.tree[5] == 1.5 && r.tree[6] == 4.0 && r.tree[7] == 0.0);
    ck_assert(r.max_priority == 4.0);
    /* The ring wraps to slot 0: the new transition takes priority 4. */
    add_blank(&r, 1);
    ck_assert(replay_leaf(&r, 0) == 4.0);
    ck_assert(replay_total(&r) == 11.5);
    /* A smaller priority later does not lower the max. */
    replay_set_priority(&r, 4, 0.5);
    ck_assert(r.max_priority == 4.0);
    ck_assert(replay_total(&r) == 8.0);
    replay_free(&r);

    /* Uniform replay has no tree. */
    ck_assert_int_eq(replay_init(&r, 5, 0.0), 0);
    ck_assert_ptr_null(r.tree);
    replay_free(&r);
}
END_TEST

START_TEST(test_tree_find) {
    replay_t r;
    five_slots(&r);
    /* Intervals: [0, 0.5) [0.5, 2.5) [2.5, 2.75) [2.75, 4) [4, 8); a boundary belongs to the
     * slot it starts. */
    static const struct {
        double u;
        uint32_t slot;
    } want[] = {{0.0, 0},
                {0.49, 0},
                {0.5, 1},
                {2.49, 1},
                {2.5, 2},
                {2.7, 2},
                {2.75, 3},
                {3.999, 3},
                {4.0, 4},
                {7.99, 4},
                /* past the total (rounding): the last nonzero slot, never 5-7 */
                {8.0, 4},
                {1000.0, 4},
                {8.001, 4}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(replay_find(&r, want[i].u) == want[i].slot, "u %g: slot %u, want %u",
                      want[i].u, replay_find(&r, want[i].u), want[i].slot);
    replay_free(&r);

    /* Only slot 6 of 8 nonzero: every value lands there. */
    ck_assert_int_eq(replay_init(&r, 8, 1.0), 0);
    add_blank(&r, 7);
    replay_load_priorities(&r, (const double[]){0, 0, 0, 0, 0, 0, 3}, 7, 1.0);
    ck_assert(replay_total(&r) == 3.0);
    for (double u = 0; u < 5; u += 0.25) ck_assert_uint_eq(replay_find(&r, u), 6);
    replay_free(&r);
}
END_TEST

/* With segments of 1 over [0, 8): row 0 draws slot 0 or 1, row 1 always slot 1, row 2 slot
 * 1, 2 or 3, row 3 slot 3, rows 4-7 slot 4; over many batches each slot comes up in
 * proportion to its leaf. The rng is fixed, so the counts are too; the tolerance only
 * allows for the sampling noise of 80,000 draws. */
START_TEST(test_stratified_sampling) {
    replay_t r;
    five_slots(&r);
    rng_t g;
    rng_seed(&g, 3, 0);
    uint32_t idx[8];
    float w[8];
    long count[8] = {0};
    const int batches = 10000;
    for (int b = 0; b < batches; b++) {
        replay_sample_prio(&r, &g, 8, 0.4, idx, w);
        ck_assert_uint_le(idx[0], 1);
        ck_assert_uint_eq(idx[1], 1);
        ck_assert(idx[2] >= 1 && idx[2] <= 3);
        ck_assert_uint_eq(idx[3], 3);
        for (int k = 4; k < 8; k++) ck_assert_uint_eq(idx[k], 4);
        for (int k = 0; k < 8; k++) count[idx[k]]++;
    }
    for (uint32_t i = 0; i < 8; i++) {
        double share = (double)count[i] / (8.0 * batches);
        double want = replay_leaf(&r, i) / 8.0;
        ck_assert_msg(fabs(share - want) < 0.005, "slot %u: %.4f, want %.4f", i, share, want);
    }
    ck_assert_int_eq(count[5] + count[6] + count[7], 0);
    replay_free(&r);

    /* A part-filled buffer with a wide spread of priorities: never an unwritten slot. */
    ck_assert_int_eq(replay_init(&r, 1000, 0.6), 0);
    add_blank(&r, 300);
    for (uint32_t i = 0; i < 300; i++) replay_set_priority(&r, i, i % 7 ? 1e-3 : 1e3);
    uint32_t big[64];
    float bw[64];
    uint32_t highest = 0;
    for (int b = 0; b < 2000; b++) {
        replay_sample_prio(&r, &g, 64, 0.4, big, bw);
        for (int k = 0; k < 64; k++) highest = big[k] > highest ? big[k] : highest;
    }
    ck_assert_uint_lt(highest, 300);
    replay_free(&r);
}
END_TEST

/* w_k = (N P_k)^-beta / max_j (N P_j)^-beta, computed here from the definition. */
START_TEST(test_importance_weights) {
    replay_t r;
    five_slots(&r);
    rng_t g;
    rng_seed(&g, 11, 0);
    uint32_t idx[8];
    float w[8];
    for (int b = 0; b < 100; b++) {
        replay_sample_prio(&r, &g, 8, 0.5, idx, w);
        double want[8], max = 0;
        for (int k = 0; k < 8; k++) {
            want[k] = pow(5.0 * replay_leaf(&r, idx[k]) / 8.0, -0.5);
            if (want[k] > max) max = want[k];
        }
        for (int k = 0; k < 8; k++)
            ck_assert_msg(fabs(w[k] - want[k] / max) < 1e-6, "row %d: %g, want %g", k, w[k],
                          want[k] / max);
        /* By hand: rows 1 and 4 hold slots 1 and 4 (leaves 2 and 4): (2 / 4)^0.5. */
        ck_assert(fabs(w[4] / w[1] - sqrt(0.5)) < 1e-6);
    }
    /* A batch of slot 4 only (segments inside [4, 8)): every weight 1. */
    replay_load_priorities(&r, (const double[]){0, 0, 0, 0, 4}, 5, 4.0);
    replay_sample_prio(&r, &g, 8, 0.5, idx, w);
    for (int k = 0; k < 8; k++) ck_assert(w[k] == 1.0f && idx[k] == 4);
    /* beta 0: no correction. */
    replay_free(&r);
    five_slots(&r);
    replay_sample_prio(&r, &g, 8, 0.0, idx, w);
    for (int k = 0; k < 8; k++) ck_assert(w[k] == 1.0f);
    replay_free(&r);
}
END_TEST

START_TEST(test_set_priority) {
    replay_t r;
    ck_assert_int_eq(replay_init(&r, 4, 0.5), 0);
    add_blank(&r, 4);
    replay_set_priority(&r, 0, 4.0);
    ck_assert(replay_leaf(&r, 0) == 2.0); /* 4^0.5 */
    replay_set_priority(&r, 1, 0.3 + 1e-3);
    ck_assert(replay_leaf(&r, 1) == pow(0.301, 0.5));
    ck_assert(r.max_priority == 4.0);
    /* Not finite or not positive: the max priority, which stays. */
    replay_set_priority(&r, 2, NAN);
    ck_assert(replay_leaf(&r, 2) == 2.0);
    replay_set_priority(&r, 3, INFINITY);
    ck_assert(replay_leaf(&r, 3) == 2.0);
    replay_set_priority(&r, 3, 0.0);
    ck_assert(replay_leaf(&r, 3) == 2.0);
    ck_assert(r.max_priority == 4.0);
    ck_assert(replay_total(&r) == 2.0 + pow(0.301, 0.5) + 4.0);
    replay_free(&r);
}
END_TEST

/* Adds and priority updates in a random order over a ring that wraps, on a capacity that
 * is not a power of two: the tree rebuilt from a copy of its leaves is the same bytes. */
START_TEST(test_rebuilt_tree_is_identical) {
    replay_t a, b;
    ck_assert_int_eq(replay_init(&a, 1000, 0.6), 0);
    ck_assert_int_eq(replay_init(&b, 1000, 0.6), 0);
    rng_t g;
    rng_seed(&g, 5, 0);
    for (int step = 0; step < 5000; step++) {
        add_blank(&a, 1);
        if (step % 4 == 0) {
            uint32_t idx[16];
            float w[16];
            replay_sample_prio(&a, &g, 16, 0.4, idx, w);
            for (int k = 0; k < 16; k++)
                replay_set_priority(&a, idx[k], fabs(rng_double(&g) * 30 - 10) + 1e-3);
        }
    }
    ck_assert_uint_eq(a.size, 1000);
    /* Garbage in b's internal nodes first: the load must overwrite all of them. */
    for (uint32_t j = 1; j < b.leaves; j++) b.tree[j] = NAN;
    replay_load_priorities(&b, a.tree + a.leaves, a.size, a.max_priority);
    /* Node 0 is unused. */
    ck_assert(memcmp(a.tree + 1, b.tree + 1, sizeof(double) * (2 * a.leaves - 1)) == 0);
    ck_assert(a.max_priority == b.max_priority && a.max_priority > 1.0);
    /* A file without priorities: every written slot 1, the rest 0. */
    replay_load_priorities(&b, NULL, 700, 1.0);
    ck_assert(replay_total(&b) == 700.0 && replay_leaf(&b, 699) == 1.0 &&
              replay_leaf(&b, 700) == 0);
    replay_free(&a);
    replay_free(&b);
}
END_TEST

/* A small learner on level 1 transitions: after an update every drawn slot's leaf is
 * (|target - prediction| + eps)^alpha of the last row that drew it, and each row's
 * gradient is the Huber one scaled by its weight. */
START_TEST(test_update_sets_priorities) {
    cfg_config cfg;
    cfg_defaults(&cfg);
    cfg.agent.n_hidden = 2;
    cfg.agent.hidden[0] = cfg.agent.hidden[1] = 16;
    cfg.agent.batch_size = 32;
    cfg.agent.priority_alpha = 0.6;
    cfg.agent.priority_beta = 0.4;
    cfg.agent.priority_eps = 1e-3;
    char err[256];
    dqn_t d;
    ck_assert_msg(dqn_init(&d, &cfg, 1, err, sizeof err) == 0, "%s", err);
    replay_t r;
    ck_assert_int_eq(replay_init(&r, 256, cfg.agent.priority_alpha), 0);
    env_t e;
    ck_assert_int_eq(env_init(&e, &cfg.environment, 2), 0);
    e.multiplier = 1.0;
    env_reset(&e);
    rng_t g;
    rng_seed(&g, 9, 0);
    for (int i = 0; i < 200; i++) {
        replay_transition t = {0};
        replay_capture(&e, &t.s);
        t.action = (uint8_t)ENV_WAIT;
        env_outcome out = env_step(&e, ENV_WAIT);
        replay_capture(&e, &t.s2);
        t.reward = 1.0f;
        t.done = out == ENV_DIED_HEALTH || out == ENV_DIED_ENERGY;
        replay_add(&r, &t);
        if (out != ENV_RUNNING) env_reset(&e);
    }
    for (int u = 0; u < 5; u++) {
        dqn_update(&d, &r, &g);
        int B = d.batch;
        for (int i = 0; i < B; i++) {
            int last = i;
            for (int k = i + 1; k < B; k++)
                if (d.idx[k] == d.idx[i]) last = k;
            double p = fabs((double)d.tgt[last] - d.pred[last]) + 1e-3;
            ck_assert_msg(replay_leaf(&r, d.idx[i]) == pow(p, 0.6), "row %d", i);
            /* huber_delta 100 is never reached here: the gradient is (pred - tgt) / B. */
            float g1 = (d.pred[i] - d.tgt[i]) * (1.0f / (float)B);
            ck_assert_msg(d.dpred[i] == g1 * d.weight[i], "row %d", i);
            ck_assert(d.weight[i] > 0.0f && d.weight[i] <= 1.0f);
        }
    }
    replay_free(&r);
    dqn_free(&d);
}
END_TEST

/* ---- The PRIO / PRIM checkpoint sections (trainer/snapshot.c) ---- */

/* A run's parts as snapshot_save / snapshot_restore take them, at small sizes. */
typedef struct {
    cfg_config cfg;
    dqn_t dqn;
    replay_t replay;
    snapshot_state st;
    snapshot_episode ep;
    env_t env;
    rng_t explore_rng, replay_rng;
    int32_t *window;
    snapshot_keep keep;
    snapshot_parts parts;
} rig;

static void rig_init(rig *g) {
    memset(g, 0, sizeof *g);
    cfg_defaults(&g->cfg);
    g->cfg.agent.n_hidden = 2;
    g->cfg.agent.hidden[0] = g->cfg.agent.hidden[1] = 8;
    g->cfg.agent.batch_size = 16;
    g->cfg.agent.replay_capacity = 300;
    g->cfg.agent.priority_alpha = 0.6;
    char err[256];
    ck_assert_msg(dqn_init(&g->dqn, &g->cfg, 1, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(replay_init(&g->replay, 300, 0.6), 0);
    ck_assert_int_eq(env_init(&g->env, &g->cfg.environment, 3), 0);
    g->window = calloc((size_t)g->cfg.curriculum.window, sizeof(int32_t));
    g->keep.weights = calloc(g->dqn.n_params, sizeof(float));
    ck_assert(g->window && g->keep.weights);
    g->st.version = SNAPSHOT_STATE_VERSION;
    g->st.n_params = (uint32_t)g->dqn.n_params;
    g->st.transition_size = sizeof(replay_transition);
    g->parts = (snapshot_parts){.cfg = &g->cfg,
                                .dqn = &g->dqn,
                                .replay = &g->replay,
                                .st = &g->st,
                                .ep = &g->ep,
                                .env = &g->env,
                                .explore_rng = &g->explore_rng,
                                .replay_rng = &g->replay_rng,
                                .window = g->window,
                                .keep = &g->keep};
}

static void rig_free(rig *g) {
    dqn_free(&g->dqn);
    replay_free(&g->replay);
    free(g->window);
    free(g->keep.weights);
}

static char ckdir[64];

static void ck_setup(void) {
    snprintf(ckdir, sizeof ckdir, "/tmp/rd_test_prio_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(ckdir));
}

static void ck_teardown(void) {
    scratch_rm_rf(ckdir);
}

/* A 250-transition replay with priorities spread by a few updates, saved as <ckdir>/<name>. */
static void save_run(rig *g, const char *name, char *path, size_t pathlen) {
    add_blank(&g->replay, 250);
    rng_t r;
    rng_seed(&r, 4, 0);
    for (int u = 0; u < 20; u++) {
        uint32_t idx[16];
        float w[16];
        replay_sample_prio(&g->replay, &r, 16, 0.4, idx, w);
        for (int k = 0; k < 16; k++)
            replay_set_priority(&g->replay, idx[k], rng_double(&r) * 5 + 1e-3);
    }
    ck_assert(g->replay.max_priority > 1.0);
    ckpt_header h = {.cfg_hash = cfg_hash(&g->cfg), .episode = 1};
    char err[512];
    ck_assert_msg(snapshot_save(&g->parts, &h, ckdir, name, false, 100, err, sizeof err) == 0, "%s",
                  err);
    snprintf(path, pathlen, "%s/%s.ckpt", ckdir, name);
}

static int restore(rig *g, const char *path, char *err, size_t errlen) {
    ckpt_file *f = ckpt_open(path, 0, err, errlen);
    ck_assert_msg(f != NULL, "%s", err);
    int rc = snapshot_restore(&g->parts, f, path, err, errlen);
    ckpt_file_free(f);
    return rc;
}

START_TEST(test_checkpoint_round_trip) {
    rig a, b;
    rig_init(&a);
    rig_init(&b);
    char path[256], err[512];
    save_run(&a, "ep_0000001", path, sizeof path);
    ck_assert_msg(restore(&b, path, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(b.replay.size, 250);
    ck_assert(b.replay.max_priority == a.replay.max_priority);
    ck_assert(memcmp(a.replay.tree + 1, b.replay.tree + 1,
                     sizeof(double) * (2 * a.replay.leaves - 1)) == 0);
    rig_free(&a);
    rig_free(&b);

    /* Uniform replay writes no PRIO. */
    rig_init(&a);
    replay_free(&a.replay);
    ck_assert_int_eq(replay_init(&a.replay, 300, 0.0), 0);
    add_blank(&a.replay, 10);
    ckpt_header h = {.cfg_hash = 1, .episode = 2};
    ck_assert(snapshot_save(&a.parts, &h, ckdir, "ep_0000002", false, 100, err, sizeof err) == 0);
    snprintf(path, sizeof path, "%s/ep_0000002.ckpt", ckdir);
    ckpt_file *f = ckpt_open(path, 0, err, sizeof err);
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_null(ckpt_file_section(f, SNAPSHOT_TAG_PRIO, NULL));
    ck_assert_ptr_null(ckpt_file_section(f, SNAPSHOT_TAG_PRIO_MAX, NULL));
    ckpt_file_free(f);
    rig_free(&a);
}
END_TEST

/* Rewrites the checkpoint at `path` as <ckdir>/<name>.ckpt: every section as it is, but
 * PRIO with slot 7's leaf = v and PRIM = max (NAN: as it is), without PRIO / PRIM when
 * drop_prio, without RPLY when drop_replay. */
static void rewrite(const char *path, const char *name, double v, double max, bool drop_prio,
                    bool drop_replay, char *out, size_t outlen) {
    static const uint32_t tags[] = {CKPT_TAG_ONLINE,     SNAPSHOT_TAG_TARGET,  SNAPSHOT_TAG_ADAM,
                                    SNAPSHOT_TAG_REPLAY, SNAPSHOT_TAG_STATE,   SNAPSHOT_TAG_CURR,
                                    SNAPSHOT_TAG_PRIO,   SNAPSHOT_TAG_PRIO_MAX};
    enum { N = sizeof tags / sizeof tags[0] };
    char err[512];
    ckpt_file *f = ckpt_open(path, 0, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    ckpt_section s[N];
    void *copies[N] = {0};
    int n = 0;
    for (int i = 0; i < N; i++) {
        uint64_t len = 0;
        const void *data = ckpt_file_section(f, tags[i], &len);
        ck_assert_ptr_nonnull(data);
        bool prio = tags[i] == SNAPSHOT_TAG_PRIO || tags[i] == SNAPSHOT_TAG_PRIO_MAX;
        if ((prio && drop_prio) || (tags[i] == SNAPSHOT_TAG_REPLAY && drop_replay)) continue;
        copies[i] = malloc(len);
        memcpy(copies[i], data, len);
        if (tags[i] == SNAPSHOT_TAG_PRIO) memcpy((double *)copies[i] + 7, &v, sizeof v);
        if (tags[i] == SNAPSHOT_TAG_PRIO_MAX && !isnan(max)) le_put_f64(copies[i], max);
        s[n++] = (ckpt_section){tags[i], copies[i], len};
    }
    ckpt_header h = *ckpt_file_header(f);
    ckpt_file_free(f);
    ck_assert_msg(ckpt_save(ckdir, name, &h, s, n, false, 100, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < N; i++) free(copies[i]);
    snprintf(out, outlen, "%s/%s.ckpt", ckdir, name);
}

/* A hostile PRIO or PRIM is refused with the path and the section named, and the run's
 * parts are left as they were. */
START_TEST(test_corrupt_priorities_refused) {
    rig a, b;
    rig_init(&a);
    rig_init(&b);
    char path[256], bad[256], err[512];
    save_run(&a, "ep_0000001", path, sizeof path);
    static const struct {
        double leaf, max;
        const char *section;
    } cases[] = {{NAN, NAN, "(PRIO)"},      {-1.0, NAN, "(PRIO)"}, {0.0, NAN, "(PRIO)"},
                 {INFINITY, NAN, "(PRIO)"}, {1.0, 0.5, "(PRIM)"},  {1.0, INFINITY, "(PRIM)"},
                 {1.0, NAN, NULL}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char name[32];
        snprintf(name, sizeof name, "ep_%07zu", 10 + c);
        rewrite(path, name, cases[c].leaf, cases[c].max, false, false, bad, sizeof bad);
        err[0] = '\0';
        int rc = restore(&b, bad, err, sizeof err);
        if (!cases[c].section) { /* the control: an ordinary value loads */
            ck_assert_msg(rc == 0, "%s", err);
            ck_assert(replay_leaf(&b.replay, 7) == 1.0);
            continue;
        }
        ck_assert_msg(rc == -1, "case %zu accepted", c);
        ck_assert_msg(strstr(err, bad) == err && strstr(err, cases[c].section), "%s", err);
        ck_assert_uint_eq(b.replay.size, 0); /* nothing restored */
        ck_assert(replay_total(&b.replay) == 0.0);
    }
    rig_free(&a);
    rig_free(&b);
}
END_TEST

/* PRIO of the wrong size, or one of the pair alone: refused. Neither (a file from before
 * prioritized replay): every priority 1. No replay (an older checkpoint): an empty one. */
START_TEST(test_missing_priorities) {
    rig a, b;
    rig_init(&a);
    rig_init(&b);
    char path[256], out[256], err[512];
    save_run(&a, "ep_0000001", path, sizeof path);

    rewrite(path, "ep_0000002", 1.0, NAN, true, false, out, sizeof out);
    ck_assert_msg(restore(&b, out, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(b.replay.size, 250);
    ck_assert(b.replay.max_priority == 1.0 && replay_total(&b.replay) == 250.0);
    for (uint32_t i = 0; i < 250; i++) ck_assert(replay_leaf(&b.replay, i) == 1.0);

    rewrite(path, "ep_0000003", 1.0, NAN, false, true, out, sizeof out);
    ck_assert_msg(restore(&b, out, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(b.replay.size, 0);
    ck_assert(b.replay.max_priority == 1.0 && replay_total(&b.replay) == 0.0);

    /* PRIO without PRIM; PRIO one slot short. */
    char err2[512];
    ckpt_file *f = ckpt_open(path, 0, err, sizeof err);
    ck_assert_ptr_nonnull(f);
    uint64_t len = 0;
    const void *pl = ckpt_file_section(f, SNAPSHOT_TAG_PRIO, &len);
    ck_assert_uint_eq(len, 250 * sizeof(double));
    ckpt_section s[8];
    static const uint32_t tags[] = {CKPT_TAG_ONLINE,     SNAPSHOT_TAG_TARGET, SNAPSHOT_TAG_ADAM,
                                    SNAPSHOT_TAG_REPLAY, SNAPSHOT_TAG_STATE,  SNAPSHOT_TAG_CURR};
    for (int i = 0; i < 6; i++) {
        s[i].tag = tags[i];
        s[i].data = ckpt_file_section(f, tags[i], &s[i].len);
    }
    s[6] = (ckpt_section){SNAPSHOT_TAG_PRIO, pl, len};
    ckpt_header h = *ckpt_file_header(f);
    ck_assert(ckpt_save(ckdir, "ep_0000004", &h, s, 7, false, 100, err2, sizeof err2) == 0);
    s[7] =
        (ckpt_section){SNAPSHOT_TAG_PRIO_MAX, ckpt_file_section(f, SNAPSHOT_TAG_PRIO_MAX, NULL), 8};
    s[6].len -= sizeof(double);
    ck_assert(ckpt_save(ckdir, "ep_0000005", &h, s, 8, false, 100, err2, sizeof err2) == 0);
    ckpt_file_free(f);
    snprintf(out, sizeof out, "%s/ep_0000004.ckpt", ckdir);
    ck_assert_int_eq(restore(&b, out, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "max priority (PRIM) is missing"), "%s", err);
    snprintf(out, sizeof out, "%s/ep_0000005.ckpt", ckdir);
    ck_assert_int_eq(restore(&b, out, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "priorities (PRIO) is the wrong size"), "%s", err);
    rig_free(&a);
    rig_free(&b);
}
END_TEST

int main(void) {
    Suite *s = suite_create("trainer_prio");
    TCase *tc = tcase_create("prio");
    tcase_set_timeout(tc, 120); /* tens of thousands of draws: seconds under the sanitizers */
    tcase_add_test(tc, test_tree_sums);
    tcase_add_test(tc, test_tree_find);
    tcase_add_test(tc, test_stratified_sampling);
    tcase_add_test(tc, test_importance_weights);
    tcase_add_test(tc, test_set_priority);
    tcase_add_test(tc, test_rebuilt_tree_is_identical);
    tcase_add_test(tc, test_update_sets_priorities);
    suite_add_tcase(s, tc);
    TCase *ck = tcase_create("checkpoint");
    tcase_set_timeout(ck, 120);
    tcase_add_checked_fixture(ck, ck_setup, ck_teardown);
    tcase_add_test(ck, test_checkpoint_round_trip);
    tcase_add_test(ck, test_corrupt_priorities_refused);
    tcase_add_test(ck, test_missing_priorities);
    suite_add_tcase(s, ck);
    return runner_run(s) ? 1 : 0;
}
