/* The VAE, LDM AutoencoderKL (../shared/specs/stable-diffusion.md §2).
 *
 * Memory: a call's activations live in three "slots" (plus nothing else). Every forward function names
 * the slots it reads and writes; a first dry run of the same code records how big each slot must get,
 * then the slots are allocated once and the real run computes. For SD at 512×512 the decode peak is
 * (256 + 256 + 128) channels × 512² floats = 640 MiB (the upsampled input of up.0, its conv output and the
 * first ResBlock's 128-channel scratch); see sc_vae_config_activation_bytes. */
#include "models/vae.h"
#include "core/error.h"
#include "nn/layers.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#define VAE_EPS 1e-6f
#define VAE_MAX_LEVELS 4
#define VAE_MAX_BLOCKS 8
#define N_SLOTS 3

typedef struct {
  ScGroupNorm norm1, norm2;
  ScConv2d conv1, conv2;
  gboolean has_shortcut; /* 1×1 nin_shortcut when the channel count changes */
  ScConv2d nin_shortcut;
} VaeResBlock;

/* Single-head self-attention; q, k, v, proj_out are 1×1 convs, held as linears over [tokens, C]. */
typedef struct {
  ScGroupNorm norm;
  ScLinear q, k, v, proj_out;
} VaeAttn;

typedef struct {
  int n_blocks;
  VaeResBlock block[VAE_MAX_BLOCKS];
  gboolean has_resample; /* encoder: downsample after the blocks; decoder: upsample */
  ScConv2d resample;
} VaeLevel;

/* Encoder or decoder. */
typedef struct {
  ScConv2d conv_in;
  VaeLevel level[VAE_MAX_LEVELS];
  VaeResBlock mid_block_1;
  VaeAttn mid_attn_1;
  VaeResBlock mid_block_2;
  ScGroupNorm norm_out;
  ScConv2d conv_out;
} VaeCoder;

struct ScVae {
  ScVaeConfig cfg;
  gboolean has_encoder, has_decoder;
  VaeCoder enc, dec;
  ScConv2d quant_conv, post_quant_conv;
};

/* ---- Loading ---------------------------------------------------------------------------------------- */

/* src == NULL builds a skeleton: shapes only, no weights (for counting and sizing from a config). */
typedef struct {
  ScWeightSource *src;
  const char *prefix;
  GError **error;
} Loader;

static char *loader_name (Loader *ld, const char *fmt, va_list ap) G_GNUC_PRINTF (2, 0);

static char *
loader_name (Loader *ld, const char *fmt, va_list ap)
{
  g_autofree char *leaf = g_strdup_vprintf (fmt, ap);
  return g_strconcat (ld->prefix, leaf, NULL);
}

static gboolean load_conv (Loader *ld, ScConv2d *c, int64_t in_c, int64_t out_c, int k, int stride, int pad,
                           const char *fmt, ...) G_GNUC_PRINTF (8, 9);

static gboolean
load_conv (Loader *ld, ScConv2d *c, int64_t in_c, int64_t out_c, int k, int stride, int pad, const char *fmt, ...)
{
  if (!ld->src)
    {
      sc_conv2d_init_shape (c, in_c, out_c, k, stride, pad);
      return TRUE;
    }
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *name = loader_name (ld, fmt, ap);
  va_end (ap);
  return sc_conv2d_load (c, ld->src, name, in_c, out_c, k, stride, pad, ld->error);
}

static gboolean load_norm (Loader *ld, ScGroupNorm *n, int64_t c, int groups, const char *fmt, ...)
  G_GNUC_PRINTF (5, 6);

static gboolean
load_norm (Loader *ld, ScGroupNorm *n, int64_t c, int groups, const char *fmt, ...)
{
  if (c % groups != 0)
    {
      g_set_error (ld->error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "VAE: %" G_GINT64_FORMAT " channels do not split into %d norm groups", c, groups);
      return FALSE;
    }
  if (!ld->src)
    {
      memset (n, 0, sizeof *n);
      n->c = c;
      n->groups = groups;
      n->eps = VAE_EPS;
      return TRUE;
    }
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *name = loader_name (ld, fmt, ap);
  va_end (ap);
  return sc_group_norm_load (n, ld->src, name, c, groups, VAE_EPS, ld->error);
}

