/* tests/test_link_server.c — the trainer link against the real server binary
 * (RD_BIN_DIR/server, docs/PROTOCOL.md §4–5) over loopback: a wrong token is refused (the
 * link never connects, and nothing it sends reaches a viewer), the right one accepted,
 * its hello and episodes reach a /ws/training viewer in order, a viewer's command reaches
 * link_poll_command, and when the server restarts on the same port the link reconnects
 * and says hello again. The viewers are link_t clients too (a link with no hello set
 * sends nothing and queues what it receives), so no second WebSocket client is needed. */
#include <check.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "trainer/link.h"
#include "tests/support/runner.h"
#include "tests/support/tpaths.h"

#define WAIT_MS 20000

static char dir[64];

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Starts the server on `port` (0 = any) with its log in dir/server.log; returns its pid
 * and sets *bound to the port it reports listening on. */
static pid_t start_server(int port, int *bound) {
    char server[1024], log_path[128], run_dir[128], p[16];
    const char *bin = tpaths_bin_dir();
    snprintf(server, sizeof server, "%s/server", bin);
    snprintf(log_path, sizeof log_path, "%s/server.log", dir);
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);
    snprintf(p, sizeof p, "%d", port);
    ck_assert_msg(access(server, X_OK) == 0, "no server binary at %s", server);
    unlink(log_path);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setpgid(0, 0);
        if (!freopen(log_path, "w", stderr)) _exit(126);
        setenv("RD_TRAINER_TOKEN", "tok-123", 1);
        /* It dies with the test, even one that fails half-way (common/pdeath.h). */
        char ppid[24];
        snprintf(ppid, sizeof ppid, "%ld", (long)getppid());
        setenv("RD_PARENT_PID", ppid, 1);
        execl(server, server, "--run-dir", run_dir, "--port", p, "--host", "127.0.0.1",
              (char *)NULL);
        _exit(127);
    }
    /* The server logs "listening on http://127.0.0.1:PORT/" once it accepts. */
    double dl = now_ms() + WAIT_MS;
    char line[512];
    while (now_ms() < dl) {
        FILE *f = fopen(log_path, "r");
        while (f && fgets(line, sizeof line, f)) {
            const char *at = strstr(line, "listening on http://127.0.0.1:");
            if (at) {
                *bound = atoi(at + strlen("listening on http://127.0.0.1:"));
                fclose(f);
                return pid;
            }
        }
        if (f) fclose(f);
        int st;
        ck_assert_msg(waitpid(pid, &st, WNOHANG) == 0, "the server exited at start");
        sleep_ms(20);
    }
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_abort_msg("the server did not report its port");
    return -1;
}

static void stop_server(pid_t pid) {
    kill(pid, SIGTERM);
    double dl = now_ms() + WAIT_MS;
    int st;
    while (now_ms() < dl) {
        if (waitpid(pid, &st, WNOHANG) == pid) return;
        sleep_ms(10);
    }
    kill(-pid, SIGKILL);
    waitpid(pid, &st, 0);
    ck_abort_msg("the server did not stop on SIGTERM");
}

/* Whether the server's log (dir/server.log) holds `needle`. */
static bool log_has(const char *needle) {
    char path[128], line[512];
    snprintf(path, sizeof path, "%s/server.log", dir);
    FILE *f = fopen(path, "r");
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f)) found = strstr(line, needle) != NULL;
    if (f) fclose(f);
    return found;
}

static link_t *open_link(int port, const char *path, const char *token) {
    char url[128], err[256];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d%s", port, path);
    link_t *l = link_start(url, token, 1024, err, sizeof err);
    ck_assert_msg(l != NULL, "%s", err);
    return l;
}

/* The next message received by `l` whose "type" is `type` (others are skipped), parsed;
 * NULL after WAIT_MS. The caller frees it. Fails if any message on the way is an episode
 * numbered `forbid` (what a trainer that must never be the job's trainer sent; 0: none). */
