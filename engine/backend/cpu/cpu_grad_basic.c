/* Backward passes of the simple ops, and the AdamW step. Every gradient is ADDED into its buffer (a tensor
 * that feeds two ops sums both gradients); a NULL buffer skips its work.
 *
 * Reductions (bias, gamma and beta gradients, norm statistics) are summed in double over chunks whose
 * boundaries depend only on the shape, and the chunk partials are added in chunk order: results are the
 * same for any thread count. */
#include "backend/cpu/cpu_grad_basic.h"
#include "backend/cpu/cpu_kernels.h"

#include <omp.h>

/* Pixels per chunk of the per-channel gradient sums (fixed by the shape: thread-count independent). */
#define GN_CHUNK 128

/* Flat elementwise loops are threaded in chunks of this many floats (a multiple of 16). */
#define CHUNK 16384
/* Rows per partial sum in column reductions (bias gradients, layer norm's gamma/beta). */
#define ROW_CHUNK 64
/* Pixels per partial sum in group_norm; the same chunking as the forward's statistics (cpu_norm.c). */

/* ---- scalar derivatives (the forward's math in cpu_elementwise.c) ---- */

static inline __attribute__ ((always_inline)) float
sigmoid1 (float x)
{
  return 1.0f / (1.0f + sc_cpu_expf (-x));
}

/* d/dx x·σ(x) = σ(x) (1 + x (1 − σ(x))) */
static inline __attribute__ ((always_inline)) float
dsilu1 (float x)
{
  float s = sigmoid1 (x);
  return s * (1.0f + x * (1.0f - s));
}

/* d/dx x·σ(1.702 x) = σ + 1.702 x σ (1 − σ) */
static inline __attribute__ ((always_inline)) float
dquick_gelu1 (float x)
{
  float s = sigmoid1 (1.702f * x);
  return s + 1.702f * x * s * (1.0f - s);
}

/* Φ(x) = 0.5 erfc(−x/√2): gelu(x) = x Φ(x), gelu'(x) = Φ(x) + x φ(x). */
static inline __attribute__ ((always_inline)) float
phi_cdf1 (float x)
{
  return 0.5f * sc_cpu_erfc (-x * 0.70710678118654752f);
}

static inline __attribute__ ((always_inline)) float
dgelu1 (float x)
{
  return phi_cdf1 (x) + x * 0.39894228040143268f * sc_cpu_expf (-0.5f * x * x);
}

/* ---- column sums: out[n] += Σ_r a[r, n] ---- */

SC_CPU_CLONES static void
colsum_chunk (const float *a, int64_t rows, int64_t N, double *acc)
{
  for (int64_t n = 0; n < N; n++)
    acc[n] = 0.0;
  for (int64_t r = 0; r < rows; r++)
    {
      const float *row = a + r * N;
#pragma omp simd
      for (int64_t n = 0; n < N; n++)
        acc[n] += (double) row[n];
    }
}

static void
colsum_add (const float *a, int64_t rows, int64_t N, float *out)
{
  if (rows <= 0 || N <= 0)
    return;
  int64_t nchunks = (rows + ROW_CHUNK - 1) / ROW_CHUNK;
  double *part = g_new (double, (size_t) (nchunks * N));
#pragma omp parallel for if (rows * N > SC_CPU_MIN_PARALLEL)
  for (int64_t k = 0; k < nchunks; k++)
    colsum_chunk (a + k * ROW_CHUNK * N, MIN (ROW_CHUNK, rows - k * ROW_CHUNK), N, part + k * N);
  /* Chunk order, whatever thread computed each chunk. */
  for (int64_t k = 1; k < nchunks; k++)
    for (int64_t n = 0; n < N; n++)
      part[n] += part[k * N + n];
  for (int64_t n = 0; n < N; n++)
    out[n] += (float) part[n];
  g_free (part);
}

/* ---- linear ---- */

