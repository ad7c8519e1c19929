/* tests/test_server_ws.c — the trainer link and the training broadcast over real
 * WebSockets against the real server binary: token and single-trainer rules, relay of
 * trainer messages to several browsers, hello with history, command relay and replies,
 * malformed input, limits, Origin, SIGTERM close frames, and the world of the config in
 * every hello (a viewer joining mid-episode draws the layout at once). */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cfg.h"
#include "tests/support/server_proc.h"
#include "tests/support/wcheck.h"
#include "tests/support/ws_client.h"
#include "tests/support/runner.h"
#include "tests/support/scratch.h"
#include "tests/support/tclock.h"
#include "tests/support/tpaths.h"

#define TOKEN "tok-123"

static char dir[512], run_dir[600], err[512];
static sproc_t sp;
static const char *const env[] = {"RD_TRAINER_TOKEN=" TOKEN, NULL};

/* Starts the server; `toml` (may be NULL) becomes its --config; `metrics` (may be NULL)
 * the run's metrics.jsonl. */
static void start(const char *toml, const char *metrics) {
    ck_assert_int_eq(sproc_tempdir(dir, sizeof dir), 0);
    snprintf(run_dir, sizeof run_dir, "%s/2026-01-01_000000", dir);
    mkdir(run_dir, 0755);
    char path[800];
    const char *args[4] = {NULL};
    static char cfg[800];
    if (toml) {
        snprintf(cfg, sizeof cfg, "%s/test.toml", dir);
        scratch_write(cfg, toml);
        args[0] = "--config";
        args[1] = cfg;
    }
    if (metrics) {
        snprintf(path, sizeof path, "%s/metrics.jsonl", run_dir);
        scratch_write(path, metrics);
    }
    ck_assert_msg(sproc_start(&sp, run_dir, args, env, err, sizeof err) == 0, "%s", err);
}

static void stop(void) {
    sproc_stop_clean(&sp, dir);
}

/* The text of configs/<name> in the source tree (malloc'd), and the config loaded from it. */
static char *source_config(const char *name, cfg_config *cfg) {
    const char *src = tpaths_source_dir();
    char path[1024], e[512];
    snprintf(path, sizeof path, "%s/configs/%s", src, name);
    ck_assert_msg(cfg_load_file(cfg, path, e, sizeof e) == 0, "%s", e);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char *text = calloc(1, 1 << 20);
    ck_assert_ptr_nonnull(text);
    fread(text, 1, (1 << 20) - 1, f);
    fclose(f);
    return text;
}

static void world_ok(const char *msg, const cfg_config *cfg) {
    char e[512];
    ck_assert_msg(wcheck_world(msg, cfg, e, sizeof e) == 0, "%s in:\n%.2000s", e, msg);
}

static void connect_ok(wsc_t *c, const char *path, const char *headers) {
    int http;
    ck_assert_msg(wsc_connect(c, sp.port, path, headers, 5000, &http, err, sizeof err) == 0,
                  "%s: %s", path, err);
}

static void trainer_connect(wsc_t *t) {
    connect_ok(t, "/ws/trainer", "X-Run-Demo-Token: " TOKEN "\r\n");
    ck_assert_int_eq(wsc_send_text(t, "{\"type\":\"hello\",\"job_id\":\"2026-01-01_000000\","
                                      "\"config\":\"level1\",\"total_episodes\":100,"
                                      "\"resumed_from\":0}"),
                     0);
}

static void viewer_connect(wsc_t *v) {
    connect_ok(v, "/ws/training", NULL);
    ck_assert_int_eq(wsc_wait_for(v, "\"type\":\"hello\"", 5000), 1);
}

