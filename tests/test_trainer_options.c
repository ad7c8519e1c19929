/* tests/test_trainer_options.c — the learner's options of docs/design/learner.md beyond the
 * plain DQN: the stage multiplier as an input (observe_multiplier: the replay rebuilds it
 * from each transition's stage), their place in the config hash (a new key at its former
 * behaviour leaves the hash as it was, so older checkpoints still load), and restore_below
 * (the best weights at the last stage kept, put back after a collapse, and carried through
 * a checkpoint). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/ckpt.h"
#include "common/env.h"
#include "common/policy.h"
#include "trainer/dqn.h"
#include "trainer/replay.h"
#include "trainer/trainer.h"
#include "trainer/trainer_internal.h"
#include "tests/support/tepisode.h"
#include "tests/support/runner.h"

START_TEST(test_stage_multiplier) {
    cfg_config cfg;
    cfg_defaults(&cfg);
    cfg_curriculum *c = &cfg.curriculum;
    ck_assert_int_eq(c->n_stages, 4);
    ck_assert_double_eq(cfg_stage_multiplier(c, 0), 0.2);
    ck_assert_double_eq(cfg_stage_multiplier(c, 2), 0.8);
    ck_assert_double_eq(cfg_stage_multiplier(c, 3), 1.0);
    ck_assert_double_eq(cfg_stage_multiplier(c, 200), 1.0); /* a stage byte from a bad file */
    ck_assert_double_eq(cfg_stage_multiplier(c, -1), 1.0);
    c->enabled = false;
    ck_assert_double_eq(cfg_stage_multiplier(c, 0), 1.0);
}
END_TEST

/* A batch rebuilt from transitions played at two stages carries each one's multiplier as
 * its last input, in s and in s2. */
START_TEST(test_replay_rebuilds_stage_multiplier) {
    cfg_config cfg;
    cfg_defaults(&cfg);
    cfg.environment.observe_multiplier = true;
    cfg.agent.hidden[0] = cfg.agent.hidden[1] = 16;
    cfg.agent.batch_size = 32;
    dqn_t d;
    char err[256];
    ck_assert_msg(dqn_init(&d, &cfg, 1, err, sizeof err) == 0, "%s", err);
    replay_t r;
    ck_assert_int_eq(replay_init(&r, 200, 0.0), 0);
    env_t e;
    ck_assert_int_eq(env_init(&e, &cfg.environment, 5), 0);
    replay_transition tr;
    memset(&tr, 0, sizeof tr);
    for (int i = 0; i < 200; i++) {
        int stage = i < 100 ? 1 : 2;
        e.multiplier = cfg_stage_multiplier(&cfg.curriculum, stage);
        replay_capture(&e, &tr.s);
        if (env_step(&e, ENV_WAIT) != ENV_RUNNING) env_reset(&e);
        replay_capture(&e, &tr.s2);
        tr.stage = (uint8_t)stage;
        replay_add(&r, &tr);
    }
    rng_t rng;
    rng_seed(&rng, 9, 0);
    dqn_update(&d, &r, &rng);
    int obs = d.obs_size, seen[3] = {0, 0, 0};
    for (int i = 0; i < d.batch; i++) {
        int stage = r.items[d.idx[i]].stage;
        float want = (float)cfg_stage_multiplier(&cfg.curriculum, stage);
        ck_assert_float_eq(d.x[(size_t)i * obs + obs - 1], want);
        ck_assert_float_eq(d.x2[(size_t)i * obs + obs - 1], want);
        seen[stage]++;
    }
    ck_assert_int_gt(seen[1], 0);
    ck_assert_int_gt(seen[2], 0);
    replay_free(&r);
    dqn_free(&d);
}
END_TEST

/* A key added after checkpoints existed, at its former behaviour, leaves the hash as it
 * was: the hash of a config is that of its canonical [environment] and [agent] text without
 * the key. Set, it changes the hash (the weights mean something else). restore_below is
 * in [training], which the hash never covers. */
#define DEFAULTS_HASH_342E5F9 0xb2917c4cbe2d6ae7ULL

