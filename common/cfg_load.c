/* common/cfg_load.c — the config's TOML loader on top of common/toml.h: the load operation
 * of each field type, the document walk, the file:line:column of every error, the public
 * loaders and single values set by dotted key. See common/cfg.h and common/cfg_schema.h. */
#include "common/cfg_schema.h"

#include "common/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- errors and plain values --------------------------------------------------------- */

static int load_fail(cfg_loader *l, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int load_fail(cfg_loader *l, int line, int col, const char *fmt, ...) {
    /* No origin: a value from the command line (cfg_set), which has no position. */
    char where[CFG_PATH_MAX + 32];
    if (l->origin) snprintf(where, sizeof where, "%s:%d:%d", l->origin, line, col);
    va_list ap;
    va_start(ap, fmt);
    err_vat(l->err, l->errlen, l->origin ? where : NULL, fmt, ap);
    va_end(ap);
    return -1;
}

/* Whether an entry's key is exactly s (a TOML key may hold a NUL, which strcmp misses). */
static bool key_is(const toml_entry *e, const char *s) {
    return e->key_len == strlen(s) && memcmp(e->key, s, e->key_len) == 0;
}

/* "an integer", "a string", ... */
static const char *a_type(toml_type t) {
    switch (t) {
        case TOML_INTEGER:
            return "an integer";
        case TOML_ARRAY:
            return "an array";
        case TOML_DATETIME:
            return "an offset date-time";
        default:
            break;
    }
    static const char *const names[] = {
        "a table",   "an array",    "a string",          "an integer",   "a float",
        "a boolean", "a date-time", "a local date-time", "a local date", "a local time"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "a value";
}

static int wrong_type(cfg_loader *l, const toml_value *v, const char *key, const char *where,
                      const char *want) {
    return load_fail(l, v->line, v->col, "wrong type for '%s' in %s: expected %s, found %s", key,
                     where, want, a_type(v->type));
}

/* A key as it may be shown in a message: control characters (a NUL from "\u0000", say)
 * escaped, long keys cut. */
static const char *shown(const toml_entry *e, char *buf, size_t size) {
    size_t o = 0;
    for (size_t i = 0; i < e->key_len && o + 8 < size; i++) {
        unsigned char ch = (unsigned char)e->key[i];
        if (o + 12 >= size) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (ch < 0x20 || ch == 0x7F)
            o += (size_t)snprintf(buf + o, size - o, "\\u%04X", ch);
        else
            buf[o++] = (char)ch;
    }
    buf[o] = '\0';
    return buf;
}

/* The nearest candidate to an entry's key, none for keys holding a NUL. */
static const char *nearest_key(const toml_entry *e, const char *const *cands, size_t n) {
    return e->key_len == strlen(e->key) ? cfg_nearest(e->key, cands, n) : NULL;
}

static int unknown_key(cfg_loader *l, const toml_entry *e, const char *where,
                       const char *const *cands, size_t n) {
    char k[128];
    const char *s = nearest_key(e, cands, n);
    if (s)
        return load_fail(l, e->line, e->col, "unknown key '%s' in %s (did you mean '%s'?)",
                         shown(e, k, sizeof k), where, s);
    return load_fail(l, e->line, e->col, "unknown key '%s' in %s", shown(e, k, sizeof k), where);
}

/* Reads an integer into *out, checking the range only against int's (the schema's ranges
 * are checked by validation, which knows the positions through the locator). */
static int get_int(cfg_loader *l, const toml_value *v, const char *key, const char *where,
                   int *out) {
    if (v->type != TOML_INTEGER) return wrong_type(l, v, key, where, "an integer");
    if (v->u.i < INT32_MIN || v->u.i > INT32_MAX)
        return load_fail(l, v->line, v->col, "'%s' in %s is out of range: %lld", key, where,
                         (long long)v->u.i);
    *out = (int)v->u.i;
    return 0;
}

static int get_double(cfg_loader *l, const toml_value *v, const char *key, const char *where,
                      double *out) {
    if (v->type == TOML_INTEGER)
        *out = (double)v->u.i;
    else if (v->type == TOML_FLOAT)
        *out = v->u.f;
    else
        return wrong_type(l, v, key, where, "a number");
    return 0;
}

static int get_string(cfg_loader *l, const toml_value *v, const char *key, const char *where,
                      char *dst, size_t size) {
    if (v->type != TOML_STRING) return wrong_type(l, v, key, where, "a string");
    if (v->u.s.len >= size || memchr(v->u.s.ptr, '\0', v->u.s.len))
        return load_fail(l, v->line, v->col,
                         "'%s' in %s is too long (at most %zu bytes) or holds a NUL", key, where,
                         size - 1);
    cfg_set_str(dst, size, v->u.s.ptr, v->u.s.len);
    return 0;
}

static int get_enum(cfg_loader *l, const toml_value *v, const char *key, const char *where,
                    const char *const *names, int *out) {
    if (v->type != TOML_STRING) return wrong_type(l, v, key, where, "a string");
    char list[256];
    size_t o = 0;
    list[0] = '\0';
    for (int i = 0; names[i]; i++) {
        if (strlen(names[i]) == v->u.s.len && memcmp(names[i], v->u.s.ptr, v->u.s.len) == 0) {
            *out = i;
            return 0;
        }
        int w = snprintf(list + o, sizeof list - o, "%s\"%s\"", i ? ", " : "", names[i]);
        if (w > 0 && o + (size_t)w < sizeof list) o += (size_t)w;
    }
    return load_fail(l, v->line, v->col, "'%s' in %s must be one of %s, got \"%.*s\"", key, where,
                     list, v->u.s.len > 64 ? 64 : (int)v->u.s.len, v->u.s.ptr);
}

/* A table keyed by meter name, overlaid on `out`. */
static int get_meters(cfg_loader *l, const toml_value *v, const char *key, const char *where,
                      double *out) {
    if (v->type != TOML_TABLE) return wrong_type(l, v, key, where, "a table of meters");
    for (size_t i = 0; i < v->u.tab.len; i++) {
        const toml_entry *e = &v->u.tab.items[i];
        int m = e->key_len == strlen(e->key) ? cfg_meter_index(e->key) : -1;
        if (m < 0) return unknown_key(l, e, where, cfg_meter_names, CFG_NUM_METERS);
        if (get_double(l, e->value, e->key, where, &out[m])) return -1;
    }
    return 0;
}

/* Arrays of tables: either [[header]] elements or an array of inline tables. */
static int check_table_array(cfg_loader *l, const toml_value *v, const char *key, const char *where,
                             size_t max) {
    if (v->type != TOML_ARRAY) return wrong_type(l, v, key, where, "an array of tables");
    for (size_t i = 0; i < v->u.arr.len; i++)
        if (v->u.arr.items[i]->type != TOML_TABLE)
            return wrong_type(l, v->u.arr.items[i], key, where, "an array of tables");
    if (v->u.arr.len > max)
        return load_fail(l, v->line, v->col, "too many %s: at most %zu", key, max);
    return 0;
}

/* Keys of one affordance and of one cascade (checked by hand: they are arrays of tables). */
static const char *const affordance_keys[] = {"name",      "x",          "y",     "cost", "effects",
                                              "open_hour", "close_hour", "ticks", NULL};
static const char *const cascade_keys[] = {"source", "target", "threshold", "strength", NULL};

/* ---- the load operation of each field type (a row of cfg_types[]) ---------------------- */

int cfg_load_affordances(cfg_loader *l, const cfg_field *f, const toml_value *v, char *base,
                         const char *where_sec) {
    cfg_environment *env = (cfg_environment *)base;
    if (check_table_array(l, v, f->key, where_sec, CFG_MAX_AFFORDANCES)) return -1;
    memset(env->affordances, 0, sizeof env->affordances);
    env->n_affordances = (int)v->u.arr.len;
    for (size_t i = 0; i < v->u.arr.len; i++) {
        const toml_value *t = v->u.arr.items[i];
        cfg_affordance *a = &env->affordances[i];
        char where[64];
        snprintf(where, sizeof where, "[[environment.affordances]] #%zu", i + 1);
        a->open_hour = 0;
        a->close_hour = 24;
        a->ticks = 1;
        bool have_name = false, have_x = false, have_y = false;
        for (size_t k = 0; k < t->u.tab.len; k++) {
            const toml_entry *e = &t->u.tab.items[k];
            const toml_value *x = e->value;
            int rc;
            if (key_is(e, "name")) {
                rc = get_string(l, x, e->key, where, a->name, sizeof a->name);
                have_name = true;
            } else if (key_is(e, "x")) {
                rc = get_int(l, x, e->key, where, &a->x);
                have_x = true;
            } else if (key_is(e, "y")) {
                rc = get_int(l, x, e->key, where, &a->y);
                have_y = true;
            } else if (key_is(e, "cost")) {
                rc = get_double(l, x, e->key, where, &a->cost);
            } else if (key_is(e, "effects")) {
                char w2[96];
                snprintf(w2, sizeof w2, "'effects' of %s", where);
                rc = get_meters(l, x, e->key, w2, a->effects);
            } else if (key_is(e, "open_hour")) {
                rc = get_int(l, x, e->key, where, &a->open_hour);
            } else if (key_is(e, "close_hour")) {
                rc = get_int(l, x, e->key, where, &a->close_hour);
            } else if (key_is(e, "ticks")) {
                rc = get_int(l, x, e->key, where, &a->ticks);
            } else {
                rc = unknown_key(l, e, where, affordance_keys,
                                 sizeof affordance_keys / sizeof affordance_keys[0] - 1);
            }
            if (rc) return -1;
        }
        const char *missing = !have_name ? "name" : !have_x ? "x" : !have_y ? "y" : NULL;
        if (missing) return load_fail(l, t->line, t->col, "%s is missing '%s'", where, missing);
    }
    return 0;
}

int cfg_load_cascades(cfg_loader *l, const cfg_field *f, const toml_value *v, char *base,
                      const char *where_sec) {
    cfg_environment *env = (cfg_environment *)base;
    if (check_table_array(l, v, f->key, where_sec, CFG_MAX_CASCADES)) return -1;
    memset(env->cascades, 0, sizeof env->cascades);
    env->n_cascades = (int)v->u.arr.len;
    for (size_t i = 0; i < v->u.arr.len; i++) {
        const toml_value *t = v->u.arr.items[i];
        cfg_cascade *c = &env->cascades[i];
        char where[64];
        snprintf(where, sizeof where, "[[environment.cascades]] #%zu", i + 1);
        c->threshold = CFG_CASCADE_THRESHOLD;
        bool have_source = false, have_target = false, have_strength = false;
        for (size_t k = 0; k < t->u.tab.len; k++) {
            const toml_entry *e = &t->u.tab.items[k];
            const toml_value *x = e->value;
            int rc;
            if (key_is(e, "source") || key_is(e, "target")) {
                int m = 0;
                rc = get_enum(l, x, e->key, where, cfg_meter_enum_names, &m);
                if (e->key[0] == 's') {
                    c->source = m;
                    have_source = true;
                } else {
                    c->target = m;
                    have_target = true;
                }
            } else if (key_is(e, "threshold")) {
                rc = get_double(l, x, e->key, where, &c->threshold);
            } else if (key_is(e, "strength")) {
                rc = get_double(l, x, e->key, where, &c->strength);
                have_strength = true;
            } else {
                rc = unknown_key(l, e, where, cascade_keys,
                                 sizeof cascade_keys / sizeof cascade_keys[0] - 1);
            }
            if (rc) return -1;
        }
        const char *missing = !have_source     ? "source"
                              : !have_target   ? "target"
                              : !have_strength ? "strength"
                                               : NULL;
        if (missing) return load_fail(l, t->line, t->col, "%s is missing '%s'", where, missing);
    }
    return 0;
}

#define AT(T) ((T *)(base + f->off))

int cfg_load_int(cfg_loader *l, const cfg_field *f, const toml_value *v, char *base,
                 const char *where) {
    return get_int(l, v, f->key, where, AT(int));
}

int cfg_load_seed(cfg_loader *l, const cfg_field *f, const toml_value *v, char *base,
                  const char *where) {
    if (v->type != TOML_INTEGER) return wrong_type(l, v, f->key, where, "an integer");
    if (v->u.i < 0)
        return load_fail(l, v->line, v->col,
                         "'%s' in %s must be between 0 and 9223372036854775807, got %lld", f->key,
                         where, (long long)v->u.i);
    *AT(uint64_t) = (uint64_t)v->u.i;
    return 0;
}

int cfg_load_double(cfg_loader *l, const cfg_field *f, const toml_value *v, char *base,
                    const char *where) {
    return get_double(l, v, f->key, where, AT(double));
}

int cfg_load_bool(cfg_loader *l, const cfg_field *f, const toml_value *v, char *base,
                  const char *where) {
    if (v->type != TOML_BOOL) return wrong_type(l, v, f->key, where, "a boolean");
    *AT(bool) = v->u.b;
    return 0;
}

int cfg_load_string_field(cfg_loader *l, const cfg_field *f, const toml_value *v, char *base,
                          const char *where) {
    return get_string(l, v, f->key, where, AT(char), f->size);
}

int cfg_load_enum(cfg_loader *l, const cfg_field *f, const toml_value *v, char *base,
                  const char *where) {
    int x;
    if (get_enum(l, v, f->key, where, f->names, &x)) return -1;
    memcpy(AT(char), &x, sizeof x);
    return 0;
}

int cfg_load_meters(cfg_loader *l, const cfg_field *f, const toml_value *v, char *base,
                    const char *where) {
    char w2[64];
    cfg_subtable_where(w2, sizeof w2, where, f->key);
    return get_meters(l, v, f->key, w2, AT(double));
}

int cfg_load_hidden(cfg_loader *l, const cfg_field *f, const toml_value *v, char *base,
                    const char *where) {
    cfg_agent *a = (cfg_agent *)base;
    if (v->type != TOML_ARRAY) return wrong_type(l, v, f->key, where, "an array of integers");
    if (v->u.arr.len < 1 || v->u.arr.len > CFG_MAX_HIDDEN)
        return load_fail(l, v->line, v->col, "'%s' in %s must list 1 to %d layer sizes", f->key,
                         where, CFG_MAX_HIDDEN);
    memset(a->hidden, 0, sizeof a->hidden);
    for (size_t i = 0; i < v->u.arr.len; i++)
        if (get_int(l, v->u.arr.items[i], f->key, where, &a->hidden[i])) return -1;
    a->n_hidden = (int)v->u.arr.len;
    return 0;
}

int cfg_load_stages(cfg_loader *l, const cfg_field *f, const toml_value *v, char *base,
                    const char *where) {
    cfg_curriculum *c = (cfg_curriculum *)base;
    if (v->type != TOML_ARRAY) return wrong_type(l, v, f->key, where, "an array of numbers");
    if (v->u.arr.len < 1 || v->u.arr.len > CFG_MAX_STAGES)
        return load_fail(l, v->line, v->col, "'%s' in %s must list 1 to %d stages", f->key, where,
                         CFG_MAX_STAGES);
    memset(c->stages, 0, sizeof c->stages);
    for (size_t i = 0; i < v->u.arr.len; i++)
        if (get_double(l, v->u.arr.items[i], f->key, where, &c->stages[i])) return -1;
    c->n_stages = (int)v->u.arr.len;
    return 0;
}

int cfg_load_command(cfg_loader *l, const cfg_field *f, const toml_value *v, char *base,
                     const char *where) {
    cfg_process *pr = (cfg_process *)base;
    if (v->type != TOML_ARRAY) return wrong_type(l, v, f->key, where, "an array of strings");
    if (v->u.arr.len > CFG_MAX_ARGS)
        return load_fail(l, v->line, v->col, "'%s' in %s has more than %d arguments", f->key, where,
                         CFG_MAX_ARGS);
    memset(pr->argv, 0, sizeof pr->argv);
    for (size_t i = 0; i < v->u.arr.len; i++)
        if (get_string(l, v->u.arr.items[i], f->key, where, pr->argv[i], CFG_ARG_MAX)) return -1;
    pr->argc = (int)v->u.arr.len;
    if (pr->argc > 0 && pr->argv[0][0] == '\0')
        return load_fail(l, v->line, v->col, "'%s' in %s: the program name is empty", f->key,
                         where);
    return 0;
}

static bool env_name_ok(const char *s, size_t len) {
    if (len == 0 || (s[0] >= '0' && s[0] <= '9')) return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

int cfg_load_env(cfg_loader *l, const cfg_field *f, const toml_value *v, char *base,
                 const char *where) {
    cfg_process *pr = (cfg_process *)base;
    if (v->type != TOML_TABLE) return wrong_type(l, v, f->key, where, "a table of strings");
    if (v->u.tab.len > CFG_MAX_ENV)
        return load_fail(l, v->line, v->col, "'%s' in %s has more than %d variables", f->key, where,
                         CFG_MAX_ENV);
    memset(pr->env, 0, sizeof pr->env);
    for (size_t i = 0; i < v->u.tab.len; i++) {
        const toml_entry *x = &v->u.tab.items[i];
        char k[128];
        if (!env_name_ok(x->key, x->key_len))
            return load_fail(l, x->line, x->col,
                             "'%s' in %s: '%s' is not a valid environment variable name", f->key,
                             where, shown(x, k, sizeof k));
        if (x->value->type != TOML_STRING)
            return wrong_type(l, x->value, x->key, where, "a string");
        if (x->key_len + 1 + x->value->u.s.len >= CFG_ARG_MAX ||
            memchr(x->value->u.s.ptr, '\0', x->value->u.s.len))
            return load_fail(l, x->value->line, x->value->col,
                             "'%s' in %s is too long (NAME=value at most %d bytes)", x->key, where,
                             CFG_ARG_MAX - 1);
        snprintf(pr->env[i], CFG_ARG_MAX, "%s=%s", x->key, x->value->u.s.ptr);
    }
    pr->n_env = (int)v->u.tab.len;
    return 0;
}

#undef AT

/* ---- the document --------------------------------------------------------------------- */

static int load_section(cfg_loader *l, const cfg_section *s, const toml_value *t, cfg_config *c) {
    char where[64];
    snprintf(where, sizeof where, "[%s]", s->name);
    if (t->type != TOML_TABLE) return wrong_type(l, t, s->name, "the document", "a table");
    const char *cands[32];
    size_t n = 0;
    for (const cfg_field *f = s->fields; f->key && n < 32; f++) cands[n++] = f->key;
    for (size_t i = 0; i < t->u.tab.len; i++) {
        const toml_entry *e = &t->u.tab.items[i];
        const cfg_field *f = s->fields;
        while (f->key && !key_is(e, f->key)) f++;
        if (!f->key) return unknown_key(l, e, where, cands, n);
        if (cfg_types[f->type].load(l, f, e->value, (char *)c + s->off, where)) return -1;
    }
    return 0;
}

static bool name_ok(const char *s) {
    if (s[0] == '\0' || s[0] == '.') return false;
    for (; *s; s++)
        if (!cfg_name_char_ok(*s)) return false;
    return true;
}

/* Walks the document: known tables go to their cfg_sections, anything else is an error. */
static int load_document(cfg_loader *l, const toml_value *root, cfg_config *c) {
    /* The top level's keys: "name", every table of cfg_sections[] that is not under
     * [processes], then "processes" (the order decides between equally near suggestions). */
    const char *top[CFG_NUM_SECTIONS + 2];
    size_t n_top = 0;
    top[n_top++] = "name";
    for (size_t j = 0; j < CFG_NUM_SECTIONS; j++)
        if (!strchr(cfg_sections[j].name, '.')) top[n_top++] = cfg_sections[j].name;
    top[n_top++] = "processes";
    for (size_t i = 0; i < root->u.tab.len; i++) {
        const toml_entry *e = &root->u.tab.items[i];
        const toml_value *v = e->value;
        if (key_is(e, "name")) {
            if (get_string(l, v, "name", "the document", c->name, sizeof c->name)) return -1;
            /* The name becomes a directory (runs/<name>/): keep it one plain component. */
            if (!name_ok(c->name))
                return load_fail(l, v->line, v->col,
                                 "'name' must be letters, digits, '.', '_' or '-' and not "
                                 "start with '.'");
            continue;
        }
        if (key_is(e, "processes")) {
            if (v->type != TOML_TABLE)
                return wrong_type(l, v, "processes", "the document", "a table");
            for (size_t pi = 0; pi < v->u.tab.len; pi++) {
                const toml_entry *pe = &v->u.tab.items[pi];
                size_t j = 0;
                while (j < CFG_NUM_PROCS && !key_is(pe, cfg_process_names[j])) j++;
                if (j == CFG_NUM_PROCS) {
                    char k[128];
                    const char *s = nearest_key(pe, cfg_process_names, CFG_NUM_PROCS);
                    const toml_value *pv = pe->value;
                    if (s)
                        return load_fail(l, pv->line, pv->col,
                                         "unknown table [processes.%s] (did you mean "
                                         "[processes.%s]?)",
                                         shown(pe, k, sizeof k), s);
                    return load_fail(l, pv->line, pv->col,
                                     "unknown table [processes.%s] (expected trainer, server "
                                     "or frontend)",
                                     shown(pe, k, sizeof k));
                }
                if (load_section(l, &cfg_sections[CFG_SEC_PROCESSES + j], pe->value, c)) return -1;
            }
            continue;
        }
        size_t j = 0;
        while (j < CFG_NUM_SECTIONS &&
               (strchr(cfg_sections[j].name, '.') || !key_is(e, cfg_sections[j].name)))
            j++;
        if (j < CFG_NUM_SECTIONS) {
            if (load_section(l, &cfg_sections[j], v, c)) return -1;
            continue;
        }
        char k[128];
        const char *s = nearest_key(e, top, n_top);
        if (v->type == TOML_TABLE) {
            /* A table points at its header's '[' (or at its key when made by dotted keys). */
            if (s)
                return load_fail(l, v->line, v->col, "unknown table [%s] (did you mean [%s]?)",
                                 shown(e, k, sizeof k), s);
            return load_fail(l, v->line, v->col, "unknown table [%s]", shown(e, k, sizeof k));
        }
        if (s)
            return load_fail(l, e->line, e->col,
                             "unknown key '%s' at the top level (did you mean '%s'?)",
                             shown(e, k, sizeof k), s);
        return load_fail(l, e->line, e->col, "unknown key '%s' at the top level",
                         shown(e, k, sizeof k));
    }
    return 0;
}

/* Finds the position of what a locator names in the document; the deepest part that the
 * file actually wrote wins (a default value has no position, its table has). */
static void locate(const toml_value *root, const cfg_locator *loc, int *line, int *col) {
    *line = 1;
    *col = 1;
    const toml_value *t = root;
    char sec[64];
    snprintf(sec, sizeof sec, "%s", loc->section ? loc->section : "");
    char *save = NULL;
    for (char *part = strtok_r(sec, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
        const toml_entry *e = toml_table_find(t, part);
        if (!e) return;
        t = e->value;
        *line = e->line;
        *col = e->col;
        if (t->type == TOML_TABLE) {
            *line = t->line;
            *col = t->col;
        }
    }
    if (!loc->key) return;
    const toml_entry *e = toml_table_find(t, loc->key);
    if (!e && loc->key2 && (e = toml_table_find(t, loc->key2)) != NULL) {
        *line = e->value->line;
        *col = e->value->col;
        return;
    }
    if (!e) return;
    const toml_value *v = e->value;
    *line = v->line;
    *col = v->col;
    if (loc->index >= 0) {
        if (v->type != TOML_ARRAY || (size_t)loc->index >= v->u.arr.len) return;
        v = v->u.arr.items[loc->index];
        *line = v->line;
        *col = v->col;
    }
    if (!loc->subkey) return;
    e = toml_table_find(v, loc->subkey);
    if (!e) return;
    *line = e->value->line;
    *col = e->value->col;
}

/* ---- public loaders ------------------------------------------------------------------- */

static int load_string_impl(cfg_config *c, const char *text, size_t len, const char *origin,
                            char *err, size_t errlen, bool *named) {
    cfg_loader l = {origin ? origin : "<string>", err, errlen};
    char perr[512];
    cfg_defaults(c);
    if (named) *named = false;
    toml_value *root = toml_parse(text, len, perr, sizeof perr);
    if (!root) {
        err_set(err, errlen, "%s:%s", l.origin, perr);
        return -1;
    }
    cfg_config *tmp = malloc(sizeof *tmp); /* ~40 KB: too big for some thread stacks */
    if (!tmp) {
        toml_free(root);
        err_set(err, errlen, "%s: out of memory", l.origin);
        return -1;
    }
    cfg_defaults(tmp);
    size_t hl = strlen(CFG_RESOLVED_HEADER);
    if (len >= hl && memcmp(text, CFG_RESOLVED_HEADER, hl) == 0) cfg_former_behaviour(tmp);
    int rc = load_document(&l, root, tmp);
    if (rc == 0) {
        char verr[400];
        cfg_locator loc;
        if (cfg_validate_at(tmp, verr, sizeof verr, &loc) != 0) {
            int line, col;
            locate(root, &loc, &line, &col);
            rc = load_fail(&l, line, col, "%s", verr);
        }
    }
    if (rc == 0) {
        if (named) *named = toml_table_find(root, "name") != NULL;
        *c = *tmp;
    }
    free(tmp);
    toml_free(root);
    return rc;
}

int cfg_load_string(cfg_config *c, const char *text, size_t len, const char *origin, char *err,
                    size_t errlen) {
    return load_string_impl(c, text, len, origin, err, errlen, NULL);
}

int cfg_load_file(cfg_config *c, const char *path, char *err, size_t errlen) {
    cfg_defaults(c);
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    /* Config files are small; refuse anything absurd rather than read it all. */
    enum { MAX_CONFIG_BYTES = 4 << 20 };
    char *text = malloc(MAX_CONFIG_BYTES + 1);
    if (!text) {
        fclose(f);
        err_set(err, errlen, "%s: out of memory", path);
        return -1;
    }
    errno = 0;
    size_t len = fread(text, 1, MAX_CONFIG_BYTES + 1, f);
    int read_err = ferror(f), read_err_no = errno ? errno : EIO;
    fclose(f);
    int rc = -1;
    if (read_err) {
        err_set(err, errlen, "%s: cannot read: %s", path, strerror(read_err_no));
        goto out_text;
    }
    if (len > MAX_CONFIG_BYTES) {
        err_set(err, errlen, "%s: larger than %d bytes", path, MAX_CONFIG_BYTES);
        goto out_text;
    }
    bool named;
    if (load_string_impl(c, text, len, path, err, errlen, &named) != 0) goto out_text;
    /* The stem names the run ("level1"), unless the file names itself: the resolved
     * config.toml of a run directory carries `name` so that it keeps its level's name. */
    if (!named) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t n = strlen(base);
        if (n > 5 && strcmp(base + n - 5, ".toml") == 0) n -= 5;
        cfg_set_str(c->name, sizeof c->name, base, n);
        /* The name becomes a directory (runs/<name>/): make an odd file name safe. */
        for (char *ch = c->name; *ch; ch++)
            if (!cfg_name_char_ok(*ch)) *ch = '_';
        if (c->name[0] == '.' || c->name[0] == '\0') c->name[0] = '_';
    }
    cfg_set_str(c->path, sizeof c->path, path, strlen(path));
    rc = 0;
out_text:
    free(text);
    if (rc != 0) cfg_defaults(c);
    return rc;
}

static bool is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int cfg_resolve_path(const char *arg, const char *configs_dir, char *out, size_t outlen, char *err,
                     size_t errlen) {
    if (!arg || !*arg) {
        err_set(err, errlen, "empty config name");
        return -1;
    }
    char cand[CFG_PATH_MAX + 16];
    const char *found = NULL;
    if (is_file(arg)) {
        found = arg;
    } else if (!strchr(arg, '/') && configs_dir) {
        snprintf(cand, sizeof cand, "%s/%s", configs_dir, arg);
        if (is_file(cand)) {
            found = cand;
        } else {
            size_t n = strlen(arg);
            if (n < 5 || strcmp(arg + n - 5, ".toml") != 0) {
                snprintf(cand, sizeof cand, "%s/%s.toml", configs_dir, arg);
                if (is_file(cand)) found = cand;
            }
        }
    }
    if (!found) {
        if (strchr(arg, '/') || !configs_dir)
            err_set(err, errlen, "config file '%s' not found", arg);
        else
            err_set(err, errlen, "config file '%s' not found (looked in . and %s/)", arg,
                    configs_dir);
        return -1;
    }
    if (strlen(found) >= outlen) {
        err_set(err, errlen, "config path '%s' is too long", found);
        return -1;
    }
    snprintf(out, outlen, "%s", found);
    return 0;
}

/* ---- single values (command line, sweep files) ---------------------------------------- */

/* The section a dotted key starts with (the longest name that matches, so that
 * "processes.trainer.restart" finds [processes.trainer]); *rest points after its dot. */
static const cfg_section *section_of(const char *key, const char **rest) {
    const cfg_section *best = NULL;
    for (size_t i = 0; i < CFG_NUM_SECTIONS; i++) {
        size_t n = strlen(cfg_sections[i].name);
        if (strncmp(key, cfg_sections[i].name, n) == 0 && key[n] == '.' &&
            (!best || n > strlen(best->name))) {
            best = &cfg_sections[i];
            *rest = key + n + 1;
        }
    }
    return best;
}

int cfg_set_value(cfg_config *c, const char *key, const struct toml_value *v, char *err,
                  size_t errlen) {
    cfg_loader l = {NULL, err, errlen};
    const char *rest = NULL;
    const cfg_section *sec = section_of(key, &rest);
    if (!sec) {
        const char *dot = strrchr(key, '.');
        if (!dot) {
            err_set(err, errlen, "'%s' is not SECTION.KEY (e.g. agent.gamma)", key);
            return -1;
        }
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(dot - key), key);
        const char *cands[CFG_NUM_SECTIONS];
        for (size_t i = 0; i < CFG_NUM_SECTIONS; i++) cands[i] = cfg_sections[i].name;
        const char *sug = cfg_nearest(name, cands, CFG_NUM_SECTIONS);
        if (sug)
            err_set(err, errlen, "unknown section [%s] (did you mean [%s]?)", name, sug);
        else
            err_set(err, errlen,
                    "unknown section [%s] (expected environment, agent, training, curriculum, "
                    "unified_server, processes.trainer|server|frontend or cluster)",
                    name);
        return -1;
    }
    char where[64], field_name[64];
    snprintf(where, sizeof where, "[%s]", sec->name);
    /* "decay.energy": one meter of a meter table. */
    const char *sub = strchr(rest, '.');
    snprintf(field_name, sizeof field_name, "%.*s", sub ? (int)(sub - rest) : (int)strlen(rest),
             rest);
    const char *cands[32];
    size_t n = 0;
    const cfg_field *f = NULL;
    for (const cfg_field *x = sec->fields; x->key && n < 32; x++) {
        cands[n++] = x->key;
        if (!strcmp(x->key, field_name)) f = x;
    }
    if (!f) {
        const char *sug = cfg_nearest(field_name, cands, n);
        if (sug)
            err_set(err, errlen, "unknown key '%s' in %s (did you mean '%s'?)", field_name, where,
                    sug);
        else
            err_set(err, errlen, "unknown key '%s' in %s", field_name, where);
        return -1;
    }
    if (cfg_types[f->type].list_of_tables) {
        err_set(err, errlen, "'%s' in %s is a list of tables: set it in a config file", f->key,
                where);
        return -1;
    }
    if (sub && !cfg_types[f->type].meter_keys) {
        err_set(err, errlen, "'%s' in %s has no sub-keys (got '%s')", f->key, where, rest);
        return -1;
    }
    cfg_config *tmp = malloc(sizeof *tmp);
    if (!tmp) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    *tmp = *c;
    char *base = (char *)tmp + sec->off;
    int rc;
    if (sub) {
        int m = cfg_meter_index(sub + 1);
        char w2[96];
        cfg_subtable_where(w2, sizeof w2, where, f->key);
        if (m < 0) {
            const char *sug = cfg_nearest(sub + 1, cfg_meter_names, CFG_NUM_METERS);
            if (sug)
                rc = load_fail(&l, 0, 0, "unknown key '%s' in %s (did you mean '%s'?)", sub + 1, w2,
                               sug);
            else
                rc = load_fail(&l, 0, 0, "unknown key '%s' in %s", sub + 1, w2);
        } else {
            rc = get_double(&l, v, sub + 1, w2, (double *)(base + f->off) + m);
        }
    } else {
        rc = cfg_types[f->type].load(&l, f, v, base, where);
    }
    cfg_locator loc;
    if (rc == 0 && cfg_validate_at(tmp, err, errlen, &loc) != 0) rc = -1;
    if (rc == 0) *c = *tmp;
    free(tmp);
    return rc;
}

struct toml_value *cfg_parse_value(const char *text, const struct toml_value **v) {
    size_t tl = strlen(text);
    char *doc = malloc(tl + 8);
    *v = NULL;
    if (!doc) return NULL;
    memcpy(doc, "v = ", 4);
    memcpy(doc + 4, text, tl);
    memcpy(doc + 4 + tl, "\n", 2);
    char perr[256];
    toml_value *root = toml_parse(doc, tl + 5, perr, sizeof perr);
    free(doc);
    /* "1\nx = 2" parses too, as two keys: not one value. */
    if (root && root->u.tab.len == 1 && key_is(&root->u.tab.items[0], "v"))
        *v = root->u.tab.items[0].value;
    if (!*v) {
        toml_free(root);
        root = NULL;
    }
    return root;
}

int cfg_set(cfg_config *c, const char *key, const char *text, char *err, size_t errlen) {
    /* The value in TOML syntax ("0.99", "[64, 64]", "true", "\"x\""); anything that is not
     * one TOML value (a bare word: hard, partial, 127.0.0.1) is taken as a string. */
    const toml_value *v;
    toml_value *root = cfg_parse_value(text, &v);
    toml_value str = {.type = TOML_STRING, .line = 1, .col = 1};
    if (!v) {
        str.u.s.ptr = text;
        str.u.s.len = strlen(text);
        v = &str;
    }
    int rc = cfg_set_value(c, key, v, err, errlen);
    toml_free(root);
    return rc;
}
