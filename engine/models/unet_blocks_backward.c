/* ResBlock backward, input gradient only (forward: unet_blocks.c, sc_unet_res_forward):
 *   a1 = SiLU(GN_in(x));  h = conv_in(a1) + emb_proj(emb_silu);  a2 = SiLU(GN_out(h));
 *   y = conv_out(a2) + skip(x)
 * so dx = GN_in'ᵀ(conv_inᵀ(GN_out'ᵀ(conv_outᵀ dy))) + skipᵀ dy. Frozen weights: every dw/dbias/dgamma is
 * NULL, never computed.
 *
 * The internal activations (a1, h, a2) are recomputed here from x rather than kept from the forward:
 * kept, they cost ~26 MB per image for one 64×64 ResBlock of a 512-px SD U-Net (in_c up to 960), and the
 * decoder has 12 ResBlocks besides its transformers: GBs at training batch sizes. The price is one more
 * forward of the block, against a backward that is itself about one forward (input gradients only). */
#include "models/unet_blocks_backward.h"

void
sc_unet_res_backward_need (const ScUNetResBlock *rb, int64_t B, int64_t HW, ScUNetNeed *need)
{
  int64_t rows = B * HW;
  need->s1 = MAX (need->s1, rows * rb->in_c);                   /* a1 */
  need->s2 = MAX (need->s2, rows * rb->out_c);                  /* h */
  need->s3 = MAX (need->s3, rows * rb->out_c);                  /* a2, then dh */
  need->s4 = MAX (need->s4, rows * MAX (rb->in_c, rb->out_c));  /* da2, then da1 */
  need->embp = MAX (need->embp, B * rb->out_c);
}

void
sc_unet_res_backward (const ScBackend *be, const ScUNetResBlock *rb, const float *x, const float *emb_silu,
                      const float *dy, float *dx, int64_t B, int64_t H, int64_t W, const ScUNetScratch *s)
{
  g_return_if_fail (be->conv2d_backward && be->group_norm_backward && be->linear_backward);
  int64_t HW = H * W, rows = B * HW, in_c = rb->in_c, out_c = rb->out_c;
  const ScGroupNorm *ni = &rb->in_norm, *no = &rb->out_norm;
  ScConv2dDesc dci = sc_conv2d_desc (&rb->in_conv, B, H, W), dco = sc_conv2d_desc (&rb->out_conv, B, H, W);

  /* Recompute the forward's activations: s1 = a1, s2 = h (kept: GN_out's backward reads it), s3 = a2. */
  sc_group_norm_forward (be, ni, x, s->s1, B, HW, TRUE);
  sc_conv2d_forward (be, &rb->in_conv, s->s1, B, H, W, s->s2);
  sc_linear_forward (be, &rb->emb_proj, emb_silu, s->embp, B);
  be->add_bias_per_batch (s->s2, s->embp, B, HW, out_c);
  sc_group_norm_forward (be, no, s->s2, s->s3, B, HW, TRUE);

  /* out_layers: s4 = da2 = conv_outᵀ dy; then s3 = dh (a2 is no longer needed). The emb bias added to
   * h passes dh through unchanged; its own gradient is not wanted. */
  be->zero (s->s4, rows * out_c);
  be->conv2d_backward (&dco, s->s3, rb->out_conv.w, dy, s->s4, NULL, NULL);
  be->zero (s->s3, rows * out_c);
  be->group_norm_backward (s->s2, s->s4, s->s3, B, HW, out_c, no->groups, no->gamma, no->beta, no->eps, true,
                           NULL, NULL);

  /* in_layers: s4 = da1 = conv_inᵀ dh; dx += GN_in'ᵀ da1. */
  be->zero (s->s4, rows * in_c);
  be->conv2d_backward (&dci, s->s1, rb->in_conv.w, s->s3, s->s4, NULL, NULL);
  be->group_norm_backward (x, s->s4, dx, B, HW, in_c, ni->groups, ni->gamma, ni->beta, ni->eps, true, NULL,
                           NULL);

  /* skip: dx += skipᵀ dy, or dy itself for the identity. */
  if (rb->has_skip)
    be->linear_backward (x, rb->skip.w, dy, dx, NULL, NULL, rows, in_c, out_c);
  else
    be->add (dx, dy, dx, rows * out_c);
}
