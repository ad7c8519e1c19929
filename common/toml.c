/* common/toml.c — a TOML 1.0.0 parser. See common/toml.h.
 *
 * A single pass of recursive descent over the bytes, after one pass that validates the
 * encoding (so that the parser proper may assume well-formed UTF-8 without control
 * characters). Every node is allocated from one arena, which makes error paths trivial:
 * a failed parse just drops the arena. */
#include "common/toml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

/* Nesting limits keep recursion (here and in every tree walker) bounded on hostile input:
 * arrays and inline tables nest at most TOML_MAX_NEST deep, keys have at most
 * TOML_MAX_KEY_PARTS parts. */
#define TOML_MAX_NEST      100
#define TOML_MAX_KEY_PARTS 100

/* How a table or an array came to be; the redefinition rules of TOML hang on it. */
enum {
    KIND_NONE = 0,
    KIND_IMPLICIT, /* table named as a prefix of a [header]: may be defined once later */
    KIND_HEADER,   /* table defined by [header] or [[header]]: never again */
    KIND_DOTTED,   /* table made by dotted keys: only more dotted keys in the same place */
    KIND_INLINE,   /* inline table or a table inside one: frozen */
    KIND_STATIC,   /* array written as a value: frozen */
    KIND_AOT       /* array of tables: [[header]] appends to it */
};

/* ---- arena ---------------------------------------------------------------------------- */

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, size;
    max_align_t data[];
} arena_chunk;

typedef struct {
    arena_chunk *head;
} arena;

static void *arena_alloc(arena *a, size_t n) {
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (!a->head || a->head->size - a->head->used < n) {
        size_t size = n > 16384 ? n : 16384;
        arena_chunk *c = malloc(sizeof *c + size);
        if (!c) return NULL;
        c->next = a->head;
        c->used = 0;
        c->size = size;
        a->head = c;
    }
    void *p = (char *)a->head->data + a->head->used;
    a->head->used += n;
    return p;
}

static void arena_free(arena *a) {
    arena_chunk *c = a->head;
    while (c) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}

/* The root table lives in the arena behind this header so toml_free() can find it. */
typedef struct {
    arena a;
    toml_value root;
} toml_doc;

/* ---- parser state --------------------------------------------------------------------- */

typedef struct {
    const char *key; /* arena copy */
    size_t len;
    int line, col;
} key_part;

typedef struct {
    const char *s;
    size_t len, pos;
    int line, col;
    char *err;
    size_t errlen;
    bool failed;
    arena *a;
    toml_value *root;
    toml_value *cur; /* the table that key/value pairs go into */
    int nest;        /* arrays and inline tables open around the current value */
    /* scratch for building strings; grown with realloc, freed at the end */
    char *buf;
    size_t buf_len, buf_cap;
} parser;

