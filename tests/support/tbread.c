/* tests/support/tbread.c — an independent reader of TensorBoard event files (see
 * tbread.h). It shares no code with trainer/tb.c but the CRC32C and byte-order helpers of
 * common/ (each checked against its definition by its own test, test_common_crc32c.c and
 * test_common_le.c); its protobuf decoder is a generic wire-format walker, so that a bug in
 * the writer's framing or encoding cannot be hidden by the same bug in the check. */
#include "tests/support/tbread.h"

#include <stdio.h>
#include <string.h>

#include "common/crc32c.h"
#include "common/le.h"

uint32_t tbread_mask(uint32_t c) {
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

/* Reads a varint at *p (bounded by end); false when malformed. */
static bool rd_varint(const unsigned char **p, const unsigned char *end, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (*p >= end) return false;
        unsigned char b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* Walks one message; calls back for each field. Wire types 0, 1, 2, 5 only. */
typedef bool (*field_cb)(void *ctx, int field, int wt, uint64_t num, const unsigned char *data,
                         size_t len);

static bool walk(const unsigned char *p, size_t n, field_cb cb, void *ctx) {
    const unsigned char *end = p + n;
    while (p < end) {
        uint64_t key, num = 0;
        if (!rd_varint(&p, end, &key)) return false;
        int field = (int)(key >> 3), wt = (int)(key & 7);
        const unsigned char *data = NULL;
        size_t len = 0;
        switch (wt) {
            case 0:
                if (!rd_varint(&p, end, &num)) return false;
                break;
            case 1:
                if (end - p < 8) return false;
                num = le_get64(p);
                p += 8;
                break;
            case 5:
                if (end - p < 4) return false;
                num = le_get32(p);
                p += 4;
                break;
            case 2:
                if (!rd_varint(&p, end, &num) || num > (uint64_t)(end - p)) return false;
                data = p;
                len = (size_t)num;
                p += len;
                break;
            default:
                return false;
        }
        if (!cb(ctx, field, wt, num, data, len)) return false;
    }
    return true;
}

static bool value_cb(void *ctx, int field, int wt, uint64_t num, const unsigned char *d,
                     size_t len) {
    tbread_event *e = ctx;
    if (field == 1 && wt == 2 && len < sizeof e->tag) {
        memcpy(e->tag, d, len);
        e->tag[len] = '\0';
    } else if (field == 2 && wt == 5) {
        uint32_t bits = (uint32_t)num;
        memcpy(&e->value, &bits, 4);
        e->has_value = true;
    } else {
        return false;
    }
    return true;
}

static bool summary_cb(void *ctx, int field, int wt, uint64_t num, const unsigned char *d,
                       size_t len) {
    tbread_event *e = ctx;
    if (field != 1 || wt != 2) return false;
    e->n_values++;
    return walk(d, len, value_cb, e);
}

static bool event_cb(void *ctx, int field, int wt, uint64_t num, const unsigned char *d,
                     size_t len) {
    tbread_event *e = ctx;
    if (field == 1 && wt == 1) {
        memcpy(&e->wall_time, &num, 8);
        e->has_wall = true;
    } else if (field == 2 && wt == 0) {
        e->step = (int64_t)num;
        e->has_step = true;
    } else if (field == 3 && wt == 2 && len < sizeof e->file_version) {
        memcpy(e->file_version, d, len);
        e->file_version[len] = '\0';
        e->has_version = true;
    } else if (field == 5 && wt == 2) {
        return walk(d, len, summary_cb, e);
    } else {
        return false;
    }
    return true;
}

int tbread_file(const char *path, tbread_event *events, int max) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    int n = 0;
    unsigned char hdr[12], crc[4];
    static unsigned char data[1 << 16];
    for (;;) {
        size_t got = fread(hdr, 1, 12, f);
        if (got == 0) break;
        if (got != 12) goto bad;
        uint64_t len = le_get64(hdr);
        if (le_get32(hdr + 8) != tbread_mask(crc32c_update(0, hdr, 8))) goto bad;
        if (len > sizeof data || fread(data, 1, len, f) != len || fread(crc, 1, 4, f) != 4)
            goto bad;
        if (le_get32(crc) != tbread_mask(crc32c_update(0, data, len))) goto bad;
        if (n >= max) goto bad;
        memset(&events[n], 0, sizeof events[n]);
        if (!walk(data, len, event_cb, &events[n])) goto bad;
        n++;
    }
    fclose(f);
    return n;
bad:
    fclose(f);
    return -1;
}
