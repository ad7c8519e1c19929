/* tests/test_link_basic.c — the trainer's WebSocket link against a real WebSocket server
 * (tests/support/testsrv) on a free loopback port: order and hello, token, commands,
 * large messages, the drop policy, a server that is down then comes back, stopping with
 * and without a server, malformed URLs. Nothing here asserts a time: bounds are enforced
 * by the Check timeout, and waits only wait for events to happen. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/testsrv.h"
#include "trainer/link.h"
#include "tests/support/runner.h"

#define WAIT_MS 30000 /* an upper bound for events that come in milliseconds */

static char url_buf[128];

static const char *url_for(int port) {
    snprintf(url_buf, sizeof url_buf, "ws://127.0.0.1:%d/ws/trainer", port);
    return url_buf;
}

static link_t *start_link(int port, const char *token, int cap) {
    char err[256] = "";
    link_t *l = link_start(url_for(port), token, cap, err, sizeof err);
    ck_assert_msg(l != NULL, "link_start: %s", err);
    return l;
}

/* A port nothing listens on: one the kernel just gave a server that has gone again. */
static int dead_port(void) {
    testsrv *s = testsrv_start(0, 0);
    ck_assert_ptr_nonnull(s);
    int port = testsrv_port(s);
    testsrv_stop(s);
    return port;
}

static void expect_msg(testsrv *s, int i, const char *want, int conn) {
    char buf[256];
    int c = testsrv_message(s, i, buf, sizeof buf);
    ck_assert_msg(c >= 0, "message %d missing", i);
    ck_assert_str_eq(buf, want);
    if (conn > 0) ck_assert_int_eq(c, conn);
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Records sent before the hello is set wait for it: the server always sees hello first,
 * then everything in order. The token travels both as a header and in the query. */
START_TEST(test_order_hello_token) {
    testsrv *s = testsrv_start(0, 4096);
    ck_assert_ptr_nonnull(s);
    link_t *l = start_link(testsrv_port(s), "t0k en/+&", 4096);
    char msg[64];
    for (int i = 0; i < 10; i++) {
        int n = snprintf(msg, sizeof msg, "{\"type\":\"episode\",\"episode\":%d}", i);
        ck_assert_int_eq(link_send(l, LINK_RECORD, msg, (size_t)n), 0);
    }
    sleep_ms(50); /* let the connection come up with no hello to send */
    link_set_hello(l, "{\"type\":\"hello\"}", 16);
    for (int i = 10; i < 2000; i++) {
        int n = snprintf(msg, sizeof msg, "{\"type\":\"episode\",\"episode\":%d}", i);
        ck_assert_int_eq(link_send(l, i % 3 ? LINK_RECORD : LINK_FRAME, msg, (size_t)n), 0);
    }
    ck_assert(testsrv_wait_count(s, 2001, WAIT_MS));
    expect_msg(s, 0, "{\"type\":\"hello\"}", 1);
    for (int i = 0; i < 2000; i++) {
        snprintf(msg, sizeof msg, "{\"type\":\"episode\",\"episode\":%d}", i);
        expect_msg(s, i + 1, msg, 1);
    }
    char path[512], token[256];
    ck_assert_int_eq(testsrv_conn_info(s, 1, path, sizeof path, token, sizeof token), 0);
    ck_assert_str_eq(token, "t0k en/+&");
    /* The query survives the server's splitting at '&' and its decoding only if the
     * token was percent-encoded. */
    ck_assert_int_eq(strncmp(path, "/ws/trainer?token=", 18), 0);
    ck_assert_int_eq(testsrv_conn_query_token(s, 1, token, sizeof token), 0);
    ck_assert_str_eq(token, "t0k en/+&");
    ck_assert(link_connected(l));
    link_stats st;
    link_get_stats(l, &st);
    ck_assert_uint_eq(st.sent, 2001);
    ck_assert_uint_eq(st.connects, 1);
    ck_assert_uint_eq(st.dropped_frames + st.dropped_records, 0);

    /* link_stop sends a close frame (code 1000) before it returns. */
    link_stop(l, 2000);
    ck_assert(testsrv_wait_no_clients(s, WAIT_MS));
    ck_assert(testsrv_conn_closed_normally(s, 1));
    ck_assert_int_eq(testsrv_connections(s), 1);
    testsrv_stop(s);
}
END_TEST

/* Messages far larger than one write, and than the server's receive buffer, arrive
 * whole. */
START_TEST(test_large_messages) {
    testsrv *s = testsrv_start(0, 16);
    ck_assert_ptr_nonnull(s);
    link_t *l = start_link(testsrv_port(s), NULL, 16);
    link_set_hello(l, "{}", 2);
    size_t sizes[] = {16383, 16384, 16385, 100000, 1 << 20};
    int n = (int)(sizeof sizes / sizeof sizes[0]);
    for (int i = 0; i < n; i++) {
        char *m = malloc(sizes[i]);
        for (size_t k = 0; k < sizes[i]; k++) m[k] = (char)('a' + (k * 7 + (size_t)i) % 26);
        ck_assert_int_eq(link_send(l, LINK_FRAME, m, sizes[i]), 0);
        free(m);
    }
    ck_assert(testsrv_wait_count(s, (uint64_t)n + 1, WAIT_MS));
    size_t total = 2;
    for (int i = 0; i < n; i++) total += sizes[i];
    ck_assert_uint_eq(testsrv_bytes(s), total);
    char *buf = malloc((1 << 20) + 1);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(testsrv_message(s, i + 1, buf, (1 << 20) + 1), 1);
        ck_assert_uint_eq(strlen(buf), sizes[i]);
        for (size_t k = 0; k < sizes[i]; k++)
            ck_assert_int_eq(buf[k], (char)('a' + (k * 7 + (size_t)i) % 26));
    }
    free(buf);
    link_stop(l, 1000);
    testsrv_stop(s);
}
END_TEST

