/* common/nn.c — see nn.h. */
#include "common/nn.h"

#include <dlfcn.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define NN_X86 1
#endif

/* The kernels are compiled for AVX-512, AVX2+FMA and plain x86-64, and the loader picks
 * the best the CPU has (GCC function multiversioning): the build uses no -march flag, so
 * the binaries run on any x86-64, yet the hot loops use the wide units where they exist. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NN_CLONES __attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))
#else
#define NN_CLONES
#endif

/* ---- Backend ---- */

static nn_backend nn_current = NN_BACKEND_NATIVE;

/* OpenBLAS is loaded when first asked for (the benchmark's comparison, a test), not linked:
 * linked, its thread pool would start with every program — the trainer, the server — and
 * poll a core the demo needs while the native kernels do all the work. */
nn_sgemm_fn nn_blas_sgemm(void) {
    static bool tried;
    static nn_sgemm_fn fn;
    if (!tried) {
        tried = true;
        /* Single-threaded, as the comparison is one core against one core; read by
         * OpenBLAS's constructor, so it must be set before the library loads. */
        setenv("OPENBLAS_NUM_THREADS", "1", 0);
        void *h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
        if (h) *(void **)&fn = dlsym(h, "cblas_sgemm");
    }
    return fn;
}

int nn_set_backend(nn_backend b) {
    if (b == NN_BACKEND_BLAS && !nn_blas_sgemm()) return -1;
    nn_current = b;
    return 0;
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
    s->dueling = 0;
    return 0;
}

int nn_shape_init_dueling(nn_shape *s, int in, const int *hidden, int n_hidden, int out) {
    if (nn_shape_init(s, in, hidden, n_hidden, out + 1) != 0) return -1;
    s->dueling = 1;
    return 0;
}

int nn_outputs(const nn_shape *s) {
    return s->sizes[s->n_layers] - s->dueling;
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
    if (s->dueling) n += (size_t)batch * (size_t)nn_outputs(s);
    return n;
}

static size_t nn__acts_offset(const nn_shape *s, int layer, int batch) {
    size_t n = 0;
    for (int l = 1; l <= layer; l++) n += (size_t)batch * (size_t)s->sizes[l];
    return n;
}

float *nn_output(const nn_shape *s, float *acts, int batch) {
    /* The last layer's units, or with dueling heads the outputs combined after them. */
    return acts + nn__acts_offset(s, s->n_layers - 1 + s->dueling, batch);
}

size_t nn_scratch_size(const nn_shape *s, int batch) {
    /* two gradient buffers, W transposed, a transposed dW, and the sparse dW's row lists
     * (ints) */
    size_t w = (size_t)nn_max_width(s), bw = (size_t)batch * w;
    return 3 * bw + 2 * w * w;
}

void nn_init_params(const nn_shape *s, float *params, rng_t *rng) {
    nn_init_layers(s, params, 0, rng);
}

void nn_init_layers(const nn_shape *s, float *params, int from, rng_t *rng) {
    for (int l = from; l < s->n_layers; l++) {
        int in = s->sizes[l], out = s->sizes[l + 1];
        float *w = params + nn_weight_offset(s, l);
        float bound = sqrtf(6.0f / (float)in);
        for (size_t i = 0; i < (size_t)in * (size_t)out; i++)
            w[i] = (2.0f * rng_float(rng) - 1.0f) * bound;
        memset(params + nn_bias_offset(s, l), 0, sizeof(float) * (size_t)out);
    }
}

/* ---- Native kernels ---- */

/* Hides x's value from the optimiser, at no cost: where a product must not be fused with
 * the addition that follows (the Polyak blend rounds its product and its sum separately on
 * every CPU, as SSE, having no fused multiply-add, does), and where a lane-by-lane copy
 * must not be turned into a call to memcpy. */
#ifdef NN_X86
#define NN_OPAQUE(x)   __asm__("" : "+x"(x))
#define NN_OPAQUE_V(x) __asm__("" : "+v"(x))
#else
#define NN_OPAQUE(x)
#define NN_OPAQUE_V(x)
#endif

typedef float nn_v16 __attribute__((vector_size(64)));
typedef int32_t nn_vi16 __attribute__((vector_size(64)));
typedef float nn_v8 __attribute__((vector_size(32)));
typedef int32_t nn_vi8 __attribute__((vector_size(32)));

/* The register-blocked kernels below are written once, as macros over a vector type NN_VT
 * of NN_VW floats (and NN_VIT, its integer twin), and defined twice: 16 wide for AVX-512
 * (32 vector registers: blocks of 4 rows x 4 vectors) and 8 wide for AVX2 + FMA and plain
 * x86-64 (16 registers: 4 rows x 2 vectors). One 16-wide source compiled for AVX2 keeps
 * 16 accumulators of two registers each, spills them on every step and ran 15x slower
 * than OpenBLAS on an AVX2 machine (docs/design/learner.md); nn__wide() picks the set. */

/* Unaligned vector load and store as macros: a function returning a 64-byte vector would
 * change the calling convention between the multiversioned clones (GCC -Wpsabi). */
#define NN_LOAD(v, p)  memcpy(&(v), (p), sizeof(NN_VT))
#define NN_STORE(p, v) memcpy((p), &(v), sizeof(NN_VT))
/* max(x, 0) as the scalar `x > 0 ? x : 0` computes it (NaN and -0 give +0). */
#define NN_RELU_V(x) ((NN_VT)((NN_VIT)(x) & (NN_VIT)((x) > (NN_VT){0})))

