/* bench/bench_trainer.c — the trainer's figures (docs/design/learner.md).
 * scripts/bench.d/trainer.sh runs the subcommands and prints the report.
 *
 *   bench_trainer env        [--config F] [--runs N] [--steps N]
 *       bare environment steps/s with random valid actions, one core
 *   bench_trainer throughput [--config F] [--runs N] [--seconds S]
 *       training env steps/s and updates/s (batch and train_every from the config)
 *   bench_trainer learn      [--config F] [--episodes N] [--seed S] [--multiplier M]
 *                            [--eval-at A,B,...] [--eval-episodes N] [--blocks]
 *       trains in-process; prints greedy evaluations at the given episodes, mean survival
 *       per 50-episode block (--blocks), the curriculum stage reached and the survival at
 *       each stage. --multiplier pins the decay multiplier (no curriculum).
 *   bench_trainer competence [--config F] [--episodes N] [--seed S] [--probe-every K]
 *                            [--eval-episodes N] [--stop] [--trace]
 *       time to competence: trains in-process with the config's curriculum and, every K
 *       episodes (50), runs a greedy evaluation of N episodes (100) at multiplier 1.0 on
 *       its own clock; prints the first episode and the training wall time (evaluations
 *       excluded) at which it reached 90 % of max_steps, the episode and time each
 *       curriculum stage was reached, and the greedy score at 1.0 after N episodes; and
 *       how steady the policy is late: of the probes after 40 % of the episodes, how many
 *       reached 98 % of max_steps, their mean and the lowest. --stop ends the run at
 *       competence (screening); --trace prints every probe. One `competence` line at the
 *       end.
 *   bench_trainer random     [--config F] [--episodes N] [--multiplier M]
 *       mean survival of a uniformly random valid policy
 *   bench_trainer wall       --bin DIR [--config F] [--episodes N] [--seed S]
 *       runs the real trainer binary headless; prints wall seconds and peak RSS.
 *   bench_trainer digest     [--config F] [--episodes N] [--seed S] [--multiplier M]
 *       trains in-process and prints 64-bit FNV-1a digests of the learner's state (online
 *       and target weights; Adam moments): a kernel change that claims to keep the
 *       arithmetic must keep them. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/env.h"
#include "common/log.h"
#include "common/nn.h"
#include "trainer/trainer.h"
#include "trainer/trainer_internal.h"
#include "tests/support/bstats.h"
#include "tests/support/tclock.h"

typedef struct {
    const char *config, *bin;
    int runs, episodes, eval_episodes;
    double seconds, multiplier;
    long long steps;
    uint64_t seed;
    bool blocks, stop, trace;
    int probe_every;
    int eval_at[32], n_eval_at;
} args_t;

static void load_config(const args_t *a, cfg_config *cfg) {
    cfg_defaults(cfg);
    char err[1024];
    if (a->config && cfg_load_file(cfg, a->config, err, sizeof err) != 0) {
        fprintf(stderr, "bench_trainer: %s\n", err);
        exit(2);
    }
    if (a->multiplier > 0) {
        cfg->curriculum.enabled = true;
        cfg->curriculum.n_stages = 1;
        cfg->curriculum.stages[0] = a->multiplier;
    }
    cfg->training.seed = a->seed;
}

static int random_action(env_t *e, rng_t *r) {
    uint8_t m = env_action_mask(e);
    int allowed[ENV_NUM_ACTIONS], n = 0;
    for (int i = 0; i < ENV_NUM_ACTIONS; i++)
        if (m >> i & 1) allowed[n++] = i;
    return n ? allowed[rng_below(r, (uint32_t)n)] : ENV_WAIT;
}

static int cmd_env(const args_t *a) {
    cfg_config cfg;
    load_config(a, &cfg);
    env_t e;
    env_init(&e, &cfg.environment, 1);
    e.multiplier = a->multiplier > 0 ? a->multiplier : 1.0;
    rng_t r;
    rng_seed(&r, 2, 0);
    double v[64];
    float obs[ENV_MAX_OBS];
    for (int run = 0; run < a->runs; run++) {
        env_reset(&e);
        double t0 = tclock_now_s();
        for (long long i = 0; i < a->steps; i++) {
            if (env_step(&e, random_action(&e, &r)) != ENV_RUNNING) env_reset(&e);
        }
        double t1 = tclock_now_s();
        v[run] = a->steps / (t1 - t0);
        (void)obs;
    }
    double steps = bstats_median(v, a->runs);
    /* The same with an observation per step, as the trainer does. */
    for (int run = 0; run < a->runs; run++) {
        env_reset(&e);
        double t0 = tclock_now_s();
        for (long long i = 0; i < a->steps; i++) {
            env_observe(&e, obs);
            if (env_step(&e, random_action(&e, &r)) != ENV_RUNNING) env_reset(&e);
        }
        v[run] = a->steps / (tclock_now_s() - t0);
    }
    printf("env_steps_per_s %.0f  env_steps_with_observe_per_s %.0f  (median of %d runs)\n", steps,
           bstats_median(v, a->runs), a->runs);
    return 0;
}

