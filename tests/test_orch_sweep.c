/* tests/test_orch_sweep.c — sweeps (run_demo --runs, --set, --sweep, --parallel) against
 * the real binaries:
 *  - every override error: its exact message, exit 2, nothing started, nothing written;
 *  - a grid's layout: one run directory per point named from its overrides, each with its
 *    own config.toml, sweep.toml with every run done, trainer lines prefixed by run name;
 *  - trainer --job NAME: the link's hello carries "job" (and no "job" without it);
 *  - a run failing beyond its restart policy is marked failed, the others finish, exit 1;
 *  - SIGINT mid-sweep, then --checkpoint-dir resume: every run's final weights are byte
 *    for byte those of the same sweep run without interruption (the acceptance test);
 *  - kill -9 of run_demo during a sweep with 2 trainers (and `npm run dev` when
 *    frontend/node_modules exists): no descendant survives 1 s. RD_ORCH_SWEEP_KILL_TRIALS
 *    (default 3; scripts/test.d/orchestrator.sh runs 20).
 * Skips, saying so, when the real trainer and server are not built. */
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

#include "common/ckpt.h"
#include "common/cfg.h"
#include "orchestrator/plan.h"
#include "orchestrator/sweep.h"
#include "tests/support/orch_harness.h"
#include "tests/support/runcmp.h"
#include "tests/support/runner.h"
#include "tests/support/tpaths.h"
#include "tests/support/testsrv.h"
#include "tests/support/ws_client.h"

/* A small, fast config: short episodes, a small network and replay, checkpoints often. */
static void fast_config(char *path, size_t len, const char *extra) {
    h_path(path, len, "fast.toml");
    h_write(path,
            "[environment]\nmax_steps = 100\n"
            "[agent]\nhidden = [32, 32]\nreplay_capacity = 5000\nlearning_starts = 200\n"
            "[training]\ncheckpoint_every = 5\neval_every = 0\nprogress_every = 1\n%s",
            extra ? extra : "");
}

/* run_demo with argv (a NULL-terminated list, up to 24) plus fresh ports, --frontend none,
 * --no-browser; RD_RUNS_DIR in the scratch dir; output to a fresh file named in out. */
static pid_t start(char *out, size_t outlen, const char *const *argv) {
    h_next_out(out, outlen);
    char port[16], fport[16], runs[600];
    snprintf(port, sizeof port, "%d", h_free_port());
    snprintf(fport, sizeof fport, "%d", h_free_port());
    snprintf(runs, sizeof runs, "RD_RUNS_DIR=%s/runs", h_dir);
    const char *args[40];
    int n = 0;
    const char *head[] = {"--port",     port,   "--frontend-port", fport,
                          "--frontend", "none", "--no-browser"};
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++) args[n++] = head[i];
    for (int i = 0; argv[i] && n < 39; i++) args[n++] = argv[i];
    args[n] = NULL;
    const char *env[] = {runs, NULL};
    return h_start_env(out, env, args);
}

/* Runs to the end (at most timeout_ms); the exit code, the output in *text (caller frees). */
static int run(char **text, int timeout_ms, const char *const *argv) {
    char out[512];
    return h_finish(start(out, sizeof out, argv), out, timeout_ms, text);
}

/* ---- override errors ---- */