static int fail_at(parser *p, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(parser *p, int line, int col, const char *fmt, ...) {
    if (p->failed) return -1;
    p->failed = true;
    char where[32];
    snprintf(where, sizeof where, "%d:%d", line, col);
    va_list ap;
    va_start(ap, fmt);
    err_vat(p->err, p->errlen, where, fmt, ap);
    va_end(ap);
    return -1;
}

#define fail(p, ...) fail_at((p), (p)->line, (p)->col, __VA_ARGS__)

static bool at_end(const parser *p) {
    return p->pos >= p->len;
}

static int peek(const parser *p) {
    return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static int peek_at(const parser *p, size_t off) {
    return p->pos + off < p->len ? (unsigned char)p->s[p->pos + off] : -1;
}

/* Consumes one byte, keeping line and column (columns count characters, so UTF-8
 * continuation bytes do not move it). */
static void adv(parser *p) {
    unsigned char c = (unsigned char)p->s[p->pos++];
    if (c == '\n') {
        p->line++;
        p->col = 1;
    } else if ((c & 0xC0) != 0x80) {
        p->col++;
    }
}

static void advn(parser *p, size_t n) {
    while (n--) adv(p);
}

/* Describes the next character for "expected X, found Y" messages. */
static const char *found(const parser *p, char *tmp, size_t tmplen) {
    int c = peek(p);
    if (c < 0) return "end of input";
    if (c == '\n' || c == '\r') return "end of line";
    if (c > 0x20 && c < 0x7F) {
        snprintf(tmp, tmplen, "'%c'", c);
        return tmp;
    }
    if (c == ' ') return "' '";
    if (c == '\t') return "a tab";
    return "a non-ASCII character";
}

static void skip_ws(parser *p) {
    while (peek(p) == ' ' || peek(p) == '\t') adv(p);
}

static void skip_comment(parser *p) {
    if (peek(p) != '#') return;
    while (!at_end(p) && peek(p) != '\n' && peek(p) != '\r') adv(p);
}

/* Consumes LF or CRLF; false if the next thing is not a newline. */
static bool eat_newline(parser *p) {
    if (peek(p) == '\n') {
        adv(p);
        return true;
    }
    if (peek(p) == '\r' && peek_at(p, 1) == '\n') {
        advn(p, 2);
        return true;
    }
    return false;
}

/* Whitespace, comments and newlines, as allowed between array elements. */
static void skip_ws_nl(parser *p) {
    for (;;) {
        skip_ws(p);
        skip_comment(p);
        if (!eat_newline(p)) return;
    }
}

/* ---- encoding ------------------------------------------------------------------------- */

/* Validates the whole text once: well-formed UTF-8 (no overlongs, surrogates or values
 * past U+10FFFF), no control characters but tab and newlines, CR only before LF. */
static int check_encoding(parser *p) {
    const unsigned char *s = (const unsigned char *)p->s;
    size_t n = p->len, i = 0;
    int line = 1, col = 1;
    while (i < n) {
        unsigned char c = s[i];
        size_t len = 1;
        if (c < 0x80) {
            if (c == '\r' && (i + 1 >= n || s[i + 1] != '\n'))
                return fail_at(p, line, col, "carriage return not followed by a newline");
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F)
                return fail_at(p, line, col, "control character U+%04X is not allowed", c);
        } else {
            unsigned char lo = 0x80, hi = 0xBF;
            if (c >= 0xC2 && c <= 0xDF) {
                len = 2;
            } else if (c >= 0xE0 && c <= 0xEF) {
                len = 3;
                if (c == 0xE0) lo = 0xA0;
                if (c == 0xED) hi = 0x9F; /* surrogates */
            } else if (c >= 0xF0 && c <= 0xF4) {
                len = 4;
                if (c == 0xF0) lo = 0x90;
                if (c == 0xF4) hi = 0x8F; /* past U+10FFFF */
            } else {
                return fail_at(p, line, col, "invalid UTF-8");
            }
            if (i + len > n) return fail_at(p, line, col, "invalid UTF-8");
            if (s[i + 1] < lo || s[i + 1] > hi) return fail_at(p, line, col, "invalid UTF-8");
            for (size_t k = 2; k < len; k++)
                if ((s[i + k] & 0xC0) != 0x80) return fail_at(p, line, col, "invalid UTF-8");
        }
        if (c == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
        i += len;
    }
    return 0;
}

/* ---- tree building -------------------------------------------------------------------- */

static toml_value *new_value(parser *p, toml_type type, int line, int col) {
    toml_value *v = arena_alloc(p->a, sizeof *v);
    if (!v) {
        fail_at(p, line, col, "out of memory");
        return NULL;
    }
    memset(v, 0, sizeof *v);
    v->type = type;
    v->line = line;
    v->col = col;
    return v;
}

static char *arena_strdup(parser *p, const char *s, size_t len) {
    char *d = arena_alloc(p->a, len + 1);
    if (!d) {
        fail(p, "out of memory");
        return NULL;
    }
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

/* Tables past this many keys get a hash index, so that a document with many keys does
 * not take quadratic time. */
#define INDEX_MIN 16

static uint64_t key_hash(const char *key, size_t len) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)key[i]) * 0x100000001b3ULL;
    return h;
}

static toml_entry *table_lookup(const toml_value *t, const char *key, size_t len) {
    if (t->u.tab.index) {
        size_t mask = t->u.tab.index_cap - 1;
        for (size_t i = key_hash(key, len) & mask;; i = (i + 1) & mask) {
            uint32_t slot = t->u.tab.index[i];
            if (slot == 0) return NULL;
            toml_entry *e = &t->u.tab.items[slot - 1];
            if (e->key_len == len && memcmp(e->key, key, len) == 0) return e;
        }
    }
    for (size_t i = 0; i < t->u.tab.len; i++) {
        toml_entry *e = &t->u.tab.items[i];
        if (e->key_len == len && memcmp(e->key, key, len) == 0) return e;
    }
    return NULL;
}

static void index_put(toml_value *t, size_t entry) {
    size_t mask = t->u.tab.index_cap - 1;
    const toml_entry *e = &t->u.tab.items[entry];
    size_t i = key_hash(e->key, e->key_len) & mask;
    while (t->u.tab.index[i]) i = (i + 1) & mask;
    t->u.tab.index[i] = (uint32_t)(entry + 1);
}

/* Grows an arena array of n-byte items: the old block stays in the arena (wasting at
 * most as much as is in use, since capacities double). */
static void *grow(parser *p, void *items, size_t *cap, size_t len, size_t size) {
    if (len < *cap) return items;
    size_t ncap = *cap ? *cap * 2 : 4;
    void *n = arena_alloc(p->a, ncap * size);
    if (!n) {
        fail(p, "out of memory");
        return NULL;
    }
    if (len) memcpy(n, items, len * size);
    *cap = ncap;
    return n;
}

static int table_add(parser *p, toml_value *t, const key_part *k, toml_value *v) {
    toml_entry *items = grow(p, t->u.tab.items, &t->u.tab.cap, t->u.tab.len, sizeof *items);
    if (!items) return -1;
    t->u.tab.items = items;
    toml_entry *e = &items[t->u.tab.len++];
    e->key = k->key;
    e->key_len = k->len;
    e->line = k->line;
    e->col = k->col;
    e->value = v;
    size_t n = t->u.tab.len;
    if (n < INDEX_MIN) return 0;
    if (n * 2 > t->u.tab.index_cap) {
        /* Rebuild at a quarter full; the old index stays in the arena like old items. */
        size_t cap = 64;
        while (cap < n * 4) cap *= 2;
        uint32_t *index = arena_alloc(p->a, cap * sizeof *index);
        if (!index) return fail(p, "out of memory");
        memset(index, 0, cap * sizeof *index);
        t->u.tab.index = index;
        t->u.tab.index_cap = cap;
        for (size_t i = 0; i < n; i++) index_put(t, i);
    } else {
        index_put(t, n - 1);
    }
    return 0;
}

