/* orchestrator/health.h — one HTTP health probe on the event loop (prefix health_).
 *
 * A probe connects to host:port, sends `GET path HTTP/1.1` and reports the response's
 * status code (200...) or a negative libuv error (UV_ECONNREFUSED, UV_ETIMEDOUT after
 * HEALTH_ATTEMPT_MS, UV_EOF). One attempt at a time; the callback runs after the socket
 * is closed, so the probe may be started again from inside it. */
#ifndef RD_ORCH_HEALTH_H
#define RD_ORCH_HEALTH_H

#include <stdbool.h>
#include <uv.h>

#define HEALTH_ATTEMPT_MS 1000

typedef struct health_probe health_probe;
typedef void (*health_cb)(health_probe *h, int result);

struct health_probe {
    uv_loop_t *loop;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect;
    uv_write_t write;
    char request[256];
    char response[128];
    size_t response_len;
    int result;
    bool busy;     /* an attempt is under way (until its callback) */
    bool finished; /* the attempt has its result; the socket is closing */
    health_cb cb;
    void *data;
};

/* Prepares the probe (its timer handle). */
int health_init(health_probe *h, uv_loop_t *loop);

/* Starts one attempt. 0, or a negative libuv error (bad address). UV_EBUSY if one runs. */
int health_start(health_probe *h, const char *host, int port, const char *path, health_cb cb);

/* Abandons a running attempt (its callback never runs) and closes the handles; the
 * probe's memory may be reused once the loop has run their close callbacks. */
void health_close(health_probe *h);

#endif
