/* common/ckpt.c — the checkpoint container; see ckpt.h and docs/design/checkpoint.md for the
 * byte layout.
 *
 * Integrity comes in three layers so that each reader pays only for what it uses:
 *   - a header CRC over the fixed fields and the section table: ckpt_list() and the
 *     server's policy loader read only the header, yet trust it;
 *   - a CRC per section in the table: the policy loader reads the ONLINE section (about
 *     100 KiB) and verifies it without reading a 70 MB replay buffer;
 *   - a CRC over the whole file at its end: ckpt_open(), which reads everything, checks it.
 * All numbers are little-endian, written and read byte by byte (no struct dumps), so the
 * files do not depend on the compiler's padding or the host's byte order. */
#include "common/ckpt_int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "common/err.h"
#include "common/fs.h"
#include "common/le.h"
#include "common/log.h"

/* ---- Layout (docs/design/checkpoint.md) ---- */

#define CKPT_MAGIC "RDCKPT01"
/* magic, version, header_len, file_size: the prefix every format version keeps, so that
 * a reader can verify the header CRC (the last 4 bytes of the header) of a file written by a newer
 * version before it believes the version number. */
#define CKPT_PREFIX_LEN     24
#define CKPT_MIN_HEADER     (CKPT_PREFIX_LEN + 8)
#define CKPT_ANY_HEADER_MAX (1u << 20) /* sanity bound on header_len for any version */
#define CKPT_FIXED_LEN      88         /* v1: offset of the section table */
#define CKPT_ENTRY_LEN      24         /* v1: tag u32, crc u32, offset u64, length u64 */
#define CKPT_TRAILER_LEN    4          /* the CRC32C over everything before it */

#define OFF_VERSION    8
#define OFF_HEADER_LEN 12
#define OFF_FILE_SIZE  16
#define OFF_CFG_HASH   24
#define OFF_EPISODE    32
#define OFF_STEPS      40
#define OFF_EPSILON    48
#define OFF_SCORE      56
#define OFF_BEST       64
#define OFF_WALL       72
#define OFF_NSECT      80
#define OFF_FLAGS      84

static uint32_t ckpt_header_len(uint32_t n) {
    return CKPT_FIXED_LEN + CKPT_ENTRY_LEN * n + 8;
}

static uint64_t ckpt_align8(uint64_t x) {
    return (x + 7) & ~(uint64_t)7;
}

/* ---- Names and paths ---- */

/* A checkpoint or pointer name: [A-Za-z0-9_.-], not starting with '.', so that a model name
 * from a browser can never leave the checkpoint folder. */
bool ckpt_name_ok(const char *s, size_t len) {
    if (len == 0 || len > CKPT_NAME_MAX || s[0] == '.') return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '_' && c != '-' && c != '.') return false;
    }
    return true;
}

bool ckpt_ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

/* A finished checkpoint's file name: a valid name ending in ".ckpt" (never a *.tmp.*). */
bool ckpt_is_ckpt_file(const char *fname) {
    size_t n = strlen(fname);
    return n > 5 && ckpt_ends_with(fname, ".ckpt") && ckpt_name_ok(fname, n - 5);
}

/* Reads up to 18 decimal digits at *p into *v and advances *p; false when there are none. */
static bool parse_digits(const char **p, int64_t *v) {
    int digits = 0;
    *v = 0;
    while (isdigit((unsigned char)**p) && digits < 18) {
        *v = *v * 10 + (*(*p)++ - '0');
        digits++;
    }
    return digits > 0;
}

/* The episode of "ep_0000500.ckpt" (a checkpoint between episodes: *step = 0) or of
 * "ep_0000500_s00123.ckpt" (mid-episode: 500 episodes completed, *step = 123 steps into
 * the next); -1 for any other name. (episode, step) orders a run's checkpoints. */
