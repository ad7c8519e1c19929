/* inference/past.h — past runs under the runs root (prefix past_), docs/PROTOCOL.md §4
 * "Past runs": which run directories there are, one small row each (no history kept), and
 * a run's episode series read on request by sampling its metrics.jsonl at evenly spaced
 * offsets, so that a file of any size costs the same. Every file read here may be hostile:
 * sizes are capped, lines are bounded, JSON is parsed, never trusted. */
#ifndef RD_INFERENCE_PAST_H
#define RD_INFERENCE_PAST_H

#include <stdbool.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/json.h"

#define PAST_MAX_RUNS 256
#define PAST_ID_MAX   640  /* CONFIG:STAMP:RUN, each part a job name (at most 200 bytes) */
#define PAST_DIR_MAX  2048 /* a run directory's path */
#define PAST_POINTS   1000 /* samples of a series */
#define PAST_COLS     4    /* episode, steps, total_reward, eval_score */

struct cJSON;

typedef struct {
    char id[PAST_ID_MAX];
    char dir[PAST_DIR_MAX];
    char config[64];
    char status[24]; /* progress.json's, "unknown" without one */
    int64_t episode, total;
    double sps, best, multiplier;
    double best_eval; /* NAN until the series was sampled */
    double started;   /* NAN: no record */
    double wall;      /* seconds from the first record to the last */
} past_run;

typedef struct {
    past_run *runs; /* newest stamps first */
    int n;
    uint64_t scanned_ms; /* clk_mono_ms() of the last scan, 0 = never */
} past_list;

/* Lists the run directories below root (PROTOCOL.md §4 "Past runs"), skipping own_dir and
 * what is below it; replaces l's rows. 0, or -1 when root cannot be read (l emptied). */
int past_scan(past_list *l, const char *root, const char *own_dir);
void past_free(past_list *l);
/* The row of id, or NULL. */
past_run *past_find(const past_list *l, const char *id);

/* A part of a past run's id: a job name ([A-Za-z0-9._=,-], 1-200 bytes, not . or ..). */
bool past_name_ok(const char *n);

/* Writes the series object of PROTOCOL.md §5.4 ({"episode":[..],"steps":[..],
 * "total_reward":[..],"eval_score":[..]}) of metrics file `path` into jw, from at most
 * max_points lines sampled at evenly spaced offsets (the first and the last line always
 * among them), episodes ascending. *best_eval gets the best eval_score sampled (NAN when
 * none). A missing file is an empty series. */
void past_series(const char *path, int max_points, json_buf *jw, double *best_eval);

/* The series columns: cols holds PAST_COLS columns of cap values each (column c at
 * cols[c * cap]); past_record_columns() fills row `row` from record o (NAN where a value
 * is absent, all NAN for NULL), past_write_series() writes rows 0..n-1 as the series
 * object. Shared with the overview's hello, so both read and write series alike. */
void past_record_columns(const struct cJSON *o, double *cols, int cap, int row);
void past_write_series(json_buf *jw, const double *cols, int cap, int n);

/* The timestamps of the first and the last record of metrics file path (NAN when there is
 * no such record), read from its first line and its tail only. */
void past_time_span(const char *path, double *first, double *last);

#endif
