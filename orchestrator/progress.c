/* orchestrator/progress.c — see progress.h. */
#include "orchestrator/progress.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The first numeric field of the given names (the trainer's names may vary slightly). */
static double num(const cJSON *o, const char *a, const char *b, double dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (!cJSON_IsNumber(v) && b) v = cJSON_GetObjectItemCaseSensitive(o, b);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

bool progress_reached(const char *run_dir, long target, progress_status *st) {
    if (progress_read(run_dir, st) != 0) return false;
    return !strcmp(st->status, "completed") && st->episode >= target;
}

int progress_read(const char *run_dir, progress_status *out) {
    memset(out, 0, sizeof *out);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/progress.json", run_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char buf[16384];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    cJSON *o = cJSON_Parse(buf);
    if (!o) return -1;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "status");
    snprintf(out->status, sizeof out->status, "%s", cJSON_IsString(st) ? st->valuestring : "");
    out->episode = (long)num(o, "episode", "episodes_done", 0);
    out->total_episodes = (long)num(o, "total", "total_episodes", 0);
    out->best = num(o, "best", NULL, NAN);
    out->mean_steps = num(o, "mean_steps", "survival", NAN);
    out->steps_per_second = num(o, "steps_per_second", "sps", NAN);
    out->eta_seconds = num(o, "eta_seconds", "eta", -1);
    out->valid = true;
    cJSON_Delete(o);
    return 0;
}

void progress_format(const progress_status *s, char *out, size_t outlen) {
    size_t o = 0;
    int k = snprintf(out, outlen, "Episode %ld/%ld", s->episode, s->total_episodes);
    o = k > 0 ? (size_t)k : 0;
    if (!isnan(s->mean_steps) && o < outlen)
        o += (size_t)snprintf(out + o, outlen - o, " | survival %.1f", s->mean_steps);
    if (!isnan(s->best) && s->best > 0 && o < outlen)
        o += (size_t)snprintf(out + o, outlen - o, " | best %.1f", s->best);
    if (!isnan(s->steps_per_second) && o < outlen)
        o += (size_t)snprintf(out + o, outlen - o, " | %.0f steps/s", s->steps_per_second);
    if (s->eta_seconds >= 0 && o < outlen) {
        long e = (long)s->eta_seconds;
        if (e >= 3600)
            o += (size_t)snprintf(out + o, outlen - o, " | ETA %ldh%02ldm", e / 3600, e / 60 % 60);
        else
            o += (size_t)snprintf(out + o, outlen - o, " | ETA %ldm%02lds", e / 60, e % 60);
    }
    if (s->status[0] && strcmp(s->status, "running") != 0 && o < outlen)
        snprintf(out + o, outlen - o, " | %s", s->status);
}

void progress_metrics_init(progress_metrics *m, const char *run_dir) {
    memset(m, 0, sizeof *m);
    snprintf(m->path, sizeof m->path, "%.*s/metrics.jsonl", PATH_MAX - 16, run_dir);
    m->block_first = -1;
    /* A resumed run's earlier episodes were summarised when they ran: start at the end. */
    struct stat st;
    if (stat(m->path, &st) == 0) m->offset = st.st_size;
}

/* One episode record; emits a summary into out when it closes a block. */
static int take(progress_metrics *m, const char *line, char *out, size_t outlen, size_t *o) {
    cJSON *j = cJSON_Parse(line);
    if (!j) return 0;
    long ep = (long)num(j, "episode", NULL, -1);
    double steps = num(j, "steps", NULL, NAN), reward = num(j, "total_reward", "reward", NAN);
    double eps = num(j, "epsilon", NULL, NAN);
    cJSON_Delete(j);
    if (ep < 0 || isnan(steps)) return 0;
    if (m->block_n == 0) {
        m->block_first = ep;
        m->sum_steps = m->sum_reward = 0;
        m->min_steps = m->max_steps = steps;
    }
    if (m->recent_n == PROGRESS_BLOCK)
        m->recent_sum -= m->recent[m->recent_next];
    else
        m->recent_n++;
    m->recent[m->recent_next] = steps;
    m->recent_sum += steps;
    m->recent_next = (m->recent_next + 1) % PROGRESS_BLOCK;
    m->block_n++;
    m->sum_steps += steps;
    m->sum_reward += isnan(reward) ? 0 : reward;
    if (steps < m->min_steps) m->min_steps = steps;
    if (steps > m->max_steps) m->max_steps = steps;
    if (!isnan(eps)) m->last_epsilon = eps;
    /* Blocks end at multiples of PROGRESS_BLOCK (episodes count from 1). */
    if (ep % PROGRESS_BLOCK != 0) return 0;
    if (*o < outlen)
        *o += (size_t)snprintf(out + *o, outlen - *o,
                               "%sEpisodes %ld-%ld: mean survival %.1f steps (min %.0f, max %.0f), "
                               "mean reward %.1f, epsilon %.3f",
                               *o ? "\n" : "", m->block_first, ep, m->sum_steps / m->block_n,
                               m->min_steps, m->max_steps, m->sum_reward / m->block_n,
                               m->last_epsilon);
    if (*o >= outlen) *o = outlen - 1;
    m->block_n = 0;
    return 1;
}

int progress_metrics_poll(progress_metrics *m, char *out, size_t outlen) {
    out[0] = '\0';
    int fd = open(m->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    int found = 0;
    size_t o = 0;
    char buf[65536];
    for (;;) {
        ssize_t n = pread(fd, buf, sizeof buf, m->offset);
        if (n <= 0) break;
        m->offset += n;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != '\n') {
                /* A record longer than the buffer is not an episode record: dropped. */
                if (m->partial_len < sizeof m->partial - 1) m->partial[m->partial_len++] = buf[i];
                continue;
            }
            m->partial[m->partial_len] = '\0';
            found += take(m, m->partial, out, outlen, &o);
            m->partial_len = 0;
        }
    }
    close(fd);
    return found;
}

double progress_metrics_recent_mean(const progress_metrics *m) {
    return m->recent_n ? m->recent_sum / m->recent_n : NAN;
}
