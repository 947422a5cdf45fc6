/* Training one SC-Tuner on a frozen model (../shared/specs/scedit.md §4): the step is
 *   z0 (given) → t ~ U{0 … 999}, ε ~ N(0, 1) → x_t = √ᾱ_t·z0 + √(1−ᾱ_t)·ε → U-Net with the tuner (tape on)
 *   → MSE against ε (eps models) or v = √ᾱ_t·ε − √(1−ᾱ_t)·z0 (v models) → decoder backward to the skips
 *   → each skip MLP's backward → AdamW.
 * Only the tuner's MLPs change; the U-Net, VAE and text encoder are frozen, so the backward stops at the
 * skips (models/unet_train.h). Noise and timesteps come from Philox, so a seed repeats a run exactly.
 * Lives in the diffusion room: it needs the noise schedule. */
#pragma once
#include "backend/backend.h"
#include "core/philox.h"
#include "diffusion/schedule.h"
#include "models/model_loader.h"
#include "models/unet_train.h"
#include "scedit/tuner_set.h"
#include "scedit/tuner_train.h"

G_BEGIN_DECLS

typedef struct {
  ScAdamWParams adamw;  /* SC_ADAMW_SCEDIT (lr 1e-4 …) by default */
  uint64_t seed;        /* noise and timesteps */
  int t_min, t_max;     /* timesteps drawn from [t_min, t_max); default 0, 1000 (the spec's) */
} ScTrainOptions;

void sc_train_options_init (ScTrainOptions *o);

/* Everything one training step touches, allocated once for a latent size (batch 1). */
typedef struct {
  ScModel *model;                /* borrowed; needs the U-Net */
  const ScBackend *be;
  ScScTuner *tuner;              /* a reference; trained in place, at strength 1 */
  ScTunerSet *set;               /* the tuner alone, as generation applies it */
  ScUNetHooks hooks;             /* the set's, with the tape */
  ScUNetTape *tape;
  ScTrainOptions opt;
  ScSchedule schedule;
  ScPhilox rng;
  int64_t h, w, c;               /* latent [1, h, w, c] */
  int64_t step;                  /* optimizer steps taken */
  /* per skip MLP m (decoder order; only where mlp[m].present) */
  ScSkipMlpGrad grad[SC_MAX_SKIPS];
  ScSkipMlpAdamW adam[SC_MAX_SKIPS];
  /* per skip i (encoder order, as the tape): ∂L/∂(edited skip), allocated after the first forward */
  float *dskip[SC_MAX_SKIPS];
  float *mlp_hidden, *mlp_act;   /* skip MLP backward scratch, sized for the largest skip */
  /* host: noise, x_t, target, prediction, ∂L/∂prediction, [h, w, c] each */
  float *noise, *x_t, *target, *pred, *dpred;
} ScTrainer;

/* tuner: the SC-Tuner to train (made for model's U-Net); h, w: the latent size, which the U-Net's backward
 * needs divisible by 2^(levels−1). */
ScTrainer *sc_trainer_new (ScModel *model, const ScBackend *be, ScScTuner *tuner, int64_t h, int64_t w,
                           const ScTrainOptions *opt, GError **error);
void sc_trainer_free (ScTrainer *tr);

/* One optimizer step on latent [1, h, w, c] (host, already × the VAE's scale factor) and its caption's
 * context [1, n_ctx, context_dim] (host). *loss: the step's MSE before the update. */
gboolean sc_trainer_step (ScTrainer *tr, const float *latent, const float *context, int64_t n_ctx, float *loss,
                          GError **error);

/* The loss at a given timestep and noise, without touching the tuner or the RNG (for monitoring and tests). */
gboolean sc_trainer_probe (ScTrainer *tr, const float *latent, const float *context, int64_t n_ctx, int t,
                           const float *noise, float *loss, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScTrainer, sc_trainer_free)

G_END_DECLS
