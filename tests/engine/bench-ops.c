/* Benchmark of the CPU backend's hot ops on Stable Diffusion shapes (a meson benchmark, not a test).
 * Prints GFLOP/s (2 × MACs per second; best of a few runs) for sgemm, conv2d (each implementation) and
 * attention. Usage: bench-ops [threads] [quick | attention] ("attention": only the attention rows). */
#include "backend/backend.h"
#include "backend/cpu/cpu_kernels.h"
#include "core/parallel.h"
#include "core/tensor.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static gboolean quick;

static float *
rand_floats (size_t n)
{
  float *p = sc_alloc_floats (n, NULL);
  g_assert_nonnull (p);
  guint32 s = 12345;
  for (size_t i = 0; i < n; i++)
    {
      s = s * 1664525u + 1013904223u;
      p[i] = ((float) (s >> 8) / 16777216.0f - 0.5f) * 0.2f;
    }
  return p;
}

static double
cpu_seconds (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

/* CPU seconds (all threads) of the best run: on a loaded machine wall time mostly measures the other
 * processes; CPU time / threads is the steadier figure (it includes OpenMP spin-waiting). */
static double last_cpu;

/* Best wall time of `reps` runs after one warm-up (which also builds oneDNN primitives / weight caches). */
#define TIME_BEST(reps, stmt)                                                                               \
  ({                                                                                                       \
    double best_ = 1e30;                                                                                   \
    last_cpu = 1e30;                                                                                       \
    stmt;                                                                                                  \
    for (int r_ = 0; r_ < (reps); r_++)                                                                    \
      {                                                                                                    \
        double c0_ = cpu_seconds ();                                                                       \
        gint64 t0_ = g_get_monotonic_time ();                                                              \
        stmt;                                                                                              \
        double dt_ = (double) (g_get_monotonic_time () - t0_) * 1e-6;                                      \
        best_ = MIN (best_, dt_);                                                                          \
        last_cpu = MIN (last_cpu, cpu_seconds () - c0_);                                                   \
      }                                                                                                    \
    best_;                                                                                                 \
  })

/* GFLOP/s per thread from CPU time. */
#define PER_THREAD(flops) ((flops) / last_cpu * 1e-9)

static int
reps_for (double flops)
{
  if (quick)
    return 1;
  return flops > 5e10 ? 2 : flops > 5e9 ? 3 : 8;
}

static void
bench_gemm (const ScBackend *be, int64_t M, int64_t N, int64_t K, const char *what)
{
  float *a = rand_floats ((size_t) (M * K)), *b = rand_floats ((size_t) (K * N)), *c = rand_floats ((size_t) (M * N));
  double flops = 2.0 * M * N * K;
  double t = TIME_BEST (reps_for (flops), be->gemm (false, false, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N));
  printf ("%-10s %-34s %9.2f ms %8.1f GFLOP/s %6.1f/thread\n", "sgemm", what, t * 1e3, flops / t * 1e-9,
          PER_THREAD (flops));
  sc_free_floats (a);
  sc_free_floats (b);
  sc_free_floats (c);
}

static void
bench_conv (const ScBackend *be, int64_t H, int64_t W, int64_t Cin, int64_t Cout, int k, int stride,
            const char *what)
{
  ScConv2dDesc d = { .batch = 1, .in_h = H, .in_w = W, .in_c = Cin, .out_c = Cout, .kernel_h = k,
                     .kernel_w = k, .stride = stride };
  d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = k / 2;
  sc_conv2d_desc_init (&d);
  float *x = rand_floats ((size_t) (H * W * Cin)), *w = rand_floats ((size_t) (k * k * Cin * Cout));
  float *bias = rand_floats ((size_t) Cout), *y = rand_floats ((size_t) (d.out_h * d.out_w * Cout));
  double flops = 2.0 * d.out_h * d.out_w * Cout * Cin * k * k;
  /* Each implementation, then what automatic selection runs (Winograd falls back to im2col on shapes it
   * does not take). */
  static const char *const impls[] = { "auto", "im2col", "onednn", "winograd" };
  static const int order[] = { 1, 2, 3, 0 };
  for (size_t i = 0; i < G_N_ELEMENTS (order); i++)
    {
      sc_cpu_conv2d_set_impl (order[i]);
      double t = TIME_BEST (reps_for (flops), be->conv2d (&d, x, w, bias, y));
      printf ("%-10s %-34s %9.2f ms %8.1f GFLOP/s %6.1f/thread  [%s]\n", "conv2d", what, t * 1e3,
              flops / t * 1e-9, PER_THREAD (flops), impls[order[i]]);
    }
  sc_cpu_conv2d_set_impl (0);
  sc_free_floats (x);
  sc_free_floats (w);
  sc_free_floats (bias);
  sc_free_floats (y);
}

static void
bench_attention (const ScBackend *be, int64_t N, int64_t Nk, int heads, int64_t d, const char *what)
{
  int64_t C = heads * d;
  float *qkv = rand_floats ((size_t) (N * 3 * C)), *kv = rand_floats ((size_t) (Nk * 2 * C));
  float *out = rand_floats ((size_t) (N * C));
  double flops = 4.0 * N * Nk * C;
  double t;
  if (Nk == N)
    t = TIME_BEST (reps_for (flops), be->attention (qkv, qkv + C, qkv + 2 * C, out, 1, N, N, heads, d, 3 * C,
                                                     3 * C, C, 1.0f / sqrtf ((float) d), false));
  else
    t = TIME_BEST (reps_for (flops), be->attention (qkv, kv, kv + C, out, 1, N, Nk, heads, d, 3 * C, 2 * C, C,
                                                     1.0f / sqrtf ((float) d), false));
  printf ("%-10s %-34s %9.2f ms %8.1f GFLOP/s %6.1f/thread\n", "attention", what, t * 1e3, flops / t * 1e-9,
          PER_THREAD (flops));
  sc_free_floats (qkv);
  sc_free_floats (kv);
  sc_free_floats (out);
}

static void
bench_norm (const ScBackend *be, int64_t HW, int64_t C)
{
  float *x = rand_floats ((size_t) (HW * C)), *g = rand_floats ((size_t) C), *b = rand_floats ((size_t) C);
  float *y = rand_floats ((size_t) (HW * C));
  double t = TIME_BEST (5, be->group_norm (x, y, 1, HW, C, 32, g, b, 1e-5f, true));
  double gb = 3.0 * HW * C * 4 + HW * C * 4; /* three reads + one write */
  char what[64];
  g_snprintf (what, sizeof what, "GN32+SiLU %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT, HW, C);
  printf ("%-10s %-34s %9.2f ms %8.1f GB/s\n", "norm", what, t * 1e3, gb / t * 1e-9);
  sc_free_floats (x);
  sc_free_floats (g);
  sc_free_floats (b);
  sc_free_floats (y);
}

/* Every 3×3 stride-1 conv of one SD 1.5 U-Net evaluation at 512 px, batch 2 (CFG), with how often it runs:
 * the time per implementation and per evaluation, to see where Winograd pays. */
static void
bench_unet_convs (const ScBackend *be)
{
  static const struct { int hw, cin, cout, count; } shapes[] = {
    { 64, 320, 320, 7 },  { 64, 640, 320, 2 },   { 64, 960, 320, 1 },   { 64, 640, 640, 1 },
    { 32, 320, 640, 1 },  { 32, 640, 640, 6 },   { 32, 960, 640, 1 },   { 32, 1280, 640, 1 },
    { 32, 1920, 640, 1 }, { 32, 1280, 1280, 1 }, { 16, 640, 1280, 1 },  { 16, 1280, 1280, 7 },
    { 16, 1920, 1280, 1 }, { 16, 2560, 1280, 2 }, { 8, 1280, 1280, 11 }, { 8, 2560, 1280, 3 },
  };
  static const int impls[] = { 2, 3, 0 };
  static const char *const names[] = { "onednn", "winograd", "auto" };
  double total[3] = { 0 };
  printf ("%-24s %6s %12s %12s %12s\n", "SD1.5 512px b2 conv", "count", "onednn ms", "winograd ms", "auto ms");
  for (size_t s = 0; s < G_N_ELEMENTS (shapes); s++)
    {
      ScConv2dDesc d = { .batch = 2, .in_h = shapes[s].hw, .in_w = shapes[s].hw, .in_c = shapes[s].cin,
                         .out_c = shapes[s].cout, .kernel_h = 3, .kernel_w = 3, .stride = 1, .pad_top = 1,
                         .pad_left = 1, .pad_bottom = 1, .pad_right = 1 };
      sc_conv2d_desc_init (&d);
      float *x = rand_floats ((size_t) (2 * d.in_h * d.in_w * d.in_c)), *w = rand_floats ((size_t) (9 * d.in_c * d.out_c));
      float *bias = rand_floats ((size_t) d.out_c), *y = rand_floats ((size_t) (2 * d.out_h * d.out_w * d.out_c));
      double flops = 2.0 * 2 * d.out_h * d.out_w * d.out_c * d.in_c * 9, t[3];
      for (int i = 0; i < 3; i++)
        {
          sc_cpu_conv2d_set_impl (impls[i]);
          t[i] = TIME_BEST (reps_for (flops), be->conv2d (&d, x, w, bias, y));
          total[i] += t[i] * shapes[s].count;
        }
      char what[64];
      g_snprintf (what, sizeof what, "%dx%d %d->%d", shapes[s].hw, shapes[s].hw, shapes[s].cin, shapes[s].cout);
      printf ("%-24s %6d %12.2f %12.2f %12.2f\n", what, shapes[s].count, t[0] * 1e3, t[1] * 1e3, t[2] * 1e3);
      sc_free_floats (x);
      sc_free_floats (w);
      sc_free_floats (bias);
      sc_free_floats (y);
    }
  sc_cpu_conv2d_set_impl (0);
  for (int i = 0; i < 3; i++)
    printf ("per U-Net evaluation, %-8s: %8.1f ms\n", names[i], total[i] * 1e3);
}

int
main (int argc, char **argv)
{
  int threads = argc > 1 ? atoi (argv[1]) : 0;
  quick = argc > 2;
  /* "bench-ops N attention": only the attention rows (the kernel being tuned); "bench-ops N unet-convs":
   * the U-Net's 3×3 convolutions by implementation. */
  gboolean only_attention = argc > 2 && g_strcmp0 (argv[2], "attention") == 0;
  sc_set_num_threads (threads);
  const ScBackend *be = sc_backend_cpu ();
  printf ("CPU backend, %d threads (figures are noisy on a shared machine)\n", sc_get_num_threads ());
  printf ("%-10s %-34s %12s %16s %13s\n", "op", "shape", "wall", "rate (wall)", "(CPU time)");

  if (only_attention)
    goto attention;
  if (argc > 2 && g_strcmp0 (argv[2], "unet-convs") == 0)
    {
      sc_set_num_threads (threads);
      bench_unet_convs (be);
      return 0;
    }
  bench_gemm (be, 1024, 1024, 1024, "1024^3");
  bench_gemm (be, 4096, 320, 320, "4096x320x320 (linear 64x64)");
  bench_gemm (be, 4096, 2560, 320, "4096x2560x320 (GEGLU proj)");

  bench_conv (be, 64, 64, 320, 320, 3, 1, "64x64 320->320 3x3");
  bench_conv (be, 32, 32, 640, 640, 3, 1, "32x32 640->640 3x3");
  bench_conv (be, 16, 16, 1280, 1280, 3, 1, "16x16 1280->1280 3x3");
  bench_conv (be, 8, 8, 1280, 1280, 3, 1, "8x8 1280->1280 3x3");
  bench_conv (be, 64, 64, 320, 320, 3, 2, "64x64 320 3x3 stride 2");
  bench_conv (be, 64, 64, 640, 320, 1, 1, "64x64 640->320 1x1");
  bench_conv (be, 32, 32, 1280, 640, 1, 1, "32x32 1280->640 1x1");
  bench_conv (be, 64, 64, 4, 320, 3, 1, "64x64 4->320 3x3 (conv_in)");
  if (!quick)
    {
      bench_conv (be, 256, 256, 256, 256, 3, 1, "VAE 256x256 256->256 3x3");
      bench_conv (be, 512, 512, 128, 128, 3, 1, "VAE 512x512 128->128 3x3");
    }

attention:
  bench_attention (be, 4096, 4096, 8, 40, "SD1 self 4096 8x40");
  bench_attention (be, 4096, 4096, 5, 64, "SD2 self 4096 5x64");
  bench_attention (be, 4096, 77, 8, 40, "SD1 cross 4096x77 8x40");

  if (only_attention)
    return 0;
  bench_norm (be, 4096, 320);
  bench_norm (be, 256 * 256, 256);
  return 0;
}
