/* GroupNorm and LayerNorm. GroupNorm statistics are shifted sums in double (sum of x - K and of (x - K)^2
 * with K a value from the group, so there is no cancellation when |mean| >> std), accumulated over chunks
 * whose boundaries depend only on the shape: the result is the same for any thread count. */
#include "backend/cpu/cpu_kernels.h"

#include <omp.h>

/* Pixels per statistics chunk in group_norm. */
#define GN_CHUNK 128

/* Per-channel shifted sums over npix pixels (vectorised across channels), then folded to groups:
 * out[g] = sum (x - K), out[groups + g] = sum (x - K)^2. acc holds 2C doubles of scratch. */
SC_CPU_CLONES static void
gn_sum_chunk (const float *x, int64_t npix, int64_t C, int groups, const float *shift, double *acc,
              double *out)
{
  double *s1 = acc, *s2 = acc + C;
  for (int64_t c = 0; c < C; c++)
    s1[c] = s2[c] = 0.0;
  for (int64_t p = 0; p < npix; p++)
    {
      const float *row = x + p * C;
#pragma omp simd
      for (int64_t c = 0; c < C; c++)
        {
          double v = (double) (row[c] - shift[c]);
          s1[c] += v;
          s2[c] += v * v;
        }
    }
  int64_t cg = C / groups;
  for (int g = 0; g < groups; g++)
    {
      double a = 0.0, b = 0.0;
      for (int64_t c = g * cg; c < (g + 1) * cg; c++)
        {
          a += s1[c];
          b += s2[c];
        }
      out[g] = a;
      out[groups + g] = b;
    }
}

SC_CPU_CLONES static void
gn_apply_row (const float *x, float *y, int64_t C, const float *scale, const float *shift, bool silu)
{
#pragma omp simd
  for (int64_t c = 0; c < C; c++)
    y[c] = x[c] * scale[c] + shift[c];
  if (silu)
    sc_cpu_silu_row (y, y, C);
}

void
sc_cpu_gn_stats (const float *xb, int64_t HW, int64_t C, int groups, float eps, double *mean, double *rstd)
{
  int64_t nchunks = (HW + GN_CHUNK - 1) / GN_CHUNK;
  int64_t cg = C / groups;
  double count = (double) HW * (double) cg;
  double *part = g_new (double, (size_t) (nchunks * 2 * groups));
  float *kshift = g_new (float, (size_t) C);
  for (int64_t c = 0; c < C; c++)
    kshift[c] = xb[(c / cg) * cg];
#pragma omp parallel if (HW * C > SC_CPU_MIN_PARALLEL)
  {
    double *acc = g_new (double, (size_t) (2 * C));
#pragma omp for
    for (int64_t k = 0; k < nchunks; k++)
      gn_sum_chunk (xb + k * GN_CHUNK * C, MIN (GN_CHUNK, HW - k * GN_CHUNK), C, groups, kshift, acc,
                    part + k * 2 * groups);
    g_free (acc);
  }
  for (int g = 0; g < groups; g++)
    {
      double s1 = 0.0, s2 = 0.0;
      for (int64_t k = 0; k < nchunks; k++)
        {
          s1 += part[k * 2 * groups + g];
          s2 += part[k * 2 * groups + groups + g];
        }
      double dm = s1 / count; /* mean - K */
      double var = MAX (s2 / count - dm * dm, 0.0);
      mean[g] = (double) kshift[g * cg] + dm;
      rstd[g] = 1.0 / sqrt (var + (double) eps);
    }
  g_free (part);
  g_free (kshift);
}

void
sc_cpu_group_norm (const float *x, float *y, int64_t B, int64_t HW, int64_t C, int groups,
                   const float *gamma, const float *beta, float eps, bool silu)
{
  g_return_if_fail (groups > 0 && C % groups == 0);
  int64_t cg = C / groups;
  double *mean = g_new (double, (size_t) groups), *rstd = g_new (double, (size_t) groups);
  /* Per-channel affine folded with the statistics: y = x * scale + shift. */
  float *scale = g_new (float, (size_t) C);
  float *shift = g_new (float, (size_t) C);
  gboolean par = HW * C > SC_CPU_MIN_PARALLEL;

  for (int64_t b = 0; b < B; b++)
    {
      const float *xb = x + b * HW * C;
      float *yb = y + b * HW * C;
      sc_cpu_gn_stats (xb, HW, C, groups, eps, mean, rstd);
      for (int g = 0; g < groups; g++)
        for (int64_t c = g * cg; c < (g + 1) * cg; c++)
          {
            double gm = gamma ? gamma[c] : 1.0;
            double bt = beta ? beta[c] : 0.0;
            scale[c] = (float) (gm * rstd[g]);
            shift[c] = (float) (bt - mean[g] * gm * rstd[g]);
          }
#pragma omp parallel for if (par)
      for (int64_t p = 0; p < HW; p++)
        gn_apply_row (xb + p * C, yb + p * C, C, scale, shift, silu);
    }
  g_free (mean);
  g_free (rstd);
  g_free (scale);
  g_free (shift);
}

SC_CPU_CLONES static void
ln_row (const float *x, float *y, int64_t C, const float *gamma, const float *beta, float eps)
{
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int64_t c = 0; c < C; c++)
    s += x[c];
  float mean = s / (float) C;
  float v = 0.0f;
#pragma omp simd reduction(+ : v)
  for (int64_t c = 0; c < C; c++)
    v += (x[c] - mean) * (x[c] - mean);
  float inv = 1.0f / sqrtf (v / (float) C + eps);
#pragma omp simd
  for (int64_t c = 0; c < C; c++)
    {
      float g = gamma ? gamma[c] : 1.0f;
      float bt = beta ? beta[c] : 0.0f;
      y[c] = (x[c] - mean) * inv * g + bt;
    }
}

void
sc_cpu_layer_norm (const float *x, float *y, int64_t rows, int64_t C,
                   const float *gamma, const float *beta, float eps)
{
#pragma omp parallel for if (rows * C > SC_CPU_MIN_PARALLEL)
  for (int64_t r = 0; r < rows; r++)
    ln_row (x + r * C, y + r * C, C, gamma, beta, eps);
}