/* How a product's sums start and how they are stored. The bias is the start of the sum, not
 * added at the end, so the forward pass rounds as "copy b, then C += x W" does. */
typedef struct {
    const float *bias; /* start from this row (n floats) unless accumulating; else from 0 */
    const float *gate; /* store only where gate (laid out as C) > 0, else 0: the ReLU's
                        * derivative applied to dX in the backward pass */
    bool accumulate;   /* start from C's current values */
    bool relu;         /* store max(sum, 0) */
} nn__epi;

#define NN_START(v, cp, bp)                                                                        \
    do {                                                                                           \
        if (e.accumulate)                                                                          \
            NN_LOAD(v, cp);                                                                        \
        else if (e.bias)                                                                           \
            NN_LOAD(v, bp);                                                                        \
        else                                                                                       \
            v = (NN_VT){0};                                                                        \
    } while (0)

/* The epilogue on a vector of sums x whose gate values are at gp. */
#define NN_FINISH_V(x, gp)                                                                         \
    do {                                                                                           \
        if (e.relu) x = NN_RELU_V(x);                                                              \
        if (e.gate) {                                                                              \
            NN_VT g_;                                                                              \
            NN_LOAD(g_, gp);                                                                       \
            x = (NN_VT)((NN_VIT)(x) & (NN_VIT)(g_ > (NN_VT){0}));                                  \
        }                                                                                          \
    } while (0)
/* ... and on one sum y with gate value at gp. */
#define NN_FINISH(y, gp) ((e.relu && !((y) > 0.0f)) || (e.gate && !(*(gp) > 0.0f)) ? 0.0f : (y))

/* Rows [i, i+R) x columns [j, j+NN_VW*V) of C = start + A B, accumulators in registers. R and
 * V are compile-time constants at every use, so the loops unroll fully. A_AT(r, p) is A's
 * element at row i+r, column p: A row-major (NN) or stored transposed (TN), so that
 * dW = X^T D needs no transposed copy of X. */
#define NN_BLOCK(R, V, A_AT)                                                                       \
    do {                                                                                           \
        NN_VT acc[R][V];                                                                           \
        for (int r = 0; r < R; r++)                                                                \
            for (int v = 0; v < V; v++)                                                            \
                NN_START(acc[r][v], c + (size_t)(i + r) * n + j + NN_VW * v,                       \
                         e.bias + j + NN_VW * v);                                                  \
        for (int p = 0; p < k; p++) {                                                              \
            NN_VT bv[V];                                                                           \
            for (int v = 0; v < V; v++) NN_LOAD(bv[v], b + (size_t)p * n + j + NN_VW * v);         \
            for (int r = 0; r < R; r++) {                                                          \
                float av = A_AT(r, p);                                                             \
                for (int v = 0; v < V; v++) acc[r][v] += av * bv[v];                               \
            }                                                                                      \
        }                                                                                          \
        for (int r = 0; r < R; r++)                                                                \
            for (int v = 0; v < V; v++) {                                                          \
                size_t at = (size_t)(i + r) * n + j + NN_VW * v;                                   \
                NN_FINISH_V(acc[r][v], e.gate + at);                                               \
                NN_STORE(c + at, acc[r][v]);                                                       \
            }                                                                                      \
    } while (0)

/* Rows [i, i+R) of C, the last `rest` (< 16) columns, from the zero-padded k x 16 copy of
 * B's last columns. Sums start at zero and the start value is added at the end. */
