/* tests/test_server_record.c — the server's recordings and extend endpoints (docs/
 * PROTOCOL.md §2, §8) against the real binary over loopback: a valid recording is listed
 * and served byte for byte; a damaged one, an oversized one and a symlink are neither
 * listed nor served (422); names that are not eval_ + 7 digits are never looked up; extend
 * is refused without a trainer or a valid count and relayed to a linked one, whose status
 * then sets the job's total; metrics.jsonl as CSV, junk lines skipped, no formula cells. */
#define _GNU_SOURCE /* strcasestr */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/recfile.h"
#include "tests/support/recgen.h"
#include "tests/support/runner.h"
#include "tests/support/scratch.h"
#include "tests/support/server_proc.h"
#include "tests/support/ws_client.h"

static char dir[512], run_dir[600], recdir[700];
static sproc_t sp;
static char body[131072], hdrs[8192], err[512];

static void write_bytes(const char *name, const void *b, size_t n) {
    char path[800];
    snprintf(path, sizeof path, "%s/%s", recdir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "%s", path);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    fclose(f);
}

static int get(const char *path) {
    return wsc_http(sp.port, "GET", path, NULL, 5000, body, sizeof body, hdrs, sizeof hdrs, err,
                    sizeof err);
}
static int post(const char *path) {
    return wsc_http(sp.port, "POST", path, NULL, 5000, body, sizeof body, NULL, 0, err, sizeof err);
}

START_TEST(recordings_listed_served_and_refused) {
    ck_assert_int_eq(sproc_tempdir(dir, sizeof dir), 0);
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);
    snprintf(recdir, sizeof recdir, "%s/recordings", run_dir);
    mkdir(run_dir, 0755);
    mkdir(recdir, 0755);
    static uint8_t rec[RECF_MAX_BYTES + 8192];
    size_t n;
    memcpy(rec, recgen_make(30, ENV_TIMEOUT, 500, 30.0f, &n), RECF_MAX_BYTES);
    write_bytes("eval_0000500.rec", rec, n);
    rec[0] = 'X';
    write_bytes("eval_0000600.rec", rec, n); /* bad magic */
    rec[0] = 'R';
    write_bytes("eval_0000700.rec", rec, sizeof rec); /* over 64 KiB */
    write_bytes("eval_1.rec", rec, n);                /* not a recording's name */
    char target[800], link[800];
    snprintf(target, sizeof target, "%s/eval_0000500.rec", recdir);
    snprintf(link, sizeof link, "%s/eval_0000800.rec", recdir);
    ck_assert_int_eq(symlink(target, link), 0);
    ck_assert_msg(sproc_start(&sp, run_dir, NULL, NULL, err, sizeof err) == 0, "%s", err);

    ck_assert_int_eq(get("/api/recordings"), 200);
    ck_assert_msg(strstr(body, "{\"recordings\":[{\"name\":\"eval_0000500\",\"episode\":500,"
                               "\"steps\":30,\"score\":30,") == body,
                  "%s", body);
    ck_assert_msg(strstr(body, "\"outcome\":\"max_steps\"") && !strstr(body, "eval_0000600") &&
                      !strstr(body, "eval_0000700") && !strstr(body, "eval_0000800") &&
                      !strstr(body, "eval_1"),
                  "%s", body);

    ck_assert_int_eq(get("/api/recordings/eval_0000500"), 200);
    ck_assert_ptr_nonnull(strstr(hdrs, "application/octet-stream"));
    char cl[64];
    snprintf(cl, sizeof cl, "content-length: %zu", n);
    ck_assert_msg(strcasestr(hdrs, cl) != NULL, "%s", hdrs);
    ck_assert_int_eq(memcmp(body, RECF_MAGIC, 8), 0);

    const char *malformed[] = {"/api/recordings/eval_0000600", "/api/recordings/eval_0000700",
                               "/api/recordings/eval_0000800"};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(get(malformed[i]), 422);
        ck_assert_str_eq(body, "{\"error\":\"recording is malformed\"}");
    }
    const char *missing[] = {"/api/recordings/eval_0000999",
                             "/api/recordings/eval_0000500.rec",
                             "/api/recordings/eval_1",
                             "/api/recordings/..%2fconfig.toml",
                             "/api/recordings/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                             "/api/recordingsX"};
    for (int i = 0; i < 6; i++) {
        int st = get(missing[i]);
        ck_assert_msg(st == 404 || st == 403, "%s: %d", missing[i], st);
        ck_assert_msg(memcmp(body, RECF_MAGIC, 8) != 0, "%s served a file", missing[i]);
    }
    sproc_stop_clean(&sp, dir);
}
END_TEST

