/* The decoder tape and the decoder's backward (models/unet_train.h). The forward it mirrors is the decoder
 * loop of unet.c's sc_unet_forward; per output block j (deepest first):
 *   cat = concat(cur, edit(skip));  r = Res(cat);  s = ST(r) (or r);  cur = conv(up2x(s)) (or s)
 * and the head out = conv(SiLU(GN(cur))). Walking it backwards, every step takes the gradient of its
 * output and gives that of its input (dx only: the U-Net is frozen); the concat splits the gradient into
 * the running tensor's and the edited skip's. */
#include "models/unet_train.h"
#include "models/transformer_backward.h"
#include "models/unet_blocks_backward.h"
#include "core/error.h"

#include <string.h>

static void
tape_clear (ScUNetTape *t)
{
  if (t->be)
    {
      for (int j = 0; j < t->n_blocks; j++)
        {
          ScUNetTapeBlock *b = &t->blocks[j];
          float *bufs[] = { b->skip_in, b->cat, b->res_out, b->up_in };
          for (size_t k = 0; k < G_N_ELEMENTS (bufs); k++)
            if (bufs[k])
              t->be->free (bufs[k]);
        }
      float *bufs[] = { t->emb, t->ctx, t->head_in };
      for (size_t k = 0; k < G_N_ELEMENTS (bufs); k++)
        if (bufs[k])
          t->be->free (bufs[k]);
    }
  g_free (t->blocks);
  memset (t, 0, sizeof *t);
}

ScUNetTape *
sc_unet_tape_new (void)
{
  return g_new0 (ScUNetTape, 1);
}

void
sc_unet_tape_free (ScUNetTape *tape)
{
  if (!tape)
    return;
  tape_clear (tape);
  g_free (tape);
}

gboolean
sc_unet_tape_begin (ScUNetTape *tape, const ScUNet *unet, const ScBackend *be, int64_t B, int64_t H, int64_t W,
                    int64_t n_ctx, int n_blocks, GError **error)
{
  (void) error;
  /* Same model and sizes: every slot keeps its size, so the buffers are reused as they are. */
  if (tape->unet == unet && tape->be == be && tape->B == B && tape->H == H && tape->W == W && tape->n_ctx == n_ctx
      && tape->n_blocks == n_blocks)
    return TRUE;
  tape_clear (tape);
  const ScUNetConfig *cfg = sc_unet_config (unet);
  tape->unet = unet, tape->be = be;
  tape->B = B, tape->H = H, tape->W = W, tape->n_ctx = n_ctx;
  tape->n_blocks = n_blocks;
  tape->blocks = g_new0 (ScUNetTapeBlock, n_blocks);
  tape->emb_dim = 4 * (int64_t) cfg->model_channels;
  tape->context_dim = cfg->context_dim;
  return TRUE;
}

gboolean
sc_unet_tape_copy (ScUNetTape *tape, float **slot, const float *src, int64_t n, GError **error)
{
  if (!*slot && !(*slot = tape->be->alloc ((size_t) MAX (n, 1))))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY,
                   "U-Net training tape: cannot allocate %" G_GINT64_FORMAT " floats", n);
      return FALSE;
    }
  /* A device-side copy: the op table has none, axpby with β = 0 is one (as tuner_set.c does). */
  tape->be->axpby (src, 1.0f, src, 0.0f, *slot, n);
  return TRUE;
}

/* ---- backward ------------------------------------------------------------------------------------ */

typedef struct {
  const ScBackend *be;
  float *g0, *g1;   /* ping-pong gradient buffers, each the largest gradient tensor */
  float *st_scratch;
  ScUNetScratch s;  /* ResBlock backward scratch */
} Grad;

static void
grad_clear (Grad *g)
{
  float *bufs[] = { g->g0, g->g1, g->st_scratch, g->s.s1, g->s.s2, g->s.s3, g->s.s4, g->s.embp };
  for (size_t k = 0; k < G_N_ELEMENTS (bufs); k++)
    if (bufs[k])
      g->be->free (bufs[k]);
}

static gboolean
grad_alloc (float **p, const ScBackend *be, int64_t n, GError **error)
{
  if (n <= 0)
    return TRUE;
  if (!(*p = be->alloc ((size_t) n)))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY,
                   "U-Net decoder backward: cannot allocate %" G_GINT64_FORMAT " floats", n);
      return FALSE;
    }
  return TRUE;
}