static int array_add(parser *p, toml_value *a, toml_value *v) {
    toml_value **items = grow(p, a->u.arr.items, &a->u.arr.cap, a->u.arr.len, sizeof *items);
    if (!items) return -1;
    a->u.arr.items = items;
    items[a->u.arr.len++] = v;
    return 0;
}

/* Writes parts[0..n) as a dotted key for messages, quoting parts that are not bare. */
static const char *key_name(const key_part *parts, int n, char *buf, size_t size) {
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && o + 1 < size; i++) {
        bool bare = parts[i].len > 0;
        for (size_t k = 0; k < parts[i].len; k++) {
            char c = parts[i].key[k];
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-'))
                bare = false;
        }
        int w = snprintf(buf + o, size - o, "%s%s%.*s%s", i ? "." : "", bare ? "" : "\"",
                         (int)parts[i].len, parts[i].key, bare ? "" : "\"");
        if (w < 0) break;
        o += (size_t)w;
        if (o >= size) o = size - 1;
    }
    return buf;
}

/* "an integer", "an inline table", ... for messages about what a key already holds. */
static const char *describe(const toml_value *x) {
    switch (x->type) {
        case TOML_TABLE:
            return x->kind == KIND_INLINE ? "an inline table" : "a table";
        case TOML_ARRAY:
            return x->kind == KIND_AOT ? "an array of tables" : "an array";
        case TOML_STRING:
            return "a string";
        case TOML_INTEGER:
            return "an integer";
        case TOML_FLOAT:
            return "a float";
        case TOML_BOOL:
            return "a boolean";
        case TOML_DATETIME:
            return "an offset date-time";
        case TOML_DATETIME_LOCAL:
            return "a local date-time";
        case TOML_DATE_LOCAL:
            return "a local date";
        case TOML_TIME_LOCAL:
            return "a local time";
    }
    return "a value";
}

/* ---- scratch buffer ------------------------------------------------------------------- */

static int buf_put(parser *p, const char *s, size_t n) {
    if (p->buf_len + n + 1 > p->buf_cap) {
        size_t ncap = p->buf_cap ? p->buf_cap : 256;
        while (ncap < p->buf_len + n + 1) ncap *= 2;
        char *nb = realloc(p->buf, ncap);
        if (!nb) return fail(p, "out of memory");
        p->buf = nb;
        p->buf_cap = ncap;
    }
    memcpy(p->buf + p->buf_len, s, n);
    p->buf_len += n;
    return 0;
}

static int buf_putc(parser *p, char c) {
    return buf_put(p, &c, 1);
}

/* ---- strings -------------------------------------------------------------------------- */

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Parses the escape at the backslash under the cursor into the scratch buffer. */
static int parse_escape(parser *p) {
    int line = p->line, col = p->col;
    adv(p); /* the backslash */
    int c = peek(p);
    const char *simple = NULL;
    switch (c) {
        case 'b':
            simple = "\b";
            break;
        case 't':
            simple = "\t";
            break;
        case 'n':
            simple = "\n";
            break;
        case 'f':
            simple = "\f";
            break;
        case 'r':
            simple = "\r";
            break;
        case '"':
            simple = "\"";
            break;
        case '\\':
            simple = "\\";
            break;
        case 'u':
        case 'U':
            break;
        default:
            if (c > 0x20 && c < 0x7F)
                return fail_at(p, line, col, "invalid escape sequence '\\%c'", c);
            return fail_at(p, line, col, "invalid escape sequence");
    }
    adv(p);
    if (simple) return buf_putc(p, simple[0]);
    int digits = c == 'u' ? 4 : 8;
    uint32_t cp = 0;
    for (int i = 0; i < digits; i++) {
        int h = hexval(peek(p));
        if (h < 0) return fail_at(p, line, col, "'\\%c' needs %d hexadecimal digits", c, digits);
        cp = cp * 16 + (uint32_t)h;
        adv(p);
    }
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return fail_at(p, line, col, "escape '\\%c%0*X' is not a Unicode scalar value", c, digits,
                       cp);
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_put(p, u, n);
}

/* Parses any of the four string forms at the cursor into the scratch buffer.
 * `allow_multi` is false for keys, which may only be single-line strings. */
