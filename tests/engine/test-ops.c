/* The CPU op table against PyTorch (tests/fixtures/ops.safetensors, from tests/reference/gen_ops.py).
 * Every op also runs with 1 and 2 threads; the two results must agree within 1e-6 (our reductions use
 * thread-count-independent chunks, so in practice they are identical).
 *
 * Tolerances (|got - ref| <= atol + rtol |ref|; the references are float64 values rounded to f32):
 *  - elementwise and norms: rtol 1e-5 — a few f32 roundings plus our exp/erfc approximations (~2e-7);
 *  - gemm/linear (K <= 70): 1e-5 — f32 accumulation of K products;
 *  - conv and attention: 1e-4 — f32 sums of up to 288 products (conv) or softmax over 300 keys with
 *    a polynomial exp, in blocked orders that differ from the float64 reference;
 *  - copies (upsample, concat): exact. */
#include "backend/backend.h"
#include "backend/cpu/cpu_kernels.h"
#include "core/parallel.h"
#include "core/tensor.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

/* A minimal safetensors reader for the f32 fixture (engine/io/safetensors.c was not yet available when
 * this test was written; switch to sc_safetensors_open once it is). */
typedef struct {
  GMappedFile *file;
  JsonObject *header;
  JsonParser *parser;
  const guint8 *data;
} Fixture;

static Fixture fx;

