/* sc_unet_st_backward (models/transformer_backward.c): the SpatialTransformer's input gradient, checked
 * against central finite differences of L = Σ r·y (r fixed and random, so dy = r) through the real
 * sc_unet_st_forward, on every input coordinate of tiny transformers with random weights: C 16 (2 heads
 * × 8), context_dim 12, n_ctx 5, GN 4 groups, batch 2, depth 1 and 2, linear and 1×1-conv proj_in/out,
 * H×W 3×5 and 4×4.
 *
 * y = x + branch(x), and the residual's part of dx (= r) is exact; to keep it from hiding an error in
 * the branch, the branch's gradient dx − r is also compared with fd − r on its own.
 * Also: dx is ADDED to (twice = 2×; onto a random start = start + grad), the scratch's stale contents
 * are never read (it starts as NaN), and x and the context are left unchanged. */
#include "models/transformer_backward.h"
#include "models/unet_blocks.h"
#include "models/weights.h"
#include "test-util.h"

#include <glib.h>
#include <math.h>
#include <string.h>

/* FD step and tolerance. Two errors trade off: f32 rounding in L (~500 outputs of magnitude ~1, and GN/LN
 * statistics that move whole groups of outputs together) divided by 2h, and the truncation h²|f'''|/6 of
 * these smooth ops (norms, softmax, GELU), which random weights make fairly curved. Measured worst max rel
 * error over the 8 cases: h = 3e-2: 6.1e-3 (truncation, grows ~h²); h = 1e-2: 7e-4; h = 3e-3: 3.3e-4
 * (rounding, grows ~1/h); h = 5e-3: 2.6e-4, the balance. Tolerance 2e-3 (8× that); a wrong or missing
 * path measured 0.15 (no LN2 backward) to 1.2 (depth 2 with every block recomputed from t_0). */
#define FD_H 5e-3
#define FD_TOL 2e-3
/* Accumulation: the same gradient added twice or onto a start in [-1, 1]: f32 rounding of one add. */
#define ACC_TOL 1e-6

enum { C = 16, HEADS = 2, HEAD_DIM = 8, CTX_DIM = 12, N_CTX = 5, GROUPS = 4, BATCH = 2 };

typedef struct {
  gboolean linear_proj;
  int depth;
  int64_t H, W;
} Case;

typedef struct {
  const ScBackend *be;
  ScUNetTransformer st;
  int64_t B, H, W, n; /* n = B·H·W·C */
  float *x, *ctx, *r, *y;
  ScUNetScratch fs;
} Fix;

static float *
rand_floats (GRand *rng, int64_t n)
{
  float *v = g_new (float, n);
  for (int64_t i = 0; i < n; i++)
    v[i] = (float) g_rand_double_range (rng, -1, 1);
  return v;
}

static void
fix_init (Fix *f, const Case *cs, uint64_t seed)
{
  g_autoptr (GError) error = NULL;
  f->be = sc_backend_cpu ();
  f->B = BATCH, f->H = cs->H, f->W = cs->W;
  f->n = f->B * f->H * f->W * C;
  ScWeightSource *src = sc_weight_source_new_random (seed);
  ScUNetLoader ld = { src, 0 };
  g_assert_true (sc_unet_st_load (&f->st, &ld, "st", C, HEADS, HEAD_DIM, CTX_DIM, cs->linear_proj, cs->depth,
                                  GROUPS, &error));
  g_assert_no_error (error);
  sc_weight_source_free (src);

  GRand *rng = g_rand_new_with_seed ((guint32) seed);
  f->x = rand_floats (rng, f->n);
  f->ctx = rand_floats (rng, f->B * N_CTX * CTX_DIM);
  f->r = rand_floats (rng, f->n);
  g_rand_free (rng);
  f->y = g_new (float, f->n);

  ScUNetNeed need = { 0 };
  sc_unet_st_need (&f->st, f->B, f->H * f->W, N_CTX, &need);
  f->fs.s1 = g_new (float, need.s1);
  f->fs.s2 = g_new (float, need.s2);
  f->fs.s3 = g_new (float, need.s3);
  f->fs.s4 = g_new (float, need.s4);
  f->fs.kv = g_new (float, need.kv);
  f->fs.embp = NULL;
}

static void
fix_clear (Fix *f)
{
  sc_unet_st_clear (&f->st);
  g_free (f->x), g_free (f->ctx), g_free (f->r), g_free (f->y);
  g_free (f->fs.s1), g_free (f->fs.s2), g_free (f->fs.s3), g_free (f->fs.s4), g_free (f->fs.kv);
}

/* L = Σ r·y in double, y through the real f32 forward. */
static double
loss (Fix *f, const float *x)
{
  sc_unet_st_forward (f->be, &f->st, x, f->y, f->B, f->H, f->W, f->ctx, N_CTX, &f->fs);
  double l = 0;
  for (int64_t i = 0; i < f->n; i++)
    l += (double) f->r[i] * (double) f->y[i];
  return l;
}

