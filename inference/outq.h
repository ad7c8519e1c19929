/* inference/outq.h — shared outgoing messages and per-client bounded queues (prefix outq_).
 *
 * The broadcast hot path allocates nothing per message in steady state: a message is one
 * refcounted buffer taken from a free list (outq_msg_new), queued by pointer to every
 * client (outq_push takes a reference), and returned to the free list when the last client
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

typedef enum { OUTQ_RECORD = 0, OUTQ_FRAME } outq_kind;

typedef struct outq_msg {
    struct outq_msg *next_free;
    int refs;
    outq_kind kind;
    size_t len, cap;
    char *data;
} outq_msg;

typedef struct {
    outq_msg *free;   /* free list */
    size_t live;      /* messages handed out and not yet returned */
    size_t pooled;    /* messages on the free list */
    uint64_t dropped; /* frames dropped from full queues, all clients */
} outq_pool;

/* Takes a message with room for len bytes (refs = 1, owned by the caller), copies data
 * in when data is non-NULL. NULL when out of memory. */
outq_msg *outq_msg_new(outq_pool *p, outq_kind kind, const char *data, size_t len);
/* Makes room for len bytes in m (used when building in place). 0 or -1. */
int outq_msg_reserve(outq_msg *m, size_t len);
void outq_msg_ref(outq_msg *m);
/* Drops one reference; the last one returns m to the pool. */
void outq_msg_unref(outq_pool *p, outq_msg *m);
/* Frees every pooled buffer (the pool must have no live messages). */
void outq_pool_close(outq_pool *p);

typedef struct {
    outq_msg **items; /* ring of cap pointers, allocated once */
    int cap, head, count;
    size_t offset;      /* bytes of items[head] already written */
    int64_t full_since; /* ms timestamp when the queue last became full, 0 = not full */
} outq_queue;

int outq_queue_init(outq_queue *q, int cap);
/* Releases every queued message and the ring. */
void outq_queue_close(outq_queue *q, outq_pool *p);
/* Queues m (takes a reference). 0 on success (a frame may have been dropped: counted in
 * p->dropped, *dropped set), -1 when the queue is full of records (m not queued). */
int outq_push(outq_queue *q, outq_pool *p, outq_msg *m, bool *dropped);
/* The message at the head, or NULL. */
outq_msg *outq_peek(const outq_queue *q);
/* Removes the head (after it was written completely). */
void outq_pop(outq_queue *q, outq_pool *p);

#endif
