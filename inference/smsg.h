/* inference/smsg.h — validation of the commands browsers send (prefix smsg_), per
 * docs/PROTOCOL.md §5.2 and §7.2. Pure functions: no I/O, no global state, so the fuzz
 * target (tests/fuzz_server_msg.c) drives exactly what the server runs. */
#ifndef RD_INFERENCE_SMSG_H
#define RD_INFERENCE_SMSG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { SMSG_TRAINING = 0, SMSG_INFERENCE } smsg_endpoint;

typedef enum {
    SMSG_NONE = 0,
    /* training */
    SMSG_PAUSE,
    SMSG_RESUME,
    SMSG_STOP,
    SMSG_START,
    SMSG_SET_SPEED,
    SMSG_SET_MODE,
    SMSG_CHECKPOINT,
    /* inference */
    SMSG_LOAD,
    SMSG_PLAY,
    SMSG_STEP,
    SMSG_RESET,
    SMSG_FOLLOW_LATEST
} smsg_cmd;

typedef struct {
    smsg_cmd cmd;
    char name[33];    /* the command as sent (JSON-safe: [a-z_0-9] only, else "?") */
    double speed;     /* set_speed */
    bool visual;      /* set_mode */
    bool enabled;     /* follow_latest (default true) */
    char model[64];   /* load: "latest", "best" or "ep_..." ([A-Za-z0-9_.-]) */
    char id_json[72]; /* the client's "id" as JSON text ("17", "\"ui-3\""), "" when absent */
} smsg_command;

typedef enum {
    SMSG_OK = 0,
    SMSG_BAD_JSON = -1, /* not JSON / not an object / no string "command": reply "error" */
    SMSG_REFUSED = -2   /* a command that is refused: reply command_result accepted=false */
} smsg_result;

/* Parses and validates one client message for endpoint ep. On SMSG_REFUSED, out->name and
 * out->id_json are set for the reply and err holds the reason; on SMSG_BAD_JSON err holds
 * the reason. */
smsg_result smsg_parse(const char *text, size_t len, smsg_endpoint ep, smsg_command *out, char *err,
                       size_t errlen);

/* Writes the server -> trainer JSON for a validated training command into out:
 * {"command":"set_speed","speed":20,"id":7}. Returns bytes written (< cap) or -1. */
int smsg_trainer_command(const smsg_command *c, long id, char *out, size_t cap);

/* Writes {"type":"command_result","command":..,"accepted":..,"error":..[,"id":..]}. */
int smsg_result_json(const smsg_command *c, bool accepted, const char *error, char *out,
                     size_t cap);

#endif
