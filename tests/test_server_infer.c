/* tests/test_server_infer.c — inference sessions on /ws against the real server binary:
 * a fresh run (no checkpoint) plays the untrained policy and says so; step, play at a
 * speed, reset, bad commands; a saved checkpoint is loaded by name; follow_latest picks a
 * newer checkpoint up through the directory watch; the session limit; the config's world
 * in `connected`. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cfg.h"
#include "tests/support/ckgen.h"
#include "tests/support/server_proc.h"
#include "tests/support/wcheck.h"
#include "tests/support/ws_client.h"
#include "tests/support/runner.h"
#include "tests/support/tpaths.h"

static char dir[512], run_dir[600], ck_dir[700], err[512];
static sproc_t sp;

static void start(const char *const *args) {
    ck_assert_int_eq(sproc_tempdir(dir, sizeof dir), 0);
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);
    snprintf(ck_dir, sizeof ck_dir, "%s/checkpoints", run_dir);
    mkdir(run_dir, 0755);
    ck_assert_msg(sproc_start(&sp, run_dir, args, NULL, err, sizeof err) == 0, "%s", err);
}

static void stop(void) {
    sproc_stop_clean(&sp, dir);
}

/* Writes checkpoints/<name>.ckpt holding a policy drawn from seed, as the trainer would. */
static void save_checkpoint(const char *name, int64_t episode, uint64_t seed) {
    ckgen_save(ck_dir, name, episode, seed);
}

/* Opens a session; the connected message's world must match cfg (NULL: the built-ins). */
static void session_cfg(wsc_t *c, const cfg_config *cfg) {
    int http;
    ck_assert_msg(wsc_connect(c, sp.port, "/ws", NULL, 5000, &http, err, sizeof err) == 0, "%s",
                  err);
    ck_assert_int_eq(wsc_wait_for(c, "\"type\":\"connected\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(c->msg, "\"actions\":[\"up\""));
    cfg_config def;
    if (!cfg) {
        cfg_defaults(&def);
        cfg = &def;
    }
    char e[512];
    ck_assert_msg(wcheck_world(c->msg, cfg, e, sizeof e) == 0, "%s in:\n%.2000s", e, c->msg);
    ck_assert_int_eq(wsc_wait_for(c, "\"type\":\"model_loaded\"", 5000), 1);
}

static void session(wsc_t *c) {
    session_cfg(c, NULL);
}

START_TEST(untrained_session_steps_and_plays) {
    start(NULL);
    wsc_t c;
    session(&c);
    ck_assert_ptr_nonnull(strstr(c.msg, "\"untrained\":true"));
    ck_assert_ptr_nonnull(strstr(c.msg, "no checkpoint yet"));
    ck_assert_int_eq(wsc_wait_for(&c, "\"type\":\"episode_start\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(c.msg, "\"agent\":{\"x\":"));
    wsc_send_text(&c, "{\"command\":\"step\"}");
    ck_assert_int_eq(wsc_wait_for(&c, "\"type\":\"state_update\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(c.msg, "\"step\":1,"));
    ck_assert_ptr_nonnull(strstr(c.msg, "\"q_values\":["));
    ck_assert_ptr_nonnull(strstr(c.msg, "\"action_masks\":["));
    ck_assert_ptr_nonnull(strstr(c.msg, "\"cumulative_reward\":"));
    ck_assert_ptr_nonnull(strstr(c.msg, "\"energy\":"));
    /* Play fast: many steps arrive, numbered in order. */
    wsc_send_text(&c, "{\"command\":\"set_speed\",\"speed\":200}");
    wsc_send_text(&c, "{\"command\":\"play\"}");
    int last = 1, updates = 0;
    while (updates < 30) {
        ck_assert_int_eq(wsc_wait_for(&c, "\"type\":\"", 5000), 1);
        if (!strstr(c.msg, "state_update")) continue;
        int step = atoi(strstr(c.msg, "\"step\":") + 7);
        ck_assert(step == last + 1 || step == 1);
        last = step;
        updates++;
    }
    wsc_send_text(&c, "{\"command\":\"pause\"}");
    ck_assert_int_eq(wsc_wait_for(&c, "\"command\":\"pause\"", 5000), 1);
    wsc_send_text(&c, "{\"command\":\"reset\"}");
    ck_assert_int_eq(wsc_wait_for(&c, "\"type\":\"episode_end\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(c.msg, "\"reason\":\"reset\""));
    ck_assert_int_eq(wsc_wait_for(&c, "\"type\":\"episode_start\"", 5000), 1);
    /* Refusals keep the session. */
    wsc_send_text(&c, "{\"command\":\"set_speed\",\"speed\":-1}");
    ck_assert_int_eq(wsc_wait_for(&c, "\"accepted\":false", 5000), 1);
    wsc_send_text(&c, "{\"command\":\"load\",\"model\":\"ep_9999999\"}");
    ck_assert_int_eq(wsc_wait_for(&c, "\"command\":\"load\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(c.msg, "\"accepted\":false"));
    wsc_send_text(&c, "{\"command\":\"load\",\"model\":\"../../etc/passwd\"}");
    ck_assert_int_eq(wsc_wait_for(&c, "\"command\":\"load\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(c.msg, "\"accepted\":false"));
    wsc_send_text(&c, "{\"command\":\"pause\",\"id\":42}");
    ck_assert_int_eq(wsc_wait_for(&c, "\"id\":42", 5000), 1);
    ck_assert_ptr_nonnull(strstr(c.msg, "\"accepted\":true"));
    wsc_close(&c);
    stop();
}
END_TEST