void
sc_cpu_linear_backward (const float *x, const float *w, const float *dy, float *dx, float *dw, float *dbias,
                        int64_t M, int64_t K, int64_t N)
{
  /* beta = 1: sgemm adds onto the existing gradient. */
  if (dx)
    sc_cpu_gemm (false, false, M, K, N, 1.0f, dy, N, w, K, 1.0f, dx, K); /* dx[M,K] += dy[M,N] W[N,K] */
  if (dw)
    sc_cpu_gemm (true, false, N, K, M, 1.0f, dy, N, x, K, 1.0f, dw, K); /* dw[N,K] += dyᵀ[N,M] x[M,K] */
  if (dbias)
    colsum_add (dy, M, N, dbias);
}

/* ---- elementwise ---- */

SC_CPU_CLONES static void
unary_backward_range (ScUnaryOp op, const float *x, const float *dy, float *dx, int64_t n)
{
  switch (op)
    {
    case SC_UNARY_SILU:
#pragma omp simd
      for (int64_t i = 0; i < n; i++)
        dx[i] += dy[i] * dsilu1 (x[i]);
      break;
    case SC_UNARY_GELU:
#pragma omp simd
      for (int64_t i = 0; i < n; i++)
        dx[i] += dy[i] * dgelu1 (x[i]);
      break;
    case SC_UNARY_QUICK_GELU:
#pragma omp simd
      for (int64_t i = 0; i < n; i++)
        dx[i] += dy[i] * dquick_gelu1 (x[i]);
      break;
    default:
      g_return_if_reached ();
    }
}

void
sc_cpu_unary_backward (ScUnaryOp op, const float *x, const float *dy, float *dx, int64_t n)
{
  if (!dx)
    return;
  int64_t chunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for if (n > SC_CPU_MIN_PARALLEL)
  for (int64_t c = 0; c < chunks; c++)
    {
      int64_t i0 = c * CHUNK;
      unary_backward_range (op, x + i0, dy + i0, dx + i0, MIN (CHUNK, n - i0));
    }
}

/* y = a · gelu(g) with a = x[:, :C], g = x[:, C:]: da = dy gelu(g), dg = dy a gelu'(g). */
SC_CPU_CLONES static void
geglu_backward_row (const float *x, const float *dy, float *dx, int64_t C)
{
  const float *gate = x + C;
#pragma omp simd
  for (int64_t i = 0; i < C; i++)
    {
      float g = gate[i];
      dx[i] += dy[i] * (g * phi_cdf1 (g));
      dx[C + i] += dy[i] * x[i] * dgelu1 (g);
    }
}

void
sc_cpu_geglu_backward (const float *x, const float *dy, float *dx, int64_t rows, int64_t C)
{
  if (!dx)
    return;
#pragma omp parallel for if (rows * C > SC_CPU_MIN_PARALLEL)
  for (int64_t r = 0; r < rows; r++)
    geglu_backward_row (x + r * 2 * C, dy + r * C, dx + r * 2 * C, C);
}

/* ---- group norm ----
 * With x̂ = (x − μ) r (per batch item and group, r = 1/√(var + eps)), z = γ x̂ + β, y = silu(z) or z:
 *   dz = dy · silu'(z) (or dy);  dβ += Σ dz;  dγ += Σ dz x̂;
 *   dx = r (γ dz − mean(γ dz) − x̂ mean(γ dz x̂))   (means over the group's HW·C/groups values).
 * The group means come from the per-channel sums Σ dz and Σ dz x̂ that dγ and dβ need anyway. */

/* Per-channel Σ dz and Σ dz x̂ over npix pixels into out[0, C) and out[C, 2C). */
SC_CPU_CLONES static void
gn_grad_sums_chunk (const float *x, const float *dy, int64_t npix, int64_t C, const float *mean,
                    const float *rstd, const float *gamma, const float *beta, bool silu, double *out)
{
  double *sdz = out, *sdzx = out + C;
  for (int64_t c = 0; c < C; c++)
    sdz[c] = sdzx[c] = 0.0;
  for (int64_t p = 0; p < npix; p++)
    {
      const float *xr = x + p * C, *dyr = dy + p * C;
#pragma omp simd
      for (int64_t c = 0; c < C; c++)
        {
          float xh = (xr[c] - mean[c]) * rstd[c];
          float dz = silu ? dyr[c] * dsilu1 (xh * gamma[c] + beta[c]) : dyr[c];
          sdz[c] += (double) dz;
          sdzx[c] += (double) dz * (double) xh;
        }
    }
}

