/* Backward passes of the simple CPU ops (cpu_grad_basic.c), through the op table, and the AdamW step.
 *
 * For every op, with dL/dy = r for a fixed random r (L = Σ r·y):
 *  - exact reference: a plain double-precision loop of the backward; max rel error <= 1e-5 (f32 kernels
 *    against float64: a few roundings per value plus sums of up to ~2000 terms);
 *  - finite differences: (L(x+h) − L(x−h)) / (x+h − x−h), L summed in double over the f32 forward's output,
 *    with the actual f32 perturbation in the denominator. All coordinates on a tiny case, 40 sampled
 *    coordinates per tensor on a size above the threading thresholds. The error is |fd − grad| / max|grad|;
 *    tolerances are stated per case (see FD_*);
 *  - accumulation: two calls into zeroed buffers give 2×, one call into random buffers gives start + grad;
 *  - NULL gradient pointers: asking for one gradient alone gives exactly the same values;
 *  - 1 and 2 threads give bitwise identical gradients. */
#include "backend/backend.h"
#include "backend/cpu/cpu_grad_basic.h"
#include "core/parallel.h"
#include "test-util.h"

#include <glib.h>
#include <math.h>
#include <string.h>

/* Finite-difference steps and tolerances. Rounding noise in L is ~1e-7 relative per output value that
 * changes; it is divided by 2h, and a smooth op adds a truncation error ~h²|f'''|/6.
 *  - Linear maps (linear, copies, bias): no truncation error, so a large h = 0.25 leaves only rounding:
 *    errors ~1e-5; tolerance 1e-3.
 *  - Smooth nonlinear ops (activations, norms): h = 1e-2 balances truncation (~2e-5) against rounding
 *    divided by 0.02 (norms: the group's statistics move every output of the group, and the forward's f32
 *    scale/shift round differently on each side); tolerance 3e-3 of max|grad|. A wrong formula is off by
 *    O(1). */
#define H_LINEAR 0.25
#define FD_TOL_LINEAR 1e-3
#define H_SMOOTH 1e-2
/* group_norm: one x moves the statistics of a group of up to 38k outputs, and the f32 rounding of the
 * forward's folded scale/shift then shifts them all together: that noise reached 1.1e-3 at h = 1e-2, so a
 * larger h = 3e-2 (truncation ~2e-4, measured worst 2.6e-4). */
#define H_NORM 3e-2
#define FD_TOL_SMOOTH 3e-3
#define REF_TOL 1e-5
#define FD_SAMPLES 40

#define MAXT 3

static const ScBackend *be;
static GRand *rng;

typedef struct Case Case;
struct Case {
  const char *name;
  int n_in;
  float *in[MAXT]; /* inputs that get gradients (the finite differences perturb these) */
  int64_t in_n[MAXT];
  float *aux; /* an input without a gradient (add_bias_per_batch's x) */
  int64_t out_n;
  void (*fwd) (const Case *c, float *y);
  void (*bwd) (const Case *c, const float *dy, float **grads); /* grads[i] may be NULL */
  void (*ref) (const Case *c, const float *dy, double **grads); /* grads zeroed; adds */
  int64_t d0, d1, d2, d3; /* shape, per op */
  int groups;
  bool silu;
  ScUnaryOp op;
  float eps;
  double h, fd_tol;
};

static float *
rand_floats (int64_t n, double lo, double hi)
{
  float *p = g_new (float, (size_t) n);
  for (int64_t i = 0; i < n; i++)
    p[i] = (float) g_rand_double_range (rng, lo, hi);
  return p;
}

static void
case_free (Case *c)
{
  for (int t = 0; t < c->n_in; t++)
    g_free (c->in[t]);
  g_free (c->aux);
}

static double
loss (const Case *c, const float *r, float *y)
{
  c->fwd (c, y);
  double L = 0.0;
  for (int64_t i = 0; i < c->out_n; i++)
    L += (double) r[i] * (double) y[i];
  return L;
}

