/* inference/past.c — past runs under the runs root (see past.h). */
#define _GNU_SOURCE
#include "inference/past.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clk.h"

enum {
    LINE_MAX_BYTES = 65536, /* a longer metrics line is skipped, as everywhere */
    PROGRESS_MAX = 65536,   /* progress.json is one small object */
    MAX_CANDIDATES = 4096,  /* CONFIG/STAMP directories looked at */
    MAX_SWEEP_RUNS = PAST_MAX_RUNS,
    SKIP_MAX = 1 << 20 /* bytes skipped to find the start of a line */
};

bool past_name_ok(const char *n) {
    size_t l = strlen(n);
    if (l == 0 || l > 200 || strcmp(n, ".") == 0 || strcmp(n, "..") == 0) return false;
    return strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._=,-") == l;
}

static bool is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* A metrics record: an object with a number `episode` (cJSON tree, or NULL). */
static cJSON *parse_record(const char *line, size_t n) {
    cJSON *o = cJSON_ParseWithLength(line, n);
    if (cJSON_IsObject(o) && cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "episode")))
        return o;
    cJSON_Delete(o);
    return NULL;
}

static double num_of(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble : NAN;
}

/* Reads the line that starts at or after offset off (the whole line at 0) into buf (cap
 * LINE_MAX_BYTES + 2). Returns its length, 0 when there is none or it is too long. */
static size_t line_at(FILE *f, off_t off, char *buf) {
    if (fseeko(f, off, SEEK_SET) != 0) return 0;
    if (off > 0) { /* the rest of the line the offset falls in */
        int ch;
        long skipped = 0;
        while ((ch = getc(f)) != EOF && ch != '\n')
            if (++skipped > SKIP_MAX) return 0;
        if (ch == EOF) return 0;
    }
    if (!fgets(buf, LINE_MAX_BYTES + 2, f)) return 0;
    size_t n = strlen(buf);
    if (n > LINE_MAX_BYTES) return 0;
    return n;
}

/* The last record of the file (the final lines of its last 64 KiB, newest first, until
 * one parses: a torn last line is skipped), or NULL. */
static cJSON *last_record(FILE *f, off_t size, char *buf) {
    off_t start = size > LINE_MAX_BYTES ? size - LINE_MAX_BYTES : 0;
    if (fseeko(f, start, SEEK_SET) != 0) return NULL;
    size_t n = fread(buf, 1, (size_t)(size - start), f);
    buf[n] = 0;
    size_t end = n;
    while (end > 0) {
        while (end > 0 && buf[end - 1] == '\n') end--;
        size_t b = end;
        while (b > 0 && buf[b - 1] != '\n') b--;
        if (b == 0 && start > 0) return NULL; /* a line longer than the window */
        cJSON *o = parse_record(buf + b, end - b);
        if (o) return o;
        end = b;
    }
    return NULL;
}

static FILE *open_metrics(const char *path, off_t *size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return NULL;
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return NULL;
    }
    *size = st.st_size;
    return f;
}

/* First and last record's timestamps and the last record's episode. */
static void span(const char *path, double *first, double *last, int64_t *last_ep) {
    *first = *last = NAN;
    if (last_ep) *last_ep = 0;
    off_t size = 0;
    FILE *f = open_metrics(path, &size);
    char *buf = f ? malloc(LINE_MAX_BYTES + 2) : NULL;
    if (!buf) goto done;
    size_t n = line_at(f, 0, buf);
    cJSON *o = n ? parse_record(buf, n) : NULL;
    if (o) *first = num_of(o, "timestamp");
    cJSON_Delete(o);
    o = last_record(f, size, buf);
    if (o) {
        *last = num_of(o, "timestamp");
        double e = num_of(o, "episode");
        if (last_ep && e >= 0 && e <= 1e15) *last_ep = (int64_t)e;
    }
    cJSON_Delete(o);
done:
    free(buf);
    if (f) fclose(f);
}

void past_time_span(const char *path, double *first, double *last) {
    span(path, first, last, NULL);
}

void past_write_series(json_buf *jw, const double *cols, int cap, int n) {
    static const char *const names[PAST_COLS] = {"episode", "steps", "total_reward", "eval_score"};
    json_obj_open(jw);
    for (int c = 0; c < PAST_COLS; c++) {
        json_key(jw, names[c]);
        json_arr_open(jw);
        /* counts in full, measures to float precision (what the chart can show) */
        for (int r = 0; r < n; r++) json_num_prec(jw, cols[c * cap + r], c < 2 ? 15 : 7);
        json_arr_close(jw);
    }
    json_obj_close(jw);
}

