/* Tuner training pieces (scedit/tuner_train.c): the tuned skip's backward, the MSE loss, AdamW.
 *
 *  - sc_skip_mlp_backward against central finite differences of L = Σ r·y, y = sc_skip_tuner_forward (the
 *    real f32 forward), L summed in double, with the actual f32 perturbation in the denominator: every
 *    coordinate of x and of the four parameter tensors on a tiny case, 50 sampled per tensor on a
 *    realistic one (C 320, L 320, the SD skip at ratio 1, 64 pixels), at strengths 1 and 0.6 (and 1.7,
 *    clamped to 1 as tuner_set.c does; 0: the identity). Errors are |fd − grad| / max|grad| per tensor;
 *  - accumulation (two calls = 2×, a call into random buffers = start + grad) and NULL gradient pointers;
 *  - the MSE loss against a double loop, its gradient by finite differences, its += and thread-count
 *    independence;
 *  - end to end: a random student MLP fitted to a random teacher's skip by 200 AdamW steps on the MSE. */
#include "backend/backend.h"
#include "core/parallel.h"
#include "core/tensor.h"
#include "models/weights.h"
#include "scedit/tuner_train.h"
#include "test-util.h"

#include <glib.h>
#include <math.h>
#include <string.h>

/* Finite differences: the MLP is smooth (erf GELU); h = 1e-2 makes the truncation error h²|f'''|/6 ~ 2e-5
 * relative, and the f32 rounding of L (~1e-7 of each output that moves, a parameter of ln1 moves them all)
 * divided by 2h stays ~1e-5 of max|grad|. 2e-3 leaves room for both; a wrong formula (a missing strength,
 * a transposed weight, a dropped residual) is off by O(1). The MSE is quadratic: no truncation error, so a
 * large h = 0.25 leaves only the float return's rounding. */
#define H_SMOOTH 1e-2
#define FD_TOL 2e-3
#define H_MSE 0.25
#define FD_TOL_MSE 1e-4
#define FD_SAMPLES 50

static const ScBackend *be;
static GRand *rng;

static float *
rand_floats (int64_t n, double lo, double hi)
{
  float *p = g_new (float, (size_t) n);
  for (int64_t i = 0; i < n; i++)
    p[i] = (float) g_rand_double_range (rng, lo, hi);
  return p;
}

/* A random MLP (ln1 and ln2 both random, so gradients reach ln1). */
static void
make_mlp (ScSkipMlp *mlp, uint64_t seed, int64_t c, int64_t l)
{
  g_autoptr (GError) error = NULL;
  ScWeightSource *src = sc_weight_source_new_random (seed);
  g_assert_true (sc_skip_mlp_load (mlp, src, "t", c, l, FALSE, &error));
  g_assert_no_error (error);
  sc_weight_source_free (src);
  /* The random source's biases (std 0.02) are small: larger ones test the bias paths as well. */
  for (int64_t i = 0; i < l; i++)
    mlp->ln1.b[i] = (float) g_rand_double_range (rng, -0.5, 0.5);
  for (int64_t i = 0; i < c; i++)
    mlp->ln2.b[i] = (float) g_rand_double_range (rng, -0.5, 0.5);
}

typedef struct {
  ScSkipMlp mlp;
  int64_t rows, c, l;
  float strength;
  float *x, *r, *y, *hidden, *act;
} Case;

static void
case_init (Case *k, int64_t rows, int64_t c, int64_t l, float strength, uint64_t seed)
{
  memset (k, 0, sizeof *k);
  make_mlp (&k->mlp, seed, c, l);
  k->rows = rows;
  k->c = c;
  k->l = l;
  k->strength = strength;
  k->x = rand_floats (rows * c, -2, 2);
  k->r = rand_floats (rows * c, -1, 1);
  k->y = g_new (float, (size_t) (rows * c));
  k->hidden = g_new (float, (size_t) (rows * l));
  k->act = g_new (float, (size_t) sc_skip_mlp_backward_act_floats (&k->mlp, rows));
}

static void
case_clear (Case *k)
{
  sc_skip_mlp_clear (&k->mlp);
  g_free (k->x);
  g_free (k->r);
  g_free (k->y);
  g_free (k->hidden);
  g_free (k->act);
}

static double
case_loss (Case *k)
{
  sc_skip_tuner_forward (be, &k->mlp, k->x, k->y, k->hidden, k->rows, k->strength);
  double L = 0.0;
  for (int64_t i = 0; i < k->rows * k->c; i++)
    L += (double) k->r[i] * (double) k->y[i];
  return L;
}

/* Backward with dy = r into zeroed dx and g. */
static void
case_backward (Case *k, float *dx, ScSkipMlpGrad *g)
{
  sc_skip_mlp_backward (be, &k->mlp, k->x, k->r, dx, g, k->hidden, k->act, k->rows, k->strength);
}

