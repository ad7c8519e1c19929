/* trainer/control.h — the trainer's live controls (prefix ctl_): the commands that come
 * from the server link (docs/PROTOCOL.md §4.2) and the state they set.
 *
 * Pure state, no I/O: trainer/main.c polls the link every step, feeds each command to
 * ctl_apply(), and acts on the flags (pause before the next step, stop after the episode,
 * checkpoint now, visual frames and their per-step delay). Commands are applied before the
 * pause check, so `resume` and `stop` work while paused. */
#ifndef RD_TRAINER_CONTROL_H
#define RD_TRAINER_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    CTL_NONE = 0,
    CTL_PAUSE,
    CTL_RESUME,
    CTL_STOP,
    CTL_START,
    CTL_SET_SPEED,
    CTL_SET_MODE,
    CTL_CHECKPOINT,
    CTL_EXTEND,
    CTL_UNKNOWN
} ctl_command;
extern const char *const ctl_command_names[CTL_UNKNOWN + 1];

#define CTL_EXTEND_MAX 1000000

typedef struct {
    bool paused;         /* hold before the next step */
    bool stop_requested; /* finish the episode, checkpoint, then idle */
    bool idle;           /* stopped: wait for `start` */
    bool start_requested;
    bool checkpoint_requested;
    bool visual;      /* send frames */
    int speed;        /* visual-mode pace, steps per second (1-1000), docs/PROTOCOL.md §4.2 */
    long long extend; /* episodes `extend` asked to add, not yet applied (main.c clears it) */
} ctl_state;

void ctl_init(ctl_state *c);

/* Applies one command, a JSON object {"command": "...", ...}. set_speed reads "speed"
 * (steps per second, clamped to 1-1000); set_mode reads "visual" (bool); extend reads
 * "episodes" (an integer in [1, CTL_EXTEND_MAX]) and adds it to c->extend. Returns the command
 * recognised (CTL_UNKNOWN for a malformed or unknown one, with err telling why). */
ctl_command ctl_apply(ctl_state *c, const char *json, size_t len, char *err, size_t errlen);

/* The per-step delay that applies now: 1000/speed ms in visual mode, else 0. */
int ctl_step_delay_ms(const ctl_state *c);

#endif
