/* tests/test_slurm_cluster.c — orchestrator/slurm against a real single-node Slurm
 * (scripts/slurm-cluster, started once for the suite and stopped after it; the cluster
 * stops by itself if this program dies): a 4-task array throttled to 2 goes pending
 * (JobArrayTaskLimit) → running on this node → completed, each task with its own run
 * directory, the server address and the token from the job's environment; a stop cancels
 * the pending task and TERMs the running one, which ends; the exact messages for an
 * unknown partition (check and sbatch) and a PATH without sbatch. No mocks: the "trainer"
 * is a small script that records what it was given. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "orchestrator/slurm.h"
#include "tests/support/runner.h"
#include "tests/support/scratch.h"
#include "tests/support/tpaths.h"

#define TOKEN "tok-5f1e-secret"

static char cluster_dir[256];
static char host[256];

static void sh(const char *cmd) {
    int st = system(cmd);
    ck_assert_msg(st == 0, "failed (%d): %s", st, cmd);
}

/* Starts the cluster under a fresh directory; SLURM_CONF then leads every Slurm command
 * (and the module's children) to it. The keeper watches this process, the owner. */
static void cluster_up(void) {
    snprintf(cluster_dir, sizeof cluster_dir, "/tmp/rd-slurm-test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(cluster_dir));
    char cmd[1024], conf[512];
    snprintf(cmd, sizeof cmd, "SLURM_CLUSTER_OWNER=%d %s/scripts/slurm-cluster start %s >/dev/null",
             (int)getpid(), tpaths_source_dir(), cluster_dir);
    sh(cmd);
    snprintf(conf, sizeof conf, "%s/slurm.conf", cluster_dir);
    setenv("SLURM_CONF", conf, 1);
    gethostname(host, sizeof host);
    host[strcspn(host, ".")] = '\0';
}

static void cluster_down(void) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/scripts/slurm-cluster stop %s 2>/dev/null", tpaths_source_dir(),
             cluster_dir);
    int st = system(cmd);
    (void)st;
    if (!getenv("RD_SLURM_KEEP")) scratch_rm_rf(cluster_dir);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool exists(const char *dir, const char *name) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* A sweep under the cluster directory: the fake trainer, N run directories, the script.
 * The trainer records its arguments, whether the token reached it, its pid; then waits
 * for sweep/release (exit 0) or SIGTERM (writes "term", exit 0), at most 60 s. */
typedef struct {
    char dir[512], script[600], trainer[600], runs[4][600];
    const char *args[4][5];
    char seeds[4][24];
    slurm_task tasks[4];
    slurm_spec spec;
} sweep;

static void sweep_make(sweep *w, const char *name, size_t n, int parallel) {
    snprintf(w->dir, sizeof w->dir, "%s/%s", cluster_dir, name);
    ck_assert_int_eq(mkdir(w->dir, 0755), 0);
    char *trainer = w->trainer;
    snprintf(w->trainer, sizeof w->trainer, "%s/trainer", w->dir);
    scratch_write(trainer,
                  "#!/bin/bash\n"
                  "dir=$2\n"
                  "mkdir -p \"$dir\"\n"
                  "printf '%s\\n' \"$@\" > \"$dir/args\"\n"
                  "[ \"${" SLURM_TOKEN_ENV ":-}\" = " TOKEN " ] && echo ok > \"$dir/token\"\n"
                  "echo $$ > \"$dir/pid\"\n"
                  "if [ -e \"$dir/term\" ]; then\n" /* a requeued task: resumed */
                  "    echo \"${SLURM_RESTART_COUNT:-0}\" > \"$dir/resumed\"\n"
                  "    exit 0\n"
                  "fi\n"
                  "trap 'echo \"term $(date +%T.%N)\" >> \"$dir/term\"; exit 0' TERM\n"
                  "touch \"$dir/started\"\n"
                  "for i in $(seq 1 600); do\n"
                  "    [ -e \"$dir/../release\" ] && exit 0\n"
                  "    sleep 0.1\n"
                  "done\n"
                  "exit 1\n");
    ck_assert_int_eq(chmod(trainer, 0755), 0);
    for (size_t i = 0; i < n; i++) {
        snprintf(w->runs[i], sizeof w->runs[i], "%s/seed=%zu", w->dir, i);
        snprintf(w->seeds[i], sizeof w->seeds[i], "%zu", i);
        w->args[i][0] = "--seed";
        w->args[i][1] = w->seeds[i];
        w->args[i][2] = NULL;
        w->tasks[i] = (slurm_task){w->runs[i], w->args[i]};
    }
    snprintf(w->script, sizeof w->script, "%s/sweep.sbatch", w->dir);
    w->spec = (slurm_spec){.job_name = name,
                           .partition = "debug",
                           .time_limit = "10",
                           .cpus = 1,
                           .mem = "100M",
                           .warn_seconds = 60,
                           .parallel = parallel,
                           .sweep_dir = w->dir,
                           .server_url = "ws://127.0.0.1:9/ws/trainer",
                           .tasks = w->tasks,
                           .n_tasks = n};
    w->spec.trainer = w->trainer;
    char err[512];
    ck_assert_msg(slurm_script_write(&w->spec, w->script, err, sizeof err) == 0, "%s", err);
}