/* dx += backward, with the scratch refilled with NaN first (stale contents must never be read). */
static void
backward (Fix *f, float *dx)
{
  int64_t need = sc_unet_st_backward_need (&f->st, f->B, f->H * f->W, N_CTX);
  float *scratch = g_new (float, need);
  for (int64_t i = 0; i < need; i++)
    scratch[i] = NAN;
  sc_unet_st_backward (f->be, &f->st, f->x, f->ctx, N_CTX, f->r, dx, f->B, f->H, f->W, scratch);
  g_free (scratch);
}

static void
test_case (gconstpointer data)
{
  const Case *cs = data;
  Fix f;
  fix_init (&f, cs, 1000 + 10 * (uint64_t) cs->depth + (cs->linear_proj ? 1 : 0) + (uint64_t) cs->H);
  g_assert_true (sc_unet_st_backward_supported (f.be));
  float *x0 = g_memdup2 (f.x, f.n * sizeof (float));
  float *ctx0 = g_memdup2 (f.ctx, f.B * N_CTX * CTX_DIM * sizeof (float));

  float *dx = g_new0 (float, f.n);
  backward (&f, dx);
  g_assert_cmpmem (f.x, f.n * sizeof (float), x0, f.n * sizeof (float));
  g_assert_cmpmem (f.ctx, f.B * N_CTX * CTX_DIM * sizeof (float), ctx0, f.B * N_CTX * CTX_DIM * sizeof (float));

  /* finite differences on every coordinate of x */
  float *fd = g_new (float, f.n);
  float *xp = g_memdup2 (f.x, f.n * sizeof (float));
  for (int64_t i = 0; i < f.n; i++)
    {
      float plus = f.x[i] + (float) FD_H, minus = f.x[i] - (float) FD_H;
      xp[i] = plus;
      double lp = loss (&f, xp);
      xp[i] = minus;
      double lm = loss (&f, xp);
      xp[i] = f.x[i];
      fd[i] = (float) ((lp - lm) / ((double) plus - (double) minus));
    }
  double err = sc_test_max_rel_error (dx, fd, f.n);

  /* the branch alone: dx − r against fd − r */
  float *bdx = g_new (float, f.n), *bfd = g_new (float, f.n);
  for (int64_t i = 0; i < f.n; i++)
    {
      bdx[i] = dx[i] - f.r[i];
      bfd[i] = fd[i] - f.r[i];
    }
  double berr = sc_test_max_rel_error (bdx, bfd, f.n);
  g_test_message ("depth %d %s %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT ": fd rel err %.3g, branch-only %.3g",
                  cs->depth, cs->linear_proj ? "linear" : "conv1x1", cs->H, cs->W, err, berr);
  g_assert_cmpfloat (err, <=, FD_TOL);
  g_assert_cmpfloat (berr, <=, FD_TOL);

  /* += : a second call doubles; a call onto a random start adds the same gradient */
  float *twice = g_memdup2 (dx, f.n * sizeof (float));
  backward (&f, twice);
  float *dx2 = g_new (float, f.n);
  for (int64_t i = 0; i < f.n; i++)
    dx2[i] = 2 * dx[i];
  g_assert_cmpfloat (sc_test_max_rel_error (twice, dx2, f.n), <=, ACC_TOL);

  GRand *rng = g_rand_new_with_seed (77);
  float *start = rand_floats (rng, f.n);
  g_rand_free (rng);
  float *acc = g_memdup2 (start, f.n * sizeof (float));
  backward (&f, acc);
  for (int64_t i = 0; i < f.n; i++)
    acc[i] -= start[i];
  g_assert_cmpfloat (sc_test_max_rel_error (acc, dx, f.n), <=, ACC_TOL);

  g_free (x0), g_free (ctx0), g_free (dx), g_free (fd), g_free (xp), g_free (bdx), g_free (bfd);
  g_free (twice), g_free (dx2), g_free (start), g_free (acc);
  fix_clear (&f);
}

static const Case cases[] = {
  { TRUE, 1, 3, 5 },  { FALSE, 1, 3, 5 }, { TRUE, 1, 4, 4 },  { FALSE, 1, 4, 4 },
  { TRUE, 2, 3, 5 },  { FALSE, 2, 3, 5 }, { TRUE, 2, 4, 4 },  { FALSE, 2, 4, 4 },
};

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const Case *cs = &cases[i];
      g_autofree char *path = g_strdup_printf ("/transformer-backward/%s-depth%d-%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT,
                                               cs->linear_proj ? "linear" : "conv1x1", cs->depth, cs->H, cs->W);
      g_test_add_data_func (path, cs, test_case);
    }
  return g_test_run ();
}