static const struct {
    const char *args[6];
    const char *msg; /* the whole output: one line */
} bad[] = {
    {{"--set", "agent.gama=0.99"},
     "run_demo: --set agent.gama=0.99: unknown key 'gama' in [agent] (did you mean 'gamma'?)\n"},
    {{"--set", "agnt.gamma=0.99"},
     "run_demo: --set agnt.gamma=0.99: unknown section [agnt] (did you mean [agent]?)\n"},
    {{"--set", "agent.gamma=abc"},
     "run_demo: --set agent.gamma=abc: wrong type for 'gamma' in [agent]: expected a number, "
     "found a string\n"},
    {{"--set", "training.episodes=1.5"},
     "run_demo: --set training.episodes=1.5: wrong type for 'episodes' in [training]: expected "
     "an integer, found a float\n"},
    {{"--set", "agent.gamma=0.99,1.5"},
     "run_demo: --set agent.gamma=1.5: 'gamma' in [agent] must be between 0 and 1, got 1.5\n"},
    {{"--set", "agent.target_update=hardd"},
     "run_demo: --set agent.target_update=hardd: 'target_update' in [agent] must be one of "
     "\"hard\", \"polyak\", got \"hardd\"\n"},
    {{"--set", "environment.decay.enrgy=0.1"},
     "run_demo: --set environment.decay.enrgy=0.1: unknown key 'enrgy' in [environment.decay] "
     "(did you mean 'energy'?)\n"},
    {{"--set", "gamma=0.99"},
     "run_demo: --set gamma=0.99: 'gamma' is not SECTION.KEY (e.g. agent.gamma; lower-case "
     "letters, digits, '_' and '.')\n"},
    {{"--set", "agent.gamma"},
     "run_demo: --set agent.gamma: expected SECTION.KEY=VALUE[,VALUE...]\n"},
    {{"--set", "agent.gamma=0.9,"},
     "run_demo: --set agent.gamma=0.9,: an empty value (values: V1,V2,...)\n"},
    {{"--set", "agent.gamma=0.9", "--set", "agent.gamma=0.8"},
     "run_demo: --set agent.gamma: 'agent.gamma' is given twice\n"},
    {{"--set", "training.seed=1,2", "--runs", "2"},
     "run_demo: --runs 2: cannot be combined with a training.seed override or axis\n"},
    {{"--set", "unified_server.inference_port=9000,9001"},
     "run_demo: --set unified_server.inference_port: the sweep shares one server and frontend: "
     "give [unified_server] one value\n"},
    {{"--set", "curriculum.retreat_survival=0.9"},
     "run_demo: --set curriculum.retreat_survival=0.9: 'retreat_survival' in [curriculum] (0.9) "
     "must not exceed 'advance_survival' (0.8)\n"},
    {{"--set", "agent.gamma=0.99,0.99"},
     "run_demo: two runs would both be named 'agent.gamma=0.99' (values that differ only in "
     "characters a directory name cannot hold)\n"},
    {{"--runs", "0"}, "run_demo: --runs: '0' is not a whole number 1-64\n"},
    {{"--parallel", "65"}, "run_demo: --parallel: '65' is not a whole number 1-64\n"},
    {{"--resume", "--runs", "2"},
     "run_demo: --resume: cannot be combined with --runs (a sweep's grid is in its sweep.toml)\n"},
};

START_TEST(override_errors_exact_message_nothing_started) {
    const char *argv[8] = {NULL};
    for (int k = 0; k < 6 && bad[_i].args[k]; k++) argv[k] = bad[_i].args[k];
    char *out;
    ck_assert_int_eq(run(&out, 20000, argv), 2);
    ck_assert_str_eq(out, bad[_i].msg);
    free(out);
    ck_assert_int_eq(h_survivors(0), 0);
    char runs[600];
    snprintf(runs, sizeof runs, "%s/runs", h_dir);
    ck_assert_msg(access(runs, F_OK) != 0, "a run directory was made");
}
END_TEST

/* A sweep file's errors name the file, line and column. */
START_TEST(sweep_file_errors_name_file_line_column) {
    char path[512], want[1024];
    h_path(path, sizeof path, "grid.toml");
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"seeds = 2\n[axes]\n\"agent.gama\" = [0.9, 0.99]\n",
         "--set agent.gama=0.9: unknown key 'gama' in [agent] (did you mean 'gamma'?)"},
        {"seed = 2\n", "1:1: unknown key 'seed' (expected config, episodes, parallel, seeds, "
                       "[set] or [axes])"},
        {"[axes]\n\"agent.gamma\" = 0.99\n",
         "2:17: [axes] 'agent.gamma' must be a non-empty list of values"},
        {"[set.agent]\ngamma = 2\n", "agent.gamma=2: 'gamma' in [agent] must be between 0 and "
                                     "1, got 2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        h_write(path, "%s", cases[i].text);
        const char *argv[] = {"--sweep", path, NULL};
        char *out;
        ck_assert_int_eq(run(&out, 20000, argv), 2);
        /* Values are checked with the file as their origin; structure errors carry a
         * position. */
        if (strstr(cases[i].msg, "--set"))
            snprintf(want, sizeof want, "run_demo: %s %s\n", path, cases[i].msg + 6);
        else if (cases[i].msg[0] >= '0' && cases[i].msg[0] <= '9')
            snprintf(want, sizeof want, "run_demo: %s:%s\n", path, cases[i].msg);
        else
            snprintf(want, sizeof want, "run_demo: %s %s\n", path, cases[i].msg);
        ck_assert_str_eq(out, want);
        free(out);
    }
    ck_assert_int_eq(h_survivors(0), 0);
}
END_TEST