int64_t ckpt_name_episode(const char *fname, int64_t *step) {
    if (strncmp(fname, "ep_", 3) != 0) return -1;
    const char *p = fname + 3;
    int64_t ep, st = 0;
    if (!parse_digits(&p, &ep)) return -1;
    if (strncmp(p, "_s", 2) == 0) {
        p += 2;
        if (!parse_digits(&p, &st)) return -1;
    }
    if (strcmp(p, ".ckpt") != 0) return -1;
    if (step) *step = st;
    return ep;
}

int ckpt_join(char *out, size_t outlen, const char *dir, const char *name) {
    int n = snprintf(out, outlen, "%s/%s", dir, name);
    return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

void ckpt_copy_str(char *dst, size_t dstlen, const char *src) {
    size_t n = strlen(src);
    if (n >= dstlen) n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

const char *ckpt_split_path(const char *path, char *dir, size_t dirlen) {
    const char *slash = strrchr(path, '/');
    if (!slash) {
        ckpt_copy_str(dir, dirlen, ".");
        return path;
    }
    size_t n = (size_t)(slash - path);
    if (n == 0) n = 1; /* "/x.ckpt" */
    if (n >= dirlen) n = dirlen - 1;
    memcpy(dir, path, n);
    dir[n] = '\0';
    return slash + 1;
}

/* ---- Header parsing, shared by every reader ---- */

struct ckpt_file {
    ckpt_meta m;
    uint8_t *buf;
    size_t size;
};

static void tag_str(uint32_t tag, char out[5]) {
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)(tag >> (8 * i));
        out[i] = isprint(c) ? (char)c : '?';
    }
    out[4] = '\0';
}

/* Reads the prefix of a file: at least CKPT_MIN_HEADER bytes must be in buf. Returns the
 * header length to read, or 0 with `why`. */
static uint32_t ckpt_parse_prefix(const uint8_t *buf, uint64_t size, char *why, size_t whylen) {
    if (size < CKPT_MIN_HEADER) {
        snprintf(why, whylen, "truncated (%" PRIu64 " bytes, too short for a checkpoint)", size);
        return 0;
    }
    if (memcmp(buf, CKPT_MAGIC, 8) != 0) {
        snprintf(why, whylen, "not a checkpoint (bad magic)");
        return 0;
    }
    uint32_t hl = le_get32(buf + OFF_HEADER_LEN);
    if (hl < CKPT_MIN_HEADER || hl > CKPT_ANY_HEADER_MAX || hl % 8 != 0) {
        snprintf(why, whylen, "corrupt header (header length %" PRIu32 ")", hl);
        return 0;
    }
    if (size < hl) {
        snprintf(why, whylen, "truncated (%" PRIu64 " bytes, the header alone needs %" PRIu32 ")",
                 size, hl);
        return 0;
    }
    return hl;
}

/* Verifies and decodes a header of m->header_len bytes in buf; `size` is the file's actual
 * size. Checks everything but the whole-file and section CRCs and the config hash. 0 or -1
 * with `why`. */
