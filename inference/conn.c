/* inference/conn.c — see conn.h. */
#include "inference/conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clk.h"
#include "common/log.h"

const char *const conn_ep_names[CONN_EP_COUNT] = {"none", "http", "trainer", "training",
                                                  "inference"};

int conn_set_init(conn_set *cs) {
    cs->scratch = malloc(LWS_PRE + CONN_CHUNK);
    return cs->scratch ? 0 : -1;
}

void conn_set_close(conn_set *cs) {
    outq_pool_close(&cs->pool);
    free(cs->scratch);
    cs->scratch = NULL;
}

void conn_list_add(conn_set *cs, conn_t *c, conn_ep ep) {
    c->ep = ep;
    c->prev = NULL;
    c->next = cs->lists[ep];
    if (c->next) c->next->prev = c;
    cs->lists[ep] = c;
    c->listed = true;
    cs->counts[ep]++;
    cs->total[ep]++;
}

void conn_list_remove(conn_set *cs, conn_t *c) {
    if (!c->listed) return;
    if (c->prev)
        c->prev->next = c->next;
    else
        cs->lists[c->ep] = c->next;
    if (c->next) c->next->prev = c->prev;
    c->listed = false;
    cs->counts[c->ep]--;
}

void conn_close(conn_t *c, int code, const char *reason) {
    if (c->close_code) return;
    c->close_code = code;
    snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
    lws_callback_on_writable(c->wsi);
}

int conn_push(conn_set *cs, conn_t *c, outq_msg *m) {
    if (!c->have_q || c->close_code) return -1;
    bool dropped;
    if (outq_push(&c->q, &cs->pool, m, &dropped) < 0) {
        cs->slow_closes++;
        log_warn("%s client %llu too slow: queue full of records, closing (4008)",
                 conn_ep_names[c->ep], (unsigned long long)c->id);
        conn_close(c, 4008, "too slow");
        return -1;
    }
    if (c->q.count == c->q.cap) {
        if (!c->q.full_since) c->q.full_since = clk_mono_ms();
    }
    /* Fast path: a client with nothing queued whose socket takes data gets the message
     * now. Waiting for WRITEABLE would cost two epoll_ctl calls per client and message,
     * which is most of the broadcast's time with a thousand clients. lws keeps whatever
     * the kernel does not take and reports the pipe choked until it has flushed it. */
    if (c->q.count == 1 && c->q.offset == 0 && m->len <= CONN_CHUNK &&
        !lws_send_pipe_choked(c->wsi)) {
        if (conn_write_next(cs, c) < 0) conn_close(c, 1011, "write failed");
        return 0;
    }
    lws_callback_on_writable(c->wsi);
    return 0;
}

int conn_send(conn_set *cs, conn_t *c, outq_kind kind, const char *json, size_t len) {
    outq_msg *m = outq_msg_new(&cs->pool, kind, json, len);
    if (!m) return -1;
    int r = conn_push(cs, c, m);
    outq_msg_unref(&cs->pool, m);
    return r;
}

/* One WebSocket frame: a whole message, or a 32 KiB fragment of a big one. */
int conn_write_next(conn_set *cs, conn_t *c) {
    outq_msg *m = outq_peek(&c->q);
    if (!m) return 0;
    if (lws_send_pipe_choked(c->wsi)) {
        lws_callback_on_writable(c->wsi);
        return 0;
    }
    size_t off = c->q.offset, rem = m->len - off, n = rem > CONN_CHUNK ? CONN_CHUNK : rem;
    int flags = lws_write_ws_flags(LWS_WRITE_TEXT, off == 0, off + n == m->len);
    /* Copied because lws writes the frame header in the LWS_PRE bytes before the payload,
     * and the message buffer is shared by every client. */
    memcpy(cs->scratch + LWS_PRE, m->data + off, n);
    int w = lws_write(c->wsi, cs->scratch + LWS_PRE, n, (enum lws_write_protocol)flags);
    if (w < (int)n) return -1;
    c->q.offset += n;
    if (c->q.offset == m->len) {
        outq_pop(&c->q, &cs->pool);
        cs->msgs_out[c->ep]++;
        if (c->q.count < c->q.cap) c->q.full_since = 0;
    }
    if (c->q.count) lws_callback_on_writable(c->wsi);
    return 0;
}

/* lws 4.1 drops a connection closed from its WRITEABLE callback without sending the
 * reason set by lws_close_reason(), so the close frame is written here and the connection
 * then dropped. */
int conn_write_close(conn_set *cs, conn_t *c) {
    size_t rl = strlen(c->close_reason);
    unsigned char *p = cs->scratch + LWS_PRE;
    p[0] = (unsigned char)(c->close_code >> 8);
    p[1] = (unsigned char)c->close_code;
    memcpy(p + 2, c->close_reason, rl);
    /* 4 is lws's internal LWS_WRITE_CLOSE, which 4.1 keeps out of the public enum. */
    lws_write(c->wsi, p, 2 + rl, (enum lws_write_protocol)4);
    return -1;
}

void conn_cull_slow(conn_set *cs, uint64_t now_ms, uint64_t slow_ms) {
    for (int e = CONN_TRAINING; e <= CONN_INFERENCE; e++)
        for (conn_t *c = cs->lists[e]; c; c = c->next)
            if (c->q.full_since && now_ms - (uint64_t)c->q.full_since > slow_ms && !c->close_code) {
                cs->slow_closes++;
                log_warn("%s client %llu stayed behind for 5 s, closing (4008)", conn_ep_names[e],
                         (unsigned long long)c->id);
                conn_close(c, 4008, "too slow");
            }
}