/* samples 0: every coordinate. Returns the worst |fd − grad| / max|grad|. */
static double
fd_check (Case *k, const char *what, float *v, const float *grad, int64_t n, int samples)
{
  double gmax = 0.0;
  for (int64_t i = 0; i < n; i++)
    gmax = MAX (gmax, fabs ((double) grad[i]));
  g_assert_cmpfloat (gmax, >, 0.0);
  int64_t count = samples > 0 && samples < n ? samples : n;
  double worst = 0.0;
  for (int64_t s = 0; s < count; s++)
    {
      int64_t i = count < n ? (int64_t) g_rand_int_range (rng, 0, (gint32) n) : s;
      float v0 = v[i];
      float vp = (float) ((double) v0 + H_SMOOTH), vm = (float) ((double) v0 - H_SMOOTH);
      v[i] = vp;
      double lp = case_loss (k);
      v[i] = vm;
      double lm = case_loss (k);
      v[i] = v0;
      double fd = (lp - lm) / ((double) vp - (double) vm);
      worst = MAX (worst, fabs (fd - (double) grad[i]) / gmax);
    }
  g_test_message ("C %" G_GINT64_FORMAT " L %" G_GINT64_FORMAT " rows %" G_GINT64_FORMAT " strength %g: %s: "
                  "finite differences at %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " coordinates: max error "
                  "%.2e of max|grad| (tolerance %.0e)",
                  k->c, k->l, k->rows, k->strength, what, count, n, worst, FD_TOL);
  g_assert_cmpfloat (worst, <=, FD_TOL);
  return worst;
}

static void
run_backward_fd (int64_t rows, int64_t c, int64_t l, float strength, int samples)
{
  Case k;
  case_init (&k, rows, c, l, strength, 11 + (uint64_t) c);
  float *dx = g_new0 (float, (size_t) (rows * c));
  ScSkipMlpGrad g;
  g_autoptr (GError) error = NULL;
  g_assert_true (sc_skip_mlp_grad_init (&g, be, &k.mlp, &error));
  case_backward (&k, dx, &g);
  fd_check (&k, "dx", k.x, dx, rows * c, samples);
  fd_check (&k, "ln1.weight", k.mlp.ln1.w, g.ln1_w, l * c, samples);
  fd_check (&k, "ln1.bias", k.mlp.ln1.b, g.ln1_b, l, samples);
  fd_check (&k, "ln2.weight", k.mlp.ln2.w, g.ln2_w, c * l, samples);
  fd_check (&k, "ln2.bias", k.mlp.ln2.b, g.ln2_b, c, samples);
  sc_skip_mlp_grad_clear (be, &g);
  g_free (dx);
  case_clear (&k);
}

static void
test_backward_fd (void)
{
  run_backward_fd (3, 8, 4, 1.0f, 0);
  run_backward_fd (3, 8, 4, 0.6f, 0);
  run_backward_fd (2, 5, 3, 1.7f, 0); /* clamped to 1, as tuner_set.c */
  run_backward_fd (64, 320, 320, 1.0f, FD_SAMPLES);
  run_backward_fd (64, 320, 80, 0.6f, FD_SAMPLES);
}

static float *
grad_flat (const ScSkipMlpGrad *g, int64_t *n)
{
  int64_t lc = g->l * g->c;
  *n = 2 * lc + g->l + g->c;
  float *f = g_new (float, (size_t) *n);
  memcpy (f, g->ln1_w, sizeof (float) * (size_t) lc);
  memcpy (f + lc, g->ln1_b, sizeof (float) * (size_t) g->l);
  memcpy (f + lc + g->l, g->ln2_w, sizeof (float) * (size_t) lc);
  memcpy (f + 2 * lc + g->l, g->ln2_b, sizeof (float) * (size_t) g->c);
  return f;
}

/* Twice into zeroed buffers = 2×; into random buffers = start + grad; NULL pointers change nothing else;
 * strength 0 is the identity (dx = dy, no parameter gradient). */
