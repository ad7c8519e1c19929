/* trainer/control.h — the trainer's live controls (prefix control_): the commands that come
 * from the server link (docs/PROTOCOL.md §4.2) and the state they set.
 *
 * Pure state, no I/O: trainer/main.c polls the link every step, feeds each command to
 * control_apply(), and acts on the flags (pause before the next step, stop after the episode,
 * checkpoint now, visual frames and their per-step delay). Commands are applied before the
 * pause check, so `resume` and `stop` work while paused. */
#ifndef RD_TRAINER_CONTROL_H
#define RD_TRAINER_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    CONTROL_NONE = 0,
    CONTROL_PAUSE,
    CONTROL_RESUME,
    CONTROL_STOP,
    CONTROL_START,
    CONTROL_SET_SPEED,
    CONTROL_SET_MODE,
    CONTROL_CHECKPOINT,
    CONTROL_EXTEND,
    CONTROL_UNKNOWN
} control_command;
extern const char *const control_command_names[CONTROL_UNKNOWN + 1];

#define CONTROL_EXTEND_MAX 1000000

typedef struct {
    bool paused;         /* hold before the next step */
    bool stop_requested; /* finish the episode, checkpoint, then idle */
    bool idle;           /* stopped: wait for `start` */
    bool start_requested;
    bool checkpoint_requested;
    bool visual;      /* send frames */
    int speed;        /* visual-mode pace, steps per second (1-1000), docs/PROTOCOL.md §4.2 */
    long long extend; /* episodes `extend` asked to add, not yet applied (main.c clears it) */
} control_state;

void control_init(control_state *c);

/* Applies one command, a JSON object {"command": "...", ...}. set_speed reads "speed"
 * (steps per second, clamped to 1-1000); set_mode reads "visual" (bool); extend reads
 * "episodes" (an integer in [1, CONTROL_EXTEND_MAX]) and adds it to c->extend. Returns the command
 * recognised (CONTROL_UNKNOWN for a malformed or unknown one, with err telling why). */
control_command control_apply(control_state *c, const char *json, size_t len, char *err,
                              size_t errlen);

/* The per-step delay that applies now: 1000/speed ms in visual mode, else 0. */
int control_step_delay_ms(const control_state *c);

#endif
