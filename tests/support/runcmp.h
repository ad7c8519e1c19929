/* tests/support/runcmp.h — what the sweep tests check in run directories (prefix runcmp_):
 * the final training state of two runs, byte for byte, and a run's episode counter. Shared by
 * the local sweep tests and the Slurm backend's. */
#ifndef RD_TESTS_RUNCMP_H
#define RD_TESTS_RUNCMP_H

/* Asserts that a_dir/name and b_dir/name hold the same final state (online and target
 * networks, Adam) in their checkpoint of episode `episodes`. */
void runcmp_expect_same_final(const char *a_dir, const char *b_dir, const char *name,
                              long episodes);

/* dir/name/progress.json's episode (0 when absent). */
long runcmp_episode(const char *dir, const char *name);

#endif
