/* The three samplers as diffusers' DDIMScheduler, EulerAncestralDiscreteScheduler and
 * DPMSolverMultistepScheduler compute them (stable-diffusion.md §5.5–5.7). Coefficients are computed in
 * double per step; latents stay f32. */
#include "diffusion/sampler.h"

#include "core/error.h"

#include <math.h>
#include <string.h>

struct ScSampler {
  ScSamplerConfig cfg;
  ScSchedule sched;
  size_t n;
  int S;            /* full schedule length */
  int t_start;      /* first step run (img2img) */
  double *timesteps;/* [S] */
  double *sigmas;   /* [S+1]; the last is 0 */
  double init_noise_sigma;
  int next;         /* next global step index */
  /* DPM++ 2M memory */
  float *prev_x0;
  int lower_order_nums;
};

/* The CLI's names (a contract); "dpm++2m" (stable-diffusion.cpp's spelling) is accepted too. */
static const char *const kind_names[] = { "ddim", "euler_a", "dpmpp_2m" };
static const char *const spacing_names[] = { "leading", "trailing", "linspace" };

const char *
sc_sampler_kind_name (ScSamplerKind kind)
{
  return (guint) kind < G_N_ELEMENTS (kind_names) ? kind_names[kind] : "unknown";
}

gboolean
sc_sampler_kind_from_name (const char *name, ScSamplerKind *kind, GError **error)
{
  for (guint k = 0; k < G_N_ELEMENTS (kind_names); k++)
    if (name && g_ascii_strcasecmp (name, kind_names[k]) == 0)
      {
        *kind = (ScSamplerKind) k;
        return TRUE;
      }
  if (name && g_ascii_strcasecmp (name, "dpm++2m") == 0)
    {
      *kind = SC_SAMPLER_DPMPP_2M;
      return TRUE;
    }
  g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
               "Unknown sampler “%s” (expected ddim, euler_a or dpmpp_2m)", name ? name : "");
  return FALSE;
}

const char *
sc_spacing_name (ScSpacing spacing)
{
  return (guint) spacing < G_N_ELEMENTS (spacing_names) ? spacing_names[spacing] : "unknown";
}

gboolean
sc_spacing_from_name (const char *name, ScSpacing *spacing, GError **error)
{
  for (guint k = 0; k < G_N_ELEMENTS (spacing_names); k++)
    if (name && g_ascii_strcasecmp (name, spacing_names[k]) == 0)
      {
        *spacing = (ScSpacing) k;
        return TRUE;
      }
  g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
               "unknown timestep spacing “%s” (expected leading, trailing or linspace)", name ? name : "");
  return FALSE;
}

void
sc_sampler_config_init (ScSamplerConfig *cfg, ScSamplerKind kind)
{
  memset (cfg, 0, sizeof *cfg);
  cfg->kind = kind;
  cfg->prediction = SC_PREDICTION_EPS;
  cfg->spacing = SC_SPACING_LEADING;
  cfg->steps = 20;
  cfg->eta = 0.0;
  cfg->strength = 1.0;
}

static ScTimestepRule
rule_for (ScSamplerKind kind)
{
  switch (kind)
    {
    case SC_SAMPLER_EULER_A:
      return SC_TIMESTEPS_EULER;
    case SC_SAMPLER_DPMPP_2M:
      return SC_TIMESTEPS_MULTISTEP;
    case SC_SAMPLER_DDIM:
    default:
      return SC_TIMESTEPS_DDIM;
    }
}

