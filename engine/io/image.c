/* ScImage: allocation, format sniffing, orientation and the pixel conversions shared by the loaders. */
#include "io/image.h"

#include "core/error.h"
#include "io/image_private.h"

#include <math.h>
#include <string.h>

static const guint8 png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

gboolean
sc_image_check_size (long width, long height, const char *what, GError **error)
{
  if (width < 1 || height < 1)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "%s: invalid image size %ld×%ld", what, width, height);
      return FALSE;
    }
  if (width > SC_IMAGE_MAX_SIDE || height > SC_IMAGE_MAX_SIDE)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED,
                   "%s: image of %ld×%ld pixels is larger than the limit of %d per side",
                   what, width, height, SC_IMAGE_MAX_SIDE);
      return FALSE;
    }
  return TRUE;
}

ScImage *
sc_image_new (int width, int height, int channels, int bit_depth, GError **error)
{
  if (channels != 1 && channels != 3 && channels != 4)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "image: %d channels (want 1, 3 or 4)", channels);
      return NULL;
    }
  if (bit_depth != 8 && bit_depth != 16)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "image: bit depth %d (want 8 or 16)", bit_depth);
      return NULL;
    }
  if (!sc_image_check_size (width, height, "image", error))
    return NULL;

  size_t bytes = (size_t) width * (size_t) height * (size_t) channels * (size_t) (bit_depth / 8);
  void *data = g_try_malloc0 (bytes);
  if (data == NULL)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "image: cannot allocate %zu bytes for %d×%d pixels",
                   bytes, width, height);
      return NULL;
    }
  ScImage *img = g_new (ScImage, 1);
  *img = (ScImage) { width, height, channels, bit_depth, data };
  return img;
}

void
sc_image_free (ScImage *img)
{
  if (img == NULL)
    return;
  g_free (img->data);
  g_free (img);
}

ScImage *
sc_image_load_memory (const void *data, size_t len, GError **error)
{
  const guint8 *p = data;
  if (len >= 8 && memcmp (p, png_magic, 8) == 0)
    return sc_png_load_memory (data, len, error);
  if (len >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
    return sc_jpeg_load_memory (data, len, error);
  g_set_error (error, SC_ERROR, SC_ERROR_FORMAT,
               len == 0 ? "image: the file is empty" : "image: not a PNG or JPEG file");
  return NULL;
}

ScImage *
sc_image_load (const char *path, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GMappedFile) mf = g_mapped_file_new (path, FALSE, &local);
  if (mf == NULL)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_IO, "%s", local->message);
      return NULL;
    }
  ScImage *img = sc_image_load_memory (g_mapped_file_get_contents (mf), g_mapped_file_get_length (mf), &local);
  if (img == NULL)
    g_set_error (error, SC_ERROR, local->code, "%s: %s", path, local->message);
  return img;
}

/* EXIF orientation o says how the stored pixels must be transformed for display. For output pixel
 * (x, y) of the displayed image, src_xy gives the stored pixel; w, h are the stored dimensions. */
static inline void
src_xy (int o, int x, int y, int w, int h, int *sx, int *sy)
{
  switch (o)
    {
    case 2: *sx = w - 1 - x; *sy = y; break;                 /* mirrored left-right */
    case 3: *sx = w - 1 - x; *sy = h - 1 - y; break;         /* rotated 180° */
    case 4: *sx = x; *sy = h - 1 - y; break;                 /* mirrored top-bottom */
    case 5: *sx = y; *sy = x; break;                         /* transposed */
    case 6: *sx = y; *sy = h - 1 - x; break;                 /* needs 90° clockwise */
    case 7: *sx = w - 1 - y; *sy = h - 1 - x; break;         /* transversed */
    case 8: *sx = w - 1 - y; *sy = x; break;                 /* needs 90° counter-clockwise */
    default: *sx = x; *sy = y; break;
    }
}

