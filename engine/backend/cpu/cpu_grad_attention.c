/* Attention backward, streaming like FlashAttention-2's: the softmax is recomputed block by block from q
 * and k with each query's statistics, so at most a [BQ × BK] block of scores exists per thread.
 *
 * With P = softmax(scale · Q Kᵀ) per row, O = P V and dO the gradient of O:
 *   dV = Pᵀ dO,   dP = dO Vᵀ,   D_i = Σ_c dO_ic O_ic (= Σ_j P_ij dP_ij),   dS = P ⊙ (dP − D),
 *   dQ = scale · dS K,   dK = scale · dSᵀ Q.
 *
 * Two parallel phases, each writing disjoint rows, so no atomics and results independent of the thread
 * count:
 *  1. units (batch, head, query block): the row max m and 1/Σexp of every query (one pass over the keys),
 *     D_i, then dQ for the block (a second pass over the keys);
 *  2. units (batch, head, key block): dV and dK for the block, over the query blocks that see it.
 * Phase 2 recomputes the scores and dP that phase 1 already built once: 8 block products instead of 6
 * for a fused pass, bought back by splitting every head over all cores (a head per thread would leave most
 * cores idle with SD's 8 heads and batch 1). Products go through single-threaded sgemm, as in the
 * forward (cpu_attention.c). */
#include "backend/cpu/cpu_grad_attention.h"
#include "backend/cpu/cpu_kernels.h"

#include <omp.h>

#define BQ 64 /* queries per block */
#define BK 64 /* keys per block */

/* Per query row: the softmax statistics of its scaled scores and D_i. */
typedef struct {
  float m;     /* row max */
  float inv_l; /* 1 / Σ_j exp(s_j − m) */
  float D;     /* Σ_c dout_c · out_c */
} RowStats;

/* One (batch, head): pointers at its first row and first column. */
typedef struct {
  const float *q, *k, *v, *out, *dout;
  float *dq, *dk, *dv;
  RowStats *st; /* [Nq] */
  int64_t Nq, Nk, d, qs, kvs, os;
  float scale;
  bool causal;
} Head;

/* Keys of a block [j0, j0 + tk) visible to query row i: key j is visible when j <= i. */
static inline int64_t
visible (const Head *h, int64_t i, int64_t j0, int64_t tk)
{
  return h->causal ? CLAMP (i - j0 + 1, 0, tk) : tk;
}

/* S[tq, tk] = scale · Q[i0..] K[j0..]ᵀ */
static void
scores (const Head *h, int64_t i0, int64_t tq, int64_t j0, int64_t tk, float *S)
{
  sc_cpu_gemm_serial (false, true, tq, tk, h->d, h->scale, h->q + i0 * h->qs, h->qs, h->k + j0 * h->kvs, h->kvs,
                      0.0f, S, tk);
}

/* Phase 1, first pass: m and 1/l of queries [i0, i0 + tq) by an online max/sum over the key blocks
 * (as in the forward), and D_i. */
SC_CPU_CLONES static void
row_stats (const Head *h, int64_t i0, int64_t tq, float *S)
{
  RowStats *st = h->st + i0;
  float l[BQ];
  for (int64_t i = 0; i < tq; i++)
    {
      st[i].m = -INFINITY;
      l[i] = 0.0f;
    }
  int64_t k_end = h->causal ? MIN (h->Nk, i0 + tq) : h->Nk;
  for (int64_t j0 = 0; j0 < k_end; j0 += BK)
    {
      int64_t tk = MIN (BK, k_end - j0);
      scores (h, i0, tq, j0, tk, S);
      for (int64_t i = 0; i < tq; i++)
        {
          int64_t n = visible (h, i0 + i, j0, tk);
          if (n <= 0)
            continue;
          const float *s = S + i * tk;
          float mx = st[i].m;
#pragma omp simd reduction(max : mx)
          for (int64_t j = 0; j < n; j++)
            mx = s[j] > mx ? s[j] : mx;
          float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
          for (int64_t j = 0; j < n; j++)
            sum += sc_cpu_expf (s[j] - mx);
          l[i] = (l[i] > 0.0f ? l[i] * sc_cpu_expf (st[i].m - mx) : 0.0f) + sum;
          st[i].m = mx;
        }
    }
  for (int64_t i = 0; i < tq; i++)
    {
      /* Every row sees key 0 (Nk >= 1), so l >= 1. */
      st[i].inv_l = 1.0f / l[i];
      const float *o = h->out + (i0 + i) * h->os, *go = h->dout + (i0 + i) * h->os;
      float D = 0.0f;
#pragma omp simd reduction(+ : D)
      for (int64_t c = 0; c < h->d; c++)
        D += go[c] * o[c];
      st[i].D = D;
    }
}

