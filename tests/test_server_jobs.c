/* tests/test_server_jobs.c — one server, several jobs (a sweep: docs/PROTOCOL.md §4.1,
 * §5): trainers bound by their hello's `job`, one per job; viewers of
 * /ws/training/{job_id} see only their job and command only its trainer; /api/jobs lists
 * them; a sweep's run directories are jobs from the start, with their history. Real
 * binary, real sockets. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/json.h"
#include "tests/support/runner.h"
#include "tests/support/scratch.h"
#include "tests/support/server_proc.h"
#include "tests/support/ws_client.h"

#define TOKEN "tok-jobs"
static const char *const env[] = {"RD_TRAINER_TOKEN=" TOKEN, NULL};
static char dir[512], sweep[700], err[512];
static sproc_t sp;

static void trainer(wsc_t *t, const char *job) {
    int http;
    ck_assert_msg(wsc_connect(t, sp.port, "/ws/trainer", "X-Run-Demo-Token: " TOKEN "\r\n", 5000,
                              &http, err, sizeof err) == 0,
                  "%s", err);
    char hello[512];
    snprintf(hello, sizeof hello,
             "{\"type\":\"hello\",\"config\":\"level1\",\"total_episodes\":50,\"job\":\"%s\"}",
             job);
    ck_assert_int_eq(wsc_send_text(t, hello), 0);
}

static void viewer(wsc_t *v, const char *path) {
    int http;
    ck_assert_msg(wsc_connect(v, sp.port, path, NULL, 5000, &http, err, sizeof err) == 0, "%s: %s",
                  path, err);
    ck_assert_int_eq(wsc_wait_for(v, "\"type\":\"hello\"", 5000), 1);
    ck_assert(json_valid(v->msg, v->msg_len, 64));
}

static cJSON *jobs(void) {
    static char body[65536];
    ck_assert_int_eq(wsc_http(sp.port, "GET", "/api/jobs", NULL, 5000, body, sizeof body, NULL, 0,
                              err, sizeof err),
                     200);
    ck_assert(json_valid(body, strlen(body), 64));
    return cJSON_Parse(body);
}

static const cJSON *job(const cJSON *root, const char *id) {
    const cJSON *j;
    cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(root, "jobs")) {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(j, "id")->valuestring, id) == 0) return j;
    }
    return NULL;
}

START_TEST(several_jobs_one_server) {
    ck_assert_int_eq(sproc_tempdir(dir, sizeof dir), 0);
    snprintf(sweep, sizeof sweep, "%s/sweep", dir);
    mkdir(sweep, 0755);
    char p[900];
    snprintf(p, sizeof p, "%s/seed=1", sweep);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/seed=2", sweep);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/seed=2/config.toml", sweep);
    scratch_write(p, "");
    snprintf(p, sizeof p, "%s/seed=2/metrics.jsonl", sweep);
    scratch_write(p, "{\"episode\":1,\"steps\":11}\n{\"episode\":2,\"steps\":12}\n"
                     "{\"episode\":3,\"steps\":13}\n");
    ck_assert_msg(sproc_start(&sp, sweep, NULL, env, err, sizeof err) == 0, "%s", err);

    /* before any trainer: the run's own job and seed=2 (it has a config.toml) */
    cJSON *r = jobs();
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "jobs")), 2);
    ck_assert_ptr_nonnull(job(r, "seed=2"));
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(job(r, "seed=2"), "history")->valueint, 3);
    cJSON_Delete(r);

    wsc_t a, b, c, d, e, v1, v2;
    trainer(&a, "seed=1");
    trainer(&b, "seed=2");
    int op;
    ck_assert_int_eq(wsc_recv(&a, 300, &op), 0); /* both stay linked */
    ck_assert_int_eq(wsc_recv(&b, 300, &op), 0);
    trainer(&c, "seed=1");
    ck_assert_int_eq(wsc_wait_close(&c, 5000), 4009);
    trainer(&d, "seed=9");
    ck_assert_int_eq(wsc_wait_close(&d, 5000), 4004);
    trainer(&e, "..");
    ck_assert_int_eq(wsc_wait_close(&e, 5000), 4004);
    wsc_close(&c);
    wsc_close(&d);
    wsc_close(&e);

    wsc_t ov;
    int http0;
    ck_assert_msg(wsc_connect(&ov, sp.port, "/ws/jobs", NULL, 5000, &http0, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_int_eq(wsc_wait_for(&ov, "\"type\":\"overview\"", 5000), 1);
    ck_assert(json_valid(ov.msg, ov.msg_len, 64));
    ck_assert_ptr_nonnull(strstr(ov.msg, "\"series\":{\"episode\":[1,2,3],\"steps\":[11,12,13],"));
    viewer(&v1, "/ws/training/seed=1");
    ck_assert_ptr_nonnull(strstr(v1.msg, "\"job_id\":\"seed=1\""));
    viewer(&v2, "/ws/training/seed=2");
    ck_assert_ptr_nonnull(strstr(v2.msg, "{\"episode\":3,\"steps\":13}"));
    ck_assert_int_eq(wsc_send_text(&a, "{\"type\":\"episode\",\"episode\":7,\"steps\":70}"), 0);
    ck_assert_int_eq(wsc_send_text(&b, "{\"type\":\"episode\",\"episode\":9,\"steps\":90}"), 0);
    ck_assert_int_eq(wsc_wait_for(&v1, "\"episode\":7", 5000), 1);
    ck_assert_int_eq(wsc_wait_for(&v2, "\"episode\":9", 5000), 1);
    ck_assert_int_eq(wsc_wait_for(&v1, "\"episode\":9", 500), 0); /* not its job */
    /* the overview gets both, each with its job */
    ck_assert_int_eq(
        wsc_wait_for(&ov, "{\"job\":\"seed=1\",\"type\":\"episode\",\"episode\":7", 5000), 1);
    ck_assert_int_eq(
        wsc_wait_for(&ov, "{\"job\":\"seed=2\",\"type\":\"episode\",\"episode\":9", 5000), 1);
    ck_assert_int_eq(wsc_send_text(&ov, "{\"command\":\"stop\"}"), 0);
    ck_assert_int_eq(wsc_wait_for(&ov, "the overview takes no commands", 5000), 1);
    wsc_close(&ov);

    /* a viewer's command reaches its job's trainer only */
    ck_assert_int_eq(wsc_send_text(&v1, "{\"command\":\"pause\",\"id\":1}"), 0);
    ck_assert_int_eq(wsc_recv(&a, 3000, &op), 1);
    ck_assert_ptr_nonnull(strstr(a.msg, "\"command\":\"pause\""));
    ck_assert_int_eq(wsc_recv(&b, 500, &op), 0);

    r = jobs();
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "jobs")), 3);
    const cJSON *j1 = job(r, "seed=1");
    ck_assert_ptr_nonnull(j1);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j1, "trainer_connected")));
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(j1, "episode")->valueint, 7);
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(j1, "viewers")->valueint, 1);
    cJSON_Delete(r);

    /* an unknown job's stream is refused as before */
    wsc_t u;
    int http;
    ck_assert_int_eq(
        wsc_connect(&u, sp.port, "/ws/training/seed=9", NULL, 5000, &http, err, sizeof err), 0);
    ck_assert_int_eq(wsc_wait_close(&u, 5000), 4004);
    wsc_close(&u);
    wsc_close(&a);
    wsc_close(&b);
    wsc_close(&v1);
    wsc_close(&v2);
    sproc_stop_clean(&sp, dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("server_jobs");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, several_jobs_one_server);
    suite_add_tcase(s, tc);
    return runner_run(s) ? 1 : 0;
}