START_TEST(test_new_keys_and_the_hash) {
    cfg_config a, b;
    cfg_defaults(&a);
    /* The defaults of the release before: uniform replay, gamma 0.995, one-step returns. */
    a.agent.priority_alpha = 0.0;
    a.agent.gamma = 0.995;
    a.agent.n_step = 1;
    uint64_t h0 = cfg_hash(&a);
    b = a;
    b.environment.observe_multiplier = true;
    ck_assert_uint_ne(cfg_hash(&b), h0);
    b = a;
    b.agent.dueling = true;
    ck_assert_uint_ne(cfg_hash(&b), h0);
    b = a;
    b.training.restore_below = 0.9;
    ck_assert_uint_eq(cfg_hash(&b), h0);
    /* The hash of the defaults as the releases before these keys computed it: the trainer
     * of commit 342e5f9, the last one without them, wrote it into the header of every
     * checkpoint of a default run. */
    ck_assert_uint_eq(h0, DEFAULTS_HASH_342E5F9);
}
END_TEST

/* Today's default of priority_alpha, from the defaults themselves. */
static double default_priority_alpha(void) {
    cfg_config d;
    cfg_defaults(&d);
    return d.agent.priority_alpha;
}

/* A run made by the trainer of commit 342e5f9, before these keys existed
 * (tests/fixtures/ckpt-342e5f9: its resolved config.toml and its checkpoint at episode 12).
 * The run's own config reads a key it lacks as the behaviour before the key, whatever
 * today's default, so its hash is the checkpoint's: the policy loads under it, and this
 * build's trainer resumes the run from it. The file it was started from (tiny.toml, a
 * partial config) now means today's defaults, and the hash says so. */
