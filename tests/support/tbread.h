/* tests/support/tbread.h — reads TensorBoard event files back for tests (prefix tbread_):
 * TFRecord framing with both masked CRC32Cs checked, and the Event fields that scalar
 * summaries use (wall_time, step, file_version, summary.value.tag/simple_value). */
#ifndef RD_TESTS_TBREAD_H
#define RD_TESTS_TBREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    double wall_time;
    int64_t step;
    char file_version[64];
    char tag[1024];
    float value;
    bool has_wall, has_step, has_version, has_value;
    int n_values; /* Summary.value entries */
} tbread_event;

/* Reads every record of the file into events (at most max); returns the count, or -1 if
 * the file cannot be opened, a length, CRC or protobuf is wrong, the file ends inside a
 * record, or it holds more than max records. */
int tbread_file(const char *path, tbread_event *events, int max);

/* TFRecord's mask of a CRC32C. */
uint32_t tbread_mask(uint32_t crc);

#endif