ScSampler *
sc_sampler_new (const ScSchedule *sched, const ScSamplerConfig *cfg, size_t n, GError **error)
{
  if (cfg->kind != SC_SAMPLER_DDIM && cfg->kind != SC_SAMPLER_EULER_A && cfg->kind != SC_SAMPLER_DPMPP_2M)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "unknown sampler kind %d", cfg->kind);
      return NULL;
    }
  if (cfg->prediction != SC_PREDICTION_EPS && cfg->prediction != SC_PREDICTION_V)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "unknown prediction type %d", cfg->prediction);
      return NULL;
    }
  if (!(cfg->eta >= 0.0) || !(cfg->strength >= 0.0 && cfg->strength <= 1.0))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "eta must be ≥ 0 and strength in [0, 1] (got eta %g, strength %g)", cfg->eta, cfg->strength);
      return NULL;
    }
  if (n == 0)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "the latent has no elements");
      return NULL;
    }

  ScSampler *s = g_new0 (ScSampler, 1);
  s->cfg = *cfg;
  s->sched = *sched;
  s->n = n;
  s->S = cfg->steps;
  s->timesteps = g_new (double, MAX (cfg->steps, 1));
  if (!sc_schedule_timesteps (rule_for (cfg->kind), cfg->spacing, cfg->steps, s->timesteps, error))
    {
      sc_sampler_free (s);
      return NULL;
    }

  /* σ-space samplers take σ at their timesteps (linear in t), then a final 0 (final_sigmas_type
   * "zero"); DDIM's levels are listed the same way for callers that want to show them. */
  s->sigmas = g_new (double, s->S + 1);
  for (int k = 0; k < s->S; k++)
    s->sigmas[k] = sc_schedule_t_to_sigma (&s->sched, s->timesteps[k]);
  s->sigmas[s->S] = 0.0;

  double sigma_max = s->sigmas[0];
  for (int k = 1; k < s->S; k++)
    sigma_max = MAX (sigma_max, s->sigmas[k]);
  if (cfg->kind == SC_SAMPLER_EULER_A)
    s->init_noise_sigma = cfg->spacing == SC_SPACING_LEADING ? sqrt (sigma_max * sigma_max + 1.0) : sigma_max;
  else
    s->init_noise_sigma = 1.0;

  s->t_start = sc_schedule_img2img_start (s->S, cfg->strength);
  s->next = s->t_start;
  if (cfg->kind == SC_SAMPLER_DPMPP_2M)
    s->prev_x0 = g_new0 (float, n);
  return s;
}

void
sc_sampler_free (ScSampler *s)
{
  if (s == NULL)
    return;
  g_free (s->timesteps);
  g_free (s->sigmas);
  g_free (s->prev_x0);
  g_free (s);
}

int
sc_sampler_n_steps (const ScSampler *s)
{
  return s->S - s->t_start;
}

double
sc_sampler_timestep (const ScSampler *s, int i)
{
  g_return_val_if_fail (i >= 0 && i < sc_sampler_n_steps (s), 0.0);
  return s->timesteps[s->t_start + i];
}

double
sc_sampler_sigma (const ScSampler *s, int i)
{
  g_return_val_if_fail (i >= 0 && i <= sc_sampler_n_steps (s), 0.0);
  return s->sigmas[s->t_start + i];
}

double
sc_sampler_init_noise_sigma (const ScSampler *s)
{
  return s->init_noise_sigma;
}

gboolean
sc_sampler_step_needs_noise (const ScSampler *s, int i)
{
  switch (s->cfg.kind)
    {
    case SC_SAMPLER_DDIM:
      return s->cfg.eta > 0.0;
    case SC_SAMPLER_EULER_A:
      return TRUE; /* diffusers draws it even on the last step, where σ_up is 0 */
    case SC_SAMPLER_DPMPP_2M:
    default:
      return FALSE;
    }
}

/* out = a·x + b·y, coefficients in double. */
static void
axpby (double a, const float *x, double b, const float *y, float *out, size_t n)
{
  for (size_t j = 0; j < n; j++)
    out[j] = (float) (a * x[j] + b * y[j]);
}

void
sc_sampler_add_noise (const ScSampler *s, int i, const float *z0, const float *noise, float *out)
{
  g_return_if_fail (i >= 0 && i <= sc_sampler_n_steps (s));
  int g = s->t_start + i;

  if (i == sc_sampler_n_steps (s))
    {
      memmove (out, z0, s->n * sizeof (float));
      return;
    }
  switch (s->cfg.kind)
    {
    case SC_SAMPLER_DDIM:
      {
        double a = s->sched.alphas_cumprod[(int) s->timesteps[g]];
        axpby (sqrt (a), z0, sqrt (1.0 - a), noise, out, s->n);
        break;
      }
    case SC_SAMPLER_EULER_A:
      axpby (1.0, z0, s->sigmas[g], noise, out, s->n);
      break;
    case SC_SAMPLER_DPMPP_2M:
    default:
      {
        double alpha = 1.0 / sqrt (s->sigmas[g] * s->sigmas[g] + 1.0);
        axpby (alpha, z0, s->sigmas[g] * alpha, noise, out, s->n);
        break;
      }
    }
}

void
sc_sampler_init_latent (const ScSampler *s, const float *z0, const float *noise, float *x)
{
  if (z0 == NULL)
    axpby (s->init_noise_sigma, noise, 0.0, noise, x, s->n);
  else
    sc_sampler_add_noise (s, 0, z0, noise, x);
}

