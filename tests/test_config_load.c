/* tests/test_config_load.c — the config schema (common/cfg.h): the built-in defaults
 * equal configs/level1.toml, every level loads, the writer round-trips, and each kind of
 * config error gives its exact "file:line:col: message". */
#include "common/cfg.h"
#include "tests/support/runner.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONFIGS RD_SOURCE_DIR "/configs"

/* Every part of the struct but `path`, byte for byte (cfg_defaults zeroes the padding and
 * the loader zero-fills strings, so memcmp is meaningful). */
static void assert_same(const cfg_config *a, const cfg_config *b) {
    ck_assert_str_eq(a->name, b->name);
    ck_assert(memcmp(a->name, b->name, sizeof a->name) == 0);
    ck_assert_msg(memcmp(&a->environment, &b->environment, sizeof a->environment) == 0,
                  "[environment] differs");
    ck_assert_msg(memcmp(&a->agent, &b->agent, sizeof a->agent) == 0, "[agent] differs");
    ck_assert_msg(memcmp(&a->training, &b->training, sizeof a->training) == 0,
                  "[training] differs");
    ck_assert_msg(memcmp(&a->curriculum, &b->curriculum, sizeof a->curriculum) == 0,
                  "[curriculum] differs");
    ck_assert_msg(memcmp(&a->server, &b->server, sizeof a->server) == 0,
                  "[unified_server] differs");
    ck_assert_msg(memcmp(a->processes, b->processes, sizeof a->processes) == 0,
                  "[processes] differ");
}

static void load_file_ok(cfg_config *c, const char *path) {
    char err[512] = "";
    ck_assert_msg(cfg_load_file(c, path, err, sizeof err) == 0, "%s", err);
}

START_TEST(test_defaults_equal_level1) {
    cfg_config d, f;
    cfg_defaults(&d);
    load_file_ok(&f, CONFIGS "/level1.toml");
    assert_same(&d, &f);
    ck_assert_str_eq(f.path, CONFIGS "/level1.toml");
    ck_assert_str_eq(d.path, "");
    ck_assert(cfg_hash(&d) == cfg_hash(&f));
    char err[256];
    ck_assert_int_eq(cfg_validate(&d, err, sizeof err), 0);
}
END_TEST

START_TEST(test_defaults_numbers) {
    cfg_config d;
    cfg_defaults(&d);
    const cfg_environment *e = &d.environment;
    ck_assert_int_eq(e->width, 8);
    ck_assert_int_eq(e->max_steps, 500);
    ck_assert(e->initial[METER_MONEY] == 0.5);
    ck_assert(e->decay[METER_SOCIAL] == 0.006);
    ck_assert_int_eq(e->n_cascades, 10);
    ck_assert_int_eq(e->n_affordances, 14);
    int bar = cfg_affordance_at(e, 7, 0);
    ck_assert_int_ge(bar, 0);
    ck_assert_str_eq(e->affordances[bar].name, "Bar");
    ck_assert(e->affordances[bar].cost == 15.0);
    ck_assert(e->affordances[bar].effects[METER_SOCIAL] == 0.5);
    ck_assert_int_eq(cfg_affordance_at(e, 3, 3), -1);
    ck_assert_str_eq(cfg_meter_names[METER_FITNESS], "fitness");
    ck_assert_str_eq(cfg_process_names[CFG_PROC_FRONTEND], "frontend");
    ck_assert(d.processes[CFG_PROC_TRAINER].stop_timeout == 10.0);
    ck_assert_int_eq(d.processes[CFG_PROC_SERVER].restart, CFG_RESTART_ON_FAILURE);
    ck_assert_int_eq(d.curriculum.advance_on, CFG_ADVANCE_GREEDY);
    ck_assert(d.curriculum.restart_schedules);
    ck_assert_int_eq(d.agent.n_step, 3);
    ck_assert(d.agent.gamma == 0.999);
    ck_assert(d.agent.priority_alpha == 0.6);
    ck_assert(d.training.restore_below == 0.9);
}
END_TEST

