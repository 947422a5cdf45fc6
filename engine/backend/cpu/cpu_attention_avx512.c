/* Attention kernel for AVX-512 CPUs, picked at run time by sc_cpu_attention (the portable path in
 * cpu_attention.c stays for other CPUs and compilers).
 *
 * The work unit is (batch, head, block of AQ queries). Everything runs transposed, with the queries
 * along the vector lanes: S^T[key][query] = K · Q^T, the online softmax runs down the key rows (the row
 * max, sum and the rescale are plain vertical vector ops, no horizontal reductions), and the output
 * accumulates as O^T[channel][query] += V^T · P^T. Both products broadcast one K or V element and multiply
 * it into whole query vectors, so head_dim (40 in SD1) needs no vector tails. Each thread packs the K and
 * V of the head it is working on into contiguous rows once and reuses them for all its query blocks of
 * that head. Scores are kept in base 2 (Q is pre-scaled by scale·log2 e) so the exponential is exp2. */
#include "backend/cpu/cpu_kernels.h"

#include <omp.h>

#if SC_CPU_HAVE_AVX512_ATTENTION

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,fma")
#include <immintrin.h>

#define AQV 4            /* query vectors per unit */
#define AQ (AQV * 16)    /* queries per unit */
#define KB 6             /* keys per register block of S^T */
#define CB 6             /* channels per register block of O^T */
#define AK (KB * 16)     /* keys per tile (a multiple of KB) */
#define NEG_BIG (-1e30f) /* "minus infinity" that stays finite: exp2 of (NEG_BIG - x) is exactly 0 */

/* 2^x for x <= 0 (finite): 2^round(x) via scalef (which also underflows cleanly to 0) times a degree-5
 * polynomial for 2^f, |f| <= 1/2 (relative error 1.5e-7). */
