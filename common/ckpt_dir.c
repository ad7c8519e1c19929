/* common/ckpt_dir.c — a checkpoint folder as a whole: listing its checkpoints (ckpt_list),
 * resolving a model name from outside to one of them (ckpt_resolve) and opening the newest
 * that verifies (ckpt_open_newest). The container itself is common/ckpt.c. */
#include "common/ckpt_int.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"

typedef struct {
    char fname[CKPT_NAME_MAX + 8];
    int64_t episode; /* from the header when it verifies, else from the name, else -1 */
    int64_t steps;   /* env steps, from the header when it verifies, else -1 */
    int64_t mtime;
    bool header_ok;
    ckpt_meta *m; /* only kept by ckpt_list */
} ckpt_cand;

/* Newest episode first; equal episodes most env steps first (a mid-episode checkpoint
 * after the boundary one it continues), then newest file; then by name for a stable
 * order. */
static int cand_cmp(const void *a, const void *b) {
    const ckpt_cand *x = a, *y = b;
    if (x->episode != y->episode) return x->episode > y->episode ? -1 : 1;
    if (x->steps != y->steps) return x->steps > y->steps ? -1 : 1;
    if (x->mtime != y->mtime) return x->mtime > y->mtime ? -1 : 1;
    return strcmp(x->fname, y->fname);
}

/* Every *.ckpt of dir with its episode, sorted newest first. Returns the count (the array
 * in *out, freed by the caller) or -1 with errno (ENOENT when dir is missing). With
 * keep_meta, each header that verified is kept in cand->m; refusals are logged when
 * `warn`. */
/* True the first time a refusal of this file (path, size, mtime) is seen: a listing that
 * runs on every request must not log the same unreadable files again and again (2,000
 * junk files made 2,014 log lines per request). A lossy set of hashes: a collision only
 * silences a line. */
static bool first_refusal(const char *path, const struct stat *st) {
    enum { SEEN = 4096 };
    static uint64_t seen[SEEN];
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    if (st) h = (h ^ (uint64_t)st->st_size) * 1099511628211ULL ^ (uint64_t)st->st_mtime;
    if (!h) h = 1;
    pthread_mutex_lock(&mu);
    uint64_t *slot = &seen[h % SEEN];
    bool first = *slot != h;
    *slot = h;
    pthread_mutex_unlock(&mu);
    return first;
}

static int ckpt_scan(const char *dir, ckpt_cand **out, bool keep_meta, bool warn) {
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d) return -1;
    ckpt_cand *c = NULL;
    int n = 0, cap = 0;
    ckpt_meta *m = malloc(sizeof *m);
    if (!m) goto oom;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!ckpt_is_ckpt_file(de->d_name)) continue;
        if (n == cap) {
            int ncap = cap ? cap * 2 : 16;
            ckpt_cand *nc = realloc(c, sizeof *c * (size_t)ncap);
            if (!nc) goto oom;
            c = nc;
            cap = ncap;
        }
        ckpt_cand *e = &c[n];
        memset(e, 0, sizeof *e);
        ckpt_copy_str(e->fname, sizeof e->fname, de->d_name);
        e->episode = ckpt_name_episode(e->fname, NULL);
        e->steps = -1;
        char path[CFG_PATH_MAX], err[512], why[256];
        if (ckpt_join(path, sizeof path, dir, e->fname) != 0) continue;
        struct stat st;
        int fd = ckpt_open_regular(path, &st, err, sizeof err);
        if (fd < 0) {
            /* A file removed since readdir (retention by a running trainer) is no news. */
            if (warn && errno != ENOENT && first_refusal(path, NULL)) log_warn("%s", err);
            continue;
        }
        e->mtime = (int64_t)st.st_mtime;
        if (ckpt_read_header(fd, (uint64_t)st.st_size, m, why, sizeof why) == 0) {
            e->header_ok = true;
            e->episode = m->h.episode;
            e->steps = m->h.steps;
            if (keep_meta) {
                e->m = m;
                m = malloc(sizeof *m);
                if (!m) {
                    close(fd);
                    n++;
                    goto oom;
                }
            }
        } else if (warn && first_refusal(path, &st)) {
            log_warn("%s: %s", path, why);
        }
        close(fd);
        n++;
    }
    closedir(d);
    free(m);
    if (n > 1) qsort(c, (size_t)n, sizeof *c, cand_cmp);
    *out = c;
    return n;
oom:
    closedir(d);
    free(m);
    for (int i = 0; i < n; i++) free(c[i].m);
    free(c);
    errno = ENOMEM;
    return -1;
}

static void cand_free(ckpt_cand *c, int n) {
    for (int i = 0; c && i < n; i++) free(c[i].m);
    free(c);
}

