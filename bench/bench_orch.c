/* bench/bench_orch.c — the orchestrator's figures (docs/design/orchestrator.md), as
 * medians of several runs:
 *   start   exec of run_demo → "All systems operational" (fixture children; the real
 *           server with --frontend none/static and the real dev server when they exist)
 *   stop    SIGINT → run_demo's exit
 *   logs    lines/s through the multiplexer with three children writing as fast as they
 *           can (whole lines, small pieces, 64 KiB blocks), every line checked to arrive
 *           once, whole and in order
 *   memory  run_demo's peak RSS (VmHWM) after the flood; CPU used while idle for 3 s
 * Usage: bench_orch [start|stop|logs|idle|all] [runs]   (RD_BIN_DIR names build/bin) */
#define _GNU_SOURCE /* pipe2 */
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

#include "tests/support/orch_harness.h"
#include "tests/support/tpaths.h"
#include "tests/support/bstats.h"

#include <poll.h>

#define FIX "\"{bindir}/orch_fixture\""

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Starts run_demo with stdout+stderr on a pipe; *fd is the read end. */
static pid_t start_piped(const char *const *argv, int *fd) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) abort();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        char prog[512];
        snprintf(prog, sizeof prog, "%s/run_demo", tpaths_bin_dir());
        const char *args[64];
        int n = 0;
        args[n++] = prog;
        for (int i = 0; argv[i]; i++) args[n++] = argv[i];
        args[n] = NULL;
        execv(prog, (char **)args);
        _exit(127);
    }
    close(p[1]);
    *fd = p[0];
    return pid;
}

/* Reads until needle shows up (or EOF / timeout); returns the time it appeared or -1. */
static double wait_for(int fd, const char *needle, double timeout) {
    static char acc[1 << 16];
    size_t len = 0;
    double end = now_s() + timeout;
    while (now_s() < end) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 100) <= 0) continue;
        if (len > sizeof acc / 2) {
            memmove(acc, acc + len - 256, 256);
            len = 256;
        }
        ssize_t n = read(fd, acc + len, sizeof acc - 1 - len);
        if (n <= 0) return -1;
        len += (size_t)n;
        acc[len] = '\0';
        if (strstr(acc, needle)) return now_s();
    }
    return -1;
}

static void drain_and_wait(pid_t pid, int fd) {
    char buf[65536];
    while (read(fd, buf, sizeof buf) > 0) {}
    close(fd);
    waitpid(pid, NULL, 0);
}

static void write_cfg(const char *path, const char *trainer, const char *server,
                      const char *frontend) {
    h_write(path,
            "[unified_server]\nhealth_check_timeout = 60.0\n"
            "[processes.trainer]\ncommand = %s\n[processes.server]\ncommand = %s\n"
            "[processes.frontend]\ncommand = %s\n",
            trainer, server, frontend ? frontend : "[]");
}

/* One start→operational→SIGINT→exit cycle. cfg NULL = the real children. */
static int cycle(const char *cfg, const char *frontend, double *t_start, double *t_stop) {
    char dir[512], port[16], fport[16];
    h_path(dir, sizeof dir, "run");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return -1;
    snprintf(port, sizeof port, "%d", h_free_port());
    snprintf(fport, sizeof fport, "%d", h_free_port());
    const char *argv[20];
    int a = 0;
    if (cfg) {
        argv[a++] = "--config";
        argv[a++] = cfg;
    }
    const char *rest[] = {"--port",
                          port,
                          "--frontend-port",
                          fport,
                          "--frontend",
                          frontend,
                          "--no-browser",
                          "--color=never",
                          "--checkpoint-dir",
                          dir,
                          "--episodes",
                          "100000",
                          NULL};
    for (int i = 0; rest[i]; i++) argv[a++] = rest[i];
    argv[a] = NULL;
    int fd;
    double t0 = now_s();
    pid_t pid = start_piped(argv, &fd);
    double t1 = wait_for(fd, "All systems operational", 60);
    if (t1 < 0) {
        kill(pid, SIGKILL);
        drain_and_wait(pid, fd);
        return -1;
    }
    h_sleep_ms(300); /* let the trainer get going: stopping includes its checkpoint */
    double t2 = now_s();
    kill(pid, SIGINT);
    drain_and_wait(pid, fd);
    double t3 = now_s();
    *t_start = (t1 - t0) * 1000;
    *t_stop = (t3 - t2) * 1000;
    return 0;
}