START_TEST(trainer_token_and_single_trainer) {
    start(NULL, NULL);
    wsc_t bad, none, t, second, q;
    connect_ok(&bad, "/ws/trainer", "X-Run-Demo-Token: wrong\r\n");
    ck_assert_int_eq(wsc_wait_close(&bad, 5000), 4001);
    wsc_close(&bad);
    connect_ok(&none, "/ws/trainer", NULL);
    ck_assert_int_eq(wsc_wait_close(&none, 5000), 4001);
    wsc_close(&none);
    trainer_connect(&t);
    /* The token in the query works as well, but the job already has its trainer: its hello
     * (which names no other job) gets it closed. */
    connect_ok(&second, "/ws/trainer?token=" TOKEN, NULL);
    ck_assert_int_eq(wsc_send_text(&second, "{\"type\":\"hello\",\"config\":\"level1\"}"), 0);
    ck_assert_int_eq(wsc_wait_close(&second, 5000), 4009);
    wsc_close(&second);
    char body[4096];
    for (int i = 0; i < 50; i++) {
        wsc_http(sp.port, "GET", "/api/status", NULL, 3000, body, sizeof body, NULL, 0, err,
                 sizeof err);
        if (strstr(body, "\"trainer_connected\":true")) break;
        usleep(20000);
    }
    ck_assert_ptr_nonnull(strstr(body, "\"trainer_connected\":true"));
    wsc_close(&t);
    /* Once the first trainer is gone, a new one is accepted (a restarted trainer). */
    for (int i = 0; i < 50; i++) {
        wsc_http(sp.port, "GET", "/api/status", NULL, 3000, body, sizeof body, NULL, 0, err,
                 sizeof err);
        if (strstr(body, "\"trainer_connected\":false")) break;
        usleep(20000);
    }
    trainer_connect(&q);
    ck_assert_int_eq(wsc_send_text(&q, "{\"type\":\"status\",\"status\":\"running\"}"), 0);
    int op;
    ck_assert_int_eq(wsc_recv(&q, 300, &op), 0); /* still open, nothing sent to it */
    wsc_close(&q);
    stop();
}
END_TEST

START_TEST(broadcast_to_several_clients) {
    start(NULL, NULL);
    wsc_t t, v[3];
    for (int i = 0; i < 3; i++) viewer_connect(&v[i]);
    trainer_connect(&t);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(wsc_wait_for(&v[i], "\"type\":\"trainer_connected\"", 5000), 1);
    const char *ep = "{\"type\":\"episode\",\"episode\":1,\"steps\":245,\"total_reward\":244.0,"
                     "\"epsilon\":0.9,\"loss\":null,\"steps_per_second\":850.2,\"eta_seconds\":10,"
                     "\"best\":245,\"multiplier\":0.2,\"timestamp\":1764106080.123}";
    ck_assert_int_eq(wsc_send_text(&t, ep), 0);
    const char *fr = "{\"type\":\"frame\",\"episode\":2,\"step\":1,\"action\":\"up\"}";
    ck_assert_int_eq(wsc_send_text(&t, fr), 0);
    ck_assert_int_eq(wsc_send_text(&t, "{\"type\":\"status\",\"status\":\"completed\"}"), 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(wsc_wait_for(&v[i], "\"type\":\"episode\"", 5000), 1);
        ck_assert_str_eq(v[i].msg, ep); /* verbatim */
        ck_assert_int_eq(wsc_wait_for(&v[i], "\"type\":\"frame\"", 5000), 1);
        ck_assert_str_eq(v[i].msg, fr);
        ck_assert_int_eq(wsc_wait_for(&v[i], "\"status\":\"completed\"", 5000), 1);
        ck_assert_int_eq(wsc_wait_for(&v[i], "\"complete\":true", 5000), 1);
        ck_assert_ptr_nonnull(strstr(v[i].msg, "\"type\":\"completed\""));
    }
    /* A late joiner gets the episode in its hello's history and the final status. */
    wsc_t late;
    connect_ok(&late, "/ws/training/2026-01-01_000000", NULL);
    ck_assert_int_eq(wsc_wait_for(&late, "\"type\":\"hello\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(late.msg, "\"status\":\"completed\""));
    ck_assert_ptr_nonnull(strstr(late.msg, "\"steps\":245"));
    wsc_close(&late);
    wsc_t other;
    connect_ok(&other, "/ws/training/another-job", NULL);
    ck_assert_int_eq(wsc_wait_close(&other, 5000), 4004);
    wsc_close(&other);
    for (int i = 0; i < 3; i++) wsc_close(&v[i]);
    wsc_close(&t);
    stop();
}
END_TEST

