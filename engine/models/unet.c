/* The U-Net: topology from the config, forward over planned backend buffers.
 * Block list and skip order: ../shared/specs/stable-diffusion.md §1.3, §1.4. */
#include "models/unet.h"
#include "models/unet_blocks.h"
#include "models/unet_train.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

typedef enum {
  CONV_NONE,
  CONV_IN,   /* input_blocks.0.0: conv_in */
  CONV_DOWN, /* input_blocks.N.0.op: 3×3, stride 2, pad 1 */
  CONV_UP,   /* output_blocks.N.{1,2}.conv after nearest upsampling */
} ConvKind;

/* One LDM input or output block: [ResBlock [, SpatialTransformer]] [, up/down conv], or conv_in. */
typedef struct {
  gboolean has_res, has_st;
  ScUNetResBlock res;
  ScUNetTransformer st;
  ConvKind conv_kind;
  ScConv2d conv;
  int64_t out_c;
} Block;

/* Buffers for one (backend, B, H, W, n_ctx); all in backend memory except `host`. */
typedef struct {
  const ScBackend *be;
  int64_t B, H, W, n_ctx;
  float *x, *y, *ctx;      /* input latent, output, context */
  float *temb, *e1, *emb;  /* [B, model_channels], [B, emb_dim] ×2 */
  float *act0, *act1;      /* running tensor and the cat / block outputs (ping-pong) */
  ScUNetScratch s;
  int n_skip;
  float **skip;            /* [n_skip] input block outputs */
  int64_t *skip_h, *skip_w;
  float *host;             /* odd-size upsampling goes through the host */
  size_t host_n;
} Work;

struct ScUNet {
  ScUNetConfig cfg;
  int64_t n_params;
  int64_t emb_dim;
  ScLinear time_embed0, time_embed2;
  int n_in, n_out;
  Block *in, *out; /* in[0] is conv_in */
  int64_t *skip_c; /* channels of input block i's output */
  ScUNetResBlock mid_res0, mid_res1;
  ScUNetTransformer mid_st;
  ScGroupNorm out_norm;
  ScConv2d out_conv;
  Work work;
};

/* ---- building ------------------------------------------------------------------------------------ */

static gboolean
check_config (const ScUNetConfig *cfg, GError **error)
{
  const char *why = NULL;
  if (cfg->n_levels < 1 || cfg->n_levels > SC_UNET_MAX_LEVELS)
    why = "n_levels must be 1..4";
  else if (cfg->in_channels < 1 || cfg->out_channels < 1 || cfg->model_channels < 2 || cfg->model_channels % 2)
    why = "channel counts must be positive (model_channels even)";
  else if (cfg->num_res_blocks < 1 || cfg->transformer_depth < 1 || cfg->context_dim < 1 || cfg->norm_groups < 1)
    why = "num_res_blocks, transformer_depth, context_dim and norm_groups must be positive";
  else if (cfg->num_heads <= 0 && cfg->head_dim <= 0)
    why = "neither num_heads nor head_dim is set";
  for (int l = 0; !why && l < cfg->n_levels; l++)
    {
      int c = cfg->model_channels * cfg->channel_mult[l], heads = 0, head_dim = 0;
      sc_unet_attention_heads (cfg, c, &heads, &head_dim);
      /* Levels with attention, and the middle block at the deepest level, split C into heads. */
      if (cfg->channel_mult[l] < 1)
        why = "channel_mult must be positive";
      else if ((cfg->attention[l] || l == cfg->n_levels - 1) && (heads < 1 || head_dim < 1 || heads * head_dim != c))
        why = "a transformer's width does not split into attention heads";
    }
  if (why)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "Invalid U-Net configuration: %s", why);
      return FALSE;
    }
  return TRUE;
}

static gboolean
load_st (ScUNet *u, ScUNetLoader *ld, ScUNetTransformer *st, const char *name, int64_t c, GError **error)
{
  int heads = 0, head_dim = 0;
  sc_unet_attention_heads (&u->cfg, (int) c, &heads, &head_dim);
  if (heads < 1 || head_dim < 1 || (int64_t) heads * head_dim != c)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "%s: %" G_GINT64_FORMAT " channels do not split into attention heads (%d × %d)", name, c, heads,
                   head_dim);
      return FALSE;
    }
  return sc_unet_st_load (st, ld, name, c, heads, head_dim, u->cfg.context_dim, u->cfg.linear_proj,
                          u->cfg.transformer_depth, u->cfg.norm_groups, error);
}

