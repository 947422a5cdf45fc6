/* 3×3 stride-1 conv2d as Winograd F(4×4, 3×3) or F(2×2, 3×3) (Lavin & Gray 2015), NHWC × HWIO.
 *
 * Each 4×4 block of output pixels ("tile") is computed from the 6×6 input patch around it:
 *   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
 * summed over input channels. The elementwise product, summed over channels, is 36 independent matrix
 * products V[ξ] [tiles × Cin] · U[ξ] [Cin × Cout] — 36 multiplies per tile and channel pair instead of
 * the direct method's 144, so the sgemm does a quarter of the work. The transforms are cheap and run
 * along the channel axis, which NHWC and HWIO keep contiguous.
 *
 * The weights are transformed on every call, a block of output channels at a time: a few hundred flops
 * per weight against tiles × 72 for the products (about 1% at SD's 64×64 and 32×32 levels), where
 * caching them would hold 4× the conv weights of a model in memory. Interpolation points 0, ±1, ±2, ∞: the error stays within a
 * few f32 roundings of the direct sum for activations of SD's magnitude (tests/engine/test-ops.c).
 *
 * F(2×2, 3×3) (4×4 patches, 16 products) needs 2.25× fewer multiplies instead of 4×, but its weights
 * transform to 16/9 of their size instead of 4×, and a layer has four times as many tiles — the rows of
 * its sgemm: it is the better choice for small feature maps, where F(4×4) has too few tiles to keep the
 * sgemm busy and rewrites 4× the weights for little work. */
#include "backend/cpu/cpu_kernels.h"

#include <omp.h>

#define TILE 4      /* output pixels per tile side (F(4×4); F(2×2) uses 2) */
#define PATCH 6     /* input pixels per tile side (F(4×4); F(2×2) uses 4) */
#define XI (PATCH * PATCH)
#define CV 16       /* channels per vector step */
/* Total output pixels (all images) from which F(4×4) is used rather than F(2×2). */
#define F4_MIN_PIXELS 1024
static int forced_tile; /* tests and benchmarks: 2 or 4; 0 = by size */
/* The most floats in each of U, V and M (64 MB), whatever the layer's size, and the fewest tiles per
 * block (so that the sgemm's packing of U amortizes). Tests shrink both to exercise the blocking. */
#define BLOCK_FLOATS ((size_t) 16 << 20)
#define MIN_TILE_BLOCK 256
static size_t block_floats = BLOCK_FLOATS;
static int64_t min_tile_block = MIN_TILE_BLOCK;

/* The transforms are plain loops over CV channels; built for AVX-512 and AVX2 too, picked at load time
 * (the per-tile helpers are always inlined so that they are built for each). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SC_WINOGRAD_CLONES __attribute__ ((target_clones ("avx512f", "avx2", "default")))
#else
#define SC_WINOGRAD_CLONES
#endif

/* Scratch for V, U and M, reused across calls: at 512 px these are ~150 MB, which fresh mmaps would
 * page-fault in on every call. Calls from several threads at once take turns. */
static GMutex scratch_lock;
static float *scratch;
static size_t scratch_floats;

gboolean
sc_cpu_conv2d_winograd_suits (const ScConv2dDesc *d)
{
  return d->kernel_h == 3 && d->kernel_w == 3 && d->stride == 1
         && d->batch * d->out_h * d->out_w >= SC_CPU_WINOGRAD_MIN_PIXELS
         && d->in_c >= 32 && d->out_c >= 32;
}

