/* tests/test_server_security.c — the server against hostile peers, real binary over real
 * sockets (docs/PROTOCOL.md §6): the address actually bound, idle and slow connection
 * floods, forged Host and cross-site requests, hostile trainer messages (invalid JSON and
 * UTF-8, oversized records, absurd numbers), history bounded in bytes, checkpoint junk. */
#include <arpa/inet.h>
#include <check.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/json.h"
#include "trainer/trainer.h"
#include "trainer/trainer_internal.h"
#include "tests/support/runner.h"
#include "tests/support/scratch.h"
#include "tests/support/server_proc.h"
#include "tests/support/tclock.h"
#include "tests/support/ws_client.h"

#define TOKEN "tok-sec"
static const char *const env[] = {"RD_TRAINER_TOKEN=" TOKEN, NULL};
static char dir[512], run_dir[700], err[512];
static sproc_t sp;

static void start_args(const char *toml, const char *const *extra) {
    ck_assert_int_eq(sproc_tempdir(dir, sizeof dir), 0);
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);
    mkdir(run_dir, 0755);
    const char *args[8] = {NULL};
    int n = 0;
    static char cfg[800];
    if (toml) {
        snprintf(cfg, sizeof cfg, "%s/t.toml", dir);
        scratch_write(cfg, toml);
        args[n++] = "--config";
        args[n++] = cfg;
    }
    for (int i = 0; extra && extra[i] && n < 7; i++) args[n++] = extra[i];
    ck_assert_msg(sproc_start(&sp, run_dir, args, env, err, sizeof err) == 0, "%s", err);
}

static void start(const char *toml) {
    start_args(toml, NULL);
}

static void stop(void) {
    sproc_stop_clean(&sp, dir);
}

static void connect_ok(wsc_t *c, const char *path, const char *headers) {
    int http;
    ck_assert_msg(wsc_connect(c, sp.port, path, headers, 5000, &http, err, sizeof err) == 0,
                  "%s: %s", path, err);
}

static void trainer_connect(wsc_t *t) {
    connect_ok(t, "/ws/trainer", "X-Run-Demo-Token: " TOKEN "\r\n");
}

static int http_get(const char *path, const char *headers, char *body, size_t cap) {
    return wsc_http(sp.port, "GET", path, headers, 5000, body, cap, NULL, 0, err, sizeof err);
}

static bool valid_json(const char *s, size_t n) {
    return json_valid(s, n, 64);
}

/* ---- the address actually bound ---- */

/* The listening sockets on port from /proc/net/tcp{,6}: "4:7F000001", "6:0000...01", ... */
static int listeners(int port, char out[][48], int max) {
    int n = 0;
    const char *files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    for (int f = 0; f < 2; f++) {
        FILE *fp = fopen(files[f], "r");
        if (!fp) continue;
        char line[512];
        while (fgets(line, sizeof line, fp)) {
            char local[80], rem[80];
            unsigned st;
            if (sscanf(line, " %*d: %79s %79s %x", local, rem, &st) != 3 || st != 0x0A) continue;
            char *colon = strrchr(local, ':');
            if (!colon || (int)strtol(colon + 1, NULL, 16) != port) continue;
            *colon = 0;
            if (n < max) snprintf(out[n++], 48, "%d:%.40s", f ? 6 : 4, local);
        }
        fclose(fp);
    }
    return n;
}

/* A TCP connect to addr (IPv4 or IPv6 literal) and port succeeds. */
static bool can_connect(const char *addr, int port) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    int fam = strchr(addr, ':') ? AF_INET6 : AF_INET;
    if (fam == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, addr, &a->sin_addr);
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, addr, &a->sin6_addr);
        len = sizeof *a;
    }
    int fd = socket(fam, SOCK_STREAM, 0);
    if (fd < 0) return false;
    bool ok = connect(fd, (struct sockaddr *)&ss, len) == 0;
    close(fd);
    return ok;
}

static bool have_ipv6_loopback(void) {
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0) return false;
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

