/* orchestrator/sweep.c — see sweep.h. */
#include "orchestrator/sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/toml.h"
#include "common/err.h"
#include "common/fs.h"

const char *const sweep_state_names[5] = {"queued", "running", "done", "failed", "stopped"};

void sweep_init(sweep_spec *s) {
    memset(s, 0, sizeof *s);
}

/* ---- values as TOML text -------------------------------------------------------------- */

/* Whether text is exactly one TOML value ("v = text" parses to one key). */
static bool is_toml_value(const char *text) {
    const toml_value *v;
    toml_value *root = cfg_parse_value(text, &v);
    toml_free(root);
    return v != NULL;
}

/* Appends s as a TOML basic string. -1 when it does not fit. */
static int quote(char *out, size_t outlen, size_t *o, const char *s, size_t n) {
    if (*o + 2 >= outlen) return -1;
    out[(*o)++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[8];
        int k;
        if (ch == '"' || ch == '\\')
            k = snprintf(esc, sizeof esc, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7F)
            k = snprintf(esc, sizeof esc, "\\u%04X", ch);
        else
            k = snprintf(esc, sizeof esc, "%c", ch);
        if (*o + (size_t)k + 2 >= outlen) return -1;
        memcpy(out + *o, esc, (size_t)k);
        *o += (size_t)k;
    }
    out[(*o)++] = '"';
    out[*o] = '\0';
    return 0;
}

/* A value given on the command line, as TOML text: as typed when it is one TOML value,
 * else (a bare word: hard, 127.0.0.1) as a quoted string — what cfg_set() does too. */
static int canonical(const char *in, size_t n, char *out, size_t outlen) {
    char tmp[SWEEP_VALUE_MAX];
    if (n >= sizeof tmp || n >= outlen) return -1;
    memcpy(tmp, in, n);
    tmp[n] = '\0';
    if (is_toml_value(tmp)) {
        memcpy(out, tmp, n + 1);
        return 0;
    }
    size_t o = 0;
    return quote(out, outlen, &o, tmp, n);
}

static int appendf(char *out, size_t outlen, size_t *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int appendf(char *out, size_t outlen, size_t *o, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out + *o, outlen - *o, fmt, ap);
    va_end(ap);
    if (k < 0 || *o + (size_t)k >= outlen) return -1;
    *o += (size_t)k;
    return 0;
}

/* A parsed TOML value back to text (a sweep file's values are kept as text like the
 * command line's). Floats in the shortest form that reads back exactly. */
static int value_text(const toml_value *v, char *out, size_t outlen, size_t *o) {
    switch (v->type) {
        case TOML_INTEGER:
            return appendf(out, outlen, o, "%lld", (long long)v->u.i);
        case TOML_FLOAT: {
            if (isnan(v->u.f)) return appendf(out, outlen, o, "nan");
            if (isinf(v->u.f)) return appendf(out, outlen, o, v->u.f < 0 ? "-inf" : "inf");
            char b[40];
            for (int prec = 1; prec <= 17; prec++) {
                snprintf(b, sizeof b, "%.*g", prec, v->u.f);
                if (strtod(b, NULL) == v->u.f) break;
            }
            return appendf(out, outlen, o, "%s%s", b, strpbrk(b, ".eE") ? "" : ".0");
        }
        case TOML_BOOL:
            return appendf(out, outlen, o, "%s", v->u.b ? "true" : "false");
        case TOML_STRING:
            return quote(out, outlen, o, v->u.s.ptr, v->u.s.len);
        case TOML_ARRAY:
            if (appendf(out, outlen, o, "[")) return -1;
            for (size_t i = 0; i < v->u.arr.len; i++)
                if ((i && appendf(out, outlen, o, ", ")) ||
                    value_text(v->u.arr.items[i], out, outlen, o))
                    return -1;
            return appendf(out, outlen, o, "]");
        case TOML_TABLE:
            if (appendf(out, outlen, o, "{")) return -1;
            for (size_t i = 0; i < v->u.tab.len; i++) {
                const toml_entry *e = &v->u.tab.items[i];
                if (appendf(out, outlen, o, "%s", i ? ", " : " ") ||
                    quote(out, outlen, o, e->key, e->key_len) || appendf(out, outlen, o, " = ") ||
                    value_text(e->value, out, outlen, o))
                    return -1;
            }
            return appendf(out, outlen, o, "%s}", v->u.tab.len ? " " : "");
        default:
            return -1; /* dates and times: no config value is one */
    }
}

