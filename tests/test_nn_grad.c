/* tests/test_nn_grad.c — the MLP's gradients against finite differences (genann style, a
 * fixed seed), forward and backward at the trainer's shapes against double-precision loops,
 * Adam against hand-computed values, Huber, clipping, Polyak, and the two matrix backends
 * against a plain triple loop. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/nn.h"
#include "tests/support/runner.h"

/* Loss = sum over outputs of c_j * y_j with fixed random c, so dL/dy = c. */
static double loss_of(const nn_shape *s, const float *params, const float *x, int batch,
                      float *acts, const float *c) {
    nn_forward(s, params, x, batch, acts);
    const float *y = nn_output(s, acts, batch);
    double l = 0;
    for (int i = 0; i < batch * nn_outputs(s); i++) l += (double)c[i] * y[i];
    return l;
}

static void check_gradients(nn_backend backend, bool sparse_input, bool dueling) {
    ck_assert_msg(nn_set_backend(backend) == 0, "backend %s cannot be loaded",
                  nn_backend_name(backend));
    nn_shape s;
    int hidden[2] = {7, 5};
    if (dueling) {
        ck_assert_int_eq(nn_shape_init_dueling(&s, 11, hidden, 2, 3), 0);
        ck_assert_int_eq(s.sizes[2 + 1], 4); /* V and three advantages */
    } else {
        ck_assert_int_eq(nn_shape_init(&s, 11, hidden, 2, 3), 0);
    }
    ck_assert_int_eq(nn_outputs(&s), 3);
    int batch = 4;
    size_t np = nn_num_params(&s);
    float *p = malloc(sizeof(float) * np);
    float *g = malloc(sizeof(float) * np);
    float *acts = malloc(sizeof(float) * nn_acts_size(&s, batch));
    float *scratch = malloc(sizeof(float) * nn_scratch_size(&s, batch));
    float x[4 * 11], c[4 * 3];
    rng_t r;
    rng_seed(&r, 42, 0);
    nn_init_params(&s, p, &r);
    for (size_t i = 0; i < np; i++) p[i] += 0.05f * (rng_float(&r) - 0.5f); /* nonzero biases */
    for (int i = 0; i < 4 * 11; i++) {
        x[i] = rng_float(&r) * 2 - 1;
        if (sparse_input && i % 11 > 2) x[i] = 0.0f; /* one-hot-like rows take the sparse path */
    }
    for (int i = 0; i < 12; i++) c[i] = rng_float(&r) * 2 - 1;

    loss_of(&s, p, x, batch, acts, c);
    nn_backward(&s, p, x, batch, acts, c, g, scratch);

    int checked = 0;
    for (size_t i = 0; i < np; i++) {
        float saved = p[i];
        /* Central differences at h and h/2: where they disagree a ReLU kink lies within
         * reach and the difference means nothing, so that parameter is skipped. */
        float h = 1e-3f;
        p[i] = saved + h;
        double lp = loss_of(&s, p, x, batch, acts, c);
        p[i] = saved - h;
        double lm = loss_of(&s, p, x, batch, acts, c);
        p[i] = saved + h / 2;
        double lp2 = loss_of(&s, p, x, batch, acts, c);
        p[i] = saved - h / 2;
        double lm2 = loss_of(&s, p, x, batch, acts, c);
        p[i] = saved;
        double num = (lp - lm) / (2 * h);
        double num2 = (lp2 - lm2) / h;
        if (fabs(num2 - num) > 1e-3 * (1 + fabs(num))) continue;
        ck_assert_msg(fabs(num - g[i]) <= 2e-3 * (1 + fabs(num)),
                      "param %zu: analytic %g numeric %g (%s)", i, g[i], num,
                      nn_backend_name(backend));
        checked++;
    }
    ck_assert_int_ge(checked, (int)np * 9 / 10);
    free(p);
    free(g);
    free(acts);
    free(scratch);
}

START_TEST(test_gradient_native) {
    check_gradients(NN_BACKEND_NATIVE, false, false);
    check_gradients(NN_BACKEND_NATIVE, true, false);
}
END_TEST

START_TEST(test_gradient_blas) {
    check_gradients(NN_BACKEND_BLAS, false, false);
    check_gradients(NN_BACKEND_BLAS, true, false);
}
END_TEST

