/* conv2d_backward of the CPU op table, for L = Σ r·y with a fixed random r (passed as dy), checked two ways:
 *  - exactly: a direct double-precision convolution backward loop over the same f32 inputs; the f32
 *    gradients must match within 1e-5 of the tensor's largest value (sums of up to ~10^4 f32 products);
 *  - against central finite differences of the f32 forward conv2d (impl 1, im2col+gemm: it reads the
 *    weight buffer afresh each call, whereas oneDNN's weight cache recognises a tensor by 64 sampled
 *    values and could miss a single perturbed weight).
 * Shapes: 3×3 stride 1 pad 1, 3×3 stride 2 padded (0,0,1,1) like the VAE's downsample, 1×1, odd sizes and
 * channel counts, batch 2, with and without bias; tiny ones on every coordinate, larger ones sampled.
 * Also: += semantics, NULL gradients, 1 vs 2 threads (bitwise), weights repacked by a oneDNN forward, and a
 * timing of a 32×32×320→320 layer. */
#include "backend/backend.h"
#include "backend/cpu/cpu_kernels.h"
#include "core/parallel.h"
#include "core/tensor.h"
#include "test-util.h"

#include <glib.h>
#include <math.h>
#include <string.h>

static const ScBackend *be;

typedef struct {
  const char *name;
  int64_t B, H, W, Cin, Cout;
  int k, stride, pt, pl, pb, pr;
  gboolean bias;
} Shape;

static const Shape tiny[] = {
  { "tiny 3x3 s1 p1", 2, 5, 4, 3, 2, 3, 1, 1, 1, 1, 1, TRUE },
  { "tiny 3x3 s2 pad 0,0,1,1", 2, 5, 6, 3, 4, 3, 2, 0, 0, 1, 1, TRUE },
  { "tiny 1x1", 2, 3, 3, 5, 3, 1, 1, 0, 0, 0, 0, FALSE },
};

static const Shape realistic[] = {
  { "3x3 s1 p1 17x13 37->45", 2, 17, 13, 37, 45, 3, 1, 1, 1, 1, 1, TRUE },
  { "3x3 s2 pad 0,0,1,1 19x16 29->35", 2, 19, 16, 29, 35, 3, 2, 0, 0, 1, 1, FALSE },
  { "1x1 15x11 70->33", 2, 15, 11, 70, 33, 1, 1, 0, 0, 0, 0, TRUE },
  /* Several pixel tiles and row bands, 2 input- and 2 output-channel blocks, parallel path. */
  { "3x3 s1 p1 33x40 77->150", 2, 33, 40, 77, 150, 3, 1, 1, 1, 1, 1, TRUE },
  { "3x3 s2 pad 0,0,1,1 31x29 67->130", 2, 31, 29, 67, 130, 3, 2, 0, 0, 1, 1, TRUE },
};

typedef struct {
  ScConv2dDesc d;
  size_t nx, nw, ny;
  float *x, *w, *bias, *dy; /* dy: the r of L = Σ r·y */
  float *rdx, *rdw, *rdb;   /* exact reference gradients, rounded to f32 for comparison */
} Problem;

static void
fill (GRand *rng, float *p, size_t n, double scale)
{
  for (size_t i = 0; i < n; i++)
    p[i] = (float) (scale * g_rand_double_range (rng, -1.0, 1.0));
}

