/* common/nn.c — see nn.h. */
#include "common/nn.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#ifdef RD_HAVE_OPENBLAS
#include <cblas.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

/* The kernels are compiled for AVX-512, AVX2+FMA and plain x86-64, and the loader picks
 * the best the CPU has (GCC function multiversioning): the build uses no -march flag, so
 * the binaries run on any x86-64, yet the hot loops use the wide units where they exist. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NN_CLONES __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define NN_CLONES
#endif

#ifdef RD_HAVE_OPENBLAS
static nn_backend nn_current = NN_BACKEND_BLAS;
#else
static nn_backend nn_current = NN_BACKEND_NATIVE;
#endif

void nn_set_backend(nn_backend b) {
#ifndef RD_HAVE_OPENBLAS
    b = NN_BACKEND_NATIVE;
#endif
    nn_current = b;
}

nn_backend nn_get_backend(void) {
    return nn_current;
}

const char *nn_backend_name(nn_backend b) {
    return b == NN_BACKEND_BLAS ? "openblas" : "native";
}

int nn_shape_init(nn_shape *s, int in, const int *hidden, int n_hidden, int out) {
    if (n_hidden < 0 || n_hidden + 1 > NN_MAX_LAYERS || in < 1 || out < 1) return -1;
    s->n_layers = n_hidden + 1;
    s->sizes[0] = in;
    for (int i = 0; i < n_hidden; i++) {
        if (hidden[i] < 1) return -1;
        s->sizes[i + 1] = hidden[i];
    }
    s->sizes[s->n_layers] = out;
    return 0;
}

size_t nn_weight_offset(const nn_shape *s, int layer) {
    size_t off = 0;
    for (int l = 0; l < layer; l++) off += (size_t)(s->sizes[l] + 1) * (size_t)s->sizes[l + 1];
    return off;
}

size_t nn_bias_offset(const nn_shape *s, int layer) {
    return nn_weight_offset(s, layer) + (size_t)s->sizes[layer] * (size_t)s->sizes[layer + 1];
}

size_t nn_num_params(const nn_shape *s) {
    return nn_weight_offset(s, s->n_layers);
}

int nn_max_width(const nn_shape *s) {
    int w = 0;
    for (int l = 0; l <= s->n_layers; l++)
        if (s->sizes[l] > w) w = s->sizes[l];
    return w;
}

size_t nn_acts_size(const nn_shape *s, int batch) {
    size_t n = 0;
    for (int l = 1; l <= s->n_layers; l++) n += (size_t)batch * (size_t)s->sizes[l];
    return n;
}

static size_t nn__acts_offset(const nn_shape *s, int layer, int batch) {
    size_t n = 0;
    for (int l = 1; l <= layer; l++) n += (size_t)batch * (size_t)s->sizes[l];
    return n;
}

float *nn_output(const nn_shape *s, float *acts, int batch) {
    return acts + nn__acts_offset(s, s->n_layers - 1, batch);
}

size_t nn_scratch_size(const nn_shape *s, int batch) {
    size_t w = (size_t)nn_max_width(s), bw = (size_t)batch * w;
    return 3 * bw + w * w + (bw > w * w ? bw : w * w);
}

void nn_init_params(const nn_shape *s, float *params, rng_t *rng) {
    for (int l = 0; l < s->n_layers; l++) {
        int in = s->sizes[l], out = s->sizes[l + 1];
        float *w = params + nn_weight_offset(s, l);
        float bound = sqrtf(6.0f / (float)in);
        for (size_t i = 0; i < (size_t)in * (size_t)out; i++)
            w[i] = (2.0f * rng_float(rng) - 1.0f) * bound;
        memset(params + nn_bias_offset(s, l), 0, sizeof(float) * (size_t)out);
    }
}

/* ---- Native kernels ---- */

typedef float nn_v16 __attribute__((vector_size(64)));