/* Dueling heads: the same finite differences through Q = V + A - mean(A). */
START_TEST(test_gradient_dueling) {
    check_gradients(NN_BACKEND_NATIVE, false, true);
    check_gradients(NN_BACKEND_NATIVE, true, true);
    check_gradients(NN_BACKEND_BLAS, true, true);
}
END_TEST

/* The dueling outputs against the definition, computed by hand from the last layer's
 * units: Q_a = V + A_a - mean(A), so the advantages' mean carries no value. */
START_TEST(test_dueling_outputs) {
    nn_shape s;
    int hidden[1] = {4};
    ck_assert_int_eq(nn_shape_init_dueling(&s, 3, hidden, 1, 2), 0);
    size_t np = nn_num_params(&s);
    ck_assert_uint_eq(np, (3 + 1) * 4 + (4 + 1) * 3);
    float *p = calloc(np, sizeof(float));
    float acts[16];
    /* hidden = relu(x) (identity weights on the first three units), last layer: V = h0,
     * A_0 = 2 h1, A_1 = -h2 + 1 (bias). */
    float *w1 = p, *w2 = p + nn_weight_offset(&s, 1), *b2 = p + nn_bias_offset(&s, 1);
    for (int i = 0; i < 3; i++) w1[i * 4 + i] = 1.0f;
    w2[0 * 3 + 0] = 1.0f;
    w2[1 * 3 + 1] = 2.0f;
    w2[2 * 3 + 2] = -1.0f;
    b2[2] = 1.0f;
    float x[3] = {0.5f, 3.0f, 2.0f};
    nn_forward(&s, p, x, 1, acts);
    const float *q = nn_output(&s, acts, 1);
    /* V = 0.5, A = (6, -1), mean 2.5: Q = (0.5 + 3.5, 0.5 - 3.5) */
    ck_assert_float_eq_tol(q[0], 4.0f, 1e-6f);
    ck_assert_float_eq_tol(q[1], -3.0f, 1e-6f);
    free(p);
}
END_TEST

START_TEST(test_gemm_backends) {
    /* Sizes that exercise every native block shape: 64- and 16-wide column blocks, the
     * packed remainder, and row remainders. */
    int shapes[][3] = {{64, 128, 128}, {5, 6, 128}, {7, 83, 9}, {1, 16, 3}, {3, 1, 2000}};
    rng_t r;
    rng_seed(&r, 7, 0);
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int m = shapes[t][0], n = shapes[t][1], k = shapes[t][2];
        float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n);
        float *c = malloc(sizeof(float) * m * n), *ref = malloc(sizeof(float) * m * n);
        for (int i = 0; i < m * k; i++) a[i] = rng_float(&r) - 0.5f;
        for (int i = 0; i < k * n; i++) b[i] = rng_float(&r) - 0.5f;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double sum = 1.0; /* accumulate onto 1.0 */
                for (int p = 0; p < k; p++) sum += (double)a[i * k + p] * b[p * n + j];
                ref[i * n + j] = (float)sum;
            }
        for (int be = 0; be < 2; be++) {
            ck_assert_int_eq(nn_set_backend((nn_backend)be), 0);
            for (int i = 0; i < m * n; i++) c[i] = 1.0f;
            nn_gemm(m, n, k, a, b, c, 1);
            for (int i = 0; i < m * n; i++)
                ck_assert_msg(fabsf(c[i] - ref[i]) < 1e-3f, "shape %zu backend %d at %d", t, be, i);
        }
        free(a);
        free(b);
        free(c);
        free(ref);
    }
}
END_TEST

/* Forward and backward at the trainer's shapes (and odd ones that reach every kernel's
 * remainder paths) against plain double-precision loops: dense and one-hot-like inputs,
 * each backend. */
