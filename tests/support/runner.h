/* tests/support/runner.h — runs a Check suite the way every test program's main() does
 * (prefix runner_): one runner, CK_NORMAL output, the count of failed tests. */
#ifndef RD_TESTS_RUNNER_H
#define RD_TESTS_RUNNER_H

#include <check.h>

/* Runs every test of s (the runner takes ownership of s) and returns how many failed. */
int runner_run(Suite *s);

#endif