START_TEST(test_checkpoint_from_before_the_keys) {
    char fx[1024], cfgpath[1100], tiny[1100], ckpath[1100], err[1024];
    snprintf(fx, sizeof fx, "%s/tests/fixtures/ckpt-342e5f9", RD_SOURCE_DIR);
    snprintf(cfgpath, sizeof cfgpath, "%s/run-config.toml", fx);
    snprintf(tiny, sizeof tiny, "%s/tiny.toml", fx);
    snprintf(ckpath, sizeof ckpath, "%s/ep_0000012.ckpt", fx);
    cfg_config cfg, partial;
    ck_assert_msg(cfg_load_file(&cfg, cfgpath, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(cfg_load_file(&partial, tiny, err, sizeof err) == 0, "%s", err);
    ck_assert_double_eq(cfg.agent.priority_alpha, 0.0); /* absent from the run's config */
    ck_assert(!cfg.agent.dueling && !cfg.environment.observe_multiplier);
    ck_assert_double_eq(partial.agent.priority_alpha, default_priority_alpha());
    policy_t *p = policy_create(&cfg, 1, err, sizeof err);
    ck_assert_msg(p != NULL, "%s", err);
    ck_assert_msg(ckpt_load_policy(ckpath, &cfg, p, NULL, err, sizeof err) == 0, "%s", err);
    /* Today's defaults are not the run's: under them the file is refused. */
    ck_assert_uint_ne(cfg_hash(&partial), cfg_hash(&cfg));
    ck_assert_int_ne(ckpt_load_policy(ckpath, &partial, p, NULL, err, sizeof err), 0);
    policy_free(p);

    char dir[64] = "/tmp/rd_test_oldckpt_XXXXXX", sub[128], cmd[3000];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/checkpoints", dir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/' && cp '%s' '%s/config.toml'", ckpath, sub, cfgpath,
             dir);
    ck_assert_int_eq(system(cmd), 0);
    const char *bin = getenv("RD_BIN_DIR");
    snprintf(cmd, sizeof cmd,
             "'%s/trainer' --config '%s/config.toml' --run-dir '%s' --episodes 14 --seed 3 "
             "--quiet 2>'%s/stderr'",
             bin ? bin : RD_BIN_DIR, dir, dir, dir);
    int rc = system(cmd);
    ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "trainer exit %d", rc);
    /* It went on from episode 12: two more episodes, then the checkpoint at 14. */
    snprintf(cmd, sizeof cmd, "%s/metrics.jsonl", dir);
    FILE *m = fopen(cmd, "r");
    ck_assert_ptr_nonnull(m);
    char line[1024];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, m));
    ck_assert_msg(strstr(line, "\"episode\":13,") != NULL, "%s", line);
    fclose(m);
    snprintf(cmd, sizeof cmd, "%s/ep_0000014.ckpt", sub);
    ck_assert_int_eq(access(cmd, F_OK), 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static trainer_t *open_run(cfg_config *cfg, char *dir, size_t dirlen) {
    trainer_t *t = trainer_new();
    trainer_opts o = {.run_dir = dir, .episodes = 100, .quiet = true};
    char err[1024];
    (void)dirlen;
    ck_assert_msg(trainer_open(t, cfg, &o, err, sizeof err) == 0, "%s", err);
    return t;
}

/* A small learner evaluated after every episode, with no curriculum (so every stage is the
 * last) unless the caller adds one. */
static void keep_config(cfg_config *cfg) {
    cfg_defaults(cfg);
    cfg->agent.hidden[0] = cfg->agent.hidden[1] = 16;
    cfg->agent.replay_capacity = 2000;
    cfg->agent.learning_starts = 50;
    cfg->agent.batch_size = 16;
    cfg->training.eval_every = 1;
    cfg->training.eval_episodes = 1;
    cfg->training.checkpoint_every = 1000;
    cfg->training.restore_below = 0.9;
    cfg->curriculum.enabled = false;
}

START_TEST(test_keep_and_restore) {
    cfg_config cfg;
    keep_config(&cfg);
    char dir[64] = "/tmp/rd_test_keep_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    trainer_t *t = open_run(&cfg, dir, sizeof dir);
    size_t bytes = sizeof(float) * t->dqn.n_params;
    /* The first evaluation is the best so far: its weights are kept. */
    tepisode_run(t);
    ck_assert(t->keep.valid);
    ck_assert_int_eq(t->keep.episode, 1);
    ck_assert_double_eq(t->keep.score, t->st.last_score);
    ck_assert_mem_eq(t->keep.weights, t->dqn.online, bytes);
    /* An evaluation under 90 % of the kept score puts the kept weights back, online and
     * target. (The kept score is raised so that any evaluation is under it.) */
    t->keep.score = 1e9;
    for (size_t i = 0; i < t->dqn.n_params; i++) t->keep.weights[i] = (float)(i % 7) * 0.01f;
    tepisode_run(t);
    ck_assert_mem_eq(t->dqn.online, t->keep.weights, bytes);
    ck_assert_mem_eq(t->dqn.target, t->keep.weights, bytes);
    ck_assert_int_eq(t->keep.episode, 1); /* still the one kept */
    /* The checkpoint carries them: a resumed run has the same kept weights and score. */
    char err[1024];
    ck_assert_msg(trainer_checkpoint(t, false, NULL, 0, err, sizeof err) == 0, "%s", err);
    float *kept = malloc(bytes);
    memcpy(kept, t->keep.weights, bytes);
    trainer_close(t);
    free(t);
    t = open_run(&cfg, dir, sizeof dir);
    ck_assert(t->keep.valid);
    ck_assert_double_eq(t->keep.score, 1e9);
    ck_assert_int_eq(t->keep.episode, 1);
    ck_assert_mem_eq(t->keep.weights, kept, bytes);
    free(kept);
    trainer_close(t);
    free(t);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Before the curriculum's last stage nothing is kept, and with restore_below = 0 never. */
START_TEST(test_keep_only_at_last_stage) {
    cfg_config cfg;
    keep_config(&cfg);
    cfg.curriculum.enabled = true; /* four stages; the run starts at the first */
    cfg.curriculum.min_episodes = 1000;
    char dir[64] = "/tmp/rd_test_keep_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    trainer_t *t = open_run(&cfg, dir, sizeof dir);
    tepisode_run(t);
    ck_assert(!t->keep.valid);
    t->st.stage = 3;
    tepisode_run(t);
    ck_assert(t->keep.valid);
    trainer_close(t);
    free(t);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);

    keep_config(&cfg);
    cfg.training.restore_below = 0;
    ck_assert_ptr_nonnull(mkdtemp(strcpy(dir, "/tmp/rd_test_keep_XXXXXX")));
    t = open_run(&cfg, dir, sizeof dir);
    tepisode_run(t);
    tepisode_run(t);
    ck_assert(!t->keep.valid);
    trainer_close(t);
    free(t);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("trainer_options");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_stage_multiplier);
    tcase_add_test(tc, test_replay_rebuilds_stage_multiplier);
    tcase_add_test(tc, test_new_keys_and_the_hash);
    tcase_add_test(tc, test_checkpoint_from_before_the_keys);
    tcase_add_test(tc, test_keep_and_restore);
    tcase_add_test(tc, test_keep_only_at_last_stage);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