static void reference(const nn_shape *s, const float *p, const float *x, int batch,
                      const float *dout, double *y_ref, double *g_ref) {
    int L = s->n_layers, w = nn_max_width(s);
    double *a = calloc((size_t)(L + 1) * batch * w, sizeof(double)); /* layer inputs */
    double *d = calloc((size_t)batch * w, sizeof(double)),
           *dn = calloc((size_t)batch * w, sizeof(double));
    for (int r = 0; r < batch; r++)
        for (int i = 0; i < s->sizes[0]; i++) a[(size_t)r * w + i] = x[r * s->sizes[0] + i];
    for (int l = 0; l < L; l++) {
        int in = s->sizes[l], out = s->sizes[l + 1];
        const float *W = p + nn_weight_offset(s, l), *b = p + nn_bias_offset(s, l);
        double *ai = a + (size_t)l * batch * w, *ao = ai + (size_t)batch * w;
        for (int r = 0; r < batch; r++)
            for (int o = 0; o < out; o++) {
                double sum = b[o];
                for (int i = 0; i < in; i++) sum += ai[(size_t)r * w + i] * W[(size_t)i * out + o];
                ao[(size_t)r * w + o] = l < L - 1 && sum < 0 ? 0 : sum;
            }
    }
    int nout = s->sizes[L];
    for (int r = 0; r < batch; r++)
        for (int o = 0; o < nout; o++) {
            y_ref[r * nout + o] = a[(size_t)L * batch * w + (size_t)r * w + o];
            d[(size_t)r * w + o] = dout[r * nout + o];
        }
    for (int l = L - 1; l >= 0; l--) {
        int in = s->sizes[l], out = s->sizes[l + 1];
        const float *W = p + nn_weight_offset(s, l);
        double *ai = a + (size_t)l * batch * w;
        double *gW = g_ref + nn_weight_offset(s, l), *gb = g_ref + nn_bias_offset(s, l);
        for (int o = 0; o < out; o++) {
            gb[o] = 0;
            for (int r = 0; r < batch; r++) gb[o] += d[(size_t)r * w + o];
        }
        for (int i = 0; i < in; i++)
            for (int o = 0; o < out; o++) {
                double sum = 0;
                for (int r = 0; r < batch; r++) sum += ai[(size_t)r * w + i] * d[(size_t)r * w + o];
                gW[(size_t)i * out + o] = sum;
            }
        for (int r = 0; r < batch; r++)
            for (int i = 0; i < in; i++) {
                double sum = 0;
                for (int o = 0; o < out; o++) sum += d[(size_t)r * w + o] * W[(size_t)i * out + o];
                dn[(size_t)r * w + i] = ai[(size_t)r * w + i] > 0 ? sum : 0;
            }
        memcpy(d, dn, sizeof(double) * (size_t)batch * w);
    }
    free(a);
    free(d);
    free(dn);
}

static void close_to(double want, float got, const char *what, size_t i, int shape, int be) {
    ck_assert_msg(fabs(want - got) <= 1e-4 * (1 + fabs(want)),
                  "shape %d backend %d: %s[%zu] = %g, reference %g", shape, be, what, i, got, want);
}

START_TEST(test_reference_shapes) {
    /* in, hidden..., out, batch: the level 1 and level 3 networks at batch 64 and 1, and
     * widths of 130 / 20 / 50 that leave remainders after the 128-, 64- and 16-wide paths. */
    int shapes[][5] = {
        {87, 128, 128, 6, 64}, {104, 128, 128, 6, 1}, {37, 130, 20, 6, 5}, {50, 64, 50, 3, 9}};
    rng_t r;
    rng_seed(&r, 11, 0);
    for (int t = 0; t < 4; t++) {
        nn_shape s;
        int hidden[2] = {shapes[t][1], shapes[t][2]}, in = shapes[t][0], batch = shapes[t][4];
        ck_assert_int_eq(nn_shape_init(&s, in, hidden, 2, shapes[t][3]), 0);
        int out = shapes[t][3];
        size_t np = nn_num_params(&s);
        float *p = malloc(sizeof(float) * np), *g = malloc(sizeof(float) * np);
        float *acts = malloc(sizeof(float) * nn_acts_size(&s, batch));
        float *scratch = malloc(sizeof(float) * nn_scratch_size(&s, batch));
        float *x = calloc((size_t)batch * in, sizeof(float)),
              *dout = malloc(sizeof(float) * batch * out);
        double *y_ref = malloc(sizeof(double) * batch * out), *g_ref = malloc(sizeof(double) * np);
        nn_init_params(&s, p, &r);
        for (size_t i = 0; i < np; i++) p[i] += 0.05f * (rng_float(&r) - 0.5f);
        for (int sparse = 0; sparse < 2; sparse++) {
            /* dense, or one nonzero per row as the DQN loss gives (the taken action's) */
            for (int i = 0; i < batch * out; i++)
                dout[i] = !sparse || i % out == (i / out) % out ? rng_float(&r) - 0.5f : 0.0f;
            for (int row = 0; row < batch; row++)
                for (int i = 0; i < in; i++) {
                    float v = rng_float(&r) * 2 - 1;
                    /* one-hot-like: a few entries, the last five nonzero in every row (as the
                     * meters are), a -0 among the zeros */
                    bool on = i % 9 == row % 9 || i >= in - 5;
                    x[row * in + i] = !sparse ? v : on ? v : i == 1 ? -0.0f : 0.0f;
                }
            reference(&s, p, x, batch, dout, y_ref, g_ref);
            for (int be = 0; be < 2; be++) {
                ck_assert_int_eq(nn_set_backend((nn_backend)be), 0);
                nn_forward(&s, p, x, batch, acts);
                const float *y = nn_output(&s, acts, batch);
                for (int i = 0; i < batch * out; i++)
                    close_to(y_ref[i], y[i], "y", (size_t)i, t, be);
                nn_backward(&s, p, x, batch, acts, dout, g, scratch);
                for (size_t i = 0; i < np; i++) close_to(g_ref[i], g[i], "grad", i, t, be);
            }
        }
        nn_set_backend(NN_BACKEND_NATIVE);
        free(p), free(g), free(acts), free(scratch), free(x), free(dout), free(y_ref), free(g_ref);
    }
}
END_TEST

