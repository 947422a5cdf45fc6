/* conv2d through oneDNN: one primitive per shape, created once and cached (creating primitives is far
 * slower than running small ones). Activations stay NHWC; the weights go to the blocked format oneDNN
 * prefers, reordered once per weight tensor and remembered by pointer (with a fingerprint of sampled
 * values, so freed-and-reused memory holding other weights is not mistaken for the old tensor).
 *
 * When the blocked layout is the same size as HWIO (every channel count a multiple of the block), the
 * reordered weights are written back over the caller's buffer: a second copy of every conv weight would
 * add 2.2 GB to an SD 1.5 U-Net. The buffer then stays blocked until sc_cpu_conv2d_weights_hwio puts it
 * back (the im2col path does so itself). Other shapes keep a separate cached copy. */
#include "backend/cpu/cpu_kernels.h"
#include "sc-config.h"

#if SC_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

typedef struct {
  int64_t batch, in_h, in_w, in_c, out_c;
  int kh, kw, stride, pt, pl, pb, pr, has_bias;
  int nthr; /* oneDNN sizes its work split by the OpenMP team size when the primitive is created */
} ConvKey;

typedef struct {
  dnnl_primitive_t prim;
  dnnl_memory_desc_t src_md, wei_md, user_wei_md, bias_md, dst_md;
} ConvPrim;

typedef struct {
  const float *w;     /* the caller's weights */
  uint64_t fingerprint; /* of the values now at w */
  dnnl_memory_desc_t md; /* layout of `data` */
  float *data;        /* a cached copy, or w itself when in_place */
  size_t bytes;
  gboolean in_place;  /* w holds the weights in layout md (no copy) */
} WeightEntry;

static GMutex lock;
static dnnl_engine_t engine;
static dnnl_stream_t stream;
static GHashTable *prims;   /* ConvKey → ConvPrim */
static GHashTable *weights; /* const float * → WeightEntry */
static size_t weight_bytes;
static gboolean broken;     /* oneDNN failed to start: use the gemm path */

/* Reordered weights beyond this are dropped wholesale (a model switch, or a VAE after the U-Net). */
#define WEIGHT_CACHE_MAX ((size_t) 3 << 30)

static guint
key_hash (gconstpointer p)
{
  const guint8 *b = p;
  guint h = 2166136261u;
  for (size_t i = 0; i < sizeof (ConvKey); i++)
    h = (h ^ b[i]) * 16777619u;
  return h;
}

static gboolean
key_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, sizeof (ConvKey)) == 0;
}

static void
prim_free (gpointer p)
{
  ConvPrim *cp = p;
  dnnl_primitive_destroy (cp->prim);
  g_free (cp);
}

static void
weight_free (gpointer p)
{
  WeightEntry *e = p;
  if (!e->in_place)
    sc_free_floats (e->data);
  g_free (e);
}

/* Only copies are dropped from the cache: an in-place entry is the one record of w's layout. */
static gboolean
is_copy (gpointer key, gpointer value, gpointer user)
{
  return !((WeightEntry *) value)->in_place;
}

static gboolean
ensure_engine (void)
{
  if (engine || broken)
    return !broken;
  if (dnnl_engine_create (&engine, dnnl_cpu, 0) != dnnl_success
      || dnnl_stream_create (&stream, engine, dnnl_stream_default_flags) != dnnl_success)
    {
      g_warning ("oneDNN: could not create a CPU engine; using the built-in convolution");
      broken = TRUE;
      return FALSE;
    }
  prims = g_hash_table_new_full (key_hash, key_equal, g_free, prim_free);
  weights = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, weight_free);
  return TRUE;
}

