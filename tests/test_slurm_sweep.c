/* tests/test_slurm_sweep.c — run_demo --backend slurm against a real single-node Slurm
 * (scripts/slurm-cluster, started once for the suite by this program, which owns it: the
 * cluster stops by itself if the program dies). The real run_demo, server and trainer; no
 * mocks:
 *  - a 4-run sweep completes, each run's Slurm state recorded in sweep.toml, and its final
 *    weights are byte for byte those of the same sweep run locally; kill -9 of run_demo in
 *    the middle of the same sweep, then `run_demo --checkpoint-dir DIR`: nothing is
 *    submitted again (every task ran once), every run finishes, same weights;
 *  - Ctrl+C mid-sweep: exit 130, a loadable checkpoint in every started run, no job left in
 *    squeue, no trainer process left (found by the sweep directory in its command line);
 *  - a task cancelled from outside (scancel) is resubmitted and resumes from its checkpoint,
 *    then, cancelled again beyond its restart policy, is marked failed; the sweep goes on;
 *  - run_demo --cancel-sweep DIR after a kill -9: the running tasks end with their
 *    checkpoints, the pending one is cancelled, sweep.toml says stopped / queued;
 *  - bad settings (no sbatch on the PATH, sinfo not answering, an unknown partition, a
 *    single run): one exact message, exit 2, nothing submitted. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/ckpt.h"
#include "orchestrator/ports.h"
#include "tests/support/orch_harness.h"
#include "tests/support/ws_client.h"
#include "tests/support/runcmp.h"
#include "tests/support/runner.h"
#include "tests/support/scratch.h"
#include "tests/support/tpaths.h"

static char cluster_dir[256];

static void cluster_up(void) {
    snprintf(cluster_dir, sizeof cluster_dir, "/tmp/rd-slurm-sweep.XXXXXX");
    if (!mkdtemp(cluster_dir)) abort();
    char cmd[1024], conf[512];
    snprintf(cmd, sizeof cmd, "SLURM_CLUSTER_OWNER=%d %s/scripts/slurm-cluster start %s >/dev/null",
             (int)getpid(), tpaths_source_dir(), cluster_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "the test cluster did not start (logs in %s/log)\n", cluster_dir);
        exit(1);
    }
    snprintf(conf, sizeof conf, "%s/slurm.conf", cluster_dir);
    setenv("SLURM_CONF", conf, 1);
}

static void cluster_down(void) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/scripts/slurm-cluster stop %s 2>/dev/null", tpaths_source_dir(),
             cluster_dir);
    int st = system(cmd);
    (void)st;
    if (!getenv("RD_SLURM_KEEP")) scratch_rm_rf(cluster_dir);
}

/* Short episodes and a small network: a run of 1500 episodes takes seconds. extra: more
 * config (a [processes.trainer] policy). */
static void fast_config(char *path, size_t len, const char *extra) {
    h_path(path, len, "fast.toml");
    h_write(path,
            "[environment]\nmax_steps = 100\n"
            "[agent]\nhidden = [32, 32]\nreplay_capacity = 5000\nlearning_starts = 200\n"
            "[training]\ncheckpoint_every = 5\neval_every = 0\nprogress_every = 1\n%s",
            extra ? extra : "");
}

/* run_demo with argv plus --frontend none --no-browser (and --port P unless port is NULL),
 * output into a fresh file named in out; env as for h_start_env. */
static pid_t start(char *out, size_t outlen, const char *port, const char *const *env,
                   const char *const *argv) {
    h_next_out(out, outlen);
    const char *args[40];
    int n = 0;
    args[n++] = "--frontend";
    args[n++] = "none";
    args[n++] = "--no-browser";
    if (port) {
        args[n++] = "--port";
        args[n++] = port;
    }
    for (int i = 0; argv[i] && n < 39; i++) args[n++] = argv[i];
    args[n] = NULL;
    return h_start_env(out, env, args);
}

/* Tasks the cluster lists as pending or running (the cluster is this program's alone). */
static int squeue_live(void) {
    FILE *p = popen("squeue --noheader --array --states=PENDING,RUNNING,COMPLETING,CONFIGURING "
                    "2>/dev/null",
                    "r");
    ck_assert_ptr_nonnull(p);
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, p)) n++;
    pclose(p);
    return n;
}

/* Processes whose command line names dir (a trainer's --run-dir under it): Slurm's tasks
 * are not our descendants, so they are found this way — never killed by name. */
