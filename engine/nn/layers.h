/* Parameterised layers: weights loaded from a weight source, forward through a backend.
 * Shapes: activations NHWC [B, H, W, C] or tokens [B, N, C] (= [rows, C]). */
#pragma once
#include "backend/backend.h"
#include "models/weights.h"

G_BEGIN_DECLS

typedef struct {
  int64_t in, out;
  float *w; /* [out, in] */
  float *b; /* [out] or NULL */
} ScLinear;

typedef struct {
  int64_t in_c, out_c;
  int k, stride;
  int pad_top, pad_left, pad_bottom, pad_right;
  float *w; /* [k, k, in_c, out_c] */
  float *b; /* [out_c] or NULL */
} ScConv2d;

typedef struct {
  int64_t c;
  int groups;
  float eps;
  float *gamma, *beta;
} ScGroupNorm;

typedef struct {
  int64_t c;
  float eps;
  float *gamma, *beta;
} ScLayerNorm;

/* Loads "<prefix>.weight" [out, in] and, if has_bias, "<prefix>.bias" [out].
 * A 1×1 conv weight [out, in, 1, 1] is accepted too when accept_conv1x1 (LDM proj_in / VAE attention). */
gboolean sc_linear_load (ScLinear *l, ScWeightSource *src, const char *prefix, int64_t in, int64_t out,
                         gboolean has_bias, GError **error);
gboolean sc_linear_load_any (ScLinear *l, ScWeightSource *src, const char *prefix, int64_t in, int64_t out,
                             gboolean has_bias, gboolean accept_conv1x1, GError **error);
void sc_linear_clear (ScLinear *l);
/* y[rows, out] = x[rows, in] W^T + b */
void sc_linear_forward (const ScBackend *be, const ScLinear *l, const float *x, float *y, int64_t rows);

/* Loads "<prefix>.weight" [out, in, k, k] (+ bias) and converts it to [k, k, in, out].
 * Padding: symmetric `pad` on all sides. */
gboolean sc_conv2d_load (ScConv2d *c, ScWeightSource *src, const char *prefix, int64_t in_c, int64_t out_c,
                         int k, int stride, int pad, GError **error);
void sc_conv2d_clear (ScConv2d *c);
/* Only the geometry, no weights (w = b = NULL): for planning and parameter counts without a source. */
void sc_conv2d_init_shape (ScConv2d *c, int64_t in_c, int64_t out_c, int k, int stride, int pad);
/* The op table's description of c applied to x[B, H, W, in_c] (output size filled in). */
ScConv2dDesc sc_conv2d_desc (const ScConv2d *c, int64_t B, int64_t H, int64_t W);
/* Output size for an input of h × w. */
void sc_conv2d_out_size (const ScConv2d *c, int64_t h, int64_t w, int64_t *oh, int64_t *ow);
void sc_conv2d_forward (const ScBackend *be, const ScConv2d *c, const float *x, int64_t B, int64_t H,
                        int64_t W, float *y);

gboolean sc_group_norm_load (ScGroupNorm *n, ScWeightSource *src, const char *prefix, int64_t c, int groups,
                             float eps, GError **error);
void sc_group_norm_clear (ScGroupNorm *n);
void sc_group_norm_forward (const ScBackend *be, const ScGroupNorm *n, const float *x, float *y, int64_t B,
                            int64_t HW, gboolean silu);

gboolean sc_layer_norm_load (ScLayerNorm *n, ScWeightSource *src, const char *prefix, int64_t c, float eps,
                             GError **error);
void sc_layer_norm_clear (ScLayerNorm *n);
void sc_layer_norm_forward (const ScBackend *be, const ScLayerNorm *n, const float *x, float *y, int64_t rows);

/* [out, in, kh, kw] → [kh, kw, in, out] */
void sc_oihw_to_hwio (const float *src, float *dst, int64_t out_c, int64_t in_c, int kh, int kw);

G_END_DECLS
