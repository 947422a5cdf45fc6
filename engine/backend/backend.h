/* The op table. Every model layer computes through one of these, never through a library directly,
 * so the CPU and CUDA backends are interchangeable at run time.
 *
 * Conventions (all backends):
 *  - f32 buffers in the backend's memory (host memory for "cpu"), row-major.
 *  - Activations are NHWC: [B, H, W, C]; token sequences are [B, N, C].
 *  - Linear weights keep PyTorch's layout [out, in]; conv weights are stored [KH, KW, Cin, Cout]
 *    (converted once at load from the files' [Cout, Cin, KH, KW]).
 *  - Output buffers never alias inputs unless the op says so. */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef enum {
  SC_UNARY_SILU,       /* x * sigmoid(x) */
  SC_UNARY_GELU,       /* exact: 0.5 x (1 + erf(x / sqrt 2)) */
  SC_UNARY_QUICK_GELU, /* x * sigmoid(1.702 x) */
} ScUnaryOp;

typedef struct ScConv2dDesc {
  int64_t batch, in_h, in_w, in_c; /* input [B, H, W, Cin] */
  int64_t out_c;
  int kernel_h, kernel_w;
  int stride;
  int pad_top, pad_left, pad_bottom, pad_right; /* zero padding */
  int64_t out_h, out_w;                           /* filled by sc_conv2d_desc_init */
} ScConv2dDesc;

/* Fills out_h/out_w from the other fields. */
void sc_conv2d_desc_init (ScConv2dDesc *d);

typedef struct ScBackend ScBackend;

struct ScBackend {
  const char *name;

  /* Memory in the backend's space. */
  float *(*alloc) (size_t n_floats);
  void (*free) (float *p);
  void (*upload) (float *dst, const float *host_src, size_t n_floats);
  void (*download) (float *host_dst, const float *src, size_t n_floats);
  /* p[0, n) = 0 (gradient buffers before a backward, which adds into them). */
  void (*zero) (float *p, size_t n_floats);

  /* C[M,N] = alpha * op(A) · op(B) + beta * C, row-major, with leading dimensions. */
  void (*gemm) (bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                float *C, int64_t ldc);

  /* y[M, N] = x[M, K] · W[N, K]^T + bias[N] (bias may be NULL). */
  void (*linear) (const float *x, const float *w, const float *bias, float *y,
                  int64_t M, int64_t K, int64_t N);

  /* y[B, Ho, Wo, Cout] = conv(x[B, H, W, Cin], w[KH, KW, Cin, Cout]) + bias[Cout] (bias may be NULL).
   * A backend may repack w in place into its own layout of the same size and keep it so between calls
   * (saves a second copy of every conv weight); code that reads or changes a conv weight buffer after
   * it went through conv2d calls conv2d_weights_hwio first. */
  void (*conv2d) (const ScConv2dDesc *d, const float *x, const float *w, const float *bias, float *y);
  /* Puts a weight buffer repacked by conv2d back in [KH, KW, Cin, Cout] order (no-op when it is). */
  void (*conv2d_weights_hwio) (float *w, int64_t kh, int64_t kw, int64_t in_c, int64_t out_c);

  /* GroupNorm over x[B, HW, C] with `groups` groups of C/groups channels; statistics in f32 (two-pass or
   * Welford); y = (x - mean) / sqrt(var + eps) * gamma[c] + beta[c]; then SiLU if `silu`. y may alias x. */
  void (*group_norm) (const float *x, float *y, int64_t B, int64_t HW, int64_t C, int groups,
                      const float *gamma, const float *beta, float eps, bool silu);

  /* LayerNorm over the last dim of x[rows, C]. y may alias x. */
  void (*layer_norm) (const float *x, float *y, int64_t rows, int64_t C,
                      const float *gamma, const float *beta, float eps);

  /* Multi-head attention, heads split head-major along channels (channel = h * head_dim + d).
   *   q: [B, Nq, heads*head_dim] with row stride q_stride (floats between consecutive tokens)
   *   k, v: [B, Nk, heads*head_dim] with row stride kv_stride
   *   out: [B, Nq, heads*head_dim] with row stride out_stride
   * out = softmax(q k^T * scale (+ causal mask)) v. Streaming (online softmax): never materialises a full
   * [Nq, Nk] matrix per head. Batch b of q/k/v starts at b * N * stride. */
  void (*attention) (const float *q, const float *k, const float *v, float *out,
                     int64_t B, int64_t Nq, int64_t Nk, int heads, int64_t head_dim,
                     int64_t q_stride, int64_t kv_stride, int64_t out_stride, float scale, bool causal);

  /* y = op(x) elementwise over n values. y may alias x. */
  void (*unary) (ScUnaryOp op, const float *x, float *y, int64_t n);

  /* GEGLU: x[rows, 2C] → y[rows, C] = x[:, :C] * gelu(x[:, C:]). */
  void (*geglu) (const float *x, float *y, int64_t rows, int64_t C);

  /* y = a + b over n values. y may alias a or b. */
  void (*add) (const float *a, const float *b, float *y, int64_t n);