START_TEST(binds_exactly_the_address_asked) {
    const char *hosts[] = {NULL, "127.0.0.1", "localhost", "::1", "[::1]"};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        bool v6 = hosts[i] && strchr(hosts[i], ':');
        if (v6 && !have_ipv6_loopback()) {
            fprintf(stderr, "NOTE: no IPv6 loopback here: the IPv6 case cannot run\n");
            ck_abort_msg("no IPv6 loopback on this machine: the ::1 case cannot be checked");
        }
        const char *extra[] = {"--host", hosts[i], NULL};
        start_args(NULL, hosts[i] ? extra : NULL);
        char l[8][48];
        int n = listeners(sp.port, l, 8);
        ck_assert_msg(n == 1, "host %s: %d listening sockets on the port", hosts[i], n);
        if (v6) {
            ck_assert_str_eq(l[0], "6:00000000000000000000000001000000");
            ck_assert(can_connect("::1", sp.port));
            ck_assert(!can_connect("127.0.0.1", sp.port));
        } else {
            ck_assert_msg(strcmp(l[0], "4:0100007F") == 0, "host %s bound %s", hosts[i], l[0]);
            ck_assert(can_connect("127.0.0.1", sp.port));
            if (have_ipv6_loopback()) ck_assert(!can_connect("::1", sp.port));
        }
        /* On loopback no token is asked: the rule the orchestrator uses too. */
        if (!v6) {
            char body[4096];
            ck_assert_int_eq(http_get("/api/status", NULL, body, sizeof body), 200);
            ck_assert_ptr_nonnull(strstr(body, "\"token_required\":false"));
        }
        stop();
    }
}
END_TEST

/* ---- floods of connections that never complete a request ---- */