static void
test_backward_accumulates (void)
{
  const int64_t rows = 40, c = 24, l = 12, nx = rows * c;
  Case k;
  case_init (&k, rows, c, l, 0.6f, 5);
  g_autoptr (GError) error = NULL;
  ScSkipMlpGrad g1, g2, gr;
  g_assert_true (sc_skip_mlp_grad_init (&g1, be, &k.mlp, &error));
  g_assert_true (sc_skip_mlp_grad_init (&g2, be, &k.mlp, &error));
  g_assert_true (sc_skip_mlp_grad_init (&gr, be, &k.mlp, &error));
  float *dx1 = g_new0 (float, (size_t) nx), *dx2 = g_new0 (float, (size_t) nx);
  case_backward (&k, dx1, &g1);
  case_backward (&k, dx2, &g2);
  case_backward (&k, dx2, &g2);
  int64_t n;
  g_autofree float *f1 = grad_flat (&g1, &n);
  g_autofree float *f2 = grad_flat (&g2, &n);
  for (int64_t i = 0; i < nx; i++)
    dx1[i] *= 2.0f;
  for (int64_t i = 0; i < n; i++)
    f1[i] *= 2.0f;
  double e_dx = sc_test_max_rel_error (dx2, dx1, (size_t) nx), e_g = sc_test_max_rel_error (f2, f1, (size_t) n);
  g_test_message ("twice = 2×: dx %.2e, parameters %.2e", e_dx, e_g);
  g_assert_cmpfloat (e_dx, <=, 1e-6);
  g_assert_cmpfloat (e_g, <=, 1e-6);

  /* Into random starting values. */
  float *dx0 = rand_floats (nx, -1, 1);
  float *dxr = g_memdup2 (dx0, sizeof (float) * (size_t) nx);
  for (int64_t i = 0; i < gr.l * gr.c; i++)
    gr.ln2_w[i] = 0.5f;
  case_backward (&k, dxr, &gr);
  float *ref = g_new (float, (size_t) nx);
  for (int64_t i = 0; i < nx; i++)
    ref[i] = dx0[i] + dx1[i] * 0.5f;
  double e_start = sc_test_max_rel_error (dxr, ref, (size_t) nx);
  for (int64_t i = 0; i < gr.l * gr.c; i++)
    gr.ln2_w[i] -= 0.5f;
  double e_start_w = sc_test_max_rel_error (gr.ln2_w, g1.ln2_w, (size_t) (gr.l * gr.c));
  g_test_message ("start + grad: dx %.2e, ln2.weight %.2e", e_start, e_start_w);
  g_assert_cmpfloat (e_start, <=, 1e-6);
  g_assert_cmpfloat (e_start_w, <=, 1e-6);

  /* NULL pointers: the other gradient is bitwise the same. */
  float *dxn = g_new0 (float, (size_t) nx);
  case_backward (&k, dxn, NULL);
  for (int64_t i = 0; i < nx; i++)
    g_assert_cmpfloat (dxn[i] * 2.0f, ==, dx1[i]);
  sc_skip_mlp_grad_zero (be, &g2);
  case_backward (&k, NULL, &g2);
  g_autofree float *fn = grad_flat (&g2, &n);
  for (int64_t i = 0; i < n; i++)
    g_assert_cmpfloat (fn[i] * 2.0f, ==, f1[i]);

  /* Strength 0: the tuner is off. */
  k.strength = 0.0f;
  memset (dxn, 0, sizeof (float) * (size_t) nx);
  sc_skip_mlp_grad_zero (be, &g2);
  case_backward (&k, dxn, &g2);
  g_assert_cmpmem (dxn, sizeof (float) * (size_t) nx, k.r, sizeof (float) * (size_t) nx);
  g_autofree float *f0 = grad_flat (&g2, &n);
  for (int64_t i = 0; i < n; i++)
    g_assert_cmpfloat (f0[i], ==, 0.0f);

  g_free (dx0);
  g_free (dxr);
  g_free (dxn);
  g_free (ref);
  g_free (dx1);
  g_free (dx2);
  sc_skip_mlp_grad_clear (be, &g1);
  sc_skip_mlp_grad_clear (be, &g2);
  sc_skip_mlp_grad_clear (be, &gr);
  case_clear (&k);
}

