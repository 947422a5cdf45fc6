/* PyTorch checkpoints (.ckpt, .pt, .pth, .bin written by torch.save since 1.6: a zip archive holding a
 * pickle and raw storages) read without running any of the pickle: every tensor of the (possibly nested)
 * dict becomes an ScStEntry, like a safetensors file. Nested dict keys are joined with "." — an LDM
 * checkpoint gives "state_dict.model.diffusion_model...." until sc_torch_file_unwrap strips that level.
 * Tensors laid out contiguously point into the mapping; the rare strided views (transposes, expands) are
 * copied out at open into buffers the file owns, so every entry is plain row-major data.
 * The legacy pre-1.6 format (no zip) is refused with SC_ERROR_UNSUPPORTED. */
#pragma once
#include "io/safetensors.h"

#include <glib.h>

G_BEGIN_DECLS

typedef struct ScTorchFile ScTorchFile;

/* TRUE when the file starts like a zip archive (what torch.save writes; safetensors never does). */
gboolean sc_torch_file_sniff (const char *path);

ScTorchFile *sc_torch_file_open (const char *path, GError **error);
/* Parses a buffer the caller keeps alive for the lifetime of the result (fuzzer and tests). */
ScTorchFile *sc_torch_file_open_memory (const void *data, size_t len, GError **error);
void sc_torch_file_close (ScTorchFile *f);

/* NULL for open_memory. */
const char *sc_torch_file_path (const ScTorchFile *f);
/* Tensors in the order the pickle stores them. */
size_t sc_torch_file_count (const ScTorchFile *f);
const ScStEntry *sc_torch_file_get (const ScTorchFile *f, size_t index);
const ScStEntry *sc_torch_file_find (const ScTorchFile *f, const char *name);
/* An integer (or bool) value that is not a tensor, e.g. "global_step"; FALSE if there is none by NAME. */
gboolean sc_torch_file_int (const ScTorchFile *f, const char *name, int64_t *out);
/* If tensors live under "PREFIX." (e.g. "state_dict"), keeps only those, renamed without the prefix, and
 * returns TRUE; otherwise changes nothing. Scalars are left as they are. */
gboolean sc_torch_file_unwrap (ScTorchFile *f, const char *prefix);

G_END_DECLS
