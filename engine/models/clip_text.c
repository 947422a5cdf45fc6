/* CLIP text transformer (../shared/specs/stable-diffusion.md §3): token + position embeddings, pre-LN
 * residual blocks with causal multi-head attention, quick_gelu (SD1) or exact GELU (SD2) MLP, final LN.
 * Both naming styles load into the same layout: q, k, v packed as one [3W, W] linear, so a layer does one
 * GEMM for all three and attention reads them with a row stride of 3W. */
#include "models/clip_text.h"
#include "core/error.h"
#include "nn/layers.h"

#include <math.h>
#include <string.h>

#define CLIP_LN_EPS 1e-5f

typedef struct {
  ScLayerNorm ln1, ln2;
  ScLinear qkv;      /* [3W, W]: row blocks q, k, v */
  ScLinear out_proj; /* [W, W] */
  ScLinear fc1;      /* [M, W] */
  ScLinear fc2;      /* [W, M] */
} ClipLayer;

struct ScClipText {
  ScClipTextConfig cfg;
  float *tok_emb; /* [vocab, W] */
  float *pos_emb; /* [max_positions, W] */
  ClipLayer *layers; /* layers_used */
  ScLayerNorm final_ln;
};

static void
layer_clear (ClipLayer *l)
{
  sc_layer_norm_clear (&l->ln1);
  sc_layer_norm_clear (&l->ln2);
  sc_linear_clear (&l->qkv);
  sc_linear_clear (&l->out_proj);
  sc_linear_clear (&l->fc1);
  sc_linear_clear (&l->fc2);
}

/* HF: separate q/k/v projections, packed here. Order as in the HF state dict: k, v, q, out. */
static gboolean
load_layer_hf (ClipLayer *l, ScWeightSource *src, const char *base, int64_t W, int64_t M, GError **error)
{
  g_autofree char *kn = g_strconcat (base, "self_attn.k_proj", NULL);
  g_autofree char *vn = g_strconcat (base, "self_attn.v_proj", NULL);
  g_autofree char *qn = g_strconcat (base, "self_attn.q_proj", NULL);
  g_autofree char *on = g_strconcat (base, "self_attn.out_proj", NULL);
  g_autofree char *ln1 = g_strconcat (base, "layer_norm1", NULL);
  g_autofree char *fc1 = g_strconcat (base, "mlp.fc1", NULL);
  g_autofree char *fc2 = g_strconcat (base, "mlp.fc2", NULL);
  g_autofree char *ln2 = g_strconcat (base, "layer_norm2", NULL);
  ScLinear q = { 0 }, k = { 0 }, v = { 0 };
  gboolean ok = sc_linear_load (&k, src, kn, W, W, TRUE, error) && sc_linear_load (&v, src, vn, W, W, TRUE, error)
                && sc_linear_load (&q, src, qn, W, W, TRUE, error);
  if (ok)
    {
      l->qkv.in = W;
      l->qkv.out = 3 * W;
      l->qkv.w = sc_alloc_floats ((size_t) (3 * W * W), error);
      l->qkv.b = l->qkv.w ? sc_alloc_floats ((size_t) (3 * W), error) : NULL;
      ok = l->qkv.b != NULL;
    }
  if (ok)
    {
      const ScLinear *parts[3] = { &q, &k, &v };
      for (int i = 0; i < 3; i++)
        {
          memcpy (l->qkv.w + i * W * W, parts[i]->w, sizeof (float) * (size_t) (W * W));
          memcpy (l->qkv.b + i * W, parts[i]->b, sizeof (float) * (size_t) W);
        }
    }
  sc_linear_clear (&q);
  sc_linear_clear (&k);
  sc_linear_clear (&v);
  return ok && sc_linear_load (&l->out_proj, src, on, W, W, TRUE, error)
         && sc_layer_norm_load (&l->ln1, src, ln1, W, CLIP_LN_EPS, error)
         && sc_linear_load (&l->fc1, src, fc1, W, M, TRUE, error)
         && sc_linear_load (&l->fc2, src, fc2, M, W, TRUE, error)
         && sc_layer_norm_load (&l->ln2, src, ln2, W, CLIP_LN_EPS, error);
}