#define NN_PACKED(R, A_AT)                                                                         \
    do {                                                                                           \
        NN_VT acc[R];                                                                              \
        for (int r = 0; r < R; r++) acc[r] = (NN_VT){0};                                           \
        for (int p = 0; p < k; p++) {                                                              \
            NN_VT bv;                                                                              \
            NN_LOAD(bv, pack + (size_t)p * NN_VW);                                                 \
            for (int r = 0; r < R; r++) acc[r] += A_AT(r, p) * bv;                                 \
        }                                                                                          \
        for (int r = 0; r < R; r++) {                                                              \
            float out[NN_VW];                                                                      \
            NN_STORE(out, acc[r]);                                                                 \
            size_t at = (size_t)(i + r) * n + j;                                                   \
            for (int q = 0; q < rest; q++) {                                                       \
                float y = e.accumulate ? c[at + q] + out[q]                                        \
                          : e.bias     ? e.bias[j + q] + out[q]                                    \
                                       : out[q];                                                       \
                NN_OPAQUE(y); /* or the copy becomes a call to memcpy */                           \
                c[at + q] = NN_FINISH(y, e.gate + at + q);                                         \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* C (m x n) = start + A B, then max(., 0) when relu. Columns that do not fill a 16-wide
 * vector are packed, zero-padded, into a k x 16 block on the stack so that the output
 * layer (6 actions) runs through the same vector code instead of a scalar loop. */
#define NN_GEMM_BODY(A_AT)                                                                         \
    int j = 0;                                                                                     \
    /* A product of one to three rows (acting on one observation): eight accumulators per row      \
     * hide the FMA latency that four would not. */                                                \
    if (m < 4)                                                                                     \
        for (; j + 8 * NN_VW <= n; j += 8 * NN_VW)                                                 \
            for (int i = 0; i < m; i++) NN_BLOCK(1, 8, A_AT);                                      \
    for (; j + NN_MAIN_V * NN_VW <= n; j += NN_MAIN_V * NN_VW) {                                   \
        int i = 0;                                                                                 \
        for (; i + NN_MAIN_R <= m; i += NN_MAIN_R) NN_BLOCK(NN_MAIN_R, NN_MAIN_V, A_AT);           \
        for (; i < m; i++) NN_BLOCK(1, NN_MAIN_V, A_AT);                                           \
    }                                                                                              \
    for (; j + NN_VW <= n; j += NN_VW) {                                                           \
        int i = 0;                                                                                 \
        for (; i + 4 <= m; i += 4) NN_BLOCK(4, 1, A_AT);                                           \
        for (; i < m; i++) NN_BLOCK(1, 1, A_AT);                                                   \
    }                                                                                              \
    if (j == n) return;                                                                            \
    int rest = n - j;                                                                              \
    if (k <= 1024) {                                                                               \
        float pack[(size_t)k * NN_VW];                                                             \
        for (int p = 0; p < k; p++) {                                                              \
            NN_VT row = {0};                                                                       \
            for (int q = 0; q < rest; q++) {                                                       \
                float bq = b[(size_t)p * n + j + q];                                               \
                NN_OPAQUE(bq); /* or the copy loop becomes a call to memcpy */                     \
                row[q] = bq;                                                                       \
            }                                                                                      \
            NN_STORE(pack + (size_t)p * NN_VW, row);                                               \
        }                                                                                          \
        /* Eight rows at once: eight independent FMA chains hide the FMA latency. */               \
        int i = 0;                                                                                 \
        for (; i + 8 <= m; i += 8) NN_PACKED(8, A_AT);                                             \
        for (; i < m; i++) NN_PACKED(1, A_AT);                                                     \
        return;                                                                                    \
    }                                                                                              \
    for (int i = 0; i < m; i++)                                                                    \
        for (int q = j; q < n; q++) {                                                              \
            float sum = e.accumulate ? c[(size_t)i * n + q] : e.bias ? e.bias[q] : 0.0f;           \
            for (int p = 0; p < k; p++) sum += A_AT(0, p) * b[(size_t)p * n + q];                  \
            c[(size_t)i * n + q] = NN_FINISH(sum, e.gate + (size_t)i * n + q);                     \
        }

/* A's element at row i+r, column p: A row-major (NN: C = A B) or stored transposed (TN:
 * C = A^T B with A stored k x m, the weight gradient's dW = X^T D). */
#define NN_A_NN(r, p) a[(size_t)(i + (r)) * k + (p)]
#define NN_A_TN(r, p) a[(size_t)(p)*m + i + (r)]

static void nn__gemm_tn(int m, int n, int k, const float *a, const float *b, float *c, nn__epi e);

/* Writes to idx, in order, the indices i < n where any of the `rows` rows of x (stride
 * floats apart) is nonzero, and returns their count. idx must hold n + 16 ints: the vector
 * version stores 16 at a time. */
#ifdef NN_X86
__attribute__((target("avx512f"))) static int nn__nonzeros_avx512(const float *x, int rows,
                                                                  size_t stride, int n, int *idx) {
    __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i sixteen = _mm512_set1_epi32(16);
    int cnt = 0;
    for (int i = 0; i < n; i += 16) {
        __mmask16 live = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __mmask16 nz = 0;
        for (int r = 0; r < rows; r++) {
            __m512 v = _mm512_maskz_loadu_ps(live, x + r * stride + i); /* masked: no fault */
            /* "not equal, unordered": NaN counts as nonzero, -0 as zero, like x != 0.0f */
            nz |= _mm512_mask_cmp_ps_mask(live, v, _mm512_setzero_ps(), _CMP_NEQ_UQ);
        }
        /* the register form: compress-to-memory is microcoded and slow on AMD */
        _mm512_storeu_si512(idx + cnt, _mm512_maskz_compress_epi32(nz, iota));
        cnt += __builtin_popcount(nz);
        iota = _mm512_add_epi32(iota, sixteen);
    }
    return cnt;
}
#endif

static int nn__nonzeros(const float *x, int rows, size_t stride, int n, int *idx) {
#ifdef NN_X86
    if (__builtin_cpu_supports("avx512f")) return nn__nonzeros_avx512(x, rows, stride, n, idx);
#endif
    int cnt = 0;
    for (int i = 0; i < n; i++) { /* branch-free: where the zeros fall is random */
        bool any = false;
        for (int r = 0; r < rows; r++) any |= x[r * stride + i] != 0.0f;
        idx[cnt] = i;
        cnt += any;
    }
    return cnt;
}

/* Rows [r0, r0+R) x columns [j, j+16*V) of Y = b + X W, summed over the inputs listed in
 * cols[0..ncols): the union of the R rows' nonzero inputs. Each W row is loaded once for
 * all R rows (the loads from L2, not the multiply-adds, bound this layer); a row whose
 * input is zero there adds x * w = 0, which changes no sum. */
#define NN_SPARSE_BLOCK(R, V)                                                                      \
    do {                                                                                           \
        NN_VT acc[R][V];                                                                           \
        for (int r = 0; r < R; r++)                                                                \
            for (int v = 0; v < V; v++) NN_LOAD(acc[r][v], bias + j + NN_VW * v);                  \
        for (int q = 0; q < ncols; q++) {                                                          \
            const float *wr = w + (size_t)cols[q] * out + j;                                       \
            NN_VT wv[V];                                                                           \
            for (int v = 0; v < V; v++) NN_LOAD(wv[v], wr + NN_VW * v);                            \
            for (int r = 0; r < R; r++) {                                                          \
                float xv = x[(size_t)(r0 + r) * in + cols[q]];                                     \
                for (int v = 0; v < V; v++) acc[r][v] += xv * wv[v];                               \
            }                                                                                      \
        }                                                                                          \
        for (int r = 0; r < R; r++)                                                                \
            for (int v = 0; v < V; v++) {                                                          \
                if (relu) acc[r][v] = NN_RELU_V(acc[r][v]);                                        \
                NN_STORE(y + (size_t)(r0 + r) * out + j + NN_VW * v, acc[r][v]);                   \
            }                                                                                      \
    } while (0)

/* Y (batch x out) = b + X W over the nonzero entries of X only, four rows at a time (one
 * row when fewer are left). Gives the dense product's sums for any X, in the same order;
 * fast when X is mostly zeros (the one-hot observation). */
#define NN_SPARSE_AFFINE_BODY                                                                      \
    int cols[in + 16];                                                                             \
    for (int r0 = 0; r0 < batch;) {                                                                \
        int R = batch - r0 >= 4 ? 4 : 1;                                                           \
        int ncols = nn__nonzeros(x + (size_t)r0 * in, R, (size_t)in, in, cols);                    \
        int j = 0;                                                                                 \
        if (R == 1) {                                                                              \
            for (; j + 8 * NN_VW <= out; j += 8 * NN_VW) NN_SPARSE_BLOCK(1, 8);                    \
            for (; j + NN_VW <= out; j += NN_VW) NN_SPARSE_BLOCK(1, 1);                            \
        } else {                                                                                   \
            for (; j + NN_MAIN_V * NN_VW <= out; j += NN_MAIN_V * NN_VW)                           \
                NN_SPARSE_BLOCK(4, NN_MAIN_V);                                                     \
            for (; j + NN_VW <= out; j += NN_VW) NN_SPARSE_BLOCK(4, 1);                            \
        }                                                                                          \
        for (int r = 0; r < R; r++)                                                                \
            for (int jj = j; jj < out; jj++) {                                                     \
                float sum = bias[jj];                                                              \
                for (int q = 0; q < ncols; q++)                                                    \
                    sum += x[(size_t)(r0 + r) * in + cols[q]] * w[(size_t)cols[q] * out + jj];     \
                y[(size_t)(r0 + r) * out + jj] = relu && !(sum > 0.0f) ? 0.0f : sum;               \
            }                                                                                      \
        r0 += R;                                                                                   \
    }

/* Columns [j, j+16*V) of dW's row i: the sum over the batch rows ri[0..cnt) where input i
 * is nonzero of x[row][i] * D[row], in registers. */
#define NN_DW_ROW(V)                                                                               \
    do {                                                                                           \
        NN_VT acc[V];                                                                              \
        for (int v = 0; v < V; v++) acc[v] = (NN_VT){0};                                           \
        for (int q = 0; q < cnt; q++) {                                                            \
            float xv = x[(size_t)ri[q] * in + i];                                                  \
            const float *dr = d + (size_t)ri[q] * out + j;                                         \
            for (int v = 0; v < V; v++) {                                                          \
                NN_VT dv;                                                                          \
                NN_LOAD(dv, dr + NN_VW * v);                                                       \
                acc[v] += xv * dv;                                                                 \
            }                                                                                      \
        }                                                                                          \
        for (int v = 0; v < V; v++) NN_STORE(dw + (size_t)i * out + j + NN_VW * v, acc[v]);        \
    } while (0)

/* dW (in x out) = X^T D over the nonzero entries of X. The batch rows where each input is
 * nonzero are listed first (`rows`: in x batch ints of scratch), then each row of dW is
 * summed in registers over them, in batch order as the dense product sums, and stored once
 * instead of being read and written back for every nonzero. Inputs nonzero in every row
 * (the meters) are a dense block instead: gathered into xd (batch x in floats of scratch),
 * their rows of dW come from the register-blocked product (into tmp, in x out), which
 * reads each row of D once for four inputs rather than once for each — the same sums in
 * the same order. */
#define NN_SPARSE_TN_BODY                                                                          \
    int idx[in + 16], n_rows[in], dense[in], nd = 0;                                               \
    memset(n_rows, 0, sizeof n_rows);                                                              \
    for (int r = 0; r < batch; r++) {                                                              \
        int nnz = nn__nonzeros(x + (size_t)r * in, 1, 0, in, idx);                                 \
        for (int q = 0; q < nnz; q++) rows[(size_t)idx[q] * batch + n_rows[idx[q]]++] = r;         \
    }                                                                                              \
    for (int i = 0; i < in; i++)                                                                   \
        if (n_rows[i] == batch) dense[nd++] = i;                                                   \
    if (nd < 4) nd = 0; /* too few to pay for the gathering */                                     \
    if (nd > 0) {                                                                                  \
        for (int r = 0; r < batch; r++)                                                            \
            for (int q = 0; q < nd; q++) xd[(size_t)r * nd + q] = x[(size_t)r * in + dense[q]];    \
        nn__gemm_tn(nd, out, batch, xd, d, tmp, (nn__epi){0});                                     \
        for (int q = 0; q < nd; q++)                                                               \
            memcpy(dw + (size_t)dense[q] * out, tmp + (size_t)q * out,                             \
                   sizeof(float) * (size_t)out);                                                   \
    }                                                                                              \
    for (int i = 0; i < in; i++) {                                                                 \
        if (nd > 0 && n_rows[i] == batch) continue;                                                \
        const int *ri = rows + (size_t)i * batch;                                                  \
        int cnt = n_rows[i], j = 0;                                                                \
        for (; j + 8 * NN_VW <= out; j += 8 * NN_VW) NN_DW_ROW(8);                                 \
        for (; j + NN_VW <= out; j += NN_VW) NN_DW_ROW(1);                                         \
        for (; j < out; j++) {                                                                     \
            float sum = 0.0f;                                                                      \
            for (int q = 0; q < cnt; q++)                                                          \
                sum += x[(size_t)ri[q] * in + i] * d[(size_t)ri[q] * out + j];                     \
            dw[(size_t)i * out + j] = sum;                                                         \
        }                                                                                          \
    }

/* The kernels, defined for each vector width (see NN_VT above). The 16-wide set is the
 * AVX-512 clone's code as it was before the 8-wide one existed, so a machine with AVX-512
 * computes the same bits as before. */
#define NN_KERNELS(SUF, TARGET)                                                                    \
    TARGET static void nn__gemm_nn_##SUF(int m, int n, int k, const float *a, const float *b,      \
                                         float *c, nn__epi e){NN_GEMM_BODY(                        \
        NN_A_NN)} TARGET static void nn__gemm_tn_##SUF(int m, int n, int k, const float *a,        \
                                                       const float *b, float *c, nn__epi e){       \
        NN_GEMM_BODY(NN_A_TN)} TARGET static void nn__sparse_affine_##SUF(int batch, int in,       \
                                                                          int out, const float *x, \
                                                                          const float *w,          \
                                                                          const float *bias,       \
                                                                          bool relu, float *y){    \
        NN_SPARSE_AFFINE_BODY} TARGET static void nn__sparse_tn_##SUF(int batch, int in, int out,  \
                                                                      const float *x,              \
                                                                      const float *d, float *dw,   \
                                                                      int *rows, float *xd,        \
                                                                      float *tmp) {                \
        NN_SPARSE_TN_BODY                                                                          \
    }

