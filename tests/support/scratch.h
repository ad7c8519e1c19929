/* tests/support/scratch.h — scratch files and directories for the tests (prefix scratch_). */
#ifndef RD_TESTS_SCRATCH_H
#define RD_TESTS_SCRATCH_H

/* Removes path: a file, or a directory with everything under it (symlinks are removed,
 * never followed). Absent: nothing happens. */
void scratch_rm_rf(const char *path);

#endif
