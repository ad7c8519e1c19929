/* tests/support/ws_client.c — see ws_client.h. */
#define _GNU_SOURCE
#include "tests/support/ws_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int rcvbuf_bytes; /* 0 = the kernel's default */

void wsc_set_rcvbuf(int bytes) {
    rcvbuf_bytes = bytes;
}

static int tcp_connect(int port, char *err, size_t errlen) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    /* Before connect(), so that the window is negotiated small (a slow reader). */
    if (rcvbuf_bytes) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf_bytes, sizeof rcvbuf_bytes);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        snprintf(err, errlen, "connect 127.0.0.1:%d: %s", port, strerror(errno));
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int send_all(int fd, const void *p, size_t n) {
    const char *b = p;
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                struct pollfd pf = {fd, POLLOUT, 0};
                poll(&pf, 1, 1000);
                continue;
            }
            return -1;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads more into c->in, waiting up to timeout_ms. 1 read, 0 timeout, -1 EOF/error. */
static int fill(wsc_t *c, int timeout_ms) {
    /* With no time to wait, a non-blocking recv alone says whether data is there: one
     * system call per read matters to a benchmark holding thousands of clients. */
    if (timeout_ms > 0) {
        struct pollfd pf = {c->fd, POLLIN, 0};
        int r = poll(&pf, 1, timeout_ms);
        if (r == 0) return 0;
        if (r < 0) return errno == EINTR ? 0 : -1;
    }
    /* Start small: benchmarks hold thousands of idle clients. */
    if (c->in_cap - c->in_len < 4096) {
        size_t cap = c->in_cap ? c->in_cap * 2 : 16384;
        unsigned char *n = realloc(c->in, cap);
        if (!n) return -1;
        c->in = n;
        c->in_cap = cap;
    }
    ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
    if (n <= 0) return n < 0 && (errno == EINTR || errno == EAGAIN) ? 0 : -1;
    c->in_len += (size_t)n;
    return 1;
}

static void consume(wsc_t *c, size_t n) {
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
}

/* Our Host line, unless extra_headers has one (tests of other names for the server). */
static void host_line(char *out, size_t cap, int port, const char *extra_headers) {
    out[0] = 0;
    if (!extra_headers ||
        (strncasecmp(extra_headers, "Host:", 5) != 0 && !strcasestr(extra_headers, "\r\nHost:")))
        snprintf(out, cap, "Host: 127.0.0.1:%d\r\n", port);
}

int wsc_connect(wsc_t *c, int port, const char *path, const char *extra_headers, int timeout_ms,
                int *http_status, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    c->fd = -1;
    if (http_status) *http_status = 0;
    int fd = tcp_connect(port, err, errlen);
    if (fd < 0) return -1;
    c->fd = fd;
    char host[64];
    host_line(host, sizeof host, port, extra_headers);
    char req[4096];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\n%sUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n",
                     path, host, extra_headers ? extra_headers : "");
    if (send_all(fd, req, (size_t)n) < 0) {
        snprintf(err, errlen, "send: %s", strerror(errno));
        goto fail;
    }
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        unsigned char *end = c->in_len ? memmem(c->in, c->in_len, "\r\n\r\n", 4) : NULL;
        if (end) {
            int status = 0;
            sscanf((char *)c->in, "HTTP/1.%*d %d", &status);
            if (http_status) *http_status = status;
            consume(c, (size_t)(end + 4 - c->in));
            if (status != 101) {
                snprintf(err, errlen, "upgrade refused with HTTP %d", status);
                goto fail;
            }
            return 0;
        }
        int left = (int)(deadline - now_ms());
        if (left <= 0) {
            snprintf(err, errlen, "no upgrade response within %d ms", timeout_ms);
            goto fail;
        }
        if (fill(c, left) < 0) {
            snprintf(err, errlen, "connection closed during the upgrade");
            goto fail;
        }
    }
fail:
    wsc_close(c);
    return -1;
}

