/* trainer/trainer.c — see trainer.h. */
#include "trainer/trainer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/ckpt.h"
#include "common/clk.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/recfile.h"
#include "trainer/record.h"
#include "trainer/snapshot.h"
#include "trainer/trainer_internal.h"

const char *const trainer_status_names[5] = {"running", "paused", "stopped", "completed", "failed"};

double trainer_multiplier(const trainer_t *t) {
    return cfg_stage_multiplier(&t->cfg.curriculum, t->st.stage);
}

/* From `from` to `to` linearly over `over` episodes, then `to`; `to` throughout when
 * over <= 0. By episode count only, so that a resumed run gets the same values. */
static double linear_schedule(double from, double to, int over, int64_t episode) {
    if (over <= 0) return to;
    double f = (double)episode / over;
    if (f > 1.0) f = 1.0;
    return from + f * (to - from);
}

/* The episode count the schedules follow: the run's, or with restart_schedules the
 * episodes at the current curriculum stage (both are in TSTA, so a resume agrees). */
static int64_t schedule_episode(const trainer_t *t) {
    const cfg_curriculum *c = &t->cfg.curriculum;
    if (c->restart_schedules && c->enabled && c->n_stages > 1) return t->st.stage_episodes;
    return t->st.episode;
}

double trainer_epsilon(const trainer_t *t) {
    const cfg_agent *a = &t->cfg.agent;
    return linear_schedule(a->epsilon_start, a->epsilon_end, a->epsilon_decay_episodes,
                           schedule_episode(t));
}

/* Two linear pieces: learning_rate to learning_rate_end over learning_rate_decay_episodes,
 * then on to learning_rate_final over learning_rate_final_episodes. The second piece leaves
 * every rate of the first bit for bit as it was, so it cannot move what a run learned
 * before the first piece ended (a competence reached there); after, the smaller steps
 * keep a competent policy steadier (docs/design/learner.md, "Seventh round"). */
double trainer_learning_rate(const trainer_t *t) {
    const cfg_agent *a = &t->cfg.agent;
    int over = a->learning_rate_decay_episodes;
    if (over <= 0) return a->learning_rate;
    int64_t e = schedule_episode(t);
    if (a->learning_rate_final_episodes > 0 && e > over)
        return linear_schedule(a->learning_rate_end, a->learning_rate_final,
                               a->learning_rate_final_episodes, e - over);
    return linear_schedule(a->learning_rate, a->learning_rate_end, over, e);
}

/* ---- Checkpoints (the sections and their encoding: trainer/snapshot.c) ---- */

/* The run's state as snapshot_save/snapshot_restore take it. */
static snapshot_parts parts_of(trainer_t *t) {
    return (snapshot_parts){.cfg = &t->cfg,
                            .dqn = &t->dqn,
                            .replay = &t->replay,
                            .st = &t->st,
                            .ep = &t->ep,
                            .env = &t->env,
                            .explore_rng = &t->explore_rng,
                            .replay_rng = &t->replay_rng,
                            .window = t->window,
                            .keep = &t->keep};
}

int trainer_checkpoint(trainer_t *t, bool is_best, char *path, size_t pathlen, char *err,
                       size_t errlen) {
    ckpt_header h = {.cfg_hash = cfg_hash(&t->cfg),
                     .episode = t->st.episode,
                     .steps = t->st.steps,
                     .epsilon = trainer_epsilon(t),
                     .score = t->st.last_score,
                     .best_score = t->st.best_score,
                     .wall_time = (int64_t)time(NULL)};
    /* The name tells the two kinds apart and orders them (common/ckpt.h): a mid-episode
     * checkpoint never takes the name of the boundary one at the same episode count,
     * which `best` may name. */
    int32_t ep_step = t->ep.active ? t->ep.steps : 0;
    char name[64];
    if (t->ep.active) {
        if (is_best) {
            snprintf(err, errlen, "a mid-episode checkpoint cannot be the best");
            return -1;
        }
        snprintf(name, sizeof name, "ep_%07" PRId64 "_s%05" PRId32, t->st.episode, ep_step);
    } else {
        snprintf(name, sizeof name, "ep_%07" PRId64, t->st.episode);
    }
    snapshot_parts p = parts_of(t);
    if (snapshot_save(&p, &h, t->ckpt_dir, name, is_best, t->cfg.training.keep_checkpoints, err,
                      errlen) != 0)
        return -1;
    char prev[sizeof t->saved_path];
    snprintf(prev, sizeof prev, "%s", t->saved_path);
    snprintf(t->saved_path, sizeof t->saved_path, "%s/%s.ckpt", t->ckpt_dir, name);
    /* Only the newest checkpoint carries the replay buffer (27 of a file's 28 MB at the
     * defaults), which keeps a run's checkpoints near 30 MB instead of 150: the previous one
     * keeps weights, optimizer and state (docs/design/checkpoint.md, "Disk"). Its priorities
     * (prioritized replay) go with it: without the replay they mean nothing. */
    char derr[512];
    if (prev[0] && strcmp(prev, t->saved_path) != 0 && access(prev, F_OK) == 0 &&
        (ckpt_drop_section(prev, SNAPSHOT_TAG_REPLAY, derr, sizeof derr) != 0 ||
         (t->replay.tree && ckpt_drop_section(prev, SNAPSHOT_TAG_PRIO, derr, sizeof derr) != 0)))
        log_warn("could not drop the replay from the previous checkpoint: %s", derr);
    snprintf(t->saved_name, sizeof t->saved_name, "%s", name);
    if (path) snprintf(path, pathlen, "%s", t->saved_path);
    t->saved_episode = t->st.episode;
    t->saved_steps = t->st.steps;
    t->saved_episode_step = ep_step;
    return 0;
}

