/* Images in and out: PNG (8/16-bit, text chunks) through libpng, JPEG through libjpeg with the EXIF
 * orientation applied. Pixels are row-major interleaved, top row first. */
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

ScImage *sc_image_new (int width, int height, int channels, int bit_depth, GError **error);
void sc_image_free (ScImage *img);
/* Loads PNG or JPEG (sniffed from the bytes, not the name). JPEG EXIF orientation is applied.
 * Broken or truncated files fail with SC_ERROR_FORMAT; never a crash. */
ScImage *sc_image_load (const char *path, GError **error);
ScImage *sc_image_load_memory (const void *data, size_t len, GError **error);
/* Converts to 8-bit RGB (grey expanded, alpha dropped over black... documented in the .c). */
ScImage *sc_image_to_rgb8 (const ScImage *img, GError **error);

/* Writes PNG atomically with tEXt/iTXt chunks: keys[i] → values[i] (n_text pairs; UTF-8 values go in iTXt). */
gboolean sc_image_save_png (const ScImage *img, const char *path, const char *const *keys,
                            const char *const *values, int n_text, GError **error);
/* Reads a PNG's text chunks into a new table (key → value, both owned). */
GHashTable *sc_png_read_text (const char *path, GError **error);

/* Float conversions: RGB8 image ↔ [H, W, 3] floats in [0, 1]. */
float *sc_image_to_float_rgb (const ScImage *img, GError **error);
ScImage *sc_image_from_float_rgb (const float *data, int width, int height, GError **error); /* clamps */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScImage, sc_image_free)

G_END_DECLS
