/* trainer/link.c — the trainer's WebSocket link to the server (see link.h).
 *
 * Two threads meet here. The training thread calls link_send / link_poll_command /
 * link_get_stats; they only take the mutex, copy bytes and, when the link thread has not
 * been woken yet, call lws_cancel_service() (the one libwebsockets call that is safe from
 * another thread). The link thread owns the lws context and every lws object: it runs the
 * default poll loop, connects, reconnects with backoff, and drains the queue one lws_write
 * per WRITEABLE callback, as libwebsockets requires.
 *
 * The outgoing queue is a ring of `queue_cap` slots whose buffers are kept and reused, so
 * that once the buffers have grown to the size of the largest message, link_send
 * allocates nothing. The link thread takes a message out by swapping buffers with its own
 * "current" slot, so it never holds the mutex while it writes. */
#define _GNU_SOURCE /* asprintf, strndup */
#include "trainer/link.h"

#include <errno.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/log.h"

#define LINK_BACKOFF_MIN_MS 100
#define LINK_BACKOFF_MAX_MS 5000
/* A connection that lived this long was a good one: the next retry starts from the
 * minimum again. A server that accepts and then closes at once (a bad token, another
 * trainer already attached) keeps doubling the delay instead of being hammered. */
#define LINK_STABLE_US (3 * LWS_US_PER_SEC)
/* After the flush timeout, the time allowed for the close frame and its answer. */
#define LINK_CLOSE_GRACE_MS 250
/* Large messages go out in fragments of this size, one per WRITEABLE callback, so that
 * lws never has to buffer a partial write of a huge message itself. */
#define LINK_CHUNK 16384
/* Inbound: commands waiting for link_poll_command, and the largest command kept. */
#define LINK_CMD_SLOTS 64
#define LINK_CMD_MAX   65536

typedef struct {
    unsigned char *buf; /* LWS_PRE bytes of headroom, then the message */
    size_t len, alloc;  /* message length; bytes allocated (headroom included) */
    link_kind kind;
} slot;

typedef struct {
    char *text;
    size_t len;
} command;

struct link {
    /* Fixed at start. */
    char *display_url; /* the URL without the token, for log lines */
    char *address, *host_hdr, *path, *token;
    int port;
    bool tls;
    struct lws_context *ctx;
    pthread_t thread;

    /* Shared with the training thread, under mu. */
    pthread_mutex_t mu;
    slot *q;
    int cap, head, count, frames; /* frames: how many of the queued messages are frames */
    unsigned char *hello;         /* LWS_PRE headroom + hello, or NULL before link_set_hello */
    size_t hello_len;
    command cmds[LINK_CMD_SLOTS];
    int cmd_head, cmd_count;
    bool wake_pending;   /* lws_cancel_service called, EVENT_WAIT_CANCELLED not yet seen */
    bool stop_requested; /* link_stop was called */
    int flush_ms;

    /* Read from any thread without the lock. */
    atomic_bool connected;
    atomic_uint_fast64_t sent, dropped_frames, dropped_records, connects, commands;

    /* Link thread only. */
    struct lws *wsi;      /* the connection, from the connect call until it is gone */
    bool established;     /* the WebSocket handshake completed on wsi */
    bool need_hello;      /* the next message on this connection is the hello */
    bool stopping;        /* stop seen: flushing, then closing */
    bool closing;         /* send the close frame at the next WRITEABLE */
    bool close_sent;      /* our close frame is out: waiting for the server's answer */
    bool done;            /* leave the service loop */
    bool retry_scheduled; /* sul_retry is armed */
    bool warned_down;     /* the outage was logged (reset by a stable connection) */
    int last_close_code;  /* the last close code logged */
    bool flapping;        /* the last connection was closed at once by the server */
    int backoff_ms;
    uint64_t jitter_state;
    lws_usec_t established_at;
    slot cur;       /* the message being written */
    size_t cur_off; /* bytes of cur already written */
    bool cur_active;
    unsigned char *rx; /* reassembly of a fragmented incoming message */
    size_t rx_len, rx_alloc;
    bool rx_overflow;
    lws_sorted_usec_list_t sul_retry, sul_deadline, sul_grace;
};

/* ---- URL ---- */