static void
test_mse (void)
{
  /* Value against a double loop; gradient by finite differences at every coordinate. */
  const int64_t n = 37;
  float *pred = rand_floats (n, -2, 2), *target = rand_floats (n, -2, 2);
  float *d = g_new0 (float, (size_t) n);
  double ref = 0.0;
  for (int64_t i = 0; i < n; i++)
    ref += ((double) pred[i] - target[i]) * ((double) pred[i] - target[i]);
  ref /= (double) n;
  float loss = sc_mse_loss (pred, target, d, n);
  g_test_message ("mse %.8g, double %.8g", loss, ref);
  g_assert_cmpfloat (fabs ((double) loss - ref), <=, 1e-7 * ref);
  double gmax = 0.0, worst = 0.0;
  for (int64_t i = 0; i < n; i++)
    gmax = MAX (gmax, fabs ((double) d[i]));
  for (int64_t i = 0; i < n; i++)
    {
      float p0 = pred[i], pp = (float) (p0 + H_MSE), pm = (float) (p0 - H_MSE);
      pred[i] = pp;
      double lp = sc_mse_loss (pred, target, NULL, n);
      pred[i] = pm;
      double lm = sc_mse_loss (pred, target, NULL, n);
      pred[i] = p0;
      worst = MAX (worst, fabs ((lp - lm) / ((double) pp - pm) - d[i]) / gmax);
    }
  g_test_message ("mse gradient: finite differences at all %" G_GINT64_FORMAT " coordinates: max error %.2e of "
                  "max|grad| (tolerance %.0e)", n, worst, FD_TOL_MSE);
  g_assert_cmpfloat (worst, <=, FD_TOL_MSE);
  /* += : a second call doubles it. */
  float *d2 = g_memdup2 (d, sizeof (float) * (size_t) n);
  sc_mse_loss (pred, target, d2, n);
  for (int64_t i = 0; i < n; i++)
    g_assert_cmpfloat (d2[i], ==, 2.0f * d[i]);
  g_free (pred);
  g_free (target);
  g_free (d);
  g_free (d2);

  /* Above the threading threshold, with a chunk tail: 1 and 2 threads give the same bits. */
  const int64_t big = 300007;
  pred = rand_floats (big, -1, 1);
  target = rand_floats (big, -1, 1);
  float loss_t[2], *dt[2];
  for (int t = 0; t < 2; t++)
    {
      sc_set_num_threads (t + 1);
      dt[t] = g_new0 (float, (size_t) big);
      loss_t[t] = sc_mse_loss (pred, target, dt[t], big);
    }
  sc_set_num_threads (0);
  g_assert_cmpmem (&loss_t[0], sizeof (float), &loss_t[1], sizeof (float));
  g_assert_cmpmem (dt[0], sizeof (float) * (size_t) big, dt[1], sizeof (float) * (size_t) big);
  g_free (dt[0]);
  g_free (dt[1]);
  g_free (pred);
  g_free (target);
}

/* Forward, backward, loss and optimiser together: the student's skip fitted to a teacher's. */
static void
test_fit (void)
{
  const int64_t rows = 64, c = 8, l = 4, n = rows * c;
  const int steps = 200;
  g_autoptr (GError) error = NULL;
  ScSkipMlp student, teacher;
  make_mlp (&student, 101, c, l);
  make_mlp (&teacher, 202, c, l);
  float *x = rand_floats (n, -2, 2);
  float *target = g_new (float, (size_t) n), *y = g_new (float, (size_t) n), *dy = g_new (float, (size_t) n);
  float *hidden = g_new (float, (size_t) (rows * l));
  float *act = g_new (float, (size_t) sc_skip_mlp_backward_act_floats (&student, rows));
  sc_skip_tuner_forward (be, &teacher, x, target, hidden, rows, 1.0f);
  ScSkipMlpGrad g;
  ScSkipMlpAdamW opt;
  g_assert_true (sc_skip_mlp_grad_init (&g, be, &student, &error));
  g_assert_true (sc_skip_mlp_adamw_init (&opt, be, &student, &error));
  ScAdamWParams p = SC_ADAMW_SCEDIT;
  p.lr = 1e-2f;
  float first = 0.0f, last = 0.0f;
  for (int s = 0; s <= steps; s++)
    {
      sc_skip_tuner_forward (be, &student, x, y, hidden, rows, 1.0f);
      memset (dy, 0, sizeof (float) * (size_t) n);
      last = sc_mse_loss (y, target, dy, n);
      if (s == 0)
        first = last;
      if (s == steps)
        break; /* the loss after the last step */
      sc_skip_mlp_grad_zero (be, &g);
      sc_skip_mlp_backward (be, &student, x, dy, NULL, &g, hidden, act, rows, 1.0f);
      sc_skip_mlp_adamw_step (be, &student, &g, &opt, &p);
    }
  g_test_message ("fit: MSE %.4g → %.4g after %d AdamW steps (lr %g): %.1f× lower", first, last, steps, p.lr,
                  first / last);
  g_assert_cmpint (opt.step, ==, steps);
  g_assert_true (isfinite (last));
  g_assert_cmpfloat (last * 10.0f, <=, first);
  sc_skip_mlp_adamw_clear (be, &opt);
  sc_skip_mlp_grad_clear (be, &g);
  sc_skip_mlp_clear (&student);
  sc_skip_mlp_clear (&teacher);
  g_free (x);
  g_free (target);
  g_free (y);
  g_free (dy);
  g_free (hidden);
  g_free (act);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  be = sc_backend_cpu ();
  rng = g_rand_new_with_seed (20240611);
  g_test_add_func ("/tuner-train/backward-fd", test_backward_fd);
  g_test_add_func ("/tuner-train/backward-accumulates", test_backward_accumulates);
  g_test_add_func ("/tuner-train/mse", test_mse);
  g_test_add_func ("/tuner-train/fit", test_fit);
  int ret = g_test_run ();
  g_rand_free (rng);
  return ret;
}