START_TEST(hello_with_history) {
    char metrics[65536] = "";
    size_t o = 0;
    for (int i = 1; i <= 50; i++)
        o += (size_t)snprintf(metrics + o, sizeof metrics - o,
                              "{\"episode\":%d,\"steps\":%d,\"total_reward\":%d.5}\n", i, 100 + i,
                              i);
    /* history_limit 20 forces downsampling; the newest records stay. */
    start("[unified_server]\nhistory_limit = 20\n", metrics);
    wsc_t v;
    viewer_connect(&v);
    ck_assert_ptr_nonnull(strstr(v.msg, "\"history_total\":50"));
    ck_assert_ptr_nonnull(strstr(v.msg, "\"history_downsampled\":true"));
    ck_assert_ptr_nonnull(strstr(v.msg, "\"episode\":50,"));
    ck_assert_ptr_nonnull(strstr(v.msg, "\"episode\":1,")); /* the oldest survives thinning */
    ck_assert_ptr_nonnull(strstr(v.msg, "\"status\":\"waiting\""));
    int n = 0;
    for (const char *p = v.msg; (p = strstr(p, "\"steps\":")); p++) n++;
    ck_assert_int_le(n, 20);
    ck_assert_int_ge(n, 10);
    /* A trainer that sends episode 50 again (a link reconnecting to a restarted server)
     * does not duplicate it; 51 is added. */
    wsc_t t, late;
    trainer_connect(&t);
    wsc_send_text(&t, "{\"type\":\"episode\",\"episode\":50,\"steps\":150}");
    wsc_send_text(&t, "{\"type\":\"episode\",\"episode\":51,\"steps\":151}");
    ck_assert_int_eq(wsc_wait_for(&v, "\"episode\":51", 5000), 1);
    viewer_connect(&late);
    ck_assert_ptr_nonnull(strstr(late.msg, "\"history_total\":51"));
    const char *first = strstr(late.msg, "\"episode\":50,");
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_null(strstr(first + 1, "\"episode\":50,"));
    ck_assert_ptr_nonnull(strstr(late.msg, "\"episode\":51,"));
    wsc_close(&late);
    wsc_close(&t);
    wsc_close(&v);
    stop();
}
END_TEST