static int trainers_in(const char *dir) {
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9') continue;
        char p[300], buf[8192];
        snprintf(p, sizeof p, "/proc/%s/cmdline", de->d_name);
        FILE *f = fopen(p, "r");
        if (!f) continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        for (size_t i = 0; i < len; i++)
            if (!buf[i]) buf[i] = ' ';
        buf[len] = '\0';
        if (strstr(buf, dir) && strstr(buf, "/trainer ")) n++;
    }
    if (d) closedir(d);
    return n;
}

static int trainers_gone(const char *dir, int timeout_ms) {
    long long end = h_now_ms() + timeout_ms;
    int n;
    while ((n = trainers_in(dir)) > 0 && h_now_ms() < end) h_sleep_ms(50);
    return n;
}

static char *sweep_file(const char *dir) {
    char p[700];
    snprintf(p, sizeof p, "%s/sweep.toml", dir);
    return h_read(p);
}

/* The job id recorded for run `run` ("job = \"J_R\""), 0 when none. */
static long recorded_job(const char *dir, int run) {
    char *s = sweep_file(dir);
    long job = 0;
    for (const char *p = s; (p = strstr(p, "job = \"")); p++) {
        long j;
        int r;
        if (sscanf(p, "job = \"%ld_%d\"", &j, &r) == 2 && r == run) job = j;
    }
    free(s);
    return job;
}

static const char *const names[] = {"seed=42", "seed=43", "seed=44", "seed=45"};
#define EPISODES "1500"

/* ---- a sweep on Slurm equals the same sweep run locally, even after kill -9 + resume ---- */