/* ---- the grid, without processes ---- */

START_TEST(values_split_and_names_are_safe) {
    sweep_spec *sw = malloc(sizeof *sw);
    cfg_config base;
    cfg_defaults(&base);
    char err[512];
    sweep_init(sw);
    ck_assert_int_eq(sweep_add_set(sw, "agent.hidden=[64, 64],[128,128]", err, sizeof err), 0);
    ck_assert_int_eq(sweep_add_set(sw, "processes.trainer.env={A = \"x/y z\"}", err, sizeof err),
                     0);
    ck_assert_int_eq(sweep_add_set(sw, "agent.target_update=hard,polyak", err, sizeof err), 0);
    sw->n_seeds = 2;
    ck_assert_msg(sweep_expand(sw, &base, "--set", err, sizeof err) == 0, "%s", err);
    ck_assert(sweep_is_grid(sw));
    ck_assert_int_eq(sw->n_fixed, 1); /* one value: a plain override */
    ck_assert_int_eq(sw->n_runs, 8);
    ck_assert_str_eq(sw->runs[0].name, "agent.hidden=64x64,agent.target_update=hard,seed=42");
    ck_assert_str_eq(sw->runs[7].name, "agent.hidden=128x128,agent.target_update=polyak,seed=43");
    cfg_config c;
    ck_assert_int_eq(sweep_config(sw, &base, 7, &c, err, sizeof err), 0);
    ck_assert_int_eq(c.agent.n_hidden, 2);
    ck_assert_int_eq(c.agent.hidden[1], 128);
    ck_assert_int_eq((int)c.agent.target_update, (int)CFG_TARGET_POLYAK);
    ck_assert_int_eq((int)c.training.seed, 43);
    ck_assert_str_eq(c.processes[CFG_PROC_TRAINER].env[0], "A=x/y z");
    /* A string axis: '/' and ' ' never reach a directory name. */
    sweep_init(sw);
    ck_assert_int_eq(
        sweep_add_set(sw, "processes.trainer.env={A = \"a/b\"},{A = \"c d\"}", err, sizeof err), 0);
    ck_assert_msg(sweep_expand(sw, &base, "--set", err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(sw->runs[0].name, "processes.trainer.env=A_a_b");
    ck_assert_str_eq(sw->runs[1].name, "processes.trainer.env=A_cd");
    free(sw);
}
END_TEST

/* ---- a grid ---- */

static char *read_sweep_file(const char *dir) {
    char p[700];
    snprintf(p, sizeof p, "%s/sweep.toml", dir);
    return h_read(p);
}

START_TEST(grid_layout_names_and_states) {
    h_require_real();
    char cfg[512], dir[512];
    fast_config(cfg, sizeof cfg, NULL);
    h_path(dir, sizeof dir, "grid");
    const char *argv[] = {"--config",
                          cfg,
                          "--checkpoint-dir",
                          dir,
                          "--set",
                          "agent.gamma=0.99,0.995",
                          "--runs",
                          "2",
                          "--episodes",
                          "6",
                          "--parallel",
                          "2",
                          "--exit-on-complete",
                          NULL};
    char *out;
    int code = run(&out, 120000, argv);
    expect_code(code, 0, out);
    static const char *const names[] = {"agent.gamma=0.99,seed=42", "agent.gamma=0.99,seed=43",
                                        "agent.gamma=0.995,seed=42", "agent.gamma=0.995,seed=43"};
    char *sweep = read_sweep_file(dir);
    for (int i = 0; i < 4; i++) {
        char p[800], line[300];
        snprintf(line, sizeof line, "[%s] INFO trainer: new run in", names[i]);
        expect_in(out, line);
        snprintf(line, sizeof line, "name = \"%s\"\nstate = \"done\"", names[i]);
        expect_in(sweep, line);
        snprintf(p, sizeof p, "%s/%s/config.toml", dir, names[i]);
        cfg_config c;
        char err[512];
        ck_assert_msg(cfg_load_file(&c, p, err, sizeof err) == 0, "%s", err);
        ck_assert(c.agent.gamma == (i < 2 ? 0.99 : 0.995));
        ck_assert_int_eq((int)c.training.seed, 42 + i % 2);
        ck_assert_int_eq(c.agent.hidden[0], 32); /* the base config under the overrides */
        snprintf(p, sizeof p, "%s/%s/checkpoints/ep_0000006.ckpt", dir, names[i]);
        ck_assert_msg(access(p, F_OK) == 0, "%s missing", p);
    }
    ck_assert_ptr_nonnull(strstr(sweep, "\"agent.gamma\" = [0.99, 0.995]"));
    ck_assert_ptr_nonnull(strstr(out, "Sweep finished: 4 of 4 runs done, 0 failed"));
    free(sweep);
    free(out);
    ck_assert_int_eq(h_survivors(1000), 0);
}
END_TEST

/* The same grid from a file: the file's own config (relative to it), seeds and axes. */
START_TEST(sweep_file_makes_the_same_grid) {
    h_require_real();
    char cfg[512], file[512], dir[512];
    fast_config(cfg, sizeof cfg, NULL);
    h_path(file, sizeof file, "grid.toml");
    h_write(file, "config = \"fast.toml\"\nepisodes = 4\nparallel = 2\nseeds = [7, 9]\n"
                  "[set.training]\ncheckpoint_every = 2\n[axes.agent]\nbatch_size = [16, 32]\n");
    h_path(dir, sizeof dir, "fromfile");
    const char *argv[] = {"--sweep", file, "--checkpoint-dir", dir, "--exit-on-complete", NULL};
    char *out;
    int code = run(&out, 120000, argv);
    expect_code(code, 0, out);
    static const char *const names[] = {"agent.batch_size=16,seed=7", "agent.batch_size=16,seed=9",
                                        "agent.batch_size=32,seed=7", "agent.batch_size=32,seed=9"};
    for (int i = 0; i < 4; i++) {
        char p[800];
        snprintf(p, sizeof p, "%s/%s/checkpoints/ep_0000004.ckpt", dir, names[i]);
        ck_assert_msg(access(p, F_OK) == 0, "%s missing", p);
    }
    ck_assert_ptr_nonnull(strstr(out, "sweep of 4 runs, 2 at once"));
    free(out);
    ck_assert_int_eq(h_survivors(1000), 0);
}
END_TEST

/* ---- trainer --job ---- */

START_TEST(trainer_job_goes_into_the_hello) {
    h_require_real();
    for (int with = 0; with < 2; with++) {
        testsrv *srv = testsrv_start(0, 64);
        ck_assert_ptr_nonnull(srv);
        char url[128], dir[512], prog[512], cfg[512];
        snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws/trainer", testsrv_port(srv));
        h_path(dir, sizeof dir, with ? "job1" : "job0");
        fast_config(cfg, sizeof cfg, NULL);
        snprintf(prog, sizeof prog, "%s/trainer", tpaths_bin_dir());
        pid_t pid = fork();
        if (pid == 0) {
            int fd = open("/dev/null", O_WRONLY);
            dup2(fd, 1);
            dup2(fd, 2);
            if (with)
                execl(prog, prog, "--config", cfg, "--run-dir", dir, "--episodes", "1", "--server",
                      url, "--job", "agent.gamma=0.99,seed=3", (char *)NULL);
            else
                execl(prog, prog, "--config", cfg, "--run-dir", dir, "--episodes", "1", "--server",
                      url, (char *)NULL);
            _exit(127);
        }
        ck_assert(testsrv_wait_count(srv, 1, 20000));
        char hello[4096];
        testsrv_message(srv, 0, hello, sizeof hello);
        ck_assert_msg(strstr(hello, "\"type\":\"hello\""), "%s", hello);
        if (with)
            ck_assert_msg(strstr(hello, ",\"job\":\"agent.gamma=0.99,seed=3\"}"), "%s", hello);
        else
            ck_assert_msg(!strstr(hello, "\"job\""), "%s", hello);
        kill(pid, SIGTERM);
        ck_assert_int_eq(h_code(h_wait(pid, 20000)), 0);
        testsrv_stop(srv);
    }
    /* A name that is not safe in JSON or a URL: usage error. */
    char prog[512], dir[512];
    snprintf(prog, sizeof prog, "%s/trainer", tpaths_bin_dir());
    h_path(dir, sizeof dir, "job2");
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 2);
        execl(prog, prog, "--run-dir", dir, "--episodes", "1", "--job", "a\"b/c", (char *)NULL);
        _exit(127);
    }
    ck_assert_int_eq(h_code(h_wait(pid, 10000)), 2);
}
END_TEST