int wsc_send(wsc_t *c, int opcode, const void *data, size_t len) {
    unsigned char hdr[14];
    size_t h = 0;
    hdr[h++] = (unsigned char)(0x80 | opcode);
    if (len < 126) {
        hdr[h++] = (unsigned char)(0x80 | len);
    } else if (len < 65536) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (unsigned char)(len >> 8);
        hdr[h++] = (unsigned char)len;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--) hdr[h++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    unsigned char mask[4];
    if (getrandom(mask, 4, 0) != 4) memset(mask, 0x5a, 4);
    memcpy(hdr + h, mask, 4);
    h += 4;
    unsigned char *frame = malloc(h + len);
    if (!frame) return -1;
    memcpy(frame, hdr, h);
    const unsigned char *d = data;
    for (size_t i = 0; i < len; i++) frame[h + i] = d[i] ^ mask[i & 3];
    int r = send_all(c->fd, frame, h + len);
    free(frame);
    return r;
}

int wsc_send_text(wsc_t *c, const char *text) {
    return wsc_send(c, WSC_TEXT, text, strlen(text));
}

static int msg_append(wsc_t *c, const unsigned char *p, size_t n) {
    if (c->msg_len + n + 1 > c->msg_cap) {
        size_t cap = c->msg_cap ? c->msg_cap : 4096;
        while (cap < c->msg_len + n + 1) cap *= 2;
        char *m = realloc(c->msg, cap);
        if (!m) return -1;
        c->msg = m;
        c->msg_cap = cap;
    }
    memcpy(c->msg + c->msg_len, p, n);
    c->msg_len += n;
    c->msg[c->msg_len] = 0;
    return 0;
}

int wsc_recv(wsc_t *c, int timeout_ms, int *opcode) {
    if (c->fd < 0) return -1;
    long long deadline = now_ms() + timeout_ms;
    int msg_op = 0;
    c->msg_len = 0;
    if (msg_append(c, (const unsigned char *)"", 0) < 0) return -1;
    for (;;) {
        /* Parse whole frames out of the buffer. */
        while (c->in_len >= 2) {
            unsigned char *b = c->in;
            int fin = b[0] & 0x80, op = b[0] & 0x0f;
            uint64_t len = b[1] & 0x7f;
            size_t h = 2;
            if (len == 126) {
                if (c->in_len < 4) break;
                len = ((uint64_t)b[2] << 8) | b[3];
                h = 4;
            } else if (len == 127) {
                if (c->in_len < 10) break;
                len = 0;
                for (int i = 0; i < 8; i++) len = (len << 8) | b[2 + i];
                h = 10;
            }
            if (b[1] & 0x80) h += 4; /* a server must not mask, but tolerate it */
            if (c->in_len < h + len) break;
            unsigned char *p = b + h;
            if (op == WSC_PING) {
                wsc_send(c, WSC_PONG, p, (size_t)len);
                consume(c, h + (size_t)len);
                continue;
            }
            if (op == WSC_PONG) {
                consume(c, h + (size_t)len);
                continue;
            }
            if (op == WSC_CLOSE) {
                c->close_code = len >= 2 ? (p[0] << 8) | p[1] : 1005;
                size_t rl = len > 2 ? (size_t)len - 2 : 0;
                if (rl >= sizeof c->close_reason) rl = sizeof c->close_reason - 1;
                memcpy(c->close_reason, p + 2, rl);
                c->close_reason[rl] = 0;
                unsigned char echo[2] = {(unsigned char)(c->close_code >> 8),
                                         (unsigned char)c->close_code};
                wsc_send(c, WSC_CLOSE, echo, 2);
                consume(c, h + (size_t)len);
                *opcode = WSC_CLOSE;
                return 1;
            }
            if (op != 0) msg_op = op;
            if (msg_append(c, p, (size_t)len) < 0) return -1;
            consume(c, h + (size_t)len);
            if (fin) {
                *opcode = msg_op;
                return 1;
            }
        }
        int left = (int)(deadline - now_ms());
        if (left < 0) left = 0;
        int r = fill(c, left);
        if (r < 0) {
            if (!c->close_code) c->close_code = 1006;
            return -1;
        }
        if (r == 0 && now_ms() >= deadline) return 0;
    }
}