START_TEST(test_adam_hand_values) {
    /* One parameter, grads 0.5 then -0.25, lr 0.1, betas 0.9/0.999, eps 1e-8:
     * t=1: m=0.05, v=0.00025, mhat=0.5, vhat=0.25, p = 1 - 0.1*0.5/(0.5+1e-8) = 0.9
     * t=2: m=0.045-0.025=0.02, v=0.00024975+0.0000625=0.00031225,
     *      mhat=0.02/0.19=0.105263, vhat=0.00031225/0.001999=0.156203,
     *      p = 0.9 - 0.1*0.105263/(0.395225) = 0.873366 */
    nn_adam a = {.lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .t = 0};
    float p = 1.0f, m = 0, v = 0, g = 0.5f;
    nn_adam_step(&a, &p, &g, 1.0f, &m, &v, 1, NULL, 0.0f);
    ck_assert_float_eq_tol(p, 0.9f, 1e-6f);
    ck_assert_float_eq_tol(m, 0.05f, 1e-7f);
    ck_assert_float_eq_tol(v, 0.00025f, 1e-8f);
    g = -0.5f; /* -0.25 through a clipping scale of 0.5 */
    nn_adam_step(&a, &p, &g, 0.5f, &m, &v, 1, NULL, 0.0f);
    ck_assert_int_eq(a.t, 2);
    ck_assert_float_eq_tol(m, 0.02f, 1e-7f);
    ck_assert_float_eq_tol(v, 0.00031225f, 1e-8f);
    ck_assert_float_eq_tol(p, 0.873366f, 2e-6f);
}
END_TEST

