/* orchestrator/summary.c — see summary.h. */
#include "orchestrator/summary.h"

#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/ckpt.h"
#include "orchestrator/progress.h"

/* s as one shell word: as is when it is plain, else in single quotes ('\'' inside). */
static void shell_word(const char *s, char *out, size_t cap) {
    bool plain = *s != 0;
    for (const char *c = s; *c; c++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-+=:,", *c))
            plain = false;
    if (plain) {
        snprintf(out, cap, "%s", s);
        return;
    }
    size_t o = 0;
    if (cap < 3) return;
    out[o++] = '\'';
    for (const char *c = s; *c && o + 5 < cap; c++) {
        if (*c == '\'') {
            memcpy(out + o, "'\\''", 4);
            o += 4;
        } else {
            out[o++] = *c;
        }
    }
    out[o++] = '\'';
    out[o] = 0;
}

static void add(char *out, size_t cap, size_t *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add(char *out, size_t cap, size_t *o, const char *fmt, ...) {
    if (*o >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *o, cap - *o, fmt, ap);
    va_end(ap);
    if (n > 0) *o = *o + (size_t)n < cap ? *o + (size_t)n : cap - 1;
}

/* The best evaluation among a run directory's checkpoints (the one the `best` pointer
 * names): true with its score and path. */
static bool best_checkpoint(const char *run_dir, double *score, char *path, size_t cap) {
    char ckdir[PATH_MAX + 16], err[256];
    snprintf(ckdir, sizeof ckdir, "%s/checkpoints", run_dir);
    enum { MAX_LISTED = 64 };
    ckpt_info *info = calloc(MAX_LISTED, sizeof *info);
    int n = info ? ckpt_list(ckdir, info, MAX_LISTED, err, sizeof err) : -1;
    bool found = false;
    for (int i = 0; i < n; i++)
        if (info[i].is_best && info[i].score >= 0) {
            *score = info[i].score;
            snprintf(path, cap, "%s", info[i].path);
            found = true;
        }
    free(info);
    return found;
}

static void add_wall(char *out, size_t cap, size_t *o, double wall_seconds) {
    long secs = (long)(wall_seconds + 0.5);
    add(out, cap, o, "  wall time       %ldh %02ldm %02lds\n", secs / 3600, secs / 60 % 60,
        secs % 60);
}

/* A sweep: its runs' episodes and states, the best evaluation of all, and the command that
 * continues it. */
static size_t sweep_summary(const plan_t *p, double wall_seconds, char *out, size_t cap) {
    size_t o = 0;
    long done = 0, target = 0;
    int states[5] = {0};
    double best = -1;
    char best_path[PATH_MAX + 64] = "", best_run[SWEEP_NAME_MAX + 1] = "";
    for (int r = 0; r < p->sweep.n_runs; r++) {
        const sweep_run *run = &p->sweep.runs[r];
        char dir[PATH_MAX], path[PATH_MAX + 64];
        plan_run_dir(p, r, dir, sizeof dir);
        progress_status st;
        if (progress_read(dir, &st) == 0) done += st.episode;
        target += run->episodes;
        if ((unsigned)run->state < 5) states[run->state]++;
        double sc;
        if (best_checkpoint(dir, &sc, path, sizeof path) && sc > best) {
            best = sc;
            snprintf(best_path, sizeof best_path, "%s", path);
            snprintf(best_run, sizeof best_run, "%s", run->name);
        }
    }
    add(out, cap, &o, "Summary (a sweep of %d runs):\n", p->sweep.n_runs);
    add(out, cap, &o,
        "  episodes done   %ld of %ld over all runs (%d done, %d stopped, %d failed, %d queued)\n",
        done, target, states[SWEEP_DONE], states[SWEEP_STOPPED] + states[SWEEP_RUNNING],
        states[SWEEP_FAILED], states[SWEEP_QUEUED]);
    if (best >= 0)
        add(out, cap, &o, "  best evaluation %.1f steps (run %s), checkpoint %s\n", best, best_run,
            best_path);
    else
        add(out, cap, &o, "  best evaluation none yet\n");
    add_wall(out, cap, &o, wall_seconds);
    add(out, cap, &o, "  sweep directory %s\n", p->run_dir);
    /* A sweep directory given alone continues that sweep (its grid is in sweep.toml). */
    char dir[PATH_MAX * 4 + 8];
    shell_word(p->run_dir, dir, sizeof dir);
    add(out, cap, &o, "  resume with     ./run_demo --checkpoint-dir %s", dir);
    return o;
}

size_t summary_format(const plan_t *p, double wall_seconds, char *out, size_t cap) {
    struct stat sb;
    if (cap == 0 || stat(p->run_dir, &sb) != 0) return 0;
    out[0] = 0;
    if (p->is_sweep) return sweep_summary(p, wall_seconds, out, cap);
    size_t o = 0;
    progress_status st;
    bool have = progress_read(p->run_dir, &st) == 0;
    long total = have && st.total_episodes > 0 ? st.total_episodes : p->episodes;
    add(out, cap, &o, "Summary:\n");
    if (have)
        add(out, cap, &o, "  episodes done   %ld of %ld (%s)\n", st.episode, total, st.status);
    else
        add(out, cap, &o, "  episodes done   none recorded\n");

    double best;
    char best_path[PATH_MAX + 64];
    if (best_checkpoint(p->run_dir, &best, best_path, sizeof best_path))
        add(out, cap, &o, "  best evaluation %.1f steps (mean greedy survival), checkpoint %s\n",
            best, best_path);
    else if (have && !isnan(st.best) && st.best > 0)
        add(out, cap, &o, "  best evaluation %.1f steps (its checkpoint is no longer on disk)\n",
            st.best);
    else
        add(out, cap, &o, "  best evaluation none yet (see [training] eval_every)\n");
    add_wall(out, cap, &o, wall_seconds);
    add(out, cap, &o, "  run directory   %s\n", p->run_dir);

    char dir[PATH_MAX * 4 + 8], cfgw[PATH_MAX * 4 + 8] = "";
    shell_word(p->run_dir, dir, sizeof dir);
    if (p->config_path[0]) shell_word(p->config_path, cfgw, sizeof cfgw);
    add(out, cap, &o, "  resume with     ./run_demo --checkpoint-dir %s%s%s --episodes %ld", dir,
        cfgw[0] ? " --config " : "", cfgw, total);
    if (have && !strcmp(st.status, "completed"))
        add(out, cap, &o, "\n                  (training was complete: raise --episodes to go on)");
    return o;
}