/* Bᵀ d B for CV channels: d is [6][6][CV] (rows, cols), v gets [36][CV]. */
static inline __attribute__ ((always_inline)) void
input_tile (const float *restrict d, float *restrict v)
{
  float t[PATCH][PATCH][CV];
  for (int j = 0; j < PATCH; j++)
    {
      const float *c0 = d + (0 * PATCH + j) * CV, *c1 = d + (1 * PATCH + j) * CV, *c2 = d + (2 * PATCH + j) * CV;
      const float *c3 = d + (3 * PATCH + j) * CV, *c4 = d + (4 * PATCH + j) * CV, *c5 = d + (5 * PATCH + j) * CV;
#pragma omp simd
      for (int l = 0; l < CV; l++)
        {
          t[0][j][l] = 4.0f * c0[l] - 5.0f * c2[l] + c4[l];
          t[1][j][l] = -4.0f * (c1[l] + c2[l]) + c3[l] + c4[l];
          t[2][j][l] = 4.0f * (c1[l] - c2[l]) - c3[l] + c4[l];
          t[3][j][l] = 2.0f * (c3[l] - c1[l]) - c2[l] + c4[l];
          t[4][j][l] = 2.0f * (c1[l] - c3[l]) - c2[l] + c4[l];
          t[5][j][l] = 4.0f * c1[l] - 5.0f * c3[l] + c5[l];
        }
    }
  for (int i = 0; i < PATCH; i++)
    {
      const float *r0 = t[i][0], *r1 = t[i][1], *r2 = t[i][2], *r3 = t[i][3], *r4 = t[i][4], *r5 = t[i][5];
      float *o = v + i * PATCH * CV;
#pragma omp simd
      for (int l = 0; l < CV; l++)
        {
          o[0 * CV + l] = 4.0f * r0[l] - 5.0f * r2[l] + r4[l];
          o[1 * CV + l] = -4.0f * (r1[l] + r2[l]) + r3[l] + r4[l];
          o[2 * CV + l] = 4.0f * (r1[l] - r2[l]) - r3[l] + r4[l];
          o[3 * CV + l] = 2.0f * (r3[l] - r1[l]) - r2[l] + r4[l];
          o[4 * CV + l] = 2.0f * (r1[l] - r3[l]) - r2[l] + r4[l];
          o[5 * CV + l] = 4.0f * r1[l] - 5.0f * r3[l] + r5[l];
        }
    }
}

/* G g Gᵀ for CV output channels: g is the 3×3 kernel of one input channel ([3][3][CV]), u gets
 * [36][CV]. */
static inline __attribute__ ((always_inline)) void
weight_tile (const float *restrict g, float *restrict u)
{
  float t[PATCH][3][CV];
  for (int j = 0; j < 3; j++)
    {
      const float *g0 = g + (0 * 3 + j) * CV, *g1 = g + (1 * 3 + j) * CV, *g2 = g + (2 * 3 + j) * CV;
#pragma omp simd
      for (int l = 0; l < CV; l++)
        {
          t[0][j][l] = g0[l] * (1.0f / 4);
          t[1][j][l] = -(g0[l] + g1[l] + g2[l]) * (1.0f / 6);
          t[2][j][l] = -(g0[l] - g1[l] + g2[l]) * (1.0f / 6);
          t[3][j][l] = g0[l] * (1.0f / 24) + g1[l] * (1.0f / 12) + g2[l] * (1.0f / 6);
          t[4][j][l] = g0[l] * (1.0f / 24) - g1[l] * (1.0f / 12) + g2[l] * (1.0f / 6);
          t[5][j][l] = g2[l];
        }
    }
  for (int i = 0; i < PATCH; i++)
    {
      const float *r0 = t[i][0], *r1 = t[i][1], *r2 = t[i][2];
      float *o = u + i * PATCH * CV;
#pragma omp simd
      for (int l = 0; l < CV; l++)
        {
          o[0 * CV + l] = r0[l] * (1.0f / 4);
          o[1 * CV + l] = -(r0[l] + r1[l] + r2[l]) * (1.0f / 6);
          o[2 * CV + l] = -(r0[l] - r1[l] + r2[l]) * (1.0f / 6);
          o[3 * CV + l] = r0[l] * (1.0f / 24) + r1[l] * (1.0f / 12) + r2[l] * (1.0f / 6);
          o[4 * CV + l] = r0[l] * (1.0f / 24) - r1[l] * (1.0f / 12) + r2[l] * (1.0f / 6);
          o[5 * CV + l] = r2[l];
        }
    }
}

