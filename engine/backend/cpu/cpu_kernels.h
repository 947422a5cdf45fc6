/* Private to the CPU backend: the kernels behind the op table, and small helpers they share. */
#pragma once
#include "backend/backend.h"
#include "core/tensor.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

G_BEGIN_DECLS

/* Hot loops are compiled for AVX-512 and AVX2+FMA as well as the baseline; the loader picks one at run
 * time, so one binary runs everywhere and still uses the wide units. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define SC_CPU_CLONES __attribute__ ((target_clones ("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SC_CPU_CLONES
#endif

/* Fixed-size work chunks: results must not depend on the thread count, so reductions are split into
 * chunks whose boundaries depend only on the problem size. */

/* Smallest jobs worth a parallel region: floats touched by a memory-bound op, multiply-adds of a GEMM
 * or convolution (~0.1 ms on one core). A fork/join costs microseconds on an idle machine but a
 * scheduler time slice (milliseconds) when another process holds a core and the barrier waits for a
 * descheduled thread, which made tiny models 15-100x slower with 2 threads than with 1. */
#define SC_CPU_MIN_PARALLEL 262144
#define SC_CPU_MIN_PARALLEL_MACS 8388608.0

/* exp(x) for x in float range, vectorisable (used inside `omp simd` loops). Relative error ~2e-7;
 * inputs below -87.3 give 0 (softmax tails), above 88.7 are clamped. */
static inline __attribute__ ((always_inline)) float
sc_cpu_expf (float x)
{
  x = x > 88.7f ? 88.7f : x;
  float lo_mask = x < -87.3f ? 0.0f : 1.0f;
  x = x < -87.3f ? -87.3f : x;
  /* x = n ln2 + r, |r| <= ln2/2; ln2 in two parts keeps r exact enough. */
  /* Adding 1.5 * 2^23 rounds to the nearest integer in the current (nearest) mode, and vectorises
   * on every ISA, unlike floorf. */
  float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693145752f;
  r = r - n * 1.42860677e-6f;
  float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.66666672e-1f + r * (4.16666679e-2f
            + r * (8.33333377e-3f + r * (1.38888892e-3f + r * 1.98412701e-4f))))));
  union { float f; int32_t i; } u;
  u.i = ((int32_t) n + 127) << 23;
  return p * u.f * lo_mask;
}

/* erfc(x) with fractional error < 1.2e-7 for all x (the Chebyshev-fitted form from Numerical Recipes
 * §6.2); relative accuracy in the tail is what exact GELU needs for negative inputs. One definition for
 * GELU and its derivative, so the backward differentiates the very function the forward computes. */
static inline __attribute__ ((always_inline)) float
sc_cpu_erfc (float x)
{
  float z = fabsf (x);
  float t = 1.0f / (1.0f + 0.5f * z);
  float poly = -1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f
               + t * (-0.18628806f + t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f
               + t * (-0.82215223f + t * 0.17087277f))))))));
  float r = t * sc_cpu_expf (-z * z + poly);
  return x >= 0.0f ? r : 2.0f - r;
}

/* GroupNorm statistics of one batch item xb[HW, C]: each group's mean and 1/sqrt(var + eps), from shifted
 * sums in double over chunks fixed by the shape (the same values for any thread count). Shared by the
 * forward and the backward so both normalise with the same numbers. */
void sc_cpu_gn_stats (const float *xb, int64_t HW, int64_t C, int groups, float eps, double *mean, double *rstd);

/* gemm */
void sc_cpu_gemm (bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                  const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                  float *C, int64_t ldc);
void sc_cpu_linear (const float *x, const float *w, const float *bias, float *y,
                    int64_t M, int64_t K, int64_t N);
/* Single-threaded sgemm for use inside our own parallel regions. */
void sc_cpu_gemm_serial (bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                         const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                         float *C, int64_t ldc);
/* Runs fn in a region where BLAS calls are single-threaded (our OpenMP threads do the splitting). */
void sc_cpu_blas_serial_begin (int *saved);
void sc_cpu_blas_serial_end (int saved);

/* conv */
void sc_cpu_conv2d (const ScConv2dDesc *d, const float *x, const float *w, const float *bias, float *y);
void sc_cpu_conv2d_gemm (const ScConv2dDesc *d, const float *x, const float *w, const float *bias, float *y);
/* oneDNN path; returns FALSE when unavailable or the shape is not handled. */
gboolean sc_cpu_conv2d_dnnl (const ScConv2dDesc *d, const float *x, const float *w, const float *bias,
                             float *y);