SC_CPU_CLONES static void
gn_dx_row (const float *x, const float *dy, float *dx, int64_t C, const float *mean, const float *rstd,
           const float *gamma, const float *beta, bool silu, const float *m1, const float *m2)
{
#pragma omp simd
  for (int64_t c = 0; c < C; c++)
    {
      float xh = (x[c] - mean[c]) * rstd[c];
      float dz = silu ? dy[c] * dsilu1 (xh * gamma[c] + beta[c]) : dy[c];
      dx[c] += rstd[c] * (gamma[c] * dz - m1[c] - xh * m2[c]);
    }
}

void
sc_cpu_group_norm_backward (const float *x, const float *dy, float *dx, int64_t B, int64_t HW, int64_t C,
                            int groups, const float *gamma, const float *beta, float eps, bool silu,
                            float *dgamma, float *dbeta)
{
  g_return_if_fail (groups > 0 && C % groups == 0);
  if ((!dx && !dgamma && !dbeta) || B <= 0 || HW <= 0)
    return;
  int64_t nchunks = (HW + GN_CHUNK - 1) / GN_CHUNK;
  int64_t cg = C / groups;
  double count = (double) HW * (double) cg;
  gboolean par = HW * C > SC_CPU_MIN_PARALLEL;
  /* Per-channel copies of the group statistics and of γ, β (NULL = 1, 0) keep the inner loops flat. */
  float *mean = g_new (float, (size_t) C), *rstd = g_new (float, (size_t) C);
  float *gm = g_new (float, (size_t) C), *bt = g_new (float, (size_t) C);
  float *m1 = g_new (float, (size_t) C), *m2 = g_new (float, (size_t) C);
  double *gmean = g_new (double, (size_t) groups), *grstd = g_new (double, (size_t) groups);
  double *part = g_new (double, (size_t) (nchunks * 2 * C));
  double *dg_acc = g_new0 (double, (size_t) C), *db_acc = g_new0 (double, (size_t) C);
  for (int64_t c = 0; c < C; c++)
    {
      gm[c] = gamma ? gamma[c] : 1.0f;
      bt[c] = beta ? beta[c] : 0.0f;
    }

  for (int64_t b = 0; b < B; b++)
    {
      const float *xb = x + b * HW * C, *dyb = dy + b * HW * C;

      /* Statistics as the forward computes them. */
      sc_cpu_gn_stats (xb, HW, C, groups, eps, gmean, grstd);
      for (int64_t c = 0; c < C; c++)
        {
          mean[c] = (float) gmean[c / cg];
          rstd[c] = (float) grstd[c / cg];
        }

      /* Per-channel Σ dz and Σ dz x̂, chunk partials added in chunk order. */
#pragma omp parallel for if (par)
      for (int64_t k = 0; k < nchunks; k++)
        gn_grad_sums_chunk (xb + k * GN_CHUNK * C, dyb + k * GN_CHUNK * C,
                            MIN (GN_CHUNK, HW - k * GN_CHUNK), C, mean, rstd, gm, bt, silu,
                            part + k * 2 * C);
      for (int64_t k = 1; k < nchunks; k++)
        for (int64_t c = 0; c < 2 * C; c++)
          part[c] += part[k * 2 * C + c];
      for (int64_t c = 0; c < C; c++)
        {
          db_acc[c] += part[c];
          dg_acc[c] += part[C + c];
        }
      if (!dx)
        continue;

      for (int g = 0; g < groups; g++)
        {
          double a = 0.0, s = 0.0;
          for (int64_t c = g * cg; c < (g + 1) * cg; c++)
            {
              a += (double) gm[c] * part[c];
              s += (double) gm[c] * part[C + c];
            }
          for (int64_t c = g * cg; c < (g + 1) * cg; c++)
            {
              m1[c] = (float) (a / count);
              m2[c] = (float) (s / count);
            }
        }
      float *dxb = dx + b * HW * C;
#pragma omp parallel for if (par)
      for (int64_t p = 0; p < HW; p++)
        gn_dx_row (xb + p * C, dyb + p * C, dxb + p * C, C, mean, rstd, gm, bt, silu, m1, m2);
    }

  for (int64_t c = 0; c < C; c++)
    {
      if (dgamma)
        dgamma[c] += (float) dg_acc[c];
      if (dbeta)
        dbeta[c] += (float) db_acc[c];
    }
  g_free (mean);
  g_free (rstd);
  g_free (gm);
  g_free (bt);
  g_free (m1);
  g_free (m2);
  g_free (gmean);
  g_free (grstd);
  g_free (part);
  g_free (dg_acc);
  g_free (db_acc);
}