int ckpt_list(const char *dir, ckpt_info *out, int max, char *err, size_t errlen) {
    ckpt_cand *c;
    int n = ckpt_scan(dir, &c, true, true);
    if (n < 0) {
        if (errno == ENOENT) return 0; /* no checkpoint written yet */
        err_at(err, errlen, dir, "cannot list: %s", strerror(errno));
        return -1;
    }
    char latest[CKPT_POINTER_MAX] = "", best[CKPT_POINTER_MAX] = "";
    bool has_latest = ckpt_read_pointer(dir, "latest", latest, sizeof latest) == 0;
    bool has_best = ckpt_read_pointer(dir, "best", best, sizeof best) == 0;
    int k = 0;
    for (int i = 0; i < n && k < max; i++) {
        if (!c[i].header_ok) continue;
        char path[CFG_PATH_MAX];
        if (ckpt_join(path, sizeof path, dir, c[i].fname) != 0) continue;
        struct stat st = {0};
        st.st_mtime = (time_t)c[i].mtime;
        ckpt_fill_info(&out[k++], dir, c[i].fname, path, c[i].m, &st, has_latest ? latest : NULL,
                       has_best ? best : NULL);
    }
    cand_free(c, n);
    return k;
}

int ckpt_resolve(const char *dir, const char *model, char *path, size_t pathlen, char *err,
                 size_t errlen) {
    char fname[CKPT_POINTER_MAX];
    if (strcmp(model, "latest") == 0 || strcmp(model, "best") == 0) {
        if (ckpt_read_pointer(dir, model, fname, sizeof fname) != 0) {
            if (strcmp(model, "best") == 0 || errno != ENOENT) {
                err_at(err, errlen, dir, "no usable '%s' pointer (%s)", model,
                       errno == ENOENT ? "no best checkpoint yet" : "invalid contents");
                return -1;
            }
            /* No `latest` yet (a run from before pointers, or one whose first save was cut
             * short): the newest file by episode serves. */
            ckpt_cand *c;
            int n = ckpt_scan(dir, &c, false, false);
            int pick = -1;
            for (int i = 0; i < n && pick < 0; i++)
                if (c[i].header_ok) pick = i;
            if (pick >= 0) ckpt_copy_str(fname, sizeof fname, c[pick].fname);
            cand_free(c, n > 0 ? n : 0);
            if (pick < 0) {
                err_at(err, errlen, dir, "no checkpoint yet");
                return -1;
            }
        }
    } else {
        size_t len = strlen(model);
        if (ckpt_ends_with(model, ".ckpt")) len -= 5;
        if (!ckpt_name_ok(model, len)) {
            err_at(err, errlen, dir, "invalid model name");
            return -1;
        }
        snprintf(fname, sizeof fname, "%.*s.ckpt", (int)len, model);
    }
    char p[CFG_PATH_MAX];
    struct stat st;
    if (ckpt_join(p, sizeof p, dir, fname) != 0 || strlen(p) >= pathlen) {
        err_at(err, errlen, dir, "path too long");
        return -1;
    }
    if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
        err_at(err, errlen, dir, "no checkpoint '%s'", fname);
        return -1;
    }
    memcpy(path, p, strlen(p) + 1);
    return 0;
}

ckpt_file *ckpt_open_newest(const char *dir, uint64_t expected_hash, char *path, size_t pathlen,
                            bool *found_any, char *err, size_t errlen) {
    bool any = false;
    char latest[CKPT_POINTER_MAX] = "", p[CFG_PATH_MAX], why[1200] = "";
    ckpt_file *f = NULL;
    errno = 0;
    bool has_latest = ckpt_read_pointer(dir, "latest", latest, sizeof latest) == 0;
    if (has_latest || errno != ENOENT) any = true; /* a pointer, even a bad one, means a run */
    if (!has_latest && errno != ENOENT) {
        log_warn("%s/latest: invalid contents, ignored", dir);
    } else if (has_latest && ckpt_join(p, sizeof p, dir, latest) == 0) {
        f = ckpt_open(p, expected_hash, why, sizeof why);
        if (!f) log_warn("%s", why);
    }
    ckpt_cand *c = NULL;
    int n = 0;
    if (!f) {
        n = ckpt_scan(dir, &c, false, false);
        if (n < 0) n = 0;
        for (int i = 0; i < n && !f; i++) {
            any = true;
            if (has_latest && strcmp(c[i].fname, latest) == 0) continue; /* refused above */
            if (ckpt_join(p, sizeof p, dir, c[i].fname) != 0) continue;
            f = ckpt_open(p, expected_hash, why, sizeof why);
            if (!f) log_warn("%s", why);
        }
    }
    cand_free(c, n);
    if (found_any) *found_any = any || f;
    if (!f) {
        if (why[0])
            ckpt_copy_str(err, errlen, why);
        else
            err_at(err, errlen, dir, "no checkpoint");
        return NULL;
    }
    if (path) ckpt_copy_str(path, pathlen, p);
    return f;
}