/* samples 0: every coordinate. */
static void
fd_check (Case *c, int t, const float *r, const float *grad, int samples)
{
  int64_t n = c->in_n[t];
  float *y = g_new (float, (size_t) c->out_n);
  double gmax = 0.0;
  for (int64_t i = 0; i < n; i++)
    gmax = MAX (gmax, fabs ((double) grad[i]));
  g_assert_cmpfloat (gmax, >, 0.0);
  int64_t count = samples > 0 && samples < n ? samples : n;
  double worst = 0.0;
  for (int64_t s = 0; s < count; s++)
    {
      int64_t i = count < n ? (int64_t) g_rand_int_range (rng, 0, (gint32) n) : s;
      float x0 = c->in[t][i];
      float xp = (float) ((double) x0 + c->h), xm = (float) ((double) x0 - c->h);
      c->in[t][i] = xp;
      double lp = loss (c, r, y);
      c->in[t][i] = xm;
      double lm = loss (c, r, y);
      c->in[t][i] = x0;
      double fd = (lp - lm) / ((double) xp - (double) xm);
      worst = MAX (worst, fabs (fd - (double) grad[i]) / gmax);
    }
  g_test_message ("%s: input %d: finite differences at %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
                  " coordinates: max error %.2e of max|grad| (tolerance %.0e)",
                  c->name, t, count, n, worst, c->fd_tol);
  g_assert_cmpfloat (worst, <=, c->fd_tol);
  g_free (y);
}

static float **
zeroed_grads (const Case *c)
{
  float **g = g_new0 (float *, MAXT);
  for (int t = 0; t < c->n_in; t++)
    g[t] = g_new0 (float, (size_t) c->in_n[t]);
  return g;
}

static void
grads_free (const Case *c, float **g)
{
  for (int t = 0; t < c->n_in; t++)
    g_free (g[t]);
  g_free (g);
}

static void
check_case (Case *c, int samples)
{
  float *r = rand_floats (c->out_n, -1.0, 1.0);
  float **g = zeroed_grads (c);
  c->bwd (c, r, g);

  /* Exact reference in double. */
  double *gd[MAXT] = { 0 };
  for (int t = 0; t < c->n_in; t++)
    gd[t] = g_new0 (double, (size_t) c->in_n[t]);
  c->ref (c, r, gd);
  for (int t = 0; t < c->n_in; t++)
    {
      float *rf = g_new (float, (size_t) c->in_n[t]);
      for (int64_t i = 0; i < c->in_n[t]; i++)
        rf[i] = (float) gd[t][i];
      double err = sc_test_max_rel_error (g[t], rf, (size_t) c->in_n[t]);
      g_test_message ("%s: input %d: vs double reference: max rel error %.2e", c->name, t, err);
      g_assert_cmpfloat (err, <=, REF_TOL);
      g_free (rf);
      g_free (gd[t]);
    }

  /* Finite differences. */
  for (int t = 0; t < c->n_in; t++)
    fd_check (c, t, r, g[t], samples);

  /* Accumulation: twice into zeros = 2×; once onto random values = those values + the gradient. */
  float **g2 = zeroed_grads (c);
  c->bwd (c, r, g2);
  c->bwd (c, r, g2);
  float **g3 = g_new0 (float *, MAXT);
  for (int t = 0; t < c->n_in; t++)
    g3[t] = rand_floats (c->in_n[t], -1.0, 1.0);
  float *start[MAXT] = { 0 };
  for (int t = 0; t < c->n_in; t++)
    start[t] = g_memdup2 (g3[t], sizeof (float) * (size_t) c->in_n[t]);
  c->bwd (c, r, g3);
  for (int t = 0; t < c->n_in; t++)
    {
      int64_t n = c->in_n[t];
      float *want = g_new (float, (size_t) n);
      for (int64_t i = 0; i < n; i++)
        want[i] = 2.0f * g[t][i];
      g_assert_cmpfloat (sc_test_max_rel_error (g2[t], want, (size_t) n), <=, 1e-6);
      for (int64_t i = 0; i < n; i++)
        want[i] = start[t][i] + g[t][i];
      g_assert_cmpfloat (sc_test_max_rel_error (g3[t], want, (size_t) n), <=, 1e-6);
      g_free (want);
      g_free (start[t]);
    }
  grads_free (c, g2);
  grads_free (c, g3);

  /* NULL pointers: each gradient alone equals the one computed with all of them; none at all is a no-op. */
  for (int t = 0; t < c->n_in; t++)
    {
      float *only[MAXT] = { 0 };
      only[t] = g_new0 (float, (size_t) c->in_n[t]);
      c->bwd (c, r, only);
      g_assert_cmpmem (only[t], sizeof (float) * (size_t) c->in_n[t], g[t], sizeof (float) * (size_t) c->in_n[t]);
      g_free (only[t]);
    }
  float *none[MAXT] = { 0 };
  c->bwd (c, r, none);

  /* Thread count: 1 and 2 threads, bitwise equal. */
  float **g1t = zeroed_grads (c), **g2t = zeroed_grads (c);
  sc_set_num_threads (1);
  c->bwd (c, r, g1t);
  sc_set_num_threads (2);
  c->bwd (c, r, g2t);
  sc_set_num_threads (0);
  for (int t = 0; t < c->n_in; t++)
    g_assert_cmpmem (g1t[t], sizeof (float) * (size_t) c->in_n[t], g2t[t], sizeof (float) * (size_t) c->in_n[t]);
  grads_free (c, g1t);
  grads_free (c, g2t);

  grads_free (c, g);
  g_free (r);
}

