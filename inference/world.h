/* inference/world.h — the world a run's config describes, as the JSON object browsers get
 * in the training `hello` and the inference `connected` (prefix world_; docs/PROTOCOL.md
 * §5.1 "world").
 *
 * The world never changes during a run, so the server serializes it once at start-up and
 * copies the text into each message: a late joiner can draw the whole layout (grid size,
 * affordances, opening hours) before the trainer sends its next episode's first frame. */
#ifndef RD_INFERENCE_WORLD_H
#define RD_INFERENCE_WORLD_H

#include <stddef.h>

#include "common/cfg.h"

/* Returns the world object of cfg as compact JSON text (NUL-terminated, *len bytes
 * without the NUL), owned by the caller (free()); NULL when out of memory. */
char *world_json(const cfg_config *cfg, size_t *len);

/* The threshold below which meter m drags others down: the highest threshold of the
 * cascades from m; for a meter that starts none, the highest threshold of any cascade
 * (when the config has none, the threshold of the default config's cascades, 0.3), so
 * that a view marks every meter alike. */
double world_critical(const cfg_environment *e, int m);

#endif
