/* tests/test_link_trainer.c — the real trainer binary (RD_BIN_DIR/trainer) linked to a
 * WebSocket test server over loopback: hello first (with the token), then episode and
 * status messages; a pause command stops episodes arriving and resume restarts them;
 * visual mode brings frames; SIGTERM ends it with exit 0, a final status and a normal
 * close frame. */
#include <check.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/testsrv.h"
#include "tests/support/runner.h"
#include "tests/support/tpaths.h"

#define WAIT_MS 30000

static char msgbuf[1 << 16];

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The "type" of stored message i, or "" when it is not stored or not JSON with a type;
 * with `field`, also that field's value (number or bool as 1/0) into *val. */
static const char *msg_type(testsrv *s, int i, const char *field, double *val) {
    static char type[64];
    type[0] = '\0';
    if (testsrv_message(s, i, msgbuf, sizeof msgbuf) < 0) return type;
    cJSON *j = cJSON_Parse(msgbuf);
    ck_assert_msg(j != NULL, "message %d is not JSON: %.200s", i, msgbuf);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "type");
    if (cJSON_IsString(t)) snprintf(type, sizeof type, "%s", t->valuestring);
    if (field && val) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, field);
        if (cJSON_IsNumber(f)) *val = f->valuedouble;
        if (cJSON_IsBool(f)) *val = cJSON_IsTrue(f);
        if (cJSON_IsString(f)) *val = 0;
    }
    cJSON_Delete(j);
    return type;
}

/* The index of the first message at or after `from` of type `type` (and, when `status`
 * is given, with that "status" value), waiting up to WAIT_MS; -1 if none came. */
static int wait_for(testsrv *s, int from, const char *type, const char *status) {
    double dl = now_ms() + WAIT_MS;
    int i = from;
    while (now_ms() < dl) {
        int n = (int)testsrv_count(s);
        for (; i < n; i++) {
            if (strcmp(msg_type(s, i, NULL, NULL), type) != 0) continue;
            if (!status) return i;
            cJSON *j = cJSON_Parse(msgbuf);
            const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
            bool match = cJSON_IsString(st) && strcmp(st->valuestring, status) == 0;
            cJSON_Delete(j);
            if (match) return i;
        }
        sleep_ms(5);
    }
    return -1;
}

static int count_type(testsrv *s, int from, int to, const char *type) {
    int n = 0;
    for (int i = from; i < to; i++)
        if (strcmp(msg_type(s, i, NULL, NULL), type) == 0) n++;
    return n;
}

