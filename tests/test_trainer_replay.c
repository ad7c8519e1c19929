/* tests/test_trainer_replay.c — the replay buffer stores compact world states and rebuilds
 * observations when sampling (trainer/replay.h). This pins that the rebuilt observation
 * and action mask equal, bit for bit, what the agent saw, at every level (if the world
 * grows a field that the observation reads, this fails until replay_state carries it);
 * the ring's wrap-around and uniform sampling bounds; and n-step returns against
 * hand-computed sums (deaths, time limits, the newest transition, the ring's end). */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/cfg.h"
#include "common/env.h"
#include "trainer/replay.h"
#include "tests/support/runner.h"

static void check_level(const char *file) {
    cfg_config cfg;
    cfg_defaults(&cfg);
    char path[1024], err[1024];
    snprintf(path, sizeof path, "%s/configs/%s", RD_SOURCE_DIR, file);
    ck_assert_msg(cfg_load_file(&cfg, path, err, sizeof err) == 0, "%s", err);
    env_t live, scratch;
    ck_assert_int_eq(env_init(&live, &cfg.environment, 11), 0);
    ck_assert_int_eq(env_init(&scratch, &cfg.environment, 99), 0);
    live.multiplier = 1.0;
    int n = env_obs_size(&cfg.environment);
    float a[ENV_MAX_OBS], b[ENV_MAX_OBS];
    rng_t r;
    rng_seed(&r, 5, 0);
    int checked = 0;
    for (int ep = 0; ep < 20; ep++) {
        env_reset(&live);
        for (;;) {
            replay_state s;
            replay_capture(&live, &s);
            replay_restore(&scratch, &s);
            env_observe(&live, a);
            env_observe(&scratch, b);
            ck_assert_msg(memcmp(a, b, sizeof(float) * n) == 0, "%s: observation differs", file);
            ck_assert_int_eq(env_action_mask(&live), env_action_mask(&scratch));
            checked++;
            uint8_t m = env_action_mask(&live);
            int act;
            do act = (int)rng_below(&r, ENV_NUM_ACTIONS);
            while (!(m >> act & 1));
            if (env_step(&live, act) != ENV_RUNNING) break;
        }
    }
    ck_assert_int_gt(checked, 100);
}

START_TEST(test_rebuilt_observations_level1) {
    check_level("level1.toml");
}
END_TEST

START_TEST(test_rebuilt_observations_level2) {
    check_level("level2.toml");
}
END_TEST

START_TEST(test_rebuilt_observations_level3) {
    check_level("level3.toml");
}
END_TEST

START_TEST(test_ring) {
    replay_t r;
    ck_assert_int_eq(replay_init(&r, 3, 0), 0);
    replay_transition t;
    memset(&t, 0, sizeof t);
    for (int i = 0; i < 5; i++) {
        t.action = (uint8_t)i;
        replay_add(&r, &t);
    }
    ck_assert_uint_eq(r.size, 3);
    ck_assert_uint_eq(r.cursor, 2);
    ck_assert_int_eq(r.items[0].action, 3); /* the oldest two were overwritten */
    ck_assert_int_eq(r.items[1].action, 4);
    ck_assert_int_eq(r.items[2].action, 2);
    rng_t g;
    rng_seed(&g, 1, 3);
    uint32_t idx[64];
    replay_sample(&r, &g, 64, idx);
    int seen[3] = {0};
    for (int i = 0; i < 64; i++) {
        ck_assert_uint_lt(idx[i], 3);
        seen[idx[i]]++;
    }
    ck_assert(seen[0] && seen[1] && seen[2]);
    ck_assert_int_eq(replay_init(&(replay_t){0}, 0, 0), -1);
    replay_free(&r);
}
END_TEST

/* Appends a transition of an episode: from step `step` at (x, 0) to step + 1 at (x + 1, 0). */
static void add_step(replay_t *r, int step, int x, float reward, bool done) {
    replay_transition t;
    memset(&t, 0, sizeof t);
    t.s.step = (int16_t)step;
    t.s.x = (int8_t)x;
    t.s2.step = (int16_t)(step + 1);
    t.s2.x = (int8_t)(x + 1);
    t.reward = reward;
    t.done = done;
    replay_add(r, &t);
}