START_TEST(checkpoint_load_and_follow_latest) {
    start(NULL);
    save_checkpoint("ep_0000010", 10, 1);
    wsc_t c;
    session(&c);
    ck_assert_msg(strstr(c.msg, "\"model\":\"ep_0000010\"") != NULL, "%s", c.msg);
    ck_assert_ptr_nonnull(strstr(c.msg, "\"untrained\":false"));
    wsc_send_text(&c, "{\"command\":\"follow_latest\",\"enabled\":true}");
    ck_assert_int_eq(wsc_wait_for(&c, "\"command\":\"follow_latest\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(c.msg, "\"accepted\":true"));
    save_checkpoint("ep_0000020", 20, 2);
    ck_assert_int_eq(wsc_wait_for(&c, "\"model\":\"ep_0000020\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(c.msg, "\"type\":\"model_loaded\""));
    ck_assert_ptr_nonnull(strstr(c.msg, "\"episode\":20"));
    /* Back to the older one by name. */
    wsc_send_text(&c, "{\"command\":\"load\",\"model\":\"ep_0000010\"}");
    ck_assert_int_eq(wsc_wait_for(&c, "\"model\":\"ep_0000010\"", 5000), 1);
    /* The HTTP listing agrees. */
    char body[8192];
    ck_assert_int_eq(wsc_http(sp.port, "GET", "/api/models", NULL, 5000, body, sizeof body, NULL, 0,
                              err, sizeof err),
                     200);
    ck_assert_ptr_nonnull(strstr(body, "\"latest\":\"ep_0000020\""));
    ck_assert_ptr_nonnull(strstr(body, "\"name\":\"ep_0000010\""));
    wsc_close(&c);
    stop();
}
END_TEST

START_TEST(session_limit) {
    ck_assert_int_eq(sproc_tempdir(dir, sizeof dir), 0);
    char cfg[700];
    snprintf(cfg, sizeof cfg, "%s/t.toml", dir);
    FILE *f = fopen(cfg, "w");
    fputs("[unified_server]\nmax_sessions = 2\n", f);
    fclose(f);
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);
    mkdir(run_dir, 0755);
    const char *args[] = {"--config", cfg, NULL};
    ck_assert_msg(sproc_start(&sp, run_dir, args, NULL, err, sizeof err) == 0, "%s", err);
    wsc_t a, b, c;
    session(&a);
    session(&b);
    int http;
    ck_assert_int_eq(wsc_connect(&c, sp.port, "/ws", NULL, 5000, &http, err, sizeof err), 0);
    ck_assert_int_eq(wsc_wait_close(&c, 5000), 4029);
    ck_assert_str_eq(c.close_reason, "too many sessions");
    wsc_close(&c);
    wsc_close(&a);
    wsc_close(&b);
    stop();
}
END_TEST

/* connected carries the world of the config given with --config: level 1's figures, and
 * level 3's opening hours and multi-step interactions. */
static void connected_world(const char *file, const char *const *needles) {
    const char *src = tpaths_source_dir();
    char path[1024], e[512];
    snprintf(path, sizeof path, "%s/configs/%s", src, file);
    cfg_config cfg;
    ck_assert_msg(cfg_load_file(&cfg, path, e, sizeof e) == 0, "%s", e);
    const char *args[] = {"--config", path, NULL};
    start(args);
    wsc_t c;
    int http;
    ck_assert_int_eq(wsc_connect(&c, sp.port, "/ws", NULL, 5000, &http, err, sizeof err), 0);
    ck_assert_int_eq(wsc_wait_for(&c, "\"type\":\"connected\"", 5000), 1);
    ck_assert_msg(wcheck_world(c.msg, &cfg, e, sizeof e) == 0, "%s in:\n%.2000s", e, c.msg);
    for (int i = 0; needles[i]; i++)
        ck_assert_msg(strstr(c.msg, needles[i]) != NULL, "no %s in:\n%.2000s", needles[i], c.msg);
    wsc_close(&c);
    stop();
}

START_TEST(connected_carries_world) {
    const char *l1[] = {"\"world\":{\"width\":8,\"height\":8,\"level\":1,",
                        "{\"name\":\"Bed\",\"x\":1,\"y\":1,", NULL};
    connected_world("level1.toml", l1);
    const char *l3[] = {"\"world\":{\"width\":8,\"height\":8,\"level\":3,",
                        "{\"name\":\"Job\",\"x\":6,\"y\":6,\"cost\":0,\"open_hour\":8,"
                        "\"close_hour\":17,\"ticks\":4,",
                        NULL};
    connected_world("level3.toml", l3);
}
END_TEST

int main(void) {
    Suite *s = suite_create("server_infer");
    TCase *tc = tcase_create("infer");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, untrained_session_steps_and_plays);
    tcase_add_test(tc, checkpoint_load_and_follow_latest);
    tcase_add_test(tc, session_limit);
    tcase_add_test(tc, connected_carries_world);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
