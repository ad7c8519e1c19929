/* inference/outq.c — see outq.h. */
#include "inference/outq.h"

#include <stdlib.h>
#include <string.h>

outq_msg *outq_msg_new(outq_pool *p, outq_kind kind, const char *data, size_t len) {
    outq_msg *m = p->free;
    if (m) {
        p->free = m->next_free;
        p->pooled--;
    } else {
        m = calloc(1, sizeof *m);
        if (!m) return NULL;
    }
    if (outq_msg_reserve(m, len) < 0) {
        /* Keep the struct pooled: it has no buffer yet but is otherwise reusable. */
        m->next_free = p->free;
        p->free = m;
        p->pooled++;
        return NULL;
    }
    m->next_free = NULL;
    m->refs = 1;
    m->kind = kind;
    m->len = len;
    if (data && len) memcpy(m->data, data, len);
    p->live++;
    return m;
}

int outq_msg_reserve(outq_msg *m, size_t len) {
    if (len + 1 <= m->cap) return 0;
    size_t cap = m->cap ? m->cap : 256;
    while (cap < len + 1) cap *= 2;
    char *d = realloc(m->data, cap);
    if (!d) return -1;
    m->data = d;
    m->cap = cap;
    return 0;
}

void outq_msg_ref(outq_msg *m) {
    m->refs++;
}

void outq_msg_unref(outq_pool *p, outq_msg *m) {
    if (!m || --m->refs > 0) return;
    /* Very large buffers (a big hello) are not worth keeping around for small messages. */
    if (m->cap > (1u << 20)) {
        free(m->data);
        m->data = NULL;
        m->cap = 0;
    }
    m->next_free = p->free;
    p->free = m;
    p->pooled++;
    p->live--;
}

void outq_pool_close(outq_pool *p) {
    outq_msg *m = p->free;
    while (m) {
        outq_msg *n = m->next_free;
        free(m->data);
        free(m);
        m = n;
    }
    p->free = NULL;
    p->pooled = 0;
}

int outq_queue_init(outq_queue *q, int cap) {
    memset(q, 0, sizeof *q);
    if (cap < 2) cap = 2;
    q->items = calloc((size_t)cap, sizeof *q->items);
    if (!q->items) return -1;
    q->cap = cap;
    return 0;
}

void outq_queue_close(outq_queue *q, outq_pool *p) {
    while (q->count) outq_pop(q, p);
    free(q->items);
    q->items = NULL;
}

int outq_push(outq_queue *q, outq_pool *p, outq_msg *m, bool *dropped) {
    if (dropped) *dropped = false;
    if (q->count == q->cap) {
        /* Drop the oldest frame that is not being written right now (index 0 may be
         * half-sent: its remaining bytes must go out to keep the stream framed). */
        int first = q->offset ? 1 : 0, victim = -1;
        for (int i = first; i < q->count; i++) {
            if (q->items[(q->head + i) % q->cap]->kind == OUTQ_FRAME) {
                victim = i;
                break;
            }
        }
        if (victim < 0) {
            if (m->kind == OUTQ_FRAME) { /* the newcomer is the frame to lose */
                p->dropped++;
                if (dropped) *dropped = true;
                return 0;
            }
            return -1;
        }
        outq_msg_unref(p, q->items[(q->head + victim) % q->cap]);
        for (int i = victim; i < q->count - 1; i++)
            q->items[(q->head + i) % q->cap] = q->items[(q->head + i + 1) % q->cap];
        q->count--;
        p->dropped++;
        if (dropped) *dropped = true;
    }
    outq_msg_ref(m);
    q->items[(q->head + q->count) % q->cap] = m;
    q->count++;
    return 0;
}

outq_msg *outq_peek(const outq_queue *q) {
    return q->count ? q->items[q->head] : NULL;
}

void outq_pop(outq_queue *q, outq_pool *p) {
    if (!q->count) return;
    outq_msg_unref(p, q->items[q->head]);
    q->items[q->head] = NULL;
    q->head = (q->head + 1) % q->cap;
    q->count--;
    q->offset = 0;
}