START_TEST(test_level2_and_level3) {
    cfg_config d, c;
    cfg_defaults(&d);
    load_file_ok(&c, CONFIGS "/level2.toml");
    ck_assert_str_eq(c.name, "level2");
    ck_assert_int_eq(c.environment.level, 2);
    ck_assert_int_eq(c.environment.observability, CFG_OBS_PARTIAL);
    ck_assert_int_eq(c.environment.view_radius, 2);
    ck_assert(cfg_hash(&c) != cfg_hash(&d));

    load_file_ok(&c, CONFIGS "/level3.toml");
    const cfg_environment *e = &c.environment;
    ck_assert_str_eq(c.name, "level3");
    ck_assert(e->day_cycle);
    ck_assert_int_eq(e->day_length, 240);
    ck_assert_int_eq(e->start_hour, 8);
    ck_assert_int_eq(e->max_steps, 720);
    /* The measured level 3 learner: a stuck last stage restarts (docs/design/learner.md). */
    ck_assert_int_eq(c.curriculum.plateau_episodes, 800);
    ck_assert_int_eq(c.curriculum.plateau_reset_layers, 2);
    /* ...and the learning rate goes on falling after its first decay. */
    ck_assert_int_eq(c.agent.learning_rate_final_episodes, 2000);
    ck_assert(c.agent.learning_rate_final == 1e-5);
    /* ...and exploration never falls below 5 % there (levels 1 and 2: 1 %). */
    ck_assert(c.agent.epsilon_end == 0.05);
    static const struct {
        const char *name;
        int open, close, ticks;
    } want[] = {
        {"Bed", 0, 24, 4},         {"LuxuryBed", 0, 24, 4}, {"Job", 8, 17, 4},
        {"Labor", 6, 18, 4},       {"Bar", 18, 2, 1},       {"Gym", 6, 22, 2},
        {"Doctor", 8, 18, 1},      {"Therapist", 9, 17, 1}, {"Park", 6, 22, 1},
        {"Recreation", 10, 22, 1}, {"Shower", 0, 24, 1},    {"Hospital", 0, 24, 1},
    };
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        int found = 0;
        for (int i = 0; i < e->n_affordances; i++) {
            const cfg_affordance *a = &e->affordances[i];
            if (strcmp(a->name, want[w].name) != 0) continue;
            found = 1;
            ck_assert_int_eq(a->open_hour, want[w].open);
            ck_assert_int_eq(a->close_hour, want[w].close);
            ck_assert_int_eq(a->ticks, want[w].ticks);
        }
        ck_assert_msg(found, "no affordance %s", want[w].name);
    }
    /* Apart from the clock, level 3's world is level 1's. */
    ck_assert(memcmp(e->decay, d.environment.decay, sizeof e->decay) == 0);
    ck_assert(memcmp(e->cascades, d.environment.cascades, sizeof e->cascades) == 0);
}
END_TEST