START_TEST(metrics_as_csv) {
    ck_assert_int_eq(sproc_tempdir(dir, sizeof dir), 0);
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);
    mkdir(run_dir, 0755);
    char path[800];
    snprintf(path, sizeof path, "%s/metrics.jsonl", run_dir);
    scratch_write(path, "{\"episode\":1,\"steps\":120,\"total_reward\":119.5,\"loss\":null,"
                        "\"epsilon\":1,\"multiplier\":0.2,\"stage\":0,\"outcome\":\"energy\"}\n"
                        "not json\n"
                        "[1,2]\n"
                        "{\"steps\":5}\n"
                        "{\"episode\":2,\"steps\":\"=cmd|' /C calc'!A0\",\"outcome\":\"=1+1\","
                        "\"eval_score\":250.25,\"evaluated\":true,\"timestamp\":1796588346.68}\n");
    ck_assert_msg(sproc_start(&sp, run_dir, NULL, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(get("/api/metrics.csv"), 200);
    ck_assert_ptr_nonnull(strstr(hdrs, "text/csv"));
    ck_assert_str_eq(
        body, "episode,steps,total_reward,loss,epsilon,multiplier,stage,eval_score,evaluated,"
              "outcome,timestamp\n"
              "1,120,119.5,,1,0.2,0,,,energy,\n"
              "2,,,,,,,250.25,true,,1796588346.68\n");
    sproc_stop_clean(&sp, dir);
}
END_TEST

START_TEST(extend_refused_then_relayed) {
    ck_assert_int_eq(sproc_tempdir(dir, sizeof dir), 0);
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);
    mkdir(run_dir, 0755);
    ck_assert_msg(sproc_start(&sp, run_dir, NULL, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(post("/api/training/extend?episodes=5"), 409);
    ck_assert_ptr_nonnull(strstr(body, "no trainer linked"));
    const char *bad[] = {"/api/training/extend", "/api/training/extend?episodes=0",
                         "/api/training/extend?episodes=abc", "/api/training/extend?episodes=5x",
                         "/api/training/extend?episodes=1000001"};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(post(bad[i]), 400);
        ck_assert_ptr_nonnull(strstr(body, "episodes must be an integer"));
    }
    ck_assert_int_eq(get("/api/training/extend?episodes=5"), 405);

    wsc_t tr;
    ck_assert_msg(wsc_connect(&tr, sp.port, "/ws/trainer", NULL, 5000, NULL, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_int_eq(wsc_send_text(&tr, "{\"type\":\"hello\",\"config\":\"t\",\"total_episodes\":"
                                        "50,\"resumed_from\":0}"),
                     0);
    for (int i = 0; i < 100; i++) { /* the hello is handled before the POST that follows */
        get("/api/status");
        if (strstr(body, "\"trainer_connected\":true")) break;
        usleep(20000);
    }
    ck_assert_int_eq(post("/api/training/extend?episodes=7"), 200);
    ck_assert_str_eq(body, "{\"command\":\"extend\",\"accepted\":true,\"episodes\":7}");
    ck_assert_int_eq(wsc_wait_for(&tr, "\"command\":\"extend\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(tr.msg, "\"episodes\":7"));
    /* The trainer's next status carries the new total; the job follows it. */
    ck_assert_int_eq(wsc_send_text(&tr, "{\"type\":\"status\",\"status\":\"running\",\"episode\":"
                                        "50,\"total_episodes\":57}"),
                     0);
    bool seen = false;
    for (int i = 0; i < 100 && !seen; i++) {
        get("/api/status");
        seen = strstr(body, "\"total_episodes\":57") != NULL;
        if (!seen) usleep(20000);
    }
    ck_assert_msg(seen, "%s", body);
    wsc_close(&tr);
    sproc_stop_clean(&sp, dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("server_record");
    TCase *tc = tcase_create("http");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, recordings_listed_served_and_refused);
    tcase_add_test(tc, metrics_as_csv);
    tcase_add_test(tc, extend_refused_then_relayed);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
