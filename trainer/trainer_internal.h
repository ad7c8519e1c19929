/* trainer/trainer_internal.h — the layout of a run (prefix trainer_), for trainer/trainer.c
 * and for white-box tests and benchmarks that read or set the learner's state directly.
 * The program (trainer/main.c) sees trainer_t as opaque and reads it through
 * trainer_get_view() and the accessors of trainer/trainer.h. */
#ifndef RD_TRAINER_TRAINER_INTERNAL_H
#define RD_TRAINER_TRAINER_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "common/cfg.h"
#include "common/env.h"
#include "common/rng.h"
#include "trainer/dqn.h"
#include "trainer/replay.h"
#include "trainer/snapshot.h"
#include "trainer/tb.h"
#include "trainer/trainer.h"

struct trainer {
    cfg_config cfg;
    char run_dir[CFG_PATH_MAX];
    char ckpt_dir[CFG_PATH_MAX + 16];
    int64_t target_episodes;
    bool quiet;
    dqn_t dqn;
    replay_t replay;
    env_t env;
    rng_t explore_rng, replay_rng;
    snapshot_state st;
    snapshot_episode ep;      /* the episode in progress, if any */
    int32_t *window;          /* curriculum: lengths of the last episodes at this stage */
    snapshot_keep keep;       /* restore_below: the best weights at the last stage */
    int64_t restores;         /* ... put back since this process opened the run */
    int64_t plateau_restarts; /* schedules restarted by plateau_episodes, ditto */
    float *obs;
    FILE *metrics;
    tb_writer *tb;
    trainer_status status;
    double ema_sps;         /* training env steps per second: see trainer_end_episode() */
    double sec_per_episode; /* wall seconds per episode over the same span, for the ETA */
    double win_secs;        /* the window being measured */
    int64_t win_steps, win_eps;
    double run_secs; /* since this process opened the run (started or resumed) */
    int64_t run_steps, run_eps;
    char resumed_from[CFG_PATH_MAX]; /* "" for a new run */
    int64_t resumed_episode;
    /* The last checkpoint written or resumed from (-1 = none): lets the program skip a
     * redundant write and report what trainer_end_episode() saved. saved_episode_step is
     * the step within the episode in progress it was taken at (0 at a boundary). */
    int64_t saved_episode, saved_steps;
    int32_t saved_episode_step;
    char saved_name[64];
    char saved_path[CFG_PATH_MAX + 96];
    bool saved_now, saved_best; /* set by trainer_end_episode() when it wrote one */
};

#endif
