/* common/addr.c — see addr.h. */
#include "common/addr.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* host without the brackets of an IPv6 literal, into tmp. */
static const char *unbracket(const char *host, char *tmp, size_t cap) {
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < cap) {
        memcpy(tmp, host + 1, n - 2);
        tmp[n - 2] = 0;
        return tmp;
    }
    return host;
}

bool addr_is_loopback_sa(const struct sockaddr *sa) {
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a)) return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}

bool addr_is_loopback_name(const char *host) {
    if (strcmp(host, "localhost") == 0) return true;
    char tmp[64];
    const char *h = unbracket(host, tmp, sizeof tmp);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, h, &in4->sin_addr) == 1) {
        ss.ss_family = AF_INET;
    } else if (inet_pton(AF_INET6, h, &in6->sin6_addr) == 1) {
        ss.ss_family = AF_INET6;
    } else {
        return false;
    }
    return addr_is_loopback_sa((struct sockaddr *)&ss);
}

int addr_resolve(const char *host, struct sockaddr_storage *out, char *err, size_t errlen) {
    char tmp[256];
    const char *h = unbracket(host, tmp, sizeof tmp);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int rc = getaddrinfo(h, NULL, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(err, errlen, "cannot resolve '%s': %s", host, gai_strerror(rc));
        return -1;
    }
    struct addrinfo *pick = res;
    for (struct addrinfo *a = res; a; a = a->ai_next)
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    memset(out, 0, sizeof *out);
    memcpy(out, pick->ai_addr, pick->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

void addr_format(const struct sockaddr *sa, int port, char *out, size_t cap) {
    char a[INET6_ADDRSTRLEN] = "?";
    bool v6 = sa->sa_family == AF_INET6;
    if (v6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, a, sizeof a);
    else if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, a, sizeof a);
    if (port < 0)
        snprintf(out, cap, "%s", a);
    else
        snprintf(out, cap, "%s%s%s:%d", v6 ? "[" : "", a, v6 ? "]" : "", port);
}

static bool same_addr(const struct sockaddr *a, const struct sockaddr *b) {
    if (a->sa_family != b->sa_family) return false;
    if (a->sa_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    if (a->sa_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
    return false;
}

int addr_check_listening(const struct sockaddr *want, int port, char *err, size_t errlen) {
    /* lws 4.1 does not expose its listening socket, so look at every descriptor: a
     * listening TCP socket on our port is ours. */
    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        snprintf(err, errlen, "cannot list /proc/self/fd to check the bound address");
        return -1;
    }
    int found = 0, rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end || fd < 0 || fd == dirfd(d)) continue;
        struct stat st;
        if (fstat((int)fd, &st) < 0 || !S_ISSOCK(st.st_mode)) continue;
        int acc = 0, type = 0;
        socklen_t l = sizeof acc;
        if (getsockopt((int)fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) < 0 || !acc) continue;
        l = sizeof type;
        if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0 || type != SOCK_STREAM)
            continue;
        struct sockaddr_storage ss;
        l = sizeof ss;
        if (getsockname((int)fd, (struct sockaddr *)&ss, &l) < 0) continue;
        int p = ss.ss_family == AF_INET    ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                : ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                           : -1;
        if (p != port) continue;
        found++;
        if (!same_addr((struct sockaddr *)&ss, want)) {
            char got[80], asked[80];
            addr_format((struct sockaddr *)&ss, p, got, sizeof got);
            addr_format(want, port, asked, sizeof asked);
            snprintf(err, errlen, "the listening socket is bound to %s, not %s as asked", got,
                     asked);
            rc = -1;
        }
    }
    closedir(d);
    return rc < 0 ? -1 : found;
}
