/* common/err.c — see err.h. */
#include "common/err.h"

#include <stdio.h>

int err_set(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

int err_vat(char *err, size_t errlen, const char *where, const char *fmt, va_list ap) {
    if (!err || errlen == 0) return -1;
    int n = where ? snprintf(err, errlen, "%s: ", where) : 0;
    if (n < 0 || (size_t)n >= errlen) return -1;
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    return -1;
}

int err_at(char *err, size_t errlen, const char *where, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    err_vat(err, errlen, where, fmt, ap);
    va_end(ap);
    return -1;
}
