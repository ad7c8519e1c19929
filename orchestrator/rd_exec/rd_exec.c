/* rd_exec — the tiny exec helper run_demo puts between itself and every child.
 *
 *   rd_exec [--watch-fd N] [--grace-ms MS] -- COMMAND [ARG...]
 *
 * Why it exists: libuv's uv_spawn() has no hook between fork and exec, so run_demo cannot
 * give a foreign program (npm, node) a parent-death signal, and programs such as npm →
 * node → esbuild start new process groups and sessions that a signal to one group never
 * reaches. rd_exec closes both holes:
 *
 *  - it is a child subreaper (PR_SET_CHILD_SUBREAPER): every descendant of COMMAND that is
 *    orphaned — by a double fork, setsid(), a parent that died — is reparented to rd_exec,
 *    not to init, so the whole tree stays findable through /proc/<pid>/task/<tid>/children;
 *  - it watches run_demo: the read end of a pipe whose only writer is run_demo (fd N; EOF
 *    means run_demo is gone, however it died, kill -9 included), a parent-death signal
 *    (SIGUSR1) and getppid() as backups. When run_demo is gone it sends SIGTERM to the whole
 *    tree, waits --grace-ms, and SIGKILLs whatever is left;
 *  - COMMAND runs in a process group of its own, with PR_SET_PDEATHSIG(SIGKILL) and
 *    RD_PARENT_PID set to rd_exec's pid (its real parent, so that a child comparing
 *    getppid() with RD_PARENT_PID sees the truth).
 *
 * Signals from run_demo: SIGTERM, SIGINT, SIGHUP are forwarded once to COMMAND's process
 * group (run_demo signals rd_exec alone, so nothing receives a signal twice). SIGUSR2
 * means "the stop timeout expired": SIGKILL to the whole tree now.
 * When COMMAND exits, what it left behind gets SIGTERM, then SIGKILL after the grace, and
 * rd_exec exits with COMMAND's status (re-raising its signal), so run_demo sees the
 * child's own exit status. rd_exec itself allocates nothing after start and has no state
 * beyond a few integers: it is meant to be obviously correct. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_TREE 4096

static pid_t self_pid;
static pid_t main_pid;

static void die_usage(void) {
    fputs("usage: rd_exec [--watch-fd N] [--grace-ms MS] -- COMMAND [ARG...]\n", stderr);
    exit(2);
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends the children of pid (every thread's list) to out[*n]. */
static void add_children(pid_t pid, pid_t *out, int *n) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char cpath[320];
        snprintf(cpath, sizeof cpath, "/proc/%d/task/%s/children", (int)pid, de->d_name);
        int fd = open(cpath, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        char buf[4096];
        ssize_t len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0) continue;
        buf[len] = '\0';
        char *p = buf;
        while (*p && *n < MAX_TREE) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p) break;
            out[(*n)++] = (pid_t)v;
            p = end;
            while (*p == ' ') p++;
        }
    }
    closedir(d);
}

/* Every descendant of rd_exec, breadth first. Because rd_exec is a subreaper, orphans are
 * its children, so this finds processes that left COMMAND's group or session too. */
static int list_tree(pid_t *out) {
    int n = 0;
    add_children(self_pid, out, &n);
    for (int i = 0; i < n && n < MAX_TREE; i++) add_children(out[i], out, &n);
    return n;
}

static void signal_tree(int sig) {
    static pid_t tree[MAX_TREE];
    int n = list_tree(tree);
    for (int i = 0; i < n; i++) kill(tree[i], sig);
}

/* Reaps every exited child without blocking; records COMMAND's status. Returns true when
 * rd_exec has no children left. */
static bool reap(int *main_status, bool *main_done) {
    for (;;) {
        int st;
        pid_t p = waitpid(-1, &st, WNOHANG);
        if (p == 0) return false;
        if (p < 0) return errno == ECHILD;
        if (p == main_pid) {
            *main_status = st;
            *main_done = true;
        }
    }
}

/* SIGTERM (unless hurry) to the whole tree, then SIGKILL after grace_ms, until no child
 * is left. New orphans appearing meanwhile are caught by the repeated listing. */