/* A 1×1 conv [C, C, 1, 1] (+ bias) used as a linear. Requested with its LDM 4-D shape, so a random source
 * records what an LDM file stores, unless the source holds it squeezed to [C, C] (diffusers style). */
static gboolean load_conv1x1 (Loader *ld, ScLinear *l, int64_t c, const char *fmt, ...) G_GNUC_PRINTF (4, 5);

static gboolean
load_conv1x1 (Loader *ld, ScLinear *l, int64_t c, const char *fmt, ...)
{
  memset (l, 0, sizeof *l);
  l->in = l->out = c;
  if (!ld->src)
    return TRUE;
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *base = loader_name (ld, fmt, ap);
  va_end (ap);
  g_autofree char *wname = g_strconcat (base, ".weight", NULL);
  g_autofree char *bname = g_strconcat (base, ".bias", NULL);
  int ndim = 0;
  int64_t stored[SC_MAX_DIMS];
  gboolean two_d = sc_weight_source_shape (ld->src, wname, &ndim, stored) && ndim == 2;
  int64_t shape[4] = { c, c, 1, 1 };
  l->w = sc_weight_source_get (ld->src, wname, two_d ? 2 : 4, shape, SC_INIT_WEIGHT, ld->error);
  if (!l->w)
    return FALSE;
  l->b = sc_weight_source_get (ld->src, bname, 1, &c, SC_INIT_BIAS, ld->error);
  return l->b != NULL;
}

/* Parameter order follows the LDM state dict: norm1, conv1, norm2, conv2, nin_shortcut. */
static gboolean
load_resblock (Loader *ld, VaeResBlock *rb, int64_t in_c, int64_t out_c, int groups, const char *base)
{
  rb->has_shortcut = in_c != out_c;
  return load_norm (ld, &rb->norm1, in_c, groups, "%s.norm1", base)
         && load_conv (ld, &rb->conv1, in_c, out_c, 3, 1, 1, "%s.conv1", base)
         && load_norm (ld, &rb->norm2, out_c, groups, "%s.norm2", base)
         && load_conv (ld, &rb->conv2, out_c, out_c, 3, 1, 1, "%s.conv2", base)
         && (!rb->has_shortcut
             || load_conv (ld, &rb->nin_shortcut, in_c, out_c, 1, 1, 0, "%s.nin_shortcut", base));
}

static gboolean
load_mid (Loader *ld, VaeCoder *cd, int64_t c, int groups, const char *part)
{
  g_autofree char *b1 = g_strdup_printf ("%s.mid.block_1", part);
  g_autofree char *b2 = g_strdup_printf ("%s.mid.block_2", part);
  VaeAttn *at = &cd->mid_attn_1;
  return load_resblock (ld, &cd->mid_block_1, c, c, groups, b1)
         && load_norm (ld, &at->norm, c, groups, "%s.mid.attn_1.norm", part)
         && load_conv1x1 (ld, &at->q, c, "%s.mid.attn_1.q", part)
         && load_conv1x1 (ld, &at->k, c, "%s.mid.attn_1.k", part)
         && load_conv1x1 (ld, &at->v, c, "%s.mid.attn_1.v", part)
         && load_conv1x1 (ld, &at->proj_out, c, "%s.mid.attn_1.proj_out", part)
         && load_resblock (ld, &cd->mid_block_2, c, c, groups, b2);
}

