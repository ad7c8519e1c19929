/* orchestrator/ports.h — is a TCP port free, and who holds it (prefix ports_).
 *
 * run_demo checks its ports before it starts anything, so that a busy port is one clear
 * message instead of a child crash loop. The holder comes from /proc/net/tcp{,6} (the
 * listening socket's inode) and /proc/<pid>/fd (which process has that inode open); a
 * process of another user is reported without its name. */
#ifndef RD_ORCH_PORTS_H
#define RD_ORCH_PORTS_H

#include <stddef.h>

/* 0 when `port` can be bound on `host` (an IPv4 or IPv6 literal, or "localhost"), else a
 * negative errno (-EADDRINUSE, -EADDRNOTAVAIL, -EACCES, -EINVAL for a bad host). */
int ports_check(const char *host, int port);

/* Describes the process listening on `port` ("node (pid 1234)") into out. Returns 0, or
 * -1 when /proc does not tell (out then holds "another process"). */
int ports_holder(int port, char *out, size_t outlen);

#endif
