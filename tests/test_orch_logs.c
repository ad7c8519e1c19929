/* tests/test_orch_logs.c — the log multiplexer through the real run_demo: three children
 * flooding at once (whole lines, lines in random small pieces, 64 KiB blocks) must give
 * every line exactly once, whole, under its child's label; partial writes are joined; an
 * unterminated last line is printed at exit; very long lines are cut and marked; control
 * sequences and invalid UTF-8 are neutralised; colour follows --color, NO_COLOR and
 * FORCE_COLOR. Also unit checks of logmux_sanitize and of the line splitter. */
#define _GNU_SOURCE /* memmem */
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

#include "orchestrator/logmux.h"
#include "tests/support/orch_harness.h"
#include "tests/support/runner.h"

#define FIX "\"{bindir}/orch_fixture\""

static pid_t launch3(const char *trainer, const char *server, const char *frontend,
                     const char *const *env, const char *flag) {
    return h_launch3(h_out, sizeof h_out, trainer, server, frontend, env, flag);
}

static char *finish(pid_t pid, int code) {
    int st = h_wait(pid, 30000);
    char *out = h_read(h_out);
    if (st < 0) kill(pid, SIGKILL);
    ck_assert_msg(h_code(st) == code, "exit %d, want %d", h_code(st), code);
    ck_assert_int_eq(h_survivors(1000), 0);
    return out;
}

#define FLOOD_N 100000

