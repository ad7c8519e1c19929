/* tests/test_trainer_control.c — the command handling of the trainer (trainer/control.h):
 * pause, resume, stop, start, set_speed, set_mode, checkpoint, malformed input; then the
 * real trainer driven over a WebSocket test server in visual mode at a slow speed:
 * `checkpoint` is written at once mid-episode (paused: at exactly the step shown; running:
 * within a step), `stop` checkpoints mid-episode and `start` continues the same episode,
 * and SIGTERM with no grace saves the episode in progress. */
#include <check.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/ckpt.h"
#include "trainer/control.h"
#include "trainer/snapshot.h"
#include "trainer/trainer.h"
#include "tests/support/runner.h"
#include "tests/support/scratch.h"
#include "tests/support/tclock.h"
#include "tests/support/testsrv.h"
#include "tests/support/tpaths.h"

static control_command apply(control_state *c, const char *json) {
    char err[256];
    return control_apply(c, json, strlen(json), err, sizeof err);
}

START_TEST(test_pause_resume) {
    control_state c;
    control_init(&c);
    ck_assert(!c.paused);
    ck_assert_int_eq(apply(&c, "{\"command\":\"pause\",\"id\":1}"), CONTROL_PAUSE);
    ck_assert(c.paused);
    /* Applied while paused: resume must work (commands come before the pause check). */
    ck_assert_int_eq(apply(&c, "{\"command\":\"resume\"}"), CONTROL_RESUME);
    ck_assert(!c.paused);
}
END_TEST

START_TEST(test_stop_start) {
    control_state c;
    control_init(&c);
    apply(&c, "{\"command\":\"pause\"}");
    ck_assert_int_eq(apply(&c, "{\"command\":\"stop\"}"), CONTROL_STOP);
    ck_assert(c.stop_requested); /* stop works while paused */
    ck_assert(!c.paused);
    /* The loop finishes the episode, checkpoints, and goes idle. */
    c.stop_requested = false;
    c.idle = true;
    ck_assert_int_eq(apply(&c, "{\"command\":\"stop\"}"), CONTROL_STOP);
    ck_assert(!c.stop_requested); /* nothing to stop while idle */
    ck_assert_int_eq(apply(&c, "{\"command\":\"start\"}"), CONTROL_START);
    ck_assert(c.start_requested);
}
END_TEST

START_TEST(test_speed_mode_checkpoint) {
    control_state c;
    control_init(&c);
    ck_assert_int_eq(control_step_delay_ms(&c), 0); /* no delay outside visual mode */
    ck_assert_int_eq(apply(&c, "{\"command\":\"set_speed\",\"speed\":20}"), CONTROL_SET_SPEED);
    ck_assert_int_eq(control_step_delay_ms(&c), 0);
    ck_assert_int_eq(apply(&c, "{\"command\":\"set_mode\",\"visual\":true}"), CONTROL_SET_MODE);
    ck_assert(c.visual);
    ck_assert_int_eq(control_step_delay_ms(&c), 50);
    apply(&c, "{\"command\":\"set_speed\",\"speed\":100000}");
    ck_assert_int_eq(c.speed, 1000);
    ck_assert_int_eq(control_step_delay_ms(&c), 1);
    apply(&c, "{\"command\":\"set_speed\",\"speed\":-3}");
    ck_assert_int_eq(c.speed, 1);
    ck_assert_int_eq(apply(&c, "{\"command\":\"set_mode\",\"visual\":false}"), CONTROL_SET_MODE);
    ck_assert_int_eq(control_step_delay_ms(&c), 0);
    ck_assert_int_eq(apply(&c, "{\"command\":\"checkpoint\"}"), CONTROL_CHECKPOINT);
    ck_assert(c.checkpoint_requested);
}
END_TEST

