/* tests/test_server_http.c — the server's HTTP side, driven over real loopback sockets
 * against the real binary: /healthz, /api/status, /api/models, the training commands
 * without a trainer (409), /metrics, the access token and its cookie, and static files
 * with every path traversal we know refused. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/server_proc.h"
#include "tests/support/ws_client.h"
#include "tests/support/runner.h"
#include "tests/support/scratch.h"

static char dir[512], run_dir[600];
static sproc_t sp;
static char body[65536], hdrs[8192], err[512];

static void start(const char *const *args) {
    ck_assert_int_eq(sproc_tempdir(dir, sizeof dir), 0);
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);
    mkdir(run_dir, 0755);
    ck_assert_msg(sproc_start(&sp, run_dir, args, NULL, err, sizeof err) == 0, "%s", err);
}

static void stop(void) {
    sproc_stop_clean(&sp, dir);
}

static int get(const char *path, const char *headers) {
    return wsc_http(sp.port, "GET", path, headers, 5000, body, sizeof body, hdrs, sizeof hdrs, err,
                    sizeof err);
}

START_TEST(healthz_status_models) {
    start(NULL);
    ck_assert_int_eq(get("/healthz", NULL), 200);
    ck_assert_str_eq(body, "{\"status\":\"ok\"}");
    ck_assert_int_eq(get("/api/status", NULL), 200);
    ck_assert_ptr_nonnull(strstr(body, "\"trainer_connected\":false"));
    ck_assert_ptr_nonnull(strstr(body, "\"status\":\"waiting\""));
    ck_assert_ptr_nonnull(strstr(body, "\"id\":\"run\""));
    ck_assert_int_eq(get("/api/models", NULL), 200);
    ck_assert_str_eq(body, "{\"models\":[],\"latest\":null,\"best\":null}");
    ck_assert_int_eq(get("/metrics", NULL), 200);
    ck_assert_ptr_nonnull(strstr(body, "rd_server_up 1"));
    ck_assert_ptr_nonnull(strstr(body, "rd_training_trainer_connected 0"));
    ck_assert_int_eq(get("/api/nothing", NULL), 404);
    stop();
}
END_TEST

START_TEST(training_commands_without_trainer) {
    start(NULL);
    const char *cmds[] = {"start", "stop", "pause", "resume"};
    for (int i = 0; i < 4; i++) {
        char path[64];
        snprintf(path, sizeof path, "/api/training/%s", cmds[i]);
        int st = wsc_http(sp.port, "POST", path, NULL, 5000, body, sizeof body, NULL, 0, err,
                          sizeof err);
        ck_assert_int_eq(st, 409);
        ck_assert_ptr_nonnull(strstr(body, "no trainer linked"));
    }
    ck_assert_int_eq(wsc_http(sp.port, "POST", "/api/training/explode", NULL, 5000, body,
                              sizeof body, NULL, 0, err, sizeof err),
                     404);
    ck_assert_int_eq(get("/api/training/pause", NULL), 405);
    stop();
}
END_TEST

START_TEST(history_from_metrics_in_status) {
    ck_assert_int_eq(sproc_tempdir(dir, sizeof dir), 0);
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);
    mkdir(run_dir, 0755);
    char path[700];
    snprintf(path, sizeof path, "%s/metrics.jsonl", run_dir);
    scratch_write(path,
                  "{\"episode\":1,\"steps\":100,\"total_reward\":99.0}\nnot json\n"
                  "{\"type\":\"episode\",\"episode\":2,\"steps\":120,\"total_reward\":119.0}\n");
    ck_assert_msg(sproc_start(&sp, run_dir, NULL, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(get("/api/status", NULL), 200);
    ck_assert_ptr_nonnull(strstr(body, "\"history\":2"));
    ck_assert_ptr_nonnull(strstr(body, "\"episode\":2"));
    stop();
}
END_TEST

START_TEST(token_and_cookie) {
    const char *args[] = {"--token", "s3cret", NULL};
    start(args);
    ck_assert_int_eq(get("/healthz", NULL), 200); /* health checks never need it */
    ck_assert_int_eq(get("/api/status", NULL), 401);
    ck_assert_int_eq(get("/api/status?token=wrong", NULL), 401);
    ck_assert_int_eq(get("/api/status?token=s3cret", NULL), 200);
    ck_assert_msg(strstr(hdrs, "rd_token=s3cret") != NULL, "no cookie in: %s", hdrs);
    ck_assert_int_eq(get("/api/status", "Cookie: rd_token=s3cret\r\n"), 200);
    ck_assert_int_eq(get("/api/status", "X-Run-Demo-Token: s3cret\r\n"), 200);
    /* WebSocket upgrades need it too. */
    wsc_t c;
    int http;
    ck_assert_int_eq(wsc_connect(&c, sp.port, "/ws/training", NULL, 3000, &http, err, sizeof err),
                     -1);
    ck_assert_int_eq(wsc_connect(&c, sp.port, "/ws/training", "Cookie: rd_token=s3cret\r\n", 3000,
                                 &http, err, sizeof err),
                     0);
    wsc_close(&c);
    stop();
}
END_TEST

