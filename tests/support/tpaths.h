/* tests/support/tpaths.h — where the tests find the built programs and the source tree
 * (prefix tpaths_): the environment ctest sets (RD_BIN_DIR, RD_SOURCE_DIR), else the
 * directories the build was configured with. */
#ifndef RD_TESTS_TPATHS_H
#define RD_TESTS_TPATHS_H

#include <stddef.h>

/* $RD_BIN_DIR, else the build's bin directory. */
const char *tpaths_bin_dir(void);

/* $RD_SOURCE_DIR, else the configured source tree. */
const char *tpaths_source_dir(void);

#endif
