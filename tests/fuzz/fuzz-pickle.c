/* libFuzzer target: sc_torch_file_open_memory (zip parsing, the restricted pickle VM, storage mapping,
 * strided copies) on arbitrary bytes, then every entry walked, looked up by name and (when small)
 * converted to f32, and the state_dict unwrap tried. Any crash, sanitizer report, leak or an entry whose
 * data lies outside the input and outside the file's own copies is a bug.
 *
 * Build and run (clang with libFuzzer):
 *   CC=clang meson setup build-fuzz -Dfuzzing=true
 *   ninja -C build-fuzz tests/fuzz/fuzz-pickle
 *   mkdir -p /tmp/pk-corpus
 *   build-fuzz/tests/fuzz/fuzz-pickle /tmp/pk-corpus tests/fuzz/corpus/pickle -dict=tests/fuzz/pickle.dict \
 *       -max_len=4096 -max_total_time=300 -artifact_prefix=tests/fuzz/
 * Refresh the committed corpus (≤ 40 files under 4 KB) as described in fuzz-safetensors.c; test-pickle
 * replays every file of tests/fuzz/corpus/pickle. */
#include "core/dtype.h"
#include "core/error.h"
#include "io/torch_file.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define MAX_CONVERT 65536

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  ScTorchFile *f = sc_torch_file_open_memory (size ? (const void *) data : (const void *) "", size, &error);
  if (!f)
    {
      if (error == NULL || error->domain != SC_ERROR || error->message == NULL)
        abort ();
      g_error_free (error);
      return 0;
    }
  if (error)
    abort ();
  for (int round = 0; round < 2; round++)
    {
      size_t n = sc_torch_file_count (f);
      for (size_t i = 0; i < n; i++)
        {
          const ScStEntry *e = sc_torch_file_get (f, i);
          if (sc_torch_file_find (f, e->name) != e)
            abort ();
          if (e->ndim < 0 || e->ndim > SC_MAX_DIMS || e->numel < 0)
            abort ();
          if ((uint64_t) e->nbytes != (uint64_t) e->numel * sc_dtype_size (e->dtype))
            abort ();
          if (e->numel <= MAX_CONVERT)
            {
              /* Reading every byte lets ASan catch data outside the input or the file's copies. */
              volatile uint8_t sink = 0;
              for (size_t b = 0; b < e->nbytes; b++)
                sink ^= ((const uint8_t *) e->data)[b];
              (void) sink;
              float *out = malloc (((size_t) e->numel + 1) * sizeof (float));
              if (!sc_st_entry_to_f32 (e, out, &error))
                g_clear_error (&error);
              free (out);
            }
        }
      int64_t v;
      (void) sc_torch_file_int (f, "global_step", &v);
      sc_torch_file_unwrap (f, "state_dict");
    }
  sc_torch_file_close (f);
  return 0;
}
