/* Deterministic random models in the real key layouts, for tests and benchmarks (`scedit make-model`). */
#pragma once
#include "core/dtype.h"
#include "models/arch.h"

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  SC_LAYOUT_LDM,       /* one .safetensors file with LDM names */
  SC_LAYOUT_DIFFUSERS, /* a folder: unet/, vae/, text_encoder/, scheduler/, model_index.json */
} ScLayout;

/* Writes all three components of ARCH with weights from sc_weight_source_new_random (seed), stored as dtype
 * (F32, F16 or BF16). Atomic per file. */
gboolean sc_make_model (ScArch arch, uint64_t seed, ScLayout layout, ScDType dtype, const char *out_path,
                        GError **error);

/* The diffusers config.json texts for a preset (also used by the loader's tests). Caller frees. */
char *sc_diffusers_unet_config_json (const ScArchConfig *arch);
char *sc_diffusers_vae_config_json (const ScArchConfig *arch);
char *sc_diffusers_text_config_json (const ScArchConfig *arch);

G_END_DECLS