static void raise_fd_limit(int want) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)want) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)want ? rl.rlim_max : (rlim_t)want;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int open_raw(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* How many of fds the server has closed (readable with end of file, or reset). */
static int closed_by_server(const int *fds, int n) {
    int closed = 0;
    for (int i = 0; i < n; i++) {
        struct pollfd p = {.fd = fds[i], .events = POLLIN};
        char b[64];
        if (poll(&p, 1, 0) == 1 &&
            (p.revents & (POLLHUP | POLLERR) || read(fds[i], b, sizeof b) <= 0))
            closed++;
    }
    return closed;
}

/* 600 idle sockets and 300 slowloris ones (a partial request line each) are held open
 * while /healthz and a WebSocket upgrade are tried. Without admission control the flood
 * holds every header buffer until lws's header idle timeout (10 s before, 5 s now) frees
 * them, and the request waits for that; so the answer must come within 4 s (a functional
 * bound under that constant, not a timing figure: scripts/hostile measures the time), and
 * the server must have evicted all but 256 of the flood itself and closed them. */
START_TEST(idle_and_slow_floods_do_not_starve) {
    raise_fd_limit(4096);
    start(NULL);
    enum { IDLE = 600, SLOW = 300 };
    static int fds[IDLE + SLOW];
    int opened = 0;
    for (int i = 0; i < IDLE + SLOW; i++) {
        fds[i] = open_raw(sp.port);
        if (fds[i] < 0) break;
        if (i >= IDLE) {
            static const char part[] = "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-a: ";
            ck_assert_int_eq(write(fds[i], part, sizeof part - 1), (ssize_t)(sizeof part - 1));
        }
        opened++;
    }
    ck_assert_int_eq(opened, IDLE + SLOW);
    tclock_sleep_s(300 / 1000.0);
    char body[256];
    int st = wsc_http(sp.port, "GET", "/healthz", NULL, 4000, body, sizeof body, NULL, 0, err,
                      sizeof err);
    ck_assert_msg(st == 200, "/healthz under a flood: %d (%s)", st, err);
    wsc_t v;
    int http = 0;
    /* The closes are the server's own work on its loop, an eviction's close is async (lws
     * runs it from its once-a-second timeout pass), and on a loaded machine they trail the
     * answer: CI saw 552 of 644 after 1.5 s. So the wait is generous (6 s), and what shows
     * that the server shed the flood itself, not lws's header timeout, is its own count of
     * evictions (pending_evicted, below). */
    int closed = closed_by_server(fds, opened);
    for (int i = 0; i < 120 && closed < IDLE + SLOW - 256; i++) {
        tclock_sleep_s(0.05);
        closed = closed_by_server(fds, opened);
    }
    ck_assert_msg(closed >= IDLE + SLOW - 256, "the server closed %d of the flood's %d sockets",
                  closed, opened);
    ck_assert_msg(wsc_connect(&v, sp.port, "/ws/training", NULL, 4000, &http, err, sizeof err) == 0,
                  "upgrade under a flood: %s", err);
    ck_assert_int_eq(wsc_wait_for(&v, "\"type\":\"hello\"", 8000), 1);
    wsc_close(&v);
    /* The flood displaced itself: the server says how many it closed. */
    static char metrics[16384];
    ck_assert_int_eq(http_get("/metrics", NULL, metrics, sizeof metrics), 200);
    const char *ev = strstr(metrics, "rd_server_refused_total{reason=\"pending_evicted\"} ");
    ck_assert_ptr_nonnull(ev);
    ck_assert_int_ge(atol(ev + strlen("rd_server_refused_total{reason=\"pending_evicted\"} ")),
                     IDLE + SLOW - 256);
    for (int i = 0; i < opened; i++) close(fds[i]);
    stop();
}
END_TEST

/* ---- Host and cross-site requests ---- */

START_TEST(forged_host_and_cross_site_post_refused) {
    start("[unified_server]\nallowed_hosts = \"demo.example\"\n");
    char body[4096], hdr[256];
    ck_assert_int_eq(http_get("/api/status", "Host: evil.example:8766\r\n", body, sizeof body),
                     421);
    ck_assert_ptr_null(strstr(body, "\"job\""));
    ck_assert_int_eq(http_get("/api/status", "Host: demo.example\r\n", body, sizeof body), 200);
    ck_assert_int_eq(http_get("/api/status", "Host: localhost:1\r\n", body, sizeof body), 200);
    ck_assert_int_eq(http_get("/api/status", "Host: 192.0.2.7\r\n", body, sizeof body), 200);
    ck_assert_int_eq(http_get("/api/status", "Host: [::1]:9\r\n", body, sizeof body), 200);
    ck_assert_int_eq(http_get("/api/status", "Host: localhost:x\r\n", body, sizeof body), 421);
    ck_assert_int_eq(http_get("/healthz", "Host: evil.example\r\n", body, sizeof body), 421);
    /* a rebinding page's WebSocket: its Origin matches its Host, the Host is not ours */
    wsc_t w;
    int http = 0;
    ck_assert_int_eq(wsc_connect(&w, sp.port, "/ws",
                                 "Host: evil.example:8766\r\nOrigin: http://evil.example:8766\r\n",
                                 5000, &http, err, sizeof err),
                     -1);
    ck_assert_int_eq(http, 421);

    /* A trainer is linked: a cross-site POST must not reach it. */
    wsc_t t;
    trainer_connect(&t);
    ck_assert_int_eq(wsc_send_text(&t, "{\"type\":\"hello\",\"config\":\"level1\","
                                       "\"total_episodes\":10,\"resumed_from\":0}"),
                     0);
    for (int i = 0; i < 100; i++) {
        http_get("/api/status", NULL, body, sizeof body);
        if (strstr(body, "\"trainer_connected\":true")) break;
        tclock_sleep_s(20 / 1000.0);
    }
    ck_assert_int_eq(wsc_http(sp.port, "POST", "/api/training/pause",
                              "Origin: http://evil.example\r\nContent-Type: text/plain\r\n", 5000,
                              body, sizeof body, NULL, 0, err, sizeof err),
                     403);
    ck_assert_int_eq(wsc_http(sp.port, "POST", "/api/training/stop",
                              "Content-Type: application/x-www-form-urlencoded\r\n", 5000, body,
                              sizeof body, NULL, 0, err, sizeof err),
                     415);
    int op;
    ck_assert_int_eq(wsc_recv(&t, 500, &op), 0); /* the trainer got no command */
    /* our own page (same origin) and a non-browser client are obeyed */
    snprintf(hdr, sizeof hdr, "Origin: http://127.0.0.1:%d\r\n", sp.port);
    ck_assert_int_eq(wsc_http(sp.port, "POST", "/api/training/pause", hdr, 5000, body, sizeof body,
                              NULL, 0, err, sizeof err),
                     200);
    ck_assert_int_eq(wsc_recv(&t, 3000, &op), 1);
    ck_assert_ptr_nonnull(strstr(t.msg, "\"command\":\"pause\""));
    ck_assert_int_eq(wsc_http(sp.port, "POST", "/api/training/resume",
                              "Content-Type: application/json\r\n", 5000, body, sizeof body, NULL,
                              0, err, sizeof err),
                     200);
    ck_assert_int_eq(wsc_recv(&t, 3000, &op), 1);
    ck_assert_ptr_nonnull(strstr(t.msg, "\"command\":\"resume\""));
    wsc_close(&t);
    stop();
}
END_TEST

/* ---- hostile trainer messages: what viewers and the API get stays valid ---- */

/* Receives everything v gets for ms and checks each message is valid JSON + UTF-8;
 * returns how many messages came. */
static int drain_valid(wsc_t *v, int ms) {
    int n = 0, op;
    double dl = (tclock_now_s() * 1000.0) + ms;
    while ((tclock_now_s() * 1000.0) < dl) {
        int r = wsc_recv(v, 50, &op);
        if (r < 0) break;
        if (r == 0) continue;
        if (op != WSC_TEXT) continue;
        ck_assert_msg(valid_json(v->msg, v->msg_len), "a viewer got invalid JSON: %.200s", v->msg);
        n++;
    }
    return n;
}

static void wait_trainer_linked(void) {
    char body[8192];
    for (int i = 0; i < 100; i++) {
        http_get("/api/status", NULL, body, sizeof body);
        if (strstr(body, "\"trainer_connected\":true")) return;
        tclock_sleep_s(20 / 1000.0);
    }
    ck_abort_msg("the trainer never linked");
}

START_TEST(hostile_trainer_cannot_break_viewers) {
    start(NULL);
    wsc_t v, t;
    connect_ok(&v, "/ws/training", NULL);
    ck_assert_int_eq(wsc_wait_for(&v, "\"type\":\"hello\"", 5000), 1);
    trainer_connect(&t);
    /* a config name of 63 control characters, then one of 40 'é' (cut by the server's
     * 64-byte field in the middle of a character) */
    char hello[2048];
    strcpy(hello, "{\"type\":\"hello\",\"total_episodes\":1e308,\"resumed_from\":-5,\"config\":\"");
    for (int i = 0; i < 63; i++) strcat(hello, "\\u0001");
    strcat(hello, "\"}");
    ck_assert_int_eq(wsc_send_text(&t, hello), 0);
    wait_trainer_linked();
    strcpy(hello, "{\"type\":\"hello\",\"config\":\"");
    for (int i = 0; i < 40; i++) strcat(hello, "\xC3\xA9");
    strcat(hello, "\"}");
    ck_assert_int_eq(wsc_send_text(&t, hello), 0);
    /* a failure whose error is 250 quotes */
    char failed[1024];
    strcpy(failed, "{\"type\":\"status\",\"status\":\"failed\",\"error\":\"");
    for (int i = 0; i < 250; i++) strcat(failed, "\\\"");
    strcat(failed, "\"}");
    ck_assert_int_eq(wsc_send_text(&t, failed), 0);
    /* invalid messages: never relayed */
    ck_assert_int_eq(wsc_send_text(&t, "{\"type\":\"frame\",\"q\":[nan,inf]}"), 0);
    ck_assert_int_eq(wsc_send_text(&t, "{\"type\":\"episode\",\"episode\":2,\"x\":\"\xFF\"}"), 0);
    static const char nul[] = "{\"type\":\"status\",\"status\":\"paused\"}";
    ck_assert_int_eq(wsc_send(&t, WSC_TEXT, nul, sizeof nul), 0); /* with its NUL */
    /* an episode of 1e308: a count, clamped, never negative */
    ck_assert_int_eq(wsc_send_text(&t, "{\"type\":\"episode\",\"episode\":1e308,\"steps\":-1e308,"
                                       "\"total_reward\":1}"),
                     0);
    ck_assert_int_ge(drain_valid(&v, 1500), 3);
    char body[16384];
    ck_assert_int_eq(http_get("/api/status", NULL, body, sizeof body), 200);
    ck_assert_msg(valid_json(body, strlen(body)), "/api/status: %.300s", body);
    cJSON *o = cJSON_Parse(body);
    cJSON *job = cJSON_GetObjectItemCaseSensitive(o, "job");
    ck_assert_double_ge(cJSON_GetObjectItemCaseSensitive(job, "episode")->valuedouble, 0);
    ck_assert_double_ge(cJSON_GetObjectItemCaseSensitive(job, "total_episodes")->valuedouble, 0);
    cJSON_Delete(o);
    /* a viewer joining now gets a valid hello, and so on every reconnect */
    for (int i = 0; i < 3; i++) {
        wsc_t late;
        connect_ok(&late, "/ws/training", NULL);
        ck_assert_int_eq(wsc_wait_for(&late, "\"type\":\"hello\"", 5000), 1);
        ck_assert_msg(valid_json(late.msg, late.msg_len), "hello: %.300s", late.msg);
        wsc_close(&late);
    }
    sproc_drain(&sp);
    ck_assert_ptr_nonnull(strstr(sp.log, "trainer message refused"));
    wsc_close(&t);
    wsc_close(&v);
    stop();
}
END_TEST

START_TEST(history_bounded_in_bytes) {
    start("[unified_server]\nhistory_bytes = 1048576\n");
    wsc_t t;
    trainer_connect(&t);
    ck_assert_int_eq(wsc_send_text(&t, "{\"type\":\"hello\",\"config\":\"level1\"}"), 0);
    wait_trainer_linked();
    /* 300 records of 60 KiB (18 MB in all) and one of 100 KiB (over the record cap) */
    enum { PAD = 60 * 1024 };
    char *rec = malloc(PAD + 256);
    ck_assert_ptr_nonnull(rec);
    for (int e = 1; e <= 300; e++) {
        int n =
            snprintf(rec, 256, "{\"type\":\"episode\",\"episode\":%d,\"steps\":1,\"pad\":\"", e);
        memset(rec + n, 'a', PAD);
        strcpy(rec + n + PAD, "\"}");
        ck_assert_int_eq(wsc_send_text(&t, rec), 0);
    }
    free(rec);
    char *big = malloc(100 * 1024 + 64);
    int n = snprintf(big, 64, "{\"type\":\"episode\",\"episode\":301,\"pad\":\"");
    memset(big + n, 'b', 100 * 1024);
    strcpy(big + n + 100 * 1024, "\"}");
    ck_assert_int_eq(wsc_send_text(&t, big), 0);
    free(big);
    char body[8192];
    for (int i = 0; i < 200; i++) {
        http_get("/api/status", NULL, body, sizeof body);
        if (strstr(body, "\"episode\":300")) break;
        tclock_sleep_s(50 / 1000.0);
    }
    ck_assert_ptr_nonnull(strstr(body, "\"episode\":300"));
    wsc_t late;
    connect_ok(&late, "/ws/training", NULL);
    ck_assert_int_eq(wsc_wait_for(&late, "\"type\":\"hello\"", 10000), 1);
    ck_assert_msg(late.msg_len <= 1048576 + 16384, "hello of %zu bytes", late.msg_len);
    ck_assert(valid_json(late.msg, late.msg_len));
    ck_assert_ptr_nonnull(strstr(late.msg, "\"history_downsampled\":true"));
    ck_assert_ptr_null(strstr(late.msg, "bbbbbbbb"));
    wsc_close(&late);
    sproc_drain(&sp);
    ck_assert_ptr_nonnull(strstr(sp.log, "record over 64 KiB"));
    wsc_close(&t);
    stop();
}
END_TEST

/* ---- checkpoints on disk: junk logged once per file; errors name no server path ---- */

START_TEST(checkpoint_junk_and_model_errors) {
    start(NULL);
    char ck[800], p[900];
    snprintf(ck, sizeof ck, "%s/checkpoints", run_dir);
    mkdir(ck, 0755);
    for (int i = 0; i < 20; i++) {
        snprintf(p, sizeof p, "%s/ep_%07d.ckpt", ck, i + 1);
        scratch_write(p, "not a checkpoint at all");
    }
    char body[65536];
    for (int r = 0; r < 3; r++) {
        ck_assert_int_eq(http_get("/api/models", NULL, body, sizeof body), 200);
        ck_assert(valid_json(body, strlen(body)));
    }
    tclock_sleep_s(200 / 1000.0);
    sproc_drain(&sp);
    int lines = 0;
    for (const char *q = sp.log; (q = strstr(q, "ep_00000")) != NULL; q++)
        if (strstr(q, ".ckpt") == q + 10) lines++;
    ck_assert_msg(lines == 20, "%d log lines about 20 junk files over 3 listings", lines);

    wsc_t s;
    connect_ok(&s, "/ws", NULL);
    ck_assert_int_eq(wsc_wait_for(&s, "\"type\":\"model_loaded\"", 5000), 1);
    ck_assert_int_eq(wsc_send_text(&s, "{\"command\":\"load\",\"model\":\"ep_9999999\"}"), 0);
    ck_assert_int_eq(wsc_wait_for(&s, "\"type\":\"command_result\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(s.msg, "unknown model 'ep_9999999'"));
    ck_assert_int_eq(wsc_send_text(&s, "{\"command\":\"load\",\"model\":\"ep_0000003\"}"), 0);
    ck_assert_int_eq(wsc_wait_for(&s, "\"type\":\"command_result\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(s.msg, "checkpoint refused: ep_0000003.ckpt"));
    ck_assert_msg(strstr(s.msg, dir) == NULL, "the server's path leaks: %s", s.msg);
    wsc_close(&s);
    stop();
}
END_TEST

/* A checkpoint of a diverged network (every weight NaN): the session plays it and sends
 * its Q-values as null, never as nan (which no browser can parse). */
START_TEST(diverged_checkpoint_sends_null_q_values) {
    ck_assert_int_eq(sproc_tempdir(dir, sizeof dir), 0);
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);
    cfg_config cfg;
    cfg_defaults(&cfg);
    trainer_t *t = calloc(1, sizeof *t);
    trainer_opts o = {.run_dir = run_dir, .episodes = 10, .quiet = true};
    ck_assert_msg(trainer_open(t, &cfg, &o, err, sizeof err) == 0, "%s", err);
    for (size_t i = 0; i < t->dqn.n_params; i++) t->dqn.online[i] = NAN;
    char path[1024];
    ck_assert_msg(trainer_checkpoint(t, false, path, sizeof path, err, sizeof err) == 0, "%s", err);
    trainer_close(t);
    free(t);
    ck_assert_msg(sproc_start(&sp, run_dir, NULL, env, err, sizeof err) == 0, "%s", err);
    wsc_t s;
    connect_ok(&s, "/ws", NULL);
    ck_assert_int_eq(wsc_wait_for(&s, "\"type\":\"episode_start\"", 5000), 1);
    ck_assert_int_eq(wsc_send_text(&s, "{\"command\":\"step\"}"), 0);
    ck_assert_int_eq(wsc_wait_for(&s, "\"type\":\"state_update\"", 5000), 1);
    ck_assert_msg(valid_json(s.msg, s.msg_len), "%.300s", s.msg);
    ck_assert_ptr_nonnull(strstr(s.msg, "\"q_values\":[null,null,null,null,null,null]"));
    wsc_close(&s);
    stop();
}
END_TEST

int main(void) {
    Suite *s = suite_create("server_security");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, binds_exactly_the_address_asked);
    tcase_add_test(tc, idle_and_slow_floods_do_not_starve);
    tcase_add_test(tc, forged_host_and_cross_site_post_refused);
    tcase_add_test(tc, hostile_trainer_cannot_break_viewers);
    tcase_add_test(tc, history_bounded_in_bytes);
    tcase_add_test(tc, checkpoint_junk_and_model_errors);
    tcase_add_test(tc, diverged_checkpoint_sends_null_q_values);
    suite_add_tcase(s, tc);
    return runner_run(s) ? 1 : 0;
}