START_TEST(three_floods_every_line_once_and_whole) {
    char n[16];
    snprintf(n, sizeof n, "%d", FLOOD_N);
    char t[256], s[256], f[256];
    snprintf(t, sizeof t, "[" FIX ", \"--flood\", \"%s\", \"T\", \"line\", \"--serve\"]", n);
    snprintf(s, sizeof s,
             "[" FIX ", \"--listen\", \"RD_SERVER_PORT\", \"--flood\", \"%s\", \"S\", \"pieces\", "
             "\"--serve\"]",
             n);
    snprintf(f, sizeof f,
             "[" FIX ", \"--listen\", \"RD_FRONTEND_PORT\", \"--flood\", \"%s\", \"F\", "
             "\"blocks\", \"--serve\"]",
             n);
    pid_t pid = launch3(t, s, f, NULL, "--color=never");
    char last[3][64];
    snprintf(last[0], 64, "] T %d ", FLOOD_N - 1);
    snprintf(last[1], 64, "] S %d ", FLOOD_N - 1);
    snprintf(last[2], 64, "] F %d ", FLOOD_N - 1);
    for (int k = 0; k < 3; k++) ck_assert(h_wait_output(h_out, last[k], 60000));
    kill(pid, SIGINT);
    char *out = finish(pid, 130);

    static unsigned char seen[3][FLOOD_N];
    memset(seen, 0, sizeof seen);
    static const char *const labels[3] = {"[Training] ", "[Server] ", "[Frontend] "};
    static const char tags[3] = {'T', 'S', 'F'};
    long bad = 0, dup = 0, total = 0;
    for (char *line = out, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        ck_assert_ptr_nonnull(nl); /* run_demo's output ends every line */
        *nl = '\0';
        /* "[HH:MM:SS] " */
        if (strlen(line) < 11 || line[0] != '[' || line[3] != ':' || line[9] != ']') {
            bad++;
            continue;
        }
        const char *rest = line + 11;
        int k = -1;
        for (int i = 0; i < 3; i++)
            if (!strncmp(rest, labels[i], strlen(labels[i]))) k = i;
        if (k < 0) continue; /* run_demo's own lines, "listening on" */
        rest += strlen(labels[k]);
        if (!strncmp(rest, "listening", 9) || !strncmp(rest, "got SIGTERM", 11)) continue;
        char tag;
        long seq;
        char tail[64];
        if (sscanf(rest, "%c %ld %63s", &tag, &seq, tail) != 3 || tag != tags[k] || seq < 0 ||
            seq >= FLOOD_N || strcmp(tail, "abcdefghijklmnopqrstuvwxyz0123456789") != 0) {
            bad++;
            continue;
        }
        if (seen[k][seq]++) dup++;
        total++;
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(dup, 0);
    ck_assert_int_eq(total, 3L * FLOOD_N);
    free(out);
}
END_TEST

START_TEST(partial_long_and_hostile_lines) {
    pid_t pid = launch3("[" FIX ", \"--partial\", \"--long\", \"40000\", \"--evil\", \"--serve\"]",
                        "[" FIX ", \"--listen\", \"RD_SERVER_PORT\", \"--serve\"]", NULL, NULL,
                        "--color=never");
    ck_assert(h_wait_output(h_out, "caf", 15000));
    kill(pid, SIGINT);
    char *out = finish(pid, 130);
    ck_assert_ptr_nonnull(strstr(out, "[Training] part-one\n"));
    /* The unterminated last line, printed at exit as a whole line. */
    ck_assert_ptr_nonnull(strstr(out, "[Training] tail-without-newline\n"));
    /* 40000 bytes: cut at 16384 twice, marked at each cut and continuation. */
    ck_assert_int_eq(h_count(out, " [...]\n"), 2);
    ck_assert_int_eq(h_count(out, "[Training] [...] "), 2);
    long letters = 0;
    for (const char *p = out; *p; p++)
        if (*p >= 'a' && *p <= 'z' && p[-1] != ' ') letters++;
    ck_assert_int_ge(letters, 40000);
    /* No raw ESC, BEL or CR reaches the terminal; the text stays readable. */
    ck_assert_ptr_null(strchr(out, '\x1b'));
    ck_assert_ptr_null(strchr(out, '\x07'));
    ck_assert_ptr_null(strchr(out, '\r'));
    ck_assert_ptr_nonnull(strstr(out, "evil ^[[2J^[]0;title^G "));
    ck_assert_ptr_nonnull(strstr(out, "\xef\xbf\xbd"));
    ck_assert_ptr_nonnull(strstr(out, "caf\xc3\xa9\n"));
    free(out);
}
END_TEST

static bool colour_with(const char *const *env, const char *flag) {
    pid_t pid =
        launch3("[" FIX ", \"--say\", \"hello\", \"--serve\"]",
                "[" FIX ", \"--listen\", \"RD_SERVER_PORT\", \"--serve\"]", NULL, env, flag);
    ck_assert(h_wait_output(h_out, "All systems operational", 15000));
    ck_assert(h_wait_output(h_out, "hello", 15000)); /* before the stop can race it */
    kill(pid, SIGINT);
    char *out = finish(pid, 130);
    bool colour = strstr(out, "\x1b[36m[Training]\x1b[0m hello") != NULL;
    ck_assert(colour || strstr(out, "[Training] hello"));
    free(out);
    return colour;
}

START_TEST(colour_follows_flag_and_environment) {
    const char *plain[] = {"NO_COLOR=", "FORCE_COLOR=", NULL};
    const char *no[] = {"NO_COLOR=1", "FORCE_COLOR=", NULL};
    const char *force[] = {"NO_COLOR=", "FORCE_COLOR=1", NULL};
    ck_assert(!colour_with(plain, NULL)); /* a file is not a terminal */
    ck_assert(colour_with(plain, "--color=always"));
    ck_assert(!colour_with(no, NULL));
    ck_assert(colour_with(force, NULL));
    ck_assert(!colour_with(force, "--color=never"));
}
END_TEST

START_TEST(sanitize_unit) {
    char out[64];
    size_t n = logmux_sanitize(out, "a\tb\x1b[1m\x7f\xc2\x9b\xe2\x82\xac\xed\xa0\x80", 16);
    out[n] = '\0';
    /* tab kept, ESC and DEL in caret form, C1 CSI and a surrogate replaced, euro kept */
    ck_assert_str_eq(out, "a\tb^[[1m^?\xef\xbf\xbd\xef\xbf\xbd\xe2\x82\xac"
                          "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}
END_TEST

START_TEST(splitter_unit) {
    /* Feeding the same text in every chunk size gives the same output. */
    static const char text[] = "one\ntwo\r\nthree-is-longer\n\nfour";
    static logmux m;
    static logmux_stream s;
    static char ref[4096];
    int pfd[2];
    for (size_t chunk = 1; chunk <= sizeof text; chunk++) {
        ck_assert_int_eq(pipe(pfd), 0);
        logmux_init(&m, pfd[1], false, false);
        logmux_stream_init(&s, &m, "X", LOGMUX_CYAN, NULL);
        for (size_t off = 0; off < sizeof text - 1; off += chunk) {
            size_t k = sizeof text - 1 - off < chunk ? sizeof text - 1 - off : chunk;
            logmux_stream_feed(&m, &s, text + off, k);
        }
        logmux_stream_finish(&m, &s);
        logmux_flush(&m);
        close(pfd[1]);
        char got[4096];
        ssize_t len = read(pfd[0], got, sizeof got - 1);
        close(pfd[0]);
        ck_assert_int_gt(len, 0);
        got[len] = '\0';
        /* Drop the timestamps: "[HH:MM:SS] " is 11 bytes at each line start. */
        char plain[4096];
        size_t o = 0;
        for (char *l = got, *nl; *l; l = nl + 1) {
            nl = strchr(l, '\n');
            o +=
                (size_t)snprintf(plain + o, sizeof plain - o, "%.*s\n", (int)(nl - l - 11), l + 11);
        }
        if (chunk == 1) {
            ck_assert_str_eq(plain, "[X] one\n[X] two\n[X] three-is-longer\n[X] \n[X] four\n");
            snprintf(ref, sizeof ref, "%s", plain);
        } else {
            ck_assert_str_eq(plain, ref);
        }
    }
}
END_TEST

/* Bytes of path from *off on contain needle (scans only what is new; keeps a small
 * overlap so that a needle across two reads is found). */
static bool grep_new(const char *path, off_t *off, const char *needle) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return false;
    static char buf[1 << 20];
    bool found = false;
    for (;;) {
        ssize_t n = pread(fd, buf, sizeof buf - 1, *off);
        if (n <= 0) break;
        buf[n] = '\0';
        if (memmem(buf, (size_t)n, needle, strlen(needle))) found = true;
        *off += n > 64 ? n - 64 : n;
        if (found || n < 65) break;
    }
    close(fd);
    return found;
}

/* One child floods without end; another's slow lines still come through, and run_demo's
 * memory stays bounded. */
START_TEST(a_flood_does_not_stall_the_others) {
    pid_t pid = launch3("[" FIX ", \"--flood\", \"1000000000\", \"T\", \"line\"]",
                        "[" FIX ", \"--listen\", \"RD_SERVER_PORT\", \"--ticks\", \"20\", "
                        "\"50\", \"--say\", \"ticks done\", \"--serve\"]",
                        NULL, NULL, "--color=never");
    off_t off = 0;
    long long end = h_now_ms() + 60000;
    bool done = false;
    while (!done && h_now_ms() < end) {
        done = grep_new(h_out, &off, "[Server] ticks done");
        if (!done) h_sleep_ms(50);
    }
    ck_assert_msg(done, "the server's lines did not come through the flood");
    /* Fixed buffers: a few MiB whatever the flood. Sanitizer builds carry their shadow
     * memory, so the bound is checked only in the others. */
#ifndef RD_SANITIZE
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    char *st = h_read(path);
    char *hwm = strstr(st, "VmHWM:");
    long kb = hwm ? atol(hwm + 6) : 0;
    free(st);
#endif
    kill(pid, SIGINT);
    int w = h_wait(pid, 30000);
    ck_assert_int_eq(h_code(w), 130);
    ck_assert_int_eq(h_survivors(1000), 0);
#ifndef RD_SANITIZE
    ck_assert_msg(kb > 0 && kb < 8 * 1024, "run_demo peak RSS %ld KiB", kb);
#endif
    unlink(h_out);
}
END_TEST

int main(void) {
    Suite *s = suite_create("orch_logs");
    TCase *tc = tcase_create("logs");
    tcase_add_checked_fixture(tc, h_setup_out, h_cleanup);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sanitize_unit);
    tcase_add_test(tc, splitter_unit);
    tcase_add_test(tc, three_floods_every_line_once_and_whole);
    tcase_add_test(tc, partial_long_and_hostile_lines);
    tcase_add_test(tc, colour_follows_flag_and_environment);
    tcase_add_test(tc, a_flood_does_not_stall_the_others);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
