/* tests/test_ckpt_policy.c — the server's side of the checkpoint format: ckpt_load_policy()
 * reads the header and the ONLINE section only, verifies both, and leaves the caller's
 * weights untouched when it refuses a file. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/ckpt.h"
#include "common/cfg.h"
#include "common/policy.h"
#include "tests/support/runner.h"
#include "tests/support/scratch.h"

static char tmpdir[256];
static cfg_config cfg;

static void setup(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rd_ckpt_policy_XXXXXX");
    if (!mkdtemp(tmpdir)) abort();
    cfg_defaults(&cfg);
}

static void teardown(void) {
    scratch_rm_rf(tmpdir);
}

static policy_t *make_policy(uint64_t seed) {
    char err[256];
    policy_t *p = policy_create(&cfg, seed, err, sizeof err);
    ck_assert_msg(p != NULL, "%s", err);
    return p;
}

/* Little-endian float32 bytes of p's parameters. */
static uint8_t *params_le(policy_t *p, size_t *len) {
    size_t n = policy_num_params(p);
    uint8_t *b = malloc(n * 4);
    const float *w = policy_params(p);
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, &w[i], 4);
        for (int k = 0; k < 4; k++) b[4 * i + k] = (uint8_t)(v >> (8 * k));
    }
    *len = n * 4;
    return b;
}

/* Saves name with an ONLN section of `onln_len` bytes (from p) and a replay-like section. */
static void save_with(const char *name, policy_t *p, size_t onln_len, uint64_t hash, bool best) {
    size_t len;
    uint8_t *b = params_le(p, &len);
    static uint8_t replay[4096];
    memset(replay, 0x5a, sizeof replay);
    ckpt_header h = {.cfg_hash = hash,
                     .episode = 500,
                     .steps = 123456,
                     .score = 88.5,
                     .best_score = 99.5,
                     .epsilon = 0.1};
    ckpt_section s[2] = {{CKPT_TAG('R', 'P', 'L', 'Y'), replay, sizeof replay},
                         {CKPT_TAG_ONLINE, b, onln_len}};
    char err[1200];
    ck_assert_msg(ckpt_save(tmpdir, name, &h, s, 2, best, 0, err, sizeof err) == 0, "%s", err);
    free(b);
}

static void path_of(char *out, size_t len, const char *name) {
    snprintf(out, len, "%s/%s.ckpt", tmpdir, name);
}

static void patch(const char *name, long pos, uint8_t x) {
    char p[1024];
    path_of(p, sizeof p, name);
    FILE *f = fopen(p, "r+b");
    ck_assert_ptr_nonnull(f);
    if (pos < 0)
        fseek(f, pos, SEEK_END);
    else
        fseek(f, pos, SEEK_SET);
    long at = ftell(f);
    int c = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(c ^ x, f);
    fclose(f);
}

static bool same_params(policy_t *a, policy_t *b) {
    return policy_num_params(a) == policy_num_params(b) &&
           memcmp(policy_params(a), policy_params(b), policy_num_params(a) * 4) == 0;
}

START_TEST(loads_the_online_weights) {
    policy_t *trained = make_policy(1), *fresh = make_policy(2);
    ck_assert(!same_params(trained, fresh));
    save_with("ep_0000500", trained, policy_num_params(trained) * 4, cfg_hash(&cfg), true);
    char path[1024], err[1200];
    ck_assert_int_eq(ckpt_resolve(tmpdir, "latest", path, sizeof path, err, sizeof err), 0);
    ckpt_info info;
    ck_assert_msg(ckpt_load_policy(path, &cfg, fresh, &info, err, sizeof err) == 0, "%s", err);
    ck_assert(same_params(trained, fresh));
    ck_assert_str_eq(info.name, "ep_0000500");
    ck_assert_str_eq(info.path, path);
    ck_assert_int_eq(info.episode, 500);
    ck_assert_int_eq(info.steps, 123456);
    ck_assert(info.score == 88.5 && info.best_score == 99.5);
    ck_assert(info.is_latest && info.is_best);
    ck_assert_int_gt(info.mtime, 0);
    /* The same weights act the same. */
    float obs[ENV_MAX_OBS] = {0}, q1[ENV_NUM_ACTIONS], q2[ENV_NUM_ACTIONS];
    obs[3] = 1.0f;
    ck_assert_int_eq(policy_act(trained, obs, 0x3f, q1), policy_act(fresh, obs, 0x3f, q2));
    ck_assert_mem_eq(q1, q2, sizeof q1);
    /* info may be NULL */
    ck_assert_int_eq(ckpt_load_policy(path, &cfg, fresh, NULL, err, sizeof err), 0);
    policy_free(trained);
    policy_free(fresh);
}
END_TEST

