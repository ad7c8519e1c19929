/* tests/test_slurm_script.c — the parts of orchestrator/slurm that need no cluster: the
 * batch script (its #SBATCH lines; run directories and arguments with quotes, $, `,
 * newlines reach the trainer byte for byte when bash runs the script; values a #SBATCH
 * line cannot carry are refused), squeue output that is odd or hostile, and the bounds of
 * one child process (killed at its timeout, output capped, a missing program named). */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "orchestrator/slurm.h"
#include "tests/support/runner.h"
#include "tests/support/scratch.h"

static char tmp[128];

static void tmp_up(void) {
    snprintf(tmp, sizeof tmp, "/tmp/rd-slurm-script.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void tmp_down(void) {
    scratch_rm_rf(tmp);
}

static const char *const hostile_dirs[] = {"/tmp/a b/seed=0", "/tmp/it's/$HOME/`id`",
                                           "/tmp/new\nline/\"q\"\\"};

static slurm_spec spec_for(const slurm_task *tasks, size_t n, const char *trainer) {
    static const char *const extra[] = {"--constraint=fast", "--nice=5", NULL};
    return (slurm_spec){.job_name = "rd-sweep",
                        .partition = "gpu",
                        .time_limit = "2:00:00",
                        .cpus = 4,
                        .mem = "8G",
                        .account = "proj1",
                        .qos = "high",
                        .extra = extra,
                        .warn_seconds = 120,
                        .parallel = 2,
                        .sweep_dir = tmp,
                        .trainer = trainer,
                        .server_url = "ws://head-1:8000/ws/trainer",
                        .tasks = tasks,
                        .n_tasks = n};
}

START_TEST(script_has_every_sbatch_line) {
    static const char *const args[] = {"--seed", "0", NULL};
    slurm_task tasks[] = {{"/runs/seed=0", args}};
    slurm_spec s = spec_for(tasks, 1, "/opt/rd/trainer");
    char err[256];
    char *text = slurm_script(&s, err, sizeof err);
    ck_assert_msg(text != NULL, "%s", err);
    static const char *const lines[] = {"#!/bin/bash\n",
                                        "\n#SBATCH --job-name=rd-sweep\n",
                                        "\n#SBATCH --partition=gpu\n",
                                        "\n#SBATCH --array=0-0%2\n",
                                        "\n#SBATCH --time=2:00:00\n",
                                        "\n#SBATCH --cpus-per-task=4\n",
                                        "\n#SBATCH --mem=8G\n",
                                        "\n#SBATCH --account=proj1\n",
                                        "\n#SBATCH --qos=high\n",
                                        "\n#SBATCH --requeue\n",
                                        "\n#SBATCH --signal=B:USR1@120\n",
                                        "\n#SBATCH --constraint=fast\n",
                                        "\n#SBATCH --nice=5\n",
                                        "\n#SBATCH --open-mode=append\n",
                                        "\n#SBATCH --output=",
                                        "/slurm/task-%a.out\n",
                                        "\nserver='ws://head-1:8000/ws/trainer'\n",
                                        "\ntrainer='/opt/rd/trainer'\n"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        ck_assert_msg(strstr(text, lines[i]), "missing: %s\n---\n%s", lines[i], text);
    /* Every #SBATCH line comes before the first command, or sbatch ignores it. */
    char *last = strstr(text, "#SBATCH --nice=5");
    ck_assert(last && strstr(text, "\nset -u") && last < strstr(text, "\nset -u"));
    free(text);
}
END_TEST

/* Each task's arguments, however odd, reach the trainer exactly: bash runs the script as
 * Slurm would (SLURM_ARRAY_TASK_ID set), with a trainer that prints its argv. */
START_TEST(script_quotes_survive_bash) {
    char trainer[256], script[256], out[256], cmd[1024];
    snprintf(trainer, sizeof trainer, "%s/trainer", tmp);
    scratch_write(trainer, "#!/bin/sh\nprintf '[%s]' \"$@\"\n");
    ck_assert_int_eq(chmod(trainer, 0755), 0);
    static const char *const a0[] = {"--note", "it's \"$(rm -rf /)\" `x` \\ ;|&", NULL};
    static const char *const a1[] = {"--empty", "", NULL};
    slurm_task tasks[3] = {{hostile_dirs[0], a0}, {hostile_dirs[1], a1}, {hostile_dirs[2], NULL}};
    slurm_spec s = spec_for(tasks, 3, trainer);
    char err[256];
    snprintf(script, sizeof script, "%s/sweep.sbatch", tmp);
    ck_assert_msg(slurm_script_write(&s, script, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < 3; i++) {
        snprintf(out, sizeof out, "%s/out%d", tmp, i);
        snprintf(cmd, sizeof cmd, "SLURM_ARRAY_TASK_ID=%d " SLURM_TOKEN_ENV "=t bash %s > %s 2>&1",
                 i, script, out);
        ck_assert_int_eq(system(cmd), 0);
        FILE *f = fopen(out, "r");
        ck_assert_ptr_nonnull(f);
        char got[1024] = "";
        size_t n = fread(got, 1, sizeof got - 1, f);
        got[n] = '\0';
        fclose(f);
        char want[1024];
        int k = snprintf(want, sizeof want, "[--run-dir][%s]", hostile_dirs[i]);
        for (const char *const *a = tasks[i].args; a && *a; a++)
            k += snprintf(want + k, sizeof want - (size_t)k, "[%s]", *a);
        snprintf(want + k, sizeof want - (size_t)k, "[--server][ws://head-1:8000/ws/trainer]");
        ck_assert_str_eq(got, want);
    }
    /* No token in the job's environment: the script says so and exits 2, trainer unrun. */
    snprintf(cmd, sizeof cmd,
             "env -u " SLURM_TOKEN_ENV " SLURM_ARRAY_TASK_ID=0 bash %s > %s/notoken 2>&1", script,
             tmp);
    ck_assert_int_eq(WEXITSTATUS(system(cmd)), 2);
    /* A task id the script does not know: exit 2. */
    snprintf(cmd, sizeof cmd, "SLURM_ARRAY_TASK_ID=7 " SLURM_TOKEN_ENV "=t bash %s >/dev/null 2>&1",
             script);
    ck_assert_int_eq(WEXITSTATUS(system(cmd)), 2);
}
END_TEST

START_TEST(script_refuses_what_sbatch_lines_cannot_carry) {
    slurm_task tasks[] = {{"/runs/x", NULL}};
    char err[256];
    slurm_spec s = spec_for(tasks, 1, "/opt/rd/trainer");
    s.partition = "gpu debug";
    ck_assert_ptr_null(slurm_script(&s, err, sizeof err));
    ck_assert_str_eq(err, "slurm: the partition contains a space, quote, backslash or control "
                          "character, which a #SBATCH line cannot carry");
    s = spec_for(tasks, 1, "/opt/rd/trainer");
    static const char *const extra[] = {"--comment=\"x\"", NULL};
    s.extra = extra;
    ck_assert_ptr_null(slurm_script(&s, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "an extra sbatch argument"));
    s = spec_for(tasks, 1, "trainer");
    ck_assert_ptr_null(slurm_script(&s, err, sizeof err));
    ck_assert_str_eq(err, "slurm: the sweep directory and the trainer must be absolute");
    slurm_task rel[] = {{"runs/x", NULL}};
    s = spec_for(rel, 1, "/opt/rd/trainer");
    ck_assert_ptr_null(slurm_script(&s, err, sizeof err));
    ck_assert_str_eq(err, "slurm: run 0 has no absolute run directory");
}
END_TEST

START_TEST(squeue_odd_output) {
    slurm_task_status t[4] = {0};
    t[3].state = SLURM_RUNNING; /* known before, absent now: gone */
    const char *text = "12|0|PENDING||JobArrayTaskLimit\n"
                       "12|1|RUNNING|node-7|None\n"
                       "13|2|RUNNING|other-job|None\n" /* another job */
                       "12|99|RUNNING|n|None\n"        /* out of range */
                       "12|-1|RUNNING|n|None\n"        /* not a task id */
                       "12|2\n"                        /* too few fields */
                       "garbage without bars\n"
                       "\n"
                       "12|2|PENDING||Reason|with|bars\x1b[31m" /* reason last, no newline */;
    ck_assert_int_eq(slurm_parse_squeue(text, 12, t, 4), 3);
    ck_assert_int_eq(t[0].state, SLURM_PENDING);
    ck_assert_str_eq(t[0].reason, "JobArrayTaskLimit");
    ck_assert_int_eq(t[1].state, SLURM_RUNNING);
    ck_assert_str_eq(t[1].node, "node-7");
    ck_assert_str_eq(t[1].reason, "");
    ck_assert_int_eq(t[2].state, SLURM_PENDING);
    ck_assert_str_eq(t[2].reason, "Reason|with|bars?[31m");
    ck_assert_int_eq(t[3].state, SLURM_GONE);
    /* States: Slurm's names to ours; an unknown one is kept raw; fields are bounded. */
    char big[600];
    memset(big, 'n', sizeof big);
    big[sizeof big - 1] = '\0';
    char line[800];
    snprintf(line, sizeof line,
             "12|0|TIMEOUT|%s|None\n12|1|SUSPENDED||None\n12|2|CANCELLED||None\n"
             "12|3|OUT_OF_MEMORY||None\n",
             big);
    ck_assert_int_eq(slurm_parse_squeue(line, 12, t, 4), 4);
    ck_assert_int_eq(t[0].state, SLURM_TIMEOUT);
    ck_assert_uint_eq(strlen(t[0].node), sizeof t[0].node - 1);
    ck_assert_int_eq(t[1].state, SLURM_OTHER);
    ck_assert_str_eq(t[1].raw, "SUSPENDED");
    ck_assert_int_eq(t[2].state, SLURM_CANCELLED);
    ck_assert_int_eq(t[3].state, SLURM_FAILED);
    ck_assert_str_eq(slurm_state_name(t[3].state), "failed");
    /* Nothing at all (the job is forgotten): every known task is gone. */
    ck_assert_int_eq(slurm_parse_squeue("", 12, t, 4), 0);
    for (int i = 0; i < 4; i++) ck_assert_int_eq(t[i].state, SLURM_GONE);
}
END_TEST

START_TEST(exec_is_bounded) {
    slurm_exec x;
    char err[256];
    const char *slow[] = {"sleep", "30", NULL};
    ck_assert_int_eq(slurm_exec_run(&x, slow, NULL, 300, err, sizeof err), -1);
    ck_assert(x.timed_out);
    ck_assert_str_eq(err, "slurm: sleep did not answer within 300 ms (killed)");
    slurm_exec_free(&x);

    const char *flood[] = {"head", "-c", "3000000", "/dev/zero", NULL};
    ck_assert_int_eq(slurm_exec_run(&x, flood, NULL, 10000, err, sizeof err), 0);
    ck_assert(x.truncated);
    ck_assert_uint_eq(x.out_len, SLURM_OUT_MAX);
    slurm_exec_free(&x);

    const char *missing[] = {"no-such-program-rd", NULL};
    ck_assert_int_eq(slurm_exec_run(&x, missing, NULL, 1000, err, sizeof err), -1);
    ck_assert_str_eq(err, "slurm: no-such-program-rd is not on the PATH");
    slurm_exec_free(&x);

    /* The extra environment reaches the child, replacing a same-named variable. */
    setenv("RD_SLURM_T", "old", 1);
    const char *extra[] = {"RD_SLURM_T=new", NULL};
    const char *show[] = {"sh", "-c", "printf %s \"$RD_SLURM_T\"; echo oops >&2; exit 3", NULL};
    ck_assert_int_eq(slurm_exec_run(&x, show, extra, 5000, err, sizeof err), -1);
    ck_assert_str_eq(x.out, "new");
    ck_assert_str_eq(err, "slurm: sh exited 3: oops");
    slurm_exec_free(&x);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("slurm_script");
    TCase *tc = tcase_create("offline");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, tmp_up, tmp_down);
    tcase_add_test(tc, script_has_every_sbatch_line);
    tcase_add_test(tc, script_quotes_survive_bash);
    tcase_add_test(tc, script_refuses_what_sbatch_lines_cannot_carry);
    tcase_add_test(tc, squeue_odd_output);
    tcase_add_test(tc, exec_is_bounded);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return runner_run(suite()) ? EXIT_FAILURE : EXIT_SUCCESS;
}
