/* inference/hist.h — the training job's episode history for late joiners (prefix hist_).
 *
 * Episode records (compact JSON objects, without "type") kept oldest first. At most
 * `limit` records: when the store is full, the older half is thinned by keeping every
 * second record, so the newest records stay complete and older ones get sparser the older
 * they are. Every kept record is a real episode, never an average, and 10,000 or
 * 10,000,000 episodes cost at most `limit` records — and at most `byte_limit` bytes: the
 * same thinning runs when the bytes would pass it, so a trainer sending huge records
 * cannot grow the server (or a late joiner's hello) without bound. */
#ifndef RD_INFERENCE_HIST_H
#define RD_INFERENCE_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char **rec; /* owned strings */
    size_t *len;
    int count, limit;
    size_t bytes, byte_limit; /* sum of len[] and its bound */
    int64_t total;            /* records ever added */
    bool downsampled;
} hist_t;

int hist_init(hist_t *h, int limit, size_t byte_limit);
void hist_close(hist_t *h);
/* Adds a copy of one record. 0, or -1 (out of memory, or a record over a quarter of
 * byte_limit: refused, nothing changes). */
int hist_add(hist_t *h, const char *json, size_t len);
/* Reads metrics.jsonl: every line that is a JSON object with an integer "episode" is added
 * (a "type" member is removed). Missing file = 0 records, not an error. Returns the
 * number of lines added, or -1 with err on a read error. Bad lines are skipped and
 * counted in *bad. */
int hist_load_jsonl(hist_t *h, const char *path, int *bad, char *err, size_t errlen);
/* Bytes hist_write_array() needs. */
size_t hist_array_size(const hist_t *h);
/* Writes "[rec,rec,...]" into out (at least hist_array_size() bytes); returns bytes. */
size_t hist_write_array(const hist_t *h, char *out);

#endif
