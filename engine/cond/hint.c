/* Condition → hint tensor: torchvision's Resize + CenterCrop on a PIL image, then ToTensor. */
#include "cond/hint.h"

#include "cond/resize.h"
#include "core/error.h"

#include <string.h>

/* Python's int(round(d / 2.0)) for d ≥ 0: halves go to the even neighbour. */
static int
half_to_even (int d)
{
  int k = d / 2;
  return (d % 2 == 1 && k % 2 == 1) ? k + 1 : k;
}

/* Source index of output index I along a side of length SRC cropped/padded to DST. */
static int
crop_source (int i, int src, int dst)
{
  return dst > src ? i - (dst - src) / 2 : i + half_to_even (src - dst);
}

ScImage *
sc_cond_fit (const ScImage *img, int width, int height, GError **error)
{
  g_return_val_if_fail (img != NULL, NULL);
  if (width < 1 || height < 1 || width > SC_IMAGE_MAX_SIDE || height > SC_IMAGE_MAX_SIDE)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "condition: target size %d×%d (want 1 to %d per side)",
                   width, height, SC_IMAGE_MAX_SIDE);
      return NULL;
    }
  g_autoptr (ScImage) rgb = sc_image_to_rgb8 (img, error);
  if (!rgb)
    return NULL;
  if (rgb->width == width && rgb->height == height)
    return g_steal_pointer (&rgb);

  /* Resize(size) with an int: the short side becomes size, the long one int(size · long / short). */
  const int size = MIN (width, height);
  const int w = rgb->width, h = rgb->height;
  const int sshort = MIN (w, h), slong = MAX (w, h);
  const double lng = (double) ((gint64) size * slong) / sshort;
  if (lng > SC_IMAGE_MAX_SIDE)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED,
                   "condition: a %d×%d image scaled to a short side of %d would be too large", w, h, size);
      return NULL;
    }
  const int nw = w <= h ? size : (int) lng, nh = w <= h ? (int) lng : size;
  g_autoptr (ScImage) scaled = sc_resize (rgb, nw, nh, SC_RESIZE_PIL_BILINEAR, error);
  if (!scaled)
    return NULL;

  ScImage *out = sc_image_new (width, height, 3, 8, error); /* zero: the padding colour */
  if (!out)
    return NULL;
  const guint8 *s = scaled->data;
  guint8 *o = out->data;
  for (int y = 0; y < height; y++)
    {
      int sy = crop_source (y, nh, height);
      if (sy < 0 || sy >= nh)
        continue;
      for (int x = 0; x < width; x++)
        {
          int sx = crop_source (x, nw, width);
          if (sx >= 0 && sx < nw)
            memcpy (o + ((size_t) y * width + x) * 3, s + ((size_t) sy * nw + sx) * 3, 3);
        }
    }
  return out;
}

ScTensor *
sc_cond_hint (const ScImage *img, int width, int height, GError **error)
{
  g_autoptr (ScImage) fit = sc_cond_fit (img, width, height, error);
  if (!fit)
    return NULL;
  ScTensor *t = sc_tensor_new_4d (1, height, width, 3, error);
  if (!t)
    return NULL;
  const guint8 *p = fit->data;
  for (size_t i = 0; i < (size_t) width * height * 3; i++)
    t->data[i] = p[i] / 255.0f;
  return t;
}