static gboolean
load_encoder (Loader *ld, VaeCoder *e, const ScVaeConfig *cfg)
{
  int n = cfg->n_levels, g = cfg->norm_groups;
  int64_t block_in = cfg->ch;
  if (!load_conv (ld, &e->conv_in, cfg->in_channels, cfg->ch, 3, 1, 1, "encoder.conv_in"))
    return FALSE;
  for (int i = 0; i < n; i++)
    {
      VaeLevel *lv = &e->level[i];
      int64_t block_out = (int64_t) cfg->ch * cfg->ch_mult[i];
      lv->n_blocks = cfg->num_res_blocks;
      for (int j = 0; j < lv->n_blocks; j++)
        {
          g_autofree char *base = g_strdup_printf ("encoder.down.%d.block.%d", i, j);
          if (!load_resblock (ld, &lv->block[j], block_in, block_out, g, base))
            return FALSE;
          block_in = block_out;
        }
      lv->has_resample = i != n - 1;
      if (lv->has_resample)
        {
          if (!load_conv (ld, &lv->resample, block_in, block_in, 3, 2, 0, "encoder.down.%d.downsample.conv", i))
            return FALSE;
          /* LDM pads (0, 1, 0, 1) — right and bottom only — then convolves with padding 0. */
          lv->resample.pad_top = lv->resample.pad_left = 0;
          lv->resample.pad_bottom = lv->resample.pad_right = 1;
        }
    }
  return load_mid (ld, e, block_in, g, "encoder")
         && load_norm (ld, &e->norm_out, block_in, g, "encoder.norm_out")
         && load_conv (ld, &e->conv_out, block_in, 2 * (int64_t) cfg->z_channels, 3, 1, 1, "encoder.conv_out");
}

static gboolean
load_decoder (Loader *ld, VaeCoder *d, const ScVaeConfig *cfg)
{
  int n = cfg->n_levels, g = cfg->norm_groups;
  int64_t top = (int64_t) cfg->ch * cfg->ch_mult[n - 1];
  if (!load_conv (ld, &d->conv_in, cfg->z_channels, top, 3, 1, 1, "decoder.conv_in")
      || !load_mid (ld, d, top, g, "decoder"))
    return FALSE;
  /* Stored up.0 … up.{n-1} (the state-dict order), executed from up.{n-1} down to up.0. */
  for (int i = 0; i < n; i++)
    {
      VaeLevel *lv = &d->level[i];
      int64_t block_in = i == n - 1 ? top : (int64_t) cfg->ch * cfg->ch_mult[i + 1];
      int64_t block_out = (int64_t) cfg->ch * cfg->ch_mult[i];
      lv->n_blocks = cfg->num_res_blocks + 1;
      for (int j = 0; j < lv->n_blocks; j++)
        {
          g_autofree char *base = g_strdup_printf ("decoder.up.%d.block.%d", i, j);
          if (!load_resblock (ld, &lv->block[j], block_in, block_out, g, base))
            return FALSE;
          block_in = block_out;
        }
      lv->has_resample = i != 0;
      if (lv->has_resample
          && !load_conv (ld, &lv->resample, block_out, block_out, 3, 1, 1, "decoder.up.%d.upsample.conv", i))
        return FALSE;
    }
  int64_t bottom = (int64_t) cfg->ch * cfg->ch_mult[0];
  return load_norm (ld, &d->norm_out, bottom, g, "decoder.norm_out")
         && load_conv (ld, &d->conv_out, bottom, cfg->out_channels, 3, 1, 1, "decoder.conv_out");
}

static gboolean
config_check (const ScVaeConfig *cfg, GError **error)
{
  if (cfg->n_levels < 1 || cfg->n_levels > VAE_MAX_LEVELS || cfg->num_res_blocks < 1
      || cfg->num_res_blocks + 1 > VAE_MAX_BLOCKS || cfg->ch < 1 || cfg->z_channels < 1
      || cfg->in_channels < 1 || cfg->out_channels < 1 || cfg->norm_groups < 1)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "VAE configuration out of range (levels %d, res blocks %d, ch %d, z %d)", cfg->n_levels,
                   cfg->num_res_blocks, cfg->ch, cfg->z_channels);
      return FALSE;
    }
  for (int i = 0; i < cfg->n_levels; i++)
    if (cfg->ch_mult[i] < 1)
      {
        g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "VAE configuration: ch_mult[%d] = %d", i,
                     cfg->ch_mult[i]);
        return FALSE;
      }
  return TRUE;
}

