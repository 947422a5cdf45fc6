/* U-Net building blocks, internal to models/unet.c: the ResBlock and the SpatialTransformer
 * (../shared/specs/stable-diffusion.md §1.2). Each is a load / clear / forward triple over explicit
 * backend buffers, plus a "need" function that says how much scratch its forward uses. */
#pragma once
#include "backend/backend.h"
#include "models/weights.h"
#include "nn/layers.h"

G_BEGIN_DECLS

/* Loads parameters or, with src == NULL, only counts them (for sc_unet_config_param_count). */
typedef struct {
  ScWeightSource *src;
  int64_t n_params;
} ScUNetLoader;

gboolean sc_unet_load_linear (ScUNetLoader *ld, ScLinear *l, const char *name, int64_t in, int64_t out,
                              gboolean has_bias, GError **error);
/* A 1×1 conv "[out, in, 1, 1]" (+ bias) held as a per-pixel linear: in NHWC they are the same op. */
gboolean sc_unet_load_conv1x1 (ScUNetLoader *ld, ScLinear *l, const char *name, int64_t in, int64_t out,
                               GError **error);
gboolean sc_unet_load_conv (ScUNetLoader *ld, ScConv2d *c, const char *name, int64_t in_c, int64_t out_c,
                            int k, int stride, int pad, GError **error);
gboolean sc_unet_load_group_norm (ScUNetLoader *ld, ScGroupNorm *n, const char *name, int64_t c, int groups,
                                  float eps, GError **error);

/* Scratch the blocks share (backend memory). Sizes in floats are planned by the caller from the
 * *_need functions. */
typedef struct {
  float *s1, *s2, *s3, *s4; /* per-token buffers */
  float *kv;                /* cross-attention keys/values [B, n_ctx, 2C] */
  float *embp;              /* a ResBlock's time projection [B, C] */
} ScUNetScratch;

typedef struct {
  int64_t s1, s2, s3, s4, kv, embp;
} ScUNetNeed;

/* ResBlock(in_c → out_c): in_layers (GN, SiLU, conv3×3), emb_layers (SiLU, linear), out_layers
 * (GN, SiLU, dropout, conv3×3), skip_connection (1×1 conv when in_c != out_c). */
typedef struct {
  int64_t in_c, out_c;
  ScGroupNorm in_norm;  /* in_layers.0 */
  ScConv2d in_conv;     /* in_layers.2 */
  ScLinear emb_proj;    /* emb_layers.1 [out_c, emb_dim] */
  ScGroupNorm out_norm; /* out_layers.0 */
  ScConv2d out_conv;    /* out_layers.3 */
  gboolean has_skip;
  ScLinear skip;        /* skip_connection [out_c, in_c, 1, 1] */
} ScUNetResBlock;

gboolean sc_unet_res_load (ScUNetResBlock *rb, ScUNetLoader *ld, const char *prefix, int64_t in_c, int64_t out_c,
                           int64_t emb_dim, int groups, GError **error);
void sc_unet_res_clear (ScUNetResBlock *rb);
void sc_unet_res_need (const ScUNetResBlock *rb, int64_t B, int64_t HW, ScUNetNeed *need);
/* y[B, H, W, out_c] = ResBlock(x[B, H, W, in_c], emb_silu[B, emb_dim]); y must not alias x. */
void sc_unet_res_forward (const ScBackend *be, const ScUNetResBlock *rb, const float *x, float *y, int64_t B,
                          int64_t H, int64_t W, const float *emb_silu, const ScUNetScratch *s);

/* One BasicTransformerBlock: self-attention (q/k/v fused into one [3C, C] GEMM at load), cross-attention
 * (k/v fused into one [2C, context_dim] GEMM), GEGLU feed-forward; pre-LayerNorm, residual adds. */
typedef struct {
  ScLayerNorm norm1, norm2, norm3;
  ScLinear attn1_qkv, attn1_out; /* [3C, C] no bias; to_out.0 with bias */
  ScLinear attn2_q, attn2_kv, attn2_out; /* [C, C], [2C, ctx], to_out.0 */
  ScLinear ff_in, ff_out;        /* ff.net.0.proj [8C, C]; ff.net.2 [C, 4C] */
} ScUNetTransformerBlock;

/* SpatialTransformer(C): GN (eps 1e-6), proj_in (1×1 conv for SD1, Linear for SD2; the same math in
 * NHWC), `depth` transformer blocks, proj_out, residual. */
typedef struct {
  int64_t c, context_dim;
  int heads;
  int64_t head_dim;
  ScGroupNorm norm;
  ScLinear proj_in, proj_out;
  int depth;
  ScUNetTransformerBlock *blocks;
} ScUNetTransformer;

gboolean sc_unet_st_load (ScUNetTransformer *st, ScUNetLoader *ld, const char *prefix, int64_t c, int heads,
                          int64_t head_dim, int64_t context_dim, gboolean linear_proj, int depth, int groups,
                          GError **error);
void sc_unet_st_clear (ScUNetTransformer *st);
void sc_unet_st_need (const ScUNetTransformer *st, int64_t B, int64_t HW, int64_t n_ctx, ScUNetNeed *need);
/* y[B, H, W, C] = SpatialTransformer(x[B, H, W, C], context[B, n_ctx, context_dim]); y must not alias x. */
void sc_unet_st_forward (const ScBackend *be, const ScUNetTransformer *st, const float *x, float *y, int64_t B,
                         int64_t H, int64_t W, const float *context, int64_t n_ctx, const ScUNetScratch *s);

G_END_DECLS
