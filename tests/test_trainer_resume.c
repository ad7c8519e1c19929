/* tests/test_trainer_resume.c — the real trainer binary: determinism, exact resume (after
 * --episodes E/2, after SIGTERM, and from a mid-episode checkpoint that SIGTERM with no
 * grace wrote: the same weights and the same metrics.jsonl lines as a run never stopped),
 * SIGTERM writes a checkpoint and exits 0, a boundary checkpoint keeps the section layout
 * of the files written before mid-episode checkpoints existed, a run directory made with
 * another config is refused with exit 2. */
#include <check.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/ckpt.h"
#include "common/cfg.h"
#include "common/policy.h"
#include "trainer/snapshot.h"
#include "trainer/trainer.h"
#include "common/le.h"
#include "tests/support/runner.h"
#include "tests/support/scratch.h"

static char tmpdir[256];
static char config_path[512], mid_config_path[512], long_config_path[512];

/* A small network and replay so that a run takes a fraction of a second even under ASan. */
static const char *config_text = "[agent]\n"
                                 "hidden = [16, 16]\n"
                                 "replay_capacity = 2000\n"
                                 "learning_starts = 100\n"
                                 "batch_size = 8\n"
                                 "target_update_every = 300\n"
                                 "[training]\n"
                                 "checkpoint_every = 15\n"
                                 "eval_every = 10\n"
                                 "eval_episodes = 2\n"
                                 "progress_every = 1\n";

/* Episodes of a few milliseconds (a larger network and batch: the updates dominate) and
 * little between them (no progress.json, evaluation every 25 episodes), so that a signal
 * sent at a random instant lands inside one; no grace, so the first signal suspends the
 * episode at once and the checkpoint holds it in progress. */
static const char *mid_config_text = "[agent]\n"
                                     "hidden = [64, 64]\n"
                                     "replay_capacity = 2000\n"
                                     "learning_starts = 100\n"
                                     "batch_size = 32\n"
                                     "target_update_every = 300\n"
                                     "[training]\n"
                                     "checkpoint_every = 15\n"
                                     "eval_every = 25\n"
                                     "eval_episodes = 2\n"
                                     "progress_every = 1000\n"
                                     "stop_grace_seconds = 0\n";

/* A world nobody dies in (no decay, no costs, no affordable place), so an episode lasts
 * max_steps = 32,767 steps, a quarter of a second at full speed; a grace of an hour, so
 * the first signal finishes the episode and only a second one cuts it short. */
static const char *long_config_text = "[environment]\n"
                                      "max_steps = 32767\n"
                                      "fitness_health_rate = 0.0\n"
                                      "[environment.initial]\n"
                                      "money = 0.0\n"
                                      "[environment.decay]\n"
                                      "energy = 0.0\n"
                                      "hygiene = 0.0\n"
                                      "satiation = 0.0\n"
                                      "mood = 0.0\n"
                                      "social = 0.0\n"
                                      "fitness = 0.0\n"
                                      "[environment.move_cost]\n"
                                      "energy = 0.0\n"
                                      "hygiene = 0.0\n"
                                      "satiation = 0.0\n"
                                      "[environment.wait_cost]\n"
                                      "energy = 0.0\n"
                                      "[[environment.affordances]]\n"
                                      "name = \"Bed\"\n"
                                      "x = 1\n"
                                      "y = 1\n"
                                      "cost = 100.0\n"
                                      "effects = { energy = 0.5 }\n"
                                      "[agent]\n"
                                      "hidden = [32, 32]\n"
                                      "batch_size = 32\n"
                                      "replay_capacity = 50000\n"
                                      "learning_starts = 100\n"
                                      "[training]\n"
                                      "eval_every = 0\n"
                                      "stop_grace_seconds = 3600\n";

static void setup(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rd_test_trainer_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(config_path, sizeof config_path, "%s/small.toml", tmpdir);
    snprintf(mid_config_path, sizeof mid_config_path, "%s/mid.toml", tmpdir);
    scratch_write(config_path, config_text);
    scratch_write(mid_config_path, mid_config_text);
    snprintf(long_config_path, sizeof long_config_path, "%s/long.toml", tmpdir);
    scratch_write(long_config_path, long_config_text);
}

static void teardown(void) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", tmpdir);
}