START_TEST(refusals_leave_the_policy_alone) {
    policy_t *trained = make_policy(1), *fresh = make_policy(2), *before = make_policy(2);
    size_t want = policy_num_params(trained) * 4;
    char path[1024], err[1200], exp[1400];

    /* another config */
    save_with("other", trained, want, cfg_hash(&cfg) ^ 1, false);
    path_of(path, sizeof path, "other");
    ck_assert_int_eq(ckpt_load_policy(path, &cfg, fresh, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, ": written under another config (hash "), "%s", err);

    /* a network of another size */
    save_with("short", trained, want - 4, cfg_hash(&cfg), false);
    path_of(path, sizeof path, "short");
    ck_assert_int_eq(ckpt_load_policy(path, &cfg, fresh, NULL, err, sizeof err), -1);
    snprintf(exp, sizeof exp,
             "%s: ONLN section holds %zu bytes, the network has %zu parameters (%zu bytes)", path,
             want - 4, want / 4, want);
    ck_assert_str_eq(err, exp);

    /* a flipped bit in the weights: caught by the section's CRC */
    save_with("flip", trained, want, cfg_hash(&cfg), false);
    patch("flip", -100, 0x10);
    path_of(path, sizeof path, "flip");
    ck_assert_int_eq(ckpt_load_policy(path, &cfg, fresh, NULL, err, sizeof err), -1);
    snprintf(exp, sizeof exp, "%s: CRC mismatch in section 'ONLN' (file corrupt)", path);
    ck_assert_str_eq(err, exp);

    /* a flipped bit in the header */
    save_with("head", trained, want, cfg_hash(&cfg), false);
    patch("head", 40, 0x01);
    path_of(path, sizeof path, "head");
    ck_assert_int_eq(ckpt_load_policy(path, &cfg, fresh, NULL, err, sizeof err), -1);
    snprintf(exp, sizeof exp, "%s: header CRC mismatch (file corrupt)", path);
    ck_assert_str_eq(err, exp);

    /* truncated */
    save_with("cut", trained, want, cfg_hash(&cfg), false);
    path_of(path, sizeof path, "cut");
    struct stat st;
    stat(path, &st);
    ck_assert_int_eq(truncate(path, st.st_size - 1), 0);
    ck_assert_int_eq(ckpt_load_policy(path, &cfg, fresh, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, ": truncated ("), "%s", err);

    /* missing */
    path_of(path, sizeof path, "none");
    ck_assert_int_eq(ckpt_load_policy(path, &cfg, fresh, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "none.ckpt: No such file"), "%s", err);

    ck_assert(same_params(fresh, before));

    /* Damage outside the header and ONLINE (the replay buffer here) does not concern the
     * policy: the server may load it; the trainer's full ckpt_open() refuses it. */
    save_with("rply", trained, want, cfg_hash(&cfg), false);
    path_of(path, sizeof path, "rply");
    patch("rply", 400, 0x01); /* inside the first section, RPLY */
    ck_assert_msg(ckpt_load_policy(path, &cfg, fresh, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert(same_params(trained, fresh));
    ckpt_file *f = ckpt_open(path, cfg_hash(&cfg), err, sizeof err);
    ck_assert_ptr_null(f);
    ck_assert_msg(strstr(err, "CRC mismatch (file corrupt or truncated)"), "%s", err);
    policy_free(trained);
    policy_free(fresh);
    policy_free(before);
}
END_TEST

int main(void) {
    Suite *s = suite_create("ckpt_policy");
    TCase *tc = tcase_create("policy");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, loads_the_online_weights);
    tcase_add_test(tc, refusals_leave_the_policy_alone);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