/* Requests every parameter in LDM module order (or only counts them when ld->src is NULL). */
static gboolean
build (ScUNet *u, ScUNetLoader *ld, const char *prefix, GError **error)
{
  const ScUNetConfig *cfg = &u->cfg;
  const int groups = cfg->norm_groups, nrb = cfg->num_res_blocks, last = cfg->n_levels - 1;
  const int64_t mc = cfg->model_channels;
  u->emb_dim = 4 * mc;
  u->n_in = 1 + cfg->n_levels * nrb + last;
  u->n_out = cfg->n_levels * (nrb + 1);
  u->in = g_new0 (Block, u->n_in);
  u->out = g_new0 (Block, u->n_out);
  u->skip_c = g_new0 (int64_t, u->n_in);
  g_autofree char *name = NULL;
#define NAME(...) (g_free (name), name = g_strdup_printf (__VA_ARGS__))

  /* time_embed: Linear(mc → 4mc), SiLU, Linear(4mc → 4mc) */
  if (!sc_unet_load_linear (ld, &u->time_embed0, NAME ("%stime_embed.0", prefix), mc, u->emb_dim, TRUE, error)
      || !sc_unet_load_linear (ld, &u->time_embed2, NAME ("%stime_embed.2", prefix), u->emb_dim, u->emb_dim, TRUE,
                               error))
    return FALSE;

  /* Encoder: conv_in, then per level num_res_blocks × (Res [+ ST]) and a downsample but after the last. */
  int64_t ch = mc;
  Block *b = &u->in[0];
  b->conv_kind = CONV_IN;
  b->out_c = u->skip_c[0] = ch;
  if (!sc_unet_load_conv (ld, &b->conv, NAME ("%sinput_blocks.0.0", prefix), cfg->in_channels, ch, 3, 1, 1, error))
    return FALSE;
  int i = 1;
  for (int l = 0; l < cfg->n_levels; l++)
    {
      for (int r = 0; r < nrb; r++, i++)
        {
          b = &u->in[i];
          int64_t out_c = mc * cfg->channel_mult[l];
          b->has_res = TRUE;
          if (!sc_unet_res_load (&b->res, ld, NAME ("%sinput_blocks.%d.0", prefix, i), ch, out_c, u->emb_dim,
                                 groups, error))
            return FALSE;
          ch = out_c;
          if (cfg->attention[l])
            {
              b->has_st = TRUE;
              if (!load_st (u, ld, &b->st, NAME ("%sinput_blocks.%d.1", prefix, i), ch, error))
                return FALSE;
            }
          b->out_c = u->skip_c[i] = ch;
        }
      if (l != last)
        {
          b = &u->in[i];
          b->conv_kind = CONV_DOWN;
          b->out_c = u->skip_c[i] = ch;
          if (!sc_unet_load_conv (ld, &b->conv, NAME ("%sinput_blocks.%d.0.op", prefix, i), ch, ch, 3, 2, 1, error))
            return FALSE;
          i++;
        }
    }

  /* Middle: Res, ST, Res at the deepest width. */
  if (!sc_unet_res_load (&u->mid_res0, ld, NAME ("%smiddle_block.0", prefix), ch, ch, u->emb_dim, groups, error)
      || !load_st (u, ld, &u->mid_st, NAME ("%smiddle_block.1", prefix), ch, error)
      || !sc_unet_res_load (&u->mid_res1, ld, NAME ("%smiddle_block.2", prefix), ch, ch, u->emb_dim, groups, error))
    return FALSE;

  /* Decoder: per level (deepest first) num_res_blocks + 1 × (cat skip, Res [+ ST]) and an upsample at the
   * end of every level but the shallowest. */
  int j = 0;
  for (int l = last; l >= 0; l--)
    for (int r = 0; r <= nrb; r++, j++)
      {
        b = &u->out[j];
        int64_t skip_c = u->skip_c[--i];
        int64_t out_c = mc * cfg->channel_mult[l];
        int k = 1;
        b->has_res = TRUE;
        if (!sc_unet_res_load (&b->res, ld, NAME ("%soutput_blocks.%d.0", prefix, j), ch + skip_c, out_c,
                               u->emb_dim, groups, error))
          return FALSE;
        ch = out_c;
        if (cfg->attention[l])
          {
            b->has_st = TRUE;
            if (!load_st (u, ld, &b->st, NAME ("%soutput_blocks.%d.%d", prefix, j, k++), ch, error))
              return FALSE;
          }
        if (l > 0 && r == nrb)
          {
            b->conv_kind = CONV_UP;
            if (!sc_unet_load_conv (ld, &b->conv, NAME ("%soutput_blocks.%d.%d.conv", prefix, j, k), ch, ch, 3, 1,
                                    1, error))
              return FALSE;
          }
        b->out_c = ch;
      }

  /* Head: GN, SiLU, conv3×3 → out_channels. */
  if (!sc_unet_load_group_norm (ld, &u->out_norm, NAME ("%sout.0", prefix), ch, groups, 1e-5f, error)
      || !sc_unet_load_conv (ld, &u->out_conv, NAME ("%sout.2", prefix), ch, cfg->out_channels, 3, 1, 1, error))
    return FALSE;
#undef NAME
  return TRUE;
}

