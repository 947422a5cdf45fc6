#include "diffusion/train.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

void
sc_train_options_init (ScTrainOptions *o)
{
  memset (o, 0, sizeof *o);
  o->adamw = SC_ADAMW_SCEDIT;
  o->t_min = 0;
  o->t_max = SC_TRAIN_TIMESTEPS;
}

ScTrainer *
sc_trainer_new (ScModel *model, const ScBackend *be, ScScTuner *tuner, int64_t h, int64_t w,
                const ScTrainOptions *opt, GError **error)
{
  if (!model->unet)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "Training needs the model's U-Net; %s has none",
                   model->path);
      return NULL;
    }
  const ScUNetConfig *cfg = &model->arch.unet;
  if (cfg->in_channels != cfg->out_channels)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_WRONG_MODEL,
                   "This U-Net has %d input channels (an inpainting model?); training needs a plain text-to-image model",
                   cfg->in_channels);
      return NULL;
    }
  /* the decoder backward needs exact 2× upsamplings */
  int64_t div = (int64_t) 1 << (cfg->n_levels - 1);
  if (h < div || w < div || h % div || w % div)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "Latent size %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT " cannot be trained: both sides must be "
                   "multiples of %" G_GINT64_FORMAT " (the U-Net halves them %d times)",
                   w, h, div, cfg->n_levels - 1);
      return NULL;
    }
  if (opt->t_min < 0 || opt->t_max > SC_TRAIN_TIMESTEPS || opt->t_min >= opt->t_max)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "Timestep range [%d, %d) is not within [0, %d)",
                   opt->t_min, opt->t_max, SC_TRAIN_TIMESTEPS);
      return NULL;
    }
  gboolean any = FALSE;
  for (int m = 0; m < tuner->layout.n; m++)
    any |= tuner->mlp[m].present;
  if (!any)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "The tuner has no skip MLP to train");
      return NULL;
    }

  g_autoptr (ScTrainer) tr = g_new0 (ScTrainer, 1);
  tr->model = model;
  tr->be = be;
  tr->tuner = sc_sc_tuner_ref (tuner);
  tr->opt = *opt;
  tr->h = h, tr->w = w, tr->c = cfg->out_channels;
  sc_schedule_init_sd (&tr->schedule); /* §4: scaled_linear 0.00085 … 0.012 */
  sc_philox_init (&tr->rng, opt->seed);
  if (!(tr->set = sc_tuner_set_new (cfg, error)) || sc_tuner_set_add_style (tr->set, tuner, 1.0f, error) < 0
      || !sc_tuner_set_prepare (tr->set, be, h, w, error))
    return NULL;
  sc_tuner_set_hooks (tr->set, NULL, NULL, &tr->hooks);
  tr->tape = sc_unet_tape_new ();
  tr->hooks.tape = tr->tape;
  for (int m = 0; m < tuner->layout.n; m++)
    if (tuner->mlp[m].present && (!sc_skip_mlp_grad_init (&tr->grad[m], be, &tuner->mlp[m], error)
                                  || !sc_skip_mlp_adamw_init (&tr->adam[m], be, &tuner->mlp[m], error)))
      return NULL;
  size_t n = (size_t) (h * w * tr->c);
  float **host[] = { &tr->noise, &tr->x_t, &tr->target, &tr->pred, &tr->dpred };
  for (size_t k = 0; k < G_N_ELEMENTS (host); k++)
    if (!(*host[k] = sc_alloc_floats (n, error)))
      return NULL;
  return g_steal_pointer (&tr);
}

void
sc_trainer_free (ScTrainer *tr)
{
  if (!tr)
    return;
  for (int m = 0; m < SC_MAX_SKIPS; m++)
    if (tr->grad[m].ln1_w)
      {
        sc_skip_mlp_grad_clear (tr->be, &tr->grad[m]);
        sc_skip_mlp_adamw_clear (tr->be, &tr->adam[m]);
      }
  for (int i = 0; i < SC_MAX_SKIPS; i++)
    if (tr->dskip[i])
      tr->be->free (tr->dskip[i]);
  if (tr->mlp_hidden)
    tr->be->free (tr->mlp_hidden);
  if (tr->mlp_act)
    tr->be->free (tr->mlp_act);
  sc_free_floats (tr->noise);
  sc_free_floats (tr->x_t);
  sc_free_floats (tr->target);
  sc_free_floats (tr->pred);
  sc_free_floats (tr->dpred);
  sc_unet_tape_free (tr->tape);
  sc_tuner_set_free (tr->set);
  if (tr->tuner)
    sc_sc_tuner_unref (tr->tuner);
  g_free (tr);
}