static int parse_string_raw(parser *p, bool allow_multi) {
    int line = p->line, col = p->col;
    char q = (char)peek(p);
    bool basic = q == '"';
    bool multi = peek_at(p, 1) == q && peek_at(p, 2) == q;
    p->buf_len = 0;
    if (multi && !allow_multi) return fail(p, "a key cannot be a multi-line string");
    if (!multi) {
        adv(p);
        for (;;) {
            int c = peek(p);
            if (c < 0) return fail_at(p, line, col, "unterminated string");
            if (c == '\n' || c == '\r')
                return fail(p, "newline in a single-line string (use \"\"\" for multi-line)");
            if (c == q) {
                adv(p);
                return 0;
            }
            if (basic && c == '\\') {
                if (parse_escape(p)) return -1;
                continue;
            }
            if (buf_putc(p, (char)c)) return -1;
            adv(p);
        }
    }
    advn(p, 3);
    /* A newline right after the opening delimiter is trimmed. */
    eat_newline(p);
    for (;;) {
        int c = peek(p);
        if (c < 0) return fail_at(p, line, col, "unterminated multi-line string");
        if (c == q) {
            size_t run = 0;
            while (peek_at(p, run) == q) run++;
            if (run < 3) {
                for (size_t i = 0; i < run; i++)
                    if (buf_putc(p, q)) return -1;
                advn(p, run);
                continue;
            }
            if (run > 5)
                return fail(p, "too many quotes: at most two may precede the closing delimiter");
            for (size_t i = 0; i < run - 3; i++)
                if (buf_putc(p, q)) return -1;
            advn(p, run);
            return 0;
        }
        if (c == '\r' && peek_at(p, 1) == '\n') {
            /* Newlines are normalised to LF. */
            advn(p, 2);
            if (buf_putc(p, '\n')) return -1;
            continue;
        }
        if (basic && c == '\\') {
            /* A line-ending backslash trims the newline and the whitespace after it. */
            size_t k = 1;
            while (peek_at(p, k) == ' ' || peek_at(p, k) == '\t') k++;
            if (peek_at(p, k) == '\n' || (peek_at(p, k) == '\r' && peek_at(p, k + 1) == '\n')) {
                advn(p, k);
                for (;;) {
                    int w = peek(p);
                    if (w == ' ' || w == '\t' || w == '\n')
                        adv(p);
                    else if (w == '\r' && peek_at(p, 1) == '\n')
                        advn(p, 2);
                    else
                        break;
                }
                continue;
            }
            if (parse_escape(p)) return -1;
            continue;
        }
        if (buf_putc(p, (char)c)) return -1;
        adv(p);
    }
}

/* ---- keys ----------------------------------------------------------------------------- */

static bool is_bare(int c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

static int parse_simple_key(parser *p, key_part *k) {
    char tmp[8];
    k->line = p->line;
    k->col = p->col;
    int c = peek(p);
    if (c == '"' || c == '\'') {
        if (parse_string_raw(p, false)) return -1;
        k->key = arena_strdup(p, p->buf ? p->buf : "", p->buf_len);
        k->len = p->buf_len;
        return k->key ? 0 : -1;
    }
    size_t start = p->pos;
    while (is_bare(peek(p))) adv(p);
    if (p->pos == start) return fail(p, "expected a key, found %s", found(p, tmp, sizeof tmp));
    k->len = p->pos - start;
    k->key = arena_strdup(p, p->s + start, k->len);
    return k->key ? 0 : -1;
}

/* Parses a possibly dotted key into parts[]; returns the number of parts or -1. */
static int parse_key(parser *p, key_part *parts) {
    int n = 0;
    for (;;) {
        if (n == TOML_MAX_KEY_PARTS) return fail(p, "key has too many parts");
        if (parse_simple_key(p, &parts[n])) return -1;
        n++;
        skip_ws(p);
        if (peek(p) != '.') return n;
        adv(p);
        skip_ws(p);
    }
}

/* ---- numbers and dates ---------------------------------------------------------------- */

static bool is_digit(int c) {
    return c >= '0' && c <= '9';
}

static bool is_token_char(int c) {
    return is_bare(c) || c == '+' || c == '.' || c == ':';
}

/* Reads `n` digits at s as a number, or -1. */
static int digits_at(const char *s, size_t len, size_t at, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (at + (size_t)i >= len || !is_digit(s[at + (size_t)i])) return -1;
        v = v * 10 + (s[at + (size_t)i] - '0');
    }
    return v;
}

static bool looks_like_date(const char *s, size_t len) {
    return len >= 10 && digits_at(s, len, 0, 4) >= 0 && s[4] == '-' &&
           digits_at(s, len, 5, 2) >= 0 && s[7] == '-' && digits_at(s, len, 8, 2) >= 0;
}

static bool looks_like_time(const char *s, size_t len) {
    return len >= 3 && is_digit(s[0]) && is_digit(s[1]) && s[2] == ':';
}

static int days_in_month(int y, int m) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return days[m - 1];
}

