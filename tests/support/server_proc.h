/* tests/support/server_proc.h — runs the real server binary for a test or a benchmark
 * (prefix sproc_): on a free loopback port (--port 0, read back from its log), with its
 * stderr collected, and stopped by pid. */
#ifndef RD_TESTS_SERVER_PROC_H
#define RD_TESTS_SERVER_PROC_H

#include <stddef.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;
    int port;
    int err_fd; /* the server's stderr */
    char log[65536];
    size_t log_len;
} sproc_t;

/* Starts RD_BIN_DIR/server --run-dir run_dir --port 0 plus args (NULL-terminated, may be
 * NULL), with env (NULL-terminated "NAME=value" list added to the environment, may be
 * NULL). Waits up to 10 s for "listening on". 0 or -1 with err. */
int sproc_start(sproc_t *p, const char *run_dir, const char *const *args, const char *const *env,
                char *err, size_t errlen);
/* Reads what the server has logged so far into p->log (non-blocking). */
void sproc_drain(sproc_t *p);
/* Sends sig and waits up to timeout_ms for the exit; then SIGKILL. Returns the wait
 * status, or -1 when it had to be killed. */
int sproc_stop(sproc_t *p, int sig, int timeout_ms);

/* The end of a test's server: stops it with SIGTERM (5 s), asserts (Check) a clean exit
 * with status 0 (the failure message shows the server's log), then removes dir. */
void sproc_stop_clean(sproc_t *p, const char *dir);

/* Makes a fresh temporary directory (mkdtemp) under $TMPDIR or /tmp into out. */
int sproc_tempdir(char *out, size_t cap);
/* rm -r of a directory made by sproc_tempdir. */
void sproc_rmtree(const char *dir);

#endif
