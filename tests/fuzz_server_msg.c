/* tests/fuzz_server_msg.c — libFuzzer target for what browsers can send the server: the
 * command parser and validator (inference/smsg.c) on both endpoints, and the replies built
 * from what it accepted, which must always be valid JSON whatever the input held (the
 * client's id and command name are echoed back). Also feeds the input to the history
 * store as a metrics.jsonl line. Built by tests/server.cmake with RD_FUZZ=ON (clang). */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inference/hist.h"
#include "inference/smsg.h"

static void must_be_json(const char *s, int n) {
    if (n < 0) return;
    cJSON *o = cJSON_ParseWithLength(s, (size_t)n);
    if (!o) {
        fprintf(stderr, "reply is not JSON: %s\n", s);
        abort();
    }
    cJSON_Delete(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    for (int ep = SMSG_TRAINING; ep <= SMSG_INFERENCE; ep++) {
        smsg_command c;
        char err[200], out[1024];
        smsg_result r = smsg_parse(text, size, (smsg_endpoint)ep, &c, err, sizeof err);
        if (strlen(err) >= sizeof err) abort();
        if (r == SMSG_BAD_JSON) {
            char e[300], msg[400];
            int n = smsg_json_string(err, e, sizeof e);
            if (n < 0) abort();
            n = snprintf(msg, sizeof msg, "{\"type\":\"error\",\"error\":%s}", e);
            must_be_json(msg, n);
            continue;
        }
        must_be_json(
            out, smsg_result_json(&c, r == SMSG_OK, r == SMSG_OK ? NULL : err, out, sizeof out));
        if (r == SMSG_OK && ep == SMSG_TRAINING)
            must_be_json(out, smsg_trainer_command(&c, 7, out, sizeof out));
    }
    /* The same bytes as a history record. */
    hist_t h;
    if (hist_init(&h, 4, 4096) == 0) {
        for (int i = 0; i < 9; i++) hist_add(&h, text, size);
        char *arr = malloc(hist_array_size(&h));
        if (arr) {
            size_t n = hist_write_array(&h, arr);
            if (n + 1 > hist_array_size(&h)) abort();
            free(arr);
        }
        if (h.count > h.limit) abort();
        hist_close(&h);
    }
    return 0;
}
