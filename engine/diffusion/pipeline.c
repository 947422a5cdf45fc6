#include "diffusion/pipeline.h"
#include "core/error.h"
#include "core/philox.h"
#include "diffusion/inpaint.h"
#include "diffusion/pipeline_private.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

void
sc_generate_params_init (ScGenerateParams *p)
{
  memset (p, 0, sizeof *p);
  p->prompt = "";
  p->width = p->height = 512;
  p->steps = 20;
  p->cfg_scale = 7.5f;
  p->sampler = SC_SAMPLER_EULER_A;
  p->spacing = SC_SPACING_LEADING;
  p->strength = 0.75;
  p->mask_grow = 4;
  p->mask_feather = 8;
}

gboolean
sc_generate_params_is_inpaint (const ScGenerateParams *p)
{
  return p->mask || p->outpaint[0] > 0 || p->outpaint[1] > 0 || p->outpaint[2] > 0 || p->outpaint[3] > 0;
}

static const char *
sampler_a1111_name (ScSamplerKind kind)
{
  switch (kind)
    {
    case SC_SAMPLER_DDIM:
      return "DDIM";
    case SC_SAMPLER_EULER_A:
      return "Euler a";
    case SC_SAMPLER_DPMPP_2M:
      return "DPM++ 2M";
    }
  return "?";
}

/* ---- prompt ----------------------------------------------------------------------------------------- */

gboolean
sc_encode_prompt (ScModel *m, const ScBackend *be, const char *prompt, float *out, GError **error)
{
  if (!m->tokenizer || !m->text)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "The model's text encoder or tokenizer is not loaded");
      return FALSE;
    }
  int32_t ids[SC_CLIP_CONTEXT];
  sc_clip_tokenizer_encode_padded (m->tokenizer, prompt ? prompt : "", m->arch.text.pad_id, ids);
  return sc_clip_text_forward (m->text, be, ids, 1, SC_CLIP_CONTEXT, out, error);
}

/* ---- noise -------------------------------------------------------------------------------------------- */

/* Noise is drawn in PyTorch's NCHW order (so a seed means the same latent as in tools that draw
 * torch.randn([4, h, w])) and handed out as NHWC. */
typedef struct {
  ScPhilox rng;
  int64_t h, w, c;
} NoiseSource;

static void
draw_noise_nhwc (NoiseSource *ns, float *out, size_t n)
{
  size_t plane = (size_t) (ns->h * ns->w * ns->c);
  if (n != plane)
    {
      sc_philox_randn (&ns->rng, out, n);
      return;
    }
  float *nchw = g_new (float, n);
  sc_philox_randn (&ns->rng, nchw, n);
  sc_nchw_to_nhwc (nchw, out, 1, ns->c, ns->h, ns->w);
  g_free (nchw);
}

/* ---- the guided denoiser --------------------------------------------------------------------------------- */

typedef struct {
  ScModel *model;
  const ScBackend *be;
  const ScGenerateParams *p;
  int64_t h, w, c;
  int64_t in_c;     /* U-Net input channels: c, or 9 for inpainting U-Nets */
  const float *extra; /* [h, w, in_c − c] appended to every input (mask, masked image latents) */
  float *context;   /* [2, 77, ctx]: uncond, cond (or just cond when CFG is off) */
  int batch;        /* 2 with CFG, 1 without */
  float *x_batch;   /* [batch, h, w, in_c] */
  float *out_batch; /* [batch, h, w, c] */
  NoiseSource noise;
  ScGenerateProgressFunc progress;
  gpointer progress_user;
  float *preview;   /* [h, w, 3]: the FAST preview's pixels */
  GError *preview_error; /* why a FULL preview failed (it cancels the run) */
} Denoiser;

static gboolean
unet_cancelled (gpointer user)
{
  const Denoiser *d = user;
  return d->p->cancellable && g_cancellable_is_cancelled (d->p->cancellable);
}

