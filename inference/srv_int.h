/* inference/srv_int.h — the server's internals shared by server.c and session.c (not a
 * public interface: nothing outside inference/ includes it). */
#ifndef RD_INFERENCE_SRV_INT_H
#define RD_INFERENCE_SRV_INT_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/ckpt.h"
#include "common/cfg.h"
#include "common/json.h"
#include "inference/admit.h"
#include "inference/hist.h"
#include "inference/outq.h"
#include "inference/server.h"
#include "inference/smsg.h"

typedef enum { EP_NONE = 0, EP_HTTP, EP_TRAINER, EP_TRAINING, EP_INFERENCE, EP_COUNT } srv_ep;

typedef struct sess sess_t;

/* One connection: lws's per-session data (zeroed by lws). */
typedef struct conn {
    struct lws *wsi;
    srv_ep ep;
    struct conn *prev, *next; /* list of its endpoint */
    bool listed;
    uint64_t id;
    oq_queue q;
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
    sess_t *sess;
    char peer[48];
    char post_cmd[24]; /* HTTP POST /api/training/X waiting for its body */
    bool set_cookie;
    bool overview;       /* a /ws/jobs viewer: every job's episodes, no commands */
    struct srv_job *job; /* a trainer's (once its hello named it) or a viewer's job */
} conn_t;

/* The weights of the checkpoint loaded last, so that many sessions following `latest`
 * read and verify the file once, not once each. */
typedef struct {
    char path[CFG_PATH_MAX];
    int64_t mtime_ns, size;
    float *params;
    size_t n;
    ckpt_info info;
} srv_model_cache;

#define SRV_MAX_JOBS 64

/* One training job: its trainer's link, what the trainer reported, its history. */
typedef struct srv_job {
    char job_id[208]; /* [0]: the run directory's base name; else the run name */
    char run_dir[CFG_PATH_MAX + 216];
    conn_t *trainer;
    hist_t hist;
    oq_msg *hello; /* cached training hello, NULL when stale */
    char config_name[64];
    char status[24];
    bool trainer_seen;
    int64_t episode, total_episodes, resumed_from;
    bool visual;
    double speed, epsilon, last_reward, best, sps, multiplier;
    int64_t last_steps;
    int64_t hist_last;  /* episode of the newest history record */
    char *last_episode; /* record JSON or NULL */
    long next_cmd_id;

} srv_job;

struct srv {
    uv_loop_t *loop;
    cfg_config cfg;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    int port;
    char host[256];
    char run_dir[CFG_PATH_MAX];
    char ckpt_dir[CFG_PATH_MAX + 16];
    char static_root[CFG_PATH_MAX]; /* realpath, "" = none */
    char access_token[80];          /* "" = not required */
    char trainer_token[256];
    int frontend_port;
    uint64_t start_ms;
    uint64_t next_id;
    bool stopping, destroyed;

    conn_t *lists[EP_COUNT];
    int counts[EP_COUNT];
    /* The jobs: [0] is the run directory's own (a single run, as always); a sweep's
     * trainers add theirs by the `job` of their hello (PROTOCOL §4.1). */
    srv_job *jobs[SRV_MAX_JOBS];
    int n_jobs;
    int n_overview; /* /ws/jobs viewers listed: the episode path skips the overview at 0 */

    oq_pool pool;
    admit_t admit; /* connections that have not completed a request (admit.h) */
    /* The config's world (inference/wdesc.h), serialized once at start-up: it never changes
     * during a run, so every hello and connected copies this text. */
    char *world;
    size_t world_len;

    /* metrics */
    uint64_t conn_total[EP_COUNT], msgs_in[EP_COUNT], msgs_out[EP_COUNT];
    uint64_t refused_max, refused_origin, refused_token, refused_busy, refused_sessions;
    uint64_t refused_host;
    uint64_t slow_closes, http_requests, trainer_refused;

    uv_timer_t tick;       /* 1 s housekeeping: slow clients */
    uv_timer_t stop_timer; /* bounds the wait for close frames */
    uv_timer_t fs_retry;   /* sets the checkpoint watch up once the folder exists */
    uv_timer_t fs_debounce;
    uv_fs_event_t fs_ev;
    bool fs_active;
    int open_handles;
    int stop_ticks;
    srv_model_cache model;
    uint64_t sess_seed;

    unsigned char *scratch; /* LWS_PRE + SRV_CHUNK bytes for lws_write */
    json_buf jb;            /* building area for responses (dynamic, reused) */
};

#define SRV_CHUNK (32 * 1024)

/* Queues a copy of json to one connection (kind decides what may be dropped). 0 or -1
 * (the connection is being closed as too slow). */
int srv_send(srv_t *s, conn_t *c, oq_kind kind, const char *json, size_t len);
/* Closes c with a close frame carrying code and reason (asynchronously). */
void srv_close_conn(srv_t *s, conn_t *c, int code, const char *reason);

/* session.c */
sess_t *sess_create(srv_t *s, conn_t *c, char *err, size_t errlen);
void sess_command(sess_t *x, const smsg_command *cmd);
void sess_destroy(sess_t *x);
/* A new checkpoint may exist: sessions that follow `latest` reload it. */
void sess_checkpoints_changed(srv_t *s);

#endif
