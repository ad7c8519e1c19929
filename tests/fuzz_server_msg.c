/* tests/fuzz_server_msg.c — libFuzzer target for what browsers and trainers can send the
 * server, and for every way the server writes JSON:
 *  - the browser command parser and validator (inference/cmd.c) on both endpoints, and
 *    the replies built from what it accepted (the client's id and command name are echoed);
 *  - the input as a trainer message: relayed only when json_valid() says so, and then it
 *    must parse (cJSON) and re-print (the history copy) as valid JSON and UTF-8;
 *  - the JSON writer (common/json.h) fed the input as strings, keys and numbers, in fixed
 *    buffers of every size and in a growing one: the text must always be valid JSON and
 *    UTF-8 (or, in a fixed buffer that was too small, marked failed and never overrun);
 *  - the history store with the input as records: its array stays valid JSON.
 * Every text checked must pass both json_valid() and cJSON. Built by tests/server.cmake
 * with RD_FUZZ=ON (clang). */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "inference/hist.h"
#include "inference/cmd.h"

static void must_be_json(const char *s, long n) {
    if (n < 0) return;
    if (!json_valid(s, (size_t)n, 64)) {
        fprintf(stderr, "not valid JSON/UTF-8: %.*s\n", (int)n, s);
        abort();
    }
    cJSON *o = cJSON_ParseWithLength(s, (size_t)n);
    if (!o) {
        fprintf(stderr, "cJSON refuses: %.*s\n", (int)n, s);
        abort();
    }
    cJSON_Delete(o);
}

/* The input as a trainer message (the relay rule of inference/job.c). */
static void as_trainer_message(const char *text, size_t size) {
    if (!json_valid(text, size, 32)) return;
    must_be_json(text, (long)size);
    cJSON *o = cJSON_ParseWithLength(text, size);
    char *p = cJSON_PrintUnformatted(o); /* the history copy */
    if (p) must_be_json(p, (long)strlen(p));
    free(p);
    cJSON_Delete(o);
}

/* The input through the writer: as a string, a key, a number; in a fixed buffer whose size
 * the input's first byte picks, and in a growing one. */
static void through_writer(const char *text, size_t size) {
    char *nul = malloc(size + 1);
    if (!nul) return;
    memcpy(nul, text, size);
    nul[size] = 0;
    size_t cap = size ? (unsigned char)text[0] * 4 + 1 : 1;
    char *fixed = malloc(cap + 16);
    if (!fixed) {
        free(nul);
        return;
    }
    memset(fixed + cap, 0x5a, 16); /* a canary past the end */
    double d = 0.5;
    float f = 1.0f;
    if (size >= 8) memcpy(&d, text, sizeof d);
    if (size >= 4) memcpy(&f, text, sizeof f);
    json_buf bufs[2];
    json_init_fixed(&bufs[0], fixed, cap);
    json_init_dyn(&bufs[1]);
    for (int k = 0; k < 2; k++) {
        json_buf *j = &bufs[k];
        json_obj_open(j);
        json_kstr(j, "config", nul);
        json_key(j, nul);
        json_strn(j, text, size); /* with any NULs inside */
        json_key(j, "n");
        json_num(j, d);
        json_key(j, "a");
        json_arr_open(j);
        json_num_prec(j, (double)f, 6);
        json_int(j, (long long)size);
        json_str_or_null(j, size & 1 ? NULL : nul);
        json_arr_close(j);
        json_obj_close(j);
        if (json_ok(j)) must_be_json(j->buf, json_finish(j));
    }
    if (!json_ok(&bufs[1])) abort(); /* a growing buffer never fails here */
    for (int i = 0; i < 16; i++)
        if ((unsigned char)fixed[cap + i] != 0x5a) abort();
    char q[64];
    if (json_quote(nul, q, sizeof q) >= 0) must_be_json(q, (long)strlen(q));
    json_free(&bufs[1]);
    free(fixed);
    free(nul);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    for (int ep = CMD_TRAINING; ep <= CMD_INFERENCE; ep++) {
        cmd_msg c;
        char err[200], out[1600];
        cmd_result r = cmd_parse(text, size, (cmd_endpoint)ep, &c, err, sizeof err);
        if (strlen(err) >= sizeof err) abort();
        if (r == CMD_BAD_JSON) {
            char msg[1600];
            json_buf j;
            json_init_fixed(&j, msg, sizeof msg);
            json_obj_open(&j);
            json_kstr(&j, "type", "error");
            json_kstr(&j, "error", err);
            json_obj_close(&j);
            if (!json_ok(&j)) abort();
            must_be_json(msg, json_finish(&j));
            continue;
        }
        must_be_json(out,
                     cmd_result_json(&c, r == CMD_OK, r == CMD_OK ? NULL : err, out, sizeof out));
        if (r == CMD_OK && ep == CMD_TRAINING)
            must_be_json(out, cmd_trainer_json(&c, 7, out, sizeof out));
    }
    as_trainer_message(text, size);
    through_writer(text, size);
    /* The same bytes as a history record (only valid ones are ever kept). */
    hist_t h;
    if (hist_init(&h, 4, 4096) == 0) {
        for (int i = 0; i < 9 && json_valid(text, size, 32); i++) hist_add(&h, text, size);
        char *arr = malloc(hist_array_size(&h));
        if (arr) {
            size_t n = hist_write_array(&h, arr);
            if (n + 1 > hist_array_size(&h)) abort();
            must_be_json(arr, (long)n);
            free(arr);
        }
        if (h.bytes > h.byte_limit) abort();
        if (h.count > h.limit) abort();
        hist_close(&h);
    }
    return 0;
}