static void work_clear (Work *w);

static void
block_clear (Block *b)
{
  if (b->has_res)
    sc_unet_res_clear (&b->res);
  if (b->has_st)
    sc_unet_st_clear (&b->st);
  sc_conv2d_clear (&b->conv);
}

/* Frees the parameters and buffers; u itself stays. Safe on a partly built model. */
static void
unet_clear (ScUNet *u)
{
  work_clear (&u->work);
  sc_linear_clear (&u->time_embed0);
  sc_linear_clear (&u->time_embed2);
  for (int i = 0; u->in && i < u->n_in; i++)
    block_clear (&u->in[i]);
  for (int j = 0; u->out && j < u->n_out; j++)
    block_clear (&u->out[j]);
  g_clear_pointer (&u->in, g_free);
  g_clear_pointer (&u->out, g_free);
  g_clear_pointer (&u->skip_c, g_free);
  sc_unet_res_clear (&u->mid_res0);
  sc_unet_st_clear (&u->mid_st);
  sc_unet_res_clear (&u->mid_res1);
  sc_group_norm_clear (&u->out_norm);
  sc_conv2d_clear (&u->out_conv);
}

ScUNet *
sc_unet_new (const ScUNetConfig *cfg, ScWeightSource *src, const char *prefix, GError **error)
{
  g_return_val_if_fail (cfg != NULL && src != NULL, NULL);
  if (!check_config (cfg, error))
    return NULL;
  ScUNet *u = g_new0 (ScUNet, 1);
  u->cfg = *cfg;
  ScUNetLoader ld = { .src = src };
  if (!build (u, &ld, prefix ? prefix : "", error))
    {
      sc_unet_free (u);
      return NULL;
    }
  u->n_params = ld.n_params;
  return u;
}

void
sc_unet_free (ScUNet *unet)
{
  if (!unet)
    return;
  unet_clear (unet);
  g_free (unet);
}

const ScUNetConfig *
sc_unet_config (const ScUNet *unet)
{
  return &unet->cfg;
}

int64_t
sc_unet_param_count (const ScUNet *unet)
{
  return unet->n_params;
}

int64_t
sc_unet_config_param_count (const ScUNetConfig *cfg)
{
  if (!check_config (cfg, NULL))
    return -1;
  ScUNet u = { .cfg = *cfg };
  ScUNetLoader ld = { .src = NULL };
  gboolean ok = build (&u, &ld, "", NULL);
  unet_clear (&u);
  return ok ? ld.n_params : -1;
}

/* ---- buffers ------------------------------------------------------------------------------------- */

