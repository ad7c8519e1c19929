/* tests/support/ws_client.h — a small blocking WebSocket and HTTP/1.1 client over raw
 * loopback sockets (prefix wsc_), for tests and benchmarks that drive the real binaries.
 *
 * Independent of libwebsockets on purpose: the server is tested against a second,
 * separately written implementation of RFC 6455. Client frames are masked; fragmented
 * server messages are reassembled. One wsc_t per connection; not thread-safe. */
#ifndef RD_TESTS_WS_CLIENT_H
#define RD_TESTS_WS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

enum { WSC_TEXT = 1, WSC_BINARY = 2, WSC_CLOSE = 8, WSC_PING = 9, WSC_PONG = 10 };

typedef struct {
    int fd;
    unsigned char *in; /* bytes read, not yet consumed */
    size_t in_len, in_cap;
    char *msg; /* the last message returned, NUL-terminated */
    size_t msg_len, msg_cap;
    int close_code; /* from the server's close frame, 0 = none yet, 1006 = connection lost */
    char close_reason[124];
} wsc_t;

/* Connects to 127.0.0.1:port, sends the upgrade for path (may hold ?query) with
 * extra_headers (complete "Name: value\r\n" lines, or NULL). Returns 0 on 101; -1 with err,
 * and *http_status (when non-NULL) the status of a refusal (0 when none came). */
int wsc_connect(wsc_t *c, int port, const char *path, const char *extra_headers, int timeout_ms,
                int *http_status, char *err, size_t errlen);
/* Sends one frame (masked). 0 or -1. */
int wsc_send(wsc_t *c, int opcode, const void *data, size_t len);
int wsc_send_text(wsc_t *c, const char *text);
/* Receives one message (text/binary, or a close frame: opcode WSC_CLOSE with close_code
 * set). Pings are answered. Returns 1 with *opcode and the message in c->msg, 0 on
 * timeout, -1 when the connection ended (close_code 1006 unless a close frame came). */
int wsc_recv(wsc_t *c, int timeout_ms, int *opcode);
/* Receives until a text message containing `needle` arrives (e.g. "\"type\":\"hello\"").
 * 1 when found (in c->msg), 0 on timeout, -1 when the connection ended. */
int wsc_wait_for(wsc_t *c, const char *needle, int timeout_ms);
/* Waits for the server's close frame; returns its code, or 1006 / 0 on timeout. */
int wsc_wait_close(wsc_t *c, int timeout_ms);
/* Bytes buffered but not yet parsed into a message (non-blocking helpers for benches). */
bool wsc_has_buffered(const wsc_t *c);
void wsc_close(wsc_t *c);
/* Receive buffer for the sockets of later connections (0 = the kernel's default); tests of
 * slow readers shrink it. */
void wsc_set_rcvbuf(int bytes);

/* One HTTP/1.1 request (Connection: close) to 127.0.0.1:port. extra_headers as above (a
 * Host line there replaces ours; a POST has no body). The
 * body (NUL-terminated, truncated to cap) goes to body, response headers to headers
 * (may be NULL). Returns the status code, or -1 with err. */
int wsc_http(int port, const char *method, const char *path, const char *extra_headers,
             int timeout_ms, char *body, size_t cap, char *headers, size_t hcap, char *err,
             size_t errlen);

/* A raw request line sent verbatim ("GET /../x HTTP/1.1\r\n..."); status or -1. */
int wsc_http_raw(int port, const char *request, int timeout_ms, char *body, size_t cap);

#endif
