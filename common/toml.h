/* common/toml.h — a TOML 1.0.0 parser (prefix toml_).
 *
 * toml_parse() turns a document into a tree of toml_value nodes in which every key and
 * every value carries the line and column (1-based, counted in characters) where it was
 * written, so that the config schema can point at the exact spot of a bad value. Errors
 * are one line, "line:col: message", written to a caller buffer.
 *
 * The whole of TOML 1.0.0 is accepted and everything else rejected: the four kinds of
 * strings with every escape, integers in four bases with underscores and overflow checks,
 * floats (inf, nan, exponents), booleans, the four date-time kinds, arrays, inline tables
 * (immutable once written), tables, arrays of tables, dotted keys and every rule against
 * defining a key or a table twice. Input must be valid UTF-8 without control characters
 * (a leading byte-order mark is skipped).
 *
 * Ownership: the tree lives in one arena owned by the root; toml_free(root) releases it
 * all. Nodes are read-only for callers. A parse is independent of any global state and
 * of the locale, so it may run on any thread. */
#ifndef RD_COMMON_TOML_H
#define RD_COMMON_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    TOML_TABLE = 0,
    TOML_ARRAY,
    TOML_STRING,
    TOML_INTEGER,
    TOML_FLOAT,
    TOML_BOOL,
    TOML_DATETIME,       /* offset date-time: 1979-05-27T07:32:00-08:00 */
    TOML_DATETIME_LOCAL, /* 1979-05-27T07:32:00 */
    TOML_DATE_LOCAL,     /* 1979-05-27 */
    TOML_TIME_LOCAL      /* 07:32:00 */
} toml_type;

typedef struct {
    int year, month, day;     /* date kinds */
    int hour, minute, second; /* time kinds; second may be 60 (a leap second) */
    int nanosecond;           /* the fraction, truncated to nanoseconds */
    int frac_digits;          /* digits written after '.', at most 9 kept (0 = none) */
    int offset_minutes;       /* TOML_DATETIME: minutes east of UTC */
    char offset_sign;         /* TOML_DATETIME: 'Z' (written Z or z), '+' or '-' */
} toml_datetime;

typedef struct toml_value toml_value;

/* One key of a table. A dotted key `a.b = 1` makes two entries, each at the position of
 * its own part. */
typedef struct {
    const char *key; /* NUL-terminated; may also contain NULs (from \u0000): use key_len */
    size_t key_len;
    int line, col;
    toml_value *value;
} toml_entry;

struct toml_value {
    toml_type type;
    int line, col; /* where the value starts; for a table, where it was first named */
    union {
        struct {
            const char *ptr; /* NUL-terminated; may contain NULs: use len */
            size_t len;
        } s;
        int64_t i;
        double f;
        bool b;
        toml_datetime dt;
        struct {
            toml_value **items;
            size_t len, cap;
        } arr;
        struct {
            toml_entry *items; /* in document order */
            size_t len, cap;
            uint32_t *index; /* private: hash index of big tables */
            size_t index_cap;
        } tab;
    } u;
    unsigned char kind; /* private: how the table or array was defined */
};

/* Parses len bytes of text. Returns the root table, or NULL with "line:col: message" in
 * err. Free the result with toml_free(). */
toml_value *toml_parse(const char *text, size_t len, char *err, size_t errlen);

/* Frees a tree returned by toml_parse() (NULL is fine). Only the root may be passed. */
void toml_free(toml_value *root);

/* The entry for `key` in table t, or NULL (also when t is not a table). */
const toml_entry *toml_table_find(const toml_value *t, const char *key);

/* "table", "array", "string", "integer", "float", "boolean", "offset date-time",
 * "local date-time", "local date", "local time". */
const char *toml_type_name(toml_type type);

#endif
