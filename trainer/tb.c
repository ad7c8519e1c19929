/* trainer/tb.c — TensorBoard scalar event files written by hand (see tb.h).
 *
 * A TensorBoard event file is a TFRecord stream: each record is
 *   uint64 length (little endian), uint32 masked CRC32C of those 8 bytes,
 *   `length` bytes of data, uint32 masked CRC32C of the data,
 * and each record's data is one serialized `Event` protobuf. We write only the handful of
 * fields TensorBoard needs for scalars, so a tiny protobuf encoder is enough:
 *   Event   { double wall_time = 1; int64 step = 2; string file_version = 3;
 *             Summary summary = 5; }
 *   Summary { repeated Value value = 1; }
 *   Value   { string tag = 1; float simple_value = 2; }
 * Records are encoded straight into a fixed buffer owned by the writer, which is written
 * out when full, on tb_flush and on tb_close: a scalar costs no allocation and, most of the
 * time, no system call. */
#include "trainer/tb.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "common/le.h"

/* Large enough that a training run writes every few hundred episodes, small enough to be
 * no memory concern. */
#define TB_BUF_SIZE (64 * 1024)
/* A record must fit in the buffer; tags longer than this are refused rather than
 * truncated, since a truncated tag would silently merge two series. */
#define TB_TAG_MAX 512
/* Worst case of one scalar record: framing (8 + 4 + 4), wall_time (9), step (11),
 * summary/value headers (3 × (1 + 10)), tag, simple_value (5). */
#define TB_RECORD_MAX (16 + 9 + 11 + 33 + TB_TAG_MAX + 5)

struct tb_writer {
    int fd;
    bool failed; /* a write failed: the file may end in a torn record, so stop appending */
    size_t len;
    unsigned char buf[TB_BUF_SIZE];
};

/* TFRecord masks the CRC so that a CRC stored inside CRC-protected data does not make the
 * outer CRC degenerate. */
uint32_t tb_masked_crc(const void *data, size_t n) {
    uint32_t c = crc32c_update(0, data, n);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

/* ---- protobuf encoding into a caller buffer (the caller guarantees room) ---- */

static unsigned char *put_varint(unsigned char *p, uint64_t v) {
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

static size_t varint_len(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Frames the `n` bytes of Event data already placed at rec + 12 and returns the size of
 * the whole record. */
static size_t frame_record(unsigned char *rec, size_t n) {
    le_put64(rec, n);
    le_put32(rec + 8, tb_masked_crc(rec, 8));
    le_put32(rec + 12 + n, tb_masked_crc(rec + 12, n));
    return 12 + n + 4;
}

/* Event fields 1 and 2, common to every record. */
static unsigned char *put_header(unsigned char *p, int64_t step, double wall_time) {
    *p++ = (1 << 3) | 1; /* wall_time, 64-bit */
    le_put_f64(p, wall_time);
    p += 8;
    *p++ = (2 << 3) | 0; /* step, varint (negative int64 takes ten bytes, as protobuf says) */
    return put_varint(p, (uint64_t)step);
}

/* ---- file ---- */

static int write_all(int fd, const unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int tb_flush(tb_writer *w) {
    if (w->failed) return -1;
    if (w->len == 0) return 0;
    if (write_all(w->fd, w->buf, w->len) < 0) {
        w->failed = true;
        return -1;
    }
    w->len = 0;
    return 0;
}

/* Opens a new event file. TensorBoard reads every file matching *tfevents* in a directory
 * in name order, so a second writer in the same second (a quick restart) gets a suffix
 * rather than appending to, or clobbering, the first one's file. */
static int open_event_file(const char *dir, char *path, size_t pathlen) {
    char host[256];
    if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    /* A '/' in a host name would put the file somewhere else. */
    for (char *c = host; *c; c++)
        if (*c == '/') *c = '_';
    long now = (long)time(NULL);
    for (int attempt = 0; attempt < 100; attempt++) {
        int n;
        if (attempt == 0)
            n = snprintf(path, pathlen, "%s/events.out.tfevents.%ld.%s", dir, now, host);
        else
            n = snprintf(path, pathlen, "%s/events.out.tfevents.%ld.%s.%ld.%d", dir, now, host,
                         (long)getpid(), attempt);
        if (n < 0 || (size_t)n >= pathlen) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    errno = EEXIST;
    return -1;
}

tb_writer *tb_open(const char *dir, char *err, size_t errlen) {
    char path[4096];
    tb_writer *w = NULL;
    /* The run directory exists; its tb/ folder may not yet. */
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "tb: cannot create %s: %s", dir, strerror(errno));
        return NULL;
    }
    w = malloc(sizeof *w);
    if (!w) {
        snprintf(err, errlen, "tb: out of memory");
        return NULL;
    }
    w->len = 0;
    w->failed = false;
    w->fd = open_event_file(dir, path, sizeof path);
    if (w->fd < 0) {
        snprintf(err, errlen, "tb: cannot create an event file in %s: %s", dir, strerror(errno));
        goto fail_free;
    }

    /* The first record names the format: Event { wall_time, step 0, file_version }. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    static const char version[] = "brain.Event:2";
    unsigned char *rec = w->buf, *p = put_header(rec + 12, 0, ts.tv_sec + ts.tv_nsec * 1e-9);
    *p++ = (3 << 3) | 2;
    *p++ = sizeof version - 1;
    memcpy(p, version, sizeof version - 1);
    p += sizeof version - 1;
    w->len = frame_record(rec, (size_t)(p - (rec + 12)));
    /* Written at once, so that an empty run still leaves a valid file behind. */
    if (tb_flush(w) < 0) {
        snprintf(err, errlen, "tb: cannot write %s: %s", path, strerror(errno));
        goto fail_close;
    }
    return w;

fail_close:
    close(w->fd);
    unlink(path);
fail_free:
    free(w);
    return NULL;
}

int tb_scalar(tb_writer *w, const char *tag, int64_t step, double wall_time, float value) {
    if (w->failed) return -1;
    size_t taglen = strlen(tag);
    if (taglen > TB_TAG_MAX) return -1;
    if (TB_BUF_SIZE - w->len < TB_RECORD_MAX && tb_flush(w) < 0) return -1;

    /* Sizes from the inside out: Value, then Summary (one Value). */
    size_t value_len = 1 + varint_len(taglen) + taglen + 1 + 4;
    size_t summary_len = 1 + varint_len(value_len) + value_len;

    unsigned char *rec = w->buf + w->len, *p = put_header(rec + 12, step, wall_time);
    *p++ = (5 << 3) | 2; /* summary */
    p = put_varint(p, summary_len);
    *p++ = (1 << 3) | 2; /* summary.value */
    p = put_varint(p, value_len);
    *p++ = (1 << 3) | 2; /* value.tag */
    p = put_varint(p, taglen);
    memcpy(p, tag, taglen);
    p += taglen;
    *p++ = (2 << 3) | 5; /* value.simple_value, 32-bit */
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    le_put32(p, bits);
    p += 4;
    w->len += frame_record(rec, (size_t)(p - (rec + 12)));
    return 0;
}

void tb_close(tb_writer *w) {
    if (!w) return;
    tb_flush(w);
    close(w->fd);
    free(w);
}