START_TEST(command_relay_and_replies) {
    start(NULL, NULL);
    wsc_t v, t;
    viewer_connect(&v);
    /* Without a trainer: refused, with the reason. */
    ck_assert_int_eq(wsc_send_text(&v, "{\"command\":\"pause\",\"id\":5}"), 0);
    ck_assert_int_eq(wsc_wait_for(&v, "\"type\":\"command_result\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(v.msg, "\"accepted\":false"));
    ck_assert_ptr_nonnull(strstr(v.msg, "no trainer linked"));
    ck_assert_ptr_nonnull(strstr(v.msg, "\"id\":5"));
    trainer_connect(&t);
    ck_assert_int_eq(wsc_wait_for(&v, "\"type\":\"trainer_connected\"", 5000), 1);
    ck_assert_int_eq(wsc_send_text(&v, "{\"command\":\"set_speed\",\"speed\":20,\"id\":\"ui-1\"}"),
                     0);
    ck_assert_int_eq(wsc_wait_for(&v, "\"type\":\"command_result\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(v.msg, "\"accepted\":true"));
    ck_assert_ptr_nonnull(strstr(v.msg, "\"id\":\"ui-1\""));
    ck_assert_int_eq(wsc_wait_for(&t, "\"command\":\"set_speed\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(t.msg, "\"speed\":20"));
    /* Bad fields, unknown commands, malformed JSON. */
    ck_assert_int_eq(wsc_send_text(&v, "{\"command\":\"set_speed\",\"speed\":\"fast\"}"), 0);
    ck_assert_int_eq(wsc_wait_for(&v, "\"type\":\"command_result\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(v.msg, "\"accepted\":false"));
    ck_assert_ptr_nonnull(strstr(v.msg, "speed must be"));
    ck_assert_int_eq(wsc_send_text(&v, "{\"command\":\"self_destruct\"}"), 0);
    ck_assert_int_eq(wsc_wait_for(&v, "\"type\":\"command_result\"", 5000), 1);
    ck_assert_ptr_nonnull(strstr(v.msg, "unknown command 'self_destruct'"));
    ck_assert_int_eq(wsc_send_text(&v, "{\"command\": tru"), 0);
    ck_assert_int_eq(wsc_wait_for(&v, "\"type\":\"error\"", 5000), 1);
    ck_assert_int_eq(wsc_send_text(&v, "[1,2,3]"), 0);
    ck_assert_int_eq(wsc_wait_for(&v, "\"type\":\"error\"", 5000), 1);
    /* The HTTP API relays too. */
    char body[1024];
    ck_assert_int_eq(wsc_http(sp.port, "POST", "/api/training/pause", NULL, 5000, body, sizeof body,
                              NULL, 0, err, sizeof err),
                     200);
    ck_assert_int_eq(wsc_wait_for(&t, "\"command\":\"pause\"", 5000), 1);
    wsc_close(&v);
    wsc_close(&t);
    stop();
}
END_TEST

/* A flooding client is closed with 1008 and `reason`. The flood is still arriving when the
 * server closes, and the TCP reset that closing a socket with unread data sends can
 * overtake the close frame (seen once in many CI runs: the client saw 1006). So a 1006 is
 * accepted only with the server's log showing the 1008 decision (`logged`); any other code
 * fails. */
static void expect_flood_close(wsc_t *c, const char *reason, const char *logged) {
    int code = wsc_wait_close(c, 5000);
    if (code == 1006) {
        double deadline = tclock_now_s() + 3.0;
        do {
            sproc_drain(&sp);
            if (strstr(sp.log, logged)) return;
            tclock_sleep_s(0.02);
        } while (tclock_now_s() < deadline);
        ck_abort_msg("closed with 1006 and the server did not log '%s':\n%s", logged, sp.log);
    }
    ck_assert_int_eq(code, 1008);
    ck_assert_str_eq(c->close_reason, reason);
}