/* Splits ws[s]://HOST[:PORT][/PATH][?QUERY] (HOST may be an [IPv6] literal). Userinfo and
 * fragments are refused rather than guessed at. The strings are malloc'd into the link. */
static int parse_url(link_t *l, const char *url, char *err, size_t errlen) {
    const char *p;
    if (strncasecmp(url, "ws://", 5) == 0) {
        p = url + 5;
        l->tls = false;
    } else if (strncasecmp(url, "wss://", 6) == 0) {
        p = url + 6;
        l->tls = true;
    } else {
        snprintf(err, errlen, "link: URL \"%s\" must start with ws:// or wss://", url);
        return -1;
    }
    for (const char *c = url; *c; c++) {
        if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '#') {
            snprintf(err, errlen, "link: URL \"%s\" contains a space, control character or #", url);
            return -1;
        }
    }
    const char *hs = p, *he;
    if (*p == '[') {
        he = strchr(p, ']');
        if (!he) {
            snprintf(err, errlen, "link: URL \"%s\": unterminated [IPv6] host", url);
            return -1;
        }
        hs = p + 1;
        p = he + 1;
    } else {
        while (*p && *p != ':' && *p != '/' && *p != '?') p++;
        he = p;
    }
    size_t hl = (size_t)(he - hs);
    if (hl == 0 || hl > 253 || memchr(hs, '@', hl)) {
        snprintf(err, errlen, "link: URL \"%s\": missing or invalid host", url);
        return -1;
    }
    l->port = l->tls ? 443 : 80;
    if (*p == ':') {
        p++;
        long port = 0;
        const char *ds = p;
        while (*p >= '0' && *p <= '9' && port <= 65535) port = port * 10 + (*p++ - '0');
        if (p == ds || port < 1 || port > 65535 || (*p && *p != '/' && *p != '?')) {
            snprintf(err, errlen, "link: URL \"%s\": the port must be a number in 1..65535", url);
            return -1;
        }
        l->port = (int)port;
    } else if (*p && *p != '/' && *p != '?') {
        snprintf(err, errlen, "link: URL \"%s\": unexpected text after the host", url);
        return -1;
    }
    l->address = strndup(hs, hl);
    /* The Host header carries the port, and IPv6 literals keep their brackets there. */
    if (asprintf(&l->host_hdr, hs != url && hs[-1] == '[' ? "[%s]:%d" : "%s:%d", l->address,
                 l->port) < 0)
        l->host_hdr = NULL;
    const char *rest = *p ? p : "/";
    if (asprintf(&l->path, "%s%s", *rest == '?' ? "/" : "", rest) < 0) l->path = NULL;
    l->display_url = strdup(url);
    if (!l->address || !l->host_hdr || !l->path || !l->display_url) {
        snprintf(err, errlen, "link: out of memory");
        return -1;
    }
    return 0;
}

/* Appends ?token=<percent-encoded token> (or &token=) to the path. */
static int add_token_to_path(link_t *l) {
    static const char hex[] = "0123456789ABCDEF";
    size_t tl = strlen(l->token), pl = strlen(l->path);
    char *np = malloc(pl + 7 + 3 * tl + 1);
    if (!np) return -1;
    char *o = np + pl;
    memcpy(np, l->path, pl);
    o += sprintf(o, "%ctoken=", strchr(l->path, '?') ? '&' : '?');
    for (const unsigned char *c = (const unsigned char *)l->token; *c; c++) {
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '_' || *c == '.' || *c == '~') {
            *o++ = (char)*c;
        } else {
            *o++ = '%';
            *o++ = hex[*c >> 4];
            *o++ = hex[*c & 15];
        }
    }
    *o = '\0';
    free(l->path);
    l->path = np;
    return 0;
}

/* ---- queue (callers hold mu) ---- */

static slot *q_at(link_t *l, int i) {
    return &l->q[(l->head + i) % l->cap];
}

/* Removes the i-th queued message (0 = oldest). Its buffer moves to the free end of the
 * ring so that it is reused, never freed. */
static void q_remove(link_t *l, int i) {
    slot gone = *q_at(l, i);
    for (int k = i; k > 0; k--) *q_at(l, k) = *q_at(l, k - 1);
    *q_at(l, 0) = gone;
    l->head = (l->head + 1) % l->cap;
    l->count--;
    if (gone.kind == LINK_FRAME) l->frames--;
}

