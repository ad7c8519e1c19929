/* tests/support/tpaths.c — see tpaths.h. */
#include "tests/support/tpaths.h"

#include <stdlib.h>

const char *tpaths_bin_dir(void) {
    return getenv("RD_BIN_DIR") ? getenv("RD_BIN_DIR") : RD_BIN_DIR;
}

const char *tpaths_source_dir(void) {
    return getenv("RD_SOURCE_DIR") ? getenv("RD_SOURCE_DIR") : RD_SOURCE_DIR;
}