/* Aᵀ m A for CV channels: m is [36][CV], y gets [4][4][CV]. */
static inline __attribute__ ((always_inline)) void
output_tile (const float *restrict m, float *restrict y)
{
  const int ms = CV;
  float t[TILE][PATCH][CV];
  for (int j = 0; j < PATCH; j++)
    {
      const float *m0 = m + (0 * PATCH + j) * ms, *m1 = m + (1 * PATCH + j) * ms, *m2 = m + (2 * PATCH + j) * ms;
      const float *m3 = m + (3 * PATCH + j) * ms, *m4 = m + (4 * PATCH + j) * ms, *m5 = m + (5 * PATCH + j) * ms;
#pragma omp simd
      for (int l = 0; l < CV; l++)
        {
          float a = m1[l] + m2[l], b = m1[l] - m2[l], c = m3[l] + m4[l], e = m3[l] - m4[l];
          t[0][j][l] = m0[l] + a + c;
          t[1][j][l] = b + 2.0f * e;
          t[2][j][l] = a + 4.0f * c;
          t[3][j][l] = b + 8.0f * e + m5[l];
        }
    }
  for (int i = 0; i < TILE; i++)
    {
      const float *r0 = t[i][0], *r1 = t[i][1], *r2 = t[i][2], *r3 = t[i][3], *r4 = t[i][4], *r5 = t[i][5];
      float *o = y + i * TILE * CV;
#pragma omp simd
      for (int l = 0; l < CV; l++)
        {
          float a = r1[l] + r2[l], b = r1[l] - r2[l], c = r3[l] + r4[l], e = r3[l] - r4[l];
          o[0 * CV + l] = r0[l] + a + c;
          o[1 * CV + l] = b + 2.0f * e;
          o[2 * CV + l] = a + 4.0f * c;
          o[3 * CV + l] = b + 8.0f * e + r5[l];
        }
    }
}

/* F(2×2, 3×3): Bᵀ d B for a 4×4 patch ([4][4][CV] → [16][CV]). */
static inline __attribute__ ((always_inline)) void
input_tile2 (const float *restrict d, float *restrict v)
{
  float t[4][4][CV];
  for (int j = 0; j < 4; j++)
    {
      const float *c0 = d + (0 * 4 + j) * CV, *c1 = d + (1 * 4 + j) * CV, *c2 = d + (2 * 4 + j) * CV;
      const float *c3 = d + (3 * 4 + j) * CV;
#pragma omp simd
      for (int l = 0; l < CV; l++)
        {
          t[0][j][l] = c0[l] - c2[l];
          t[1][j][l] = c1[l] + c2[l];
          t[2][j][l] = c2[l] - c1[l];
          t[3][j][l] = c1[l] - c3[l];
        }
    }
  for (int i = 0; i < 4; i++)
    {
      const float *r0 = t[i][0], *r1 = t[i][1], *r2 = t[i][2], *r3 = t[i][3];
      float *o = v + i * 4 * CV;
#pragma omp simd
      for (int l = 0; l < CV; l++)
        {
          o[0 * CV + l] = r0[l] - r2[l];
          o[1 * CV + l] = r1[l] + r2[l];
          o[2 * CV + l] = r2[l] - r1[l];
          o[3 * CV + l] = r1[l] - r3[l];
        }
    }
}

