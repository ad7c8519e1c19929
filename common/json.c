/* common/json.c — see json.h. */
#include "common/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_init_fixed(json_buf *b, char *storage, size_t cap) {
    b->buf = storage;
    b->cap = cap;
    b->len = 0;
    b->dynamic = false;
    b->failed = cap == 0;
    if (cap) storage[0] = 0;
}

void json_init_dyn(json_buf *b) {
    memset(b, 0, sizeof *b);
    b->dynamic = true;
}

void json_free(json_buf *b) {
    if (b->dynamic) free(b->buf);
    b->buf = NULL;
    b->len = b->cap = 0;
}

void json_reset(json_buf *b) {
    b->len = 0;
    b->failed = !b->dynamic && b->cap == 0;
    if (b->buf && b->cap) b->buf[0] = 0;
}

long json_finish(const json_buf *b) {
    return b->failed ? -1 : (long)b->len;
}

/* Makes room for n more bytes and the NUL (cJSON's `ensure`): false once failed. */
static bool ensure(json_buf *b, size_t n) {
    if (b->failed) return false;
    if (b->len + n + 1 <= b->cap) return true;
    if (!b->dynamic) {
        b->failed = true;
        if (b->cap) b->buf[b->len < b->cap ? b->len : b->cap - 1] = 0;
        return false;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) {
        if (cap > SIZE_MAX / 2) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *nb = realloc(b->buf, cap);
    if (!nb) {
        b->failed = true;
        return false;
    }
    b->buf = nb;
    b->cap = cap;
    return true;
}

static void put(json_buf *b, const char *s, size_t n) {
    if (!ensure(b, n)) return;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = 0;
}

/* The comma before a key or a value that follows another in its object or array. */
static void sep(json_buf *b) {
    if (b->failed || b->len == 0) return;
    char last = b->buf[b->len - 1];
    if (last != '{' && last != '[' && last != ':') put(b, ",", 1);
}

void json_obj_open(json_buf *b) {
    sep(b);
    put(b, "{", 1);
}

void json_obj_close(json_buf *b) {
    put(b, "}", 1);
}

void json_arr_open(json_buf *b) {
    sep(b);
    put(b, "[", 1);
}

void json_arr_close(json_buf *b) {
    put(b, "]", 1);
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *p, size_t n) {
    unsigned char c = p[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F; /* no UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else
        return 0;
    if (n < len) return 0;
    if (p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    return len;
}

static void put_escaped(json_buf *b, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    put(b, "\"", 1);
    size_t run = 0; /* bytes copied as they are, written in one go */
    for (size_t i = 0; i < n && !b->failed;) {
        unsigned char c = p[i];
        size_t sl = c >= 0x20 && c != '"' && c != '\\' ? utf8_seq(p + i, n - i) : 0;
        if (sl) {
            i += sl;
            run += sl;
            continue;
        }
        put(b, (const char *)p + i - run, run);
        run = 0;
        char esc[8];
        const char *rep = esc;
        size_t rl = 2;
        esc[0] = '\\';
        switch (c) {
            case '"':
                esc[1] = '"';
                break;
            case '\\':
                esc[1] = '\\';
                break;
            case '\n':
                esc[1] = 'n';
                break;
            case '\r':
                esc[1] = 'r';
                break;
            case '\t':
                esc[1] = 't';
                break;
            case '\b':
                esc[1] = 'b';
                break;
            case '\f':
                esc[1] = 'f';
                break;
            default:
                if (c < 0x20) {
                    rl = (size_t)snprintf(esc, sizeof esc, "\\u%04x", c);
                } else { /* a byte that does not start valid UTF-8 */
                    rep = "\xEF\xBF\xBD";
                    rl = 3;
                }
        }
        put(b, rep, rl);
        i++;
    }
    put(b, (const char *)p + n - run, run);
    put(b, "\"", 1);
}

void json_key(json_buf *b, const char *key) {
    sep(b);
    put_escaped(b, key, strlen(key));
    put(b, ":", 1);
}

void json_strn(json_buf *b, const char *s, size_t n) {
    sep(b);
    put_escaped(b, s, n);
}

void json_str(json_buf *b, const char *s) {
    json_strn(b, s, strlen(s));
}

void json_str_or_null(json_buf *b, const char *s) {
    if (s)
        json_str(b, s);
    else
        json_null(b);
}

void json_num_prec(json_buf *b, double v, int digits) {
    sep(b);
    if (!isfinite(v)) {
        put(b, "null", 4);
        return;
    }
    char t[40];
    int n = snprintf(t, sizeof t, "%.*g", digits, v);
    put(b, t, (size_t)n);
}

void json_num(json_buf *b, double v) {
    json_num_prec(b, v, 17);
}

void json_int(json_buf *b, long long v) {
    sep(b);
    char t[24];
    int n = snprintf(t, sizeof t, "%lld", v);
    put(b, t, (size_t)n);
}

void json_bool(json_buf *b, bool v) {
    sep(b);
    put(b, v ? "true" : "false", v ? 4 : 5);
}

void json_null(json_buf *b) {
    sep(b);
    put(b, "null", 4);
}

void json_raw(json_buf *b, const char *text, size_t n) {
    sep(b);
    put(b, text, n);
}

void json_append(json_buf *b, const char *text, size_t n) {
    put(b, text, n);
}

void json_kstr(json_buf *b, const char *key, const char *s) {
    json_key(b, key);
    json_str_or_null(b, s);
}

void json_knum(json_buf *b, const char *key, double v) {
    json_key(b, key);
    json_num(b, v);
}

void json_kint(json_buf *b, const char *key, long long v) {
    json_key(b, key);
    json_int(b, v);
}

void json_kbool(json_buf *b, const char *key, bool v) {
    json_key(b, key);
    json_bool(b, v);
}

int json_quote(const char *s, char *out, size_t cap) {
    json_buf b;
    json_init_fixed(&b, out, cap);
    json_str(&b, s);
    if (!json_ok(&b)) {
        if (cap >= 3) memcpy(out, "\"\"", 3);
        return -1;
    }
    return (int)b.len;
}

int64_t json_clamp_i64(double v, int64_t lo, int64_t hi) {
    if (isnan(v)) return lo;
    if (v <= (double)lo) return lo;
    if (v >= (double)hi) return hi;
    return (int64_t)v;
}

/* ---- the validator: a recursive descent over one value ---- */

typedef struct {
    const unsigned char *p, *end;
    int depth, max_depth;
} vstate;

static void skip_ws(vstate *v) {
    while (v->p < v->end && (*v->p == ' ' || *v->p == '\t' || *v->p == '\n' || *v->p == '\r'))
        v->p++;
}

static int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads \uXXXX's four digits at v->p; -1 when they are not four hex digits. */
static long read_u4(vstate *v) {
    if (v->end - v->p < 4) return -1;
    long u = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(v->p[i]);
        if (h < 0) return -1;
        u = u * 16 + h;
    }
    v->p += 4;
    return u;
}

static bool v_string(vstate *v) {
    v->p++; /* the opening quote */
    while (v->p < v->end) {
        unsigned char c = *v->p;
        if (c == '"') {
            v->p++;
            return true;
        }
        if (c < 0x20) return false;
        if (c == '\\') {
            if (++v->p >= v->end) return false;
            c = *v->p++;
            if (c == 'u') {
                long u = read_u4(v);
                if (u < 0) return false;
                if (u >= 0xDC00 && u <= 0xDFFF) return false; /* a lone low surrogate */
                if (u >= 0xD800 && u <= 0xDBFF) {             /* must pair with a low one */
                    if (v->end - v->p < 2 || v->p[0] != '\\' || v->p[1] != 'u') return false;
                    v->p += 2;
                    long lo = read_u4(v);
                    if (lo < 0xDC00 || lo > 0xDFFF) return false;
                }
            } else if (!strchr("\"\\/bfnrt", c) || c == 0) {
                return false;
            }
            continue;
        }
        size_t sl = utf8_seq(v->p, (size_t)(v->end - v->p));
        if (!sl) return false;
        v->p += sl;
    }
    return false;
}

static bool digits(vstate *v) {
    const unsigned char *s = v->p;
    while (v->p < v->end && *v->p >= '0' && *v->p <= '9') v->p++;
    return v->p > s;
}

static bool v_number(vstate *v) {
    if (v->p < v->end && *v->p == '-') v->p++;
    if (v->p >= v->end) return false;
    if (*v->p == '0')
        v->p++;
    else if (!digits(v))
        return false;
    if (v->p < v->end && *v->p == '.') {
        v->p++;
        if (!digits(v)) return false;
    }
    if (v->p < v->end && (*v->p == 'e' || *v->p == 'E')) {
        v->p++;
        if (v->p < v->end && (*v->p == '+' || *v->p == '-')) v->p++;
        if (!digits(v)) return false;
    }
    return true;
}

static bool v_literal(vstate *v, const char *lit) {
    size_t n = strlen(lit);
    if ((size_t)(v->end - v->p) < n || memcmp(v->p, lit, n) != 0) return false;
    v->p += n;
    return true;
}

static bool v_value(vstate *v);

/* An object or an array: close is '}' or ']'. */
static bool v_container(vstate *v, char close) {
    if (++v->depth > v->max_depth) return false;
    v->p++;
    skip_ws(v);
    if (v->p < v->end && *v->p == close) {
        v->p++;
        v->depth--;
        return true;
    }
    for (;;) {
        skip_ws(v);
        if (close == '}') {
            if (v->p >= v->end || *v->p != '"' || !v_string(v)) return false;
            skip_ws(v);
            if (v->p >= v->end || *v->p != ':') return false;
            v->p++;
            skip_ws(v);
        }
        if (!v_value(v)) return false;
        skip_ws(v);
        if (v->p >= v->end) return false;
        if (*v->p == ',') {
            v->p++;
            continue;
        }
        if (*v->p != close) return false;
        v->p++;
        v->depth--;
        return true;
    }
}

static bool v_value(vstate *v) {
    if (v->p >= v->end) return false;
    switch (*v->p) {
        case '{':
            return v_container(v, '}');
        case '[':
            return v_container(v, ']');
        case '"':
            return v_string(v);
        case 't':
            return v_literal(v, "true");
        case 'f':
            return v_literal(v, "false");
        case 'n':
            return v_literal(v, "null");
        default:
            return v_number(v);
    }
}

bool json_valid(const char *text, size_t len, int max_depth) {
    vstate v = {(const unsigned char *)text, (const unsigned char *)text + len, 0, max_depth};
    skip_ws(&v);
    if (!v_value(&v)) return false;
    skip_ws(&v);
    return v.p == v.end;
}
