/* common/ckpt_int.h — what common/ckpt.c (the container: layout, names, header parsing,
 * reading, writing) lends common/ckpt_dir.c (a folder's checkpoints: list, resolve, newest)
 * and common/ckpt_policy.c (loading a policy's weights). Private to those files (prefix
 * ckpt_); the public interface is common/ckpt.h. */
#ifndef RD_COMMON_CKPT_INT_H
#define RD_COMMON_CKPT_INT_H

#include "common/ckpt.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define CKPT_MAX_SECTIONS 256
#define CKPT_POINTER_MAX  256
#define CKPT_NAME_MAX     63 /* ckpt_info.name holds 64 bytes */

/* One row of a header's section table. */
typedef struct {
    uint32_t tag, crc;
    uint64_t off, len;
} ckpt_entry;

/* A parsed, CRC-checked header. */
typedef struct {
    ckpt_header h;
    uint32_t version, header_len, n;
    uint64_t file_size;
    ckpt_entry sec[CKPT_MAX_SECTIONS];
} ckpt_meta;

/* A checkpoint or pointer name: [A-Za-z0-9_.-], not starting with '.'. */
bool ckpt_name_ok(const char *s, size_t len);

bool ckpt_ends_with(const char *s, const char *suffix);

/* A finished checkpoint's file name: a valid name ending in ".ckpt" (never a *.tmp.*). */
bool ckpt_is_ckpt_file(const char *fname);

/* The episode of "ep_0000500.ckpt" (*step = 0) or "ep_0000500_s00123.ckpt" (*step = 123);
 * -1 for any other name. */
int64_t ckpt_name_episode(const char *fname, int64_t *step);

/* dir "/" name into out: 0, or -1 when it does not fit. */
int ckpt_join(char *out, size_t outlen, const char *dir, const char *name);

/* Copies src into dst, cut to dstlen - 1 bytes. */
void ckpt_copy_str(char *dst, size_t dstlen, const char *src);

/* Splits path into its folder (into dir) and returns its base name. */
const char *ckpt_split_path(const char *path, char *dir, size_t dirlen);

/* Opens a regular file read-only (a FIFO or folder is refused): fd, or -1 with err. */
int ckpt_open_regular(const char *path, struct stat *st, char *err, size_t errlen);

/* pread until len bytes are in: 0, or -1 (errno 0: the file shrank). */
int ckpt_read_full(int fd, void *buf, size_t len, uint64_t off);

/* Reads and verifies the header of an open file of `size` bytes: 0, or -1 with why. */
int ckpt_read_header(int fd, uint64_t size, ckpt_meta *m, char *why, size_t whylen);

/* Refuses a checkpoint of another config hash (expected 0: any): 0, or -1 with why. */
int ckpt_check_hash(const ckpt_meta *m, uint64_t expected, char *why, size_t whylen);

/* The section with this tag, or NULL. */
const ckpt_entry *ckpt_find(const ckpt_meta *m, uint32_t tag);

/* Reads the folder's `latest` or `best` pointer: 0, or -1 (errno ENOENT: none). */
int ckpt_read_pointer(const char *dir, const char *which, char *name, size_t namelen);

/* Fills what ckpt_list and ckpt_load_policy report about one file. */
void ckpt_fill_info(ckpt_info *info, const char *dir, const char *fname, const char *path,
                    const ckpt_meta *m, const struct stat *st, const char *latest,
                    const char *best);

#endif