static ConvPrim *
get_prim (const ScConv2dDesc *d, gboolean has_bias, int nthr)
{
  /* Hashed and compared bytewise: the padding must be zero too. */
  ConvKey key;
  memset (&key, 0, sizeof key);
  key.batch = d->batch;
  key.in_h = d->in_h;
  key.in_w = d->in_w;
  key.in_c = d->in_c;
  key.out_c = d->out_c;
  key.kh = d->kernel_h;
  key.kw = d->kernel_w;
  key.stride = d->stride;
  key.pt = d->pad_top;
  key.pl = d->pad_left;
  key.pb = d->pad_bottom;
  key.pr = d->pad_right;
  key.has_bias = has_bias;
  key.nthr = nthr;
  ConvPrim *cp = g_hash_table_lookup (prims, &key);
  if (cp)
    return cp;

  cp = g_new0 (ConvPrim, 1);
  dnnl_dims_t src_dims = { d->batch, d->in_c, d->in_h, d->in_w };
  dnnl_dims_t wei_dims = { d->out_c, d->in_c, d->kernel_h, d->kernel_w };
  dnnl_dims_t bias_dims = { d->out_c };
  dnnl_dims_t dst_dims = { d->batch, d->out_c, d->out_h, d->out_w };
  dnnl_dims_t strides = { d->stride, d->stride };
  dnnl_dims_t pad_l = { d->pad_top, d->pad_left };
  dnnl_dims_t pad_r = { d->pad_bottom, d->pad_right };
  dnnl_memory_desc_t any_wei;
  dnnl_convolution_desc_t cd;
  dnnl_primitive_desc_t pd = NULL;
  gboolean ok = dnnl_memory_desc_init_by_tag (&cp->src_md, 4, src_dims, dnnl_f32, dnnl_nhwc) == dnnl_success
                && dnnl_memory_desc_init_by_tag (&cp->user_wei_md, 4, wei_dims, dnnl_f32, dnnl_hwio) == dnnl_success
                && dnnl_memory_desc_init_by_tag (&any_wei, 4, wei_dims, dnnl_f32, dnnl_format_tag_any) == dnnl_success
                && dnnl_memory_desc_init_by_tag (&cp->bias_md, 1, bias_dims, dnnl_f32, dnnl_x) == dnnl_success
                && dnnl_memory_desc_init_by_tag (&cp->dst_md, 4, dst_dims, dnnl_f32, dnnl_nhwc) == dnnl_success
                && dnnl_convolution_forward_desc_init (&cd, dnnl_forward_inference, dnnl_convolution_direct,
                                                       &cp->src_md, &any_wei, has_bias ? &cp->bias_md : NULL,
                                                       &cp->dst_md, strides, pad_l, pad_r) == dnnl_success
                && dnnl_primitive_desc_create (&pd, &cd, NULL, engine, NULL) == dnnl_success;
  if (ok)
    {
      cp->wei_md = *dnnl_primitive_desc_query_md (pd, dnnl_query_weights_md, 0);
      ok = dnnl_primitive_create (&cp->prim, pd) == dnnl_success;
    }
  if (pd)
    dnnl_primitive_desc_destroy (pd);
  if (!ok)
    {
      g_free (cp);
      return NULL;
    }
  g_hash_table_insert (prims, g_memdup2 (&key, sizeof key), cp);
  return cp;
}

/* Cheap identity check for a weight tensor: 64 sampled values and the size. */
static uint64_t
fingerprint (const float *w, size_t n)
{
  uint64_t h = 1469598103934665603ull ^ n;
  for (size_t i = 0; i < 64; i++)
    {
      uint32_t bits;
      memcpy (&bits, w + (i * (n - 1)) / 63, sizeof bits);
      h = (h ^ bits) * 1099511628211ull;
    }
  return h;
}

static gboolean
reorder (const dnnl_memory_desc_t *src_md, const float *src, const dnnl_memory_desc_t *dst_md, float *dst)
{
  dnnl_primitive_desc_t rpd = NULL;
  dnnl_primitive_t r = NULL;
  dnnl_memory_t ms = NULL, md = NULL;
  gboolean ok = dnnl_reorder_primitive_desc_create (&rpd, src_md, engine, dst_md, engine, NULL) == dnnl_success
                && dnnl_primitive_create (&r, rpd) == dnnl_success
                && dnnl_memory_create (&ms, src_md, engine, (void *) src) == dnnl_success
                && dnnl_memory_create (&md, dst_md, engine, dst) == dnnl_success;
  if (ok)
    {
      dnnl_exec_arg_t args[2] = { { DNNL_ARG_FROM, ms }, { DNNL_ARG_TO, md } };
      ok = dnnl_primitive_execute (r, stream, 2, args) == dnnl_success && dnnl_stream_wait (stream) == dnnl_success;
    }
  if (ms)
    dnnl_memory_destroy (ms);
  if (md)
    dnnl_memory_destroy (md);
  if (r)
    dnnl_primitive_destroy (r);
  if (rpd)
    dnnl_primitive_desc_destroy (rpd);
  return ok;
}

/* Rewrites the n floats at w from layout `from` to layout `to` (the same size) through a scratch copy. */
static gboolean
reorder_in_place (float *w, size_t n, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to)
{
  float *tmp = sc_alloc_floats (n, NULL);
  gboolean ok = tmp && reorder (from, w, to, tmp);
  if (ok)
    memcpy (w, tmp, n * sizeof (float));
  sc_free_floats (tmp);
  return ok;
}

static void
forget (WeightEntry *e)
{
  if (!e->in_place)
    weight_bytes -= e->bytes;
  g_hash_table_remove (weights, e->w);
}

/* The entry for w if it still describes the values there, else NULL (stale entries are dropped). */
static WeightEntry *
lookup_weights (const float *w, size_t n)
{
  WeightEntry *e = g_hash_table_lookup (weights, w);
  if (e && e->fingerprint != fingerprint (w, n))
    {
      /* Freed and reused, or overwritten: whatever is at w now is plain HWIO. */
      forget (e);
      e = NULL;
    }
  return e;
}

/* Puts an in-place repacked w back in HWIO order. Lock held. */
static gboolean
restore_hwio (WeightEntry *e, size_t n, const dnnl_memory_desc_t *hwio_md)
{
  gboolean ok = reorder_in_place ((float *) e->w, n, &e->md, hwio_md);
  if (ok)
    forget (e);
  return ok;
}

