#include "scedit/csc_tuner.h"
#include "core/error.h"

#include <string.h>

/* pre_hint_blocks: (in, out, stride) of the 7 convs; -1..-4 name 3, widths[0..2] and hint_out. */
static void
pre_conv_dims (const ScCscSpec *s, int k, int64_t *in, int64_t *out, int *stride)
{
  static const int ins[7] = { -1, 0, 0, 1, 1, 2, 2 };
  static const int outs[7] = { 0, 0, 1, 1, 2, 2, 3 };
  static const int strides[7] = { 1, 1, 2, 1, 2, 1, 2 };
  *in = ins[k] < 0 ? 3 : s->pre_widths[ins[k]];
  *out = outs[k] == 3 ? s->hint_out : s->pre_widths[outs[k]];
  *stride = strides[k];
}

ScCscTuner *
sc_csc_tuner_new_from_source (const ScSkipLayout *layout, const ScCscSpec *spec, ScWeightSource *src,
                              gboolean zero_init, GError **error)
{
  if (spec->kernel != 1 && spec->kernel != 3)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED, "Dense hint kernel %d is not supported (1 or 3)",
                   spec->kernel);
      return NULL;
    }
  ScCscTuner *t = g_new0 (ScCscTuner, 1);
  t->ref_count = 1;
  t->layout = *layout;
  t->spec = *spec;
  g_mutex_init (&t->lock);
  g_queue_init (&t->cache);
  for (int k = 0; k < 7; k++)
    {
      int64_t in, out;
      int stride;
      pre_conv_dims (spec, k, &in, &out, &stride);
      g_autofree char *prefix = g_strdup_printf ("0.pre_hint_blocks.%d", 2 * k);
      if (!sc_conv2d_load (&t->pre[k], src, prefix, in, out, 3, stride, 1, error))
        goto fail;
    }
  int64_t prev = spec->hint_out;
  for (int i = 0; i < layout->n; i++)
    {
      g_autofree char *prefix = g_strdup_printf ("0.dense_hint_blocks.%d.1", i);
      ScConv2d *c = &t->dense[i];
      if (!sc_conv2d_load (c, src, prefix, prev, layout->chans[i], spec->kernel, layout->down[i] ? 2 : 1,
                           spec->kernel == 3 ? 1 : 0, error))
        goto fail;
      if (zero_init)
        {
          memset (c->w, 0, sizeof (float) * (size_t) (c->in_c * c->out_c * c->k * c->k));
          memset (c->b, 0, sizeof (float) * (size_t) c->out_c);
        }
      prev = layout->chans[i];
    }
  for (int m = 0; m < layout->n; m++)
    {
      g_autofree char *prefix = g_strdup_printf ("0.lsc_tuner_blocks.%d.tuner_op", m);
      if (!sc_skip_mlp_load (&t->mlp[m], src, prefix, sc_skip_layout_decoder_chans (layout, m), spec->hidden[m],
                             zero_init, error))
        goto fail;
    }
  return t;
fail:
  sc_csc_tuner_unref (t);
  return NULL;
}

static void
spec_from_config (const ScSkipLayout *layout, double rho, int64_t hint_out, int kernel, double ratio,
                  ScCscSpec *s)
{
  memset (s, 0, sizeof *s);
  s->pre_widths[0] = (int64_t) (16.0 * rho);
  s->pre_widths[1] = (int64_t) (32.0 * rho);
  s->pre_widths[2] = (int64_t) (96.0 * rho);
  s->hint_out = hint_out;
  s->kernel = kernel;
  for (int m = 0; m < layout->n; m++)
    s->hidden[m] = sc_tuner_hidden_width (sc_skip_layout_decoder_chans (layout, m), ratio);
}

static gboolean
spec_valid (const ScSkipLayout *layout, const ScCscSpec *s, GError **error)
{
  gboolean ok = s->pre_widths[0] > 0 && s->pre_widths[1] > 0 && s->pre_widths[2] > 0 && s->hint_out > 0;
  for (int m = 0; m < layout->n; m++)
    ok = ok && s->hidden[m] > 0;
  if (!ok)
    g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "CSC-Tuner configuration gives an empty layer");
  return ok;
}