#ifdef NN_X86
#define NN_VT     nn_v16
#define NN_VIT    nn_vi16
#define NN_VW     16
#define NN_MAIN_V 4
#define NN_MAIN_R 4
NN_KERNELS(w16, __attribute__((target("avx512f"))))
#undef NN_VT
#undef NN_VIT
#undef NN_VW
#undef NN_MAIN_V
#undef NN_MAIN_R
#endif

#define NN_VT     nn_v8
#define NN_VIT    nn_vi8
#define NN_VW     8
#define NN_MAIN_V 2
#define NN_MAIN_R 6
NN_KERNELS(w8, NN_CLONES)
#undef NN_VT
#undef NN_VIT
#undef NN_VW
#undef NN_MAIN_V
#undef NN_MAIN_R

/* Whether the 16-wide kernels run here (AVX-512), decided once. */
static bool nn__wide(void) {
#ifdef NN_X86
    static int wide = -1;
    if (wide < 0) wide = __builtin_cpu_supports("avx512f") ? 1 : 0;
    return wide == 1;
#else
    return false;
#endif
}

/* fn's 16-wide kernel where nn__wide(), else its 8-wide one. */
#ifdef NN_X86
#define NN_WIDTH_CALL(fn, ...)                                                                     \
    do {                                                                                           \
        if (nn__wide())                                                                            \
            fn##_w16(__VA_ARGS__);                                                                 \
        else                                                                                       \
            fn##_w8(__VA_ARGS__);                                                                  \
    } while (0)