/* ---- failure of one run ---- */

START_TEST(failed_run_is_marked_and_the_sweep_goes_on) {
    h_require_real();
    char cfg[512], dir[512];
    /* The trainer of seed=43 exits 3 at once, every time: beyond a budget of 1 restart. */
    fast_config(cfg, sizeof cfg,
                "[processes.trainer]\nmax_restarts = 1\nbackoff_initial = 0.05\n"
                "command = [\"/bin/sh\", \"-c\", \"case '{run_dir}' in *seed=43) echo boom; exit "
                "3;; esac; exec '{bindir}/trainer' --config '{config}' --run-dir '{run_dir}' "
                "--episodes {episodes} --server ws://{host}:{port}/ws/trainer\"]\n");
    h_path(dir, sizeof dir, "fail");
    const char *argv[] = {"--config",   cfg, "--checkpoint-dir",   dir,
                          "--runs",     "3", "--episodes",         "4",
                          "--parallel", "2", "--exit-on-complete", NULL};
    char *out;
    int code = run(&out, 120000, argv);
    expect_code(code, 1, out);
    ck_assert_msg(strstr(out, "run seed=43 failed (exit status 3 after 1 restart within"), "%s",
                  out);
    ck_assert_ptr_nonnull(strstr(out, "[seed=43] boom"));
    ck_assert_ptr_nonnull(strstr(out, "Sweep finished: 2 of 3 runs done, 1 failed"));
    char *sweep = read_sweep_file(dir);
    ck_assert_ptr_nonnull(strstr(sweep, "name = \"seed=43\"\nstate = \"failed\""));
    ck_assert_ptr_nonnull(strstr(sweep, "name = \"seed=42\"\nstate = \"done\""));
    ck_assert_ptr_nonnull(strstr(sweep, "name = \"seed=44\"\nstate = \"done\""));
    free(sweep);
    free(out);
    ck_assert_int_eq(h_survivors(1000), 0);
}
END_TEST