/* Direct convolution backward in double: every (output pixel, tap) pair adds its products once. */
static void
reference_backward (Problem *p)
{
  const ScConv2dDesc *d = &p->d;
  int64_t Cin = d->in_c, Cout = d->out_c;
  double *dx = g_new0 (double, p->nx), *dw = g_new0 (double, p->nw), *db = g_new0 (double, Cout);
  for (int64_t b = 0; b < d->batch; b++)
    for (int64_t oy = 0; oy < d->out_h; oy++)
      for (int64_t ox = 0; ox < d->out_w; ox++)
        {
          const float *g = p->dy + ((b * d->out_h + oy) * d->out_w + ox) * Cout;
          for (int64_t co = 0; co < Cout; co++)
            db[co] += g[co];
          for (int kh = 0; kh < d->kernel_h; kh++)
            for (int kw = 0; kw < d->kernel_w; kw++)
              {
                int64_t iy = oy * d->stride + kh - d->pad_top, ix = ox * d->stride + kw - d->pad_left;
                if (iy < 0 || iy >= d->in_h || ix < 0 || ix >= d->in_w)
                  continue;
                int64_t xo = ((b * d->in_h + iy) * d->in_w + ix) * Cin;
                for (int64_t ci = 0; ci < Cin; ci++)
                  {
                    int64_t wo = ((int64_t) (kh * d->kernel_w + kw) * Cin + ci) * Cout;
                    double xv = p->x[xo + ci], s = 0;
                    for (int64_t co = 0; co < Cout; co++)
                      {
                        s += (double) g[co] * p->w[wo + co];
                        dw[wo + co] += xv * g[co];
                      }
                    dx[xo + ci] += s;
                  }
              }
        }
  p->rdx = g_new (float, p->nx);
  p->rdw = g_new (float, p->nw);
  p->rdb = g_new (float, Cout);
  for (size_t i = 0; i < p->nx; i++)
    p->rdx[i] = (float) dx[i];
  for (size_t i = 0; i < p->nw; i++)
    p->rdw[i] = (float) dw[i];
  for (int64_t i = 0; i < Cout; i++)
    p->rdb[i] = (float) db[i];
  g_free (dx);
  g_free (dw);
  g_free (db);
}

static Problem *
problem_new (const Shape *s, guint32 seed)
{
  Problem *p = g_new0 (Problem, 1);
  p->d = (ScConv2dDesc) { .batch = s->B, .in_h = s->H, .in_w = s->W, .in_c = s->Cin, .out_c = s->Cout,
                          .kernel_h = s->k, .kernel_w = s->k, .stride = s->stride, .pad_top = s->pt,
                          .pad_left = s->pl, .pad_bottom = s->pb, .pad_right = s->pr };
  sc_conv2d_desc_init (&p->d);
  p->nx = (size_t) (s->B * s->H * s->W * s->Cin);
  p->nw = (size_t) (s->k * s->k * s->Cin * s->Cout);
  p->ny = (size_t) (s->B * p->d.out_h * p->d.out_w * s->Cout);
  GRand *rng = g_rand_new_with_seed (seed);
  p->x = sc_alloc_floats (p->nx, NULL);
  p->w = sc_alloc_floats (p->nw, NULL);
  p->dy = sc_alloc_floats (p->ny, NULL);
  fill (rng, p->x, p->nx, 1.0);
  fill (rng, p->w, p->nw, 1.0 / sqrt ((double) (s->k * s->k * s->Cin))); /* outputs of order 1 */
  fill (rng, p->dy, p->ny, 1.0);
  if (s->bias)
    {
      p->bias = sc_alloc_floats ((size_t) s->Cout, NULL);
      fill (rng, p->bias, (size_t) s->Cout, 0.5);
    }
  g_rand_free (rng);
  reference_backward (p);
  return p;
}

static void
problem_free (Problem *p)
{
  sc_free_floats (p->x);
  sc_free_floats (p->w);
  sc_free_floats (p->bias);
  sc_free_floats (p->dy);
  g_free (p->rdx);
  g_free (p->rdw);
  g_free (p->rdb);
  g_free (p);
}

/* Zeroed gradient buffers, filled by one conv2d_backward call. */
typedef struct {
  float *dx, *dw, *db;
} Grads;

static Grads
grads_compute (const Problem *p)
{
  Grads g = { sc_alloc_floats (p->nx, NULL), sc_alloc_floats (p->nw, NULL),
              sc_alloc_floats ((size_t) p->d.out_c, NULL) };
  be->conv2d_backward (&p->d, p->x, p->w, p->dy, g.dx, g.dw, p->bias ? g.db : NULL);
  return g;
}

static void
grads_free (Grads *g)
{
  sc_free_floats (g->dx);
  sc_free_floats (g->dw);
  sc_free_floats (g->db);
}

#define EXACT_TOL 1e-5

static void
check_exact (const char *name, const Problem *p, const Grads *g)
{
  double ex = sc_test_max_rel_error (g->dx, p->rdx, p->nx), ew = sc_test_max_rel_error (g->dw, p->rdw, p->nw);
  double eb = p->bias ? sc_test_max_rel_error (g->db, p->rdb, (size_t) p->d.out_c) : 0.0;
  g_test_message ("%s: vs double reference: dx %.2e, dw %.2e, dbias %.2e%s", name, ex, ew, eb,
                  p->bias ? "" : " (no bias)");
  g_assert_cmpfloat (ex, <=, EXACT_TOL);
  g_assert_cmpfloat (ew, <=, EXACT_TOL);
  g_assert_cmpfloat (eb, <=, EXACT_TOL);
}