static int ckpt_parse_header(const uint8_t *buf, uint64_t size, ckpt_meta *m, char *why,
                             size_t whylen) {
    uint32_t hl = ckpt_parse_prefix(buf, size, why, whylen);
    if (hl == 0) return -1;
    if (crc32c_update(0, buf, hl - 4) != le_get32(buf + hl - 4)) {
        snprintf(why, whylen, "header CRC mismatch (file corrupt)");
        return -1;
    }
    m->version = le_get32(buf + OFF_VERSION);
    if (m->version != CKPT_FORMAT_VERSION) {
        snprintf(why, whylen,
                 "written by format version %" PRIu32 ", this program reads version %d", m->version,
                 CKPT_FORMAT_VERSION);
        return -1;
    }
    m->n = hl >= CKPT_FIXED_LEN + 8 ? le_get32(buf + OFF_NSECT) : 0; /* buf holds hl bytes */
    if (hl < CKPT_FIXED_LEN + 8 || m->n > CKPT_MAX_SECTIONS || hl != ckpt_header_len(m->n) ||
        le_get32(buf + OFF_FLAGS) != 0 || le_get32(buf + hl - 8) != 0) {
        snprintf(why, whylen, "corrupt header (%" PRIu32 " sections in %" PRIu32 " bytes)", m->n,
                 hl);
        return -1;
    }
    m->header_len = hl;
    m->file_size = le_get64(buf + OFF_FILE_SIZE);
    if (size < m->file_size) {
        snprintf(why, whylen, "truncated (%" PRIu64 " of %" PRIu64 " bytes)", size, m->file_size);
        return -1;
    }
    if (size > m->file_size) {
        snprintf(why, whylen, "%" PRIu64 " bytes, the header says %" PRIu64 " (trailing data)",
                 size, m->file_size);
        return -1;
    }
    if (m->file_size < (uint64_t)hl + CKPT_TRAILER_LEN) {
        snprintf(why, whylen, "corrupt header (file size %" PRIu64 ")", m->file_size);
        return -1;
    }
    m->h.cfg_hash = le_get64(buf + OFF_CFG_HASH);
    m->h.episode = (int64_t)le_get64(buf + OFF_EPISODE);
    m->h.steps = (int64_t)le_get64(buf + OFF_STEPS);
    m->h.epsilon = le_get_f64(buf + OFF_EPSILON);
    m->h.score = le_get_f64(buf + OFF_SCORE);
    m->h.best_score = le_get_f64(buf + OFF_BEST);
    m->h.wall_time = (int64_t)le_get64(buf + OFF_WALL);

    /* Sections lie in order, 8-aligned, between the header and the trailer, without
     * overlap; each tag once. Checked before any section is touched so that a crafted
     * table cannot point a reader outside the file. */
    uint64_t end_prev = hl, body_end = m->file_size - CKPT_TRAILER_LEN;
    for (uint32_t i = 0; i < m->n; i++) {
        const uint8_t *e = buf + CKPT_FIXED_LEN + (size_t)CKPT_ENTRY_LEN * i;
        ckpt_entry *s = &m->sec[i];
        s->tag = le_get32(e);
        s->crc = le_get32(e + 4);
        s->off = le_get64(e + 8);
        s->len = le_get64(e + 16);
        const char *bad = NULL;
        if (s->off % 8 != 0)
            bad = "unaligned offset";
        else if (s->off < end_prev)
            bad = "overlaps the header or the previous section";
        else if (s->off > body_end || s->len > body_end - s->off)
            bad = "extends past the end";
        for (uint32_t j = 0; !bad && j < i; j++)
            if (m->sec[j].tag == s->tag) bad = "duplicate tag";
        if (bad) {
            char t[5];
            tag_str(s->tag, t);
            snprintf(why, whylen, "corrupt section table (section %" PRIu32 " '%s': %s)", i, t,
                     bad);
            return -1;
        }
        end_prev = s->off + s->len;
    }
    return 0;
}

int ckpt_check_hash(const ckpt_meta *m, uint64_t expected, char *why, size_t whylen) {
    if (expected != 0 && m->h.cfg_hash != expected) {
        snprintf(why, whylen,
                 "written under another config (hash %016" PRIx64 " != %016" PRIx64 ")",
                 m->h.cfg_hash, expected);
        return -1;
    }
    return 0;
}

const ckpt_entry *ckpt_find(const ckpt_meta *m, uint32_t tag) {
    for (uint32_t i = 0; i < m->n; i++)
        if (m->sec[i].tag == tag) return &m->sec[i];
    return NULL;
}