/* OpenCLIP: nn.MultiheadAttention's packed in_proj_weight [3W, W] / in_proj_bias [3W] (q, k, v). */
static gboolean
load_layer_openclip (ClipLayer *l, ScWeightSource *src, const char *base, int64_t W, int64_t M, GError **error)
{
  g_autofree char *ln1 = g_strconcat (base, "ln_1", NULL);
  g_autofree char *ipw = g_strconcat (base, "attn.in_proj_weight", NULL);
  g_autofree char *ipb = g_strconcat (base, "attn.in_proj_bias", NULL);
  g_autofree char *on = g_strconcat (base, "attn.out_proj", NULL);
  g_autofree char *ln2 = g_strconcat (base, "ln_2", NULL);
  g_autofree char *fc1 = g_strconcat (base, "mlp.c_fc", NULL);
  g_autofree char *fc2 = g_strconcat (base, "mlp.c_proj", NULL);
  int64_t wshape[2] = { 3 * W, W }, bshape = 3 * W;
  if (!sc_layer_norm_load (&l->ln1, src, ln1, W, CLIP_LN_EPS, error))
    return FALSE;
  l->qkv.in = W;
  l->qkv.out = 3 * W;
  l->qkv.w = sc_weight_source_get (src, ipw, 2, wshape, SC_INIT_WEIGHT, error);
  if (!l->qkv.w)
    return FALSE;
  l->qkv.b = sc_weight_source_get (src, ipb, 1, &bshape, SC_INIT_BIAS, error);
  return l->qkv.b && sc_linear_load (&l->out_proj, src, on, W, W, TRUE, error)
         && sc_layer_norm_load (&l->ln2, src, ln2, W, CLIP_LN_EPS, error)
         && sc_linear_load (&l->fc1, src, fc1, W, M, TRUE, error)
         && sc_linear_load (&l->fc2, src, fc2, M, W, TRUE, error);
}

static gboolean
load_layer (ClipLayer *l, const ScClipTextConfig *cfg, ScWeightSource *src, const char *prefix, int i,
            GError **error)
{
  memset (l, 0, sizeof *l);
  gboolean hf = cfg->style == SC_TEXT_CLIP_HF;
  g_autofree char *base = g_strdup_printf (hf ? "%sencoder.layers.%d." : "%stransformer.resblocks.%d.", prefix, i);
  gboolean ok = hf ? load_layer_hf (l, src, base, cfg->width, cfg->mlp_dim, error)
                   : load_layer_openclip (l, src, base, cfg->width, cfg->mlp_dim, error);
  if (!ok)
    layer_clear (l);
  return ok;
}

static gboolean
config_check (const ScClipTextConfig *cfg, GError **error)
{
  if (cfg->width < 1 || cfg->heads < 1 || cfg->width % cfg->heads != 0 || cfg->layers_used < 1
      || cfg->layers_used > cfg->layers || cfg->vocab_size < 1 || cfg->max_positions < 1 || cfg->mlp_dim < 1)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "CLIP text configuration out of range (width %d, heads %d, layers %d of %d)", cfg->width,
                   cfg->heads, cfg->layers_used, cfg->layers);
      return FALSE;
    }
  return TRUE;
}

