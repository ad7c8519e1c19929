/* orchestrator/logmux.c — see logmux.h. The hot path is logmux_stream_commit: one memchr
 * per line, one sanitising copy into the output buffer, no allocation. */
#include "orchestrator/logmux.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static const char CUT_MARK[] = " [...]";
static const char CONT_MARK[] = "[...] ";

bool logmux_want_color(int mode, int fd) {
    if (mode == 1) return true;
    if (mode == 2) return false;
    const char *no = getenv("NO_COLOR");
    if (no && *no) return false;
    const char *force = getenv("FORCE_COLOR");
    if (force && strcmp(force, "0") != 0) return true;
    return isatty(fd);
}

void logmux_init(logmux *m, int fd, bool color, bool status_enabled) {
    m->fd = fd;
    m->color = color;
    m->status_enabled = status_enabled;
    m->status[0] = '\0';
    m->status_len = 0;
    m->stamp_sec = (time_t)-1;
    m->stamp_len = 0;
    m->lines_out = 0;
    m->out_len = 0;
}

void logmux_stream_init(logmux_stream *s, const logmux *m, const char *label, int colour,
                        logmux_tail *tail) {
    if (m->color)
        s->prefix_len =
            (size_t)snprintf(s->prefix, sizeof s->prefix, "\x1b[%dm[%s]\x1b[0m ", colour, label);
    else
        s->prefix_len = (size_t)snprintf(s->prefix, sizeof s->prefix, "[%s] ", label);
    if (s->prefix_len >= sizeof s->prefix) s->prefix_len = sizeof s->prefix - 1;
    s->tail = tail;
    if (tail) {
        tail->next = 0;
        tail->count = 0;
    }
    s->len = 0;
    s->continued = false;
    s->lines = 0;
}

/* Writes all of iov, waiting when fd is non-blocking and full. Errors other than EAGAIN
 * (a closed stdout) drop the output: the children must keep running regardless. */
static void write_all(int fd, struct iovec *iov, int cnt) {
    while (cnt > 0) {
        ssize_t w = writev(fd, iov, cnt);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                struct pollfd pf = {fd, POLLOUT, 0};
                poll(&pf, 1, 100);
                continue;
            }
            return;
        }
        size_t left = (size_t)w;
        while (cnt > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
}

void logmux_flush(logmux *m) {
    static const char erase[] = "\r\x1b[K";
    if (m->out_len == 0) return;
    struct iovec iov[3];
    int cnt = 0;
    if (m->status_enabled && m->status_len) {
        iov[cnt++] = (struct iovec){(void *)erase, sizeof erase - 1};
    }
    iov[cnt++] = (struct iovec){m->out, m->out_len};
    if (m->status_enabled && m->status_len) {
        iov[cnt++] = (struct iovec){m->status, m->status_len};
    }
    write_all(m->fd, iov, cnt);
    m->out_len = 0;
}

void logmux_set_status(logmux *m, const char *text) {
    if (!m->status_enabled) return;
    size_t n = strlen(text);
    if (n >= sizeof m->status) n = sizeof m->status - 1;
    if (n == m->status_len && memcmp(m->status, text, n) == 0) return;
    char line[LOGMUX_STATUS_MAX + 16];
    int k = snprintf(line, sizeof line, "\r\x1b[K%.*s", (int)n, text);
    logmux_flush(m);
    memcpy(m->status, text, n);
    m->status[n] = '\0';
    m->status_len = n;
    struct iovec iov = {line, (size_t)k};
    write_all(m->fd, &iov, 1);
}

static void update_stamp(logmux *m) {
    time_t now = time(NULL);
    if (now == m->stamp_sec) return;
    m->stamp_sec = now;
    struct tm tm;
    localtime_r(&now, &tm);
    if (m->color)
        m->stamp_len =
            (size_t)snprintf(m->stamp, sizeof m->stamp, "\x1b[2m[%02d:%02d:%02d]\x1b[0m ",
                             tm.tm_hour, tm.tm_min, tm.tm_sec);
    else
        m->stamp_len = (size_t)snprintf(m->stamp, sizeof m->stamp, "[%02d:%02d:%02d] ", tm.tm_hour,
                                        tm.tm_min, tm.tm_sec);
}

