/* U-Net block backward passes (models/unet_blocks_backward.c) against central finite differences of the
 * real forwards. L = Σ r·y for a fixed random r (passed as dy); the f32 forward is evaluated around the
 * f32 inputs, L summed in double. ResBlock: in_c 8 → out_c 16 (1×1 skip) at 5×7 and 16 → 16 (identity
 * skip) at 4×4 and 3×5, groups 4, emb_dim 12, batch 2; every input coordinate is checked. Also: the +=
 * contract (twice = 2×, onto non-zero dx), scratch full of NaN (the backward must not read stale
 * scratch), and the same answer on a second call (the forward's oneDNN weight repacking in between). */
#include "backend/backend.h"
#include "core/tensor.h"
#include "models/unet_blocks.h"
#include "models/unet_blocks_backward.h"
#include "models/weights.h"
#include "test-util.h"

#include <math.h>
#include <string.h>

static const ScBackend *be;

typedef struct {
  const char *name;
  int64_t in_c, out_c, emb_dim;
  int groups;
  int64_t B, H, W;
} ResCase;

static const ResCase res_cases[] = {
  { "8->16 1x1 skip 5x7", 8, 16, 12, 4, 2, 5, 7 },
  { "16->16 identity 4x4", 16, 16, 12, 4, 2, 4, 4 },
  { "16->16 identity 3x5", 16, 16, 12, 4, 2, 3, 5 },
};

typedef struct {
  const ResCase *c;
  ScUNetResBlock rb;
  ScUNetScratch s;
  int64_t nx, ny;
  float *x, *emb, *r, *y; /* r: the dy of L = Σ r·y */
} ResProblem;

static void
fill (GRand *rng, float *p, int64_t n, double scale)
{
  for (int64_t i = 0; i < n; i++)
    p[i] = (float) (scale * g_rand_double_range (rng, -1.0, 1.0));
}

static float *
alloc_or_null (int64_t n)
{
  return n > 0 ? sc_alloc_floats ((size_t) n, NULL) : NULL;
}

static ResProblem *
res_problem_new (const ResCase *c, guint32 seed)
{
  ResProblem *p = g_new0 (ResProblem, 1);
  p->c = c;
  g_autoptr (GError) error = NULL;
  ScWeightSource *src = sc_weight_source_new_random (seed);
  ScUNetLoader ld = { src, 0 };
  g_assert_true (sc_unet_res_load (&p->rb, &ld, "model.diffusion_model.output_blocks.0.0", c->in_c, c->out_c,
                                   c->emb_dim, c->groups, &error));
  g_assert_no_error (error);
  sc_weight_source_free (src);
  g_assert_cmpint (p->rb.has_skip, ==, c->in_c != c->out_c);

  ScUNetNeed need = { 0 };
  sc_unet_res_need (&p->rb, c->B, c->H * c->W, &need);
  sc_unet_res_backward_need (&p->rb, c->B, c->H * c->W, &need);
  p->s = (ScUNetScratch) { alloc_or_null (need.s1), alloc_or_null (need.s2), alloc_or_null (need.s3),
                           alloc_or_null (need.s4), NULL, alloc_or_null (need.embp) };
  p->nx = c->B * c->H * c->W * c->in_c;
  p->ny = c->B * c->H * c->W * c->out_c;
  p->x = sc_alloc_floats ((size_t) p->nx, NULL);
  p->emb = sc_alloc_floats ((size_t) (c->B * c->emb_dim), NULL);
  p->r = sc_alloc_floats ((size_t) p->ny, NULL);
  p->y = sc_alloc_floats ((size_t) p->ny, NULL);
  GRand *rng = g_rand_new_with_seed (seed + 1000);
  fill (rng, p->x, p->nx, 1.0);
  fill (rng, p->emb, c->B * c->emb_dim, 1.0);
  fill (rng, p->r, p->ny, 1.0);
  g_rand_free (rng);
  return p;
}

static void
res_problem_free (ResProblem *p)
{
  sc_unet_res_clear (&p->rb);
  sc_free_floats (p->s.s1);
  sc_free_floats (p->s.s2);
  sc_free_floats (p->s.s3);
  sc_free_floats (p->s.s4);
  sc_free_floats (p->s.embp);
  sc_free_floats (p->x);
  sc_free_floats (p->emb);
  sc_free_floats (p->r);
  sc_free_floats (p->y);
  g_free (p);
}

/* L(x) = Σ r·y(x) in double, through the real f32 forward. */
static double
res_loss (ResProblem *p)
{
  const ResCase *c = p->c;
  sc_unet_res_forward (be, &p->rb, p->x, p->y, c->B, c->H, c->W, p->emb, &p->s);
  double L = 0;
  for (int64_t i = 0; i < p->ny; i++)
    L += (double) p->r[i] * p->y[i];
  return L;
}