/* Hand-computed n-step returns, gamma 0.5: rewards are powers of two, so every sum is
 * exact in float and compared with ==. */
START_TEST(test_nstep_returns) {
    replay_t r;
    ck_assert_int_eq(replay_init(&r, 8, 0), 0);
    /* Episode A: steps 0-2 with rewards 1, 2, 4, the third a death. Episode B: steps 0-1
     * with rewards 8, 16, still running (the newest is index 4). */
    add_step(&r, 0, 0, 1, false);
    add_step(&r, 1, 1, 2, false);
    add_step(&r, 2, 2, 4, true);
    add_step(&r, 0, 3, 8, false);
    add_step(&r, 1, 4, 16, false);
    float ret, disc;
    /* n = 1: r and gamma (0 at a death), the transition itself. */
    ck_assert_uint_eq(replay_nstep(&r, 0, 1, 0.5f, &ret, &disc), 0);
    ck_assert(ret == 1.0f && disc == 0.5f);
    ck_assert_uint_eq(replay_nstep(&r, 2, 1, 0.5f, &ret, &disc), 2);
    ck_assert(ret == 4.0f && disc == 0.0f);
    /* n = 2 from 0: 1 + 0.5 * 2 = 2, bootstrap 0.25 from index 1. */
    ck_assert_uint_eq(replay_nstep(&r, 0, 2, 0.5f, &ret, &disc), 1);
    ck_assert(ret == 2.0f && disc == 0.25f);
    /* n = 3 from 0 reaches the death: 1 + 1 + 0.25 * 4 = 3, no bootstrap. */
    ck_assert_uint_eq(replay_nstep(&r, 0, 3, 0.5f, &ret, &disc), 2);
    ck_assert(ret == 3.0f && disc == 0.0f);
    /* n = 5 from 1 stops at the death too (never into episode B): 2 + 0.5 * 4 = 4. */
    ck_assert_uint_eq(replay_nstep(&r, 1, 5, 0.5f, &ret, &disc), 2);
    ck_assert(ret == 4.0f && disc == 0.0f);
    /* n = 4 from 3 stops at the newest transition: 8 + 0.5 * 16 = 16, gamma^2. */
    ck_assert_uint_eq(replay_nstep(&r, 3, 4, 0.5f, &ret, &disc), 4);
    ck_assert(ret == 16.0f && disc == 0.25f);
    replay_free(&r);

    /* A time limit ends the episode without a death: the next transition starts a new
     * episode (step 0), so the return stops there and bootstraps from the last s2. */
    ck_assert_int_eq(replay_init(&r, 4, 0), 0);
    add_step(&r, 8, 0, 1, false); /* s2.step 9 = max_steps: truncated */
    add_step(&r, 0, 1, 2, false);
    add_step(&r, 1, 2, 4, false);
    ck_assert_uint_eq(replay_nstep(&r, 0, 3, 0.5f, &ret, &disc), 0);
    ck_assert(ret == 1.0f && disc == 0.5f);
    /* Across the ring's end: capacity 4, five steps of one episode; the oldest (index 1
     * now) continues through index 3 and wraps to index 0, the newest. */
    add_step(&r, 2, 3, 8, false);
    add_step(&r, 3, 4, 16, false); /* overwrites index 0; cursor = 1 */
    ck_assert_uint_eq(r.cursor, 1);
    ck_assert_uint_eq(replay_nstep(&r, 3, 3, 0.5f, &ret, &disc), 0);
    ck_assert(ret == 16.0f && disc == 0.25f); /* 8 + 0.5 * 16 */
    /* ...and never from the newest into the oldest (index 1 is the cursor), even when
     * the oldest happens to start where the newest ended (a walk in a loop can do that). */
    r.items[1].s = r.items[0].s2;
    ck_assert_uint_eq(replay_nstep(&r, 0, 3, 0.5f, &ret, &disc), 0);
    ck_assert(ret == 16.0f && disc == 0.5f);
    replay_free(&r);
}
END_TEST

int main(void) {
    Suite *s = suite_create("trainer_replay");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_rebuilt_observations_level1);
    tcase_add_test(tc, test_rebuilt_observations_level2);
    tcase_add_test(tc, test_rebuilt_observations_level3);
    tcase_add_test(tc, test_ring);
    tcase_add_test(tc, test_nstep_returns);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
