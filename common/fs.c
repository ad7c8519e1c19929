/* common/fs.c — see fs.h. */
#include "common/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"

int fs_fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    /* Some file systems cannot fsync a directory; the rename is then as durable as they
     * allow. */
    if (rc != 0 && (errno == EINVAL || errno == EROFS)) rc = 0;
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* The folder that holds path ("." or "/" at the top) into out[PATH_MAX]. */
static void parent_of(const char *path, char *out) {
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(out, PATH_MAX, ".");
    } else if (slash == path) {
        snprintf(out, PATH_MAX, "/");
    } else {
        memcpy(out, path, (size_t)(slash - path));
        out[slash - path] = '\0';
    }
}

int fs_mkdir_p(const char *path, int flags) {
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        errno = n ? ENAMETOOLONG : ENOENT;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) == 0) {
            /* A new folder's own entry must be durable too, or a power cut could take the
             * folder and the files renamed into it. */
            if (flags & FS_SYNC) {
                char parent[PATH_MAX];
                parent_of(buf, parent);
                if (fs_fsync_dir(parent) != 0) return -1;
            }
        } else if (errno != EEXIST) {
            return -1;
        }
        buf[i] = saved;
    }
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

int fs_atomic_open(fs_atomic *a, const char *path, int flags, char *err, size_t errlen) {
    a->fd = -1;
    a->flags = flags;
    int k = snprintf(a->path, sizeof a->path, "%s", path);
    int m = (flags & FS_TMP_PID)
                ? snprintf(a->tmp, sizeof a->tmp, "%s.tmp.%ld", path, (long)getpid())
                : snprintf(a->tmp, sizeof a->tmp, "%s.tmp", path);
    if (k < 0 || (size_t)k >= sizeof a->path || m < 0 || (size_t)m >= sizeof a->tmp) {
        errno = ENAMETOOLONG;
        return err_at(err, errlen, path, "path too long");
    }
    a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (a->fd < 0) {
        int e = errno;
        err_at(err, errlen, a->tmp, "cannot create: %s", strerror(e));
        errno = e;
        return -1;
    }
    return 0;
}

/* Removes the temporary file after a failure, keeping the failure's errno. */
static int fail(fs_atomic *a) {
    int e = errno;
    if (a->fd >= 0) close(a->fd);
    a->fd = -1;
    unlink(a->tmp);
    errno = e;
    return -1;
}

int fs_atomic_write(fs_atomic *a, const void *data, size_t len, char *err, size_t errlen) {
    const uint8_t *p = data;
    while (len > 0) {
        /* Chunks of at most 1 GiB: Linux writes at most 2 GiB - 4 KiB per call anyway. */
        size_t chunk = len > (1u << 30) ? (1u << 30) : len;
        ssize_t w = write(a->fd, p, chunk);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            err_at(err, errlen, a->tmp, "write failed: %s", strerror(errno));
            return fail(a);
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int fs_atomic_commit(fs_atomic *a, char *err, size_t errlen) {
    if ((a->flags & FS_SYNC) && fsync(a->fd) != 0) {
        err_at(err, errlen, a->tmp, "write failed: %s", strerror(errno));
        return fail(a);
    }
    int rc = close(a->fd);
    a->fd = -1;
    if (rc != 0) {
        err_at(err, errlen, a->tmp, "write failed: %s", strerror(errno));
        return fail(a);
    }
    if (rename(a->tmp, a->path) != 0) {
        err_at(err, errlen, a->path, "rename failed: %s", strerror(errno));
        return fail(a);
    }
    if (a->flags & FS_SYNC) {
        char dir[PATH_MAX];
        parent_of(a->path, dir);
        if (fs_fsync_dir(dir) != 0) {
            int e = errno;
            err_at(err, errlen, dir, "fsync failed: %s", strerror(e));
            errno = e;
            return -1;
        }
    }
    return 0;
}

void fs_atomic_abort(fs_atomic *a) {
    fail(a);
}

int fs_write_atomic(const char *path, const void *data, size_t len, int flags, char *err,
                    size_t errlen) {
    fs_atomic a;
    if (fs_atomic_open(&a, path, flags, err, errlen) != 0) return -1;
    if (fs_atomic_write(&a, data, len, err, errlen) != 0) return -1;
    return fs_atomic_commit(&a, err, errlen);
}