/* Builds the parts asked for; src == NULL gives a skeleton. */
static ScVae *
vae_build (const ScVaeConfig *cfg, ScWeightSource *src, const char *prefix, gboolean with_encoder,
           gboolean with_decoder, GError **error)
{
  if (!config_check (cfg, error))
    return NULL;
  ScVae *vae = g_new0 (ScVae, 1);
  vae->cfg = *cfg;
  vae->has_encoder = with_encoder;
  vae->has_decoder = with_decoder;
  Loader ld = { .src = src, .prefix = prefix ? prefix : "", .error = error };
  int64_t z2 = 2 * (int64_t) cfg->z_channels, z = cfg->z_channels;
  /* LDM order: encoder.*, decoder.*, quant_conv, post_quant_conv. */
  gboolean ok = (!with_encoder || load_encoder (&ld, &vae->enc, cfg))
                && (!with_decoder || load_decoder (&ld, &vae->dec, cfg))
                && (!with_encoder || load_conv (&ld, &vae->quant_conv, z2, z2, 1, 1, 0, "quant_conv"))
                && (!with_decoder || load_conv (&ld, &vae->post_quant_conv, z, z, 1, 1, 0, "post_quant_conv"));
  if (!ok)
    {
      sc_vae_free (vae);
      return NULL;
    }
  return vae;
}

ScVae *
sc_vae_new (const ScVaeConfig *cfg, ScWeightSource *src, const char *prefix, gboolean with_encoder,
            gboolean with_decoder, GError **error)
{
  g_return_val_if_fail (cfg != NULL && src != NULL, NULL);
  return vae_build (cfg, src, prefix, with_encoder, with_decoder, error);
}

static void
resblock_clear (VaeResBlock *rb)
{
  sc_group_norm_clear (&rb->norm1);
  sc_conv2d_clear (&rb->conv1);
  sc_group_norm_clear (&rb->norm2);
  sc_conv2d_clear (&rb->conv2);
  sc_conv2d_clear (&rb->nin_shortcut);
}

static void
coder_clear (VaeCoder *cd)
{
  sc_conv2d_clear (&cd->conv_in);
  for (int i = 0; i < VAE_MAX_LEVELS; i++)
    {
      for (int j = 0; j < VAE_MAX_BLOCKS; j++)
        resblock_clear (&cd->level[i].block[j]);
      sc_conv2d_clear (&cd->level[i].resample);
    }
  resblock_clear (&cd->mid_block_1);
  sc_group_norm_clear (&cd->mid_attn_1.norm);
  sc_linear_clear (&cd->mid_attn_1.q);
  sc_linear_clear (&cd->mid_attn_1.k);
  sc_linear_clear (&cd->mid_attn_1.v);
  sc_linear_clear (&cd->mid_attn_1.proj_out);
  resblock_clear (&cd->mid_block_2);
  sc_group_norm_clear (&cd->norm_out);
  sc_conv2d_clear (&cd->conv_out);
}

void
sc_vae_free (ScVae *vae)
{
  if (!vae)
    return;
  coder_clear (&vae->enc);
  coder_clear (&vae->dec);
  sc_conv2d_clear (&vae->quant_conv);
  sc_conv2d_clear (&vae->post_quant_conv);
  g_free (vae);
}

/* ---- Counting --------------------------------------------------------------------------------------- */

static int64_t
conv_params (const ScConv2d *c)
{
  return (int64_t) c->k * c->k * c->in_c * c->out_c + c->out_c;
}

static int64_t
resblock_params (const VaeResBlock *rb)
{
  return 2 * rb->norm1.c + conv_params (&rb->conv1) + 2 * rb->norm2.c + conv_params (&rb->conv2)
         + (rb->has_shortcut ? conv_params (&rb->nin_shortcut) : 0);
}

static int64_t
coder_params (const VaeCoder *cd, int n_levels)
{
  int64_t n = conv_params (&cd->conv_in);
  for (int i = 0; i < n_levels; i++)
    {
      const VaeLevel *lv = &cd->level[i];
      for (int j = 0; j < lv->n_blocks; j++)
        n += resblock_params (&lv->block[j]);
      if (lv->has_resample)
        n += conv_params (&lv->resample);
    }
  const VaeAttn *at = &cd->mid_attn_1;
  int64_t c = at->norm.c;
  n += resblock_params (&cd->mid_block_1) + 2 * c + 4 * (c * c + c) + resblock_params (&cd->mid_block_2);
  return n + 2 * cd->norm_out.c + conv_params (&cd->conv_out);
}