/* ---- SIGINT and resume: exact ---- */

START_TEST(sigint_mid_sweep_then_resume_is_exact) {
    h_require_real();
    char cfg[512], ref[512], cut[512];
    fast_config(cfg, sizeof cfg, NULL);
    h_path(ref, sizeof ref, "ref");
    h_path(cut, sizeof cut, "cut");
    static const char *const names[] = {"seed=42", "seed=43", "seed=44"};
    const char *eps = "400";
    /* Uninterrupted. */
    const char *argv_ref[] = {"--config",   cfg, "--checkpoint-dir",   ref,
                              "--runs",     "3", "--episodes",         eps,
                              "--parallel", "2", "--exit-on-complete", NULL};
    char *out;
    int code = run(&out, 300000, argv_ref);
    expect_code(code, 0, out);
    expect_in(out, "[run_demo] Sweep: "); /* the sweep's line per 100 episodes */
    expect_in(out, " running, ");
    expect_in(out, "[run_demo] [seed=42] Episodes 1-100: mean survival");
    free(out);
    /* Interrupted once the first run is well under way. */
    const char *argv_cut[] = {"--config",   cfg, "--checkpoint-dir", cut, "--runs", "3",
                              "--episodes", eps, "--parallel",       "2", NULL};
    char path[512];
    pid_t pid = start(path, sizeof path, argv_cut);
    long long end = h_now_ms() + 120000;
    while (runcmp_episode(cut, names[0]) < 40 && h_now_ms() < end) h_sleep_ms(5);
    kill(pid, SIGINT);
    int st = h_wait(pid, 60000);
    out = h_read(path);
    expect_code(h_code(st), 130, out);
    free(out);
    ck_assert_int_eq(h_survivors(1000), 0);
    char *sweep = read_sweep_file(cut);
    ck_assert_msg(strstr(sweep, "state = \"stopped\"") || strstr(sweep, "state = \"queued\""),
                  "the interrupt came too late to test a resume:\n%s", sweep);
    free(sweep);
    /* Continued: the sweep directory alone says what to do. */
    const char *argv_res[] = {"--config", cfg, "--checkpoint-dir", cut, "--exit-on-complete", NULL};
    code = run(&out, 300000, argv_res);
    expect_code(code, 0, out);
    ck_assert_ptr_nonnull(strstr(out, "continuing the sweep of 3 runs"));
    free(out);
    ck_assert_int_eq(h_survivors(1000), 0);
    for (int i = 0; i < 3; i++) runcmp_expect_same_final(ref, cut, names[i], atol(eps));
    sweep = read_sweep_file(cut);
    ck_assert_int_eq(h_count(sweep, "state = \"done\""), 3);
    free(sweep);
    /* Finished runs stay finished: a second resume starts nothing. */
    code = run(&out, 60000, argv_res);
    expect_code(code, 0, out);
    if (strstr(out, "starting run")) printf("%s\n", out);
    ck_assert_msg(!strstr(out, "starting run"), "a finished run was started again");
    free(out);
}
END_TEST

