/* conv2d backward for the CPU backend (cpu_grad_conv.c). */
#pragma once
#include "backend/backend.h"

G_BEGIN_DECLS

/* The op table's conv2d_backward: dx[B, H, W, Cin] += ∂L/∂x, dw[KH, KW, Cin, Cout] += ∂L/∂w,
 * dbias[Cout] += ∂L/∂bias for dy = ∂L/∂y; any of the three may be NULL (not computed). w may have been
 * repacked in place by a oneDNN forward: it is put back in HWIO order first. Results do not depend on
 * the thread count. */
void sc_cpu_conv2d_backward (const ScConv2dDesc *d, const float *x, const float *w, const float *dy, float *dx,
                             float *dw, float *dbias);

G_END_DECLS