static int parse_datetime(parser *p, const char *s, size_t len, int line, int col,
                          toml_value **out) {
    toml_datetime dt;
    memset(&dt, 0, sizeof dt);
    size_t i = 0;
    bool has_date = false, has_time = false;
    toml_type type;
    if (looks_like_date(s, len)) {
        has_date = true;
        dt.year = digits_at(s, len, 0, 4);
        dt.month = digits_at(s, len, 5, 2);
        dt.day = digits_at(s, len, 8, 2);
        if (dt.month < 1 || dt.month > 12)
            return fail_at(p, line, col, "invalid date: month %02d", dt.month);
        if (dt.day < 1 || dt.day > days_in_month(dt.year, dt.month))
            return fail_at(p, line, col, "invalid date: %04d-%02d has no day %02d", dt.year,
                           dt.month, dt.day);
        i = 10;
        if (i < len) {
            if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
                return fail_at(p, line, col, "invalid date-time");
            i++;
            has_time = true;
        }
    } else {
        has_time = true;
    }
    if (has_time) {
        dt.hour = digits_at(s, len, i, 2);
        dt.minute = digits_at(s, len, i + 3, 2);
        dt.second = digits_at(s, len, i + 6, 2);
        if (dt.hour < 0 || dt.minute < 0 || dt.second < 0 || s[i + 2] != ':' || s[i + 5] != ':')
            return fail_at(p, line, col, "invalid time: expected HH:MM:SS");
        if (dt.hour > 23 || dt.minute > 59 || dt.second > 60)
            return fail_at(p, line, col, "invalid time: %02d:%02d:%02d out of range", dt.hour,
                           dt.minute, dt.second);
        i += 8;
        if (i < len && s[i] == '.') {
            i++;
            if (i >= len || !is_digit(s[i]))
                return fail_at(p, line, col, "invalid time: digits expected after '.'");
            int scale = 100000000;
            while (i < len && is_digit(s[i])) {
                if (dt.frac_digits < 9) {
                    dt.nanosecond += (s[i] - '0') * scale;
                    scale /= 10;
                    dt.frac_digits++;
                }
                i++;
            }
        }
        type = has_date ? TOML_DATETIME_LOCAL : TOML_TIME_LOCAL;
        if (has_date && i < len) {
            if (s[i] == 'Z' || s[i] == 'z') {
                dt.offset_sign = 'Z';
                i++;
            } else if (s[i] == '+' || s[i] == '-') {
                int oh = digits_at(s, len, i + 1, 2), om = digits_at(s, len, i + 4, 2);
                if (oh < 0 || om < 0 || s[i + 3] != ':')
                    return fail_at(p, line, col, "invalid time offset: expected +HH:MM");
                if (oh > 23 || om > 59)
                    return fail_at(p, line, col, "invalid time offset: out of range");
                dt.offset_sign = s[i];
                dt.offset_minutes = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
                i += 6;
            } else {
                return fail_at(p, line, col, "invalid date-time");
            }
            type = TOML_DATETIME;
        }
    } else {
        type = TOML_DATE_LOCAL;
    }
    if (i != len) return fail_at(p, line, col, "invalid date or time");
    toml_value *v = new_value(p, type, line, col);
    if (!v) return -1;
    v->u.dt = dt;
    *out = v;
    return 0;
}

/* Checks digits with single underscores between them in s[from..to); the digits must
 * satisfy `ok`. Returns the count of digits or -1. */
static int check_digits(const char *s, size_t from, size_t to, int (*ok)(int)) {
    int count = 0;
    bool prev_digit = false;
    for (size_t i = from; i < to; i++) {
        if (s[i] == '_') {
            if (!prev_digit || i + 1 >= to || ok((unsigned char)s[i + 1]) < 0) return -1;
            prev_digit = false;
            continue;
        }
        if (ok((unsigned char)s[i]) < 0) return -1;
        prev_digit = true;
        count++;
    }
    return count > 0 ? count : -1;
}

static int dec_digit(int c) {
    return is_digit(c) ? c - '0' : -1;
}
static int oct_digit(int c) {
    return c >= '0' && c <= '7' ? c - '0' : -1;
}
static int bin_digit(int c) {
    return c == '0' || c == '1' ? c - '0' : -1;
}

