/* common/ckpt.h — the checkpoint format (prefix ckpt_), DESIGN.md §3.4. One reader and one
 * writer for the trainer and the server.
 *
 * Files live in a run's checkpoints/ folder as ep_0000500.ckpt, with `latest` and `best`
 * pointer files naming one of them. This header is the part the server needs: listing,
 * resolving a model name, loading the policy weights. The trainer's full-state save and
 * load (optimizer, replay, RNG states) are declared alongside by the learner. */
#ifndef RD_COMMON_CKPT_H
#define RD_COMMON_CKPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/policy.h"

typedef struct {
    char name[64];             /* "ep_0000500" */
    char path[CFG_PATH_MAX];
    int64_t episode;           /* episodes completed when written */
    int64_t steps;             /* env steps completed when written */
    double score;              /* last greedy evaluation score (mean steps survived) */
    double best_score;
    int64_t mtime;             /* unix seconds */
    bool is_latest, is_best;
} ckpt_info;

/* Lists the checkpoints in dir, newest episode first, reading only their headers. Returns
 * the count (at most max) or -1 with err. A file that fails its header check is skipped
 * with a warning in the log. */
int ckpt_list(const char *dir, ckpt_info *out, int max, char *err, size_t errlen);

/* Resolves "latest", "best" or "ep_0000500" in dir to a path. 0 or -1 with err. */
int ckpt_resolve(const char *dir, const char *model, char *path, size_t pathlen, char *err,
                 size_t errlen);

/* Loads the online network's weights from the checkpoint at path into p after checking
 * magic, version, CRC and that it was written under cfg's hash. Fills info when non-NULL.
 * 0 or -1 with err naming the path and the reason. */
int ckpt_load_policy(const char *path, const cfg_config *cfg, policy_t *p, ckpt_info *info,
                     char *err, size_t errlen);

#endif