START_TEST(test_huber_clip_polyak) {
    float pred[3] = {0.0f, 3.0f, -0.5f}, tgt[3] = {0.5f, 0.0f, 0.0f}, d[3];
    /* deltas -0.5, 3, -0.5 with delta 1: 0.125, 2.5, 0.125 -> mean 0.916667 */
    float l = nn_huber(pred, tgt, 3, 1.0f, d);
    ck_assert_float_eq_tol(l, 2.75f / 3, 1e-6f);
    ck_assert_float_eq_tol(d[0], -0.5f / 3, 1e-7f);
    ck_assert_float_eq_tol(d[1], 1.0f / 3, 1e-7f);
    ck_assert_float_eq_tol(d[2], -0.5f / 3, 1e-7f);

    float g[2] = {3.0f, 4.0f}, norm = 0;
    ck_assert_float_eq_tol(nn_clip_scale(g, 2, 1.0f, &norm), 0.2f, 1e-6f);
    ck_assert_float_eq_tol(norm, 5.0f, 1e-6f);
    float g2[2] = {0.3f, 0.4f};
    ck_assert_float_eq(nn_clip_scale(g2, 2, 1.0f, NULL), 1.0f);
    ck_assert_float_eq(nn_clip_scale(g, 2, 0.0f, NULL), 1.0f); /* 0: no clipping */

    /* Polyak after the Adam step, in the same pass, from the updated parameters: with a
     * zero learning rate the parameters stay put and only the blend shows. Long enough
     * (37) for the vector loop and its tail. */
    enum { NP = 37 };
    float pp[NP], gg[NP], mm[NP] = {0}, vv[NP] = {0}, tt[NP];
    for (int i = 0; i < NP; i++) {
        pp[i] = 1.0f + (float)i;
        gg[i] = 0.1f * (float)(i % 5) - 0.2f;
        tt[i] = (float)i;
    }
    nn_adam ad = {.lr = 0.0f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .t = 0};
    nn_adam_step(&ad, pp, gg, 1.0f, mm, vv, NP, tt, 0.25f);
    for (int i = 0; i < NP; i++) {
        ck_assert_float_eq(pp[i], 1.0f + (float)i);
        ck_assert_float_eq_tol(tt[i], (float)i + 0.25f, 1e-6f);
        ck_assert_float_eq_tol(mm[i], 0.1f * gg[i], 1e-7f);
    }
}
END_TEST

START_TEST(test_layout) {
    nn_shape s;
    int hidden[2] = {128, 128};
    ck_assert_int_eq(nn_shape_init(&s, 87, hidden, 2, 6), 0);
    ck_assert_uint_eq(nn_num_params(&s), 87 * 128 + 128 + 128 * 128 + 128 + 128 * 6 + 6);
    ck_assert_uint_eq(nn_bias_offset(&s, 0), 87 * 128);
    ck_assert_uint_eq(nn_weight_offset(&s, 1), 87 * 128 + 128);
    ck_assert_int_eq(nn_shape_init(&s, 0, hidden, 2, 6), -1);
}
END_TEST

/* nn_init_layers: the layers from `from` on are drawn afresh within He's bound with zero
 * biases, the layers below keep their values to the bit. */
START_TEST(test_init_layers) {
    nn_shape s;
    int hidden[2] = {8, 5};
    ck_assert_int_eq(nn_shape_init(&s, 7, hidden, 2, 3), 0);
    size_t n = nn_num_params(&s);
    float *p = malloc(sizeof(float) * n), *q = malloc(sizeof(float) * n);
    rng_t r;
    rng_seed(&r, 1, 0);
    nn_init_params(&s, p, &r);
    for (size_t i = 0; i < n; i++) p[i] += 0.25f; /* biases too: a redraw must zero them */
    memcpy(q, p, sizeof(float) * n);
    rng_seed(&r, 2, 0);
    nn_init_layers(&s, q, 1, &r);
    size_t from = nn_weight_offset(&s, 1);
    ck_assert(memcmp(p, q, sizeof(float) * from) == 0);
    for (int l = 1; l < s.n_layers; l++) {
        float bound = sqrtf(6.0f / (float)s.sizes[l]);
        size_t w = nn_weight_offset(&s, l), b = nn_bias_offset(&s, l);
        int changed = 0;
        for (size_t i = w; i < b; i++) {
            ck_assert(fabsf(q[i]) <= bound);
            changed += q[i] != p[i];
        }
        ck_assert_int_eq(changed, (int)(b - w));
        for (int i = 0; i < s.sizes[l + 1]; i++) ck_assert(q[b + (size_t)i] == 0.0f);
    }
    free(p);
    free(q);
}
END_TEST

int main(void) {
    Suite *s = suite_create("nn");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120); /* the reference loops are slow under ASan on a busy machine */
    tcase_add_test(tc, test_gradient_native);
    tcase_add_test(tc, test_gradient_blas);
    tcase_add_test(tc, test_gradient_dueling);
    tcase_add_test(tc, test_dueling_outputs);
    tcase_add_test(tc, test_gemm_backends);
    tcase_add_test(tc, test_reference_shapes);
    tcase_add_test(tc, test_adam_hand_values);
    tcase_add_test(tc, test_huber_clip_polyak);
    tcase_add_test(tc, test_layout);
    tcase_add_test(tc, test_init_layers);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