static int parse_number(parser *p, const char *s, size_t len, int line, int col, toml_value **out) {
    size_t i = 0;
    bool neg = false, sign = false;
    if (len && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        sign = true;
        i = 1;
    }
    const char *rest = s + i;
    size_t rlen = len - i;
    if ((rlen == 3 && memcmp(rest, "inf", 3) == 0) || (rlen == 3 && memcmp(rest, "nan", 3) == 0)) {
        toml_value *v = new_value(p, TOML_FLOAT, line, col);
        if (!v) return -1;
        if (rest[0] == 'i')
            v->u.f = neg ? -__builtin_inf() : __builtin_inf();
        else
            v->u.f = neg ? -__builtin_nan("") : __builtin_nan("");
        *out = v;
        return 0;
    }
    if (rlen >= 2 && rest[0] == '0' && (rest[1] == 'x' || rest[1] == 'o' || rest[1] == 'b')) {
        int (*ok)(int) = rest[1] == 'x' ? hexval : rest[1] == 'o' ? oct_digit : bin_digit;
        unsigned base = rest[1] == 'x' ? 16 : rest[1] == 'o' ? 8 : 2;
        if (sign) return fail_at(p, line, col, "a sign is not allowed on hex, octal or binary");
        if (check_digits(s, i + 2, len, ok) < 0)
            return fail_at(p, line, col, "invalid %s integer",
                           base == 16  ? "hexadecimal"
                           : base == 8 ? "octal"
                                       : "binary");
        uint64_t acc = 0;
        for (size_t k = i + 2; k < len; k++) {
            if (s[k] == '_') continue;
            uint64_t d = (uint64_t)ok((unsigned char)s[k]);
            if (acc > ((uint64_t)INT64_MAX - d) / base)
                return fail_at(p, line, col, "integer does not fit in 64 bits");
            acc = acc * base + d;
        }
        toml_value *v = new_value(p, TOML_INTEGER, line, col);
        if (!v) return -1;
        v->u.i = (int64_t)acc;
        *out = v;
        return 0;
    }
    /* Decimal: int part, then an optional fraction and an optional exponent. */
    size_t int_end = i;
    while (int_end < len && (is_digit(s[int_end]) || s[int_end] == '_')) int_end++;
    int nd = check_digits(s, i, int_end, dec_digit);
    if (nd < 0) return fail_at(p, line, col, "invalid number");
    if (s[i] == '0' && nd > 1) return fail_at(p, line, col, "leading zeros are not allowed");
    size_t k = int_end;
    bool is_float = false;
    if (k < len && s[k] == '.') {
        size_t f = k + 1, e = f;
        while (e < len && (is_digit(s[e]) || s[e] == '_')) e++;
        if (check_digits(s, f, e, dec_digit) < 0)
            return fail_at(p, line, col, "invalid float: digits expected after '.'");
        k = e;
        is_float = true;
    }
    if (k < len && (s[k] == 'e' || s[k] == 'E')) {
        size_t f = k + 1;
        if (f < len && (s[f] == '+' || s[f] == '-')) f++;
        size_t e = f;
        while (e < len && (is_digit(s[e]) || s[e] == '_')) e++;
        if (check_digits(s, f, e, dec_digit) < 0)
            return fail_at(p, line, col, "invalid float: bad exponent");
        k = e;
        is_float = true;
    }
    if (k != len) return fail_at(p, line, col, "invalid number");
    if (!is_float) {
        uint64_t acc = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        for (size_t j = i; j < len; j++) {
            if (s[j] == '_') continue;
            uint64_t d = (uint64_t)(s[j] - '0');
            if (acc > (limit - d) / 10)
                return fail_at(p, line, col, "integer does not fit in 64 bits");
            acc = acc * 10 + d;
        }
        toml_value *v = new_value(p, TOML_INTEGER, line, col);
        if (!v) return -1;
        v->u.i = neg ? (int64_t)(0 - acc) : (int64_t)acc;
        *out = v;
        return 0;
    }
    p->buf_len = 0;
    for (size_t j = 0; j < len; j++)
        if (s[j] != '_' && buf_putc(p, s[j])) return -1;
    if (buf_putc(p, '\0')) return -1;
    toml_value *v = new_value(p, TOML_FLOAT, line, col);
    if (!v) return -1;
    /* strtod is locale-dependent only for the radix character; a program that changed
     * LC_NUMERIC would break this, and none of ours does. */
    v->u.f = strtod(p->buf, NULL);
    *out = v;
    return 0;
}

/* Numbers, booleans and date-times: everything that is not a string, array or table. */
static int parse_scalar(parser *p, toml_value **out) {
    char tmp[8];
    int line = p->line, col = p->col;
    size_t start = p->pos;
    while (is_token_char(peek(p))) adv(p);
    /* A date and a time may be separated by one space. */
    if (p->pos - start == 10 && looks_like_date(p->s + start, 10) && peek(p) == ' ' &&
        is_digit(peek_at(p, 1)) && is_digit(peek_at(p, 2)) && peek_at(p, 3) == ':') {
        adv(p);
        while (is_token_char(peek(p))) adv(p);
    }
    const char *s = p->s + start;
    size_t len = p->pos - start;
    if (len == 0) return fail(p, "expected a value, found %s", found(p, tmp, sizeof tmp));
    if ((len == 4 && memcmp(s, "true", 4) == 0) || (len == 5 && memcmp(s, "false", 5) == 0)) {
        toml_value *v = new_value(p, TOML_BOOL, line, col);
        if (!v) return -1;
        v->u.b = len == 4;
        *out = v;
        return 0;
    }
    if (looks_like_date(s, len) || looks_like_time(s, len))
        return parse_datetime(p, s, len, line, col, out);
    if (is_digit(s[0]) || s[0] == '+' || s[0] == '-' || s[0] == 'i' || s[0] == 'n')
        return parse_number(p, s, len, line, col, out);
    return fail_at(p, line, col, "invalid value '%.*s'", len > 40 ? 40 : (int)len, s);
}

/* ---- values --------------------------------------------------------------------------- */

static int parse_value(parser *p, toml_value **out);
static int parse_keyval(parser *p, toml_value *table);

/* Marks an inline table and everything in it as frozen. */
static void freeze(toml_value *v) {
    if (v->type == TOML_TABLE) {
        v->kind = KIND_INLINE;
        for (size_t i = 0; i < v->u.tab.len; i++) freeze(v->u.tab.items[i].value);
    } else if (v->type == TOML_ARRAY) {
        for (size_t i = 0; i < v->u.arr.len; i++) freeze(v->u.arr.items[i]);
    }
}

static int parse_array(parser *p, toml_value **out) {
    char tmp[8];
    toml_value *a = new_value(p, TOML_ARRAY, p->line, p->col);
    if (!a) return -1;
    a->kind = KIND_STATIC;
    adv(p);
    for (;;) {
        skip_ws_nl(p);
        if (peek(p) == ']') break;
        toml_value *v;
        if (parse_value(p, &v) || array_add(p, a, v)) return -1;
        skip_ws_nl(p);
        if (peek(p) == ',') {
            adv(p);
            continue;
        }
        if (peek(p) == ']') break;
        return fail(p, "expected ',' or ']' in an array, found %s", found(p, tmp, sizeof tmp));
    }
    adv(p);
    *out = a;
    return 0;
}

