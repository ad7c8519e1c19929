/* orchestrator/errmsg.h — the error message out-parameter of the orchestrator's functions
 * (prefix errmsg_): (char *err, size_t errlen), filled with one printf-formatted line. */
#ifndef RD_ORCH_ERRMSG_H
#define RD_ORCH_ERRMSG_H

#include <stddef.h>

/* Formats the message into err (truncated to errlen) and returns -1, so that a failing
 * function can `return errmsg_fail(err, errlen, "...", ...);`. */
int errmsg_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