/* ---- linear: d0 = M, d1 = K, d2 = N; inputs x[M,K], w[N,K], bias[N] ---- */

static void
lin_fwd (const Case *c, float *y)
{
  be->linear (c->in[0], c->in[1], c->in[2], y, c->d0, c->d1, c->d2);
}

static void
lin_bwd (const Case *c, const float *dy, float **g)
{
  be->linear_backward (c->in[0], c->in[1], dy, g[0], g[1], g[2], c->d0, c->d1, c->d2);
}

static void
lin_ref (const Case *c, const float *dy, double **g)
{
  int64_t M = c->d0, K = c->d1, N = c->d2;
  const float *x = c->in[0], *w = c->in[1];
  for (int64_t m = 0; m < M; m++)
    for (int64_t n = 0; n < N; n++)
      {
        double d = dy[m * N + n];
        for (int64_t k = 0; k < K; k++)
          {
            g[0][m * K + k] += d * w[n * K + k];
            g[1][n * K + k] += d * x[m * K + k];
          }
        g[2][n] += d;
      }
}

static void
run_linear (int64_t M, int64_t K, int64_t N, int samples)
{
  Case c = { .name = "linear", .n_in = 3, .fwd = lin_fwd, .bwd = lin_bwd, .ref = lin_ref, .d0 = M, .d1 = K,
             .d2 = N, .out_n = M * N, .h = H_LINEAR, .fd_tol = FD_TOL_LINEAR };
  c.in_n[0] = M * K;
  c.in_n[1] = N * K;
  c.in_n[2] = N;
  for (int t = 0; t < 3; t++)
    c.in[t] = rand_floats (c.in_n[t], -1.0, 1.0);
  check_case (&c, samples);
  case_free (&c);
}

static void
test_linear (void)
{
  run_linear (3, 5, 4, 0);
  run_linear (1030, 67, 301, FD_SAMPLES); /* M·N and the GEMMs above the threading thresholds */
}

/* ---- unary: d0 = n ---- */

static void
un_fwd (const Case *c, float *y)
{
  be->unary (c->op, c->in[0], y, c->d0);
}

static void
un_bwd (const Case *c, const float *dy, float **g)
{
  be->unary_backward (c->op, c->in[0], dy, g[0], c->d0);
}

static double
ref_sigmoid (double x)
{
  return 1.0 / (1.0 + exp (-x));
}

static double
ref_dgelu (double x)
{
  return 0.5 * erfc (-x / sqrt (2.0)) + x * exp (-0.5 * x * x) / sqrt (2.0 * G_PI);
}

