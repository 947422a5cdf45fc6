/* Inpainting masks: 1 = repaint, 0 = keep, fractions in between after feathering. */
#pragma once
#include "io/image.h"

G_BEGIN_DECLS

typedef struct {
  int width, height;
  float *data; /* width × height, row-major, in [0, 1] */
} ScMask;

ScMask *sc_mask_new (int width, int height, GError **error); /* all 0 */
void sc_mask_free (ScMask *mask);

/* A painted mask image as a binary mask: the alpha channel when the image has one that is not
 * fully opaque (painted strokes on a transparent layer), else the luminance; above 127 (8-bit
 * scale; 16-bit data is compared at full precision) means repaint. */
ScMask *sc_mask_from_image (const ScImage *img, GError **error);

/* Every pixel within Euclidean distance RADIUS (≥ 0) of a pixel ≥ 0.5 becomes 1, the rest 0.
 * Exact distances (a disc, not a square), linear time in the pixel count whatever the radius. */
ScMask *sc_mask_grow (const ScMask *mask, int radius, GError **error);

/* Gaussian blur with σ = RADIUS / 3, cut at ±RADIUS (so the ramp is about 2·RADIUS wide and centred
 * on the original edge); borders replicate, so a mask touching the border stays 1 there.
 * RADIUS 0 copies. */
ScMask *sc_mask_feather (const ScMask *mask, int radius, GError **error);

/* The inpainting condition (SCEdit's InpaintingAnnotator with MASK_COLOR 0): IMG as 8-bit RGB with
 * every pixel whose mask value is ≥ 0.5 set to 0. The mask travels separately (the caller keeps
 * MASK); sizes must match. */
ScImage *sc_cond_inpaint (const ScImage *img, const ScMask *mask, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScMask, sc_mask_free)

G_END_DECLS