static pid_t spawn_trainer(const char *run_dir, int port) {
    char trainer[1024], config[1024], url[128];
    const char *bin = tpaths_bin_dir();
    const char *src = tpaths_source_dir();
    snprintf(trainer, sizeof trainer, "%s/trainer", bin);
    snprintf(config, sizeof config, "%s/configs/level1.toml", src);
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws/trainer", port);
    ck_assert_msg(access(trainer, X_OK) == 0, "no trainer binary at %s", trainer);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setpgid(0, 0);
        setenv("RD_TRAINER_TOKEN", "secret-token", 1);
        unsetenv("RD_PARENT_PID");
        execl(trainer, trainer, "--config", config, "--run-dir", run_dir, "--episodes", "1000000",
              "--seed", "7", "--server", url, "--quiet", (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Waits for the child to exit; returns its wait status, or -1 after timeout_ms (then the
 * child's process group is killed). */
static int wait_child(pid_t pid, int timeout_ms) {
    double dl = now_ms() + timeout_ms;
    int status;
    while (now_ms() < dl) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return status;
        if (r < 0 && errno != EINTR) return -1;
        sleep_ms(10);
    }
    kill(-pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

START_TEST(test_trainer_over_link) {
    char dir[64], run_dir[128];
    snprintf(dir, sizeof dir, "/tmp/rd_test_link_trainer.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);
    testsrv *s = testsrv_start(0, 200000);
    ck_assert_ptr_nonnull(s);
    pid_t pid = spawn_trainer(run_dir, testsrv_port(s));

    /* hello first, with the token, then episodes and a running status. */
    ck_assert(testsrv_wait_count(s, 1, WAIT_MS));
    double total = 0;
    ck_assert_str_eq(msg_type(s, 0, "total_episodes", &total), "hello");
    ck_assert(total == 1000000);
    {
        /* PROTOCOL §4.1: job_id is the run directory's base name. */
        ck_assert_int_ge(testsrv_message(s, 0, msgbuf, sizeof msgbuf), 0);
        cJSON *j = cJSON_Parse(msgbuf);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "job_id");
        ck_assert(cJSON_IsString(id));
        ck_assert_str_eq(id->valuestring, "run");
        cJSON_Delete(j);
    }
    char path[512], token[256];
    ck_assert_int_eq(testsrv_conn_info(s, 1, path, sizeof path, token, sizeof token), 0);
    ck_assert_str_eq(token, "secret-token");
    ck_assert_int_ge(wait_for(s, 1, "status", "running"), 1);
    int first_ep = wait_for(s, 1, "episode", NULL);
    ck_assert_int_ge(first_ep, 1);
    double ep = 0;
    msg_type(s, first_ep, "episode", &ep);
    ck_assert(ep == 1);
    /* Sanity bounds only (never timings): episode 1 acts at random without learning and
     * used to report millions of steps per second. */
    double sps = -1;
    msg_type(s, first_ep, "steps_per_second", &sps);
    ck_assert_msg(sps > 0 && sps < 1e7, "steps_per_second %f", sps);
    ck_assert_int_ge(wait_for(s, first_ep + 1, "episode", NULL), 0);

    /* pause: a paused status comes, and after it no episode. */
    ck_assert_int_eq(testsrv_send(s, "{\"command\":\"pause\",\"id\":1}"), 0);
    int paused = wait_for(s, 1, "status", "paused");
    ck_assert_int_ge(paused, 0);
    sleep_ms(500);
    int n = (int)testsrv_count(s);
    ck_assert_int_eq(count_type(s, paused, n, "episode"), 0);
    ck_assert_int_eq(count_type(s, paused, n, "frame"), 0);

    /* resume: episodes again. */
    ck_assert_int_eq(testsrv_send(s, "{\"command\":\"resume\",\"id\":2}"), 0);
    int resumed = wait_for(s, paused, "status", "running");
    ck_assert_int_ge(resumed, 0);
    ck_assert_int_ge(wait_for(s, resumed, "episode", NULL), 0);

    /* visual mode: frames come; a status shows visual true. */
    ck_assert_int_eq(testsrv_send(s, "{\"command\":\"set_mode\",\"visual\":true,\"id\":3}"), 0);
    int frame = wait_for(s, resumed, "frame", NULL);
    ck_assert_int_ge(frame, 0);
    {
        /* Visual mode turned on mid-episode: the frames still carry real q-values. */
        ck_assert_int_ge(testsrv_message(s, frame, msgbuf, sizeof msgbuf), 0);
        cJSON *j = cJSON_Parse(msgbuf);
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "q_values");
        ck_assert_msg(cJSON_IsArray(q) && cJSON_GetArraySize(q) == 6, "%.300s", msgbuf);
        int nonzero = 0;
        for (int i = 0; i < 6; i++) nonzero += cJSON_GetArrayItem(q, i)->valuedouble != 0;
        ck_assert_msg(nonzero > 0, "q_values all zero: %.300s", msgbuf);
        cJSON_Delete(j);
    }
    ck_assert_int_eq(testsrv_send(s, "{\"command\":\"set_mode\",\"visual\":false,\"id\":4}"), 0);
    sleep_ms(200);

    /* SIGTERM: exit 0, a final status, a normal close. */
    int before = (int)testsrv_count(s);
    kill(pid, SIGTERM);
    int status = wait_child(pid, WAIT_MS);
    ck_assert_msg(status != -1, "the trainer did not exit after SIGTERM");
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "trainer exit status %d", status);
    ck_assert_int_ge(wait_for(s, before, "status", "stopped"), before);
    ck_assert(testsrv_wait_no_clients(s, WAIT_MS));
    ck_assert(testsrv_conn_closed_normally(s, 1));
    ck_assert_int_eq(testsrv_connections(s), 1);
    testsrv_stop(s);

    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* The trainer started before its server: it trains anyway and links up when the server
 * comes, hello first. */
START_TEST(test_trainer_server_late) {
    char dir[64], run_dir[128];
    snprintf(dir, sizeof dir, "/tmp/rd_test_link_trainer.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);
    testsrv *probe = testsrv_start(0, 0);
    ck_assert_ptr_nonnull(probe);
    int port = testsrv_port(probe);
    testsrv_stop(probe);

    pid_t pid = spawn_trainer(run_dir, port);
    sleep_ms(1000);
    testsrv *s = testsrv_start(port, 200000);
    ck_assert_msg(s != NULL, "port %d was taken meanwhile", port);
    ck_assert(testsrv_wait_count(s, 1, WAIT_MS));
    ck_assert_str_eq(msg_type(s, 0, NULL, NULL), "hello");
    int ep = wait_for(s, 1, "episode", NULL);
    ck_assert_int_ge(ep, 1);
    kill(pid, SIGTERM);
    int status = wait_child(pid, WAIT_MS);
    ck_assert_msg(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "trainer exit status %d", status);
    testsrv_stop(s);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("link_trainer");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_trainer_over_link);
    tcase_add_test(tc, test_trainer_server_late);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