/* Full verification of a file held in memory. */
static int ckpt_verify_buffer(ckpt_file *f, uint64_t expected_hash, char *why, size_t whylen) {
    if (ckpt_parse_header(f->buf, f->size, &f->m, why, whylen) != 0) return -1;
    /* One pass: each section's CRC is computed once, checked against the table, and
     * combined with the header's and the gaps' into the whole-file CRC. The whole-file
     * check comes first so that damage reads as "CRC mismatch" whatever it hit; the
     * section checks make this reader and the header-only policy loader accept exactly
     * the same files. */
    const uint8_t *b = f->buf;
    uint64_t body = f->size - CKPT_TRAILER_LEN, pos = f->m.header_len;
    uint32_t scrc[CKPT_MAX_SECTIONS];
    uint32_t crc = crc32c_update(0, b, pos);
    for (uint32_t i = 0; i < f->m.n; i++) {
        const ckpt_entry *s = &f->m.sec[i];
        crc = crc32c_update(crc, b + pos, (size_t)(s->off - pos));
        scrc[i] = crc32c_update(0, b + s->off, (size_t)s->len);
        crc = crc32c_combine(crc, scrc[i], s->len);
        pos = s->off + s->len;
    }
    crc = crc32c_update(crc, b + pos, (size_t)(body - pos));
    if (crc != le_get32(b + body)) {
        snprintf(why, whylen, "CRC mismatch (file corrupt or truncated)");
        return -1;
    }
    for (uint32_t i = 0; i < f->m.n; i++) {
        if (scrc[i] != f->m.sec[i].crc) {
            char t[5];
            tag_str(f->m.sec[i].tag, t);
            snprintf(why, whylen, "CRC mismatch in section '%s' (file corrupt)", t);
            return -1;
        }
    }
    return ckpt_check_hash(&f->m, expected_hash, why, whylen);
}

/* ---- Reading ---- */

int ckpt_read_full(int fd, void *buf, size_t len, uint64_t off) {
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t r = pread(fd, p, len, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) {
            errno = 0; /* the file shrank under us */
            return -1;
        }
        p += r;
        len -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

int ckpt_open_regular(const char *path, struct stat *st, char *err, size_t errlen) {
    /* O_NONBLOCK: a FIFO planted in the folder must not hang a reader in open(); it is
     * refused as "not a regular file" below. Regular files ignore the flag. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        err_at(err, errlen, path, "%s", strerror(e));
        errno = e; /* callers tell a file that just went (retention) from other trouble */
        return -1;
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        err_at(err, errlen, path, "not a regular file");
        close(fd);
        errno = EINVAL;
        return -1;
    }
    return fd;
}

ckpt_file *ckpt_open_buffer(const char *name, const void *data, size_t len, uint64_t expected_hash,
                            char *err, size_t errlen) {
    ckpt_file *f = calloc(1, sizeof *f);
    if (!f) goto oom;
    f->buf = malloc(len ? len : 1);
    if (!f->buf) goto oom;
    if (len) memcpy(f->buf, data, len);
    f->size = len;
    char why[256];
    if (ckpt_verify_buffer(f, expected_hash, why, sizeof why) != 0) {
        err_at(err, errlen, name, "%s", why);
        ckpt_file_free(f);
        return NULL;
    }
    return f;
oom:
    err_at(err, errlen, name, "out of memory");
    ckpt_file_free(f);
    return NULL;
}

ckpt_file *ckpt_open(const char *path, uint64_t expected_hash, char *err, size_t errlen) {
    struct stat st;
    int fd = ckpt_open_regular(path, &st, err, errlen);
    if (fd < 0) return NULL;
    ckpt_file *f = calloc(1, sizeof *f);
    if (!f) {
        err_at(err, errlen, path, "out of memory");
        goto fail_fd;
    }
    if ((uint64_t)st.st_size > SIZE_MAX / 2) {
        err_at(err, errlen, path, "too large (%lld bytes)", (long long)st.st_size);
        goto fail_f;
    }
    f->size = (size_t)st.st_size;
    f->buf = malloc(f->size ? f->size : 1);
    if (!f->buf) {
        err_at(err, errlen, path, "out of memory for %zu bytes", f->size);
        goto fail_f;
    }
    if (ckpt_read_full(fd, f->buf, f->size, 0) != 0) {
        err_at(err, errlen, path, "read failed: %s",
               errno ? strerror(errno) : "file shrank while reading");
        goto fail_f;
    }
    close(fd);
    char why[256];
    if (ckpt_verify_buffer(f, expected_hash, why, sizeof why) != 0) {
        err_at(err, errlen, path, "%s", why);
        ckpt_file_free(f);
        return NULL;
    }
    return f;
fail_f:
    ckpt_file_free(f);
fail_fd:
    close(fd);
    return NULL;
}