/* Checks the tape is complete and backward-able, and plans the buffers by walking it as the backward will. */
static gboolean
grad_init (Grad *g, const ScBackend *be, const ScUNetTape *t, GError **error)
{
  memset (g, 0, sizeof *g);
  g->be = be;
  if (!be->conv2d_backward || !be->group_norm_backward || !be->linear_backward || !be->upsample_nearest2x_backward
      || !be->concat_last_backward || !sc_unet_st_backward_supported (be))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED,
                   "The %s backend cannot train yet (it lacks backward operations)", be->name);
      return FALSE;
    }
  const int64_t B = t->B;
  int64_t gmax = B * t->H * t->W * MAX (t->head_c, sc_unet_config (t->unet)->out_channels), st_need = 0;
  ScUNetNeed need = { 0 };
  for (int j = 0; j < t->n_blocks; j++)
    {
      const ScUNetTapeBlock *b = &t->blocks[j];
      int64_t rows = B * b->h * b->w;
      if (!b->cat || (b->st && !b->res_out) || (b->up && !b->up_in))
        {
          g_set_error_literal (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                               "U-Net decoder backward: the tape holds no complete forward");
          return FALSE;
        }
      if (b->up && (b->up_h != 2 * b->h || b->up_w != 2 * b->w))
        {
          g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED,
                       "Training needs latent sides divisible by %d (the decoder upsamples %" G_GINT64_FORMAT "×%"
                       G_GINT64_FORMAT " to %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT ", not exactly 2×)",
                       1 << (sc_unet_config (t->unet)->n_levels - 1), b->w, b->h, b->up_w, b->up_h);
          return FALSE;
        }
      gmax = MAX (gmax, rows * (b->cur_c + b->skip_c));
      if (b->up)
        gmax = MAX (gmax, B * b->up_h * b->up_w * b->out_c);
      sc_unet_res_backward_need (b->res, B, b->h * b->w, &need);
      if (b->st)
        st_need = MAX (st_need, sc_unet_st_backward_need (b->st, B, b->h * b->w, t->n_ctx));
    }
  if (!t->head_in)
    {
      g_set_error_literal (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                           "U-Net decoder backward: the tape holds no complete forward");
      return FALSE;
    }
  return grad_alloc (&g->g0, be, gmax, error) && grad_alloc (&g->g1, be, gmax, error)
         && grad_alloc (&g->st_scratch, be, st_need, error) && grad_alloc (&g->s.s1, be, need.s1, error)
         && grad_alloc (&g->s.s2, be, need.s2, error) && grad_alloc (&g->s.s3, be, need.s3, error)
         && grad_alloc (&g->s.s4, be, need.s4, error) && grad_alloc (&g->s.embp, be, need.embp, error);
}

/* The gradient moves g0 → g1 through one op (which adds into g1, so g1 is zeroed first), then the two
 * swap: g0 always holds the gradient of the current point of the walk. */
static float *
grad_next (Grad *g, int64_t n)
{
  g->be->zero (g->g1, (size_t) n);
  return g->g1;
}

static void
grad_swap (Grad *g)
{
  float *t = g->g0;
  g->g0 = g->g1, g->g1 = t;
}

gboolean
sc_unet_decoder_backward (ScUNet *unet, const ScBackend *be, const ScUNetTape *tape, const float *dout,
                          float **dskip, GError **error)
{
  g_return_val_if_fail (unet != NULL && be != NULL && tape != NULL && dout != NULL, FALSE);
  if (tape->unet != unet || tape->be != be)
    {
      g_set_error_literal (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                           "U-Net decoder backward: the tape was recorded by another U-Net or backend");
      return FALSE;
    }
  Grad g;
  if (!grad_init (&g, be, tape, error))
    {
      grad_clear (&g);
      return FALSE;
    }
  const int64_t B = tape->B, H = tape->H, W = tape->W, out_c = sc_unet_config (unet)->out_channels;

  /* Head: g0 = dout → d(SiLU(GN)) via the conv → d(head_in) via GN+SiLU. */
  be->upload (g.g0, dout, (size_t) (B * H * W * out_c));
  ScConv2dDesc d = sc_conv2d_desc (tape->head_conv, B, H, W);
  be->conv2d_backward (&d, NULL, tape->head_conv->w, g.g0, grad_next (&g, B * H * W * tape->head_c), NULL, NULL);
  grad_swap (&g);
  const ScGroupNorm *n = tape->head_norm;
  be->group_norm_backward (tape->head_in, g.g0, grad_next (&g, B * H * W * tape->head_c), B, H * W, tape->head_c,
                           n->groups, n->gamma, n->beta, n->eps, true, NULL, NULL);
  grad_swap (&g);

  for (int j = tape->n_blocks - 1; j >= 0; j--)
    {
      const ScUNetTapeBlock *b = &tape->blocks[j];
      const int64_t h = b->h, w = b->w, rows = B * h * w;
      if (b->up)
        {
          /* cur = conv(up2x(s)): conv at the upsampled size, then each s pixel sums its four copies. */
          d = sc_conv2d_desc (b->up, B, b->up_h, b->up_w);
          be->conv2d_backward (&d, NULL, b->up->w, g.g0, grad_next (&g, B * b->up_h * b->up_w * b->out_c), NULL,
                               NULL);
          grad_swap (&g);
          be->upsample_nearest2x_backward (g.g0, grad_next (&g, rows * b->out_c), B, h, w, b->out_c);
          grad_swap (&g);
        }
      if (b->st)
        {
          sc_unet_st_backward (be, b->st, b->res_out, tape->ctx, tape->n_ctx, g.g0, grad_next (&g, rows * b->out_c),
                               B, h, w, g.st_scratch);
          grad_swap (&g);
        }
      const int64_t cat_c = b->cur_c + b->skip_c;
      sc_unet_res_backward (be, b->res, b->cat, tape->emb, g.g0, grad_next (&g, rows * cat_c), B, h, w, &g.s);
      grad_swap (&g);
      /* Split: the running tensor's part continues up the walk (block 0's goes to the middle block: not
       * wanted), the skip's is the gradient at the tuner's output. */
      float *dcur = j > 0 ? grad_next (&g, rows * b->cur_c) : NULL;
      be->concat_last_backward (g.g0, dcur, b->cur_c, dskip ? dskip[b->skip] : NULL, b->skip_c, rows);
      grad_swap (&g);
    }
  grad_clear (&g);
  return TRUE;
}