/* Unaligned vector load and store as macros: a function returning a 64-byte vector would
 * change the calling convention between the multiversioned clones (GCC -Wpsabi). */
#define NN_LOAD(v, p)  memcpy(&(v), (p), sizeof(nn_v16))
#define NN_STORE(p, v) memcpy((p), &(v), sizeof(nn_v16))

/* Rows [i, i+R) x columns [j, j+16*V) of C += A B, accumulators in registers. R and V are
 * compile-time constants at every call, so the loops below unroll fully. */
#define NN_BLOCK(R, V)                                                                             \
    do {                                                                                           \
        nn_v16 acc[R][V];                                                                          \
        for (int r = 0; r < R; r++)                                                                \
            for (int v = 0; v < V; v++)                                                            \
                if (accumulate)                                                                    \
                    NN_LOAD(acc[r][v], c + (size_t)(i + r) * n + j + 16 * v);                      \
                else                                                                               \
                    acc[r][v] = (nn_v16){0};                                                       \
        for (int p = 0; p < k; p++) {                                                              \
            nn_v16 bv[V];                                                                          \
            for (int v = 0; v < V; v++) NN_LOAD(bv[v], bp + (size_t)p * ldb + 16 * v);             \
            for (int r = 0; r < R; r++) {                                                          \
                float av = a[(size_t)(i + r) * k + p];                                             \
                for (int v = 0; v < V; v++) acc[r][v] += av * bv[v];                               \
            }                                                                                      \
        }                                                                                          \
        for (int r = 0; r < R; r++)                                                                \
            for (int v = 0; v < V; v++) NN_STORE(c + (size_t)(i + r) * n + j + 16 * v, acc[r][v]); \
    } while (0)

/* Rows [i, i+R) of C, columns [j, n) (fewer than 16) from the packed copy of B. */
#define NN_PACKED(R)                                                                               \
    do {                                                                                           \
        nn_v16 acc[R];                                                                             \
        for (int r = 0; r < R; r++) acc[r] = (nn_v16){0};                                          \
        for (int p = 0; p < k; p++) {                                                              \
            nn_v16 bv;                                                                             \
            NN_LOAD(bv, pack + (size_t)p * 16);                                                    \
            for (int r = 0; r < R; r++) acc[r] += a[(size_t)(i + r) * k + p] * bv;                 \
        }                                                                                          \
        for (int r = 0; r < R; r++) {                                                              \
            float out[16];                                                                         \
            NN_STORE(out, acc[r]);                                                                 \
            float *cr = c + (size_t)(i + r) * n + j;                                               \
            for (int q = 0; q < rest; q++) cr[q] = (accumulate ? cr[q] : 0.0f) + out[q];           \
        }                                                                                          \
    } while (0)

/* C (m x n) (+)= A (m x k) B (k x n). Columns that do not fill a 16-wide vector are
 * packed, zero-padded, into a k x 16 block on the stack so that the output layer (6
 * actions) runs through the same vector code instead of a scalar loop. */
NN_CLONES
static void nn__gemm_native(int m, int n, int k, const float *a, const float *b, float *c,
                            int accumulate) {
    int j = 0;
    for (; j + 64 <= n; j += 64) {
        const float *bp = b + j;
        int ldb = n;
        int i = 0;
        for (; i + 4 <= m; i += 4) NN_BLOCK(4, 4);
        for (; i < m; i++) NN_BLOCK(1, 4);
    }
    for (; j + 16 <= n; j += 16) {
        const float *bp = b + j;
        int ldb = n;
        int i = 0;
        for (; i + 4 <= m; i += 4) NN_BLOCK(4, 1);
        for (; i < m; i++) NN_BLOCK(1, 1);
    }
    if (j == n) return;
    int rest = n - j;
    if (k <= 1024) {
        float pack[(size_t)k * 16];
        for (int p = 0; p < k; p++) {
            memset(pack + (size_t)p * 16, 0, sizeof(float) * 16);
            memcpy(pack + (size_t)p * 16, b + (size_t)p * n + j, sizeof(float) * (size_t)rest);
        }
        /* Eight rows at once: eight independent FMA chains hide the FMA latency. */
        int i = 0;
        for (; i + 8 <= m; i += 8) NN_PACKED(8);
        for (; i < m; i++) NN_PACKED(1);
        return;
    }
    for (int i = 0; i < m; i++)
        for (int q = j; q < n; q++) {
            float sum = accumulate ? c[(size_t)i * n + q] : 0.0f;
            for (int p = 0; p < k; p++) sum += a[(size_t)i * k + p] * b[(size_t)p * n + q];
            c[(size_t)i * n + q] = sum;
        }
}

