/* tests/support/ckgen.h — checkpoints for the server's tests (prefix ckgen_): a policy
 * drawn from a seed, saved in a checkpoints/ folder as the trainer would save it. */
#ifndef RD_TESTS_CKGEN_H
#define RD_TESTS_CKGEN_H

#include <stdint.h>

/* Writes ck_dir/<name>.ckpt (the built-in config's policy, weights from seed, `latest`
 * pointing at it). A checkpoint that cannot be written fails the test (Check). */
void ckgen_save(const char *ck_dir, const char *name, int64_t episode, uint64_t seed);

#endif
