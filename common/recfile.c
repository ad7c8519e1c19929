/* common/recfile.c — see recfile.h. Little-endian whatever the host. */
#include "common/recfile.h"

#include <math.h>
#include <string.h>

#include "common/le.h"

/* A meter in [0, 1] as round(255 v); anything else (never, but a file must stay valid)
 * is clamped. */
static uint8_t meter_byte(double v) {
    if (!(v > 0)) return 0;
    if (v >= 1) return 255;
    return (uint8_t)lround(v * 255.0);
}

static uint8_t coord(int v) {
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

void recf_begin(recf_writer *w, const env_t *e) {
    memset(w->buf, 0, RECF_HEADER);
    memcpy(w->buf, RECF_MAGIC, 8);
    w->buf[16] = coord(e->cfg->width);
    w->buf[17] = coord(e->cfg->height);
    w->buf[18] = CFG_NUM_METERS;
    w->buf[19] = ENV_NUM_ACTIONS;
    w->buf[21] = coord(e->x);
    w->buf[22] = coord(e->y);
    le_put_f32(w->buf + 32, (float)e->multiplier);
    for (int m = 0; m < CFG_NUM_METERS; m++) w->buf[36 + m] = meter_byte(e->meters[m]);
    w->len = RECF_HEADER;
    w->steps = w->real_steps = 0;
    w->total_reward = 0;
}

void recf_step(recf_writer *w, const env_t *e, int action, const float *q, float reward) {
    w->real_steps++;
    w->total_reward += reward;
    if (w->steps >= RECF_MAX_STEPS) return;
    uint8_t *p = w->buf + w->len;
    p[0] = (uint8_t)action;
    p[1] = coord(e->x);
    p[2] = coord(e->y);
    p[3] = 0;
    for (int m = 0; m < CFG_NUM_METERS; m++) p[4 + m] = meter_byte(e->meters[m]);
    le_put_f32(p + 12, reward);
    for (int a = 0; a < ENV_NUM_ACTIONS; a++) le_put_f32(p + 16 + 4 * a, q[a]);
    w->len += RECF_STEP;
    w->steps++;
}

void recf_end(recf_writer *w, int outcome, uint32_t episode, float score) {
    le_put32(w->buf + 8, episode);
    le_put16(w->buf + 12, (uint16_t)w->steps);
    le_put16(w->buf + 14, (uint16_t)(w->real_steps > 65535 ? 65535 : w->real_steps));
    w->buf[20] =
        (uint8_t)(w->steps < w->real_steps || outcome < 0 || outcome > ENV_TIMEOUT ? ENV_RUNNING
                                                                                   : outcome);
    le_put_f32(w->buf + 24, score);
    le_put_f32(w->buf + 28, (float)w->total_reward);
}

bool recf_check(const uint8_t *buf, size_t len, recf_info *out) {
    if (len < RECF_HEADER || len > RECF_MAX_BYTES || memcmp(buf, RECF_MAGIC, 8) != 0) return false;
    int n = le_get16(buf + 12), real = le_get16(buf + 14);
    int w = buf[16], h = buf[17];
    if (w < 1 || h < 1 || w > RECF_MAX_GRID || h > RECF_MAX_GRID) return false;
    if (buf[18] != CFG_NUM_METERS || buf[19] != ENV_NUM_ACTIONS || buf[20] > ENV_TIMEOUT)
        return false;
    if (n > real || len != RECF_HEADER + (size_t)n * RECF_STEP) return false;
    if (buf[21] >= w || buf[22] >= h) return false;
    for (int i = 0; i < n; i++) {
        const uint8_t *p = buf + RECF_HEADER + (size_t)i * RECF_STEP;
        if (p[0] >= ENV_NUM_ACTIONS || p[1] >= w || p[2] >= h) return false;
    }
    if (out) {
        out->episode = le_get32(buf + 8);
        out->steps = n;
        out->real_steps = real;
        out->width = w;
        out->height = h;
        out->outcome = buf[20];
        out->score = le_get_f32(buf + 24);
        out->total_reward = le_get_f32(buf + 28);
        out->multiplier = le_get_f32(buf + 32);
    }
    return true;
}

bool recf_name_ok(const char *name) {
    if (strncmp(name, "eval_", 5) != 0 || strlen(name) != RECF_NAME_LEN) return false;
    for (int i = 5; i < RECF_NAME_LEN; i++)
        if (name[i] < '0' || name[i] > '9') return false;
    return true;
}
