/* common/cfg_validate.c — the config's validation: the check operation of each field type
 * (ranges, enums, lists), then the rules across fields, each blamed on the key a person most
 * likely has to change. See common/cfg.h and common/cfg_schema.h. */
#include "common/cfg_schema.h"

#include "common/err.h"

#include <math.h>
#include <string.h>

static void fmt_num(char *buf, size_t size, double v) {
    snprintf(buf, size, "%.10g", v);
}

static int range_fail(char *err, size_t errlen, const char *key, const char *where,
                      const cfg_field *f, double v) {
    char lo[32], hi[32], got[32];
    fmt_num(lo, sizeof lo, f->min);
    fmt_num(hi, sizeof hi, f->max);
    fmt_num(got, sizeof got, v);
    if (f->max >= CFG_BIG)
        err_set(err, errlen, "'%s' in %s must be %s %s, got %s", key, where,
                f->flags & CFG_EXCL_MIN ? "greater than" : "at least", lo, got);
    else if (f->flags & (CFG_EXCL_MIN | CFG_EXCL_MAX))
        err_set(err, errlen, "'%s' in %s must be %s %s and %s %s, got %s", key, where,
                f->flags & CFG_EXCL_MIN ? "greater than" : "at least", lo,
                f->flags & CFG_EXCL_MAX ? "less than" : "at most", hi, got);
    else
        err_set(err, errlen, "'%s' in %s must be between %s and %s, got %s", key, where, lo, hi,
                got);
    return -1;
}

static bool in_range(const cfg_field *f, double v) {
    if (isnan(v)) return false;
    if (f->flags & CFG_EXCL_MIN ? v <= f->min : v < f->min) return false;
    if (f->flags & CFG_EXCL_MAX ? v >= f->max : v > f->max) return false;
    return true;
}

/* ---- the check operation of each field type (a row of cfg_types[]) ------------------- */

#define AT(T) ((const T *)(base + f->off))

int cfg_check_int(const cfg_field *f, const char *base, const char *where, cfg_locator *loc,
                  char *err, size_t errlen) {
    (void)loc;
    double v = *AT(int);
    return in_range(f, v) ? 0 : range_fail(err, errlen, f->key, where, f, v);
}

int cfg_check_double(const cfg_field *f, const char *base, const char *where, cfg_locator *loc,
                     char *err, size_t errlen) {
    (void)loc;
    double v = *AT(double);
    return in_range(f, v) ? 0 : range_fail(err, errlen, f->key, where, f, v);
}

int cfg_check_seed(const cfg_field *f, const char *base, const char *where, cfg_locator *loc,
                   char *err, size_t errlen) {
    (void)loc;
    if (*AT(uint64_t) > (uint64_t)INT64_MAX) {
        err_set(err, errlen, "'%s' in %s must be between 0 and 9223372036854775807, got %llu",
                f->key, where, (unsigned long long)*AT(uint64_t));
        return -1;
    }
    return 0;
}

int cfg_check_enum(const cfg_field *f, const char *base, const char *where, cfg_locator *loc,
                   char *err, size_t errlen) {
    (void)loc;
    int x;
    memcpy(&x, AT(char), sizeof x);
    int n = 0;
    while (f->names[n]) n++;
    if (x < 0 || x >= n) {
        err_set(err, errlen, "'%s' in %s has no valid value (%d)", f->key, where, x);
        return -1;
    }
    return 0;
}

int cfg_check_string(const cfg_field *f, const char *base, const char *where, cfg_locator *loc,
                     char *err, size_t errlen) {
    (void)loc;
    if (AT(char)[0] == '\0' && !(f->flags & CFG_MAY_BE_EMPTY)) {
        err_set(err, errlen, "'%s' in %s must not be empty", f->key, where);
        return -1;
    }
    return 0;
}

int cfg_check_meters(const cfg_field *f, const char *base, const char *where, cfg_locator *loc,
                     char *err, size_t errlen) {
    char w2[64];
    cfg_subtable_where(w2, sizeof w2, where, f->key);
    for (int m = 0; m < CFG_NUM_METERS; m++) {
        double v = AT(double)[m];
        loc->subkey = cfg_meter_names[m];
        if (!in_range(f, v)) return range_fail(err, errlen, cfg_meter_names[m], w2, f, v);
    }
    loc->subkey = NULL;
    return 0;
}