static void
un_ref (const Case *c, const float *dy, double **g)
{
  for (int64_t i = 0; i < c->d0; i++)
    {
      double x = c->in[0][i], d = 0.0, s;
      switch (c->op)
        {
        case SC_UNARY_SILU:
          s = ref_sigmoid (x);
          d = s * (1.0 + x * (1.0 - s));
          break;
        case SC_UNARY_GELU:
          d = ref_dgelu (x);
          break;
        case SC_UNARY_QUICK_GELU:
          s = ref_sigmoid (1.702 * x);
          d = s + 1.702 * x * s * (1.0 - s);
          break;
        }
      g[0][i] += (double) dy[i] * d;
    }
}

static void
test_unary (void)
{
  static const char *names[] = { "silu", "gelu", "quick_gelu" };
  ScUnaryOp ops[] = { SC_UNARY_SILU, SC_UNARY_GELU, SC_UNARY_QUICK_GELU };
  int64_t sizes[] = { 37, 300007 };
  for (int o = 0; o < 3; o++)
    for (int s = 0; s < 2; s++)
      {
        Case c = { .name = names[o], .n_in = 1, .fwd = un_fwd, .bwd = un_bwd, .ref = un_ref, .d0 = sizes[s],
                   .out_n = sizes[s], .op = ops[o], .h = H_SMOOTH, .fd_tol = FD_TOL_SMOOTH };
        c.in_n[0] = sizes[s];
        c.in[0] = rand_floats (sizes[s], -6.0, 6.0); /* both tails and the curved middle */
        check_case (&c, s == 0 ? 0 : FD_SAMPLES);
        case_free (&c);
      }
}

/* ---- geglu: d0 = rows, d1 = C; x[rows, 2C] ---- */

static void
gg_fwd (const Case *c, float *y)
{
  be->geglu (c->in[0], y, c->d0, c->d1);
}

static void
gg_bwd (const Case *c, const float *dy, float **g)
{
  be->geglu_backward (c->in[0], dy, g[0], c->d0, c->d1);
}

static void
gg_ref (const Case *c, const float *dy, double **g)
{
  int64_t C = c->d1;
  for (int64_t r = 0; r < c->d0; r++)
    for (int64_t i = 0; i < C; i++)
      {
        double a = c->in[0][r * 2 * C + i], gt = c->in[0][r * 2 * C + C + i], d = dy[r * C + i];
        g[0][r * 2 * C + i] += d * gt * 0.5 * erfc (-gt / sqrt (2.0));
        g[0][r * 2 * C + C + i] += d * a * ref_dgelu (gt);
      }
}

static void
test_geglu (void)
{
  int64_t shapes[2][2] = { { 3, 5 }, { 1001, 301 } };
  for (int s = 0; s < 2; s++)
    {
      int64_t rows = shapes[s][0], C = shapes[s][1];
      Case c = { .name = "geglu", .n_in = 1, .fwd = gg_fwd, .bwd = gg_bwd, .ref = gg_ref, .d0 = rows, .d1 = C,
                 .out_n = rows * C, .h = H_SMOOTH, .fd_tol = FD_TOL_SMOOTH };
      c.in_n[0] = rows * 2 * C;
      c.in[0] = rand_floats (c.in_n[0], -4.0, 4.0);
      check_case (&c, s == 0 ? 0 : FD_SAMPLES);
      case_free (&c);
    }
}

/* ---- group norm: d0 = B, d1 = HW, d2 = C; inputs x, gamma, beta ---- */

static void
gn_fwd (const Case *c, float *y)
{
  be->group_norm (c->in[0], y, c->d0, c->d1, c->d2, c->groups, c->in[1], c->in[2], c->eps, c->silu);
}

static void
gn_bwd (const Case *c, const float *dy, float **g)
{
  be->group_norm_backward (c->in[0], dy, g[0], c->d0, c->d1, c->d2, c->groups, c->in[1], c->in[2], c->eps,
                           c->silu, g[1], g[2]);
}

