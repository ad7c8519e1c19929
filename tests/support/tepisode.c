/* tests/support/tepisode.c — see tepisode.h. */
#include "tests/support/tepisode.h"

#include <check.h>

void tepisode_run(trainer_t *t) {
    trainer_episode_result res;
    char err[1024];
    trainer_run_episode(t, NULL, &res);
    ck_assert_msg(trainer_end_episode(t, &res, 0.0, NULL, 0, err, sizeof err) == 0, "%s", err);
}