ScCscTuner *
sc_csc_tuner_new_random (const ScSkipLayout *layout, double rho, int64_t hint_out, int kernel, double ratio,
                         uint64_t seed, gboolean random_all, GError **error)
{
  ScCscSpec spec;
  spec_from_config (layout, rho, hint_out, kernel, ratio, &spec);
  if (!spec_valid (layout, &spec, error))
    return NULL;
  ScWeightSource *src = sc_weight_source_new_random (seed);
  ScCscTuner *t = sc_csc_tuner_new_from_source (layout, &spec, src, !random_all, error);
  sc_weight_source_free (src);
  return t;
}

ScCscTuner *
sc_csc_tuner_ref (ScCscTuner *t)
{
  g_atomic_int_inc (&t->ref_count);
  return t;
}

void
sc_csc_tuner_unref (ScCscTuner *t)
{
  if (!t || !g_atomic_int_dec_and_test (&t->ref_count))
    return;
  sc_csc_tuner_clear_cache (t);
  for (int k = 0; k < 7; k++)
    sc_conv2d_clear (&t->pre[k]);
  for (int i = 0; i < SC_MAX_SKIPS; i++)
    {
      sc_conv2d_clear (&t->dense[i]);
      sc_skip_mlp_clear (&t->mlp[i]);
    }
  g_mutex_clear (&t->lock);
  g_free (t);
}

static int64_t
conv_params (int64_t in, int64_t out, int k)
{
  return in * out * k * k + out;
}

int64_t
sc_csc_tuner_params (const ScCscTuner *t)
{
  int64_t n = 0;
  for (int k = 0; k < 7; k++)
    n += conv_params (t->pre[k].in_c, t->pre[k].out_c, t->pre[k].k);
  for (int i = 0; i < t->layout.n; i++)
    n += conv_params (t->dense[i].in_c, t->dense[i].out_c, t->dense[i].k) + sc_skip_mlp_params (&t->mlp[i]);
  return n;
}

int64_t
sc_csc_tuner_config_params (const ScSkipLayout *layout, double rho, int64_t hint_out, int kernel, double ratio)
{
  ScCscSpec s;
  spec_from_config (layout, rho, hint_out, kernel, ratio, &s);
  int64_t n = 0;
  for (int k = 0; k < 7; k++)
    {
      int64_t in, out;
      int stride;
      pre_conv_dims (&s, k, &in, &out, &stride);
      n += conv_params (in, out, 3);
    }
  int64_t prev = hint_out;
  for (int i = 0; i < layout->n; i++)
    {
      n += conv_params (prev, layout->chans[i], kernel);
      prev = layout->chans[i];
    }
  return n + sc_sc_tuner_config_params (layout, ratio);
}

/* ---- hint features ---------------------------------------------------------------------------------- */

ScHintFeatures *
sc_hint_features_ref (ScHintFeatures *f)
{
  g_atomic_int_inc (&f->ref_count);
  return f;
}

void
sc_hint_features_unref (ScHintFeatures *f)
{
  if (!f || !g_atomic_int_dec_and_test (&f->ref_count))
    return;
  for (int i = 0; i < f->n; i++)
    if (f->g[i])
      f->be->free (f->g[i]);
  g_free (f);
}

static float *
be_alloc (const ScBackend *be, int64_t n, GError **error)
{
  float *p = be->alloc ((size_t) MAX (n, 1));
  if (!p)
    g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "Out of memory for %" G_GINT64_FORMAT
                 " floats of hint features", n);
  return p;
}

