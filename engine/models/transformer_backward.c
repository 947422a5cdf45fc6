/* SpatialTransformer backward, input gradient only. Mirrors sc_unet_st_forward (models/unet_blocks.c):
 *   y = proj_out(blocks(proj_in(GN(x)))) + x,  block: t1 = t + attn1(LN1 t); t2 = t1 + attn2(LN2 t1, ctx);
 *                                                     t3 = t2 + ff_out(GEGLU(ff_in(LN3 t2))).
 * Weights are frozen: the backend's backward ops get NULL for every weight/bias/gamma gradient, and the
 * linears get x = NULL, since a linear's input is only read for its weight gradient.
 *
 * Memory: nothing is kept from the forward. A 512-px U-Net decoder's transformer activations (q/k/v,
 * attention outputs, the 8C-wide feed-forward hidden of every block) would have to live from the forward
 * until the backward reaches them; recomputing them from the block's input costs one more forward, which
 * is cheap next to the backward (attention backward alone is about two attention forwards). So:
 *  - the block inputs t_0 .. t_{depth-1} are kept (depth × [B, HW, C], small: the alternative, re-running
 *    the forward up to each block, costs O(depth²) blocks, and SDXL has depth 10);
 *  - each block's internals are recomputed right before its backward, in scratch shared by all blocks. */
#include "models/transformer_backward.h"

#include <math.h>

/* Views into the one scratch buffer (rows = B·HW tokens). */
typedef struct {
  float *toks;                     /* block inputs [depth, rows, C] */
  float *g;                        /* running ∂L/∂tokens [rows, C] */
  float *t1, *t2;                  /* a block's residual stream after attn1, after attn2 */
  float *h;                        /* LayerNorm output, then per-step gradients [rows, C] */
  float *o1, *q2, *o2;             /* attn1 output, attn2 queries, attn2 output [rows, C] */
  float *qkv;                      /* attn1 q|k|v [rows, 3C] */
  float *u;                        /* ff hidden: ff_in output [rows, 8C] */
  float *d8, *d4;                  /* gradient temporaries [rows, 8C], [rows, 4C] */
  float *kv;                       /* attn2 k|v [B, n_ctx, 2C] */
} Bufs;

/* In units of rows·C: toks (depth) + g, t1, t2, h, o1, q2, o2 (7) + qkv (3) + u (8) + d8 (8) + d4 (4). */
#define ST_BW_ROWS_C(depth) ((int64_t) (depth) + 30)

int64_t
sc_unet_st_backward_need (const ScUNetTransformer *st, int64_t B, int64_t HW, int64_t n_ctx)
{
  return ST_BW_ROWS_C (st->depth) * B * HW * st->c + B * n_ctx * 2 * st->c;
}

static Bufs
carve (const ScUNetTransformer *st, int64_t rows, float *s)
{
  int64_t rc = rows * st->c;
  Bufs b;
  b.toks = s, s += st->depth * rc;
  b.g = s, s += rc;
  b.t1 = s, s += rc;
  b.t2 = s, s += rc;
  b.h = s, s += rc;
  b.o1 = s, s += rc;
  b.q2 = s, s += rc;
  b.o2 = s, s += rc;
  b.qkv = s, s += 3 * rc;
  b.u = s, s += 8 * rc;
  b.d8 = s, s += 8 * rc;
  b.d4 = s, s += 4 * rc;
  b.kv = s;
  return b;
}

gboolean
sc_unet_st_backward_supported (const ScBackend *be)
{
  return be->linear_backward && be->layer_norm_backward && be->attention_backward && be->geglu_backward
         && be->group_norm_backward;
}

static float
attn_scale (const ScUNetTransformer *st)
{
  return (float) (1.0 / sqrt ((double) st->head_dim)); /* as the forward computes it */
}

/* Runs block tb from its input t up to the ff hidden u, keeping what its backward reads: t1, t2, qkv,
 * o1, q2, kv, o2, u. Same ops in the same order as sc_unet_st_forward, so the same values. */
static void
block_recompute (const ScBackend *be, const ScUNetTransformer *st, const ScUNetTransformerBlock *tb,
                 const float *t, const float *context, int64_t n_ctx, int64_t B, int64_t HW, const Bufs *b)
{
  int64_t rows = B * HW, c = st->c;
  float scale = attn_scale (st);

  sc_layer_norm_forward (be, &tb->norm1, t, b->h, rows);
  sc_linear_forward (be, &tb->attn1_qkv, b->h, b->qkv, rows);
  be->attention (b->qkv, b->qkv + c, b->qkv + 2 * c, b->o1, B, HW, HW, st->heads, st->head_dim, 3 * c, 3 * c, c,
                 scale, false);
  sc_linear_forward (be, &tb->attn1_out, b->o1, b->t1, rows);
  be->add (t, b->t1, b->t1, rows * c);

  sc_layer_norm_forward (be, &tb->norm2, b->t1, b->h, rows);
  sc_linear_forward (be, &tb->attn2_q, b->h, b->q2, rows);
  sc_linear_forward (be, &tb->attn2_kv, context, b->kv, B * n_ctx);
  be->attention (b->q2, b->kv, b->kv + c, b->o2, B, HW, n_ctx, st->heads, st->head_dim, c, 2 * c, c, scale,
                 false);
  sc_linear_forward (be, &tb->attn2_out, b->o2, b->t2, rows);
  be->add (b->t1, b->t2, b->t2, rows * c);

  sc_layer_norm_forward (be, &tb->norm3, b->t2, b->h, rows);
  sc_linear_forward (be, &tb->ff_in, b->h, b->u, rows);
}