static bool all_final(const slurm_task_status *t, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (t[i].state == SLURM_UNKNOWN || t[i].state == SLURM_PENDING ||
            t[i].state == SLURM_RUNNING)
            return false;
    return true;
}

/* The array of 4 throttled to 2: tasks 2 and 3 wait with Slurm's reason while 0 and 1 run
 * on this node (they wait for the release file, so both phases last until we say); then
 * all four complete, each having trained its own run with the server and the token. */
START_TEST(array_pending_running_completed) {
    char err[512];
    ck_assert_msg(slurm_check("debug", err, sizeof err) == 0, "%s", err);
    sweep w;
    sweep_make(&w, "array", 4, 2);
    char *text = slurp(w.script);
    ck_assert_ptr_nonnull(text);
    ck_assert_msg(!strstr(text, TOKEN), "the token is in the batch script");

    long job = 0;
    ck_assert_msg(slurm_submit(w.script, 4, 2, TOKEN, &job, err, sizeof err) == 0, "%s", err);
    ck_assert_int_gt(job, 0);

    slurm_task_status t[4] = {0};
    bool ran[4] = {0}, waited[4] = {0};
    double end = now_s() + 60;
    /* Phase 1: until 0 and 1 run and 2 and 3 are seen pending on the array's throttle. */
    while (now_s() < end) {
        ck_assert_msg(slurm_poll(job, t, 4, err, sizeof err) == 0, "%s", err);
        int running = 0;
        for (int i = 0; i < 4; i++) {
            if (t[i].state == SLURM_RUNNING) {
                running++;
                ck_assert_str_eq(t[i].node, host);
                ran[i] = true;
            }
            if (t[i].state == SLURM_PENDING && !strcmp(t[i].reason, "JobArrayTaskLimit"))
                waited[i] = true;
        }
        ck_assert_int_le(running, 2);
        if (ran[0] && ran[1] && waited[2] && waited[3] && exists(w.runs[0], "started") &&
            exists(w.runs[1], "started"))
            break;
        usleep(100 * 1000);
    }
    ck_assert_msg(ran[0] && ran[1] && waited[2] && waited[3],
                  "not seen: 0 and 1 running, 2 and 3 pending (JobArrayTaskLimit): %s %s %s %s",
                  t[0].raw, t[1].raw, t[2].raw, t[3].raw);
    ck_assert(!exists(w.runs[2], "started") && !exists(w.runs[3], "started"));

    char release[600];
    snprintf(release, sizeof release, "%s/release", w.dir);
    scratch_write(release, "");
    while (now_s() < end && !all_final(t, 4)) {
        ck_assert_msg(slurm_poll(job, t, 4, err, sizeof err) == 0, "%s", err);
        usleep(100 * 1000);
    }
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(t[i].state == SLURM_COMPLETED, "task %d: %s (%s)", i,
                      slurm_state_name(t[i].state), t[i].raw);
        ck_assert_str_eq(t[i].node, host);
        ck_assert_msg(exists(w.runs[i], "token"), "task %d: the token did not reach it", i);
        char path[700], want[1200];
        snprintf(path, sizeof path, "%s/args", w.runs[i]);
        snprintf(want, sizeof want,
                 "--run-dir\n%s\n--seed\n%d\n--server\nws://127.0.0.1:9/ws/trainer\n", w.runs[i],
                 i);
        ck_assert_str_eq(slurp(path), want);
        snprintf(path, sizeof path, "%s/slurm/task-%d.out", w.dir, i);
        ck_assert_msg(access(path, F_OK) == 0, "no output file %s", path);
    }
}
END_TEST