static void end_tree(long grace_ms, bool hurry, int *main_status, bool *main_done) {
    if (!hurry) signal_tree(SIGTERM);
    long long deadline = now_ms() + (hurry ? 0 : grace_ms);
    bool killed = hurry;
    for (;;) {
        if (killed) signal_tree(SIGKILL);
        if (reap(main_status, main_done)) return;
        if (!killed && now_ms() >= deadline) {
            killed = true;
            continue;
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void exit_like(int st) {
    if (WIFEXITED(st)) exit(WEXITSTATUS(st));
    if (WIFSIGNALED(st)) {
        int sig = WTERMSIG(st);
        struct rlimit nocore = {0, 0};
        setrlimit(RLIMIT_CORE, &nocore); /* the child may have dumped; we need not */
        signal(sig, SIG_DFL);
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, sig);
        sigprocmask(SIG_UNBLOCK, &s, NULL);
        raise(sig);
    }
    exit(1);
}

int main(int argc, char **argv) {
    int watch_fd = -1;
    long grace_ms = 400;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (strcmp(argv[i], "--watch-fd") == 0 && i + 1 < argc) {
            watch_fd = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--grace-ms") == 0 && i + 1 < argc) {
            grace_ms = atol(argv[++i]);
        } else {
            die_usage();
        }
    }
    if (i >= argc) die_usage();

    self_pid = getpid();
    pid_t parent = getppid();
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    prctl(PR_SET_PDEATHSIG, SIGUSR1);

    sigset_t mask;
    sigemptyset(&mask);
    int sigs[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) sigaddset(&mask, sigs[k]);
    sigset_t old;
    sigprocmask(SIG_BLOCK, &mask, &old);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        perror("rd_exec: signalfd");
        return 127;
    }
    if (watch_fd >= 0) fcntl(watch_fd, F_SETFD, FD_CLOEXEC);
    /* Closes the race of a parent that died before the prctl above. */
    if (getppid() != parent) return 127;

    char pidbuf[32];
    snprintf(pidbuf, sizeof pidbuf, "%d", (int)self_pid);
    main_pid = fork();
    if (main_pid < 0) {
        perror("rd_exec: fork");
        return 127;
    }
    if (main_pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != self_pid) _exit(127);
        setenv("RD_PARENT_PID", pidbuf, 1);
        sigprocmask(SIG_SETMASK, &old, NULL);
        execvp(argv[i], argv + i);
        fprintf(stderr, "rd_exec: cannot run %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    /* Both sides set the group, so that a signal sent right after fork finds it. */
    setpgid(main_pid, main_pid);

    int main_status = 0;
    bool main_done = false;
    for (;;) {
        struct pollfd pf[2] = {{sfd, POLLIN, 0}, {watch_fd, POLLIN, 0}};
        int n = poll(pf, watch_fd >= 0 ? 2 : 1, 1000);
        if (n < 0 && errno != EINTR) break;
        bool parent_gone = getppid() != parent;
        if (watch_fd >= 0 && (pf[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            char c;
            ssize_t r = read(watch_fd, &c, 1);
            if (r <= 0) parent_gone = true; /* EOF: the only writer, run_demo, is gone */
        }
        if (pf[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                int sig = (int)si.ssi_signo;
                if (sig == SIGCHLD) continue;
                if (sig == SIGUSR1) {
                    parent_gone = true;
                } else if (sig == SIGUSR2) {
                    end_tree(0, true, &main_status, &main_done);
                    exit_like(main_done ? main_status : (SIGKILL & 0x7f));
                } else if (!main_done) {
                    kill(-main_pid, sig);
                }
            }
        }
        if (parent_gone) {
            end_tree(grace_ms, false, &main_status, &main_done);
            exit_like(main_done ? main_status : (SIGKILL & 0x7f));
        }
        reap(&main_status, &main_done);
        if (main_done) {
            /* COMMAND is gone: whatever it left behind goes too, then report its status. */
            end_tree(grace_ms / 2, false, &main_status, &main_done);
            exit_like(main_status);
        }
    }
    end_tree(0, true, &main_status, &main_done);
    return 1;
}