static gboolean
predict_guided (gpointer user, const float *x_in, float t, float *model_out, GError **error)
{
  Denoiser *d = user;
  size_t n = (size_t) (d->h * d->w * d->c);
  float ts[2] = { t, t };
  if (d->in_c == d->c)
    for (int b = 0; b < d->batch; b++)
      memcpy (d->x_batch + b * n, x_in, n * sizeof (float));
  else
    {
      int64_t ne = d->in_c - d->c, pixels = d->h * d->w;
      for (int b = 0; b < d->batch; b++)
        for (int64_t i = 0; i < pixels; i++)
          {
            float *dst = d->x_batch + (b * pixels + i) * d->in_c;
            memcpy (dst, x_in + i * d->c, (size_t) d->c * sizeof (float));
            memcpy (dst + d->c, d->extra + i * ne, (size_t) ne * sizeof (float));
          }
    }
  ScUNetHooks hooks = { .cancelled = unet_cancelled, .user_data = d };
  if (d->p->tuners && sc_tuner_set_active (d->p->tuners))
    sc_tuner_set_hooks (d->p->tuners, unet_cancelled, d, &hooks);
  if (!sc_unet_forward (d->model->unet, d->be, d->x_batch, d->batch, d->h, d->w, ts, d->context, SC_CLIP_CONTEXT,
                        d->out_batch, &hooks, error))
    return FALSE;
  if (d->batch == 1)
    memcpy (model_out, d->out_batch, n * sizeof (float));
  else
    sc_cfg_combine (d->out_batch, d->out_batch + n, d->p->cfg_scale, d->p->guidance_rescale, model_out, n);
  return TRUE;
}

static void
noise_cb (gpointer user, float *out, size_t n)
{
  Denoiser *d = user;
  draw_noise_nhwc (&d->noise, out, n);
}

/* Cheap preview: a fixed linear map from SD's 4 latent channels to RGB (the widely used approximation). */
static const float latent_rgb[4][3] = {
  { 0.3512f, 0.2297f, 0.3227f },
  { 0.3250f, 0.4974f, 0.2350f },
  { -0.2829f, 0.1762f, 0.2721f },
  { -0.2120f, -0.2616f, -0.7177f },
};

static float *decode_latent (Denoiser *d, const float *x, GError **error);

static gboolean
progress_cb (gpointer user, int step, int n_steps, const float *x, const float *x0)
{
  Denoiser *d = user;
  if (unet_cancelled (d))
    return FALSE;
  if (!d->progress)
    return TRUE;
  if (d->p->preview == SC_PREVIEW_NONE)
    return d->progress (d->progress_user, step, n_steps, NULL, 0, 0);
  if (d->p->preview == SC_PREVIEW_FULL)
    {
      /* what the image would be if sampling stopped here: slow (a VAE decode per step) but true */
      float *rgb = decode_latent (d, x0, &d->preview_error);
      if (!rgb)
        return FALSE;
      gboolean go_on = d->progress (d->progress_user, step, n_steps, rgb, (int) d->w * 8, (int) d->h * 8);
      sc_free_floats (rgb);
      return go_on;
    }
  int64_t pixels = d->h * d->w;
  for (int64_t i = 0; i < pixels; i++)
    for (int k = 0; k < 3; k++)
      {
        float v = 0;
        for (int c = 0; c < 4 && c < d->c; c++)
          v += x0[i * d->c + c] * latent_rgb[c][k];
        d->preview[i * 3 + k] = CLAMP ((v + 1.0f) * 0.5f, 0.0f, 1.0f);
      }
  return d->progress (d->progress_user, step, n_steps, d->preview, (int) d->w, (int) d->h);
}

/* ---- images ------------------------------------------------------------------------------------------- */

/* Bilinear resize of an RGB float image (half-pixel centres). */
void
sc_pipeline_resize_rgb (const float *src, int sw, int sh, float *dst, int dw, int dh)
{
  for (int y = 0; y < dh; y++)
    {
      float fy = ((float) y + 0.5f) * (float) sh / (float) dh - 0.5f;
      int y0 = (int) floorf (fy);
      float ay = fy - (float) y0;
      int y0c = CLAMP (y0, 0, sh - 1), y1c = CLAMP (y0 + 1, 0, sh - 1);
      for (int x = 0; x < dw; x++)
        {
          float fx = ((float) x + 0.5f) * (float) sw / (float) dw - 0.5f;
          int x0 = (int) floorf (fx);
          float ax = fx - (float) x0;
          int x0c = CLAMP (x0, 0, sw - 1), x1c = CLAMP (x0 + 1, 0, sw - 1);
          for (int k = 0; k < 3; k++)
            {
              float a = src[(y0c * sw + x0c) * 3 + k], b = src[(y0c * sw + x1c) * 3 + k];
              float c = src[(y1c * sw + x0c) * 3 + k], e = src[(y1c * sw + x1c) * 3 + k];
              dst[(y * dw + x) * 3 + k] = (a * (1 - ax) + b * ax) * (1 - ay) + (c * (1 - ax) + e * ax) * ay;
            }
        }
    }
}