/* Length of a valid UTF-8 sequence starting at s (n bytes available) that is not a C1
 * control, or 0. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned char b = s[0];
    if (b >= 0xC2 && b <= 0xDF) {
        if (n < 2 || (s[1] & 0xC0) != 0x80) return 0;
        if (b == 0xC2 && s[1] < 0xA0) return 0; /* U+0080..U+009F: C1 controls (CSI...) */
        return 2;
    }
    if (b >= 0xE0 && b <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
        if (b == 0xE0 && s[1] < 0xA0) return 0; /* overlong */
        if (b == 0xED && s[1] > 0x9F) return 0; /* surrogates */
        return 3;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if (b == 0xF0 && s[1] < 0x90) return 0; /* overlong */
        if (b == 0xF4 && s[1] > 0x8F) return 0; /* above U+10FFFF */
        return 4;
    }
    return 0;
}

size_t logmux_sanitize(char *dst, const char *src, size_t n) {
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0, o = 0;
    while (i < n) {
        /* The common case: a run of printable ASCII, copied at once. */
        size_t j = i;
        while (j < n && s[j] >= 0x20 && s[j] < 0x7f) j++;
        if (j > i) {
            memcpy(dst + o, s + i, j - i);
            o += j - i;
            i = j;
            if (i >= n) break;
        }
        unsigned char b = s[i];
        if (b == '\t') {
            dst[o++] = '\t';
            i++;
        } else if (b < 0x20 || b == 0x7f) {
            dst[o++] = '^';
            dst[o++] = (char)(b ^ 0x40); /* ESC -> ^[, CR -> ^M, DEL -> ^? */
            i++;
        } else {
            size_t k = utf8_len(s + i, n - i);
            if (k) {
                memcpy(dst + o, s + i, k);
                o += k;
                i += k;
            } else {
                memcpy(dst + o, "\xEF\xBF\xBD", 3); /* U+FFFD */
                o += 3;
                i++;
            }
        }
    }
    return o;
}

static void remember(logmux_tail *t, const char *line, size_t n) {
    if (n >= LOGMUX_TAIL_WIDTH) n = LOGMUX_TAIL_WIDTH - 1;
    memcpy(t->lines[t->next], line, n);
    t->lines[t->next][n] = '\0';
    t->next = (t->next + 1) % LOGMUX_TAIL_LINES;
    if (t->count < LOGMUX_TAIL_LINES) t->count++;
}

/* Appends one output line: time, label, continuation mark, text, cut mark, newline. */
static void emit(logmux *m, logmux_stream *s, const char *text, size_t n, bool cont, bool cut) {
    size_t need = m->stamp_len + s->prefix_len + sizeof CONT_MARK + 3 * n + sizeof CUT_MARK + 1;
    if (m->out_len + need > sizeof m->out) logmux_flush(m);
    char *o = m->out + m->out_len;
    memcpy(o, m->stamp, m->stamp_len);
    o += m->stamp_len;
    memcpy(o, s->prefix, s->prefix_len);
    o += s->prefix_len;
    if (cont) {
        memcpy(o, CONT_MARK, sizeof CONT_MARK - 1);
        o += sizeof CONT_MARK - 1;
    }
    char *body = o;
    o += logmux_sanitize(o, text, n);
    if (s->tail) remember(s->tail, body, (size_t)(o - body));
    if (cut) {
        memcpy(o, CUT_MARK, sizeof CUT_MARK - 1);
        o += sizeof CUT_MARK - 1;
    }
    *o++ = '\n';
    m->out_len = (size_t)(o - m->out);
    m->lines_out++;
    s->lines++;
}

void logmux_stream_space(logmux_stream *s, char **ptr, size_t *len) {
    *ptr = s->buf + s->len;
    *len = sizeof s->buf - s->len;
}

