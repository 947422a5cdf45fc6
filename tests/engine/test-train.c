/* SC-Tuner training end to end on tiny-sd1 (random weights, pictures 64×64 → latents 8×8):
 *  (a) the trainer learns: see test_learns for why the check cannot pass by accident;
 *  (b) `scedit train` prints its step lines and writes a tuner that `scedit info` and sc_sc_tuner_load take;
 *  (c) clear errors for an empty folder, a broken picture (named), WebP, and resolution 60. */
#include "test-cli-run.h"
#include "core/error.h"
#include "diffusion/train.h"
#include "diffusion/train_data.h"
#include "io/image.h"
#include "models/make_model.h"
#include "scedit/tuner_io.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static char *tmpdir, *model_path, *vocab_path;
static ScModel *model;
static const ScBackend *be;

static char *
tmp (const char *leaf)
{
  return g_build_filename (tmpdir, leaf, NULL);
}

/* n smooth 64×64 pictures (a different colour gradient each) in a new folder; captions for all but the last. */
static char *
make_pictures (const char *leaf, int n)
{
  char *dir = tmp (leaf);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  GError *error = NULL;
  for (int k = 0; k < n; k++)
    {
      g_autoptr (ScImage) img = sc_image_new (64, 64, 3, 8, &error);
      g_assert_no_error (error);
      guint8 *p = img->data;
      for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++)
          {
            p[(y * 64 + x) * 3 + 0] = (guint8) (x * 4 * (k + 1) % 256);
            p[(y * 64 + x) * 3 + 1] = (guint8) (y * 4);
            p[(y * 64 + x) * 3 + 2] = (guint8) (128 + 60 * k);
          }
      g_autofree char *name = g_strdup_printf ("pic%d.png", k), *path = g_build_filename (dir, name, NULL);
      g_assert_true (sc_image_save_png (img, path, NULL, NULL, 0, &error));
      if (k < n - 1)
        {
          g_autofree char *cap = g_strdup_printf ("pic%d.txt", k), *cpath = g_build_filename (dir, cap, NULL);
          g_autofree char *text = g_strdup_printf ("a gradient picture number %d\n", k);
          g_assert_true (g_file_set_contents (cpath, text, -1, &error));
        }
    }
  return dir;
}

static gboolean
need_shared (void)
{
  if (model)
    return TRUE;
  g_test_skip ("SC_SHARED_DIR (the CLIP vocabulary) not available");
  return FALSE;
}

static double
probe_mean (ScTrainer *tr, const ScTrainData *data, const int *ts, float *const *noise, int k)
{
  GError *error = NULL;
  double sum = 0;
  for (int i = 0; i < k; i++)
    {
      float l;
      g_assert_true (sc_trainer_probe (tr, data->items[0].mean, data->items[0].context, data->n_ctx, ts[i], noise[i],
                                       &l, &error));
      g_assert_no_error (error);
      sum += l;
    }
  return sum / k;
}

/* The tuner's four tensors per present skip, as a flat list of (pointer, length). */
typedef struct {
  int n;
  float *p[4 * SC_MAX_SKIPS];
  int64_t len[4 * SC_MAX_SKIPS];
} Params;

static void
params_of (ScScTuner *t, Params *ps)
{
  memset (ps, 0, sizeof *ps);
  for (int m = 0; m < t->layout.n; m++)
    {
      ScSkipMlp *mlp = &t->mlp[m];
      if (!mlp->present)
        continue;
      float *p[] = { mlp->ln1.w, mlp->ln1.b, mlp->ln2.w, mlp->ln2.b };
      int64_t len[] = { mlp->l * mlp->c, mlp->l, mlp->c * mlp->l, mlp->c };
      for (int q = 0; q < 4; q++, ps->n++)
        ps->p[ps->n] = p[q], ps->len[ps->n] = len[q];
    }
}

/* (a) 60 steps at lr 1e-3 on one picture, timesteps in [100, 600). The check is on a FIXED probe set (four
 * (t, noise) pairs the training never draws, on the posterior mean), so it does not depend on which noise
 * the last steps happened to get, and:
 *  - the probe loss falls by more than 10%: the tuner starts as the identity (ln2 = 0, the official init)
 *    and the model's own prediction error does not change, so only learning lowers it;
 *  - the same change in the parameters, in a random direction with the same norm per tensor, does NOT
 *    lower it as much: any change of the tuner moves the loss, so "it moved" alone would prove nothing; a
 *    gradient of the wrong sign or on the wrong skip would make training no better than random;
 *  - ln2 (zero at the start, so any nonzero value is an update) moved, and an lr-0 trainer leaves the
 *    probe bit-identical (the probe itself changes nothing). */