static void
test_exact (void)
{
  const Shape *all[G_N_ELEMENTS (tiny) + G_N_ELEMENTS (realistic)];
  size_t n = 0;
  for (size_t i = 0; i < G_N_ELEMENTS (tiny); i++)
    all[n++] = &tiny[i];
  for (size_t i = 0; i < G_N_ELEMENTS (realistic); i++)
    all[n++] = &realistic[i];
  for (size_t i = 0; i < n; i++)
    {
      Problem *p = problem_new (all[i], 100 + (guint32) i);
      Grads g = grads_compute (p);
      check_exact (all[i]->name, p, &g);
      grads_free (&g);
      problem_free (p);
    }
}

/* ---- finite differences ---- */

/* L is linear in each single input (y is bilinear in x and w, affine in the bias), so a central difference
 * has no truncation error at any step: h only divides the f32 rounding of the forward. Outputs that do not
 * depend on the perturbed value are computed identically in L+ and L− and cancel exactly; the few that do
 * carry rounding of ~1e-7 of their size each, so with h = 0.25 the difference quotient is good to ~1e-6 of
 * the gradient. The tolerance, 1e-4 of the tensor's largest gradient, leaves a wide margin yet would
 * catch any wrong or missing term (each is of order 1e-2 or more). */
#define FD_H 0.25f
#define FD_TOL 1e-4
#define FD_SAMPLES 40

static double
loss (const Problem *p, float *y)
{
  be->conv2d (&p->d, p->x, p->w, p->bias, y);
  double L = 0;
  for (size_t i = 0; i < p->ny; i++)
    L += (double) p->dy[i] * y[i];
  return L;
}

/* max |fd − g| / max |g| over `samples` random coordinates of t (every coordinate when samples is 0 or
 * not below n). */
static double
fd_error (const Problem *p, float *t, const float *g, size_t n, size_t samples, GRand *rng, float *y)
{
  double max_err = 0, max_g = 0;
  for (size_t i = 0; i < n; i++)
    max_g = MAX (max_g, fabs (g[i]));
  g_assert_cmpfloat (max_g, >, 0);
  gboolean all = samples == 0 || samples >= n;
  size_t m = all ? n : samples;
  for (size_t k = 0; k < m; k++)
    {
      size_t i = all ? k : (size_t) g_rand_int_range (rng, 0, (gint32) n);
      float v = t[i], vp = v + FD_H, vm = v - FD_H;
      t[i] = vp;
      double lp = loss (p, y);
      t[i] = vm;
      double lm = loss (p, y);
      t[i] = v;
      double fd = (lp - lm) / ((double) vp - (double) vm);
      max_err = MAX (max_err, fabs (fd - g[i]));
    }
  return max_err / max_g;
}

static void
check_fd (const Shape *s, guint32 seed, size_t samples)
{
  Problem *p = problem_new (s, seed);
  Grads g = grads_compute (p);
  GRand *rng = g_rand_new_with_seed (seed + 7);
  float *y = sc_alloc_floats (p->ny, NULL);
  sc_cpu_conv2d_set_impl (1);
  double ex = fd_error (p, p->x, g.dx, p->nx, samples, rng, y);
  double ew = fd_error (p, p->w, g.dw, p->nw, samples, rng, y);
  double eb = p->bias ? fd_error (p, p->bias, g.db, (size_t) p->d.out_c, samples, rng, y) : 0.0;
  sc_cpu_conv2d_set_impl (0);
  g_test_message ("%s: vs finite differences (%s): dx %.2e, dw %.2e, dbias %.2e%s", s->name,
                  samples ? "sampled" : "all coordinates", ex, ew, eb, p->bias ? "" : " (no bias)");
  g_assert_cmpfloat (ex, <=, FD_TOL);
  g_assert_cmpfloat (ew, <=, FD_TOL);
  g_assert_cmpfloat (eb, <=, FD_TOL);
  sc_free_floats (y);
  g_rand_free (rng);
  grads_free (&g);
  problem_free (p);
}