static int parse_inline_table(parser *p, toml_value **out) {
    char tmp[8];
    toml_value *t = new_value(p, TOML_TABLE, p->line, p->col);
    if (!t) return -1;
    t->kind = KIND_DOTTED; /* open to its own dotted keys until the closing brace */
    adv(p);
    skip_ws(p);
    if (peek(p) == '}') {
        adv(p);
    } else {
        for (;;) {
            skip_ws(p);
            if (parse_keyval(p, t)) return -1;
            skip_ws(p);
            if (peek(p) == ',') {
                adv(p);
                skip_ws(p);
                if (peek(p) == '}')
                    return fail(p, "a trailing comma is not allowed in an inline table");
                continue;
            }
            if (peek(p) == '}') {
                adv(p);
                break;
            }
            return fail(p, "expected ',' or '}' in an inline table, found %s",
                        found(p, tmp, sizeof tmp));
        }
    }
    freeze(t);
    *out = t;
    return 0;
}

static int parse_value(parser *p, toml_value **out) {
    int c = peek(p);
    if (c == '"' || c == '\'') {
        int line = p->line, col = p->col;
        if (parse_string_raw(p, true)) return -1;
        toml_value *v = new_value(p, TOML_STRING, line, col);
        if (!v) return -1;
        v->u.s.ptr = arena_strdup(p, p->buf ? p->buf : "", p->buf_len);
        v->u.s.len = p->buf_len;
        if (!v->u.s.ptr) return -1;
        *out = v;
        return 0;
    }
    if (c == '[' || c == '{') {
        if (p->nest >= TOML_MAX_NEST) return fail(p, "arrays and inline tables nest too deep");
        p->nest++;
        int rc = c == '[' ? parse_array(p, out) : parse_inline_table(p, out);
        p->nest--;
        return rc;
    }
    return parse_scalar(p, out);
}

/* `key = value` into `table` (the current table, or an inline table being built). */
static int parse_keyval(parser *p, toml_value *table) {
    char tmp[8], name[256];
    key_part parts[TOML_MAX_KEY_PARTS];
    int n = parse_key(p, parts);
    if (n < 0) return -1;
    if (peek(p) != '=')
        return fail(p, "expected '=' after the key, found %s", found(p, tmp, sizeof tmp));
    adv(p);
    skip_ws(p);
    toml_value *v;
    if (parse_value(p, &v)) return -1;
    toml_value *t = table;
    for (int i = 0; i < n - 1; i++) {
        toml_entry *e = table_lookup(t, parts[i].key, parts[i].len);
        if (!e) {
            toml_value *sub = new_value(p, TOML_TABLE, parts[i].line, parts[i].col);
            if (!sub || table_add(p, t, &parts[i], sub)) return -1;
            sub->kind = KIND_DOTTED;
            t = sub;
            continue;
        }
        toml_value *x = e->value;
        if (x->type != TOML_TABLE)
            return fail_at(p, parts[i].line, parts[i].col,
                           "cannot add keys to '%s': it is already %s",
                           key_name(parts, i + 1, name, sizeof name), describe(x));
        if (x->kind == KIND_INLINE)
            return fail_at(p, parts[i].line, parts[i].col,
                           "cannot add keys to the inline table '%s'",
                           key_name(parts, i + 1, name, sizeof name));
        if (x->kind == KIND_HEADER)
            return fail_at(p, parts[i].line, parts[i].col,
                           "cannot add keys to table '%s' with dotted keys: it is defined by "
                           "a [header]",
                           key_name(parts, i + 1, name, sizeof name));
        x->kind = KIND_DOTTED;
        t = x;
    }
    if (table_lookup(t, parts[n - 1].key, parts[n - 1].len))
        return fail_at(p, parts[n - 1].line, parts[n - 1].col, "duplicate key '%s'",
                       key_name(parts, n, name, sizeof name));
    return table_add(p, t, &parts[n - 1], v);
}

