/* Decoder-only training (models/unet_train.c): the tape recorded by sc_unet_forward and the decoder's
 * backward, against central finite differences of the real forward. tiny-sd1 U-Net with random weights,
 * latent 16×16, batch 2, one random style SC-Tuner (random ln2 too, so gradients reach ln1) applied through
 * the tuner set's hooks at strength 0.7 (the scale then multiplies the tuner's gradients, so a missing
 * factor shows). L = Σ r·out for a fixed random r, summed in double; dout = r.
 *  (a) dskip (gradient at the edited skip) vs FD through an edit_skip hook that adds ±h after the set's
 *      edit, at a few coordinates of skips from every decoder level;
 *  (b) end to end: the tuner's ln2 bias and ln1 weights of two skips via sc_skip_mlp_backward (x = taped
 *      pre-edit skip, dy = dskip) vs FD of L through the full forward with the tuner set.
 * Also: a tape leaves the output bit-identical, and odd decoder sizes give a clear error. */
#include "backend/backend.h"
#include "core/error.h"
#include "core/tensor.h"
#include "models/unet.h"
#include "models/unet_train.h"
#include "models/weights.h"
#include "scedit/tuner_set.h"
#include "scedit/tuner_train.h"
#include "test-util.h"

#include <math.h>
#include <string.h>

#define PREFIX "model.diffusion_model."
#define B 2
#define N_CTX 5
#define STRENGTH 0.7f

static const ScBackend *be;

typedef struct {
  const ScUNetConfig *cfg;
  ScUNet *unet;
  ScScTuner *tuner;
  ScTunerSet *set;
  ScUNetHooks set_hooks; /* the tuner set's own */
  int64_t H, W, n_out;
  float *x, *t, *ctx, *r, *out;
  /* FD of (a): after the set's edit, skip `poke_skip` gets += poke_h at poke_at, or += poke_h·poke_dir
   * everywhere when poke_dir is set. */
  int poke_skip;
  int64_t poke_at;
  const float *poke_dir;
  float poke_h;
} Fixture;

static void
fill (GRand *rng, float *p, int64_t n, double scale)
{
  for (int64_t i = 0; i < n; i++)
    p[i] = (float) (scale * g_rand_double_range (rng, -1.0, 1.0));
}

static gboolean
poke_edit_skip (gpointer user_data, int i, float *skip, int64_t b, int64_t h, int64_t w, int64_t c, GError **error)
{
  Fixture *f = user_data;
  if (!f->set_hooks.edit_skip (f->set_hooks.user_data, i, skip, b, h, w, c, error))
    return FALSE;
  if (i == f->poke_skip && f->poke_dir) /* CPU backend: skips are host memory */
    for (int64_t k = 0; k < b * h * w * c; k++)
      skip[k] += f->poke_h * f->poke_dir[k];
  else if (i == f->poke_skip)
    skip[f->poke_at] += f->poke_h;
  return TRUE;
}

static void
fixture_init (Fixture *f, int64_t H, int64_t W)
{
  memset (f, 0, sizeof *f);
  g_autoptr (GError) error = NULL;
  f->cfg = &sc_arch_config (SC_ARCH_TINY_SD1)->unet;
  ScWeightSource *src = sc_weight_source_new_random (7);
  f->unet = sc_unet_new (f->cfg, src, PREFIX, &error);
  g_assert_no_error (error);
  sc_weight_source_free (src);
  ScSkipLayout layout;
  g_assert_true (sc_skip_layout_from_unet (f->cfg, &layout));
  f->tuner = sc_sc_tuner_new_random (&layout, 0.5, 11, TRUE, &error);
  g_assert_no_error (error);
  f->set = sc_tuner_set_new (f->cfg, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sc_tuner_set_add_style (f->set, f->tuner, STRENGTH, &error), ==, 0);
  g_assert_true (sc_tuner_set_prepare (f->set, be, H, W, &error));
  sc_tuner_set_hooks (f->set, NULL, NULL, &f->set_hooks);
  f->H = H, f->W = W;
  f->n_out = B * H * W * f->cfg->out_channels;
  f->poke_skip = -1;

  GRand *rng = g_rand_new_with_seed (4242);
  f->x = g_new (float, B * H * W * f->cfg->in_channels);
  f->ctx = g_new (float, B * N_CTX * f->cfg->context_dim);
  f->r = g_new (float, f->n_out);
  f->out = g_new (float, f->n_out);
  f->t = g_new (float, B);
  f->t[0] = 501.0f, f->t[1] = 37.5f;
  fill (rng, f->x, B * H * W * f->cfg->in_channels, 1.0);
  fill (rng, f->ctx, B * N_CTX * f->cfg->context_dim, 1.0);
  fill (rng, f->r, f->n_out, 1.0);
  g_rand_free (rng);
}