/* F(2×2, 3×3): G g Gᵀ ([3][3][CV] → [16][CV]). */
static inline __attribute__ ((always_inline)) void
weight_tile2 (const float *restrict g, float *restrict u)
{
  float t[4][3][CV];
  for (int j = 0; j < 3; j++)
    {
      const float *g0 = g + (0 * 3 + j) * CV, *g1 = g + (1 * 3 + j) * CV, *g2 = g + (2 * 3 + j) * CV;
#pragma omp simd
      for (int l = 0; l < CV; l++)
        {
          t[0][j][l] = g0[l];
          t[1][j][l] = (g0[l] + g1[l] + g2[l]) * 0.5f;
          t[2][j][l] = (g0[l] - g1[l] + g2[l]) * 0.5f;
          t[3][j][l] = g2[l];
        }
    }
  for (int i = 0; i < 4; i++)
    {
      const float *r0 = t[i][0], *r1 = t[i][1], *r2 = t[i][2];
      float *o = u + i * 4 * CV;
#pragma omp simd
      for (int l = 0; l < CV; l++)
        {
          o[0 * CV + l] = r0[l];
          o[1 * CV + l] = (r0[l] + r1[l] + r2[l]) * 0.5f;
          o[2 * CV + l] = (r0[l] - r1[l] + r2[l]) * 0.5f;
          o[3 * CV + l] = r2[l];
        }
    }
}

/* F(2×2, 3×3): Aᵀ m A ([16][CV] → [2][2][CV]). */
static inline __attribute__ ((always_inline)) void
output_tile2 (const float *restrict m, float *restrict y)
{
  float t[2][4][CV];
  for (int j = 0; j < 4; j++)
    {
      const float *m0 = m + (0 * 4 + j) * CV, *m1 = m + (1 * 4 + j) * CV, *m2 = m + (2 * 4 + j) * CV;
      const float *m3 = m + (3 * 4 + j) * CV;
#pragma omp simd
      for (int l = 0; l < CV; l++)
        {
          t[0][j][l] = m0[l] + m1[l] + m2[l];
          t[1][j][l] = m1[l] - m2[l] - m3[l];
        }
    }
  for (int i = 0; i < 2; i++)
    {
      const float *r0 = t[i][0], *r1 = t[i][1], *r2 = t[i][2], *r3 = t[i][3];
      float *o = y + i * 2 * CV;
#pragma omp simd
      for (int l = 0; l < CV; l++)
        {
          o[0 * CV + l] = r0[l] + r1[l] + r2[l];
          o[1 * CV + l] = r1[l] - r2[l] - r3[l];
        }
    }
}

/* Copies n ≤ CV floats; a whole vector inline (a libc call per 64 bytes cost 15% of a VAE decode). */
static inline __attribute__ ((always_inline)) void
copy_vec (float *restrict dst, const float *restrict src, int n)
{
  if (n == CV)
    {
#pragma omp simd
      for (int l = 0; l < CV; l++)
        dst[l] = src[l];
    }
  else
    memcpy (dst, src, sizeof (float) * (size_t) n);
}

typedef struct {
  const ScConv2dDesc *d;
  int m, patch, xi;                /* output tile side (4 or 2), input patch side, patch positions */
  int64_t tiles_h, tiles_w, tiles; /* tiles per column, per row, in all */
  int64_t t0, nt;                  /* the block of tiles being worked on: V and M hold nt rows */
} Geometry;

/* Tile t's top-left output pixel and image. */
static inline void
tile_origin (const Geometry *g, int64_t t, int64_t *b, int64_t *oy, int64_t *ox)
{
  int64_t per_image = g->tiles_h * g->tiles_w;
  t += g->t0;
  *b = t / per_image;
  *oy = (t % per_image) / g->tiles_w * g->m;
  *ox = t % g->tiles_w * g->m;
}