/* ---- building the spec ---------------------------------------------------------------- */

static bool known_key(const sweep_spec *s, const char *key) {
    for (int i = 0; i < s->n_fixed; i++)
        if (!strcmp(s->fixed_key[i], key)) return true;
    for (int i = 0; i < s->n_axes; i++)
        if (!strcmp(s->axes[i].key, key)) return true;
    return false;
}

/* Registers key with its values (TOML texts); one value is a plain override. */
static int add_key(sweep_spec *s, const char *key, int n, char (*vals)[SWEEP_VALUE_MAX],
                   const char *what, char *err, size_t errlen) {
    if (known_key(s, key)) return err_set(err, errlen, "%s: '%s' is given twice", what, key);
    if (n == 1) {
        if (s->n_fixed >= SWEEP_MAX_FIXED)
            return err_set(err, errlen, "%s: more than %d overrides", what, SWEEP_MAX_FIXED);
        snprintf(s->fixed_key[s->n_fixed], SWEEP_KEY_MAX, "%s", key);
        snprintf(s->fixed_val[s->n_fixed], SWEEP_VALUE_MAX, "%s", vals[0]);
        s->n_fixed++;
        return 0;
    }
    if (s->n_axes >= SWEEP_MAX_AXES)
        return err_set(err, errlen, "%s: more than %d axes in the grid", what, SWEEP_MAX_AXES);
    sweep_axis *a = &s->axes[s->n_axes++];
    snprintf(a->key, sizeof a->key, "%s", key);
    a->n = n;
    for (int i = 0; i < n; i++) snprintf(a->values[i], SWEEP_VALUE_MAX, "%s", vals[i]);
    return 0;
}

static bool key_ok(const char *k, size_t n) {
    if (n == 0 || n >= SWEEP_KEY_MAX || k[0] == '.' || k[n - 1] == '.') return false;
    for (size_t i = 0; i < n; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_' ||
              k[i] == '.'))
            return false;
    return true;
}

int sweep_add_set(sweep_spec *s, const char *arg, char *err, size_t errlen) {
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return err_set(err, errlen, "--set %s: expected SECTION.KEY=VALUE[,VALUE...]", arg);
    char key[SWEEP_KEY_MAX];
    size_t kl = (size_t)(eq - arg);
    if (!key_ok(arg, kl) || !memchr(arg, '.', kl))
        return err_set(err, errlen,
                       "--set %s: '%.*s' is not SECTION.KEY (e.g. agent.gamma; lower-case "
                       "letters, digits, '_' and '.')",
                       arg, (int)(kl > 64 ? 64 : kl), arg);
    memcpy(key, arg, kl);
    key[kl] = '\0';
    static char vals[SWEEP_MAX_VALUES][SWEEP_VALUE_MAX]; /* 16 KiB: not on the stack */
    int n = 0;
    /* Split at commas outside brackets, braces and quotes: "[64, 64],[128, 128]". */
    const char *p = eq + 1, *start = p;
    int depth = 0;
    char q = 0;
    for (;; p++) {
        char ch = *p;
        if (q) {
            if (ch == '\\' && q == '"' && p[1]) {
                p++;
                continue;
            }
            if (ch == q) q = 0;
            if (ch) continue;
        }
        if (ch == '"' || ch == '\'') q = ch;
        if (ch == '[' || ch == '{') depth++;
        if ((ch == ']' || ch == '}') && depth > 0) depth--;
        if (ch && (ch != ',' || depth > 0 || q)) continue;
        const char *b = start, *e = p;
        while (b < e && (*b == ' ' || *b == '\t')) b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t')) e--;
        if (b == e)
            return err_set(err, errlen, "--set %s: an empty value (values: V1,V2,...)", arg);
        if (n >= SWEEP_MAX_VALUES)
            return err_set(err, errlen, "--set %s: more than %d values", arg, SWEEP_MAX_VALUES);
        if (canonical(b, (size_t)(e - b), vals[n], SWEEP_VALUE_MAX) != 0)
            return err_set(err, errlen, "--set %s: a value longer than %d bytes", arg,
                           SWEEP_VALUE_MAX - 3);
        n++;
        if (!ch) break;
        start = p + 1;
    }
    char what[SWEEP_KEY_MAX + 8];
    snprintf(what, sizeof what, "--set %s", key);
    return add_key(s, key, n, vals, what, err, errlen);
}

