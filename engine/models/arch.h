/* Architectures: the hyper-parameters of each Stable Diffusion component, and the presets the CLI
 * names (`--arch tiny-sd1|tiny-sd2|sd15|sd21`). Model code reads these; nothing here knows files. */
#pragma once
#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef enum {
  SC_ARCH_TINY_SD1,
  SC_ARCH_TINY_SD2,
  SC_ARCH_SD15,
  SC_ARCH_SD21,
  SC_ARCH_COUNT_,
} ScArch;

typedef enum {
  SC_FAMILY_SD1,
  SC_FAMILY_SD2,
} ScFamily;

typedef enum {
  SC_PREDICTION_EPS,
  SC_PREDICTION_V,
} ScPrediction;

#define SC_UNET_MAX_LEVELS 4

typedef struct {
  int in_channels, out_channels;   /* 4, 4 (9 in for inpainting models) */
  int model_channels;              /* 320 */
  int n_levels;                    /* 4 */
  int channel_mult[SC_UNET_MAX_LEVELS]; /* 1,2,4,4 */
  int num_res_blocks;              /* 2 */
  gboolean attention[SC_UNET_MAX_LEVELS]; /* TRUE for levels with a SpatialTransformer */
  int num_heads;                   /* > 0: fixed head count (SD1) */
  int head_dim;                    /* > 0: fixed head width, heads = C / head_dim (SD2); else 0 */
  int context_dim;                 /* 768 / 1024 */
  gboolean linear_proj;            /* SD2: Linear proj_in/out; SD1: 1×1 conv */
  int transformer_depth;           /* 1 */
  int norm_groups;                 /* 32 */
} ScUNetConfig;

typedef struct {
  int in_channels, out_channels; /* 3, 3 */
  int ch;                        /* 128 */
  int n_levels;                  /* 4 */
  int ch_mult[4];                /* 1,2,4,4 */
  int num_res_blocks;            /* 2 (decoder uses num_res_blocks + 1) */
  int z_channels;                /* 4 */
  int norm_groups;               /* 32 */
  float scale_factor;            /* 0.18215 */
} ScVaeConfig;

typedef enum {
  SC_TEXT_CLIP_HF,    /* OpenAI CLIP in HF names (SD1): cond_stage_model.transformer.text_model.* */
  SC_TEXT_OPENCLIP,   /* OpenCLIP names with packed in_proj (SD2): cond_stage_model.model.* */
} ScTextStyle;

typedef struct {
  ScTextStyle style;
  int vocab_size;     /* 49408 */
  int max_positions;  /* 77 */
  int width;          /* 768 / 1024 */
  int heads;          /* 12 / 16 */
  int layers;         /* layers stored in an LDM checkpoint: 12 / 24 */
  int layers_used;    /* layers run: 12 (last) / 23 (penultimate) */
  int mlp_dim;        /* 3072 / 4096 */
  gboolean quick_gelu;/* SD1: quick_gelu; SD2: exact GELU */
  int pad_id;         /* 49407 (SD1) / 0 (SD2) */
} ScClipTextConfig;

typedef struct {
  ScArch arch;
  const char *name;   /* "tiny-sd1", ... */
  ScFamily family;
  ScPrediction prediction;
  ScUNetConfig unet;
  ScVaeConfig vae;
  ScClipTextConfig text;
} ScArchConfig;

const ScArchConfig *sc_arch_config (ScArch arch);
/* Parses "tiny-sd1" etc.; FALSE if unknown. */
gboolean sc_arch_from_name (const char *name, ScArch *out);
const char *sc_arch_names (void); /* "tiny-sd1|tiny-sd2|sd15|sd21" */

/* Heads and head width of the SpatialTransformer at a level with `channels` channels. */
void sc_unet_attention_heads (const ScUNetConfig *cfg, int channels, int *heads, int *head_dim);

G_END_DECLS