#else
#define NN_WIDTH_CALL(fn, ...) fn##_w8(__VA_ARGS__)
#endif

static void nn__gemm_nn(int m, int n, int k, const float *a, const float *b, float *c, nn__epi e) {
    NN_WIDTH_CALL(nn__gemm_nn, m, n, k, a, b, c, e);
}

static void nn__gemm_tn(int m, int n, int k, const float *a, const float *b, float *c, nn__epi e) {
    NN_WIDTH_CALL(nn__gemm_tn, m, n, k, a, b, c, e);
}

static void nn__sparse_affine(int batch, int in, int out, const float *x, const float *w,
                              const float *bias, bool relu, float *y) {
    NN_WIDTH_CALL(nn__sparse_affine, batch, in, out, x, w, bias, relu, y);
}

static void nn__sparse_tn(int batch, int in, int out, const float *x, const float *d, float *dw,
                          int *rows, float *xd, float *tmp) {
    NN_WIDTH_CALL(nn__sparse_tn, batch, in, out, x, d, dw, rows, xd, tmp);
}

/* dst[j * ldd + i] = src[i * lds + j] for i in [i0, i1), j in [j0, j1): the edges. */
static void nn__transpose_part(const float *src, size_t lds, float *dst, size_t ldd, int i0, int i1,
                               int j0, int j1) {
    for (int j = j0; j < j1; j++)
        for (int i = i0; i < i1; i++) dst[(size_t)j * ldd + i] = src[(size_t)i * lds + j];
}

#ifdef NN_X86
/* 16 x 16 blocks in AVX-512 registers: 32-bit, 64-bit, then 128-bit lane interleaves (64
 * shuffles for 256 floats), each block's rows stored whole. */
