/* A tuner set: the style tuners (SC) and conditions (CSC + hint image + weight) one generation uses,
 * handed to sc_unet_forward as ScUNetHooks. For the skip fed to output block m:
 *
 *   y = skip; for each style tuner k in order: y = y + s_k·MLP_k(y)        (swift's sequential composition;
 *       s_k = min(strength_k, 1): at ≥ 1 the full tuner output, as scepter's tuner_scale)
 *   skip' = y + control_scale · Σ_j w_j·(g_j + MLP_j(skip + g_j))           (scepter _forward_control)
 *
 * Conditions with weight 0 (or control_scale 0) and styles with strength ≤ 0 are skipped entirely: a set
 * with nothing active leaves every skip untouched (bit-identical to no hooks), and a condition at weight 0
 * is bit-identical to leaving it out. Weights are a plain unnormalised sum.
 *
 * Hint features come from each CSC-Tuner's cache (sc_csc_tuner_hint_features), fetched by
 * sc_tuner_set_prepare: changing weights or strengths never re-runs a hint encoder.
 *
 * Typical use: new → add_style / add_control → prepare (once per latent size, backend or changed hint) →
 * hooks → sc_unet_forward for every step and both CFG halves (a condition's hint is shared by all batch
 * items unless it was given one per item). One forward at a time. */
#pragma once
#include "models/unet.h"
#include "scedit/csc_tuner.h"
#include "scedit/sc_tuner.h"

G_BEGIN_DECLS

typedef struct ScTunerSet ScTunerSet;

ScTunerSet *sc_tuner_set_new (const ScUNetConfig *cfg, GError **error);
void sc_tuner_set_free (ScTunerSet *set);

/* Each returns the new entry's index, or -1 with an error when the tuner was made for another U-Net
 * (its skip channels differ). The set takes a reference to the tuner. */
int sc_tuner_set_add_style (ScTunerSet *set, ScScTuner *tuner, float strength, GError **error);
/* hint: [hb, H, W, 3] host memory, NHWC, values in [0, 1], at pixel resolution (8× the latent); hb = 1
 * (shared by every batch item) or the U-Net's batch. The set keeps a copy. */
int sc_tuner_set_add_control (ScTunerSet *set, ScCscTuner *tuner, const float *hint, int64_t hb, int64_t H,
                              int64_t W, float weight, GError **error);
/* Replaces a condition's image (the tuner's cache may still hold the old one's features). */
gboolean sc_tuner_set_set_hint (ScTunerSet *set, int index, const float *hint, int64_t hb, int64_t H, int64_t W,
                                GError **error);
void sc_tuner_set_set_strength (ScTunerSet *set, int index, float strength);
void sc_tuner_set_set_weight (ScTunerSet *set, int index, float weight);
void sc_tuner_set_set_control_scale (ScTunerSet *set, float scale);
int sc_tuner_set_n_styles (const ScTunerSet *set);
int sc_tuner_set_n_controls (const ScTunerSet *set);
/* TRUE when some style or condition would change a skip. */
gboolean sc_tuner_set_active (const ScTunerSet *set);

/* Fetches (or computes) the hint features of every active condition on be and checks they fit a latent of
 * H × W; remembers be for the scratch buffers. Call before the forwards, again after changing a weight
 * from 0 or a hint. */
gboolean sc_tuner_set_prepare (ScTunerSet *set, const ScBackend *be, int64_t H, int64_t W, GError **error);

/* Fills hooks: edit_skip applies the set; cancelled (may be NULL) is passed through with cancel_data;
 * tape = NULL (set it afterwards to record a training forward). */
void sc_tuner_set_hooks (ScTunerSet *set, gboolean (*cancelled) (gpointer), gpointer cancel_data,
                         ScUNetHooks *hooks);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScTunerSet, sc_tuner_set_free)

G_END_DECLS
