/* libFuzzer target: sc_png_read_layers_memory on arbitrary bytes. Every layer it hands out must be within
 * the limits, and writing the layers back and reading them again must give the same pixels. Any crash,
 * sanitizer report, leak, or a failure without a message is a bug.
 *
 * Build and run (clang with libFuzzer; on Debian: clang-14 + libclang-rt-14-dev):
 *   CC=clang meson setup build-fuzz -Dfuzzing=true
 *   ninja -C build-fuzz tests/fuzz/fuzz-png-layers
 *   mkdir -p /tmp/layers-corpus
 *   build-fuzz/tests/fuzz/fuzz-png-layers /tmp/layers-corpus tests/fuzz/corpus/png-layers \
 *       -dict=tests/fuzz/png-layers.dict -max_len=4096 -max_total_time=300 -artifact_prefix=tests/fuzz/
 * New inputs go to the first folder, so the committed corpus stays as it is. Crashes are written to
 * tests/fuzz/crash-* (ignored by git); reproduce one with `build-fuzz/tests/fuzz/fuzz-png-layers FILE`.
 * The committed corpus is a -merge=1 of a few minutes' run from three hand-made seeds (a PNG with a grey
 * and an RGB layer, one with an RGBA layer, one without); test-png-layers reads every file of it. */
#include "core/error.h"
#include "io/image.h"
#include "io/png_layers.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* The smallest valid PNG: 1×1 grey, no text. */
static const uint8_t tiny_png[] = {
  0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
  0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0, 0x3a, 0x7e, 0x9b, 0x55,
  0, 0, 0, 10, 'I', 'D', 'A', 'T', 0x78, 0x9c, 0x63, 0x60, 0, 0, 0, 2, 0, 1, 0x48, 0xaf, 0xa4, 0x71,
  0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82,
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  GPtrArray *warnings = g_ptr_array_new_with_free_func (g_free);
  GHashTable *layers = sc_png_read_layers_memory (size ? (const void *) data : (const void *) "", size, warnings,
                                                  &error);
  if (!layers)
    {
      if (error == NULL || error->domain != SC_ERROR || error->message == NULL)
        abort (); /* a failure must say why */
      g_error_free (error);
      g_ptr_array_unref (warnings);
      return 0;
    }
  for (guint i = 0; i < warnings->len; i++)
    if (!g_ptr_array_index (warnings, i) || !*(char *) g_ptr_array_index (warnings, i))
      abort ();

  /* every layer within the limits, and written back bit-exact */
  guint n = g_hash_table_size (layers);
  if (n > SC_PNG_LAYERS_MAX)
    abort ();
  ScPngLayer *out = g_new0 (ScPngLayer, n + 1);
  GHashTableIter it;
  gpointer key, value;
  guint k = 0;
  g_hash_table_iter_init (&it, layers);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      const ScImage *img = value;
      if (img->width < 1 || img->height < 1 || img->width > SC_PNG_LAYER_MAX_SIDE
          || img->height > SC_PNG_LAYER_MAX_SIDE || img->bit_depth != 8)
        abort ();
      out[k++] = (ScPngLayer) { key, img };
    }
  GByteArray *png = g_byte_array_new ();
  g_byte_array_append (png, tiny_png, sizeof tiny_png);
  if (!sc_png_add_layers (png, out, (int) n, NULL))
    abort ();
  GHashTable *again = sc_png_read_layers_memory (png->data, png->len, NULL, NULL);
  if (!again || g_hash_table_size (again) != n)
    abort ();
  for (guint i = 0; i < n; i++)
    {
      const ScImage *a = out[i].image, *b = g_hash_table_lookup (again, out[i].name);
      if (!b || a->width != b->width || a->height != b->height || a->channels != b->channels
          || memcmp (a->data, b->data, (size_t) a->width * a->height * a->channels) != 0)
        abort ();
    }
  g_hash_table_unref (again);
  g_byte_array_unref (png);
  g_free (out);
  g_hash_table_unref (layers);
  g_ptr_array_unref (warnings);
  return 0;
}