/* Makes room in s for len bytes after the headroom. */
static int slot_reserve(slot *s, size_t len) {
    if (s->alloc >= LWS_PRE + len) return 0;
    size_t want = LWS_PRE + len;
    if (want < 512) want = 512;
    unsigned char *nb = realloc(s->buf, want);
    if (!nb) return -1;
    s->buf = nb;
    s->alloc = want;
    return 0;
}

/* ---- link thread: connecting ---- */

static void schedule_retry(link_t *l);

/* Uniform in [0, 1) from a private xorshift: the link must not draw from the trainer's
 * seeded generators, or the network would change the training. */
static double jitter01(link_t *l) {
    uint64_t x = l->jitter_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    l->jitter_state = x;
    return (double)(x >> 11) * (1.0 / 9007199254740992.0);
}

static void connect_now(lws_sorted_usec_list_t *sul) {
    link_t *l = lws_container_of(sul, link_t, sul_retry);
    l->retry_scheduled = false;
    if (l->stopping || l->wsi) return;

    struct lws_client_connect_info i;
    memset(&i, 0, sizeof i);
    i.context = l->ctx;
    i.address = l->address;
    i.port = l->port;
    i.path = l->path;
    i.host = l->host_hdr;
    i.ssl_connection = l->tls ? LCCSCF_USE_SSL : 0;
    i.local_protocol_name = "rd-trainer-link";
    i.pwsi = &l->wsi;
    l->established = false;
    if (!lws_client_connect_via_info(&i)) {
        l->wsi = NULL;
        schedule_retry(l);
    }
}

/* Arms one retry after the current backoff (±20% jitter, so that several trainers do not
 * reconnect in step), then doubles the backoff up to its ceiling. */
static void schedule_retry(link_t *l) {
    if (l->stopping || l->retry_scheduled) return;
    double ms = l->backoff_ms * (0.8 + 0.4 * jitter01(l));
    l->retry_scheduled = true;
    lws_sul_schedule(l->ctx, 0, &l->sul_retry, connect_now, (lws_usec_t)(ms * 1000.0));
    l->backoff_ms *= 2;
    if (l->backoff_ms > LINK_BACKOFF_MAX_MS) l->backoff_ms = LINK_BACKOFF_MAX_MS;
}

/* The connection (or the attempt) is gone: forget it, and either retry or, when stopping,
 * leave the loop. */
static void connection_gone(link_t *l, const char *why) {
    bool was_up = l->established;
    bool stable = was_up && lws_now_usecs() - l->established_at >= LINK_STABLE_US;
    l->wsi = NULL;
    l->established = false;
    l->cur_active = false; /* a message cut off mid-write is lost with the connection */
    l->rx_len = 0;
    l->rx_overflow = false;
    atomic_store(&l->connected, false);
    if (l->stopping) {
        l->done = true;
        return;
    }
    /* One line per outage, not one per attempt: a server that refuses us (or is down)
     * for an hour must not fill the log. */
    l->flapping = was_up && !stable;
    if (stable) {
        l->backoff_ms = LINK_BACKOFF_MIN_MS;
        l->last_close_code = 0;
        log_warn("link: connection to %s lost (%s); reconnecting", l->display_url, why);
        l->warned_down = true;
    } else if (!l->warned_down) {
        log_warn("link: %s %s (%s); retrying with backoff",
                 was_up ? "connection closed at once by" : "cannot reach", l->display_url, why);
        l->warned_down = true;
    }
    schedule_retry(l);
}

/* ---- link thread: stopping ---- */

static void grace_over(lws_sorted_usec_list_t *sul) {
    link_t *l = lws_container_of(sul, link_t, sul_grace);
    l->done = true;
}

/* The flush time is over: close now, with a close frame if the socket lets us. */
static void flush_over(lws_sorted_usec_list_t *sul) {
    link_t *l = lws_container_of(sul, link_t, sul_deadline);
    if (!l->wsi) {
        l->done = true;
        return;
    }
    if (!l->close_sent) {
        l->closing = true;
        if (l->established) lws_callback_on_writable(l->wsi);
    }
    lws_sul_schedule(l->ctx, 0, &l->sul_grace, grace_over,
                     (lws_usec_t)LINK_CLOSE_GRACE_MS * LWS_US_PER_MS);
}

