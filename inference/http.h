/* inference/http.h — the HTTP side of the server (prefix http_; docs/PROTOCOL.md §2, §6):
 * the JSON API, /metrics, the static frontend with its security headers, and the checks a
 * request must pass — Host, Origin, token — which the WebSocket handshake runs too.
 *
 * Depends on the jobs (job.h) and connections (conn.h) it reports on, never on the
 * server: the server fills one http_ctx at start-up. */
#ifndef RD_INFERENCE_HTTP_H
#define RD_INFERENCE_HTTP_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/json.h"
#include "inference/admit.h"
#include "inference/conn.h"
#include "inference/job.h"

typedef struct {
    const cfg_config *cfg;
    const char *host; /* as given to the server (--host) */
    int port;         /* the port listened on */
    int frontend_port;
    const char *run_dir, *ckpt_dir;
    const char *static_root;  /* realpath, "" = no static files */
    const char *access_token; /* "" = none required */
    uint64_t start_ms;
    job_set *jobs;
    conn_set *conns;
    const admit_t *admit;
    json_buf *jb; /* building area shared with the owner (dynamic, reused) */

    /* The counters /metrics reports: the HTTP side's and the WebSocket callback's. */
    uint64_t requests, msgs_in[CONN_EP_COUNT];
    uint64_t refused_max, refused_origin, refused_token, refused_sessions, refused_host;
} http_ctx;

/* Answers the HTTP request for uri on c. The callback's result (-1 closes). */
int http_handle(http_ctx *s, struct lws *wsi, conn_t *c, const char *uri);
/* Answers POST /api/training/WHAT once its body has been read. */
int http_post(http_ctx *s, struct lws *wsi, conn_t *c, const char *what);

/* The Host header names this server (PROTOCOL.md §6); refusals are counted and logged. */
bool http_host_ok(http_ctx *s, struct lws *wsi);
/* No Origin (not a browser), or one of this server's pages; refusals counted and logged. */
bool http_origin_ok(http_ctx *s, struct lws *wsi);
/* The request presents expected (?token=, the rd_token cookie or X-Run-Demo-Token);
 * *from_query tells whether it came as ?token=. */
bool http_token_ok(struct lws *wsi, const char *expected, bool *from_query);

#endif
