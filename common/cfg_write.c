/* common/cfg_write.c — the config as TOML that cfg_load_string reads back to the same
 * struct: the write operations of each field type, and the config hash over that text.
 * See common/cfg.h and common/cfg_schema.h. */
#include "common/cfg_schema.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The shortest decimal form that reads back to exactly v, always recognisable as a float. */
static void fmt_double(char *buf, size_t size, double v) {
    if (isnan(v)) {
        snprintf(buf, size, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, size, v < 0 ? "-inf" : "inf");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    if (!strpbrk(buf, ".eE")) {
        size_t n = strlen(buf);
        if (n + 2 < size) memcpy(buf + n, ".0", 3);
    }
}

static void write_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7F)
            fprintf(f, "\\u%04X", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void write_number(FILE *f, double v) {
    char b[64];
    fmt_double(b, sizeof b, v);
    fputs(b, f);
}

static void write_enum(FILE *f, const char *const *names, const void *p) {
    int x;
    memcpy(&x, p, sizeof x);
    int n = 0;
    while (names[n]) n++;
    write_str(f, x >= 0 && x < n ? names[x] : "?");
}

static void write_meters(FILE *f, const double *m, bool inline_table) {
    bool first = true;
    if (inline_table) fputs("{", f);
    for (int i = 0; i < CFG_NUM_METERS; i++) {
        if (inline_table && m[i] == 0 && !signbit(m[i])) continue;
        if (inline_table) fputs(first ? " " : ", ", f);
        fprintf(f, "%s = ", cfg_meter_names[i]);
        write_number(f, m[i]);
        if (!inline_table) fputc('\n', f);
        first = false;
    }
    if (inline_table) fputs(first ? "}" : " }", f);
}

/* ---- the write operations of each field type (a row of cfg_types[]) ------------------- */

#define AT(T) ((const T *)(base + f->off))

void cfg_write_int(FILE *out, const cfg_field *f, const char *base) {
    fprintf(out, "%s = %d\n", f->key, *AT(int));
}

void cfg_write_seed(FILE *out, const cfg_field *f, const char *base) {
    fprintf(out, "%s = %llu\n", f->key, (unsigned long long)*AT(uint64_t));
}

void cfg_write_double(FILE *out, const cfg_field *f, const char *base) {
    fprintf(out, "%s = ", f->key);
    write_number(out, *AT(double));
    fputc('\n', out);
}

void cfg_write_bool(FILE *out, const cfg_field *f, const char *base) {
    fprintf(out, "%s = %s\n", f->key, *AT(bool) ? "true" : "false");
}

void cfg_write_string(FILE *out, const cfg_field *f, const char *base) {
    fprintf(out, "%s = ", f->key);
    write_str(out, AT(char));
    fputc('\n', out);
}

void cfg_write_enum(FILE *out, const cfg_field *f, const char *base) {
    fprintf(out, "%s = ", f->key);
    write_enum(out, f->names, AT(char));
    fputc('\n', out);
}

void cfg_write_hidden(FILE *out, const cfg_field *f, const char *base) {
    const cfg_agent *a = (const cfg_agent *)base;
    fprintf(out, "%s = [", f->key);
    for (int i = 0; i < a->n_hidden && i < CFG_MAX_HIDDEN; i++)
        fprintf(out, "%s%d", i ? ", " : "", a->hidden[i]);
    fputs("]\n", out);
}

void cfg_write_stages(FILE *out, const cfg_field *f, const char *base) {
    const cfg_curriculum *cu = (const cfg_curriculum *)base;
    fprintf(out, "%s = [", f->key);
    for (int i = 0; i < cu->n_stages && i < CFG_MAX_STAGES; i++) {
        if (i) fputs(", ", out);
        write_number(out, cu->stages[i]);
    }
    fputs("]\n", out);
}

void cfg_write_command(FILE *out, const cfg_field *f, const char *base) {
    const cfg_process *pr = (const cfg_process *)base;
    fprintf(out, "%s = [", f->key);
    for (int i = 0; i < pr->argc && i < CFG_MAX_ARGS; i++) {
        if (i) fputs(", ", out);
        write_str(out, pr->argv[i]);
    }
    fputs("]\n", out);
}

void cfg_write_env(FILE *out, const cfg_field *f, const char *base) {
    const cfg_process *pr = (const cfg_process *)base;
    fprintf(out, "%s = {", f->key);
    for (int i = 0; i < pr->n_env && i < CFG_MAX_ENV; i++) {
        const char *eq = strchr(pr->env[i], '=');
        if (!eq) continue;
        fprintf(out, "%s%.*s = ", i ? ", " : " ", (int)(eq - pr->env[i]), pr->env[i]);
        write_str(out, eq + 1);
    }
    fputs(pr->n_env ? " }\n" : "}\n", out);
}

/* An empty list among the keys: an empty array of tables has no [[header]] to write. */
void cfg_write_affordances(FILE *out, const cfg_field *f, const char *base) {
    if (((const cfg_environment *)base)->n_affordances == 0) fprintf(out, "%s = []\n", f->key);
}

void cfg_write_cascades(FILE *out, const cfg_field *f, const char *base) {
    if (((const cfg_environment *)base)->n_cascades == 0) fprintf(out, "%s = []\n", f->key);
}

void cfg_write_meter_table(FILE *out, const cfg_field *f, const char *base, const char *section) {
    fprintf(out, "\n[%s.%s]\n", section, f->key);
    write_meters(out, AT(double), false);
}

void cfg_write_cascade_tables(FILE *out, const cfg_field *f, const char *base,
                              const char *section) {
    const cfg_environment *e = (const cfg_environment *)base;
    for (int i = 0; i < e->n_cascades && i < CFG_MAX_CASCADES; i++) {
        const cfg_cascade *k = &e->cascades[i];
        fprintf(out, "\n[[%s.%s]]\nsource = ", section, f->key);
        write_str(out,
                  k->source >= 0 && k->source < CFG_NUM_METERS ? cfg_meter_names[k->source] : "?");
        fputs("\ntarget = ", out);
        write_str(out,
                  k->target >= 0 && k->target < CFG_NUM_METERS ? cfg_meter_names[k->target] : "?");
        fputs("\nthreshold = ", out);
        write_number(out, k->threshold);
        fputs("\nstrength = ", out);
        write_number(out, k->strength);
        fputc('\n', out);
    }
}

void cfg_write_affordance_tables(FILE *out, const cfg_field *f, const char *base,
                                 const char *section) {
    const cfg_environment *e = (const cfg_environment *)base;
    for (int i = 0; i < e->n_affordances && i < CFG_MAX_AFFORDANCES; i++) {
        const cfg_affordance *a = &e->affordances[i];
        fprintf(out, "\n[[%s.%s]]\nname = ", section, f->key);
        write_str(out, a->name);
        fprintf(out, "\nx = %d\ny = %d\ncost = ", a->x, a->y);
        write_number(out, a->cost);
        fputs("\neffects = ", out);
        write_meters(out, a->effects, true);
        fprintf(out, "\nopen_hour = %d\nclose_hour = %d\nticks = %d\n", a->open_hour, a->close_hour,
                a->ticks);
    }
}

#undef AT

/* ---- documents ------------------------------------------------------------------------ */

/* Whether a CFG_HASH_UNLESS_SET field holds its "before the key existed" value, 0. */
static bool hash_leaves_out(const cfg_field *fd, const char *base) {
    return (fd->flags & CFG_HASH_UNLESS_SET) && cfg_field_is_zero(fd, base);
}

/* Writes the keys of one section, then the tables its fields own, in schema order; for
 * cfg_hash() (for_hash) without the new keys still at their former behaviour. */
static void write_section(FILE *f, const cfg_section *s, const cfg_config *c, bool for_hash) {
    const char *base = (const char *)c + s->off;
    fprintf(f, "\n[%s]\n", s->name);
    bool switch_off = false; /* the last CFG_HASH_UNLESS_SET key was left out */
    for (const cfg_field *fd = s->fields; fd->key; fd++) {
        bool out = false;
        if (for_hash && (fd->flags & CFG_HASH_UNLESS_SET))
            out = switch_off = hash_leaves_out(fd, base);
        if (for_hash && (fd->flags & CFG_HASH_WITH_SWITCH)) out = switch_off;
        if (cfg_types[fd->type].write && !out) cfg_types[fd->type].write(f, fd, base);
    }
    for (const cfg_field *fd = s->fields; fd->key; fd++)
        if (cfg_types[fd->type].write_tables)
            cfg_types[fd->type].write_tables(f, fd, base, s->name);
}

int cfg_write_toml(const cfg_config *c, FILE *f) {
    fputs(CFG_RESOLVED_HEADER " (cfg_write_toml).\n", f);
    fputs("name = ", f);
    write_str(f, c->name);
    fputc('\n', f);
    for (size_t s = 0; s < CFG_NUM_SECTIONS; s++) write_section(f, &cfg_sections[s], c, false);
    fflush(f);
    return ferror(f) ? -1 : 0;
}

uint64_t cfg_hash(const cfg_config *c) {
    /* FNV-1a 64 over the canonical TOML of [environment] and [agent]: what the weights
     * mean. The text is deterministic (shortest round-trip floats), so equal configs hash
     * equal on every machine. */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    uint64_t h = 0xcbf29ce484222325ULL;
    if (!f) return h;
    write_section(f, &cfg_sections[CFG_SEC_ENVIRONMENT], c, true);
    write_section(f, &cfg_sections[CFG_SEC_AGENT], c, true);
    fclose(f);
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)text[i]) * 0x100000001b3ULL;
    free(text);
    return h;
}
