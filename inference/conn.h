/* inference/conn.h — connections and sending (prefix conn_): one WebSocket or HTTP
 * connection's state, the lists of connections by endpoint, and the bounded queue through
 * which every message reaches a client (outq.h). What is sent, and why, is the business of
 * the modules above: the jobs' broadcast (job.h), the sessions (session.h) and the server.
 *
 * Single threaded: everything runs on the server's loop. */
#ifndef RD_INFERENCE_CONN_H
#define RD_INFERENCE_CONN_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>

#include "inference/outq.h"

typedef enum {
    CONN_NONE = 0,
    CONN_HTTP,
    CONN_TRAINER,
    CONN_TRAINING,
    CONN_INFERENCE,
    CONN_EP_COUNT
} conn_ep;

/* "none", "http", "trainer", "training", "inference": for logs and metrics. */
extern const char *const conn_ep_names[CONN_EP_COUNT];

struct session; /* session.h: an inference connection's session */
struct job;     /* job.h: a trainer's or a viewer's job */

/* One connection: lws's per-session data (zeroed by lws). */
typedef struct conn {
    struct lws *wsi;
    conn_ep ep;
    struct conn *prev, *next; /* list of its endpoint */
    bool listed;
    uint64_t id;
    outq_queue q;
    bool have_q;
    int refuse_code; /* set at the handshake: closed with it once established */
    char refuse_reason[48];
    int close_code; /* set when the server decides to close it */
    char close_reason[48];
    char *rx; /* reassembly of fragmented messages */
    size_t rx_len, rx_cap;
    int errors;
    double tokens; /* command rate limit (token bucket) */
    uint64_t tokens_ms;
    int peer_close_code;
    struct session *sess;
    char peer[48];
    char post_cmd[24]; /* HTTP POST /api/training/X waiting for its body */
    bool set_cookie;
    bool overview;   /* a /ws/jobs viewer: every job's episodes, no commands */
    struct job *job; /* a trainer's (once its hello named it) or a viewer's job */
} conn_t;

/* Every listed connection, the message pool their queues share, and the counters of
 * what went out. */
typedef struct {
    conn_t *lists[CONN_EP_COUNT];
    int counts[CONN_EP_COUNT];
    uint64_t total[CONN_EP_COUNT], msgs_out[CONN_EP_COUNT];
    uint64_t slow_closes; /* clients closed as too slow (4008) */
    uint64_t next_id;
    outq_pool pool;
    unsigned char *scratch; /* LWS_PRE + CONN_CHUNK bytes for lws_write */
} conn_set;

/* A message goes out in WebSocket frames of at most this many bytes. */
#define CONN_CHUNK (32 * 1024)

/* 0, or -1 when out of memory. */
int conn_set_init(conn_set *cs);
/* Frees the pool and the scratch buffer (every queue must be closed). */
void conn_set_close(conn_set *cs);

/* Lists c under endpoint ep (counted in counts and total). */
void conn_list_add(conn_set *cs, conn_t *c, conn_ep ep);
/* Unlists c (nothing when it is not listed). */
void conn_list_remove(conn_set *cs, conn_t *c);

/* Closes c with a close frame carrying code and reason (asynchronously). */
void conn_close(conn_t *c, int code, const char *reason);
/* Queues m to c (takes a reference); closes c as too slow when its queue is full of
 * records. 0 or -1. */
int conn_push(conn_set *cs, conn_t *c, outq_msg *m);
/* Queues a copy of json to c (kind decides what may be dropped). 0 or -1 (c is being
 * closed as too slow). */
int conn_send(conn_set *cs, conn_t *c, outq_kind kind, const char *json, size_t len);
/* Writes the next piece of c's queue (from WRITEABLE). -1 to close. */
int conn_write_next(conn_set *cs, conn_t *c);
/* Writes c's close frame (from WRITEABLE, once conn_close() was called). Always -1. */
int conn_write_close(conn_set *cs, conn_t *c);
/* Closes (4008) every browser whose queue has stayed full for more than slow_ms. */
void conn_cull_slow(conn_set *cs, uint64_t now_ms, uint64_t slow_ms);

#endif