/* CPU time of this thread, in seconds. */
static double cpu_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char *temp_run_dir(void) {
    static char dir[256];
    snprintf(dir, sizeof dir, "/tmp/rd_bench_trainer_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
    return dir;
}

static void remove_dir(const char *dir) {
    char cmd[CFG_PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "bench_trainer: could not remove %s\n", dir);
}

/* A trainer for cfg in a fresh temporary run directory; exits the program if it cannot be
 * opened. bench_close() removes both. */
static trainer_t *bench_open(const cfg_config *cfg, int64_t episodes) {
    char *dir = temp_run_dir();
    trainer_t *t = calloc(1, sizeof *t);
    trainer_opts o = {.run_dir = dir, .episodes = episodes, .quiet = true};
    char err[1024];
    if (!t || trainer_open(t, cfg, &o, err, sizeof err) != 0) {
        fprintf(stderr, "bench_trainer: %s\n", t ? err : "out of memory");
        remove_dir(dir);
        exit(1);
    }
    return t;
}

static void bench_close(trainer_t *t) {
    char dir[sizeof t->run_dir];
    snprintf(dir, sizeof dir, "%s", t->run_dir);
    trainer_close(t);
    free(t);
    remove_dir(dir);
}

static int cmd_throughput(const args_t *a) {
    cfg_config cfg;
    load_config(a, &cfg);
    cfg.training.eval_every = 0;
    cfg.training.checkpoint_every = 0;
    double sps[64], ups[64], cps[64];
    for (int run = 0; run < a->runs; run++) {
        trainer_t *t = bench_open(&cfg, 1000000000);
        trainer_episode_result res;
        /* Fill the replay past learning_starts first: only steady state is measured. */
        while ((int64_t)t->replay.size < cfg.agent.learning_starts)
            trainer_run_episode(t, NULL, &res);
        int64_t s0 = t->st.steps, u0 = t->dqn.updates;
        double t0 = tclock_now_s(), c0 = cpu_now_s();
        while (tclock_now_s() - t0 < a->seconds) {
            trainer_run_episode(t, NULL, &res);
            /* epsilon decays as in a run: by episode, or by episodes at the stage with
             * restart_schedules (no curriculum moves here: one stage throughout) */
            t->st.episode++;
            t->st.stage_episodes++;
        }
        double dt = tclock_now_s() - t0;
        sps[run] = (t->st.steps - s0) / dt;
        cps[run] = (t->st.steps - s0) / (cpu_now_s() - c0);
        ups[run] = (t->dqn.updates - u0) / dt;
        bench_close(t);
    }
    /* Per CPU-second as well: on a shared machine the wall-clock rate also measures the
     * neighbours; the CPU-time rate is the code's (a floor still: caches are shared). */
    printf("train_env_steps_per_s %.0f  updates_per_s %.0f  env_steps_per_cpu_s %.0f  (batch %d, "
           "one update per %d steps, backend %s, median of %d runs of %.1f s)\n",
           bstats_median(sps, a->runs), bstats_median(ups, a->runs), bstats_median(cps, a->runs),
           cfg.agent.batch_size, cfg.agent.train_every, nn_backend_name(nn_get_backend()), a->runs,
           a->seconds);
    return 0;
}

static int cmd_random(const args_t *a) {
    cfg_config cfg;
    load_config(a, &cfg);
    env_t e;
    env_init(&e, &cfg.environment, a->seed + 1000);
    e.multiplier = a->multiplier > 0 ? a->multiplier : 1.0;
    rng_t r;
    rng_seed(&r, a->seed, 9);
    double total = 0;
    for (int i = 0; i < a->episodes; i++) {
        env_reset(&e);
        while (env_step(&e, random_action(&e, &r)) == ENV_RUNNING) {}
        total += e.step;
    }
    printf("random_policy_mean_survival %.1f  (multiplier %.2f, %d episodes, max %d)\n",
           total / a->episodes, e.multiplier, a->episodes, cfg.environment.max_steps);
    return 0;
}

static int cmd_learn(const args_t *a) {
    cfg_config cfg;
    load_config(a, &cfg);
    cfg.training.checkpoint_every = 0; /* the bench measures learning, not the disk */
    trainer_t *t = bench_open(&cfg, a->episodes);
    char err[1024];
    double stage_sum[CFG_MAX_STAGES] = {0};
    int stage_n[CFG_MAX_STAGES] = {0}, stage_first[CFG_MAX_STAGES];
    for (int i = 0; i < CFG_MAX_STAGES; i++) stage_first[i] = -1;
    double block = 0;
    int next_eval = 0;
    double t0 = tclock_now_s();
    printf("learn: seed %" PRIu64 ", %d episodes, %s\n", a->seed, a->episodes,
           a->multiplier > 0 ? "fixed multiplier" : "curriculum");
    if (a->blocks) printf("  blocks of 50 episodes (mean training survival):\n   ");
    while (t->st.episode < a->episodes) {
        int stage = t->st.stage;
        trainer_episode_result res;
        double e0 = tclock_now_s();
        trainer_run_episode(t, NULL, &res);
        if (trainer_end_episode(t, &res, tclock_now_s() - e0, NULL, 0, err, sizeof err) != 0) {
            fprintf(stderr, "bench_trainer: %s\n", err);
            return 1;
        }
        stage_sum[stage] += res.steps;
        stage_n[stage]++;
        if (stage_first[t->st.stage] < 0) stage_first[t->st.stage] = (int)t->st.episode;
        block += res.steps;
        if (a->blocks && t->st.episode % 50 == 0) {
            printf(" %" PRId64 ":%.0f", t->st.episode - 50, block / 50);
            if (t->st.episode % 500 == 0) printf("\n   ");
            fflush(stdout);
            block = 0;
        } else if (!a->blocks && t->st.episode % 50 == 0)
            block = 0;
        if (next_eval < a->n_eval_at && t->st.episode == a->eval_at[next_eval]) {
            double score = trainer_evaluate(t, a->eval_episodes, 0xbe7c4ULL + (uint64_t)next_eval);
            printf("  eval at %6" PRId64 ": mean survival %.1f over %d greedy episodes "
                   "(multiplier %.2f, %.1f s so far)\n",
                   t->st.episode, score, a->eval_episodes, trainer_multiplier(t),
                   tclock_now_s() - t0);
            fflush(stdout);
            next_eval++;
        }
    }
    printf("\n  curriculum: final stage %d (multiplier %.2f) of %d\n", t->st.stage,
           trainer_multiplier(t), cfg.curriculum.enabled ? cfg.curriculum.n_stages : 0);
    for (int s = 0; s < CFG_MAX_STAGES; s++)
        if (stage_n[s])
            printf("    stage %d (multiplier %.2f): reached at episode %d, %d episodes, mean "
                   "training survival %.1f\n",
                   s, cfg.curriculum.enabled ? cfg.curriculum.stages[s] : 1.0,
                   s == 0 ? 0 : stage_first[s], stage_n[s], stage_sum[s] / stage_n[s]);
    printf("  wall %.1f s, %" PRId64 " env steps, %.0f steps/s\n", tclock_now_s() - t0, t->st.steps,
           t->st.steps / (tclock_now_s() - t0));
    bench_close(t);
    return 0;
}

/* Time to competence (see the usage at the top). The probe's evaluations use their own
 * rng stream (trainer_evaluate_at), so probing leaves the training run unchanged: the
 * same seed gives the same run with or without --probe-every. */
static int cmd_competence(const args_t *a) {
    cfg_config cfg;
    load_config(a, &cfg);
    cfg.training.checkpoint_every = 0;
    /* The probe replaces the run's own evaluations, unless restore_below acts on them: then
     * they are part of training and their time counts as training time. */
    if (cfg.training.restore_below <= 0) cfg.training.eval_every = 0;
    const int max_steps = cfg.environment.max_steps;
    const double goal = 0.9 * max_steps;
    int probe_every = a->probe_every > 0 ? a->probe_every : 50;
    trainer_t *t = bench_open(&cfg, a->episodes);
    char err[1024];
    int stage_ep[CFG_MAX_STAGES];
    double stage_s[CFG_MAX_STAGES];
    for (int i = 0; i < CFG_MAX_STAGES; i++) stage_ep[i] = -1, stage_s[i] = -1;
    stage_ep[0] = 0, stage_s[0] = 0;
    int64_t reached_ep = -1;
    /* Wall and CPU seconds of training: on a shared machine the wall clock also measures
     * the neighbours, the thread's CPU time is what the run itself cost. */
    double reached_s = -1, reached_cpu = -1, train_s = 0, train_cpu = 0, eval_s = 0, best = 0;
    double final = -1;
    /* Steadiness: the probes of the run's last 60 % (after 4,000 of 10,000 episodes), how
     * many at 98 % of max_steps (the target for the final) and the lowest. One final is a
     * single draw of a policy that may still swing; these are many. */
    const double steady_bar = 0.98 * max_steps;
    const int64_t late_from = (int64_t)a->episodes * 2 / 5;
    int late_n = 0, late_ok = 0;
    double late_sum = 0, late_min = -1;
    int n_stages = cfg.curriculum.enabled ? cfg.curriculum.n_stages : 1;
    while (t->st.episode < a->episodes) {
        trainer_episode_result res;
        double e0 = tclock_now_s(), c0 = cpu_now_s();
        trainer_run_episode(t, NULL, &res);
        if (trainer_end_episode(t, &res, tclock_now_s() - e0, NULL, 0, err, sizeof err) != 0) {
            fprintf(stderr, "bench_trainer: %s\n", err);
            return 1;
        }
        train_s += tclock_now_s() - e0; /* the curriculum's own checks included */
        train_cpu += cpu_now_s() - c0;
        if (stage_ep[t->st.stage] < 0) {
            stage_ep[t->st.stage] = (int)t->st.episode;
            stage_s[t->st.stage] = train_s;
        }
        bool last = t->st.episode == a->episodes;
        if (t->st.episode % probe_every == 0 || last) {
            double p0 = tclock_now_s();
            double score = trainer_evaluate_at(t, a->eval_episodes,
                                               0xc0ffeeULL + (uint64_t)t->st.episode, 1.0);
            eval_s += tclock_now_s() - p0;
            if (score > best) best = score;
            if (last) final = score;
            if (!a->stop && t->st.episode > late_from) { /* --stop: no late part */
                late_n++;
                late_ok += score >= steady_bar;
                late_sum += score;
                if (late_min < 0 || score < late_min) late_min = score;
            }
            if (a->trace)
                printf("  probe %" PRId64 ": %.1f (stage %d)\n", t->st.episode, score, t->st.stage);
            if (reached_ep < 0 && score >= goal) {
                reached_ep = t->st.episode;
                reached_s = train_s;
                reached_cpu = train_cpu;
                printf("  competent at episode %" PRId64 ": greedy %.1f at 1.0 after %.1f s of "
                       "training (%.1f CPU s)\n",
                       reached_ep, score, reached_s, reached_cpu);
                fflush(stdout);
                if (a->stop) break;
            }
        }
    }
    if (final >= 0)
        printf("  final greedy at 1.0 after %" PRId64 " episodes: %.1f\n", t->st.episode, final);
    /* One line of key-value pairs for scripts/bench.d/learn.sh; -1 = not reached / not run
     * (final is -1 when --stop ended the run at competence). */
    printf("competence level %d seed %" PRIu64 " max_steps %d episodes %" PRId64
           " reached_episode %" PRId64 " reached_s %.1f reached_cpu_s %.1f final %.1f best %.1f"
           " train_s %.1f train_cpu_s %.1f eval_s %.1f stage %d restores %" PRId64
           " plateau_restarts %" PRId64 " late_from %" PRId64
           " late_probes %d late_ok %d late_mean %.1f late_min %.1f",
           cfg.environment.level, a->seed, max_steps, t->st.episode, reached_ep, reached_s,
           reached_cpu, final, best, train_s, train_cpu, eval_s, t->st.stage, t->restores,
           t->plateau_restarts, late_from, late_n, late_ok, late_n ? late_sum / late_n : -1.0,
           late_min);
    for (int i = 0; i < n_stages; i++)
        printf(" stage%d_ep %d stage%d_s %.1f", i, stage_ep[i], i, stage_s[i]);
    printf("\n");
    bench_close(t);
    return 0;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static int cmd_digest(const args_t *a) {
    cfg_config cfg;
    load_config(a, &cfg);
    cfg.training.checkpoint_every = 0;
    trainer_t *t = bench_open(&cfg, a->episodes);
    char err[1024];
    while (t->st.episode < a->episodes) {
        trainer_episode_result res;
        trainer_run_episode(t, NULL, &res);
        if (trainer_end_episode(t, &res, 0.0, NULL, 0, err, sizeof err) != 0) {
            fprintf(stderr, "bench_trainer: %s\n", err);
            return 1;
        }
    }
    size_t bytes = sizeof(float) * t->dqn.n_params;
    uint64_t w = 0xcbf29ce484222325ULL, mo = w;
    w = fnv1a(w, t->dqn.online, bytes);
    w = fnv1a(w, t->dqn.target, bytes);
    mo = fnv1a(mo, t->dqn.adam_m, bytes);
    mo = fnv1a(mo, t->dqn.adam_v, bytes);
    printf("digest weights %016" PRIx64 " moments %016" PRIx64 "  (seed %" PRIu64
           ", %d episodes, %" PRId64 " steps, %" PRId64 " updates)\n",
           w, mo, a->seed, a->episodes, t->st.steps, t->dqn.updates);
    bench_close(t);
    return 0;
}

static int cmd_wall(const args_t *a) {
    if (!a->bin) {
        fprintf(stderr, "bench_trainer wall: --bin DIR is required\n");
        return 2;
    }
    char *dir = temp_run_dir();
    char bin[1024], eps[32], seed[32];
    snprintf(bin, sizeof bin, "%s/trainer", a->bin);
    snprintf(eps, sizeof eps, "%d", a->episodes);
    snprintf(seed, sizeof seed, "%" PRIu64, a->seed);
    double t0 = tclock_now_s();
    pid_t pid = fork();
    if (pid == 0) {
        if (a->config)
            execl(bin, "trainer", "--config", a->config, "--run-dir", dir, "--episodes", eps,
                  "--seed", seed, "--quiet", (char *)NULL);
        else
            execl(bin, "trainer", "--run-dir", dir, "--episodes", eps, "--seed", seed, "--quiet",
                  (char *)NULL);
        _exit(127);
    }
    int st;
    struct rusage ru;
    wait4(pid, &st, 0, &ru);
    double wall = tclock_now_s() - t0;
    char path[512];
    snprintf(path, sizeof path, "%s/progress.json", dir);
    FILE *f = fopen(path, "r");
    char buf[1024] = "";
    if (f) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
    }
    const char *steps = strstr(buf, "\"steps\":");
    printf("wall_seconds_%d_episodes %.1f  peak_rss_mb %.1f  exit %d  env_steps %s\n", a->episodes,
           wall, ru.ru_maxrss / 1024.0, WIFEXITED(st) ? WEXITSTATUS(st) : -1,
           steps ? strtok((char *)steps + 8, ",") : "?");
    remove_dir(dir);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(
            stderr,
            "usage: bench_trainer env|throughput|learn|competence|random|wall|digest [options]\n");
        return 2;
    }
    args_t a = {.runs = 5,
                .episodes = 1000,
                .eval_episodes = 100,
                .seconds = 3,
                .steps = 10000000,
                .seed = 1};
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(k, "--blocks") || !strcmp(k, "--stop") || !strcmp(k, "--trace")) {
            *(k[2] == 'b' ? &a.blocks : k[2] == 's' ? &a.stop : &a.trace) = true;
            continue;
        }
        i++;
        if (!strcmp(k, "--config"))
            a.config = v;
        else if (!strcmp(k, "--bin"))
            a.bin = v;
        else if (!strcmp(k, "--runs"))
            a.runs = atoi(v);
        else if (!strcmp(k, "--episodes"))
            a.episodes = atoi(v);
        else if (!strcmp(k, "--eval-episodes"))
            a.eval_episodes = atoi(v);
        else if (!strcmp(k, "--probe-every"))
            a.probe_every = atoi(v);
        else if (!strcmp(k, "--seconds"))
            a.seconds = atof(v);
        else if (!strcmp(k, "--steps"))
            a.steps = atoll(v);
        else if (!strcmp(k, "--seed"))
            a.seed = strtoull(v, NULL, 10);
        else if (!strcmp(k, "--multiplier"))
            a.multiplier = atof(v);
        else if (!strcmp(k, "--eval-at")) {
            char buf[256];
            snprintf(buf, sizeof buf, "%s", v);
            for (char *tok = strtok(buf, ","); tok && a.n_eval_at < 32; tok = strtok(NULL, ","))
                a.eval_at[a.n_eval_at++] = atoi(tok);
        } else {
            fprintf(stderr, "bench_trainer: unknown option %s\n", k);
            return 2;
        }
    }
    if (a.runs < 1 || a.runs > 64) a.runs = 5;
    if (a.episodes < 1) a.episodes = 1;
    log_init("bench_trainer", false);
    log_set_level(LOG_WARN);
    nn_set_backend(NN_BACKEND_NATIVE);
    const char *cmd = argv[1];
    if (!strcmp(cmd, "env")) return cmd_env(&a);
    if (!strcmp(cmd, "throughput")) return cmd_throughput(&a);
    if (!strcmp(cmd, "learn")) return cmd_learn(&a);
    if (!strcmp(cmd, "competence")) return cmd_competence(&a);
    if (!strcmp(cmd, "random")) return cmd_random(&a);
    if (!strcmp(cmd, "wall")) return cmd_wall(&a);
    if (!strcmp(cmd, "digest")) return cmd_digest(&a);
    fprintf(stderr, "bench_trainer: unknown subcommand %s\n", cmd);
    return 2;
}