static void
test_learns (void)
{
  if (!need_shared ())
    return;
  GError *error = NULL;
  g_autofree char *dir = make_pictures ("one", 1);
  g_autoptr (ScTrainData) data = sc_train_data_load (model, be, dir, 64, "a gradient", &error);
  g_assert_no_error (error);
  g_assert_cmpint (data->n, ==, 1);
  g_assert_cmpint (data->h, ==, 8);
  g_assert_cmpstr (data->items[0].caption, ==, "a gradient"); /* the last picture has no .txt */

  ScSkipLayout layout;
  g_assert_true (sc_skip_layout_from_unet (&model->arch.unet, &layout));
  g_autoptr (ScScTuner) tuner = sc_sc_tuner_new_random (&layout, 1.0, 3, FALSE, &error);
  g_assert_no_error (error);
  Params ps;
  params_of (tuner, &ps);
  float *init[4 * SC_MAX_SKIPS];
  for (int q = 0; q < ps.n; q++)
    init[q] = g_memdup2 (ps.p[q], (size_t) ps.len[q] * sizeof (float));

  ScTrainOptions opt;
  sc_train_options_init (&opt);
  opt.adamw.lr = 1e-3f;
  opt.seed = 5;
  opt.t_min = 100, opt.t_max = 600;
  g_autoptr (ScTrainer) tr = sc_trainer_new (model, be, tuner, data->h, data->w, &opt, &error);
  g_assert_no_error (error);

  enum { K = 4 };
  const int ts[K] = { 150, 290, 420, 570 };
  float *noise[K];
  ScPhilox rng;
  sc_philox_init (&rng, 777);
  size_t n = (size_t) (data->h * data->w * data->c);
  for (int i = 0; i < K; i++)
    {
      noise[i] = g_new (float, n);
      sc_philox_randn (&rng, noise[i], n);
    }
  double before = probe_mean (tr, data, ts, noise, K);
  g_assert_cmpfloat (probe_mean (tr, data, ts, noise, K), ==, before);

  /* lr 0: the same steps change nothing (AdamW's decay is lr-scaled too) */
  {
    ScTrainOptions o0 = opt;
    o0.adamw.lr = 0;
    g_autoptr (ScTrainer) tr0 = sc_trainer_new (model, be, tuner, data->h, data->w, &o0, &error);
    g_assert_no_error (error);
    float l;
    for (int s = 0; s < 3; s++)
      g_assert_true (sc_trainer_step (tr0, data->items[0].mean, data->items[0].context, data->n_ctx, &l, &error));
    g_assert_cmpfloat (probe_mean (tr, data, ts, noise, K), ==, before);
  }

  ScPhilox data_rng;
  sc_philox_init (&data_rng, 6);
  g_autofree float *z0 = g_new (float, n);
  double first = 0, last = 0;
  for (int s = 0; s < 60; s++)
    {
      float l;
      sc_train_data_latent (data, 0, &data_rng, z0);
      g_assert_true (sc_trainer_step (tr, z0, data->items[0].context, data->n_ctx, &l, &error));
      g_assert_no_error (error);
      g_assert_true (isfinite (l));
      if (s < 10)
        first += l / 10;
      if (s >= 50)
        last += l / 10;
    }
  double after = probe_mean (tr, data, ts, noise, K);

  /* the same step sizes in random directions */
  GRand *gr = g_rand_new_with_seed (12);
  float *trained[4 * SC_MAX_SKIPS];
  double ln2_moved = 0;
  for (int q = 0; q < ps.n; q++)
    {
      trained[q] = g_memdup2 (ps.p[q], (size_t) ps.len[q] * sizeof (float));
      double dn = 0, rn = 0;
      g_autofree float *r = g_new (float, ps.len[q]);
      for (int64_t e = 0; e < ps.len[q]; e++)
        {
          double d = (double) trained[q][e] - init[q][e];
          dn += d * d;
          r[e] = (float) g_rand_double_range (gr, -1, 1);
          rn += (double) r[e] * r[e];
          if (q % 4 >= 2)
            ln2_moved = MAX (ln2_moved, fabs (trained[q][e]));
        }
      for (int64_t e = 0; e < ps.len[q]; e++)
        ps.p[q][e] = init[q][e] + (float) (sqrt (dn / rn)) * r[e];
    }
  g_rand_free (gr);
  double random = probe_mean (tr, data, ts, noise, K);
  g_test_message ("probe loss: before %.6f, trained %.6f, random step of the same size %.6f; "
                  "step loss: first 10 %.6f, last 10 %.6f; max |ln2| %.3g",
                  before, after, random, first, last, ln2_moved);
  g_assert_cmpfloat (ln2_moved, >, 1e-3);
  g_assert_cmpfloat (after, <, 0.9 * before);
  g_assert_cmpfloat (after, <, random);
  g_assert_cmpfloat (before - after, >, 10.0 * MAX (before - random, 0.0)); /* measured: 0.27 vs 0.004 */
  for (int q = 0; q < ps.n; q++)
    {
      g_free (init[q]);
      g_free (trained[q]);
    }
  for (int i = 0; i < K; i++)
    g_free (noise[i]);
}