/* dx += the backward's gradient (dx holds whatever the caller put there). */
static void
res_backward (ResProblem *p, float *dx)
{
  const ResCase *c = p->c;
  sc_unet_res_backward (be, &p->rb, p->x, p->emb, p->r, dx, c->B, c->H, c->W, &p->s);
}

/* Step 1e-2 on inputs of order 1 (x is GroupNorm'd first, so the block sees steps of ~1e-2 σ). Central
 * differences are off by h²·f'''/6 for these smooth ops (GN, SiLU, convs), and by the f32 rounding of
 * y (~1e-7 relative per value, ~10^3 values in L) divided by 2h. Measured max errors ~1e-4 at h = 1e-2,
 * ~3e-4 at 3e-3 (the rounding term, ∝ 1/h) and ~2e-4 at 3e-2 (the truncation term, ∝ h²): 1e-2 sits near
 * the minimum. 1e-3 leaves a 10× margin, while a wrong term (a missing skip, a missing SiLU derivative,
 * unzeroed scratch) was measured off by 0.3–0.9. */
#define FD_STEP 1e-2
#define FD_TOL 1e-3

static void
test_res_fd (void)
{
  for (size_t k = 0; k < G_N_ELEMENTS (res_cases); k++)
    {
      const ResCase *c = &res_cases[k];
      ResProblem *p = res_problem_new (c, 11 + (guint32) k);
      float *dx = g_new0 (float, p->nx), *fd = g_new (float, p->nx);
      res_backward (p, dx);
      for (int64_t i = 0; i < p->nx; i++)
        {
          float x0 = p->x[i];
          p->x[i] = (float) (x0 + FD_STEP);
          double Lp = res_loss (p);
          p->x[i] = (float) (x0 - FD_STEP);
          double Lm = res_loss (p);
          p->x[i] = x0;
          fd[i] = (float) ((Lp - Lm) / (2 * FD_STEP));
        }
      double err = sc_test_max_rel_error (dx, fd, (size_t) p->nx);
      g_test_message ("ResBlock %s: dx vs central differences (%" G_GINT64_FORMAT " coords): %.2e", c->name,
                      p->nx, err);
      g_assert_cmpfloat (err, <=, FD_TOL);
      g_free (dx);
      g_free (fd);
      res_problem_free (p);
    }
}

/* += onto a non-zero dx: once gives d0 + g, twice d0 + 2g; with the scratch full of NaN before each call
 * (the backward must write its scratch before reading it), and again after a forward has run (which may
 * repack the conv weights in place). The sums are f32 adds of values of order 1: 1e-6 relative. */
static void
test_res_accumulate (void)
{
  const ResCase *c = &res_cases[0];
  ResProblem *p = res_problem_new (c, 21);
  size_t n = (size_t) p->nx;
  float *g = g_new0 (float, n), *d0 = g_new (float, n), *dx = g_new (float, n), *want = g_new (float, n);
  res_backward (p, g);

  GRand *rng = g_rand_new_with_seed (22);
  fill (rng, d0, p->nx, 1.0);
  g_rand_free (rng);
  memcpy (dx, d0, n * sizeof (float));
  ScUNetNeed need = { 0 };
  sc_unet_res_backward_need (&p->rb, c->B, c->H * c->W, &need);
  float *bufs[] = { p->s.s1, p->s.s2, p->s.s3, p->s.s4, p->s.embp };
  int64_t sizes[] = { need.s1, need.s2, need.s3, need.s4, need.embp };
  for (int twice = 1; twice <= 2; twice++)
    {
      for (size_t b = 0; b < G_N_ELEMENTS (bufs); b++)
        for (int64_t i = 0; i < sizes[b]; i++)
          bufs[b][i] = NAN;
      res_backward (p, dx);
      for (size_t i = 0; i < n; i++)
        want[i] = d0[i] + (float) twice * g[i];
      double err = sc_test_max_rel_error (dx, want, n);
      g_test_message ("+= after %d call(s), NaN scratch: %.2e", twice, err);
      g_assert_cmpfloat (err, <=, 1e-6);
      res_loss (p); /* a forward in between */
    }

  /* The gradient itself is not trivially zero (that would pass the above). */
  float *zero = g_new0 (float, n);
  g_assert_cmpfloat (sc_test_max_rel_error (zero, g, n), >=, 0.99);
  g_free (zero);
  g_free (g);
  g_free (d0);
  g_free (dx);
  g_free (want);
  res_problem_free (p);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  be = sc_backend_cpu ();
  g_test_add_func ("/unet-backward/res/fd", test_res_fd);
  g_test_add_func ("/unet-backward/res/accumulate", test_res_accumulate);
  return g_test_run ();
}