START_TEST(binary_and_oversized_frames) {
    start("[unified_server]\nmax_message_bytes = 1024\n", NULL);
    wsc_t a, b, c;
    viewer_connect(&a);
    ck_assert_int_eq(wsc_send(&a, WSC_BINARY, "\x01\x02", 2), 0);
    ck_assert_int_eq(wsc_wait_close(&a, 5000), 1003);
    wsc_close(&a);
    viewer_connect(&b);
    char big[4000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ck_assert_int_eq(wsc_send_text(&b, big), 0);
    ck_assert_int_eq(wsc_wait_close(&b, 5000), 1009);
    wsc_close(&b);
    /* A flood of bad messages ends with 1008; the server survives all of it. */
    viewer_connect(&c);
    for (int i = 0; i < 30; i++) wsc_send_text(&c, "nope");
    expect_flood_close(&c, "too many errors", "too many bad messages, closing (1008)");
    wsc_close(&c);
    /* So does a flood of valid commands (bursts of 100 allowed, then 50/s). */
    viewer_connect(&c);
    for (int i = 0; i < 300; i++) wsc_send_text(&c, "{\"command\":\"pause\"}");
    expect_flood_close(&c, "rate limit", "floods commands, closing (1008)");
    wsc_close(&c);
    char body[256];
    ck_assert_int_eq(wsc_http(sp.port, "GET", "/healthz", NULL, 3000, body, sizeof body, NULL, 0,
                              err, sizeof err),
                     200);
    stop();
}
END_TEST

START_TEST(max_clients_and_origin) {
    start("[unified_server]\nmax_clients_per_job = 2\nfrontend_port = 5173\n"
          "allowed_hosts = \"other.example, demo.example\"\n",
          NULL);
    wsc_t a, b, c, d;
    viewer_connect(&a);
    viewer_connect(&b);
    connect_ok(&c, "/ws/training", NULL);
    ck_assert_int_eq(wsc_wait_close(&c, 5000), 4029);
    ck_assert_str_eq(c.close_reason, "too many clients");
    wsc_close(&c);
    wsc_close(&a);
    wsc_close(&b);
    int http = 0;
    ck_assert_int_eq(wsc_connect(&d, sp.port, "/ws/training", "Origin: http://evil.example\r\n",
                                 5000, &http, err, sizeof err),
                     -1);
    ck_assert_int_eq(http, 403);
    ck_assert_int_eq(
        wsc_connect(&d, sp.port, "/ws", "Origin: null\r\n", 5000, &http, err, sizeof err), -1);
    connect_ok(&d, "/ws/training", "Origin: http://localhost:5173\r\n");
    wsc_close(&d);
    /* Same origin by the Host header (a server reached by another name), and the dev
     * frontend's port on that name; a foreign page to the same Host is still refused. */
    char hdr[256];
    snprintf(hdr, sizeof hdr, "Host: demo.example:%d\r\nOrigin: http://demo.example:%d\r\n",
             sp.port, sp.port);
    connect_ok(&d, "/ws/training", hdr);
    wsc_close(&d);
    connect_ok(&d, "/ws/training",
               "Host: demo.example:8766\r\nOrigin: http://demo.example:5173\r\n");
    wsc_close(&d);
    ck_assert_int_eq(wsc_connect(&d, sp.port, "/ws/training",
                                 "Host: demo.example:8766\r\nOrigin: http://evil.example:8766\r\n",
                                 5000, &http, err, sizeof err),
                     -1);
    ck_assert_int_eq(http, 403);
    /* A name that is not the server's (DNS rebinding: a page whose own name resolves to
     * us, so its Origin matches its Host) is refused before the Origin is looked at. */
    ck_assert_int_eq(wsc_connect(&d, sp.port, "/ws/training",
                                 "Host: evil.example:8766\r\nOrigin: http://evil.example:8766\r\n",
                                 5000, &http, err, sizeof err),
                     -1);
    ck_assert_int_eq(http, 421);
    char origin[128];
    snprintf(origin, sizeof origin, "Origin: http://127.0.0.1:%d\r\n", sp.port);
    /* Slots free again once the first clients are gone. */
    for (int i = 0; i < 50; i++) {
        wsc_t e;
        connect_ok(&e, "/ws/training", origin);
        int r = wsc_wait_for(&e, "\"type\":\"hello\"", 2000);
        wsc_close(&e);
        if (r == 1) break;
        ck_assert_int_lt(i, 49);
        usleep(20000);
    }
    ck_assert_int_eq(wsc_connect(&d, sp.port, "/nowhere", NULL, 5000, &http, err, sizeof err), -1);
    stop();
}
END_TEST

/* A client that stops reading loses frames first, then is closed when its queue holds
 * nothing but records; a client that keeps up gets every episode, in order. */
START_TEST(slow_client_dropped_not_waited_for) {
    start("[unified_server]\nclient_queue_limit = 8\n", NULL);
    wsc_t slow, fast, t;
    wsc_set_rcvbuf(4096);
    viewer_connect(&slow);
    wsc_set_rcvbuf(0);
    viewer_connect(&fast);
    trainer_connect(&t);
    size_t fl = 20000;
    char *frame = malloc(fl + 64);
    int o = snprintf(frame, 64, "{\"type\":\"frame\",\"pad\":\"");
    memset(frame + o, 'x', fl);
    snprintf(frame + o + fl, 64, "\"}");
    int next = 1, op;
    for (int i = 0; i < 800; i++) {
        wsc_send_text(&t, frame);
        if (i % 10 == 9) {
            char ep[128];
            snprintf(ep, sizeof ep, "{\"type\":\"episode\",\"episode\":%d,\"steps\":1}",
                     i / 10 + 1);
            wsc_send_text(&t, ep);
        }
        /* Keep the fast client drained. */
        while (wsc_recv(&fast, i % 10 == 9 ? 50 : 0, &op) == 1) {
            const char *e = strstr(fast.msg, "\"type\":\"episode\",\"episode\":");
            if (e) {
                ck_assert_int_eq(atoi(e + 27), next);
                next++;
            }
        }
    }
    while (next <= 80 && wsc_recv(&fast, 2000, &op) == 1) {
        const char *e = strstr(fast.msg, "\"type\":\"episode\",\"episode\":");
        if (e) {
            ck_assert_int_eq(atoi(e + 27), next);
            next++;
        }
    }
    ck_assert_int_eq(next, 81); /* all 80 episodes, in order */
    int code = wsc_wait_close(&slow, 15000);
    ck_assert_msg(code == 4008 || code == 1006, "slow client close %d", code);
    char body[16384];
    ck_assert_int_eq(wsc_http(sp.port, "GET", "/metrics", NULL, 5000, body, sizeof body, NULL, 0,
                              err, sizeof err),
                     200);
    const char *d = strstr(body, "\nrd_server_dropped_messages_total ");
    const char *c = strstr(body, "\nrd_server_slow_closes_total ");
    sproc_drain(&sp);
    ck_assert_msg(d && atol(d + strlen("\nrd_server_dropped_messages_total ")) > 0,
                  "close %d\n%s\n%s", code, body, sp.log);
    ck_assert(c && atol(c + strlen("\nrd_server_slow_closes_total ")) >= 1);
    free(frame);
    wsc_close(&slow);
    wsc_close(&fast);
    wsc_close(&t);
    stop();
}
END_TEST

/* A peer that stops answering (half-open: no pong) is dropped by the ping policy. */
START_TEST(half_open_dropped) {
    ck_assert_int_eq(sproc_tempdir(dir, sizeof dir), 0);
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);
    mkdir(run_dir, 0755);
    const char *env2[] = {"RD_TRAINER_TOKEN=" TOKEN, "RD_SERVER_PING_SECS=1", NULL};
    ck_assert_msg(sproc_start(&sp, run_dir, NULL, env2, err, sizeof err) == 0, "%s", err);
    wsc_t quiet, alive;
    viewer_connect(&quiet);
    viewer_connect(&alive);
    /* `alive` reads (and so answers pings) all along; `quiet` reads nothing for 5 s. */
    int op;
    for (int i = 0; i < 50; i++) wsc_recv(&alive, 100, &op);
    ck_assert_int_eq(alive.close_code, 0);
    int code = wsc_wait_close(&quiet, 3000);
    ck_assert_msg(code == 1006 || code == 1001 || code == 1000, "quiet client: %d", code);
    wsc_send_text(&alive, "{\"command\":\"pause\"}");
    ck_assert_int_eq(wsc_wait_for(&alive, "\"type\":\"command_result\"", 3000), 1);
    wsc_close(&quiet);
    wsc_close(&alive);
    stop();
}
END_TEST