static void begin_stop(link_t *l, int flush_ms) {
    l->stopping = true;
    lws_sul_cancel(&l->sul_retry);
    l->retry_scheduled = false;
    if (!l->wsi) {
        /* Not connected and no attempt under way: nothing can be flushed. */
        l->done = true;
        return;
    }
    if (flush_ms < 0) flush_ms = 0;
    lws_sul_schedule(l->ctx, 0, &l->sul_deadline, flush_over, (lws_usec_t)flush_ms * LWS_US_PER_MS);
    if (l->established) lws_callback_on_writable(l->wsi);
}

/* ---- link thread: the protocol callback ---- */

/* Takes the next message to write into l->cur: the hello first on a new connection, then
 * the oldest queued message. Returns false when there is nothing to write (or the hello
 * has not been set yet, which holds back the queue: the server expects hello first). */
static bool take_next(link_t *l) {
    bool got = false;
    pthread_mutex_lock(&l->mu);
    if (l->need_hello) {
        if (l->hello && slot_reserve(&l->cur, l->hello_len) == 0) {
            memcpy(l->cur.buf + LWS_PRE, l->hello + LWS_PRE, l->hello_len);
            l->cur.len = l->hello_len;
            l->cur.kind = LINK_RECORD;
            l->need_hello = false;
            got = true;
        }
    } else if (l->count > 0) {
        slot *s = q_at(l, 0), mine = l->cur;
        l->cur = *s;
        *s = mine; /* the old current buffer becomes the free slot */
        s->len = 0;
        l->head = (l->head + 1) % l->cap;
        l->count--;
        if (l->cur.kind == LINK_FRAME) l->frames--;
        got = true;
    }
    pthread_mutex_unlock(&l->mu);
    if (got) {
        l->cur_off = 0;
        l->cur_active = true;
    }
    return got;
}

static bool more_to_write(link_t *l) {
    pthread_mutex_lock(&l->mu);
    bool more = l->cur_active || (l->need_hello ? l->hello != NULL : l->count > 0);
    pthread_mutex_unlock(&l->mu);
    return more;
}

/* lws 4.1 keeps the CLOSE opcode of lws_write private (lws-write.h: "handled by
 * lws_close_reason()"); its value is 4 between CONTINUATION/HTTP (2, 3) and PING (5). */
#define LINK_WRITE_CLOSE ((enum lws_write_protocol)4)

/* Sends our close frame (1000) and keeps the connection open until the server answers
 * with its own. The documented way (lws_close_reason, then return -1) makes lws 4.1 close
 * the socket right after our frame: link_stop would return before the server has read the
 * messages ahead of it, and a socket closed with unread input is reset, which can lose
 * them (the final status among them). Measured: with 2,000 queued messages, the test server
 * had read 1,632 when link_stop returned that way. */
static int send_close(link_t *l, struct lws *wsi) {
    static const char reason[] = "trainer stopping";
    unsigned char buf[LWS_PRE + 2 + sizeof reason];
    buf[LWS_PRE] = LWS_CLOSE_STATUS_NORMAL >> 8;
    buf[LWS_PRE + 1] = LWS_CLOSE_STATUS_NORMAL & 0xff;
    memcpy(buf + LWS_PRE + 2, reason, sizeof reason - 1);
    if (lws_write(wsi, buf + LWS_PRE, 2 + sizeof reason - 1, LINK_WRITE_CLOSE) < 0) return -1;
    l->close_sent = true;
    return 0;
}

/* One lws_write per WRITEABLE: a whole message, or the next fragment of a large one, or
 * the close frame. Returns -1 to have lws drop the connection. */
