/* inference/cmd.h — validation of the commands browsers send (prefix cmd_), per
 * docs/PROTOCOL.md §5.2 and §7.2. Pure functions: no I/O, no global state, so the fuzz
 * target (tests/fuzz_server_msg.c) drives exactly what the server runs. */
#ifndef RD_INFERENCE_CMD_H
#define RD_INFERENCE_CMD_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { CMD_TRAINING = 0, CMD_INFERENCE } cmd_endpoint;

typedef enum {
    CMD_NONE = 0,
    /* training */
    CMD_PAUSE,
    CMD_RESUME,
    CMD_STOP,
    CMD_START,
    CMD_SET_SPEED,
    CMD_SET_MODE,
    CMD_CHECKPOINT,
    CMD_EXTEND,
    /* inference */
    CMD_LOAD,
    CMD_PLAY,
    CMD_STEP,
    CMD_RESET,
    CMD_FOLLOW_LATEST
} cmd_kind;

typedef struct {
    cmd_kind cmd;
    char name[33];    /* the command as sent (JSON-safe: [a-z_0-9] only, else "?") */
    double speed;     /* set_speed */
    bool visual;      /* set_mode */
    bool enabled;     /* follow_latest (default true) */
    char model[64];   /* load: "latest", "best" or "ep_..." ([A-Za-z0-9_.-]) */
    char job[208];    /* load: the job whose model ([A-Za-z0-9._=,:-]), "" = the session's */
    long episodes;    /* extend: [1, 1000000] */
    char id_json[72]; /* the client's "id" as JSON text ("17", "\"ui-3\""), "" when absent */
} cmd_msg;

typedef enum {
    CMD_OK = 0,
    CMD_BAD_JSON = -1, /* not JSON / not an object / no string "command": reply "error" */
    CMD_REFUSED = -2   /* a command that is refused: reply command_result accepted=false */
} cmd_result;

/* Parses and validates one client message for endpoint ep. On CMD_REFUSED, out->name and
 * out->id_json are set for the reply and err holds the reason; on CMD_BAD_JSON err holds
 * the reason. */
cmd_result cmd_parse(const char *text, size_t len, cmd_endpoint ep, cmd_msg *out, char *err,
                     size_t errlen);

/* Writes the server -> trainer JSON for a validated training command into out:
 * {"command":"set_speed","speed":20,"id":7}. Returns bytes written (< cap) or -1. */
int cmd_trainer_json(const cmd_msg *c, long id, char *out, size_t cap);

/* Writes {"type":"command_result","command":..,"accepted":..,"error":..[,"id":..]}. */
int cmd_result_json(const cmd_msg *c, bool accepted, const char *error, char *out, size_t cap);

#endif