__attribute__((target("avx512f"))) static void nn__transpose_avx512(const float *src, int rows,
                                                                    int cols, float *dst) {
    int r16 = rows & ~15, c16 = cols & ~15;
    for (int j0 = 0; j0 < c16; j0 += 16)
        for (int i0 = 0; i0 < r16; i0 += 16) {
            __m512 r[16], t[16];
            for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + (size_t)(i0 + i) * cols + j0);
            for (int i = 0; i < 16; i += 2) {
                t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
                t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
            }
            for (int i = 0; i < 16; i += 4) {
                __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]);
                __m512d c = _mm512_castps_pd(t[i + 2]), d = _mm512_castps_pd(t[i + 3]);
                r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
                r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
                r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
                r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
            }
            /* r[4g + k], 128-bit lane L, now holds rows 4g..4g+3 of column 4L + k */
            for (int k = 0; k < 4; k++) {
                t[k] = _mm512_shuffle_f32x4(r[k], r[4 + k], 0x88);
                t[4 + k] = _mm512_shuffle_f32x4(r[k], r[4 + k], 0xdd);
                t[8 + k] = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0x88);
                t[12 + k] = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0xdd);
            }
            for (int k = 0; k < 4; k++) {
                r[k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0x88);
                r[8 + k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0xdd);
                r[4 + k] = _mm512_shuffle_f32x4(t[4 + k], t[12 + k], 0x88);
                r[12 + k] = _mm512_shuffle_f32x4(t[4 + k], t[12 + k], 0xdd);
            }
            for (int j = 0; j < 16; j++) _mm512_storeu_ps(dst + (size_t)(j0 + j) * rows + i0, r[j]);
        }
    nn__transpose_part(src, (size_t)cols, dst, (size_t)rows, r16, rows, 0, cols);
    nn__transpose_part(src, (size_t)cols, dst, (size_t)rows, 0, r16, c16, cols);
}
#endif

/* dst (cols x rows) = src (rows x cols) transposed. With AVX-512, 16 x 16 blocks in
 * registers; else 4 x 4 blocks through SSE registers (every x86-64 has SSE), the edges one
 * by one. The blocks go along dst's rows, so that the stores stream and the scattered
 * accesses are loads (measured: column-wise stores made the transpose of a 128 x 128 W
 * four times slower). */
static void nn__transpose(const float *src, int rows, int cols, float *dst) {
    int j = 0;
#ifdef NN_X86
    if (__builtin_cpu_supports("avx512f")) {
        nn__transpose_avx512(src, rows, cols, dst);
        return;
    }
    for (; j + 4 <= cols; j += 4) {
        int i = 0;
        for (; i + 4 <= rows; i += 4) {
            __m128 r0 = _mm_loadu_ps(src + (size_t)i * cols + j);
            __m128 r1 = _mm_loadu_ps(src + (size_t)(i + 1) * cols + j);
            __m128 r2 = _mm_loadu_ps(src + (size_t)(i + 2) * cols + j);
            __m128 r3 = _mm_loadu_ps(src + (size_t)(i + 3) * cols + j);
            _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
            _mm_storeu_ps(dst + (size_t)j * rows + i, r0);
            _mm_storeu_ps(dst + (size_t)(j + 1) * rows + i, r1);
            _mm_storeu_ps(dst + (size_t)(j + 2) * rows + i, r2);
            _mm_storeu_ps(dst + (size_t)(j + 3) * rows + i, r3);
        }
        nn__transpose_part(src, (size_t)cols, dst, (size_t)rows, i, rows, j, j + 4);
    }
#endif
    nn__transpose_part(src, (size_t)cols, dst, (size_t)rows, 0, rows, j, cols);
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
    if (nn_current == NN_BACKEND_BLAS) {
        nn_blas_sgemm()(NN_CBLAS_ROW_MAJOR, NN_CBLAS_NO_TRANS, NN_CBLAS_NO_TRANS, m, n, k, 1.0f, a,
                        k, b, n, accumulate ? 1.0f : 0.0f, c, n);
        return;
    }
    nn__gemm_nn(m, n, k, a, b, c, (nn__epi){.accumulate = accumulate});
}

void nn_gemm_tn(int m, int n, int k, const float *a, const float *b, float *c) {
    nn__gemm_tn(m, n, k, a, b, c, (nn__epi){0});
}

/* Fraction of zeros in x above which the sparse loops beat a dense product. Measured on
 * the level 1 observation (about 10 nonzeros of 87); dense inputs take the gemm. Both give
 * the same sums (a zero input adds nothing, and the order is the same), so the choice is
 * one of speed only, and the first row decides it for the batch. */
NN_CLONES
static bool nn__mostly_zero(const float *x, size_t n) {
    size_t nz = 0;
    for (size_t i = 0; i < n; i++) nz += x[i] != 0.0f;
    return nz * 4 < n;
}

/* Dueling heads: q = V + A - mean(A) per row, from the last layer's units h = (V, A). */
static void nn__dueling_forward(int batch, int n, const float *h, float *q) {
    for (int r = 0; r < batch; r++, h += n + 1, q += n) {
        float mean = 0.0f;
        for (int a = 0; a < n; a++) mean += h[1 + a];
        mean /= (float)n;
        for (int a = 0; a < n; a++) q[a] = h[0] + (h[1 + a] - mean);
    }
}

/* ... and back: dV = sum of dQ, dA_a = dQ_a - mean(dQ) (each A_b enters every Q_a through
 * the mean). */
static void nn__dueling_backward(int batch, int n, const float *dq, float *dh) {
    for (int r = 0; r < batch; r++, dq += n, dh += n + 1) {
        float sum = 0.0f;
        for (int a = 0; a < n; a++) sum += dq[a];
        dh[0] = sum;
        for (int a = 0; a < n; a++) dh[1 + a] = dq[a] - sum / (float)n;
    }
}

