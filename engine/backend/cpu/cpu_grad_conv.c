/* conv2d backward, NHWC × HWIO like the forward (cpu_conv.c); gradients are ADDED into the buffers.
 * With col = the forward's im2col patch matrix [pixels, KH*KW*Cin] and W = w as [KH*KW*Cin, Cout]:
 *  - dbias += column sums of dy;
 *  - dw += colᵀ · dy. Jobs are (kernel tap, block of Cin, block of Cout): a job owns its block of dw and
 *    sums over every image and pixel tile in one fixed order, gathering only its [tile, Cin block] slice
 *    of col. One writer per dw value, so the result does not depend on the thread count.
 *  - dx = col2im (dy · Wᵀ). Jobs are (image, band of output rows, block of Cin): a job computes the patch
 *    gradients of its pixels one tile at a time and scatter-adds them into dx. Neighbouring bands share
 *    input rows (the patches overlap) but bands two apart do not: even bands run first, then odd ones,
 *    so writers never overlap and the order of the additions is fixed.
 * Scratch per thread is one tile: never a whole-image patch matrix. */
#include "backend/cpu/cpu_grad_conv.h"
#include "backend/cpu/cpu_kernels.h"

#include <omp.h>

/* Output pixels per gemm (as the forward's CONV_TILE). */
#define GRAD_TILE 256
/* Input channels per job: dx jobs' gemms are [tile, Cout] · [Cout, CIN_BLOCK]; enough jobs to share out
 * even at 8×8 pixels. */
#define GRAD_CIN_BLOCK 64
/* Output channels per dw job: splits 1×1 convs (one tap) into enough jobs. */
#define GRAD_COUT_BLOCK 128

static void
bias_backward (const float *dy, float *dbias, int64_t rows, int64_t C)
{
  /* Each block of channels sums all rows in order, in double (B·H·W terms, up to ~10^5). */
  int64_t blocks = (C + 63) / 64;
#pragma omp parallel for if (rows * C > SC_CPU_MIN_PARALLEL)
  for (int64_t jb = 0; jb < blocks; jb++)
    {
      int64_t c0 = jb * 64, nc = MIN (64, C - c0);
      double acc[64] = { 0 };
      for (int64_t r = 0; r < rows; r++)
        {
          const float *row = dy + r * C + c0;
          for (int64_t c = 0; c < nc; c++)
            acc[c] += row[c];
        }
      for (int64_t c = 0; c < nc; c++)
        dbias[c0 + c] += (float) acc[c];
    }
}

/* col[np, nc]: what tap (kh, kw) sees in input channels [c0, c0 + nc) for output pixels [p0, p0 + np) of
 * image xb; zeros where the tap falls in the padding. */
static void
gather_tap (const ScConv2dDesc *d, const float *xb, int kh, int kw, int64_t c0, int64_t nc, int64_t p0,
            int64_t np, float *col)
{
  for (int64_t p = 0; p < np; p++)
    {
      int64_t oy = (p0 + p) / d->out_w, ox = (p0 + p) % d->out_w;
      int64_t iy = oy * d->stride + kh - d->pad_top, ix = ox * d->stride + kw - d->pad_left;
      if (iy < 0 || iy >= d->in_h || ix < 0 || ix >= d->in_w)
        memset (col + p * nc, 0, sizeof (float) * (size_t) nc);
      else
        memcpy (col + p * nc, xb + (iy * d->in_w + ix) * d->in_c + c0, sizeof (float) * (size_t) nc);
    }
}

static void
weights_backward (const ScConv2dDesc *d, const float *x, const float *dy, float *dw, gboolean par)
{
  int64_t Cin = d->in_c, Cout = d->out_c, P = d->out_h * d->out_w;
  int64_t taps = (int64_t) d->kernel_h * d->kernel_w;
  int64_t ncb = (Cin + GRAD_CIN_BLOCK - 1) / GRAD_CIN_BLOCK, nob = (Cout + GRAD_COUT_BLOCK - 1) / GRAD_COUT_BLOCK;
  int64_t jobs = taps * ncb * nob;
#pragma omp parallel if (par && jobs > 1)
  {
    float *col = sc_alloc_floats ((size_t) (GRAD_TILE * MIN (GRAD_CIN_BLOCK, Cin)), NULL);
    if (!col)
      g_error ("conv2d backward: out of memory");
#pragma omp for schedule(dynamic, 1)
    for (int64_t j = 0; j < jobs; j++)
      {
        int64_t tap = j / (ncb * nob), c0 = (j / nob) % ncb * GRAD_CIN_BLOCK, o0 = j % nob * GRAD_COUT_BLOCK;
        int64_t nc = MIN (GRAD_CIN_BLOCK, Cin - c0), no = MIN (GRAD_COUT_BLOCK, Cout - o0);
        float *dwj = dw + (tap * Cin + c0) * Cout + o0;
        for (int64_t b = 0; b < d->batch; b++)
          for (int64_t p0 = 0; p0 < P; p0 += GRAD_TILE)
            {
              int64_t np = MIN (GRAD_TILE, P - p0);
              gather_tap (d, x + b * d->in_h * d->in_w * Cin, (int) (tap / d->kernel_w), (int) (tap % d->kernel_w),
                          c0, nc, p0, np, col);
              /* dw[tap, c0.., o0..] += col[np, nc]ᵀ · dy[np, o0..] (beta 1: straight into the caller's dw) */
              sc_cpu_gemm_serial (true, false, nc, no, np, 1.0f, col, nc, dy + (b * P + p0) * Cout + o0, Cout,
                                  1.0f, dwj, Cout);
            }
      }
    sc_free_floats (col);
  }
}

