#include "core/tensor.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

float *
sc_alloc_floats (size_t n, GError **error)
{
  size_t bytes = (n ? n : 1) * sizeof (float);
  bytes = (bytes + 63) & ~(size_t) 63;
  void *p = NULL;
  if (n > SIZE_MAX / sizeof (float) || posix_memalign (&p, 64, bytes) != 0)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY,
                   "Out of memory: could not allocate %.1f MiB", (double) n * 4.0 / 1048576.0);
      return NULL;
    }
  memset (p, 0, bytes);
  return p;
}

void
sc_free_floats (float *p)
{
  free (p);
}

static gboolean
shape_valid (int ndim, const int64_t *shape, int64_t *numel)
{
  if (ndim < 0 || ndim > SC_MAX_DIMS)
    return FALSE;
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    {
      if (shape[i] < 0 || (shape[i] > 0 && n > INT64_MAX / shape[i]))
        return FALSE;
      n *= shape[i];
    }
  *numel = n;
  return TRUE;
}

ScTensor *
sc_tensor_new (int ndim, const int64_t *shape, GError **error)
{
  int64_t numel;
  if (!shape_valid (ndim, shape, &numel))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "Invalid tensor shape");
      return NULL;
    }
  float *data = sc_alloc_floats ((size_t) numel, error);
  if (!data)
    return NULL;
  ScTensor *t = g_new0 (ScTensor, 1);
  t->ndim = ndim;
  memcpy (t->shape, shape, sizeof (int64_t) * (size_t) ndim);
  t->data = data;
  t->owns_data = TRUE;
  return t;
}

ScTensor *
sc_tensor_new_2d (int64_t d0, int64_t d1, GError **error)
{
  int64_t s[2] = { d0, d1 };
  return sc_tensor_new (2, s, error);
}

ScTensor *
sc_tensor_new_3d (int64_t d0, int64_t d1, int64_t d2, GError **error)
{
  int64_t s[3] = { d0, d1, d2 };
  return sc_tensor_new (3, s, error);
}

ScTensor *
sc_tensor_new_4d (int64_t d0, int64_t d1, int64_t d2, int64_t d3, GError **error)
{
  int64_t s[4] = { d0, d1, d2, d3 };
  return sc_tensor_new (4, s, error);
}

ScTensor *
sc_tensor_wrap (float *data, int ndim, const int64_t *shape)
{
  g_return_val_if_fail (ndim >= 0 && ndim <= SC_MAX_DIMS, NULL);
  ScTensor *t = g_new0 (ScTensor, 1);
  t->ndim = ndim;
  memcpy (t->shape, shape, sizeof (int64_t) * (size_t) ndim);
  t->data = data;
  t->owns_data = FALSE;
  return t;
}

ScTensor *
sc_tensor_copy (const ScTensor *src, GError **error)
{
  ScTensor *t = sc_tensor_new (src->ndim, src->shape, error);
  if (t)
    memcpy (t->data, src->data, sizeof (float) * (size_t) sc_tensor_numel (src));
  return t;
}

void
sc_tensor_free (ScTensor *t)
{
  if (!t)
    return;
  if (t->owns_data)
    sc_free_floats (t->data);
  g_free (t);
}

int64_t
sc_tensor_numel (const ScTensor *t)
{
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++)
    n *= t->shape[i];
  return n;
}

gboolean
sc_tensor_reshape (ScTensor *t, int ndim, const int64_t *shape)
{
  int64_t numel;
  if (!shape_valid (ndim, shape, &numel) || numel != sc_tensor_numel (t))
    return FALSE;
  t->ndim = ndim;
  memcpy (t->shape, shape, sizeof (int64_t) * (size_t) ndim);
  return TRUE;
}

gboolean
sc_tensor_same_shape (const ScTensor *a, const ScTensor *b)
{
  if (a->ndim != b->ndim)
    return FALSE;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i])
      return FALSE;
  return TRUE;
}

char *
sc_tensor_shape_string (int ndim, const int64_t *shape)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

void
sc_nchw_to_nhwc (const float *src, float *dst, int64_t n, int64_t c, int64_t h, int64_t w)
{
  for (int64_t b = 0; b < n; b++)
    for (int64_t ch = 0; ch < c; ch++)
      for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++)
          dst[((b * h + y) * w + x) * c + ch] = src[((b * c + ch) * h + y) * w + x];
}

void
sc_nhwc_to_nchw (const float *src, float *dst, int64_t n, int64_t h, int64_t w, int64_t c)
{
  for (int64_t b = 0; b < n; b++)
    for (int64_t ch = 0; ch < c; ch++)
      for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++)
          dst[((b * c + ch) * h + y) * w + x] = src[((b * h + y) * w + x) * c + ch];
}