static void
work_clear (Work *w)
{
  if (w->be)
    {
      float **bufs[] = { &w->x, &w->y, &w->ctx, &w->temb, &w->e1, &w->emb, &w->act0, &w->act1,
                         &w->s.s1, &w->s.s2, &w->s.s3, &w->s.s4, &w->s.kv, &w->s.embp };
      for (size_t k = 0; k < G_N_ELEMENTS (bufs); k++)
        if (*bufs[k])
          w->be->free (*bufs[k]);
    }
  for (int i = 0; w->skip && i < w->n_skip; i++)
    if (w->skip[i])
      w->be->free (w->skip[i]);
  g_free (w->skip);
  g_free (w->skip_h);
  g_free (w->skip_w);
  g_free (w->host);
  memset (w, 0, sizeof *w);
}

static int64_t
conv_out_len (const ScConv2d *c, int64_t len)
{
  return (len + c->pad_top + c->pad_bottom - c->k) / c->stride + 1;
}

static gboolean
alloc_buf (const ScBackend *be, float **p, int64_t n, const char *what, GError **error)
{
  *p = be->alloc ((size_t) MAX (n, 1));
  if (!*p)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "U-Net: cannot allocate %s (%" G_GINT64_FORMAT " floats)",
                   what, n);
      return FALSE;
    }
  return TRUE;
}

/* Plans every buffer for (be, B, H, W, n_ctx) by walking the blocks as the forward does, then
 * allocates; reuses the previous plan when nothing changed. */
static gboolean
work_ensure (ScUNet *u, const ScBackend *be, int64_t B, int64_t H, int64_t W, int64_t n_ctx, GError **error)
{
  Work *w = &u->work;
  if (w->be == be && w->B == B && w->H == H && w->W == W && w->n_ctx == n_ctx)
    return TRUE;
  work_clear (w);
  w->be = be;
  w->B = B, w->H = H, w->W = W, w->n_ctx = n_ctx;
  w->n_skip = u->n_in;
  w->skip = g_new0 (float *, u->n_in);
  w->skip_h = g_new0 (int64_t, u->n_in);
  w->skip_w = g_new0 (int64_t, u->n_in);

  ScUNetNeed need = { 0 };
  int64_t act = 0, host = 0, h = H, wd = W;
  for (int i = 0; i < u->n_in; i++)
    {
      const Block *b = &u->in[i];
      if (b->conv_kind == CONV_DOWN)
        h = conv_out_len (&b->conv, h), wd = conv_out_len (&b->conv, wd);
      if (b->has_res)
        sc_unet_res_need (&b->res, B, h * wd, &need);
      if (b->has_st)
        sc_unet_st_need (&b->st, B, h * wd, n_ctx, &need), act = MAX (act, B * h * wd * b->out_c);
      w->skip_h[i] = h, w->skip_w[i] = wd;
    }
  sc_unet_res_need (&u->mid_res0, B, h * wd, &need);
  sc_unet_st_need (&u->mid_st, B, h * wd, n_ctx, &need);
  sc_unet_res_need (&u->mid_res1, B, h * wd, &need);
  int64_t ch = u->in[u->n_in - 1].out_c;
  act = MAX (act, B * h * wd * ch);
  for (int j = 0; j < u->n_out; j++)
    {
      const Block *b = &u->out[j];
      int idx = u->n_in - 1 - j;
      act = MAX (act, B * h * wd * (ch + u->skip_c[idx]));
      sc_unet_res_need (&b->res, B, h * wd, &need);
      if (b->has_st)
        sc_unet_st_need (&b->st, B, h * wd, n_ctx, &need);
      ch = b->out_c;
      act = MAX (act, B * h * wd * ch);
      if (b->conv_kind == CONV_UP)
        {
          int64_t th = w->skip_h[idx - 1], tw = w->skip_w[idx - 1];
          act = MAX (act, B * th * tw * ch);
          if (th != 2 * h || tw != 2 * wd)
            host = MAX (host, B * (h * wd + th * tw) * ch);
          h = th, wd = tw;
        }
    }
  act = MAX (act, B * H * W * ch); /* the head's GN */

  const ScUNetConfig *cfg = &u->cfg;
  gboolean ok = alloc_buf (be, &w->x, B * H * W * cfg->in_channels, "input latent", error)
                && alloc_buf (be, &w->y, B * H * W * cfg->out_channels, "output", error)
                && alloc_buf (be, &w->ctx, B * n_ctx * cfg->context_dim, "context", error)
                && alloc_buf (be, &w->temb, B * cfg->model_channels, "timestep embedding", error)
                && alloc_buf (be, &w->e1, B * u->emb_dim, "time embedding", error)
                && alloc_buf (be, &w->emb, B * u->emb_dim, "time embedding", error)
                && alloc_buf (be, &w->act0, act, "activations", error)
                && alloc_buf (be, &w->act1, act, "activations", error)
                && alloc_buf (be, &w->s.s1, need.s1, "scratch", error)
                && alloc_buf (be, &w->s.s2, need.s2, "scratch", error)
                && alloc_buf (be, &w->s.s3, need.s3, "scratch", error)
                && alloc_buf (be, &w->s.s4, need.s4, "scratch", error)
                && alloc_buf (be, &w->s.kv, need.kv, "cross-attention keys/values", error)
                && alloc_buf (be, &w->s.embp, need.embp, "time projection", error);
  for (int i = 0; ok && i < u->n_in; i++)
    ok = alloc_buf (be, &w->skip[i], B * w->skip_h[i] * w->skip_w[i] * u->skip_c[i], "skip tensor", error);
  if (ok && host > 0)
    {
      w->host_n = (size_t) host;
      w->host = g_try_new (float, w->host_n);
      if (!w->host)
        {
          g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "U-Net: cannot allocate %zu floats for upsampling",
                       w->host_n);
          ok = FALSE;
        }
    }
  if (!ok)
    work_clear (w);
  return ok;
}

