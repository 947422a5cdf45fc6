/* Backward passes of the U-Net blocks, for decoder-only SCEdit training (../shared/specs/scedit.md §4): the
 * U-Net is frozen, so these give input gradients only (no weight gradients), which carry the loss back
 * through the output blocks to the skip connections where the tuners sit. Same contract as the op
 * table's backward entries: gradients are ADDED into the buffers given. */
#pragma once
#include "models/unet_blocks.h"

G_BEGIN_DECLS

/* Raises need (the same plan the forwards use, so one scratch serves both) to what
 * sc_unet_res_backward uses: s1..s4 and embp. */
void sc_unet_res_backward_need (const ScUNetResBlock *rb, int64_t B, int64_t HW, ScUNetNeed *need);
/* dx[B, H, W, in_c] += ∂L/∂x given dy[B, H, W, out_c] = ∂L/∂y of y = sc_unet_res_forward (x, emb_silu).
 * The time embedding gets no gradient (it does not depend on the tuners). dx must not alias x or dy, nor
 * the scratch; the backend must provide conv2d_backward, group_norm_backward and linear_backward. */
void sc_unet_res_backward (const ScBackend *be, const ScUNetResBlock *rb, const float *x, const float *emb_silu,
                           const float *dy, float *dx, int64_t B, int64_t H, int64_t W, const ScUNetScratch *s);

G_END_DECLS
