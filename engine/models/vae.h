/* The VAE (LDM AutoencoderKL, "first stage"): encoder image → latent moments, decoder latent → image.
 * Parameters by their LDM names ("first_stage_model.encoder.conv_in.weight", …); see
 * ../shared/specs/stable-diffusion.md §2. Activations NHWC f32. */
#pragma once
#include "backend/backend.h"
#include "models/arch.h"
#include "models/weights.h"

G_BEGIN_DECLS

typedef struct ScVae ScVae;

/* prefix: canonical prefix, normally "first_stage_model." (NULL: none); loads only the parts asked for
 * (the encoder with quant_conv, the decoder with post_quant_conv). */
ScVae *sc_vae_new (const ScVaeConfig *cfg, ScWeightSource *src, const char *prefix, gboolean with_encoder,
                   gboolean with_decoder, GError **error);
void sc_vae_free (ScVae *vae);
/* Parameters actually loaded (only the parts asked for). */
int64_t sc_vae_param_count (const ScVae *vae);

/* image: [B, H, W, in_channels] in [-1, 1] (H, W multiples of 8) → moments [B, H/8, W/8, 2*z_channels]
 * (mean ‖ logvar, after quant_conv; logvar NOT yet clamped). */
gboolean sc_vae_encode (ScVae *vae, const ScBackend *be, const float *image, int64_t B, int64_t H, int64_t W,
                        float *moments, GError **error);
/* z: [B, h, w, z_channels] raw latent (already divided by scale_factor) → image [B, 8h, 8w, out_channels]
 * (≈[-1, 1], unclamped): post_quant_conv → decoder. */
gboolean sc_vae_decode (ScVae *vae, const ScBackend *be, const float *z, int64_t B, int64_t h, int64_t w,
                        float *image, GError **error);

/* Parameters of the full model (encoder + decoder + both quant convs), from the configuration alone. */
int64_t sc_vae_config_param_count (const ScVaeConfig *cfg);
/* Activation memory one encode (decode = FALSE) or decode call allocates for B images of H × W pixels,
 * in bytes (the peak: all of it lives for the whole call). */
int64_t sc_vae_config_activation_bytes (const ScVaeConfig *cfg, gboolean decode, int64_t B, int64_t H,
                                        int64_t W);

G_END_DECLS
