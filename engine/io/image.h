/* Images in and out: PNG (8/16-bit, text chunks) through libpng, JPEG through libjpeg with the EXIF
 * orientation applied. Pixels are row-major interleaved, top row first.
 * Loaders refuse images wider or taller than SC_IMAGE_MAX_SIDE before allocating anything, so a
 * header that lies about its size cannot make us allocate gigabytes (at most 16384² RGBA16 = 2 GiB). */
#pragma once
#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct {
  int width, height;
  int channels;   /* 1 (grey), 3 (RGB) or 4 (RGBA) */
  int bit_depth;  /* 8 (data is uint8) or 16 (data is uint16 in native byte order) */
  void *data;
} ScImage;

#define SC_IMAGE_MAX_SIDE 16384

ScImage *sc_image_new (int width, int height, int channels, int bit_depth, GError **error);
void sc_image_free (ScImage *img);
/* Loads PNG or JPEG (sniffed from the bytes, not the name). JPEG EXIF orientation is applied.
 * Broken or truncated files fail with SC_ERROR_FORMAT; never a crash.
 * PNG: palette and sub-8-bit grey are expanded to 8 bits, tRNS becomes an alpha channel, grey+alpha
 * becomes RGBA; 16-bit stays 16-bit. JPEG: grey stays grey, everything else becomes RGB. */
ScImage *sc_image_load (const char *path, GError **error);
ScImage *sc_image_load_memory (const void *data, size_t len, GError **error);
/* Converts to 8-bit RGB: grey is replicated, alpha is composited over WHITE (what AUTOMATIC1111 does
 * for img2img inputs by default, and what viewers show), 16-bit values are rounded to 8 bits. */
ScImage *sc_image_to_rgb8 (const ScImage *img, GError **error);

/* Writes PNG atomically with tEXt/iTXt chunks: keys[i] → values[i] (n_text pairs; ASCII values go in
 * tEXt, other UTF-8 values in iTXt). Keys must be 1-79 printable Latin-1 characters (given as UTF-8). */
gboolean sc_image_save_png (const ScImage *img, const char *path, const char *const *keys,
                            const char *const *values, int n_text, GError **error);
/* Reads a PNG's text chunks (tEXt, zTXt, iTXt; CRCs checked, pixels not decoded) into a new table
 * (key → value, both owned UTF-8; Latin-1 converted). A repeated key keeps its last value. */
GHashTable *sc_png_read_text (const char *path, GError **error);

/* Float conversions: image ↔ [H, W, 3] floats in [0, 1]. to_float accepts any image and converts as
 * sc_image_to_rgb8 does, but keeps the precision of 16-bit data; from_float rounds to 8-bit RGB. */
float *sc_image_to_float_rgb (const ScImage *img, GError **error);
ScImage *sc_image_from_float_rgb (const float *data, int width, int height, GError **error); /* clamps */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScImage, sc_image_free)

G_END_DECLS