static void
gn_ref (const Case *c, const float *dy, double **g)
{
  int64_t B = c->d0, HW = c->d1, C = c->d2, cg = C / c->groups;
  const float *x = c->in[0], *gm = c->in[1], *bt = c->in[2];
  double cnt = (double) (HW * cg);
  for (int64_t b = 0; b < B; b++)
    for (int grp = 0; grp < c->groups; grp++)
      {
        double mu = 0.0, var = 0.0, m1 = 0.0, m2 = 0.0;
        for (int64_t p = 0; p < HW; p++)
          for (int64_t ch = grp * cg; ch < (grp + 1) * cg; ch++)
            mu += x[(b * HW + p) * C + ch];
        mu /= cnt;
        for (int64_t p = 0; p < HW; p++)
          for (int64_t ch = grp * cg; ch < (grp + 1) * cg; ch++)
            var += (x[(b * HW + p) * C + ch] - mu) * (x[(b * HW + p) * C + ch] - mu);
        double rs = 1.0 / sqrt (var / cnt + (double) c->eps);
        /* Pass 1: dγ, dβ and the two group means of dx̂ and dx̂·x̂. */
        for (int pass = 0; pass < 2; pass++)
          for (int64_t p = 0; p < HW; p++)
            for (int64_t ch = grp * cg; ch < (grp + 1) * cg; ch++)
              {
                int64_t i = (b * HW + p) * C + ch;
                double xh = (x[i] - mu) * rs, z = xh * gm[ch] + bt[ch], dz = dy[i];
                if (c->silu)
                  {
                    double s = ref_sigmoid (z);
                    dz *= s * (1.0 + z * (1.0 - s));
                  }
                if (pass == 0)
                  {
                    g[1][ch] += dz * xh;
                    g[2][ch] += dz;
                    m1 += dz * gm[ch];
                    m2 += dz * gm[ch] * xh;
                  }
                else
                  g[0][i] += rs * (dz * gm[ch] - m1 / cnt - xh * m2 / cnt);
              }
      }
}

static void
run_group_norm (int64_t B, int64_t HW, int64_t C, int groups, bool silu, int samples)
{
  Case c = { .name = silu ? "group_norm+silu" : "group_norm", .n_in = 3, .fwd = gn_fwd, .bwd = gn_bwd,
             .ref = gn_ref, .d0 = B, .d1 = HW, .d2 = C, .groups = groups, .silu = silu, .eps = 1e-5f,
             .out_n = B * HW * C, .h = H_NORM, .fd_tol = FD_TOL_SMOOTH };
  c.in_n[0] = B * HW * C;
  c.in_n[1] = c.in_n[2] = C;
  c.in[0] = rand_floats (c.in_n[0], -1.5, 2.5); /* mean 0.5: the statistics' shift matters */
  c.in[1] = rand_floats (C, 0.5, 1.5);
  c.in[2] = rand_floats (C, -0.5, 0.5);
  check_case (&c, samples);
  case_free (&c);
}

static void
test_group_norm (void)
{
  for (int s = 0; s < 2; s++)
    {
      bool silu = s == 1;
      run_group_norm (2, 3, 6, 2, silu, 0);
      run_group_norm (1, 77, 96, 32, silu, FD_SAMPLES);      /* SD's 32 groups */
      run_group_norm (2, 1023, 185, 5, silu, FD_SAMPLES);    /* threaded, chunked over 8 pixel blocks */
    }
}

/* ---- layer norm: d0 = rows, d1 = C; inputs x, gamma, beta ---- */

static void
ln_fwd (const Case *c, float *y)
{
  be->layer_norm (c->in[0], y, c->d0, c->d1, c->in[1], c->in[2], c->eps);
}

static void
ln_bwd (const Case *c, const float *dy, float **g)
{
  be->layer_norm_backward (c->in[0], dy, g[0], c->d0, c->d1, c->in[1], c->eps, g[1], g[2]);
}