const ckpt_header *ckpt_file_header(const ckpt_file *f) {
    return &f->m.h;
}

const void *ckpt_file_section(const ckpt_file *f, uint32_t tag, uint64_t *len) {
    const ckpt_entry *s = ckpt_find(&f->m, tag);
    if (len) *len = s ? s->len : 0;
    return s ? f->buf + s->off : NULL;
}

void ckpt_file_free(ckpt_file *f) {
    if (!f) return;
    free(f->buf);
    free(f);
}

/* Reads and verifies only the header of the open file fd (size from st). 0 or -1 with
 * why. */
int ckpt_read_header(int fd, uint64_t size, ckpt_meta *m, char *why, size_t whylen) {
    uint8_t prefix[CKPT_MIN_HEADER];
    size_t first = size < sizeof prefix ? (size_t)size : sizeof prefix;
    if (ckpt_read_full(fd, prefix, first, 0) != 0) {
        snprintf(why, whylen, "read failed: %s", errno ? strerror(errno) : "file shrank");
        return -1;
    }
    uint32_t hl = ckpt_parse_prefix(prefix, size, why, whylen);
    if (hl == 0) return -1;
    uint8_t *buf = malloc(hl);
    if (!buf) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    int rc = -1;
    if (ckpt_read_full(fd, buf, hl, 0) != 0)
        snprintf(why, whylen, "read failed: %s", errno ? strerror(errno) : "file shrank");
    else
        rc = ckpt_parse_header(buf, size, m, why, whylen);
    free(buf);
    return rc;
}

/* Reads a pointer file (`latest`, `best`) of dir into name. 0, or -1 when it is missing
 * (errno ENOENT) or invalid. */
int ckpt_read_pointer(const char *dir, const char *which, char *name, size_t namelen) {
    char path[CFG_PATH_MAX];
    if (ckpt_join(path, sizeof path, dir, which) != 0) return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not hang us */
    if (fd < 0) return -1;
    char buf[CKPT_POINTER_MAX];
    ssize_t r;
    do r = read(fd, buf, sizeof buf - 1);
    while (r < 0 && errno == EINTR);
    close(fd);
    errno = EINVAL;
    if (r <= 0) return -1;
    size_t n = (size_t)r;
    while (n > 0 && isspace((unsigned char)buf[n - 1])) n--;
    buf[n] = '\0';
    if (!ckpt_is_ckpt_file(buf) || n >= namelen) return -1;
    memcpy(name, buf, n + 1);
    return 0;
}

void ckpt_fill_info(ckpt_info *info, const char *dir, const char *fname, const char *path,
                    const ckpt_meta *m, const struct stat *st, const char *latest,
                    const char *best) {
    memset(info, 0, sizeof *info);
    size_t stem = strlen(fname);
    if (ckpt_ends_with(fname, ".ckpt")) stem -= 5;
    if (stem >= sizeof info->name) stem = sizeof info->name - 1;
    memcpy(info->name, fname, stem);
    ckpt_copy_str(info->path, sizeof info->path, path);
    info->episode = m->h.episode;
    info->steps = m->h.steps;
    info->score = m->h.score;
    info->best_score = m->h.best_score;
    info->mtime = (int64_t)st->st_mtime;
    info->is_latest = latest && strcmp(latest, fname) == 0;
    info->is_best = best && strcmp(best, fname) == 0;
    (void)dir;
}