void past_record_columns(const cJSON *o, double *cols, int cap, int row) {
    static const char *const names[PAST_COLS] = {"episode", "steps", "total_reward", "eval_score"};
    for (int c = 0; c < PAST_COLS; c++) cols[c * cap + row] = o ? num_of(o, names[c]) : NAN;
}

void past_series(const char *path, int max_points, json_buf *jw, double *best_eval) {
    *best_eval = NAN;
    if (max_points < 2) max_points = 2;
    off_t size = 0;
    FILE *f = open_metrics(path, &size);
    double *cols = malloc(sizeof(double) * PAST_COLS * (size_t)max_points);
    char *buf = malloc(LINE_MAX_BYTES + 2);
    int k = 0;
    double last_ep = -1;
    for (int i = 0; f && cols && buf && i < max_points - 1; i++) {
        size_t n = line_at(f, (off_t)((double)size * i / (max_points - 1)), buf);
        cJSON *o = n ? parse_record(buf, n) : NULL;
        double e = o ? num_of(o, "episode") : NAN;
        if (o && e > last_ep) { /* each episode once, ascending */
            past_record_columns(o, cols, max_points, k++);
            last_ep = e;
        }
        cJSON_Delete(o);
    }
    cJSON *o = f && cols && buf ? last_record(f, size, buf) : NULL;
    if (o && num_of(o, "episode") > last_ep) past_record_columns(o, cols, max_points, k++);
    cJSON_Delete(o);
    for (int r = 0; cols && r < k; r++) {
        double v = cols[3 * max_points + r];
        if (isfinite(v) && !(v <= *best_eval)) *best_eval = v;
    }
    if (cols)
        past_write_series(jw, cols, max_points, k);
    else
        past_write_series(jw, NULL, 0, 0);
    free(buf);
    free(cols);
    if (f) fclose(f);
}

/* progress.json (PROTOCOL-independent: docs/design/run-directory.md) into r. */
static void read_progress(past_run *r) {
    char path[sizeof r->dir + 16];
    snprintf(path, sizeof path, "%s/progress.json", r->dir);
    snprintf(r->status, sizeof r->status, "unknown");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return;
    struct stat st;
    char *text = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= PROGRESS_MAX &&
        (text = malloc((size_t)st.st_size + 1)) != NULL) {
        ssize_t n = read(fd, text, (size_t)st.st_size);
        cJSON *o = n > 0 ? cJSON_ParseWithLength(text, (size_t)n) : NULL;
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "status");
        if (cJSON_IsString(s) && strlen(s->valuestring) < sizeof r->status &&
            strspn(s->valuestring, "abcdefghijklmnopqrstuvwxyz_") == strlen(s->valuestring) &&
            s->valuestring[0])
            snprintf(r->status, sizeof r->status, "%s", s->valuestring);
        double v;
        if (isfinite(v = num_of(o, "episode")) && v >= 0 && v <= 1e15) r->episode = (int64_t)v;
        if (isfinite(v = num_of(o, "total")) && v >= 0 && v <= 1e15) r->total = (int64_t)v;
        if (isfinite(v = num_of(o, "steps_per_second"))) r->sps = v;
        if (isfinite(v = num_of(o, "best"))) r->best = v;
        if (isfinite(v = num_of(o, "multiplier"))) r->multiplier = v;
        cJSON_Delete(o);
    }
    free(text);
    close(fd);
}

static void fill_row(past_run *r, const char *config) {
    snprintf(r->config, sizeof r->config, "%.63s", config);
    r->best_eval = NAN;
    read_progress(r);
    char path[sizeof r->dir + 16];
    snprintf(path, sizeof path, "%s/metrics.jsonl", r->dir);
    double last;
    int64_t last_ep;
    span(path, &r->started, &last, &last_ep);
    r->wall = isfinite(r->started) && isfinite(last) && last > r->started ? last - r->started : 0;
    if (r->episode < last_ep) r->episode = last_ep;
}

typedef struct {
    char config[208], stamp[208];
} cand_t;

static int cmp_cand(const void *a, const void *b) {
    const cand_t *x = a, *y = b;
    int c = strcmp(y->stamp, x->stamp); /* newest first */
    return c ? c : strcmp(x->config, y->config);
}

static int cmp_name(const void *a, const void *b) {
    return strcmp((const char *)a, (const char *)b);
}

/* Directory `dir` is own, or own is below it. */
static bool is_own(const char *dir, const char *own_real) {
    char real[PATH_MAX];
    if (!own_real[0] || !realpath(dir, real)) return false;
    size_t n = strlen(real);
    return strcmp(real, own_real) == 0 || (strncmp(own_real, real, n) == 0 && own_real[n] == '/');
}

