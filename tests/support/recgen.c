/* tests/support/recgen.c — see recgen.h. */
#include "tests/support/recgen.h"

#include <check.h>

#include "common/cfg.h"
#include "common/recfile.h"

const uint8_t *recgen_make(int steps, int outcome, uint32_t episode, float score, size_t *len) {
    static cfg_config cfg;
    static recf_writer w;
    cfg_defaults(&cfg);
    env_t e;
    ck_assert_int_eq(env_init(&e, &cfg.environment, 7), 0);
    recf_begin(&w, &e);
    float q[ENV_NUM_ACTIONS] = {0.5f, 1, 2, 3, 4, 5};
    for (int i = 0; i < steps; i++) {
        env_step(&e, i % 4);
        recf_step(&w, &e, i % 4, q, 1.0f);
    }
    recf_end(&w, outcome, episode, score);
    *len = w.len;
    return w.buf;
}
