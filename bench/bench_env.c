/* bench/bench_env.c — the world's speed and a random policy's survival.
 *
 *   bench_env [--quick] [--runs N] [--seconds S]
 *
 * Prints, for levels 1-3 (the built-in level 1 town, level 2 with its 5x5 window, level 3
 * with its day), the median over N runs (5) of at least S seconds (1.0) each of the
 * following, per second of the thread's CPU time (what one core does) and per wall
 * second (what this run got on a shared machine):
 *   - env steps/s with uniformly random valid actions (env_action_mask + env_step,
 *     env_reset at each episode's end), multiplier 0.2;
 *   - ns per env_observe() on the states such a run visits;
 * then the mean survival (steps) of a random policy over 1000 level 1 episodes at
 * multipliers 0.2 and 1.0, choosing among the valid actions (and, for comparison, among
 * all six with a masked choice acting as wait). --quick: 3 runs of 0.2 s, for a smoke
 * test. One thread: the figure is a single core's. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cfg.h"
#include "common/env.h"
#include "tests/support/bstats.h"

static double clock_s(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Wall time bounds a run; the rate is reported per second of this thread's CPU time too,
 * since the machine is shared: on a busy host the wall-clock rate measures the neighbours
 * as much as this code. */
static double now_s(void) {
    return clock_s(CLOCK_MONOTONIC);
}
static double cpu_s(void) {
    return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

typedef struct {
    double wall, cpu; /* the same figure per wall second and per CPU second */
} rate;

/* For each 6-bit mask, its allowed actions and their count: a random valid action is one
 * table look-up and one bounded draw. */
static uint8_t valid_list[64][ENV_NUM_ACTIONS];
static uint8_t valid_count[64];

static void init_valid(void) {
    for (int m = 0; m < 64; m++) {
        valid_count[m] = 0;
        for (int a = 0; a < ENV_NUM_ACTIONS; a++)
            if (m & (1 << a)) valid_list[m][valid_count[m]++] = (uint8_t)a;
    }
}

static inline int random_valid(const env_t *e, rng_t *r) {
    uint8_t m = env_action_mask(e);
    return valid_list[m][rng_below(r, valid_count[m])];
}

static volatile uint64_t sink; /* keeps the compiler from dropping the work */

/* Steps/s of one run of at least `seconds`. */
static rate run_steps(const cfg_environment *c, double seconds, uint64_t seed) {
    env_t e;
    if (env_init(&e, c, seed) != 0) return (rate){0, 0};
    e.multiplier = 0.2;
    env_reset(&e);
    rng_t r;
    rng_seed(&r, seed, 1);
    uint64_t steps = 0, episodes = 0;
    double t0 = now_s(), c0 = cpu_s(), t;
    do {
        for (int i = 0; i < 65536; i++) {
            if (env_step(&e, random_valid(&e, &r)) != ENV_RUNNING) {
                env_reset(&e);
                episodes++;
            }
        }
        steps += 65536;
        t = now_s();
    } while (t - t0 < seconds);
    sink += episodes + (uint64_t)e.x;
    return (rate){(double)steps / (t - t0), (double)steps / (cpu_s() - c0)};
}

/* ns per (step + observe) of one run; the caller subtracts the step's own cost. */
static rate run_step_observe(const cfg_environment *c, double seconds, uint64_t seed) {
    env_t e;
    if (env_init(&e, c, seed) != 0) return (rate){0, 0};
    e.multiplier = 0.2;
    env_reset(&e);
    rng_t r;
    rng_seed(&r, seed, 1);
    static float obs[ENV_MAX_OBS];
    uint64_t n = 0;
    float acc = 0;
    double t0 = now_s(), c0 = cpu_s(), t;
    do {
        for (int i = 0; i < 65536; i++) {
            env_observe(&e, obs);
            acc += obs[e.x];
            if (env_step(&e, random_valid(&e, &r)) != ENV_RUNNING) env_reset(&e);
        }
        n += 65536;
        t = now_s();
    } while (t - t0 < seconds);
    sink += (uint64_t)acc;
    return (rate){(t - t0) * 1e9 / (double)n, (cpu_s() - c0) * 1e9 / (double)n};
}

/* Mean steps survived over `episodes` random-policy episodes. */
static double survival(const cfg_environment *c, double mult, int episodes, bool valid_only,
                       uint64_t seed) {
    env_t e;
    if (env_init(&e, c, seed) != 0) return 0;
    e.multiplier = mult;
    rng_t r;
    rng_seed(&r, seed, 2);
    uint64_t total = 0;
    for (int ep = 0; ep < episodes; ep++) {
        env_reset(&e);
        while (env_step(&e, valid_only ? random_valid(&e, &r)
                                       : (int)rng_below(&r, ENV_NUM_ACTIONS)) == ENV_RUNNING) {}
        total += (uint64_t)e.step;
    }
    return (double)total / episodes;
}

int main(int argc, char **argv) {
    int runs = 5;
    double seconds = 1.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            runs = 3;
            seconds = 0.2;
        } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--quick] [--runs N] [--seconds S]\n", argv[0]);
            return 2;
        }
    }
    if (runs < 1 || runs > 100 || !(seconds > 0)) {
        fprintf(stderr, "bench_env: --runs 1-100, --seconds > 0\n");
        return 2;
    }
    init_valid();

    static cfg_config cfgs[3];
    for (int l = 0; l < 3; l++) cfg_defaults(&cfgs[l]);
    cfgs[1].environment.level = 2;
    cfgs[1].environment.observability = CFG_OBS_PARTIAL;
    cfgs[1].environment.view_radius = 2;
    cfg_environment *l3 = &cfgs[2].environment;
    l3->level = 3;
    l3->day_cycle = true;
    l3->max_steps = 720;
    l3->affordances[5].open_hour = 8; /* Job */
    l3->affordances[5].close_hour = 17;
    l3->affordances[5].ticks = 4;
    l3->affordances[8].open_hour = 18; /* Bar */
    l3->affordances[8].close_hour = 2;
    l3->affordances[0].ticks = 4; /* Bed */

    printf("env: %d runs of >= %.1f s each, medians; random valid actions, multiplier 0.2\n", runs,
           seconds);
    printf("(per CPU second of the benchmark's thread; per wall second in brackets)\n");
    printf("%-8s %4s %12s %14s %8s %9s %11s %9s\n", "level", "obs", "steps/s", "(wall)", "ns/step",
           "(wall)", "ns/observe", "(wall)");
    double v[100], vw[100], w[100], ww[100];
    for (int l = 0; l < 3; l++) {
        const cfg_environment *c = &cfgs[l].environment;
        for (int i = 0; i < runs; i++) {
            rate r = run_steps(c, seconds, 100 + (uint64_t)i);
            v[i] = r.cpu, vw[i] = r.wall;
        }
        double sps = bstats_median(v, runs), sps_w = bstats_median(vw, runs);
        for (int i = 0; i < runs; i++) {
            rate r = run_step_observe(c, seconds, 200 + (uint64_t)i);
            w[i] = r.cpu, ww[i] = r.wall;
        }
        double ns = bstats_median(w, runs), ns_w = bstats_median(ww, runs);
        printf("level %-2d %4d %12.0f %14.0f %8.2f %9.2f %11.2f %9.2f\n", l + 1, env_obs_size(c),
               sps, sps_w, 1e9 / sps, 1e9 / sps_w, ns - 1e9 / sps, ns_w - 1e9 / sps_w);
    }

    printf("random policy, level 1, mean steps survived over 1000 episodes (max %d):\n",
           cfgs[0].environment.max_steps);
    const double mults[2] = {0.2, 1.0};
    for (int m = 0; m < 2; m++)
        printf("  multiplier %.1f: %7.1f (valid actions)  %7.1f (any action, masked = wait)\n",
               mults[m], survival(&cfgs[0].environment, mults[m], 1000, true, 7),
               survival(&cfgs[0].environment, mults[m], 1000, false, 7));
    return 0;
}