void nn_forward(const nn_shape *s, const float *params, const float *x, int batch, float *acts) {
    const float *in_act = x;
    float *out_act = acts;
    for (int l = 0; l < s->n_layers; l++) {
        int in = s->sizes[l], out = s->sizes[l + 1];
        const float *w = params + nn_weight_offset(s, l);
        const float *b = params + nn_bias_offset(s, l);
        bool relu = l < s->n_layers - 1;
        /* Only the input can be sparse enough to pay: ReLU layers keep about half their
         * units, and the sparse kernel (no register reuse of W across rows) was measured
         * slower than the dense product at that density. */
        if (l == 0 && nn__mostly_zero(in_act, (size_t)in)) {
            nn__sparse_affine(batch, in, out, in_act, w, b, relu, out_act);
        } else if (nn_current == NN_BACKEND_BLAS) {
            for (int r = 0; r < batch; r++)
                memcpy(out_act + (size_t)r * out, b, sizeof(float) * (size_t)out);
            nn_gemm(batch, out, in, in_act, w, out_act, 1);
            if (relu) nn__relu(out_act, (size_t)batch * out);
        } else {
            nn__gemm_nn(batch, out, in, in_act, w, out_act, (nn__epi){.bias = b, .relu = relu});
        }
        in_act = out_act;
        out_act += (size_t)batch * out;
    }
    if (s->dueling) nn__dueling_forward(batch, nn_outputs(s), in_act, out_act);
}

void nn_backward(const nn_shape *s, const float *params, const float *x, int batch,
                 const float *acts, const float *dout, float *grads, float *scratch) {
    size_t w = (size_t)nn_max_width(s);
    float *dcur = scratch;                       /* d(loss)/d(pre-activation) of layer l */
    float *dprev = scratch + (size_t)batch * w;  /* d(loss)/d(output of layer l-1) */
    float *wt = scratch + 2 * (size_t)batch * w; /* W transposed */
    float *dwt = wt + w * w;                     /* dW transposed */
    int *rows = (int *)(dwt + w * w);            /* the sparse dW's row lists */
    int L = s->n_layers;
    bool blas = nn_current == NN_BACKEND_BLAS;
    if (s->dueling)
        nn__dueling_backward(batch, nn_outputs(s), dout, dcur);
    else
        memcpy(dcur, dout, sizeof(float) * (size_t)batch * s->sizes[L]);
    for (int l = L - 1; l >= 0; l--) {
        int in = s->sizes[l], out = s->sizes[l + 1];
        const float *W = params + nn_weight_offset(s, l);
        float *gW = grads + nn_weight_offset(s, l);
        float *gb = grads + nn_bias_offset(s, l);
        const float *xin = l == 0 ? x : acts + nn__acts_offset(s, l - 1, batch);

        nn__bias_grad(dcur, batch, out, gb);
        if (l == 0 && nn__mostly_zero(xin, (size_t)in)) {
            nn__sparse_tn(batch, in, out, xin, dcur, gW, rows, dprev, wt);
        } else if (nn__mostly_zero(dcur, (size_t)out)) {
            /* D mostly zero: the output layer's, where only the action taken has a
             * gradient. dW^T = D^T X over D's nonzeros, then transposed: the same sums. */
            nn__sparse_tn(batch, out, in, dcur, xin, dwt, rows, dprev, wt);
            nn__transpose(dwt, out, in, gW);
        } else if (blas) {
            nn_blas_sgemm()(NN_CBLAS_ROW_MAJOR, NN_CBLAS_TRANS, NN_CBLAS_NO_TRANS, in, out, batch,
                            1.0f, xin, in, dcur, out, 0.0f, gW, out);
        } else {
            nn__gemm_tn(in, out, batch, xin, dcur, gW, (nn__epi){0});
        }
        if (l == 0) break;

        /* dprev = dcur W^T, then through the ReLU of layer l-1 (gated by its output). The
         * kernel wants W^T in rows: transposing W costs in x out moves, the product
         * batch x in x out multiply-adds. */
        if (blas) {
            nn_blas_sgemm()(NN_CBLAS_ROW_MAJOR, NN_CBLAS_NO_TRANS, NN_CBLAS_TRANS, batch, in, out,
                            1.0f, dcur, out, W, out, 0.0f, dprev, in);
            nn__relu_mask(dprev, xin, (size_t)batch * in);
        } else {
            nn__transpose(W, in, out, wt);
            nn__gemm_nn(batch, in, out, dcur, wt, dprev, (nn__epi){.gate = xin});
        }
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
            memcpy(&v, g + i + 16 * u, sizeof v);
            acc[u] += v * v;
        }
    double sq = 0.0;
    for (int u = 0; u < 4; u++)
        for (int q = 0; q < 16; q++) sq += acc[u][q];
    for (; i < n; i++) sq += (double)g[i] * g[i];
    return sq;
}

float nn_clip_scale(const float *g, size_t n, float max_norm, float *norm) {
    float nrm = (float)sqrt(nn__sumsq(g, n));
    if (norm) *norm = nrm;
    return max_norm > 0.0f && nrm > max_norm ? max_norm / (nrm + 1e-6f) : 1.0f;
}

/* The optimizer's constants for one step. */
typedef struct {
    float lr_t, b1, b2, eps_t; /* Adam, bias correction folded in (nn_adam_step) */
    float scale;               /* gradient clipping's factor, 1 when within the norm */
    float tau;                 /* the Polyak blend when a target is given */
} nn__opt;

/* One parameter: the loops' tails, and the whole loop where there is no SSE. */
static inline void nn__opt1(const nn__opt *o, float *p, float g, float *m, float *v, float *t) {
    g *= o->scale;
    *m = o->b1 * *m + (1.0f - o->b1) * g;
    *v = o->b2 * *v + (1.0f - o->b2) * g * g;
    *p -= o->lr_t * *m / (__builtin_sqrtf(*v) + o->eps_t);
    if (t) {
        float d = o->tau * (*p - *t);
        NN_OPAQUE(d);
        *t += d;
    }
}

