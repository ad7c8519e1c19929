/* bench/bench_trainer_nn.c — the learner's matrix work against the machine's single-core
 * sgemm rate at the same shapes (docs/design/learner.md).
 *
 *   bench_trainer_nn [--runs N] [--batch B]
 *
 * Prints, as medians of N runs: OpenBLAS sgemm GFLOP/s at each product of one DQN update
 * of the level 1 network (87->128->128->6, batch 64), the native kernels at the same
 * shapes, and one full update per backend (online forward, target forward, Double DQN
 * forward, backward, Adam) in microseconds and in dense-equivalent GFLOP/s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/nn.h"
#include "tests/support/bstats.h"
#include "tests/support/tclock.h"

typedef struct {
    int m, n, k;
    int ta, tb; /* transposes, as the update uses them (forward NN, dW TN, dX NT) */
} shape;

static float *rand_buf(size_t n, rng_t *r) {
    float *p = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) p[i] = rng_float(r) - 0.5f;
    return p;
}

int main(int argc, char **argv) {
    int runs = 7, batch = 64;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quick"))
            runs = 3;
    }
    if (runs < 1 || runs > 101) runs = 7;
    nn_sgemm_fn sgemm = nn_blas_sgemm();
    if (!sgemm) {
        fprintf(stderr, "bench_trainer_nn: OpenBLAS (libopenblas.so.0) cannot be loaded: the "
                        "sgemm yardstick needs it (scripts/bootstrap installs libopenblas0)\n");
        return 1;
    }
    rng_t r;
    rng_seed(&r, 1, 0);
    int B = batch;
    /* The dense products of one update: three forwards (online on s, target on s', online
     * on s' for Double DQN) of 3 layers each, then backward dW for 3 layers and dX for 2. */
    shape sh[] = {{B, 128, 87, 0, 0},  {B, 128, 128, 0, 0}, {B, 6, 128, 0, 0},   {87, 128, B, 1, 0},
                  {128, 128, B, 1, 0}, {128, 6, B, 1, 0},   {B, 128, 128, 0, 1}, {B, 128, 6, 0, 1}};
    int count[] = {3, 3, 3, 1, 1, 1, 1, 1};
    int nsh = (int)(sizeof sh / sizeof sh[0]);
    float *a = rand_buf(256 * 256, &r), *b = rand_buf(256 * 256, &r), *c = rand_buf(256 * 256, &r);
    double tot_flops = 0, blas_time = 0;
    double times[101];
    printf("sgemm at the update's shapes (median of %d runs, single thread):\n", runs);
    for (int s = 0; s < nsh; s++) {
        double flops = 2.0 * sh[s].m * sh[s].n * sh[s].k;
        int reps = (int)(2e8 / flops) + 1;
        double gf[2] = {0, 0};
        for (int be = 0; be < 2; be++) {
            for (int run = 0; run < runs; run++) {
                double t0 = tclock_now_s();
                for (int i = 0; i < reps; i++) {
                    if (be == 1) {
                        sgemm(NN_CBLAS_ROW_MAJOR, sh[s].ta ? NN_CBLAS_TRANS : NN_CBLAS_NO_TRANS,
                              sh[s].tb ? NN_CBLAS_TRANS : NN_CBLAS_NO_TRANS, sh[s].m, sh[s].n,
                              sh[s].k, 1.0f, a, sh[s].ta ? sh[s].m : sh[s].k, b,
                              sh[s].tb ? sh[s].k : sh[s].n, 0.0f, c, sh[s].n);
                        continue;
                    }
                    /* Native: TN has its own kernel; NT is the NN kernel on W^T (the
                     * update transposes W, 1/64 of the product's work, not timed here). */
                    nn_set_backend(NN_BACKEND_NATIVE);
                    if (sh[s].ta)
                        nn_gemm_tn(sh[s].m, sh[s].n, sh[s].k, a, b, c);
                    else
                        nn_gemm(sh[s].m, sh[s].n, sh[s].k, a, b, c, 0);
                }
                times[run] = (tclock_now_s() - t0) / reps;
            }
            gf[be] = flops / bstats_median(times, runs) * 1e-9;
            if (be == 1) {
                tot_flops += flops * count[s];
                blas_time += flops / (gf[1] * 1e9) * count[s];
            }
        }
        printf("  %3dx%3dx%3d %s%s  openblas %6.1f GFLOP/s  native %6.1f GFLOP/s\n", sh[s].m,
               sh[s].n, sh[s].k, sh[s].ta ? "T" : "N", sh[s].tb ? "T" : "N", gf[1], gf[0]);
    }
    double sgemm_rate = tot_flops / blas_time * 1e-9;
    printf("sgemm_update_shapes_gflops %.1f  (dense flops per update %.2f M)\n", sgemm_rate,
           tot_flops * 1e-6);

    /* One full update with nn_*, level 1 shapes, one-hot-like inputs. */
    nn_shape ns;
    int hidden[2] = {128, 128};
    nn_shape_init(&ns, 87, hidden, 2, 6);
    size_t np = nn_num_params(&ns);
    float *p = rand_buf(np, &r), *tp = rand_buf(np, &r), *g = malloc(sizeof(float) * np);
    float *m = calloc(np, sizeof(float)), *v = calloc(np, sizeof(float));
    float *acts = malloc(sizeof(float) * nn_acts_size(&ns, B));
    float *acts2 = malloc(sizeof(float) * nn_acts_size(&ns, B));
    float *scratch = malloc(sizeof(float) * nn_scratch_size(&ns, B));
    float *x = calloc((size_t)B * 87, sizeof(float)), *x2 = calloc((size_t)B * 87, sizeof(float));
    float *dout = calloc((size_t)B * 6, sizeof(float));
    for (int i = 0; i < B; i++) {
        x[i * 87 + rng_below(&r, 64)] = 1;
        x2[i * 87 + rng_below(&r, 64)] = 1;
        for (int j = 64; j < 72; j++) x[i * 87 + j] = x2[i * 87 + j] = rng_float(&r);
        dout[i * 6 + rng_below(&r, 6)] = 0.01f;
    }
    /* Executed work: the first layer runs over nonzero inputs only (about 10 of 87 in a
     * level 1 observation), so the dense count overstates it; report both. */
    double nnz = 0;
    for (int i = 0; i < B * 87; i++) nnz += (x[i] != 0) + (x2[i] != 0);
    nnz /= 2.0 * B; /* nonzeros per row */
    double layer0_dense = 2.0 * B * 87 * 128, layer0_sparse = 2.0 * B * nnz * 128;
    double exec_flops = tot_flops - 4 * (layer0_dense - layer0_sparse);
    nn_adam adam = {.lr = 1e-4f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    for (int be = 0; be < 2; be++) {
        if (nn_set_backend((nn_backend)be) != 0) continue;
        int reps = 2000;
        for (int run = 0; run < runs; run++) {
            double t0 = tclock_now_s();
            for (int i = 0; i < reps; i++) {
                nn_forward(&ns, tp, x2, B, acts2);
                nn_forward(&ns, p, x2, B, acts2);
                nn_forward(&ns, p, x, B, acts);
                nn_backward(&ns, p, x, B, acts, dout, g, scratch);
                float scale = nn_clip_scale(g, np, 10.0f, NULL);
                nn_adam_step(&adam, p, g, scale, m, v, np, tp, 0.01f);
            }
            times[run] = (tclock_now_s() - t0) / reps;
        }
        double t = bstats_median(times, runs);
        printf("update_%s_us %.1f  updates_per_s %.0f  dense_equiv_gflops %.1f  executed_gflops "
               "%.1f (%.0f%% of sgemm; %.2f M flops executed per update)\n",
               nn_backend_name((nn_backend)be), t * 1e6, 1 / t, tot_flops / t * 1e-9,
               exec_flops / t * 1e-9, 100 * exec_flops / t * 1e-9 / sgemm_rate, exec_flops * 1e-6);
    }
    /* Where the native update's time goes. Best of many short runs rather than a median:
     * on a shared machine the fastest run is the one least disturbed by the neighbours,
     * which is what a breakdown of the code's own cost wants. */
    nn_set_backend(NN_BACKEND_NATIVE);
    double best[4] = {1e9, 1e9, 1e9, 1e9};
    for (int run = 0; run < 20 * runs; run++) {
        enum { N = 50 };
        double t[5];
        t[0] = tclock_now_s();
        for (int i = 0; i < N; i++) {
            nn_forward(&ns, tp, x2, B, acts2);
            nn_forward(&ns, p, x2, B, acts2);
            nn_forward(&ns, p, x, B, acts);
        }
        t[1] = tclock_now_s();
        for (int i = 0; i < N; i++) nn_backward(&ns, p, x, B, acts, dout, g, scratch);
        t[2] = tclock_now_s();
        for (int i = 0; i < N; i++) {
            float scale = nn_clip_scale(g, np, 10.0f, NULL);
            nn_adam_step(&adam, p, g, scale, m, v, np, tp, 0.01f);
        }
        t[3] = tclock_now_s();
        for (int i = 0; i < N; i++) nn_forward(&ns, p, x + (size_t)(i % B) * 87, 1, acts2);
        t[4] = tclock_now_s();
        for (int k = 0; k < 4; k++)
            if ((t[k + 1] - t[k]) / N < best[k]) best[k] = (t[k + 1] - t[k]) / N;
    }
    printf("update_phases_us (native, best of %d runs of 50): three forwards %.1f  backward %.1f  "
           "clip+adam+polyak %.1f  total %.1f;  one acting forward (batch 1) %.2f\n",
           20 * runs, best[0] * 1e6, best[1] * 1e6, best[2] * 1e6,
           (best[0] + best[1] + best[2]) * 1e6, best[3] * 1e6);
    free(a), free(b), free(c), free(p), free(tp), free(g), free(m), free(v);
    free(acts), free(acts2), free(scratch), free(x), free(x2), free(dout);
    return 0;
}