void
sc_sampler_scale_input (const ScSampler *s, int i, const float *x, float *x_in)
{
  g_return_if_fail (i >= 0 && i < sc_sampler_n_steps (s));
  double c = 1.0;
  if (s->cfg.kind == SC_SAMPLER_EULER_A)
    {
      double sigma = s->sigmas[s->t_start + i];
      c = 1.0 / sqrt (sigma * sigma + 1.0);
    }
  axpby (c, x, 0.0, x, x_in, s->n);
}

static void
ddim_step (ScSampler *s, int g, const float *out, float *x, float *x0, const float *noise)
{
  const ScSchedule *sc = &s->sched;
  int t = (int) s->timesteps[g];
  /* diffusers steps back by 1000 // S whatever the spacing; below 0 it uses ᾱ_0 (set_alpha_to_one False) */
  int t_prev = t - SC_TRAIN_TIMESTEPS / s->S;
  double a = sc->alphas_cumprod[t];
  double ap = t_prev >= 0 ? sc->alphas_cumprod[t_prev] : sc->alphas_cumprod[0];
  double sa = sqrt (a), sb = sqrt (1.0 - a);
  double var = (1.0 - ap) / (1.0 - a) * (1.0 - a / ap);
  double std = s->cfg.eta * sqrt (var);
  double c_x0 = sqrt (ap), c_eps = sqrt (MAX (1.0 - ap - std * std, 0.0));
  gboolean eps = s->cfg.prediction == SC_PREDICTION_EPS;

  for (size_t j = 0; j < s->n; j++)
    {
      double xj = x[j], o = out[j];
      double p0 = eps ? (xj - sb * o) / sa : sa * xj - sb * o;
      double pe = eps ? o : sa * o + sb * xj;
      double r = c_x0 * p0 + c_eps * pe;
      if (std > 0.0)
        r += std * noise[j];
      if (x0)
        x0[j] = (float) p0;
      x[j] = (float) r;
    }
}

static void
euler_a_step (ScSampler *s, int g, const float *out, float *x, float *x0, const float *noise)
{
  double sigma = s->sigmas[g], sn = s->sigmas[g + 1];
  /* σ_up = sqrt(σn²(σ² − σn²)/σ²); σ_down = sqrt(σn² − σ_up²) = σn²/σ, written so it cannot go NaN */
  double up = sn * sqrt (MAX (sigma * sigma - sn * sn, 0.0)) / sigma;
  double down = sn * sn / sigma;
  double cv_out = -sigma / sqrt (sigma * sigma + 1.0), cv_x = 1.0 / (sigma * sigma + 1.0);
  gboolean eps = s->cfg.prediction == SC_PREDICTION_EPS;

  for (size_t j = 0; j < s->n; j++)
    {
      double xj = x[j], o = out[j];
      double p0 = eps ? xj - sigma * o : o * cv_out + xj * cv_x;
      double d = (xj - p0) / sigma;
      double r = xj + d * (down - sigma) + up * noise[j];
      if (x0)
        x0[j] = (float) p0;
      x[j] = (float) r;
    }
}

/* VP view of a σ level: α = 1/sqrt(σ² + 1), σ_vp = σ·α, λ = log α − log σ_vp. */
static void
vp_of (double sigma, double *alpha, double *sigma_vp, double *lambda)
{
  *alpha = 1.0 / sqrt (sigma * sigma + 1.0);
  *sigma_vp = sigma * *alpha;
  *lambda = log (*alpha) - log (*sigma_vp);
}

static void
dpmpp_2m_step (ScSampler *s, int g, const float *out, float *x, float *x0)
{
  double a_s, s_s, l_s, a_t = 1.0, s_t = 0.0, l_t = 0.0;
  vp_of (s->sigmas[g], &a_s, &s_s, &l_s);
  gboolean last = g == s->S - 1; /* final σ is 0: always first order there */
  gboolean first_order = s->lower_order_nums < 1 || last;
  gboolean to_zero = s->sigmas[g + 1] == 0.0;
  if (!to_zero)
    vp_of (s->sigmas[g + 1], &a_t, &s_t, &l_t);
  double h = l_t - l_s;
  double c_x = to_zero ? 0.0 : s_t / s_s;
  double c_d = to_zero ? 1.0 : -a_t * (exp (-h) - 1.0); /* σ → 0: x = D0 */
  double inv_r0 = 0.0;
  if (!first_order)
    {
      double a1, s1, l1;
      vp_of (s->sigmas[g - 1], &a1, &s1, &l1);
      inv_r0 = h / (l_s - l1);
    }
  gboolean eps = s->cfg.prediction == SC_PREDICTION_EPS;

  for (size_t j = 0; j < s->n; j++)
    {
      double xj = x[j], o = out[j];
      double d0 = eps ? (xj - s_s * o) / a_s : a_s * xj - s_s * o;
      double d = d0;
      if (!first_order)
        d += 0.5 * inv_r0 * (d0 - s->prev_x0[j]); /* midpoint: D0 + ½·D1, D1 = (m0 − m1)/r0 */
      s->prev_x0[j] = (float) d0;
      if (x0)
        x0[j] = (float) d0;
      x[j] = (float) (c_x * xj + c_d * d);
    }
  if (s->lower_order_nums < 2)
    s->lower_order_nums++;
}

