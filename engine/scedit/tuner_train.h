/* Training an SC-Tuner's per-skip MLP (../shared/specs/scedit.md §4): the backward of one tuned skip,
 * the MSE loss, and AdamW over the MLP's four tensors. Only the tuners train; the U-Net is frozen.
 *
 * Buffers are in the backend's memory (as sc_skip_mlp_forward), except the loss's (host memory).
 * Gradients follow the op table's contract: ADDED into the buffers given, zeroed by the caller once per
 * step; a NULL gradient pointer is not computed. */
#pragma once
#include "backend/backend.h"
#include "scedit/sc_tuner.h"

#include <glib.h>

G_BEGIN_DECLS

/* The scale tuner_set.c applies to a style MLP's output: y = x + MIN(s, 1)·MLP(x), and no tuner at all
 * (y = x) for s <= 0. */
float sc_skip_tuner_scale (float strength);

/* y[rows, C] = x + sc_skip_tuner_scale(strength)·MLP(x), exactly as tuner_set.c edits a skip (y must not
 * alias x). hidden: scratch [rows, L]. */
void sc_skip_tuner_forward (const ScBackend *be, const ScSkipMlp *mlp, const float *x, float *y,
                            float *hidden, int64_t rows, float strength);

/* Gradient (or AdamW moment) buffers shaped like an ScSkipMlp's parameters. */
typedef struct {
  int64_t c, l;
  float *ln1_w, *ln1_b; /* [L, C], [L] */
  float *ln2_w, *ln2_b; /* [C, L], [C] */
} ScSkipMlpGrad;

/* Allocates zeroed buffers for mlp's shape. */
gboolean sc_skip_mlp_grad_init (ScSkipMlpGrad *g, const ScBackend *be, const ScSkipMlp *mlp, GError **error);
void sc_skip_mlp_grad_zero (const ScBackend *be, ScSkipMlpGrad *g);
void sc_skip_mlp_grad_clear (const ScBackend *be, ScSkipMlpGrad *g);

/* Floats scratch_act must hold for sc_skip_mlp_backward: rows·(2L + C) (the activation, its gradient, and
 * strength·dy). */
int64_t sc_skip_mlp_backward_act_floats (const ScSkipMlp *mlp, int64_t rows);

/* Backward of sc_skip_tuner_forward: with s = sc_skip_tuner_scale(strength),
 *   dx += dy + s·(∂MLP/∂x)ᵀ dy,   g->ln{1,2}_{w,b} += the parameters' gradients (s·∂MLP/∂θ ᵀ dy).
 * The hidden pre-activation is recomputed from x. dx or g may be NULL. scratch_hidden: [rows, L];
 * scratch_act: sc_skip_mlp_backward_act_floats floats. Needs the backend's linear_backward and
 * unary_backward. */
void sc_skip_mlp_backward (const ScBackend *be, const ScSkipMlp *mlp, const float *x, const float *dy,
                           float *dx, ScSkipMlpGrad *g, float *scratch_hidden, float *scratch_act, int64_t rows,
                           float strength);

/* mean((pred − target)²), summed in double in fixed chunks (the same value for any thread count);
 * dpred (may be NULL) += 2(pred − target)/n. Host memory. */
float sc_mse_loss (const float *pred, const float *target, float *dpred, int64_t n);

typedef struct {
  float lr, beta1, beta2, eps, weight_decay;
} ScAdamWParams;

/* The spec's optimiser (§4, every SCEdit yaml): lr 1e-4, betas (0.9, 0.999), eps 1e-8, weight decay 1e-2. */
extern const ScAdamWParams SC_ADAMW_SCEDIT;

/* AdamW state of one MLP: first and second moments per tensor and the step count (0 before the first). */
typedef struct {
  int64_t step;
  ScSkipMlpGrad m, v;
} ScSkipMlpAdamW;

gboolean sc_skip_mlp_adamw_init (ScSkipMlpAdamW *s, const ScBackend *be, const ScSkipMlp *mlp, GError **error);
void sc_skip_mlp_adamw_clear (const ScBackend *be, ScSkipMlpAdamW *s);
/* One step over all four tensors (weight decay on the biases too, as torch's single param group). */
void sc_skip_mlp_adamw_step (const ScBackend *be, ScSkipMlp *mlp, const ScSkipMlpGrad *g, ScSkipMlpAdamW *s,
                             const ScAdamWParams *p);

G_END_DECLS