/* Drops metrics.jsonl lines of episodes after `episode` (written after the checkpoint we
 * resume from), so that the file matches the state exactly. Also drops a torn last line. */
static int truncate_metrics(const char *path, int64_t episode) {
    FILE *f = fopen(path, "r+");
    if (!f) return errno == ENOENT ? 0 : -1;
    char line[4096];
    long keep = 0;
    for (;;) {
        long at = ftell(f);
        if (!fgets(line, sizeof line, f)) break;
        long long ep = 0;
        size_t n = strlen(line);
        if (n == 0 || line[n - 1] != '\n' || sscanf(line, "{\"episode\":%lld", &ep) != 1 ||
            ep > episode)
            break;
        keep = at + (long)n;
    }
    int rc = ftruncate(fileno(f), keep);
    fclose(f);
    return rc;
}

int trainer_open(trainer_t *t, const cfg_config *cfg, const trainer_opts *opts, char *err,
                 size_t errlen) {
    memset(t, 0, sizeof *t);
    t->cfg = *cfg;
    t->target_episodes = opts->episodes;
    t->quiet = opts->quiet;
    t->st.best_score = -1;
    t->st.last_score = -1;
    t->saved_episode = t->saved_steps = -1;
    snprintf(t->run_dir, sizeof t->run_dir, "%s", opts->run_dir);
    snprintf(t->ckpt_dir, sizeof t->ckpt_dir, "%s/checkpoints", opts->run_dir);
    const cfg_agent *a = &t->cfg.agent;
    if (fs_mkdir_p(t->run_dir, 0) != 0) {
        snprintf(err, errlen, "%s: cannot create the run directory: %s", t->run_dir,
                 strerror(errno));
        return -1;
    }

    /* The run directory's config decides whether weights here mean anything to us. */
    char path[CFG_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/config.toml", t->run_dir);
    if (access(path, F_OK) == 0) {
        cfg_config old;
        char cerr[512];
        if (cfg_load_file(&old, path, cerr, sizeof cerr) != 0) {
            snprintf(err, errlen, "%s: cannot read the run's config: %s", path, cerr);
            return -2;
        }
        if (cfg_hash(&old) != cfg_hash(&t->cfg)) {
            snprintf(err, errlen,
                     "%s: this run was made with another [environment]/[agent] config; "
                     "use a new run directory or the config it was made with",
                     path);
            return -2;
        }
    } else {
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        int rc = m ? cfg_write_toml(&t->cfg, m) : -1;
        if (m) fclose(m);
        if (rc != 0 || fs_write_atomic(path, buf, len, 0, NULL, 0) != 0) {
            free(buf);
            snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
            return -1;
        }
        free(buf);
    }

    if (dqn_init(&t->dqn, &t->cfg, t->cfg.training.seed, err, errlen) != 0) return -1;
    int W = t->cfg.curriculum.window > 0 ? t->cfg.curriculum.window : 1;
    t->cfg.curriculum.window = W;
    t->window = calloc((size_t)W, sizeof(int32_t));
    t->obs = calloc(ENV_MAX_OBS, sizeof(float));
    t->keep.weights = calloc(t->dqn.n_params, sizeof(float));
    if (!t->window || !t->obs || !t->keep.weights || a->replay_capacity < 1 ||
        replay_init(&t->replay, (uint32_t)a->replay_capacity, a->priority_alpha) != 0) {
        snprintf(err, errlen, "out of memory for the replay buffer (%d transitions)",
                 a->replay_capacity);
        goto fail;
    }
    uint64_t seed = t->cfg.training.seed;
    if (env_init(&t->env, &t->cfg.environment, 0) != 0) {
        snprintf(err, errlen, "the environment cannot be built from the config");
        goto fail;
    }
    rng_seed(&t->env.rng, seed, TRAINER_STREAM_ENV);
    rng_seed(&t->explore_rng, seed, TRAINER_STREAM_EXPLORE);
    rng_seed(&t->replay_rng, seed, TRAINER_STREAM_REPLAY);
    t->st.version = SNAPSHOT_STATE_VERSION;
    t->st.n_params = (uint32_t)t->dqn.n_params;
    t->st.seed = seed;
    t->st.transition_size = sizeof(replay_transition);

    char ckpath[CFG_PATH_MAX];
    bool found_any = false;
    char cerr[1024];
    ckpt_file *f = ckpt_open_newest(t->ckpt_dir, cfg_hash(&t->cfg), ckpath, sizeof ckpath,
                                    &found_any, cerr, sizeof cerr);
    if (f) {
        snapshot_parts p = parts_of(t);
        int rc = snapshot_restore(&p, f, ckpath, err, errlen);
        ckpt_file_free(f);
        if (rc != 0) goto fail;
        if (t->ep.active) t->env.multiplier = trainer_multiplier(t);
        snprintf(t->resumed_from, sizeof t->resumed_from, "%s", ckpath);
        t->resumed_episode = t->st.episode;
        t->saved_episode = t->st.episode;
        t->saved_steps = t->st.steps;
        t->saved_episode_step = t->ep.active ? t->ep.steps : 0;
        snprintf(t->saved_path, sizeof t->saved_path, "%s", ckpath);
        /* The name is the file's base name without ".ckpt" (common/ckpt.c: at most 58). */
        const char *base = strrchr(ckpath, '/');
        base = base ? base + 1 : ckpath;
        size_t n = strlen(base);
        if (n > 5 && strcmp(base + n - 5, ".ckpt") == 0) n -= 5;
        if (n >= sizeof t->saved_name) n = sizeof t->saved_name - 1;
        memcpy(t->saved_name, base, n);
        t->saved_name[n] = 0;
    } else if (found_any) {
        snprintf(err, errlen, "%s: no checkpoint loads (%s); refusing to start over on top of it",
                 t->ckpt_dir, cerr);
        goto fail;
    }

    snprintf(path, sizeof path, "%s/metrics.jsonl", t->run_dir);
    if (truncate_metrics(path, t->st.episode) != 0) {
        snprintf(err, errlen, "%s: cannot truncate: %s", path, strerror(errno));
        goto fail;
    }
    t->metrics = fopen(path, "a");
    if (!t->metrics) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    snprintf(path, sizeof path, "%s/tb", t->run_dir);
    char tberr[512];
    if (fs_mkdir_p(path, 0) != 0 || !(t->tb = tb_open(path, tberr, sizeof tberr)))
        log_warn("TensorBoard events disabled: %s", t->tb ? "" : tberr);
    t->status =
        t->st.episode >= t->target_episodes ? TRAINER_STATUS_COMPLETED : TRAINER_STATUS_RUNNING;
    return 0;

fail:
    trainer_close(t);
    return -1;
}

void trainer_close(trainer_t *t) {
    if (t->metrics) fclose(t->metrics);
    tb_close(t->tb);
    dqn_free(&t->dqn);
    replay_free(&t->replay);
    free(t->window);
    free(t->obs);
    free(t->keep.weights);
    t->keep.weights = NULL;
    t->metrics = NULL;
    t->tb = NULL;
    t->window = NULL;
    t->obs = NULL;
}

/* ---- What the program reads and sets ---- */

trainer_t *trainer_new(void) {
    return calloc(1, sizeof(trainer_t));
}

void trainer_get_view(const trainer_t *t, trainer_view *v) {
    *v = (trainer_view){.run_dir = t->run_dir,
                        .seed = t->st.seed,
                        .episode = t->st.episode,
                        .steps = t->st.steps,
                        .target_episodes = t->target_episodes,
                        .status = t->status,
                        .in_episode = t->ep.active,
                        .episode_steps = t->ep.steps,
                        .steps_per_second = t->ema_sps,
                        .last_score = t->st.last_score,
                        .resumed_from = t->resumed_from,
                        .resumed_episode = t->resumed_episode,
                        .n_inputs = t->dqn.shape.sizes[0],
                        .n_params = t->dqn.n_params,
                        .saved_episode = t->saved_episode,
                        .saved_steps = t->saved_steps,
                        .saved_episode_step = t->saved_episode_step,
                        .saved_name = t->saved_name,
                        .saved_path = t->saved_path,
                        .saved_now = t->saved_now,
                        .saved_best = t->saved_best};
}

const cfg_config *trainer_config(const trainer_t *t) {
    return &t->cfg;
}

const env_t *trainer_world(const trainer_t *t) {
    return &t->env;
}

void trainer_q_values(trainer_t *t, float q[ENV_NUM_ACTIONS]) {
    dqn_greedy(&t->dqn, t->obs, 0, q);
}

void trainer_set_status(trainer_t *t, trainer_status s) {
    t->status = s;
}

void trainer_extend(trainer_t *t, int64_t n) {
    t->target_episodes += n;
    if (t->status == TRAINER_STATUS_COMPLETED && t->st.episode < t->target_episodes)
        t->status = TRAINER_STATUS_RUNNING;
}

/* ---- Episodes ---- */

void trainer_run_episode(trainer_t *t, const trainer_hooks *h, trainer_episode_result *res) {
    const cfg_agent *a = &t->cfg.agent;
    snapshot_episode *ep = &t->ep;
    double t0 = clk_mono();
    memset(res, 0, sizeof *res);
    if (!ep->active) {
        t->env.multiplier = trainer_multiplier(t);
        env_reset(&t->env);
        memset(ep, 0, sizeof *ep);
        ep->active = true;
    }
    double eps = trainer_epsilon(t); /* by episode count: the same in every part */
    t->dqn.adam.lr = (float)trainer_learning_rate(t);
    float q[ENV_NUM_ACTIONS];
    bool want_q = h && h->want_q;
    replay_transition tr;
    memset(&tr, 0, sizeof tr);
    /* The world as the last step left it (or as the reset did): the same bytes the step
     * loop would have carried over in tr.s, so a continued episode records the same
     * transitions. */
    replay_capture(&t->env, &tr.s);
    env_outcome out = ENV_RUNNING;
    for (;;) {
        /* Everything the next step reads is in t here, so before_step may checkpoint. */
        if (h && h->before_step && h->before_step(h->ctx)) {
            res->suspended = true;
            break;
        }
        env_observe(&t->env, t->obs);
        uint8_t mask = env_action_mask(&t->env);
        int act = dqn_act(&t->dqn, t->obs, mask, eps, &t->explore_rng, want_q ? q : NULL);
        out = env_step(&t->env, act);
        float r = env_reward(&t->env, a);
        replay_capture(&t->env, &tr.s2);
        tr.action = (uint8_t)act;
        tr.reward = r;
        tr.done = out == ENV_DIED_HEALTH || out == ENV_DIED_ENERGY;
        tr.stage = (uint8_t)t->st.stage;
        replay_add(&t->replay, &tr);
        tr.s = tr.s2;
        t->st.steps++;
        ep->steps++;
        ep->total_reward += r;
        if ((int64_t)t->replay.size >= a->learning_starts && a->train_every > 0 &&
            t->st.steps % a->train_every == 0) {
            ep->loss_sum += dqn_update(&t->dqn, &t->replay, &t->replay_rng);
            ep->updates++;
        }
        if (a->target_update == CFG_TARGET_HARD && a->target_update_every > 0 &&
            t->st.steps % a->target_update_every == 0)
            dqn_sync_target(&t->dqn);
        if (h && h->after_step) h->after_step(h->ctx, act, want_q ? q : NULL, r);
        if (out != ENV_RUNNING) break;
    }
    ep->seconds += clk_mono() - t0;
    res->steps = ep->steps;
    res->total_reward = ep->total_reward;
    res->loss = ep->updates ? ep->loss_sum / ep->updates : 0.0;
    res->loss_valid = ep->updates > 0;
    res->outcome = out;
    res->seconds = ep->seconds;
    if (!res->suspended) ep->active = false;
}

/* Salt of the curriculum's greedy checks (trainer_evaluate), apart from the periodic
 * evaluations' (salt = episode). */
#define CURRICULUM_EVAL_SALT 0x6375727200000000ULL /* "curr" */

/* plateau_episodes: a policy stuck at the last stage (level 3 seed 5: a greedy score of
 * ~380 of 720 from episode 1,900 to 10,000, docs/design/learner.md) gets exploration and
 * the learning rate back, as at a stage change, instead of the seeds that learn getting
 * more of either from the start. Judged on the best evaluation there (kept by
 * restore_below, in the checkpoint) and the stage's episode count: a resume agrees. */
#define PLATEAU_SALT 0x706c617400000001ULL /* "plat" */
static void plateau_restart(trainer_t *t) {
    const cfg_curriculum *c = &t->cfg.curriculum;
    snapshot_state *st = &t->st;
    double bar = c->advance_survival * t->cfg.environment.max_steps;
    if (c->plateau_episodes <= 0 || st->stage + 1 < c->n_stages ||
        st->stage_episodes < c->plateau_episodes || (t->keep.valid && t->keep.score >= bar))
        return;
    st->stage_episodes = 0;
    t->plateau_restarts++;
    /* The kept weights are the plateau itself: restore_below would put them back at the
     * next evaluation and undo the restart (measured: level 3 seed 5, four restores). The
     * stage's best starts over with the schedules; the run's best checkpoint stays on disk. */
    char best[32] = "none yet";
    if (t->keep.valid) snprintf(best, sizeof best, "best %.1f", t->keep.score);
    t->keep.valid = false;
    /* Drawn from the seed and the episode: a resumed run draws the same. */
    dqn_reset_layers(&t->dqn, c->plateau_reset_layers,
                     st->seed ^ (PLATEAU_SALT * (uint64_t)(st->episode + 1)));
    char fresh[64] = "";
    if (c->plateau_reset_layers > 0)
        snprintf(fresh, sizeof fresh, ", and the last %d weight layers are fresh",
                 c->plateau_reset_layers);
    log_info("curriculum: %d episodes at the last stage and no evaluation there at %.0f "
             "steps (%s): epsilon and the learning rate start over at episode %" PRId64 "%s",
             c->plateau_episodes, bar, best, st->episode, fresh);
}

/* The curriculum: advance on sustained survival — over the training window, or (greedy)
 * in a greedy evaluation every advance_eval_every episodes — retreat on collapse of the
 * training window; never before min_episodes at a stage. The greedy check depends only
 * on the weights, the seed and the episode, so a resumed run makes the same moves. */
static void curriculum_update(trainer_t *t, int steps) {
    const cfg_curriculum *c = &t->cfg.curriculum;
    if (!c->enabled || c->n_stages < 2) return;
    snapshot_state *st = &t->st;
    int W = c->window;
    t->window[st->window_pos] = steps;
    st->window_pos = (st->window_pos + 1) % W;
    if (st->window_count < W) st->window_count++;
    st->stage_episodes++;
    plateau_restart(t);
    if (st->stage_episodes < c->min_episodes) return;
    int from = st->stage;
    bool last = st->stage + 1 >= c->n_stages;
    const char *why = "mean training survival";
    double mean = -1;
    if (st->window_count == W) {
        double sum = 0;
        for (int i = 0; i < W; i++) sum += t->window[i];
        mean = sum / W / t->cfg.environment.max_steps;
        if (c->advance_on == CFG_ADVANCE_TRAINING && mean >= c->advance_survival && !last)
            st->stage++;
        else if (mean < c->retreat_survival && st->stage > 0)
            st->stage--;
    }
    if (st->stage == from && c->advance_on == CFG_ADVANCE_GREEDY && !last &&
        (st->stage_episodes - c->min_episodes) % c->advance_eval_every == 0) {
        mean = trainer_evaluate(t, c->advance_eval_episodes,
                                CURRICULUM_EVAL_SALT ^ (uint64_t)st->episode) /
               t->cfg.environment.max_steps;
        why = "greedy survival";
        if (mean >= c->advance_survival) st->stage++;
    }
    if (st->stage != from) {
        log_info("curriculum: %s to stage %d (multiplier %.2f) after %d episodes, %s %.0f%%",
                 st->stage > from ? "advancing" : "retreating", st->stage, c->stages[st->stage],
                 st->stage_episodes, why, mean * 100);
        st->stage_episodes = 0;
        st->window_count = 0;
        st->window_pos = 0;
        memset(t->window, 0, sizeof(int32_t) * (size_t)W);
    }
}

/* The greedy evaluation at `multiplier`; with rec, every episode is recorded and the
 * longest kept (trainer/record.h). The q-values asked for the recording change no action. */
static double evaluate(trainer_t *t, int episodes, uint64_t salt, double multiplier,
                       record_eval *rec) {
    env_t e;
    if (episodes < 1 || env_init(&e, &t->cfg.environment, 0) != 0) return -1;
    rng_seed(&e.rng, t->st.seed ^ (salt * 0x9e3779b97f4a7c15ULL), TRAINER_STREAM_EVAL);
    e.multiplier = multiplier;
    double total = 0;
    float q[ENV_NUM_ACTIONS];
    for (int i = 0; i < episodes; i++) {
        env_reset(&e);
        if (rec) recf_begin(rec->cur, &e);
        env_outcome out;
        do {
            env_observe(&e, t->obs);
            int act = dqn_greedy(&t->dqn, t->obs, env_action_mask(&e), rec ? q : NULL);
            out = env_step(&e, act);
            if (rec) recf_step(rec->cur, &e, act, q, env_reward(&e, &t->cfg.agent));
        } while (out == ENV_RUNNING);
        if (rec) record_episode_done(rec, out);
        total += e.step;
    }
    return total / episodes;
}

double trainer_evaluate(trainer_t *t, int episodes, uint64_t salt) {
    return evaluate(t, episodes, salt, trainer_multiplier(t), NULL);
}

double trainer_evaluate_at(trainer_t *t, int episodes, uint64_t salt, double multiplier) {
    return evaluate(t, episodes, salt, multiplier, NULL);
}

/* The evaluation of trainer_end_episode(), with its best episode recorded; `recording`
 * gets the recording's name, or "" when none was written (a failure only costs the
 * recording: it is logged, training goes on). */
static double evaluate_recorded(trainer_t *t, int episodes, char *recording, size_t cap) {
    record_eval rec;
    recording[0] = 0;
    double mult = trainer_multiplier(t);
    if (record_open(&rec) != 0) return evaluate(t, episodes, (uint64_t)t->st.episode, mult, NULL);
    double score = evaluate(t, episodes, (uint64_t)t->st.episode, mult, &rec);
    char err[CFG_PATH_MAX + 128];
    if (score >= 0 && record_save(&rec, t->run_dir, (uint32_t)t->st.episode, (float)score,
                                  recording, cap, err, sizeof err) != 0) {
        log_warn("recording the evaluation: %s", err);
        recording[0] = 0;
    }
    record_close(&rec);
    return score;
}

int trainer_write_progress(trainer_t *t) {
    char path[CFG_PATH_MAX + 32], buf[1024];
    snprintf(path, sizeof path, "%s/progress.json", t->run_dir);
    double eta = t->sec_per_episode > 0
                     ? t->sec_per_episode * (double)(t->target_episodes - t->st.episode)
                     : -1;
    if (eta < 0 && t->st.episode >= t->target_episodes) eta = 0;
    json_buf j;
    json_init_fixed(&j, buf, sizeof buf);
    json_obj_open(&j);
    json_kstr(&j, "status", trainer_status_names[t->status]);
    json_kint(&j, "episode", t->st.episode);
    json_kint(&j, "total", t->target_episodes);
    json_kint(&j, "steps", t->st.steps);
    json_key(&j, "steps_per_second");
    json_num_prec(&j, t->ema_sps, 7);
    json_key(&j, "eta_seconds");
    json_num_prec(&j, eta, 7);
    json_key(&j, "multiplier");
    json_num_prec(&j, trainer_multiplier(t), 4);
    json_kint(&j, "stage", t->st.stage);
    json_key(&j, "best");
    json_num_prec(&j, t->st.best_score, 7);
    json_key(&j, "epsilon");
    json_num_prec(&j, trainer_epsilon(t), 5);
    json_key(&j, "timestamp");
    json_num_prec(&j, clk_wall(), 13);
    json_kint(&j, "pid", (long long)getpid());
    json_obj_close(&j);
    json_append(&j, "\n", 1);
    if (!json_ok(&j)) return -1;
    return fs_write_atomic(path, buf, j.len, 0, NULL, 0);
}

/* 1. The rates. The first episodes act at random and learn nothing (learning_starts), so a
 * single one takes microseconds and its own rate is absurd (millions of steps/s). For the
 * first RATE_WINDOW seconds the rate is that of everything since the run was (re)started,
 * over at least RATE_MIN_SECONDS of wall time — an underestimate in the first second rather
 * than a wild figure; after that, the rate of the last complete window of RATE_WINDOW
 * seconds, so that it follows visual mode and the learning. */
static void update_rates(trainer_t *t, int steps, double seconds) {
    enum { RATE_WINDOW = 5 };
    const double RATE_MIN_SECONDS = 1.0;
    t->run_steps += steps;
    t->run_eps++;
    t->run_secs += seconds;
    t->win_steps += steps;
    t->win_eps++;
    t->win_secs += seconds;
    if (t->win_secs >= RATE_WINDOW) {
        t->ema_sps = t->win_steps / t->win_secs;
        t->sec_per_episode = t->win_secs / t->win_eps;
        t->win_steps = t->win_eps = 0;
        t->win_secs = 0;
    } else if (t->run_secs < RATE_WINDOW) {
        double span = t->run_secs > RATE_MIN_SECONDS ? t->run_secs : RATE_MIN_SECONDS;
        t->ema_sps = t->run_steps / span;
        t->sec_per_episode = t->run_secs / t->run_eps; /* the ETA: rough either way */
    }
}

/* restore_below: at the curriculum's last stage (or without one) the weights of the best
 * evaluation are kept, and an evaluation under restore_below of that one puts them back
 * into the online and the target network — a late collapse of a competent policy
 * (docs/design/learner.md) costs the episodes since, not the run. Adam's moments stay: they
 * describe the recent gradients, which the next updates replace. */
static void keep_or_restore(trainer_t *t, double score) {
    const cfg_curriculum *c = &t->cfg.curriculum;
    double below = t->cfg.training.restore_below;
    bool last = !c->enabled || c->n_stages < 2 || t->st.stage >= c->n_stages - 1;
    snapshot_keep *k = &t->keep;
    size_t bytes = sizeof(float) * t->dqn.n_params;
    if (below <= 0 || !last || score < 0) return;
    if (!k->valid || score > k->score) {
        memcpy(k->weights, t->dqn.online, bytes);
        k->valid = true;
        k->score = score;
        k->episode = t->st.episode;
    } else if (score < below * k->score) {
        memcpy(t->dqn.online, k->weights, bytes);
        memcpy(t->dqn.target, k->weights, bytes);
        t->restores++;
        /* Logged even when quiet: it changes the run, and it is rare. */
        log_info("evaluation at episode %" PRId64 " (%.1f) under %.0f%% of the best at this "
                 "stage (%.1f, episode %" PRId64 "): its weights are back",
                 t->st.episode, score, below * 100, k->score, k->episode);
    }
}

/* 3. The periodic evaluation, when one is due: last_score, best_score, the kept weights,
 * TensorBoard, the log. Returns whether one ran; *is_best when it beat every earlier one. */
static bool evaluate_periodic(trainer_t *t, bool *is_best, char *recording, size_t cap) {
    const cfg_training *tc = &t->cfg.training;
    *is_best = false;
    if (tc->eval_every <= 0 || t->st.episode % tc->eval_every != 0) return false;
    double score = evaluate_recorded(t, tc->eval_episodes, recording, cap);
    t->st.last_score = score;
    if (score > t->st.best_score) {
        t->st.best_score = score;
        *is_best = true;
    }
    keep_or_restore(t, score);
    if (t->tb) tb_scalar(t->tb, "eval/mean_steps", t->st.episode, clk_wall(), (float)score);
    if (!t->quiet)
        log_info("evaluation at episode %" PRId64 ": mean survival %.1f steps over %d "
                 "greedy episodes%s",
                 t->st.episode, score, tc->eval_episodes, *is_best ? " (new best)" : "");
    return true;
}

/* 4. The record (PROTOCOL §4.1) into rec: a line of metrics.jsonl, and with "type" the
 * message. A loss that is not finite (a diverged network) is written as null, never as
 * nan. 0, or -1 when it does not fit. */
static int build_record(const trainer_t *t, const trainer_episode_result *res, double eps,
                        double mult, bool evaluated, const char *recording, char *rec, size_t cap,
                        size_t *len) {
    double eta = t->sec_per_episode * (double)(t->target_episodes - t->st.episode);
    if (eta < 0) eta = 0;
    json_buf j;
    json_init_fixed(&j, rec, cap);
    json_obj_open(&j);
    json_kint(&j, "episode", t->st.episode);
    json_kint(&j, "steps", res->steps);
    json_key(&j, "total_reward");
    json_num_prec(&j, res->total_reward, 9);
    json_key(&j, "epsilon");
    json_num_prec(&j, eps, 5);
    json_key(&j, "loss");
    if (res->loss_valid)
        json_num_prec(&j, res->loss, 7);
    else
        json_null(&j);
    json_key(&j, "steps_per_second");
    json_num_prec(&j, t->ema_sps, 7);
    json_key(&j, "eta_seconds");
    if (t->sec_per_episode > 0)
        json_num_prec(&j, eta, 7);
    else
        json_null(&j);
    json_kint(&j, "best", t->st.best_steps);
    json_key(&j, "multiplier");
    json_num_prec(&j, mult, 4);
    json_kint(&j, "stage", t->st.stage);
    json_kstr(&j, "outcome", env_outcome_names[res->outcome]);
    if (t->st.last_score >= 0 || evaluated) { /* a diverged evaluation's NaN: null */
        json_key(&j, "eval_score");
        json_num_prec(&j, t->st.last_score, 7);
        /* PROTOCOL §4.1: the record of the episode an evaluation followed says so. */
        if (evaluated) json_kbool(&j, "evaluated", true);
        if (recording[0]) json_kstr(&j, "recording", recording);
    }
    json_key(&j, "timestamp");
    json_num_prec(&j, clk_wall(), 13);
    json_obj_close(&j);
    *len = j.len;
    return json_ok(&j) ? 0 : -1;
}

/* 5. The episode's TensorBoard scalars. */
static void tb_episode(trainer_t *t, const trainer_episode_result *res, double eps, double mult) {
    if (!t->tb) return;
    double now = clk_wall();
    tb_scalar(t->tb, "episode/steps", t->st.episode, now, (float)res->steps);
    tb_scalar(t->tb, "episode/total_reward", t->st.episode, now, (float)res->total_reward);
    tb_scalar(t->tb, "episode/epsilon", t->st.episode, now, (float)eps);
    tb_scalar(t->tb, "train/learning_rate", t->st.episode, now, t->dqn.adam.lr);
    tb_scalar(t->tb, "episode/loss", t->st.episode, now, (float)res->loss);
    tb_scalar(t->tb, "episode/multiplier", t->st.episode, now, (float)mult);
    tb_scalar(t->tb, "train/steps_per_second", t->st.episode, now, (float)t->ema_sps);
}

int trainer_end_episode(trainer_t *t, const trainer_episode_result *res, double seconds, char *json,
                        size_t jsonlen, char *err, size_t errlen) {
    const cfg_training *tc = &t->cfg.training;
    double mult = trainer_multiplier(t); /* the one this episode ran at */
    double eps = trainer_epsilon(t);
    t->st.episode++;
    t->st.train_seconds += seconds;
    update_rates(t, res->steps, seconds); /* 1 */
    curriculum_update(t, res->steps);     /* 2. may move the stage */
    bool is_best;
    char recording[RECF_NAME_LEN + 8] = "";
    bool evaluated = evaluate_periodic(t, &is_best, recording, sizeof recording); /* 3 */

    /* 4. The record: metrics.jsonl, and the link's message when json is given. */
    if (res->steps > t->st.best_steps) t->st.best_steps = res->steps;
    char rec[768];
    size_t len;
    if (build_record(t, res, eps, mult, evaluated, recording, rec, sizeof rec, &len) != 0) {
        snprintf(err, errlen, "episode record over %zu bytes", sizeof rec);
        return -1;
    }
    if (fprintf(t->metrics, "%s\n", rec) < 0 || fflush(t->metrics) != 0) {
        snprintf(err, errlen, "%s/metrics.jsonl: %s", t->run_dir, strerror(errno));
        return -1;
    }
    if (json) snprintf(json, jsonlen, "{\"type\":\"episode\",%s", rec + 1);
    tb_episode(t, res, eps, mult); /* 5 */

    /* 6. Completion, the periodic and `best` checkpoints, progress.json. */
    if (t->st.episode >= t->target_episodes) t->status = TRAINER_STATUS_COMPLETED;
    bool periodic = tc->checkpoint_every > 0 && t->st.episode % tc->checkpoint_every == 0;
    t->saved_now = t->saved_best = false;
    if (is_best || periodic) {
        if (trainer_checkpoint(t, is_best, NULL, 0, err, errlen) != 0) return -1;
        t->saved_now = true;
        t->saved_best = is_best;
    }
    if (tc->progress_every > 0 && t->st.episode % tc->progress_every == 0) {
        if (t->tb) tb_flush(t->tb);
        trainer_write_progress(t);
        if (!t->quiet)
            log_info("episode %" PRId64 "/%" PRId64 ": %d steps, reward %.1f, epsilon %.3f, "
                     "loss %.4f, %.0f steps/s, multiplier %.2f, best %.1f",
                     t->st.episode, t->target_episodes, res->steps, res->total_reward, eps,
                     res->loss, t->ema_sps, mult, t->st.best_score);
    }
    return 0;
}
