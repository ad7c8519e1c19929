/* inference/cmd.c — see cmd.h. */
#include "inference/cmd.h"

#include "common/json.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    cmd_kind cmd;
    cmd_endpoint ep;
} commands[] = {
    {"pause", CMD_PAUSE, CMD_TRAINING},
    {"resume", CMD_RESUME, CMD_TRAINING},
    {"stop", CMD_STOP, CMD_TRAINING},
    {"start", CMD_START, CMD_TRAINING},
    {"set_speed", CMD_SET_SPEED, CMD_TRAINING},
    {"set_mode", CMD_SET_MODE, CMD_TRAINING},
    {"checkpoint", CMD_CHECKPOINT, CMD_TRAINING},
    {"extend", CMD_EXTEND, CMD_TRAINING},
    {"load", CMD_LOAD, CMD_INFERENCE},
    {"play", CMD_PLAY, CMD_INFERENCE},
    {"pause", CMD_PAUSE, CMD_INFERENCE},
    {"step", CMD_STEP, CMD_INFERENCE},
    {"reset", CMD_RESET, CMD_INFERENCE},
    {"set_speed", CMD_SET_SPEED, CMD_INFERENCE},
    {"follow_latest", CMD_FOLLOW_LATEST, CMD_INFERENCE},
};

static bool safe_name(const char *s, size_t max, bool allow_upper) {
    size_t n = strlen(s);
    if (n == 0 || n > max) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                  (allow_upper && ((c >= 'A' && c <= 'Z') || c == '-' || c == '.'));
        if (!ok) return false;
    }
    return true;
}

cmd_result cmd_parse(const char *text, size_t len, cmd_endpoint ep, cmd_msg *out, char *err,
                     size_t errlen) {
    memset(out, 0, sizeof *out);
    out->enabled = true;
    snprintf(out->name, sizeof out->name, "?");
    cJSON *root = cJSON_ParseWithLength(text, len);
    cmd_result r = CMD_BAD_JSON;
    if (!root) {
        snprintf(err, errlen, "invalid JSON");
        return CMD_BAD_JSON;
    }
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "expected a JSON object");
        goto done;
    }
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(root, "command");
    if (!cJSON_IsString(cmd) || !cmd->valuestring) {
        snprintf(err, errlen, "missing string field 'command'");
        goto done;
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    if (cJSON_IsNumber(id) && isfinite(id->valuedouble) && fabs(id->valuedouble) < 1e15) {
        snprintf(out->id_json, sizeof out->id_json, "%.0f", id->valuedouble);
    } else if (cJSON_IsString(id) && id->valuestring && strlen(id->valuestring) <= 64) {
        if (json_quote(id->valuestring, out->id_json, sizeof out->id_json) < 0)
            out->id_json[0] = 0; /* too long once escaped: the reply goes without it */
    }
    r = CMD_REFUSED;
    const char *name = cmd->valuestring;
    if (safe_name(name, sizeof out->name - 1, false))
        snprintf(out->name, sizeof out->name, "%s", name);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (commands[i].ep == ep && strcmp(commands[i].name, name) == 0) {
            out->cmd = commands[i].cmd;
            break;
        }
    }
    if (out->cmd == CMD_NONE) {
        snprintf(err, errlen, "unknown command '%s'", out->name);
        goto done;
    }
    const cJSON *v;
    switch (out->cmd) {
        case CMD_SET_SPEED: {
            double lo = ep == CMD_TRAINING ? 1 : 0.1;
            v = cJSON_GetObjectItemCaseSensitive(root, "speed");
            if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo ||
                v->valuedouble > 1000) {
                snprintf(err, errlen, "speed must be a number in [%g, 1000]", lo);
                goto done;
            }
            out->speed = v->valuedouble;
            break;
        }
        case CMD_SET_MODE:
            v = cJSON_GetObjectItemCaseSensitive(root, "visual");
            if (!cJSON_IsBool(v)) {
                snprintf(err, errlen, "visual must be a boolean");
                goto done;
            }
            out->visual = cJSON_IsTrue(v);
            break;
        case CMD_FOLLOW_LATEST:
            v = cJSON_GetObjectItemCaseSensitive(root, "enabled");
            if (v && !cJSON_IsBool(v)) {
                snprintf(err, errlen, "enabled must be a boolean");
                goto done;
            }
            out->enabled = v ? cJSON_IsTrue(v) : true;
            break;
        case CMD_LOAD:
            v = cJSON_GetObjectItemCaseSensitive(root, "model");
            if (!v) {
                snprintf(out->model, sizeof out->model, "latest");
                break;
            }
            if (!cJSON_IsString(v) || !v->valuestring ||
                !safe_name(v->valuestring, sizeof out->model - 1, true) ||
                strstr(v->valuestring, "..")) {
                snprintf(err, errlen, "model must be \"latest\", \"best\" or a checkpoint name");
                goto done;
            }
            snprintf(out->model, sizeof out->model, "%s", v->valuestring);
            v = cJSON_GetObjectItemCaseSensitive(root, "job");
            if (!v) break;
            /* a job id (docs/PROTOCOL.md §4: run names, past runs' CONFIG:STAMP:RUN) */
            if (!cJSON_IsString(v) || !v->valuestring || strlen(v->valuestring) < 1 ||
                strlen(v->valuestring) > 200 ||
                strspn(v->valuestring, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                       "0123456789._=,:-") != strlen(v->valuestring)) {
                snprintf(err, errlen, "job must be a job id (1-200 bytes of [A-Za-z0-9._=,:-])");
                goto done;
            }
            snprintf(out->job, sizeof out->job, "%s", v->valuestring);
            break;
        case CMD_EXTEND:
            v = cJSON_GetObjectItemCaseSensitive(root, "episodes");
            if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
                v->valuedouble < 1 || v->valuedouble > 1000000) {
                snprintf(err, errlen, "episodes must be an integer in [1, 1000000]");
                goto done;
            }
            out->episodes = (long)v->valuedouble;
            break;
        default:
            break;
    }
    r = CMD_OK;
done:
    cJSON_Delete(root);
    return r;
}

int cmd_trainer_json(const cmd_msg *c, long id, char *out, size_t cap) {
    int n;
    switch (c->cmd) {
        case CMD_SET_SPEED:
            n = snprintf(out, cap, "{\"command\":\"set_speed\",\"speed\":%.17g,\"id\":%ld}",
                         c->speed, id);
            break;
        case CMD_SET_MODE:
            n = snprintf(out, cap, "{\"command\":\"set_mode\",\"visual\":%s,\"id\":%ld}",
                         c->visual ? "true" : "false", id);
            break;
        case CMD_EXTEND:
            n = snprintf(out, cap, "{\"command\":\"extend\",\"episodes\":%ld,\"id\":%ld}",
                         c->episodes, id);
            break;
        default:
            n = snprintf(out, cap, "{\"command\":\"%s\",\"id\":%ld}", c->name, id);
    }
    return (n < 0 || (size_t)n >= cap) ? -1 : n;
}

int cmd_result_json(const cmd_msg *c, bool accepted, const char *error, char *out, size_t cap) {
    json_buf j;
    json_init_fixed(&j, out, cap);
    json_obj_open(&j);
    json_kstr(&j, "type", "command_result");
    json_kstr(&j, "command", c->name);
    json_kbool(&j, "accepted", accepted);
    json_kstr(&j, "error", error);
    if (c->id_json[0]) {
        json_key(&j, "id");
        json_raw(&j, c->id_json, strlen(c->id_json)); /* a number or a string we quoted */
    }
    json_obj_close(&j);
    return (int)json_finish(&j);
}
