/* trainer/tb.h — TensorBoard scalar event files (prefix tb_), written by hand: records
 * framed as length, masked CRC32C of the length, data, masked CRC32C of the data; each
 * record an `Event` protobuf (wall_time, step, summary { value { tag, simple_value } }).
 * `tensorboard --logdir runs` reads them. */
#ifndef RD_TRAINER_TB_H
#define RD_TRAINER_TB_H

#include <stddef.h>
#include <stdint.h>

typedef struct tb_writer tb_writer;

/* Creates dir/events.out.tfevents.<unix time>.<hostname> with the file_version record.
 * NULL with err on failure. */
tb_writer *tb_open(const char *dir, char *err, size_t errlen);

/* Appends one scalar. Buffered; 0 or -1 on a write error. No allocation. */
int tb_scalar(tb_writer *w, const char *tag, int64_t step, double wall_time, float value);

/* Writes buffered records to the file (no fsync). */
int tb_flush(tb_writer *w);

/* Flushes, closes and frees. NULL is accepted. */
void tb_close(tb_writer *w);

/* TensorBoard's mask of the CRC32C (common/crc32c.h) of n bytes; exposed for the tests. */
uint32_t tb_masked_crc(const void *data, size_t n);

#endif
