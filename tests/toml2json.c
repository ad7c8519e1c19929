/* tests/toml2json.c — the decoder the TOML conformance corpus drives
 * (the toml-test project's decoder interface, scripts/test.d/toml.sh): TOML on stdin; for a valid
 * document the tagged JSON form on stdout and exit 0, otherwise the parser's "line:col: message" on
 * stderr and exit 1. */
#include "common/toml.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_json_string(const char *s, size_t len) {
    putchar('"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c == 0x7F)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void put_datetime(const toml_value *v) {
    const toml_datetime *d = &v->u.dt;
    if (v->type != TOML_TIME_LOCAL) printf("%04d-%02d-%02d", d->year, d->month, d->day);
    if (v->type == TOML_DATE_LOCAL) return;
    if (v->type != TOML_TIME_LOCAL) putchar('T');
    printf("%02d:%02d:%02d", d->hour, d->minute, d->second);
    if (d->frac_digits) {
        int ns = d->nanosecond;
        for (int i = d->frac_digits; i < 9; i++) ns /= 10;
        printf(".%0*d", d->frac_digits, ns);
    }
    if (v->type == TOML_DATETIME) {
        if (d->offset_sign == 'Z') {
            putchar('Z');
        } else {
            int m = abs(d->offset_minutes);
            printf("%c%02d:%02d", d->offset_sign, m / 60, m % 60);
        }
    }
}

static void put_value(const toml_value *v) {
    switch (v->type) {
        case TOML_TABLE:
            putchar('{');
            for (size_t i = 0; i < v->u.tab.len; i++) {
                if (i) putchar(',');
                put_json_string(v->u.tab.items[i].key, v->u.tab.items[i].key_len);
                putchar(':');
                put_value(v->u.tab.items[i].value);
            }
            putchar('}');
            return;
        case TOML_ARRAY:
            putchar('[');
            for (size_t i = 0; i < v->u.arr.len; i++) {
                if (i) putchar(',');
                put_value(v->u.arr.items[i]);
            }
            putchar(']');
            return;
        default:
            break;
    }
    printf("{\"type\":\"");
    switch (v->type) {
        case TOML_STRING:
            printf("string\",\"value\":");
            put_json_string(v->u.s.ptr, v->u.s.len);
            break;
        case TOML_INTEGER:
            printf("integer\",\"value\":\"%" PRId64 "\"", v->u.i);
            break;
        case TOML_FLOAT:
            if (isnan(v->u.f))
                printf("float\",\"value\":\"nan\"");
            else if (isinf(v->u.f))
                printf("float\",\"value\":\"%sinf\"", v->u.f < 0 ? "-" : "");
            else
                printf("float\",\"value\":\"%.17g\"", v->u.f);
            break;
        case TOML_BOOL:
            printf("bool\",\"value\":\"%s\"", v->u.b ? "true" : "false");
            break;
        default:
            printf("%s\",\"value\":\"", v->type == TOML_DATETIME         ? "datetime"
                                        : v->type == TOML_DATETIME_LOCAL ? "datetime-local"
                                        : v->type == TOML_DATE_LOCAL     ? "date-local"
                                                                         : "time-local");
            put_datetime(v);
            putchar('"');
            break;
    }
    putchar('}');
}

int main(void) {
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    if (!text) return 2;
    size_t n;
    while ((n = fread(text + len, 1, cap - len, stdin)) > 0) {
        len += n;
        if (len == cap) {
            char *bigger = realloc(text, cap *= 2);
            if (!bigger) {
                free(text);
                return 2;
            }
            text = bigger;
        }
    }
    char err[512];
    toml_value *root = toml_parse(text, len, err, sizeof err);
    free(text);
    if (!root) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    put_value(root);
    putchar('\n');
    toml_free(root);
    return 0;
}