/* Y (batch x out) = X W + b over the nonzero entries of X only. Exact for any X; fast when
 * X is mostly zeros (the one-hot observation). Each row's nonzeros are listed first, then
 * every 64-wide slice of the output row is summed in registers over them, so that the
 * output is stored once instead of once per nonzero. */
NN_CLONES
static void nn__sparse_affine(int batch, int in, int out, const float *x, const float *w,
                              const float *bias, float *y) {
    int idx[in];
    float val[in];
    for (int r = 0; r < batch; r++) {
        const float *xr = x + (size_t)r * in;
        float *yr = y + (size_t)r * out;
        int nnz = 0;
        for (int i = 0; i < in; i++) { /* branch-free: where the zeros fall is random */
            idx[nnz] = i;
            val[nnz] = xr[i];
            nnz += xr[i] != 0.0f;
        }
        int j = 0;
        for (; j + 64 <= out; j += 64) {
            nn_v16 acc[4];
            for (int v = 0; v < 4; v++) NN_LOAD(acc[v], bias + j + 16 * v);
            for (int k = 0; k < nnz; k++) {
                const float *wr = w + (size_t)idx[k] * out + j;
                for (int v = 0; v < 4; v++) {
                    nn_v16 wv;
                    NN_LOAD(wv, wr + 16 * v);
                    acc[v] += val[k] * wv;
                }
            }
            for (int v = 0; v < 4; v++) NN_STORE(yr + j + 16 * v, acc[v]);
        }
        for (; j + 16 <= out; j += 16) {
            nn_v16 acc;
            NN_LOAD(acc, bias + j);
            for (int k = 0; k < nnz; k++) {
                nn_v16 wv;
                NN_LOAD(wv, w + (size_t)idx[k] * out + j);
                acc += val[k] * wv;
            }
            NN_STORE(yr + j, acc);
        }
        for (; j < out; j++) {
            float sum = bias[j];
            for (int k = 0; k < nnz; k++) sum += val[k] * w[(size_t)idx[k] * out + j];
            yr[j] = sum;
        }
    }
}

/* dW (in x out) = X^T D over the nonzero entries of X. */
NN_CLONES
static void nn__sparse_tn(int batch, int in, int out, const float *x, const float *d, float *dw) {
    memset(dw, 0, sizeof(float) * (size_t)in * (size_t)out);
    for (int r = 0; r < batch; r++) {
        const float *xr = x + (size_t)r * in;
        const float *dr = d + (size_t)r * out;
        for (int i = 0; i < in; i++) {
            float xv = xr[i];
            if (xv == 0.0f) continue;
            float *wr = dw + (size_t)i * out;
            for (int o = 0; o < out; o++) wr[o] += xv * dr[o];
        }
    }
}

/* dst (cols x rows) = src (rows x cols) transposed, in 16 x 16 tiles so that both sides
 * stay in cache lines already loaded. */
