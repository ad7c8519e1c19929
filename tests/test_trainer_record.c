/* tests/test_trainer_record.c — the recordings of evaluations (docs/PROTOCOL.md §8) and the
 * extend command (§4.2): the trainer writes one valid recording per evaluation, of its
 * longest greedy episode, at most 64 KiB, keeps the newest RECORD_KEEP, and marks the
 * evaluation in the episode record; recf_check() refuses every damaged header or step;
 * `extend` is parsed with its bounds. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/recfile.h"
#include "trainer/control.h"
#include "trainer/record.h"
#include "trainer/trainer.h"
#include "trainer/trainer_internal.h"
#include "tests/support/recgen.h"
#include "tests/support/runner.h"
#include "tests/support/scratch.h"

static uint8_t file[RECF_MAX_BYTES + 16];

static size_t read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s", path);
    size_t n = fread(file, 1, sizeof file, f);
    fclose(f);
    return n;
}

static int count_recordings(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strstr(de->d_name, ".rec") && !strstr(de->d_name, ".tmp")) n++;
    if (d) closedir(d);
    return n;
}

START_TEST(test_each_evaluation_recorded_and_bounded) {
    cfg_config cfg;
    cfg_defaults(&cfg);
    cfg.training.eval_every = 1; /* an evaluation after every episode */
    cfg.training.eval_episodes = 3;
    cfg.training.checkpoint_every = 0;
    cfg.agent.replay_capacity = 1000;
    /* A small network: the recordings are what is tested, and the default one's updates
     * take minutes under the sanitizers. */
    cfg.agent.hidden[0] = cfg.agent.hidden[1] = 16;
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/rd_test_record_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    trainer_t *t = calloc(1, sizeof *t);
    trainer_opts o = {.run_dir = dir, .episodes = RECORD_KEEP + 8, .quiet = true};
    char err[1024], json[1024];
    ck_assert_msg(trainer_open(t, &cfg, &o, err, sizeof err) == 0, "%s", err);
    char recdir[128], path[192];
    snprintf(recdir, sizeof recdir, "%s/recordings", dir);
    for (int e = 1; e <= RECORD_KEEP + 8; e++) {
        trainer_episode_result res;
        trainer_run_episode(t, NULL, &res);
        ck_assert_int_eq(
            trainer_end_episode(t, &res, res.seconds, json, sizeof json, err, sizeof err), 0);
        char want[64];
        snprintf(want, sizeof want, "\"evaluated\":true,\"recording\":\"eval_%07d\"", e);
        ck_assert_msg(strstr(json, want) != NULL, "%s", json);
        snprintf(path, sizeof path, "%s/eval_%07d.rec", recdir, e);
        size_t n = read_file(path);
        recf_info in;
        ck_assert_msg(recf_check(file, n, &in), "episode %d: invalid recording", e);
        ck_assert_uint_le(n, RECF_MAX_BYTES);
        ck_assert_uint_eq(in.episode, (unsigned)e);
        ck_assert_int_eq(in.steps, in.real_steps); /* 500 steps fit */
        ck_assert_int_eq(in.width, cfg.environment.width);
        /* The longest of the evaluation's episodes: at least the mean the score says. */
        ck_assert_float_ge(in.real_steps + 0.01f, in.score);
        ck_assert(in.outcome != ENV_RUNNING);
    }
    ck_assert_int_eq(count_recordings(recdir), RECORD_KEEP);
    snprintf(path, sizeof path, "%s/eval_%07d.rec", recdir, 8);
    ck_assert_int_ne(access(path, F_OK), 0); /* the oldest went */
    trainer_close(t);
    free(t);
    scratch_rm_rf(dir);
}
END_TEST