static void
fixture_clear (Fixture *f)
{
  sc_tuner_set_free (f->set);
  sc_sc_tuner_unref (f->tuner);
  sc_unet_free (f->unet);
  g_free (f->x);
  g_free (f->t);
  g_free (f->ctx);
  g_free (f->r);
  g_free (f->out);
}

/* One forward with the tuner set (and the poke hook), tape optional; returns L = Σ r·out. */
static double
loss (Fixture *f, ScUNetTape *tape)
{
  g_autoptr (GError) error = NULL;
  ScUNetHooks hooks = { .edit_skip = poke_edit_skip, .user_data = f, .tape = tape };
  g_assert_true (sc_unet_forward (f->unet, be, f->x, B, f->H, f->W, f->t, f->ctx, N_CTX, f->out, &hooks, &error));
  g_assert_no_error (error);
  double l = 0;
  for (int64_t i = 0; i < f->n_out; i++)
    l += (double) f->r[i] * f->out[i];
  return l;
}

/* Central difference of L when *p moves by ±h (p: a host float the forward reads). */
static double
fd_param (Fixture *f, float *p, float h)
{
  float p0 = *p;
  *p = p0 + h;
  double lp = loss (f, NULL);
  *p = p0 - h;
  double lm = loss (f, NULL);
  *p = p0;
  return (lp - lm) / (2.0 * h);
}

static double
fd_skip (Fixture *f, int skip, int64_t at, float h)
{
  f->poke_skip = skip, f->poke_at = at;
  f->poke_h = h;
  double lp = loss (f, NULL);
  f->poke_h = -h;
  double lm = loss (f, NULL);
  f->poke_skip = -1;
  return (lp - lm) / (2.0 * h);
}

/* The same along a direction over the whole skip: d/dε L(skip + ε·dir). */
static double
fd_skip_dir (Fixture *f, int skip, const float *dir, float h)
{
  f->poke_dir = dir;
  double d = fd_skip (f, skip, 0, h);
  f->poke_dir = NULL;
  return d;
}

static double
dot (const float *a, const float *b, int64_t n)
{
  double s = 0;
  for (int64_t i = 0; i < n; i++)
    s += (double) a[i] * b[i];
  return s;
}

/* Tolerance for one FD comparison: |an − fd| ≤ ABS + REL·|fd|. The analytic side is f32 (relative
 * ~1e-5). The FD's error is mostly rounding: L sums 2048 f32 outputs of a ~40-layer f32 network, and its
 * noise divided by 2h was measured at ≤ 1.1e-3 at h = 1e-2 (at h = 3e-3 it grows to 3e-3: noise, not
 * truncation, dominates; at h = 1e-1 truncation through GN/SiLU/softmax/GELU reaches 3%). So ABS 2e-3
 * (≈ 2× the noise) and REL 2e-2 for the larger gradients (up to 0.9 here). Single coordinates carry
 * small gradients (0.002–0.1) and so are a coarse check (sign and order: a gradient landing on the wrong
 * skip or pixel fails); the directional checks below are the tight ones. */
#define FD_H 1e-2f
#define TOL_ABS 2e-3
#define TOL_REL 2e-2

static double
check (const char *what, double an, double fd, double *max_err)
{
  double err = fabs (an - fd);
  g_test_message ("%s: analytic %.6g fd %.6g err %.3g", what, an, fd, err);
  g_assert_true (isfinite (an));
  g_assert_cmpfloat (err, <=, TOL_ABS + TOL_REL * fabs (fd));
  *max_err = MAX (*max_err, err / MAX (fabs (fd), 1e-3));
  return err;
}

/* Directional checks: a random direction over thousands of values sums thousands of gradients, so the
 * signal is up to ~√n larger than one coordinate's (0.05 to 13 here) while the FD's rounding noise stays
 * the same (measured ≤ 1e-3 absolute at ε = 1e-2; ε = 1e-3 gives ~1e-2: noise-dominated, so no
 * smaller). |an − fd| ≤ 2e-3 + 5e-3·|fd|: covers that noise with 2× margin, and the large directional
 * derivatives are then held to ~0.5%: a missing strength factor (30%) or a 1% scale error fails. */
#define DIR_H 1e-2f
#define DIR_TOL_ABS 2e-3
#define DIR_TOL_REL 5e-3

static void
check_dir (const char *what, double an, double fd, double *max_err)
{
  double err = fabs (an - fd);
  g_test_message ("%s: analytic %.8g fd %.8g err %.3g (relative %.3g)", what, an, fd, err, err / fabs (fd));
  g_assert_true (isfinite (an));
  g_assert_cmpfloat (fabs (fd), >, 1e-2);
  g_assert_cmpfloat (err, <=, DIR_TOL_ABS + DIR_TOL_REL * fabs (fd));
  *max_err = MAX (*max_err, err / fabs (fd));
}

