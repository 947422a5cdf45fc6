/* Between pipeline.c and inpaint.c: the sampling run with an inpainting canvas. Not installed. */
#pragma once
#include "diffusion/pipeline.h"

G_BEGIN_DECLS

typedef struct {
  int width, height;          /* the canvas: multiples of 8 (p->width/height are ignored) */
  const float *image;         /* [height, width, 3] in [0, 1] */
  const float *latent_mask;   /* [height/8, width/8], 1 = repaint */
  const guint8 *hole;         /* [height, width], 1 = cut out of the masked image (9-channel U-Nets) */
} ScInpaintJob;

/* Samples the canvas with latent masking (4-channel U-Net) or the mask/masked-image channels (9).
 * Outputs as sc_generate_float. */
gboolean sc_pipeline_run_inpaint (ScModel *m, const ScBackend *be, const ScGenerateParams *p,
                                  const ScInpaintJob *job, ScGenerateProgressFunc progress, gpointer user,
                                  float **rgb, float **latent, GError **error);

/* Bilinear resize of [sh, sw, 3] floats to [dh, dw, 3] (half-pixel centres, edges clamped). */
void sc_pipeline_resize_rgb (const float *src, int sw, int sh, float *dst, int dw, int dh);

G_END_DECLS
