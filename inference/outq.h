/* inference/outq.h — shared outgoing messages and per-client bounded queues (prefix oq_).
 *
 * The broadcast hot path allocates nothing per message in steady state: a message is one
 * refcounted buffer taken from a free list (oq_msg_new), queued by pointer to every
 * client (oq_push takes a reference), and returned to the free list when the last client
 * has written it. Buffers grow to the largest message seen and are then reused.
 *
 * Each client's queue holds at most `cap` messages. When it is full, the oldest queued
 * frame is dropped to make room (frames are a live view; records are never dropped); a
 * queue full of records refuses the push and the caller closes that client. Single
 * threaded: everything runs on the server's loop. */
#ifndef RD_INFERENCE_OUTQ_H
#define RD_INFERENCE_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { OQ_RECORD = 0, OQ_FRAME } oq_kind;

typedef struct oq_msg {
    struct oq_msg *next_free;
    int refs;
    oq_kind kind;
    size_t len, cap;
    char *data;
} oq_msg;

typedef struct {
    oq_msg *free;     /* free list */
    size_t live;      /* messages handed out and not yet returned */
    size_t pooled;    /* messages on the free list */
    uint64_t dropped; /* frames dropped from full queues, all clients */
} oq_pool;

/* Takes a message with room for len bytes (refs = 1, owned by the caller), copies data
 * in when data is non-NULL. NULL when out of memory. */
oq_msg *oq_msg_new(oq_pool *p, oq_kind kind, const char *data, size_t len);
/* Makes room for len bytes in m (used when building in place). 0 or -1. */
int oq_msg_reserve(oq_msg *m, size_t len);
void oq_msg_ref(oq_msg *m);
/* Drops one reference; the last one returns m to the pool. */
void oq_msg_unref(oq_pool *p, oq_msg *m);
/* Frees every pooled buffer (the pool must have no live messages). */
void oq_pool_close(oq_pool *p);

typedef struct {
    oq_msg **items; /* ring of cap pointers, allocated once */
    int cap, head, count;
    size_t offset;      /* bytes of items[head] already written */
    int64_t full_since; /* ms timestamp when the queue last became full, 0 = not full */
} oq_queue;

int oq_queue_init(oq_queue *q, int cap);
/* Releases every queued message and the ring. */
void oq_queue_close(oq_queue *q, oq_pool *p);
/* Queues m (takes a reference). 0 on success (a frame may have been dropped: counted in
 * p->dropped, *dropped set), -1 when the queue is full of records (m not queued). */
int oq_push(oq_queue *q, oq_pool *p, oq_msg *m, bool *dropped);
/* The message at the head, or NULL. */
oq_msg *oq_peek(const oq_queue *q);
/* Removes the head (after it was written completely). */
void oq_pop(oq_queue *q, oq_pool *p);

#endif