START_TEST(test_malformed) {
    control_state c, before;
    control_init(&c);
    before = c;
    ck_assert_int_eq(apply(&c, "not json"), CONTROL_UNKNOWN);
    ck_assert_int_eq(apply(&c, "{\"command\":\"explode\"}"), CONTROL_UNKNOWN);
    ck_assert_int_eq(apply(&c, "{\"command\":7}"), CONTROL_UNKNOWN);
    ck_assert_int_eq(apply(&c, "{\"command\":\"set_speed\"}"), CONTROL_UNKNOWN);
    ck_assert_int_eq(apply(&c, "{\"command\":\"set_mode\",\"visual\":\"yes\"}"), CONTROL_UNKNOWN);
    ck_assert_int_eq(memcmp(&c, &before, sizeof c), 0);
}
END_TEST

/* ---- The trainer program over a link ---- */

#define WAIT_S 60.0

/* Small and quick under the sanitizers; no grace, so SIGTERM saves mid-episode. */
static const char *live_config = "[agent]\n"
                                 "hidden = [16, 16]\n"
                                 "replay_capacity = 2000\n"
                                 "learning_starts = 100\n"
                                 "batch_size = 8\n"
                                 "[training]\n"
                                 "checkpoint_every = 1000\n"
                                 "eval_every = 0\n"
                                 "progress_every = 1\n"
                                 "stop_grace_seconds = 0\n";

/* Stored message i as JSON (NULL when not stored yet); the caller frees it. */
static cJSON *msg_at(testsrv *s, int i) {
    static char buf[1 << 16];
    if (testsrv_message(s, i, buf, sizeof buf) < 0) return NULL;
    cJSON *j = cJSON_Parse(buf);
    ck_assert_msg(j != NULL, "message %d is not JSON: %.200s", i, buf);
    return j;
}

static bool str_is(const cJSON *j, const char *key, const char *want) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(v) && strcmp(v->valuestring, want) == 0;
}

static double num(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    ck_assert_msg(cJSON_IsNumber(v), "no number \"%s\"", key);
    return v->valuedouble;
}

/* Index of the first message at or after `from` whose type is `type` (and whose status is
 * `status`, when given), waiting up to WAIT_S; the test fails when none comes. */
static int await(testsrv *s, int from, const char *type, const char *status) {
    double until = tclock_now_s() + WAIT_S;
    for (int i = from;;) {
        cJSON *j = msg_at(s, i);
        if (!j) {
            ck_assert_msg(tclock_now_s() < until, "no %s %s after message %d", type,
                          status ? status : "", from);
            tclock_sleep_s(0.005);
            continue;
        }
        bool hit = str_is(j, "type", type) && (!status || str_is(j, "status", status));
        cJSON_Delete(j);
        if (hit) return i;
        i++;
    }
}

/* A place in training: episodes completed and the step within the next one. A frame
 * message shows (episode in progress, step after it); a checkpoint message (episodes
 * completed, episode_step). */
typedef struct {
    int64_t episodes, step;
} place;

static place frame_place(const cJSON *f) {
    return (place){(int64_t)num(f, "episode") - 1, (int64_t)num(f, "step")};
}

static int place_cmp(place a, place b) {
    if (a.episodes != b.episodes) return a.episodes < b.episodes ? -1 : 1;
    return a.step < b.step ? -1 : a.step > b.step;
}

/* The place of the last frame in messages [from, to), or {-1, -1}. */
static place last_frame(testsrv *s, int from, int to) {
    place p = {-1, -1};
    for (int i = from; i < to; i++) {
        cJSON *j = msg_at(s, i);
        if (j && str_is(j, "type", "frame")) p = frame_place(j);
        cJSON_Delete(j);
    }
    return p;
}

/* The frame message at index i shows the step after `at`: the episode went on from there. */
static void expect_next_step(testsrv *s, int i, place at, const char *when) {
    cJSON *f = msg_at(s, i);
    place next = frame_place(f);
    cJSON_Delete(f);
    place want = {at.episodes, at.step + 1};
    ck_assert_msg(place_cmp(next, want) == 0, "%s: episode %lld step %lld, want %lld step %lld",
                  when, (long long)next.episodes, (long long)next.step, (long long)want.episodes,
                  (long long)want.step);
}