ScClipText *
sc_clip_text_new (const ScClipTextConfig *cfg, ScWeightSource *src, const char *prefix, GError **error)
{
  g_return_val_if_fail (cfg != NULL && src != NULL, NULL);
  if (!config_check (cfg, error))
    return NULL;
  prefix = prefix ? prefix : "";
  gboolean hf = cfg->style == SC_TEXT_CLIP_HF;
  ScClipText *te = g_new0 (ScClipText, 1);
  te->cfg = *cfg;
  te->layers = g_new0 (ClipLayer, cfg->layers_used);
  int64_t W = cfg->width;
  int64_t tok_shape[2] = { cfg->vocab_size, W }, pos_shape[2] = { cfg->max_positions, W };
  g_autofree char *tok = g_strconcat (prefix, hf ? "embeddings.token_embedding.weight" : "token_embedding.weight",
                                      NULL);
  g_autofree char *pos = g_strconcat (prefix, hf ? "embeddings.position_embedding.weight" : "positional_embedding",
                                      NULL);
  g_autofree char *fin = g_strconcat (prefix, hf ? "final_layer_norm" : "ln_final", NULL);
  gboolean ok = (te->tok_emb = sc_weight_source_get (src, tok, 2, tok_shape, SC_INIT_EMBEDDING, error)) != NULL
                && (te->pos_emb = sc_weight_source_get (src, pos, 2, pos_shape, SC_INIT_EMBEDDING, error)) != NULL;
  for (int i = 0; ok && i < cfg->layers_used; i++)
    ok = load_layer (&te->layers[i], cfg, src, prefix, i, error);
  ok = ok && sc_layer_norm_load (&te->final_ln, src, fin, W, CLIP_LN_EPS, error);
  if (!ok)
    {
      sc_clip_text_free (te);
      return NULL;
    }
  return te;
}

void
sc_clip_text_free (ScClipText *te)
{
  if (!te)
    return;
  sc_free_floats (te->tok_emb);
  sc_free_floats (te->pos_emb);
  for (int i = 0; i < te->cfg.layers_used; i++)
    layer_clear (&te->layers[i]);
  g_free (te->layers);
  sc_layer_norm_clear (&te->final_ln);
  g_free (te);
}

int64_t
sc_clip_text_config_param_count (const ScClipTextConfig *cfg)
{
  int64_t W = cfg->width, M = cfg->mlp_dim;
  int64_t per_layer = 2 * 2 * W            /* ln1, ln2 */
                      + 4 * (W * W + W)    /* q, k, v, out */
                      + (W * M + M) + (M * W + W);
  return ((int64_t) cfg->vocab_size + cfg->max_positions) * W + cfg->layers_used * per_layer + 2 * W;
}

int64_t
sc_clip_text_param_count (const ScClipText *te)
{
  const ScClipTextConfig *cfg = &te->cfg;
  int64_t n = ((int64_t) cfg->vocab_size + cfg->max_positions) * cfg->width + 2 * te->final_ln.c;
  for (int i = 0; i < cfg->layers_used; i++)
    {
      const ClipLayer *l = &te->layers[i];
      const ScLinear *lin[4] = { &l->qkv, &l->out_proj, &l->fc1, &l->fc2 };
      n += 2 * l->ln1.c + 2 * l->ln2.c;
      for (int j = 0; j < 4; j++)
        n += lin[j]->in * lin[j]->out + lin[j]->out;
    }
  return n;
}

gboolean
sc_clip_text_declare_unused (const ScClipTextConfig *cfg, ScWeightSource *src, const char *prefix,
                             GError **error)
{
  if (!config_check (cfg, error))
    return FALSE;
  prefix = prefix ? prefix : "";
  for (int i = cfg->layers_used; i < cfg->layers; i++)
    {
      ClipLayer l;
      if (!load_layer (&l, cfg, src, prefix, i, error))
        return FALSE;
      layer_clear (&l);
    }
  if (cfg->style != SC_TEXT_OPENCLIP)
    return TRUE;
  /* text_projection is applied as x @ P, so stored [in, out] = [W, W] for SD2's ViT-H (embed_dim = width). */
  g_autofree char *proj = g_strconcat (prefix, "text_projection", NULL);
  g_autofree char *scale = g_strconcat (prefix, "logit_scale", NULL);
  int64_t pshape[2] = { cfg->width, cfg->width }, none[1] = { 0 };
  float *p = sc_weight_source_get (src, proj, 2, pshape, SC_INIT_WEIGHT, error);
  if (!p)
    return FALSE;
  sc_free_floats (p);
  p = sc_weight_source_get (src, scale, 0, none, SC_INIT_ZERO, error);
  if (!p)
    return FALSE;
  sc_free_floats (p);
  return TRUE;
}

