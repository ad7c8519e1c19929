/* inference/session.h — inference sessions on /ws (prefix session_; docs/PROTOCOL.md §7): one
 * environment and one policy per connection, stepped by a uv_timer at the requested speed,
 * with `latest` reloaded when the trainer writes a newer checkpoint.
 *
 * A session knows its connection (conn.h) and the context below, never the server: the
 * server fills one session_ctx at start-up and tells it when checkpoints change. */
#ifndef RD_INFERENCE_SESSION_H
#define RD_INFERENCE_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/ckpt.h"
#include "common/cfg.h"
#include "inference/cmd.h"
#include "inference/conn.h"
#include "inference/job.h"

typedef struct session session_t;

/* The weights of the checkpoint loaded last, so that many sessions following `latest`
 * read and verify the file once, not once each. */
typedef struct {
    char path[CFG_PATH_MAX];
    int64_t mtime_ns, size;
    float *params;
    size_t n;
    ckpt_info info;
} session_model_cache;

/* What every session shares; owned by the server, which outlives its sessions. */
typedef struct {
    uv_loop_t *loop;
    const cfg_config *cfg;
    conn_set *conns;   /* sessions send through it; the inference list is theirs */
    job_set *jobs;     /* whose checkpoints a session loads: the run's own, or `load`'s job */
    const char *world; /* the world object's JSON text (world.h) */
    size_t world_len;
    session_model_cache model;
    uint64_t started; /* sessions created so far: part of each one's seed */
} session_ctx;

/* Starts the session of inference connection c: sends `connected`, loads `latest` (or
 * plays the untrained policy) and starts its first episode. NULL with err. */
session_t *session_create(session_ctx *ctx, conn_t *c, char *err, size_t errlen);
/* Runs a validated /ws command and answers it. */
void session_command(session_t *x, const cmd_msg *cmd);
/* Ends x (its connection is closing); freed once its timer has closed. */
void session_destroy(session_t *x);
/* A new checkpoint may exist: sessions that follow `latest` reload it. */
void session_checkpoints_changed(session_ctx *ctx);
/* Frees the model cache (after the last session). */
void session_ctx_close(session_ctx *ctx);

#endif
