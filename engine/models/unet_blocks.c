#include "models/unet_blocks.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

/* ---- loading (or counting) ---------------------------------------------------------------------- */

gboolean
sc_unet_load_linear (ScUNetLoader *ld, ScLinear *l, const char *name, int64_t in, int64_t out, gboolean has_bias,
                     GError **error)
{
  ld->n_params += in * out + (has_bias ? out : 0);
  if (!ld->src)
    {
      memset (l, 0, sizeof *l);
      l->in = in;
      l->out = out;
      return TRUE;
    }
  return sc_linear_load (l, ld->src, name, in, out, has_bias, error);
}

gboolean
sc_unet_load_conv1x1 (ScUNetLoader *ld, ScLinear *l, const char *name, int64_t in, int64_t out, GError **error)
{
  memset (l, 0, sizeof *l);
  l->in = in;
  l->out = out;
  ld->n_params += in * out + out;
  if (!ld->src)
    return TRUE;
  g_autofree char *wname = g_strconcat (name, ".weight", NULL);
  g_autofree char *bname = g_strconcat (name, ".bias", NULL);
  int64_t shape[4] = { out, in, 1, 1 };
  /* [out, in, 1, 1] is laid out exactly like a linear weight [out, in]. */
  l->w = sc_weight_source_get (ld->src, wname, 4, shape, SC_INIT_WEIGHT, error);
  if (!l->w)
    return FALSE;
  l->b = sc_weight_source_get (ld->src, bname, 1, &out, SC_INIT_BIAS, error);
  if (!l->b)
    {
      sc_linear_clear (l);
      return FALSE;
    }
  return TRUE;
}

gboolean
sc_unet_load_conv (ScUNetLoader *ld, ScConv2d *c, const char *name, int64_t in_c, int64_t out_c, int k,
                   int stride, int pad, GError **error)
{
  ld->n_params += out_c * in_c * k * k + out_c;
  if (!ld->src)
    {
      sc_conv2d_init_shape (c, in_c, out_c, k, stride, pad);
      return TRUE;
    }
  return sc_conv2d_load (c, ld->src, name, in_c, out_c, k, stride, pad, error);
}

gboolean
sc_unet_load_group_norm (ScUNetLoader *ld, ScGroupNorm *n, const char *name, int64_t c, int groups, float eps,
                         GError **error)
{
  if (groups <= 0 || c % groups != 0)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "%s: %" G_GINT64_FORMAT " channels do not split into %d groups", name, c, groups);
      return FALSE;
    }
  ld->n_params += 2 * c;
  if (!ld->src)
    {
      memset (n, 0, sizeof *n);
      n->c = c;
      n->groups = groups;
      n->eps = eps;
      return TRUE;
    }
  return sc_group_norm_load (n, ld->src, name, c, groups, eps, error);
}

static gboolean
load_layer_norm (ScUNetLoader *ld, ScLayerNorm *n, const char *name, int64_t c, GError **error)
{
  ld->n_params += 2 * c;
  if (!ld->src)
    {
      memset (n, 0, sizeof *n);
      n->c = c;
      n->eps = 1e-5f;
      return TRUE;
    }
  return sc_layer_norm_load (n, ld->src, name, c, 1e-5f, error);
}

static char *
child (const char *prefix, const char *leaf)
{
  return g_strconcat (prefix, ".", leaf, NULL);
}

/* ---- ResBlock ----------------------------------------------------------------------------------- */

gboolean
sc_unet_res_load (ScUNetResBlock *rb, ScUNetLoader *ld, const char *prefix, int64_t in_c, int64_t out_c,
                  int64_t emb_dim, int groups, GError **error)
{
  memset (rb, 0, sizeof *rb);
  rb->in_c = in_c;
  rb->out_c = out_c;
  rb->has_skip = in_c != out_c;
  g_autofree char *n_in_norm = child (prefix, "in_layers.0");
  g_autofree char *n_in_conv = child (prefix, "in_layers.2");
  g_autofree char *n_emb = child (prefix, "emb_layers.1");
  g_autofree char *n_out_norm = child (prefix, "out_layers.0");
  g_autofree char *n_out_conv = child (prefix, "out_layers.3");
  g_autofree char *n_skip = child (prefix, "skip_connection");
  gboolean ok = sc_unet_load_group_norm (ld, &rb->in_norm, n_in_norm, in_c, groups, 1e-5f, error)
                && sc_unet_load_conv (ld, &rb->in_conv, n_in_conv, in_c, out_c, 3, 1, 1, error)
                && sc_unet_load_linear (ld, &rb->emb_proj, n_emb, emb_dim, out_c, TRUE, error)
                && sc_unet_load_group_norm (ld, &rb->out_norm, n_out_norm, out_c, groups, 1e-5f, error)
                && sc_unet_load_conv (ld, &rb->out_conv, n_out_conv, out_c, out_c, 3, 1, 1, error)
                && (!rb->has_skip || sc_unet_load_conv1x1 (ld, &rb->skip, n_skip, in_c, out_c, error));
  if (!ok)
    sc_unet_res_clear (rb);
  return ok;
}

