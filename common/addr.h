/* common/addr.h — network addresses: the one loopback rule, bind-address resolution and
 * the check of what a listening socket actually bound (prefix addr_).
 *
 * Whether a token is required depends on the loopback rule, so the orchestrator (deciding
 * whether the URL it prints carries a token) and the server (deciding whether to ask for
 * one) must agree: both call addr_is_loopback_name. The server then decides from the
 * address it actually bound (addr_listening), never from the name it was given. */
#ifndef RD_COMMON_ADDR_H
#define RD_COMMON_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* True for "localhost", 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104, with or without
 * brackets around an IPv6 literal. Anything else (names, 0.0.0.0, ::) is not. */
bool addr_is_loopback_name(const char *host);
/* The same rule for a socket address. */
bool addr_is_loopback_sa(const struct sockaddr *sa);

/* Resolves a bind host ("127.0.0.1", "::1", "[::1]", "localhost", a name) to one numeric
 * address: an IPv4 one when the name has both. 0, or -1 with err. */
int addr_resolve(const char *host, struct sockaddr_storage *out, char *err, size_t errlen);

/* "127.0.0.1:8766" or "[::1]:8766" (port omitted when port < 0). */
void addr_format(const struct sockaddr *sa, int port, char *out, size_t cap);

/* Finds this process's listening TCP sockets on `port` (by their file descriptors) and
 * checks that each is bound exactly to `want`'s address. Returns the number found (>= 1)
 * when all match; 0 when none was found; -1 when one is bound elsewhere (err says where). */
int addr_check_listening(const struct sockaddr *want, int port, char *err, size_t errlen);

#endif
