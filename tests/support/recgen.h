/* tests/support/recgen.h — a real recording (docs/PROTOCOL.md §8) for the tests (prefix
 * recgen_): `steps` steps of a level-1 world under a fixed action cycle, written with the
 * trainer's own writer (common/recfile.h). */
#ifndef RD_TESTS_RECGEN_H
#define RD_TESTS_RECGEN_H

#include <stddef.h>
#include <stdint.h>

/* Fills w (a recf_writer) and returns the recording's bytes (w's buffer) and length. */
const uint8_t *recgen_make(int steps, int outcome, uint32_t episode, float score, size_t *len);

#endif
