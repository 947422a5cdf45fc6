/* Elementwise ops: memory-bound loops, threaded over large ranges and vectorised with `omp simd`.
 * Transcendentals use our own vectorisable exp so they do not fall back to scalar libm calls. */
#include "backend/cpu/cpu_kernels.h"

#include <omp.h>

/* Chunk length for threading flat loops: big enough to amortise the fork, a multiple of 16 floats. */
#define CHUNK 16384

static inline __attribute__ ((always_inline)) float
silu1 (float x)
{
  return x / (1.0f + sc_cpu_expf (-x));
}

static inline __attribute__ ((always_inline)) float
quick_gelu1 (float x)
{
  return x / (1.0f + sc_cpu_expf (-1.702f * x));
}

static inline __attribute__ ((always_inline)) float
gelu1 (float x)
{
  /* 0.5 x (1 + erf(x/√2)) = 0.5 x erfc(-x/√2) */
  return 0.5f * x * sc_cpu_erfc (-x * 0.70710678118654752f);
}

SC_CPU_CLONES void
sc_cpu_silu_row (const float *x, float *y, int64_t n)
{
#pragma omp simd
  for (int64_t i = 0; i < n; i++)
    y[i] = silu1 (x[i]);
}

SC_CPU_CLONES static void
unary_range (ScUnaryOp op, const float *x, float *y, int64_t n)
{
  switch (op)
    {
    case SC_UNARY_SILU:
#pragma omp simd
      for (int64_t i = 0; i < n; i++)
        y[i] = silu1 (x[i]);
      break;
    case SC_UNARY_GELU:
#pragma omp simd
      for (int64_t i = 0; i < n; i++)
        y[i] = gelu1 (x[i]);
      break;
    case SC_UNARY_QUICK_GELU:
#pragma omp simd
      for (int64_t i = 0; i < n; i++)
        y[i] = quick_gelu1 (x[i]);
      break;
    default:
      g_return_if_reached ();
    }
}

void
sc_cpu_unary (ScUnaryOp op, const float *x, float *y, int64_t n)
{
  int64_t chunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for if (n > SC_CPU_MIN_PARALLEL)
  for (int64_t c = 0; c < chunks; c++)
    {
      int64_t i0 = c * CHUNK;
      unary_range (op, x + i0, y + i0, MIN (CHUNK, n - i0));
    }
}

SC_CPU_CLONES static void
geglu_row (const float *x, float *y, int64_t C)
{
  const float *gate = x + C;
#pragma omp simd
  for (int64_t i = 0; i < C; i++)
    y[i] = x[i] * gelu1 (gate[i]);
}

void
sc_cpu_geglu (const float *x, float *y, int64_t rows, int64_t C)
{
#pragma omp parallel for if (rows * C > SC_CPU_MIN_PARALLEL)
  for (int64_t r = 0; r < rows; r++)
    geglu_row (x + r * 2 * C, y + r * C, C);
}

SC_CPU_CLONES static void
add_range (const float *a, const float *b, float *y, int64_t n)
{
#pragma omp simd
  for (int64_t i = 0; i < n; i++)
    y[i] = a[i] + b[i];
}

void
sc_cpu_add (const float *a, const float *b, float *y, int64_t n)
{
  int64_t chunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for if (n > SC_CPU_MIN_PARALLEL)
  for (int64_t c = 0; c < chunks; c++)
    {
      int64_t i0 = c * CHUNK;
      add_range (a + i0, b + i0, y + i0, MIN (CHUNK, n - i0));
    }
}

SC_CPU_CLONES static void
axpby_range (const float *a, float alpha, const float *b, float beta, float *y, int64_t n)
{
#pragma omp simd
  for (int64_t i = 0; i < n; i++)
    y[i] = a[i] * alpha + b[i] * beta;
}

void
sc_cpu_axpby (const float *a, float alpha, const float *b, float beta, float *y, int64_t n)
{
  int64_t chunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for if (n > SC_CPU_MIN_PARALLEL)
  for (int64_t c = 0; c < chunks; c++)
    {
      int64_t i0 = c * CHUNK;
      axpby_range (a + i0, alpha, b + i0, beta, y + i0, MIN (CHUNK, n - i0));
    }
}

void
sc_cpu_add_bias_per_batch (float *x, const float *bias, int64_t B, int64_t HW, int64_t C)
{
#pragma omp parallel for collapse(2) if (B * HW * C > SC_CPU_MIN_PARALLEL)
  for (int64_t b = 0; b < B; b++)
    for (int64_t p = 0; p < HW; p++)
      add_range (x + (b * HW + p) * C, bias + b * C, x + (b * HW + p) * C, C);
}

void
sc_cpu_upsample_nearest2x (const float *x, float *y, int64_t B, int64_t H, int64_t W, int64_t C)
{
  size_t px = sizeof (float) * (size_t) C;
#pragma omp parallel for collapse(2) if (B * H * W * C > SC_CPU_MIN_PARALLEL)
  for (int64_t b = 0; b < B; b++)
    for (int64_t i = 0; i < H; i++)
      {
        const float *src = x + (b * H + i) * W * C;
        float *dst = y + (b * 2 * H + 2 * i) * 2 * W * C;
        for (int64_t j = 0; j < W; j++)
          {
            memcpy (dst + 2 * j * C, src + j * C, px);
            memcpy (dst + (2 * j + 1) * C, src + j * C, px);
          }
        /* The odd output row is a copy of the even one. */
        memcpy (dst + 2 * W * C, dst, 2 * px * (size_t) W);
      }
}

void
sc_cpu_concat_last (const float *a, int64_t Ca, const float *b, int64_t Cb, float *y, int64_t rows)
{
#pragma omp parallel for if (rows * (Ca + Cb) > SC_CPU_MIN_PARALLEL)
  for (int64_t r = 0; r < rows; r++)
    {
      memcpy (y + r * (Ca + Cb), a + r * Ca, sizeof (float) * (size_t) Ca);
      memcpy (y + r * (Ca + Cb) + Ca, b + r * Cb, sizeof (float) * (size_t) Cb);
    }
}
