/* Private to the CPU backend: backward passes of the simple ops (linear, elementwise, norms, copies) and the
 * AdamW step. Semantics as in backend.h: gradients are added into the given buffers; NULL = not wanted. */
#pragma once
#include "backend/backend.h"

G_BEGIN_DECLS

void sc_cpu_linear_backward (const float *x, const float *w, const float *dy, float *dx, float *dw,
                             float *dbias, int64_t M, int64_t K, int64_t N);
void sc_cpu_unary_backward (ScUnaryOp op, const float *x, const float *dy, float *dx, int64_t n);
void sc_cpu_geglu_backward (const float *x, const float *dy, float *dx, int64_t rows, int64_t C);
void sc_cpu_group_norm_backward (const float *x, const float *dy, float *dx, int64_t B, int64_t HW, int64_t C,
                                 int groups, const float *gamma, const float *beta, float eps, bool silu,
                                 float *dgamma, float *dbeta);
void sc_cpu_layer_norm_backward (const float *x, const float *dy, float *dx, int64_t rows, int64_t C,
                                 const float *gamma, float eps, float *dgamma, float *dbeta);
void sc_cpu_upsample_nearest2x_backward (const float *dy, float *dx, int64_t B, int64_t H, int64_t W,
                                         int64_t C);
void sc_cpu_concat_last_backward (const float *dy, float *da, int64_t Ca, float *db, int64_t Cb,
                                  int64_t rows);
void sc_cpu_add_bias_per_batch_backward (const float *dy, float *dbias, int64_t B, int64_t HW, int64_t C);
void sc_cpu_adamw_step (float *p, const float *g, float *m, float *v, int64_t n, float lr, float beta1,
                        float beta2, float eps, float weight_decay, int64_t step);

G_END_DECLS
