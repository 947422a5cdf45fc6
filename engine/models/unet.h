/* The Stable Diffusion U-Net (LDM UNetModel, SD1.x and SD2.x): conv_in, input blocks, middle block,
 * output blocks and the output head, built from an ScUNetConfig and parameters from a weight source
 * (canonical LDM names, ../shared/specs/stable-diffusion.md §1, §6.1).
 *
 * Memory: inputs (x, t, context) and the output are host memory; activations, scratch and the 12 skip
 * tensors live in the backend's memory, are sized at the first forward for a given (B, H, W, n_ctx)
 * and reused by later forwards of the same size. A U-Net runs one forward at a time. */
#pragma once
#include "backend/backend.h"
#include "models/arch.h"
#include "models/weights.h"

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct ScUNet ScUNet;
typedef struct ScUNetTape ScUNetTape; /* models/unet_train.h */

typedef struct {
  /* Polled between blocks; returning TRUE stops the forward with SC_ERROR_CANCELLED ("Cancelled"). */
  gboolean (*cancelled) (gpointer user_data);
  /* SCEdit: called for each of the 12 skip tensors right before the decoder block that concatenates it,
   * with input_block = the LDM input block that produced it (11 first, down to 0). May edit skip in place
   * [B, H, W, C] (backend memory: host memory for the CPU backend). Returning FALSE fails the forward
   * with its error. */
  gboolean (*edit_skip) (gpointer user_data, int input_block, float *skip, int64_t B, int64_t H, int64_t W,
                         int64_t C, GError **error);
  gpointer user_data;
  /* Training: when set, the forward records into it what sc_unet_decoder_backward reads (NULL: nothing
   * recorded, no cost). */
  ScUNetTape *tape;
} ScUNetHooks;

/* prefix: the canonical prefix, normally "model.diffusion_model.". Requests every parameter once, in
 * module order. */
ScUNet *sc_unet_new (const ScUNetConfig *cfg, ScWeightSource *src, const char *prefix, GError **error);
void sc_unet_free (ScUNet *unet);
const ScUNetConfig *sc_unet_config (const ScUNet *unet);
/* Number of parameters (elements) requested from the source. */
int64_t sc_unet_param_count (const ScUNet *unet);
/* The same figure from the configuration alone (nothing is loaded); -1 for an invalid config. */
int64_t sc_unet_config_param_count (const ScUNetConfig *cfg);

/* x: [B, H, W, in_channels] latent (NHWC); t: [B] timesteps as floats (fractional allowed);
 * context: [B, n_ctx, context_dim]; out: [B, H, W, out_channels]. hooks may be NULL.
 * H and W need not be multiples of 8: upsampling then matches each skip's exact size (as diffusers). */
gboolean sc_unet_forward (ScUNet *unet, const ScBackend *be, const float *x, int64_t B, int64_t H, int64_t W,
                          const float *t, const float *context, int64_t n_ctx, float *out,
                          const ScUNetHooks *hooks, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScUNet, sc_unet_free)

G_END_DECLS
