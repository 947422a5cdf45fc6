/* Multi-head attention, flash style: each (batch, head, query tile) streams over key tiles keeping a
 * running row max m, row sum l and an unnormalised output accumulator, so only a [TQ × TK] score block
 * exists at a time. Both products of a tile go through sgemm (single-threaded: the tiles are the unit of
 * parallelism). */
#include "backend/cpu/cpu_kernels.h"

#include <omp.h>

/* On CPUs with AVX-512, sc_cpu_attention hands the work to cpu_attention_avx512.c; this is the portable
 * path. */

#define TQ 64
#define TK 256

/* For one score row s[0..n): new max, rescale factor for the old state, p = exp(s - m), and the row sum.
 * Returns the factor the accumulator row must be multiplied by. */
SC_CPU_CLONES static float
softmax_row_update (float *s, int64_t n, int64_t n_total, float *m, float *l)
{
  float mx = *m;
#pragma omp simd reduction(max : mx)
  for (int64_t j = 0; j < n; j++)
    mx = s[j] > mx ? s[j] : mx;
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < n; j++)
    {
      float p = sc_cpu_expf (s[j] - mx);
      s[j] = p;
      sum += p;
    }
  /* Masked-out columns of the block take no part in P·V. */
  for (int64_t j = n; j < n_total; j++)
    s[j] = 0.0f;
  float corr = *l > 0.0f ? sc_cpu_expf (*m - mx) : 0.0f;
  *l = *l * corr + sum;
  *m = mx;
  return corr;
}

SC_CPU_CLONES static void
scale_row (float *a, int64_t n, float f)
{
#pragma omp simd
  for (int64_t j = 0; j < n; j++)
    a[j] *= f;
}

static void
attention_tile (const float *q, const float *k, const float *v, float *out, int64_t Nk, int64_t d,
                int64_t i0, int64_t tq, int64_t q_stride, int64_t kv_stride, int64_t out_stride, float scale,
                bool causal, float *S, float *acc, float *m, float *l)
{
  for (int64_t i = 0; i < tq; i++)
    {
      m[i] = -INFINITY;
      l[i] = 0.0f;
    }
  memset (acc, 0, sizeof (float) * (size_t) (tq * d));
  int64_t k_end = causal ? MIN (Nk, i0 + tq) : Nk; /* key j is visible to query i when j <= i */
  for (int64_t j0 = 0; j0 < k_end; j0 += TK)
    {
      int64_t tk = MIN (TK, k_end - j0);
      /* S[tq, tk] = scale * Q K^T */
      sc_cpu_gemm_serial (false, true, tq, tk, d, scale, q + i0 * q_stride, q_stride, k + j0 * kv_stride,
                          kv_stride, 0.0f, S, tk);
      for (int64_t i = 0; i < tq; i++)
        {
          int64_t n = causal ? MIN (tk, i0 + i - j0 + 1) : tk;
          float *srow = S + i * tk;
          if (n <= 0)
            {
              memset (srow, 0, sizeof (float) * (size_t) tk);
              continue;
            }
          float corr = softmax_row_update (srow, n, tk, &m[i], &l[i]);
          if (corr != 1.0f)
            scale_row (acc + i * d, d, corr);
        }
      /* acc[tq, d] += P V */
      sc_cpu_gemm_serial (false, false, tq, d, tk, 1.0f, S, tk, v + j0 * kv_stride, kv_stride, 1.0f, acc, d);
    }
  for (int64_t i = 0; i < tq; i++)
    {
      float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
      float *dst = out + (i0 + i) * out_stride;
      for (int64_t c = 0; c < d; c++)
        dst[c] = acc[i * d + c] * inv;
    }
}

static int attention_impl; /* 0 automatic, 1 portable, 2 AVX-512 */

static gboolean
avx512_usable (void)
{
#if SC_CPU_HAVE_AVX512_ATTENTION
  return __builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("fma");
#else
  return FALSE;
#endif
}

gboolean
sc_cpu_attention_set_impl (int impl)
{
  attention_impl = impl;
  return impl != 2 || avx512_usable ();
}

void
sc_cpu_attention (const float *q, const float *k, const float *v, float *out,
                  int64_t B, int64_t Nq, int64_t Nk, int heads, int64_t head_dim,
                  int64_t q_stride, int64_t kv_stride, int64_t out_stride, float scale, bool causal)
{
  if (B <= 0 || Nq <= 0 || heads <= 0 || head_dim <= 0)
    return;
#if SC_CPU_HAVE_AVX512_ATTENTION
  if (attention_impl != 1 && avx512_usable ())
    {
      sc_cpu_attention_avx512 (q, k, v, out, B, Nq, Nk, heads, head_dim, q_stride, kv_stride, out_stride, scale,
                               causal);
      return;
    }
#endif
  int64_t d = head_dim;
  int64_t qtiles = (Nq + TQ - 1) / TQ;
  int64_t units = B * heads * qtiles;
  int saved;
  sc_cpu_blas_serial_begin (&saved);
  /* Two products of Nq × Nk × d per head. */
  gboolean par = units > 1 && 2.0 * (double) (B * heads) * (double) Nq * (double) Nk * (double) d
                                  >= SC_CPU_MIN_PARALLEL_MACS;
#pragma omp parallel if (par)
  {
    float *S = sc_alloc_floats ((size_t) (TQ * TK), NULL);
    float *acc = sc_alloc_floats ((size_t) (TQ * d), NULL);
    float m[TQ], l[TQ];
#pragma omp for schedule(dynamic, 1)
    for (int64_t u = 0; u < units; u++)
      {
        int64_t t = u % qtiles;
        int64_t h = (u / qtiles) % heads;
        int64_t b = u / (qtiles * heads);
        int64_t i0 = t * TQ;
        attention_tile (q + b * Nq * q_stride + h * d, k + b * Nk * kv_stride + h * d,
                        v + b * Nk * kv_stride + h * d, out + b * Nq * out_stride + h * d, Nk, d, i0,
                        MIN (TQ, Nq - i0), q_stride, kv_stride, out_stride, scale, causal, S, acc, m, l);
      }
    sc_free_floats (S);
    sc_free_floats (acc);
  }
  sc_cpu_blas_serial_end (saved);
}
