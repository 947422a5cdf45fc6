/* CSC-Tuner (../shared/specs/scedit.md §2): the controllable branch of one condition.
 *
 *   hint [hb, H, W, 3] in [0, 1] (pixel resolution)
 *     → pre_hint: 7 conv3×3, SiLU between (3→16ρ→16ρ→32ρ s2→32ρ→96ρ s2→96ρ→out s2): [hb, H/8, W/8, out]
 *     → dense i = 0..N−1 (encoder order, chained): g_i = conv_k×k(SiLU(g_{i−1})), stride 2 at the
 *       U-Net's Downsample skips, padding (k−1)/2; g_i has the shape of skip i
 *   per skip (decoder order m, g = g_{N−1−m}): ctrl = g + MLP_m(skip + g)
 *
 * The hint features depend only on the condition image, never on timestep or text, so they are computed
 * once and cached inside the tuner (a few entries keyed by the pixels): a change of weight, prompt or seed
 * never re-runs the encoder. */
#pragma once
#include "scedit/sc_tuner.h"

G_BEGIN_DECLS

#define SC_HINT_CACHE_SIZE 4

/* What the weight shapes say (or a random tuner asks for). */
typedef struct {
  int64_t pre_widths[3];        /* 16ρ, 32ρ, 96ρ */
  int64_t hint_out;             /* PRE_HINT_OUT_CHANNELS (256 for SD) */
  int kernel;                   /* DENSE_HINT_KERNAL: 1 or 3 */
  int64_t hidden[SC_MAX_SKIPS]; /* per-skip MLP widths, decoder order */
} ScCscSpec;

/* The hint features of one condition image (or a batch of them), encoder order, backend memory. */
typedef struct {
  int ref_count;
  const ScBackend *be;
  int n;
  int64_t batch; /* hint images: 1 = shared by every batch item of the U-Net */
  int64_t h[SC_MAX_SKIPS], w[SC_MAX_SKIPS], c[SC_MAX_SKIPS];
  float *g[SC_MAX_SKIPS]; /* [batch, h, w, c] */
} ScHintFeatures;

typedef struct {
  int ref_count;
  ScSkipLayout layout;
  ScCscSpec spec;
  ScConv2d pre[7];
  ScConv2d dense[SC_MAX_SKIPS]; /* encoder order */
  ScSkipMlp mlp[SC_MAX_SKIPS];  /* decoder order */
  int encoder_runs;             /* times the hint encoder actually ran */
  GMutex lock;                  /* guards the cache and the counter */
  GQueue cache;                 /* most recent first */
} ScCscTuner;

/* Canonical keys (our files use them; scepter's controller .bin has the same without "model."):
 *   "0.pre_hint_blocks.{0,2,…,12}.{weight,bias}", "0.dense_hint_blocks.{i}.1.{weight,bias}",
 *   "0.lsc_tuner_blocks.{m}.tuner_op.ln{1,2}.{weight,bias}". */
ScCscTuner *sc_csc_tuner_new_from_source (const ScSkipLayout *layout, const ScCscSpec *spec, ScWeightSource *src,
                                          gboolean zero_init, GError **error);
/* Deterministic random tuner: rho scales the encoder widths (int(16ρ) …), hint_out its output, kernel the
 * dense convs. zero_init (= !random_all): the dense convs and the MLPs' ln2 are zero, as the official init. */
ScCscTuner *sc_csc_tuner_new_random (const ScSkipLayout *layout, double rho, int64_t hint_out, int kernel,
                                     double ratio, uint64_t seed, gboolean random_all, GError **error);
ScCscTuner *sc_csc_tuner_ref (ScCscTuner *t);
void sc_csc_tuner_unref (ScCscTuner *t);
int64_t sc_csc_tuner_params (const ScCscTuner *t);
/* From the configuration alone (rho, hint_out, kernel, ratio as in sc_csc_tuner_new_random). */
int64_t sc_csc_tuner_config_params (const ScSkipLayout *layout, double rho, int64_t hint_out, int kernel,
                                    double ratio);

/* The features of hint [hb, H, W, 3] (host memory, NHWC, values in [0, 1]): from the cache when these
 * pixels were seen before on this backend, else computed (and the encoder-run counter goes up). Returns a
 * new reference. */
ScHintFeatures *sc_csc_tuner_hint_features (ScCscTuner *t, const ScBackend *be, const float *hint, int64_t hb,
                                            int64_t H, int64_t W, GError **error);
int sc_csc_tuner_encoder_runs (ScCscTuner *t);
/* Drops the cached features (they stay alive while referenced elsewhere). */
void sc_csc_tuner_clear_cache (ScCscTuner *t);

ScHintFeatures *sc_hint_features_ref (ScHintFeatures *f);
void sc_hint_features_unref (ScHintFeatures *f);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScCscTuner, sc_csc_tuner_unref)

G_END_DECLS