static void
ln_ref (const Case *c, const float *dy, double **g)
{
  int64_t C = c->d1;
  const float *gm = c->in[1];
  for (int64_t r = 0; r < c->d0; r++)
    {
      const float *x = c->in[0] + r * C;
      const float *d = dy + r * C;
      double mu = 0.0, var = 0.0, m1 = 0.0, m2 = 0.0;
      for (int64_t i = 0; i < C; i++)
        mu += x[i];
      mu /= (double) C;
      for (int64_t i = 0; i < C; i++)
        var += (x[i] - mu) * (x[i] - mu);
      double rs = 1.0 / sqrt (var / (double) C + (double) c->eps);
      for (int64_t i = 0; i < C; i++)
        {
          double xh = (x[i] - mu) * rs;
          g[1][i] += d[i] * xh;
          g[2][i] += d[i];
          m1 += d[i] * (double) gm[i];
          m2 += d[i] * (double) gm[i] * xh;
        }
      for (int64_t i = 0; i < C; i++)
        {
          double xh = (x[i] - mu) * rs;
          g[0][r * C + i] += rs * (d[i] * gm[i] - m1 / (double) C - xh * m2 / (double) C);
        }
    }
}

static void
test_layer_norm (void)
{
  int64_t shapes[2][2] = { { 3, 7 }, { 1031, 321 } };
  for (int s = 0; s < 2; s++)
    {
      int64_t rows = shapes[s][0], C = shapes[s][1];
      Case c = { .name = "layer_norm", .n_in = 3, .fwd = ln_fwd, .bwd = ln_bwd, .ref = ln_ref, .d0 = rows,
                 .d1 = C, .eps = 1e-5f, .out_n = rows * C, .h = H_SMOOTH, .fd_tol = FD_TOL_SMOOTH };
      c.in_n[0] = rows * C;
      c.in_n[1] = c.in_n[2] = C;
      c.in[0] = rand_floats (c.in_n[0], -1.5, 2.5);
      c.in[1] = rand_floats (C, 0.5, 1.5);
      c.in[2] = rand_floats (C, -0.5, 0.5);
      check_case (&c, s == 0 ? 0 : FD_SAMPLES);
      case_free (&c);
    }
}

/* ---- upsample: d0..d3 = B, H, W, C ---- */

static void
up_fwd (const Case *c, float *y)
{
  be->upsample_nearest2x (c->in[0], y, c->d0, c->d1, c->d2, c->d3);
}

static void
up_bwd (const Case *c, const float *dy, float **g)
{
  be->upsample_nearest2x_backward (dy, g[0], c->d0, c->d1, c->d2, c->d3);
}

static void
up_ref (const Case *c, const float *dy, double **g)
{
  int64_t B = c->d0, H = c->d1, W = c->d2, C = c->d3;
  for (int64_t b = 0; b < B; b++)
    for (int64_t i = 0; i < 2 * H; i++)
      for (int64_t j = 0; j < 2 * W; j++)
        for (int64_t ch = 0; ch < C; ch++)
          g[0][((b * H + i / 2) * W + j / 2) * C + ch] += dy[((b * 2 * H + i) * 2 * W + j) * C + ch];
}

/* ---- concat: d0 = rows, d1 = Ca, d2 = Cb; inputs a, b ---- */

static void
cat_fwd (const Case *c, float *y)
{
  be->concat_last (c->in[0], c->d1, c->in[1], c->d2, y, c->d0);
}

static void
cat_bwd (const Case *c, const float *dy, float **g)
{
  be->concat_last_backward (dy, g[0], c->d1, g[1], c->d2, c->d0);
}

static void
cat_ref (const Case *c, const float *dy, double **g)
{
  int64_t Ca = c->d1, Cb = c->d2;
  for (int64_t r = 0; r < c->d0; r++)
    for (int64_t i = 0; i < Ca + Cb; i++)
      {
        if (i < Ca)
          g[0][r * Ca + i] += dy[r * (Ca + Cb) + i];
        else
          g[1][r * Cb + i - Ca] += dy[r * (Ca + Cb) + i];
      }
}

/* ---- add_bias_per_batch: d0 = B, d1 = HW, d2 = C; input bias[B, C], aux x[B, HW, C] ---- */

static void
bias_fwd (const Case *c, float *y)
{
  memcpy (y, c->aux, sizeof (float) * (size_t) c->out_n);
  be->add_bias_per_batch (y, c->in[0], c->d0, c->d1, c->d2);
}