/* The block's output after block_recompute: out = t2 + ff_out(GEGLU(u)). */
static void
block_finish (const ScBackend *be, const ScUNetTransformer *st, const ScUNetTransformerBlock *tb, const Bufs *b,
              float *out, int64_t rows)
{
  int64_t c = st->c;
  be->geglu (b->u, b->d4, rows, 4 * c);
  sc_linear_forward (be, &tb->ff_out, b->d4, b->h, rows);
  be->add (b->t2, b->h, out, rows * c);
}

/* After block_recompute from t: b->g holds ∂L/∂(block output) on entry, ∂L/∂t on return. Each residual
 * add passes g through unchanged, so every branch's input gradient is simply added into g in place. */
static void
block_backward (const ScBackend *be, const ScUNetTransformer *st, const ScUNetTransformerBlock *tb,
                const float *t, int64_t n_ctx, int64_t B, int64_t HW, const Bufs *b)
{
  int64_t rows = B * HW, c = st->c;
  float scale = attn_scale (st);

  /* feed-forward: g → d4 (∂GEGLU out) → d8 (∂u) → h (∂LN3 out) → g += ∂t2 */
  be->zero (b->d4, rows * 4 * c);
  be->linear_backward (NULL, tb->ff_out.w, b->g, b->d4, NULL, NULL, rows, 4 * c, c);
  be->zero (b->d8, rows * 8 * c);
  be->geglu_backward (b->u, b->d4, b->d8, rows, 4 * c);
  be->zero (b->h, rows * c);
  be->linear_backward (NULL, tb->ff_in.w, b->d8, b->h, NULL, NULL, rows, c, 8 * c);
  be->layer_norm_backward (b->t2, b->h, b->g, rows, c, tb->norm3.gamma, tb->norm3.eps, NULL, NULL);

  /* cross-attention: no k/v gradients (the context and to_k/to_v are frozen), only through q */
  be->zero (b->h, rows * c);
  be->linear_backward (NULL, tb->attn2_out.w, b->g, b->h, NULL, NULL, rows, c, c);
  be->zero (b->d4, rows * c);
  be->attention_backward (b->q2, b->kv, b->kv + c, b->o2, b->h, b->d4, NULL, NULL, B, HW, n_ctx, st->heads,
                          st->head_dim, c, 2 * c, c, scale, false);
  be->zero (b->d8, rows * c);
  be->linear_backward (NULL, tb->attn2_q.w, b->d4, b->d8, NULL, NULL, rows, c, c);
  be->layer_norm_backward (b->t1, b->d8, b->g, rows, c, tb->norm2.gamma, tb->norm2.eps, NULL, NULL);

  /* self-attention: q, k and v all come from LN1(t), so dq|dk|dv (interleaved like qkv) go back
   * through the fused [3C, C] weight in one GEMM */
  be->zero (b->h, rows * c);
  be->linear_backward (NULL, tb->attn1_out.w, b->g, b->h, NULL, NULL, rows, c, c);
  be->zero (b->d8, rows * 3 * c);
  be->attention_backward (b->qkv, b->qkv + c, b->qkv + 2 * c, b->o1, b->h, b->d8, b->d8 + c, b->d8 + 2 * c, B,
                          HW, HW, st->heads, st->head_dim, 3 * c, 3 * c, c, scale, false);
  be->zero (b->d4, rows * c);
  be->linear_backward (NULL, tb->attn1_qkv.w, b->d8, b->d4, NULL, NULL, rows, c, 3 * c);
  be->layer_norm_backward (t, b->d4, b->g, rows, c, tb->norm1.gamma, tb->norm1.eps, NULL, NULL);
}

void
sc_unet_st_backward (const ScBackend *be, const ScUNetTransformer *st, const float *x, const float *context,
                     int64_t n_ctx, const float *dy, float *dx, int64_t B, int64_t H, int64_t W, float *scratch)
{
  g_return_if_fail (sc_unet_st_backward_supported (be));
  int64_t HW = H * W, rows = B * HW, c = st->c, rc = rows * c;
  Bufs b = carve (st, rows, scratch);

  /* Block inputs: t_0 = proj_in(GN(x)), t_{d+1} = block_d(t_d). The last block's output is not needed. */
  sc_group_norm_forward (be, &st->norm, x, b.h, B, HW, FALSE);
  sc_linear_forward (be, &st->proj_in, b.h, b.toks, rows);
  for (int d = 0; d + 1 < st->depth; d++)
    {
      block_recompute (be, st, &st->blocks[d], b.toks + d * rc, context, n_ctx, B, HW, &b);
      block_finish (be, st, &st->blocks[d], &b, b.toks + (d + 1) * rc, rows);
    }

  /* y = proj_out(t_depth) + x: the residual passes dy straight to dx */
  be->add (dx, dy, dx, rc);
  be->zero (b.g, rc);
  be->linear_backward (NULL, st->proj_out.w, dy, b.g, NULL, NULL, rows, c, c);

  for (int d = st->depth - 1; d >= 0; d--)
    {
      const float *t = b.toks + d * rc;
      block_recompute (be, st, &st->blocks[d], t, context, n_ctx, B, HW, &b);
      block_backward (be, st, &st->blocks[d], t, n_ctx, B, HW, &b);
    }

  /* t_0 = proj_in(GN(x)) */
  be->zero (b.h, rc);
  be->linear_backward (NULL, st->proj_in.w, b.g, b.h, NULL, NULL, rows, c, c);
  be->group_norm_backward (x, b.h, dx, B, HW, c, st->norm.groups, st->norm.gamma, st->norm.beta, st->norm.eps,
                           false, NULL, NULL);
}
