/* libFuzzer target: sc_safetensors_open_memory on arbitrary bytes, then every entry walked, looked up
 * by name and (when small) converted to f32, and the metadata read back. Any crash, sanitizer report,
 * leak or a reader that hands out data outside the input is a bug.
 *
 * Build and run (clang with libFuzzer; on Debian: clang-14 + libclang-rt-14-dev):
 *   CC=clang meson setup build-fuzz -Dfuzzing=true
 *   ninja -C build-fuzz tests/fuzz/fuzz-safetensors
 *   mkdir -p /tmp/st-corpus
 *   build-fuzz/tests/fuzz/fuzz-safetensors /tmp/st-corpus tests/fuzz/corpus/safetensors \
 *       -dict=tests/fuzz/safetensors.dict -max_len=4096 -max_total_time=300 -artifact_prefix=tests/fuzz/
 * New inputs go to the first folder, so the committed corpus stays as it is. Crashes are written to
 * tests/fuzz/crash-* (ignored by git); reproduce one with `build-fuzz/tests/fuzz/fuzz-safetensors FILE`.
 * To refresh the committed corpus, minimise into a fresh folder, keeping files under 4 KB:
 *   mkdir /tmp/st-min && build-fuzz/tests/fuzz/fuzz-safetensors -merge=1 -max_len=4096 \
 *       /tmp/st-min tests/fuzz/corpus/safetensors /tmp/st-corpus
 * -merge=1 keeps every input that adds a feature (a few hundred, most of them one error branch each); the
 * committed set is kept to ~40 files: the valid hand-made seeds plus the inputs that add the most new
 * coverage edges, picked greedily from per-file coverage.
 * test-safetensors runs every file of tests/fuzz/corpus/safetensors through the parser, so the corpus is
 * exercised by every `meson test` even without clang. */
#include "core/dtype.h"
#include "core/error.h"
#include "io/safetensors.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define MAX_CONVERT 65536 /* elements; bigger entries are only range-checked */

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  ScSafetensors *st = sc_safetensors_open_memory (size ? (const void *) data : (const void *) "", size, &error);
  if (!st)
    {
      if (error == NULL || error->domain != SC_ERROR || error->message == NULL)
        abort (); /* a failure must say why */
      g_error_free (error);
      return 0;
    }
  if (error)
    abort ();

  size_t n = sc_safetensors_count (st);
  for (size_t i = 0; i < n; i++)
    {
      const ScStEntry *e = sc_safetensors_get (st, i);
      if (sc_safetensors_find (st, e->name) != e)
        abort ();
      if (e->ndim < 0 || e->ndim > SC_MAX_DIMS || e->numel < 0)
        abort ();
      if ((uint64_t) e->nbytes != (uint64_t) e->numel * sc_dtype_size (e->dtype))
        abort ();
      const uint8_t *p = e->data;
      if (p < data || p > data + size || e->nbytes > (size_t) (data + size - p))
        abort ();
      if (e->numel <= MAX_CONVERT)
        {
          float *f = malloc (((size_t) e->numel + 1) * sizeof (float));
          if (!sc_st_entry_to_f32 (e, f, &error))
            {
              if (e->dtype != SC_DTYPE_BOOL)
                abort ();
              g_clear_error (&error);
            }
          free (f);
        }
      sc_safetensors_release (st, e); /* a no-op for memory, but must not misbehave */
    }
  for (const char *const *k = sc_safetensors_metadata_keys (st); *k; k++)
    if (sc_safetensors_metadata (st, *k) == NULL)
      abort ();
  sc_safetensors_close (st);
  return 0;
}
