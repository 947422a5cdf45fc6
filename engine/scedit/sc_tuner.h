/* SC-Tuner (../shared/specs/scedit.md §1): one per-pixel MLP per U-Net skip connection,
 *   SC_m(x) = x + W2·GELU(W1·x + b1) + b2   (exact erf GELU; W1 [L, C], W2 [C, L])
 * acting on the skip fed to output block m (decoder order) by input block N−1−m.
 *
 * Also the pieces the CSC-Tuner shares: the skip layout of a U-Net and the per-skip MLP. */
#pragma once
#include "backend/backend.h"
#include "models/arch.h"
#include "models/weights.h"
#include "nn/layers.h"

#include <glib.h>

G_BEGIN_DECLS

#define SC_MAX_SKIPS 16

/* The U-Net's skip connections in encoder order i (input block i): channels and whether the block is a
 * Downsample (its output has half the size of the block before). SD: 12 skips,
 * [320 ×4, 640 ×3, 1280 ×5] with downsamples at 3, 6, 9. */
typedef struct {
  int n;
  int chans[SC_MAX_SKIPS];
  gboolean down[SC_MAX_SKIPS];
} ScSkipLayout;

/* FALSE when the configuration has more skips than SC_MAX_SKIPS. */
gboolean sc_skip_layout_from_unet (const ScUNetConfig *cfg, ScSkipLayout *out);
gboolean sc_skip_layout_equal (const ScSkipLayout *a, const ScSkipLayout *b);
/* Channels of the skip edited before output block m. */
static inline int
sc_skip_layout_decoder_chans (const ScSkipLayout *l, int m)
{
  return l->chans[l->n - 1 - m];
}

/* SCEAdapter without its residual: y = ln2(GELU(ln1(x))), x [rows, C] → y [rows, C]. */
typedef struct {
  gboolean present; /* FALSE: no tuner at this skip (scepter USE_LAYERS) */
  int64_t c, l;     /* channels, hidden width */
  ScLinear ln1;     /* [L, C] */
  ScLinear ln2;     /* [C, L] */
} ScSkipMlp;

/* prefix: e.g. "model.lsc_identity.3.tuner_op" (loads PREFIX.ln1.weight …). zero_ln2: the official
 * initialisation (ln2 weight and bias zero: the tuner starts as the identity). */
gboolean sc_skip_mlp_load (ScSkipMlp *mlp, ScWeightSource *src, const char *prefix, int64_t c, int64_t l,
                           gboolean zero_ln2, GError **error);
void sc_skip_mlp_clear (ScSkipMlp *mlp);
int64_t sc_skip_mlp_params (const ScSkipMlp *mlp);
/* y[rows, C] = MLP(x[rows, C]); hidden: scratch [rows, L]. Backend memory. */
void sc_skip_mlp_forward (const ScBackend *be, const ScSkipMlp *mlp, const float *x, float *hidden, float *y,
                          int64_t rows);

/* One SC-Tuner: an MLP for each skip that has one. Reference-counted (a tuner set holds a reference). */
typedef struct {
  int ref_count;
  ScSkipLayout layout;
  ScSkipMlp mlp[SC_MAX_SKIPS]; /* decoder order m */
  float ratio;                 /* L / C as built (informational; -1 when the skips disagree) */
} ScScTuner;

/* The canonical key of a tensor of skip m (our files use it): "model.lsc_identity.{m}.tuner_op.{leaf}". */
char *sc_sc_tuner_key (int m, const char *leaf);

/* L[m] = int(C·ratio) hidden widths; present[m] selects skips (NULL: all). The tensors come from src under
 * the canonical keys. */
ScScTuner *sc_sc_tuner_new_from_source (const ScSkipLayout *layout, const int64_t *hidden, const gboolean *present,
                                        ScWeightSource *src, gboolean zero_ln2, GError **error);
/* Deterministic random tuner (`scedit make-tuner`): ln1 random; ln2 zero unless random_all. */
ScScTuner *sc_sc_tuner_new_random (const ScSkipLayout *layout, double ratio, uint64_t seed, gboolean random_all,
                                   GError **error);
ScScTuner *sc_sc_tuner_ref (ScScTuner *t);
void sc_sc_tuner_unref (ScScTuner *t);
int64_t sc_sc_tuner_params (const ScScTuner *t);
/* Parameter count from the configuration alone: Σ 2·C·L + L + C over the skips, L = int(C·ratio). */
int64_t sc_sc_tuner_config_params (const ScSkipLayout *layout, double ratio);
/* The hidden width the official code uses: int(C·ratio) (double product, truncated, as Python). */
int64_t sc_tuner_hidden_width (int64_t c, double ratio);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScScTuner, sc_sc_tuner_unref)

G_END_DECLS
