/* tests/test_trainer_replay.c — the replay buffer stores compact world states and rebuilds
 * observations when sampling (trainer/replay.h). This pins that the rebuilt observation
 * and action mask equal, bit for bit, what the agent saw, at every level (if the world
 * grows a field that the observation reads, this fails until replay_state carries it);
 * and the ring's wrap-around and uniform sampling bounds. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "common/config.h"
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
    ck_assert_int_eq(replay_init(&r, 3), 0);
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
    ck_assert_int_eq(replay_init(&(replay_t){0}, 0), -1);
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
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