/* A list of 1 to max numbers, each in the field's range; `what` names the elements. */
static int check_list(const cfg_field *f, const char *where, const double *v, int n, int max,
                      const char *what, char *err, size_t errlen) {
    if (n < 1 || n > max) {
        err_set(err, errlen, "'%s' in %s must list 1 to %d %s", f->key, where, max, what);
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (!in_range(f, v[i])) return range_fail(err, errlen, f->key, where, f, v[i]);
    return 0;
}

int cfg_check_hidden(const cfg_field *f, const char *base, const char *where, cfg_locator *loc,
                     char *err, size_t errlen) {
    (void)loc;
    const cfg_agent *a = (const cfg_agent *)base;
    double v[CFG_MAX_HIDDEN];
    for (int i = 0; i < a->n_hidden && i < CFG_MAX_HIDDEN; i++) v[i] = a->hidden[i];
    return check_list(f, where, v, a->n_hidden, CFG_MAX_HIDDEN, "layer sizes", err, errlen);
}

int cfg_check_stages(const cfg_field *f, const char *base, const char *where, cfg_locator *loc,
                     char *err, size_t errlen) {
    (void)loc;
    const cfg_curriculum *cu = (const cfg_curriculum *)base;
    return check_list(f, where, cu->stages, cu->n_stages, CFG_MAX_STAGES, "stages", err, errlen);
}

int cfg_check_command(const cfg_field *f, const char *base, const char *where, cfg_locator *loc,
                      char *err, size_t errlen) {
    (void)f;
    (void)loc;
    const cfg_process *pr = (const cfg_process *)base;
    if (pr->argc < 0 || pr->argc > CFG_MAX_ARGS || (pr->argc > 0 && pr->argv[0][0] == '\0')) {
        err_set(err, errlen, "'command' in %s is not a valid command line", where);
        return -1;
    }
    return 0;
}

int cfg_check_env(const cfg_field *f, const char *base, const char *where, cfg_locator *loc,
                  char *err, size_t errlen) {
    (void)f;
    (void)loc;
    const cfg_process *pr = (const cfg_process *)base;
    if (pr->n_env < 0 || pr->n_env > CFG_MAX_ENV) {
        err_set(err, errlen, "'env' in %s has more than %d variables", where, CFG_MAX_ENV);
        return -1;
    }
    return 0;
}

#undef AT

/* ---- the whole config ----------------------------------------------------------------- */

/* Every field of every section through its type's check. */
static int check_fields(const cfg_config *c, char *err, size_t errlen, cfg_locator *loc) {
    for (size_t s = 0; s < CFG_NUM_SECTIONS; s++) {
        const cfg_section *sec = &cfg_sections[s];
        const char *base = (const char *)c + sec->off;
        char where[64];
        snprintf(where, sizeof where, "[%s]", sec->name);
        loc->section = sec->name;
        for (const cfg_field *f = sec->fields; f->key; f++) {
            loc->key = f->key;
            if (cfg_types[f->type].check &&
                cfg_types[f->type].check(f, base, where, loc, err, errlen))
                return -1;
        }
    }
    return 0;
}

/* The arrays of tables, after every plain field (an affordance's cell needs a valid grid). */
static int check_affordances(const cfg_environment *e, char *err, size_t errlen, cfg_locator *loc) {
    loc->section = "environment";
    loc->key = "affordances";
    if (e->n_affordances < 0 || e->n_affordances > CFG_MAX_AFFORDANCES) {
        err_set(err, errlen, "too many affordances: at most %d", CFG_MAX_AFFORDANCES);
        return -1;
    }
    for (int i = 0; i < e->n_affordances; i++) {
        const cfg_affordance *a = &e->affordances[i];
        char where[64];
        snprintf(where, sizeof where, "[[environment.affordances]] #%d", i + 1);
        loc->index = i;
        loc->subkey = "name";
        if (a->name[0] == '\0') {
            err_set(err, errlen, "%s has an empty name", where);
            return -1;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(e->affordances[j].name, a->name) == 0) {
                err_set(err, errlen, "%s: the name '%s' is already used by #%d", where, a->name,
                        j + 1);
                return -1;
            }
        loc->subkey = a->x < 0 || a->x >= e->width ? "x" : "y";
        loc->key2 = a->x < 0 || a->x >= e->width ? "width" : "height";
        if (a->x < 0 || a->x >= e->width || a->y < 0 || a->y >= e->height) {
            err_set(err, errlen, "affordance '%s' at (%d, %d) is outside the %dx%d grid", a->name,
                    a->x, a->y, e->width, e->height);
            return -1;
        }
        loc->subkey = "x";
        loc->key2 = NULL;
        for (int j = 0; j < i; j++)
            if (e->affordances[j].x == a->x && e->affordances[j].y == a->y) {
                err_set(err, errlen, "affordance '%s' at (%d, %d) is on the same cell as '%s'",
                        a->name, a->x, a->y, e->affordances[j].name);
                return -1;
            }
        static const cfg_field cost = {"cost", CFG_F_DOUBLE, 0, 0, 1000, 0, NULL, 0};
        static const cfg_field effect = {"effects", CFG_F_DOUBLE, 0, -1, 1, 0, NULL, 0};
        static const cfg_field hour = {"hour", CFG_F_INT, 0, 0, 24, 0, NULL, 0};
        /* The replay's compact state holds the progress as int8 (trainer/replay.h). */
        static const cfg_field ticks = {"ticks", CFG_F_INT, 0, 1, 127, 0, NULL, 0};
        loc->subkey = "cost";
        if (!in_range(&cost, a->cost))
            return range_fail(err, errlen, "cost", where, &cost, a->cost);
        loc->subkey = "effects";
        for (int m = 0; m < CFG_NUM_METERS; m++)
            if (!in_range(&effect, a->effects[m]))
                return range_fail(err, errlen, cfg_meter_names[m], where, &effect, a->effects[m]);
        loc->subkey = "open_hour";
        if (!in_range(&hour, a->open_hour))
            return range_fail(err, errlen, "open_hour", where, &hour, a->open_hour);
        loc->subkey = "close_hour";
        if (!in_range(&hour, a->close_hour))
            return range_fail(err, errlen, "close_hour", where, &hour, a->close_hour);
        loc->subkey = "ticks";
        if (!in_range(&ticks, a->ticks))
            return range_fail(err, errlen, "ticks", where, &ticks, a->ticks);
    }
    return 0;
}

static int check_cascades(const cfg_environment *e, char *err, size_t errlen, cfg_locator *loc) {
    loc->key = "cascades";
    loc->index = -1;
    loc->subkey = NULL;
    if (e->n_cascades < 0 || e->n_cascades > CFG_MAX_CASCADES) {
        err_set(err, errlen, "too many cascades: at most %d", CFG_MAX_CASCADES);
        return -1;
    }
    for (int i = 0; i < e->n_cascades; i++) {
        const cfg_cascade *k = &e->cascades[i];
        char where[64];
        snprintf(where, sizeof where, "[[environment.cascades]] #%d", i + 1);
        static const cfg_field threshold = {"threshold", CFG_F_DOUBLE, 0,    0,
                                            1,           CFG_EXCL_MIN, NULL, 0};
        static const cfg_field strength = {"strength", CFG_F_DOUBLE, 0, 0, 1, 0, NULL, 0};
        loc->index = i;
        loc->subkey = "source";
        if (k->source < 0 || k->source >= CFG_NUM_METERS || k->target < 0 ||
            k->target >= CFG_NUM_METERS) {
            err_set(err, errlen, "%s names a meter that does not exist", where);
            return -1;
        }
        loc->subkey = "threshold";
        if (!in_range(&threshold, k->threshold))
            return range_fail(err, errlen, "threshold", where, &threshold, k->threshold);
        loc->subkey = "strength";
        if (!in_range(&strength, k->strength))
            return range_fail(err, errlen, "strength", where, &strength, k->strength);
    }
    loc->index = -1;
    loc->subkey = NULL;

    return 0;
}

/* "'key' in [section] (value) <does>: it needs 'key2' above 0" when value > 0 and the other
 * key's value is not: a key that only acts through another. Blamed on key. */
static int needs_above_zero(cfg_locator *loc, const char *section, const char *key, int value,
                            const char *key2, double other, const char *does, char *err,
                            size_t errlen) {
    loc->section = section;
    loc->key = key;
    loc->key2 = key2;
    if (value <= 0 || other > 0) return 0;
    err_set(err, errlen, "'%s' in [%s] (%d) %s: it needs '%s' above 0", key, section, value, does,
            key2);
    return -1;
}

/* Rules across fields, each blamed on the key a person most likely has to change. */
static int check_across(const cfg_config *c, char *err, size_t errlen, cfg_locator *loc) {
    loc->section = "agent";
    loc->key = "batch_size";
    loc->key2 = "replay_capacity";
    if (c->agent.batch_size > c->agent.replay_capacity) {
        err_set(err, errlen, "'batch_size' in [agent] (%d) must not exceed 'replay_capacity' (%d)",
                c->agent.batch_size, c->agent.replay_capacity);
        return -1;
    }
    if (needs_above_zero(loc, "agent", "learning_rate_final_episodes",
                         c->agent.learning_rate_final_episodes, "learning_rate_decay_episodes",
                         c->agent.learning_rate_decay_episodes, "continues a decay", err, errlen))
        return -1;
    loc->section = "curriculum";
    loc->key = "retreat_survival";
    loc->key2 = "advance_survival";
    if (c->curriculum.retreat_survival > c->curriculum.advance_survival) {
        err_set(err, errlen,
                "'retreat_survival' in [curriculum] (%g) must not exceed 'advance_survival' (%g)",
                c->curriculum.retreat_survival, c->curriculum.advance_survival);
        return -1;
    }
    loc->key = "plateau_episodes";
    loc->key2 = "restart_schedules";
    if (c->curriculum.plateau_episodes > 0 && !c->curriculum.restart_schedules) {
        err_set(err, errlen,
                "'plateau_episodes' in [curriculum] (%d) restarts the schedules per stage: it "
                "needs 'restart_schedules = true'",
                c->curriculum.plateau_episodes);
        return -1;
    }
    if (needs_above_zero(loc, "curriculum", "plateau_reset_layers",
                         c->curriculum.plateau_reset_layers, "plateau_episodes",
                         c->curriculum.plateau_episodes, "acts at a plateau restart", err, errlen))
        return -1;
    loc->key2 = NULL;
    if (c->curriculum.plateau_reset_layers > c->agent.n_hidden + 1) {
        err_set(err, errlen,
                "'plateau_reset_layers' in [curriculum] (%d) must not exceed the network's %d "
                "weight layers (the 'hidden' layers in [agent] and the output layer)",
                c->curriculum.plateau_reset_layers, c->agent.n_hidden + 1);
        return -1;
    }
    loc->key = "plateau_episodes";
    if (c->curriculum.plateau_episodes > 0 && c->training.restore_below <= 0) {
        err_set(err, errlen,
                "'plateau_episodes' in [curriculum] (%d) judges the best evaluation that "
                "'restore_below' in [training] keeps: it needs 'restore_below' above 0",
                c->curriculum.plateau_episodes);
        return -1;
    }
    for (int j = 0; j < CFG_NUM_PROCS; j++) {
        const cfg_process *pr = &c->processes[j];
        loc->section = cfg_sections[CFG_SEC_PROCESSES + j].name;
        loc->key = "backoff_initial";
        loc->key2 = "backoff_max";
        if (pr->backoff_initial > pr->backoff_max) {
            err_set(err, errlen,
                    "'backoff_initial' in [%s] (%g) must not exceed 'backoff_max' (%g)",
                    cfg_sections[CFG_SEC_PROCESSES + j].name, pr->backoff_initial, pr->backoff_max);
            return -1;
        }
    }

    return 0;
}

int cfg_validate_at(const cfg_config *c, char *err, size_t errlen, cfg_locator *loc) {
    memset(loc, 0, sizeof *loc);
    loc->index = -1;
    if (check_fields(c, err, errlen, loc) || check_affordances(&c->environment, err, errlen, loc) ||
        check_cascades(&c->environment, err, errlen, loc) || check_across(c, err, errlen, loc))
        return -1;
    return 0;
}

int cfg_validate(const cfg_config *c, char *err, size_t errlen) {
    cfg_locator loc;
    return cfg_validate_at(c, err, errlen, &loc);
}