NN_CLONES
static void nn__transpose(const float *src, int rows, int cols, float *dst) {
    for (int i0 = 0; i0 < rows; i0 += 16)
        for (int j0 = 0; j0 < cols; j0 += 16) {
            int i1 = i0 + 16 < rows ? i0 + 16 : rows, j1 = j0 + 16 < cols ? j0 + 16 : cols;
            for (int i = i0; i < i1; i++)
                for (int j = j0; j < j1; j++) dst[(size_t)j * rows + i] = src[(size_t)i * cols + j];
        }
}

/* gb = column sums of d (batch x out). */
NN_CLONES
static void nn__bias_grad(const float *d, int batch, int out, float *gb) {
    memset(gb, 0, sizeof(float) * (size_t)out);
    for (int r = 0; r < batch; r++)
        for (int o = 0; o < out; o++) gb[o] += d[(size_t)r * out + o];
}

/* d = d where the layer's output x was positive (the ReLU's derivative), else 0. */
NN_CLONES
static void nn__relu_mask(float *d, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) d[i] = x[i] > 0.0f ? d[i] : 0.0f;
}

NN_CLONES
static void nn__relu(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void nn_gemm(int m, int n, int k, const float *a, const float *b, float *c, int accumulate) {
#ifdef RD_HAVE_OPENBLAS
    if (nn_current == NN_BACKEND_BLAS) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n,
                    accumulate ? 1.0f : 0.0f, c, n);
        return;
    }
#endif
    nn__gemm_native(m, n, k, a, b, c, accumulate);
}

/* Fraction of zeros in x above which the sparse loops beat a dense product. Measured on
 * the level 1 observation (about 10 nonzeros of 87); dense inputs take the gemm. */
static bool nn__mostly_zero(const float *x, size_t n) {
    size_t nz = 0;
    for (size_t i = 0; i < n; i++) nz += x[i] != 0.0f;
    return nz * 4 < n;
}

void nn_forward(const nn_shape *s, const float *params, const float *x, int batch, float *acts) {
    const float *in_act = x;
    float *out_act = acts;
    for (int l = 0; l < s->n_layers; l++) {
        int in = s->sizes[l], out = s->sizes[l + 1];
        const float *w = params + nn_weight_offset(s, l);
        const float *b = params + nn_bias_offset(s, l);
        /* Only the input can be sparse enough to pay: ReLU layers keep about half their
         * units, and the sparse kernel (no register reuse of W across rows) was measured
         * slower than the dense product at that density. */
        if (l == 0 && nn__mostly_zero(in_act, (size_t)batch * in)) {
            nn__sparse_affine(batch, in, out, in_act, w, b, out_act);
        } else {
            for (int r = 0; r < batch; r++)
                memcpy(out_act + (size_t)r * out, b, sizeof(float) * (size_t)out);
            nn_gemm(batch, out, in, in_act, w, out_act, 1);
        }
        if (l < s->n_layers - 1) {
            nn__relu(out_act, (size_t)batch * out);
        }
        in_act = out_act;
        out_act += (size_t)batch * out;
    }
}