START_TEST(sigterm_sends_close_frames) {
    start(NULL, NULL);
    wsc_t v[3], t;
    for (int i = 0; i < 3; i++) viewer_connect(&v[i]);
    trainer_connect(&t);
    ck_assert_int_eq(wsc_wait_for(&v[0], "\"type\":\"trainer_connected\"", 5000), 1);
    kill(sp.pid, SIGTERM);
    for (int i = 0; i < 3; i++) {
        int code = wsc_wait_close(&v[i], 5000);
        sproc_drain(&sp);
        ck_assert_msg(code == 1001, "close %d; log:\n%s", code, sp.log);
        ck_assert_str_eq(v[i].close_reason, "server shutting down");
        wsc_close(&v[i]);
    }
    ck_assert_int_eq(wsc_wait_close(&t, 5000), 1001);
    wsc_close(&t);
    stop();
}
END_TEST

/* The defect this guards against: a viewer that joined mid-episode saw no layout until the
 * next episode's first frame, because frames carry the affordances only then. The hello
 * now carries the config's world, the same text however often the hello is rebuilt. */
START_TEST(hello_carries_world) {
    cfg_config cfg;
    char *toml = source_config("level1.toml", &cfg);
    ck_assert_int_eq(cfg.environment.width, 8);
    ck_assert_int_eq(cfg.environment.height, 8);
    ck_assert_int_eq(cfg.environment.n_affordances, 14);
    start(toml, NULL);
    free(toml);
    wsc_t v, t, late;
    viewer_connect(&v);
    world_ok(v.msg, &cfg);
    ck_assert_ptr_nonnull(strstr(v.msg, "\"world\":{\"width\":8,\"height\":8,\"level\":1,"));
    ck_assert_ptr_nonnull(strstr(v.msg, "{\"name\":\"Bed\",\"x\":1,\"y\":1,"));
    const char *w0 = strstr(v.msg, "\"world\":");
    const char *h0 = strstr(v.msg, ",\"history\":");
    ck_assert(w0 && h0 && h0 > w0);
    char *world = strndup(w0, (size_t)(h0 - w0));
    /* Mid-episode: the episode's first frame (with the affordances) went by before the late
     * viewer came; the frames it sees carry only the agent. */
    trainer_connect(&t);
    ck_assert_int_eq(wsc_wait_for(&v, "\"type\":\"trainer_connected\"", 5000), 1);
    wsc_send_text(&t, "{\"type\":\"episode\",\"episode\":1,\"steps\":10}");
    wsc_send_text(&t, "{\"type\":\"frame\",\"episode\":2,\"step\":1,\"grid\":{\"width\":8,"
                      "\"height\":8,\"agent\":{\"x\":3,\"y\":4},\"affordances\":[{\"name\":"
                      "\"Bed\",\"x\":1,\"y\":1}]}}");
    ck_assert_int_eq(wsc_wait_for(&v, "\"step\":1,", 5000), 1);
    viewer_connect(&late);
    world_ok(late.msg, &cfg);
    ck_assert_ptr_nonnull(strstr(late.msg, "\"episode\":1,"));
    ck_assert_ptr_nonnull(strstr(late.msg, world)); /* byte for byte the start-up text */
    wsc_send_text(&t, "{\"type\":\"frame\",\"episode\":2,\"step\":2,\"grid\":{\"width\":8,"
                      "\"height\":8,\"agent\":{\"x\":3,\"y\":3}}}");
    ck_assert_int_eq(wsc_wait_for(&late, "\"step\":2,", 5000), 1);
    free(world);
    wsc_close(&late);
    wsc_close(&t);
    wsc_close(&v);
    stop();
}
END_TEST

