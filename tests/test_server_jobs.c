/* tests/test_server_jobs.c — one server, several jobs (a sweep: docs/PROTOCOL.md §4.1,
 * §5): trainers bound by their hello's `job`, one per job; viewers of
 * /ws/training/{job_id} see only their job and command only its trainer; /api/jobs lists
 * them; a sweep's run directories are jobs from the start, with their history; the sweep
 * file's run states, wall time and best evaluation in every row; any job's checkpoints,
 * metrics, recordings and controls through ?job= and `load` with `job`; past runs under
 * the runs root, read-only, their series sampled. Real binary, real sockets. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "tests/support/ckgen.h"
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

/* GET path: its status, the body in a static buffer (valid JSON when it is JSON). */
static char body[1 << 20];
static int get(const char *path) {
    int st =
        wsc_http(sp.port, "GET", path, NULL, 5000, body, sizeof body, NULL, 0, err, sizeof err);
    ck_assert_msg(st > 0, "%s: %s", path, err);
    return st;
}

static cJSON *jobs(void) {
    ck_assert_int_eq(get("/api/jobs"), 200);
    ck_assert(json_valid(body, strlen(body), 64));
    return cJSON_Parse(body);
}

static double num(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", k);
    return v->valuedouble;
}

static const char *str(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void mkdirf(const char *fmt, const char *a, const char *b) {
    char p[1200];
    snprintf(p, sizeof p, fmt, a, b);
    ck_assert_msg(mkdir(p, 0755) == 0, "mkdir %s", p);
}

static void writef(const char *fmt, const char *a, const char *b, const char *text) {
    char p[1200];
    snprintf(p, sizeof p, fmt, a, b);
    scratch_write(p, text);
}

/* Replaces path as run_demo does (a temporary file and a rename). */
static void replace_file(const char *path, const char *text) {
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    scratch_write(tmp, text);
    ck_assert_int_eq(rename(tmp, path), 0);
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

/* The sweep file's states in every row (also of runs with no trainer), a change of it on
 * the overview stream, hostile versions of it ignored; wall time and best evaluation. */
START_TEST(sweep_file_states_wall_time_best_eval) {
    ck_assert_int_eq(sproc_tempdir(dir, sizeof dir), 0);
    snprintf(sweep, sizeof sweep, "%s/sweep", dir);
    mkdir(sweep, 0755);
    mkdirf("%s/%s", sweep, "seed=1");
    mkdirf("%s/%s", sweep, "seed=2");
    writef("%s/%s/config.toml", sweep, "seed=1", "");
    writef("%s/%s/config.toml", sweep, "seed=2", "");
    writef("%s/%s/metrics.jsonl", sweep, "seed=2",
           "{\"episode\":1,\"steps\":11,\"timestamp\":1000.0}\n"
           "{\"episode\":2,\"steps\":12,\"eval_score\":100.5,\"evaluated\":true,\"timestamp\":1010."
           "5}\n"
           "{\"episode\":3,\"steps\":13,\"eval_score\":100.5,\"timestamp\":1030.25}\n");
    char sf[800];
    snprintf(sf, sizeof sf, "%s/sweep.toml", sweep);
    /* unknown fields and tables (a Slurm state, a future version's) are tolerated; entries
     * with a bad name or state are left out */
    replace_file(sf, "version = 1\nfuture = {a = 1}\n[slurm]\njob = 7\n"
                     "[[runs]]\nname = \"seed=1\"\nstate = \"queued\"\nslurm_state = \"PENDING\"\n"
                     "job = \"41_0\"\nslurm = \"pending\"\nslurm_reason = \"Resources\"\n"
                     "slurm_node = \"\"\n"
                     "[[runs]]\nname = \"seed=2\"\nstate = \"done\"\nepisodes = 3\n"
                     "job = \"41_1\"\nslurm = \"completed\"\nslurm_node = \"a b\\\"c\"\n"
                     "[[runs]]\nname = \"../x\"\nstate = \"done\"\n"
                     "[[runs]]\nname = \"seed=3\"\nstate = \"DONE!\"\n");
    ck_assert_msg(sproc_start(&sp, sweep, NULL, env, err, sizeof err) == 0, "%s", err);

    cJSON *r = jobs();
    const cJSON *j1 = job(r, "seed=1"), *j2 = job(r, "seed=2"), *own = job(r, "sweep");
    ck_assert_ptr_nonnull(j1);
    ck_assert_ptr_nonnull(j2);
    ck_assert_ptr_nonnull(own);
    ck_assert_str_eq(str(j1, "sweep_state"), "queued");
    ck_assert_str_eq(str(j2, "sweep_state"), "done");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(own, "sweep_state")));
    /* the Slurm task of each run, as the sweep file says; a field not of its form is null */
    const cJSON *sl1 = cJSON_GetObjectItemCaseSensitive(j1, "slurm"),
                *sl2 = cJSON_GetObjectItemCaseSensitive(j2, "slurm");
    ck_assert_ptr_nonnull(sl1);
    ck_assert_str_eq(str(sl1, "state"), "pending");
    ck_assert_str_eq(str(sl1, "job"), "41_0");
    ck_assert_str_eq(str(sl1, "reason"), "Resources");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(sl1, "node")));
    ck_assert_str_eq(str(sl2, "state"), "completed");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(sl2, "node")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(own, "slurm")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j1, "best_eval")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j1, "started")));
    ck_assert_double_eq(num(j1, "wall_seconds"), 0);
    ck_assert_double_eq(num(j2, "best_eval"), 100.5);
    ck_assert_double_eq(num(j2, "started"), 1000.0);
    ck_assert_double_eq(num(j2, "wall_seconds"), 30.25);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j2, "past")));
    cJSON_Delete(r);

    wsc_t ov;
    int http;
    ck_assert_msg(wsc_connect(&ov, sp.port, "/ws/jobs", NULL, 5000, &http, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_int_eq(wsc_wait_for(&ov, "\"type\":\"overview\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(ov.msg, "\"sweep_state\":\"done\""));
    ck_assert_ptr_nonnull(strstr(ov.msg, "\"wall_seconds\":30.25"));

    /* run_demo starts seed=1: the overview hears of it without any trainer */
    replace_file(sf, "[[runs]]\nname = \"seed=1\"\nstate = \"running\"\nslurm = \"running\"\n"
                     "slurm_node = \"node-1\"\n"
                     "[[runs]]\nname = \"seed=2\"\nstate = \"done\"\n");
    ck_assert_int_eq(wsc_wait_for(&ov, "\"sweep_state\":\"running\"", 10000), 1);
    ck_assert_ptr_nonnull(strstr(ov.msg, "\"slurm\":{\"state\":\"running\",\"job\":null,"
                                         "\"node\":\"node-1\",\"reason\":null}"));
    ck_assert_ptr_nonnull(strstr(ov.msg, "{\"job\":\"seed=1\",\"type\":\"job\",\"row\":{"));
    ck_assert(json_valid(ov.msg, ov.msg_len, 64));
    /* a file that does not parse, or is too big, changes nothing */
    replace_file(sf, "[[runs]\nname = \"seed=1\"\nstate = \"failed\"\n");
    static char big[(1 << 20) + 100];
    memset(big, '#', sizeof big - 1);
    big[sizeof big - 1] = 0;
    sleep(2);
    replace_file(sf, big);
    sleep(2);
    r = jobs();
    ck_assert_str_eq(str(job(r, "seed=1"), "sweep_state"), "running");
    cJSON_Delete(r);
    sproc_drain(&sp);
    ck_assert_msg(strstr(sp.log, "sweep.toml") != NULL, "no word of the bad sweep file in:\n%s",
                  sp.log);

    /* a trainer links: its row says so on the overview; its records move the wall time */
    wsc_t a;
    trainer(&a, "seed=1");
    ck_assert_int_eq(wsc_wait_for(&ov, "\"trainer_connected\":true", 5000), 1);
    ck_assert_ptr_nonnull(strstr(ov.msg, "\"type\":\"job\""));
    wsc_send_text(&a, "{\"type\":\"episode\",\"episode\":1,\"steps\":5,\"timestamp\":2000.0}");
    wsc_send_text(&a, "{\"type\":\"episode\",\"episode\":2,\"steps\":5,\"eval_score\":7.5,"
                      "\"timestamp\":2004.5}");
    ck_assert_int_eq(wsc_wait_for(&ov, "\"episode\":2", 5000), 1);
    r = jobs();
    ck_assert_double_eq(num(job(r, "seed=1"), "started"), 2000.0);
    ck_assert_double_eq(num(job(r, "seed=1"), "wall_seconds"), 4.5);
    ck_assert_double_eq(num(job(r, "seed=1"), "best_eval"), 7.5);
    cJSON_Delete(r);
    wsc_close(&a);
    ck_assert_int_eq(wsc_wait_for(&ov, "\"trainer_connected\":false", 5000), 1);
    wsc_close(&ov);
    sproc_stop_clean(&sp, dir);
}
END_TEST

/* Any job's checkpoints (/api/models?job=, `load` with `job`), metrics CSV, recordings and
 * controls (POST ?job=, `extend` on its stream); unknown jobs refused without a lookup. */
START_TEST(any_job_models_metrics_controls) {
    ck_assert_int_eq(sproc_tempdir(dir, sizeof dir), 0);
    snprintf(sweep, sizeof sweep, "%s/sweep", dir);
    mkdir(sweep, 0755);
    mkdirf("%s/%s", sweep, "seed=1");
    mkdirf("%s/%s", sweep, "seed=2");
    writef("%s/%s/config.toml", sweep, "seed=1", "");
    writef("%s/%s/config.toml", sweep, "seed=2", "");
    writef("%s/%s/metrics.jsonl", sweep, "seed=2",
           "{\"episode\":1,\"steps\":11}\n{\"episode\":2,\"steps\":12}\n");
    char ck[900];
    snprintf(ck, sizeof ck, "%s/seed=2/checkpoints", sweep);
    ckgen_save(ck, "ep_0000002", 2, 5);
    ck_assert_msg(sproc_start(&sp, sweep, NULL, env, err, sizeof err) == 0, "%s", err);

    ck_assert_int_eq(get("/api/models"), 200); /* the sweep's own job: none */
    ck_assert_ptr_nonnull(strstr(body, "\"models\":[]"));
    ck_assert_int_eq(get("/api/models?job=seed%3D2"), 200);
    ck_assert_ptr_nonnull(strstr(body, "\"name\":\"ep_0000002\""));
    ck_assert_ptr_nonnull(strstr(body, "\"job\":\"seed=2\""));
    ck_assert_int_eq(get("/api/models?job=seed=1"), 200);
    ck_assert_ptr_nonnull(strstr(body, "\"models\":[]"));
    static const char *const bad[] = {"/api/models?job=seed=9",     "/api/models?job=..%2Fseed%3D2",
                                      "/api/models?job=",           "/api/metrics.csv?job=nope",
                                      "/api/recordings?job=%2Fetc", "/api/series?job=x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(get(bad[i]), 404);
        ck_assert_msg(strstr(body, "unknown job") != NULL, "%s: %s", bad[i], body);
    }
    ck_assert_int_eq(get("/api/metrics.csv?job=seed=2"), 200);
    ck_assert_ptr_nonnull(strstr(body, "\n1,11,"));
    ck_assert_ptr_nonnull(strstr(body, "\n2,12,"));
    ck_assert_int_eq(get("/api/recordings?job=seed=2"), 200);
    ck_assert_str_eq(body, "{\"recordings\":[]}");
    ck_assert_int_eq(get("/api/series?job=seed=2"), 200);
    ck_assert_ptr_nonnull(strstr(body, "\"series\":{\"episode\":[1,2],\"steps\":[11,12],"));

    /* an inference session loads another job's checkpoint, and says whose */
    wsc_t c;
    int http;
    ck_assert_msg(wsc_connect(&c, sp.port, "/ws", NULL, 5000, &http, err, sizeof err) == 0, "%s",
                  err);
    ck_assert_int_eq(wsc_wait_for(&c, "\"type\":\"connected\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(c.msg, "\"job\":\"sweep\""));
    ck_assert_int_eq(wsc_wait_for(&c, "\"type\":\"model_loaded\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(c.msg, "\"untrained\":true"));
    wsc_send_text(&c, "{\"command\":\"load\",\"model\":\"latest\",\"job\":\"seed=2\"}");
    ck_assert_int_eq(wsc_wait_for(&c, "\"type\":\"model_loaded\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(c.msg, "\"job\":\"seed=2\",\"model\":\"ep_0000002\""));
    ck_assert_int_eq(wsc_wait_for(&c, "\"type\":\"episode_start\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(c.msg, "\"model\":\"ep_0000002\""));
    wsc_send_text(&c, "{\"command\":\"load\",\"model\":\"latest\",\"job\":\"seed=9\"}");
    ck_assert_int_eq(wsc_wait_for(&c, "\"command\":\"load\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(c.msg, "unknown job 'seed=9'"));
    wsc_send_text(&c, "{\"command\":\"load\",\"model\":\"latest\",\"job\":7}");
    ck_assert_int_eq(wsc_wait_for(&c, "\"command\":\"load\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(c.msg, "\"accepted\":false"));
    /* the session stays on seed=2: a load without job is of seed=2 */
    wsc_send_text(&c, "{\"command\":\"load\",\"model\":\"ep_0000002\"}");
    ck_assert_int_eq(wsc_wait_for(&c, "\"type\":\"model_loaded\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(c.msg, "\"job\":\"seed=2\",\"model\":\"ep_0000002\""));
    wsc_close(&c);

    /* controls of one job: POST ?job= and extend over its stream reach its trainer only */
    wsc_t a, b, v;
    trainer(&a, "seed=1");
    trainer(&b, "seed=2");
    int op;
    ck_assert_int_eq(wsc_recv(&a, 300, &op), 0);
    char hb[4096];
    ck_assert_int_eq(wsc_http(sp.port, "POST", "/api/training/extend?episodes=5&job=seed%3D1", NULL,
                              5000, hb, sizeof hb, NULL, 0, err, sizeof err),
                     200);
    ck_assert_int_eq(wsc_wait_for(&a, "\"command\":\"extend\",\"episodes\":5", 5000), 1);
    ck_assert_int_eq(wsc_http(sp.port, "POST", "/api/training/pause?job=seed=2", NULL, 5000, hb,
                              sizeof hb, NULL, 0, err, sizeof err),
                     200);
    ck_assert_int_eq(wsc_wait_for(&b, "\"command\":\"pause\"", 5000), 1);
    ck_assert_int_eq(wsc_recv(&a, 300, &op), 0);
    ck_assert_int_eq(wsc_http(sp.port, "POST", "/api/training/pause?job=seed=7", NULL, 5000, hb,
                              sizeof hb, NULL, 0, err, sizeof err),
                     404);
    viewer(&v, "/ws/training/seed=2");
    wsc_send_text(&v, "{\"command\":\"extend\",\"episodes\":7,\"id\":\"x\"}");
    ck_assert_int_eq(wsc_wait_for(&v, "\"type\":\"command_result\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(v.msg, "\"accepted\":true"));
    ck_assert_int_eq(wsc_wait_for(&b, "\"command\":\"extend\",\"episodes\":7", 5000), 1);
    wsc_send_text(&v, "{\"command\":\"extend\",\"episodes\":0}");
    ck_assert_int_eq(wsc_wait_for(&v, "\"type\":\"command_result\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(v.msg, "episodes must be an integer in [1, 1000000]"));
    ck_assert_int_eq(wsc_recv(&a, 300, &op), 0);
    wsc_close(&v);
    wsc_close(&a);
    wsc_close(&b);
    sproc_stop_clean(&sp, dir);
}
END_TEST

/* Past runs under --runs-root: listed after the jobs with their progress and wall time,
 * the server's own sweep left out; a series sampled from a long metrics.jsonl; their
 * checkpoints loadable; no stream, no controls. */
START_TEST(past_runs_listed_read_only) {
    ck_assert_int_eq(sproc_tempdir(dir, sizeof dir), 0);
    char root[700], p1[900], p2[900], own[900];
    snprintf(root, sizeof root, "%s/runs", dir);
    mkdir(root, 0755);
    mkdirf("%s/%s", root, "level1");
    mkdirf("%s/%s", root, "a b"); /* not a job name: skipped */
    snprintf(p1, sizeof p1, "%s/level1/2026-01-01_000000", root);
    snprintf(p2, sizeof p2, "%s/level1/2026-01-02_000000", root);
    snprintf(own, sizeof own, "%s/level1/2026-12-06_000000", root);
    mkdir(p1, 0755);
    mkdir(p2, 0755);
    mkdir(own, 0755);
    /* p1: a single run of 5000 episodes (about 0.5 MB of metrics) */
    char mp[1000];
    snprintf(mp, sizeof mp, "%s/metrics.jsonl", p1);
    FILE *f = fopen(mp, "w");
    ck_assert_ptr_nonnull(f);
    for (int e = 1; e <= 5000; e++)
        fprintf(f,
                "{\"episode\":%d,\"steps\":%d,\"total_reward\":%d.5,\"epsilon\":0.1,"
                "\"eval_score\":%d.25,\"timestamp\":%d.0,\"pad\":\"%060d\"}\n",
                e, e % 400, e % 400, e / 100, 5000 + e, 0);
    fprintf(f, "{\"episode\":50"); /* a torn last line */
    fclose(f);
    writef("%s/%s", p1, "progress.json",
           "{\"status\":\"completed\",\"episode\":5000,\"total\":5000,\"steps_per_second\":900.5,"
           "\"best\":399}");
    char ck[1000];
    snprintf(ck, sizeof ck, "%s/checkpoints", p1);
    ckgen_save(ck, "ep_0005000", 5000, 9);
    /* p2: a sweep of one run */
    writef("%s/%s", p2, "sweep.toml", "[[runs]]\nname = \"seed=7\"\nstate = \"done\"\n");
    mkdirf("%s/%s", p2, "seed=7");
    writef("%s/%s", p2, "seed=7/config.toml", "");
    writef("%s/%s", p2, "seed=7/metrics.jsonl", "{\"episode\":1,\"steps\":3,\"timestamp\":10}\n");
    /* own: the server's run, not a past one */
    writef("%s/%s", own, "metrics.jsonl", "{\"episode\":1,\"steps\":3}\n");
    const char *args[] = {"--runs-root", root, NULL};
    ck_assert_msg(sproc_start(&sp, own, args, env, err, sizeof err) == 0, "%s", err);

    cJSON *r = jobs();
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(r, "jobs");
    ck_assert_int_eq(cJSON_GetArraySize(arr), 3);
    ck_assert_str_eq(str(cJSON_GetArrayItem(arr, 0), "id"), "2026-12-06_000000");
    ck_assert_str_eq(str(cJSON_GetArrayItem(arr, 1), "id"), "level1:2026-01-02_000000:seed=7");
    const cJSON *pj = cJSON_GetArrayItem(arr, 2);
    ck_assert_str_eq(str(pj, "id"), "level1:2026-01-01_000000");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pj, "past")));
    ck_assert_str_eq(str(pj, "status"), "completed");
    ck_assert_str_eq(str(pj, "config"), "level1");
    ck_assert_double_eq(num(pj, "episode"), 5000);
    ck_assert_double_eq(num(pj, "total_episodes"), 5000);
    ck_assert_double_eq(num(pj, "started"), 5001.0);
    ck_assert_double_eq(num(pj, "wall_seconds"), 4999.0);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(pj, "trainer_connected")));
    cJSON_Delete(r);

    ck_assert_int_eq(get("/api/series?job=level1:2026-01-01_000000"), 200);
    ck_assert(json_valid(body, strlen(body), 64));
    cJSON *s = cJSON_Parse(body);
    const cJSON *ser = cJSON_GetObjectItemCaseSensitive(s, "series");
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(ser, "episode");
    int n = cJSON_GetArraySize(ep);
    ck_assert_msg(n > 500 && n <= 1000, "%d points", n);
    ck_assert_int_eq(cJSON_GetArrayItem(ep, 0)->valueint, 1);
    ck_assert_int_eq(cJSON_GetArrayItem(ep, n - 1)->valueint, 5000);
    for (int i = 1; i < n; i++)
        ck_assert_int_lt(cJSON_GetArrayItem(ep, i - 1)->valueint,
                         cJSON_GetArrayItem(ep, i)->valueint);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ser, "steps")), n);
    cJSON_Delete(s);
    r = jobs(); /* the sampled series gave the best evaluation */
    ck_assert_double_eq(num(job(r, "level1:2026-01-01_000000"), "best_eval"), 50.25);
    cJSON_Delete(r);

    ck_assert_int_eq(get("/api/models?job=level1:2026-01-01_000000"), 200);
    ck_assert_ptr_nonnull(strstr(body, "\"name\":\"ep_0005000\""));
    wsc_t c, v;
    int http;
    ck_assert_msg(wsc_connect(&c, sp.port, "/ws", NULL, 5000, &http, err, sizeof err) == 0, "%s",
                  err);
    ck_assert_int_eq(wsc_wait_for(&c, "\"type\":\"model_loaded\"", 5000), 1);
    wsc_send_text(&c,
                  "{\"command\":\"load\",\"model\":\"best\",\"job\":\"level1:2026-01-01_000000\"}");
    ck_assert_int_eq(wsc_wait_for(&c, "\"type\":\"model_loaded\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(c.msg, "\"model\":\"ep_0005000\""));
    wsc_close(&c);
    /* read-only: no stream, no controls */
    ck_assert_int_eq(wsc_connect(&v, sp.port, "/ws/training/level1:2026-01-01_000000", NULL, 5000,
                                 &http, err, sizeof err),
                     0);
    ck_assert_int_eq(wsc_wait_close(&v, 5000), 4004);
    wsc_close(&v);
    char hb[1024];
    ck_assert_int_eq(wsc_http(sp.port, "POST", "/api/training/stop?job=level1:2026-01-01_000000",
                              NULL, 5000, hb, sizeof hb, NULL, 0, err, sizeof err),
                     409);
    ck_assert_ptr_nonnull(strstr(hb, "no trainer linked"));
    sproc_stop_clean(&sp, dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("server_jobs");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, several_jobs_one_server);
    tcase_add_test(tc, sweep_file_states_wall_time_best_eval);
    tcase_add_test(tc, any_job_models_metrics_controls);
    tcase_add_test(tc, past_runs_listed_read_only);
    suite_add_tcase(s, tc);
    return runner_run(s) ? 1 : 0;
}
