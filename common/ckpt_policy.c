/* common/ckpt_policy.c — loading a policy's weights from a checkpoint: only the header and
 * the ONLINE section are read and verified, so that the server can load a model on its event
 * loop (see common/ckpt.h). The container itself is common/ckpt.c. */
#include "common/ckpt_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crc32c.h"
#include "common/err.h"
#include "common/le.h"

int ckpt_load_policy(const char *path, const cfg_config *cfg, policy_t *p, ckpt_info *info,
                     char *err, size_t errlen) {
    struct stat st;
    int fd = ckpt_open_regular(path, &st, err, errlen);
    if (fd < 0) return -1;
    int rc = -1;
    uint8_t *sec = NULL;
    char why[256];
    ckpt_meta *m = malloc(sizeof *m);
    if (!m) {
        err_at(err, errlen, path, "out of memory");
        goto done;
    }
    /* Only the header and the ONLINE section are read: the server loads weights on the
     * event loop, and a checkpoint with its replay buffer is tens of megabytes. The header
     * CRC and the section's own CRC vouch for what is used. */
    if (ckpt_read_header(fd, (uint64_t)st.st_size, m, why, sizeof why) != 0 ||
        ckpt_check_hash(m, cfg_hash(cfg), why, sizeof why) != 0) {
        err_at(err, errlen, path, "%s", why);
        goto done;
    }
    const ckpt_entry *s = ckpt_find(m, CKPT_TAG_ONLINE);
    size_t want = policy_num_params(p) * sizeof(float);
    if (!s) {
        err_at(err, errlen, path, "no ONLN (online network) section");
        goto done;
    }
    if (s->len != want) {
        err_at(err, errlen, path,
               "ONLN section holds %" PRIu64 " bytes, the network has %zu parameters (%zu "
               "bytes)",
               s->len, policy_num_params(p), want);
        goto done;
    }
    sec = malloc(want ? want : 1);
    if (!sec) {
        err_at(err, errlen, path, "out of memory");
        goto done;
    }
    if (ckpt_read_full(fd, sec, want, s->off) != 0) {
        err_at(err, errlen, path, "read failed: %s",
               errno ? strerror(errno) : "file shrank while reading");
        goto done;
    }
    if (crc32c_update(0, sec, want) != s->crc) {
        err_at(err, errlen, path, "CRC mismatch in section 'ONLN' (file corrupt)");
        goto done;
    }
    /* Verified: only now overwrite the caller's weights, so that a refused file leaves the
     * policy it had. */
    float *w = policy_params(p);
    for (size_t i = 0; i < policy_num_params(p); i++) {
        uint32_t v = le_get32(sec + 4 * i);
        memcpy(&w[i], &v, sizeof v);
    }
    if (info) {
        char dir[CFG_PATH_MAX], latest[CKPT_POINTER_MAX], best[CKPT_POINTER_MAX];
        const char *fname = ckpt_split_path(path, dir, sizeof dir);
        bool hl = ckpt_read_pointer(dir, "latest", latest, sizeof latest) == 0;
        bool hb = ckpt_read_pointer(dir, "best", best, sizeof best) == 0;
        ckpt_fill_info(info, dir, fname, path, m, &st, hl ? latest : NULL, hb ? best : NULL);
    }
    rc = 0;
done:
    free(sec);
    free(m);
    close(fd);
    return rc;
}