/* ---- forward ------------------------------------------------------------------------------------- */

/* emb[B, dim] = concat(cos(t·f), sin(t·f)), f_i = exp(-ln(10000) · i / (dim/2)). Computed in float32 step
 * by step as diffusers' get_timestep_embedding does, so the arguments (up to ~1000 rad) round alike. */
static void
timestep_embedding (const float *t, int64_t B, int64_t dim, float *emb)
{
  const int64_t half = dim / 2;
  const float neg_log_period = (float) -log (10000.0);
  for (int64_t i = 0; i < half; i++)
    {
      float exponent = neg_log_period * (float) i;
      exponent = exponent / (float) half;
      float freq = expf (exponent);
      for (int64_t b = 0; b < B; b++)
        {
          float arg = t[b] * freq;
          emb[b * dim + i] = (float) cos ((double) arg);
          emb[b * dim + half + i] = (float) sin ((double) arg);
        }
    }
}

/* y[B, th, tw, C] = nearest(x[B, h, w, C]) with PyTorch's rule src = floor(dst · (in / out)). */
static void
upsample_nearest_host (const float *x, float *y, int64_t B, int64_t h, int64_t w, int64_t C, int64_t th, int64_t tw)
{
  float sh = (float) h / (float) th, sw = (float) w / (float) tw;
  for (int64_t b = 0; b < B; b++)
    for (int64_t oy = 0; oy < th; oy++)
      {
        int64_t iy = MIN ((int64_t) floorf ((float) oy * sh), h - 1);
        for (int64_t ox = 0; ox < tw; ox++)
          {
            int64_t ix = MIN ((int64_t) floorf ((float) ox * sw), w - 1);
            memcpy (y + ((b * th + oy) * tw + ox) * C, x + ((b * h + iy) * w + ix) * C, (size_t) C * sizeof (float));
          }
      }
}

static gboolean
poll_cancel (const ScUNetHooks *hooks, GError **error)
{
  if (hooks && hooks->cancelled && hooks->cancelled (hooks->user_data))
    {
      g_set_error_literal (error, SC_ERROR, SC_ERROR_CANCELLED, "Cancelled");
      return TRUE;
    }
  return FALSE;
}