/* P[tq, tk] = exp(S − m) / l for queries [i0, i0 + tq) and keys [j0, j0 + tk); masked entries 0. */
SC_CPU_CLONES static void
probs (const Head *h, int64_t i0, int64_t tq, int64_t j0, int64_t tk, float *P)
{
  scores (h, i0, tq, j0, tk, P);
  for (int64_t i = 0; i < tq; i++)
    {
      float *p = P + i * tk;
      float m = h->st[i0 + i].m, inv_l = h->st[i0 + i].inv_l;
      int64_t n = visible (h, i0 + i, j0, tk);
#pragma omp simd
      for (int64_t j = 0; j < n; j++)
        p[j] = sc_cpu_expf (p[j] - m) * inv_l;
      for (int64_t j = n; j < tk; j++)
        p[j] = 0.0f;
    }
}

/* dS[tq, tk] = P ⊙ (dO Vᵀ − D) (masked entries stay 0 because P is 0 there). */
SC_CPU_CLONES static void
dscores (const Head *h, int64_t i0, int64_t tq, int64_t j0, int64_t tk, const float *P, float *dS)
{
  sc_cpu_gemm_serial (false, true, tq, tk, h->d, 1.0f, h->dout + i0 * h->os, h->os, h->v + j0 * h->kvs, h->kvs,
                      0.0f, dS, tk);
  for (int64_t i = 0; i < tq; i++)
    {
      float D = h->st[i0 + i].D;
      const float *p = P + i * tk;
      float *ds = dS + i * tk;
#pragma omp simd
      for (int64_t j = 0; j < tk; j++)
        ds[j] = p[j] * (ds[j] - D);
    }
}

/* Phase 1: statistics of queries [i0, i0 + tq), then dQ[i0..] += scale · dS K over the visible keys. */
static void
query_block (const Head *h, int64_t i0, int64_t tq, float *P, float *dS)
{
  row_stats (h, i0, tq, P);
  if (!h->dq)
    return;
  int64_t k_end = h->causal ? MIN (h->Nk, i0 + tq) : h->Nk;
  for (int64_t j0 = 0; j0 < k_end; j0 += BK)
    {
      int64_t tk = MIN (BK, k_end - j0);
      probs (h, i0, tq, j0, tk, P);
      dscores (h, i0, tq, j0, tk, P, dS);
      sc_cpu_gemm_serial (false, false, tq, h->d, tk, h->scale, dS, tk, h->k + j0 * h->kvs, h->kvs, 1.0f,
                          h->dq + i0 * h->qs, h->qs);
    }
}

/* Phase 2: dV[j0..] += Pᵀ dO and dK[j0..] += scale · dSᵀ Q over the query blocks that see keys
 * [j0, j0 + tk), in increasing order. */
static void
key_block (const Head *h, int64_t j0, int64_t tk, float *P, float *dS)
{
  /* Causal: query i sees key j0 only from i = j0 on. */
  int64_t q_begin = h->causal ? j0 / BQ * BQ : 0;
  for (int64_t i0 = q_begin; i0 < h->Nq; i0 += BQ)
    {
      int64_t tq = MIN (BQ, h->Nq - i0);
      probs (h, i0, tq, j0, tk, P);
      if (h->dv)
        sc_cpu_gemm_serial (true, false, tk, h->d, tq, 1.0f, P, tk, h->dout + i0 * h->os, h->os, 1.0f,
                            h->dv + j0 * h->kvs, h->kvs);
      if (h->dk)
        {
          dscores (h, i0, tq, j0, tk, P, dS);
          sc_cpu_gemm_serial (true, false, tk, h->d, tq, h->scale, dS, tk, h->q + i0 * h->qs, h->qs, 1.0f,
                              h->dk + j0 * h->kvs, h->kvs);
        }
    }
}