int64_t
sc_vae_param_count (const ScVae *vae)
{
  int64_t n = 0;
  if (vae->has_encoder)
    n += coder_params (&vae->enc, vae->cfg.n_levels) + conv_params (&vae->quant_conv);
  if (vae->has_decoder)
    n += coder_params (&vae->dec, vae->cfg.n_levels) + conv_params (&vae->post_quant_conv);
  return n;
}

int64_t
sc_vae_config_param_count (const ScVaeConfig *cfg)
{
  ScVae *sk = vae_build (cfg, NULL, NULL, TRUE, TRUE, NULL);
  if (!sk)
    return -1;
  int64_t n = sc_vae_param_count (sk);
  sc_vae_free (sk);
  return n;
}

/* ---- Forward ---------------------------------------------------------------------------------------- */

typedef struct {
  const ScBackend *be;
  gboolean dry;          /* sizing pass: record slot sizes, compute nothing */
  float *slot[N_SLOTS];
  int64_t cap[N_SLOTS];  /* floats */
} VaeRun;

/* An activation [B, H, W, C] held in slot s. */
typedef struct {
  int s;
  int64_t B, H, W, C;
} Act;

static int64_t
act_numel (Act a)
{
  return a.B * a.H * a.W * a.C;
}

/* Slot s, which must hold n floats. */
static float *
need (VaeRun *r, int s, int64_t n)
{
  if (r->dry)
    {
      r->cap[s] = MAX (r->cap[s], n);
      return NULL;
    }
  g_assert (n <= r->cap[s]);
  return r->slot[s];
}

static int
next_slot (int s, int k)
{
  return (s + k) % N_SLOTS;
}

static Act
conv_fwd (VaeRun *r, const ScConv2d *c, Act x, int out_slot)
{
  Act y = { out_slot, x.B, 0, 0, c->out_c };
  sc_conv2d_out_size (c, x.H, x.W, &y.H, &y.W);
  float *yp = need (r, out_slot, act_numel (y));
  g_assert (x.C == c->in_c && out_slot != x.s);
  if (!r->dry)
    sc_conv2d_forward (r->be, c, r->slot[x.s], x.B, x.H, x.W, yp);
  return y;
}

/* GroupNorm (+ SiLU) into out_slot, which may be x's own. */
static Act
norm_fwd (VaeRun *r, const ScGroupNorm *n, Act x, int out_slot, gboolean silu)
{
  Act y = x;
  y.s = out_slot;
  float *yp = need (r, out_slot, act_numel (y));
  if (!r->dry)
    sc_group_norm_forward (r->be, n, r->slot[x.s], yp, x.B, x.H * x.W, silu);
  return y;
}

/* a += b */
static void
add_fwd (VaeRun *r, Act a, Act b)
{
  g_assert (act_numel (a) == act_numel (b));
  if (!r->dry)
    r->be->add (r->slot[a.s], r->slot[b.s], r->slot[a.s], act_numel (a));
}

/* x + conv2(silu(norm2(conv1(silu(norm1(x)))))), the shortcut 1×1 when channels change.
 * The result stays in x's slot; the two other slots are scratch. */
static Act
resblock_fwd (VaeRun *r, const VaeResBlock *rb, Act x)
{
  int s1 = next_slot (x.s, 1), s2 = next_slot (x.s, 2);
  if (rb->has_shortcut)
    {
      /* Shortcut first, so x can then be normalised in place: one full-size buffer less at the
       * decoder's widest block (256 → 128 channels at 512×512 for SD). */
      Act sc = conv_fwd (r, &rb->nin_shortcut, x, s1);
      Act h = norm_fwd (r, &rb->norm1, x, x.s, TRUE);
      h = conv_fwd (r, &rb->conv1, h, s2);
      h = norm_fwd (r, &rb->norm2, h, s2, TRUE);
      h = conv_fwd (r, &rb->conv2, h, x.s);
      add_fwd (r, h, sc);
      return h;
    }
  Act h = norm_fwd (r, &rb->norm1, x, s1, TRUE);
  h = conv_fwd (r, &rb->conv1, h, s2);
  h = norm_fwd (r, &rb->norm2, h, s2, TRUE);
  h = conv_fwd (r, &rb->conv2, h, s1);
  add_fwd (r, x, h);
  return x;
}