/* The oneDNN path may repack a conv weight buffer in place into its blocked layout; this puts it back in
 * HWIO order (no-op when it is). */
void sc_cpu_conv2d_weights_hwio (float *w, int64_t kh, int64_t kw, int64_t in_c, int64_t out_c);
/* Chooses the conv implementation: 0 = automatic, 1 = im2col+gemm, 2 = oneDNN, 3 = Winograd where it
 * applies (for tests/benchmarks). SC_CONV_WINOGRAD=0 in the environment keeps automatic off Winograd. */
void sc_cpu_conv2d_set_impl (int impl);
/* 3×3 stride-1 convs as Winograd F(4×4, 3×3) (cpu_conv_winograd.c); FALSE for other shapes or no memory. */
gboolean sc_cpu_conv2d_winograd (const ScConv2dDesc *d, const float *x, const float *w, const float *bias,
                                 float *y);
/* Whether automatic selection takes Winograd for d: 3×3 stride 1 with enough output pixels over the
 * batch that the transforms (the weights' above all, redone per call) pay for themselves. Measured with
 * `bench-ops 2 unet-convs` (SD 1.5, 512 px, batch 2): F(4×4) from 1024 pixels (the 64×64 and 32×32
 * levels, 1.6–2.6× faster than oneDNN), F(2×2) from 512 (16×16: 1.2×); 8×8 stays direct (0.55×). */
gboolean sc_cpu_conv2d_winograd_suits (const ScConv2dDesc *d);
#define SC_CPU_WINOGRAD_MIN_PIXELS 512
/* For tests and benchmarks: F(m×m, 3×3) with m = 2 or 4 always (0: by size). */
void sc_cpu_conv2d_winograd_set_tile (int m);
/* For tests: the most floats per transform buffer and the fewest tiles per block (0, 0: defaults). */
void sc_cpu_conv2d_winograd_set_blocking (size_t max_floats, int64_t min_tiles);

/* norms */
void sc_cpu_group_norm (const float *x, float *y, int64_t B, int64_t HW, int64_t C, int groups,
                        const float *gamma, const float *beta, float eps, bool silu);
void sc_cpu_layer_norm (const float *x, float *y, int64_t rows, int64_t C,
                        const float *gamma, const float *beta, float eps);

/* attention */
void sc_cpu_attention (const float *q, const float *k, const float *v, float *out,
                       int64_t B, int64_t Nq, int64_t Nk, int heads, int64_t head_dim,
                       int64_t q_stride, int64_t kv_stride, int64_t out_stride, float scale, bool causal);
/* The AVX-512 kernel (cpu_attention_avx512.c) is built with GCC on x86-64; sc_cpu_attention uses it when
 * the CPU has AVX-512F. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SC_CPU_HAVE_AVX512_ATTENTION 1
void sc_cpu_attention_avx512 (const float *q, const float *k, const float *v, float *out,
                              int64_t B, int64_t Nq, int64_t Nk, int heads, int64_t head_dim,
                              int64_t q_stride, int64_t kv_stride, int64_t out_stride, float scale,
                              bool causal);
#else
#define SC_CPU_HAVE_AVX512_ATTENTION 0
#endif
/* Chooses the attention implementation: 0 = automatic, 1 = portable, 2 = AVX-512 when available (for
 * tests/benchmarks). Returns FALSE when the requested one is not available here (the choice is kept;
 * automatic is used). */
gboolean sc_cpu_attention_set_impl (int impl);

/* elementwise */
void sc_cpu_unary (ScUnaryOp op, const float *x, float *y, int64_t n);
void sc_cpu_geglu (const float *x, float *y, int64_t rows, int64_t C);
void sc_cpu_add (const float *a, const float *b, float *y, int64_t n);
void sc_cpu_axpby (const float *a, float alpha, const float *b, float beta, float *y, int64_t n);
void sc_cpu_add_bias_per_batch (float *x, const float *bias, int64_t B, int64_t HW, int64_t C);
void sc_cpu_upsample_nearest2x (const float *x, float *y, int64_t B, int64_t H, int64_t W, int64_t C);
void sc_cpu_concat_last (const float *a, int64_t Ca, const float *b, int64_t Cb, float *y, int64_t rows);
/* y[i] = silu(x[i]) over a row, vectorised; shared with group_norm. */
void sc_cpu_silu_row (const float *x, float *y, int64_t n);

G_END_DECLS