/* img [H, W, 3] in [−1, 1] at the latent's size ×8 → z0 = scale · (mean + std · ε), the VAE posterior
 * sample diffusers uses (ε is the next noise draw). Consumes img. */
static float *
encode_pixels (Denoiser *d, float *img, GError **error)
{
  size_t n = (size_t) (d->h * d->w * d->c);
  float *moments = sc_alloc_floats (2 * n, error);
  float *z0 = moments ? sc_alloc_floats (n, error) : NULL;
  float *eps = z0 ? sc_alloc_floats (n, error) : NULL;
  gboolean ok = eps && sc_vae_encode (d->model->vae, d->be, img, 1, d->h * 8, d->w * 8, moments, error);
  if (ok)
    {
      draw_noise_nhwc (&d->noise, eps, n);
      float scale = d->model->arch.vae.scale_factor;
      for (int64_t i = 0; i < d->h * d->w; i++)
        for (int64_t c = 0; c < d->c; c++)
          {
            float mean = moments[i * 2 * d->c + c];
            float logvar = CLAMP (moments[i * 2 * d->c + d->c + c], -30.0f, 20.0f);
            z0[i * d->c + c] = scale * (mean + expf (0.5f * logvar) * eps[i * d->c + c]);
          }
    }
  sc_free_floats (img);
  sc_free_floats (moments);
  sc_free_floats (eps);
  if (!ok)
    {
      sc_free_floats (z0);
      return NULL;
    }
  return z0;
}

/* init image → resized to the output size → z0, as diffusers' img2img. */
static float *
encode_init_image (Denoiser *d, const ScImage *init, GError **error)
{
  const ScGenerateParams *p = d->p;
  g_autoptr (ScImage) rgb = sc_image_to_rgb8 (init, error);
  if (!rgb)
    return NULL;
  g_autofree float *src = sc_image_to_float_rgb (rgb, error);
  if (!src)
    return NULL;
  size_t npix = (size_t) p->width * (size_t) p->height;
  float *img = sc_alloc_floats (npix * 3, error);
  if (!img)
    return NULL;
  if (rgb->width == p->width && rgb->height == p->height)
    memcpy (img, src, npix * 3 * sizeof (float));
  else
    sc_pipeline_resize_rgb (src, rgb->width, rgb->height, img, p->width, p->height);
  for (size_t i = 0; i < npix * 3; i++)
    img[i] = img[i] * 2.0f - 1.0f;
  return encode_pixels (d, img, error);
}

/* latent → RGB in [0, 1]: z / scale → VAE decoder → (x + 1) / 2, clamped (as diffusers' image processor). */
static float *
decode_latent (Denoiser *d, const float *x, GError **error)
{
  size_t n = (size_t) (d->h * d->w * d->c);
  size_t npix = (size_t) (d->h * 8 * d->w * 8);
  float *z = sc_alloc_floats (n, error);
  float *img = z ? sc_alloc_floats (npix * 3, error) : NULL;
  gboolean ok = FALSE;
  if (img)
    {
      float inv = 1.0f / d->model->arch.vae.scale_factor;
      for (size_t i = 0; i < n; i++)
        z[i] = x[i] * inv;
      ok = sc_vae_decode (d->model->vae, d->be, z, 1, d->h, d->w, img, error);
      if (ok)
        for (size_t i = 0; i < npix * 3; i++)
          img[i] = CLAMP ((img[i] + 1.0f) * 0.5f, 0.0f, 1.0f);
    }
  sc_free_floats (z);
  if (!ok)
    {
      sc_free_floats (img);
      return NULL;
    }
  return img;
}

