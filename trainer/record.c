/* trainer/record.c — see record.h. */
#include "trainer/record.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/fs.h"

int record_open(record_eval *r) {
    r->cur = malloc(sizeof *r->cur);
    r->best = malloc(sizeof *r->best);
    r->best_outcome = -1;
    if (r->cur && r->best) return 0;
    record_close(r);
    return -1;
}

void record_close(record_eval *r) {
    free(r->cur);
    free(r->best);
    r->cur = r->best = NULL;
}

void record_episode_done(record_eval *r, int outcome) {
    if (r->best_outcome >= 0 && r->cur->real_steps <= r->best->real_steps) return;
    recf_writer *t = r->best;
    r->best = r->cur;
    r->cur = t;
    r->best_outcome = outcome;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp((const char *)a, (const char *)b);
}

/* Deletes the oldest recordings beyond keep (names sort by episode: fixed width). */
static void prune(const char *dir, int keep) {
    DIR *d = opendir(dir);
    if (!d) return;
    enum { MAX_SEEN = 4096 };
    char(*names)[RECF_NAME_LEN + 5] = malloc(MAX_SEEN * sizeof *names);
    int n = 0;
    struct dirent *de;
    while (names && n < MAX_SEEN && (de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l != RECF_NAME_LEN + 4 || strcmp(de->d_name + RECF_NAME_LEN, ".rec") != 0) continue;
        char base[RECF_NAME_LEN + 1];
        memcpy(base, de->d_name, RECF_NAME_LEN);
        base[RECF_NAME_LEN] = 0;
        if (recf_name_ok(base)) memcpy(names[n++], de->d_name, l + 1);
    }
    closedir(d);
    if (names && n > keep) {
        qsort(names, (size_t)n, sizeof *names, cmp_names);
        char path[CFG_PATH_MAX + 64];
        for (int i = 0; i < n - keep; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            unlink(path);
        }
    }
    free(names);
}

int record_save(record_eval *r, const char *run_dir, uint32_t episode, float score, char *name,
                size_t namelen, char *err, size_t errlen) {
    if (r->best_outcome < 0) {
        snprintf(err, errlen, "no episode to record");
        return -1;
    }
    char dir[CFG_PATH_MAX + 16], path[CFG_PATH_MAX + 48];
    snprintf(dir, sizeof dir, "%s/recordings", run_dir);
    if (fs_mkdir_p(dir, 0) != 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    recf_end(r->best, r->best_outcome, episode, score);
    snprintf(name, namelen, RECF_NAME_FMT, episode % 10000000u);
    snprintf(path, sizeof path, "%s/%s.rec", dir, name);
    if (fs_write_atomic(path, r->best->buf, r->best->len, 0, err, errlen) != 0) return -1;
    prune(dir, RECORD_KEEP);
    return 0;
}
