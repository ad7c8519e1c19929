/* tests/support/scratch.h — scratch files and directories for the tests (prefix scratch_). */
#ifndef RD_TESTS_SCRATCH_H
#define RD_TESTS_SCRATCH_H

/* Removes path: a file, or a directory with everything under it (symlinks are removed,
 * never followed). Absent: nothing happens. */
void scratch_rm_rf(const char *path);

/* Writes text to path (created or truncated). A fixture that cannot be written ends the
 * test program: the message names the path and the error. */
void scratch_write(const char *path, const char *text);

#endif
