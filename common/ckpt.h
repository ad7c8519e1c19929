/* common/ckpt.h — the checkpoint format (prefix ckpt_), docs/design/checkpoint.md. One reader and
 * one writer for the trainer and the server.
 *
 * Files live in a run's checkpoints/ folder as ep_0000500.ckpt (500 episodes completed)
 * or ep_0000500_s00123.ckpt (a mid-episode checkpoint, 123 steps into episode 501), with
 * `latest` and `best` pointer files naming one of them. Newest means the most episodes,
 * then the most env steps. This header is the part the server needs: listing,
 * resolving a model name, loading the policy weights. The trainer's full-state save and
 * load (optimizer, replay, RNG states) are declared alongside by the learner. */
#ifndef RD_COMMON_CKPT_H
#define RD_COMMON_CKPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/policy.h"

typedef struct {
    char name[64]; /* "ep_0000500" */
    char path[CFG_PATH_MAX];
    int64_t episode; /* episodes completed when written */
    int64_t steps;   /* env steps completed when written */
    double score;    /* last greedy evaluation score (mean steps survived) */
    double best_score;
    int64_t mtime; /* unix seconds */
    bool is_latest, is_best;
} ckpt_info;

/* Lists the checkpoints in dir, newest first (episode, then env steps), reading only their
 * headers. Returns
 * the count (at most max) or -1 with err. A file that fails its header check is skipped
 * with a warning in the log. (A missing dir lists as 0: no checkpoint yet.) */
int ckpt_list(const char *dir, ckpt_info *out, int max, char *err, size_t errlen);

/* Resolves "latest", "best" or "ep_0000500" in dir to a path. 0 or -1 with err. */
int ckpt_resolve(const char *dir, const char *model, char *path, size_t pathlen, char *err,
                 size_t errlen);

/* Loads the online network's weights from the checkpoint at path into p after checking
 * magic, version, CRC and that it was written under cfg's hash. Fills info when non-NULL.
 * 0 or -1 with err naming the path and the reason.
 * (Reads only the header and the ONLINE section, and checks their own CRCs — a few hundred
 * KiB however large the replay buffer; p is untouched when the file is refused.) */
int ckpt_load_policy(const char *path, const cfg_config *cfg, policy_t *p, ckpt_info *info,
                     char *err, size_t errlen);

/* ---- The container, shared by every reader and writer ----
 *
 * A file is: a fixed header (magic "RDCKPT01", format version, ckpt_header fields), a
 * table of sections (tag, offset, length), the sections, and a CRC32 over everything
 * before it. The learner decides what its sections hold; the container checks integrity,
 * the config hash and the version. */

#define CKPT_FORMAT_VERSION 1
#define CKPT_TAG(a, b, c, d)                                                                       \
    ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))
/* The online network's parameters, policy_params() layout, little-endian float32. Every
 * checkpoint has it; it is all the server reads. */
#define CKPT_TAG_ONLINE CKPT_TAG('O', 'N', 'L', 'N')

typedef struct {
    uint64_t cfg_hash; /* cfg_hash() of the config that trained it */
    int64_t episode;   /* episodes completed */
    int64_t steps;     /* env steps completed */
    double epsilon;
    double score; /* last greedy evaluation score (mean steps survived), -1 = none */
    double best_score;
    int64_t wall_time; /* unix seconds when written */
} ckpt_header;

typedef struct {
    uint32_t tag;
    const void *data;
    uint64_t len;
} ckpt_section;

/* Writes dir/<name>.ckpt crash-safely (temporary file, fsync, rename, fsync of dir), then
 * points `latest` at it, and `best` too when is_best. Then removes the oldest ep_*.ckpt
 * files (ep_N and ep_N_sS alike, ordered by (N, S)) beyond the newest `keep` (never one
 * that `latest` or `best` names). Creates dir
 * when missing. 0 or -1 with err; on error the previous files are untouched. */
int ckpt_save(const char *dir, const char *name, const ckpt_header *h, const ckpt_section *s, int n,
              bool is_best, int keep, char *err, size_t errlen);

/* Rewrites the checkpoint at path without the section `tag`, crash-safely (a new file
 * renamed over it), header and other sections unchanged: how the trainer keeps the replay
 * buffer in its newest checkpoint only. 0 (also when there is no such section) or -1 with
 * err; the file is untouched on error. */
int ckpt_drop_section(const char *path, uint32_t tag, char *err, size_t errlen);

typedef struct ckpt_file ckpt_file; /* a verified checkpoint, read into memory */

/* Reads and verifies path: magic, version, size, CRC, and (unless expected_hash is 0) the
 * config hash. NULL with err "PATH: reason" (truncated, bad CRC, other version, other
 * config, ...). Free with ckpt_file_free(). */
ckpt_file *ckpt_open(const char *path, uint64_t expected_hash, char *err, size_t errlen);
const ckpt_header *ckpt_file_header(const ckpt_file *f);
/* The section with `tag`, or NULL; *len receives its length. Borrowed from f. */
const void *ckpt_file_section(const ckpt_file *f, uint32_t tag, uint64_t *len);
void ckpt_file_free(ckpt_file *f);

/* Opens the newest checkpoint of dir that verifies: the one `latest` names, else the
 * others by episode and env steps, newest first. Each refused file is logged (log_warn) with its
 * path and reason. Returns NULL when none loads; *found_any tells whether dir held any checkpoint
 * at all (a fresh run) — err then says why the last one was refused. */
ckpt_file *ckpt_open_newest(const char *dir, uint64_t expected_hash, char *path, size_t pathlen,
                            bool *found_any, char *err, size_t errlen);

/* ---- For the tests and the fuzz target ---- */

/* As ckpt_open(), on a copy of len bytes at data; `name` stands for the path in errors.
 * For tests and the fuzz target. */
ckpt_file *ckpt_open_buffer(const char *name, const void *data, size_t len, uint64_t expected_hash,
                            char *err, size_t errlen);

#endif