int wsc_wait_for(wsc_t *c, const char *needle, int timeout_ms) {
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        int left = (int)(deadline - now_ms()), op;
        if (left <= 0) return 0;
        int r = wsc_recv(c, left, &op);
        if (r <= 0) return r;
        if (op == WSC_CLOSE) return -1;
        if (op == WSC_TEXT && strstr(c->msg, needle)) return 1;
    }
}

int wsc_wait_close(wsc_t *c, int timeout_ms) {
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        int left = (int)(deadline - now_ms()), op;
        if (left <= 0) return 0;
        int r = wsc_recv(c, left, &op);
        if (r < 0) return c->close_code;
        if (r == 0) return 0;
        if (op == WSC_CLOSE) return c->close_code;
    }
}

bool wsc_has_buffered(const wsc_t *c) {
    return c->in_len > 0;
}

void wsc_close(wsc_t *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    free(c->in);
    free(c->msg);
    c->in = NULL;
    c->msg = NULL;
    c->in_len = c->in_cap = c->msg_len = c->msg_cap = 0;
}

/* Sends `request` on fd, reads the response until the peer closes, a Content-Length body
 * is complete (keep-alive servers) or timeout_ms passes, and closes fd. Returns the
 * response, NUL-terminated and malloc'd (caller frees), with its length in *len; NULL when
 * the request could not be sent. */
static char *http_exchange(int fd, const char *request, size_t n, int timeout_ms, size_t *len) {
    if (send_all(fd, request, n) < 0) {
        int e = errno; /* the caller reports it; close() may change it */
        close(fd);
        errno = e;
        return NULL;
    }
    size_t bcap = 65536;
    char *buf = malloc(bcap + 1);
    *len = 0;
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        int left = (int)(deadline - now_ms());
        if (left <= 0) break;
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, left) <= 0) break;
        if (*len == bcap) {
            bcap *= 2;
            buf = realloc(buf, bcap + 1);
        }
        ssize_t r = recv(fd, buf + *len, bcap - *len, 0);
        if (r <= 0) break;
        *len += (size_t)r;
        buf[*len] = 0;
        char *he = strstr(buf, "\r\n\r\n");
        char *cl = he ? strcasestr(buf, "content-length:") : NULL;
        if (he && cl && cl < he && *len >= (size_t)(he + 4 - buf) + (size_t)atol(cl + 15)) break;
    }
    close(fd);
    buf[*len] = 0;
    return buf;
}

int wsc_http_raw(int port, const char *request, int timeout_ms, char *body, size_t cap) {
    char err[200];
    int fd = tcp_connect(port, err, sizeof err);
    if (fd < 0) return -1;
    size_t len;
    char *buf = http_exchange(fd, request, strlen(request), timeout_ms, &len);
    if (!buf) return -1;
    int status = -1;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) status = -1;
    if (body && cap) {
        char *he = strstr(buf, "\r\n\r\n");
        snprintf(body, cap, "%s", he ? he + 4 : "");
    }
    free(buf);
    return status;
}

int wsc_http(int port, const char *method, const char *path, const char *extra_headers,
             int timeout_ms, char *body, size_t cap, char *headers, size_t hcap, char *err,
             size_t errlen) {
    int fd = tcp_connect(port, err, errlen);
    if (fd < 0) return -1;
    char req[4096], host[64];
    host_line(host, sizeof host, port, extra_headers);
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\n%sConnection: close\r\n%s%s\r\n", method,
                     path, host, strcmp(method, "POST") == 0 ? "Content-Length: 0\r\n" : "",
                     extra_headers ? extra_headers : "");
    size_t len;
    char *buf = http_exchange(fd, req, (size_t)n, timeout_ms, &len);
    if (!buf) {
        snprintf(err, errlen, "send: %s", strerror(errno));
        return -1;
    }
    int status = -1;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
        snprintf(err, errlen, "no HTTP response (%zu bytes)", len);
        status = -1;
    }
    char *he = strstr(buf, "\r\n\r\n");
    if (body && cap) snprintf(body, cap, "%s", he ? he + 4 : "");
    if (headers && hcap) {
        size_t hl = he ? (size_t)(he - buf) : len;
        if (hl >= hcap) hl = hcap - 1;
        memcpy(headers, buf, hl);
        headers[hl] = 0;
    }
    free(buf);
    return status;
}