/* Runs pre_hint and the dense chain on hint [hb, H, W, 3] (host). */
static ScHintFeatures *
encode (ScCscTuner *t, const ScBackend *be, const float *hint, int64_t hb, int64_t H, int64_t W, GError **error)
{
  ScHintFeatures *f = g_new0 (ScHintFeatures, 1);
  f->ref_count = 1;
  f->be = be;
  f->n = t->layout.n;
  f->batch = hb;
  float *a = NULL, *b = NULL;
  /* Sizes of every pre layer, for one pair of ping-pong buffers. */
  int64_t h = H, w = W, max_n = hb * H * W * 3;
  for (int k = 0; k < 7; k++)
    {
      sc_conv2d_out_size (&t->pre[k], h, w, &h, &w);
      max_n = MAX (max_n, hb * h * w * t->pre[k].out_c);
    }
  for (int i = 0; i < t->layout.n; i++)
    {
      max_n = MAX (max_n, hb * h * w * t->dense[i].in_c); /* its SiLU'd input */
      sc_conv2d_out_size (&t->dense[i], h, w, &h, &w);
    }
  if (!(a = be_alloc (be, max_n, error)) || !(b = be_alloc (be, max_n, error)))
    goto fail;
  be->upload (a, hint, (size_t) (hb * H * W * 3));
  h = H, w = W;
  for (int k = 0; k < 7; k++)
    {
      int64_t oh, ow;
      sc_conv2d_out_size (&t->pre[k], h, w, &oh, &ow);
      sc_conv2d_forward (be, &t->pre[k], a, hb, h, w, b); /* [hb, oh, ow, out_k] */
      if (k < 6)
        be->unary (SC_UNARY_SILU, b, b, hb * oh * ow * t->pre[k].out_c);
      float *tmp = a;
      a = b, b = tmp;
      h = oh, w = ow;
    }
  /* a = pre_hint output [hb, H/8, W/8, hint_out]; each dense block is SiLU then conv. */
  const float *prev = a;
  int64_t prev_c = t->spec.hint_out;
  for (int i = 0; i < t->layout.n; i++)
    {
      ScConv2d *c = &t->dense[i];
      int64_t oh, ow;
      sc_conv2d_out_size (c, h, w, &oh, &ow);
      be->unary (SC_UNARY_SILU, prev, b, hb * h * w * prev_c);
      f->h[i] = oh, f->w[i] = ow, f->c[i] = c->out_c;
      if (!(f->g[i] = be_alloc (be, hb * oh * ow * c->out_c, error)))
        goto fail;
      sc_conv2d_forward (be, c, b, hb, h, w, f->g[i]);
      prev = f->g[i];
      prev_c = c->out_c;
      h = oh, w = ow;
    }
  be->free (a);
  be->free (b);
  return f;
fail:
  if (a)
    be->free (a);
  if (b)
    be->free (b);
  sc_hint_features_unref (f);
  return NULL;
}

typedef struct {
  const ScBackend *be;
  int64_t hb, H, W;
  guint64 hash;
  float *pixels; /* copy of the hint, compared on a hash hit */
  ScHintFeatures *features;
} CacheEntry;

static void
cache_entry_free (gpointer p)
{
  CacheEntry *e = p;
  g_free (e->pixels);
  sc_hint_features_unref (e->features);
  g_free (e);
}

static guint64
hash_pixels (const float *x, size_t n)
{
  const guint8 *p = (const guint8 *) x;
  guint64 h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n * sizeof (float); i++)
    h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

ScHintFeatures *
sc_csc_tuner_hint_features (ScCscTuner *t, const ScBackend *be, const float *hint, int64_t hb, int64_t H,
                            int64_t W, GError **error)
{
  if (hb < 1 || H < 1 || W < 1)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "Empty hint image (%" G_GINT64_FORMAT "×%"
                   G_GINT64_FORMAT ")", W, H);
      return NULL;
    }
  size_t n = (size_t) (hb * H * W * 3);
  guint64 hash = hash_pixels (hint, n);
  g_mutex_lock (&t->lock);
  for (GList *l = t->cache.head; l; l = l->next)
    {
      CacheEntry *e = l->data;
      if (e->be == be && e->hb == hb && e->H == H && e->W == W && e->hash == hash
          && memcmp (e->pixels, hint, n * sizeof (float)) == 0)
        {
          g_queue_unlink (&t->cache, l);
          g_queue_push_head_link (&t->cache, l); /* most recently used first */
          ScHintFeatures *f = sc_hint_features_ref (e->features);
          g_mutex_unlock (&t->lock);
          return f;
        }
    }
  ScHintFeatures *f = encode (t, be, hint, hb, H, W, error);
  if (f)
    {
      t->encoder_runs++;
      CacheEntry *e = g_new0 (CacheEntry, 1);
      e->be = be, e->hb = hb, e->H = H, e->W = W, e->hash = hash;
      e->pixels = g_memdup2 (hint, n * sizeof (float));
      e->features = sc_hint_features_ref (f);
      g_queue_push_head (&t->cache, e);
      while (t->cache.length > SC_HINT_CACHE_SIZE)
        cache_entry_free (g_queue_pop_tail (&t->cache));
    }
  g_mutex_unlock (&t->lock);
  return f;
}

int
sc_csc_tuner_encoder_runs (ScCscTuner *t)
{
  g_mutex_lock (&t->lock);
  int n = t->encoder_runs;
  g_mutex_unlock (&t->lock);
  return n;
}

void
sc_csc_tuner_clear_cache (ScCscTuner *t)
{
  g_mutex_lock (&t->lock);
  g_queue_clear_full (&t->cache, cache_entry_free);
  g_mutex_unlock (&t->lock);
}