/* V[ξ][t][c] = (Bᵀ d B)[ξ] for every tile of the block and input channel. */
SC_WINOGRAD_CLONES
static void
transform_input (const Geometry *g, const float *x, float *V)
{
  const ScConv2dDesc *d = g->d;
  int64_t C = d->in_c;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < g->nt; t++)
    {
      int64_t b, oy, ox;
      tile_origin (g, t, &b, &oy, &ox);
      float patch[XI * CV], v[XI * CV];
      for (int64_t c0 = 0; c0 < C; c0 += CV)
        {
          int n = (int) MIN (CV, C - c0);
          for (int i = 0; i < g->patch; i++)
            {
              int64_t iy = oy + i - d->pad_top;
              for (int j = 0; j < g->patch; j++)
                {
                  int64_t ix = ox + j - d->pad_left;
                  float *p = patch + (i * g->patch + j) * CV;
                  if (iy < 0 || iy >= d->in_h || ix < 0 || ix >= d->in_w)
                    memset (p, 0, sizeof (float) * CV);
                  else
                    {
                      copy_vec (p, x + ((b * d->in_h + iy) * d->in_w + ix) * C + c0, n);
                      if (n < CV)
                        memset (p + n, 0, sizeof (float) * (size_t) (CV - n));
                    }
                }
            }
          if (g->m == 4)
            input_tile (patch, v);
          else
            input_tile2 (patch, v);
          for (int xi = 0; xi < g->xi; xi++)
            copy_vec (V + ((size_t) xi * g->nt + t) * C + c0, v + xi * CV, n);
        }
    }
}

/* U[ξ][c][k - k0] = (G g Gᵀ)[ξ] for output channels [k0, k0 + nk). */
SC_WINOGRAD_CLONES
static void
transform_weights (const Geometry *geo, const float *w, int64_t k0, int64_t nk, float *U)
{
  const ScConv2dDesc *d = geo->d;
  int64_t C = d->in_c, K = d->out_c;
  size_t us = (size_t) (C * nk); /* stride between ξ planes */
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < C; c++)
    for (int64_t kk = 0; kk < nk; kk += CV)
      {
        int n = (int) MIN (CV, nk - kk);
        float g[9 * CV] = { 0 }, u[XI * CV];
        for (int tap = 0; tap < 9; tap++)
          copy_vec (g + tap * CV, w + (tap * C + c) * K + k0 + kk, n);
        if (geo->m == 4)
          weight_tile (g, u);
        else
          weight_tile2 (g, u);
        for (int xi = 0; xi < geo->xi; xi++)
          copy_vec (U + xi * us + (size_t) c * nk + kk, u + xi * CV, n);
      }
}

/* y[b, oy.., ox.., k0 + k] = (Aᵀ M A) + bias for every tile of the block and the block's channels. */
SC_WINOGRAD_CLONES
static void
transform_output (const Geometry *g, const float *M, int64_t k0, int64_t nk, const float *bias, float *y)
{
  const ScConv2dDesc *d = g->d;
  int64_t K = d->out_c;
  size_t ms = (size_t) nk;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < g->nt; t++)
    {
      int64_t b, oy, ox;
      tile_origin (g, t, &b, &oy, &ox);
      float m[XI * CV] = { 0 }, o[TILE * TILE * CV];
      for (int64_t kk = 0; kk < nk; kk += CV)
        {
          int n = (int) MIN (CV, nk - kk);
          for (int xi = 0; xi < g->xi; xi++)
            copy_vec (m + xi * CV, M + ((size_t) xi * g->nt + t) * ms + kk, n);
          if (g->m == 4)
            output_tile (m, o);
          else
            output_tile2 (m, o);
          float bv[CV] = { 0 };
          if (bias)
            copy_vec (bv, bias + k0 + kk, n);
          for (int i = 0; i < g->m && oy + i < d->out_h; i++)
            for (int j = 0; j < g->m && ox + j < d->out_w; j++)
              {
                float *dst = y + ((b * d->out_h + oy + i) * d->out_w + ox + j) * K + k0 + kk;
                const float *src = o + (i * g->m + j) * CV;
                if (n == CV)
                  {
#pragma omp simd
                    for (int l = 0; l < CV; l++)
                      dst[l] = src[l] + bv[l];
                  }
                else
                  for (int l = 0; l < n; l++)
                    dst[l] = src[l] + bv[l];
              }
        }
    }
}

