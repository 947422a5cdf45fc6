/* Tensor names: diffusers folder names ↔ canonical LDM single-file names (stable-diffusion.md §6.3).
 * The *_to_ldm functions have the ScNameMapFunc shape (user_data: the component's config) and return the
 * full canonical name, or NULL for tensors we ignore. The ldm_to_* functions do the reverse for writing
 * diffusers folders; they take a canonical name without its component prefix. */
#pragma once
#include "models/arch.h"

#include <glib.h>

G_BEGIN_DECLS

#define SC_LDM_UNET_PREFIX "model.diffusion_model."
#define SC_LDM_VAE_PREFIX "first_stage_model."
#define SC_LDM_CLIP_PREFIX "cond_stage_model.transformer."
#define SC_LDM_OPENCLIP_PREFIX "cond_stage_model.model."

/* user_data: const ScUNetConfig * */
char *sc_name_map_diffusers_unet_to_ldm (const char *name, gpointer user_data);
/* user_data: const ScVaeConfig * */
char *sc_name_map_diffusers_vae_to_ldm (const char *name, gpointer user_data);
/* HF CLIPTextModel names → canonical; user_data: const ScClipTextConfig * (style decides: SD1 keeps HF
 * names under cond_stage_model.transformer., SD2 maps to OpenCLIP names, q/k/v becoming parts
 * "attn.in_proj_weight#0..2" of the packed tensor). */
char *sc_name_map_hf_clip_to_ldm (const char *name, gpointer user_data);

/* Reverse direction, for writing diffusers folders. Names are without the LDM component prefix. */
char *sc_name_map_ldm_unet_to_diffusers (const char *ldm_name, const ScUNetConfig *cfg);
char *sc_name_map_ldm_vae_to_diffusers (const char *ldm_name, const ScVaeConfig *cfg);

G_END_DECLS