START_TEST(slurm_sweep_equals_local_even_after_kill9) {
    h_require_real();
    char cfg[512], ref[512], sl[512], cut[512], runs_env[600], out[512], port[16];
    /* [cluster] reaches the batch script; a local sweep ignores it. */
    fast_config(cfg, sizeof cfg,
                "[cluster]\npartition = \"debug\"\ntime_limit = \"30\"\ncpus_per_trainer = 1\n"
                "mem_per_trainer = \"200M\"\nsbatch_args = \"--comment=rd-test --nice=0\"\n");
    h_path(ref, sizeof ref, "ref");
    h_path(sl, sizeof sl, "slurm");
    h_path(cut, sizeof cut, "cut");
    snprintf(runs_env, sizeof runs_env, "RD_RUNS_DIR=%s/runs", h_dir);
    const char *env[] = {runs_env, NULL};
    char *text;
    /* Local. */
    snprintf(port, sizeof port, "%d", h_free_port());
    const char *local[] = {"--config",   cfg, "--checkpoint-dir",   ref,
                           "--runs",     "4", "--episodes",         EPISODES,
                           "--parallel", "2", "--exit-on-complete", NULL};
    int code = h_finish(start(out, sizeof out, port, env, local), out, 240000, &text);
    expect_code(code, 0, text);
    free(text);
    /* The same on Slurm. */
    snprintf(port, sizeof port, "%d", h_free_port());
    const char *slurm[] = {
        "--backend",  "slurm",  "--config",   cfg, "--checkpoint-dir",   sl,  "--runs", "4",
        "--episodes", EPISODES, "--parallel", "2", "--exit-on-complete", NULL};
    code = h_finish(start(out, sizeof out, port, env, slurm), out, 240000, &text);
    expect_code(code, 0, text);
    expect_in(text, "submitted 4 runs as Slurm job array ");
    expect_in(text, "(--array=0-3%2)");
    expect_in(text, "pending (JobArrayTaskLimit)");
    expect_in(text, "_0 running on ");
    expect_in(text, "[seed=45] "); /* a task's own output, followed with its run's prefix */
    expect_in(text, "INFO trainer: link: connected to ws://127.0.0.1:");
    expect_in(text, "Sweep finished: 4 of 4 runs done, 0 failed");
    free(text);
    char *sw = sweep_file(sl);
    ck_assert_int_eq(h_count(sw, "state = \"done\""), 4);
    ck_assert_msg(h_count(sw, "slurm = \"completed\"") == 4, "sweep.toml:\n%s", sw);
    ck_assert_ptr_nonnull(strstr(sw, "backend = \"slurm\""));
    free(sw);
    char script_path[700];
    snprintf(script_path, sizeof script_path, "%s/sweep.sbatch", sl);
    char *script = h_read(script_path);
    expect_in(script, "\n#SBATCH --partition=debug\n#SBATCH --array=0-3%2\n#SBATCH --time=30\n"
                      "#SBATCH --cpus-per-task=1\n#SBATCH --mem=200M\n");
    expect_in(script, "#SBATCH --signal=B:USR1@120\n#SBATCH --comment=rd-test\n#SBATCH --nice=0\n");
    /* The token: owner-only beside the script, never in it. */
    char token_path[700];
    snprintf(token_path, sizeof token_path, "%s/slurm/token", sl);
    char *token = h_read(token_path);
    struct stat tst;
    ck_assert_int_eq(stat(token_path, &tst), 0);
    ck_assert_int_eq(tst.st_mode & 0777, 0600);
    ck_assert_int_eq((int)strlen(token), 32);
    ck_assert_msg(!strstr(script, token), "the token is in the script");
    free(token);
    free(script);
    for (int i = 0; i < 4; i++) runcmp_expect_same_final(ref, sl, names[i], atol(EPISODES));
    ck_assert_int_eq(squeue_live(), 0);

    /* kill -9 once the first two runs train; the tasks go on as the user's batch jobs. */
    snprintf(port, sizeof port, "%d", h_free_port());
    const char *cut_argv[] = {"--backend",  "slurm",  "--config", cfg,          "--checkpoint-dir",
                              cut,          "--runs", "4",        "--episodes", EPISODES,
                              "--parallel", "2",      NULL};
    pid_t pid = start(out, sizeof out, port, env, cut_argv);
    long long end = h_now_ms() + 120000;
    while ((runcmp_episode(cut, names[0]) < 20 || runcmp_episode(cut, names[1]) < 20) &&
           h_now_ms() < end)
        h_sleep_ms(20);
    ck_assert_int_ge(runcmp_episode(cut, names[0]), 20);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_assert_int_gt(squeue_live(), 0); /* still training without run_demo */
    /* Its server dies with it (SIGTERM on the parent's death) but shuts down on its own
     * loop: the continuation reuses the recorded port, so it waits, as a person would, for
     * the old server to let go of it (CI saw "port ... in use" when it did not). */
    end = h_now_ms() + 30000;
    while (ports_check("127.0.0.1", atoi(port)) != 0 && h_now_ms() < end) h_sleep_ms(50);
    ck_assert_msg(ports_check("127.0.0.1", atoi(port)) == 0,
                  "the killed run_demo's server still holds port %s after 30 s", port);
    long job = recorded_job(cut, 0);
    ck_assert_int_gt(job, 0);
    /* Continued: the sweep directory alone says backend, port and token. */
    const char *resume[] = {"--checkpoint-dir", cut, "--exit-on-complete", NULL};
    code = h_finish(start(out, sizeof out, NULL, env, resume), out, 240000, &text);
    expect_code(code, 0, text);
    expect_in(text, "continuing the sweep of 4 runs, 2 at once as Slurm jobs");
    expect_in(text, "run seed=42: reattached to Slurm job ");
    expect_in(text, "INFO server: trainer linked from 127.0.0.1 for job seed=4");
    if (strstr(text, "submitted")) printf("%s\n", text);
    ck_assert_msg(!strstr(text, "submitted"), "a task was submitted again");
    free(text);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(recorded_job(cut, i), job); /* one array, never resubmitted */
        char p[800];
        snprintf(p, sizeof p, "%s/slurm/task-%d.out", cut, i);
        char *log = h_read(p);
        ck_assert_int_eq(h_count(log, "INFO trainer: new run in"), 1); /* each task ran once */
        ck_assert_int_eq(h_count(log, "INFO trainer: resumed from"), 0);
        free(log);
        runcmp_expect_same_final(ref, cut, names[i], atol(EPISODES));
    }
    ck_assert_int_eq(squeue_live(), 0);
    ck_assert_int_eq(trainers_gone(h_dir, 5000), 0);
    ck_assert_int_eq(h_survivors(1000), 0);
}
END_TEST

/* ---- Ctrl+C ---- */

/* The rows of GET /api/jobs (what the Runs view draws) carry each run's Slurm task as
 * run_demo last polled it: runs[0] and runs[1] running on this node, runs[2] pending behind
 * the array's throttle, with Slurm's reason. Waits up to 15 s (a poll every 2 s, the
 * server's look at the sweep file every 1 s). */