/* ---- single runs with overrides, --resume of the newest sweep, --help ---- */

START_TEST(single_run_with_set_keeps_the_single_layout) {
    h_require_real();
    char cfg[512], dir[512], p[700];
    fast_config(cfg, sizeof cfg, NULL);
    h_path(dir, sizeof dir, "single");
    const char *argv[] = {"--config",
                          cfg,
                          "--checkpoint-dir",
                          dir,
                          "--set",
                          "training.checkpoint_every=2",
                          "--runs",
                          "1",
                          "--episodes",
                          "4",
                          "--exit-on-complete",
                          NULL};
    char *out;
    int code = run(&out, 120000, argv);
    expect_code(code, 0, out);
    free(out);
    snprintf(p, sizeof p, "%s/sweep.toml", dir);
    ck_assert_msg(access(p, F_OK) != 0, "a single run got a sweep.toml");
    snprintf(p, sizeof p, "%s/checkpoints/ep_0000002.ckpt", dir); /* every 2, not every 5 */
    ck_assert_msg(access(p, F_OK) == 0, "%s missing", p);
    snprintf(p, sizeof p, "%s/config.set.toml", dir);
    cfg_config c;
    char err[512];
    ck_assert_msg(cfg_load_file(&c, p, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(c.training.checkpoint_every, 2);
    ck_assert_int_eq(c.agent.hidden[0], 32);
}
END_TEST

START_TEST(resume_continues_the_newest_sweep) {
    h_require_real();
    char cfg[512], runs[600];
    fast_config(cfg, sizeof cfg, NULL);
    const char *first[] = {"--config",           cfg, "--runs",     "2",
                           "--parallel",         "2", "--episodes", "3",
                           "--exit-on-complete", NULL};
    char *out;
    int code = run(&out, 120000, first);
    expect_code(code, 0, out);
    free(out);
    /* Both runs are done; --episodes 5 asks for more: both continue to 5. */
    const char *again[] = {"--config",           cfg, "--resume", "--episodes", "5",
                           "--exit-on-complete", NULL};
    code = run(&out, 120000, again);
    expect_code(code, 0, out);
    expect_in(out, "continuing the sweep of 2 runs");
    expect_in(out, "[seed=43] INFO trainer: resumed from");
    free(out);
    snprintf(runs, sizeof runs, "%s/runs", h_dir);
    char sweep[800];
    ck_assert_int_eq(plan_find_latest_run(runs, "fast", sweep, sizeof sweep), 0);
    for (int s = 42; s <= 43; s++) {
        char p[1000];
        snprintf(p, sizeof p, "%s/seed=%d/checkpoints/ep_0000005.ckpt", sweep, s);
        ck_assert_msg(access(p, F_OK) == 0, "%s missing", p);
    }
}
END_TEST

START_TEST(help_shows_the_sweep_flags_and_two_examples) {
    const char *argv[] = {"--help", NULL};
    char *out;
    ck_assert_int_eq(run(&out, 20000, argv), 0);
    static const char *const want[] = {
        "--runs N",          "--set SECTION.KEY=V[,V...]",
        "--sweep FILE",      "--parallel P",
        "run_demo --runs 4", "run_demo --config level2 --set agent.gamma=0.99,0.995"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) expect_in(out, want[i]);
    free(out);
}
END_TEST

/* ---- disk: only the newest checkpoint keeps the replay ---- */

static int run_trainer(const char *cfg, const char *dir, const char *episodes, const char *log) {
    char prog[512];
    snprintf(prog, sizeof prog, "%s/trainer", tpaths_bin_dir());
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(prog, prog, "--config", cfg, "--run-dir", dir, "--episodes", episodes, (char *)NULL);
        _exit(127);
    }
    return h_code(h_wait(pid, 120000));
}

static bool has_replay(const char *dir, long ep) {
    char p[700], err[512];
    snprintf(p, sizeof p, "%s/checkpoints/ep_%07ld.ckpt", dir, ep);
    ckpt_file *f = ckpt_open(p, 0, err, sizeof err);
    ck_assert_msg(f, "%s", err);
    bool has = ckpt_file_section(f, CKPT_TAG('R', 'P', 'L', 'Y'), NULL) != NULL;
    ck_assert_ptr_nonnull(ckpt_file_section(f, CKPT_TAG('A', 'D', 'A', 'M'), NULL));
    ckpt_file_free(f);
    return has;
}

START_TEST(only_the_newest_checkpoint_keeps_the_replay) {
    h_require_real();
    char cfg[512], dir[512], log[512];
    fast_config(cfg, sizeof cfg, NULL);
    h_path(dir, sizeof dir, "disk");
    h_path(log, sizeof log, "disk.txt");
    ck_assert_int_eq(run_trainer(cfg, dir, "20", log), 0);
    /* ep 5, 10, 15 hold weights, optimizer and state; ep 20, the newest, the replay too. */
    for (long ep = 5; ep < 20; ep += 5) ck_assert_msg(!has_replay(dir, ep), "ep %ld", ep);
    ck_assert(has_replay(dir, 20));
    /* The newest lost: the run falls back to ep 15, says it is not exact, and goes on. */
    char p[700];
    snprintf(p, sizeof p, "%s/checkpoints/ep_0000020.ckpt", dir);
    ck_assert_int_eq(unlink(p), 0);
    snprintf(p, sizeof p, "%s/checkpoints/latest", dir);
    unlink(p);
    ck_assert_int_eq(run_trainer(cfg, dir, "25", log), 0);
    char *out = h_read(log);
    expect_in(out, "ep_0000015.ckpt holds no replay buffer");
    expect_in(out, "resumed from");
    free(out);
    ck_assert(has_replay(dir, 25));
    ck_assert(!has_replay(dir, 15));
}
END_TEST

/* ---- waits on the server: several jobs at once ---- */

/* Both trainers of a 2-run sweep are linked at once (no 4009), and /api/jobs lists both
 * runs by their names. */
START_TEST(server_links_every_job_of_a_sweep) {
    h_require_real();
    char cfg[512], dir[512], out[512], port[16], fport[16], runs[600];
    fast_config(cfg, sizeof cfg, NULL);
    h_path(dir, sizeof dir, "jobs");
    int p = h_free_port();
    snprintf(port, sizeof port, "%d", p);
    snprintf(fport, sizeof fport, "%d", h_free_port());
    snprintf(runs, sizeof runs, "RD_RUNS_DIR=%s/runs", h_dir);
    h_next_out(out, sizeof out);
    const char *argv[] = {
        "--port",   port,         "--frontend-port",  fport, "--frontend", "none", "--no-browser",
        "--config", cfg,          "--checkpoint-dir", dir,   "--runs",     "2",    "--parallel",
        "2",        "--episodes", "100000",           NULL};
    const char *env[] = {runs, NULL};
    pid_t pid = h_start_env(out, env, argv);
    ck_assert(h_wait_output(out, "[seed=43] INFO trainer: link: connected", 30000));
    h_sleep_ms(1000);
    char body[65536], err[256];
    int status =
        wsc_http(p, "GET", "/api/jobs", NULL, 5000, body, sizeof body, NULL, 0, err, sizeof err);
    kill(pid, SIGINT);
    int st = h_wait(pid, 30000);
    char *text = h_read(out);
    ck_assert_int_eq(status, 200);
    expect_in(body, "seed=42");
    expect_in(body, "seed=43");
    /* What the server holds: each job's own trainer linked at once (a fresh RD_RUNS_DIR,
     * so no past run is listed). */
    ck_assert_int_eq(h_count(body, "\"trainer_connected\":true"), 2);
    /* The refusal's own log lines (server and trainer), not the bare code: the trainers'
     * progress lines are full of numbers ("loss 1.4009" failed this once). */
    bool refused = strstr(text, "refused (4009)") || strstr(text, "(code 4009:");
    if (refused) printf("%s\n", text);
    ck_assert_msg(!refused, "a sweep trainer was refused");
    free(text);
    ck_assert_int_eq(h_code(st), 130);
}
END_TEST

/* ---- kill -9 ---- */

static int trials(const char *var, int dflt) {
    const char *v = getenv(var);
    return v && atoi(v) > 0 ? atoi(v) : dflt;
}

START_TEST(kill9_sweep_two_trainers_leaves_nothing) {
    h_require_real();
    char nm[600];
    snprintf(nm, sizeof nm, "%s/frontend/node_modules", RD_SOURCE_DIR);
    bool dev = access(nm, F_OK) == 0;
    int n = trials("RD_ORCH_SWEEP_KILL_TRIALS", 3);
    unsigned long long rng = 0x2545F4914F6CDD1DULL;
    for (int t = 0; t < n; t++) {
        char dir[512], name[32], out[512];
        snprintf(name, sizeof name, "k%d", t);
        h_path(dir, sizeof dir, name);
        const char *argv[] = {"--checkpoint-dir",
                              dir,
                              "--runs",
                              "4",
                              "--parallel",
                              "2",
                              "--episodes",
                              "100000",
                              "--frontend",
                              dev ? "dev" : "none",
                              NULL};
        pid_t pid = start(out, sizeof out, argv);
        ck_assert_msg(h_wait_output(out, "All systems operational", 60000),
                      "trial %d: not operational", t);
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        h_sleep_ms((long)(rng % 1500));
        kill(pid, SIGKILL);
        h_wait(pid, 5000);
        int left = h_survivors(1000);
        ck_assert_msg(left == 0, "trial %d: %d processes survived kill -9 by 1 s", t, left);
    }
    printf("kill -9 of a 2-trainer sweep%s: %d trials, 0 survivors\n",
           dev ? " with npm run dev" : "", n);
}
END_TEST

int main(void) {
    Suite *s = suite_create("orch_sweep");
    TCase *tc = tcase_create("sweep");
    tcase_add_checked_fixture(tc, h_setup, h_cleanup);
    tcase_set_timeout(tc, 900);
    tcase_add_loop_test(tc, override_errors_exact_message_nothing_started, 0,
                        (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, sweep_file_errors_name_file_line_column);
    tcase_add_test(tc, values_split_and_names_are_safe);
    tcase_add_test(tc, grid_layout_names_and_states);
    tcase_add_test(tc, sweep_file_makes_the_same_grid);
    tcase_add_test(tc, trainer_job_goes_into_the_hello);
    tcase_add_test(tc, failed_run_is_marked_and_the_sweep_goes_on);
    tcase_add_test(tc, sigint_mid_sweep_then_resume_is_exact);
    tcase_add_test(tc, single_run_with_set_keeps_the_single_layout);
    tcase_add_test(tc, resume_continues_the_newest_sweep);
    tcase_add_test(tc, help_shows_the_sweep_flags_and_two_examples);
    tcase_add_test(tc, only_the_newest_checkpoint_keeps_the_replay);
    tcase_add_test(tc, server_links_every_job_of_a_sweep);
    suite_add_tcase(s, tc);
    /* Its own case, so that CK_RUN_CASE=kill9 runs the long trials alone. */
    TCase *k9 = tcase_create("kill9");
    tcase_add_checked_fixture(k9, h_setup, h_cleanup);
    tcase_set_timeout(k9, 900);
    tcase_add_test(k9, kill9_sweep_two_trainers_leaves_nothing);
    suite_add_tcase(s, k9);
    return runner_run(s) ? 1 : 0;
}
