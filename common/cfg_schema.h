/* common/cfg_schema.h — the config's schema, shared by cfg_schema.c, cfg_load.c,
 * cfg_validate.c and cfg_write.c (prefix cfg_; private to those files, not a public header).
 *
 * A table of the file is a row of cfg_sections[]: a TOML name, where its struct sits in
 * cfg_config, and its fields. A field is a row naming its key, its type, its offset and its
 * range. What a type does — read a TOML value, check the stored value, write it back — is
 * one row of cfg_types[], so that loading, validation and writing never switch over the
 * type. Adding a key is adding a field row; adding a table is adding its struct to
 * cfg_config, its field rows and a cfg_sections[] row (see below), and its defaults in
 * cfg_defaults.c. */
#ifndef RD_COMMON_CFG_SCHEMA_H
#define RD_COMMON_CFG_SCHEMA_H

#include "common/cfg.h"
#include "common/toml.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum {
    CFG_F_INT,         /* int */
    CFG_F_SEED,        /* uint64_t, written as a non-negative TOML integer */
    CFG_F_DOUBLE,      /* double; TOML integers are accepted too */
    CFG_F_BOOL,        /* bool */
    CFG_F_STRING,      /* char[size] */
    CFG_F_ENUM,        /* an int-sized enum, written as one of names[] */
    CFG_F_METERS,      /* double[CFG_NUM_METERS], a sub-table keyed by meter name */
    CFG_F_HIDDEN,      /* cfg_agent.hidden/n_hidden: array of integers */
    CFG_F_STAGES,      /* cfg_curriculum.stages/n_stages: array of floats */
    CFG_F_COMMAND,     /* cfg_process.argv/argc: array of strings */
    CFG_F_ENV,         /* cfg_process.env/n_env: table of strings */
    CFG_F_AFFORDANCES, /* cfg_environment.affordances: array of tables */
    CFG_F_CASCADES,    /* cfg_environment.cascades: array of tables */
    CFG_NUM_TYPES
} cfg_field_type;

/* Range flags: the bound itself is not allowed. */
#define CFG_EXCL_MIN     1
#define CFG_EXCL_MAX     2
#define CFG_MAY_BE_EMPTY 4 /* CFG_F_STRING: "" is a valid value */
/* A key added after checkpoints existed: at 0 / false (the behaviour before it) cfg_hash()
 * leaves it out, so that a checkpoint written before the key still loads under the config
 * that trained it. */
#define CFG_HASH_UNLESS_SET 8
/* A key that only matters while the nearest CFG_HASH_UNLESS_SET key above it is set (its
 * switch): cfg_hash() leaves it out with its switch. */
#define CFG_HASH_WITH_SWITCH 16

/* An upper bound that means "no upper bound" in messages ("must be at least 1"). */
#define CFG_BIG 1e9

typedef struct {
    const char *key;
    cfg_field_type type;
    size_t off; /* into the section's struct */
    double min, max;
    int flags;
    const char *const *names; /* CFG_F_ENUM, NULL-terminated */
    size_t size;              /* CFG_F_STRING */
} cfg_field;

typedef struct {
    const char *name; /* dotted TOML table name */
    size_t off;       /* into cfg_config */
    const cfg_field *fields;
} cfg_section;

/* [environment], [agent], [training], [curriculum], [unified_server], then one row per
 * process from CFG_SEC_PROCESSES on, in cfg_process_names order. A new top-level table goes
 * after them (raise CFG_NUM_SECTIONS): the loader, validation, the writer and cfg_set find it
 * there; only cfg_set's list of expected sections in cfg_load.c names the tables by hand. */
enum { CFG_SEC_ENVIRONMENT = 0, CFG_SEC_AGENT = 1, CFG_SEC_PROCESSES = 5, CFG_NUM_SECTIONS = 9 };
extern const cfg_section cfg_sections[CFG_NUM_SECTIONS];

/* A loader's error destination; origin NULL = a value from the command line (no position). */
typedef struct {
    const char *origin;
    char *err;
    size_t errlen;
} cfg_loader;

/* Where a validation error belongs, so that the loader can find its line and column:
 * a section, a key in it, an element of an array of tables and a key inside that. */
typedef struct {
    const char *section;
    const char *key;
    int index;          /* element of an array of tables, or -1 */
    const char *subkey; /* key in that element, or in a sub-table (meters), or NULL */
    const char *key2;   /* the other key of a cross-field rule, blamed when `key` is a default */
} cfg_locator;

/* What one field type does. `base` is the section's struct; `where` names the section as
 * messages show it ("[agent]"). */
typedef struct {
    /* Reads a TOML value into the field: 0, or -1 with the loader's error. */
    int (*load)(cfg_loader *l, const cfg_field *f, const toml_value *v, char *base,
                const char *where);
    /* Checks the stored value (NULL: every value is valid, or a rule in cfg_validate.c
     * checks it): 0, or -1 with err; loc->subkey names an element at fault. */
    int (*check)(const cfg_field *f, const char *base, const char *where, cfg_locator *loc,
                 char *err, size_t errlen);
    /* Writes the field among the section's keys (NULL: nothing there). */
    void (*write)(FILE *out, const cfg_field *f, const char *base);
    /* Writes the field's own tables after the section's keys (NULL: none). */
    void (*write_tables)(FILE *out, const cfg_field *f, const char *base, const char *section);
    bool list_of_tables; /* cfg_set() refuses it: set in a config file */
    bool meter_keys;     /* cfg_set() takes one meter as a sub-key ("decay.energy") */
} cfg_type_ops;