/* x + proj_out(attention(q, k, v)) over the H·W tokens, one head of width C, scale C^-0.5.
 * Scratch: the normalised x, later the attention output, in s1; q ‖ k ‖ v, later proj_out, in s2. */
static Act
attn_fwd (VaeRun *r, const VaeAttn *at, Act x)
{
  int s1 = next_slot (x.s, 1), s2 = next_slot (x.s, 2);
  int64_t N = x.H * x.W, C = x.C, rows = x.B * N;
  Act h = norm_fwd (r, &at->norm, x, s1, FALSE);
  float *qkv = need (r, s2, 3 * rows * C);
  if (r->dry)
    return x;
  const ScBackend *be = r->be;
  float *hp = r->slot[h.s], *q = qkv, *k = qkv + rows * C, *v = qkv + 2 * rows * C;
  sc_linear_forward (be, &at->q, hp, q, rows);
  sc_linear_forward (be, &at->k, hp, k, rows);
  sc_linear_forward (be, &at->v, hp, v, rows);
  be->attention (q, k, v, hp, x.B, N, N, 1, C, C, C, C, 1.0f / sqrtf ((float) C), false);
  sc_linear_forward (be, &at->proj_out, hp, qkv, rows);
  be->add (r->slot[x.s], qkv, r->slot[x.s], rows * C);
  return x;
}

static Act
mid_fwd (VaeRun *r, const VaeCoder *cd, Act x)
{
  x = resblock_fwd (r, &cd->mid_block_1, x);
  x = attn_fwd (r, &cd->mid_attn_1, x);
  return resblock_fwd (r, &cd->mid_block_2, x);
}

/* image [B, H, W, in] in slot 0 → moments [B, H/f, W/f, 2z] */
static Act
encode_graph (VaeRun *r, const ScVae *vae, Act x)
{
  const VaeCoder *e = &vae->enc;
  x = conv_fwd (r, &e->conv_in, x, next_slot (x.s, 1));
  for (int i = 0; i < vae->cfg.n_levels; i++)
    {
      const VaeLevel *lv = &e->level[i];
      for (int j = 0; j < lv->n_blocks; j++)
        x = resblock_fwd (r, &lv->block[j], x);
      if (lv->has_resample)
        x = conv_fwd (r, &lv->resample, x, next_slot (x.s, 1));
    }
  x = mid_fwd (r, e, x);
  x = norm_fwd (r, &e->norm_out, x, x.s, TRUE);
  x = conv_fwd (r, &e->conv_out, x, next_slot (x.s, 1));
  return conv_fwd (r, &vae->quant_conv, x, next_slot (x.s, 1));
}

/* z [B, h, w, z] in slot 0 → image [B, f·h, f·w, out] */
static Act
decode_graph (VaeRun *r, const ScVae *vae, Act x)
{
  const VaeCoder *d = &vae->dec;
  x = conv_fwd (r, &vae->post_quant_conv, x, next_slot (x.s, 1));
  x = conv_fwd (r, &d->conv_in, x, next_slot (x.s, 1));
  x = mid_fwd (r, d, x);
  for (int i = vae->cfg.n_levels - 1; i >= 0; i--)
    {
      const VaeLevel *lv = &d->level[i];
      for (int j = 0; j < lv->n_blocks; j++)
        x = resblock_fwd (r, &lv->block[j], x);
      if (lv->has_resample)
        {
          /* nearest ×2 into a scratch slot, then the conv back into x's slot */
          Act up = { next_slot (x.s, 1), x.B, 2 * x.H, 2 * x.W, x.C };
          float *up_p = need (r, up.s, act_numel (up));
          if (!r->dry)
            r->be->upsample_nearest2x (r->slot[x.s], up_p, x.B, x.H, x.W, x.C);
          x = conv_fwd (r, &lv->resample, up, x.s);
        }
    }
  x = norm_fwd (r, &d->norm_out, x, x.s, TRUE);
  return conv_fwd (r, &d->conv_out, x, next_slot (x.s, 1));
}

