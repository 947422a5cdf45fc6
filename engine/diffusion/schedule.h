/* The training noise schedule (ᾱ_t, σ_t over the 1000 training timesteps) and the ways diffusers
 * picks S inference timesteps from it. Everything is computed in double; see stable-diffusion.md §5.1
 * and §5.4. Nothing here knows about models or samplers. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

#define SC_TRAIN_TIMESTEPS 1000

typedef struct {
  double alphas_cumprod[SC_TRAIN_TIMESTEPS]; /* ᾱ_t */
  double sigmas[SC_TRAIN_TIMESTEPS];         /* σ_t = sqrt((1 − ᾱ_t)/ᾱ_t), increasing in t */
  double log_sigmas[SC_TRAIN_TIMESTEPS];
} ScSchedule;

/* "scaled_linear": β_t = (sqrt(β_start) + (sqrt(β_end) − sqrt(β_start))·t/999)². */
void sc_schedule_init_scaled_linear (ScSchedule *s, double beta_start, double beta_end);
/* The SD1.x/2.x schedule: scaled_linear 0.00085 … 0.012. */
void sc_schedule_init_sd (ScSchedule *s);
/* From a checkpoint's own `alphas_cumprod` (n must be SC_TRAIN_TIMESTEPS, values in (0, 1)). */
gboolean sc_schedule_init_from_alphas_cumprod (ScSchedule *s, const float *alphas_cumprod, int n,
                                               GError **error);

/* σ at a fractional timestep: linear interpolation of σ in t (numpy.interp, as diffusers does),
 * clamped to [0, 999]. */
double sc_schedule_t_to_sigma (const ScSchedule *s, double t);
/* Fractional timestep of σ: linear interpolation of log σ (diffusers' _sigma_to_t, k-diffusion's
 * sigma_to_t), clamped to [0, 999]. */
double sc_schedule_sigma_to_t (const ScSchedule *s, double sigma);

typedef enum {
  SC_SPACING_LEADING,  /* i·(1000 // S) + 1 (steps_offset 1): what SD checkpoints are configured with */
  SC_SPACING_TRAILING, /* round(1000 − i·1000/S) − 1: starts at t = 999 */
  SC_SPACING_LINSPACE, /* linspace(0, 999, S) reversed */
} ScSpacing;

/* diffusers' schedulers do not agree on how a spacing turns into timesteps, so the rule is named
 * after the scheduler whose set_timesteps it reproduces. */
typedef enum {
  SC_TIMESTEPS_DDIM,      /* DDIMScheduler: integers */
  SC_TIMESTEPS_EULER,     /* Euler(Ancestral)DiscreteScheduler: linspace keeps fractions (f32) */
  SC_TIMESTEPS_MULTISTEP, /* DPMSolverMultistepScheduler: leading/linspace place S+1 points, drop the last */
} ScTimestepRule;

/* Writes the S timesteps, highest first, into out[steps]. Fails for steps outside 1 … 1000. */
gboolean sc_schedule_timesteps (ScTimestepRule rule, ScSpacing spacing, int steps, double *out,
                                GError **error);

/* img2img (diffusers' get_timesteps): how many of S steps strength ∈ [0, 1] keeps, as the index of the
 * first step to run: t_start = S − min(int(S·strength), S). Returns S when nothing would run. */
int sc_schedule_img2img_start (int steps, double strength);

G_END_DECLS
