/* common/pdeath.h — a child of run_demo dies with its parent (prefix pdeath_): the process
 * contract (docs/design/processes.md) gives every child RD_PARENT_PID, the pid of its real
 * parent (rd_exec). Called first thing in main(). */
#ifndef RD_COMMON_PDEATH_H
#define RD_COMMON_PDEATH_H

#include <stdbool.h>

/* When RD_PARENT_PID is set, asks the kernel for signal `sig` when the parent dies
 * (PR_SET_PDEATHSIG), then checks that the parent is still the one named: a parent that
 * died before the request was made would never send it. Returns false when that parent is
 * already gone (the caller should exit at once), true otherwise — including when
 * RD_PARENT_PID is not set (run by hand: nothing to watch). */
bool pdeath_arm(int sig);

#endif