/* ---- Writing ---- */

/* Removes "*.tmp.<pid>" files whose writer is dead: a writer killed mid-save leaves one,
 * and nothing else would ever delete it. A live pid (or one we may not signal) keeps its
 * file; our own pid is skipped too, since another thread of ours may be writing. */
static void ckpt_clean_stale(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *t = strstr(de->d_name, ".tmp.");
        if (!t) continue;
        const char *q;
        while ((q = strstr(t + 1, ".tmp.")) != NULL) t = q;
        const char *digits = t + 5;
        char *end;
        errno = 0;
        long pid = strtol(digits, &end, 10);
        if (*digits == '\0' || *end != '\0' || errno || pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        if (unlinkat(dirfd(d), de->d_name, 0) == 0)
            log_debug("removed %s/%s, left by a writer that died", dir, de->d_name);
    }
    closedir(d);
}

/* Writes `contents` to dir/fname crash-safely: temporary file, fsync, rename, fsync of dir
 * (fs_atomic with FS_SYNC; the temporary file carries our pid for ckpt_clean_stale).
 * 0 or -1 with err. */
static int ckpt_write_atomic_file(const char *dir, const char *fname, const uint8_t *head,
                                  size_t headlen, const ckpt_section *s, int n,
                                  const uint64_t *offs, uint32_t trailer, bool has_trailer,
                                  char *err, size_t errlen) {
    char final[CFG_PATH_MAX];
    if (ckpt_join(final, sizeof final, dir, fname) != 0) {
        err_at(err, errlen, dir, "path too long");
        return -1;
    }
    fs_atomic a;
    if (fs_atomic_open(&a, final, FS_SYNC | FS_TMP_PID, err, errlen) != 0) return -1;
    static const uint8_t zeros[8];
    uint64_t pos = headlen;
    if (fs_atomic_write(&a, head, headlen, err, errlen) != 0) return -1;
    for (int i = 0; i < n; i++) {
        if (offs[i] > pos && fs_atomic_write(&a, zeros, (size_t)(offs[i] - pos), err, errlen) != 0)
            return -1;
        if (s[i].len && fs_atomic_write(&a, s[i].data, (size_t)s[i].len, err, errlen) != 0)
            return -1;
        pos = offs[i] + s[i].len;
    }
    if (has_trailer) {
        uint8_t t[CKPT_TRAILER_LEN];
        uint64_t end = ckpt_align8(pos);
        if (end > pos && fs_atomic_write(&a, zeros, (size_t)(end - pos), err, errlen) != 0)
            return -1;
        le_put32(t, trailer);
        if (fs_atomic_write(&a, t, sizeof t, err, errlen) != 0) return -1;
    }
    return fs_atomic_commit(&a, err, errlen);
}

static int ckpt_write_pointer(const char *dir, const char *which, const char *fname, char *err,
                              size_t errlen) {
    char line[CKPT_POINTER_MAX];
    int n = snprintf(line, sizeof line, "%s\n", fname);
    if (n < 0 || (size_t)n >= sizeof line) return -1;
    return ckpt_write_atomic_file(dir, which, (const uint8_t *)line, (size_t)n, NULL, 0, NULL, 0,
                                  false, err, errlen);
}

typedef struct {
    int64_t ep, step; /* ckpt_name_episode() */
    char fname[CKPT_NAME_MAX + 8];
} ckpt_retained;

/* Deletes the oldest ep_*.ckpt beyond the newest `keep`, sparing what a pointer names and
 * `self`. Mid-episode checkpoints (ep_*_s*.ckpt) count like the others: the newest `keep`
 * by (episode, step) stay, of either kind. Runs after the pointers were moved, so no pointer ever
 * names a deleted file. */