static void expect_slurm_rows(int port) {
    static char body[1 << 18];
    char err[256];
    long long end = h_now_ms() + 15000;
    for (;;) {
        int code = wsc_http(port, "GET", "/api/jobs", NULL, 5000, body, sizeof body, NULL, 0, err,
                            sizeof err);
        ck_assert_msg(code == 200, "GET /api/jobs: %d %s", code, err);
        cJSON *r = cJSON_Parse(body);
        ck_assert_msg(r, "GET /api/jobs is not JSON: %s", body);
        const char *want[3] = {"running", "running", "pending"};
        int good = 0;
        const cJSON *j;
        cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(r, "jobs")) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id"),
                        *sl = cJSON_GetObjectItemCaseSensitive(j, "slurm");
            for (int i = 0; i < 3; i++) {
                if (!cJSON_IsString(id) || strcmp(id->valuestring, names[i]) != 0) continue;
                const cJSON *st = cJSON_GetObjectItemCaseSensitive(sl, "state"),
                            *where =
                                cJSON_GetObjectItemCaseSensitive(sl, i < 2 ? "node" : "reason");
                if (cJSON_IsString(st) && !strcmp(st->valuestring, want[i]) &&
                    cJSON_IsString(where) && where->valuestring[0])
                    good++;
            }
        }
        cJSON_Delete(r);
        if (good == 3) return;
        ck_assert_msg(h_now_ms() < end, "Slurm states not in /api/jobs: %s", body);
        h_sleep_ms(250);
    }
}

START_TEST(ctrl_c_stops_every_task_with_a_checkpoint) {
    h_require_real();
    char cfg[512], dir[512], out[512], port[16];
    fast_config(cfg, sizeof cfg, NULL);
    h_path(dir, sizeof dir, "stop");
    snprintf(port, sizeof port, "%d", h_free_port());
    const char *argv[] = {"--backend",  "slurm",  "--config", cfg,          "--checkpoint-dir",
                          dir,          "--runs", "4",        "--episodes", "100000",
                          "--parallel", "2",      NULL};
    pid_t pid = start(out, sizeof out, port, NULL, argv);
    long long end = h_now_ms() + 120000;
    while ((runcmp_episode(dir, names[0]) < 30 || runcmp_episode(dir, names[1]) < 30) &&
           h_now_ms() < end)
        h_sleep_ms(20);
    ck_assert_int_ge(runcmp_episode(dir, names[1]), 30);
    expect_slurm_rows(atoi(port));
    kill(pid, SIGINT);
    char *text;
    int code = h_finish(pid, out, 60000, &text);
    expect_code(code, 130, text);
    expect_in(text, "stopping the sweep's Slurm tasks");
    expect_in(text, "run seed=42 stopped (completed); --resume continues it");
    free(text);
    ck_assert_int_eq(squeue_live(), 0);
    ck_assert_int_eq(trainers_gone(dir, 2000), 0);
    ck_assert_int_eq(h_survivors(1000), 0);
    /* Every started run: its newest checkpoint loads; the others never started. */
    char *sw = sweep_file(dir);
    expect_in(sw, "name = \"seed=42\"\nstate = \"stopped\"");
    expect_in(sw, "name = \"seed=43\"\nstate = \"stopped\"");
    expect_in(sw, "name = \"seed=44\"\nstate = \"queued\"");
    free(sw);
    for (int i = 0; i < 2; i++) {
        long ep = runcmp_episode(dir, names[i]);
        char p[800], err[512];
        snprintf(p, sizeof p, "%s/%s/checkpoints/ep_%07ld.ckpt", dir, names[i], ep);
        ckpt_file *f = ckpt_open(p, 0, err, sizeof err);
        ck_assert_msg(f, "%s: %s", p, err);
        ckpt_file_free(f);
    }
}
END_TEST

/* ---- run_demo --cancel-sweep DIR after run_demo was killed ---- */