/* A cut position at most LOGMUX_LINE_MAX into p that does not split a UTF-8 sequence. */
static size_t cut_at(const char *p) {
    size_t cut = LOGMUX_LINE_MAX;
    for (int k = 0; k < 3 && ((unsigned char)p[cut] & 0xC0) == 0x80; k++) cut--;
    return cut;
}

/* One complete line (without its newline), cut into marked pieces when too long. */
static void emit_line(logmux *m, logmux_stream *s, const char *p, size_t n) {
    while (n > LOGMUX_LINE_MAX) {
        size_t cut = cut_at(p);
        emit(m, s, p, cut, s->continued, true);
        s->continued = true;
        p += cut;
        n -= cut;
    }
    emit(m, s, p, n, s->continued, false);
    s->continued = false;
}

void logmux_stream_commit(logmux *m, logmux_stream *s, size_t n) {
    update_stamp(m);
    size_t end = s->len + n;
    size_t start = 0;
    for (;;) {
        char *nl = memchr(s->buf + start, '\n', end - start);
        if (!nl) break;
        size_t llen = (size_t)(nl - (s->buf + start));
        size_t body = llen;
        if (body && s->buf[start + body - 1] == '\r') body--; /* CRLF endings */
        emit_line(m, s, s->buf + start, body);
        start += llen + 1;
    }
    /* What is left has no newline yet: cut it while it is longer than the bound, so that
     * the buffer always has room (the rest may still end with a newline soon). */
    while (end - start > LOGMUX_LINE_MAX) {
        size_t cut = cut_at(s->buf + start);
        emit(m, s, s->buf + start, cut, s->continued, true);
        s->continued = true;
        start += cut;
    }
    s->len = end - start;
    if (start && s->len) memmove(s->buf, s->buf + start, s->len);
    if (m->out_len > sizeof m->out / 2) logmux_flush(m);
}

void logmux_stream_feed(logmux *m, logmux_stream *s, const char *data, size_t n) {
    while (n > 0) {
        char *p;
        size_t cap;
        logmux_stream_space(s, &p, &cap);
        size_t k = n < cap ? n : cap;
        memcpy(p, data, k);
        logmux_stream_commit(m, s, k);
        data += k;
        n -= k;
    }
}

void logmux_stream_finish(logmux *m, logmux_stream *s) {
    if (s->len == 0) return;
    update_stamp(m);
    size_t body = s->len;
    if (s->buf[body - 1] == '\r') body--;
    emit_line(m, s, s->buf, body);
    s->len = 0;
}

void logmux_printf(logmux *m, const char *fmt, ...) {
    static logmux_stream own; /* only its prefix is used: the text never waits for a newline */
    char text[8192];          /* a failure report carries LOGMUX_TAIL_LINES lines */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof text) n = sizeof text - 1;
    if (m->color)
        own.prefix_len =
            (size_t)snprintf(own.prefix, sizeof own.prefix, "\x1b[1m[run_demo]\x1b[0m ");
    else
        own.prefix_len = (size_t)snprintf(own.prefix, sizeof own.prefix, "[run_demo] ");
    own.tail = NULL;
    update_stamp(m);
    /* Our own multi-line messages (a child's last lines) are printed line by line. */
    const char *p = text, *end = text + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        emit(m, &own, p, len, false, false);
        p += len + (nl ? 1 : 0);
    }
    logmux_flush(m);
}

void logmux_tail_format(const logmux_tail *t, char *out, size_t outlen) {
    size_t o = 0;
    out[0] = '\0';
    int first = (t->next - t->count + LOGMUX_TAIL_LINES) % LOGMUX_TAIL_LINES;
    for (int i = 0; i < t->count && o + 1 < outlen; i++) {
        const char *line = t->lines[(first + i) % LOGMUX_TAIL_LINES];
        int k = snprintf(out + o, outlen - o, "  | %s\n", line);
        if (k < 0) break;
        o += (size_t)k;
        if (o >= outlen) {
            o = outlen - 1;
            break;
        }
    }
    if (o && out[o - 1] == '\n') out[o - 1] = '\0';
}