typedef struct {
  float *dskip[SC_MAX_SKIPS];
  ScUNetTape *tape;
} Grads;

/* Forward with a tape, then the decoder backward with dout = r. */
static void
grads_run (Fixture *f, Grads *g)
{
  g_autoptr (GError) error = NULL;
  memset (g, 0, sizeof *g);
  g->tape = sc_unet_tape_new ();
  loss (f, g->tape);
  for (int j = 0; j < g->tape->n_blocks; j++)
    {
      const ScUNetTapeBlock *b = &g->tape->blocks[j];
      g->dskip[b->skip] = sc_alloc_floats ((size_t) (B * b->h * b->w * b->skip_c), NULL);
    }
  g_assert_true (sc_unet_decoder_backward (f->unet, be, g->tape, f->r, g->dskip, &error));
  g_assert_no_error (error);
}

static void
grads_clear (Grads *g)
{
  for (int i = 0; i < SC_MAX_SKIPS; i++)
    g_free (g->dskip[i]);
  sc_unet_tape_free (g->tape);
}

static const ScUNetTapeBlock *
tape_block_of_skip (const ScUNetTape *tape, int skip)
{
  for (int j = 0; j < tape->n_blocks; j++)
    if (tape->blocks[j].skip == skip)
      return &tape->blocks[j];
  g_assert_not_reached ();
}

/* The tape must not change the forward; recording twice reuses the buffers. */
static void
test_tape_transparent (void)
{
  Fixture f;
  fixture_init (&f, 16, 16);
  double l0 = loss (&f, NULL);
  g_autofree float *ref = g_memdup2 (f.out, (size_t) f.n_out * sizeof (float));
  g_autoptr (ScUNetTape) tape = sc_unet_tape_new ();
  loss (&f, tape);
  g_assert_cmpmem (f.out, f.n_out * sizeof (float), ref, f.n_out * sizeof (float));
  float *first = tape->blocks[3].cat;
  double l1 = loss (&f, tape);
  g_assert_true (tape->blocks[3].cat == first);
  g_assert_cmpfloat (l0, ==, l1);
  g_assert_cmpint (tape->n_blocks, ==, 12);
  fixture_clear (&f);
}

/* (a) dskip vs FD w.r.t. the edited skip. Skips 11 (deepest, first decoder block, no transformer), 8
 * (upsampling block above it), 6, 3 (level with transformers), 1, 0 (shallowest, feeds the head). */
static void
test_dskip_fd (void)
{
  Fixture f;
  fixture_init (&f, 16, 16);
  Grads g;
  grads_run (&f, &g);
  const int skips[] = { 11, 8, 6, 3, 1, 0 };
  GRand *rng = g_rand_new_with_seed (99);
  double max_rel = 0, max_an = 0;
  for (size_t k = 0; k < G_N_ELEMENTS (skips); k++)
    {
      const ScUNetTapeBlock *b = tape_block_of_skip (g.tape, skips[k]);
      int64_t n = B * b->h * b->w * b->skip_c;
      for (int rep = 0; rep < 3; rep++)
        {
          int64_t at = g_rand_int_range (rng, 0, (gint32) n);
          double an = g.dskip[skips[k]][at];
          double fd = fd_skip (&f, skips[k], at, FD_H);
          g_autofree char *what = g_strdup_printf ("dskip[%d][%" G_GINT64_FORMAT "]", skips[k], at);
          check (what, an, fd, &max_rel);
          max_an = MAX (max_an, fabs (an));
        }
    }
  g_test_message ("dskip: max relative error %.3g (max |grad| %.3g)", max_rel, max_an);
  g_assert_cmpfloat (max_an, >, 1e-2); /* the gradients are not all (near) zero */
  double max_dir = 0;
  for (size_t k = 0; k < G_N_ELEMENTS (skips); k++)
    {
      const ScUNetTapeBlock *b = tape_block_of_skip (g.tape, skips[k]);
      int64_t n = B * b->h * b->w * b->skip_c;
      g_autofree float *dir = g_new (float, n);
      fill (rng, dir, n, 1.0);
      g_autofree char *what = g_strdup_printf ("dskip[%d] dot dir", skips[k]);
      check_dir (what, dot (dir, g.dskip[skips[k]], n), fd_skip_dir (&f, skips[k], dir, DIR_H), &max_dir);
    }
  g_test_message ("dskip along directions: max relative error %.3g", max_dir);
  g_rand_free (rng);
  grads_clear (&g);
  fixture_clear (&f);
}

