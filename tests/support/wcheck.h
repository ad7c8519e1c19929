/* tests/support/wcheck.h — checks the `world` object of a server message against the
 * config it was made from (prefix wcheck_; docs/PROTOCOL.md §5.1 "world"). Shared by the
 * training and inference tests, which both get the object. */
#ifndef RD_TESTS_WCHECK_H
#define RD_TESTS_WCHECK_H

#include <stddef.h>

#include "common/cfg.h"

/* Parses msg (one JSON message holding "world") and compares every field of its world with
 * cfg: grid, level, max_steps, day cycle, meter names in order with their initial values
 * and critical thresholds, every affordance in order (name, position, cost, hours and ticks
 * as the environment applies them, effects) and the action names. 0, or -1 with the first
 * difference in err. */
int wcheck_world(const char *msg, const cfg_config *cfg, char *err, size_t errlen);

#endif