static int count_frames(testsrv *s, int from, int to) {
    int n = 0;
    for (int i = from; i < to; i++) {
        cJSON *j = msg_at(s, i);
        n += j && str_is(j, "type", "frame");
        cJSON_Delete(j);
    }
    return n;
}

/* Checks the checkpoint message at index i against the file it names, and returns its
 * place. A mid-episode one (episode_step > 0) holds the EPIS section, is never best and is
 * named ep_<episodes>_s<step>. */
static place check_checkpoint_msg(testsrv *s, int i) {
    cJSON *j = msg_at(s, i);
    place p = {(int64_t)num(j, "episode"), (int64_t)num(j, "episode_step")};
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(j, "path");
    ck_assert(cJSON_IsString(name) && cJSON_IsString(path));
    char want[64], err[1024];
    if (p.step > 0)
        snprintf(want, sizeof want, "ep_%07lld_s%05lld", (long long)p.episodes, (long long)p.step);
    else
        snprintf(want, sizeof want, "ep_%07lld", (long long)p.episodes);
    ck_assert_str_eq(name->valuestring, want);
    ckpt_file *f = ckpt_open(path->valuestring, 0, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    ck_assert_int_eq(ckpt_file_header(f)->episode, p.episodes);
    ck_assert((ckpt_file_section(f, SNAPSHOT_TAG_EPISODE, NULL) != NULL) == (p.step > 0));
    if (p.step > 0) ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "best")));
    ckpt_file_free(f);
    cJSON_Delete(j);
    return p;
}

/* The trainer on run_dir for `episodes`, linked to the test server on `port` (0: alone). */
static pid_t spawn_trainer(const char *config, const char *run_dir, const char *episodes,
                           int port) {
    char trainer[1024], url[128];
    snprintf(trainer, sizeof trainer, "%s/trainer", tpaths_bin_dir());
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws/trainer", port);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        unsetenv("RD_PARENT_PID");
        unsetenv("RD_TRAINER_TOKEN");
        execl(trainer, trainer, "--config", config, "--run-dir", run_dir, "--episodes", episodes,
              "--seed", "5", "--quiet", port ? "--server" : (char *)NULL, url, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* The checkpoint message at index c saves the episode in progress: at or after the last
 * frame shown before it, mid-episode, or at the boundary right after that frame when the
 * agent died on the step the command interrupted (CI saw an episode end at step ~180). */
static place expect_saved_in_progress(testsrv *s, int c) {
    place at = check_checkpoint_msg(s, c);
    place shown = last_frame(s, 0, c);
    ck_assert_msg(place_cmp(shown, at) <= 0 && (at.step > 0 || at.episodes == shown.episodes + 1),
                  "last frame at episode %lld step %lld, checkpoint at %lld step %lld",
                  (long long)shown.episodes, (long long)shown.step, (long long)at.episodes,
                  (long long)at.step);
    return at;
}

/* Waits up to WAIT_S for pid; its exit code, or the test fails (the trainer is killed). */
static int exit_code(pid_t pid) {
    int status = -1;
    double until = tclock_now_s() + WAIT_S;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (tclock_now_s() >= until) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            ck_abort_msg("the trainer did not exit");
        }
        tclock_sleep_s(0.01);
    }
    ck_assert_msg(WIFEXITED(status), "the trainer died of signal %d", WTERMSIG(status));
    return WEXITSTATUS(status);
}

