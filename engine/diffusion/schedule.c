/* Noise schedule tables and diffusers' timestep spacings. The spacing code mirrors numpy's arithmetic
 * (arange's fill, linspace's i·step, round-half-even) so the timesteps are the same integers. */
#include "diffusion/schedule.h"

#include "core/error.h"

#include <math.h>

static void
fill_sigmas (ScSchedule *s)
{
  for (int t = 0; t < SC_TRAIN_TIMESTEPS; t++)
    {
      double a = s->alphas_cumprod[t];
      s->sigmas[t] = sqrt ((1.0 - a) / a);
      s->log_sigmas[t] = log (s->sigmas[t]);
    }
}

void
sc_schedule_init_scaled_linear (ScSchedule *s, double beta_start, double beta_end)
{
  double lo = sqrt (beta_start), hi = sqrt (beta_end);
  double prod = 1.0;

  for (int t = 0; t < SC_TRAIN_TIMESTEPS; t++)
    {
      double r = lo + (hi - lo) * t / (SC_TRAIN_TIMESTEPS - 1);
      prod *= 1.0 - r * r;
      s->alphas_cumprod[t] = prod;
    }
  fill_sigmas (s);
}

void
sc_schedule_init_sd (ScSchedule *s)
{
  sc_schedule_init_scaled_linear (s, 0.00085, 0.012);
}

gboolean
sc_schedule_init_from_alphas_cumprod (ScSchedule *s, const float *alphas_cumprod, int n, GError **error)
{
  if (n != SC_TRAIN_TIMESTEPS)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_SHAPE, "alphas_cumprod has %d entries, expected %d", n,
                   SC_TRAIN_TIMESTEPS);
      return FALSE;
    }
  for (int t = 0; t < n; t++)
    {
      double a = alphas_cumprod[t];
      if (!(a > 0.0 && a < 1.0) || (t > 0 && a > alphas_cumprod[t - 1]))
        {
          g_set_error (error, SC_ERROR, SC_ERROR_FORMAT,
                       "alphas_cumprod[%d] = %g is not in (0, 1) or not decreasing", t, a);
          return FALSE;
        }
      s->alphas_cumprod[t] = a;
    }
  fill_sigmas (s);
  return TRUE;
}

double
sc_schedule_t_to_sigma (const ScSchedule *s, double t)
{
  if (!(t > 0.0))
    return s->sigmas[0];
  if (t >= SC_TRAIN_TIMESTEPS - 1)
    return s->sigmas[SC_TRAIN_TIMESTEPS - 1];
  int lo = (int) floor (t);
  double w = t - lo;
  return s->sigmas[lo] + w * (s->sigmas[lo + 1] - s->sigmas[lo]);
}

double
sc_schedule_sigma_to_t (const ScSchedule *s, double sigma)
{
  double ls = log (MAX (sigma, 1e-10));
  /* low = the last index with log σ_low ≤ log σ (0 if none), at most 998 */
  int low = 0;
  for (int t = 0; t < SC_TRAIN_TIMESTEPS; t++)
    if (ls - s->log_sigmas[t] >= 0.0)
      low = t;
  low = MIN (low, SC_TRAIN_TIMESTEPS - 2);
  double l0 = s->log_sigmas[low], l1 = s->log_sigmas[low + 1];
  double w = CLAMP ((l0 - ls) / (l0 - l1), 0.0, 1.0);
  return (1.0 - w) * low + w * (low + 1);
}

/* numpy.round: halves go to the even neighbour (16 steps of 62.5 hit exact halves). */
static double
round_even (double x)
{
  double r = floor (x);
  double d = x - r;
  if (d > 0.5 || (d == 0.5 && fmod (r, 2.0) != 0.0))
    r += 1.0;
  return r;
}

/* numpy.arange (1000, 0, −1000/S)[i] − rounded − 1: arange fills start + i·(buf[1] − buf[0]). */
static double
trailing_at (int steps, int i)
{
  double step = -((double) SC_TRAIN_TIMESTEPS / steps);
  double start = SC_TRAIN_TIMESTEPS;
  double delta = (start + step) - start;
  double v = i == 0 ? start : (i == 1 ? start + step : start + i * delta);
  return round_even (v) - 1.0;
}

/* numpy.linspace (0, stop, num)[i]: i·(stop/(num−1)), the last one exactly stop. */
static double
linspace_at (double stop, int num, int i)
{
  if (num == 1)
    return 0.0;
  if (i == num - 1)
    return stop;
  return i * (stop / (num - 1));
}

gboolean
sc_schedule_timesteps (ScTimestepRule rule, ScSpacing spacing, int steps, double *out, GError **error)
{
  const int T = SC_TRAIN_TIMESTEPS;

  if (steps < 1 || steps > T)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "the number of steps must be between 1 and %d, not %d", T, steps);
      return FALSE;
    }
  if (spacing != SC_SPACING_LEADING && spacing != SC_SPACING_TRAILING && spacing != SC_SPACING_LINSPACE)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "unknown timestep spacing %d", spacing);
      return FALSE;
    }

  for (int k = 0; k < steps; k++)
    {
      int i = steps - 1 - k; /* ascending index; out[] is descending */
      double t;

      if (spacing == SC_SPACING_TRAILING)
        t = trailing_at (steps, k);
      else if (rule == SC_TIMESTEPS_MULTISTEP)
        {
          /* S+1 points, highest S kept: ascending index i+1 of S+1 */
          if (spacing == SC_SPACING_LEADING)
            t = (double) (i + 1) * (T / (steps + 1)) + 1.0;
          else
            t = round_even (linspace_at (T - 1, steps + 1, i + 1));
        }
      else if (spacing == SC_SPACING_LEADING)
        t = (double) i * (T / steps) + 1.0;
      else if (rule == SC_TIMESTEPS_EULER)
        t = (float) linspace_at (T - 1, steps, i); /* diffusers keeps these as f32 */
      else
        t = round_even (linspace_at (T - 1, steps, i));
      out[k] = t;
    }
  return TRUE;
}

int
sc_schedule_img2img_start (int steps, double strength)
{
  int init = (int) (steps * strength);
  init = MIN (init, steps);
  return MAX (steps - init, 0);
}
