/* trainer/link.h — the trainer's WebSocket link to the server (prefix link_),
 * docs/PROTOCOL.md §4 and docs/design/trainer.md.
 *
 * A libwebsockets client on its own thread with its own event loop, so that the training
 * loop never blocks on the network. Outgoing messages go through a bounded queue: when it
 * is full, frames are dropped first; records (episode, status, checkpoint) are dropped
 * only when the queue holds nothing but records (they are in metrics.jsonl anyway). The
 * link reconnects with exponential backoff and, on every (re)connection, first sends the
 * hello message set with link_set_hello(). Incoming commands are queued for the training
 * loop to poll. All functions are safe to call from the training thread; none blocks
 * except link_stop(), which waits at most the flush timeout given to it. */
#ifndef RD_TRAINER_LINK_H
#define RD_TRAINER_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct link link_t;

typedef enum {
    LINK_RECORD = 0, /* episode, status, checkpoint, hello: kept as long as possible */
    LINK_FRAME       /* visual-mode frames: dropped first when the queue is full */
} link_kind;

typedef struct {
    uint64_t sent, dropped_frames, dropped_records, connects, commands;
} link_stats;

/* Starts the link thread for `url` (ws://HOST:PORT/ws/trainer). `token` (may be NULL) is
 * sent as the "X-Run-Demo-Token" header and as ?token= in the URL. `queue_cap` bounds the
 * messages waiting to be sent. Returns NULL with err when the URL is malformed or the
 * thread cannot start; a server that is down is not an error (the link retries). */
link_t *link_start(const char *url, const char *token, int queue_cap, char *err, size_t errlen);

/* Sets (copies) the message sent first on every connection. Until it is first called, a
 * connection sends nothing and messages wait in the queue (the server ignores anything
 * before the hello: docs/PROTOCOL.md §4). A later call applies from the next connection. */
void link_set_hello(link_t *l, const char *json, size_t len);

/* Queues a copy of one JSON message. Never blocks. Returns 0, or -1 if it was dropped. */
int link_send(link_t *l, link_kind kind, const char *json, size_t len);

/* Copies the oldest received command (a JSON text, NUL-terminated) into buf and returns
 * its length, or 0 when none is waiting. A command longer than cap is discarded. */
size_t link_poll_command(link_t *l, char *buf, size_t cap);

bool link_connected(const link_t *l);
void link_get_stats(const link_t *l, link_stats *out);

/* Tries for up to flush_ms to send what is queued, closes the connection with a close
 * frame, joins the thread and frees l. NULL is accepted. */
void link_stop(link_t *l, int flush_ms);

#endif