gboolean
sc_sampler_step (ScSampler *s, int i, const float *model_out, float *x, float *x0, const float *noise,
                 GError **error)
{
  int g = s->t_start + i;
  if (i < 0 || g != s->next || g >= s->S)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "sampler step %d out of order (expected %d of %d)", i, s->next - s->t_start,
                   sc_sampler_n_steps (s));
      return FALSE;
    }
  if (noise == NULL && sc_sampler_step_needs_noise (s, i))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "sampler step %d needs noise", i);
      return FALSE;
    }

  switch (s->cfg.kind)
    {
    case SC_SAMPLER_DDIM:
      ddim_step (s, g, model_out, x, x0, noise);
      break;
    case SC_SAMPLER_EULER_A:
      euler_a_step (s, g, model_out, x, x0, noise);
      break;
    case SC_SAMPLER_DPMPP_2M:
    default:
      dpmpp_2m_step (s, g, model_out, x, x0);
      break;
    }
  s->next++;
  return TRUE;
}

gboolean
sc_sampler_run (ScSampler *s, const ScSamplerCallbacks *cb, const float *z0, float *x, GError **error)
{
  size_t n = s->n;
  int steps = sc_sampler_n_steps (s);
  gboolean ok = TRUE;

  if (cb->predict == NULL || cb->noise == NULL)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "the sampler needs predict and noise callbacks");
      return FALSE;
    }
  if (s->next != s->t_start)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "the sampler has already been stepped");
      return FALSE;
    }

  float *noise = g_new (float, n);
  float *x_in = g_new (float, n);
  float *out = g_new (float, n);
  float *x0 = g_new (float, n);

  cb->noise (cb->user, noise, n);
  sc_sampler_init_latent (s, z0, noise, x);

  for (int i = 0; i < steps && ok; i++)
    {
      sc_sampler_scale_input (s, i, x, x_in);
      ok = cb->predict (cb->user, x_in, (float) sc_sampler_timestep (s, i), out, error);
      if (!ok)
        break;
      gboolean need = sc_sampler_step_needs_noise (s, i);
      if (need)
        cb->noise (cb->user, noise, n);
      ok = sc_sampler_step (s, i, out, x, x0, need ? noise : NULL, error);
      if (ok && cb->progress && !cb->progress (cb->user, i, steps, x, x0))
        {
          g_set_error (error, SC_ERROR, SC_ERROR_CANCELLED, "sampling cancelled at step %d of %d", i + 1, steps);
          ok = FALSE;
        }
    }

  g_free (noise);
  g_free (x_in);
  g_free (out);
  g_free (x0);
  return ok;
}

void
sc_cfg_combine (const float *uncond, const float *cond, float scale, float rescale, float *out, size_t n)
{
  /* std(cond) first: out may alias cond */
  double std_c = 0.0;
  if (rescale > 0.0f && n > 1)
    {
      double mean = 0.0, ss = 0.0;
      for (size_t j = 0; j < n; j++)
        mean += cond[j];
      mean /= n;
      for (size_t j = 0; j < n; j++)
        ss += (cond[j] - mean) * (cond[j] - mean);
      std_c = sqrt (ss / (n - 1));
    }

  for (size_t j = 0; j < n; j++)
    out[j] = uncond[j] + scale * (cond[j] - uncond[j]);

  if (rescale > 0.0f && n > 1)
    {
      double mean = 0.0, ss = 0.0;
      for (size_t j = 0; j < n; j++)
        mean += out[j];
      mean /= n;
      for (size_t j = 0; j < n; j++)
        ss += (out[j] - mean) * (out[j] - mean);
      double std_o = sqrt (ss / (n - 1));
      if (std_o > 0.0)
        {
          double f = rescale * (std_c / std_o) + (1.0 - rescale);
          for (size_t j = 0; j < n; j++)
            out[j] = (float) (out[j] * f);
        }
    }
}
