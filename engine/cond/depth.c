/* Depth import: one value per pixel, stretched to the full 8-bit range. */
#include "cond/depth.h"

#include "core/error.h"

#include <math.h>

ScImage *
sc_cond_depth (const ScImage *img, GError **error)
{
  g_return_val_if_fail (img != NULL, NULL);
  const size_t n = (size_t) img->width * img->height;
  const int cn = img->channels;
  g_autofree double *v = g_try_new (double, n);
  if (!v)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "depth: out of memory for %d×%d pixels",
                   img->width, img->height);
      return NULL;
    }
  for (size_t i = 0; i < n; i++)
    {
      double s[3];
      for (int c = 0; c < MIN (cn, 3); c++)
        s[c] = img->bit_depth == 16 ? ((const guint16 *) img->data)[i * cn + c]
                                    : ((const guint8 *) img->data)[i * cn + c];
      v[i] = cn >= 3 ? sc_luminance (s[0], s[1], s[2]) : s[0];
    }
  double lo = v[0], hi = v[0];
  for (size_t i = 1; i < n; i++)
    lo = MIN (lo, v[i]), hi = MAX (hi, v[i]);
  ScImage *out = sc_image_new (img->width, img->height, 3, 8, error);
  if (!out)
    return NULL;
  guint8 *o = out->data;
  const double range = hi - lo;
  for (size_t i = 0; i < n; i++)
    {
      /* Flat input: no depth information, and no division by zero. */
      guint8 d = range > 0 ? (guint8) floor ((v[i] - lo) * 255.0 / range + 0.5) : 0;
      o[3 * i] = o[3 * i + 1] = o[3 * i + 2] = d;
    }
  return out;
}