void nn_backward(const nn_shape *s, const float *params, const float *x, int batch,
                 const float *acts, const float *dout, float *grads, float *scratch) {
    size_t w = (size_t)nn_max_width(s);
    float *dcur = scratch;                       /* d(loss)/d(pre-activation) of layer l */
    float *dprev = scratch + (size_t)batch * w;  /* d(loss)/d(output of layer l-1) */
    float *wt = scratch + 2 * (size_t)batch * w; /* a transposed operand */
    float *tmp = wt + (size_t)batch * w + w * w; /* a transposed result */
    int L = s->n_layers;
    memcpy(dcur, dout, sizeof(float) * (size_t)batch * s->sizes[L]);
    for (int l = L - 1; l >= 0; l--) {
        int in = s->sizes[l], out = s->sizes[l + 1];
        const float *W = params + nn_weight_offset(s, l);
        float *gW = grads + nn_weight_offset(s, l);
        float *gb = grads + nn_bias_offset(s, l);
        const float *xin = l == 0 ? x : acts + nn__acts_offset(s, l - 1, batch);

        nn__bias_grad(dcur, batch, out, gb);

#ifdef RD_HAVE_OPENBLAS
        bool blas = nn_current == NN_BACKEND_BLAS;
#else
        bool blas = false;
#endif
        if (l == 0 && nn__mostly_zero(xin, (size_t)batch * in)) {
            nn__sparse_tn(batch, in, out, xin, dcur, gW);
        } else if (blas) {
#ifdef RD_HAVE_OPENBLAS
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, out, batch, 1.0f, xin, in,
                        dcur, out, 0.0f, gW, out);
#endif
        } else if (out >= 16) {
            /* dW = X^T D through the register-blocked kernel: transposing X costs batch x in
             * moves, the product batch x in x out multiply-adds. */
            nn__transpose(xin, batch, in, wt);
            nn__gemm_native(in, out, batch, wt, dcur, gW, 0);
        } else {
            /* Few outputs (the action layer): dW^T = D^T X keeps the long dimension in the
             * vector lanes; then transpose the small result. */
            nn__transpose(dcur, batch, out, wt);
            nn__gemm_native(out, in, batch, wt, xin, tmp, 0);
            nn__transpose(tmp, out, in, gW);
        }
        if (l == 0) break;

        /* dprev = dcur W^T, then through the ReLU of layer l-1. */
        if (blas) {
#ifdef RD_HAVE_OPENBLAS
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, in, out, 1.0f, dcur, out, W,
                        out, 0.0f, dprev, in);
#endif
        } else {
            nn__transpose(W, in, out, wt);
            nn__gemm_native(batch, in, out, dcur, wt, dprev, 0);
        }
        nn__relu_mask(dprev, xin, (size_t)batch * in);
        float *t = dcur;
        dcur = dprev;
        dprev = t;
    }
}

float nn_huber(const float *pred, const float *target, int n, float delta, float *dpred) {
    double loss = 0.0;
    float inv = 1.0f / (float)n;
    for (int i = 0; i < n; i++) {
        float d = pred[i] - target[i];
        float ad = fabsf(d);
        if (ad <= delta) {
            loss += 0.5 * (double)d * d;
            dpred[i] = d * inv;
        } else {
            loss += (double)delta * (ad - 0.5 * delta);
            dpred[i] = (d > 0 ? delta : -delta) * inv;
        }
    }
    return (float)(loss / n);
}

/* Sum of squares in 16 float lanes (vectorised, deterministic for a given n), added up in
 * double at the end. */
NN_CLONES
static double nn__sumsq(const float *g, size_t n) {
    nn_v16 acc[4] = {{0}, {0}, {0}, {0}};
    size_t i = 0;
    for (; i + 64 <= n; i += 64)
        for (int u = 0; u < 4; u++) {
            nn_v16 v;
            NN_LOAD(v, g + i + 16 * u);
            acc[u] += v * v;
        }
    double sq = 0.0;
    for (int u = 0; u < 4; u++)
        for (int q = 0; q < 16; q++) sq += acc[u][q];
    for (; i < n; i++) sq += (double)g[i] * g[i];
    return sq;
}

float nn_clip_grad_norm(float *g, size_t n, float max_norm) {
    float norm = (float)sqrt(nn__sumsq(g, n));
    if (max_norm > 0.0f && norm > max_norm) {
        float scale = max_norm / (norm + 1e-6f);
        for (size_t i = 0; i < n; i++) g[i] *= scale;
    }
    return norm;
}