/* The target follows the model's prediction type: ε, or v = √ᾱ_t·ε − √(1−ᾱ_t)·z0 (§4). */
static void
test_targets (void)
{
  if (!need_shared ())
    return;
  GError *error = NULL;
  ScSkipLayout layout;
  sc_skip_layout_from_unet (&model->arch.unet, &layout);
  g_autoptr (ScScTuner) tuner = sc_sc_tuner_new_random (&layout, 0.5, 1, FALSE, &error);
  ScTrainOptions opt;
  sc_train_options_init (&opt);
  g_autoptr (ScTrainer) tr = sc_trainer_new (model, be, tuner, 8, 8, &opt, &error);
  g_assert_no_error (error);
  size_t n = 8 * 8 * 4;
  g_autofree float *z0 = g_new (float, n), *noise = g_new (float, n);
  g_autofree float *ctx = g_new0 (float, SC_CLIP_CONTEXT * model->arch.text.width);
  ScPhilox rng;
  sc_philox_init (&rng, 3);
  sc_philox_randn (&rng, z0, n);
  sc_philox_randn (&rng, noise, n);
  ScPrediction saved = model->prediction;
  for (int v = 0; v < 2; v++)
    {
      model->prediction = v ? SC_PREDICTION_V : SC_PREDICTION_EPS;
      float l;
      g_assert_true (sc_trainer_probe (tr, z0, ctx, SC_CLIP_CONTEXT, 700, noise, &l, &error));
      double abar = tr->schedule.alphas_cumprod[700], mse = 0;
      for (size_t i = 0; i < n; i++)
        {
          double want = v ? sqrt (abar) * noise[i] - sqrt (1 - abar) * z0[i] : noise[i];
          g_assert_cmpfloat (fabs (tr->target[i] - want), <, 1e-5);
          mse += (tr->pred[i] - want) * (tr->pred[i] - want);
        }
      g_assert_cmpfloat (fabs (l - mse / n), <, 1e-5 * (mse / n));
    }
  model->prediction = saved;
  /* ᾱ of the spec's schedule at the ends (scaled_linear 0.00085 … 0.012) */
  g_assert_cmpfloat (fabs (tr->schedule.alphas_cumprod[0] - (1 - 0.00085)), <, 1e-9);
  g_assert_cmpfloat (tr->schedule.alphas_cumprod[999], <, 0.005);
}


/* (b) */
static void
test_cli (void)
{
  if (!need_shared () || !g_getenv ("SC_SCEDIT"))
    return;
  g_autofree char *dir = make_pictures ("four", 4), *out = tmp ("trained.safetensors");
  const char *args[] = { "train", "-m", model_path, "--vocab", vocab_path, "--data", dir, "--res", "64", "--steps",
                         "20", "--lr", "1e-3", "--seed", "4", "--caption", "a picture", "--threads", "2", "-o", out,
                         NULL };
  ScTestRun r = sc_test_run_scedit_argv (args);
  g_test_message ("%s%s", r.out, r.err);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_regex_match_simple ("^step 10/20 loss [0-9.]+\nstep 20/20 loss [0-9.]+\nWrote ", r.out, 0, 0));
  g_assert_nonnull (strstr (r.err, "Data: 4 pictures at 64×64 (3 with their own caption)"));
  sc_test_run_clear (&r);

  const char *info[] = { "info", out, NULL };
  r = sc_test_run_scedit_argv (info);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "kind: sc-tuner\n"));
  g_assert_nonnull (strstr (r.out, "arch: tiny-sd1\n"));
  g_assert_nonnull (strstr (r.out, "steps: 20\n"));
  g_assert_nonnull (strstr (r.out, "ratio: 1\n"));
  sc_test_run_clear (&r);

  GError *error = NULL;
  g_autoptr (ScScTuner) t = sc_sc_tuner_load (out, &model->arch.unet, &error);
  g_assert_no_error (error);
  double ln2 = 0; /* zero at the start: trained */
  for (int m = 0; m < t->layout.n; m++)
    for (int64_t e = 0; e < t->mlp[m].c; e++)
      ln2 = MAX (ln2, fabs (t->mlp[m].ln2.b[e]));
  g_assert_cmpfloat (ln2, >, 1e-4);

  g_autofree char *empty = tmp ("cli-empty");
  g_assert_cmpint (g_mkdir_with_parents (empty, 0700), ==, 0);
  const char *bad[] = { "train", "-m", model_path, "--vocab", vocab_path, "--data", empty, "--res", "64", "-o", out,
                        NULL };
  r = sc_test_run_scedit_argv (bad);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "holds no pictures"));
  sc_test_run_clear (&r);
  const char *bad_res[] = { "train", "-m", model_path, "--vocab", vocab_path, "--data", dir, "--res", "60", "-o",
                            out, NULL };
  r = sc_test_run_scedit_argv (bad_res);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "Resolution 60 is not supported"));
  sc_test_run_clear (&r);
}