ScImage *
sc_image_apply_orientation (ScImage *img, int orientation, GError **error)
{
  if (orientation < 2 || orientation > 8)
    return img;
  gboolean swap = orientation >= 5;
  int ow = swap ? img->height : img->width;
  int oh = swap ? img->width : img->height;
  ScImage *out = sc_image_new (ow, oh, img->channels, img->bit_depth, error);
  if (out == NULL)
    return NULL;
  size_t px = (size_t) img->channels * (size_t) (img->bit_depth / 8);
  const guint8 *src = img->data;
  guint8 *dst = out->data;
  for (int y = 0; y < oh; y++)
    for (int x = 0; x < ow; x++)
      {
        int sx, sy;
        src_xy (orientation, x, y, img->width, img->height, &sx, &sy);
        memcpy (dst + ((size_t) y * ow + x) * px, src + ((size_t) sy * img->width + sx) * px, px);
      }
  return out;
}

/* Sample c (0..channels-1) of pixel i, scaled so that full intensity is `max` (255 or 65535). */
static inline guint32
sample (const ScImage *img, size_t i, int c)
{
  size_t k = i * (size_t) img->channels + (size_t) c;
  return img->bit_depth == 16 ? ((const guint16 *) img->data)[k] : ((const guint8 *) img->data)[k];
}

/* RGB of pixel i in [0, max]: grey replicated, alpha over white; exact in integers. */
static inline void
pixel_rgb (const ScImage *img, size_t i, guint32 max, guint32 rgb[3])
{
  for (int c = 0; c < 3; c++)
    rgb[c] = sample (img, i, img->channels == 1 ? 0 : c);
  if (img->channels == 4)
    {
      guint64 a = sample (img, i, 3);
      for (int c = 0; c < 3; c++)
        rgb[c] = (guint32) ((rgb[c] * a + (guint64) max * (max - a) + max / 2) / max);
    }
}

ScImage *
sc_image_to_rgb8 (const ScImage *img, GError **error)
{
  g_return_val_if_fail (img != NULL, NULL);
  ScImage *out = sc_image_new (img->width, img->height, 3, 8, error);
  if (out == NULL)
    return NULL;
  size_t n = (size_t) img->width * (size_t) img->height;
  guint32 max = img->bit_depth == 16 ? 65535 : 255;
  guint8 *dst = out->data;
  for (size_t i = 0; i < n; i++)
    {
      guint32 rgb[3];
      pixel_rgb (img, i, max, rgb);
      for (int c = 0; c < 3; c++)
        /* 16 → 8 bits rounds to nearest: v / 257, i.e. (v * 255 + 32767) / 65535. */
        dst[i * 3 + c] = (guint8) (max == 255 ? rgb[c] : (rgb[c] * 255 + 32767) / 65535);
    }
  return out;
}

float *
sc_image_to_float_rgb (const ScImage *img, GError **error)
{
  g_return_val_if_fail (img != NULL, NULL);
  size_t n = (size_t) img->width * (size_t) img->height;
  float *out = g_try_new (float, n * 3);
  if (out == NULL)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "image: cannot allocate %zu floats", n * 3);
      return NULL;
    }
  guint32 max = img->bit_depth == 16 ? 65535 : 255;
  for (size_t i = 0; i < n; i++)
    {
      guint32 rgb[3];
      pixel_rgb (img, i, max, rgb);
      for (int c = 0; c < 3; c++)
        out[i * 3 + c] = (float) rgb[c] / (float) max;
    }
  return out;
}

ScImage *
sc_image_from_float_rgb (const float *data, int width, int height, GError **error)
{
  ScImage *out = sc_image_new (width, height, 3, 8, error);
  if (out == NULL)
    return NULL;
  size_t n = (size_t) width * (size_t) height * 3;
  guint8 *dst = out->data;
  for (size_t i = 0; i < n; i++)
    {
      float v = data[i];
      /* NaN fails both comparisons and lands on 0, like a negative value. */
      v = v > 1.0f ? 1.0f : (v >= 0.0f ? v : 0.0f);
      dst[i] = (guint8) (v * 255.0f + 0.5f);
    }
  return out;
}
