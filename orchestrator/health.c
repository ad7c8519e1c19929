/* orchestrator/health.c — see health.h. */
#include "orchestrator/health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int health_init(health_probe *h, uv_loop_t *loop) {
    memset(h, 0, sizeof *h);
    h->loop = loop;
    int rc = uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    return rc;
}

static void on_tcp_closed(uv_handle_t *handle) {
    health_probe *h = handle->data;
    h->busy = false;
    if (h->cb) h->cb(h, h->result);
}

static void finish(health_probe *h, int result) {
    if (h->finished) return;
    h->finished = true;
    h->result = result;
    uv_timer_stop(&h->timer);
    uv_close((uv_handle_t *)&h->tcp, on_tcp_closed);
}

static void on_timeout(uv_timer_t *t) {
    finish(t->data, UV_ETIMEDOUT);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
    health_probe *h = handle->data;
    (void)suggested;
    size_t room = sizeof h->response - 1 - h->response_len;
    *buf = uv_buf_init(h->response + h->response_len, (unsigned)room);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    health_probe *h = s->data;
    (void)buf;
    if (n < 0) {
        finish(h, (int)n);
        return;
    }
    h->response_len += (size_t)n;
    h->response[h->response_len] = '\0';
    /* "HTTP/1.1 200 OK": the status line is all we need. */
    char *sp = strchr(h->response, ' ');
    if (sp && strlen(sp) >= 4) {
        int code = atoi(sp + 1);
        finish(h, code > 0 ? code : UV_EPROTO);
    } else if (h->response_len >= sizeof h->response - 1) {
        finish(h, UV_EPROTO);
    }
}

static void on_written(uv_write_t *w, int status) {
    health_probe *h = w->data;
    if (status < 0) finish(h, status);
}

static void on_connect(uv_connect_t *c, int status) {
    health_probe *h = c->data;
    if (status < 0 || h->finished) {
        finish(h, status < 0 ? status : UV_ECANCELED);
        return;
    }
    uv_buf_t b = uv_buf_init(h->request, (unsigned)strlen(h->request));
    h->write.data = h;
    int rc = uv_write(&h->write, (uv_stream_t *)&h->tcp, &b, 1, on_written);
    if (rc == 0) rc = uv_read_start((uv_stream_t *)&h->tcp, on_alloc, on_read);
    if (rc) finish(h, rc);
}

int health_start(health_probe *h, const char *host, int port, const char *path, health_cb cb) {
    if (h->busy) return UV_EBUSY;
    struct sockaddr_storage ss;
    int rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&ss);
    if (rc) rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss);
    if (rc) return rc;
    snprintf(h->request, sizeof h->request,
             "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: run_demo\r\nConnection: close\r\n\r\n",
             path, host, port);
    h->response_len = 0;
    h->response[0] = '\0';
    h->finished = false;
    h->cb = cb;
    rc = uv_tcp_init(h->loop, &h->tcp);
    if (rc) return rc;
    h->tcp.data = h;
    h->connect.data = h;
    h->busy = true;
    rc = uv_tcp_connect(&h->connect, &h->tcp, (struct sockaddr *)&ss, on_connect);
    if (rc) {
        finish(h, rc);
        return 0; /* reported through the callback, like any other failed attempt */
    }
    uv_timer_start(&h->timer, on_timeout, HEALTH_ATTEMPT_MS, 0);
    return 0;
}

void health_close(health_probe *h) {
    h->cb = NULL;
    if (h->busy && !h->finished) finish(h, UV_ECANCELED);
    if (!uv_is_closing((uv_handle_t *)&h->timer)) uv_close((uv_handle_t *)&h->timer, NULL);
}