/* One dx job: output rows [oy0, oy1) of image b, input channels [c0, c0 + nc). dcol holds one tile of patch
 * gradients per tap: [taps][GRAD_TILE][nc]. */
static void
input_job (const ScConv2dDesc *d, const float *w, const float *dy, float *dx, int64_t b, int64_t oy0,
           int64_t oy1, int64_t c0, int64_t nc, float *dcol)
{
  int64_t Cin = d->in_c, Cout = d->out_c, P = d->out_h * d->out_w;
  int64_t taps = (int64_t) d->kernel_h * d->kernel_w;
  const float *dyb = dy + b * P * Cout;
  float *dxb = dx + b * d->in_h * d->in_w * Cin + c0;
  for (int64_t p0 = oy0 * d->out_w; p0 < oy1 * d->out_w; p0 += GRAD_TILE)
    {
      int64_t np = MIN (GRAD_TILE, oy1 * d->out_w - p0);
      /* dcol[tap][p][c] = Σ_o dy[p][o] · w[tap][c0 + c][o] */
      for (int64_t t = 0; t < taps; t++)
        sc_cpu_gemm_serial (false, true, np, nc, Cout, 1.0f, dyb + p0 * Cout, Cout, w + (t * Cin + c0) * Cout,
                            Cout, 0.0f, dcol + t * GRAD_TILE * nc, nc);
      /* col2im: each patch gradient goes back to the input pixel the forward read it from. */
      for (int64_t p = 0; p < np; p++)
        {
          int64_t oy = (p0 + p) / d->out_w, ox = (p0 + p) % d->out_w;
          for (int kh = 0; kh < d->kernel_h; kh++)
            {
              int64_t iy = oy * d->stride + kh - d->pad_top;
              if (iy < 0 || iy >= d->in_h)
                continue;
              for (int kw = 0; kw < d->kernel_w; kw++)
                {
                  int64_t ix = ox * d->stride + kw - d->pad_left;
                  if (ix < 0 || ix >= d->in_w)
                    continue;
                  float *dst = dxb + (iy * d->in_w + ix) * Cin;
                  const float *src = dcol + ((int64_t) (kh * d->kernel_w + kw) * GRAD_TILE + p) * nc;
#pragma omp simd
                  for (int64_t c = 0; c < nc; c++)
                    dst[c] += src[c];
                }
            }
        }
    }
}

static void
input_backward (const ScConv2dDesc *d, const float *w, const float *dy, float *dx, gboolean par)
{
  int64_t Cin = d->in_c, taps = (int64_t) d->kernel_h * d->kernel_w;
  /* Band height R: band i reaches input rows up to ((i+1)R − 1)·s − pad + KH − 1, band i+2 starts at
   * (i+2)R·s − pad; they are disjoint when R·s ≥ KH − s. Taller bands (about a tile of pixels) keep the
   * gemms full. */
  int64_t R = 1;
  while (R * d->stride < d->kernel_h - d->stride)
    R++;
  R = MAX (R, (GRAD_TILE + d->out_w - 1) / d->out_w);
  int64_t bands = (d->out_h + R - 1) / R, ncb = (Cin + GRAD_CIN_BLOCK - 1) / GRAD_CIN_BLOCK;
#pragma omp parallel if (par && d->batch * bands * ncb > 1)
  {
    float *dcol = sc_alloc_floats ((size_t) (taps * GRAD_TILE * MIN (GRAD_CIN_BLOCK, Cin)), NULL);
    if (!dcol)
      g_error ("conv2d backward: out of memory");
    for (int64_t phase = 0; phase < 2; phase++)
      {
        int64_t nb = (bands + 1 - phase) / 2; /* bands phase, phase + 2, … */
        int64_t jobs = d->batch * nb * ncb;
        /* The implicit barrier at the end of the loop separates the phases. */
#pragma omp for schedule(dynamic, 1)
        for (int64_t j = 0; j < jobs; j++)
          {
            int64_t b = j / (nb * ncb), band = 2 * ((j / ncb) % nb) + phase, c0 = j % ncb * GRAD_CIN_BLOCK;
            input_job (d, w, dy, dx, b, band * R, MIN ((band + 1) * R, d->out_h), c0,
                       MIN (GRAD_CIN_BLOCK, Cin - c0), dcol);
          }
      }
    sc_free_floats (dcol);
  }
}

void
sc_cpu_conv2d_backward (const ScConv2dDesc *d, const float *x, const float *w, const float *dy, float *dx,
                        float *dw, float *dbias)
{
  if (d->batch <= 0 || d->out_h <= 0 || d->out_w <= 0 || d->out_c <= 0 || d->in_c <= 0)
    return;
  int64_t rows = d->batch * d->out_h * d->out_w;
  if (dbias)
    bias_backward (dy, dbias, rows, d->out_c);
  if (!dx && !dw)
    return;
  /* dx and dw each cost as many multiply-adds as the forward. */
  double macs = (double) rows * (double) (d->kernel_h * d->kernel_w * d->in_c) * (double) d->out_c;
  gboolean par = macs >= SC_CPU_MIN_PARALLEL_MACS;
  int saved;
  sc_cpu_blas_serial_begin (&saved);
  if (dw)
    weights_backward (d, x, dy, dw, par);
  if (dx)
    {
      /* A oneDNN forward may have left w in its blocked layout. */
      sc_cpu_conv2d_weights_hwio ((float *) w, d->kernel_h, d->kernel_w, d->in_c, d->out_c);
      input_backward (d, w, dy, dx, par);
    }
  sc_cpu_blas_serial_end (saved);
}
