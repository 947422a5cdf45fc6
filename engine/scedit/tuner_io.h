/* SCEdit tuner files (../shared/specs/scedit.md §5): reading the published layouts, writing ours.
 *
 * Accepted (a file, or a folder holding one, directly or in one sub-folder such as 0_SwiftSCETuning/):
 *  - swift style tuners: adapter_model.safetensors (adapter_model.bin: torch pickle, not yet read), keys
 *    "…lsc_identity.{m}.scetuner_<name>.tuner_op.ln{1,2}.{weight,bias}" or the diffusers form
 *    "…up_blocks.{b}.resnets.{r}.scetuner_<name>.tuner_op.…" (m = 3b + r);
 *  - native scepter SC-Tuners: "…lsc_identity.{m}.tuner_op.ln{1,2}.*";
 *  - scepter controllers (CSC): pytorch_model.bin / .safetensors with "[model.]0.pre_hint_blocks.*",
 *    "…dense_hint_blocks.{i}.1.*", "…lsc_tuner_blocks.{m}.tuner_op.*";
 *  - ours: safetensors with the canonical keys (sc_sc_tuner_key, csc_tuner.h) and __metadata__ (format
 *    "scedit-tuner", kind sc|csc, arch, ratio, kernel, pre_hint_ratio, hint_out, condition, trigger, steps).
 * Widths (hidden L, encoder ρ and output, dense kernel 1 or 3) come from the weight shapes. A skip without
 * tensors has no tuner (scepter USE_LAYERS). Tensors for another U-Net, wrong shapes or missing pieces are
 * errors naming the tensor as the file spells it. */
#pragma once
#include "scedit/csc_tuner.h"
#include "scedit/sc_tuner.h"

G_BEGIN_DECLS

typedef enum {
  SC_TUNER_KIND_SC,
  SC_TUNER_KIND_CSC,
} ScTunerKind;

typedef struct {
  ScTunerKind kind;
  char *path;        /* the tensor file actually read */
  char *format;      /* "scedit", "swift", "swift-diffusers", "scepter", "scepter-control" */
  char *arch;        /* metadata, else the presets whose skips fit ("sd15|sd21"), else NULL */
  int n_skips;       /* skips with a tuner */
  ScSkipLayout layout; /* channels as the shapes say (down flags unknown: FALSE) */
  double ratio;      /* L / C (first tuned skip) */
  int kernel;        /* CSC: dense hint kernel */
  double pre_hint_ratio; /* CSC: ρ = width0 / 16 */
  int64_t hint_out;  /* CSC */
  char *condition, *trigger; /* metadata or NULL */
  int64_t steps;     /* metadata, -1 if unknown */
  int64_t params;    /* elements of every tuner tensor */
  ScDType dtype;
} ScTunerInfo;

/* Optional metadata for our files (NULL fields are left out). */
typedef struct {
  const char *arch, *condition, *trigger;
  int64_t steps; /* < 0: left out */
  double pre_hint_ratio; /* CSC, informational */
} ScTunerMeta;

gboolean sc_tuner_probe (const char *path, ScTunerInfo *info, GError **error);
void sc_tuner_info_clear (ScTunerInfo *info);

ScScTuner *sc_sc_tuner_load (const char *path, const ScUNetConfig *cfg, GError **error);
ScCscTuner *sc_csc_tuner_load (const char *path, const ScUNetConfig *cfg, GError **error);

gboolean sc_sc_tuner_save (const ScScTuner *t, const ScTunerMeta *meta, const char *path, GError **error);
gboolean sc_csc_tuner_save (const ScCscTuner *t, const ScTunerMeta *meta, const char *path, GError **error);

G_END_DECLS