static cJSON *next_of_type_without(link_t *l, const char *type, int forbid) {
    static char buf[1 << 20];
    double dl = now_ms() + WAIT_MS;
    while (now_ms() < dl) {
        size_t n = link_poll_command(l, buf, sizeof buf);
        if (n == 0) {
            sleep_ms(5);
            continue;
        }
        cJSON *j = cJSON_Parse(buf);
        ck_assert_msg(j != NULL, "not JSON: %.200s", buf);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "type");
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "episode");
        ck_assert_msg(!(forbid && cJSON_IsString(t) && strcmp(t->valuestring, "episode") == 0 &&
                        cJSON_IsNumber(e) && e->valueint == forbid),
                      "episode %d of the wrong-token trainer reached a viewer", forbid);
        if (cJSON_IsString(t) && strcmp(t->valuestring, type) == 0) return j;
        cJSON_Delete(j);
    }
    return NULL;
}

/* Wrong-token episodes carry this number, which no real one here does. */
#define BAD_EPISODE 999

static cJSON *next_of_type(link_t *l, const char *type) {
    return next_of_type_without(l, type, 0);
}

static const char hello[] = "{\"type\":\"hello\",\"job_id\":\"run\",\"config\":\"level1\","
                            "\"total_episodes\":100,\"resumed_from\":0,\"status\":\"running\"}";