/* The weights in the primitive's layout: w itself (HWIO, or repacked in place) or a cached copy. */
static const float *
get_weights (const ConvPrim *cp, const ScConv2dDesc *d, const float *w)
{
  size_t n = (size_t) (d->kernel_h * d->kernel_w * d->in_c * d->out_c);
  WeightEntry *e = lookup_weights (w, n);
  if (e && dnnl_memory_desc_equal (&e->md, &cp->wei_md))
    return e->data;
  if (e && e->in_place && !restore_hwio (e, n, &cp->user_wei_md))
    return NULL;
  if (e && !e->in_place)
    forget (e);
  /* w holds HWIO now. */
  if (dnnl_memory_desc_equal (&cp->wei_md, &cp->user_wei_md))
    return w;
  size_t bytes = dnnl_memory_desc_get_size (&cp->wei_md);
  gboolean in_place = bytes == n * sizeof (float);
  if (in_place)
    {
      if (!reorder_in_place ((float *) w, n, &cp->user_wei_md, &cp->wei_md))
        return NULL;
    }
  else if (weight_bytes + bytes > WEIGHT_CACHE_MAX)
    {
      g_hash_table_foreach_remove (weights, is_copy, NULL);
      weight_bytes = 0;
    }
  float *data = (float *) w;
  if (!in_place)
    {
      data = sc_alloc_floats ((bytes + 3) / 4, NULL);
      if (!data || !reorder (&cp->user_wei_md, w, &cp->wei_md, data))
        {
          sc_free_floats (data);
          return NULL;
        }
      weight_bytes += bytes;
    }
  e = g_new0 (WeightEntry, 1);
  e->w = w;
  e->fingerprint = fingerprint (w, n);
  e->md = cp->wei_md;
  e->data = data;
  e->bytes = bytes;
  e->in_place = in_place;
  g_hash_table_insert (weights, (gpointer) w, e);
  return data;
}

void
sc_cpu_conv2d_weights_hwio (float *w, int64_t kh, int64_t kw, int64_t in_c, int64_t out_c)
{
  g_mutex_lock (&lock);
  size_t n = (size_t) (kh * kw * in_c * out_c);
  WeightEntry *e = weights && n ? lookup_weights (w, n) : NULL;
  if (e && e->in_place)
    {
      dnnl_dims_t dims = { out_c, in_c, kh, kw };
      dnnl_memory_desc_t hwio;
      if (dnnl_memory_desc_init_by_tag (&hwio, 4, dims, dnnl_f32, dnnl_hwio) != dnnl_success
          || !restore_hwio (e, n, &hwio))
        g_error ("oneDNN: could not restore conv weights to HWIO");
    }
  g_mutex_unlock (&lock);
}

gboolean
sc_cpu_conv2d_dnnl (const ScConv2dDesc *d, const float *x, const float *w, const float *bias, float *y)
{
  g_mutex_lock (&lock);
  gboolean ok = FALSE;
  ConvPrim *cp = NULL;
  const float *wr = NULL;
  /* Small convolutions run on the calling thread: oneDNN forks no team when it sees one thread. */
  double macs = (double) (d->batch * d->out_h * d->out_w) * (double) (d->kernel_h * d->kernel_w * d->in_c)
                * (double) d->out_c;
  int team = omp_in_parallel () ? 1 : omp_get_max_threads ();
  int nthr = macs < SC_CPU_MIN_PARALLEL_MACS ? 1 : team;
  if (nthr != team)
    omp_set_num_threads (nthr);
  if (ensure_engine () && (cp = get_prim (d, bias != NULL, nthr)) && (wr = get_weights (cp, d, w)))
    {
      dnnl_memory_t m[4] = { NULL, NULL, NULL, NULL };
      ok = dnnl_memory_create (&m[0], &cp->src_md, engine, (void *) x) == dnnl_success
           && dnnl_memory_create (&m[1], &cp->wei_md, engine, (void *) wr) == dnnl_success
           && dnnl_memory_create (&m[2], &cp->dst_md, engine, y) == dnnl_success
           && (!bias || dnnl_memory_create (&m[3], &cp->bias_md, engine, (void *) bias) == dnnl_success);
      if (ok)
        {
          dnnl_exec_arg_t args[4] = { { DNNL_ARG_SRC, m[0] }, { DNNL_ARG_WEIGHTS, m[1] },
                                      { DNNL_ARG_DST, m[2] }, { DNNL_ARG_BIAS, m[3] } };
          ok = dnnl_primitive_execute (cp->prim, stream, bias ? 4 : 3, args) == dnnl_success
               && dnnl_stream_wait (stream) == dnnl_success;
        }
      for (int i = 0; i < 4; i++)
        if (m[i])
          dnnl_memory_destroy (m[i]);
    }
  if (nthr != team)
    omp_set_num_threads (team);
  g_mutex_unlock (&lock);
  return ok;
}

#else

gboolean
sc_cpu_conv2d_dnnl (const ScConv2dDesc *d, const float *x, const float *w, const float *bias, float *y)
{
  return FALSE;
}

void
sc_cpu_conv2d_weights_hwio (float *w, int64_t kh, int64_t kw, int64_t in_c, int64_t out_c)
{
}

#endif