void
sc_unet_res_clear (ScUNetResBlock *rb)
{
  sc_group_norm_clear (&rb->in_norm);
  sc_conv2d_clear (&rb->in_conv);
  sc_linear_clear (&rb->emb_proj);
  sc_group_norm_clear (&rb->out_norm);
  sc_conv2d_clear (&rb->out_conv);
  sc_linear_clear (&rb->skip);
}

void
sc_unet_res_need (const ScUNetResBlock *rb, int64_t B, int64_t HW, ScUNetNeed *need)
{
  int64_t rows = B * HW;
  need->s1 = MAX (need->s1, rows * MAX (rb->in_c, rb->out_c));
  need->s2 = MAX (need->s2, rows * rb->out_c);
  need->embp = MAX (need->embp, B * rb->out_c);
}

void
sc_unet_res_forward (const ScBackend *be, const ScUNetResBlock *rb, const float *x, float *y, int64_t B,
                     int64_t H, int64_t W, const float *emb_silu, const ScUNetScratch *s)
{
  int64_t HW = H * W, rows = B * HW;
  /* in_layers: s2[B, H, W, out_c] = conv3×3(SiLU(GN(x))) */
  sc_group_norm_forward (be, &rb->in_norm, x, s->s1, B, HW, TRUE);
  sc_conv2d_forward (be, &rb->in_conv, s->s1, B, H, W, s->s2);
  /* emb_layers: the time embedding's projection [B, out_c], broadcast over H, W */
  sc_linear_forward (be, &rb->emb_proj, emb_silu, s->embp, B);
  be->add_bias_per_batch (s->s2, s->embp, B, HW, rb->out_c);
  /* out_layers: y = conv3×3(SiLU(GN(s2))); dropout is the identity at inference */
  sc_group_norm_forward (be, &rb->out_norm, s->s2, s->s2, B, HW, TRUE);
  sc_conv2d_forward (be, &rb->out_conv, s->s2, B, H, W, y);
  /* y += skip(x) */
  if (rb->has_skip)
    {
      sc_linear_forward (be, &rb->skip, x, s->s1, rows);
      be->add (y, s->s1, y, rows * rb->out_c);
    }
  else
    be->add (y, x, y, rows * rb->out_c);
}

/* ---- SpatialTransformer ------------------------------------------------------------------------- */

/* Stacks bias-free linears that share an input row-wise into one weight [sum(out), in], so one GEMM
 * computes them all (q/k/v of self-attention, k/v of cross-attention). The parts stay the caller's. */
static gboolean
fuse_linears (ScUNetLoader *ld, ScLinear *fused, ScLinear *parts, int n_parts, GError **error)
{
  memset (fused, 0, sizeof *fused);
  fused->in = parts[0].in;
  for (int i = 0; i < n_parts; i++)
    fused->out += parts[i].out;
  if (!ld->src)
    return TRUE;
  fused->w = sc_alloc_floats ((size_t) (fused->out * fused->in), error);
  if (!fused->w)
    return FALSE;
  float *dst = fused->w;
  for (int i = 0; i < n_parts; i++)
    {
      memcpy (dst, parts[i].w, (size_t) (parts[i].out * parts[i].in) * sizeof (float));
      dst += parts[i].out * parts[i].in;
    }
  return TRUE;
}