/* ---- layer norm ----
 * Per row, x̂ = (x − μ) r: dx = r (γ dy − mean(γ dy) − x̂ mean(γ dy x̂)); dγ += Σ_rows dy x̂, dβ += Σ_rows dy.
 * Statistics in double (the forward's f32 ones agree to rounding). */

SC_CPU_CLONES static void
ln_backward_row (const float *x, const float *dy, float *dx, int64_t C, const float *gamma, float eps,
                 double *pg, double *pb)
{
  double s = 0.0;
  for (int64_t c = 0; c < C; c++)
    s += (double) x[c];
  double mu = s / (double) C, v = 0.0;
  for (int64_t c = 0; c < C; c++)
    v += ((double) x[c] - mu) * ((double) x[c] - mu);
  float mean = (float) mu, rstd = (float) (1.0 / sqrt (v / (double) C + (double) eps));
  if (pg || pb)
    {
#pragma omp simd
      for (int64_t c = 0; c < C; c++)
        {
          float xh = (x[c] - mean) * rstd;
          if (pg)
            pg[c] += (double) dy[c] * (double) xh;
          if (pb)
            pb[c] += (double) dy[c];
        }
    }
  if (!dx)
    return;
  double a = 0.0, b = 0.0;
  for (int64_t c = 0; c < C; c++)
    {
      double g = gamma ? (double) gamma[c] : 1.0;
      double xh = (double) ((x[c] - mean) * rstd);
      a += g * (double) dy[c];
      b += g * (double) dy[c] * xh;
    }
  float m1 = (float) (a / (double) C), m2 = (float) (b / (double) C);
#pragma omp simd
  for (int64_t c = 0; c < C; c++)
    {
      float g = gamma ? gamma[c] : 1.0f;
      float xh = (x[c] - mean) * rstd;
      dx[c] += rstd * (g * dy[c] - m1 - xh * m2);
    }
}

void
sc_cpu_layer_norm_backward (const float *x, const float *dy, float *dx, int64_t rows, int64_t C,
                            const float *gamma, float eps, float *dgamma, float *dbeta)
{
  if ((!dx && !dgamma && !dbeta) || rows <= 0 || C <= 0)
    return;
  int64_t nchunks = (rows + ROW_CHUNK - 1) / ROW_CHUNK;
  /* Per chunk of rows: partial dγ in [0, C), dβ in [C, 2C). */
  double *part = (dgamma || dbeta) ? g_new0 (double, (size_t) (nchunks * 2 * C)) : NULL;
#pragma omp parallel for if (rows * C > SC_CPU_MIN_PARALLEL)
  for (int64_t k = 0; k < nchunks; k++)
    for (int64_t r = k * ROW_CHUNK; r < MIN (rows, (k + 1) * ROW_CHUNK); r++)
      ln_backward_row (x + r * C, dy + r * C, dx ? dx + r * C : NULL, C, gamma, eps,
                       dgamma ? part + k * 2 * C : NULL, dbeta ? part + k * 2 * C + C : NULL);
  if (!part)
    return;
  for (int64_t k = 1; k < nchunks; k++)
    for (int64_t c = 0; c < 2 * C; c++)
      part[c] += part[k * 2 * C + c];
  for (int64_t c = 0; c < C; c++)
    {
      if (dgamma)
        dgamma[c] += (float) part[c];
      if (dbeta)
        dbeta[c] += (float) part[C + c];
    }
  g_free (part);
}

/* ---- copies ---- */