START_TEST(test_link_with_real_server) {
    snprintf(dir, sizeof dir, "/tmp/rd_test_link_server.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    int port = 0;
    pid_t srv = start_server(0, &port);
    ck_assert_int_gt(port, 0);

    /* A viewer first: its hello from the server says no trainer yet. */
    link_t *viewer = open_link(port, "/ws/training", NULL);
    cJSON *j = next_of_type(viewer, "hello");
    ck_assert_ptr_nonnull(j);
    cJSON_Delete(j);

    /* A trainer with a wrong token, while no trainer is linked, never becomes the job's
     * trainer: it never completes a handshake, and its hello and episode never reach the
     * viewer (checked below: the first trainer_connected is followed by the real
     * trainer's episodes, and episode BAD_EPISODE never arrives). */
    link_t *bad = open_link(port, "/ws/trainer", "wrong");
    link_set_hello(bad, hello, sizeof hello - 1);
    static const char bad_ep[] = "{\"type\":\"episode\",\"episode\":999,\"steps\":1,"
                                 "\"total_reward\":1.0,\"epsilon\":0.5,\"loss\":null,"
                                 "\"steps_per_second\":1.0,\"eta_seconds\":null,\"best\":1,"
                                 "\"multiplier\":0.2,\"timestamp\":1764106080.5}";
    ck_assert_int_eq(link_send(bad, LINK_RECORD, bad_ep, sizeof bad_ep - 1), 0);
    for (double dl = now_ms() + WAIT_MS; !log_has("refused: unauthorized") && now_ms() < dl;)
        sleep_ms(20);
    ck_assert_msg(log_has("refused: unauthorized"), "the server never refused the wrong token");
    sleep_ms(300); /* time for a hello and an episode, had it been let in */
    ck_assert_msg(!log_has("trainer linked"), "a trainer with a wrong token was linked");
    link_stop(bad, 0);

    /* The trainer: token accepted, hello, then episodes relayed in order. */
    link_t *tr = open_link(port, "/ws/trainer", "tok-123");
    link_set_hello(tr, hello, sizeof hello - 1);
    char msg[256];
    for (int e = 1; e <= 5; e++) {
        int n = snprintf(msg, sizeof msg,
                         "{\"type\":\"episode\",\"episode\":%d,\"steps\":%d,\"total_reward\":%d.0,"
                         "\"epsilon\":0.5,\"loss\":null,\"steps_per_second\":1000.0,"
                         "\"eta_seconds\":null,\"best\":%d,\"multiplier\":0.2,"
                         "\"timestamp\":1764106080.5}",
                         e, 100 + e, 99 + e, 100 + e);
        ck_assert_int_eq(link_send(tr, LINK_RECORD, msg, (size_t)n), 0);
    }
    j = next_of_type_without(viewer, "trainer_connected", BAD_EPISODE);
    ck_assert_msg(j != NULL, "the viewer never saw the trainer connect");
    cJSON_Delete(j);
    for (int e = 1; e <= 5; e++) {
        j = next_of_type_without(viewer, "episode", BAD_EPISODE);
        ck_assert_msg(j != NULL, "episode %d not relayed", e);
        ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(j, "episode")->valueint, e);
        ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(j, "steps")->valueint, 100 + e);
        cJSON_Delete(j);
    }

    /* A second viewer sends a command (as its "hello", the first thing it sends): the
     * server relays it to the trainer's link. */
    link_t *ctl = open_link(port, "/ws/training", NULL);
    static const char pause[] = "{\"command\":\"pause\",\"id\":\"t-1\"}";
    link_set_hello(ctl, pause, sizeof pause - 1);
    j = next_of_type(ctl, "command_result");
    ck_assert_ptr_nonnull(j);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "accepted")));
    cJSON_Delete(j);
    char cmd[512];
    size_t n = 0;
    for (double dl = now_ms() + WAIT_MS; n == 0 && now_ms() < dl; sleep_ms(5))
        n = link_poll_command(tr, cmd, sizeof cmd);
    ck_assert_msg(n > 0, "the command never reached the trainer's link");
    cJSON *c = cJSON_Parse(cmd);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(c, "command")->valuestring, "pause");
    cJSON_Delete(c);
    link_stop(ctl, 500);

    /* A second trainer, wrong token or right, while one is linked: refused; the linked one
     * stays the job's trainer (its status still reaches the viewer, its link never
     * dropped) and the viewer sees no second trainer_connected. */
    static const char paused[] = "{\"type\":\"status\",\"status\":\"paused\"}";
    const char *tokens[] = {"wrong", "tok-123"};
    for (int k = 0; k < 2; k++) {
        bad = open_link(port, "/ws/trainer", tokens[k]);
        link_set_hello(bad, hello, sizeof hello - 1);
        ck_assert_int_eq(link_send(bad, LINK_RECORD, bad_ep, sizeof bad_ep - 1), 0);
        sleep_ms(500);
        ck_assert_int_eq(link_send(tr, LINK_RECORD, paused, sizeof paused - 1), 0);
        j = next_of_type_without(viewer, "status", BAD_EPISODE);
        ck_assert_ptr_nonnull(j);
        cJSON_Delete(j);
        link_stop(bad, 0);
    }
    link_stop(viewer, 500);

    /* The server restarts on the same port: the link reconnects and says hello again. */
    link_stats st;
    link_get_stats(tr, &st);
    ck_assert_uint_eq(st.connects, 1);
    stop_server(srv);
    int port2 = 0;
    srv = start_server(port, &port2);
    ck_assert_int_eq(port2, port);
    viewer = open_link(port, "/ws/training", NULL);
    j = next_of_type(viewer, "hello");
    ck_assert_ptr_nonnull(j);
    bool linked = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "trainer_connected"));
    cJSON_Delete(j);
    if (!linked) {
        j = next_of_type(viewer, "trainer_connected");
        ck_assert_msg(j != NULL, "the link did not come back after the server restarted");
        cJSON_Delete(j);
    }
    link_get_stats(tr, &st);
    ck_assert_uint_eq(st.connects, 2);
    ck_assert_int_eq(link_send(tr, LINK_RECORD, msg, strlen(msg)), 0);
    j = next_of_type(viewer, "episode");
    ck_assert_ptr_nonnull(j);
    cJSON_Delete(j);

    link_stop(tr, 1000);
    link_stop(viewer, 500);
    stop_server(srv);
    char rm[128];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(rm), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("link_server");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_link_with_real_server);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