static gboolean
transformer_block_load (ScUNetTransformerBlock *tb, ScUNetLoader *ld, const char *prefix, int64_t c,
                        int64_t context_dim, GError **error)
{
  memset (tb, 0, sizeof *tb);
  g_autofree char *n_norm1 = child (prefix, "norm1");
  g_autofree char *n_norm2 = child (prefix, "norm2");
  g_autofree char *n_norm3 = child (prefix, "norm3");
  g_autofree char *n_q1 = child (prefix, "attn1.to_q");
  g_autofree char *n_k1 = child (prefix, "attn1.to_k");
  g_autofree char *n_v1 = child (prefix, "attn1.to_v");
  g_autofree char *n_o1 = child (prefix, "attn1.to_out.0");
  g_autofree char *n_q2 = child (prefix, "attn2.to_q");
  g_autofree char *n_k2 = child (prefix, "attn2.to_k");
  g_autofree char *n_v2 = child (prefix, "attn2.to_v");
  g_autofree char *n_o2 = child (prefix, "attn2.to_out.0");
  g_autofree char *n_ff0 = child (prefix, "ff.net.0.proj");
  g_autofree char *n_ff2 = child (prefix, "ff.net.2");
  ScLinear qkv[3] = { 0 }, kv[2] = { 0 };

  /* Module order, as PyTorch's state_dict lists them: attn1, ff, attn2, norm1..3. */
  gboolean ok = sc_unet_load_linear (ld, &qkv[0], n_q1, c, c, FALSE, error)
                && sc_unet_load_linear (ld, &qkv[1], n_k1, c, c, FALSE, error)
                && sc_unet_load_linear (ld, &qkv[2], n_v1, c, c, FALSE, error)
                && sc_unet_load_linear (ld, &tb->attn1_out, n_o1, c, c, TRUE, error)
                && fuse_linears (ld, &tb->attn1_qkv, qkv, 3, error)
                && sc_unet_load_linear (ld, &tb->ff_in, n_ff0, c, 8 * c, TRUE, error)
                && sc_unet_load_linear (ld, &tb->ff_out, n_ff2, 4 * c, c, TRUE, error)
                && sc_unet_load_linear (ld, &tb->attn2_q, n_q2, c, c, FALSE, error)
                && sc_unet_load_linear (ld, &kv[0], n_k2, context_dim, c, FALSE, error)
                && sc_unet_load_linear (ld, &kv[1], n_v2, context_dim, c, FALSE, error)
                && sc_unet_load_linear (ld, &tb->attn2_out, n_o2, c, c, TRUE, error)
                && fuse_linears (ld, &tb->attn2_kv, kv, 2, error)
                && load_layer_norm (ld, &tb->norm1, n_norm1, c, error)
                && load_layer_norm (ld, &tb->norm2, n_norm2, c, error)
                && load_layer_norm (ld, &tb->norm3, n_norm3, c, error);
  for (int i = 0; i < 3; i++)
    sc_linear_clear (&qkv[i]);
  for (int i = 0; i < 2; i++)
    sc_linear_clear (&kv[i]);
  return ok;
}

static void
transformer_block_clear (ScUNetTransformerBlock *tb)
{
  sc_layer_norm_clear (&tb->norm1);
  sc_layer_norm_clear (&tb->norm2);
  sc_layer_norm_clear (&tb->norm3);
  sc_linear_clear (&tb->attn1_qkv);
  sc_linear_clear (&tb->attn1_out);
  sc_linear_clear (&tb->attn2_q);
  sc_linear_clear (&tb->attn2_kv);
  sc_linear_clear (&tb->attn2_out);
  sc_linear_clear (&tb->ff_in);
  sc_linear_clear (&tb->ff_out);
}

gboolean
sc_unet_st_load (ScUNetTransformer *st, ScUNetLoader *ld, const char *prefix, int64_t c, int heads,
                 int64_t head_dim, int64_t context_dim, gboolean linear_proj, int depth, int groups,
                 GError **error)
{
  memset (st, 0, sizeof *st);
  st->c = c;
  st->context_dim = context_dim;
  st->heads = heads;
  st->head_dim = head_dim;
  st->depth = depth;
  st->blocks = g_new0 (ScUNetTransformerBlock, depth);
  g_autofree char *n_norm = child (prefix, "norm");
  g_autofree char *n_in = child (prefix, "proj_in");
  g_autofree char *n_out = child (prefix, "proj_out");

  /* SD1: 1×1 convs [C, C, 1, 1]; SD2: Linear [C, C]. Per token they compute the same thing. */
  gboolean ok = sc_unet_load_group_norm (ld, &st->norm, n_norm, c, groups, 1e-6f, error)
                && (linear_proj ? sc_unet_load_linear (ld, &st->proj_in, n_in, c, c, TRUE, error)
                                : sc_unet_load_conv1x1 (ld, &st->proj_in, n_in, c, c, error));
  for (int d = 0; ok && d < depth; d++)
    {
      g_autofree char *n_block = g_strdup_printf ("%s.transformer_blocks.%d", prefix, d);
      ok = transformer_block_load (&st->blocks[d], ld, n_block, c, context_dim, error);
    }
  ok = ok
       && (linear_proj ? sc_unet_load_linear (ld, &st->proj_out, n_out, c, c, TRUE, error)
                       : sc_unet_load_conv1x1 (ld, &st->proj_out, n_out, c, c, error));
  if (!ok)
    sc_unet_st_clear (st);
  return ok;
}

