/* conv2d, NHWC × HWIO. Two implementations, chosen per shape (see sc_cpu_conv2d):
 *  - im2col in tiles of output pixels + sgemm: each thread gathers a [tile, KH*KW*Cin] patch matrix
 *    (never the whole image) and multiplies it by the weights, which in HWIO order already are the
 *    [KH*KW*Cin, Cout] matrix; 1×1 stride-1 unpadded convs are a single sgemm;
 *  - oneDNN (cpu_conv_dnnl.c) where it is available and measured faster;
 *  - Winograd F(4×4, 3×3) (cpu_conv_winograd.c) for 3×3 stride-1 layers with many output pixels, which
 *    needs a quarter of the multiplies. */
#include "backend/cpu/cpu_kernels.h"

#include <omp.h>

/* Output pixels per im2col tile: the patch matrix of a 3×3×1280 conv is then 256 × 11520 floats
 * (11.8 MB); per-thread tiles let each thread run a serial sgemm with no fork/join per tile. */
#define CONV_TILE 256

static int conv_impl = 0;

/* SC_CONV_WINOGRAD=0 keeps the exact-summation paths, e.g. to compare with them. */
static gboolean
winograd_enabled (void)
{
  static int enabled = -1;
  if (enabled < 0)
    {
      const char *env = g_getenv ("SC_CONV_WINOGRAD");
      enabled = !(env && strcmp (env, "0") == 0);
    }
  return enabled;
}

void
sc_cpu_conv2d_set_impl (int impl)
{
  conv_impl = impl;
}

static void
fill_bias (float *y, const float *bias, int64_t rows, int64_t N)
{
  for (int64_t r = 0; r < rows; r++)
    {
      if (bias)
        memcpy (y + r * N, bias, sizeof (float) * (size_t) N);
      else
        memset (y + r * N, 0, sizeof (float) * (size_t) N);
    }
}

/* Gathers the patches of output pixels [p0, p0 + np) of image x into col[np, KH*KW*Cin]. */
static void
im2col_tile (const ScConv2dDesc *d, const float *x, int64_t p0, int64_t np, float *col)
{
  int64_t Cin = d->in_c, K = (int64_t) d->kernel_h * d->kernel_w * Cin;
  size_t cbytes = sizeof (float) * (size_t) Cin;
  for (int64_t p = 0; p < np; p++)
    {
      int64_t oy = (p0 + p) / d->out_w, ox = (p0 + p) % d->out_w;
      float *dst = col + p * K;
      for (int kh = 0; kh < d->kernel_h; kh++)
        {
          int64_t iy = oy * d->stride + kh - d->pad_top;
          for (int kw = 0; kw < d->kernel_w; kw++, dst += Cin)
            {
              int64_t ix = ox * d->stride + kw - d->pad_left;
              if (iy < 0 || iy >= d->in_h || ix < 0 || ix >= d->in_w)
                memset (dst, 0, cbytes);
              else
                memcpy (dst, x + (iy * d->in_w + ix) * Cin, cbytes);
            }
        }
    }
}

void
sc_cpu_conv2d_gemm (const ScConv2dDesc *d, const float *x, const float *w, const float *bias, float *y)
{
  int64_t Cin = d->in_c, Cout = d->out_c;
  int64_t K = (int64_t) d->kernel_h * d->kernel_w * Cin;
  int64_t P = d->out_h * d->out_w; /* output pixels per image */
  gboolean pointwise = d->kernel_h == 1 && d->kernel_w == 1 && d->stride == 1 && d->pad_top == 0
                       && d->pad_left == 0 && d->pad_bottom == 0 && d->pad_right == 0;
  if (pointwise)
    {
      /* The input already is the patch matrix [B*H*W, Cin]. */
      int64_t M = d->batch * P;
#pragma omp parallel for if (M * Cout > SC_CPU_MIN_PARALLEL)
      for (int64_t r = 0; r < M; r++)
        fill_bias (y + r * Cout, bias, 1, Cout);
      sc_cpu_gemm (false, false, M, Cout, Cin, 1.0f, x, Cin, w, Cout, 1.0f, y, Cout);
      return;
    }

  int64_t tiles_per_image = (P + CONV_TILE - 1) / CONV_TILE;
  int64_t tiles = d->batch * tiles_per_image;
  int saved;
  sc_cpu_blas_serial_begin (&saved);
  gboolean par = tiles > 1 && (double) (d->batch * P) * (double) K * (double) Cout >= SC_CPU_MIN_PARALLEL_MACS;
#pragma omp parallel if (par)
  {
    float *col = sc_alloc_floats ((size_t) (CONV_TILE * K), NULL);
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < tiles; t++)
      {
        int64_t b = t / tiles_per_image;
        int64_t p0 = (t % tiles_per_image) * CONV_TILE;
        int64_t np = MIN (CONV_TILE, P - p0);
        const float *xb = x + b * d->in_h * d->in_w * Cin;
        float *yt = y + (b * P + p0) * Cout;
        im2col_tile (d, xb, p0, np, col);
        fill_bias (yt, bias, np, Cout);
        sc_cpu_gemm_serial (false, false, np, Cout, K, 1.0f, col, K, w, Cout, 1.0f, yt, Cout);
      }
    sc_free_floats (col);
  }
  sc_cpu_blas_serial_end (saved);
}

void
sc_cpu_conv2d (const ScConv2dDesc *d, const float *x, const float *w, const float *bias, float *y)
{
  if (d->batch <= 0 || d->out_h <= 0 || d->out_w <= 0 || d->out_c <= 0)
    return;
  gboolean winograd = conv_impl == 3 || (conv_impl == 0 && winograd_enabled () && sc_cpu_conv2d_winograd_suits (d));
  if (!winograd && conv_impl != 1 && sc_cpu_conv2d_dnnl (d, x, w, bias, y))
    return;
  /* The weights may be in oneDNN's layout from an earlier call. */
  sc_cpu_conv2d_weights_hwio ((float *) w, d->kernel_h, d->kernel_w, d->in_c, d->out_c);
  if (!(winograd && sc_cpu_conv2d_winograd (d, x, w, bias, y)))
    sc_cpu_conv2d_gemm (d, x, w, bias, y);
}