/* x_t and the target for (z0, t, noise); then the forward (taped when tape) and the MSE, with dpred. */
static gboolean
forward_loss (ScTrainer *tr, const float *z0, const float *context, int64_t n_ctx, int t, const float *noise,
              gboolean tape, float *loss, GError **error)
{
  size_t n = (size_t) (tr->h * tr->w * tr->c);
  double abar = tr->schedule.alphas_cumprod[t];
  float a = (float) sqrt (abar), s = (float) sqrt (1.0 - abar);
  gboolean v = tr->model->prediction == SC_PREDICTION_V;
  for (size_t i = 0; i < n; i++)
    {
      tr->x_t[i] = a * z0[i] + s * noise[i];
      tr->target[i] = v ? a * noise[i] - s * z0[i] : noise[i];
    }
  ScUNetHooks hooks = tr->hooks;
  hooks.tape = tape ? tr->tape : NULL;
  float tf = (float) t;
  if (!sc_unet_forward (tr->model->unet, tr->be, tr->x_t, 1, tr->h, tr->w, &tf, context, n_ctx, tr->pred, &hooks,
                        error))
    return FALSE;
  memset (tr->dpred, 0, n * sizeof (float));
  *loss = sc_mse_loss (tr->pred, tr->target, tape ? tr->dpred : NULL, (int64_t) n);
  if (!isfinite (*loss))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "The loss is not finite at timestep %d (the learning rate may be too high)", t);
      return FALSE;
    }
  return TRUE;
}

/* Scratch that depends on the skips' sizes, which the first taped forward tells. */
static gboolean
alloc_skip_buffers (ScTrainer *tr, GError **error)
{
  const ScUNetTape *tape = tr->tape;
  int64_t hidden = 0, act = 0;
  for (int j = 0; j < tape->n_blocks; j++)
    {
      const ScUNetTapeBlock *b = &tape->blocks[j];
      const ScSkipMlp *mlp = &tr->tuner->mlp[tape->n_blocks - 1 - b->skip];
      int64_t rows = tape->B * b->h * b->w;
      if (!mlp->present)
        continue;
      if (!(tr->dskip[b->skip] = tr->be->alloc ((size_t) (rows * b->skip_c))))
        goto oom;
      hidden = MAX (hidden, rows * mlp->l);
      act = MAX (act, sc_skip_mlp_backward_act_floats (mlp, rows));
    }
  if (!(tr->mlp_hidden = tr->be->alloc ((size_t) hidden)) || !(tr->mlp_act = tr->be->alloc ((size_t) act)))
    goto oom;
  return TRUE;
oom:
  g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "Out of memory for the training gradients");
  return FALSE;
}

/* Uniform integer in [lo, hi) from one Philox normal: Φ(z) is uniform on (0, 1). */
static int
draw_timestep (ScPhilox *rng, int lo, int hi)
{
  float z;
  sc_philox_randn (rng, &z, 1);
  double u = 0.5 * erfc (-(double) z / sqrt (2.0));
  return CLAMP (lo + (int) floor (u * (hi - lo)), lo, hi - 1);
}

gboolean
sc_trainer_step (ScTrainer *tr, const float *latent, const float *context, int64_t n_ctx, float *loss,
                 GError **error)
{
  const ScBackend *be = tr->be;
  int t = draw_timestep (&tr->rng, tr->opt.t_min, tr->opt.t_max);
  sc_philox_randn (&tr->rng, tr->noise, (size_t) (tr->h * tr->w * tr->c));
  if (!forward_loss (tr, latent, context, n_ctx, t, tr->noise, TRUE, loss, error))
    return FALSE;
  const ScUNetTape *tape = tr->tape;
  if (!tr->mlp_hidden && !alloc_skip_buffers (tr, error))
    return FALSE;

  /* ∂L/∂pred → ∂L/∂(edited skip) for every tuned skip (gradients add: zero them first) */
  for (int j = 0; j < tape->n_blocks; j++)
    {
      const ScUNetTapeBlock *b = &tape->blocks[j];
      if (tr->dskip[b->skip])
        be->zero (tr->dskip[b->skip], (size_t) (tape->B * b->h * b->w * b->skip_c));
    }
  if (!sc_unet_decoder_backward (tr->model->unet, be, tape, tr->dpred, tr->dskip, error))
    return FALSE;

  /* each MLP: x = the skip before the edit (the tape's), dy = dskip; strength 1 as the set applies it */
  for (int j = 0; j < tape->n_blocks; j++)
    {
      const ScUNetTapeBlock *b = &tape->blocks[j];
      int m = tape->n_blocks - 1 - b->skip;
      ScSkipMlp *mlp = &tr->tuner->mlp[m];
      if (!mlp->present)
        continue;
      sc_skip_mlp_grad_zero (be, &tr->grad[m]);
      sc_skip_mlp_backward (be, mlp, b->skip_in, tr->dskip[b->skip], NULL, &tr->grad[m], tr->mlp_hidden,
                            tr->mlp_act, tape->B * b->h * b->w, 1.0f);
      sc_skip_mlp_adamw_step (be, mlp, &tr->grad[m], &tr->adam[m], &tr->opt.adamw);
    }
  tr->step++;
  return TRUE;
}

gboolean
sc_trainer_probe (ScTrainer *tr, const float *latent, const float *context, int64_t n_ctx, int t,
                  const float *noise, float *loss, GError **error)
{
  if (t < 0 || t >= SC_TRAIN_TIMESTEPS)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "Timestep %d is not within [0, %d)", t,
                   SC_TRAIN_TIMESTEPS);
      return FALSE;
    }
  return forward_loss (tr, latent, context, n_ctx, t, noise, FALSE, loss, error);
}
