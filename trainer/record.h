/* trainer/record.h — the recording of each evaluation's best episode (prefix record_):
 * docs/PROTOCOL.md §8. The evaluation plays its greedy episodes into `cur`; the longest
 * one so far is kept in `best` (the two buffers swap, nothing is copied); after the
 * evaluation record_save() writes it to RUN_DIR/recordings/eval_NNNNNNN.rec through a
 * temporary file and a rename and deletes the oldest beyond `keep`.
 *
 * Two 64 KiB buffers per evaluation, allocated by record_open() once per evaluation (every
 * eval_every episodes), none per step. */
#ifndef RD_TRAINER_RECORD_H
#define RD_TRAINER_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/recfile.h"

#define RECORD_KEEP 32 /* recordings kept on disk (PROTOCOL §8) */

typedef struct {
    recf_writer *cur, *best;
    int best_outcome; /* -1 before any episode */
} record_eval;

/* 0, or -1 when out of memory (the evaluation then records nothing). */
int record_open(record_eval *r);
void record_close(record_eval *r);
/* The episode in `cur` ended with `outcome`: keep it when it is the longest yet. */
void record_episode_done(record_eval *r, int outcome);
/* Writes the best episode as the recording of the evaluation at `episode`; name gets its
 * name ("eval_0000500"). 0, or -1 with err. */
int record_save(record_eval *r, const char *run_dir, uint32_t episode, float score, char *name,
                size_t namelen, char *err, size_t errlen);

#endif
