/* Backward of the U-Net's SpatialTransformer (models/unet_blocks.h), for decoder-only SCEdit training
 * (../shared/specs/scedit.md §4): every weight is frozen and the text encoder too, so only the gradient
 * of the block's input x is computed (no weight gradients, none for the context). */
#pragma once
#include "models/unet_blocks.h"

G_BEGIN_DECLS

/* Whether `be` has every backward op the SpatialTransformer's backward uses. */
gboolean sc_unet_st_backward_supported (const ScBackend *be);

/* Floats of backend scratch sc_unet_st_backward needs for x[B, HW, C] and n_ctx context tokens. One
 * buffer of the largest need serves every transformer of a U-Net. */
int64_t sc_unet_st_backward_need (const ScUNetTransformer *st, int64_t B, int64_t HW, int64_t n_ctx);

/* dx[B, H, W, C] += ∂L/∂x given dy = ∂L/∂y for y = sc_unet_st_forward (st, x, context). Recomputes
 * the forward from x and context inside; scratch holds sc_unet_st_backward_need floats, its contents
 * on entry are ignored (may be anything, NaN included). dx must not alias x, dy or context. */
void sc_unet_st_backward (const ScBackend *be, const ScUNetTransformer *st, const float *x, const float *context,
                          int64_t n_ctx, const float *dy, float *dx, int64_t B, int64_t H, int64_t W,
                          float *scratch);

G_END_DECLS