static void
bias_bwd (const Case *c, const float *dy, float **g)
{
  be->add_bias_per_batch_backward (dy, g[0], c->d0, c->d1, c->d2);
}

static void
bias_ref (const Case *c, const float *dy, double **g)
{
  int64_t HW = c->d1, C = c->d2;
  for (int64_t b = 0; b < c->d0; b++)
    for (int64_t p = 0; p < HW; p++)
      for (int64_t ch = 0; ch < C; ch++)
        g[0][b * C + ch] += dy[(b * HW + p) * C + ch];
}

static void
test_copies (void)
{
  for (int s = 0; s < 2; s++)
    {
      int samples = s == 0 ? 0 : FD_SAMPLES;
      int64_t B = s == 0 ? 1 : 2, H = s == 0 ? 2 : 37, W = s == 0 ? 3 : 41, C = s == 0 ? 3 : 99;
      Case up = { .name = "upsample_nearest2x", .n_in = 1, .fwd = up_fwd, .bwd = up_bwd, .ref = up_ref,
                  .d0 = B, .d1 = H, .d2 = W, .d3 = C, .out_n = B * 4 * H * W * C, .h = H_LINEAR,
                  .fd_tol = FD_TOL_LINEAR };
      up.in_n[0] = B * H * W * C;
      up.in[0] = rand_floats (up.in_n[0], -1.0, 1.0);
      check_case (&up, samples);
      case_free (&up);

      int64_t rows = s == 0 ? 3 : 2001, Ca = s == 0 ? 2 : 77, Cb = s == 0 ? 3 : 91;
      Case cat = { .name = "concat_last", .n_in = 2, .fwd = cat_fwd, .bwd = cat_bwd, .ref = cat_ref,
                   .d0 = rows, .d1 = Ca, .d2 = Cb, .out_n = rows * (Ca + Cb), .h = H_LINEAR,
                   .fd_tol = FD_TOL_LINEAR };
      cat.in_n[0] = rows * Ca;
      cat.in_n[1] = rows * Cb;
      cat.in[0] = rand_floats (cat.in_n[0], -1.0, 1.0);
      cat.in[1] = rand_floats (cat.in_n[1], -1.0, 1.0);
      check_case (&cat, samples);
      case_free (&cat);

      int64_t HW = s == 0 ? 3 : 2047, Cc = s == 0 ? 5 : 185;
      Case bias = { .name = "add_bias_per_batch", .n_in = 1, .fwd = bias_fwd, .bwd = bias_bwd, .ref = bias_ref,
                    .d0 = 2, .d1 = HW, .d2 = Cc, .out_n = 2 * HW * Cc, .h = H_LINEAR, .fd_tol = FD_TOL_LINEAR };
      bias.in_n[0] = 2 * Cc;
      bias.in[0] = rand_floats (bias.in_n[0], -1.0, 1.0);
      bias.aux = rand_floats (bias.out_n, -1.0, 1.0);
      check_case (&bias, samples);
      case_free (&bias);
    }
}

/* ---- AdamW: five steps against torch.optim.AdamW's formula in double ---- */