/* The 36 (or 16) products M[ξ] = V[ξ] · U[ξ], one ξ per thread at a time. */
static void
multiply (const Geometry *g, int64_t C, int64_t nk, const float *V, const float *U, float *M)
{
  int saved;
  sc_cpu_blas_serial_begin (&saved);
#pragma omp parallel for schedule(dynamic, 1)
  for (int xi = 0; xi < g->xi; xi++)
    sc_cpu_gemm_serial (false, false, g->nt, nk, C, 1.0f, V + (size_t) xi * g->nt * C, C,
                        U + (size_t) xi * C * nk, nk, 0.0f, M + (size_t) xi * g->nt * nk, nk);
  sc_cpu_blas_serial_end (saved);
}

void
sc_cpu_conv2d_winograd_set_tile (int m)
{
  g_mutex_lock (&scratch_lock);
  forced_tile = m == 2 || m == 4 ? m : 0;
  g_mutex_unlock (&scratch_lock);
}

void
sc_cpu_conv2d_winograd_set_blocking (size_t max_floats, int64_t min_tiles)
{
  g_mutex_lock (&scratch_lock);
  block_floats = max_floats ? max_floats : BLOCK_FLOATS;
  min_tile_block = min_tiles ? min_tiles : MIN_TILE_BLOCK;
  g_mutex_unlock (&scratch_lock);
}

gboolean
sc_cpu_conv2d_winograd (const ScConv2dDesc *d, const float *x, const float *w, const float *bias, float *y)
{
  if (d->kernel_h != 3 || d->kernel_w != 3 || d->stride != 1)
    return FALSE;
  int m = forced_tile ? forced_tile : d->batch * d->out_h * d->out_w >= F4_MIN_PIXELS ? 4 : 2;
  Geometry g = { d, m, m + 2, (m + 2) * (m + 2), (d->out_h + m - 1) / m, (d->out_w + m - 1) / m, 0, 0, 0 };
  g.tiles = d->batch * g.tiles_h * g.tiles_w;
  int64_t C = d->in_c, K = d->out_c;
  const int64_t xi_n = g.xi;
  /* Blocks of output channels (for U) and of tiles (for V and M) keep each buffer near block_floats
   * however large the layer. */
  int64_t block = MAX (CV, MIN (K, (int64_t) (block_floats / (xi_n * (size_t) C)) / CV * CV));
  int64_t tile_block = MIN (g.tiles, MAX (min_tile_block, (int64_t) (block_floats / (xi_n * (size_t) MAX (C, block)))));
  size_t v_n = (size_t) xi_n * tile_block * C, u_n = (size_t) xi_n * C * block, m_n = (size_t) xi_n * tile_block * block;

  g_mutex_lock (&scratch_lock);
  if (scratch_floats < v_n + u_n + m_n)
    {
      sc_free_floats (scratch);
      scratch_floats = 0;
      scratch = sc_alloc_floats (v_n + u_n + m_n, NULL);
      if (!scratch)
        {
          g_mutex_unlock (&scratch_lock);
          return FALSE;
        }
      scratch_floats = v_n + u_n + m_n;
    }
  float *V = scratch, *U = V + v_n, *M = U + u_n;
  for (int64_t k0 = 0; k0 < K; k0 += block)
    {
      int64_t nk = MIN (block, K - k0);
      transform_weights (&g, w, k0, nk, U);
      for (g.t0 = 0; g.t0 < g.tiles; g.t0 += tile_block)
        {
          g.nt = MIN (tile_block, g.tiles - g.t0);
          /* With a single tile block, V is transformed once for all channel blocks. */
          if (k0 == 0 || g.tiles > tile_block)
            transform_input (&g, x, V);
          multiply (&g, C, nk, V, U, M);
          transform_output (&g, M, k0, nk, bias, y);
        }
    }
  g_mutex_unlock (&scratch_lock);
  return TRUE;
}