/* Commands from the server reach link_poll_command in order; one longer than the
 * caller's buffer is discarded and the next one returned. */
START_TEST(test_commands) {
    testsrv *s = testsrv_start(0, 16);
    ck_assert_ptr_nonnull(s);
    link_t *l = start_link(testsrv_port(s), "tok", 64);
    link_set_hello(l, "{\"type\":\"hello\"}", 16);
    ck_assert(testsrv_wait_count(s, 1, WAIT_MS));
    char buf[64];
    ck_assert_uint_eq(link_poll_command(l, buf, sizeof buf), 0);

    char big[200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(testsrv_send(s, "{\"command\":\"pause\"}"), 0);
    ck_assert_int_eq(testsrv_send(s, big), 0);
    ck_assert_int_eq(testsrv_send(s, "{\"command\":\"set_speed\",\"delay_ms\":20}"), 0);
    ck_assert_int_eq(testsrv_send(s, "{\"command\":\"resume\"}"), 0);

    const char *want[] = {"{\"command\":\"pause\"}", "{\"command\":\"set_speed\",\"delay_ms\":20}",
                          "{\"command\":\"resume\"}"};
    for (int i = 0; i < 3; i++) {
        size_t n = 0;
        for (int tries = 0; tries < WAIT_MS / 5 && n == 0; tries++) {
            n = link_poll_command(l, buf, sizeof buf);
            if (n == 0) sleep_ms(5);
        }
        ck_assert_uint_eq(n, strlen(want[i]));
        ck_assert_str_eq(buf, want[i]);
    }
    ck_assert_uint_eq(link_poll_command(l, buf, sizeof buf), 0);
    link_stats st;
    link_get_stats(l, &st);
    ck_assert_uint_eq(st.commands, 4);
    link_stop(l, 1000);
    testsrv_stop(s);
}
END_TEST

/* What the link does with odd input from the server: a binary message and one larger
 * than the command limit (64 KiB) are ignored; one that arrives in many pieces (larger
 * than the receive buffer) is put back together; the link stays up throughout. */
START_TEST(test_odd_input) {
    testsrv *s = testsrv_start(0, 16);
    ck_assert_ptr_nonnull(s);
    link_t *l = start_link(testsrv_port(s), NULL, 16);
    link_set_hello(l, "{}", 2);
    ck_assert(testsrv_wait_count(s, 1, WAIT_MS));
    size_t big_n = 70000, mid_n = 20000;
    char *big = malloc(big_n + 1), *mid = malloc(mid_n + 1);
    memset(big, 'b', big_n);
    big[big_n] = '\0';
    memset(mid, 'm', mid_n);
    mid[0] = '{';
    mid[mid_n - 1] = '}';
    mid[mid_n] = '\0';
    ck_assert_int_eq(testsrv_send_binary(s, "{\"command\":\"pause\"}"), 0);
    ck_assert_int_eq(testsrv_send(s, big), 0);
    ck_assert_int_eq(testsrv_send(s, mid), 0);
    ck_assert_int_eq(testsrv_send(s, "{\"command\":\"resume\"}"), 0);
    char *buf = malloc(mid_n + 1);
    const char *want[] = {mid, "{\"command\":\"resume\"}"};
    for (int i = 0; i < 2; i++) {
        size_t n = 0;
        for (int tries = 0; tries < WAIT_MS / 5 && n == 0; tries++) {
            n = link_poll_command(l, buf, mid_n + 1);
            if (n == 0) sleep_ms(5);
        }
        ck_assert_uint_eq(n, strlen(want[i]));
        ck_assert(strcmp(buf, want[i]) == 0);
    }
    ck_assert_uint_eq(link_poll_command(l, buf, mid_n + 1), 0);
    ck_assert(link_connected(l));
    ck_assert_int_eq(testsrv_connections(s), 1);
    free(buf);
    free(big);
    free(mid);
    link_stop(l, 1000);
    testsrv_stop(s);
}
END_TEST

/* With the server down, link_send returns at once however often it is called, and
 * counts what it drops; when the server comes up the link connects, sends the hello and
 * then the queue; when the server drops the connection the link reconnects and sends the
 * hello again. */
START_TEST(test_down_then_up) {
    int port = dead_port();
    link_t *l = start_link(port, "tok", 64);
    link_set_hello(l, "{\"type\":\"hello\"}", 16);
    char msg[64];
    enum { N = 100000 };
    int rejected = 0;
    for (int i = 0; i < N; i++) {
        int n = snprintf(msg, sizeof msg, "{\"i\":%d}", i);
        if (link_send(l, i % 2 ? LINK_FRAME : LINK_RECORD, msg, (size_t)n) < 0) rejected++;
    }
    ck_assert(!link_connected(l));
    link_stats st;
    link_get_stats(l, &st);
    ck_assert_uint_eq(st.sent, 0);
    ck_assert_uint_eq(st.dropped_frames + st.dropped_records, N - 64);
    /* Records push frames out until none is left; from then on each new frame is
     * refused and each new record pushes out the oldest record. So every frame is lost
     * (63 of them accepted, then pushed out) and all but 64 records. */
    ck_assert_uint_eq(st.dropped_frames, N / 2);
    ck_assert_uint_eq(st.dropped_records, N / 2 - 64);
    ck_assert_int_eq(rejected, N / 2 - 63);

    testsrv *s = testsrv_start(port, 256);
    ck_assert_msg(s != NULL, "port %d was taken meanwhile", port);
    ck_assert(testsrv_wait_count(s, 65, WAIT_MS));
    expect_msg(s, 0, "{\"type\":\"hello\"}", 1);
    /* What is left is the 64 newest records, in order. */
    for (int k = 0; k < 64; k++) {
        snprintf(msg, sizeof msg, "{\"i\":%d}", N - 128 + 2 * k);
        expect_msg(s, k + 1, msg, 1);
    }

    testsrv_kick(s);
    ck_assert(testsrv_wait_connections(s, 2, WAIT_MS));
    ck_assert(testsrv_wait_count(s, 66, WAIT_MS));
    expect_msg(s, 65, "{\"type\":\"hello\"}", 2);
    ck_assert_int_eq(link_send(l, LINK_RECORD, "{\"after\":1}", 11), 0);
    ck_assert(testsrv_wait_count(s, 67, WAIT_MS));
    expect_msg(s, 66, "{\"after\":1}", 2);
    link_get_stats(l, &st);
    ck_assert_uint_eq(st.connects, 2);
    link_stop(l, 1000);
    testsrv_stop(s);
}
END_TEST

/* A server that accepts and closes at once (a bad token: 4001) is retried with a growing
 * delay, not hammered; once it accepts, the link stays up and sends its hello. The bound
 * on attempts is loose on purpose: without backoff there would be hundreds. */
START_TEST(test_rejected_backoff) {
    testsrv *s = testsrv_start(0, 64);
    ck_assert_ptr_nonnull(s);
    testsrv_set_reject(s, 4001);
    link_t *l = start_link(testsrv_port(s), "wrong", 16);
    link_set_hello(l, "{\"type\":\"hello\"}", 16);
    ck_assert(testsrv_wait_connections(s, 2, WAIT_MS));
    sleep_ms(2000);
    int attempts = testsrv_connections(s);
    ck_assert_msg(attempts <= 15, "%d connections in about 2 s: no backoff", attempts);
    testsrv_set_reject(s, 0);
    ck_assert(testsrv_wait_connections(s, attempts + 1, WAIT_MS));
    /* The accepted connection gets a hello and keeps it (nothing closes it). */
    int accepted = testsrv_connections(s);
    char buf[64];
    bool got = false;
    for (int tries = 0; tries < WAIT_MS / 10 && !got; tries++) {
        for (int i = 0; i < (int)testsrv_count(s); i++)
            if (testsrv_message(s, i, buf, sizeof buf) == accepted) got = true;
        if (!got) sleep_ms(10);
    }
    ck_assert(got);
    ck_assert(link_connected(l));
    link_stop(l, 1000);
    testsrv_stop(s);
}
END_TEST

/* The drop policy in detail, on a queue of 4 with the server down. */
START_TEST(test_drop_policy) {
    int port = dead_port();
    link_t *l = start_link(port, NULL, 4);
    link_set_hello(l, "H", 1);
    ck_assert_int_eq(link_send(l, LINK_RECORD, "R1", 2), 0);
    ck_assert_int_eq(link_send(l, LINK_FRAME, "F1", 2), 0);
    ck_assert_int_eq(link_send(l, LINK_RECORD, "R2", 2), 0);
    ck_assert_int_eq(link_send(l, LINK_FRAME, "F2", 2), 0);
    ck_assert_int_eq(link_send(l, LINK_RECORD, "R3", 2), 0); /* pushes out F1 */
    ck_assert_int_eq(link_send(l, LINK_FRAME, "F3", 2), 0);  /* pushes out F2 */
    ck_assert_int_eq(link_send(l, LINK_RECORD, "R4", 2), 0); /* pushes out F3 */
    ck_assert_int_eq(link_send(l, LINK_FRAME, "F4", 2), -1); /* all records: F4 goes */
    ck_assert_int_eq(link_send(l, LINK_RECORD, "R5", 2), 0); /* only now a record: R1 */
    link_stats st;
    link_get_stats(l, &st);
    ck_assert_uint_eq(st.dropped_frames, 4);
    ck_assert_uint_eq(st.dropped_records, 1);

    testsrv *s = testsrv_start(port, 16);
    ck_assert_msg(s != NULL, "port %d was taken meanwhile", port);
    ck_assert(testsrv_wait_count(s, 5, WAIT_MS));
    const char *want[] = {"H", "R2", "R3", "R4", "R5"};
    for (int i = 0; i < 5; i++) expect_msg(s, i, want[i], 1);
    link_stop(l, 1000);
    ck_assert_uint_eq(testsrv_count(s), 5);
    testsrv_stop(s);
}
END_TEST

/* link_stop flushes what is queued before it closes. The flush bound is generous: on a
 * loaded machine under ASan a few MB can take seconds. */
START_TEST(test_stop_flushes) {
    testsrv *s = testsrv_start(0, 0);
    ck_assert_ptr_nonnull(s);
    link_t *l = start_link(testsrv_port(s), NULL, 10000);
    link_set_hello(l, "{\"type\":\"hello\"}", 16);
    ck_assert(testsrv_wait_count(s, 1, WAIT_MS));
    char msg[600];
    memset(msg, ' ', sizeof msg);
    for (int i = 0; i < 2000; i++) ck_assert_int_eq(link_send(l, LINK_RECORD, msg, sizeof msg), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    link_stop(l, 90000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* The server answered the close frame, which it read after every message. */
    ck_assert_msg(testsrv_count(s) == 2001, "%llu of 2001 messages after link_stop (%.1f s)",
                  (unsigned long long)testsrv_count(s),
                  (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);
    ck_assert(testsrv_wait_no_clients(s, WAIT_MS));
    ck_assert(testsrv_conn_closed_normally(s, 1));
    testsrv_stop(s);
}
END_TEST

/* With nothing listening, link_stop returns (the Check timeout is the bound), whether it
 * is called at once or after retries have backed off. */
START_TEST(test_stop_dead_server) {
    int port = dead_port();
    link_t *l = start_link(port, "tok", 8);
    link_set_hello(l, "{}", 2);
    ck_assert_int_eq(link_send(l, LINK_RECORD, "{}", 2), 0);
    link_stop(l, 500);

    l = start_link(port, "tok", 8);
    sleep_ms(1500); /* several failed attempts, a backoff timer armed */
    ck_assert_int_eq(link_send(l, LINK_RECORD, "{}", 2), 0);
    link_stop(l, 500);
    link_stop(NULL, 0);
}
END_TEST

START_TEST(test_bad_urls) {
    static const char *bad[] = {
        "http://127.0.0.1:8766/ws/trainer",
        "ws://",
        "ws://:8766/x",
        "ws://127.0.0.1:0/",
        "ws://127.0.0.1:65536/",
        "ws://127.0.0.1:12ab/",
        "ws://127.0.0.1:/x",
        "ws://a b/",
        "ws://user@127.0.0.1/",
        "ws://[::1/x",
        "ws://127.0.0.1/x#frag",
        "127.0.0.1:8766",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        link_t *l = link_start(bad[i], "tok", 8, err, sizeof err);
        ck_assert_msg(l == NULL, "accepted %s", bad[i]);
        ck_assert_msg(strncmp(err, "link: ", 6) == 0 && strlen(err) > 12, "err for %s: %s", bad[i],
                      err);
    }
    char err[256] = "";
    ck_assert_ptr_null(link_start(NULL, NULL, 8, err, sizeof err));
    ck_assert_ptr_null(link_start("ws://127.0.0.1:1/", NULL, 0, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "queue"));

    /* Well-formed ones start (nothing listens; they are stopped at once). */
    static const char *good[] = {"ws://127.0.0.1:1/ws/trainer?job=a", "ws://localhost:1",
                                 "WS://[::1]:1/ws/trainer", "ws://127.0.0.1:1?x=1"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        link_t *l = link_start(good[i], "tok", 8, err, sizeof err);
        ck_assert_msg(l != NULL, "refused %s: %s", good[i], err);
        link_stop(l, 0);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("link");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 150);
    tcase_add_test(tc, test_order_hello_token);
    tcase_add_test(tc, test_large_messages);
    tcase_add_test(tc, test_commands);
    tcase_add_test(tc, test_odd_input);
    tcase_add_test(tc, test_down_then_up);
    tcase_add_test(tc, test_rejected_backoff);
    tcase_add_test(tc, test_drop_policy);
    tcase_add_test(tc, test_stop_flushes);
    tcase_add_test(tc, test_stop_dead_server);
    tcase_add_test(tc, test_bad_urls);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
