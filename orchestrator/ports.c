/* orchestrator/ports.c — see ports.h. */
#include "orchestrator/ports.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int ports_check(const char *host, int port) {
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (!strcmp(host, "localhost")) host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        len = sizeof *in4;
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        len = sizeof *in6;
    } else {
        return -EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    /* The servers set SO_REUSEADDR too: a port in TIME_WAIT is free for them. */
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc = bind(fd, (struct sockaddr *)&ss, len) == 0 ? 0 : -errno;
    if (rc == 0 && listen(fd, 1) != 0) rc = -errno;
    close(fd);
    return rc;
}

/* The inode of a socket listening on `port` in /proc/net/<file>, or 0. */
static unsigned long listening_inode(const char *file, int port) {
    char path[64];
    snprintf(path, sizeof path, "/proc/net/%s", file);
    FILE *f = fopen(path, "re");
    if (!f) return 0;
    char line[512];
    unsigned long found = 0;
    if (!fgets(line, sizeof line, f)) goto done; /* header */
    while (fgets(line, sizeof line, f)) {
        /* "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid
         * timeout inode" with local_address as HEXADDR:HEXPORT. */
        char local[128], remote[128];
        unsigned st, uid;
        unsigned long inode;
        if (sscanf(line, " %*d: %127s %127s %x %*s %*s %*s %u %*d %lu", local, remote, &st, &uid,
                   &inode) != 5)
            continue;
        char *colon = strrchr(local, ':');
        if (!colon || st != 0x0A) continue; /* 0A = LISTEN */
        if ((int)strtol(colon + 1, NULL, 16) == port) {
            found = inode;
            break;
        }
    }
done:
    fclose(f);
    return found;
}

int ports_holder(int port, char *out, size_t outlen) {
    snprintf(out, outlen, "another process");
    unsigned long inode = listening_inode("tcp", port);
    if (!inode) inode = listening_inode("tcp6", port);
    if (!inode) return -1;
    char want[64];
    snprintf(want, sizeof want, "socket:[%lu]", inode);
    DIR *proc = opendir("/proc");
    if (!proc) return -1;
    int rc = -1;
    struct dirent *de;
    while (rc != 0 && (de = readdir(proc)) != NULL) {
        if (!isdigit((unsigned char)de->d_name[0])) continue;
        char fddir[300];
        snprintf(fddir, sizeof fddir, "/proc/%s/fd", de->d_name);
        DIR *fds = opendir(fddir);
        if (!fds) continue; /* another user's process: not ours to read */
        struct dirent *fe;
        while ((fe = readdir(fds)) != NULL) {
            char link[600], target[128];
            snprintf(link, sizeof link, "%s/%s", fddir, fe->d_name);
            ssize_t n = readlink(link, target, sizeof target - 1);
            if (n <= 0) continue;
            target[n] = '\0';
            if (strcmp(target, want) != 0) continue;
            char comm_path[300], comm[64] = "?";
            snprintf(comm_path, sizeof comm_path, "/proc/%s/comm", de->d_name);
            FILE *cf = fopen(comm_path, "re");
            if (cf) {
                if (fgets(comm, sizeof comm, cf)) comm[strcspn(comm, "\n")] = '\0';
                fclose(cf);
            }
            snprintf(out, outlen, "%s (pid %s)", comm, de->d_name);
            rc = 0;
            break;
        }
        closedir(fds);
    }
    closedir(proc);
    return rc;
}
