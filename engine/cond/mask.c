/* Inpainting masks: from a painted image, grown by an exact Euclidean distance, feathered by a
 * Gaussian, and applied to the image to make the masked-image condition. */
#include "cond/mask.h"

#include "core/error.h"

#include <math.h>
#include <string.h>

ScMask *
sc_mask_new (int width, int height, GError **error)
{
  if (width < 1 || height < 1 || width > SC_IMAGE_MAX_SIDE || height > SC_IMAGE_MAX_SIDE)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "mask: size %d×%d (want 1 to %d per side)",
                   width, height, SC_IMAGE_MAX_SIDE);
      return NULL;
    }
  float *data = g_try_new0 (float, (size_t) width * height);
  if (!data)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "mask: out of memory for %d×%d", width, height);
      return NULL;
    }
  ScMask *m = g_new (ScMask, 1);
  *m = (ScMask) { width, height, data };
  return m;
}

void
sc_mask_free (ScMask *mask)
{
  if (!mask)
    return;
  g_free (mask->data);
  g_free (mask);
}

static double
sample (const ScImage *img, size_t i, int c)
{
  /* On the 8-bit scale, so one threshold serves both depths. */
  return img->bit_depth == 16 ? ((const guint16 *) img->data)[i * img->channels + c] / 257.0
                              : ((const guint8 *) img->data)[i * img->channels + c];
}

ScMask *
sc_mask_from_image (const ScImage *img, GError **error)
{
  g_return_val_if_fail (img != NULL, NULL);
  ScMask *m = sc_mask_new (img->width, img->height, error);
  if (!m)
    return NULL;
  const size_t n = (size_t) img->width * img->height;
  gboolean use_alpha = FALSE;
  if (img->channels == 4)
    for (size_t i = 0; i < n && !use_alpha; i++)
      use_alpha = sample (img, i, 3) < 255.0;
  for (size_t i = 0; i < n; i++)
    {
      double v;
      if (use_alpha)
        v = sample (img, i, 3);
      else if (img->channels >= 3)
        {
          double r = sample (img, i, 0), g = sample (img, i, 1), b = sample (img, i, 2);
          v = r == g && g == b ? r : 0.299 * r + 0.587 * g + 0.114 * b;
        }
      else
        v = sample (img, i, 0);
      m->data[i] = v > 127.5 ? 1.0f : 0.0f; /* "> 127" after rounding to 8 bits */
    }
  return m;
}

/* Squared distance transform of one line (Felzenszwalb & Huttenlocher's lower envelope of
 * parabolas): d[q] = min over p of f[p] + (q − p)². v and z are scratch of n and n + 1. */
static void
edt_line (const double *f, int n, double *d, int *v, double *z)
{
  int k = 0;
  v[0] = 0;
  z[0] = -HUGE_VAL;
  z[1] = HUGE_VAL;
  for (int q = 1; q < n; q++)
    {
      double s;
      for (;;)
        {
          int p = v[k];
          s = ((f[q] + (double) q * q) - (f[p] + (double) p * p)) / (2.0 * q - 2.0 * p);
          if (s <= z[k])
            k--;
          else
            break;
        }
      k++;
      v[k] = q;
      z[k] = s;
      z[k + 1] = HUGE_VAL;
    }
  k = 0;
  for (int q = 0; q < n; q++)
    {
      while (z[k + 1] < q)
        k++;
      d[q] = (double) (q - v[k]) * (q - v[k]) + f[v[k]];
    }
}

#define FAR 1e20 /* "no seed": finite so the envelope arithmetic stays finite */

ScMask *
sc_mask_grow (const ScMask *mask, int radius, GError **error)
{
  g_return_val_if_fail (mask != NULL, NULL);
  if (radius < 0 || radius > SC_IMAGE_MAX_SIDE)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "mask: grow radius %d (want 0 to %d)", radius,
                   SC_IMAGE_MAX_SIDE);
      return NULL;
    }
  const int w = mask->width, h = mask->height, n = MAX (w, h);
  g_autoptr (ScMask) out = sc_mask_new (w, h, error);
  if (!out)
    return NULL;
  g_autofree double *dist = g_try_new (double, (size_t) w * h);
  g_autofree double *f = g_try_new (double, n);
  g_autofree double *d = g_try_new (double, n);
  g_autofree double *z = g_try_new (double, n + 1);
  g_autofree int *v = g_try_new (int, n);
  if (!dist || !f || !d || !z || !v)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "mask: out of memory growing %d×%d", w, h);
      return NULL;
    }
  for (int y = 0; y < h; y++)
    {
      for (int x = 0; x < w; x++)
        f[x] = mask->data[(size_t) y * w + x] >= 0.5f ? 0.0 : FAR;
      edt_line (f, w, dist + (size_t) y * w, v, z);
    }
  const double r2 = (double) radius * radius;
  for (int x = 0; x < w; x++)
    {
      for (int y = 0; y < h; y++)
        f[y] = dist[(size_t) y * w + x];
      edt_line (f, h, d, v, z);
      for (int y = 0; y < h; y++)
        out->data[(size_t) y * w + x] = d[y] <= r2 ? 1.0f : 0.0f;
    }
  return g_steal_pointer (&out);
}

ScMask *
sc_mask_feather (const ScMask *mask, int radius, GError **error)
{
  g_return_val_if_fail (mask != NULL, NULL);
  if (radius < 0 || radius > 1024)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "mask: feather radius %d (want 0 to 1024)", radius);
      return NULL;
    }
  const int w = mask->width, h = mask->height;
  g_autoptr (ScMask) out = sc_mask_new (w, h, error);
  if (!out)
    return NULL;
  const size_t n = (size_t) w * h;
  if (radius == 0)
    {
      memcpy (out->data, mask->data, n * sizeof (float));
      return g_steal_pointer (&out);
    }
  g_autofree float *tmp = g_try_new (float, n);
  g_autofree double *k = g_new (double, 2 * radius + 1);
  if (!tmp)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "mask: out of memory feathering %d×%d", w, h);
      return NULL;
    }
  const double sigma = radius / 3.0;
  double sum = 0;
  for (int i = -radius; i <= radius; i++)
    sum += k[i + radius] = exp (-(double) i * i / (2 * sigma * sigma));
  for (int i = 0; i <= 2 * radius; i++)
    k[i] /= sum;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        double acc = 0;
        for (int i = -radius; i <= radius; i++)
          acc += k[i + radius] * mask->data[(size_t) y * w + CLAMP (x + i, 0, w - 1)];
        tmp[(size_t) y * w + x] = (float) acc;
      }
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        double acc = 0;
        for (int i = -radius; i <= radius; i++)
          acc += k[i + radius] * tmp[(size_t) CLAMP (y + i, 0, h - 1) * w + x];
        out->data[(size_t) y * w + x] = (float) CLAMP (acc, 0.0, 1.0);
      }
  return g_steal_pointer (&out);
}

ScImage *
sc_cond_inpaint (const ScImage *img, const ScMask *mask, GError **error)
{
  g_return_val_if_fail (img != NULL && mask != NULL, NULL);
  if (img->width != mask->width || img->height != mask->height)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_SHAPE, "inpaint: the mask is %d×%d but the image is %d×%d",
                   mask->width, mask->height, img->width, img->height);
      return NULL;
    }
  ScImage *out = sc_image_to_rgb8 (img, error);
  if (!out)
    return NULL;
  guint8 *p = out->data;
  for (size_t i = 0; i < (size_t) img->width * img->height; i++)
    if (mask->data[i] >= 0.5f)
      p[3 * i] = p[3 * i + 1] = p[3 * i + 2] = 0;
  return out;
}
