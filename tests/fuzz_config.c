/* tests/fuzz_config.c — libFuzzer target for the config loader (built with -DRD_FUZZ=ON;
 * run by scripts/fuzz). Any input must be rejected with "origin:line:col: message", or
 * load into a config that validates and that cfg_write_toml writes back to a document
 * loading to the very same struct. */
#include "common/cfg.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static cfg_config c, back;
    char err[512];
    if (cfg_load_string(&c, (const char *)data, size, "fuzz.toml", err, sizeof err) != 0) {
        int line = 0, col = 0;
        if (strncmp(err, "fuzz.toml:", 10) != 0 || sscanf(err + 10, "%d:%d:", &line, &col) != 2 ||
            line < 1 || col < 1)
            abort();
        return 0;
    }
    if (cfg_validate(&c, err, sizeof err) != 0) abort();
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return 0;
    if (cfg_write_toml(&c, f) != 0) abort();
    fclose(f);
    if (cfg_load_string(&back, text, len, "written.toml", err, sizeof err) != 0) {
        fprintf(stderr, "written config does not load: %s\n%s\n", err, text);
        abort();
    }
    free(text);
    /* path is not written; everything else must survive byte for byte. */
    if (memcmp(c.name, back.name, sizeof c.name) != 0 ||
        memcmp(&c.environment, &back.environment, sizeof c.environment) != 0 ||
        memcmp(&c.agent, &back.agent, sizeof c.agent) != 0 ||
        memcmp(&c.training, &back.training, sizeof c.training) != 0 ||
        memcmp(&c.curriculum, &back.curriculum, sizeof c.curriculum) != 0 ||
        memcmp(&c.server, &back.server, sizeof c.server) != 0 ||
        memcmp(c.processes, back.processes, sizeof c.processes) != 0)
        abort();
    if (cfg_hash(&c) != cfg_hash(&back)) abort();
    return 0;
}