START_TEST(test_live_checkpoint_stop_start_mid_episode) {
    char dir[64], run_dir[128], config[128];
    snprintf(dir, sizeof dir, "/tmp/rd_test_trainer_ctl.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);
    snprintf(config, sizeof config, "%s/live.toml", dir);
    scratch_write(config, live_config);
    testsrv *s = testsrv_start(0, 200000);
    ck_assert_ptr_nonnull(s);
    pid_t pid = spawn_trainer(config, run_dir, "1000000", testsrv_port(s));

    /* Some episodes at full speed, then visual mode at 4 steps a second: an episode now
     * lasts a minute or more. */
    int i = await(s, 0, "episode", NULL);
    ck_assert_int_eq(testsrv_send(s, "{\"command\":\"set_speed\",\"speed\":4}"), 0);
    ck_assert_int_eq(testsrv_send(s, "{\"command\":\"set_mode\",\"visual\":true}"), 0);
    i = await(s, i, "frame", NULL);

    /* Paused: `checkpoint` is written at the very step the last frame showed. */
    ck_assert_int_eq(testsrv_send(s, "{\"command\":\"pause\"}"), 0);
    int paused = await(s, i, "status", "paused");
    place shown = last_frame(s, i, paused);
    ck_assert_int_ge(shown.step, 1);
    ck_assert_int_eq(testsrv_send(s, "{\"command\":\"checkpoint\"}"), 0);
    int c1 = await(s, paused, "checkpoint", NULL);
    place saved = check_checkpoint_msg(s, c1);
    ck_assert_int_eq(count_frames(s, paused, c1), 0);
    /* An episode that happened to end on the last frame shown is saved at its boundary. */
    place boundary = {shown.episodes + 1, 0};
    ck_assert_msg(place_cmp(saved, shown) == 0 || place_cmp(saved, boundary) == 0,
                  "paused at episode %lld step %lld, checkpoint at %lld step %lld",
                  (long long)shown.episodes, (long long)shown.step, (long long)saved.episodes,
                  (long long)saved.step);

    /* Resumed, the episode goes on from the next step. */
    ck_assert_int_eq(testsrv_send(s, "{\"command\":\"resume\"}"), 0);
    i = await(s, c1, "frame", NULL);
    expect_next_step(s, i, saved, "after resume");

    /* Running: written within a step of the command. Every frame before the checkpoint
     * message is at or before its place, every frame after it beyond. */
    i = await(s, i + 1, "frame", NULL);
    int sent_at = (int)testsrv_count(s);
    ck_assert_int_eq(testsrv_send(s, "{\"command\":\"checkpoint\"}"), 0);
    int c2 = await(s, sent_at, "checkpoint", NULL);
    place at = expect_saved_in_progress(s, c2);
    expect_next_step(s, await(s, c2, "frame", NULL), at, "after the checkpoint");
    /* The command came during a step's delay at the latest, and frames in flight were a
     * step behind: a few steps at most, not the episode's end (hundreds of steps). */
    ck_assert_int_le(count_frames(s, sent_at, c2), 3);

    /* stop: checkpoint mid-episode, status stopped, no step until start. */
    int stop_from = (int)testsrv_count(s);
    ck_assert_int_eq(testsrv_send(s, "{\"command\":\"stop\"}"), 0);
    int stopped = await(s, stop_from, "status", "stopped");
    int c3 = await(s, stop_from, "checkpoint", NULL);
    ck_assert_int_lt(c3, stopped);
    place st = expect_saved_in_progress(s, c3);
    tclock_sleep_s(0.6); /* two steps' time */
    ck_assert_int_eq(count_frames(s, stopped, (int)testsrv_count(s)), 0);

    /* start: the same episode continues at the next step. */
    ck_assert_int_eq(testsrv_send(s, "{\"command\":\"start\"}"), 0);
    int running = await(s, stopped, "status", "running");
    i = await(s, running, "frame", NULL);
    expect_next_step(s, i, st, "after start");

    /* SIGTERM without grace: the episode in progress is saved, exit 0. */
    i = await(s, i + 1, "frame", NULL);
    kill(pid, SIGTERM);
    ck_assert_int_eq(exit_code(pid), 0);
    int c4 = await(s, i, "checkpoint", NULL);
    place last = expect_saved_in_progress(s, c4);
    ck_assert_int_gt(place_cmp(last, st), 0);
    testsrv_stop(s);
    scratch_rm_rf(dir);
}
END_TEST

/* Episodes of milliseconds at full speed (updates dominate), so that a command lands
 * inside one. */
static const char *exact_config = "[agent]\n"
                                  "hidden = [64, 64]\n"
                                  "replay_capacity = 2000\n"
                                  "learning_starts = 100\n"
                                  "batch_size = 32\n"
                                  "[training]\n"
                                  "checkpoint_every = 15\n"
                                  "eval_every = 25\n"
                                  "eval_episodes = 2\n"
                                  "progress_every = 1000\n";

/* Whether the newest checkpoints of two runs hold the same online and target weights. */
static bool same_weights(const char *run_a, const char *run_b) {
    const char *runs[2] = {run_a, run_b};
    ckpt_file *f[2];
    for (int k = 0; k < 2; k++) {
        char dir[600], path[1024], err[1024];
        bool any;
        snprintf(dir, sizeof dir, "%s/checkpoints", runs[k]);
        f[k] = ckpt_open_newest(dir, 0, path, sizeof path, &any, err, sizeof err);
        ck_assert_msg(f[k] != NULL, "%s", err);
    }
    bool same = ckpt_file_header(f[0])->episode == ckpt_file_header(f[1])->episode;
    const uint32_t tags[] = {CKPT_TAG_ONLINE, SNAPSHOT_TAG_TARGET};
    for (int t = 0; t < 2 && same; t++) {
        uint64_t la, lb;
        const void *a = ckpt_file_section(f[0], tags[t], &la);
        const void *b = ckpt_file_section(f[1], tags[t], &lb);
        same = a && b && la == lb && memcmp(a, b, la) == 0;
    }
    ckpt_file_free(f[0]);
    ckpt_file_free(f[1]);
    return same;
}

/* `stop` mid-episode at full speed, then `start`: the episode continues in the same
 * process, and the run ends with the weights of a run never stopped. */
START_TEST(test_stop_start_mid_episode_is_exact) {
    const char *E = "60";
    char dir[64], straight[128], run_dir[128], config[128];
    snprintf(dir, sizeof dir, "/tmp/rd_test_trainer_ctl.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(config, sizeof config, "%s/exact.toml", dir);
    snprintf(straight, sizeof straight, "%s/straight", dir);
    scratch_write(config, exact_config);
    ck_assert_int_eq(exit_code(spawn_trainer(config, straight, E, 0)), 0);

    /* A command can land between two episodes (a boundary checkpoint, still exact but not
     * what this test is for): try again in a fresh run, a few times at most. */
    place at = {-1, 0};
    for (int attempt = 0; attempt < 4 && at.step == 0; attempt++) {
        snprintf(run_dir, sizeof run_dir, "%s/run%d", dir, attempt);
        testsrv *s = testsrv_start(0, 200000);
        ck_assert_ptr_nonnull(s);
        pid_t pid = spawn_trainer(config, run_dir, E, testsrv_port(s));
        int i = await(s, 0, "episode", NULL);
        i = await(s, i + 1, "episode", NULL);
        ck_assert_int_eq(testsrv_send(s, "{\"command\":\"stop\"}"), 0);
        int stopped = await(s, i, "status", "stopped");
        at = check_checkpoint_msg(s, await(s, i, "checkpoint", NULL));
        ck_assert_int_eq(testsrv_send(s, "{\"command\":\"start\"}"), 0);
        await(s, stopped, "status", "completed");
        kill(pid, SIGTERM);
        ck_assert_int_eq(exit_code(pid), 0);
        testsrv_stop(s);
        if (at.step == 0)
            fprintf(stderr, "note: attempt %d: stop landed between episodes\n", attempt);
    }
    ck_assert_msg(at.step > 0, "no stop landed inside an episode in 4 attempts");
    ck_assert_msg(same_weights(straight, run_dir),
                  "stopped at step %lld of episode %lld, started again: the weights differ",
                  (long long)at.step, (long long)at.episodes + 1);
    scratch_rm_rf(dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("trainer_control");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_pause_resume);
    tcase_add_test(tc, test_stop_start);
    tcase_add_test(tc, test_speed_mode_checkpoint);
    tcase_add_test(tc, test_malformed);
    suite_add_tcase(s, tc);
    TCase *live = tcase_create("live");
    tcase_set_timeout(live, 200);
    tcase_add_test(live, test_live_checkpoint_stop_start_mid_episode);
    tcase_add_test(live, test_stop_start_mid_episode_is_exact);
    suite_add_tcase(s, live);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
