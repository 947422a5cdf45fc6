/* Schedules, timestep spacings, samplers and CFG against diffusers' schedulers, via the fixture written
 * by tests/reference/gen_schedule.py (see there for the fake model and the noise pool).
 * Tolerances: ᾱ 1e-6 relative (diffusers builds it in f32, we in double); timesteps exact (fractional
 * linspace ones to 1e-4); σ 2e-5 relative (f32 ᾱ again); sampled latents max|Δ| ≤ 1e-5·max|ref|. */
#include "core/error.h"
#include "diffusion/sampler.h"
#include "diffusion/schedule.h"
#include "io/safetensors.h"
#include "test-util.h"

#include <math.h>
#include <string.h>

static ScSafetensors *fx;
static ScSchedule sched;

#define STEPS 8

static float *
fixture (const char *name, size_t *n)
{
  const ScStEntry *e = sc_safetensors_find (fx, name);
  if (e == NULL)
    g_error ("fixture tensor %s is missing; rerun tests/reference/gen_schedule.py", name);
  float *v = g_new (float, e->numel);
  g_autoptr (GError) error = NULL;
  g_assert_true (sc_st_entry_to_f32 (e, v, &error));
  g_assert_no_error (error);
  if (n)
    *n = (size_t) e->numel;
  return v;
}

static void
test_alphas_cumprod (void)
{
  /* stable-diffusion.md §5.1 (double) */
  g_assert_cmpfloat_with_epsilon (sched.alphas_cumprod[0], 0.99915, 1e-12);
  g_assert_cmpfloat_with_epsilon (sched.alphas_cumprod[1], 0.9982960278, 1e-10);
  g_assert_cmpfloat_with_epsilon (sched.alphas_cumprod[500], 0.2763326838, 1e-10);
  g_assert_cmpfloat_with_epsilon (sched.alphas_cumprod[999], 0.004660098513, 1e-12);
  g_assert_cmpfloat_with_epsilon (sched.sigmas[0], 0.0291671582, 1e-9);
  g_assert_cmpfloat_with_epsilon (sched.sigmas[999], 14.6146412, 1e-6);

  size_t n;
  g_autofree float *ref = fixture ("alphas_cumprod", &n);
  g_assert_cmpuint (n, ==, SC_TRAIN_TIMESTEPS);
  for (size_t t = 0; t < n; t++)
    g_assert_cmpfloat (fabs (sched.alphas_cumprod[t] / ref[t] - 1.0), <, 1e-6);
}

static void
test_sigma_t_conversions (void)
{
  size_t n, m;
  g_autofree float *in = fixture ("sigma_to_t_in", &n);
  g_autofree float *out = fixture ("sigma_to_t_out", &m);
  g_assert_cmpuint (n, ==, m);
  for (size_t k = 0; k < n; k++)
    g_assert_cmpfloat_with_epsilon (sc_schedule_sigma_to_t (&sched, in[k]), out[k], 2e-3);

  /* round trips at integer and fractional t */
  for (double t = 0.0; t <= 999.0; t += 37.25)
    {
      double s = sc_schedule_t_to_sigma (&sched, t);
      g_assert_cmpfloat_with_epsilon (sc_schedule_sigma_to_t (&sched, s), t, 0.05);
    }
  g_assert_cmpfloat (sc_schedule_t_to_sigma (&sched, 999.0), ==, sched.sigmas[999]);
  g_assert_cmpfloat (sc_schedule_t_to_sigma (&sched, -3.0), ==, sched.sigmas[0]);
}

static const char *const rule_names[] = { "ddim", "euler_a", "dpmpp_2m" };
static const char *const spacing_names[] = { "leading", "trailing", "linspace" };

