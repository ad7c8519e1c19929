/* tests/support/ckgen.c — see ckgen.h. */
#include "tests/support/ckgen.h"

#include <check.h>

#include "common/ckpt.h"
#include "common/cfg.h"
#include "common/policy.h"

void ckgen_save(const char *ck_dir, const char *name, int64_t episode, uint64_t seed) {
    cfg_config cfg;
    cfg_defaults(&cfg);
    char e[256];
    policy_t *p = policy_create(&cfg, seed, e, sizeof e);
    ck_assert_msg(p != NULL, "%s", e);
    ckpt_header h = {.cfg_hash = cfg_hash(&cfg),
                     .episode = episode,
                     .steps = episode * 100,
                     .epsilon = 0.1,
                     .score = 123.0,
                     .best_score = 123.0,
                     .wall_time = 1};
    ckpt_section sec = {CKPT_TAG_ONLINE, policy_params(p), policy_num_params(p) * sizeof(float)};
    ck_assert_msg(ckpt_save(ck_dir, name, &h, &sec, 1, true, 5, e, sizeof e) == 0, "%s", e);
    policy_free(p);
}
