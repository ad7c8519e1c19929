/* tests/test_orch_summary.c — run_demo's exit summary (orchestrator/summary.h): episodes
 * and total from progress.json (an extended total wins over --episodes), the best
 * evaluation, the run directory, and a resume command that a shell reads back as the
 * same words even when the paths hold spaces and quotes; nothing for a run directory that
 * was never made; a sweep's totals over its runs and the command that continues it. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "orchestrator/plan.h"
#include "orchestrator/summary.h"
#include "tests/support/runner.h"
#include "tests/support/scratch.h"

static plan_t plan;
static char out[8192];

START_TEST(test_summary_lines_and_resume_command) {
    char base[64];
    snprintf(base, sizeof base, "/tmp/rd_test_summary_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(base));
    memset(&plan, 0, sizeof plan);
    snprintf(plan.run_dir, sizeof plan.run_dir, "%s/it's a run", base);
    snprintf(plan.config_path, sizeof plan.config_path, "%s/level1.toml", base);
    plan.episodes = 100;
    ck_assert_uint_eq(summary_format(&plan, 3725.4, out, sizeof out), 0); /* no directory */
    ck_assert_int_eq(mkdir(plan.run_dir, 0755), 0);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/progress.json", plan.run_dir);
    scratch_write(path,
                  "{\"status\":\"completed\",\"episode\":130,\"total\":130,\"best\":412.5}\n");
    ck_assert_uint_gt(summary_format(&plan, 3725.4, out, sizeof out), 0);
    ck_assert_msg(strstr(out, "episodes done   130 of 130 (completed)"), "%s", out);
    ck_assert_msg(strstr(out, "best evaluation 412.5 steps (its checkpoint is no longer on disk)"),
                  "%s", out);
    ck_assert_msg(strstr(out, "wall time       1h 02m 05s"), "%s", out);
    ck_assert_msg(strstr(out, "raise --episodes"), "%s", out);

    /* The command, run through a shell's word splitting, gives back the exact paths. */
    const char *cmd = strstr(out, "./run_demo ");
    ck_assert_ptr_nonnull(cmd);
    char line[4096], sh[4300];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(cmd, "\n"), cmd);
    snprintf(sh, sizeof sh, "set -- %s; printf '%%s\\n' \"$@\"", line + strlen("./run_demo "));
    FILE *p = popen("sh -s", "w");
    ck_assert_ptr_nonnull(p);
    char outpath[128];
    snprintf(outpath, sizeof outpath, "%s/words", base);
    fprintf(p, "(%s) > '%s'\n", sh, outpath);
    ck_assert_int_eq(pclose(p), 0);
    FILE *f = fopen(outpath, "r");
    ck_assert_ptr_nonnull(f);
    char words[6][PATH_MAX];
    int n = 0;
    while (n < 6 && fgets(words[n], sizeof words[n], f)) {
        words[n][strcspn(words[n], "\n")] = 0;
        n++;
    }
    fclose(f);
    ck_assert_int_eq(n, 6);
    ck_assert_str_eq(words[0], "--checkpoint-dir");
    ck_assert_str_eq(words[1], plan.run_dir);
    ck_assert_str_eq(words[2], "--config");
    ck_assert_str_eq(words[3], plan.config_path);
    ck_assert_str_eq(words[4], "--episodes");
    ck_assert_str_eq(words[5], "130"); /* the extended total, not --episodes 100 */
    scratch_rm_rf(base);
}
END_TEST

START_TEST(test_sweep_summary) {
    char base[64], path[PATH_MAX + 64];
    snprintf(base, sizeof base, "/tmp/rd_test_summary_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(base));
    memset(&plan, 0, sizeof plan);
    snprintf(plan.run_dir, sizeof plan.run_dir, "%s/sweep dir", base);
    ck_assert_int_eq(mkdir(plan.run_dir, 0755), 0);
    plan.is_sweep = true;
    plan.sweep.n_runs = 2;
    const char *names[] = {"seed=42", "seed=43"};
    for (int r = 0; r < 2; r++) {
        snprintf(plan.sweep.runs[r].name, sizeof plan.sweep.runs[r].name, "%s", names[r]);
        plan.sweep.runs[r].episodes = 50;
        plan.sweep.runs[r].state = r ? SWEEP_STOPPED : SWEEP_DONE;
        char dir[PATH_MAX];
        plan_run_dir(&plan, r, dir, sizeof dir);
        ck_assert_int_eq(mkdir(dir, 0755), 0);
        snprintf(path, sizeof path, "%s/progress.json", dir);
        scratch_write(path, r ? "{\"status\":\"stopped\",\"episode\":20,\"total\":50}\n"
                              : "{\"status\":\"completed\",\"episode\":50,\"total\":50}\n");
    }
    ck_assert_uint_gt(summary_format(&plan, 59.6, out, sizeof out), 0);
    ck_assert_msg(strstr(out, "Summary (a sweep of 2 runs):"), "%s", out);
    ck_assert_msg(strstr(out,
                         "episodes done   70 of 100 over all runs (1 done, 1 stopped, 0 failed, "
                         "0 queued)"),
                  "%s", out);
    ck_assert_msg(strstr(out, "wall time       0h 01m 00s"), "%s", out);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "resume with     ./run_demo --checkpoint-dir '%s'", plan.run_dir);
    ck_assert_msg(strstr(out, want), "%s", out);
    scratch_rm_rf(base);
}
END_TEST

int main(void) {
    Suite *s = suite_create("orch_summary");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_summary_lines_and_resume_command);
    tcase_add_test(tc, test_sweep_summary);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
