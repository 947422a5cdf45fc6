/* Opening a Stable Diffusion model from what users download: an LDM single-file checkpoint
 * (.safetensors), a diffusers folder (unet/, vae/, text_encoder/, tokenizer/, fp16 variants), or a file
 * holding one component. Detects family (SD1/SD2), architecture and prediction type from tensors and config
 * files, and says what it detected. */
#pragma once
#include "backend/backend.h"
#include "models/arch.h"
#include "models/clip_text.h"
#include "models/clip_tokenizer.h"
#include "models/unet.h"
#include "models/vae.h"
#include "models/weights.h"

G_BEGIN_DECLS

typedef enum {
  SC_COMPONENT_UNET = 1 << 0,
  SC_COMPONENT_VAE_ENCODER = 1 << 1,
  SC_COMPONENT_VAE_DECODER = 1 << 2,
  SC_COMPONENT_TEXT = 1 << 3,
  SC_COMPONENT_TOKENIZER = 1 << 4,
  SC_COMPONENT_ALL = 0x1f,
} ScComponents;

typedef struct {
  const char *arch;       /* "tiny-sd1" …; NULL: detect */
  const char *prediction; /* "eps" or "v"; NULL: detect */
  const char *vocab;      /* BPE .gz / merges.txt / tokenizer folder; NULL: look next to the model */
  ScComponents components;/* what to load; 0 means all that the files hold */
} ScModelOptions;

typedef enum {
  SC_MODEL_LAYOUT_LDM_FILE,
  SC_MODEL_LAYOUT_DIFFUSERS_FOLDER,
  SC_MODEL_LAYOUT_COMPONENT_FILE,
} ScModelLayout;

typedef struct {
  char *path;
  ScModelLayout layout;
  ScArchConfig arch;          /* detected or forced; unet.in_channels as stored (9 for inpainting) */
  gboolean arch_detected;     /* FALSE when forced with --arch */
  ScPrediction prediction;
  const char *prediction_source; /* how we know: "scheduler_config.json", "option", "family default", … */
  ScDType weight_dtype;       /* dtype of the U-Net's (or first component's) weights */
  ScComponents present;       /* components the files hold */
  ScComponents loaded;
  ScUNet *unet;
  ScVae *vae;
  ScClipText *text;
  ScClipTokenizer *tokenizer;
  char *tokenizer_path;
  ScWeightSource *weights;    /* every tensor of every component, under canonical names */
} ScModel;

ScModel *sc_model_load (const char *path, const ScModelOptions *options, GError **error);
void sc_model_free (ScModel *model);
/* One line for people: "SD 1.x (sd15), ε-prediction, F16 weights, LDM single file". Caller frees. */
char *sc_model_describe (const ScModel *model);

/* Inspects without building any component: fills layout, arch, prediction, dtype, present. */
ScModel *sc_model_probe (const char *path, const ScModelOptions *options, GError **error);
/* Parameter count of each present component, from the stored tensors. */
int64_t sc_model_stored_params (const ScModel *model, ScComponents component);

/* Finds a tokenizer: the option, then next to the model, then the app's data folder. */
ScClipTokenizer *sc_model_find_tokenizer (const char *model_path, const char *vocab, char **found_path,
                                          GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScModel, sc_model_free)

G_END_DECLS