START_TEST(cancel_sweep_ends_the_jobs_of_a_lost_session) {
    h_require_real();
    char cfg[512], dir[512], out[512], port[16], *text;
    fast_config(cfg, sizeof cfg, NULL);
    h_path(dir, sizeof dir, "lost");
    snprintf(port, sizeof port, "%d", h_free_port());
    const char *argv[] = {"--backend",  "slurm",  "--config", cfg,          "--checkpoint-dir",
                          dir,          "--runs", "3",        "--episodes", "100000",
                          "--parallel", "2",      NULL};
    pid_t pid = start(out, sizeof out, port, NULL, argv);
    long long end = h_now_ms() + 120000;
    while ((runcmp_episode(dir, names[0]) < 30 || runcmp_episode(dir, names[1]) < 30) &&
           h_now_ms() < end)
        h_sleep_ms(20);
    ck_assert_int_ge(runcmp_episode(dir, names[1]), 30);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_assert_int_eq(squeue_live(), 3); /* two running, one pending: the user's jobs */
    const char *cancel[] = {"--cancel-sweep", dir, NULL};
    h_next_out(out, sizeof out);
    int code = h_finish(h_start(out, cancel), out, 60000, &text);
    expect_code(code, 0, text);
    char want[1200];
    snprintf(want, sizeof want,
             "run_demo: the sweep in %s is stopped: 2 running task(s) ended with their "
             "checkpoints, 1 pending task(s) cancelled; run_demo --checkpoint-dir %s continues "
             "it\n",
             dir, dir);
    ck_assert_str_eq(text, want);
    free(text);
    ck_assert_int_eq(squeue_live(), 0);
    ck_assert_int_eq(trainers_gone(dir, 2000), 0);
    char *sw = sweep_file(dir);
    expect_in(sw, "name = \"seed=42\"\nstate = \"stopped\"");
    expect_in(sw, "name = \"seed=43\"\nstate = \"stopped\"");
    expect_in(sw, "name = \"seed=44\"\nstate = \"queued\"");
    free(sw);
    /* Nothing left: a second cancel says so. */
    code = h_finish(h_start(out, cancel), out, 60000, &text);
    expect_code(code, 0, text);
    snprintf(want, sizeof want, "run_demo: no task of the sweep in %s is pending or running\n",
             dir);
    ck_assert_str_eq(text, want);
    free(text);
    ck_assert_int_eq(h_survivors(1000), 0);
}
END_TEST

/* ---- a task cancelled from outside ---- */

START_TEST(scancel_from_outside_is_retried_then_failed) {
    h_require_real();
    char cfg[512], dir[512], out[512], port[16], cmd[128];
    fast_config(cfg, sizeof cfg,
                "[processes.trainer]\nrestart = \"on-failure\"\nmax_restarts = 1\n"
                "restart_window = 600\nbackoff_initial = 0.2\nbackoff_max = 0.2\n");
    h_path(dir, sizeof dir, "retry");
    snprintf(port, sizeof port, "%d", h_free_port());
    const char *argv[] = {
        "--backend",  "slurm", "--config",   cfg, "--checkpoint-dir",   dir, "--runs", "2",
        "--episodes", "6000",  "--parallel", "2", "--exit-on-complete", NULL};
    pid_t pid = start(out, sizeof out, port, NULL, argv);
    long long end = h_now_ms() + 60000;
    while (runcmp_episode(dir, names[0]) < 30 && h_now_ms() < end) h_sleep_ms(20);
    long first = recorded_job(dir, 0);
    ck_assert_int_gt(first, 0);
    snprintf(cmd, sizeof cmd, "scancel %ld_0", first);
    ck_assert_int_eq(system(cmd), 0);
    /* Resubmitted under a new job, resumed from its checkpoint. */
    end = h_now_ms() + 60000;
    while (recorded_job(dir, 0) == first && h_now_ms() < end) h_sleep_ms(50);
    long second = recorded_job(dir, 0);
    ck_assert_int_ne(second, first);
    ck_assert_msg(h_wait_output(out, "INFO trainer: resumed from", 30000), "no resume");
    long at = runcmp_episode(dir, names[0]);
    end = h_now_ms() + 30000;
    while (runcmp_episode(dir, names[0]) < at + 10 && h_now_ms() < end) h_sleep_ms(20);
    snprintf(cmd, sizeof cmd, "scancel %ld_0", second);
    ck_assert_int_eq(system(cmd), 0);
    char *text;
    int code = h_finish(pid, out, 180000, &text);
    expect_code(code, 1, text); /* --exit-on-complete with a failed run */
    expect_in(text, "run seed=42: its task ended (cancelled); resubmitting in 0.2 s (restart 1)");
    expect_in(text, "run seed=42 failed (cancelled after 1 restart within 600 s); the sweep goes "
                    "on without it");
    expect_in(text, "run seed=43 done (6000 episodes)");
    expect_in(text, "Sweep finished: 1 of 2 runs done, 1 failed");
    free(text);
    char *sw = sweep_file(dir);
    expect_in(sw, "name = \"seed=42\"\nstate = \"failed\"\nepisodes = 6000\nrestarts = 1");
    expect_in(sw, "name = \"seed=43\"\nstate = \"done\"");
    free(sw);
    ck_assert_int_eq(squeue_live(), 0);
    ck_assert_int_eq(h_survivors(1000), 0);
}
END_TEST

