#include "nn/layers.h"
#include "core/error.h"

#include <string.h>

static char *
param_name (const char *prefix, const char *leaf)
{
  return g_strconcat (prefix, ".", leaf, NULL);
}

gboolean
sc_linear_load_any (ScLinear *l, ScWeightSource *src, const char *prefix, int64_t in, int64_t out,
                    gboolean has_bias, gboolean accept_conv1x1, GError **error)
{
  memset (l, 0, sizeof *l);
  l->in = in;
  l->out = out;
  g_autofree char *wname = param_name (prefix, "weight");
  int ndim = 2;
  int64_t stored[SC_MAX_DIMS];
  if (accept_conv1x1 && sc_weight_source_shape (src, wname, &ndim, stored) && ndim == 4)
    {
      int64_t shape4[4] = { out, in, 1, 1 };
      l->w = sc_weight_source_get (src, wname, 4, shape4, SC_INIT_WEIGHT, error);
    }
  else
    {
      int64_t shape[2] = { out, in };
      l->w = sc_weight_source_get (src, wname, 2, shape, SC_INIT_WEIGHT, error);
    }
  if (!l->w)
    return FALSE;
  if (has_bias)
    {
      g_autofree char *bname = param_name (prefix, "bias");
      l->b = sc_weight_source_get (src, bname, 1, &out, SC_INIT_BIAS, error);
      if (!l->b)
        {
          sc_linear_clear (l);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
sc_linear_load (ScLinear *l, ScWeightSource *src, const char *prefix, int64_t in, int64_t out,
                gboolean has_bias, GError **error)
{
  return sc_linear_load_any (l, src, prefix, in, out, has_bias, FALSE, error);
}

void
sc_linear_clear (ScLinear *l)
{
  sc_free_floats (l->w);
  sc_free_floats (l->b);
  l->w = l->b = NULL;
}

void
sc_linear_forward (const ScBackend *be, const ScLinear *l, const float *x, float *y, int64_t rows)
{
  be->linear (x, l->w, l->b, y, rows, l->in, l->out);
}

void
sc_oihw_to_hwio (const float *src, float *dst, int64_t out_c, int64_t in_c, int kh, int kw)
{
  for (int64_t o = 0; o < out_c; o++)
    for (int64_t i = 0; i < in_c; i++)
      for (int y = 0; y < kh; y++)
        for (int x = 0; x < kw; x++)
          dst[((y * kw + x) * in_c + i) * out_c + o] = src[((o * in_c + i) * kh + y) * kw + x];
}

void
sc_conv2d_init_shape (ScConv2d *c, int64_t in_c, int64_t out_c, int k, int stride, int pad)
{
  memset (c, 0, sizeof *c);
  c->in_c = in_c;
  c->out_c = out_c;
  c->k = k;
  c->stride = stride;
  c->pad_top = c->pad_left = c->pad_bottom = c->pad_right = pad;
}

gboolean
sc_conv2d_load (ScConv2d *c, ScWeightSource *src, const char *prefix, int64_t in_c, int64_t out_c, int k,
                int stride, int pad, GError **error)
{
  sc_conv2d_init_shape (c, in_c, out_c, k, stride, pad);
  g_autofree char *wname = param_name (prefix, "weight");
  g_autofree char *bname = param_name (prefix, "bias");
  int64_t shape[4] = { out_c, in_c, k, k };
  float *oihw = sc_weight_source_get (src, wname, 4, shape, SC_INIT_WEIGHT, error);
  if (!oihw)
    return FALSE;
  c->w = sc_alloc_floats ((size_t) (out_c * in_c * k * k), error);
  if (!c->w)
    {
      sc_free_floats (oihw);
      return FALSE;
    }
  sc_oihw_to_hwio (oihw, c->w, out_c, in_c, k, k);
  sc_free_floats (oihw);
  c->b = sc_weight_source_get (src, bname, 1, &out_c, SC_INIT_BIAS, error);
  if (!c->b)
    {
      sc_conv2d_clear (c);
      return FALSE;
    }
  return TRUE;
}

void
sc_conv2d_clear (ScConv2d *c)
{
  sc_free_floats (c->w);
  sc_free_floats (c->b);
  c->w = c->b = NULL;
}

ScConv2dDesc
sc_conv2d_desc (const ScConv2d *c, int64_t B, int64_t H, int64_t W)
{
  ScConv2dDesc d = {
    .batch = B, .in_h = H, .in_w = W, .in_c = c->in_c, .out_c = c->out_c,
    .kernel_h = c->k, .kernel_w = c->k, .stride = c->stride,
    .pad_top = c->pad_top, .pad_left = c->pad_left, .pad_bottom = c->pad_bottom, .pad_right = c->pad_right,
  };
  sc_conv2d_desc_init (&d);
  return d;
}

void
sc_conv2d_out_size (const ScConv2d *c, int64_t h, int64_t w, int64_t *oh, int64_t *ow)
{
  ScConv2dDesc d = sc_conv2d_desc (c, 1, h, w);
  *oh = d.out_h;
  *ow = d.out_w;
}

void
sc_conv2d_forward (const ScBackend *be, const ScConv2d *c, const float *x, int64_t B, int64_t H, int64_t W,
                   float *y)
{
  ScConv2dDesc d = sc_conv2d_desc (c, B, H, W);
  be->conv2d (&d, x, c->w, c->b, y);
}

static gboolean
load_affine (ScWeightSource *src, const char *prefix, int64_t c, float **gamma, float **beta, GError **error)
{
  g_autofree char *wname = param_name (prefix, "weight");
  g_autofree char *bname = param_name (prefix, "bias");
  *gamma = sc_weight_source_get (src, wname, 1, &c, SC_INIT_NORM_GAMMA, error);
  if (!*gamma)
    return FALSE;
  *beta = sc_weight_source_get (src, bname, 1, &c, SC_INIT_NORM_BETA, error);
  if (!*beta)
    {
      sc_free_floats (*gamma);
      *gamma = NULL;
      return FALSE;
    }
  return TRUE;
}

gboolean
sc_group_norm_load (ScGroupNorm *n, ScWeightSource *src, const char *prefix, int64_t c, int groups, float eps,
                    GError **error)
{
  memset (n, 0, sizeof *n);
  n->c = c;
  n->groups = groups;
  n->eps = eps;
  return load_affine (src, prefix, c, &n->gamma, &n->beta, error);
}

void
sc_group_norm_clear (ScGroupNorm *n)
{
  sc_free_floats (n->gamma);
  sc_free_floats (n->beta);
  n->gamma = n->beta = NULL;
}

void
sc_group_norm_forward (const ScBackend *be, const ScGroupNorm *n, const float *x, float *y, int64_t B,
                       int64_t HW, gboolean silu)
{
  be->group_norm (x, y, B, HW, n->c, n->groups, n->gamma, n->beta, n->eps, silu);
}

gboolean
sc_layer_norm_load (ScLayerNorm *n, ScWeightSource *src, const char *prefix, int64_t c, float eps,
                    GError **error)
{
  memset (n, 0, sizeof *n);
  n->c = c;
  n->eps = eps;
  return load_affine (src, prefix, c, &n->gamma, &n->beta, error);
}

void
sc_layer_norm_clear (ScLayerNorm *n)
{
  sc_free_floats (n->gamma);
  sc_free_floats (n->beta);
  n->gamma = n->beta = NULL;
}

void
sc_layer_norm_forward (const ScBackend *be, const ScLayerNorm *n, const float *x, float *y, int64_t rows)
{
  be->layer_norm (x, y, rows, n->c, n->gamma, n->beta, n->eps);
}
