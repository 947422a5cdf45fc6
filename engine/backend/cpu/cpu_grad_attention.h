/* Backward of the CPU multi-head attention (cpu_grad_attention.c): the op table's attention_backward. */
#pragma once
#include "backend/backend.h"

G_BEGIN_DECLS

/* Same layout and strides as sc_cpu_attention: dq like q (q_stride), dk/dv like k/v (kv_stride), dout
 * like out (out_stride). Gradients are ADDED into dq/dk/dv, each of which may be NULL (skipped); only a
 * head's own columns of each row are written, so dq/dk/dv may be three views of one interleaved buffer.
 * out is the forward's output (for D_i = Σ_c dout_ic · out_ic). Results do not depend on the thread
 * count. */
void sc_cpu_attention_backward (const float *q, const float *k, const float *v, const float *out,
                                const float *dout, float *dq, float *dk, float *dv, int64_t B, int64_t Nq,
                                int64_t Nk, int heads, int64_t head_dim, int64_t q_stride, int64_t kv_stride,
                                int64_t out_stride, float scale, bool causal);

G_END_DECLS