/* The Adam loop with intrinsics: GCC will not vectorise sqrtf under the default
 * -fmath-errno (and ignores optimize attributes on multiversioned functions), so the
 * loop is written for AVX-512 and for SSE (every x86-64 has SSE), picked at run time. */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f"))) static void nn__adam_avx512(float *p, const float *g, float *m,
                                                               float *v, size_t n, float lr_t,
                                                               float b1, float b2, float eps_t) {
    __m512 vb1 = _mm512_set1_ps(b1), vb2 = _mm512_set1_ps(b2);
    __m512 vc1 = _mm512_set1_ps(1.0f - b1), vc2 = _mm512_set1_ps(1.0f - b2);
    __m512 vlr = _mm512_set1_ps(lr_t), veps = _mm512_set1_ps(eps_t);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 gv = _mm512_loadu_ps(g + i);
        __m512 mv =
            _mm512_add_ps(_mm512_mul_ps(vb1, _mm512_loadu_ps(m + i)), _mm512_mul_ps(vc1, gv));
        __m512 vv = _mm512_add_ps(_mm512_mul_ps(vb2, _mm512_loadu_ps(v + i)),
                                  _mm512_mul_ps(_mm512_mul_ps(vc2, gv), gv));
        _mm512_storeu_ps(m + i, mv);
        _mm512_storeu_ps(v + i, vv);
        __m512 den = _mm512_add_ps(_mm512_sqrt_ps(vv), veps);
        __m512 pv =
            _mm512_sub_ps(_mm512_loadu_ps(p + i), _mm512_div_ps(_mm512_mul_ps(vlr, mv), den));
        _mm512_storeu_ps(p + i, pv);
    }
    for (; i < n; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        p[i] -= lr_t * m[i] / (__builtin_sqrtf(v[i]) + eps_t);
    }
}
#endif

static void nn__adam_kernel(float *p, const float *g, float *m, float *v, size_t n, float lr_t,
                            float b1, float b2, float eps_t) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f")) {
        nn__adam_avx512(p, g, m, v, n, lr_t, b1, b2, eps_t);
        return;
    }
    __m128 vb1 = _mm_set1_ps(b1), vb2 = _mm_set1_ps(b2);
    __m128 vc1 = _mm_set1_ps(1.0f - b1), vc2 = _mm_set1_ps(1.0f - b2);
    __m128 vlr = _mm_set1_ps(lr_t), veps = _mm_set1_ps(eps_t);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128 gv = _mm_loadu_ps(g + i);
        __m128 mv = _mm_add_ps(_mm_mul_ps(vb1, _mm_loadu_ps(m + i)), _mm_mul_ps(vc1, gv));
        __m128 vv =
            _mm_add_ps(_mm_mul_ps(vb2, _mm_loadu_ps(v + i)), _mm_mul_ps(_mm_mul_ps(vc2, gv), gv));
        _mm_storeu_ps(m + i, mv);
        _mm_storeu_ps(v + i, vv);
        __m128 den = _mm_add_ps(_mm_sqrt_ps(vv), veps);
        _mm_storeu_ps(p + i, _mm_sub_ps(_mm_loadu_ps(p + i), _mm_div_ps(_mm_mul_ps(vlr, mv), den)));
    }
#else
    size_t i = 0;
#endif
    for (; i < n; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        p[i] -= lr_t * m[i] / (sqrtf(v[i]) + eps_t);
    }
}

void nn_adam_step(nn_adam *a, float *params, const float *grads, float *m, float *v, size_t n) {
    a->t++;
    /* PyTorch's form: p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps), folded so that the loop
     * does one division: lr_t = lr sqrt(bc2) / bc1, eps_t = eps sqrt(bc2). */
    double bc1 = 1.0 - pow(a->beta1, (double)a->t);
    double bc2 = 1.0 - pow(a->beta2, (double)a->t);
    float lr_t = (float)(a->lr * sqrt(bc2) / bc1);
    float eps_t = (float)(a->eps * sqrt(bc2));
    nn__adam_kernel(params, grads, m, v, n, lr_t, a->beta1, a->beta2, eps_t);
}

void nn_polyak(float *target, const float *online, size_t n, float tau) {
    for (size_t i = 0; i < n; i++) target[i] += tau * (online[i] - target[i]);
}
