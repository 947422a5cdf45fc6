/* The CLIP text encoders: OpenAI CLIP ViT-L/14 in HF names (SD1) and OpenCLIP ViT-H/14 with packed
 * in_proj (SD2). ../shared/specs/stable-diffusion.md §3.1–3.3, names §6.1. Token sequences [B, N, C] f32. */
#pragma once
#include "backend/backend.h"
#include "models/arch.h"
#include "models/weights.h"

G_BEGIN_DECLS

typedef struct ScClipText ScClipText;

/* prefix: "cond_stage_model.transformer.text_model." (SC_TEXT_CLIP_HF) or "cond_stage_model.model."
 * (SC_TEXT_OPENCLIP). Builds cfg->layers_used layers (SD2 uses the penultimate of its stored layers, then
 * ln_final). */
ScClipText *sc_clip_text_new (const ScClipTextConfig *cfg, ScWeightSource *src, const char *prefix,
                              GError **error);
void sc_clip_text_free (ScClipText *te);
int64_t sc_clip_text_param_count (const ScClipText *te);

/* ids: [B, n] token ids (1 <= n <= max_positions, normally 77) → out: [B, n, width] = final LN of the last
 * used layer. Out-of-range ids are an error. */
gboolean sc_clip_text_forward (ScClipText *te, const ScBackend *be, const int32_t *ids, int64_t B, int64_t n,
                               float *out, GError **error);

/* For writing complete checkpoints: requests the tensors an LDM checkpoint stores that inference does not
 * use (SD2: the resblocks beyond layers_used, text_projection [W, W], logit_scale []), so a random source
 * records them. Nothing for SD1. */
gboolean sc_clip_text_declare_unused (const ScClipTextConfig *cfg, ScWeightSource *src, const char *prefix,
                                      GError **error);

/* Parameters of the encoder as built (layers_used layers + final LN), from the configuration alone. */
int64_t sc_clip_text_config_param_count (const ScClipTextConfig *cfg);

G_END_DECLS