/* cfg_write_toml then cfg_load_string gives back the same struct, for every level. */
START_TEST(test_round_trip) {
    static const char *const levels[] = {"level1", "level2", "level3"};
    cfg_config c, back;
    char path[256], err[512] = "";
    snprintf(path, sizeof path, CONFIGS "/%s.toml", levels[_i]);
    load_file_ok(&c, path);
    /* Make it harder than the files: a custom command, env, odd floats, an empty list. */
    c.processes[CFG_PROC_TRAINER].argc = 2;
    snprintf(c.processes[CFG_PROC_TRAINER].argv[0], CFG_ARG_MAX, "valgrind");
    snprintf(c.processes[CFG_PROC_TRAINER].argv[1], CFG_ARG_MAX, "--quiet \"x\"\\");
    c.processes[CFG_PROC_SERVER].n_env = 1;
    snprintf(c.processes[CFG_PROC_SERVER].env[0], CFG_ARG_MAX, "RD_X=a b=c");
    c.agent.learning_rate = 1.0 / 3.0;
    c.training.seed = 9223372036854775807ULL;
    if (_i == 2) { /* no cascades at all: written as `cascades = []` */
        c.environment.n_cascades = 0;
        memset(c.environment.cascades, 0, sizeof c.environment.cascades);
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_int_eq(cfg_write_toml(&c, f), 0);
    fclose(f);
    int rc = cfg_load_string(&back, text, len, "written.toml", err, sizeof err);
    ck_assert_msg(rc == 0, "%s\n%s", err, text);
    free(text);
    assert_same(&c, &back);
    ck_assert(cfg_hash(&c) == cfg_hash(&back));
}
END_TEST

START_TEST(test_overlay_and_name) {
    cfg_config c;
    char err[512] = "";
    const char *doc = "name = \"custom\"\n"
                      "[training]\nepisodes = 7\n"
                      "[environment.decay]\nenergy = 0.01\n"
                      "[processes.trainer]\ncommand = [\"/bin/true\"]\nenv = { A = \"1\" }\n";
    ck_assert_int_eq(cfg_load_string(&c, doc, strlen(doc), "x.toml", err, sizeof err), 0);
    ck_assert_str_eq(c.name, "custom");
    ck_assert_int_eq(c.training.episodes, 7);
    ck_assert_int_eq(c.training.seed, 42);
    ck_assert(c.environment.decay[METER_ENERGY] == 0.01);
    ck_assert(c.environment.decay[METER_HYGIENE] == 0.003);
    ck_assert_int_eq(c.processes[CFG_PROC_TRAINER].argc, 1);
    ck_assert_str_eq(c.processes[CFG_PROC_TRAINER].argv[0], "/bin/true");
    ck_assert_int_eq(c.processes[CFG_PROC_TRAINER].n_env, 1);
    ck_assert_str_eq(c.processes[CFG_PROC_TRAINER].env[0], "A=1");
    /* A float key takes an integer too. */
    doc = "[agent]\ngamma = 1\n";
    ck_assert_int_eq(cfg_load_string(&c, doc, strlen(doc), "x.toml", err, sizeof err), 0);
    ck_assert(c.agent.gamma == 1.0);
    /* Affordances given in a file replace the whole list. */
    doc = "[[environment.affordances]]\nname = \"Well\"\nx = 0\ny = 0\n";
    ck_assert_int_eq(cfg_load_string(&c, doc, strlen(doc), "x.toml", err, sizeof err), 0);
    ck_assert_int_eq(c.environment.n_affordances, 1);
    ck_assert_int_eq(c.environment.affordances[0].ticks, 1);
    ck_assert_int_eq(c.environment.affordances[0].close_hour, 24);
}
END_TEST

/* One bad document per kind of error, and the exact message. */
static const struct {
    const char *doc, *err;
} bad[] = {
    {"[training]\nepisods = 5\n",
     "t.toml:2:1: unknown key 'episods' in [training] (did you mean 'episodes'?)"},
    {"[environment.decay]\nenergi = 0.1\n",
     "t.toml:2:1: unknown key 'energi' in [environment.decay] (did you mean 'energy'?)"},
    {"[agent]\nzzzzzz = 1\n", "t.toml:2:1: unknown key 'zzzzzz' in [agent]"},
    {"[training]\n\"episodes\\u0000x\" = 5\n",
     "t.toml:2:1: unknown key 'episodes\\u0000x' in [training]"},
    {"[trainig]\nepisodes = 5\n", "t.toml:1:1: unknown table [trainig] (did you mean [training]?)"},
    {"[processes.trainr]\n",
     "t.toml:1:1: unknown table [processes.trainr] (did you mean [processes.trainer]?)"},
    {"episodes = 5\n", "t.toml:1:1: unknown key 'episodes' at the top level"},
    {"[training]\nepisodes = \"many\"\n",
     "t.toml:2:12: wrong type for 'episodes' in [training]: expected an integer, found a "
     "string"},
    {"[environment]\nlevel = 1.5\n",
     "t.toml:2:9: wrong type for 'level' in [environment]: expected an integer, found a float"},
    {"[unified_server]\nopen_browser = \"yes\"\n",
     "t.toml:2:16: wrong type for 'open_browser' in [unified_server]: expected a boolean, found "
     "a string"},
    {"[environment.decay]\nenergy = -0.005\n",
     "t.toml:2:10: 'energy' in [environment.decay] must be between 0 and 1, got -0.005"},
    {"[environment]\nwidth = 33\n",
     "t.toml:2:9: 'width' in [environment] must be between 1 and 32, got 33"},
    {"[environment]\nmax_steps = 40000\n",
     "t.toml:2:13: 'max_steps' in [environment] must be between 1 and 32767, got 40000"},
    {"[unified_server]\ninference_port = 0\n",
     "t.toml:2:18: 'inference_port' in [unified_server] must be between 1 and 65535, got 0"},
    {"[unified_server]\nfrontend_port = 70000\n",
     "t.toml:2:17: 'frontend_port' in [unified_server] must be between 1 and 65535, got 70000"},
    {"[agent]\nhidden = [128, 5000]\n",
     "t.toml:2:10: 'hidden' in [agent] must be between 1 and 4096, got 5000"},
    {"[agent]\nlearning_rate = 0\n",
     "t.toml:2:17: 'learning_rate' in [agent] must be greater than 0 and at most 1, got 0"},
    {"[[environment.affordances]]\nname = \"Bed\"\nx = 8\ny = 1\n",
     "t.toml:3:5: affordance 'Bed' at (8, 1) is outside the 8x8 grid"},
    {"[environment]\nheight = 4\n",
     "t.toml:2:10: affordance 'FastFood' at (5, 6) is outside the 8x4 grid"},
    {"[[environment.affordances]]\nname = \"A\"\nx = 1\ny = 1\n"
     "[[environment.affordances]]\nname = \"B\"\nx = 1\ny = 1\n",
     "t.toml:7:5: affordance 'B' at (1, 1) is on the same cell as 'A'"},
    {"[[environment.affordances]]\nname = \"A\"\nx = 1\n",
     "t.toml:1:1: [[environment.affordances]] #1 is missing 'y'"},
    {"[agent]\nbatch_size = 512\nreplay_capacity = 256\n",
     "t.toml:2:14: 'batch_size' in [agent] (512) must not exceed 'replay_capacity' (256)"},
    {"[curriculum]\nrestart_schedules = false\nplateau_episodes = 500\n",
     "t.toml:3:20: 'plateau_episodes' in [curriculum] (500) restarts the schedules per stage: "
     "it needs 'restart_schedules = true'"},
    {"[training]\nrestore_below = 0\n[curriculum]\nplateau_episodes = 500\n",
     "t.toml:4:20: 'plateau_episodes' in [curriculum] (500) judges the best evaluation that "
     "'restore_below' in [training] keeps: it needs 'restore_below' above 0"},
    {"[curriculum]\nplateau_reset_layers = 1\n",
     "t.toml:2:24: 'plateau_reset_layers' in [curriculum] (1) acts at a plateau restart: it "
     "needs 'plateau_episodes' above 0"},
    {"[curriculum]\nplateau_episodes = 500\nplateau_reset_layers = 4\n",
     "t.toml:3:24: 'plateau_reset_layers' in [curriculum] (4) must not exceed the network's 3 "
     "weight layers (the 'hidden' layers in [agent] and the output layer)"},
    {"[agent]\nlearning_rate_decay_episodes = 0\nlearning_rate_final_episodes = 500\n",
     "t.toml:3:32: 'learning_rate_final_episodes' in [agent] (500) continues a decay: it needs "
     "'learning_rate_decay_episodes' above 0"},
    {"[agent]\nlearning_rate_final = 0\n",
     "t.toml:2:23: 'learning_rate_final' in [agent] must be greater than 0 and at most 1, got 0"},
    {"[curriculum]\nplateau_episodes = -1\n",
     "t.toml:2:20: 'plateau_episodes' in [curriculum] must be at least 0, got -1"},
    {"[processes.server]\nrestart = \"sometimes\"\n",
     "t.toml:2:11: 'restart' in [processes.server] must be one of \"never\", \"on-failure\", "
     "\"always\", got \"sometimes\""},
    {"[curriculum]\nadvance_on = \"eval\"\n",
     "t.toml:2:14: 'advance_on' in [curriculum] must be one of \"training\", \"greedy\", got "
     "\"eval\""},
    {"[agent]\nn_step = 0\n", "t.toml:2:10: 'n_step' in [agent] must be between 1 and 64, got 0"},
    {"[agent]\npriority_alpha = 1.5\n",
     "t.toml:2:18: 'priority_alpha' in [agent] must be between 0 and 1, got 1.5"},
    {"[agent]\npriority_eps = 0\n",
     "t.toml:2:16: 'priority_eps' in [agent] must be greater than 0 and at most 1000000, got 0"},
    {"[training]\nseed = -1\n",
     "t.toml:2:8: 'seed' in [training] must be between 0 and 9223372036854775807, got -1"},
    {"[training]\nseed = 1\nseed = 2\n", "t.toml:3:1: duplicate key 'seed'"},
    {"name = \"../evil\"\n",
     "t.toml:1:8: 'name' must be letters, digits, '.', '_' or '-' and not start with '.'"},
    {"[training]\n[training]\n", "t.toml:2:1: table [training] is defined twice"},
    {"[training\n", "t.toml:1:10: expected ']' to close the table header, found end of line"},
};

START_TEST(test_errors) {
    cfg_config c;
    char err[512] = "";
    const char *doc = bad[_i].doc;
    int rc = cfg_load_string(&c, doc, strlen(doc), "t.toml", err, sizeof err);
    ck_assert_msg(rc == -1, "accepted: %s", doc);
    ck_assert_str_eq(err, bad[_i].err);
    /* On error the struct holds the defaults. */
    cfg_config d;
    cfg_defaults(&d);
    ck_assert(memcmp(&c, &d, sizeof c) == 0);
}
END_TEST

START_TEST(test_load_file_errors) {
    cfg_config c;
    char err[512], path[] = "/tmp/rd_cfg_XXXXXX";
    ck_assert_int_eq(cfg_load_file(&c, "/nonexistent/x.toml", err, sizeof err), -1);
    ck_assert_str_eq(err, "/nonexistent/x.toml: cannot open: No such file or directory");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *doc = "\n[training]\n  episods = 5\n";
    ck_assert_int_eq(write(fd, doc, strlen(doc)), (int)strlen(doc));
    close(fd);
    ck_assert_int_eq(cfg_load_file(&c, path, err, sizeof err), -1);
    char want[512];
    snprintf(want, sizeof want,
             "%s:3:3: unknown key 'episods' in [training] (did you mean 'episodes'?)", path);
    ck_assert_str_eq(err, want);
    unlink(path);
}
END_TEST

START_TEST(test_validate) {
    cfg_config c;
    char err[256];
    cfg_defaults(&c);
    c.server.inference_port = 70000;
    ck_assert_int_eq(cfg_validate(&c, err, sizeof err), -1);
    ck_assert_str_eq(err,
                     "'inference_port' in [unified_server] must be between 1 and 65535, got 70000");
    cfg_defaults(&c);
    c.environment.affordances[0].x = -1;
    ck_assert_int_eq(cfg_validate(&c, err, sizeof err), -1);
    ck_assert_str_eq(err, "affordance 'Bed' at (-1, 1) is outside the 8x8 grid");
    cfg_defaults(&c);
    c.training.seed = ~0ULL;
    ck_assert_int_eq(cfg_validate(&c, err, sizeof err), -1);
}
END_TEST

/* The [agent] priority_* keys came after checkpoints existed: at priority_alpha = 0 (uniform
 * replay, the former behaviour) the hash must be what it was before them, whatever
 * priority_beta and priority_eps hold, so that a checkpoint written before them still
 * loads; from alpha > 0 on, all three are part of what the weights mean. The numbers are
 * cfg_hash() of each level's file printed by the build of commit fc87f2a, before the keys
 * existed. */
START_TEST(test_priority_keys_hash) {
    static const struct {
        const char *file;
        uint64_t hash;
    } before[] = {{CONFIGS "/level1.toml", 0xb2917c4cbe2d6ae7ULL},
                  {CONFIGS "/level2.toml", 0xf8adaf7fed9d9550ULL},
                  {CONFIGS "/level3.toml", 0x94e578f132ac1fabULL}};
    for (size_t i = 0; i < sizeof before / sizeof before[0]; i++) {
        cfg_config c;
        load_file_ok(&c, before[i].file);
        /* The files now turn prioritized replay on (and levels 1 and 2 took level 3's gamma
         * 0.999 and n_step 3); with fc87f2a's values they are fc87f2a's files. */
        ck_assert_double_eq(c.agent.priority_alpha, 0.6);
        ck_assert(cfg_hash(&c) != before[i].hash);
        c.agent.priority_alpha = 0.0;
        if (c.environment.level < 3) c.agent.gamma = 0.995, c.agent.n_step = 1;
        c.agent.learning_rate_final_episodes = 0; /* level 3's second decay: younger still */
        if (c.environment.level == 3) c.agent.epsilon_end = 0.01; /* and its 5 % floor */
        ck_assert_msg(cfg_hash(&c) == before[i].hash, "%s: hash changed", before[i].file);
        c.agent.learning_rate_final = 3e-6; /* counts only with its episodes */
        ck_assert(cfg_hash(&c) == before[i].hash);
        c.agent.priority_beta = 1.0;
        c.agent.priority_eps = 0.5;
        ck_assert(cfg_hash(&c) == before[i].hash);
    }
    cfg_config d, c;
    cfg_defaults(&d);
    d.agent.priority_alpha = 0.0;
    d.agent.gamma = 0.995;
    d.agent.n_step = 1;
    ck_assert(cfg_hash(&d) == before[0].hash);
    c = d;
    c.agent.priority_alpha = 0.6;
    uint64_t on = cfg_hash(&c);
    ck_assert(on != before[0].hash);
    c.agent.priority_beta = 1.0;
    ck_assert(cfg_hash(&c) != on);
    c.agent.priority_beta = d.agent.priority_beta;
    c.agent.priority_eps = 0.5;
    ck_assert(cfg_hash(&c) != on);
    /* The second learning-rate decay, once on, is part of what the weights mean. */
    c = d;
    c.agent.learning_rate_final_episodes = 100;
    uint64_t second = cfg_hash(&c);
    ck_assert(second != before[0].hash);
    c.agent.learning_rate_final = 1e-6;
    ck_assert(cfg_hash(&c) != second);
}
END_TEST

START_TEST(test_resolve_path) {
    char out[CFG_PATH_MAX], err[512];
    ck_assert_int_eq(cfg_resolve_path("level2.toml", CONFIGS, out, sizeof out, err, sizeof err), 0);
    ck_assert_str_eq(out, CONFIGS "/level2.toml");
    ck_assert_int_eq(cfg_resolve_path("level3", CONFIGS, out, sizeof out, err, sizeof err), 0);
    ck_assert_str_eq(out, CONFIGS "/level3.toml");
    ck_assert_int_eq(
        cfg_resolve_path(CONFIGS "/level1.toml", "/nowhere", out, sizeof out, err, sizeof err), 0);
    ck_assert_str_eq(out, CONFIGS "/level1.toml");
    ck_assert_int_eq(cfg_resolve_path("level9.toml", CONFIGS, out, sizeof out, err, sizeof err),
                     -1);
    ck_assert_str_eq(err, "config file 'level9.toml' not found (looked in . and " CONFIGS "/)");
    ck_assert_int_eq(cfg_resolve_path("no/such.toml", CONFIGS, out, sizeof out, err, sizeof err),
                     -1);
    ck_assert_str_eq(err, "config file 'no/such.toml' not found");
    char tiny[4];
    ck_assert_int_eq(cfg_resolve_path("level1", CONFIGS, tiny, sizeof tiny, err, sizeof err), -1);
}
END_TEST

int main(void) {
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("load");
    tcase_add_test(tc, test_defaults_equal_level1);
    tcase_add_test(tc, test_defaults_numbers);
    tcase_add_test(tc, test_level2_and_level3);
    tcase_add_loop_test(tc, test_round_trip, 0, 3);
    tcase_add_test(tc, test_overlay_and_name);
    tcase_add_loop_test(tc, test_errors, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, test_load_file_errors);
    tcase_add_test(tc, test_validate);
    tcase_add_test(tc, test_priority_keys_hash);
    tcase_add_test(tc, test_resolve_path);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
