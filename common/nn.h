/* common/nn.h — the multilayer perceptron under the policy and the learner (prefix nn_).
 *
 * llm.c style: the network is a shape (layer sizes) plus flat float arrays the caller
 * owns — parameters, gradients, activations, Adam moments — and paired forward/backward
 * functions take the shapes as arguments. Nothing here allocates: the caller sizes every
 * buffer with the nn_*_size() functions once, so the trainer's update allocates nothing.
 *
 * Parameter layout (shared with policy_params() and the checkpoint's ONLINE section): for
 * each layer l in order, the weights W_l as sizes[l] rows of sizes[l+1] floats (row i holds
 * the weights from input i to every output, so y = x W_l + b_l), then the bias b_l of
 * sizes[l+1] floats. Hidden layers are followed by ReLU, the last layer is linear.
 *
 * The matrix products go to hand-written kernels, chosen over OpenBLAS by measurement
 * (docs/design/learner.md); OpenBLAS can be switched in for the benchmark's comparison. The
 * first layer skips zero inputs (the observation is mostly one-hot), which is exact: a zero
 * input contributes nothing to the product. */
#ifndef RD_COMMON_NN_H
#define RD_COMMON_NN_H

#include <stddef.h>
#include <stdint.h>

#include "common/rng.h"

#define NN_MAX_LAYERS 8 /* weight layers */

typedef struct {
    int n_layers;                 /* weight layers (hidden layers + 1) */
    int sizes[NN_MAX_LAYERS + 1]; /* sizes[0] inputs ... sizes[n_layers] the last layer's */
    /* Dueling heads (Wang et al. 2016): the last layer's first unit is a state value V, the
     * others advantages A_a, and the outputs are Q_a = V + A_a - mean(A): one more unit in
     * the last layer than outputs. 0: the last layer's units are the outputs. */
    int dueling;
} nn_shape;

typedef enum { NN_BACKEND_NATIVE = 0, NN_BACKEND_BLAS } nn_backend;

/* Fills s for in -> hidden[0..n_hidden) -> out. 0, or -1 when a size is < 1 or there are
 * too many layers. */
int nn_shape_init(nn_shape *s, int in, const int *hidden, int n_hidden, int out);
/* The same with dueling heads: the last layer gets out + 1 units (V, then A_0..A_out-1). */
int nn_shape_init_dueling(nn_shape *s, int in, const int *hidden, int n_hidden, int out);
/* The network's outputs per row (Q-values: sizes[n_layers] - dueling). */
int nn_outputs(const nn_shape *s);

size_t nn_num_params(const nn_shape *s);
size_t nn_weight_offset(const nn_shape *s, int layer); /* in floats, into params */
size_t nn_bias_offset(const nn_shape *s, int layer);
int nn_max_width(const nn_shape *s); /* widest layer, inputs included */

/* Floats of the activation buffer for a batch: every layer's output, batch rows each (and
 * with dueling heads the combined outputs after them). */
size_t nn_acts_size(const nn_shape *s, int batch);
/* The network's output (batch x nn_outputs()) inside acts. */
float *nn_output(const nn_shape *s, float *acts, int batch);
/* Floats of scratch nn_backward() needs for a batch. */
size_t nn_scratch_size(const nn_shape *s, int batch);

/* Weights uniform in +-sqrt(6 / fan_in) (He, for ReLU), biases zero. */
void nn_init_params(const nn_shape *s, float *params, rng_t *rng);
/* The same for layers [from, n_layers) only (0 <= from): the others keep their values. */
void nn_init_layers(const nn_shape *s, float *params, int from, rng_t *rng);

/* acts <- every layer's output for x (batch rows of sizes[0]). */
void nn_forward(const nn_shape *s, const float *params, const float *x, int batch, float *acts);

/* grads <- d(loss)/d(params) given dout = d(loss)/d(output) (batch x nn_outputs()), the x
 * and acts of the matching nn_forward(). Overwrites grads. dout is left intact. */
void nn_backward(const nn_shape *s, const float *params, const float *x, int batch,
                 const float *acts, const float *dout, float *grads, float *scratch);

/* Huber loss, mean over n: returns the loss and writes d(loss)/d(pred) into dpred. */
float nn_huber(const float *pred, const float *target, int n, float delta, float *dpred);

/* Gradient clipping by global L2 norm: the factor that brings g's norm down to max_norm
 * (1 when it is within, or max_norm <= 0), for nn_adam_step to apply. *norm (if not NULL)
 * gets the norm. */
float nn_clip_scale(const float *g, size_t n, float max_norm, float *norm);

typedef struct {
    float lr, beta1, beta2, eps;
    int64_t t; /* steps taken (for bias correction); part of the checkpointed state */
} nn_adam;

/* One Adam step (bias-corrected, as PyTorch's torch.optim.Adam) from grads * grad_scale;
 * m, v are the moments. When target is not NULL, the Polyak blend follows in the same pass:
 * target <- target + tau (params - target), with the updated params. */
void nn_adam_step(nn_adam *a, float *params, const float *grads, float grad_scale, float *m,
                  float *v, size_t n, float *target, float tau);

/* The matrix-product backend: NATIVE (the default, chosen by measurement) or OpenBLAS,
 * loaded at run time on first use. nn_set_backend returns -1 (and changes nothing) when
 * OpenBLAS cannot be loaded. */
int nn_set_backend(nn_backend b);
nn_backend nn_get_backend(void);
const char *nn_backend_name(nn_backend b);

/* CBLAS's cblas_sgemm, for the benchmark's comparison; NULL when OpenBLAS is not installed.
 * The constants are the CBLAS standard's. */
typedef void (*nn_sgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                            const float *a, int lda, const float *b, int ldb, float beta, float *c,
                            int ldc);
enum { NN_CBLAS_ROW_MAJOR = 101, NN_CBLAS_NO_TRANS = 111, NN_CBLAS_TRANS = 112 };
nn_sgemm_fn nn_blas_sgemm(void);

/* C (m x n) = A (m x k) B (k x n), row-major, with the current backend; C is overwritten
 * when accumulate is 0, added to otherwise. Exposed for the benchmark and tests. */
void nn_gemm(int m, int n, int k, const float *a, const float *b, float *c, int accumulate);
/* C (m x n) = A^T B where A is stored k x m: the weight gradient's form (dW = X^T D), with
 * the native kernel whatever the backend. Exposed for the benchmark. */
void nn_gemm_tn(int m, int n, int k, const float *a, const float *b, float *c);

#endif
