/* common/fs.h — the file-system steps that make the run directory crash-safe (prefix
 * fs_): `mkdir -p`, a file replaced atomically (temporary file, optional fsync, rename,
 * optional fsync of the folder) and the fsync of a folder. docs/design/run-directory.md
 * says which file of a run is written how. Errors: -1 with errno set and, where the
 * function takes (err, errlen), a "PATH: reason" line there (common/err.h). */
#ifndef RD_COMMON_FS_H
#define RD_COMMON_FS_H

#include <limits.h>
#include <stddef.h>

/* Flags of fs_mkdir_p and of an atomic write. */
enum {
    /* Durable: an atomic write fsyncs the file before its rename and the folder after it;
     * fs_mkdir_p fsyncs the parent of each folder it creates. Without it the result is
     * atomic for readers but may be lost, whole, in a power cut. */
    FS_SYNC = 1,
    /* The temporary file is PATH.tmp.<pid>, so that a cleaner can tell a dead writer's
     * leftover from a live writer's file; without it, PATH.tmp (one writer per path, and a
     * leftover is simply overwritten by the next write). */
    FS_TMP_PID = 2,
};

/* Creates path and each missing parent (mode 0755). 0 when path is (now) a folder; -1 with
 * errno (ENOTDIR when it exists as something else, ENAMETOOLONG beyond PATH_MAX). */
int fs_mkdir_p(const char *path, int flags);

/* fsync of a folder, so that a rename or a creation in it is durable. A file system that
 * cannot fsync a folder (EINVAL, EROFS) counts as success: the rename is then as durable
 * as it allows. 0 or -1 with errno. */
int fs_fsync_dir(const char *dir);

/* An atomic replacement in progress: fs_atomic_open, any number of fs_atomic_write, then
 * fs_atomic_commit (readers see the new file whole) or fs_atomic_abort (they never see
 * it). On any failure the temporary file is removed and the old file left as it was. */
typedef struct {
    int fd;
    int flags;
    char path[PATH_MAX];
    char tmp[PATH_MAX + 32];
} fs_atomic;

int fs_atomic_open(fs_atomic *a, const char *path, int flags, char *err, size_t errlen);
int fs_atomic_write(fs_atomic *a, const void *data, size_t len, char *err, size_t errlen);
int fs_atomic_commit(fs_atomic *a, char *err, size_t errlen);
void fs_atomic_abort(fs_atomic *a);

/* The whole sequence for `len` bytes at data. 0 or -1. */
int fs_write_atomic(const char *path, const void *data, size_t len, int flags, char *err,
                    size_t errlen);

#endif
