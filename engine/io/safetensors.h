/* safetensors: memory-mapped, validated reading; streaming, atomic writing.
 * Format: u64 little-endian header length N, N bytes of JSON, then the data buffer. Every entry's
 * data_offsets must lie inside the buffer, match numel * sizeof(dtype), not overlap, and together
 * cover the buffer without holes. Anything else is rejected with SC_ERROR_FORMAT naming the problem. */
#pragma once
#include "core/dtype.h"
#include "core/tensor.h"

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  const char *name;
  ScDType dtype;
  int ndim;
  int64_t shape[SC_MAX_DIMS];
  int64_t numel;
  const void *data; /* points into the mapping; not aligned in general */
  size_t nbytes;
} ScStEntry;

typedef struct ScSafetensors ScSafetensors;

ScSafetensors *sc_safetensors_open (const char *path, GError **error);
/* Parses a buffer the caller keeps alive for the lifetime of the result (used by the fuzzer and tests). */
ScSafetensors *sc_safetensors_open_memory (const void *data, size_t len, GError **error);
void sc_safetensors_close (ScSafetensors *st);

/* NULL for sc_safetensors_open_memory. */
const char *sc_safetensors_path (const ScSafetensors *st);
/* Entries are indexed in the order their names appear in the header (for files from the reference writer
 * or ours, also the order of their data). */
size_t sc_safetensors_count (const ScSafetensors *st);
const ScStEntry *sc_safetensors_get (const ScSafetensors *st, size_t index);
const ScStEntry *sc_safetensors_find (const ScSafetensors *st, const char *name);
/* The "__metadata__" value for key, or NULL. */
const char *sc_safetensors_metadata (const ScSafetensors *st, const char *key);
/* All metadata keys (NULL-terminated, owned by st). */
const char *const *sc_safetensors_metadata_keys (const ScSafetensors *st);

/* Converts an entry to f32 (dst holds numel floats). Fails for dtypes that are not numbers. */
gboolean sc_st_entry_to_f32 (const ScStEntry *e, float *dst, GError **error);
/* Tells the kernel the entry's pages are no longer needed, so converting a big checkpoint does not keep
 * the whole file resident next to its f32 copy. The entry stays readable (pages are re-read on access). */
void sc_safetensors_release (const ScSafetensors *st, const ScStEntry *e);

/* Writer: tensors are referenced, not copied, until save; save streams into PATH.tmp-XXXXXX, fsyncs,
 * then renames over PATH so a reader never sees a half-written file. */
typedef struct ScSafetensorsWriter ScSafetensorsWriter;

ScSafetensorsWriter *sc_safetensors_writer_new (void);
/* data: numel(shape) elements of dtype; `destroy` (may be NULL) is called on data when the writer is freed. */
void sc_safetensors_writer_add (ScSafetensorsWriter *w, const char *name, ScDType dtype, int ndim,
                                const int64_t *shape, const void *data, GDestroyNotify destroy);
/* Adds f32 data converted to `dtype` (F32, F16 or BF16); the writer owns the converted copy. */
void sc_safetensors_writer_add_f32 (ScSafetensorsWriter *w, const char *name, ScDType dtype, int ndim,
                                    const int64_t *shape, const float *data);
void sc_safetensors_writer_set_metadata (ScSafetensorsWriter *w, const char *key, const char *value);
gboolean sc_safetensors_writer_save (ScSafetensorsWriter *w, const char *path, GError **error);
void sc_safetensors_writer_free (ScSafetensorsWriter *w);

G_END_DECLS