/* y = Res [+ ST](x); uses tmp between the two when there is an ST. */
static void
res_st_forward (const ScUNet *u, const ScBackend *be, const Block *b, const float *x, float *tmp, float *y,
                int64_t h, int64_t w)
{
  const Work *wk = &u->work;
  if (b->has_st)
    {
      sc_unet_res_forward (be, &b->res, x, tmp, wk->B, h, w, wk->emb, &wk->s);
      sc_unet_st_forward (be, &b->st, tmp, y, wk->B, h, w, wk->ctx, wk->n_ctx, &wk->s);
    }
  else
    sc_unet_res_forward (be, &b->res, x, y, wk->B, h, w, wk->emb, &wk->s);
}

gboolean
sc_unet_forward (ScUNet *unet, const ScBackend *be, const float *x, int64_t B, int64_t H, int64_t W,
                 const float *t, const float *context, int64_t n_ctx, float *out, const ScUNetHooks *hooks,
                 GError **error)
{
  g_return_val_if_fail (unet != NULL && be != NULL && x != NULL && t != NULL && context != NULL && out != NULL,
                        FALSE);
  const ScUNetConfig *cfg = &unet->cfg;
  if (B < 1 || H < 1 || W < 1 || n_ctx < 1)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "U-Net: invalid input size (batch %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
                   " latent, %" G_GINT64_FORMAT " context tokens)", B, H, W, n_ctx);
      return FALSE;
    }
  if (!work_ensure (unet, be, B, H, W, n_ctx, error))
    return FALSE;
  Work *wk = &unet->work;
  const int64_t mc = cfg->model_channels;

  be->upload (wk->x, x, (size_t) (B * H * W * cfg->in_channels));
  be->upload (wk->ctx, context, (size_t) (B * n_ctx * cfg->context_dim));

  /* emb = time_embed.2(SiLU(time_embed.0(timestep_embedding(t)))); every ResBlock wants SiLU(emb), so
   * wk->emb holds that. */
  {
    g_autofree float *temb = g_new (float, B * mc);
    timestep_embedding (t, B, mc, temb);
    be->upload (wk->temb, temb, (size_t) (B * mc));
  }
  sc_linear_forward (be, &unet->time_embed0, wk->temb, wk->e1, B);
  be->unary (SC_UNARY_SILU, wk->e1, wk->e1, B * unet->emb_dim);
  sc_linear_forward (be, &unet->time_embed2, wk->e1, wk->emb, B);
  be->unary (SC_UNARY_SILU, wk->emb, wk->emb, B * unet->emb_dim);

  /* Encoder: input block i reads skip[i-1] and writes skip[i] [B, h_i, w_i, C_i]. */
  for (int i = 0; i < unet->n_in; i++)
    {
      if (poll_cancel (hooks, error))
        return FALSE;
      const Block *b = &unet->in[i];
      if (b->conv_kind == CONV_IN)
        sc_conv2d_forward (be, &b->conv, wk->x, B, H, W, wk->skip[0]);
      else if (b->conv_kind == CONV_DOWN)
        sc_conv2d_forward (be, &b->conv, wk->skip[i - 1], B, wk->skip_h[i - 1], wk->skip_w[i - 1], wk->skip[i]);
      else
        res_st_forward (unet, be, b, wk->skip[i - 1], wk->act0, wk->skip[i], wk->skip_h[i], wk->skip_w[i]);
    }

  /* Middle: act0 = Res(ST(Res(skip[last]))) */
  if (poll_cancel (hooks, error))
    return FALSE;
  int64_t h = wk->skip_h[unet->n_in - 1], w = wk->skip_w[unet->n_in - 1];
  int64_t ch = unet->skip_c[unet->n_in - 1];
  sc_unet_res_forward (be, &unet->mid_res0, wk->skip[unet->n_in - 1], wk->act0, B, h, w, wk->emb, &wk->s);
  sc_unet_st_forward (be, &unet->mid_st, wk->act0, wk->act1, B, h, w, wk->ctx, n_ctx, &wk->s);
  sc_unet_res_forward (be, &unet->mid_res1, wk->act1, wk->act0, B, h, w, wk->emb, &wk->s);

  /* Training tape (models/unet_train.h): copies what the decoder's backward reads, at the points noted. */
  ScUNetTape *tape = hooks ? hooks->tape : NULL;
  if (tape
      && (!sc_unet_tape_begin (tape, unet, be, B, H, W, n_ctx, unet->n_out, error)
          || !sc_unet_tape_copy (tape, &tape->emb, wk->emb, B * unet->emb_dim, error)
          || !sc_unet_tape_copy (tape, &tape->ctx, wk->ctx, B * n_ctx * cfg->context_dim, error)))
    return FALSE;
