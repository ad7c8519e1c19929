/* trainer/control.c — see control.h. */
#include "trainer/control.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

const char *const control_command_names[CONTROL_UNKNOWN + 1] = {
    "none",      "pause",    "resume",     "stop",   "start",
    "set_speed", "set_mode", "checkpoint", "extend", "unknown"};

void control_init(control_state *c) {
    memset(c, 0, sizeof *c);
    c->speed = 20;
}

int control_step_delay_ms(const control_state *c) {
    return c->visual && c->speed > 0 ? (1000 + c->speed / 2) / c->speed : 0;
}

control_command control_apply(control_state *c, const char *json, size_t len, char *err,
                              size_t errlen) {
    cJSON *o = cJSON_ParseWithLength(json, len);
    control_command cmd = CONTROL_UNKNOWN;
    const cJSON *name = o ? cJSON_GetObjectItemCaseSensitive(o, "command") : NULL;
    if (!cJSON_IsString(name)) {
        snprintf(err, errlen, "not a command object");
        goto out;
    }
    for (int i = CONTROL_PAUSE; i < CONTROL_UNKNOWN; i++)
        if (strcmp(name->valuestring, control_command_names[i]) == 0) cmd = (control_command)i;
    switch (cmd) {
        case CONTROL_PAUSE:
            c->paused = true;
            break;
        case CONTROL_RESUME:
            c->paused = false;
            break;
        case CONTROL_STOP:
            if (!c->idle) c->stop_requested = true;
            c->paused = false;
            break;
        case CONTROL_START:
            c->paused = false;
            c->stop_requested = false;
            if (c->idle) c->start_requested = true;
            break;
        case CONTROL_CHECKPOINT:
            c->checkpoint_requested = true;
            break;
        case CONTROL_SET_SPEED: {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "speed");
            if (!cJSON_IsNumber(v)) {
                snprintf(err, errlen, "set_speed needs a number \"speed\" (steps per second)");
                cmd = CONTROL_UNKNOWN;
                break;
            }
            double sp = v->valuedouble;
            c->speed = sp < 1 ? 1 : sp > 1000 ? 1000 : (int)sp;
            break;
        }
        case CONTROL_SET_MODE: {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "visual");
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "mode");
            if (cJSON_IsBool(v))
                c->visual = cJSON_IsTrue(v);
            else if (cJSON_IsString(m))
                c->visual = strcmp(m->valuestring, "visual") == 0;
            else {
                snprintf(err, errlen, "set_mode needs \"visual\": true|false");
                cmd = CONTROL_UNKNOWN;
            }
            break;
        }
        case CONTROL_EXTEND: {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "episodes");
            double n = cJSON_IsNumber(v) ? v->valuedouble : 0;
            if (!(n >= 1 && n <= CONTROL_EXTEND_MAX) || n != (double)(long long)n) {
                snprintf(err, errlen, "extend needs an integer \"episodes\" in [1, %d]",
                         CONTROL_EXTEND_MAX);
                cmd = CONTROL_UNKNOWN;
                break;
            }
            /* Bounded: a flood of extends adds at most this many at once. */
            if (c->extend + (long long)n <= 1000LL * CONTROL_EXTEND_MAX) c->extend += (long long)n;
            break;
        }
        default:
            snprintf(err, errlen, "unknown command '%s'", name->valuestring);
            break;
    }
out:
    cJSON_Delete(o);
    return cmd;
}