static void
test_finite_differences (void)
{
  for (size_t i = 0; i < G_N_ELEMENTS (tiny); i++)
    check_fd (&tiny[i], 200 + (guint32) i, 0);
  for (size_t i = 0; i < 3; i++) /* the first three realistic shapes (the others are slow to difference) */
    check_fd (&realistic[i], 300 + (guint32) i, FD_SAMPLES);
}

/* ---- accumulation, NULL gradients, threads ---- */

/* Gradients are added: from buffers holding u, one call gives u + g, a second u + 2g. */
static void
test_accumulate (void)
{
  for (size_t s = 0; s < 2; s++)
    {
      const Shape *shape = s ? &realistic[3] : &tiny[1];
      Problem *p = problem_new (shape, 400 + (guint32) s);
      size_t nb = (size_t) p->d.out_c;
      GRand *rng = g_rand_new_with_seed (401);
      float *u[3] = { g_new (float, p->nx), g_new (float, p->nw), g_new (float, nb) };
      fill (rng, u[0], p->nx, 3.0);
      fill (rng, u[1], p->nw, 3.0);
      fill (rng, u[2], nb, 3.0);
      float *dx = g_memdup2 (u[0], sizeof (float) * p->nx), *dw = g_memdup2 (u[1], sizeof (float) * p->nw),
            *db = g_memdup2 (u[2], sizeof (float) * nb);
      float *want[3] = { g_new (float, p->nx), g_new (float, p->nw), g_new (float, nb) };
      for (int times = 1; times <= 2; times++)
        {
          be->conv2d_backward (&p->d, p->x, p->w, p->dy, dx, dw, db);
          for (size_t i = 0; i < p->nx; i++)
            want[0][i] = (float) ((double) u[0][i] + times * (double) p->rdx[i]);
          for (size_t i = 0; i < p->nw; i++)
            want[1][i] = (float) ((double) u[1][i] + times * (double) p->rdw[i]);
          for (size_t i = 0; i < nb; i++)
            want[2][i] = (float) ((double) u[2][i] + times * (double) p->rdb[i]);
          double ex = sc_test_max_rel_error (dx, want[0], p->nx), ew = sc_test_max_rel_error (dw, want[1], p->nw),
                 eb = sc_test_max_rel_error (db, want[2], nb);
          g_test_message ("%s: u + %d*g: dx %.2e, dw %.2e, dbias %.2e", shape->name, times, ex, ew, eb);
          g_assert_cmpfloat (ex, <=, EXACT_TOL);
          g_assert_cmpfloat (ew, <=, EXACT_TOL);
          g_assert_cmpfloat (eb, <=, EXACT_TOL);
        }
      for (int i = 0; i < 3; i++)
        {
          g_free (u[i]);
          g_free (want[i]);
        }
      g_free (dx);
      g_free (dw);
      g_free (db);
      g_rand_free (rng);
      problem_free (p);
    }
}

/* A NULL gradient is skipped; the others come out exactly as from a call that wants all three, and a
 * buffer not passed is not touched. */
static void
test_null (void)
{
  Problem *p = problem_new (&realistic[4], 500);
  Grads full = grads_compute (p);
  size_t nb = (size_t) p->d.out_c;
  Grads g = grads_compute (p); /* just for the buffers */
  memset (g.dx, 0, sizeof (float) * p->nx);
  be->conv2d_backward (&p->d, NULL, p->w, p->dy, g.dx, NULL, NULL); /* x is not needed without dw */
  g_assert_cmpmem (g.dx, sizeof (float) * p->nx, full.dx, sizeof (float) * p->nx);
  memset (g.dw, 0, sizeof (float) * p->nw);
  be->conv2d_backward (&p->d, p->x, p->w, p->dy, NULL, g.dw, NULL);
  g_assert_cmpmem (g.dw, sizeof (float) * p->nw, full.dw, sizeof (float) * p->nw);
  memset (g.db, 0, sizeof (float) * nb);
  be->conv2d_backward (&p->d, p->x, p->w, p->dy, NULL, NULL, g.db);
  g_assert_cmpmem (g.db, sizeof (float) * nb, full.db, sizeof (float) * nb);
  be->conv2d_backward (&p->d, p->x, p->w, p->dy, NULL, NULL, NULL);
  /* dx and dbias only: dw, filled with a sentinel, must stay as it was. */
  memset (g.dx, 0, sizeof (float) * p->nx);
  memset (g.db, 0, sizeof (float) * nb);
  for (size_t i = 0; i < p->nw; i++)
    g.dw[i] = 12345.0f;
  float *sentinel = g_memdup2 (g.dw, sizeof (float) * p->nw);
  be->conv2d_backward (&p->d, p->x, p->w, p->dy, g.dx, NULL, g.db);
  g_assert_cmpmem (g.dx, sizeof (float) * p->nx, full.dx, sizeof (float) * p->nx);
  g_assert_cmpmem (g.db, sizeof (float) * nb, full.db, sizeof (float) * nb);
  g_assert_cmpmem (g.dw, sizeof (float) * p->nw, sentinel, sizeof (float) * p->nw);
  g_free (sentinel);
  grads_free (&g);
  grads_free (&full);
  problem_free (p);
}