START_TEST(off_loopback_generates_token) {
    /* 0.0.0.0 is not loopback: a token is generated and printed once as ?token=. The test
     * still connects through 127.0.0.1, which 0.0.0.0 covers. */
    const char *args[] = {"--host", "0.0.0.0", NULL};
    start(args);
    for (int i = 0; i < 100 && !strstr(sp.log, "?token="); i++) {
        usleep(20000);
        sproc_drain(&sp);
    }
    const char *u = strstr(sp.log, "?token=");
    ck_assert_msg(u != NULL, "no token URL in log: %s", sp.log);
    char tok[80] = "";
    sscanf(u + 7, "%79[0-9a-f]", tok);
    ck_assert_int_eq((int)strlen(tok), 32);
    ck_assert_int_eq(get("/api/status", NULL), 401);
    char path[160];
    snprintf(path, sizeof path, "/api/status?token=%s", tok);
    ck_assert_int_eq(get(path, NULL), 200);
    stop();
}
END_TEST

START_TEST(static_files_and_traversal) {
    ck_assert_int_eq(sproc_tempdir(dir, sizeof dir), 0);
    char st[700], path[800];
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);
    snprintf(st, sizeof st, "%s/static", dir);
    mkdir(run_dir, 0755);
    mkdir(st, 0755);
    snprintf(path, sizeof path, "%s/index.html", st);
    scratch_write(path, "<html>INDEX</html>");
    snprintf(path, sizeof path, "%s/app.js", st);
    scratch_write(path, "console.log('APP')");
    snprintf(path, sizeof path, "%s/secret.txt", dir);
    scratch_write(path, "TOPSECRET");
    char link[800];
    snprintf(link, sizeof link, "%s/leak.txt", st);
    ck_assert_int_eq(symlink(path, link), 0);
    const char *args[] = {"--static", st, NULL};
    ck_assert_msg(sproc_start(&sp, run_dir, args, NULL, err, sizeof err) == 0, "%s", err);

    ck_assert_int_eq(get("/", NULL), 200);
    ck_assert_ptr_nonnull(strstr(body, "INDEX"));
    ck_assert_int_eq(get("/app.js", NULL), 200);
    ck_assert_ptr_nonnull(strstr(hdrs, "javascript"));
    ck_assert_int_eq(get("/some/client/route", NULL), 200); /* single-page app fallback */
    ck_assert_ptr_nonnull(strstr(body, "INDEX"));
    ck_assert_int_eq(get("/missing.png", NULL), 404);
    ck_assert_int_eq(get("/leak.txt", NULL), 403); /* symlink out of the root */

    const char *attacks[] = {
        "GET /../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /%2e%2e/secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /%2E%2E%2Fsecret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /..%2fsecret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /static/../../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET //etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /..\\secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /%2e%2e%5csecret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /leak.txt%00.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
        char *abs_path = strstr(attacks[i], "/etc/passwd");
        int code = wsc_http_raw(sp.port, attacks[i], 5000, body, sizeof body);
        ck_assert_msg(!strstr(body, "TOPSECRET") && !strstr(body, "root:"),
                      "attack %zu leaked (HTTP %d)", i, code);
        /* Either refused outright or answered with the app's index, never the file. */
        ck_assert_msg(code != 200 || strstr(body, "INDEX") || abs_path, "attack %zu: HTTP %d %s", i,
                      code, body);
    }
    stop();
}
END_TEST

START_TEST(bad_usage_exits_2) {
    const char *bindir = getenv("RD_BIN_DIR");
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "%s/server --bogus >/dev/null 2>&1", bindir ? bindir : RD_BIN_DIR);
    int st = system(cmd);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    snprintf(cmd, sizeof cmd, "%s/server --help >/dev/null 2>&1", bindir ? bindir : RD_BIN_DIR);
    st = system(cmd);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("server_http");
    TCase *tc = tcase_create("http");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, healthz_status_models);
    tcase_add_test(tc, training_commands_without_trainer);
    tcase_add_test(tc, history_from_metrics_in_status);
    tcase_add_test(tc, token_and_cookie);
    tcase_add_test(tc, off_loopback_generates_token);
    tcase_add_test(tc, static_files_and_traversal);
    tcase_add_test(tc, bad_usage_exits_2);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
