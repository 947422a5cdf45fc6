/* Layer pictures inside a saved PNG: the pictures people paint or load for a render (condition layers,
 * the inpainting mask) travel with the image, so opening it brings their work back. Each layer is one
 * private ancillary chunk (see png_layers.c for the layout and why); programs that do not know it skip
 * it, so the file stays an ordinary PNG with its text chunks for A1111, ComfyUI and viewers. */
#pragma once
#include "io/image.h"

G_BEGIN_DECLS

#define SC_PNG_LAYER_MAX_SIDE 4096          /* per side, in pixels */
#define SC_PNG_LAYERS_MAX 64                /* layers read from one file */
#define SC_PNG_LAYERS_MAX_BYTES (256u << 20) /* decoded pixels read from one file, all layers together */

typedef struct {
  const char *name;     /* 1-79 characters of A-Z a-z 0-9 - _ . : (e.g. "mask", "condition-1") */
  const ScImage *image; /* 8-bit, 1, 3 or 4 channels, at most SC_PNG_LAYER_MAX_SIDE per side */
} ScPngLayer;

/* sc_image_save_png, plus one layer chunk per layer (after the pixels, before IEND). Atomic. */
gboolean sc_image_save_png_layers (const ScImage *img, const char *path, const char *const *keys,
                                   const char *const *values, int n_text, const ScPngLayer *layers,
                                   int n_layers, GError **error);
/* Inserts the layer chunks into an encoded PNG held in png (before its IEND chunk). */
gboolean sc_png_add_layers (GByteArray *png, const ScPngLayer *layers, int n_layers, GError **error);

/* Reads a PNG's layer chunks into a new table: name → ScImage (both owned; pixels not touched).
 * A broken layer chunk (bad CRC or header, a size over the limits, corrupt, short or long data, a
 * repeated name) is left out and described by one line appended to warnings (a GPtrArray of owned
 * strings; may be NULL), so the image and the other layers still open. Fails only when the file cannot
 * be read or is not a PNG. A file without layers gives an empty table. */
GHashTable *sc_png_read_layers (const char *path, GPtrArray *warnings, GError **error);
GHashTable *sc_png_read_layers_memory (const void *data, size_t len, GPtrArray *warnings, GError **error);

G_END_DECLS