/* (c) */
static void
test_errors (void)
{
  if (!need_shared ())
    return;
  GError *error = NULL;
  g_autofree char *empty = tmp ("empty");
  g_assert_cmpint (g_mkdir_with_parents (empty, 0700), ==, 0);
  g_autofree char *note = g_build_filename (empty, "notes.txt", NULL);
  g_assert_true (g_file_set_contents (note, "not a picture", -1, NULL));
  g_assert_null (sc_train_data_load (model, be, empty, 64, NULL, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "holds no pictures"));
  g_clear_error (&error);

  g_autofree char *broken = tmp ("broken");
  g_assert_cmpint (g_mkdir_with_parents (broken, 0700), ==, 0);
  g_autofree char *bad = g_build_filename (broken, "broken.png", NULL);
  g_assert_true (g_file_set_contents (bad, "\x89PNG\r\n\x1a\nnot really", 18, NULL));
  g_assert_null (sc_train_data_load (model, be, broken, 64, NULL, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "“broken.png”"));
  g_clear_error (&error);

  g_autofree char *dir = make_pictures ("webp", 1);
  g_autofree char *webp = g_build_filename (dir, "extra.webp", NULL);
  g_assert_true (g_file_set_contents (webp, "RIFF", 4, NULL));
  g_assert_null (sc_train_data_load (model, be, dir, 64, NULL, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "“extra.webp” is a WebP picture"));
  g_clear_error (&error);
  g_remove (webp);

  g_assert_null (sc_train_data_load (model, be, dir, 60, NULL, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "Resolution 60 is not supported: training needs a multiple of 64"));
  g_clear_error (&error);

  /* the trainer checks the latent size itself too (the U-Net's backward needs 2× upsamplings) */
  ScSkipLayout layout;
  sc_skip_layout_from_unet (&model->arch.unet, &layout);
  g_autoptr (ScScTuner) tuner = sc_sc_tuner_new_random (&layout, 1.0, 1, FALSE, &error);
  ScTrainOptions opt;
  sc_train_options_init (&opt);
  g_assert_null (sc_trainer_new (model, be, tuner, 12, 12, &opt, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "multiples of 8"));
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  be = sc_backend_cpu ();
  tmpdir = g_dir_make_tmp ("sc-train-XXXXXX", NULL);
  model_path = tmp ("tiny-sd1.safetensors");
  GError *error = NULL;
  g_assert_true (sc_make_model (SC_ARCH_TINY_SD1, 9, SC_LAYOUT_LDM, SC_DTYPE_F32, model_path, &error));
  g_assert_no_error (error);
  const char *shared = g_getenv ("SC_SHARED_DIR");
  vocab_path = shared ? g_build_filename (shared, "data", "clip-bpe", "bpe_simple_vocab_16e6.txt.gz", NULL) : NULL;
  if (vocab_path && g_file_test (vocab_path, G_FILE_TEST_EXISTS))
    {
      ScModelOptions opts = { .vocab = vocab_path, .components = SC_COMPONENT_ALL };
      model = sc_model_load (model_path, &opts, &error);
      g_assert_no_error (error);
    }
  g_test_add_func ("/train/learns", test_learns);
  g_test_add_func ("/train/targets", test_targets);
  g_test_add_func ("/train/cli", test_cli);
  g_test_add_func ("/train/errors", test_errors);
  int status = g_test_run ();
  sc_model_free (model);
  g_autofree char *rm = g_strdup_printf ("rm -rf '%s'", tmpdir);
  (void) !system (rm);
  g_free (model_path);
  g_free (vocab_path);
  g_free (tmpdir);
  return status;
}
