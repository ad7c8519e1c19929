/* inference/admit.c — see admit.h. Linear scans: `total` is a few hundred at most, and
 * this runs once per accepted connection. */
#include "inference/admit.h"

#include <stdlib.h>
#include <string.h>

int admit_init(admit_t *a, int per_peer, int total) {
    memset(a, 0, sizeof *a);
    a->per_peer = per_peer < 1 ? 1 : per_peer;
    a->total = total < 1 ? 1 : total;
    a->e = calloc((size_t)a->total, sizeof *a->e);
    return a->e ? 0 : -1;
}

void admit_close(admit_t *a) {
    free(a->e);
    a->e = NULL;
    a->count = 0;
}

int admit_count_peer(const admit_t *a, const char *peer) {
    int n = 0;
    for (int i = 0; i < a->count; i++)
        if (strcmp(a->e[i].peer, peer) == 0) n++;
    return n;
}

/* The oldest pending entry of peer. */
static int oldest_of(const admit_t *a, const char *peer) {
    int best = -1;
    for (int i = 0; i < a->count; i++)
        if (strcmp(a->e[i].peer, peer) == 0 && (best < 0 || a->e[i].since_ms < a->e[best].since_ms))
            best = i;
    return best;
}

static void *take(admit_t *a, int i) {
    void *conn = a->e[i].conn;
    a->e[i] = a->e[--a->count];
    a->evicted++;
    return conn;
}

void *admit_new(admit_t *a, void *conn, const char *peer, uint64_t now_ms) {
    void *victim = NULL;
    if (admit_count_peer(a, peer) >= a->per_peer) {
        victim = take(a, oldest_of(a, peer));
    } else if (a->count >= a->total) {
        /* the peer holding the most pending connections gives one up */
        int most = 0;
        const char *heavy = NULL;
        for (int i = 0; i < a->count; i++) {
            int n = admit_count_peer(a, a->e[i].peer);
            if (n > most) {
                most = n;
                heavy = a->e[i].peer;
            }
        }
        victim = take(a, oldest_of(a, heavy));
    }
    admit_entry *e = &a->e[a->count++];
    e->conn = conn;
    e->since_ms = now_ms;
    size_t n = strlen(peer);
    if (n >= sizeof e->peer) n = sizeof e->peer - 1;
    memcpy(e->peer, peer, n);
    e->peer[n] = 0;
    return victim;
}

bool admit_done(admit_t *a, void *conn) {
    for (int i = 0; i < a->count; i++)
        if (a->e[i].conn == conn) {
            a->e[i] = a->e[--a->count];
            return true;
        }
    return false;
}