/* ---- generate ----------------------------------------------------------------------------------------- */

static gboolean
check_params (ScModel *m, const ScGenerateParams *p, int width, int height, gboolean inpaint, GError **error)
{
  if (width < 8 || height < 8 || width % 8 || height % 8 || width > 4096 || height > 4096)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "Image size %d×%d is not supported: width and height must be multiples of 8 between 8 and 4096",
                   width, height);
      return FALSE;
    }
  if (p->steps < 1 || p->steps > 1000)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "Steps must be between 1 and 1000 (got %d)", p->steps);
      return FALSE;
    }
  if ((p->init_image || inpaint) && !(p->strength > 0.0 && p->strength <= 1.0))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "Strength must be in (0, 1] (got %g)", p->strength);
      return FALSE;
    }
  if (!m->unet || !m->text || !m->tokenizer || !m->vae)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "Generating needs the U-Net, the text encoder, the tokenizer and the VAE; %s lacks some", m->path);
      return FALSE;
    }
  int in = m->arch.unet.in_channels, out = m->arch.unet.out_channels;
  if (in != out && !(inpaint && in == out + 5))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED,
                   in == out + 5 ? "This is an inpainting U-Net (%d input channels); it needs an init image and a mask"
                                 : "U-Nets with %d input channels are not supported",
                   in);
      return FALSE;
    }
  return TRUE;
}

/* The inpainting loop: diffusers' StableDiffusionInpaintPipeline step for step. noise is the starting
 * noise, kept for the blend; z0 may be NULL for 9-channel U-Nets at strength 1. */
static gboolean
sample_inpaint (ScSampler *s, Denoiser *d, const float *z0, const float *noise, const float *mask, float *x,
                GError **error)
{
  size_t n = (size_t) (d->h * d->w * d->c);
  int steps = sc_sampler_n_steps (s);
  gboolean blend = d->in_c == d->c, ok = TRUE;
  float *x_in = g_new (float, n), *out = g_new (float, n), *x0 = g_new (float, n);
  float *step_noise = g_new (float, n), *known = g_new (float, n);
  for (int i = 0; i < steps && ok; i++)
    {
      sc_sampler_scale_input (s, i, x, x_in);
      ok = predict_guided (d, x_in, (float) sc_sampler_timestep (s, i), out, error);
      if (!ok)
        break;
      gboolean need = sc_sampler_step_needs_noise (s, i);
      if (need)
        draw_noise_nhwc (&d->noise, step_noise, n);
      ok = sc_sampler_step (s, i, out, x, x0, need ? step_noise : NULL, error);
      if (ok && blend)
        {
          /* the known region, noised to the level the next step starts from (clean after the last) */
          sc_sampler_add_noise (s, i + 1, z0, noise, known);
          for (int64_t j = 0; j < d->h * d->w; j++)
            for (int64_t c = 0; c < d->c; c++)
              {
                size_t k = (size_t) (j * d->c + c);
                x[k] = (1.0f - mask[j]) * known[k] + mask[j] * x[k];
              }
        }
      if (ok && !progress_cb (d, i, steps, x, x0))
        {
          g_set_error (error, SC_ERROR, SC_ERROR_CANCELLED, "sampling cancelled at step %d of %d", i + 1, steps);
          ok = FALSE;
        }
    }
  g_free (x_in);
  g_free (out);
  g_free (x0);
  g_free (step_noise);
  g_free (known);
  return ok;
}