static void bench_start_stop(int runs) {
    char cfg[512];
    h_path(cfg, sizeof cfg, "fixture.toml");
    write_cfg(cfg, "[" FIX ", \"--serve\"]",
              "[" FIX ", \"--listen\", \"RD_SERVER_PORT\", \"--serve\"]", NULL);
    struct {
        const char *name, *cfg, *frontend;
    } cases[] = {
        {"fixture children, frontend none", cfg, "none"},
        {"real trainer+server, frontend none", NULL, "none"},
        {"real trainer+server, frontend static", NULL, "static"},
        {"real trainer+server, frontend dev (npm run dev)", NULL, "dev"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        double st[64], sp[64];
        int ok = 0;
        for (int r = 0; r < runs && r < 64; r++)
            if (cycle(cases[k].cfg, cases[k].frontend, &st[ok], &sp[ok]) == 0) ok++;
        if (!ok) {
            printf("start→operational  %-48s  unavailable (did not start; see run_demo)\n",
                   cases[k].name);
            continue;
        }
        double ms = bstats_median(st, ok), ss = bstats_median(sp, ok);
        printf("start→operational  %-48s  median %8.1f ms  (%d runs)\n", cases[k].name, ms, ok);
        printf("SIGINT→exit        %-48s  median %8.1f ms  (%d runs)\n", cases[k].name, ss, ok);
        fflush(stdout);
    }
}

/* Peak RSS of pid in KiB. */
static long vm_hwm(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    char *s = h_read(path);
    char *p = strstr(s, "VmHWM:");
    long kb = p ? atol(p + 6) : -1;
    free(s);
    return kb;
}

static double cpu_seconds(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    char *s = h_read(path);
    char *rp = strrchr(s, ')');
    unsigned long ut = 0, stt = 0;
    if (rp) sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stt);
    free(s);
    return (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
}

/* Three children flood n lines each; returns lines/s, or -1 when a line was lost, cut,
 * repeated or reordered. */
static double flood_once(long n, const char *mode_t, const char *mode_s, const char *mode_f,
                         long *rss_kb) {
    char cfg[512], t[256], s[256], f[256];
    h_path(cfg, sizeof cfg, "flood.toml");
    snprintf(t, sizeof t,
             "[" FIX ", \"--sleep-ms\", \"300\", \"--flood\", \"%ld\", \"T\", \"%s\", \"--serve\"]",
             n, mode_t);
    snprintf(s, sizeof s,
             "[" FIX ", \"--listen\", \"RD_SERVER_PORT\", \"--sleep-ms\", \"300\", \"--flood\", "
             "\"%ld\", \"S\", \"%s\", \"--serve\"]",
             n, mode_s);
    snprintf(f, sizeof f,
             "[" FIX ", \"--listen\", \"RD_FRONTEND_PORT\", \"--sleep-ms\", \"300\", \"--flood\", "
             "\"%ld\", \"F\", \"%s\", \"--serve\"]",
             n, mode_f);
    write_cfg(cfg, t, s, f);
    char dir[512];
    h_path(dir, sizeof dir, "run");
    h_args a;
    const char *extra[] = {"--color=never", NULL};
    const char *const *argv = h_args_make(&a, cfg, "dev", dir, extra);
    int fd;
    pid_t pid = start_piped(argv, &fd);
    /* Per child: the next sequence number expected. Lines must come whole and in order. */
    long next[3] = {0, 0, 0};
    long bad = 0;
    static char buf[1 << 20];
    size_t len = 0;
    double first = 0, last = 0;
    static const char suffix[] = " abcdefghijklmnopqrstuvwxyz0123456789";
    while (next[0] < n || next[1] < n || next[2] < n) {
        ssize_t r = read(fd, buf + len, sizeof buf - len);
        if (r <= 0) {
            fprintf(stderr, "flood: run_demo's output ended early; its last bytes:\n%.*s\n",
                    (int)(len > 2000 ? 2000 : len), buf);
            break;
        }
        len += (size_t)r;
        size_t start = 0;
        for (;;) {
            char *nl = memchr(buf + start, '\n', len - start);
            if (!nl) break;
            char *line = buf + start;
            size_t ll = (size_t)(nl - line);
            start += ll + 1;
            /* "[HH:MM:SS] [Label] X SEQ abc..." */
            char *lab = ll > 12 ? memchr(line + 11, ']', ll - 11) : NULL;
            if (!lab || lab + 3 >= nl || lab[1] != ' ') continue;
            char tag = lab[2];
            int k = tag == 'T' ? 0 : tag == 'S' ? 1 : tag == 'F' ? 2 : -1;
            if (k < 0 || lab[3] != ' ') continue; /* run_demo's own lines, "listening" */
            long seq = strtol(lab + 4, NULL, 10);
            size_t sl = sizeof suffix - 1;
            if (seq != next[k] || ll < sl || memcmp(nl - sl, suffix, sl) != 0) {
                if (bad++ < 3)
                    fprintf(stderr, "flood: bad line: %.*s\n", (int)(ll > 300 ? 300 : ll), line);
            }
            next[k] = seq + 1;
            if (!first) first = now_s();
        }
        memmove(buf, buf + start, len - start);
        len -= start;
    }
    last = now_s();
    *rss_kb = vm_hwm(pid);
    kill(pid, SIGINT);
    drain_and_wait(pid, fd);
    if (bad || next[0] != n || next[1] != n || next[2] != n) {
        fprintf(stderr, "flood: %ld bad lines, got %ld/%ld/%ld of %ld\n", bad, next[0], next[1],
                next[2], n);
        return -1;
    }
    return 3.0 * (double)n / (last - first);
}

static void bench_logs(int runs) {
    static const char *const modes[][3] = {
        {"line", "line", "line"},
        {"pieces", "pieces", "pieces"},
        {"blocks", "blocks", "blocks"},
        {"line", "pieces", "blocks"},
    };
    long n = 1000000;
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        double v[32];
        long rss = 0, rss_max = 0;
        int ok = 0, failed = 0;
        long nn = !strcmp(modes[m][0], "pieces") ? n / 5 : n;
        for (int r = 0; r < runs && r < 32; r++) {
            double x = flood_once(nn, modes[m][0], modes[m][1], modes[m][2], &rss);
            if (x < 0)
                failed++;
            else
                v[ok++] = x;
            if (rss > rss_max) rss_max = rss;
        }
        printf("log lines/s  3 children x %ld lines (%s/%s/%s)  median %10.0f lines/s  "
               "lost/cut/reordered runs: %d of %d  run_demo peak RSS %.1f MiB\n",
               nn, modes[m][0], modes[m][1], modes[m][2], ok ? bstats_median(v, ok) : 0.0, failed,
               ok + failed, (double)rss_max / 1024.0);
        fflush(stdout);
    }
}

