/* Decoder-only SCEdit training (../shared/specs/scedit.md §1, §4): the U-Net is frozen, the tuners on the
 * skips train, so the loss's gradient only has to travel back through the DECODER (output blocks and
 * head) to the 12 skips. The encoder and middle block need no backward at all.
 *
 * A tape records, during one sc_unet_forward (ScUNetHooks.tape), what that backward reads: per output
 * block the skip before edit_skip (the tuner's input), the concatenated block input, the ResBlock output
 * when a transformer follows, the upsample's input; and the head's input, SiLU(time embedding) and the
 * context. Internal activations of the blocks are not kept: their backwards recompute them. The frozen
 * layers are referenced (not copied), so a tape is valid only while its U-Net lives. */
#pragma once
#include "models/unet.h"
#include "models/unet_blocks.h"

G_BEGIN_DECLS

/* Output block j of the decoder, as the forward ran it. Buffers: backend memory, [B, h, w, ·]. */
typedef struct {
  int skip;                      /* the input block whose output it concatenates (n_in − 1 − j) */
  int64_t h, w;                  /* its spatial size (before any upsampling) */
  int64_t cur_c, skip_c, out_c;  /* channels of the running tensor, the skip, the block's output */
  const ScUNetResBlock *res;
  const ScUNetTransformer *st;   /* NULL: no transformer */
  const ScConv2d *up;            /* NULL: no upsampling; else nearest to up_h × up_w, then this conv3×3 */
  int64_t up_h, up_w;
  float *skip_in;                /* [.., skip_c] the skip before edit_skip: the tuner's input */
  float *cat;                    /* [.., cur_c + skip_c] concat(cur, edited skip): the ResBlock's input */
  float *res_out;                /* [.., out_c] the ResBlock's output = the transformer's input (st only) */
  float *up_in;                  /* [.., out_c] the upsample's input (up only) */
} ScUNetTapeBlock;

struct ScUNetTape {
  const ScUNet *unet;
  const ScBackend *be;
  int64_t B, H, W, n_ctx;
  int n_blocks;
  ScUNetTapeBlock *blocks;       /* [n_blocks] decoder order */
  float *emb;                    /* [B, emb_dim] SiLU(time embedding), what every ResBlock reads */
  float *ctx;                    /* [B, n_ctx, context_dim] */
  int64_t emb_dim, context_dim;
  const ScGroupNorm *head_norm;  /* head: conv3×3(SiLU(GN(head_in))) */
  const ScConv2d *head_conv;
  int64_t head_c;
  float *head_in;                /* [B, H, W, head_c] */
};

/* An empty tape; its buffers are allocated by the first forward that records into it and kept for later
 * forwards of the same U-Net, backend and sizes. */
ScUNetTape *sc_unet_tape_new (void);
void sc_unet_tape_free (ScUNetTape *tape);

/* For unet.c's forward: starts a recording (reallocating when the geometry changed) and copies *slot =
 * src (n floats, backend memory), allocating the slot on first use. */
gboolean sc_unet_tape_begin (ScUNetTape *tape, const ScUNet *unet, const ScBackend *be, int64_t B, int64_t H,
                             int64_t W, int64_t n_ctx, int n_blocks, GError **error);
gboolean sc_unet_tape_copy (ScUNetTape *tape, float **slot, const float *src, int64_t n, GError **error);

/* Backward of the decoder recorded in tape: dout = ∂L/∂out [B, H, W, out_channels] (host memory, as the
 * forward's out). dskip[i] (backend memory, [B, h_i, w_i, C_i] for input block i; NULL entries or a NULL
 * array: not wanted) += ∂L/∂(skip i AFTER edit_skip), i.e. the gradient at the tuners' output. The frozen
 * layers get no gradients. Needs every backward op of the backend and 2× upsampling (latent sides
 * divisible by 2^(n_levels−1)). */
gboolean sc_unet_decoder_backward (ScUNet *unet, const ScBackend *be, const ScUNetTape *tape, const float *dout,
                                   float **dskip, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScUNetTape, sc_unet_tape_free)

G_END_DECLS
