/* tests/test_orch_quoted_dir.c — a run directory named `a"b\c` (a quote and a backslash:
 * the characters that broke hand-built JSON) through the real run_demo, server and
 * trainer: every message a viewer receives, /api/status and /api/models are valid JSON
 * and UTF-8, and the trainer's checkpoint message and the status carry the directory's
 * name exactly. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "common/json.h"
#include "tests/support/orch_harness.h"
#include "tests/support/runner.h"
#include "tests/support/tpaths.h"
#include "tests/support/ws_client.h"

static bool valid(const char *s, size_t n) {
    return json_valid(s, n, 64);
}

START_TEST(quote_and_backslash_in_the_run_directory) {
    h_setup_out();
    char cfg[600], dir[600];
    h_path(cfg, sizeof cfg, "quick.toml");
    h_write(cfg, "[training]\ncheckpoint_every = 5\neval_every = 5\neval_episodes = 2\n");
    h_path(dir, sizeof dir, "a\"b\\c");
    h_args a;
    const char *extra[] = {"--episodes", "100000", NULL};
    pid_t pid = h_start(h_out, h_args_make(&a, cfg, "none", dir, extra));
    ck_assert_msg(h_wait_output(h_out, "All systems operational", 60000), "not operational");
    int port = atoi(a.port);

    wsc_t v;
    int http = 0;
    char err[256];
    ck_assert_msg(wsc_connect(&v, port, "/ws/training", NULL, 5000, &http, err, sizeof err) == 0,
                  "%s", err);
    bool saw_ckpt = false;
    int messages = 0, op;
    for (long long dl = h_now_ms() + 60000; !saw_ckpt && h_now_ms() < dl;) {
        int r = wsc_recv(&v, 200, &op);
        if (r < 0) break;
        if (r == 0 || op != WSC_TEXT) continue;
        messages++;
        ck_assert_msg(valid(v.msg, v.msg_len), "invalid JSON to a viewer: %.300s", v.msg);
        if (!strstr(v.msg, "\"type\":\"checkpoint\"")) continue;
        cJSON *o = cJSON_Parse(v.msg);
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(o, "path");
        ck_assert(cJSON_IsString(path));
        ck_assert_msg(strstr(path->valuestring, "/a\"b\\c/checkpoints/") != NULL, "path %s",
                      path->valuestring);
        cJSON_Delete(o);
        saw_ckpt = true;
    }
    ck_assert_msg(saw_ckpt, "no checkpoint message in %d messages", messages);
    wsc_close(&v);

    static char body[1 << 16];
    const char *paths[] = {"/api/status", "/api/models"};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(wsc_http(port, "GET", paths[i], NULL, 5000, body, sizeof body, NULL, 0,
                                  err, sizeof err),
                         200);
        ck_assert_msg(valid(body, strlen(body)), "%s: %.300s", paths[i], body);
    }
    ck_assert_int_eq(wsc_http(port, "GET", "/api/status", NULL, 5000, body, sizeof body, NULL, 0,
                              err, sizeof err),
                     200);
    cJSON *o = cJSON_Parse(body);
    const cJSON *rd =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "job"), "run_dir");
    ck_assert(cJSON_IsString(rd));
    ck_assert_str_eq(rd->valuestring, dir);
    cJSON_Delete(o);

    kill(pid, SIGINT);
    int code = h_code(h_wait(pid, 30000));
    ck_assert_msg(code == 130, "run_demo exited %d after SIGINT", code);
    h_cleanup();
}
END_TEST

int main(void) {
    Suite *s = suite_create("orch_quoted_dir");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, quote_and_backslash_in_the_run_directory);
    suite_add_tcase(s, tc);
    return runner_run(s) ? 1 : 0;
}