/* ---- Forward ---------------------------------------------------------------------------------------- */

gboolean
sc_clip_text_forward (ScClipText *te, const ScBackend *be, const int32_t *ids, int64_t B, int64_t n,
                      float *out, GError **error)
{
  g_return_val_if_fail (te != NULL && be != NULL && ids != NULL && out != NULL, FALSE);
  const ScClipTextConfig *cfg = &te->cfg;
  if (B < 1 || n < 1 || n > cfg->max_positions)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "CLIP text: %" G_GINT64_FORMAT " sequences of %" G_GINT64_FORMAT
                   " tokens (need at least 1, at most %d tokens)", B, n, cfg->max_positions);
      return FALSE;
    }
  for (int64_t i = 0; i < B * n; i++)
    if (ids[i] < 0 || ids[i] >= cfg->vocab_size)
      {
        g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                     "CLIP text: token id %d at sequence %" G_GINT64_FORMAT ", position %" G_GINT64_FORMAT
                     " is outside the vocabulary (0 … %d)", (int) ids[i], i / n, i % n, cfg->vocab_size - 1);
        return FALSE;
      }

  int64_t W = cfg->width, M = cfg->mlp_dim, rows = B * n, hd = W / cfg->heads;
  int64_t wide = MAX (3 * W, M);
  /* x: the residual stream [rows, W]; h: normalised / attention output [rows, W];
   * big: q ‖ k ‖ v interleaved per token [rows, 3W], then the MLP hidden [rows, M]. */
  float *x = be->alloc ((size_t) (rows * W));
  float *h = be->alloc ((size_t) (rows * W));
  float *big = be->alloc ((size_t) (rows * wide));
  gboolean ok = x && h && big;
  if (!ok)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "CLIP text: out of memory for %" G_GINT64_FORMAT
                   " × %" G_GINT64_FORMAT " tokens", B, n);
      goto out;
    }

  /* Embeddings gathered on the host (a lookup, no math), then uploaded. */
  {
    g_autofree float *emb = g_new (float, rows * W);
    for (int64_t i = 0; i < rows; i++)
      {
        const float *t = te->tok_emb + (int64_t) ids[i] * W, *p = te->pos_emb + (i % n) * W;
        for (int64_t c = 0; c < W; c++)
          emb[i * W + c] = t[c] + p[c];
      }
    be->upload (x, emb, (size_t) (rows * W));
  }

  ScUnaryOp act = cfg->quick_gelu ? SC_UNARY_QUICK_GELU : SC_UNARY_GELU;
  float scale = 1.0f / sqrtf ((float) hd);
  for (int i = 0; i < cfg->layers_used; i++)
    {
      const ClipLayer *l = &te->layers[i];
      /* x += out_proj(causal_attention(ln1(x))) */
      sc_layer_norm_forward (be, &l->ln1, x, h, rows);
      sc_linear_forward (be, &l->qkv, h, big, rows); /* [rows, 3W] */
      be->attention (big, big + W, big + 2 * W, h, B, n, n, cfg->heads, hd, 3 * W, 3 * W, W, scale, true);
      sc_linear_forward (be, &l->out_proj, h, big, rows);
      be->add (x, big, x, rows * W);
      /* x += fc2(act(fc1(ln2(x)))) */
      sc_layer_norm_forward (be, &l->ln2, x, h, rows);
      sc_linear_forward (be, &l->fc1, h, big, rows); /* [rows, M] */
      be->unary (act, big, big, rows * M);
      sc_linear_forward (be, &l->fc2, big, h, rows);
      be->add (x, h, x, rows * W);
    }
  sc_layer_norm_forward (be, &te->final_ln, x, h, rows);
  be->download (out, h, (size_t) (rows * W));

out:
  if (x)
    be->free (x);
  if (h)
    be->free (h);
  if (big)
    be->free (big);
  return ok;
}
