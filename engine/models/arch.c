#include "models/arch.h"

#include <string.h>

/* Full-size values: ../shared/specs/stable-diffusion.md §1.1, §2.1, §3.1, §3.2.
 * Tiny values: defined by the engine issue (same topology at small widths). */
static const ScArchConfig arch_table[SC_ARCH_COUNT_] = {
  [SC_ARCH_TINY_SD1] = {
    .arch = SC_ARCH_TINY_SD1, .name = "tiny-sd1", .family = SC_FAMILY_SD1, .prediction = SC_PREDICTION_EPS,
    .unet = { .in_channels = 4, .out_channels = 4, .model_channels = 32, .n_levels = 4,
              .channel_mult = { 1, 2, 2, 2 }, .num_res_blocks = 2, .attention = { TRUE, TRUE, TRUE, FALSE },
              .num_heads = 2, .head_dim = 0, .context_dim = 32, .linear_proj = FALSE,
              .transformer_depth = 1, .norm_groups = 32 },
    .vae = { .in_channels = 3, .out_channels = 3, .ch = 32, .n_levels = 4, .ch_mult = { 1, 1, 2, 2 },
             .num_res_blocks = 1, .z_channels = 4, .norm_groups = 32, .scale_factor = 0.18215f },
    .text = { .style = SC_TEXT_CLIP_HF, .vocab_size = 49408, .max_positions = 77, .width = 32, .heads = 2,
              .layers = 2, .layers_used = 2, .mlp_dim = 128, .quick_gelu = TRUE, .pad_id = 49407 },
  },
  [SC_ARCH_TINY_SD2] = {
    .arch = SC_ARCH_TINY_SD2, .name = "tiny-sd2", .family = SC_FAMILY_SD2, .prediction = SC_PREDICTION_EPS,
    .unet = { .in_channels = 4, .out_channels = 4, .model_channels = 32, .n_levels = 4,
              .channel_mult = { 1, 2, 2, 2 }, .num_res_blocks = 2, .attention = { TRUE, TRUE, TRUE, FALSE },
              .num_heads = 0, .head_dim = 16, .context_dim = 64, .linear_proj = TRUE,
              .transformer_depth = 1, .norm_groups = 32 },
    .vae = { .in_channels = 3, .out_channels = 3, .ch = 32, .n_levels = 4, .ch_mult = { 1, 1, 2, 2 },
             .num_res_blocks = 1, .z_channels = 4, .norm_groups = 32, .scale_factor = 0.18215f },
    .text = { .style = SC_TEXT_OPENCLIP, .vocab_size = 49408, .max_positions = 77, .width = 64, .heads = 4,
              .layers = 3, .layers_used = 2, .mlp_dim = 256, .quick_gelu = FALSE, .pad_id = 0 },
  },
  [SC_ARCH_SD15] = {
    .arch = SC_ARCH_SD15, .name = "sd15", .family = SC_FAMILY_SD1, .prediction = SC_PREDICTION_EPS,
    .unet = { .in_channels = 4, .out_channels = 4, .model_channels = 320, .n_levels = 4,
              .channel_mult = { 1, 2, 4, 4 }, .num_res_blocks = 2, .attention = { TRUE, TRUE, TRUE, FALSE },
              .num_heads = 8, .head_dim = 0, .context_dim = 768, .linear_proj = FALSE,
              .transformer_depth = 1, .norm_groups = 32 },
    .vae = { .in_channels = 3, .out_channels = 3, .ch = 128, .n_levels = 4, .ch_mult = { 1, 2, 4, 4 },
             .num_res_blocks = 2, .z_channels = 4, .norm_groups = 32, .scale_factor = 0.18215f },
    .text = { .style = SC_TEXT_CLIP_HF, .vocab_size = 49408, .max_positions = 77, .width = 768, .heads = 12,
              .layers = 12, .layers_used = 12, .mlp_dim = 3072, .quick_gelu = TRUE, .pad_id = 49407 },
  },
  [SC_ARCH_SD21] = {
    .arch = SC_ARCH_SD21, .name = "sd21", .family = SC_FAMILY_SD2, .prediction = SC_PREDICTION_V,
    .unet = { .in_channels = 4, .out_channels = 4, .model_channels = 320, .n_levels = 4,
              .channel_mult = { 1, 2, 4, 4 }, .num_res_blocks = 2, .attention = { TRUE, TRUE, TRUE, FALSE },
              .num_heads = 0, .head_dim = 64, .context_dim = 1024, .linear_proj = TRUE,
              .transformer_depth = 1, .norm_groups = 32 },
    .vae = { .in_channels = 3, .out_channels = 3, .ch = 128, .n_levels = 4, .ch_mult = { 1, 2, 4, 4 },
             .num_res_blocks = 2, .z_channels = 4, .norm_groups = 32, .scale_factor = 0.18215f },
    .text = { .style = SC_TEXT_OPENCLIP, .vocab_size = 49408, .max_positions = 77, .width = 1024, .heads = 16,
              .layers = 24, .layers_used = 23, .mlp_dim = 4096, .quick_gelu = FALSE, .pad_id = 0 },
  },
};

const ScArchConfig *
sc_arch_config (ScArch arch)
{
  g_return_val_if_fail ((unsigned) arch < SC_ARCH_COUNT_, NULL);
  return &arch_table[arch];
}

gboolean
sc_arch_from_name (const char *name, ScArch *out)
{
  for (int i = 0; i < SC_ARCH_COUNT_; i++)
    if (g_strcmp0 (name, arch_table[i].name) == 0)
      {
        *out = (ScArch) i;
        return TRUE;
      }
  return FALSE;
}

const char *
sc_arch_names (void)
{
  return "tiny-sd1|tiny-sd2|sd15|sd21";
}

void
sc_unet_attention_heads (const ScUNetConfig *cfg, int channels, int *heads, int *head_dim)
{
  /* LDM rule (legacy=False): a fixed head width wins, else a fixed head count. */
  if (cfg->head_dim > 0)
    {
      *head_dim = cfg->head_dim;
      *heads = channels / cfg->head_dim;
    }
  else
    {
      *heads = cfg->num_heads;
      *head_dim = channels / cfg->num_heads;
    }
}
