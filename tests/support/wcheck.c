/* tests/support/wcheck.c — see wcheck.h. Written against the protocol document, not
 * against inference/world.c: it reads the JSON back with cJSON and recomputes every value
 * from the config itself. */
#include "tests/support/wcheck.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/env.h"

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        goto done;                                                                                 \
    } while (0)

static bool num_is(const cJSON *o, const char *k, double want) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) && fabs(v->valuedouble - want) <= 1e-9 * (1 + fabs(want));
}

static bool str_is(const cJSON *v, const char *want) {
    return cJSON_IsString(v) && strcmp(v->valuestring, want) == 0;
}

/* What the world description must say a meter's critical threshold is (PROTOCOL.md §5.1),
 * recomputed here from the cascades. */
static double critical_of(const cfg_environment *e, int m) {
    double own = -1, any = -1;
    for (int i = 0; i < e->n_cascades; i++) {
        if (e->cascades[i].threshold > any) any = e->cascades[i].threshold;
        if (e->cascades[i].source == m && e->cascades[i].threshold > own)
            own = e->cascades[i].threshold;
    }
    return own >= 0 ? own : any >= 0 ? any : 0.3;
}

int wcheck_world(const char *msg, const cfg_config *cfg, char *err, size_t errlen) {
    const cfg_environment *e = &cfg->environment;
    int rc = -1;
    cJSON *root = cJSON_Parse(msg);
    if (!root) FAIL("message is not JSON");
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(root, "world");
    if (!cJSON_IsObject(w)) FAIL("no world object");
    if (!num_is(w, "width", e->width) || !num_is(w, "height", e->height))
        FAIL("grid is not %dx%d", e->width, e->height);
    if (!num_is(w, "level", e->level)) FAIL("level is not %d", e->level);
    if (!num_is(w, "max_steps", e->max_steps)) FAIL("max_steps is not %d", e->max_steps);
    if (!str_is(cJSON_GetObjectItemCaseSensitive(w, "observability"),
                e->observability == CFG_OBS_PARTIAL ? "partial" : "full"))
        FAIL("wrong observability");
    if (!num_is(w, "view_radius", e->view_radius)) FAIL("view_radius is not %d", e->view_radius);
    const cJSON *dc = cJSON_GetObjectItemCaseSensitive(w, "day_cycle");
    if (!cJSON_IsBool(dc) || cJSON_IsTrue(dc) != e->day_cycle) FAIL("wrong day_cycle");
    if (!num_is(w, "day_length", e->day_length) || !num_is(w, "start_hour", e->start_hour))
        FAIL("wrong day_length or start_hour");

    const cJSON *meters = cJSON_GetObjectItemCaseSensitive(w, "meters");
    if (cJSON_GetArraySize(meters) != CFG_NUM_METERS) FAIL("not %d meters", CFG_NUM_METERS);
    for (int m = 0; m < CFG_NUM_METERS; m++) {
        const cJSON *o = cJSON_GetArrayItem(meters, m);
        if (!str_is(cJSON_GetObjectItemCaseSensitive(o, "name"), cfg_meter_names[m]))
            FAIL("meter %d is not %s", m, cfg_meter_names[m]);
        if (!num_is(o, "initial", e->initial[m])) FAIL("%s: wrong initial", cfg_meter_names[m]);
        if (!num_is(o, "critical", critical_of(e, m)))
            FAIL("%s: critical is not %g", cfg_meter_names[m], critical_of(e, m));
    }

    const cJSON *affs = cJSON_GetObjectItemCaseSensitive(w, "affordances");
    if (cJSON_GetArraySize(affs) != e->n_affordances)
        FAIL("%d affordances, not %d", cJSON_GetArraySize(affs), e->n_affordances);
    for (int i = 0; i < e->n_affordances; i++) {
        const cfg_affordance *a = &e->affordances[i];
        const cJSON *o = cJSON_GetArrayItem(affs, i);
        if (!str_is(cJSON_GetObjectItemCaseSensitive(o, "name"), a->name))
            FAIL("affordance %d is not %s", i, a->name);
        if (!num_is(o, "x", a->x) || !num_is(o, "y", a->y))
            FAIL("%s is not at (%d,%d)", a->name, a->x, a->y);
        if (!num_is(o, "cost", a->cost)) FAIL("%s: cost is not %g", a->name, a->cost);
        /* Without a day cycle the world ignores hours and ticks (common/env.c). */
        int open = e->day_cycle ? a->open_hour : 0, close = e->day_cycle ? a->close_hour : 24;
        int ticks = e->day_cycle && a->ticks > 1 ? a->ticks : 1;
        if (!num_is(o, "open_hour", open) || !num_is(o, "close_hour", close))
            FAIL("%s: hours are not %d-%d", a->name, open, close);
        if (!num_is(o, "ticks", ticks)) FAIL("%s: ticks is not %d", a->name, ticks);
        const cJSON *fx = cJSON_GetObjectItemCaseSensitive(o, "effects");
        if (!cJSON_IsObject(fx)) FAIL("%s: no effects", a->name);
        int nfx = 0;
        for (int m = 0; m < CFG_NUM_METERS; m++) {
            if (a->effects[m] == 0) continue;
            nfx++;
            if (!num_is(fx, cfg_meter_names[m], a->effects[m]))
                FAIL("%s: effect on %s is not %g", a->name, cfg_meter_names[m], a->effects[m]);
        }
        if (cJSON_GetArraySize(fx) != nfx) FAIL("%s: effects on unchanged meters", a->name);
    }

    const cJSON *actions = cJSON_GetObjectItemCaseSensitive(w, "actions");
    if (cJSON_GetArraySize(actions) != ENV_NUM_ACTIONS) FAIL("not %d actions", ENV_NUM_ACTIONS);
    for (int i = 0; i < ENV_NUM_ACTIONS; i++)
        if (!str_is(cJSON_GetArrayItem(actions, i), env_action_names[i]))
            FAIL("action %d is not %s", i, env_action_names[i]);
    rc = 0;
done:
    cJSON_Delete(root);
    return rc;
}
