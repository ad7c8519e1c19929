/* inference/outq.c — see outq.h. */
#include "inference/outq.h"

#include <stdlib.h>
#include <string.h>

oq_msg *oq_msg_new(oq_pool *p, oq_kind kind, const char *data, size_t len) {
    oq_msg *m = p->free;
    if (m) {
        p->free = m->next_free;
        p->pooled--;
    } else {
        m = calloc(1, sizeof *m);
        if (!m) return NULL;
    }
    if (oq_msg_reserve(m, len) < 0) {
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

int oq_msg_reserve(oq_msg *m, size_t len) {
    if (len + 1 <= m->cap) return 0;
    size_t cap = m->cap ? m->cap : 256;
    while (cap < len + 1) cap *= 2;
    char *d = realloc(m->data, cap);
    if (!d) return -1;
    m->data = d;
    m->cap = cap;
    return 0;
}

void oq_msg_ref(oq_msg *m) {
    m->refs++;
}

void oq_msg_unref(oq_pool *p, oq_msg *m) {
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

void oq_pool_close(oq_pool *p) {
    oq_msg *m = p->free;
    while (m) {
        oq_msg *n = m->next_free;
        free(m->data);
        free(m);
        m = n;
    }
    p->free = NULL;
    p->pooled = 0;
}

int oq_queue_init(oq_queue *q, int cap) {
    memset(q, 0, sizeof *q);
    if (cap < 2) cap = 2;
    q->items = calloc((size_t)cap, sizeof *q->items);
    if (!q->items) return -1;
    q->cap = cap;
    return 0;
}

void oq_queue_close(oq_queue *q, oq_pool *p) {
    while (q->count) oq_pop(q, p);
    free(q->items);
    q->items = NULL;
}

int oq_push(oq_queue *q, oq_pool *p, oq_msg *m, bool *dropped) {
    if (dropped) *dropped = false;
    if (q->count == q->cap) {
        /* Drop the oldest frame that is not being written right now (index 0 may be
         * half-sent: its remaining bytes must go out to keep the stream framed). */
        int first = q->offset ? 1 : 0, victim = -1;
        for (int i = first; i < q->count; i++) {
            if (q->items[(q->head + i) % q->cap]->kind == OQ_FRAME) {
                victim = i;
                break;
            }
        }
        if (victim < 0) {
            if (m->kind == OQ_FRAME) { /* the newcomer is the frame to lose */
                p->dropped++;
                if (dropped) *dropped = true;
                return 0;
            }
            return -1;
        }
        oq_msg_unref(p, q->items[(q->head + victim) % q->cap]);
        for (int i = victim; i < q->count - 1; i++)
            q->items[(q->head + i) % q->cap] = q->items[(q->head + i + 1) % q->cap];
        q->count--;
        p->dropped++;
        if (dropped) *dropped = true;
    }
    oq_msg_ref(m);
    q->items[(q->head + q->count) % q->cap] = m;
    q->count++;
    return 0;
}

oq_msg *oq_peek(const oq_queue *q) {
    return q->count ? q->items[q->head] : NULL;
}

void oq_pop(oq_queue *q, oq_pool *p) {
    if (!q->count) return;
    oq_msg_unref(p, q->items[q->head]);
    q->items[q->head] = NULL;
    q->head = (q->head + 1) % q->cap;
    q->count--;
    q->offset = 0;
}