static void
fixture_open (void)
{
  const char *dir = g_getenv ("SC_FIXTURES_DIR");
  g_autofree char *path = g_build_filename (dir ? dir : "tests/fixtures", "ops.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  fx.file = g_mapped_file_new (path, FALSE, &error);
  g_assert_no_error (error);
  const guint8 *bytes = (const guint8 *) g_mapped_file_get_contents (fx.file);
  guint64 hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | bytes[i];
  g_assert_cmpuint (hlen + 8, <=, g_mapped_file_get_length (fx.file));
  fx.parser = json_parser_new ();
  json_parser_load_from_data (fx.parser, (const char *) bytes + 8, (gssize) hlen, &error);
  g_assert_no_error (error);
  fx.header = json_node_get_object (json_parser_get_root (fx.parser));
  fx.data = bytes + 8 + hlen;
  JsonObject *meta = json_object_get_object_member (fx.header, "__metadata__");
  g_assert_cmpstr (json_object_get_string_member (meta, "generator"), ==, "tests/reference/gen_ops.py");
}

/* A 64-byte aligned copy of tensor `name`; *n gets its element count. */
static float *
fx_get (const char *name, int64_t *n)
{
  g_assert_true (json_object_has_member (fx.header, name));
  JsonObject *e = json_object_get_object_member (fx.header, name);
  g_assert_cmpstr (json_object_get_string_member (e, "dtype"), ==, "F32");
  JsonArray *off = json_object_get_array_member (e, "data_offsets");
  gint64 a = json_array_get_int_element (off, 0), b = json_array_get_int_element (off, 1);
  float *p = sc_alloc_floats ((size_t) (b - a) / 4, NULL);
  memcpy (p, fx.data + a, (size_t) (b - a));
  if (n)
    *n = (b - a) / 4;
  return p;
}

static void
assert_close (const char *what, const float *got, const float *ref, int64_t n, double rtol, double atol)
{
  double worst = 0.0;
  int64_t worst_i = -1;
  for (int64_t i = 0; i < n; i++)
    {
      double err = fabs ((double) got[i] - (double) ref[i]);
      double lim = atol + rtol * fabs ((double) ref[i]);
      g_assert_false (isnan (got[i]));
      if (err / lim > worst)
        {
          worst = err / lim;
          worst_i = i;
        }
    }
  if (worst > 1.0)
    g_error ("%s: element %" G_GINT64_FORMAT " is %.9g, expected %.9g (%.2f× the tolerance)", what, worst_i,
             got[worst_i], ref[worst_i], worst);
  g_test_message ("%s: worst error %.3f of tolerance", what, worst);
}

/* Runs `body` with 1 and 2 threads into y1 and y2 (n floats each) and checks they agree. */
typedef void (*OpBody) (gconstpointer ctx, float *y);

static float *
run_threads (const char *what, OpBody body, gconstpointer ctx, int64_t n)
{
  float *y1 = sc_alloc_floats ((size_t) n, NULL), *y2 = sc_alloc_floats ((size_t) n, NULL);
  sc_set_num_threads (1);
  body (ctx, y1);
  sc_set_num_threads (2);
  body (ctx, y2);
  for (int64_t i = 0; i < n; i++)
    if (fabsf (y1[i] - y2[i]) > 1e-6f * (1.0f + fabsf (y1[i])))
      g_error ("%s: 1 vs 2 threads differ at %" G_GINT64_FORMAT ": %.9g vs %.9g", what, i, y1[i], y2[i]);
  sc_free_floats (y2);
  return y1;
}

static const ScBackend *be;

/* ---- gemm / linear ---- */

typedef struct {
  bool ta, tb;
  float *a, *b, *c;
} GemmCtx;

static void
gemm_body (gconstpointer p, float *y)
{
  const GemmCtx *g = p;
  const int64_t M = 37, N = 29, K = 19;
  memcpy (y, g->c, sizeof (float) * M * (N + 3));
  be->gemm (g->ta, g->tb, M, N, K, 0.7f, g->a, (g->ta ? M : K) + 3, g->b, (g->tb ? K : N) + 3, 0.3f, y, N + 3);
}

static void
test_gemm (void)
{
  for (int t = 0; t < 4; t++)
    {
      GemmCtx g = { .ta = t >> 1, .tb = t & 1 };
      char name[64];
      int64_t n;
      g_snprintf (name, sizeof name, "gemm_%d%d.a", g.ta, g.tb);
      g.a = fx_get (name, NULL);
      name[8] = 'b';
      g.b = fx_get (name, NULL);
      name[8] = 'c';
      g.c = fx_get (name, &n);
      name[8] = 'y';
      float *ref = fx_get (name, NULL);
      float *y = run_threads (name, gemm_body, &g, n);
      assert_close (name, y, ref, n, 1e-5, 1e-5); /* padding columns too: must be untouched */
      sc_free_floats (g.a);
      sc_free_floats (g.b);
      sc_free_floats (g.c);
      sc_free_floats (ref);
      sc_free_floats (y);
    }
}

typedef struct {
  float *x, *w, *bias;
  int64_t M, K, N;
} LinearCtx;

static void
linear_body (gconstpointer p, float *y)
{
  const LinearCtx *l = p;
  be->linear (l->x, l->w, l->bias, y, l->M, l->K, l->N);
}

static void
check_linear (const char *name, int64_t M, int64_t K, int64_t N, gboolean bias)
{
  LinearCtx l = { .M = M, .K = K, .N = N };
  g_autofree char *kx = g_strconcat (name, ".x", NULL), *kw = g_strconcat (name, ".w", NULL),
                  *kb = g_strconcat (name, ".bias", NULL), *ky = g_strconcat (name, ".y", NULL);
  l.x = fx_get (kx, NULL);
  l.w = fx_get (kw, NULL);
  l.bias = bias ? fx_get (kb, NULL) : NULL;
  float *ref = fx_get (ky, NULL);
  float *y = run_threads (name, linear_body, &l, M * N);
  assert_close (name, y, ref, M * N, 1e-5, 1e-5);
  sc_free_floats (l.x);
  sc_free_floats (l.w);
  sc_free_floats (l.bias);
  sc_free_floats (ref);
  sc_free_floats (y);
}

static void
test_linear (void)
{
  check_linear ("linear_bias", 13, 70, 33, TRUE);
  check_linear ("linear_nobias", 5, 17, 9, FALSE);
}

/* ---- conv2d ---- */

typedef struct {
  ScConv2dDesc d;
  float *x, *w, *bias;
} ConvCtx;

static void
conv_body (gconstpointer p, float *y)
{
  const ConvCtx *c = p;
  be->conv2d (&c->d, c->x, c->w, c->bias, y);
}

static void
check_conv (const char *name, int impl)
{
  g_autofree char *kd = g_strconcat (name, ".desc", NULL), *kx = g_strconcat (name, ".x", NULL),
                  *kw = g_strconcat (name, ".w", NULL), *kb = g_strconcat (name, ".bias", NULL),
                  *ky = g_strconcat (name, ".y", NULL);
  float *desc = fx_get (kd, NULL);
  ConvCtx c = { 0 };
  c.d.batch = (int64_t) desc[0];
  c.d.in_h = (int64_t) desc[1];
  c.d.in_w = (int64_t) desc[2];
  c.d.in_c = (int64_t) desc[3];
  c.d.out_c = (int64_t) desc[4];
  c.d.kernel_h = c.d.kernel_w = (int) desc[5];
  c.d.stride = (int) desc[6];
  c.d.pad_top = (int) desc[7];
  c.d.pad_left = (int) desc[8];
  c.d.pad_bottom = (int) desc[9];
  c.d.pad_right = (int) desc[10];
  sc_conv2d_desc_init (&c.d);
  c.x = fx_get (kx, NULL);
  c.w = fx_get (kw, NULL);
  c.bias = json_object_has_member (fx.header, kb) ? fx_get (kb, NULL) : NULL;
  int64_t n;
  float *ref = fx_get (ky, &n);
  g_assert_cmpint (n, ==, c.d.batch * c.d.out_h * c.d.out_w * c.d.out_c);
  sc_cpu_conv2d_set_impl (impl);
  g_autofree char *what = g_strdup_printf ("%s (impl %d)", name, impl);
  float *y = run_threads (what, conv_body, &c, n);
  sc_cpu_conv2d_set_impl (0);
  assert_close (what, y, ref, n, 1e-4, 1e-4);
  sc_free_floats (desc);
  sc_free_floats (c.x);
  sc_free_floats (c.w);
  sc_free_floats (c.bias);
  sc_free_floats (ref);
  sc_free_floats (y);
}

static void
test_conv2d (void)
{
  static const char *const names[] = { "conv_3x3", "conv_vae_down", "conv_1x1", "conv_unet_down",
                                        "conv_big", "conv_in", "conv_asym" };
  /* Every implementation on every shape: automatic choice, im2col+gemm, oneDNN (falls back when absent),
   * Winograd F(4×4) and F(2×2) (on the 3×3 stride-1 shapes; the others fall back). */
  sc_cpu_conv2d_winograd_set_tile (4);
  for (int impl = 0; impl <= 3; impl++)
    for (size_t i = 0; i < G_N_ELEMENTS (names); i++)
      check_conv (names[i], impl);
  sc_cpu_conv2d_winograd_set_tile (2);
  for (size_t i = 0; i < G_N_ELEMENTS (names); i++)
    check_conv (names[i], 3);
  sc_cpu_conv2d_winograd_set_tile (0);
}

/* The oneDNN path may repack a weight buffer in place (at U-Net widths the blocked layout has the same
 * size): the same buffer must give the same results through either implementation in any order, and
 * conv2d_weights_hwio must give back the exact HWIO values. The reference is im2col on a separate copy. */
static void
test_conv2d_repack (void)
{
  static const int order[] = { 2, 1, 2, 0, 3, 2, 1, 3, 2 };
  ScConv2dDesc d = { .batch = 2, .in_h = 9, .in_w = 10, .in_c = 64, .out_c = 96, .kernel_h = 3, .kernel_w = 3,
                     .stride = 1, .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1 };
  sc_conv2d_desc_init (&d);
  size_t nx = (size_t) (d.batch * d.in_h * d.in_w * d.in_c), nw = (size_t) (9 * d.in_c * d.out_c);
  size_t n = (size_t) (d.batch * d.out_h * d.out_w * d.out_c);
  float *x = sc_alloc_floats (nx, NULL), *w = sc_alloc_floats (nw, NULL), *bias = sc_alloc_floats (96, NULL);
  for (size_t i = 0; i < nx; i++)
    x[i] = sinf ((float) i * 0.37f);
  for (size_t i = 0; i < nw; i++)
    w[i] = 0.05f * cosf ((float) i * 0.11f);
  for (int i = 0; i < 96; i++)
    bias[i] = 0.01f * (float) i;
  float *w0 = g_memdup2 (w, sizeof (float) * nw);
  float *ref = sc_alloc_floats (n, NULL), *y = sc_alloc_floats (n, NULL);
  sc_cpu_conv2d_set_impl (1);
  be->conv2d (&d, x, w0, bias, ref);
  gboolean repacked = FALSE;
  for (size_t k = 0; k < G_N_ELEMENTS (order); k++)
    {
      g_autofree char *what = g_strdup_printf ("repacked weights (impl %d, call %zu)", order[k], k);
      sc_cpu_conv2d_set_impl (order[k]);
      be->conv2d (&d, x, w, bias, y);
      assert_close (what, y, ref, (int64_t) n, 1e-4, 1e-4);
      repacked |= memcmp (w, w0, sizeof (float) * nw) != 0;
    }
  sc_cpu_conv2d_set_impl (0);
  g_test_message ("weights repacked in place: %s", repacked ? "yes" : "no");
  be->conv2d_weights_hwio (w, 3, 3, d.in_c, d.out_c);
  g_assert_cmpmem (w, sizeof (float) * nw, w0, sizeof (float) * nw);
  g_free (w0);
  sc_free_floats (x);
  sc_free_floats (w);
  sc_free_floats (bias);
  sc_free_floats (ref);
  sc_free_floats (y);
}

/* Winograd in blocks of output channels and of tiles (a large layer's path), on an odd shape with
 * channels that are no multiple of the vector width, against im2col (itself checked against PyTorch). */
static void
test_conv2d_winograd_blocks (void)
{
  ScConv2dDesc d = { .batch = 2, .in_h = 21, .in_w = 18, .in_c = 40, .out_c = 56, .kernel_h = 3, .kernel_w = 3,
                     .stride = 1, .pad_top = 1, .pad_left = 2, .pad_bottom = 0, .pad_right = 1 };
  sc_conv2d_desc_init (&d);
  size_t nx = (size_t) (d.batch * d.in_h * d.in_w * d.in_c), nw = (size_t) (9 * d.in_c * d.out_c);
  size_t n = (size_t) (d.batch * d.out_h * d.out_w * d.out_c);
  float *x = sc_alloc_floats (nx, NULL), *w = sc_alloc_floats (nw, NULL), *bias = sc_alloc_floats (56, NULL);
  for (size_t i = 0; i < nx; i++)
    x[i] = sinf ((float) i * 0.37f) + 0.3f * cosf ((float) i * 0.011f);
  for (size_t i = 0; i < nw; i++)
    w[i] = 0.05f * cosf ((float) i * 0.11f);
  for (int i = 0; i < 56; i++)
    bias[i] = 0.01f * (float) i;
  float *ref = sc_alloc_floats (n, NULL), *y = sc_alloc_floats (n, NULL), *ref_nb = sc_alloc_floats (n, NULL);
  sc_cpu_conv2d_set_impl (1);
  be->conv2d (&d, x, w, bias, ref);
  be->conv2d (&d, x, w, NULL, ref_nb);
  for (int m = 2; m <= 4; m += 2)
    {
      /* 16 output channels and 7 tiles per block: 4 channel blocks × 10 (F(4×4): 6 × 5 tiles per image)
       * or 32 (F(2×2): 11 × 10) tile blocks */
      g_autofree char *blocks = g_strdup_printf ("winograd F(%dx%d) in blocks", m, m);
      g_autofree char *one = g_strdup_printf ("winograd F(%dx%d) in one block, no bias", m, m);
      sc_cpu_conv2d_winograd_set_tile (m);
      sc_cpu_conv2d_winograd_set_blocking ((size_t) (m + 2) * (m + 2) * 40 * 16, 7);
      sc_cpu_conv2d_set_impl (3);
      be->conv2d (&d, x, w, bias, y);
      assert_close (blocks, y, ref, (int64_t) n, 1e-4, 1e-4);
      sc_cpu_conv2d_winograd_set_blocking (0, 0);
      be->conv2d (&d, x, w, NULL, y);
      assert_close (one, y, ref_nb, (int64_t) n, 1e-4, 1e-4);
    }
  sc_cpu_conv2d_winograd_set_tile (0);
  sc_cpu_conv2d_set_impl (0);
  sc_free_floats (ref_nb);
  sc_free_floats (x);
  sc_free_floats (w);
  sc_free_floats (bias);
  sc_free_floats (ref);
  sc_free_floats (y);
}

/* ---- norms ---- */

typedef struct {
  float *x, *gamma, *beta;
  int64_t B, HW, C;
  int groups;
  float eps;
  bool silu, in_place;
} NormCtx;

static void
gn_body (gconstpointer p, float *y)
{
  const NormCtx *c = p;
  if (c->in_place)
    {
      memcpy (y, c->x, sizeof (float) * (size_t) (c->B * c->HW * c->C));
      be->group_norm (y, y, c->B, c->HW, c->C, c->groups, c->gamma, c->beta, c->eps, c->silu);
    }
  else
    be->group_norm (c->x, y, c->B, c->HW, c->C, c->groups, c->gamma, c->beta, c->eps, c->silu);
}

static void
test_group_norm (void)
{
  static const char *const names[] = { "gn_small", "gn_silu", "gn_big" };
  for (size_t i = 0; i < G_N_ELEMENTS (names); i++)
    for (int in_place = 0; in_place < 2; in_place++)
      {
        const char *name = names[i];
        g_autofree char *kd = g_strconcat (name, ".desc", NULL), *kx = g_strconcat (name, ".x", NULL),
                        *kg = g_strconcat (name, ".gamma", NULL), *kb = g_strconcat (name, ".beta", NULL),
                        *ky = g_strconcat (name, ".y", NULL);
        float *desc = fx_get (kd, NULL);
        NormCtx c = { .B = (int64_t) desc[0], .HW = (int64_t) desc[1], .C = (int64_t) desc[2],
                      .groups = (int) desc[3], .eps = desc[4], .silu = desc[5] != 0.0f, .in_place = in_place };
        c.x = fx_get (kx, NULL);
        c.gamma = fx_get (kg, NULL);
        c.beta = fx_get (kb, NULL);
        int64_t n;
        float *ref = fx_get (ky, &n);
        float *y = run_threads (name, gn_body, &c, n);
        assert_close (name, y, ref, n, 1e-5, 1e-5);
        sc_free_floats (desc);
        sc_free_floats (c.x);
        sc_free_floats (c.gamma);
        sc_free_floats (c.beta);
        sc_free_floats (ref);
        sc_free_floats (y);
      }
}

static void
ln_body (gconstpointer p, float *y)
{
  const NormCtx *c = p;
  const float *src = c->x;
  if (c->in_place)
    {
      memcpy (y, c->x, sizeof (float) * (size_t) (c->HW * c->C));
      src = y;
    }
  be->layer_norm (src, y, c->HW, c->C, c->gamma, c->beta, c->eps);
}

static void
test_layer_norm (void)
{
  for (int in_place = 0; in_place < 2; in_place++)
    {
      NormCtx c = { .HW = 13, .C = 45, .eps = 1e-5f, .in_place = in_place };
      c.x = fx_get ("ln.x", NULL);
      c.gamma = fx_get ("ln.gamma", NULL);
      c.beta = fx_get ("ln.beta", NULL);
      float *ref = fx_get ("ln.y", NULL);
      float *y = run_threads ("layer_norm", ln_body, &c, 13 * 45);
      assert_close ("layer_norm", y, ref, 13 * 45, 1e-5, 1e-5);
      sc_free_floats (c.x);
      sc_free_floats (c.gamma);
      sc_free_floats (c.beta);
      sc_free_floats (ref);
      sc_free_floats (y);
    }
}

/* ---- attention ---- */

typedef struct {
  const float *q, *k, *v;
  int64_t B, Nq, Nk, D, qs, kvs, os;
  int H;
  bool causal;
} AttCtx;

static void
att_body (gconstpointer p, float *y)
{
  const AttCtx *a = p;
  /* Output rows strided too (os > C): the gap must stay untouched. */
  memset (y, 0, sizeof (float) * (size_t) (a->B * a->Nq * a->os));
  be->attention (a->q, a->k, a->v, y, a->B, a->Nq, a->Nk, a->H, a->D, a->qs, a->kvs, a->os,
                 1.0f / sqrtf ((float) a->D), a->causal);
}

static void
test_attention (void)
{
  static const char *const names[] = { "att_self", "att_cross", "att_causal", "att_long", "att_causal_long" };
  for (size_t i = 0; i < G_N_ELEMENTS (names); i++)
    {
      const char *name = names[i];
      g_autofree char *kd = g_strconcat (name, ".desc", NULL), *ky = g_strconcat (name, ".y", NULL);
      float *desc = fx_get (kd, NULL);
      AttCtx a = { .B = (int64_t) desc[0], .Nq = (int64_t) desc[1], .Nk = (int64_t) desc[2], .H = (int) desc[3],
                   .D = (int64_t) desc[4], .causal = desc[5] != 0.0f };
      gboolean packed = desc[6] != 0.0f;
      int64_t C = a.H * a.D;
      float *bufs[3] = { NULL, NULL, NULL };
      if (packed)
        {
          g_autofree char *k = g_strconcat (name, ".qkv", NULL);
          bufs[0] = fx_get (k, NULL);
          a.q = bufs[0];
          a.k = bufs[0] + C;
          a.v = bufs[0] + 2 * C;
          a.qs = a.kvs = 3 * C;
        }
      else
        {
          static const char *const parts[] = { ".q", ".k", ".v" };
          for (int j = 0; j < 3; j++)
            {
              g_autofree char *k = g_strconcat (name, parts[j], NULL);
              bufs[j] = fx_get (k, NULL);
            }
          a.q = bufs[0];
          a.k = bufs[1];
          a.v = bufs[2];
          a.qs = a.kvs = C;
        }
      a.os = C + 3;
      float *ref = fx_get (ky, NULL);
      float *y = run_threads (name, att_body, &a, a.B * a.Nq * a.os);
      /* Compact the strided output for the comparison, checking the gaps stayed zero. */
      float *yc = sc_alloc_floats ((size_t) (a.B * a.Nq * C), NULL);
      for (int64_t r = 0; r < a.B * a.Nq; r++)
        {
          memcpy (yc + r * C, y + r * a.os, sizeof (float) * (size_t) C);
          for (int64_t c = C; c < a.os; c++)
            g_assert_cmpfloat (y[r * a.os + c], ==, 0.0f);
        }
      assert_close (name, yc, ref, a.B * a.Nq * C, 1e-4, 1e-4);
      for (int j = 0; j < 3; j++)
        sc_free_floats (bufs[j]);
      sc_free_floats (desc);
      sc_free_floats (ref);
      sc_free_floats (y);
      sc_free_floats (yc);
    }
}

/* The same fixtures through the portable kernel (the AVX-512 one is the default where the CPU has it). */
static void
test_attention_portable (void)
{
  g_assert_true (sc_cpu_attention_set_impl (1));
  test_attention ();
  sc_cpu_attention_set_impl (0);
}

/* The AVX-512 kernel against the portable one on shapes the fixtures do not cover: SD head sizes (40,
 * 64, 80, 160) and odd ones, several key tiles with a partial last one, partial query blocks, batch 2,
 * causal, packed qkv with strided output. */
static void
test_attention_avx512 (void)
{
  if (!sc_cpu_attention_set_impl (2))
    {
      sc_cpu_attention_set_impl (0);
      g_test_skip ("no AVX-512 attention kernel on this CPU/compiler");
      return;
    }
  static const struct { int64_t B, Nq, Nk; int H; int64_t D; bool causal; } cases[] = {
    { 2, 130, 77, 8, 40, false }, { 1, 200, 200, 5, 64, false }, { 2, 64, 300, 2, 80, false },
    { 1, 65, 97, 2, 160, false }, { 2, 150, 150, 3, 40, true }, { 1, 97, 97, 2, 7, true },
    { 1, 1, 1, 1, 1, false }, { 1, 3, 200, 1, 24, false }, { 1, 300, 300, 1, 64, true },
  };
  GRand *r = g_rand_new_with_seed (17);
  for (size_t ci = 0; ci < G_N_ELEMENTS (cases); ci++)
    {
      AttCtx a = { .B = cases[ci].B, .Nq = cases[ci].Nq, .Nk = cases[ci].Nk, .H = cases[ci].H,
                   .D = cases[ci].D, .causal = cases[ci].causal };
      int64_t C = a.H * a.D, N = MAX (a.Nq, a.Nk);
      /* Self-attention layout (packed qkv, row stride 3C) when Nq == Nk, separate q and kv otherwise. */
      float *qkv = sc_alloc_floats ((size_t) (a.B * N * 3 * C), NULL);
      for (int64_t i = 0; i < a.B * N * 3 * C; i++)
        qkv[i] = (float) g_rand_double_range (r, -2.0, 2.0);
      if (a.Nq == a.Nk)
        {
          a.q = qkv;
          a.k = qkv + C;
          a.v = qkv + 2 * C;
          a.qs = a.kvs = 3 * C;
        }
      else
        {
          a.q = qkv;
          a.qs = C;
          a.k = qkv + a.B * a.Nq * C;
          a.v = a.k + C;
          a.kvs = 2 * C;
        }
      a.os = C + 5;
      g_autofree char *name = g_strdup_printf ("attention avx512 B%" G_GINT64_FORMAT " %" G_GINT64_FORMAT
                                               "x%" G_GINT64_FORMAT " %dx%" G_GINT64_FORMAT "%s",
                                               a.B, a.Nq, a.Nk, a.H, a.D, a.causal ? " causal" : "");
      sc_cpu_attention_set_impl (1);
      float *ref = run_threads (name, att_body, &a, a.B * a.Nq * a.os);
      sc_cpu_attention_set_impl (2);
      float *y = run_threads (name, att_body, &a, a.B * a.Nq * a.os);
      for (int64_t rr = 0; rr < a.B * a.Nq; rr++)
        for (int64_t c = C; c < a.os; c++)
          g_assert_cmpfloat (y[rr * a.os + c], ==, 0.0f);
      assert_close (name, y, ref, a.B * a.Nq * a.os, 1e-5, 1e-5);
      sc_free_floats (qkv);
      sc_free_floats (ref);
      sc_free_floats (y);
    }
  g_rand_free (r);
  sc_cpu_attention_set_impl (0);
}

/* ---- elementwise ---- */

typedef struct {
  const float *a, *b;
  int64_t n;
  int which;
} EwCtx;

static void
unary_body (gconstpointer p, float *y)
{
  const EwCtx *e = p;
  memcpy (y, e->a, sizeof (float) * (size_t) e->n);
  be->unary ((ScUnaryOp) e->which, y, y, e->n); /* in place: y may alias x */
}

static void
test_unary (void)
{
  static const char *const names[] = { "unary.silu", "unary.gelu", "unary.quick_gelu" };
  int64_t n;
  float *x = fx_get ("unary.x", &n);
  for (int op = 0; op < 3; op++)
    {
      float *ref = fx_get (names[op], NULL);
      EwCtx e = { .a = x, .n = n, .which = op };
      float *y = run_threads (names[op], unary_body, &e, n);
      assert_close (names[op], y, ref, n, 1e-5, 1e-6);
      /* Out of place too, on an odd length. */
      float *y2 = sc_alloc_floats ((size_t) n, NULL);
      be->unary ((ScUnaryOp) op, x, y2, n - 2);
      assert_close (names[op], y2, ref, n - 2, 1e-5, 1e-6);
      g_assert_cmpfloat (y2[n - 1], ==, 0.0f);
      sc_free_floats (ref);
      sc_free_floats (y);
      sc_free_floats (y2);
    }
  sc_free_floats (x);
}

static void
geglu_body (gconstpointer p, float *y)
{
  const EwCtx *e = p;
  be->geglu (e->a, y, 5, 37);
}

static void
test_geglu (void)
{
  float *x = fx_get ("geglu.x", NULL), *ref = fx_get ("geglu.y", NULL);
  EwCtx e = { .a = x };
  float *y = run_threads ("geglu", geglu_body, &e, 5 * 37);
  assert_close ("geglu", y, ref, 5 * 37, 1e-5, 1e-6);
  sc_free_floats (x);
  sc_free_floats (ref);
  sc_free_floats (y);
}

static void
binary_body (gconstpointer p, float *y)
{
  const EwCtx *e = p;
  /* which: 0 add, 1 add aliasing a, 2 add aliasing b, 3 axpby, 4 axpby aliasing b */
  switch (e->which)
    {
    case 0:
      be->add (e->a, e->b, y, e->n);
      break;
    case 1:
      memcpy (y, e->a, sizeof (float) * (size_t) e->n);
      be->add (y, e->b, y, e->n);
      break;
    case 2:
      memcpy (y, e->b, sizeof (float) * (size_t) e->n);
      be->add (e->a, y, y, e->n);
      break;
    case 3:
      be->axpby (e->a, 0.75f, e->b, -1.25f, y, e->n);
      break;
    default:
      memcpy (y, e->b, sizeof (float) * (size_t) e->n);
      be->axpby (e->a, 0.75f, y, -1.25f, y, e->n);
      break;
    }
}

static void
test_add_axpby (void)
{
  int64_t n;
  float *a = fx_get ("add.a", &n), *b = fx_get ("add.b", NULL);
  float *ref_add = fx_get ("add.y", NULL), *ref_axpby = fx_get ("axpby.y", NULL);
  for (int which = 0; which < 5; which++)
    {
      EwCtx e = { .a = a, .b = b, .n = n, .which = which };
      float *y = run_threads ("add/axpby", binary_body, &e, n);
      /* atol 1e-6: axpby cancels (0.75 a - 1.25 b of O(1) terms), so its error is relative to the terms. */
      assert_close (which < 3 ? "add" : "axpby", y, which < 3 ? ref_add : ref_axpby, n, 1e-6, 1e-6);
      sc_free_floats (y);
    }
  sc_free_floats (a);
  sc_free_floats (b);
  sc_free_floats (ref_add);
  sc_free_floats (ref_axpby);
}

static void
bias_body (gconstpointer p, float *y)
{
  const EwCtx *e = p;
  memcpy (y, e->a, sizeof (float) * 2 * 15 * 19);
  be->add_bias_per_batch (y, e->b, 2, 15, 19);
}

static void
up_body (gconstpointer p, float *y)
{
  const EwCtx *e = p;
  be->upsample_nearest2x (e->a, y, 2, 3, 5, 7);
}

static void
cat_body (gconstpointer p, float *y)
{
  const EwCtx *e = p;
  be->concat_last (e->a, 5, e->b, 13, y, 11);
}

static void
test_bias_upsample_concat (void)
{
  float *x = fx_get ("bias.x", NULL), *bias = fx_get ("bias.bias", NULL), *ref = fx_get ("bias.y", NULL);
  EwCtx e = { .a = x, .b = bias };
  float *y = run_threads ("add_bias_per_batch", bias_body, &e, 2 * 15 * 19);
  assert_close ("add_bias_per_batch", y, ref, 2 * 15 * 19, 1e-6, 1e-7);
  sc_free_floats (x);
  sc_free_floats (bias);
  sc_free_floats (ref);
  sc_free_floats (y);

  x = fx_get ("up.x", NULL);
  ref = fx_get ("up.y", NULL);
  e.a = x;
  y = run_threads ("upsample", up_body, &e, 2 * 6 * 10 * 7);
  assert_close ("upsample_nearest2x", y, ref, 2 * 6 * 10 * 7, 0.0, 0.0 + 1e-30);
  sc_free_floats (x);
  sc_free_floats (ref);
  sc_free_floats (y);

  float *a = fx_get ("cat.a", NULL), *b = fx_get ("cat.b", NULL);
  ref = fx_get ("cat.y", NULL);
  e.a = a;
  e.b = b;
  y = run_threads ("concat", cat_body, &e, 11 * 18);
  assert_close ("concat_last", y, ref, 11 * 18, 0.0, 1e-30);
  sc_free_floats (a);
  sc_free_floats (b);
  sc_free_floats (ref);
  sc_free_floats (y);
}

static void
test_memory (void)
{
  float *p = be->alloc (1000);
  g_assert_nonnull (p);
  g_assert_cmpuint ((uintptr_t) p % 64, ==, 0);
  float host[1000], back[1000];
  for (int i = 0; i < 1000; i++)
    host[i] = (float) i * 0.5f;
  be->upload (p, host, 1000);
  be->download (back, p, 1000);
  g_assert_cmpmem (host, sizeof host, back, sizeof back);
  be->free (p);
  g_assert_cmpstr (be->name, ==, "cpu");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  be = sc_backend_cpu ();
  fixture_open ();
  g_test_add_func ("/ops/memory", test_memory);
  g_test_add_func ("/ops/gemm", test_gemm);
  g_test_add_func ("/ops/linear", test_linear);
  g_test_add_func ("/ops/conv2d", test_conv2d);
  g_test_add_func ("/ops/conv2d-repack", test_conv2d_repack);
  g_test_add_func ("/ops/conv2d-winograd-blocks", test_conv2d_winograd_blocks);
  g_test_add_func ("/ops/group-norm", test_group_norm);
  g_test_add_func ("/ops/layer-norm", test_layer_norm);
  g_test_add_func ("/ops/attention", test_attention);
  g_test_add_func ("/ops/attention-portable", test_attention_portable);
  g_test_add_func ("/ops/attention-avx512", test_attention_avx512);
  g_test_add_func ("/ops/unary", test_unary);
  g_test_add_func ("/ops/geglu", test_geglu);
  g_test_add_func ("/ops/add-axpby", test_add_axpby);
  g_test_add_func ("/ops/bias-upsample-concat", test_bias_upsample_concat);
  int rc = g_test_run ();
  g_object_unref (fx.parser);
  g_mapped_file_unref (fx.file);
  return rc;
}
