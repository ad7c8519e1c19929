/* tests/support/testsrv.h — a small WebSocket server for tests and benchmarks (prefix
 * testsrv_).
 *
 * A libwebsockets server on 127.0.0.1 in its own thread with its own context. It accepts
 * WebSocket connections on any path, records every text message it receives (with the
 * number of the connection it came on, and each connection's path and X-Run-Demo-Token
 * header), and can send text messages to, or close, the newest connection. Used by the
 * trainer link's tests (tests/test_link_*.c) and its benchmark. */
#ifndef RD_TESTS_TESTSRV_H
#define RD_TESTS_TESTSRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct testsrv testsrv;

/* Listens on 127.0.0.1:port (0 = a free port chosen by the kernel; read it with
 * testsrv_port). The first `store_max` messages are kept for testsrv_message; all are
 * counted. NULL when the port cannot be bound. */
testsrv *testsrv_start(int port, int store_max);
int testsrv_port(const testsrv *s);

/* Messages received so far (all connections), and connections accepted so far. */
uint64_t testsrv_count(testsrv *s);
int testsrv_connections(testsrv *s);
/* Bytes received in total (message payloads). */
uint64_t testsrv_bytes(testsrv *s);

/* Waits up to timeout_ms until at least n messages (or n connections) have arrived.
 * Returns true when they have. */
bool testsrv_wait_count(testsrv *s, uint64_t n, int timeout_ms);
bool testsrv_wait_connections(testsrv *s, int n, int timeout_ms);
/* Waits until no connection is open (the client closed); true when so. */
bool testsrv_wait_no_clients(testsrv *s, int timeout_ms);

/* Copies stored message i (0-based) into buf (NUL-terminated, truncated to cap) and
 * returns the connection number it came on (1-based), or -1 when i is not stored. */
int testsrv_message(testsrv *s, int i, char *buf, size_t cap);
/* The request path (with its query, as lws decodes it) and the X-Run-Demo-Token header
 * of connection `conn` (1-based); "" when absent. Returns -1 when there is no such
 * connection. */
int testsrv_conn_info(testsrv *s, int conn, char *path, size_t pathcap, char *token, size_t tokcap);
/* The decoded value of the token= query argument of connection `conn`; "" when absent. */
int testsrv_conn_query_token(testsrv *s, int conn, char *buf, size_t cap);
/* Whether the close frame received on connection `conn` carried code 1000. */
bool testsrv_conn_closed_normally(testsrv *s, int conn);

/* Sends a text message to the newest open connection (queued; sent from the server
 * thread). Returns 0, or -1 when no connection is open. */
int testsrv_send(testsrv *s, const char *text);
/* The same as a binary message (the bytes of the NUL-terminated `data`). */
int testsrv_send_binary(testsrv *s, const char *data);
/* Closes the newest open connection from the server side with a close frame. */
void testsrv_kick(testsrv *s);

/* From now on, closes each new connection at once with close code `code` (as the real
 * server does with a bad token: 4001); 0 accepts them again. */
void testsrv_set_reject(testsrv *s, int code);

/* Closes every connection, stops the thread and frees s. NULL is accepted. */
void testsrv_stop(testsrv *s);

#endif