#define TAPE(slot, src, n) (!tape || sc_unet_tape_copy (tape, &(slot), (src), (n), error))

  /* Decoder: cur = the running tensor; each block concatenates [cur, skip] into the other buffer. */
  float *cur = wk->act0, *other = wk->act1;
  for (int j = 0; j < unet->n_out; j++)
    {
      if (poll_cancel (hooks, error))
        return FALSE;
      const Block *b = &unet->out[j];
      int idx = unet->n_in - 1 - j;
      int64_t skip_c = unet->skip_c[idx];
      ScUNetTapeBlock *tb = tape ? &tape->blocks[j] : NULL;
      if (tb)
        *tb = (ScUNetTapeBlock) { .skip = idx, .h = h, .w = w, .cur_c = ch, .skip_c = skip_c, .out_c = b->out_c,
                                  .res = &b->res, .st = b->has_st ? &b->st : NULL,
                                  .up = b->conv_kind == CONV_UP ? &b->conv : NULL, .up_h = h, .up_w = w,
                                  .skip_in = tb->skip_in, .cat = tb->cat, .res_out = tb->res_out,
                                  .up_in = tb->up_in };
      if (!TAPE (tb->skip_in, wk->skip[idx], B * h * w * skip_c))
        return FALSE;
      if (hooks && hooks->edit_skip
          && !hooks->edit_skip (hooks->user_data, idx, wk->skip[idx], B, h, w, skip_c, error))
        return FALSE;
      be->concat_last (cur, ch, wk->skip[idx], skip_c, other, B * h * w);
      if (!TAPE (tb->cat, other, B * h * w * (ch + skip_c)))
        return FALSE;
      /* other = [B, h, w, ch + skip_c] → cur = Res [+ ST] (the ST goes back through `other`) */
      if (b->has_st)
        {
          res_st_forward (unet, be, b, other, cur, other, h, w);
          if (!TAPE (tb->res_out, cur, B * h * w * b->out_c)) /* the ResBlock's output is still in cur */
            return FALSE;
          float *tmp = cur;
          cur = other, other = tmp;
        }
      else
        res_st_forward (unet, be, b, other, NULL, cur, h, w);
      ch = b->out_c;
      if (b->conv_kind == CONV_UP)
        {
          /* Nearest upsample to the next skip's size (×2 unless the latent side was odd), then conv3×3. */
          int64_t th = wk->skip_h[idx - 1], tw = wk->skip_w[idx - 1];
          if (!TAPE (tb->up_in, cur, B * h * w * ch))
            return FALSE;
          if (tb)
            tb->up_h = th, tb->up_w = tw;
          if (th == 2 * h && tw == 2 * w)
            be->upsample_nearest2x (cur, other, B, h, w, ch);
          else
            {
              float *hx = wk->host, *hy = wk->host + B * h * w * ch;
              be->download (hx, cur, (size_t) (B * h * w * ch));
              upsample_nearest_host (hx, hy, B, h, w, ch, th, tw);
              be->upload (other, hy, (size_t) (B * th * tw * ch));
            }
          h = th, w = tw;
          sc_conv2d_forward (be, &b->conv, other, B, h, w, cur);
        }
    }

  /* Head: out = conv3×3(SiLU(GN(cur))) */
  if (poll_cancel (hooks, error))
    return FALSE;
  if (tape)
    tape->head_norm = &unet->out_norm, tape->head_conv = &unet->out_conv, tape->head_c = ch;
  if (!TAPE (tape->head_in, cur, B * H * W * ch))
    return FALSE;
#undef TAPE
  sc_group_norm_forward (be, &unet->out_norm, cur, other, B, H * W, TRUE);
  sc_conv2d_forward (be, &unet->out_conv, other, B, H, W, wk->y);
  be->download (out, wk->y, (size_t) (B * H * W * cfg->out_channels));
  return TRUE;
}