/* The optimizer loop with intrinsics: GCC will not vectorise sqrtf under the default
 * -fmath-errno (and ignores optimize attributes on multiversioned functions), so the
 * loop is written once for vectors V of W floats with the intrinsics of prefix X, and
 * instantiated for AVX-512 and for SSE (every x86-64 has SSE), picked at run time.
 * Clipping's scale, Adam and the Polyak blend are one pass over the parameters, not
 * three. OPQ keeps the blend's product apart from its sum (NN_OPAQUE). */
#define NN_OPT_LOOP(V, W, X, OPQ)                                                                  \
    do {                                                                                           \
        V vb1 = X##_set1_ps(o->b1), vb2 = X##_set1_ps(o->b2);                                      \
        V vc1 = X##_set1_ps(1.0f - o->b1), vc2 = X##_set1_ps(1.0f - o->b2);                        \
        V vlr = X##_set1_ps(o->lr_t), veps = X##_set1_ps(o->eps_t);                                \
        V vscale = X##_set1_ps(o->scale), vtau = X##_set1_ps(o->tau);                              \
        for (; i + W <= n; i += W) {                                                               \
            V gv = X##_mul_ps(X##_loadu_ps(g + i), vscale);                                        \
            V mv = X##_add_ps(X##_mul_ps(vb1, X##_loadu_ps(m + i)), X##_mul_ps(vc1, gv));          \
            V vv = X##_add_ps(X##_mul_ps(vb2, X##_loadu_ps(v + i)),                                \
                              X##_mul_ps(X##_mul_ps(vc2, gv), gv));                                \
            X##_storeu_ps(m + i, mv);                                                              \
            X##_storeu_ps(v + i, vv);                                                              \
            V den = X##_add_ps(X##_sqrt_ps(vv), veps);                                             \
            V pv = X##_sub_ps(X##_loadu_ps(p + i), X##_div_ps(X##_mul_ps(vlr, mv), den));          \
            X##_storeu_ps(p + i, pv);                                                              \
            if (t) {                                                                               \
                V tv = X##_loadu_ps(t + i);                                                        \
                V d = X##_mul_ps(vtau, X##_sub_ps(pv, tv));                                        \
                OPQ(d);                                                                            \
                X##_storeu_ps(t + i, X##_add_ps(tv, d));                                           \
            }                                                                                      \
        }                                                                                          \
    } while (0)

#ifdef NN_X86
__attribute__((target("avx512f"))) static void
nn__opt_avx512(const nn__opt *o, float *p, const float *g, float *m, float *v, float *t, size_t n) {
    size_t i = 0;
    NN_OPT_LOOP(__m512, 16, _mm512, NN_OPAQUE_V);
    for (; i < n; i++) nn__opt1(o, p + i, g[i], m + i, v + i, t ? t + i : NULL);
}

/* AVX without FMA: the same operations as SSE's, rounded the same, 8 lanes at a time. */
__attribute__((target("avx"))) static void nn__opt_avx(const nn__opt *o, float *p, const float *g,
                                                       float *m, float *v, float *t, size_t n) {
    size_t i = 0;
    NN_OPT_LOOP(__m256, 8, _mm256, NN_OPAQUE_V);
    for (; i < n; i++) nn__opt1(o, p + i, g[i], m + i, v + i, t ? t + i : NULL);
}
#endif

static void nn__opt_run(const nn__opt *o, float *p, const float *g, float *m, float *v, float *t,
                        size_t n) {
    size_t i = 0;
#ifdef NN_X86
    if (__builtin_cpu_supports("avx512f")) {
        nn__opt_avx512(o, p, g, m, v, t, n);
        return;
    }
    if (__builtin_cpu_supports("avx")) {
        nn__opt_avx(o, p, g, m, v, t, n);
        return;
    }
    NN_OPT_LOOP(__m128, 4, _mm, NN_OPAQUE);
#endif
    for (; i < n; i++) nn__opt1(o, p + i, g[i], m + i, v + i, t ? t + i : NULL);
}

void nn_adam_step(nn_adam *a, float *params, const float *grads, float grad_scale, float *m,
                  float *v, size_t n, float *target, float tau) {
    a->t++;
    /* PyTorch's form: p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps), folded so that the loop
     * does one division: lr_t = lr sqrt(bc2) / bc1, eps_t = eps sqrt(bc2). */
    double bc1 = 1.0 - pow(a->beta1, (double)a->t);
    double bc2 = 1.0 - pow(a->beta2, (double)a->t);
    nn__opt o = {.lr_t = (float)(a->lr * sqrt(bc2) / bc1),
                 .b1 = a->beta1,
                 .b2 = a->beta2,
                 .eps_t = (float)(a->eps * sqrt(bc2)),
                 .scale = grad_scale,
                 .tau = tau};
#ifdef NN_X86
    /* Denormals flushed to zero in this loop only (MXCSR FTZ + DAZ, restored after): the
     * moments of an input that stops appearing (a cell the agent no longer visits) decay
     * by beta1 every update into the denormal range within ~800 updates, and denormal
     * arithmetic made the whole step 40% slower. A moment below 1e-38 moves no weight:
     * lr m / (sqrt(v) + eps) is then under 1e-30, far below half an ulp of any weight. */
    unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040);
    nn__opt_run(&o, params, grads, m, v, target, n);
    _mm_setcsr(csr);
#else
    nn__opt_run(&o, params, grads, m, v, target, n);
#endif
}