/* A stop: the pending task is cancelled without ever starting; the running one gets
 * SIGTERM through Slurm, writes its mark and ends; its process is gone. */
START_TEST(stop_cancels_pending_and_terms_running) {
    char err[512];
    sweep w;
    sweep_make(&w, "stop", 2, 1);
    long job = 0;
    ck_assert_msg(slurm_submit(w.script, 2, 1, TOKEN, &job, err, sizeof err) == 0, "%s", err);
    slurm_task_status t[2] = {0};
    double end = now_s() + 60;
    while (now_s() < end && !(t[0].state == SLURM_RUNNING && exists(w.runs[0], "started"))) {
        ck_assert_msg(slurm_poll(job, t, 2, err, sizeof err) == 0, "%s", err);
        usleep(100 * 1000);
    }
    ck_assert_msg(t[0].state == SLURM_RUNNING && t[1].state == SLURM_PENDING, "%s %s", t[0].raw,
                  t[1].raw);
    char path[700];
    snprintf(path, sizeof path, "%s/pid", w.runs[0]);
    pid_t pid = (pid_t)atoi(slurp(path));
    ck_assert_int_gt(pid, 1);

    ck_assert_msg(slurm_stop(job, err, sizeof err) == 0, "%s", err);
    while (now_s() < end && !all_final(t, 2)) {
        ck_assert_msg(slurm_poll(job, t, 2, err, sizeof err) == 0, "%s", err);
        usleep(100 * 1000);
    }
    snprintf(path, sizeof path, "%s/slurm/task-0.out", w.dir);
    ck_assert_msg(t[0].state == SLURM_COMPLETED, "task 0: %s; its log: %s", t[0].raw,
                  slurp(path) ? slurp(path) : "(none)");
    ck_assert_msg(t[1].state == SLURM_CANCELLED, "task 1: %s", t[1].raw);
    ck_assert_msg(exists(w.runs[0], "term"), "the running task got no SIGTERM");
    ck_assert_msg(!exists(w.runs[1], "started"), "the cancelled task started");
    while (now_s() < end && kill(pid, 0) == 0) usleep(50 * 1000);
    ck_assert_msg(kill(pid, 0) != 0 && errno == ESRCH, "the task's process %d lives on", (int)pid);
    /* Cancelling what is already over is harmless. */
    ck_assert_msg(slurm_cancel(job, err, sizeof err) == 0, "%s", err);
}
END_TEST

/* The time-limit warning: Slurm sends the batch shell USR1 before the limit, the shell
 * TERMs the trainer (it records the TERM and exits 0), requeues the task, and the task runs
 * again from its run directory (Slurm counts the restart) and completes. */
