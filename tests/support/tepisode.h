/* tests/support/tepisode.h — one training episode in-process, for the tests that drive a
 * trainer_t directly (prefix tepisode_). */
#ifndef RD_TESTS_TEPISODE_H
#define RD_TESTS_TEPISODE_H

#include "trainer/trainer.h"

/* Runs one episode and its bookkeeping (trainer_end_episode: the curriculum, evaluations,
 * restores, a plateau restart); fails the test when the bookkeeping does. */
void tepisode_run(trainer_t *t);

#endif
