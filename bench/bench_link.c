/* bench/bench_link.c — throughput of the trainer's link (trainer/link.c) into an
 * in-process WebSocket server (tests/support/testsrv) over loopback, medians of --runs
 * runs:
 *   - delivered messages/s and MB/s, from the first link_send to the last message
 *     received by the server, for episode-sized (~230 B) and frame-sized (~1.5 KB)
 *     messages, with a queue large enough that nothing is dropped;
 *   - the cost of one link_send call on the training thread, connected, and with the
 *     server down and the queue full (the drop path).
 * The machine has 2 cores: the training thread, the link thread and the server thread
 * share them, as the trainer and the server do in the demo. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/support/testsrv.h"
#include "trainer/link.h"
#include "tests/support/bstats.h"
#include "tests/support/tclock.h"

/* A message of exactly `len` bytes shaped like the trainer's (JSON, digits varying). */
static void make_msg(char *buf, size_t len, int i) {
    int n = snprintf(buf, len, "{\"type\":\"episode\",\"episode\":%d,\"pad\":\"", i);
    memset(buf + n, 'x', len - (size_t)n - 2);
    memcpy(buf + len - 2, "\"}", 2);
}

/* Sends `count` messages of `len` bytes through a connected link; returns the seconds
 * until the server has them all, or -1 on a drop or a timeout. *send_ns gets the mean
 * cost of one link_send call. */
static double run_throughput(int count, size_t len, double *send_ns) {
    testsrv *s = testsrv_start(0, 0);
    if (!s) return -1;
    char err[256], url[128];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws/trainer", testsrv_port(s));
    link_t *l = link_start(url, "bench", count, err, sizeof err);
    if (!l) {
        fprintf(stderr, "bench_link: %s\n", err);
        testsrv_stop(s);
        return -1;
    }
    link_set_hello(l, "{\"type\":\"hello\"}", 16);
    if (!testsrv_wait_count(s, 1, 10000)) goto fail;
    char *msg = malloc(len);
    make_msg(msg, len, 12345);
    /* A first pass grows the queue's buffers; the timed pass is the steady state, in which
     * link_send allocates nothing. */
    for (int i = 0; i < count; i++) link_send(l, LINK_RECORD, msg, len);
    if (!testsrv_wait_count(s, (uint64_t)count + 1, 60000)) {
        free(msg);
        goto fail;
    }
    double t0 = tclock_now_s();
    for (int i = 0; i < count; i++)
        if (link_send(l, LINK_RECORD, msg, len) != 0) break;
    *send_ns = (tclock_now_s() - t0) * 1e9 / count;
    bool ok = testsrv_wait_count(s, 2 * (uint64_t)count + 1, 60000);
    double dt = tclock_now_s() - t0;
    free(msg);
    link_stats st;
    link_get_stats(l, &st);
    link_stop(l, 1000);
    testsrv_stop(s);
    return ok && st.dropped_records == 0 ? dt : -1;
fail:
    link_stop(l, 0);
    testsrv_stop(s);
    return -1;
}

/* Nanoseconds per link_send with the server down and the queue full (every call drops). */
static double run_drop_path(int calls) {
    testsrv *s = testsrv_start(0, 0);
    int port = testsrv_port(s);
    testsrv_stop(s);
    char err[256], url[128], msg[256];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws/trainer", port);
    link_t *l = link_start(url, NULL, 1024, err, sizeof err);
    if (!l) return -1;
    make_msg(msg, sizeof msg, 0);
    for (int i = 0; i < 2048; i++) link_send(l, LINK_RECORD, msg, sizeof msg);
    double t0 = tclock_now_s();
    for (int i = 0; i < calls; i++) link_send(l, i % 2 ? LINK_FRAME : LINK_RECORD, msg, sizeof msg);
    double dt = tclock_now_s() - t0;
    link_stop(l, 0);
    return dt * 1e9 / calls;
}

int main(int argc, char **argv) {
    int runs = 5;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--runs") == 0) runs = atoi(argv[++i]);
    if (runs < 1 || runs > 100) runs = 5;

    struct {
        const char *name;
        int count;
        size_t len;
    } cases[] = {{"episode-sized", 100000, 230}, {"frame-sized", 50000, 1500}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double rate[100], mbs[100], call_ns[100];
        int ok = 0;
        for (int r = 0; r < runs; r++) {
            double dt = run_throughput(cases[c].count, cases[c].len, &call_ns[ok]);
            if (dt <= 0) continue;
            rate[ok] = cases[c].count / dt;
            mbs[ok] = cases[c].count * (double)cases[c].len / dt / 1e6;
            ok++;
        }
        if (ok == 0) {
            printf("link %-13s: FAILED (drops or timeout)\n", cases[c].name);
            continue;
        }
        printf("link %-13s (%zu B x %d): %.0f msg/s, %.1f MB/s delivered; "
               "link_send %.0f ns/call (median of %d runs)\n",
               cases[c].name, cases[c].len, cases[c].count, bstats_median(rate, ok),
               bstats_median(mbs, ok), bstats_median(call_ns, ok), ok);
    }
    double drop[100];
    for (int r = 0; r < runs; r++) drop[r] = run_drop_path(1000000);
    printf("link_send, server down, queue full: %.0f ns/call (median of %d runs)\n",
           bstats_median(drop, runs), runs);
    return 0;
}
