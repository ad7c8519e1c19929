/* common/pdeath.c — see pdeath.h. */
#include "common/pdeath.h"

#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

bool pdeath_arm(int sig) {
    const char *parent = getenv("RD_PARENT_PID");
    if (!parent) return true;
    prctl(PR_SET_PDEATHSIG, sig);
    return (long)getppid() == atol(parent);
}
