/* inference/sweepf.h — the run states of a sweep directory's sweep.toml, as the server
 * reads them (prefix sweepf_, docs/PROTOCOL.md §4 "The sweep file"). The file is written by
 * run_demo but read as hostile input: a regular file of at most 1 MiB, parsed with
 * common/toml, only `[[runs]]` entries with a valid `name` and a short `state` taken (and
 * their Slurm fields when of their form), everything else ignored (run_demo versions and other
 * helpers may add fields). */
#ifndef RD_INFERENCE_SWEEPF_H
#define RD_INFERENCE_SWEEPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SWEEPF_MAX_BYTES (1 << 20)
#define SWEEPF_MAX_RUNS  1024

/* One run of the file. The Slurm fields (written by run_demo's Slurm backend, PROTOCOL §4
 * "The sweep file") are "" when absent or not of their form. */
typedef struct {
    char name[208];
    char state[17];        /* 1-16 bytes of [a-z_] */
    char slurm[24];        /* pending, running, ... or Slurm's own state name: [A-Za-z_] */
    char slurm_job[24];    /* the task's job id, "123_4": [0-9_] */
    char slurm_node[64];   /* [A-Za-z0-9._-] */
    char slurm_reason[64]; /* Slurm's pending reason: [A-Za-z0-9_(),.:/ -] */
} sweepf_entry;

typedef struct {
    int64_t mtime_ns, size; /* of the file last looked at (-1: none yet) */
    sweepf_entry *e;
    int n;
} sweepf_t;

void sweepf_init(sweepf_t *f);
void sweepf_free(sweepf_t *f);

/* Re-reads path when its size or mtime changed since the last call. Returns 1 when the
 * states were replaced, 0 when nothing changed (or there is no file: states kept), -1
 * when the file is too big or does not parse (states kept; err says why). */
int sweepf_refresh(sweepf_t *f, const char *path, char *err, size_t errlen);

/* The entry of run `name`, or NULL when the file does not name it. */
const sweepf_entry *sweepf_find(const sweepf_t *f, const char *name);

#endif