static Head
head_at (const float *q, const float *k, const float *v, const float *out, const float *dout, float *dq,
         float *dk, float *dv, RowStats *st, int64_t b, int64_t hd, int heads, int64_t Nq, int64_t Nk,
         int64_t d, int64_t qs, int64_t kvs, int64_t os, float scale, bool causal)
{
  int64_t qo = b * Nq * qs + hd * d, kvo = b * Nk * kvs + hd * d, oo = b * Nq * os + hd * d;
  return (Head) { .q = q + qo, .k = k + kvo, .v = v + kvo, .out = out + oo, .dout = dout + oo,
                  .dq = dq ? dq + qo : NULL, .dk = dk ? dk + kvo : NULL, .dv = dv ? dv + kvo : NULL,
                  .st = st + (b * heads + hd) * Nq, .Nq = Nq, .Nk = Nk, .d = d, .qs = qs, .kvs = kvs,
                  .os = os, .scale = scale, .causal = causal };
}

void
sc_cpu_attention_backward (const float *q, const float *k, const float *v, const float *out,
                           const float *dout, float *dq, float *dk, float *dv, int64_t B, int64_t Nq,
                           int64_t Nk, int heads, int64_t head_dim, int64_t q_stride, int64_t kv_stride,
                           int64_t out_stride, float scale, bool causal)
{
  /* No keys: the forward's output is 0 whatever the inputs, so every gradient is 0. */
  if (B <= 0 || Nq <= 0 || Nk <= 0 || heads <= 0 || head_dim <= 0 || (!dq && !dk && !dv))
    return;
  int64_t d = head_dim, BH = B * heads;
  int64_t qblocks = (Nq + BQ - 1) / BQ, kblocks = (Nk + BK - 1) / BK;
  RowStats *st = g_new (RowStats, (size_t) (BH * Nq));
  bool need_keys = dk || dv;
  int saved;
  sc_cpu_blas_serial_begin (&saved);
  /* Up to eight products of Nq × Nk × d per head. */
  gboolean par = 8.0 * (double) BH * (double) Nq * (double) Nk * (double) d >= SC_CPU_MIN_PARALLEL_MACS;
#pragma omp parallel if (par)
  {
    float *P = sc_alloc_floats ((size_t) (BQ * BK), NULL);
    float *dS = sc_alloc_floats ((size_t) (BQ * BK), NULL);
#pragma omp for schedule(dynamic, 1)
    for (int64_t u = 0; u < BH * qblocks; u++)
      {
        int64_t t = u % qblocks, bh = u / qblocks;
        Head h = head_at (q, k, v, out, dout, dq, dk, dv, st, bh / heads, bh % heads, heads, Nq, Nk, d, q_stride,
                          kv_stride, out_stride, scale, causal);
        query_block (&h, t * BQ, MIN (BQ, Nq - t * BQ), P, dS);
      }
    /* The implicit barrier above: phase 2 reads every query's statistics. */
    if (need_keys)
      {
#pragma omp for schedule(dynamic, 1)
        for (int64_t u = 0; u < BH * kblocks; u++)
          {
            int64_t t = u % kblocks, bh = u / kblocks;
            Head h = head_at (q, k, v, out, dout, dq, dk, dv, st, bh / heads, bh % heads, heads, Nq, Nk, d,
                              q_stride, kv_stride, out_stride, scale, causal);
            key_block (&h, t * BK, MIN (BK, Nk - t * BK), P, dS);
          }
      }
    sc_free_floats (P);
    sc_free_floats (dS);
  }
  sc_cpu_blas_serial_end (saved);
  g_free (st);
}