typedef Act (*VaeGraph) (VaeRun *r, const ScVae *vae, Act x);

static void
run_free (VaeRun *r)
{
  for (int s = 0; s < N_SLOTS; s++)
    if (r->slot[s])
      r->be->free (r->slot[s]);
}

/* Sizes the slots with a dry run, allocates them, uploads the input into slot 0, runs, downloads. */
static gboolean
run_graph (const ScVae *vae, const ScBackend *be, VaeGraph graph, Act in, const float *input, float *output,
           GError **error)
{
  VaeRun r = { .be = be, .dry = TRUE };
  need (&r, in.s, act_numel (in));
  graph (&r, vae, in);
  for (int s = 0; s < N_SLOTS; s++)
    {
      r.slot[s] = be->alloc ((size_t) r.cap[s]);
      if (!r.slot[s])
        {
          g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY,
                       "VAE: out of memory allocating %.1f MiB of activations for a %" G_GINT64_FORMAT
                       "×%" G_GINT64_FORMAT " batch of %" G_GINT64_FORMAT,
                       (double) r.cap[s] * 4.0 / 1048576.0, in.H, in.W, in.B);
          run_free (&r);
          return FALSE;
        }
    }
  r.dry = FALSE;
  be->upload (r.slot[in.s], input, (size_t) act_numel (in));
  Act out = graph (&r, vae, in);
  be->download (output, r.slot[out.s], (size_t) act_numel (out));
  run_free (&r);
  return TRUE;
}

static int64_t
vae_factor (const ScVaeConfig *cfg)
{
  return (int64_t) 1 << (cfg->n_levels - 1);
}

gboolean
sc_vae_encode (ScVae *vae, const ScBackend *be, const float *image, int64_t B, int64_t H, int64_t W,
               float *moments, GError **error)
{
  g_return_val_if_fail (vae != NULL && be != NULL && image != NULL && moments != NULL, FALSE);
  int64_t f = vae_factor (&vae->cfg);
  if (!vae->has_encoder)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "VAE encode: the encoder was not loaded");
      return FALSE;
    }
  if (B < 1 || H < f || W < f || H % f || W % f)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "VAE encode: image %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT " (batch %" G_GINT64_FORMAT
                   ") must have sides that are positive multiples of %" G_GINT64_FORMAT, W, H, B, f);
      return FALSE;
    }
  Act in = { 0, B, H, W, vae->cfg.in_channels };
  return run_graph (vae, be, encode_graph, in, image, moments, error);
}

gboolean
sc_vae_decode (ScVae *vae, const ScBackend *be, const float *z, int64_t B, int64_t h, int64_t w, float *image,
               GError **error)
{
  g_return_val_if_fail (vae != NULL && be != NULL && z != NULL && image != NULL, FALSE);
  if (!vae->has_decoder)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "VAE decode: the decoder was not loaded");
      return FALSE;
    }
  if (B < 1 || h < 1 || w < 1)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "VAE decode: latent %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT " (batch %" G_GINT64_FORMAT
                   ") is empty", w, h, B);
      return FALSE;
    }
  Act in = { 0, B, h, w, vae->cfg.z_channels };
  return run_graph (vae, be, decode_graph, in, z, image, error);
}

int64_t
sc_vae_config_activation_bytes (const ScVaeConfig *cfg, gboolean decode, int64_t B, int64_t H, int64_t W)
{
  ScVae *sk = vae_build (cfg, NULL, NULL, !decode, decode, NULL);
  if (!sk)
    return -1;
  int64_t f = vae_factor (cfg);
  VaeRun r = { .dry = TRUE };
  Act in = decode ? (Act) { 0, B, H / f, W / f, cfg->z_channels } : (Act) { 0, B, H, W, cfg->in_channels };
  need (&r, in.s, act_numel (in));
  (decode ? decode_graph : encode_graph) (&r, sk, in);
  sc_vae_free (sk);
  int64_t floats = 0;
  for (int s = 0; s < N_SLOTS; s++)
    floats += r.cap[s];
  return floats * (int64_t) sizeof (float);
}