static void ckpt_retain(const char *dir, int keep, const char *self) {
    if (keep <= 0) return;
    char latest[CKPT_POINTER_MAX] = "", best[CKPT_POINTER_MAX] = "";
    ckpt_read_pointer(dir, "latest", latest, sizeof latest);
    ckpt_read_pointer(dir, "best", best, sizeof best);
    DIR *d = opendir(dir);
    if (!d) return;
    ckpt_retained *v = NULL, *nv;
    int n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        int64_t step = 0, ep = ckpt_name_episode(de->d_name, &step);
        if (ep < 0 || !ckpt_is_ckpt_file(de->d_name)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            nv = realloc(v, sizeof *v * (size_t)cap);
            if (!nv) goto done;
            v = nv;
        }
        v[n].ep = ep;
        v[n].step = step;
        ckpt_copy_str(v[n].fname, sizeof v[n].fname, de->d_name);
        n++;
    }
    /* Sort newest first by (episode, step within the next episode): insertion sort, a
     * folder holds a handful of files. */
    for (int i = 1; i < n; i++) {
        for (int j = i; j > 0 && (v[j].ep > v[j - 1].ep ||
                                  (v[j].ep == v[j - 1].ep && v[j].step > v[j - 1].step));
             j--) {
            ckpt_retained tmp = v[j];
            v[j] = v[j - 1];
            v[j - 1] = tmp;
        }
    }
    for (int i = keep; i < n; i++) {
        if (!strcmp(v[i].fname, latest) || !strcmp(v[i].fname, best) || !strcmp(v[i].fname, self))
            continue;
        if (unlinkat(dirfd(d), v[i].fname, 0) != 0)
            log_warn("%s/%s: cannot remove old checkpoint: %s", dir, v[i].fname, strerror(errno));
    }
done:
    free(v);
    closedir(d);
}

/* Encodes header and sections and writes dir/fname crash-safely. 0 or -1 with err. */
static int ckpt_write_sections(const char *dir, const char *fname, const ckpt_header *h,
                               const ckpt_section *s, int n, char *err, size_t errlen) {
    uint32_t hl = ckpt_header_len((uint32_t)n);
    uint8_t *head = calloc(1, hl);
    uint64_t *offs = malloc(sizeof *offs * (size_t)(n ? n : 1));
    int rc = -1;
    if (!head || !offs) {
        err_at(err, errlen, dir, "out of memory");
        goto done;
    }
    uint64_t pos = hl;
    for (int i = 0; i < n; i++) {
        offs[i] = pos;
        pos = ckpt_align8(pos + s[i].len);
    }
    uint64_t file_size = pos + CKPT_TRAILER_LEN;
    memcpy(head, CKPT_MAGIC, 8);
    le_put32(head + OFF_VERSION, CKPT_FORMAT_VERSION);
    le_put32(head + OFF_HEADER_LEN, hl);
    le_put64(head + OFF_FILE_SIZE, file_size);
    le_put64(head + OFF_CFG_HASH, h->cfg_hash);
    le_put64(head + OFF_EPISODE, (uint64_t)h->episode);
    le_put64(head + OFF_STEPS, (uint64_t)h->steps);
    le_put_f64(head + OFF_EPSILON, h->epsilon);
    le_put_f64(head + OFF_SCORE, h->score);
    le_put_f64(head + OFF_BEST, h->best_score);
    le_put64(head + OFF_WALL, (uint64_t)h->wall_time);
    le_put32(head + OFF_NSECT, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        uint8_t *e = head + CKPT_FIXED_LEN + (size_t)CKPT_ENTRY_LEN * (size_t)i;
        le_put32(e, s[i].tag);
        le_put32(e + 4, crc32c_update(0, s[i].data, (size_t)s[i].len));
        le_put64(e + 8, offs[i]);
        le_put64(e + 16, s[i].len);
    }
    le_put32(head + hl - 4, crc32c_update(0, head, hl - 4));

    /* The whole-file CRC, over the bytes exactly as they will be laid out, from the
     * section CRCs already in the table (no second pass over the data). */
    static const uint8_t zeros[8];
    uint32_t crc = crc32c_update(0, head, hl);
    pos = hl;
    for (int i = 0; i < n; i++) {
        const uint8_t *e = head + CKPT_FIXED_LEN + (size_t)CKPT_ENTRY_LEN * (size_t)i;
        crc = crc32c_update(crc, zeros, (size_t)(offs[i] - pos));
        crc = crc32c_combine(crc, le_get32(e + 4), s[i].len);
        pos = offs[i] + s[i].len;
    }
    crc = crc32c_update(crc, zeros, (size_t)(ckpt_align8(pos) - pos));

    if (ckpt_write_atomic_file(dir, fname, head, hl, s, n, offs, crc, true, err, errlen) != 0)
        goto done;
    rc = 0;
done:
    free(head);
    free(offs);
    return rc;
}