/* Level 3: opening hours and multi-step interactions as the config sets them. */
START_TEST(hello_world_level3) {
    cfg_config cfg;
    char *toml = source_config("level3.toml", &cfg);
    ck_assert(cfg.environment.day_cycle);
    start(toml, NULL);
    free(toml);
    wsc_t v;
    viewer_connect(&v);
    world_ok(v.msg, &cfg);
    ck_assert_ptr_nonnull(strstr(v.msg, "\"level\":3,"));
    ck_assert_ptr_nonnull(strstr(v.msg, "\"day_cycle\":true,"));
    ck_assert_ptr_nonnull(strstr(v.msg,
                                 "{\"name\":\"Job\",\"x\":6,\"y\":6,\"cost\":0,\"open_hour\":8,"
                                 "\"close_hour\":17,\"ticks\":4,"));
    wsc_close(&v);
    stop();
}
END_TEST

/* Critical thresholds come from the config's cascades: a meter's own highest, else the
 * highest of any. */
START_TEST(hello_world_thresholds) {
    const char *toml = "[[environment.cascades]]\n"
                       "source = \"mood\"\ntarget = \"energy\"\nthreshold = 0.4\nstrength = 0.005\n"
                       "[[environment.cascades]]\n"
                       "source = \"satiation\"\ntarget = \"health\"\nthreshold = 0.25\n"
                       "strength = 0.004\n";
    cfg_config cfg;
    cfg_defaults(&cfg);
    char e[512];
    ck_assert_msg(cfg_load_string(&cfg, toml, strlen(toml), "t.toml", e, sizeof e) == 0, "%s", e);
    start(toml, NULL);
    wsc_t v;
    viewer_connect(&v);
    world_ok(v.msg, &cfg);
    ck_assert_ptr_nonnull(strstr(v.msg, "{\"name\":\"mood\",\"initial\":1,\"critical\":0.4}"));
    ck_assert_ptr_nonnull(
        strstr(v.msg, "{\"name\":\"satiation\",\"initial\":1,\"critical\":0.25}"));
    ck_assert_ptr_nonnull(strstr(v.msg, "{\"name\":\"health\",\"initial\":1,\"critical\":0.4}"));
    wsc_close(&v);
    stop();
}
END_TEST

