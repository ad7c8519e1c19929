/* common/err.h — the error out-parameter every module uses (prefix err_): a function that
 * can fail takes (char *err, size_t errlen) and, on failure, writes one line there and
 * returns -1 (redis's anet.c style: the caller owns the buffer, nothing global). A NULL
 * err or a zero errlen is allowed and writes nothing. Messages are cut at errlen - 1
 * bytes, never overrun. */
#ifndef RD_COMMON_ERR_H
#define RD_COMMON_ERR_H

#include <stdarg.h>
#include <stddef.h>

/* Formats the message into err and returns -1, so that a failing function can
 * `return err_set(err, errlen, "...", ...);`. */
int err_set(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "WHERE: message" — where a path, a "file:line:col" or a key names what the error is
 * about; a NULL where writes the message alone. Returns -1. When WHERE alone does not fit,
 * err holds WHERE cut short. */
int err_at(char *err, size_t errlen, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* err_at with a va_list, for a module's own failure helper that adds a position. */
int err_vat(char *err, size_t errlen, const char *where, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

#endif