START_TEST(test_check_refuses_damage) {
    /* A real recording, then one byte damaged at a time. */
    size_t len;
    static uint8_t buf[RECF_MAX_BYTES];
    memcpy(buf, recgen_make(20, ENV_DIED_ENERGY, 500, 250.0f, &len), RECF_MAX_BYTES);
    struct {
        uint8_t *buf;
        size_t len;
    } w = {buf, len};
    ck_assert(recf_check(w.buf, w.len, NULL));
    ck_assert_uint_eq(w.len, RECF_HEADER + 20 * RECF_STEP);
    struct {
        size_t at;
        uint8_t v;
    } bad[] = {{0, 'X'},
               {16, 0},
               {17, 65},
               {18, 7},
               {19, 5},
               {20, 4},
               {21, 200},
               {22, 8},
               {12, 21}, /* more steps than the file holds */
               {RECF_HEADER, ENV_NUM_ACTIONS},
               {RECF_HEADER + 1, 8},
               {RECF_HEADER + 19 * RECF_STEP + 2, 9}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t keep = w.buf[bad[i].at];
        w.buf[bad[i].at] = bad[i].v;
        ck_assert_msg(!recf_check(w.buf, w.len, NULL), "byte %zu = %u accepted", bad[i].at,
                      bad[i].v);
        w.buf[bad[i].at] = keep;
    }
    ck_assert(!recf_check(w.buf, w.len - 1, NULL));
    ck_assert(!recf_check(w.buf, 10, NULL));
    ck_assert(recf_name_ok("eval_0000500"));
    const char *names[] = {"eval_000050",  "eval_00005000", "../eval_000", "eval_00005x0", "",
                           "eval_0000500/"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) ck_assert(!recf_name_ok(names[i]));
}
END_TEST

/* Random damage (up to 8 bytes, and random lengths): recf_check never reads outside the
 * buffer (the ASan build runs this too), and whatever it accepts has every position and
 * action in range, as the server and the page assume. */
START_TEST(test_check_random_damage) {
    size_t len;
    static uint8_t good[RECF_MAX_BYTES], buf[RECF_MAX_BYTES];
    memcpy(good, recgen_make(40, ENV_DIED_HEALTH, 9, 12.0f, &len), RECF_MAX_BYTES);
    uint64_t x = 88172645463325252ULL; /* xorshift64: the same damage every run */
    int accepted = 0;
    for (int it = 0; it < 20000; it++) {
        size_t n = len;
        memcpy(buf, good, len);
        for (int k = (int)(x % 8) + 1; k > 0; k--) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[x % len] = (uint8_t)(x >> 32);
        }
        if (it % 4 == 0) n = (size_t)(x >> 40) % (len + 1);
        uint8_t *copy = malloc(n ? n : 1); /* exactly n bytes: ASan sees any overread */
        memcpy(copy, buf, n);
        recf_info in;
        if (recf_check(copy, n, &in)) {
            accepted++;
            ck_assert_uint_eq(n, RECF_HEADER + (size_t)in.steps * RECF_STEP);
            for (int i = 0; i < in.steps; i++) {
                const uint8_t *p = copy + RECF_HEADER + (size_t)i * RECF_STEP;
                ck_assert(p[0] < ENV_NUM_ACTIONS && p[1] < in.width && p[2] < in.height);
            }
        }
        free(copy);
    }
    ck_assert_int_gt(accepted, 0); /* damage to reserved bytes and floats is allowed */
}
END_TEST

START_TEST(test_extend_command) {
    control_state c;
    control_init(&c);
    char err[256];
    const char *ok = "{\"command\":\"extend\",\"episodes\":500,\"id\":3}";
    ck_assert_int_eq(control_apply(&c, ok, strlen(ok), err, sizeof err), CONTROL_EXTEND);
    ck_assert_int_eq(control_apply(&c, ok, strlen(ok), err, sizeof err), CONTROL_EXTEND);
    ck_assert_int_eq(c.extend, 1000);
    const char *bad[] = {"{\"command\":\"extend\"}", "{\"command\":\"extend\",\"episodes\":0}",
                         "{\"command\":\"extend\",\"episodes\":1.5}",
                         "{\"command\":\"extend\",\"episodes\":1e300}",
                         "{\"command\":\"extend\",\"episodes\":\"5\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(control_apply(&c, bad[i], strlen(bad[i]), err, sizeof err),
                         CONTROL_UNKNOWN);
        ck_assert_ptr_nonnull(strstr(err, "episodes"));
    }
    ck_assert_int_eq(c.extend, 1000);
}
END_TEST

int main(void) {
    Suite *s = suite_create("trainer_record");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_each_evaluation_recorded_and_bounded);
    tcase_add_test(tc, test_check_refuses_damage);
    tcase_add_test(tc, test_check_random_damage);
    tcase_add_test(tc, test_extend_command);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
