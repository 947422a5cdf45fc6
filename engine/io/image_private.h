/* Internal to the io room: the per-format loaders behind sc_image_load_memory. */
#pragma once
#include "io/image.h"

#include <stddef.h>

G_BEGIN_DECLS

/* Fails with SC_ERROR_UNSUPPORTED naming the limit when a side is out of range. */
gboolean sc_image_check_size (long width, long height, const char *what, GError **error);

ScImage *sc_png_load_memory (const void *data, size_t len, GError **error);
ScImage *sc_jpeg_load_memory (const void *data, size_t len, GError **error);

/* What sc_image_save_png writes, appended to out instead of a file (png_layers.c adds its chunks). */
gboolean sc_image_encode_png (const ScImage *img, const char *const *keys, const char *const *values, int n_text,
                              GByteArray *out, GError **error);

/* Returns a new image with EXIF orientation 1..8 undone (img itself for 1 or an unknown value). */
ScImage *sc_image_apply_orientation (ScImage *img, int orientation, GError **error);

G_END_DECLS

G_BEGIN_DECLS
/* sc_png_read_text on a buffer (for tests and fuzzers). */
GHashTable *sc_png_read_text_memory (const void *data, size_t len, GError **error);
G_END_DECLS