/* Everything but the 9-channel extras: encode the known image, noise, the masked image, then sample. */
static gboolean
run_inpaint (Denoiser *d, ScSampler *s, const ScInpaintJob *job, float *x, GError **error)
{
  const ScGenerateParams *p = d->p;
  size_t n = (size_t) (d->h * d->w * d->c), npix = (size_t) job->width * (size_t) job->height;
  gboolean nine = d->in_c != d->c, ok = FALSE;
  float *z0 = NULL, *noise = NULL, *masked = NULL;
  float *extra = NULL;
  /* diffusers encodes the image only when it blends (4 channels) or starts from it (strength < 1) */
  if (!nine || p->strength < 1.0)
    {
      float *img = sc_alloc_floats (npix * 3, error);
      if (!img)
        goto out;
      for (size_t i = 0; i < npix * 3; i++)
        img[i] = job->image[i] * 2.0f - 1.0f;
      if (!(z0 = encode_pixels (d, img, error)))
        goto out;
    }
  if (!(noise = sc_alloc_floats (n, error)))
    goto out;
  draw_noise_nhwc (&d->noise, noise, n);
  sc_sampler_init_latent (s, p->strength < 1.0 ? z0 : NULL, noise, x);
  if (nine)
    {
      /* masked image (cut pixels 0 in [−1, 1]) → latents; input = cat([x, mask, masked latents]) */
      float *img = sc_alloc_floats (npix * 3, error);
      if (!img)
        goto out;
      for (size_t i = 0; i < npix; i++)
        for (int k = 0; k < 3; k++)
          img[i * 3 + k] = job->hole[i] ? 0.0f : job->image[i * 3 + k] * 2.0f - 1.0f;
      if (!(masked = encode_pixels (d, img, error)))
        goto out;
      int64_t ne = d->in_c - d->c;
      if (!(extra = sc_alloc_floats ((size_t) (d->h * d->w * ne), error)))
        goto out;
      for (int64_t j = 0; j < d->h * d->w; j++)
        {
          extra[j * ne] = job->latent_mask[j];
          memcpy (extra + j * ne + 1, masked + j * d->c, (size_t) d->c * sizeof (float));
        }
      d->extra = extra;
    }
  else
    d->noise.rng.offset++; /* diffusers draws the masked image's posterior noise even when unused */
  ok = sample_inpaint (s, d, z0, noise, job->latent_mask, x, error);
out:
  d->extra = NULL;
  sc_free_floats (extra);
  sc_free_floats (masked);
  sc_free_floats (noise);
  sc_free_floats (z0);
  return ok;
}

static gboolean
generate (ScModel *m, const ScBackend *be, const ScGenerateParams *p, const ScInpaintJob *job,
          ScGenerateProgressFunc progress, gpointer user, float **rgb_out, float **latent_out, GError **error)
{
  int width = job ? job->width : p->width, height = job ? job->height : p->height;
  if (!check_params (m, p, width, height, job != NULL, error))
    return FALSE;
  Denoiser d = {
    .model = m, .be = be, .p = p, .h = height / 8, .w = width / 8, .c = m->arch.unet.out_channels,
    .in_c = m->arch.unet.in_channels, .batch = p->cfg_scale == 1.0f ? 1 : 2, .progress = progress,
    .progress_user = user,
  };
  d.noise.h = d.h;
  d.noise.w = d.w;
  d.noise.c = d.c;
  sc_philox_init (&d.noise.rng, p->seed);
  /* Hint features are computed here once (or come from the tuners' caches), never per step. */
  if (p->tuners && sc_tuner_set_active (p->tuners) && !sc_tuner_set_prepare (p->tuners, be, d.h, d.w, error))
    return FALSE;
  size_t n = (size_t) (d.h * d.w * d.c);
  size_t n_in = (size_t) (d.h * d.w * d.in_c);
  int64_t ctx = m->arch.text.width;
  gboolean ok = FALSE;
  float *z0 = NULL, *x = NULL, *rgb = NULL;
  ScSampler *sampler = NULL;

  d.context = sc_alloc_floats ((size_t) (2 * SC_CLIP_CONTEXT * ctx), error);
  d.x_batch = d.context ? sc_alloc_floats (2 * n_in, error) : NULL;
  d.out_batch = d.x_batch ? sc_alloc_floats (2 * n, error) : NULL;
  gboolean fast = p->preview == SC_PREVIEW_FAST;
  d.preview = d.out_batch && fast ? sc_alloc_floats ((size_t) (d.h * d.w * 3), error) : NULL;
  x = d.out_batch && (d.preview || !fast) ? sc_alloc_floats (n, error) : NULL;
  if (!x)
    goto out;
  /* context rows: [uncond, cond] as LDM and diffusers batch them */
  float *cond = d.batch == 2 ? d.context + SC_CLIP_CONTEXT * ctx : d.context;
  if (!sc_encode_prompt (m, be, p->prompt, cond, error))
    goto out;
  if (d.batch == 2 && !sc_encode_prompt (m, be, p->negative_prompt ? p->negative_prompt : "", d.context, error))
    goto out;
  if (!job && p->init_image && !(z0 = encode_init_image (&d, p->init_image, error)))
    goto out;

  ScSchedule sched;
  sc_schedule_init_sd (&sched);
  ScSamplerConfig cfg;
  sc_sampler_config_init (&cfg, p->sampler);
  cfg.prediction = m->prediction;
  cfg.spacing = p->spacing;
  cfg.steps = p->steps;
  cfg.eta = p->eta;
  cfg.strength = p->init_image || job ? p->strength : 1.0;
  if (!(sampler = sc_sampler_new (&sched, &cfg, n, error)))
    goto out;
  if (job && sc_sampler_n_steps (sampler) < 1)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "Strength %g leaves no steps to run out of %d; raise the strength or the steps", p->strength,
                   p->steps);
      goto out;
    }
  if (job)
    {
      if (!run_inpaint (&d, sampler, job, x, error))
        goto out;
    }
  else
    {
      ScSamplerCallbacks cb = { .predict = predict_guided, .noise = noise_cb, .progress = progress_cb, .user = &d };
      if (!sc_sampler_run (sampler, &cb, z0, x, error))
        goto out;
    }
  if (rgb_out && !(rgb = decode_latent (&d, x, error)))
    goto out;
  ok = TRUE;
  if (rgb_out)
    *rgb_out = g_steal_pointer (&rgb);
  if (latent_out)
    *latent_out = g_steal_pointer (&x);