static past_run *add_row(past_list *l, const char *id, const char *dir) {
    if (l->n >= PAST_MAX_RUNS) return NULL;
    past_run *r = &l->runs[l->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", id);
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    return r;
}

/* The runs of sweep directory dir (subdirectories holding a config.toml), by name. */
static void add_sweep(past_list *l, const char *dir, const cand_t *c) {
    char(*names)[208] = malloc(MAX_SWEEP_RUNS * sizeof *names);
    DIR *d = names ? opendir(dir) : NULL;
    int n = 0;
    struct dirent *e;
    while (d && n < MAX_SWEEP_RUNS && (e = readdir(d)) != NULL) {
        char cf[PAST_DIR_MAX];
        snprintf(cf, sizeof cf, "%.1500s/%.200s/config.toml", dir, e->d_name);
        if (past_name_ok(e->d_name) && is_file(cf))
            snprintf(names[n++], sizeof names[0], "%.200s", e->d_name);
    }
    if (d) closedir(d);
    if (n > 1) qsort(names, (size_t)n, sizeof names[0], cmp_name);
    for (int i = 0; i < n; i++) {
        char id[PAST_ID_MAX], rd[sizeof l->runs[0].dir];
        snprintf(id, sizeof id, "%s:%s:%s", c->config, c->stamp, names[i]);
        snprintf(rd, sizeof rd, "%.1500s/%.200s", dir, names[i]);
        past_run *r = add_row(l, id, rd);
        if (!r) break;
        fill_row(r, c->config);
    }
    free(names);
}

int past_scan(past_list *l, const char *root, const char *own_dir) {
    if (!l->runs && !(l->runs = calloc(PAST_MAX_RUNS, sizeof *l->runs))) return -1;
    l->n = 0;
    l->scanned_ms = clk_mono_ms();
    if (strlen(root) > 1000) return -1; /* the paths below are built in fixed buffers */
    char own_real[PATH_MAX] = "";
    if (!own_dir || !realpath(own_dir, own_real)) own_real[0] = 0;
    cand_t *cands = malloc(MAX_CANDIDATES * sizeof *cands);
    DIR *d = cands ? opendir(root) : NULL;
    if (!d) {
        free(cands);
        return -1;
    }
    int nc = 0;
    struct dirent *e1;
    while (nc < MAX_CANDIDATES && (e1 = readdir(d)) != NULL) {
        char cdir[1300];
        if (!past_name_ok(e1->d_name)) continue;
        snprintf(cdir, sizeof cdir, "%.1000s/%.200s", root, e1->d_name);
        DIR *d2 = opendir(cdir);
        struct dirent *e2;
        while (d2 && nc < MAX_CANDIDATES && (e2 = readdir(d2)) != NULL) {
            if (!past_name_ok(e2->d_name)) continue;
            snprintf(cands[nc].config, sizeof cands[nc].config, "%.200s", e1->d_name);
            snprintf(cands[nc].stamp, sizeof cands[nc].stamp, "%.200s", e2->d_name);
            nc++;
        }
        if (d2) closedir(d2);
    }
    closedir(d);
    if (nc > 1) qsort(cands, (size_t)nc, sizeof *cands, cmp_cand);
    for (int i = 0; i < nc && l->n < PAST_MAX_RUNS; i++) {
        char dir[1500], probe[sizeof dir + 32];
        snprintf(dir, sizeof dir, "%.1000s/%.200s/%.200s", root, cands[i].config, cands[i].stamp);
        if (!is_dir(dir) || is_own(dir, own_real)) continue;
        snprintf(probe, sizeof probe, "%s/sweep.toml", dir);
        if (is_file(probe)) {
            add_sweep(l, dir, &cands[i]);
            continue;
        }
        char ck[sizeof dir + 32];
        snprintf(probe, sizeof probe, "%s/metrics.jsonl", dir);
        snprintf(ck, sizeof ck, "%s/checkpoints", dir);
        if (!is_file(probe) && !is_dir(ck)) continue;
        char id[PAST_ID_MAX];
        snprintf(id, sizeof id, "%s:%s", cands[i].config, cands[i].stamp);
        past_run *r = add_row(l, id, dir);
        if (r) fill_row(r, cands[i].config);
    }
    free(cands);
    return 0;
}

void past_free(past_list *l) {
    free(l->runs);
    l->runs = NULL;
    l->n = 0;
}

past_run *past_find(const past_list *l, const char *id) {
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->runs[i].id, id) == 0) return &l->runs[i];
    return NULL;
}