static int on_writeable(link_t *l, struct lws *wsi) {
    if (l->close_sent) return 0; /* nothing more goes out after the close frame */
    if (!l->closing && !l->cur_active && !take_next(l)) {
        /* Drained. When stopping, that is the moment to close. */
        if (l->stopping) l->closing = true;
    }
    if (l->closing) return send_close(l, wsi);
    if (!l->cur_active) return 0;

    size_t left = l->cur.len - l->cur_off, n = left > LINK_CHUNK ? LINK_CHUNK : left;
    int flags = lws_write_ws_flags(LWS_WRITE_TEXT, l->cur_off == 0, n == left);
    /* lws writes the frame header into the LWS_PRE bytes before the payload; for a later
     * fragment those are bytes of the message already sent, so clobbering them is fine. */
    int w = lws_write(wsi, l->cur.buf + LWS_PRE + l->cur_off, n, (enum lws_write_protocol)flags);
    if (w < (int)n) return -1;
    l->cur_off += n;
    if (l->cur_off == l->cur.len) {
        l->cur_active = false;
        atomic_fetch_add(&l->sent, 1);
    }
    if (l->stopping || more_to_write(l)) lws_callback_on_writable(wsi);
    return 0;
}

/* Queues a complete incoming message for link_poll_command. When the training loop has
 * fallen this far behind, the oldest command gives way. */
static void push_command(link_t *l, const unsigned char *data, size_t len) {
    char *text = malloc(len + 1);
    if (!text) return;
    memcpy(text, data, len);
    text[len] = '\0';
    pthread_mutex_lock(&l->mu);
    if (l->cmd_count == LINK_CMD_SLOTS) {
        free(l->cmds[l->cmd_head].text);
        l->cmd_head = (l->cmd_head + 1) % LINK_CMD_SLOTS;
        l->cmd_count--;
        log_warn("link: command queue full; the oldest command was dropped");
    }
    command *c = &l->cmds[(l->cmd_head + l->cmd_count) % LINK_CMD_SLOTS];
    c->text = text;
    c->len = len;
    l->cmd_count++;
    pthread_mutex_unlock(&l->mu);
    atomic_fetch_add(&l->commands, 1);
}

static void on_receive(link_t *l, struct lws *wsi, const unsigned char *in, size_t len) {
    if (!l->rx_overflow) {
        if (l->rx_len + len > LINK_CMD_MAX) {
            l->rx_overflow = true;
        } else {
            if (l->rx_len + len > l->rx_alloc) {
                size_t want = l->rx_len + len < 4096 ? 4096 : l->rx_len + len;
                unsigned char *nb = realloc(l->rx, want);
                if (!nb) {
                    l->rx_overflow = true;
                    goto check_final;
                }
                l->rx = nb;
                l->rx_alloc = want;
            }
            memcpy(l->rx + l->rx_len, in, len);
            l->rx_len += len;
        }
    }
check_final:
    /* A message may arrive in several pieces (fragments, or the rx buffer's size). */
    if (lws_remaining_packet_payload(wsi) != 0 || !lws_is_final_fragment(wsi)) return;
    if (l->rx_overflow)
        log_warn("link: a message from the server longer than %d bytes was ignored", LINK_CMD_MAX);
    else if (lws_frame_is_binary(wsi))
        log_warn("link: a binary message from the server was ignored");
    else
        push_command(l, l->rx, l->rx_len);
    l->rx_len = 0;
    l->rx_overflow = false;
}

static int link_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len) {
    link_t *l = lws_context_user(lws_get_context(wsi));
    switch (reason) {
        case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
            if (!l->token) break;
            unsigned char **p = (unsigned char **)in, *end = *p + len;
            if (lws_add_http_header_by_name(wsi, (const unsigned char *)"x-run-demo-token:",
                                            (const unsigned char *)l->token, (int)strlen(l->token),
                                            p, end))
                return -1;
            break;
        }
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
            l->established = true;
            l->established_at = lws_now_usecs();
            l->need_hello = true;
            l->cur_active = false;
            l->close_sent = false;
            atomic_store(&l->connected, true);
            atomic_fetch_add(&l->connects, 1);
            log_msg(l->flapping ? LOG_DEBUG : LOG_INFO, "link: connected to %s", l->display_url);
            lws_callback_on_writable(wsi);
            break;
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
            if (wsi == l->wsi || !l->wsi) connection_gone(l, in ? (const char *)in : "error");
            break;
        case LWS_CALLBACK_CLIENT_CLOSED:
            if (wsi == l->wsi) connection_gone(l, "closed");
            break;
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            /* The answer to our close frame: the handshake is complete, drop the socket
             * (nonzero: lws would otherwise answer it with a second close frame). */
            if (l->close_sent) return 1;
            if (len >= 2) {
                const unsigned char *c = in;
                int code = c[0] << 8 | c[1];
                /* Said once while it repeats: a steady 4001 (bad token) every 5 s is one line. */
                log_msg(code == l->last_close_code ? LOG_DEBUG : LOG_WARN,
                        "link: the server closed the connection (code %d: %.*s)", code,
                        (int)(len - 2), (const char *)in + 2);
                l->last_close_code = code;
            }
            break;
        case LWS_CALLBACK_CLIENT_RECEIVE:
            on_receive(l, wsi, in, len);
            break;
        case LWS_CALLBACK_CLIENT_WRITEABLE:
            return on_writeable(l, wsi);
        case LWS_CALLBACK_EVENT_WAIT_CANCELLED: {
            pthread_mutex_lock(&l->mu);
            l->wake_pending = false;
            bool stop = l->stop_requested;
            int flush_ms = l->flush_ms;
            pthread_mutex_unlock(&l->mu);
            if (stop && !l->stopping)
                begin_stop(l, flush_ms);
            else if (l->wsi && l->established)
                lws_callback_on_writable(l->wsi);
            break;
        }
        default:
            break;
    }
    return 0;
}