static void
test_adamw (void)
{
  const int64_t n = 1001;
  const double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-6, wd = 0.1;
  float *p = rand_floats (n, -1.0, 1.0), *m = g_new0 (float, n), *v = g_new0 (float, n);
  double *pd = g_new (double, n), *md = g_new0 (double, n), *vd = g_new0 (double, n);
  float *p_start = g_memdup2 (p, sizeof (float) * n);
  for (int64_t i = 0; i < n; i++)
    pd[i] = p[i];
  for (int64_t step = 1; step <= 5; step++)
    {
      /* Gradients over 6 decades, so eps (~ the smallest √v̂) and the bias corrections both matter. */
      float *g = g_new (float, n);
      for (int64_t i = 0; i < n; i++)
        g[i] = (float) (g_rand_double_range (rng, -1.0, 1.0) * pow (10.0, -g_rand_double_range (rng, 0.0, 6.0)));
      be->adamw_step (p, g, m, v, n, (float) lr, (float) b1, (float) b2, (float) eps, (float) wd, step);
      double bc1 = 1.0 - pow ((float) b1, (double) step), bc2 = 1.0 - pow ((float) b2, (double) step);
      for (int64_t i = 0; i < n; i++)
        {
          pd[i] *= 1.0 - (double) (float) lr * (double) (float) wd;
          md[i] = (double) (float) b1 * md[i] + (1.0 - (double) (float) b1) * g[i];
          vd[i] = (double) (float) b2 * vd[i] + (1.0 - (double) (float) b2) * (double) g[i] * g[i];
          pd[i] -= (double) (float) lr / bc1 * md[i] / (sqrt (vd[i]) / sqrt (bc2) + (double) (float) eps);
        }
      g_free (g);
    }
  float *pf = g_new (float, n), *mf = g_new (float, n), *vf = g_new (float, n);
  double dmax = 0.0;
  for (int64_t i = 0; i < n; i++)
    {
      pf[i] = (float) pd[i];
      mf[i] = (float) md[i];
      vf[i] = (float) vd[i];
    }
  double ep = sc_test_max_rel_error (p, pf, n), em = sc_test_max_rel_error (m, mf, n);
  double ev = sc_test_max_rel_error (v, vf, n);
  g_test_message ("adamw: 5 steps vs double: max rel error p %.2e, m %.2e, v %.2e", ep, em, ev);
  g_assert_cmpfloat (ep, <=, 1e-6);
  g_assert_cmpfloat (em, <=, 1e-6);
  g_assert_cmpfloat (ev, <=, 1e-6);
  /* The steps moved p by far more than the tolerance: the comparison resolves the update itself. */
  double pmax = 0.0;
  for (int64_t i = 0; i < n; i++)
    {
      dmax = MAX (dmax, fabs (pd[i] - (double) p_start[i]));
      pmax = MAX (pmax, fabs (pd[i]));
    }
  g_assert_cmpfloat (dmax / pmax, >, 1e-3);
  g_free (p_start);

  /* Thread count: a size above the threading threshold, 1 vs 2 threads bitwise. */
  const int64_t big = 300007;
  float *g = rand_floats (big, -1.0, 1.0), *ps[2], *ms[2], *vs[2];
  float *pinit = rand_floats (big, -1.0, 1.0);
  for (int t = 0; t < 2; t++)
    {
      ps[t] = g_memdup2 (pinit, sizeof (float) * big);
      ms[t] = g_new0 (float, big);
      vs[t] = g_new0 (float, big);
      sc_set_num_threads (t + 1);
      be->adamw_step (ps[t], g, ms[t], vs[t], big, 1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f, 1);
    }
  sc_set_num_threads (0);
  g_assert_cmpmem (ps[0], sizeof (float) * big, ps[1], sizeof (float) * big);
  g_assert_cmpmem (ms[0], sizeof (float) * big, ms[1], sizeof (float) * big);
  g_assert_cmpmem (vs[0], sizeof (float) * big, vs[1], sizeof (float) * big);
  for (int t = 0; t < 2; t++)
    {
      g_free (ps[t]);
      g_free (ms[t]);
      g_free (vs[t]);
    }
  g_free (g);
  g_free (pinit);
  g_free (p);
  g_free (m);
  g_free (v);
  g_free (pd);
  g_free (md);
  g_free (vd);
  g_free (pf);
  g_free (mf);
  g_free (vf);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  be = sc_backend_cpu ();
  rng = g_rand_new_with_seed (20240611);
  g_test_add_func ("/grad-basic/linear", test_linear);
  g_test_add_func ("/grad-basic/unary", test_unary);
  g_test_add_func ("/grad-basic/geglu", test_geglu);
  g_test_add_func ("/grad-basic/group-norm", test_group_norm);
  g_test_add_func ("/grad-basic/layer-norm", test_layer_norm);
  g_test_add_func ("/grad-basic/copies", test_copies);
  g_test_add_func ("/grad-basic/adamw", test_adamw);
  int rc = g_test_run ();
  g_rand_free (rng);
  return rc;
}
