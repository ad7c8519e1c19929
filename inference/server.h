/* inference/server.h — the server (prefix server_): one libwebsockets vhost on a libuv loop
 * the caller owns, serving the HTTP API, the static frontend, the trainer link, the
 * training broadcast and the inference sessions on one port. docs/PROTOCOL.md is the
 * authority for every endpoint and message.
 *
 * Lifecycle: server_create() starts listening on the loop; server_shutdown() closes every
 * WebSocket with 1001, destroys the lws context and closes the server's own handles, so
 * that uv_run() returns once the loop is empty; then server_free(). */
#ifndef RD_INFERENCE_SERVER_H
#define RD_INFERENCE_SERVER_H

#include <stddef.h>
#include <uv.h>

#include "common/cfg.h"

typedef struct {
    const char *run_dir;       /* required */
    const char *host;          /* NULL = 127.0.0.1 */
    int port;                  /* 0 = any free port */
    const char *static_dir;    /* NULL = no static files */
    const char *token;         /* browser access token; NULL = none on loopback, generated off it */
    int frontend_port;         /* allowed Origin port of the dev frontend; 0 = from the config */
    const char *trainer_token; /* NULL = $RD_TRAINER_TOKEN */
    const char *runs_root;     /* past runs below it (PROTOCOL §4); NULL = none */
} server_options;

typedef struct server server_t;

/* Starts serving on loop. cfg is copied. NULL with err (port in use, bad static dir, ...). */
server_t *server_create(uv_loop_t *loop, const cfg_config *cfg, const server_options *opt,
                        char *err, size_t errlen);
/* The port actually listened on. */
int server_port(const server_t *s);
/* The access token ("" when none is required). */
const char *server_token(const server_t *s);
/* Begins the orderly stop: close frames (1001) to every WebSocket, then the lws context is
 * destroyed and every handle closed. Idempotent. */
void server_shutdown(server_t *s);
/* Frees s after uv_run() returned. */
void server_free(server_t *s);

#endif
