/* Samplers: DDIM (η), Euler ancestral and DPM++ 2M, each reproducing the diffusers scheduler of the same
 * name step for step when configured like an SD single-file pipeline (scaled_linear 0.00085–0.012,
 * steps_offset 1, set_alpha_to_one False, clip_sample False; DPM++: dpmsolver++, order 2, midpoint,
 * lower_order_final, final σ 0). The sampler never sees a model: the caller predicts the raw model
 * output (ε or v) for an input at a timestep, doing classifier-free guidance there.
 *
 * Two ways to drive it: sc_sampler_run () owns the loop and calls back; or step by step, as diffusers'
 * pipeline does (needed for inpainting's latent blending):
 *   sc_sampler_init_latent → for i in [0, n_steps): scale_input → model → [cfg] → step. */
#pragma once
#include "diffusion/schedule.h"
#include "models/arch.h"

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

typedef enum {
  SC_SAMPLER_DDIM,
  SC_SAMPLER_EULER_A,
  SC_SAMPLER_DPMPP_2M,
} ScSamplerKind;

typedef struct {
  ScSamplerKind kind;
  ScPrediction prediction;
  ScSpacing spacing;  /* SC_SPACING_LEADING for SD checkpoints */
  int steps;          /* S, before strength */
  double eta;         /* DDIM only: 0 deterministic, 1 DDPM-like */
  double strength;    /* img2img, in [0, 1]: the share of the S steps that run (ignored for txt2img) */
} ScSamplerConfig;

/* Names as the CLI and the PNG parameters spell them: "ddim", "euler_a", "dpmpp_2m" (also accepted: "dpm++2m");
 * "leading", "trailing", "linspace". from_name accepts exactly these (ASCII case-insensitive). */
const char *sc_sampler_kind_name (ScSamplerKind kind);
gboolean sc_sampler_kind_from_name (const char *name, ScSamplerKind *kind, GError **error);
const char *sc_spacing_name (ScSpacing spacing);
gboolean sc_spacing_from_name (const char *name, ScSpacing *spacing, GError **error);

/* Fills cfg with SD defaults: the given kind, ε, leading spacing, 20 steps, η 0, strength 1. */
void sc_sampler_config_init (ScSamplerConfig *cfg, ScSamplerKind kind);

typedef struct ScSampler ScSampler;

/* n: latent element count (one batch item). Fails on a bad configuration. */
ScSampler *sc_sampler_new (const ScSchedule *sched, const ScSamplerConfig *cfg, size_t n, GError **error);
void sc_sampler_free (ScSampler *s);

/* Steps that will run (S minus those strength skips; 0 when strength is 0). */
int sc_sampler_n_steps (const ScSampler *s);
/* The timestep the model sees at step i ∈ [0, n_steps). */
double sc_sampler_timestep (const ScSampler *s, int i);
/* The noise level at step i ∈ [0, n_steps] in σ units (the last is the level after the final step). */
double sc_sampler_sigma (const ScSampler *s, int i);
/* What diffusers multiplies the initial noise by (txt2img): 1 for DDIM and DPM++, σ_max or
 * sqrt(σ_max² + 1) for Euler. */
double sc_sampler_init_noise_sigma (const ScSampler *s);
/* Whether step i draws noise (DDIM with η > 0, Euler ancestral); step's noise must then be non-NULL. */
gboolean sc_sampler_step_needs_noise (const ScSampler *s, int i);

/* The starting latent x from noise[n]: txt2img (z0 NULL): noise·init_noise_sigma; img2img: z0 noised to
 * the first step's level with the scheduler's add_noise. */
void sc_sampler_init_latent (const ScSampler *s, const float *z0, const float *noise, float *x);
/* z0 noised to the level of step i ∈ [0, n_steps] (for inpainting's blend; i = n_steps gives z0). */
void sc_sampler_add_noise (const ScSampler *s, int i, const float *z0, const float *noise, float *out);
/* scale_model_input: the model's input for x at step i (x_in may equal x). */
void sc_sampler_scale_input (const ScSampler *s, int i, const float *x, float *x_in);
/* Advances x in place by step i using the (guided) model output. Steps must run in order.
 * x0 (may be NULL) receives the predicted clean latent, for previews. */
gboolean sc_sampler_step (ScSampler *s, int i, const float *model_out, float *x, float *x0,
                          const float *noise, GError **error);

/* The loop. predict: raw model output for x_in at timestep t (CFG inside). noise: N(0,1) numbers, drawn
 * first for the starting latent, then for every step that needs them, in order. progress (may be NULL):
 * after each step with the current x and predicted x0; returning FALSE cancels (SC_ERROR_CANCELLED). */
typedef gboolean (*ScPredictFunc) (gpointer user, const float *x_in, float t, float *model_out,
                                   GError **error);
typedef void (*ScNoiseFunc) (gpointer user, float *out, size_t n);
typedef gboolean (*ScProgressFunc) (gpointer user, int step, int n_steps, const float *x, const float *x0);

typedef struct {
  ScPredictFunc predict;
  ScNoiseFunc noise;
  ScProgressFunc progress;
  gpointer user;
} ScSamplerCallbacks;

/* x: out, n floats. z0: NULL for txt2img, the clean start latent for img2img. */
gboolean sc_sampler_run (ScSampler *s, const ScSamplerCallbacks *cb, const float *z0, float *x,
                         GError **error);

/* Classifier-free guidance on one batch item of n values: out = u + scale·(c − u); with rescale > 0,
 * diffusers' rescale_noise_cfg: out ← rescale·out·std(c)/std(out) + (1 − rescale)·out (unbiased std over
 * all n). out may alias uncond or cond. */
void sc_cfg_combine (const float *uncond, const float *cond, float scale, float rescale, float *out,
                     size_t n);

G_END_DECLS
