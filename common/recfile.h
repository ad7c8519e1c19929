/* common/recfile.h — recorded evaluation episodes (prefix recf_): the file format of
 * docs/PROTOCOL.md §8, written by the trainer (trainer/record.c) and checked by the server
 * before it serves one. Pure: bytes in, bytes out, no I/O, so a hostile file on disk is
 * only ever judged by recf_check(). */
#ifndef RD_COMMON_RECFILE_H
#define RD_COMMON_RECFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/env.h"

#define RECF_MAGIC     "RDREC001"
#define RECF_HEADER    64
#define RECF_STEP      40
#define RECF_MAX_BYTES 65536
#define RECF_MAX_STEPS ((RECF_MAX_BYTES - RECF_HEADER) / RECF_STEP) /* 1636 */
#define RECF_MAX_GRID  64
#define RECF_NAME_FMT  "eval_%07u"
#define RECF_NAME_LEN  12 /* "eval_" + 7 digits */

/* What a valid header says (the step records are checked, not decoded). */
typedef struct {
    uint32_t episode;
    int steps, real_steps;
    int width, height;
    int outcome; /* env_outcome */
    float score, total_reward, multiplier;
} recf_info;

/* The episode being recorded: the file's bytes as they grow. */
typedef struct {
    uint8_t buf[RECF_MAX_BYTES];
    size_t len;
    int steps, real_steps;
    double total_reward;
} recf_writer;

/* Starts a recording at e's first state (after env_reset). */
void recf_begin(recf_writer *w, const env_t *e);
/* Adds the step just taken: action, the q-values it was chosen from (ENV_NUM_ACTIONS),
 * and its reward; e is the state after it. Past RECF_MAX_STEPS only counts the step. */
void recf_step(recf_writer *w, const env_t *e, int action, const float *q, float reward);
/* Fills in the header's closing fields: how the episode ended (an env_outcome), the
 * evaluation's episode count and score. */
void recf_end(recf_writer *w, int outcome, uint32_t episode, float score);

/* True when buf/len is a valid recording (PROTOCOL §8); fills *out when not NULL. */
bool recf_check(const uint8_t *buf, size_t len, recf_info *out);

/* True when name is exactly "eval_" + 7 digits (no path, no extension). */
bool recf_name_ok(const char *name);

#endif