static void
test_timesteps (void)
{
  const int counts[] = { 7, 8, 16, 20, 50 };
  for (int r = 0; r < 3; r++)
    for (int sp = 0; sp < 3; sp++)
      for (guint c = 0; c < G_N_ELEMENTS (counts); c++)
        {
          int s = counts[c];
          g_autofree char *name = g_strdup_printf ("ts_%s_%s_%d", rule_names[r], spacing_names[sp], s);
          size_t n;
          g_autofree float *ref = fixture (name, &n);
          g_assert_cmpuint (n, ==, (size_t) s);
          g_autofree double *ts = g_new (double, s);
          g_autoptr (GError) error = NULL;
          g_assert_true (sc_schedule_timesteps ((ScTimestepRule) r, (ScSpacing) sp, s, ts, &error));
          for (int k = 0; k < s; k++)
            if (fabs (ts[k] - ref[k]) > 1e-4)
              g_error ("%s[%d] = %g, diffusers %g", name, k, ts[k], ref[k]);
        }

  /* spec §5.4 */
  double ts[50];
  g_assert_true (sc_schedule_timesteps (SC_TIMESTEPS_DDIM, SC_SPACING_LEADING, 50, ts, NULL));
  g_assert_cmpfloat (ts[0], ==, 981.0);
  g_assert_cmpfloat (ts[49], ==, 1.0);
  g_assert_true (sc_schedule_timesteps (SC_TIMESTEPS_DDIM, SC_SPACING_TRAILING, 20, ts, NULL));
  g_assert_cmpfloat (ts[0], ==, 999.0);
  g_assert_cmpfloat (ts[19], ==, 49.0);

  g_autoptr (GError) error = NULL;
  g_assert_false (sc_schedule_timesteps (SC_TIMESTEPS_DDIM, SC_SPACING_LEADING, 0, ts, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
}

static void
test_sigmas (void)
{
  const ScSamplerKind kinds[] = { SC_SAMPLER_EULER_A, SC_SAMPLER_DPMPP_2M };
  for (int r = 1; r < 3; r++)
    for (int sp = 0; sp < 3; sp++)
      {
        ScSamplerConfig cfg;
        sc_sampler_config_init (&cfg, kinds[r - 1]);
        cfg.spacing = (ScSpacing) sp;
        cfg.steps = 20;
        g_autoptr (GError) error = NULL;
        ScSampler *s = sc_sampler_new (&sched, &cfg, 16, &error);
        g_assert_no_error (error);

        g_autofree char *name = g_strdup_printf ("sigmas_%s_%s_20", rule_names[r], spacing_names[sp]);
        g_autofree char *iname = g_strdup_printf ("init_sigma_%s_%s_20", rule_names[r], spacing_names[sp]);
        size_t n;
        g_autofree float *ref = fixture (name, &n);
        g_autofree float *init = fixture (iname, NULL);
        g_assert_cmpuint (n, ==, 21);
        for (int k = 0; k <= 20; k++)
          {
            double got = sc_sampler_sigma (s, k);
            if (fabs (got - ref[k]) > 2e-5 * MAX (fabs (ref[k]), 1e-3))
              g_error ("%s[%d] = %.8g, diffusers %.8g", name, k, got, ref[k]);
          }
        g_assert_cmpfloat (fabs (sc_sampler_init_noise_sigma (s) / init[0] - 1.0), <, 2e-5);
        sc_sampler_free (s);
      }

  /* spec §5.4: diffusers Euler(A), leading, S = 20 */
  const double spec[] = { 11.0283, 8.3907, 6.5064, 5.1344, 4.1167, 3.3478, 2.7562, 2.2929, 1.9234, 1.6237,
                          1.3762, 1.1682, 0.9904, 0.8357, 0.6984, 0.5741, 0.4583, 0.3462, 0.2281, 0.0413, 0 };
  ScSamplerConfig cfg;
  sc_sampler_config_init (&cfg, SC_SAMPLER_EULER_A);
  ScSampler *s = sc_sampler_new (&sched, &cfg, 16, NULL);
  for (int k = 0; k <= 20; k++)
    g_assert_cmpfloat_with_epsilon (sc_sampler_sigma (s, k), spec[k], 6e-5);
  g_assert_cmpfloat_with_epsilon (sc_sampler_init_noise_sigma (s), 11.0736, 6e-5);
  sc_sampler_free (s);
}

static void
test_cfg (void)
{
  size_t n;
  g_autofree float *u = fixture ("cfg_uncond", &n);
  g_autofree float *c = fixture ("cfg_cond", NULL);
  g_autofree float *out = g_new (float, n);
  const struct { float scale, rescale; const char *name; } cases[] = {
    { 7.5f, 0.0f, "cfg_7.5_0.0" }, { 7.5f, 0.7f, "cfg_7.5_0.7" }, { 4.0f, 1.0f, "cfg_4.0_1.0" },
  };
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autofree float *ref = fixture (cases[k].name, NULL);
      sc_cfg_combine (u, c, cases[k].scale, cases[k].rescale, out, n);
      g_assert_cmpfloat (sc_test_max_rel_error (out, ref, n), <=, 1e-6);
    }
  /* out may alias cond */
  g_autofree float *c2 = g_memdup2 (c, n * sizeof (float));
  g_autofree float *ref = fixture ("cfg_7.5_0.7", NULL);
  sc_cfg_combine (u, c2, 7.5f, 0.7f, c2, n);
  g_assert_cmpfloat (sc_test_max_rel_error (c2, ref, n), <=, 1e-6);
}

/* The fake model and the noise pool of gen_schedule.py. */
typedef struct {
  const float *pool;
  size_t n, pool_rows, next;
} RunCtx;

static gboolean
fake_predict (gpointer user, const float *x_in, float t, float *out, GError **error)
{
  RunCtx *ctx = user;
  float c1 = (float) (0.3 * cos (t / 300.0)), c2 = (float) (0.1 * sin (t / 100.0));
  for (size_t j = 0; j < ctx->n; j++)
    out[j] = c1 * x_in[j] + c2;
  return TRUE;
}

static void
pool_noise (gpointer user, float *out, size_t n)
{
  RunCtx *ctx = user;
  g_assert_cmpuint (n, ==, ctx->n);
  g_assert_cmpuint (ctx->next, <, ctx->pool_rows);
  memcpy (out, ctx->pool + ctx->next * n, n * sizeof (float));
  ctx->next++;
}

static gboolean
check_progress (gpointer user, int step, int n_steps, const float *x, const float *x0)
{
  g_assert_cmpint (step, >=, 0);
  g_assert_cmpint (step, <, n_steps);
  g_assert_nonnull (x);
  g_assert_nonnull (x0);
  return TRUE;
}

typedef struct {
  const char *name;
  ScSamplerKind kind;
  ScPrediction prediction;
  double eta, strength;
  ScSpacing spacing;
} RunCase;

static const RunCase run_cases[] = {
  { "ddim_eps_eta0", SC_SAMPLER_DDIM, SC_PREDICTION_EPS, 0, 1, SC_SPACING_LEADING },
  { "ddim_eps_eta1", SC_SAMPLER_DDIM, SC_PREDICTION_EPS, 1, 1, SC_SPACING_LEADING },
  { "ddim_v_eta0", SC_SAMPLER_DDIM, SC_PREDICTION_V, 0, 1, SC_SPACING_LEADING },
  { "ddim_v_eta1", SC_SAMPLER_DDIM, SC_PREDICTION_V, 1, 1, SC_SPACING_LEADING },
  { "ddim_eps_trailing", SC_SAMPLER_DDIM, SC_PREDICTION_EPS, 0, 1, SC_SPACING_TRAILING },
  { "euler_a_eps", SC_SAMPLER_EULER_A, SC_PREDICTION_EPS, 0, 1, SC_SPACING_LEADING },
  { "euler_a_v", SC_SAMPLER_EULER_A, SC_PREDICTION_V, 0, 1, SC_SPACING_LEADING },
  { "euler_a_eps_linspace", SC_SAMPLER_EULER_A, SC_PREDICTION_EPS, 0, 1, SC_SPACING_LINSPACE },
  { "dpmpp_2m_eps", SC_SAMPLER_DPMPP_2M, SC_PREDICTION_EPS, 0, 1, SC_SPACING_LEADING },
  { "dpmpp_2m_v", SC_SAMPLER_DPMPP_2M, SC_PREDICTION_V, 0, 1, SC_SPACING_LEADING },
  { "dpmpp_2m_eps_trailing", SC_SAMPLER_DPMPP_2M, SC_PREDICTION_EPS, 0, 1, SC_SPACING_TRAILING },
  { "img2img_ddim_eps", SC_SAMPLER_DDIM, SC_PREDICTION_EPS, 0, 0.6, SC_SPACING_LEADING },
  { "img2img_ddim_v_eta1", SC_SAMPLER_DDIM, SC_PREDICTION_V, 1, 0.6, SC_SPACING_LEADING },
  { "img2img_euler_a_eps", SC_SAMPLER_EULER_A, SC_PREDICTION_EPS, 0, 0.6, SC_SPACING_LEADING },
  { "img2img_dpmpp_2m_eps", SC_SAMPLER_DPMPP_2M, SC_PREDICTION_EPS, 0, 0.6, SC_SPACING_LEADING },
};

/* Drives the sampler step by step (as a pipeline with inpainting would), keeping x after step 1. */
static void
test_run (gconstpointer data)
{
  const RunCase *rc = data;
  size_t n, rows;
  g_autofree float *pool = fixture ("noise", &rows);
  g_autofree float *z0 = fixture ("z0", &n);
  rows /= n;
  gboolean img2img = rc->strength < 1.0;

  ScSamplerConfig cfg;
  sc_sampler_config_init (&cfg, rc->kind);
  cfg.prediction = rc->prediction;
  cfg.eta = rc->eta;
  cfg.strength = rc->strength;
  cfg.spacing = rc->spacing;
  cfg.steps = STEPS;
  g_autoptr (GError) error = NULL;
  ScSampler *s = sc_sampler_new (&sched, &cfg, n, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sc_sampler_n_steps (s), ==, img2img ? 4 : STEPS); /* int(8·0.6) = 4 */

  RunCtx ctx = { pool, n, rows, 0 };
  g_autofree float *x = g_new (float, n);
  g_autofree float *x_in = g_new (float, n);
  g_autofree float *out = g_new (float, n);
  g_autofree float *x0 = g_new (float, n);
  g_autofree float *noise = g_new (float, n);
  g_autofree float *x1 = g_new (float, n);

  pool_noise (&ctx, noise, n);
  sc_sampler_init_latent (s, img2img ? z0 : NULL, noise, x);
  for (int i = 0; i < sc_sampler_n_steps (s); i++)
    {
      sc_sampler_scale_input (s, i, x, x_in);
      g_assert_true (fake_predict (&ctx, x_in, (float) sc_sampler_timestep (s, i), out, NULL));
      gboolean need = sc_sampler_step_needs_noise (s, i);
      if (need)
        pool_noise (&ctx, noise, n);
      g_assert_true (sc_sampler_step (s, i, out, x, x0, need ? noise : NULL, &error));
      g_assert_no_error (error);
      if (i == 0)
        memcpy (x1, x, n * sizeof (float));
    }
  /* out of order */
  g_assert_false (sc_sampler_step (s, 0, out, x, NULL, noise, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  sc_sampler_free (s);

  g_autofree char *n1 = g_strdup_printf ("run_%s_x1", rc->name);
  g_autofree char *nf = g_strdup_printf ("run_%s_final", rc->name);
  g_autofree float *ref1 = fixture (n1, NULL);
  g_autofree float *reff = fixture (nf, NULL);
  double e1 = sc_test_max_rel_error (x1, ref1, n), ef = sc_test_max_rel_error (x, reff, n);
  if (g_test_verbose ())
    g_test_message ("%s: step 1 %.2e, final %.2e", rc->name, e1, ef);
  if (e1 > 1e-5 || ef > 1e-5)
    g_error ("%s: max relative error step 1 %.3g, final %.3g (limit 1e-5)", rc->name, e1, ef);

  /* the callback loop gives the same latent */
  s = sc_sampler_new (&sched, &cfg, n, &error);
  g_assert_no_error (error);
  ctx.next = 0;
  ScSamplerCallbacks cb = { fake_predict, pool_noise, check_progress, &ctx };
  g_autofree float *y = g_new (float, n);
  g_assert_true (sc_sampler_run (s, &cb, img2img ? z0 : NULL, y, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (y, n * sizeof (float), x, n * sizeof (float));
  sc_sampler_free (s);
}

static gboolean
cancel_at_2 (gpointer user, int step, int n_steps, const float *x, const float *x0)
{
  int *calls = user;
  (*calls)++;
  return step < 2;
}

static gboolean
predict_ok (gpointer user, const float *x_in, float t, float *out, GError **error)
{
  memset (out, 0, 16 * sizeof (float));
  return TRUE;
}

static gboolean
predict_fail (gpointer user, const float *x_in, float t, float *out, GError **error)
{
  g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "no memory for the U-Net");
  return FALSE;
}

static void
zero_noise (gpointer user, float *out, size_t n)
{
  memset (out, 0, n * sizeof (float));
}

static void
test_cancel_and_errors (void)
{
  ScSamplerConfig cfg;
  sc_sampler_config_init (&cfg, SC_SAMPLER_EULER_A);
  cfg.steps = 8;
  g_autoptr (GError) error = NULL;
  float x[16];
  int calls = 0;

  ScSampler *s = sc_sampler_new (&sched, &cfg, 16, &error);
  ScSamplerCallbacks cb = { predict_ok, zero_noise, cancel_at_2, &calls };
  g_assert_false (sc_sampler_run (s, &cb, NULL, x, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_CANCELLED);
  g_assert_cmpint (calls, ==, 3);
  g_clear_error (&error);
  sc_sampler_free (s);

  s = sc_sampler_new (&sched, &cfg, 16, &error);
  cb.predict = predict_fail;
  g_assert_false (sc_sampler_run (s, &cb, NULL, x, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY);
  g_clear_error (&error);
  sc_sampler_free (s);

  cfg.strength = 1.5;
  g_assert_null (sc_sampler_new (&sched, &cfg, 16, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  cfg.strength = 1.0;
  cfg.steps = 0;
  g_assert_null (sc_sampler_new (&sched, &cfg, 16, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  ScSamplerKind kind;
  ScSpacing spacing;
  g_assert_true (sc_sampler_kind_from_name ("DPM++2M", &kind, NULL));
  g_assert_cmpint (kind, ==, SC_SAMPLER_DPMPP_2M);
  g_assert_cmpstr (sc_sampler_kind_name (SC_SAMPLER_EULER_A), ==, "euler_a");
  g_assert_false (sc_sampler_kind_from_name ("heun", &kind, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (sc_spacing_from_name ("trailing", &spacing, NULL));
  g_assert_cmpint (spacing, ==, SC_SPACING_TRAILING);
  g_assert_cmpstr (sc_spacing_name (SC_SPACING_LINSPACE), ==, "linspace");

  /* strength 0 runs nothing; the start latent is z0 itself */
  g_assert_cmpint (sc_schedule_img2img_start (8, 0.0), ==, 8);
  g_assert_cmpint (sc_schedule_img2img_start (8, 0.6), ==, 4);
  g_assert_cmpint (sc_schedule_img2img_start (20, 0.75), ==, 5);
  cfg.steps = 8;
  cfg.strength = 0.0;
  s = sc_sampler_new (&sched, &cfg, 16, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sc_sampler_n_steps (s), ==, 0);
  float z0[16], noise[16];
  for (int j = 0; j < 16; j++)
    z0[j] = j * 0.25f, noise[j] = 1.0f;
  sc_sampler_init_latent (s, z0, noise, x);
  g_assert_cmpmem (x, sizeof x, z0, sizeof z0);
  sc_sampler_free (s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  const char *dir = g_getenv ("SC_FIXTURES_DIR");
  g_assert_nonnull (dir);
  g_autofree char *path = g_build_filename (dir, "schedule.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  fx = sc_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sc_safetensors_metadata (fx, "generator"), ==, "tests/reference/gen_schedule.py");
  sc_schedule_init_sd (&sched);

  g_test_add_func ("/schedule/alphas-cumprod", test_alphas_cumprod);
  g_test_add_func ("/schedule/sigma-t", test_sigma_t_conversions);
  g_test_add_func ("/schedule/timesteps", test_timesteps);
  g_test_add_func ("/schedule/sigmas", test_sigmas);
  g_test_add_func ("/sampler/cfg", test_cfg);
  for (guint k = 0; k < G_N_ELEMENTS (run_cases); k++)
    {
      g_autofree char *name = g_strdup_printf ("/sampler/run/%s", run_cases[k].name);
      g_test_add_data_func (name, &run_cases[k], test_run);
    }
  g_test_add_func ("/sampler/cancel-and-errors", test_cancel_and_errors);

  int rc = g_test_run ();
  sc_safetensors_close (fx);
  return rc;
}