static inline __attribute__ ((always_inline)) __m512
exp2_ps (__m512 x)
{
  __m512 n = _mm512_roundscale_ps (x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 f = _mm512_sub_ps (x, n);
  __m512 p = _mm512_set1_ps (1.326697064e-03f);
  p = _mm512_fmadd_ps (p, f, _mm512_set1_ps (9.675459936e-03f));
  p = _mm512_fmadd_ps (p, f, _mm512_set1_ps (5.550742522e-02f));
  p = _mm512_fmadd_ps (p, f, _mm512_set1_ps (2.402212173e-01f));
  p = _mm512_fmadd_ps (p, f, _mm512_set1_ps (6.931469440e-01f));
  p = _mm512_fmadd_ps (p, f, _mm512_set1_ps (1.000000119e+00f));
  return _mm512_scalef_ps (p, n);
}

typedef struct {
  float *qt;      /* [d][AQ]: scaled Q^T of the current unit, zero past the last query */
  float *s;       /* [AK][AQ]: scores, then probabilities, of the current key tile */
  float *acc;     /* [dp][AQ]: unnormalised O^T */
  float *kp;      /* [nkp][d]: packed K of the current head, zero rows up to nkp */
  float *vp;      /* [Nk][dp]: packed V of the current head, zero columns up to dp */
  int64_t head;   /* b * heads + h packed in kp/vp, -1 for none */
} Work;

/* S^T[j][i] for keys j0 + [0, nb) (nb a multiple of KB) and all AQ queries. */
static inline __attribute__ ((always_inline)) void
scores (const float *qt, const float *kp, float *s, int64_t nb, int64_t d)
{
  for (int64_t j = 0; j < nb; j += KB)
    {
      __m512 a[KB][AQV];
#pragma GCC unroll 8
      for (int kk = 0; kk < KB; kk++)
#pragma GCC unroll 4
        for (int v = 0; v < AQV; v++)
          a[kk][v] = _mm512_setzero_ps ();
      const float *kr = kp + j * d;
      for (int64_t c = 0; c < d; c++)
        {
          __m512 q[AQV];
#pragma GCC unroll 4
          for (int v = 0; v < AQV; v++)
            q[v] = _mm512_load_ps (qt + c * AQ + v * 16);
#pragma GCC unroll 8
          for (int kk = 0; kk < KB; kk++)
            {
              __m512 kb = _mm512_set1_ps (kr[kk * d + c]);
#pragma GCC unroll 4
              for (int v = 0; v < AQV; v++)
                a[kk][v] = _mm512_fmadd_ps (q[v], kb, a[kk][v]);
            }
        }
#pragma GCC unroll 8
      for (int kk = 0; kk < KB; kk++)
#pragma GCC unroll 4
        for (int v = 0; v < AQV; v++)
          _mm512_store_ps (s + (j + kk) * AQ + v * 16, a[kk][v]);
    }
}

/* O^T[c][i] += sum_j V[j][c] P^T[j][i] over n keys, all dp (a multiple of CB) channels. */
static inline __attribute__ ((always_inline)) void
accumulate (const float *s, const float *vp, float *acc, int64_t n, int64_t dp)
{
  for (int64_t c0 = 0; c0 < dp; c0 += CB)
    {
      __m512 a[CB][AQV];
#pragma GCC unroll 8
      for (int cc = 0; cc < CB; cc++)
#pragma GCC unroll 4
        for (int v = 0; v < AQV; v++)
          a[cc][v] = _mm512_load_ps (acc + (c0 + cc) * AQ + v * 16);
      const float *vr = vp + c0;
      for (int64_t j = 0; j < n; j++)
        {
          __m512 p[AQV];
#pragma GCC unroll 4
          for (int v = 0; v < AQV; v++)
            p[v] = _mm512_load_ps (s + j * AQ + v * 16);
#pragma GCC unroll 8
          for (int cc = 0; cc < CB; cc++)
            {
              __m512 vb = _mm512_set1_ps (vr[j * dp + cc]);
#pragma GCC unroll 4
              for (int v = 0; v < AQV; v++)
                a[cc][v] = _mm512_fmadd_ps (p[v], vb, a[cc][v]);
            }
        }
#pragma GCC unroll 8
      for (int cc = 0; cc < CB; cc++)
#pragma GCC unroll 4
        for (int v = 0; v < AQV; v++)
          _mm512_store_ps (acc + (c0 + cc) * AQ + v * 16, a[cc][v]);
    }
}

static void
attention_unit (Work *w, const float *q, float *out, int64_t Nk, int64_t d, int64_t dp, int64_t i0,
                int64_t tq, int64_t q_stride, int64_t out_stride, float qscale, bool causal)
{
  /* Q^T, pre-scaled, zero for the padding queries. */
  for (int64_t i = 0; i < AQ; i++)
    for (int64_t c = 0; c < d; c++)
      w->qt[c * AQ + i] = i < tq ? q[(i0 + i) * q_stride + c] * qscale : 0.0f;
  memset (w->acc, 0, sizeof (float) * (size_t) (dp * AQ));
  __m512 m[AQV], l[AQV];
  for (int v = 0; v < AQV; v++)
    {
      m[v] = _mm512_set1_ps (NEG_BIG);
      l[v] = _mm512_setzero_ps ();
    }
  const __m512i iota = _mm512_set_epi32 (15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  /* Key j is visible to query i when j <= i; key 0 is visible to every query, so the first tile gives
   * each query a real maximum. */
  int64_t k_end = causal ? MIN (Nk, i0 + tq) : Nk;
  for (int64_t j0 = 0; j0 < k_end; j0 += AK)
    {
      int64_t n = MIN (AK, k_end - j0);
      int64_t nb = (n + KB - 1) / KB * KB; /* kp has zero rows up to a multiple of KB */
      scores (w->qt, w->kp + j0 * d, w->s, nb, d);
      if (causal && j0 + n - 1 > i0)
        for (int64_t j = 0; j < n; j++)
          {
            __m512i jj = _mm512_set1_epi32 ((int) (j0 + j));
            for (int v = 0; v < AQV; v++)
              {
                __m512i qi = _mm512_add_epi32 (iota, _mm512_set1_epi32 ((int) (i0 + v * 16)));
                __mmask16 hide = _mm512_cmplt_epi32_mask (qi, jj);
                float *sp = w->s + j * AQ + v * 16;
                _mm512_store_ps (sp, _mm512_mask_mov_ps (_mm512_load_ps (sp), hide, _mm512_set1_ps (NEG_BIG)));
              }
          }
      /* Running max, and the factor for what was accumulated under the old one. */
      __m512 mx[AQV];
      for (int v = 0; v < AQV; v++)
        mx[v] = m[v];
      for (int64_t j = 0; j < n; j++)
#pragma GCC unroll 4
        for (int v = 0; v < AQV; v++)
          mx[v] = _mm512_max_ps (mx[v], _mm512_load_ps (w->s + j * AQ + v * 16));
      __m512 corr[AQV];
      __mmask16 changed = 0;
      for (int v = 0; v < AQV; v++)
        {
          corr[v] = exp2_ps (_mm512_sub_ps (m[v], mx[v]));
          changed |= _mm512_cmp_ps_mask (m[v], mx[v], _CMP_NEQ_OQ);
          l[v] = _mm512_mul_ps (l[v], corr[v]);
          m[v] = mx[v];
        }
      if (changed && j0 > 0)
        for (int64_t c = 0; c < dp; c++)
#pragma GCC unroll 4
          for (int v = 0; v < AQV; v++)
            {
              float *ap = w->acc + c * AQ + v * 16;
              _mm512_store_ps (ap, _mm512_mul_ps (_mm512_load_ps (ap), corr[v]));
            }
      /* P = 2^(S - m), and its row sums. */
      __m512 sum[AQV];
      for (int v = 0; v < AQV; v++)
        sum[v] = _mm512_setzero_ps ();
      for (int64_t j = 0; j < n; j++)
#pragma GCC unroll 4
        for (int v = 0; v < AQV; v++)
          {
            float *sp = w->s + j * AQ + v * 16;
            __m512 p = exp2_ps (_mm512_sub_ps (_mm512_load_ps (sp), m[v]));
            _mm512_store_ps (sp, p);
            sum[v] = _mm512_add_ps (sum[v], p);
          }
      for (int v = 0; v < AQV; v++)
        l[v] = _mm512_add_ps (l[v], sum[v]);
      accumulate (w->s, w->vp + j0 * dp, w->acc, n, dp);
    }
  float inv[AQ];
  for (int v = 0; v < AQV; v++)
    _mm512_storeu_ps (inv + v * 16, _mm512_maskz_div_ps (_mm512_cmp_ps_mask (l[v], _mm512_setzero_ps (), _CMP_GT_OQ),
                                                         _mm512_set1_ps (1.0f), l[v]));
  for (int64_t i = 0; i < tq; i++)
    {
      float *dst = out + (i0 + i) * out_stride;
      for (int64_t c = 0; c < d; c++)
        dst[c] = w->acc[c * AQ + i] * inv[i];
    }
}

static void
pack_head (Work *w, const float *k, const float *v, int64_t Nk, int64_t nkp, int64_t d, int64_t dp,
           int64_t kv_stride)
{
  for (int64_t j = 0; j < Nk; j++)
    {
      memcpy (w->kp + j * d, k + j * kv_stride, sizeof (float) * (size_t) d);
      memcpy (w->vp + j * dp, v + j * kv_stride, sizeof (float) * (size_t) d);
      /* The zero padding columns of vp were set at allocation and are never written. */
    }
  (void) nkp; /* rows [Nk, nkp) of kp stay zero from the allocation */
}

void
sc_cpu_attention_avx512 (const float *q, const float *k, const float *v, float *out,
                         int64_t B, int64_t Nq, int64_t Nk, int heads, int64_t head_dim,
                         int64_t q_stride, int64_t kv_stride, int64_t out_stride, float scale, bool causal)
{
  if (B <= 0 || Nq <= 0 || heads <= 0 || head_dim <= 0)
    return;
  int64_t d = head_dim;
  int64_t dp = (d + CB - 1) / CB * CB;
  int64_t nkp = (Nk + KB - 1) / KB * KB;
  int64_t qtiles = (Nq + AQ - 1) / AQ;
  int64_t units = B * heads * qtiles;
  float qscale = scale * 1.44269504088896341f;
  gboolean par = units > 1 && 2.0 * (double) (B * heads) * (double) Nq * (double) Nk * (double) d
                                  >= SC_CPU_MIN_PARALLEL_MACS;
#pragma omp parallel if (par)
  {
    Work w = { .head = -1 };
    w.qt = sc_alloc_floats ((size_t) (d * AQ), NULL);
    w.s = sc_alloc_floats ((size_t) (AK * AQ), NULL);
    w.acc = sc_alloc_floats ((size_t) (dp * AQ), NULL);
    w.kp = sc_alloc_floats ((size_t) (nkp * d), NULL);
    w.vp = sc_alloc_floats ((size_t) (MAX (Nk, 1) * dp), NULL);
#pragma omp for schedule(dynamic, 1)
    for (int64_t u = 0; u < units; u++)
      {
        int64_t t = u % qtiles;
        int64_t bh = u / qtiles;
        int64_t h = bh % heads;
        int64_t b = bh / heads;
        if (w.head != bh)
          {
            pack_head (&w, k + b * Nk * kv_stride + h * d, v + b * Nk * kv_stride + h * d, Nk, nkp, d, dp,
                       kv_stride);
            w.head = bh;
          }
        int64_t i0 = t * AQ;
        attention_unit (&w, q + b * Nq * q_stride + h * d, out + b * Nq * out_stride + h * d, Nk, d, dp, i0,
                        MIN (AQ, Nq - i0), q_stride, out_stride, qscale, causal);
      }
    sc_free_floats (w.qt);
    sc_free_floats (w.s);
    sc_free_floats (w.acc);
    sc_free_floats (w.kp);
    sc_free_floats (w.vp);
  }
}

#pragma GCC pop_options

#else
typedef int sc_cpu_attention_avx512_unavailable; /* keeps the translation unit non-empty */
#endif /* SC_CPU_HAVE_AVX512_ATTENTION */
