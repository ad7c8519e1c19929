/* common/json.h — the one way hand-built JSON is written, and a validator for JSON from
 * outside (prefix json_).
 *
 * The writer appends to a buffer that either grows (json_init_dyn) or is fixed
 * (json_init_fixed); a fixed buffer saturates: once a write does not fit, the buffer is
 * marked failed and nothing more is appended, so a caller never sends a cut message (it
 * checks json_ok() / json_finish()). Separators are automatic: a key or a value written
 * after another value in the same object or array gets its comma. Strings are escaped
 * and made valid UTF-8 (bytes that are not, become U+FFFD); numbers that are not finite
 * are written as null. Whatever is fed in, the text out is valid JSON once the caller's
 * opens and closes match.
 *
 * The validator (json_valid) checks a text against RFC 8259 plus UTF-8 (no surrogate
 * escapes left unpaired), without building a tree and without allocating: the server
 * relays what trainers send only when it passes. */
#ifndef RD_COMMON_JSON_H
#define RD_COMMON_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *buf;
    size_t len, cap;
    bool dynamic; /* buf is ours to grow and free */
    bool failed;  /* out of room (fixed) or out of memory (dynamic): the text is unusable */
} json_buf;

/* A buffer over caller storage of cap bytes (the text stays NUL-terminated). */
void json_init_fixed(json_buf *b, char *storage, size_t cap);
/* A growing buffer (free it with json_free). */
void json_init_dyn(json_buf *b);
void json_free(json_buf *b);
/* Empties the buffer for reuse (keeps a dynamic buffer's memory). */
void json_reset(json_buf *b);
static inline bool json_ok(const json_buf *b) {
    return !b->failed;
}
/* The text's length, or -1 when the buffer failed. */
long json_finish(const json_buf *b);

void json_obj_open(json_buf *b);
void json_obj_close(json_buf *b);
void json_arr_open(json_buf *b);
void json_arr_close(json_buf *b);
/* "key": (the key is escaped like any string). */
void json_key(json_buf *b, const char *key);

void json_str(json_buf *b, const char *s);
void json_strn(json_buf *b, const char *s, size_t n);
/* A string, or null when s is NULL. */
void json_str_or_null(json_buf *b, const char *s);
/* Shortest text that reads back as the same double (%.17g); null when not finite. */
void json_num(json_buf *b, double v);
/* Like json_num with `digits` significant digits (for values shown, not stored). */
void json_num_prec(json_buf *b, double v, int digits);
void json_int(json_buf *b, long long v);
void json_bool(json_buf *b, bool v);
void json_null(json_buf *b);
/* Text that is already JSON (a value checked or produced by us), copied verbatim. */
void json_raw(json_buf *b, const char *text, size_t n);
/* Bytes appended as they are, with no separator (for text that is not JSON). */
void json_append(json_buf *b, const char *text, size_t n);

/* Shorthands for "key": value. */
void json_kstr(json_buf *b, const char *key, const char *s);
void json_knum(json_buf *b, const char *key, double v);
void json_kint(json_buf *b, const char *key, long long v);
void json_kbool(json_buf *b, const char *key, bool v);

/* Escapes s into out as a quoted JSON string; always NUL-terminates. Returns the length,
 * or -1 when it did not fit (out then holds "" — a valid empty string). */
int json_quote(const char *s, char *out, size_t cap);

/* True when text[0..len) is exactly one JSON value (surrounding whitespace allowed), valid
 * UTF-8, nested at most max_depth deep. */
bool json_valid(const char *text, size_t len, int max_depth);

/* A double read from outside as an int64 count: NaN and values out of range clamp to
 * [lo, hi] instead of overflowing (a cast of 1e308 is undefined behaviour). */
int64_t json_clamp_i64(double v, int64_t lo, int64_t hi);

#endif
