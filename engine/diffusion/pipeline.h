/* Prompt → image: text encoding, sampling with classifier-free guidance, VAE decode; img2img from an init
 * image with a strength. Everything the picture depends on is in ScGenerateParams, and it is written into
 * the PNG (A1111 "parameters" text plus our own JSON), so an image can be reproduced from itself. */
#pragma once
#include "backend/backend.h"
#include "diffusion/sampler.h"
#include "io/image.h"
#include "models/model_loader.h"
#include "scedit/tuner_set.h"

#include <gio/gio.h>

G_BEGIN_DECLS

/* What the progress callback is shown after each step. FAST is 0 so zeroed params keep the cheap preview. */
typedef enum {
  SC_PREVIEW_FAST, /* the predicted clean latent through a fixed linear map: latent size (1/8), nearly free */
  SC_PREVIEW_NONE, /* no picture: the callback only counts steps (and may cancel) */
  SC_PREVIEW_FULL, /* the predicted clean latent through the VAE decoder: output size, one decode per step */
} ScPreviewMode;

typedef struct {
  const char *prompt;
  const char *negative_prompt; /* NULL or "" = empty prompt */
  int width, height;           /* pixels; multiples of 8 (inpainting: ignored, see diffusion/inpaint.h) */
  int steps;
  float cfg_scale;             /* 1 disables the unconditional pass */
  float guidance_rescale;      /* 0 = off */
  ScSamplerKind sampler;
  ScSpacing spacing;
  double eta;                  /* DDIM */
  uint64_t seed;
  const ScImage *init_image;   /* img2img when non-NULL; the image to inpaint / extend */
  double strength;             /* img2img strength in (0, 1]; inpainting: of the masked area (1 = default) */
  /* Inpainting and outpainting (diffusion/inpaint.h), on when mask is set or a margin is > 0: */
  const ScImage *mask;         /* white = repaint; resized (nearest) to init_image when sizes differ */
  int mask_grow;               /* pixels the repaint region grows by (outpainting: the overlap); default 4 */
  int mask_feather;            /* pixels of the soft composite band outside it; default 8 */
  gboolean mask_nearest;       /* latent mask as diffusers (nearest pixel) instead of every touched block */
  gboolean color_match;        /* match mean/std of the repainted area to its surroundings */
  int outpaint[4];             /* pixels to add: left, top, right, bottom */
  GCancellable *cancellable;   /* checked between U-Net blocks; NULL: never */
  ScTunerSet *tuners;          /* SCEdit style tuners and conditions (borrowed); NULL or inactive: none.
                                * Its hints must have the output size; sc_generate prepares it. */
  const char *tuners_summary;  /* for the PNG parameters, e.g. "style watercolor 0.8, canny 0.7" */
  ScPreviewMode preview;       /* what progress callbacks get; no effect on the image */
} ScGenerateParams;

void sc_generate_params_init (ScGenerateParams *p);
/* Whether p asks for inpainting or outpainting (a mask or a margin). */
gboolean sc_generate_params_is_inpaint (const ScGenerateParams *p);

/* Called after every step with a preview of the predicted clean latent, [h, w, 3] in [0, 1], per p->preview:
 * FAST: h×w the latent size (1/8 of the image); FULL: decoded by the VAE, h×w the output size (for
 * inpainting the canvas, before the composite); NONE: preview_rgb NULL, 0×0. The pixels are valid for the
 * call only. Return FALSE to cancel. */
typedef gboolean (*ScGenerateProgressFunc) (gpointer user, int step, int n_steps, const float *preview_rgb,
                                            int preview_w, int preview_h);

ScImage *sc_generate (ScModel *model, const ScBackend *be, const ScGenerateParams *p,
                      ScGenerateProgressFunc progress, gpointer user, GError **error);

/* The same, stopping before 8-bit quantisation: rgb [H, W, 3] floats in [0, 1] (clamped) and the final
 * latent [h, w, 4] (NHWC, diffusion space) — for reference comparisons. Either output may be NULL.
 * Inpainting: the decoded canvas before the composite (see sc_inpaint_float; H, W = the canvas). */
gboolean sc_generate_float (ScModel *model, const ScBackend *be, const ScGenerateParams *p,
                            ScGenerateProgressFunc progress, gpointer user, float **rgb, float **latent,
                            GError **error);

/* Encodes the prompt with the model's tokenizer and text encoder: out [1, 77, width]. */
gboolean sc_encode_prompt (ScModel *model, const ScBackend *be, const char *prompt, float *out, GError **error);

/* The PNG text chunks describing p: "parameters" (AUTOMATIC1111 format) and "scedit" (JSON). */
char *sc_generate_params_to_a1111 (const ScGenerateParams *p, const ScModel *model);
char *sc_generate_params_to_json (const ScGenerateParams *p, const ScModel *model);

G_END_DECLS