extern const cfg_type_ops cfg_types[CFG_NUM_TYPES];

/* The operations, one row each in cfg_types[] (cfg_schema.c). The macros spell the four
 * signatures of cfg_type_ops once. */
#define CFG_LOAD_OP(name)                                                                          \
    int name(cfg_loader *l, const cfg_field *f, const toml_value *v, char *base, const char *where)
#define CFG_CHECK_OP(name)                                                                         \
    int name(const cfg_field *f, const char *base, const char *where, cfg_locator *loc, char *err, \
             size_t errlen)
#define CFG_WRITE_OP(name) void name(FILE *out, const cfg_field *f, const char *base)
#define CFG_WRITE_TABLES_OP(name)                                                                  \
    void name(FILE *out, const cfg_field *f, const char *base, const char *section)

CFG_LOAD_OP(cfg_load_int);
CFG_LOAD_OP(cfg_load_seed);
CFG_LOAD_OP(cfg_load_double);
CFG_LOAD_OP(cfg_load_bool);
CFG_LOAD_OP(cfg_load_string_field);
CFG_LOAD_OP(cfg_load_enum);
CFG_LOAD_OP(cfg_load_meters);
CFG_LOAD_OP(cfg_load_hidden);
CFG_LOAD_OP(cfg_load_stages);
CFG_LOAD_OP(cfg_load_command);
CFG_LOAD_OP(cfg_load_env);
CFG_LOAD_OP(cfg_load_affordances);
CFG_LOAD_OP(cfg_load_cascades);

CFG_CHECK_OP(cfg_check_int);
CFG_CHECK_OP(cfg_check_seed);
CFG_CHECK_OP(cfg_check_double);
CFG_CHECK_OP(cfg_check_string);
CFG_CHECK_OP(cfg_check_enum);
CFG_CHECK_OP(cfg_check_meters);
CFG_CHECK_OP(cfg_check_hidden);
CFG_CHECK_OP(cfg_check_stages);
CFG_CHECK_OP(cfg_check_command);
CFG_CHECK_OP(cfg_check_env);

CFG_WRITE_OP(cfg_write_int);
CFG_WRITE_OP(cfg_write_seed);
CFG_WRITE_OP(cfg_write_double);
CFG_WRITE_OP(cfg_write_bool);
CFG_WRITE_OP(cfg_write_string);
CFG_WRITE_OP(cfg_write_enum);
CFG_WRITE_OP(cfg_write_hidden);
CFG_WRITE_OP(cfg_write_stages);
CFG_WRITE_OP(cfg_write_command);
CFG_WRITE_OP(cfg_write_env);
CFG_WRITE_OP(cfg_write_affordances);
CFG_WRITE_OP(cfg_write_cascades);
CFG_WRITE_TABLES_OP(cfg_write_meter_table);
CFG_WRITE_TABLES_OP(cfg_write_affordance_tables);
CFG_WRITE_TABLES_OP(cfg_write_cascade_tables);

/* Validation with the locator of the first error (cfg_validate.c). */
int cfg_validate_at(const cfg_config *c, char *err, size_t errlen, cfg_locator *loc);

/* Helpers shared by the parts (cfg_schema.c). */

/* Copies a string into a fixed buffer, zeroing the rest so that structs compare equal
 * byte for byte. */
void cfg_set_str(char *dst, size_t size, const char *src, size_t len);

/* The candidate nearest to `key`, or NULL when none is close enough to be a typo. */
const char *cfg_nearest(const char *key, const char *const *cands, size_t n);

/* cfg_meter_names with a NULL end, for enum reading; the index of a meter name or -1. */
extern const char *const cfg_meter_enum_names[];
int cfg_meter_index(const char *name);

/* "[environment.decay]" from "[environment]" and "decay": how a sub-table is named. */
void cfg_subtable_where(char *buf, size_t size, const char *where, const char *key);

/* A character allowed in a run name (the name becomes a directory, runs/<name>/). */
bool cfg_name_char_ok(char ch);

/* The first line of a config cfg_write_toml() wrote (a run directory's config.toml). Such a
 * file lists every key its writer knew, so a CFG_HASH_UNLESS_SET key it lacks is younger than
 * it: the loader reads it as 0, the behaviour the run had, whatever today's default. */
#define CFG_RESOLVED_HEADER "# run_demo configuration, resolved: every value the run used"

/* Sets every CFG_HASH_UNLESS_SET field of c to 0 / false (see CFG_RESOLVED_HEADER). */
void cfg_former_behaviour(cfg_config *c);
/* Whether a bool, int, enum or double field of the section struct at base is 0 / false
 * (false for the other types). */
bool cfg_field_is_zero(const cfg_field *f, const char *base);

#endif
