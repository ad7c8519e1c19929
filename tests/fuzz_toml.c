/* tests/fuzz_toml.c — libFuzzer target for the TOML parser (built with -DRD_FUZZ=ON; run
 * by scripts/fuzz). Any input must either parse into a tree that can be walked end to end
 * or fail with a "line:col: message" error; ASan and UBSan watch both paths. */
#include "common/toml.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Touches every node so that a bad pointer or length in the tree is found here. */
static uint64_t walk(const toml_value *v, int depth) {
    if (depth > 100000) abort();
    uint64_t h = (uint64_t)v->type * 31u + (uint64_t)v->line * 7u + (uint64_t)v->col;
    switch (v->type) {
        case TOML_TABLE:
            for (size_t i = 0; i < v->u.tab.len; i++) {
                const toml_entry *e = &v->u.tab.items[i];
                for (size_t k = 0; k < e->key_len; k++) h = h * 131 + (unsigned char)e->key[k];
                if (e->key[e->key_len] != '\0') abort();
                if (e->line < 1 || e->col < 1) abort();
                h += walk(e->value, depth + 1);
            }
            break;
        case TOML_ARRAY:
            for (size_t i = 0; i < v->u.arr.len; i++) h += walk(v->u.arr.items[i], depth + 1);
            break;
        case TOML_STRING:
            for (size_t k = 0; k < v->u.s.len; k++) h = h * 131 + (unsigned char)v->u.s.ptr[k];
            if (v->u.s.ptr[v->u.s.len] != '\0') abort();
            break;
        default:
            h += (uint64_t)v->u.i;
            break;
    }
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[256];
    err[0] = '\0';
    toml_value *root = toml_parse((const char *)data, size, err, sizeof err);
    if (!root) {
        /* Every error is "line:col: message" with positive numbers. */
        int line = 0, col = 0, n = 0;
        if (sscanf(err, "%d:%d: %n", &line, &col, &n) != 2 || line < 1 || col < 1 || n == 0)
            abort();
        return 0;
    }
    volatile uint64_t sink = walk(root, 0);
    (void)sink;
    toml_free(root);
    return 0;
}
