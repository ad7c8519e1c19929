/* inference/hist.c — see hist.h. */
#include "inference/hist.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

int hist_init(hist_t *h, int limit, size_t byte_limit) {
    memset(h, 0, sizeof *h);
    if (limit < 4) limit = 4;
    h->byte_limit = byte_limit < 4096 ? 4096 : byte_limit;
    h->rec = calloc((size_t)limit, sizeof *h->rec);
    h->len = calloc((size_t)limit, sizeof *h->len);
    if (!h->rec || !h->len) {
        free(h->rec);
        free(h->len);
        return -1;
    }
    h->limit = limit;
    return 0;
}

void hist_close(hist_t *h) {
    for (int i = 0; i < h->count; i++) free(h->rec[i]);
    free(h->rec);
    free(h->len);
    memset(h, 0, sizeof *h);
}

/* Keeps every second record of the older half, making room for a quarter of the limit. */
static void thin(hist_t *h) {
    int half = h->count / 2, w = 0;
    for (int i = 0; i < half; i++) {
        if (i % 2 == 0) {
            h->rec[w] = h->rec[i];
            h->len[w] = h->len[i];
            w++;
        } else {
            h->bytes -= h->len[i];
            free(h->rec[i]);
        }
    }
    for (int i = half; i < h->count; i++, w++) {
        h->rec[w] = h->rec[i];
        h->len[w] = h->len[i];
    }
    h->count = w;
    h->downsampled = true;
}

static void drop_oldest(hist_t *h) {
    h->bytes -= h->len[0];
    free(h->rec[0]);
    memmove(h->rec, h->rec + 1, (size_t)(h->count - 1) * sizeof *h->rec);
    memmove(h->len, h->len + 1, (size_t)(h->count - 1) * sizeof *h->len);
    h->count--;
    h->downsampled = true;
}

int hist_add(hist_t *h, const char *json, size_t len) {
    if (len > h->byte_limit / 4) return -1;
    while (h->count && (h->count == h->limit || h->bytes + len > h->byte_limit)) {
        if (h->count >= 4)
            thin(h);
        else
            drop_oldest(h);
    }
    char *copy = malloc(len + 1);
    if (!copy) return -1;
    memcpy(copy, json, len);
    copy[len] = 0;
    h->rec[h->count] = copy;
    h->len[h->count] = len;
    h->bytes += len;
    h->count++;
    h->total++;
    return 0;
}

int hist_load_jsonl(hist_t *h, const char *path, int *bad, char *err, size_t errlen) {
    if (bad) *bad = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int added = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        cJSON *o = cJSON_ParseWithLength(line, (size_t)n);
        cJSON *ep = o ? cJSON_GetObjectItemCaseSensitive(o, "episode") : NULL;
        if (!o || !cJSON_IsObject(o) || !cJSON_IsNumber(ep)) {
            if (bad) (*bad)++;
            cJSON_Delete(o);
            continue;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(o, "type");
        char *s = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        /* A record too big to keep, or whose strings are not UTF-8 (cJSON copies bytes as
         * they are), is a bad line like any other. */
        if (s && (strlen(s) > h->byte_limit / 4 || !json_valid(s, strlen(s), 64))) {
            free(s);
            if (bad) (*bad)++;
            continue;
        }
        if (!s || hist_add(h, s, strlen(s)) < 0) {
            free(s);
            snprintf(err, errlen, "%s: out of memory", path);
            free(line);
            fclose(f);
            return -1;
        }
        free(s);
        added++;
    }
    free(line);
    fclose(f);
    return added;
}

size_t hist_array_size(const hist_t *h) {
    size_t n = 3;
    for (int i = 0; i < h->count; i++) n += h->len[i] + 1;
    return n;
}

size_t hist_write_array(const hist_t *h, char *out) {
    size_t o = 0;
    out[o++] = '[';
    for (int i = 0; i < h->count; i++) {
        if (i) out[o++] = ',';
        memcpy(out + o, h->rec[i], h->len[i]);
        o += h->len[i];
    }
    out[o++] = ']';
    out[o] = 0;
    return o;
}