/* (b) tuner parameters, end to end. */
static void
test_tuner_params_fd (void)
{
  Fixture f;
  fixture_init (&f, 16, 16);
  Grads g;
  grads_run (&f, &g);
  g_autoptr (GError) error = NULL;
  const int skips[] = { 10, 2 }; /* a deep 2×2 skip without transformers, a 16×16 one with them */
  GRand *rng = g_rand_new_with_seed (5);
  double max_rel = 0;
  for (size_t k = 0; k < G_N_ELEMENTS (skips); k++)
    {
      int i = skips[k], m = g.tape->n_blocks - 1 - i; /* decoder order, as tuner_set.c */
      ScSkipMlp *mlp = &f.tuner->mlp[m];
      g_assert_true (mlp->present);
      const ScUNetTapeBlock *b = tape_block_of_skip (g.tape, i);
      int64_t rows = B * b->h * b->w;
      g_assert_cmpint (b->skip_c, ==, mlp->c);
      ScSkipMlpGrad pg;
      g_assert_true (sc_skip_mlp_grad_init (&pg, be, mlp, &error));
      g_autofree float *hidden = sc_alloc_floats ((size_t) (rows * mlp->l), NULL);
      g_autofree float *act = sc_alloc_floats ((size_t) sc_skip_mlp_backward_act_floats (mlp, rows), NULL);
      sc_skip_mlp_backward (be, mlp, b->skip_in, g.dskip[i], NULL, &pg, hidden, act, rows, STRENGTH);

      for (int rep = 0; rep < 3; rep++)
        {
          int64_t c = g_rand_int_range (rng, 0, (gint32) mlp->c);
          g_autofree char *what = g_strdup_printf ("skip %d ln2.bias[%" G_GINT64_FORMAT "]", i, c);
          check (what, pg.ln2_b[c], fd_param (&f, &mlp->ln2.b[c], FD_H), &max_rel);
        }
      for (int rep = 0; rep < 3; rep++)
        {
          int64_t at = g_rand_int_range (rng, 0, (gint32) (mlp->l * mlp->c));
          g_autofree char *what = g_strdup_printf ("skip %d ln1.weight[%" G_GINT64_FORMAT "]", i, at);
          check (what, pg.ln1_w[at], fd_param (&f, &mlp->ln1.w[at], FD_H), &max_rel);
        }

      /* All four tensors of the MLP along one random direction. */
      float *p[] = { mlp->ln1.w, mlp->ln1.b, mlp->ln2.w, mlp->ln2.b };
      const float *gp[] = { pg.ln1_w, pg.ln1_b, pg.ln2_w, pg.ln2_b };
      int64_t np[] = { mlp->l * mlp->c, mlp->l, mlp->c * mlp->l, mlp->c };
      float *dir[4], *p0[4];
      double an = 0;
      for (int q = 0; q < 4; q++)
        {
          dir[q] = g_new (float, np[q]);
          fill (rng, dir[q], np[q], 1.0);
          p0[q] = g_memdup2 (p[q], (size_t) np[q] * sizeof (float));
          an += dot (dir[q], gp[q], np[q]);
        }
      double l[2];
      for (int sgn = 0; sgn < 2; sgn++)
        {
          for (int q = 0; q < 4; q++)
            for (int64_t e = 0; e < np[q]; e++)
              p[q][e] = p0[q][e] + (sgn ? -DIR_H : DIR_H) * dir[q][e];
          l[sgn] = loss (&f, NULL);
        }
      for (int q = 0; q < 4; q++)
        {
          memcpy (p[q], p0[q], (size_t) np[q] * sizeof (float));
          g_free (dir[q]);
          g_free (p0[q]);
        }
      g_autofree char *what = g_strdup_printf ("skip %d all MLP parameters dot dir", i);
      double max_dir = 0;
      check_dir (what, an, (l[0] - l[1]) / (2.0 * DIR_H), &max_dir);
      sc_skip_mlp_grad_clear (be, &pg);
    }
  g_test_message ("tuner parameters: max relative error %.3g", max_rel);
  g_rand_free (rng);
  grads_clear (&g);
  fixture_clear (&f);
}

/* 12×12: the encoder goes 12, 6, 3, 2, so the decoder's last upsampling is 2 → 3, not 2×. */
static void
test_odd_size_error (void)
{
  Fixture f;
  fixture_init (&f, 12, 12);
  g_autoptr (ScUNetTape) tape = sc_unet_tape_new ();
  loss (&f, tape);
  g_autoptr (GError) error = NULL;
  float *dskip[SC_MAX_SKIPS] = { 0 };
  g_assert_false (sc_unet_decoder_backward (f.unet, be, tape, f.r, dskip, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "divisible by 8"));
  fixture_clear (&f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  be = sc_backend_cpu ();
  g_test_add_func ("/unet-train/tape-transparent", test_tape_transparent);
  g_test_add_func ("/unet-train/dskip-fd", test_dskip_fd);
  g_test_add_func ("/unet-train/tuner-params-fd", test_tuner_params_fd);
  g_test_add_func ("/unet-train/odd-size-error", test_odd_size_error);
  return g_test_run ();
}