  /* y = a * alpha + b * beta over n values. y may alias a or b. */
  void (*axpby) (const float *a, float alpha, const float *b, float beta, float *y, int64_t n);

  /* x[B, HW, C] += bias[B, C] (one bias vector per batch item: the time embedding). */
  void (*add_bias_per_batch) (float *x, const float *bias, int64_t B, int64_t HW, int64_t C);

  /* y[B, 2H, 2W, C] = nearest-neighbour ×2 of x[B, H, W, C]. */
  void (*upsample_nearest2x) (const float *x, float *y, int64_t B, int64_t H, int64_t W, int64_t C);

  /* y[rows, Ca + Cb] = concat(a[rows, Ca], b[rows, Cb]) along the last dim. */
  void (*concat_last) (const float *a, int64_t Ca, const float *b, int64_t Cb, float *y, int64_t rows);

  /* ---- Backward passes, for training (tuners on the U-Net decoder's skips). Each takes the forward's
   * inputs and the gradient of its output (dy) and ADDS into the gradient buffers it is given (as
   * llm.c does): a tensor that feeds two ops sums both gradients, so callers zero the buffers once per
   * step. Any gradient pointer may be NULL: not wanted, not computed. A backend may leave an entry
   * NULL until it implements it; callers check. */

  /* linear: dx[M, K] += dy · W; dw[N, K] += dyᵀ · x; dbias[N] += column sums of dy. x is read only for
   * dw and may be NULL without it (frozen weights: callers need not keep the input). */
  void (*linear_backward) (const float *x, const float *w, const float *dy, float *dx, float *dw, float *dbias,
                           int64_t M, int64_t K, int64_t N);

  /* conv2d: dx[B, H, W, Cin], dw[KH, KW, Cin, Cout] (HWIO, like w), dbias[Cout]. w is in HWIO order
   * (a backend that repacks weights in conv2d restores them first). x is read only for dw and may be
   * NULL without it. */
  void (*conv2d_backward) (const ScConv2dDesc *d, const float *x, const float *w, const float *dy, float *dx,
                           float *dw, float *dbias);

  /* group_norm (with its optional SiLU), statistics recomputed from x: dx, dgamma[C], dbeta[C]. */
  void (*group_norm_backward) (const float *x, const float *dy, float *dx, int64_t B, int64_t HW, int64_t C,
                               int groups, const float *gamma, const float *beta, float eps, bool silu,
                               float *dgamma, float *dbeta);

  /* layer_norm over the last dim, statistics recomputed from x: dx, dgamma[C], dbeta[C]. */
  void (*layer_norm_backward) (const float *x, const float *dy, float *dx, int64_t rows, int64_t C,
                               const float *gamma, float eps, float *dgamma, float *dbeta);

  /* attention, same layout and strides as the forward (dq like q, dk/dv like k/v); out is the forward's
   * output. Streaming like the forward: the softmax is recomputed block by block from q and k, never a
   * full [Nq, Nk] matrix per head. */
  void (*attention_backward) (const float *q, const float *k, const float *v, const float *out,
                              const float *dout, float *dq, float *dk, float *dv, int64_t B, int64_t Nq,
                              int64_t Nk, int heads, int64_t head_dim, int64_t q_stride, int64_t kv_stride,
                              int64_t out_stride, float scale, bool causal);

  /* dx += dy · op'(x) over n values. */
  void (*unary_backward) (ScUnaryOp op, const float *x, const float *dy, float *dx, int64_t n);

  /* geglu: dx[rows, 2C] from x[rows, 2C] and dy[rows, C]. */
  void (*geglu_backward) (const float *x, const float *dy, float *dx, int64_t rows, int64_t C);

  /* upsample_nearest2x: dx[B, H, W, C] += the sum of the four dy[B, 2H, 2W, C] pixels each x pixel became. */
  void (*upsample_nearest2x_backward) (const float *dy, float *dx, int64_t B, int64_t H, int64_t W, int64_t C);

  /* concat_last: da[rows, Ca] and db[rows, Cb] += the two parts of dy[rows, Ca + Cb]. */
  void (*concat_last_backward) (const float *dy, float *da, int64_t Ca, float *db, int64_t Cb, int64_t rows);

  /* add_bias_per_batch: dbias[B, C] += sums over HW of dy[B, HW, C]. */
  void (*add_bias_per_batch_backward) (const float *dy, float *dbias, int64_t B, int64_t HW, int64_t C);

  /* One AdamW step over n parameters, as torch.optim.AdamW (decoupled weight decay, bias-corrected
   * moments; step counts from 1): p -= lr·wd·p; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
   * p -= lr · (m / (1−β1^step)) / (sqrt(v / (1−β2^step)) + eps). */
  void (*adamw_step) (float *p, const float *g, float *m, float *v, int64_t n, float lr, float beta1,
                      float beta2, float eps, float weight_decay, int64_t step);
};

/* The CPU backend (always available). */
const ScBackend *sc_backend_cpu (void);

/* Looks up a backend by name ("cpu", "cuda"); NULL with an error when unavailable. */
const ScBackend *sc_backend_get (const char *name, GError **error);

G_END_DECLS
