/* inference/admit.h — admission of connections that have not completed a request
 * (prefix admit_).
 *
 * lws gives every new HTTP connection a header buffer from a pool and holds it until the
 * request's headers are complete or a timeout passes. A few hundred idle or slow sockets
 * (slowloris) used to hold the whole pool for that timeout, and every real request waited
 * behind them. Here, connections still waiting for their headers are "pending"; at most
 * `per_peer` of them per peer address and `total` in all (kept below the header pool, so
 * the pool never runs dry). A new connection over a limit evicts the oldest pending one
 * of its own peer, or of the peer holding the most — so a flood displaces itself, and a
 * fresh request always gets through. Pure bookkeeping, no I/O: the server closes what
 * admit_new hands back. docs/design/server.md has the figures. */
#ifndef RD_INFERENCE_ADMIT_H
#define RD_INFERENCE_ADMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ADMIT_PEER_MAX 48

typedef struct {
    void *conn;
    uint64_t since_ms;
    char peer[ADMIT_PEER_MAX];
} admit_entry;

typedef struct {
    admit_entry *e;
    int count, per_peer, total;
    uint64_t evicted;
} admit_t;

/* 0, or -1 when out of memory. per_peer and total are at least 1. */
int admit_init(admit_t *a, int per_peer, int total);
void admit_close(admit_t *a);
/* Records a new pending connection from peer. Returns the connection to evict to make
 * room (the caller closes it), or NULL. */
void *admit_new(admit_t *a, void *conn, const char *peer, uint64_t now_ms);
/* The connection completed its request's headers, or closed: no longer pending. True when
 * it was pending. */
bool admit_done(admit_t *a, void *conn);
/* How many pending connections come from peer. */
int admit_count_peer(const admit_t *a, const char *peer);

#endif
