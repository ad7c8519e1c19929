/* tests/support/server_proc.c — see server_proc.h. */
#define _GNU_SOURCE
#include "tests/support/server_proc.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sproc_drain(sproc_t *p) {
    for (;;) {
        if (p->log_len + 1 >= sizeof p->log) {
            /* Keep the newest half: the tail is what a failing test wants to see. */
            size_t half = sizeof p->log / 2;
            memmove(p->log, p->log + p->log_len - half, half);
            p->log_len = half;
        }
        ssize_t n = read(p->err_fd, p->log + p->log_len, sizeof p->log - 1 - p->log_len);
        if (n <= 0) break;
        p->log_len += (size_t)n;
        p->log[p->log_len] = 0;
    }
}

int sproc_start(sproc_t *p, const char *run_dir, const char *const *args, const char *const *env,
                char *err, size_t errlen) {
    memset(p, 0, sizeof *p);
    const char *bindir = getenv("RD_BIN_DIR");
#ifdef RD_BIN_DIR
    if (!bindir) bindir = RD_BIN_DIR;
#endif
    char bin[1024];
    snprintf(bin, sizeof bin, "%s/server", bindir ? bindir : ".");
    const char *argv[64];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "--run-dir";
    argv[n++] = run_dir;
    argv[n++] = "--port";
    argv[n++] = "0";
    for (int i = 0; args && args[i] && n < 62; i++) argv[n++] = args[i];
    argv[n] = NULL;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        dup2(fds[1], 2);
        for (int i = 0; env && env[i]; i++) putenv((char *)env[i]);
        /* The server dies with the test or bench that started it (PR_SET_PDEATHSIG). */
        char ppid[32];
        snprintf(ppid, sizeof ppid, "%d", (int)getppid());
        setenv("RD_PARENT_PID", ppid, 1);
        execv(bin, (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    p->pid = pid;
    p->err_fd = fds[0];
    fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
    long long deadline = now_ms() + 10000;
    while (now_ms() < deadline) {
        struct pollfd pf = {p->err_fd, POLLIN, 0};
        poll(&pf, 1, 100);
        sproc_drain(p);
        const char *l = strstr(p->log, "listening on http://");
        const char *colon = l ? strchr(l + 20, ':') : NULL;
        if (colon && strchr(colon, '/')) {
            /* The host may be an IPv6 literal in brackets: the port follows the last ':'. */
            const char *end = strchr(l + 20, '/');
            const char *c = end;
            while (c > l && *c != ':') c--;
            p->port = atoi(c + 1);
            if (p->port > 0) return 0;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            p->pid = 0;
            snprintf(err, errlen, "server exited before listening: %.400s", p->log);
            return -1;
        }
    }
    snprintf(err, errlen, "server did not listen within 10 s: %.400s", p->log);
    sproc_stop(p, SIGKILL, 1000);
    return -1;
}

int sproc_stop(sproc_t *p, int sig, int timeout_ms) {
    if (p->pid <= 0) return -1;
    kill(p->pid, sig);
    long long deadline = now_ms() + timeout_ms;
    int st = -1;
    for (;;) {
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid) break;
        if (now_ms() >= deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &st, 0);
            st = -1;
            break;
        }
        sproc_drain(p);
        usleep(10000);
    }
    sproc_drain(p);
    close(p->err_fd);
    p->pid = 0;
    return st;
}

int sproc_tempdir(char *out, size_t cap) {
    const char *t = getenv("TMPDIR");
    snprintf(out, cap, "%s/rd_server_XXXXXX", t && t[0] ? t : "/tmp");
    return mkdtemp(out) ? 0 : -1;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void sproc_rmtree(const char *dir) {
    if (dir && dir[0]) nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void sproc_stop_clean(sproc_t *p, const char *dir) {
    int st = sproc_stop(p, SIGTERM, 5000);
    ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d; log:\n%s", st,
                  p->log);
    sproc_rmtree(dir);
}