static const struct lws_protocols link_protocols[] = {
    {"rd-trainer-link", link_callback, 0, 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *link_main(void *arg) {
    link_t *l = arg;
    lws_sul_schedule(l->ctx, 0, &l->sul_retry, connect_now, 1);
    l->retry_scheduled = true;
    while (!l->done)
        if (lws_service(l->ctx, 0) < 0) break;
    lws_sul_cancel(&l->sul_retry);
    lws_sul_cancel(&l->sul_deadline);
    lws_sul_cancel(&l->sul_grace);
    /* The context outlives this thread until link_stop has joined it, so that
     * lws_cancel_service() from the training thread never meets a destroyed context. */
    return NULL;
}

/* lws logs through us so that its lines carry our program name; only its errors matter
 * here (a failed connect is reported by connection_gone, once per outage). */
static void lws_log_emit(int level, const char *line) {
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
    log_warn("link: lws: %.*s", (int)n, line);
}

/* ---- public API ---- */

static void link_free(link_t *l) {
    if (!l) return;
    for (int i = 0; l->q && i < l->cap; i++) free(l->q[i].buf);
    free(l->q);
    for (int i = 0; i < l->cmd_count; i++) free(l->cmds[(l->cmd_head + i) % LINK_CMD_SLOTS].text);
    free(l->cur.buf);
    free(l->rx);
    free(l->hello);
    free(l->display_url);
    free(l->address);
    free(l->host_hdr);
    free(l->path);
    free(l->token);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

link_t *link_start(const char *url, const char *token, int queue_cap, char *err, size_t errlen) {
    if (!url) {
        snprintf(err, errlen, "link: no URL");
        return NULL;
    }
    if (queue_cap < 1) {
        snprintf(err, errlen, "link: queue capacity must be at least 1 (got %d)", queue_cap);
        return NULL;
    }
    link_t *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "link: out of memory");
        return NULL;
    }
    pthread_mutex_init(&l->mu, NULL);
    l->cap = queue_cap;
    l->backoff_ms = LINK_BACKOFF_MIN_MS;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    l->jitter_state = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uintptr_t)l;
    if (!l->jitter_state) l->jitter_state = 0x9e3779b97f4a7c15ULL;
    if (parse_url(l, url, err, errlen) < 0) goto fail;
    l->q = calloc((size_t)queue_cap, sizeof *l->q);
    if (!l->q) {
        snprintf(err, errlen, "link: out of memory for a queue of %d", queue_cap);
        goto fail;
    }
    if (token && *token) {
        l->token = strdup(token);
        if (!l->token || add_token_to_path(l) < 0) {
            snprintf(err, errlen, "link: out of memory");
            goto fail;
        }
    }

    lws_set_log_level(LLL_ERR, lws_log_emit);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = link_protocols;
    info.user = l;
    info.options = l->tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0;
    info.fd_limit_per_thread = 4; /* the connection, the cancel pipe, headroom */
    l->ctx = lws_create_context(&info);
    if (!l->ctx) {
        snprintf(err, errlen, "link: cannot create the libwebsockets context");
        goto fail;
    }

    /* The link thread takes no signals: SIGINT/SIGTERM belong to the training thread,
     * whichever way it waits for them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&l->thread, NULL, link_main, l);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "link: cannot start the link thread: %s", strerror(rc));
        lws_context_destroy(l->ctx);
        goto fail;
    }
    return l;

fail:
    link_free(l);
    return NULL;
}

void link_set_hello(link_t *l, const char *json, size_t len) {
    unsigned char *h = malloc(LWS_PRE + len);
    if (!h) {
        log_error("link: out of memory for the hello message");
        return;
    }
    memcpy(h + LWS_PRE, json, len);
    pthread_mutex_lock(&l->mu);
    free(l->hello);
    l->hello = h;
    l->hello_len = len;
    bool wake = !l->wake_pending;
    l->wake_pending = true;
    pthread_mutex_unlock(&l->mu);
    /* A connection may be waiting for the hello before it sends anything. */
    if (wake) lws_cancel_service(l->ctx);
}