void
sc_unet_st_clear (ScUNetTransformer *st)
{
  sc_group_norm_clear (&st->norm);
  sc_linear_clear (&st->proj_in);
  sc_linear_clear (&st->proj_out);
  for (int d = 0; st->blocks && d < st->depth; d++)
    transformer_block_clear (&st->blocks[d]);
  g_clear_pointer (&st->blocks, g_free);
}

void
sc_unet_st_need (const ScUNetTransformer *st, int64_t B, int64_t HW, int64_t n_ctx, ScUNetNeed *need)
{
  int64_t rows = B * HW, c = st->c;
  need->s1 = MAX (need->s1, rows * c);
  need->s2 = MAX (need->s2, rows * c);
  need->s3 = MAX (need->s3, rows * 8 * c);
  need->s4 = MAX (need->s4, rows * 4 * c);
  need->kv = MAX (need->kv, B * n_ctx * 2 * c);
}

void
sc_unet_st_forward (const ScBackend *be, const ScUNetTransformer *st, const float *x, float *y, int64_t B,
                    int64_t H, int64_t W, const float *context, int64_t n_ctx, const ScUNetScratch *s)
{
  int64_t HW = H * W, rows = B * HW, c = st->c;
  float scale = (float) (1.0 / sqrt ((double) st->head_dim));
  float *tok = s->s2; /* the running token stream [B, HW, C] */

  /* tok = proj_in(GN(x)): NHWC pixels are already tokens [B, HW, C] */
  sc_group_norm_forward (be, &st->norm, x, s->s1, B, HW, FALSE);
  sc_linear_forward (be, &st->proj_in, s->s1, tok, rows);

  for (int d = 0; d < st->depth; d++)
    {
      const ScUNetTransformerBlock *tb = &st->blocks[d];

      /* tok += attn1(LN1(tok)): q, k, v from one GEMM into s3 [rows, 3C] */
      sc_layer_norm_forward (be, &tb->norm1, tok, s->s1, rows);
      sc_linear_forward (be, &tb->attn1_qkv, s->s1, s->s3, rows);
      be->attention (s->s3, s->s3 + c, s->s3 + 2 * c, s->s1, B, HW, HW, st->heads, st->head_dim, 3 * c, 3 * c, c,
                     scale, false);
      sc_linear_forward (be, &tb->attn1_out, s->s1, s->s4, rows);
      be->add (tok, s->s4, tok, rows * c);

      /* tok += attn2(LN2(tok), context): k, v [B, n_ctx, 2C] from the text states */
      sc_layer_norm_forward (be, &tb->norm2, tok, s->s1, rows);
      sc_linear_forward (be, &tb->attn2_q, s->s1, s->s3, rows);
      sc_linear_forward (be, &tb->attn2_kv, context, s->kv, B * n_ctx);
      be->attention (s->s3, s->kv, s->kv + c, s->s1, B, HW, n_ctx, st->heads, st->head_dim, c, 2 * c, c, scale,
                     false);
      sc_linear_forward (be, &tb->attn2_out, s->s1, s->s4, rows);
      be->add (tok, s->s4, tok, rows * c);

      /* tok += ff_out(GEGLU(ff_in(LN3(tok)))): s3 [rows, 8C] → s4 [rows, 4C] → s1 [rows, C] */
      sc_layer_norm_forward (be, &tb->norm3, tok, s->s1, rows);
      sc_linear_forward (be, &tb->ff_in, s->s1, s->s3, rows);
      be->geglu (s->s3, s->s4, rows, 4 * c);
      sc_linear_forward (be, &tb->ff_out, s->s4, s->s1, rows);
      be->add (tok, s->s1, tok, rows * c);
    }

  /* y = proj_out(tok) + x */
  sc_linear_forward (be, &st->proj_out, tok, s->s1, rows);
  be->add (s->s1, x, y, rows * c);
}