/* Every gradient value has one writer and a fixed order of additions: 1 and 2 threads agree bit for bit. */
static void
test_threads (void)
{
  for (size_t s = 3; s < G_N_ELEMENTS (realistic); s++)
    {
      Problem *p = problem_new (&realistic[s], 600 + (guint32) s);
      sc_set_num_threads (1);
      Grads g1 = grads_compute (p);
      sc_set_num_threads (2);
      Grads g2 = grads_compute (p);
      sc_set_num_threads (0);
      g_assert_cmpmem (g1.dx, sizeof (float) * p->nx, g2.dx, sizeof (float) * p->nx);
      g_assert_cmpmem (g1.dw, sizeof (float) * p->nw, g2.dw, sizeof (float) * p->nw);
      g_assert_cmpmem (g1.db, sizeof (float) * p->d.out_c, g2.db, sizeof (float) * p->d.out_c);
      grads_free (&g1);
      grads_free (&g2);
      problem_free (p);
    }
}

/* ---- weights repacked by oneDNN ---- */

/* A oneDNN forward may leave w in its blocked layout (channel counts that are multiples of its block);
 * the backward must still see HWIO: dx and dw right, and w back in HWIO order after a dx call. */
static void
test_repacked_weights (void)
{
  Shape s = { "repacked 3x3 11x9 64->96", 2, 11, 9, 64, 96, 3, 1, 1, 1, 1, 1, TRUE };
  Problem *p = problem_new (&s, 700);
  float *w0 = g_memdup2 (p->w, sizeof (float) * p->nw), *y = sc_alloc_floats (p->ny, NULL);
  gboolean repacked = FALSE;
  for (int variant = 0; variant < 3; variant++) /* all gradients, dx only, dw only */
    {
      sc_cpu_conv2d_set_impl (2);
      be->conv2d (&p->d, p->x, p->w, p->bias, y);
      sc_cpu_conv2d_set_impl (0);
      repacked |= memcmp (p->w, w0, sizeof (float) * p->nw) != 0;
      float *dx = sc_alloc_floats (p->nx, NULL), *dw = sc_alloc_floats (p->nw, NULL);
      be->conv2d_backward (&p->d, p->x, p->w, p->dy, variant == 2 ? NULL : dx, variant == 1 ? NULL : dw, NULL);
      if (variant != 2)
        {
          double e = sc_test_max_rel_error (dx, p->rdx, p->nx);
          g_test_message ("after a oneDNN forward (variant %d): dx %.2e", variant, e);
          g_assert_cmpfloat (e, <=, EXACT_TOL);
          g_assert_cmpmem (p->w, sizeof (float) * p->nw, w0, sizeof (float) * p->nw);
        }
      if (variant != 1)
        {
          double e = sc_test_max_rel_error (dw, p->rdw, p->nw);
          g_test_message ("after a oneDNN forward (variant %d): dw %.2e", variant, e);
          g_assert_cmpfloat (e, <=, EXACT_TOL);
        }
      sc_free_floats (dx);
      sc_free_floats (dw);
    }
  g_test_message ("weights repacked in place by the forward: %s", repacked ? "yes" : "no (no oneDNN here?)");
  be->conv2d_weights_hwio (p->w, 3, 3, s.Cin, s.Cout);
  g_assert_cmpmem (p->w, sizeof (float) * p->nw, w0, sizeof (float) * p->nw);
  g_free (w0);
  sc_free_floats (y);
  problem_free (p);
}

