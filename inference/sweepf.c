/* inference/sweepf.c — the run states of sweep.toml (see sweepf.h). */
#define _GNU_SOURCE
#include "inference/sweepf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/toml.h"

void sweepf_init(sweepf_t *f) {
    memset(f, 0, sizeof *f);
    f->mtime_ns = f->size = -1;
}

void sweepf_free(sweepf_t *f) {
    free(f->e);
    sweepf_init(f);
}

static bool name_ok(const char *s, size_t n) {
    if (n == 0 || n > 200 || strlen(s) != n || !strcmp(s, ".") || !strcmp(s, "..")) return false;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._=,-") == n;
}

static bool state_ok(const char *s, size_t n) {
    return n >= 1 && n <= 16 && strlen(s) == n && strspn(s, "abcdefghijklmnopqrstuvwxyz_") == n;
}

/* Copies t's string `key` into dst when it fits and is made of `allowed` only; else "". */
static void copy_field(const toml_value *t, const char *key, char *dst, size_t cap,
                       const char *allowed) {
    const toml_entry *e = toml_table_find(t, key);
    dst[0] = '\0';
    if (!e || e->value->type != TOML_STRING) return;
    size_t n = e->value->u.s.len;
    const char *v = e->value->u.s.ptr;
    if (n >= cap || strlen(v) != n || strspn(v, allowed) != n) return;
    memcpy(dst, v, n + 1);
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

/* The entries of root's [[runs]] into e (at most SWEEPF_MAX_RUNS); returns how many. */
static int read_runs(const toml_value *root, sweepf_entry *e) {
    const toml_entry *runs = toml_table_find(root, "runs");
    if (!runs || runs->value->type != TOML_ARRAY) return 0;
    int n = 0;
    for (size_t i = 0; i < runs->value->u.arr.len && n < SWEEPF_MAX_RUNS; i++) {
        const toml_value *t = runs->value->u.arr.items[i];
        const toml_entry *nm = toml_table_find(t, "name"), *st = toml_table_find(t, "state");
        if (!nm || !st || nm->value->type != TOML_STRING || st->value->type != TOML_STRING)
            continue;
        if (!name_ok(nm->value->u.s.ptr, nm->value->u.s.len) ||
            !state_ok(st->value->u.s.ptr, st->value->u.s.len))
            continue;
        snprintf(e[n].name, sizeof e[n].name, "%s", nm->value->u.s.ptr);
        snprintf(e[n].state, sizeof e[n].state, "%s", st->value->u.s.ptr);
        copy_field(t, "slurm", e[n].slurm, sizeof e[n].slurm,
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_");
        copy_field(t, "job", e[n].slurm_job, sizeof e[n].slurm_job, "0123456789_");
        copy_field(t, "slurm_node", e[n].slurm_node, sizeof e[n].slurm_node, ALNUM "._-");
        copy_field(t, "slurm_reason", e[n].slurm_reason, sizeof e[n].slurm_reason,
                   ALNUM "_(),.:/ -");
        n++;
    }
    return n;
}

int sweepf_refresh(sweepf_t *f, const char *path, char *err, size_t errlen) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return 0;
    struct stat st;
    int rc = 0;
    char *text = NULL;
    toml_value *root = NULL;
    sweepf_entry *e = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) goto done;
    int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (mt == f->mtime_ns && (int64_t)st.st_size == f->size) goto done;
    f->mtime_ns = mt;
    f->size = (int64_t)st.st_size;
    rc = -1;
    if (st.st_size > SWEEPF_MAX_BYTES) {
        snprintf(err, errlen, "%s: %lld bytes, over %d: ignored", path, (long long)st.st_size,
                 SWEEPF_MAX_BYTES);
        goto done;
    }
    text = malloc((size_t)st.st_size + 1);
    e = calloc(SWEEPF_MAX_RUNS, sizeof *e);
    ssize_t n = text && e ? read(fd, text, (size_t)st.st_size) : -1;
    if (n < 0 || n != st.st_size) {
        snprintf(err, errlen, "%s: %s", path, n < 0 ? strerror(errno) : "changed while read");
        f->mtime_ns = -1; /* try again at the next look */
        goto done;
    }
    char perr[200];
    root = toml_parse(text, (size_t)n, perr, sizeof perr);
    if (!root) {
        snprintf(err, errlen, "%s:%s", path, perr);
        goto done;
    }
    free(f->e);
    f->n = read_runs(root, e);
    f->e = e;
    e = NULL;
    rc = 1;
done:
    toml_free(root);
    free(e);
    free(text);
    close(fd);
    return rc;
}

const sweepf_entry *sweepf_find(const sweepf_t *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->e[i].name, name) == 0) return &f->e[i];
    return NULL;
}