static void bench_idle(void) {
    char cfg[512];
    h_path(cfg, sizeof cfg, "fixture.toml");
    write_cfg(cfg, "[" FIX ", \"--serve\"]",
              "[" FIX ", \"--listen\", \"RD_SERVER_PORT\", \"--serve\"]", NULL);
    char dir[512], port[16];
    h_path(dir, sizeof dir, "run");
    snprintf(port, sizeof port, "%d", h_free_port());
    const char *argv[] = {"--config",   cfg,    "--port",       port,
                          "--frontend", "none", "--no-browser", "--checkpoint-dir",
                          dir,          NULL};
    int fd;
    pid_t pid = start_piped(argv, &fd);
    if (wait_for(fd, "All systems operational", 30) < 0) {
        printf("idle: did not start\n");
        kill(pid, SIGKILL);
        drain_and_wait(pid, fd);
        return;
    }
    h_sleep_ms(500);
    double c0 = cpu_seconds(pid), t0 = now_s();
    h_sleep_ms(3000);
    double c1 = cpu_seconds(pid), t1 = now_s();
    long rss = vm_hwm(pid);
    kill(pid, SIGINT);
    drain_and_wait(pid, fd);
    printf("idle: run_demo CPU %.2f%% of one core over %.1f s; peak RSS %.1f MiB\n",
           100.0 * (c1 - c0) / (t1 - t0), t1 - t0, (double)rss / 1024.0);
}

int main(int argc, char **argv) {
    const char *what = argc > 1 ? argv[1] : "all";
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    h_setup();
    signal(SIGPIPE, SIG_IGN);
    if (!strcmp(what, "start") || !strcmp(what, "stop") || !strcmp(what, "all"))
        bench_start_stop(runs);
    if (!strcmp(what, "logs") || !strcmp(what, "all")) bench_logs(runs < 3 ? runs : 3);
    if (!strcmp(what, "idle") || !strcmp(what, "all")) bench_idle();
    h_cleanup();
    return 0;
}