int link_send(link_t *l, link_kind kind, const char *json, size_t len) {
    int rc = 0;
    pthread_mutex_lock(&l->mu);
    if (l->count == l->cap) {
        if (l->frames > 0) {
            /* Find the oldest frame: usually near the head, since frames are many. */
            int i = 0;
            while (q_at(l, i)->kind != LINK_FRAME) i++;
            q_remove(l, i);
            atomic_fetch_add(&l->dropped_frames, 1);
        } else if (kind == LINK_FRAME) {
            /* The queue is all records: the new frame is the one to go. */
            atomic_fetch_add(&l->dropped_frames, 1);
            rc = -1;
            goto out;
        } else {
            q_remove(l, 0);
            atomic_fetch_add(&l->dropped_records, 1);
        }
    }
    slot *s = q_at(l, l->count);
    if (slot_reserve(s, len) < 0) {
        atomic_fetch_add(kind == LINK_FRAME ? &l->dropped_frames : &l->dropped_records, 1);
        rc = -1;
        goto out;
    }
    memcpy(s->buf + LWS_PRE, json, len);
    s->len = len;
    s->kind = kind;
    l->count++;
    if (kind == LINK_FRAME) l->frames++;
    /* Wake the link thread once per batch, and only when it can do something about it. */
    bool wake = !l->wake_pending && atomic_load(&l->connected);
    if (wake) l->wake_pending = true;
    pthread_mutex_unlock(&l->mu);
    if (wake) lws_cancel_service(l->ctx);
    return 0;
out:
    pthread_mutex_unlock(&l->mu);
    return rc;
}

size_t link_poll_command(link_t *l, char *buf, size_t cap) {
    size_t n = 0;
    pthread_mutex_lock(&l->mu);
    while (l->cmd_count > 0 && n == 0) {
        command *c = &l->cmds[l->cmd_head];
        l->cmd_head = (l->cmd_head + 1) % LINK_CMD_SLOTS;
        l->cmd_count--;
        if (c->len + 1 <= cap && c->len > 0) {
            memcpy(buf, c->text, c->len + 1);
            n = c->len;
        } else if (c->len > 0) {
            log_warn("link: a %zu-byte command did not fit the %zu-byte buffer; dropped", c->len,
                     cap);
        }
        free(c->text);
        c->text = NULL;
    }
    pthread_mutex_unlock(&l->mu);
    return n;
}

bool link_connected(const link_t *l) {
    return atomic_load(&((link_t *)l)->connected);
}

void link_get_stats(const link_t *l, link_stats *out) {
    link_t *m = (link_t *)l; /* atomics are read through a non-const pointer */
    out->sent = atomic_load(&m->sent);
    out->dropped_frames = atomic_load(&m->dropped_frames);
    out->dropped_records = atomic_load(&m->dropped_records);
    out->connects = atomic_load(&m->connects);
    out->commands = atomic_load(&m->commands);
}

void link_stop(link_t *l, int flush_ms) {
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->stop_requested = true;
    l->flush_ms = flush_ms;
    pthread_mutex_unlock(&l->mu);
    lws_cancel_service(l->ctx);
    pthread_join(l->thread, NULL);
    /* Destroying the context closes whatever is still open (a server that never answered
     * the close frame). The service thread is gone, so nothing else touches lws now. */
    lws_context_destroy(l->ctx);
    link_free(l);
}