out:
  if (d.preview_error) /* the run stopped because a preview failed, not because someone cancelled it */
    {
      g_clear_error (error);
      g_propagate_error (error, d.preview_error);
    }
  if (sampler)
    sc_sampler_free (sampler);
  sc_free_floats (z0);
  sc_free_floats (x);
  sc_free_floats (d.preview);
  sc_free_floats (d.out_batch);
  sc_free_floats (d.x_batch);
  sc_free_floats (d.context);
  return ok;
}

gboolean
sc_pipeline_run_inpaint (ScModel *m, const ScBackend *be, const ScGenerateParams *p, const ScInpaintJob *job,
                         ScGenerateProgressFunc progress, gpointer user, float **rgb, float **latent,
                         GError **error)
{
  return generate (m, be, p, job, progress, user, rgb, latent, error);
}

gboolean
sc_generate_float (ScModel *m, const ScBackend *be, const ScGenerateParams *p, ScGenerateProgressFunc progress,
                   gpointer user, float **rgb_out, float **latent_out, GError **error)
{
  if (sc_generate_params_is_inpaint (p))
    {
      ScInpaintCanvas *canvas = NULL;
      gboolean ok = sc_inpaint_float (m, be, p, progress, user, &canvas, rgb_out, latent_out, error);
      if (canvas)
        sc_inpaint_canvas_free (canvas);
      return ok;
    }
  return generate (m, be, p, NULL, progress, user, rgb_out, latent_out, error);
}

ScImage *
sc_generate (ScModel *m, const ScBackend *be, const ScGenerateParams *p, ScGenerateProgressFunc progress,
             gpointer user, GError **error)
{
  if (sc_generate_params_is_inpaint (p))
    return sc_inpaint (m, be, p, progress, user, error);
  float *rgb = NULL;
  if (!sc_generate_float (m, be, p, progress, user, &rgb, NULL, error))
    return NULL;
  ScImage *img = sc_image_from_float_rgb (rgb, p->width, p->height, error);
  sc_free_floats (rgb);
  return img;
}

/* ---- metadata ------------------------------------------------------------------------------------------- */

static char *
model_name (const ScModel *m)
{
  g_autofree char *base = g_path_get_basename (m->path);
  char *dot = strrchr (base, '.');
  if (dot && dot != base && !g_file_test (m->path, G_FILE_TEST_IS_DIR))
    *dot = '\0';
  return g_strdup (base);
}