/* ---- bad settings: one message, exit 2, nothing submitted ---- */

static void expect_refusal(const char *const *env, const char *const *argv, const char *msg) {
    char out[512], *text, port[16];
    snprintf(port, sizeof port, "%d", h_free_port());
    int code = h_finish(start(out, sizeof out, port, env, argv), out, 60000, &text);
    expect_code(code, 2, text);
    ck_assert_str_eq(text, msg);
    free(text);
    ck_assert_int_eq(squeue_live(), 0);
}

START_TEST(bad_settings_are_refused_before_submitting) {
    h_require_real();
    char cfg[512], dir[512], bin[600], path_env[700], conf[600], conf_env[700], cmd[1500];
    fast_config(cfg, sizeof cfg, NULL);
    h_path(dir, sizeof dir, "never");
    const char *argv[] = {"--backend", "slurm",  "--config", cfg, "--checkpoint-dir",
                          dir,         "--runs", "2",        NULL};
    /* No sbatch: a PATH without Slurm's commands. */
    h_path(bin, sizeof bin, "emptybin");
    ck_assert_int_eq(mkdir(bin, 0755), 0);
    snprintf(path_env, sizeof path_env, "PATH=%s", bin);
    const char *no_slurm[] = {path_env, NULL};
    expect_refusal(no_slurm, argv,
                   "run_demo: slurm: sbatch is not on the PATH (run run_demo on a Slurm login "
                   "node, or load Slurm's module first)\n");
    /* sinfo not answering: the cluster's config with a controller port nobody listens on. */
    h_path(conf, sizeof conf, "dead.conf");
    snprintf(cmd, sizeof cmd, "sed 's/^SlurmctldPort=.*/SlurmctldPort=%d/' %s > %s", h_free_port(),
             getenv("SLURM_CONF"), conf);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(conf_env, sizeof conf_env, "SLURM_CONF=%s", conf);
    const char *dead[] = {conf_env, NULL};
    expect_refusal(dead, argv,
                   "run_demo: slurm: sinfo does not answer: sinfo exited 1: "
                   "slurm_load_partitions: Unable to contact slurm controller (connect "
                   "failure)\n");
    /* A partition the cluster does not have. */
    char bad_cfg[600];
    h_path(bad_cfg, sizeof bad_cfg, "nope.toml");
    h_write(bad_cfg, "[cluster]\npartition = \"nope\"\n");
    const char *nope[] = {"--backend", "slurm",  "--config", bad_cfg, "--checkpoint-dir",
                          dir,         "--runs", "2",        NULL};
    expect_refusal(NULL, nope,
                   "run_demo: slurm: partition \"nope\" does not exist on this cluster "
                   "(partitions: debug)\n");
    /* A single run is not a sweep. */
    const char *single[] = {"--backend", "slurm", "--config", cfg, "--checkpoint-dir", dir, NULL};
    expect_refusal(NULL, single,
                   "run_demo: --backend slurm: runs a sweep (--runs N, a --set with several "
                   "values, or --sweep FILE); a single run is local\n");
    ck_assert_msg(access(dir, F_OK) != 0, "%s was created", dir);
    ck_assert_int_eq(h_survivors(1000), 0);
}
END_TEST

/* After each test, even a failed one: no task of it may hold the cluster's CPUs for the
 * next test (the cluster is this program's alone, so every job in it is ours). */
static void teardown(void) {
    h_cleanup();
    if (squeue_live() == 0) return;
    int st = system("scancel --me 2>/dev/null");
    (void)st;
    long long end = h_now_ms() + 20000;
    while (squeue_live() > 0 && h_now_ms() < end) h_sleep_ms(100);
}

static Suite *suite(void) {
    Suite *s = suite_create("slurm_sweep");
    TCase *tc = tcase_create("real");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, h_setup, teardown);
    tcase_add_test(tc, bad_settings_are_refused_before_submitting);
    tcase_add_test(tc, ctrl_c_stops_every_task_with_a_checkpoint);
    tcase_add_test(tc, scancel_from_outside_is_retried_then_failed);
    tcase_add_test(tc, cancel_sweep_ends_the_jobs_of_a_lost_session);
    tcase_add_test(tc, slurm_sweep_equals_local_even_after_kill9);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    cluster_up();
    int failed = runner_run(suite());
    cluster_down();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
