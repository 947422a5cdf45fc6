/* Sketch → edge map: normalise the polarity to light-on-dark and threshold. */
#include "cond/sketch.h"

#include "cond/depth.h"
#include "core/error.h"

ScImage *
sc_cond_sketch (const ScImage *img, GError **error)
{
  g_return_val_if_fail (img != NULL, NULL);
  g_autoptr (ScImage) rgb = sc_image_to_rgb8 (img, error);
  if (!rgb)
    return NULL;
  const size_t n = (size_t) rgb->width * rgb->height;
  g_autofree double *lum = g_try_new (double, n);
  ScImage *out = lum ? sc_image_new (rgb->width, rgb->height, 3, 8, error) : NULL;
  if (!out)
    {
      if (!lum)
        g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "sketch: out of memory");
      return NULL;
    }
  const guint8 *p = rgb->data;
  double sum = 0;
  for (size_t i = 0; i < n; i++)
    sum += lum[i] = sc_luminance (p[3 * i], p[3 * i + 1], p[3 * i + 2]);
  const gboolean invert = sum / n > 127.5;
  guint8 *o = out->data;
  for (size_t i = 0; i < n; i++)
    {
      double v = invert ? 255.0 - lum[i] : lum[i];
      o[3 * i] = o[3 * i + 1] = o[3 * i + 2] = v > 127.0 ? 255 : 0;
    }
  return out;
}