/* ---- timing ---- */

static double
seconds_min (const Problem *p, int what, float *y, float *dx, float *dw, float *db)
{
  double best = G_MAXDOUBLE;
  for (int rep = 0; rep < 3; rep++)
    {
      gint64 t0 = g_get_monotonic_time ();
      if (what == 0)
        be->conv2d (&p->d, p->x, p->w, p->bias, y);
      else
        be->conv2d_backward (&p->d, p->x, p->w, p->dy, what & 1 ? dx : NULL, what & 2 ? dw : NULL,
                             what == 3 ? db : NULL);
      best = MIN (best, (double) (g_get_monotonic_time () - t0) * 1e-6);
    }
  return best;
}

/* A U-Net decoder layer at 256 px (32×32 latent, 320 channels), batch 2: backward vs forward. */
static void
test_timing (void)
{
  Shape s = { "32x32x320->320 3x3 batch 2", 2, 32, 32, 320, 320, 3, 1, 1, 1, 1, 1, TRUE };
  ScConv2dDesc d = { .batch = s.B, .in_h = s.H, .in_w = s.W, .in_c = s.Cin, .out_c = s.Cout, .kernel_h = 3,
                     .kernel_w = 3, .stride = 1, .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1 };
  sc_conv2d_desc_init (&d);
  Problem p = { .d = d, .nx = (size_t) (2 * 32 * 32 * 320), .nw = 9 * 320 * 320, .ny = (size_t) (2 * 32 * 32 * 320) };
  GRand *rng = g_rand_new_with_seed (800);
  p.x = sc_alloc_floats (p.nx, NULL);
  p.w = sc_alloc_floats (p.nw, NULL);
  p.dy = sc_alloc_floats (p.ny, NULL);
  p.bias = sc_alloc_floats (320, NULL);
  fill (rng, p.x, p.nx, 1.0);
  fill (rng, p.w, p.nw, 0.02);
  fill (rng, p.dy, p.ny, 1.0);
  float *y = sc_alloc_floats (p.ny, NULL), *dx = sc_alloc_floats (p.nx, NULL), *dw = sc_alloc_floats (p.nw, NULL),
        *db = sc_alloc_floats (320, NULL);
  double fwd = seconds_min (&p, 0, y, dx, dw, db);
  double bdx = seconds_min (&p, 1, y, dx, dw, db), bdw = seconds_min (&p, 2, y, dx, dw, db);
  double all = seconds_min (&p, 3, y, dx, dw, db);
  double gmac = (double) (2 * 32 * 32) * 2880.0 * 320.0 * 1e-9;
  g_test_message ("%s, %d threads: forward %.1f ms (automatic impl); backward dx %.1f ms (%.0f GFLOP/s), "
                  "dw %.1f ms (%.0f GFLOP/s), dx+dw+dbias %.1f ms = %.2fx the forward",
                  s.name, sc_get_num_threads (), fwd * 1e3, bdx * 1e3, 2 * gmac / bdx, bdw * 1e3,
                  2 * gmac / bdw, all * 1e3, all / fwd);
  /* The forward may have repacked w; the dx calls put it back. */
  be->conv2d_weights_hwio (p.w, 3, 3, 320, 320);
  sc_free_floats (y);
  sc_free_floats (dx);
  sc_free_floats (dw);
  sc_free_floats (db);
  sc_free_floats (p.x);
  sc_free_floats (p.w);
  sc_free_floats (p.dy);
  sc_free_floats (p.bias);
  g_rand_free (rng);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  be = sc_backend_cpu ();
  g_assert_nonnull (be->conv2d_backward);
  g_test_add_func ("/grad-conv/exact", test_exact);
  g_test_add_func ("/grad-conv/finite-differences", test_finite_differences);
  g_test_add_func ("/grad-conv/accumulate", test_accumulate);
  g_test_add_func ("/grad-conv/null", test_null);
  g_test_add_func ("/grad-conv/threads", test_threads);
  g_test_add_func ("/grad-conv/repacked-weights", test_repacked_weights);
  g_test_add_func ("/grad-conv/timing", test_timing);
  return g_test_run ();
}
