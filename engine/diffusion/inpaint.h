/* Inpainting and outpainting with any Stable Diffusion model.
 *
 * Turned on by ScGenerateParams (diffusion/pipeline.h): `mask` (white = repaint) and/or `outpaint`
 * (pixels to add on the left, top, right, bottom), both with `init_image`. sc_generate () then:
 *
 *  1. builds a canvas (ScInpaintCanvas): the init image at its own size — width/height in the params are
 *     ignored — extended by the outpaint margins, each total rounded up to a multiple of 8 (the extra
 *     columns/rows go to the right/bottom margin if there is one, else to the left/top one, else to a
 *     hidden pad that is cropped away at the end). New pixels are pre-filled: edge pixels stretched
 *     outwards, blurred, plus a little seeded noise, so the VAE sees something plausible;
 *  2. mask: read as cond/mask.h's sc_mask_from_image does (the alpha channel when the image has a
 *     non-opaque one — strokes on a transparent layer — else the luminance); > 127 of 255 means repaint,
 *     as diffusers binarises at 0.5; a mask of another size is resized to the init image (nearest).
 *     The outpaint margins are always repainted. The repaint region is grown by `mask_grow` pixels
 *     (Euclidean) — for outpainting that is the overlap into the old image — and feathered outwards
 *     over `mask_feather` pixels (smoothstep), which gives the composite weight α;
 *  3. samples with latent masking: the latent mask is 1 for every 8×8 block the composite touches
 *     (α > 0), or, with `mask_nearest`, the pixel at each block's top-left corner as diffusers'
 *     F.interpolate(mode="nearest") does. A 4-channel U-Net is blended after every step exactly like
 *     diffusers' StableDiffusionInpaintPipeline: x ← (1 − m)·add_noise(z0, ε, t_next) + m·x, where z0 is
 *     the VAE posterior sample of the canvas and ε the starting noise. A 9-channel inpainting U-Net gets
 *     cat([x, m, masked_image_latents]) with the masked image = canvas·(pixel mask < 0.5) in [−1, 1] (no
 *     blending, as diffusers). `strength` is the denoising strength of the masked area (1 = start from
 *     pure noise; less starts from the noised canvas as img2img does). Noise draws follow diffusers'
 *     order (posterior of the canvas when needed, starting noise, posterior of the masked image — skipped
 *     but counted for 4-channel models), so a seed gives diffusers' result;
 *  4. optionally matches colours (`color_match`): inside the repainted region, each RGB channel of the
 *     generated image is shifted and scaled so its mean and standard deviation over the inner band
 *     (repainted pixels within SC_INPAINT_COLOR_BAND of the region's edge) equal those of the original
 *     over the outer band (kept pixels within the same distance); the scale is clamped to [0.5, 2];
 *  5. composites in pixel space: out = α·generated + (1 − α)·canvas, in 8 bits, and pixels with α = 0
 *     are copied from the init image bit for bit (everything farther than grow + feather from the mask,
 *     and for outpainting every original pixel outside the overlap). */
#pragma once
#include "diffusion/pipeline.h"
#include "scedit/control_input.h"

G_BEGIN_DECLS

#define SC_INPAINT_COLOR_BAND 16 /* pixels */

typedef struct {
  int width, height;     /* the canvas that is generated: multiples of 8 */
  int init_x, init_y;    /* where the init image's top-left pixel sits on the canvas */
  int init_w, init_h;
  int out_x, out_y;      /* the part of the canvas that is returned */
  int out_w, out_h;
  float *rgb;            /* [height, width, 3] in [0, 1]: init image + pre-filled margins */
  guint8 *rgb8;          /* the same in 8 bits (init pixels exactly as given) */
  guint8 *repaint;       /* [height, width]: 1 where the grown mask says repaint */
  float *alpha;          /* [height, width]: composite weight of the generated image */
  float *dist;           /* [height, width]: Euclidean distance to the (ungrown) repaint region */
} ScInpaintCanvas;

/* The canvas size for an init image of init_w×init_h and margins (L, T, R, B; NULL = none). */
void sc_inpaint_canvas_size (int init_w, int init_h, const int outpaint[4], int *out_w, int *out_h);
/* The generated canvas (multiples of 8) and where the init image sits on it: where condition pictures go
 * (sc_control_hint_place). */
void sc_inpaint_hint_placement (int init_w, int init_h, const int outpaint[4], ScHintPlacement *place);

/* Builds the canvas from p->init_image, p->mask, p->outpaint, p->mask_grow, p->mask_feather (seeded
 * pre-fill from p->seed). Fails (SC_ERROR_INVALID_ARGUMENT) without an init image, for negative or huge
 * margins/radii, and for a mask that selects nothing when there is nothing to outpaint. */
ScInpaintCanvas *sc_inpaint_canvas_new (const ScGenerateParams *p, GError **error);
void sc_inpaint_canvas_free (ScInpaintCanvas *c);

/* The latent mask [height/8, width/8] (1 = repaint) as described in step 3; caller frees with g_free. */
float *sc_inpaint_latent_mask (const ScInpaintCanvas *c, gboolean nearest);
/* The pixel mask [height, width] the masked image (9-channel models) is cut with: repaint with
 * nearest, else α > 0. Caller frees with g_free. */
guint8 *sc_inpaint_hole (const ScInpaintCanvas *c, gboolean nearest);

/* Step 4 on generated [height, width, 3] in [0, 1], in place. Does nothing when a band is empty. */
void sc_inpaint_color_match (const ScInpaintCanvas *c, float *generated);
/* Step 5: the output region as 8-bit RGB. */
ScImage *sc_inpaint_composite (const ScInpaintCanvas *c, const float *generated, GError **error);

/* Everything up to the composite: the canvas (caller frees), the decoded image before colour matching
 * and compositing [height, width, 3] in [0, 1] and the final latent [height/8, width/8, 4] (either may be
 * NULL). This is what is compared with diffusers. */
gboolean sc_inpaint_float (ScModel *model, const ScBackend *be, const ScGenerateParams *p,
                           ScGenerateProgressFunc progress, gpointer user, ScInpaintCanvas **canvas,
                           float **rgb, float **latent, GError **error);

/* The whole job: what sc_generate () calls for inpainting/outpainting. */
ScImage *sc_inpaint (ScModel *model, const ScBackend *be, const ScGenerateParams *p,
                     ScGenerateProgressFunc progress, gpointer user, GError **error);

/* The condition of an inpainting CSC controller: image resized to width×height (bilinear) with the
 * masked pixels (mask as in step 2, resized nearest, not grown) set to 0 → rgb [height, width, 3] in
 * [0, 1]; and that mask → mask_out [height, width] in {0, 1}. Either output may be NULL; free with g_free. */
gboolean sc_inpaint_condition (const ScImage *image, const ScImage *mask, int width, int height, float **rgb,
                               float **mask_out, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScInpaintCanvas, sc_inpaint_canvas_free)

G_END_DECLS