/* ---- sweep files ---------------------------------------------------------------------- */

typedef struct {
    sweep_spec *s;
    const char *path;
    bool axes; /* walking [axes]: every leaf is a list of values */
    char *err;
    size_t errlen;
} file_ctx;

static int file_fail(file_ctx *c, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int file_fail(file_ctx *c, int line, int col, const char *fmt, ...) {
    int n = snprintf(c->err, c->errlen, "%s:%d:%d: ", c->path, line, col);
    if (n >= 0 && (size_t)n < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* [set] and [axes]: nested tables flatten to dotted keys ([set.agent] gamma = 0.99 is
 * "agent.gamma"), down to a value — or, for a meter table, to its meters. */
static int walk(file_ctx *c, const toml_value *t, const char *prefix) {
    for (size_t i = 0; i < t->u.tab.len; i++) {
        const toml_entry *e = &t->u.tab.items[i];
        char key[SWEEP_KEY_MAX * 2];
        int kl = snprintf(key, sizeof key, "%s%s%s", prefix, prefix[0] ? "." : "", e->key);
        if (kl <= 0 || !key_ok(key, (size_t)kl) || e->key_len != strlen(e->key))
            return file_fail(c, e->line, e->col, "'%s' is not a config key (SECTION.KEY)", key);
        const toml_value *v = e->value;
        if (v->type == TOML_TABLE) {
            if (walk(c, v, key)) return -1;
            continue;
        }
        static char vals[SWEEP_MAX_VALUES][SWEEP_VALUE_MAX];
        int n = 0;
        if (c->axes) {
            if (v->type != TOML_ARRAY || v->u.arr.len < 1)
                return file_fail(c, v->line, v->col,
                                 "[axes] '%s' must be a non-empty list of values", key);
            if (v->u.arr.len > SWEEP_MAX_VALUES)
                return file_fail(c, v->line, v->col, "[axes] '%s': more than %d values", key,
                                 SWEEP_MAX_VALUES);
            for (size_t k = 0; k < v->u.arr.len; k++) {
                size_t o = 0;
                if (value_text(v->u.arr.items[k], vals[n++], SWEEP_VALUE_MAX, &o))
                    return file_fail(c, v->u.arr.items[k]->line, v->u.arr.items[k]->col,
                                     "[axes] '%s': a value that is too long or a date", key);
            }
        } else {
            size_t o = 0;
            if (value_text(v, vals[n++], SWEEP_VALUE_MAX, &o))
                return file_fail(c, v->line, v->col, "[set] '%s': too long or a date", key);
        }
        char what[SWEEP_KEY_MAX * 2 + 300];
        snprintf(what, sizeof what, "%s:%d:%d: [%s]", c->path, e->line, e->col,
                 c->axes ? "axes" : "set");
        /* An axis of one value is a plain override, as with --set. */
        if (add_key(c->s, key, n, vals, what, c->err, c->errlen)) return -1;
    }
    return 0;
}

static int load_tree(file_ctx *c, const toml_value *root) {
    sweep_spec *s = c->s;
    for (size_t i = 0; i < root->u.tab.len; i++) {
        const toml_entry *e = &root->u.tab.items[i];
        const toml_value *v = e->value;
        if (!strcmp(e->key, "config")) {
            if (v->type != TOML_STRING || v->u.s.len == 0 || v->u.s.len >= sizeof s->config)
                return file_fail(c, v->line, v->col, "'config' must be a config file name");
            snprintf(s->config, sizeof s->config, "%s", v->u.s.ptr);
        } else if (!strcmp(e->key, "episodes") || !strcmp(e->key, "parallel")) {
            bool ep = e->key[0] == 'e';
            long hi = ep ? 1000000000L : 1024;
            if (v->type != TOML_INTEGER || v->u.i < 1 || v->u.i > hi)
                return file_fail(c, v->line, v->col, "'%s' must be a whole number 1-%ld", e->key,
                                 hi);
            if (ep)
                s->episodes = (long)v->u.i;
            else
                s->parallel = (int)v->u.i;
        } else if (!strcmp(e->key, "seeds")) {
            if (v->type == TOML_INTEGER) {
                if (v->u.i < 1 || v->u.i > SWEEP_MAX_RUNS)
                    return file_fail(c, v->line, v->col, "'seeds' must be 1-%d (or a list)",
                                     SWEEP_MAX_RUNS);
                s->n_seeds = (int)v->u.i;
                continue;
            }
            if (v->type != TOML_ARRAY || v->u.arr.len < 1 || v->u.arr.len > SWEEP_MAX_VALUES)
                return file_fail(c, v->line, v->col,
                                 "'seeds' must be a count or a list of 1-%d seeds",
                                 SWEEP_MAX_VALUES);
            static char vals[SWEEP_MAX_VALUES][SWEEP_VALUE_MAX];
            for (size_t k = 0; k < v->u.arr.len; k++) {
                const toml_value *x = v->u.arr.items[k];
                if (x->type != TOML_INTEGER || x->u.i < 0)
                    return file_fail(c, x->line, x->col, "a seed is a whole number >= 0");
                snprintf(vals[k], SWEEP_VALUE_MAX, "%lld", (long long)x->u.i);
            }
            char what[PATH_MAX + 32];
            snprintf(what, sizeof what, "%s:%d:%d: seeds", c->path, v->line, v->col);
            if (add_key(s, SWEEP_SEED_KEY, (int)v->u.arr.len, vals, what, c->err, c->errlen))
                return -1;
            s->seeds_explicit = true;
        } else if (!strcmp(e->key, "set") || !strcmp(e->key, "axes")) {
            if (v->type != TOML_TABLE)
                return file_fail(c, v->line, v->col, "'%s' must be a table", e->key);
            c->axes = e->key[0] == 'a';
            if (walk(c, v, "")) return -1;
        } else if (!strcmp(e->key, "server_port")) {
            if (v->type != TOML_INTEGER || v->u.i < 1 || v->u.i > 65535)
                return file_fail(c, v->line, v->col, "'server_port' must be a port (1-65535)");
            s->server_port = (int)v->u.i;
        } else if (!strcmp(e->key, "backend")) {
            if (v->type != TOML_STRING ||
                (strcmp(v->u.s.ptr, "local") && strcmp(v->u.s.ptr, "slurm")))
                return file_fail(c, v->line, v->col, "'backend' must be \"local\" or \"slurm\"");
            snprintf(s->backend, sizeof s->backend, "%s", v->u.s.ptr);
        } else if (!strcmp(e->key, "version") || !strcmp(e->key, "created") ||
                   !strcmp(e->key, "runs")) {
            /* The state part of a sweep.toml that run_demo wrote: a finished sweep's file
             * is a sweep file too; its runs' states are not the grid's business. */
        } else {
            return file_fail(c, e->line, e->col,
                             "unknown key '%s' (expected config, episodes, parallel, seeds, "
                             "[set] or [axes])",
                             e->key);
        }
    }
    return 0;
}

/* Reads a whole small file. NULL + err. */
static char *slurp(const char *path, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    enum { MAX = 1 << 20 };
    char *text = malloc(MAX + 1);
    size_t n = text ? fread(text, 1, MAX + 1, f) : 0;
    bool bad = !text || ferror(f) || n > MAX;
    fclose(f);
    if (bad) {
        err_set(err, errlen, "%s: cannot read it (or larger than 1 MiB)", path);
        free(text);
        return NULL;
    }
    text[n] = '\0';
    *len = n;
    return text;
}

static toml_value *parse_file(const char *path, char *err, size_t errlen) {
    size_t len;
    char *text = slurp(path, &len, err, errlen);
    if (!text) return NULL;
    char perr[400];
    toml_value *root = toml_parse(text, len, perr, sizeof perr);
    free(text);
    if (!root) err_set(err, errlen, "%s:%s", path, perr);
    return root;
}

int sweep_load_file(sweep_spec *s, const char *path, char *err, size_t errlen) {
    toml_value *root = parse_file(path, err, errlen);
    if (!root) return -1;
    file_ctx c = {s, path, false, err, errlen};
    int rc = load_tree(&c, root);
    toml_free(root);
    return rc;
}

bool sweep_is_grid(const sweep_spec *s) {
    return s->n_axes > 0 || s->n_seeds > 1;
}

/* ---- the grid ------------------------------------------------------------------------- */

/* A value as it may appear in a run's name: quotes, brackets and spaces dropped, a comma
 * inside a list becomes 'x' ([64, 64] → 64x64), anything else outside [A-Za-z0-9._-]
 * becomes '_'. Two values that come out alike are refused by sweep_expand. */
static void name_value(const char *v, char *out, size_t outlen) {
    size_t o = 0;
    for (; *v && o + 1 < outlen; v++) {
        char ch = *v;
        if (ch == '"' || ch == '\'' || ch == '[' || ch == ']' || ch == ' ' || ch == '{' ||
            ch == '}')
            continue;
        if (ch == ',')
            ch = 'x';
        else if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                   (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
            ch = '_';
        out[o++] = ch;
    }
    out[o] = '\0';
}

/* Applies one key = TOML text to c; the error names where it came from. */
static int apply(cfg_config *c, const char *key, const char *val, const char *origin, char *err,
                 size_t errlen) {
    char e[512];
    if (cfg_set(c, key, val, e, sizeof e) == 0) return 0;
    /* A bare word was quoted to be a TOML string: show it as it was typed. */
    size_t n = strlen(val);
    bool quoted = n >= 2 && val[0] == '"' && val[n - 1] == '"' && !strchr(val + 1, '\\');
    return err_set(err, errlen, "%s%s%s=%.*s: %s", origin, origin[0] ? " " : "", key,
                   quoted ? (int)n - 2 : (int)n, val + quoted, e);
}

int sweep_config(const sweep_spec *s, const cfg_config *base, int run, cfg_config *out, char *err,
                 size_t errlen) {
    *out = *base;
    for (int i = 0; i < s->n_fixed; i++)
        if (apply(out, s->fixed_key[i], s->fixed_val[i], "", err, errlen)) return -1;
    if (run < 0) return 0;
    for (int a = 0; a < s->n_axes; a++)
        if (apply(out, s->axes[a].key, s->axes[a].values[s->runs[run].idx[a]], "", err, errlen))
            return -1;
    return 0;
}

int sweep_expand(sweep_spec *s, const cfg_config *base, const char *origin, char *err,
                 size_t errlen) {
    int rc = -1;
    cfg_config *fixed = malloc(sizeof *fixed), *one = malloc(sizeof *one);
    if (!fixed || !one) {
        err_set(err, errlen, "out of memory");
        goto out;
    }
    /* 1. The plain overrides, in order, on the base. */
    *fixed = *base;
    for (int i = 0; i < s->n_fixed; i++)
        if (apply(fixed, s->fixed_key[i], s->fixed_val[i], origin, err, errlen)) goto out;
    /* 2. Seeds: seed, seed+1, ... from the config's seed (after the overrides). */
    if (s->n_seeds > 1) {
        if (known_key(s, SWEEP_SEED_KEY)) {
            err_set(err, errlen, "--runs %d: cannot be combined with a %s override or axis",
                    s->n_seeds, SWEEP_SEED_KEY);
            goto out;
        }
        if (s->n_axes >= SWEEP_MAX_AXES) {
            err_set(err, errlen, "--runs: more than %d axes in the grid", SWEEP_MAX_AXES);
            goto out;
        }
        if (s->n_seeds > SWEEP_MAX_VALUES) {
            err_set(err, errlen, "--runs %d: at most %d runs of one point", s->n_seeds,
                    SWEEP_MAX_VALUES);
            goto out;
        }
        sweep_axis *a = &s->axes[s->n_axes++];
        snprintf(a->key, sizeof a->key, "%s", SWEEP_SEED_KEY);
        a->n = s->n_seeds;
        for (int i = 0; i < a->n; i++)
            snprintf(a->values[i], SWEEP_VALUE_MAX, "%llu",
                     (unsigned long long)(fixed->training.seed + (uint64_t)i));
        s->n_seeds = 0; /* now an axis: a second expand does not add it again */
    }
    /* The seed axis last: names read "agent.gamma=0.99,seed=3". */
    for (int a = 0; a + 1 < s->n_axes; a++) {
        if (strcmp(s->axes[a].key, SWEEP_SEED_KEY) != 0) continue;
        sweep_axis tmp = s->axes[a];
        memmove(&s->axes[a], &s->axes[a + 1], sizeof tmp * (size_t)(s->n_axes - a - 1));
        s->axes[s->n_axes - 1] = tmp;
        break;
    }
    /* 3. Each axis value alone, so that the message names the value, not a grid point. */
    long total = 1;
    for (int a = 0; a < s->n_axes; a++) {
        for (int v = 0; v < s->axes[a].n; v++) {
            *one = *fixed;
            if (apply(one, s->axes[a].key, s->axes[a].values[v], origin, err, errlen)) goto out;
        }
        total *= s->axes[a].n;
        if (total > SWEEP_MAX_RUNS) {
            err_set(err, errlen, "the grid has more than %d runs", SWEEP_MAX_RUNS);
            goto out;
        }
    }
    /* 4. Every point: names, and the whole config (rules across keys). No axis: a single
     * run with plain overrides, which has no name of its own. */
    s->n_runs = s->n_axes ? (int)total : 0;
    for (int r = 0; r < s->n_runs; r++) {
        sweep_run *run = &s->runs[r];
        memset(run, 0, sizeof *run);
        long rest = r;
        for (int a = s->n_axes - 1; a >= 0; a--) {
            run->idx[a] = (int)(rest % s->axes[a].n);
            rest /= s->axes[a].n;
        }
        size_t o = 0;
        char shown[SWEEP_VALUE_MAX];
        bool fits = true;
        for (int a = 0; a < s->n_axes && fits; a++) {
            name_value(s->axes[a].values[run->idx[a]], shown, sizeof shown);
            const char *k = strcmp(s->axes[a].key, SWEEP_SEED_KEY) ? s->axes[a].key : "seed";
            fits = appendf(run->name, sizeof run->name, &o, "%s%s=%s", a ? "," : "", k, shown) == 0;
        }
        if (!fits || !run->name[0]) {
            err_set(err, errlen, "run %d: its name (from its overrides) is longer than %d", r,
                    SWEEP_NAME_MAX);
            goto out;
        }
        for (int q = 0; q < r; q++)
            if (!strcmp(s->runs[q].name, run->name)) {
                err_set(err, errlen,
                        "two runs would both be named '%s' (values that differ only in "
                        "characters a directory name cannot hold)",
                        run->name);
                goto out;
            }
        char e[600];
        if (sweep_config(s, base, r, one, e, sizeof e) != 0) {
            err_set(err, errlen, "run %s: %s", run->name, e);
            goto out;
        }
    }
    rc = 0;
out:
    free(fixed);
    free(one);
    return rc;
}

/* ---- sweep.toml ----------------------------------------------------------------------- */

int sweep_write_file(const sweep_spec *s, const char *dir, const char *config_path,
                     const char *created, long episodes, int parallel) {
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", dir, SWEEP_FILE_NAME);
    /* Built in memory, then replaced durably in one step (common/fs.h): a kill at any
     * instant leaves the old sweep.toml or the new one. */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return -1;
    char q[PATH_MAX * 2 + 8];
    size_t o = 0;
    fputs("# run_demo sweep (docs/design/sweeps.md): the grid and each run's state, rewritten\n"
          "# by run_demo whenever a run changes state. `run_demo --resume` continues it; as a\n"
          "# --sweep FILE it starts the same grid afresh.\n",
          f);
    fprintf(f, "version = 1\n");
    if (quote(q, sizeof q, &o, config_path, strlen(config_path)) == 0 && config_path[0])
        fprintf(f, "config = %s\n", q);
    fprintf(f, "created = \"%s\"\nepisodes = %ld\nparallel = %d\n", created, episodes, parallel);
    if (s->backend[0]) fprintf(f, "backend = \"%s\"\n", s->backend);
    if (s->server_port > 0) fprintf(f, "server_port = %d\n", s->server_port);
    if (s->n_fixed) fputs("\n[set]\n", f);
    /* Keys are quoted: "agent.gamma" is one key here, not a table agent. */
    for (int i = 0; i < s->n_fixed; i++)
        fprintf(f, "\"%s\" = %s\n", s->fixed_key[i], s->fixed_val[i]);
    if (s->n_axes) fputs("\n[axes]\n", f);
    for (int a = 0; a < s->n_axes; a++) {
        fprintf(f, "\"%s\" = [", s->axes[a].key);
        for (int v = 0; v < s->axes[a].n; v++)
            fprintf(f, "%s%s", v ? ", " : "", s->axes[a].values[v]);
        fputs("]\n", f);
    }
    for (int r = 0; r < s->n_runs; r++) {
        const sweep_run *run = &s->runs[r];
        fprintf(f, "\n[[runs]]\nname = \"%s\"\nstate = \"%s\"\nepisodes = %ld\nrestarts = %d\n",
                run->name, sweep_state_names[run->state], run->episodes, run->restarts);
        if (run->job <= 0) continue;
        /* Slurm's words are quoted as TOML strings: they come from outside. */
        char rq[200], nq[200];
        size_t ro = 0, no = 0;
        rq[0] = nq[0] = '\0';
        quote(rq, sizeof rq, &ro, run->slurm_reason, strlen(run->slurm_reason));
        quote(nq, sizeof nq, &no, run->slurm_node, strlen(run->slurm_node));
        fprintf(f, "job = \"%ld_%d\"\nslurm = \"%s\"\nslurm_reason = %s\nslurm_node = %s\n",
                run->job, r, run->slurm, rq, nq);
    }
    bool ok = !ferror(f);
    ok = fclose(f) == 0 && ok;
    int rc = ok ? fs_write_atomic(path, buf, len, FS_SYNC, NULL, 0) : -1;
    int e = errno;
    free(buf);
    errno = e;
    return rc;
}

/* A run name as sweep_expand makes them (and nothing a path could abuse: no '/', no '..'). */
static bool run_name_ok(const char *n, size_t len) {
    if (len == 0 || len > SWEEP_NAME_MAX || n[0] == '.') return false;
    for (size_t i = 0; i < len; i++)
        if (!((n[i] >= 'A' && n[i] <= 'Z') || (n[i] >= 'a' && n[i] <= 'z') ||
              (n[i] >= '0' && n[i] <= '9') || strchr("._=,-", n[i])))
            return false;
    return true;
}

/* A run's Slurm fields (sweep_write_file): job = "JOB_TASK" with TASK its index; anything
 * else is left out (the run is then judged by its run directory alone). */
static void read_slurm_fields(const toml_value *t, sweep_run *r, int index) {
    const toml_entry *j = toml_table_find(t, "job"), *st = toml_table_find(t, "slurm"),
                     *re = toml_table_find(t, "slurm_reason"),
                     *no = toml_table_find(t, "slurm_node");
    long job = 0;
    int task = -1;
    char tail;
    if (!j || j->value->type != TOML_STRING ||
        sscanf(j->value->u.s.ptr, "%ld_%d%c", &job, &task, &tail) != 2 || job <= 0 || task != index)
        return;
    r->job = job;
    if (st && st->value->type == TOML_STRING)
        snprintf(r->slurm, sizeof r->slurm, "%s", st->value->u.s.ptr);
    if (re && re->value->type == TOML_STRING)
        snprintf(r->slurm_reason, sizeof r->slurm_reason, "%s", re->value->u.s.ptr);
    if (no && no->value->type == TOML_STRING)
        snprintf(r->slurm_node, sizeof r->slurm_node, "%s", no->value->u.s.ptr);
}

int sweep_read_state(sweep_spec *s, const char *dir, char *config_path, size_t pathlen,
                     long *episodes, char *err, size_t errlen) {
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", dir, SWEEP_FILE_NAME);
    sweep_init(s);
    toml_value *root = parse_file(path, err, errlen);
    if (!root) return -1;
    file_ctx c = {s, path, false, err, errlen};
    int rc = load_tree(&c, root);
    const toml_entry *runs = toml_table_find(root, "runs");
    if (rc == 0 && (!runs || runs->value->type != TOML_ARRAY || runs->value->u.arr.len < 1 ||
                    runs->value->u.arr.len > SWEEP_MAX_RUNS))
        rc = file_fail(&c, 1, 1, "no [[runs]] (or more than %d)", SWEEP_MAX_RUNS);
    long episodes_default = s->episodes > 0 ? s->episodes : 10000;
    for (size_t i = 0; rc == 0 && i < runs->value->u.arr.len; i++) {
        const toml_value *t = runs->value->u.arr.items[i];
        const toml_entry *n = toml_table_find(t, "name"), *st = toml_table_find(t, "state"),
                         *re = toml_table_find(t, "restarts"), *ep = toml_table_find(t, "episodes");
        sweep_run *r = &s->runs[s->n_runs];
        if (!n || n->value->type != TOML_STRING ||
            !run_name_ok(n->value->u.s.ptr, n->value->u.s.len)) {
            rc = file_fail(&c, t->line, t->col, "a run without a valid 'name'");
            break;
        }
        snprintf(r->name, sizeof r->name, "%s", n->value->u.s.ptr);
        r->state = SWEEP_QUEUED;
        for (int k = 0; st && st->value->type == TOML_STRING && k < 5; k++)
            if (!strcmp(st->value->u.s.ptr, sweep_state_names[k])) r->state = (sweep_state)k;
        r->episodes = episodes_default;
        if (ep && ep->value->type == TOML_INTEGER && ep->value->u.i >= 1 &&
            ep->value->u.i <= 1000000000)
            r->episodes = (long)ep->value->u.i;
        if (re && re->value->type == TOML_INTEGER && re->value->u.i >= 0 &&
            re->value->u.i < 1000000)
            r->restarts = (int)re->value->u.i;
        read_slurm_fields(t, r, (int)s->n_runs);
        s->n_runs++;
    }
    if (rc == 0) {
        snprintf(config_path, pathlen, "%s", s->config);
        *episodes = s->episodes;
    }
    toml_free(root);
    return rc;
}
