/* inference/world.c — see world.h. */
#include "inference/world.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <string.h>

#include "common/env.h"

double world_critical(const cfg_environment *e, int m) {
    double own = -1, any = -1;
    for (int i = 0; i < e->n_cascades; i++) {
        const cfg_cascade *c = &e->cascades[i];
        if (c->threshold > any) any = c->threshold;
        if (c->source == m && c->threshold > own) own = c->threshold;
    }
    if (own >= 0) return own;
    return any >= 0 ? any : CFG_CASCADE_THRESHOLD;
}

/* One affordance as the world applies it (env_affordance_rule()), so that the view never
 * shows hours or ticks that have no effect. false when out of memory. */
static bool add_affordance(cJSON *arr, const cfg_environment *e, const cfg_affordance *a) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return false;
    cJSON_AddItemToArray(arr, o);
    int open_hour, close_hour, ticks;
    env_affordance_rule(e, a, &open_hour, &close_hour, &ticks);
    bool ok = cJSON_AddStringToObject(o, "name", a->name) &&
              cJSON_AddNumberToObject(o, "x", a->x) && cJSON_AddNumberToObject(o, "y", a->y) &&
              cJSON_AddNumberToObject(o, "cost", a->cost) &&
              cJSON_AddNumberToObject(o, "open_hour", open_hour) &&
              cJSON_AddNumberToObject(o, "close_hour", close_hour) &&
              cJSON_AddNumberToObject(o, "ticks", ticks);
    cJSON *fx = ok ? cJSON_AddObjectToObject(o, "effects") : NULL;
    if (!fx) return false;
    /* Only the meters it changes: a view lists them as the place's effects. */
    for (int m = 0; m < CFG_NUM_METERS; m++)
        if (a->effects[m] != 0 && !cJSON_AddNumberToObject(fx, cfg_meter_names[m], a->effects[m]))
            return false;
    return true;
}

char *world_json(const cfg_config *cfg, size_t *len) {
    const cfg_environment *e = &cfg->environment;
    char *text = NULL;
    cJSON *w = cJSON_CreateObject();
    /* Each Add* returns NULL when out of memory (and adds nothing): ok records whether
     * every member made it, so no object with a field missing is ever sent. */
    bool ok = w && cJSON_AddNumberToObject(w, "width", e->width) &&
              cJSON_AddNumberToObject(w, "height", e->height) &&
              cJSON_AddNumberToObject(w, "level", e->level) &&
              cJSON_AddNumberToObject(w, "max_steps", e->max_steps) &&
              cJSON_AddStringToObject(w, "observability",
                                      e->observability == CFG_OBS_PARTIAL ? "partial" : "full") &&
              cJSON_AddNumberToObject(w, "view_radius", e->view_radius) &&
              cJSON_AddBoolToObject(w, "day_cycle", e->day_cycle) &&
              cJSON_AddNumberToObject(w, "day_length", e->day_length) &&
              cJSON_AddNumberToObject(w, "start_hour", e->start_hour);
    cJSON *meters = ok ? cJSON_AddArrayToObject(w, "meters") : NULL;
    ok = meters != NULL;
    for (int m = 0; ok && m < CFG_NUM_METERS; m++) {
        cJSON *o = cJSON_CreateObject();
        if (!o) {
            ok = false;
            break;
        }
        cJSON_AddItemToArray(meters, o);
        ok = cJSON_AddStringToObject(o, "name", cfg_meter_names[m]) &&
             cJSON_AddNumberToObject(o, "initial", e->initial[m]) &&
             cJSON_AddNumberToObject(o, "critical", world_critical(e, m));
    }
    cJSON *affs = ok ? cJSON_AddArrayToObject(w, "affordances") : NULL;
    ok = affs != NULL;
    for (int i = 0; ok && i < e->n_affordances; i++)
        ok = add_affordance(affs, e, &e->affordances[i]);
    cJSON *actions = ok ? cJSON_AddArrayToObject(w, "actions") : NULL;
    ok = actions != NULL;
    for (int a = 0; ok && a < ENV_NUM_ACTIONS; a++) {
        cJSON *name = cJSON_CreateString(env_action_names[a]);
        ok = name != NULL;
        if (name) cJSON_AddItemToArray(actions, name);
    }
    if (ok) text = cJSON_PrintUnformatted(w);
    if (text) *len = strlen(text);
    cJSON_Delete(w);
    return text;
}