START_TEST(time_limit_warning_requeues) {
    char err[512];
    sweep w;
    sweep_make(&w, "requeue", 1, 0);
    w.spec.time_limit = "1";
    w.spec.warn_seconds = 59;
    ck_assert_msg(slurm_script_write(&w.spec, w.script, err, sizeof err) == 0, "%s", err);
    long job = 0;
    ck_assert_msg(slurm_submit(w.script, 1, 0, TOKEN, &job, err, sizeof err) == 0, "%s", err);
    slurm_task_status t[1] = {0};
    char path[700];
    bool requeued = false;
    double end = now_s() + 150;
    while (now_s() < end && t[0].state != SLURM_COMPLETED) {
        ck_assert_msg(slurm_poll(job, t, 1, err, sizeof err) == 0, "%s", err);
        if (exists(w.runs[0], "term") && t[0].state == SLURM_PENDING) requeued = true;
        usleep(200 * 1000);
    }
    snprintf(path, sizeof path, "%s/slurm/task-0.out", w.dir);
    ck_assert_msg(t[0].state == SLURM_COMPLETED, "task 0: %s; its log: %s", t[0].raw,
                  slurp(path) ? slurp(path) : "(none)");
    ck_assert_msg(exists(w.runs[0], "term"), "the trainer was never warned");
    snprintf(path, sizeof path, "%s/resumed", w.runs[0]);
    char *resumed = slurp(path);
    ck_assert_msg(resumed != NULL, "the task did not run again after the warning");
    ck_assert_str_eq(resumed, "1\n");
    ck_assert_msg(requeued, "the task was never seen pending again after the warning");
}
END_TEST

START_TEST(unknown_partition_message) {
    char err[512];
    ck_assert_int_eq(slurm_check("nope", err, sizeof err), -1);
    ck_assert_str_eq(err, "slurm: partition \"nope\" does not exist on this cluster "
                          "(partitions: debug)");
    /* And when a script names one anyway, sbatch's own refusal comes through. */
    sweep w;
    sweep_make(&w, "badpart", 1, 0);
    w.spec.partition = "nope";
    w.spec.trainer = "/bin/true";
    ck_assert_int_eq(slurm_script_write(&w.spec, w.script, err, sizeof err), 0);
    long job = 0;
    ck_assert_int_eq(slurm_submit(w.script, 1, 0, TOKEN, &job, err, sizeof err), -1);
    ck_assert_str_eq(err, "slurm: sbatch exited 1: sbatch: error: invalid partition "
                          "specified: nope");
    ck_assert_int_eq(job, 0);
}
END_TEST

START_TEST(no_sbatch_on_path_message) {
    char err[512];
    setenv("PATH", "/nonexistent-dir", 1); /* this test runs in its own forked process */
    ck_assert_int_eq(slurm_check("debug", err, sizeof err), -1);
    ck_assert_str_eq(err, "slurm: sbatch is not on the PATH (run run_demo on a Slurm login "
                          "node, or load Slurm's module first)");
    long job = 0;
    ck_assert_int_eq(slurm_submit("/tmp/x.sbatch", 1, 0, NULL, &job, err, sizeof err), -1);
    ck_assert_str_eq(err, "slurm: sbatch is not on the PATH");
}
END_TEST

/* A SLURM_CONF naming a controller nobody listens on: sinfo's complaint, one line. */
START_TEST(sinfo_without_controller_message) {
    char conf[700], cmd[2600], err[512];
    snprintf(conf, sizeof conf, "%s/dead.conf", cluster_dir);
    snprintf(cmd, sizeof cmd,
             "sed -e 's/^SlurmctldPort=.*/SlurmctldPort=9/' -e 's/^MessageTimeout=.*//' "
             "%s/slurm.conf > %s && echo MessageTimeout=2 >> %s",
             cluster_dir, conf, conf);
    sh(cmd);
    setenv("SLURM_CONF", conf, 1);
    ck_assert_int_eq(slurm_check("debug", err, sizeof err), -1);
    ck_assert_msg(!strncmp(err, "slurm: sinfo does not answer: sinfo exited 1: ", 46), "%s", err);
    ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("slurm_cluster");
    TCase *tc = tcase_create("real");
    tcase_set_timeout(tc, 180);
    tcase_add_unchecked_fixture(tc, cluster_up, cluster_down);
    tcase_add_test(tc, array_pending_running_completed);
    tcase_add_test(tc, stop_cancels_pending_and_terms_running);
    tcase_add_test(tc, time_limit_warning_requeues);
    tcase_add_test(tc, unknown_partition_message);
    tcase_add_test(tc, no_sbatch_on_path_message);
    tcase_add_test(tc, sinfo_without_controller_message);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return runner_run(suite()) ? EXIT_FAILURE : EXIT_SUCCESS;
}