int ckpt_save(const char *dir, const char *name, const ckpt_header *h, const ckpt_section *s, int n,
              bool is_best, int keep, char *err, size_t errlen) {
    size_t nlen = strlen(name);
    if (!ckpt_name_ok(name, nlen) || !strcmp(name, "latest") || !strcmp(name, "best") ||
        nlen + 5 > CKPT_NAME_MAX) {
        err_at(err, errlen, dir, "invalid checkpoint name '%.64s'", name);
        return -1;
    }
    if (n < 0 || n > CKPT_MAX_SECTIONS || (n > 0 && !s)) {
        err_at(err, errlen, dir, "invalid section count %d", n);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        bool dup = false;
        for (int j = 0; j < i; j++) dup |= s[j].tag == s[i].tag;
        if (dup || (s[i].len && !s[i].data)) {
            err_at(err, errlen, dir, "invalid section %d (%s)", i,
                   dup ? "duplicate tag" : "no data");
            return -1;
        }
    }
    if (fs_mkdir_p(dir, FS_SYNC) != 0) {
        err_at(err, errlen, dir, "cannot create: %s", strerror(errno));
        return -1;
    }
    ckpt_clean_stale(dir);

    /* Order matters for crash safety: the checkpoint is complete and durable before any
     * pointer names it, and old files are deleted only once the pointers have moved. A crash
     * between any two steps leaves every pointer naming a complete file. */
    char fname[CKPT_NAME_MAX + 8];
    snprintf(fname, sizeof fname, "%s.ckpt", name);
    int rc = -1;
    if (ckpt_write_sections(dir, fname, h, s, n, err, errlen) != 0) goto done;
    if (ckpt_write_pointer(dir, "latest", fname, err, errlen) != 0) goto done;
    if (is_best && ckpt_write_pointer(dir, "best", fname, err, errlen) != 0) goto done;
    ckpt_retain(dir, keep, fname);
    rc = 0;
done:
    return rc;
}

int ckpt_drop_section(const char *path, uint32_t tag, char *err, size_t errlen) {
    ckpt_file *f = ckpt_open(path, 0, err, errlen);
    if (!f) return -1;
    int rc = 0;
    if (ckpt_find(&f->m, tag)) {
        ckpt_section keep[CKPT_MAX_SECTIONS];
        int n = 0;
        for (uint32_t i = 0; i < f->m.n; i++)
            if (f->m.sec[i].tag != tag)
                keep[n++] =
                    (ckpt_section){f->m.sec[i].tag, f->buf + f->m.sec[i].off, f->m.sec[i].len};
        char dir[CFG_PATH_MAX];
        const char *fname = ckpt_split_path(path, dir, sizeof dir);
        rc = ckpt_write_sections(dir, fname, &f->m.h, keep, n, err, errlen);
    }
    ckpt_file_free(f);
    return rc;
}