/* [header] or [[header]]: finds or creates the table and makes it current. */
static int parse_header(parser *p) {
    char tmp[8], name[256];
    key_part parts[TOML_MAX_KEY_PARTS];
    int line = p->line, col = p->col;
    adv(p);
    bool aot = peek(p) == '[';
    if (aot) adv(p);
    skip_ws(p);
    int n = parse_key(p, parts);
    if (n < 0) return -1;
    if (peek(p) != ']')
        return fail(p, "expected ']' to close the table header, found %s",
                    found(p, tmp, sizeof tmp));
    adv(p);
    if (aot) {
        if (peek(p) != ']')
            return fail(p, "expected ']]' to close the array-of-tables header, found %s",
                        found(p, tmp, sizeof tmp));
        adv(p);
    }
    toml_value *t = p->root;
    for (int i = 0; i < n - 1; i++) {
        toml_entry *e = table_lookup(t, parts[i].key, parts[i].len);
        if (!e) {
            toml_value *sub = new_value(p, TOML_TABLE, parts[i].line, parts[i].col);
            if (!sub || table_add(p, t, &parts[i], sub)) return -1;
            sub->kind = KIND_IMPLICIT;
            t = sub;
            continue;
        }
        toml_value *x = e->value;
        if (x->type == TOML_ARRAY && x->kind == KIND_AOT) {
            t = x->u.arr.items[x->u.arr.len - 1];
            continue;
        }
        if (x->type != TOML_TABLE || x->kind == KIND_INLINE)
            return fail_at(p, parts[i].line, parts[i].col,
                           "cannot define a table inside '%s': it is %s",
                           key_name(parts, i + 1, name, sizeof name), describe(x));
        t = x;
    }
    const key_part *last = &parts[n - 1];
    toml_entry *e = table_lookup(t, last->key, last->len);
    key_name(parts, n, name, sizeof name);
    if (!aot) {
        if (!e) {
            toml_value *sub = new_value(p, TOML_TABLE, line, col);
            if (!sub || table_add(p, t, last, sub)) return -1;
            sub->kind = KIND_HEADER;
            p->cur = sub;
            return 0;
        }
        toml_value *x = e->value;
        if (x->type == TOML_TABLE && x->kind == KIND_IMPLICIT) {
            x->kind = KIND_HEADER;
            p->cur = x;
            return 0;
        }
        if (x->type == TOML_TABLE && x->kind == KIND_DOTTED)
            return fail_at(p, line, col, "table [%s] is already defined by dotted keys", name);
        if (x->type == TOML_TABLE && x->kind == KIND_HEADER)
            return fail_at(p, line, col, "table [%s] is defined twice", name);
        return fail_at(p, line, col, "cannot define table [%s]: the key is already %s", name,
                       describe(x));
    }
    toml_value *arr;
    if (!e) {
        arr = new_value(p, TOML_ARRAY, line, col);
        if (!arr || table_add(p, t, last, arr)) return -1;
        arr->kind = KIND_AOT;
    } else {
        arr = e->value;
        if (arr->type != TOML_ARRAY || arr->kind != KIND_AOT)
            return fail_at(p, line, col,
                           "cannot define array of tables [[%s]]: the key is already %s", name,
                           describe(arr));
    }
    toml_value *sub = new_value(p, TOML_TABLE, line, col);
    if (!sub || array_add(p, arr, sub)) return -1;
    sub->kind = KIND_HEADER;
    p->cur = sub;
    return 0;
}

static int parse_document(parser *p) {
    char tmp[8];
    /* A byte-order mark is not part of the document. */
    if (p->len >= 3 && memcmp(p->s, "\xEF\xBB\xBF", 3) == 0) p->pos = 3;
    while (!at_end(p)) {
        skip_ws(p);
        int c = peek(p);
        const char *what = NULL;
        if (c == '[') {
            if (parse_header(p)) return -1;
            what = "the table header";
        } else if (c >= 0 && c != '#' && c != '\n' && c != '\r') {
            if (parse_keyval(p, p->cur)) return -1;
            what = "the value";
        }
        skip_ws(p);
        skip_comment(p);
        if (at_end(p)) break;
        if (!eat_newline(p)) {
            if (what)
                return fail(p, "expected the end of the line after %s, found %s", what,
                            found(p, tmp, sizeof tmp));
            return fail(p, "unexpected %s", found(p, tmp, sizeof tmp));
        }
    }
    return 0;
}

/* ---- public --------------------------------------------------------------------------- */

toml_value *toml_parse(const char *text, size_t len, char *err, size_t errlen) {
    arena a = {NULL};
    toml_doc *doc = arena_alloc(&a, sizeof *doc);
    if (!doc) {
        if (err && errlen) snprintf(err, errlen, "1:1: out of memory");
        return NULL;
    }
    memset(doc, 0, sizeof *doc);
    parser p;
    memset(&p, 0, sizeof p);
    p.s = text ? text : "";
    p.len = text ? len : 0;
    p.line = 1;
    p.col = 1;
    p.err = err;
    p.errlen = errlen;
    p.a = &a;
    p.root = &doc->root;
    p.root->type = TOML_TABLE;
    p.root->line = 1;
    p.root->col = 1;
    p.root->kind = KIND_HEADER;
    p.cur = p.root;
    int rc = check_encoding(&p);
    if (rc == 0) rc = parse_document(&p);
    free(p.buf);
    if (rc != 0) {
        arena_free(&a);
        return NULL;
    }
    doc->a = a;
    return &doc->root;
}

void toml_free(toml_value *root) {
    if (!root) return;
    toml_doc *doc = (toml_doc *)((char *)root - offsetof(toml_doc, root));
    arena a = doc->a;
    arena_free(&a);
}

const toml_entry *toml_table_find(const toml_value *t, const char *key) {
    if (!t || t->type != TOML_TABLE) return NULL;
    return table_lookup(t, key, strlen(key));
}

const char *toml_type_name(toml_type type) {
    switch (type) {
        case TOML_TABLE:
            return "table";
        case TOML_ARRAY:
            return "array";
        case TOML_STRING:
            return "string";
        case TOML_INTEGER:
            return "integer";
        case TOML_FLOAT:
            return "float";
        case TOML_BOOL:
            return "boolean";
        case TOML_DATETIME:
            return "offset date-time";
        case TOML_DATETIME_LOCAL:
            return "local date-time";
        case TOML_DATE_LOCAL:
            return "local date";
        case TOML_TIME_LOCAL:
            return "local time";
    }
    return "value";
}