/* A world without cascades marks every meter at the threshold the config gives a cascade
 * by default (0.3), which the server asks of the default config rather than restating. */
START_TEST(hello_world_thresholds_without_cascades) {
    const char *toml = "[environment]\ncascades = []\n";
    cfg_config cfg;
    cfg_defaults(&cfg);
    char e[512];
    ck_assert_msg(cfg_load_string(&cfg, toml, strlen(toml), "t.toml", e, sizeof e) == 0, "%s", e);
    ck_assert_int_eq(cfg.environment.n_cascades, 0);
    start(toml, NULL);
    wsc_t v;
    viewer_connect(&v);
    world_ok(v.msg, &cfg);
    for (int m = 0; m < CFG_NUM_METERS; m++) {
        char want[96];
        snprintf(want, sizeof want, "{\"name\":\"%s\",\"initial\":%g,\"critical\":0.3}",
                 cfg_meter_names[m], cfg.environment.initial[m]);
        ck_assert_msg(strstr(v.msg, want) != NULL, "no %s in the hello's world", want);
    }
    wsc_close(&v);
    stop();
}
END_TEST

int main(void) {
    Suite *s = suite_create("server_ws");
    TCase *tc = tcase_create("ws");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, trainer_token_and_single_trainer);
    tcase_add_test(tc, broadcast_to_several_clients);
    tcase_add_test(tc, hello_with_history);
    tcase_add_test(tc, command_relay_and_replies);
    tcase_add_test(tc, binary_and_oversized_frames);
    tcase_add_test(tc, max_clients_and_origin);
    tcase_add_test(tc, slow_client_dropped_not_waited_for);
    tcase_add_test(tc, half_open_dropped);
    tcase_add_test(tc, sigterm_sends_close_frames);
    tcase_add_test(tc, hello_carries_world);
    tcase_add_test(tc, hello_world_level3);
    tcase_add_test(tc, hello_world_thresholds);
    tcase_add_test(tc, hello_world_thresholds_without_cascades);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