char *
sc_generate_params_to_a1111 (const ScGenerateParams *p, const ScModel *m)
{
  g_autofree char *name = model_name (m);
  GString *s = g_string_new (p->prompt ? p->prompt : "");
  if (p->negative_prompt && *p->negative_prompt)
    g_string_append_printf (s, "\nNegative prompt: %s", p->negative_prompt);
  g_string_append_printf (s, "\nSteps: %d, Sampler: %s, CFG scale: %g, Seed: %" G_GUINT64_FORMAT ", Size: %dx%d, Model: %s",
                          p->steps, sampler_a1111_name (p->sampler), p->cfg_scale, p->seed, p->width, p->height, name);
  if (p->init_image)
    g_string_append_printf (s, ", Denoising strength: %g", p->strength);
  if (p->guidance_rescale > 0)
    g_string_append_printf (s, ", CFG Rescale: %g", p->guidance_rescale);
  if (sc_generate_params_is_inpaint (p))
    {
      g_string_append_printf (s, ", Mask grow: %d, Mask blur: %d", p->mask_grow, p->mask_feather);
      if (p->color_match)
        g_string_append (s, ", Color match: True");
      if (p->outpaint[0] > 0 || p->outpaint[1] > 0 || p->outpaint[2] > 0 || p->outpaint[3] > 0)
        g_string_append_printf (s, ", Outpaint: %d,%d,%d,%d", p->outpaint[0], p->outpaint[1], p->outpaint[2],
                                p->outpaint[3]);
    }
  if (p->sampler == SC_SAMPLER_DDIM && p->eta > 0)
    g_string_append_printf (s, ", Eta: %g", p->eta);
  if (p->tuners_summary && *p->tuners_summary)
    g_string_append_printf (s, ", SCEdit: %s", p->tuners_summary);
  g_string_append (s, ", RNG: Philox, Version: SCEdit Studio");
  return g_string_free (s, FALSE);
}

/* One JSON member each. */
static void
set_string (JsonBuilder *b, const char *key, const char *value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_string_value (b, value);
}

static void
set_int (JsonBuilder *b, const char *key, gint64 value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_int_value (b, value);
}

static void
set_double (JsonBuilder *b, const char *key, double value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_double_value (b, value);
}

static void
set_bool (JsonBuilder *b, const char *key, gboolean value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_boolean_value (b, value);
}

char *
sc_generate_params_to_json (const ScGenerateParams *p, const ScModel *m)
{
  g_autofree char *name = model_name (m);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  set_string (b, "prompt", p->prompt ? p->prompt : "");
  set_string (b, "negative_prompt", p->negative_prompt ? p->negative_prompt : "");
  set_int (b, "width", p->width);
  set_int (b, "height", p->height);
  set_int (b, "steps", p->steps);
  set_double (b, "cfg_scale", p->cfg_scale);
  set_double (b, "guidance_rescale", p->guidance_rescale);
  set_string (b, "sampler", sc_sampler_kind_name (p->sampler));
  set_string (b, "spacing", sc_spacing_name (p->spacing));
  set_double (b, "eta", p->eta);
  g_autofree char *seed = g_strdup_printf ("%" G_GUINT64_FORMAT, p->seed); /* as text: JSON numbers lose u64 */
  set_string (b, "seed", seed);
  set_string (b, "rng", "philox");
  if (p->init_image)
    set_double (b, "strength", p->strength);
  if (sc_generate_params_is_inpaint (p))
    {
      set_int (b, "mask_grow", p->mask_grow);
      set_int (b, "mask_feather", p->mask_feather);
      set_bool (b, "mask_nearest", p->mask_nearest);
      set_bool (b, "color_match", p->color_match);
      json_builder_set_member_name (b, "outpaint");
      json_builder_begin_array (b);
      for (int i = 0; i < 4; i++)
        json_builder_add_int_value (b, p->outpaint[i]);
      json_builder_end_array (b);
    }
  set_string (b, "model", name);
  set_string (b, "arch", m->arch.name);
  if (p->tuners_summary && *p->tuners_summary)
    set_string (b, "scedit", p->tuners_summary);
  set_string (b, "prediction", m->prediction == SC_PREDICTION_V ? "v" : "eps");
  json_builder_end_object (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}
