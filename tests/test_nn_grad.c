/* tests/test_nn_grad.c — the MLP's gradients against finite differences (genann style, a
 * fixed seed), Adam against hand-computed values, Huber, clipping, Polyak, and the two
 * matrix backends against a plain triple loop. */
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
    for (int i = 0; i < batch * s->sizes[s->n_layers]; i++) l += (double)c[i] * y[i];
    return l;
}

static void check_gradients(nn_backend backend, bool sparse_input) {
    nn_set_backend(backend);
    nn_shape s;
    int hidden[2] = {7, 5};
    ck_assert_int_eq(nn_shape_init(&s, 11, hidden, 2, 3), 0);
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
    check_gradients(NN_BACKEND_NATIVE, false);
    check_gradients(NN_BACKEND_NATIVE, true);
}
END_TEST

START_TEST(test_gradient_blas) {
    check_gradients(NN_BACKEND_BLAS, false);
    check_gradients(NN_BACKEND_BLAS, true);
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
            nn_set_backend((nn_backend)be);
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

START_TEST(test_adam_hand_values) {
    /* One parameter, grads 0.5 then -0.25, lr 0.1, betas 0.9/0.999, eps 1e-8:
     * t=1: m=0.05, v=0.00025, mhat=0.5, vhat=0.25, p = 1 - 0.1*0.5/(0.5+1e-8) = 0.9
     * t=2: m=0.045-0.025=0.02, v=0.00024975+0.0000625=0.00031225,
     *      mhat=0.02/0.19=0.105263, vhat=0.00031225/0.001999=0.156203,
     *      p = 0.9 - 0.1*0.105263/(0.395225) = 0.873366 */
    nn_adam a = {.lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .t = 0};
    float p = 1.0f, m = 0, v = 0, g = 0.5f;
    nn_adam_step(&a, &p, &g, &m, &v, 1);
    ck_assert_float_eq_tol(p, 0.9f, 1e-6f);
    ck_assert_float_eq_tol(m, 0.05f, 1e-7f);
    ck_assert_float_eq_tol(v, 0.00025f, 1e-8f);
    g = -0.25f;
    nn_adam_step(&a, &p, &g, &m, &v, 1);
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

    float g[2] = {3.0f, 4.0f};
    ck_assert_float_eq_tol(nn_clip_grad_norm(g, 2, 1.0f), 5.0f, 1e-6f);
    ck_assert_float_eq_tol(g[0], 0.6f, 1e-5f);
    ck_assert_float_eq_tol(g[1], 0.8f, 1e-5f);
    float g2[2] = {0.3f, 0.4f};
    nn_clip_grad_norm(g2, 2, 1.0f);
    ck_assert_float_eq(g2[0], 0.3f);

    float t[2] = {0.0f, 1.0f}, o[2] = {1.0f, 1.0f};
    nn_polyak(t, o, 2, 0.25f);
    ck_assert_float_eq_tol(t[0], 0.25f, 1e-7f);
    ck_assert_float_eq(t[1], 1.0f);
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

int main(void) {
    Suite *s = suite_create("nn");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_gradient_native);
    tcase_add_test(tc, test_gradient_blas);
    tcase_add_test(tc, test_gemm_backends);
    tcase_add_test(tc, test_adam_hand_values);
    tcase_add_test(tc, test_huber_clip_polyak);
    tcase_add_test(tc, test_layout);
    suite_add_tcase(s, tc);
    int failed = runner_run(s);
    return failed ? 1 : 0;
}