void
sc_cpu_upsample_nearest2x_backward (const float *dy, float *dx, int64_t B, int64_t H, int64_t W, int64_t C)
{
  if (!dx)
    return;
#pragma omp parallel for collapse(2) if (B * H * W * C > SC_CPU_MIN_PARALLEL)
  for (int64_t b = 0; b < B; b++)
    for (int64_t i = 0; i < H; i++)
      {
        const float *r0 = dy + (b * 2 * H + 2 * i) * 2 * W * C, *r1 = r0 + 2 * W * C;
        float *d = dx + (b * H + i) * W * C;
        for (int64_t j = 0; j < W; j++)
          {
            const float *a0 = r0 + 2 * j * C, *a1 = a0 + C, *b0 = r1 + 2 * j * C, *b1 = b0 + C;
            float *dj = d + j * C;
#pragma omp simd
            for (int64_t c = 0; c < C; c++)
              dj[c] += (a0[c] + a1[c]) + (b0[c] + b1[c]);
          }
      }
}

void
sc_cpu_concat_last_backward (const float *dy, float *da, int64_t Ca, float *db, int64_t Cb, int64_t rows)
{
  if (!da && !db)
    return;
#pragma omp parallel for if (rows * (Ca + Cb) > SC_CPU_MIN_PARALLEL)
  for (int64_t r = 0; r < rows; r++)
    {
      const float *src = dy + r * (Ca + Cb);
      if (da)
        {
#pragma omp simd
          for (int64_t c = 0; c < Ca; c++)
            da[r * Ca + c] += src[c];
        }
      if (db)
        {
#pragma omp simd
          for (int64_t c = 0; c < Cb; c++)
            db[r * Cb + c] += src[Ca + c];
        }
    }
}

void
sc_cpu_add_bias_per_batch_backward (const float *dy, float *dbias, int64_t B, int64_t HW, int64_t C)
{
  if (!dbias)
    return;
  for (int64_t b = 0; b < B; b++)
    colsum_add (dy + b * HW * C, HW, C, dbias + b * C);
}

/* ---- AdamW, as torch.optim.AdamW's single-tensor path ----
 * p *= 1 − lr·wd; m += (1 − β1)(g − m)  (torch's lerp); v = β2 v + (1 − β2) g²;
 * p −= (lr / bc1) · m / (√v / √bc2 + eps), with bc = 1 − β^step computed in double like Python floats. */

SC_CPU_CLONES static void
adamw_range (float *p, const float *g, float *m, float *v, int64_t n, float decay, float a1, float beta2,
             float a2, float step_size, float bc2_sqrt, float eps)
{
#pragma omp simd
  for (int64_t i = 0; i < n; i++)
    {
      float gi = g[i];
      float pi = p[i] * decay;
      float mi = m[i] + a1 * (gi - m[i]);
      float vi = v[i] * beta2 + a2 * gi * gi;
      float denom = sqrtf (vi) / bc2_sqrt + eps;
      p[i] = pi - step_size * (mi / denom);
      m[i] = mi;
      v[i] = vi;
    }
}

void
sc_cpu_adamw_step (float *p, const float *g, float *m, float *v, int64_t n, float lr, float beta1, float beta2,
                   float eps, float weight_decay, int64_t step)
{
  g_return_if_fail (step >= 1);
  double bc1 = 1.0 - pow ((double) beta1, (double) step);
  double bc2 = 1.0 - pow ((double) beta2, (double) step);
  float decay = (float) (1.0 - (double) lr * (double) weight_decay);
  float step_size = (float) ((double) lr / bc1);
  float bc2_sqrt = (float) sqrt (bc2);
  float a1 = (float) (1.0 - (double) beta1), a2 = (float) (1.0 - (double) beta2);
  int64_t chunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for if (n > SC_CPU_MIN_PARALLEL)
  for (int64_t c = 0; c < chunks; c++)
    {
      int64_t i0 = c * CHUNK;
      adamw_range (p + i0, g + i0, m + i0, v + i0, MIN (CHUNK, n - i0), decay, a1, beta2, a2, step_size,
                   bc2_sqrt, eps);
    }
}
