/* tests/support/orch_harness.h — helpers for the run_demo integration tests and the
 * orchestrator's benchmark (prefix h_, short because nearly every line of those tests
 * uses it).
 *
 * The tests run the real build/bin/run_demo with real signals over loopback. The test
 * process makes itself a child subreaper (h_setup), so that anything run_demo leaves
 * behind — however it escaped — is reparented to the test and counted by
 * h_descendants(): "nothing left running" is checked exactly, not guessed by name.
 * The programs are found in tpaths_bin_dir() (tests/support/tpaths.h). */
#ifndef RD_TESTS_ORCH_HARNESS_H
#define RD_TESTS_ORCH_HARNESS_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

/* This test's scratch directory (h_setup). */
extern char h_dir[256];

/* Milliseconds on CLOCK_MONOTONIC (tests/support/tclock.h). */
long long h_now_ms(void);

/* Sleeps ms milliseconds. */
void h_sleep_ms(long ms);

/* The real trainer and server are built with these tests: one missing is a broken build,
 * and a test that ran nothing must not pass, so this fails the test (never a SKIP). */
void h_require_real(void);

/* Subreaper + a fresh scratch directory. */
void h_setup(void);

/* A TCP port that was free a moment ago (bind 0, read back). */
int h_free_port(void);

/* out = <scratch dir>/name. */
void h_path(char *out, size_t len, const char *name);

/* The output file of run_demo's current launch. */
extern char h_out[512];

/* Checked fixture of the tests: h_setup, with h_out named out.txt in the scratch dir. The
 * matching teardown is h_cleanup. */
void h_setup_out(void);

/* Writes the formatted text to path (created or truncated); aborts when it cannot. */
void h_write(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The whole file, NUL-terminated (caller frees); "" when absent. Reads to EOF rather than
 * trusting the size, so that /proc files work too. */
char *h_read(const char *path);

/* Starts run_demo with argv (NULL-terminated, without the program), stdout and stderr
 * into out_path; env entries ("NAME=value", or "NAME=" to unset) apply to it alone. */
pid_t h_start_env(const char *out_path, const char *const *env, const char *const *argv);

/* h_start_env without environment changes. */
pid_t h_start(const char *out_path, const char *const *argv);

/* run_demo's usual arguments: --config cfg --port <free> --frontend-port <free> --frontend
 * frontend --no-browser --checkpoint-dir dir, then extra (NULL-terminated, may be NULL; a
 * NULL entry ends it early; up to 16). The result is NULL-terminated, for h_start. */
typedef struct {
    char port[16], fport[16];
    const char *argv[32];
} h_args;

const char *const *h_args_make(h_args *a, const char *cfg, const char *frontend, const char *dir,
                               const char *const *extra);

/* Names a fresh output file out<N>.txt in the scratch dir (N counts the calls), so that a
 * launch never reads the previous run's lines. */
void h_next_out(char *out, size_t len);

/* Writes test.toml running trainer, server and frontend (TOML command arrays; frontend NULL:
 * none, started with --frontend none) and starts run_demo on it with fresh ports,
 * --no-browser, a run directory in the scratch dir, env as for h_start_env and flag (one
 * more argument, or NULL); output goes to a fresh file (h_next_out) named in out. */
pid_t h_launch3(char *out, size_t outlen, const char *trainer, const char *server,
                const char *frontend, const char *const *env, const char *flag);

/* Waits for pid; returns its wait status, or -1 after timeout_ms (then it still runs). */
int h_wait(pid_t pid, int timeout_ms);

/* Exit code as the shell shows it: status, or 128 + signal. */
int h_code(int st);

/* Waits for pid at most timeout_ms (SIGKILL and reap after it); the exit code as h_code
 * (-1 when killed at the bound) and the output file out_path in *text (caller frees). */
int h_finish(pid_t pid, const char *out_path, int timeout_ms, char **text);

/* Asserts that needle is in text; on failure the text goes to stdout (Check's messages are
 * short). */
#define expect_in(text, needle)                                                                    \
    do {                                                                                           \
        if (!strstr((text), (needle)))                                                             \
            printf("---- output ----\n%s\n----\n", (text)), fflush(stdout);                        \
        ck_assert_msg(strstr((text), (needle)), "'%s' missing", (needle));                         \
    } while (0)

/* Asserts the exit code; on failure the output goes to stdout. */
#define expect_code(code, want, text)                                                              \
    do {                                                                                           \
        if ((code) != (want)) printf("---- output ----\n%s\n----\n", (text)), fflush(stdout);      \
        ck_assert_int_eq((code), (want));                                                          \
    } while (0)

bool h_wait_output(const char *path, const char *needle, int timeout_ms);

int h_count(const char *hay, const char *needle);

/* Reaps zombies among our children and lists the live descendants of this process. */
int h_descendants(pid_t *out, int max);

/* Live descendants after waiting up to timeout_ms for them to go. */
int h_survivors(int timeout_ms);

/* Kills whatever a failed test left (so that one failure does not leak processes). */
void h_cleanup(void);

#endif