static pid_t spawn_trainer(const char *config, const char *run, int episodes) {
    char bin[1024], eps[32];
    const char *dir = getenv("RD_BIN_DIR");
    snprintf(bin, sizeof bin, "%s/trainer", dir ? dir : RD_BIN_DIR);
    snprintf(eps, sizeof eps, "%d", episodes);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        unsetenv("RD_PARENT_PID");
        execl(bin, "trainer", "--config", config, "--run-dir", run, "--episodes", eps, "--seed",
              "7", "--quiet", (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Waits at most 120 s; returns the exit status or -1 (killed by a signal / timeout). */
static int wait_exit(pid_t pid) {
    for (int i = 0; i < 12000; i++) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static int run_trainer(const char *config, const char *run, int episodes) {
    return wait_exit(spawn_trainer(config, run, episodes));
}

/* The online and target weights of the newest checkpoint of run, malloc'd. */
static void *load_weights(const char *run, size_t *len, int64_t *episode) {
    char dir[600], path[1024], err[1024];
    snprintf(dir, sizeof dir, "%s/checkpoints", run);
    bool any = false;
    ckpt_file *f = ckpt_open_newest(dir, 0, path, sizeof path, &any, err, sizeof err);
    ck_assert_msg(f != NULL, "no checkpoint in %s: %s", dir, err);
    uint64_t on_len = 0, tg_len = 0;
    const void *on = ckpt_file_section(f, CKPT_TAG_ONLINE, &on_len);
    const void *tg = ckpt_file_section(f, SNAPSHOT_TAG_TARGET, &tg_len);
    ck_assert_ptr_nonnull(on);
    ck_assert_ptr_nonnull(tg);
    *len = on_len + tg_len;
    char *out = malloc(*len);
    memcpy(out, on, on_len);
    memcpy(out + on_len, tg, tg_len);
    *episode = ckpt_file_header(f)->episode;
    ckpt_file_free(f);
    return out;
}

/* Both runs ended at `episodes` with byte-identical online and target weights. */
static void expect_same_weights(const char *run_a, const char *run_b, int64_t episodes,
                                const char *what) {
    size_t la, lb;
    int64_t ea, eb;
    void *a = load_weights(run_a, &la, &ea);
    void *b = load_weights(run_b, &lb, &eb);
    ck_assert_int_eq(ea, episodes);
    ck_assert_int_eq(eb, episodes);
    ck_assert_uint_eq(la, lb);
    ck_assert_msg(memcmp(a, b, la) == 0, "%s", what);
    free(a);
    free(b);
}

static int count_lines(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

/* E episodes straight, again, and as E/2 + resume to E under `config`: byte-identical
 * weights; the runs' directories are tmpdir/<tag>_straight and tmpdir/<tag>_split. */
static void expect_exact_resume(const char *config, const char *tag, int E) {
    char straight[512], split[512], again[512];
    snprintf(straight, sizeof straight, "%s/%s_straight", tmpdir, tag);
    snprintf(split, sizeof split, "%s/%s_split", tmpdir, tag);
    snprintf(again, sizeof again, "%s/%s_again", tmpdir, tag);
    ck_assert_int_eq(run_trainer(config, straight, E), 0);
    ck_assert_int_eq(run_trainer(config, again, E), 0);
    ck_assert_int_eq(run_trainer(config, split, E / 2), 0);
    ck_assert_int_eq(run_trainer(config, split, E), 0);

    expect_same_weights(straight, again, E, "two runs with one seed differ");
    expect_same_weights(straight, split, E, "resumed run differs from the straight one");
    char m[700];
    snprintf(m, sizeof m, "%s/metrics.jsonl", split);
    ck_assert_int_eq(count_lines(m), E);
}

START_TEST(test_resume_is_exact) {
    expect_exact_resume(config_path, "plain", 30);
}
END_TEST

static char *metrics_stripped(const char *run, int *lines);

/* The learner's options that keep state across episodes: n-step returns (read across
 * consecutive replay transitions), a curriculum that advances on greedy evaluations and
 * restarts the epsilon and learning-rate schedules at every move (the episodes at a stage,
 * in the state section), the learning rate in two pieces (5 + 4 episodes). The moves come at
 * episodes 6, 12 and 18 (every check passes), so the split at 15 resumes mid-stage. */
START_TEST(test_resume_is_exact_with_options) {
    char path[600];
    snprintf(path, sizeof path, "%s/options.toml", tmpdir);
    char text[2048];
    snprintf(text, sizeof text,
             "%s"
             "[curriculum]\n"
             "min_episodes = 6\n"
             "advance_on = \"greedy\"\n"
             "advance_eval_every = 3\n"
             "advance_eval_episodes = 2\n"
             "advance_survival = 0.01\n"
             "retreat_survival = 0.0\n"
             "restart_schedules = true\n",
             config_text);
    /* [agent] comes first in config_text: put n_step there. */
    char *agent = strstr(text, "[agent]\n");
    ck_assert_ptr_nonnull(agent);
    char full[2200];
    snprintf(full, sizeof full,
             "[agent]\nn_step = 3\nlearning_rate_decay_episodes = 5\n"
             "learning_rate_final_episodes = 4\nlearning_rate_final = 0.00002\n%s",
             agent + strlen("[agent]\n"));
    scratch_write(path, full);
    expect_exact_resume(path, "options", 30);
    /* The options did act: the curriculum moved three times and epsilon started over. */
    char run[600];
    snprintf(run, sizeof run, "%s/options_split", tmpdir);
    int lines;
    char *m = metrics_stripped(run, &lines);
    ck_assert_ptr_nonnull(strstr(m, "\"episode\":30,"));
    ck_assert_msg(strstr(strstr(m, "\"episode\":30,"), "\"stage\":3") != NULL, "%s", m);
    ck_assert_msg(strstr(m, "\"epsilon\":1.0000,\"loss\"") != NULL ||
                      strstr(m, "\"epsilon\":1,") != NULL,
                  "%s", m);
    free(m);
}
END_TEST

/* config_text after its "[agent]" line, evaluations every 5 episodes instead of 10: the
 * body of a config that puts its own sections first. */
static void body_evaluated_every_5(char *base, size_t size) {
    snprintf(base, size, "%s", strstr(config_text, "[agent]\n") + strlen("[agent]\n"));
    char *every = strstr(base, "eval_every = 10");
    ck_assert_ptr_nonnull(every);
    memcpy(every, "eval_every =  5", 15);
}

/* The options of the learner that change what a checkpoint must carry: the multiplier as
 * an input (each replayed transition's stage), the unaffordable interact masked (the
 * replay's targets mask it from the restored money), dueling heads, and restore_below's kept
 * weights (the KEEP and KEPS sections). The last stage comes at episode 12 (every check
 * passes) and the evaluations every 5 episodes keep weights from episode 15 on, so the
 * split at 15 resumes with weights kept. */
START_TEST(test_resume_is_exact_with_learner_options) {
    char path[600];
    snprintf(path, sizeof path, "%s/learner.toml", tmpdir);
    char base[1024];
    body_evaluated_every_5(base, sizeof base);
    char text[2048];
    snprintf(text, sizeof text,
             "[environment]\n"
             "observe_multiplier = true\n"
             "mask_unaffordable = true\n"
             "[agent]\n"
             "dueling = true\n"
             "%s"
             "restore_below = 0.95\n"
             "[curriculum]\n"
             "min_episodes = 4\n"
             "advance_on = \"greedy\"\n"
             "advance_eval_every = 3\n"
             "advance_eval_episodes = 2\n"
             "advance_survival = 0.01\n"
             "retreat_survival = 0.0\n",
             base);
    scratch_write(path, text);
    expect_exact_resume(path, "learner", 30);
    /* The weights were kept, and the checkpoint carries them. */
    char dir[700], err[1024], ck[1024];
    snprintf(dir, sizeof dir, "%s/learner_split/checkpoints", tmpdir);
    bool any = false;
    ckpt_file *f = ckpt_open_newest(dir, 0, ck, sizeof ck, &any, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    ck_assert_ptr_nonnull(ckpt_file_section(f, SNAPSHOT_TAG_KEEP, NULL));
    ck_assert_ptr_nonnull(ckpt_file_section(f, SNAPSHOT_TAG_KEEP_SCORE, NULL));
    ckpt_file_free(f);
}
END_TEST

/* plateau_episodes: a last stage that nobody can survive (decay x 100) after one nobody can
 * die in (x 0.01), so every evaluation there stays under advance_survival and the schedules
 * start over every 6 episodes, the last two layers drawn afresh: the stage comes at episode
 * 4, the restarts at 10, 16, 22 and 28, and the split at 15 resumes between two of them
 * with weights kept. */
START_TEST(test_resume_is_exact_with_plateau_restarts) {
    char path[600];
    snprintf(path, sizeof path, "%s/plateau.toml", tmpdir);
    char base[1024];
    body_evaluated_every_5(base, sizeof base);
    char text[2048];
    snprintf(text, sizeof text,
             "[environment]\n"
             "max_steps = 100\n"
             "[agent]\n"
             "%s"
             "restore_below = 0.9\n"
             "[curriculum]\n"
             "stages = [0.01, 100.0]\n"
             "advance_on = \"training\"\n"
             "window = 4\n"
             "min_episodes = 4\n"
             "advance_survival = 0.5\n"
             "retreat_survival = 0.0\n"
             "plateau_episodes = 6\n"
             "plateau_reset_layers = 2\n",
             base);
    scratch_write(path, text);
    expect_exact_resume(path, "plateau", 30);
    /* It did act: epsilon is back at its start on the first episode, after the move and
     * after each of the four restarts. */
    char run[600];
    snprintf(run, sizeof run, "%s/plateau_split", tmpdir);
    int lines, starts = 0;
    char *m = metrics_stripped(run, &lines);
    for (const char *p = m; (p = strstr(p, "\"epsilon\":1,")) != NULL; p++) starts++;
    ck_assert_msg(starts == 6, "epsilon at its start %d times, want 6:\n%s", starts, m);
    free(m);
}
END_TEST

static int read_progress_episode(const char *run) {
    char path[600];
    snprintf(path, sizeof path, "%s/progress.json", run);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strstr(buf, "\"episode\":");
    return p ? atoi(p + 10) : -1;
}

START_TEST(test_sigterm_checkpoints_and_resume_exact) {
    const int E = 80;
    char straight[512], split[512];
    snprintf(straight, sizeof straight, "%s/straight", tmpdir);
    snprintf(split, sizeof split, "%s/split", tmpdir);
    ck_assert_int_eq(run_trainer(config_path, straight, E), 0);

    /* Signal once a few episodes are done (not at a checkpoint boundary on purpose). The
     * trainer is frozen (SIGSTOP) when its progress says so, so that what it has done is
     * known before SIGTERM lands: a run that had already come within one episode of the
     * end (a test process descheduled for a while) would test no resume, and is tried
     * again in a fresh run directory rather than passed. */
    int64_t stopped_at = -1;
    for (int attempt = 0; attempt < 3 && stopped_at < 0; attempt++) {
        scratch_rm_rf(split);
        pid_t pid = spawn_trainer(config_path, split, E);
        int ep = -1;
        for (int i = 0; i < 6000 && (ep = read_progress_episode(split)) < 5; i++) {
            struct timespec ts = {0, 2 * 1000000L};
            nanosleep(&ts, NULL);
        }
        kill(pid, SIGSTOP);
        ep = read_progress_episode(split);
        kill(pid, SIGTERM);
        kill(pid, SIGCONT);
        ck_assert_int_eq(wait_exit(pid), 0);
        if (ep >= E - 1) {
            fprintf(stderr, "attempt %d: the run was at episode %d of %d when stopped; again\n",
                    attempt + 1, ep, E);
            continue;
        }
        size_t l1;
        free(load_weights(split, &l1, &stopped_at));
    }
    ck_assert_msg(stopped_at >= 0, "3 runs came to their end before SIGTERM: no resume tested");
    ck_assert_int_ge(stopped_at, 5);
    ck_assert_int_lt(stopped_at, E);

    ck_assert_int_eq(run_trainer(config_path, split, E), 0);
    char what[120];
    snprintf(what, sizeof what, "run stopped by SIGTERM at %lld and resumed differs",
             (long long)stopped_at);
    expect_same_weights(straight, split, E, what);
}
END_TEST

/* metrics.jsonl of run without the fields that depend on the wall clock (timestamp, rates,
 * ETA), one JSON object a line as cJSON prints it; malloc'd. *lines receives the count. */
static char *metrics_stripped(const char *run, int *lines) {
    char path[600], line[4096];
    snprintf(path, sizeof path, "%s/metrics.jsonl", run);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    out[0] = 0;
    *lines = 0;
    while (fgets(line, sizeof line, f)) {
        cJSON *j = cJSON_Parse(line);
        ck_assert_msg(j != NULL, "%s: line %d is not JSON: %s", path, *lines + 1, line);
        static const char *const clock_fields[] = {"timestamp", "steps_per_second", "eta_seconds"};
        for (size_t i = 0; i < sizeof clock_fields / sizeof clock_fields[0]; i++)
            cJSON_DeleteItemFromObjectCaseSensitive(j, clock_fields[i]);
        char *p = cJSON_PrintUnformatted(j);
        size_t n = strlen(p);
        if (len + n + 2 > cap) {
            cap = 2 * (len + n + 2);
            out = realloc(out, cap);
        }
        memcpy(out + len, p, n);
        len += n;
        out[len++] = '\n';
        out[len] = 0;
        free(p);
        cJSON_Delete(j);
        (*lines)++;
    }
    fclose(f);
    return out;
}

/* The step within the episode in progress of run's newest checkpoint (its path into path),
 * or -1 when it was written between episodes (no EPIS section). */
static int newest_episode_step(const char *run, char *path, size_t pathlen) {
    char dir[600], err[1024];
    snprintf(dir, sizeof dir, "%s/checkpoints", run);
    bool any = false;
    ckpt_file *f = ckpt_open_newest(dir, 0, path, pathlen, &any, err, sizeof err);
    ck_assert_msg(f != NULL, "no checkpoint in %s: %s", dir, err);
    uint64_t len = 0;
    const uint8_t *ep = ckpt_file_section(f, SNAPSHOT_TAG_EPISODE, &len);
    int step = -1;
    if (ep) {
        ck_assert_uint_eq(len, SNAPSHOT_EPISODE_BYTES);
        ck_assert_uint_eq(le_get32(ep), SNAPSHOT_EPISODE_VERSION);
        step = (int)le_get32(ep + 4);
    }
    ckpt_file_free(f);
    return step;
}

/* Waits (at most 30 s) until run's metrics.jsonl has `episodes` lines. */
static void wait_metrics(const char *run, int episodes) {
    char path[600];
    snprintf(path, sizeof path, "%s/metrics.jsonl", run);
    for (int i = 0; i < 60000 && count_lines(path) < episodes; i++) {
        struct timespec ts = {0, 500000L};
        nanosleep(&ts, NULL);
    }
}

/* SIGTERM with stop_grace_seconds = 0 mid-episode: exit 0 with a checkpoint that holds the
 * episode in progress (named ep_<episodes>_s<step>, `latest`, never `best`, loadable by
 * the server as a policy); resuming from it continues that episode, and the run ends
 * with the same weights and the same metrics lines as one never stopped. */
START_TEST(test_sigterm_mid_episode_resume_exact) {
    const int E = 80;
    char straight[512], split[512], path[1024], err[1024];
    snprintf(straight, sizeof straight, "%s/straight", tmpdir);
    ck_assert_int_eq(run_trainer(mid_config_path, straight, E), 0);

    /* A signal can land between two episodes (then the checkpoint is at a boundary, which
     * other tests cover): try again in a fresh run directory, a few times at most. */
    int step = -1;
    for (int attempt = 0; attempt < 5 && step < 0; attempt++) {
        snprintf(split, sizeof split, "%s/split%d", tmpdir, attempt);
        pid_t pid = spawn_trainer(mid_config_path, split, E);
        /* A line is written at an episode's end: wait a little into the next. */
        wait_metrics(split, 3 + attempt);
        struct timespec ts = {0, attempt * 500000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGTERM);
        ck_assert_int_eq(wait_exit(pid), 0);
        step = newest_episode_step(split, path, sizeof path);
        if (step < 0)
            fprintf(stderr, "note: attempt %d: SIGTERM landed between episodes\n", attempt);
    }
    ck_assert_msg(step >= 0, "no SIGTERM landed inside an episode in 5 attempts");

    /* The name, the pointers, the header. */
    char dir[600];
    snprintf(dir, sizeof dir, "%s/checkpoints", split);
    ckpt_file *f = ckpt_open(path, 0, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    int64_t episode = ckpt_file_header(f)->episode;
    ckpt_file_free(f);
    ck_assert_int_lt(episode, E);
    char want[64];
    snprintf(want, sizeof want, "ep_%07lld_s%05d.ckpt", (long long)episode, step);
    const char *base = strrchr(path, '/');
    ck_assert_str_eq(base + 1, want);
    char latest[1024], best[1024];
    ck_assert_int_eq(ckpt_resolve(dir, "latest", latest, sizeof latest, err, sizeof err), 0);
    ck_assert_str_eq(latest, path);
    if (ckpt_resolve(dir, "best", best, sizeof best, err, sizeof err) == 0)
        ck_assert_str_ne(best, path);

    /* The server's view: listed first (newest), loadable as a policy. */
    cfg_config cfg;
    ck_assert_msg(cfg_load_file(&cfg, mid_config_path, err, sizeof err) == 0, "%s", err);
    ckpt_info info[16];
    int n = ckpt_list(dir, info, 16, err, sizeof err);
    ck_assert_int_ge(n, 1);
    ck_assert_str_eq(info[0].path, path);
    ck_assert(info[0].is_latest && !info[0].is_best);
    policy_t *p = policy_create(&cfg, 1, err, sizeof err);
    ck_assert_msg(p != NULL, "%s", err);
    ck_assert_msg(ckpt_load_policy(path, &cfg, p, NULL, err, sizeof err) == 0, "%s", err);
    policy_free(p);

    /* Resume: the same run as the straight one. */
    ck_assert_int_eq(run_trainer(mid_config_path, split, E), 0);
    char what[120];
    snprintf(what, sizeof what, "run suspended at step %d of episode %lld and resumed differs",
             step, (long long)episode + 1);
    expect_same_weights(straight, split, E, what);
    int na, nc;
    char *ma = metrics_stripped(straight, &na), *mc = metrics_stripped(split, &nc);
    ck_assert_int_eq(na, E);
    ck_assert_int_eq(nc, E);
    ck_assert_msg(strcmp(ma, mc) == 0, "metrics.jsonl differs after the mid-episode resume");
    free(ma);
    free(mc);
}
END_TEST

/* The first SIGTERM finishes the episode (it fits the grace), a second one saves it in
 * progress at once: exit 0 with a mid-episode checkpoint, from which the run resumes and
 * finishes the episode. */
START_TEST(test_second_signal_saves_mid_episode) {
    char run[512], path[1024], progress[600];
    int step = -1;
    /* The second signal must come before the first episode ends at full speed (a quarter
     * of a second in Release): on a machine so fast that it did not, try again. */
    for (int attempt = 0; attempt < 3 && step < 0; attempt++) {
        snprintf(run, sizeof run, "%s/long%d", tmpdir, attempt);
        snprintf(progress, sizeof progress, "%s/progress.json", run);
        pid_t pid = spawn_trainer(long_config_path, run, 1);
        /* progress.json is first written once the trainer runs (signal handlers set). */
        for (int i = 0; i < 30000 && access(progress, F_OK) != 0; i++) {
            struct timespec ts = {0, 1000000L};
            nanosleep(&ts, NULL);
        }
        struct timespec first = {0, 50 * 1000000L}, second = {0, 10 * 1000000L};
        nanosleep(&first, NULL);
        kill(pid, SIGTERM);
        nanosleep(&second, NULL);
        kill(pid, SIGTERM);
        ck_assert_int_eq(wait_exit(pid), 0);
        step = newest_episode_step(run, path, sizeof path);
        if (step < 0) fprintf(stderr, "note: attempt %d: the episode ended first\n", attempt);
    }
    ck_assert_msg(step > 0, "the second SIGTERM never cut the episode short");
    char want[64];
    snprintf(want, sizeof want, "ep_0000000_s%05d.ckpt", step);
    ck_assert_str_eq(strrchr(path, '/') + 1, want);
    ck_assert_int_eq(run_trainer(long_config_path, run, 1), 0);
    size_t l;
    int64_t ep;
    free(load_weights(run, &l, &ep));
    ck_assert_int_eq(ep, 1);
    int lines;
    char *m = metrics_stripped(run, &lines);
    ck_assert_int_eq(lines, 1);
    ck_assert_msg(strstr(m, "\"steps\":32767,") != NULL, "%s", m);
    free(m);
}
END_TEST

/* A checkpoint written between episodes has exactly the sections files had before
 * mid-episode checkpoints existed (no EPIS), and a run resumes from it: the format old
 * run directories hold still loads. */
START_TEST(test_boundary_checkpoint_keeps_old_layout) {
    char run[512], path[1024], err[1024];
    snprintf(run, sizeof run, "%s/run", tmpdir);
    ck_assert_int_eq(run_trainer(config_path, run, 15), 0);
    ck_assert_int_eq(newest_episode_step(run, path, sizeof path), -1);
    ckpt_file *f = ckpt_open(path, 0, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    const uint32_t old_tags[] = {CKPT_TAG_ONLINE,     SNAPSHOT_TAG_TARGET, SNAPSHOT_TAG_ADAM,
                                 SNAPSHOT_TAG_REPLAY, SNAPSHOT_TAG_STATE,  SNAPSHOT_TAG_CURR};
    for (size_t i = 0; i < sizeof old_tags / sizeof old_tags[0]; i++)
        ck_assert_ptr_nonnull(ckpt_file_section(f, old_tags[i], NULL));
    ck_assert_ptr_null(ckpt_file_section(f, SNAPSHOT_TAG_EPISODE, NULL));
    uint64_t len = 0;
    const uint8_t *st = ckpt_file_section(f, SNAPSHOT_TAG_STATE, &len);
    ck_assert_uint_eq(len, SNAPSHOT_STATE_BYTES);
    ck_assert_uint_eq(le_get32(st), SNAPSHOT_STATE_VERSION); /* unchanged: 2 */
    ckpt_file_free(f);
    ck_assert_int_eq(run_trainer(config_path, run, 20), 0);
    size_t l;
    int64_t ep;
    free(load_weights(run, &l, &ep));
    ck_assert_int_eq(ep, 20);
}
END_TEST

START_TEST(test_config_mismatch_refused) {
    char run[512], other[512];
    snprintf(run, sizeof run, "%s/run", tmpdir);
    snprintf(other, sizeof other, "%s/other.toml", tmpdir);
    ck_assert_int_eq(run_trainer(config_path, run, 3), 0);
    FILE *f = fopen(other, "w");
    fputs(config_text, f);
    fputs("[environment]\nmax_steps = 300\n", f);
    fclose(f);
    ck_assert_int_eq(run_trainer(other, run, 6), 2);
    /* The same config resumes fine. */
    ck_assert_int_eq(run_trainer(config_path, run, 6), 0);
}
END_TEST

/* Prioritized replay: the sum tree's leaves and the max priority travel in the checkpoint
 * (PRIO, PRIM), and a resumed run draws the same batches as the straight one; the
 * previous checkpoint drops PRIO with its replay. */
START_TEST(test_resume_is_exact_with_prioritized_replay) {
    char path[600], text[2048];
    snprintf(path, sizeof path, "%s/prio.toml", tmpdir);
    snprintf(text, sizeof text, "[agent]\npriority_alpha = 0.6\nn_step = 3\n%s",
             config_text + strlen("[agent]\n"));
    scratch_write(path, text);
    expect_exact_resume(path, "prio", 30);
    char dir[700], ck[1024], err[1024];
    snprintf(dir, sizeof dir, "%s/prio_split/checkpoints", tmpdir);
    bool any = false;
    ckpt_file *f = ckpt_open_newest(dir, 0, ck, sizeof ck, &any, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    ck_assert_ptr_nonnull(ckpt_file_section(f, SNAPSHOT_TAG_PRIO, NULL));
    ck_assert_ptr_nonnull(ckpt_file_section(f, SNAPSHOT_TAG_PRIO_MAX, NULL));
    ckpt_file_free(f);
    /* The previous checkpoint lost its priorities with its replay. */
    snprintf(ck, sizeof ck, "%s/ep_0000015.ckpt", dir);
    f = ckpt_open(ck, 0, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    ck_assert_ptr_null(ckpt_file_section(f, SNAPSHOT_TAG_REPLAY, NULL));
    ck_assert_ptr_null(ckpt_file_section(f, SNAPSHOT_TAG_PRIO, NULL));
    ckpt_file_free(f);
}
END_TEST

int main(void) {
    Suite *s = suite_create("trainer_resume");
    TCase *tc = tcase_create("binary");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 280);
    tcase_add_test(tc, test_resume_is_exact);
    tcase_add_test(tc, test_resume_is_exact_with_options);
    tcase_add_test(tc, test_resume_is_exact_with_learner_options);
    tcase_add_test(tc, test_resume_is_exact_with_plateau_restarts);
    tcase_add_test(tc, test_sigterm_checkpoints_and_resume_exact);
    tcase_add_test(tc, test_sigterm_mid_episode_resume_exact);
    tcase_add_test(tc, test_second_signal_saves_mid_episode);
    tcase_add_test(tc, test_boundary_checkpoint_keeps_old_layout);
    tcase_add_test(tc, test_config_mismatch_refused);
    tcase_add_test(tc, test_resume_is_exact_with_prioritized_replay);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
