/* The CPU backend's attention_backward, checked two ways:
 *  - against an exact reference: a plain double-precision loop that materialises the whole softmax per
 *    (batch, head) (fine at these sizes), max relative error <= 1e-5 per tensor (sc_test_max_rel_error);
 *  - against central finite differences of L = Σ r·out (r fixed and random, so dout = r) through the f32
 *    forward op, on sampled coordinates of realistic sizes and on every coordinate of tiny cases.
 * Also: every gradient is ADDED (twice = 2×), NULL gradients are skipped, only a tensor's own columns are
 * written (q/k/v interleaved in one buffer, padded row strides), out/dout padding is never read (NaN
 * there), and 1 and 2 threads give bit-identical results. */
#include "backend/backend.h"
#include "backend/cpu/cpu_kernels.h"
#include "core/parallel.h"
#include "core/tensor.h"
#include "test-util.h"

#include <glib.h>
#include <math.h>
#include <string.h>

static const ScBackend *be;

typedef enum {
  LAYOUT_QKV,  /* self-attention: q|k|v interleaved in one buffer, row stride 3C (needs Nq == Nk) */
  LAYOUT_Q_KV, /* q alone (row stride C + 3), k|v interleaved (row stride 2C): SD's cross-attention */
  LAYOUT_SEP,  /* q, k, v in their own regions, row strides C + 3 and C + 2 */
} Layout;

typedef struct {
  int64_t B, Nq, Nk;
  int H;
  int64_t D;
  bool causal;
  Layout layout;
} Shape;

enum { WANT_Q = 1, WANT_K = 2, WANT_V = 4, WANT_ALL = 7 };

/* One problem: all three inputs live in `in` (a gradient buffer has the same size and layout), tensor t
 * (0 q, 1 k, 2 v) at off[t]; owner[p] is the tensor owning position p, -1 for padding. */
typedef struct {
  Shape s;
  int64_t C, qs, kvs, os, n_in, n_out;
  int64_t off[3];
  float *in, *out, *dout;
  gint8 *owner;
  float scale;
} Att;

static int64_t
rows_of (const Att *a, int t)
{
  return t == 0 ? a->s.B * a->s.Nq : a->s.B * a->s.Nk;
}

static int64_t
pos_of (const Att *a, int t, int64_t row, int64_t c)
{
  return a->off[t] + row * (t == 0 ? a->qs : a->kvs) + c;
}

static void
forward (const Att *a, float *out)
{
  be->attention (a->in + a->off[0], a->in + a->off[1], a->in + a->off[2], out, a->s.B, a->s.Nq, a->s.Nk, a->s.H,
                 a->s.D, a->qs, a->kvs, a->os, a->scale, a->s.causal);
}

static Att *
att_new (Shape s, GRand *r)
{
  Att *a = g_new0 (Att, 1);
  a->s = s;
  a->C = s.H * s.D;
  int64_t C = a->C;
  a->scale = 1.0f / sqrtf ((float) s.D);
  switch (s.layout)
    {
    case LAYOUT_QKV:
      g_assert_cmpint (s.Nq, ==, s.Nk);
      a->qs = a->kvs = 3 * C;
      a->off[0] = 0, a->off[1] = C, a->off[2] = 2 * C;
      a->n_in = s.B * s.Nq * 3 * C;
      break;
    case LAYOUT_Q_KV:
      a->qs = C + 3, a->kvs = 2 * C;
      a->off[0] = 0, a->off[1] = s.B * s.Nq * a->qs, a->off[2] = a->off[1] + C;
      a->n_in = a->off[1] + s.B * s.Nk * a->kvs;
      break;
    case LAYOUT_SEP:
      a->qs = C + 3, a->kvs = C + 2;
      a->off[0] = 0, a->off[1] = s.B * s.Nq * a->qs, a->off[2] = a->off[1] + s.B * s.Nk * a->kvs;
      a->n_in = a->off[2] + s.B * s.Nk * a->kvs;
      break;
    }
  a->in = sc_alloc_floats ((size_t) a->n_in, NULL);
  a->owner = g_new (gint8, a->n_in);
  memset (a->owner, -1, (size_t) a->n_in);
  for (int64_t p = 0; p < a->n_in; p++)
    a->in[p] = (float) g_rand_double_range (r, -2.0, 2.0);
  for (int t = 0; t < 3; t++)
    for (int64_t row = 0; row < rows_of (a, t); row++)
      for (int64_t c = 0; c < C; c++)
        a->owner[pos_of (a, t, row, c)] = (gint8) t;
  /* out and dout padded by one column holding NaN: reading it would poison the gradients. */
  a->os = C + 1;
  a->n_out = s.B * s.Nq * a->os;
  a->out = sc_alloc_floats ((size_t) a->n_out, NULL);
  a->dout = sc_alloc_floats ((size_t) a->n_out, NULL);
  for (int64_t p = 0; p < a->n_out; p++)
    {
      gboolean pad = p % a->os >= C;
      a->out[p] = pad ? NAN : 0.0f;
      a->dout[p] = pad ? NAN : (float) g_rand_double_range (r, -1.0, 1.0);
    }
  forward (a, a->out);
  return a;
}

static void
att_free (Att *a)
{
  sc_free_floats (a->in);
  sc_free_floats (a->out);
  sc_free_floats (a->dout);
  g_free (a->owner);
  g_free (a);
}

static char *
att_name (const Att *a)
{
  static const char *const layouts[] = { "qkv", "q+kv", "q,k,v" };
  return g_strdup_printf ("B%" G_GINT64_FORMAT " %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT " %dx%" G_GINT64_FORMAT
                          " %s%s",
                          a->s.B, a->s.Nq, a->s.Nk, a->s.H, a->s.D, layouts[a->s.layout],
                          a->s.causal ? " causal" : "");
}

/* g += gradients (the `want` ones; the others are passed as NULL). */
static void
backward (const Att *a, float *g, int want)
{
  float *d[3];
  for (int t = 0; t < 3; t++)
    d[t] = (want & (1 << t)) ? g + a->off[t] : NULL;
  be->attention_backward (a->in + a->off[0], a->in + a->off[1], a->in + a->off[2], a->out, a->dout, d[0], d[1],
                          d[2], a->s.B, a->s.Nq, a->s.Nk, a->s.H, a->s.D, a->qs, a->kvs, a->os, a->scale,
                          a->s.causal);
}

/* The exact gradients in double, materialising P per (batch, head): gref[n_in], 0 on padding. */
static double *
reference (const Att *a)
{
  int64_t Nq = a->s.Nq, Nk = a->s.Nk, D = a->s.D;
  double *g = g_new0 (double, a->n_in);
  double *P = g_new (double, Nq * Nk), *dP = g_new (double, Nq * Nk);
  for (int64_t b = 0; b < a->s.B; b++)
    for (int h = 0; h < a->s.H; h++)
      {
#define Q(i, c) ((double) a->in[pos_of (a, 0, b * Nq + (i), h * D + (c))])
#define K(j, c) ((double) a->in[pos_of (a, 1, b * Nk + (j), h * D + (c))])
#define V(j, c) ((double) a->in[pos_of (a, 2, b * Nk + (j), h * D + (c))])
#define DO(i, c) ((double) a->dout[(b * Nq + (i)) * a->os + h * D + (c)])
#define G(t, row, c) g[pos_of (a, t, row, h * D + (c))]
        for (int64_t i = 0; i < Nq; i++)
          {
            int64_t n = a->s.causal ? MIN (i + 1, Nk) : Nk; /* key j visible iff j <= i */
            double mx = -INFINITY, sum = 0.0, Di = 0.0;
            for (int64_t j = 0; j < Nk; j++)
              {
                double s = 0.0;
                for (int64_t c = 0; c < D; c++)
                  s += Q (i, c) * K (j, c);
                P[i * Nk + j] = s * (double) a->scale;
                if (j < n)
                  mx = MAX (mx, P[i * Nk + j]);
              }
            for (int64_t j = 0; j < Nk; j++)
              {
                P[i * Nk + j] = j < n ? exp (P[i * Nk + j] - mx) : 0.0;
                sum += P[i * Nk + j];
              }
            for (int64_t j = 0; j < Nk; j++)
              {
                P[i * Nk + j] /= sum;
                double dp = 0.0;
                for (int64_t c = 0; c < D; c++)
                  dp += DO (i, c) * V (j, c);
                dP[i * Nk + j] = dp;
                Di += P[i * Nk + j] * dp;
              }
            for (int64_t j = 0; j < Nk; j++) /* dS, in place of dP */
              dP[i * Nk + j] = P[i * Nk + j] * (dP[i * Nk + j] - Di);
          }
        for (int64_t i = 0; i < Nq; i++)
          for (int64_t j = 0; j < Nk; j++)
            for (int64_t c = 0; c < D; c++)
              {
                double ds = dP[i * Nk + j] * (double) a->scale;
                G (0, b * Nq + i, c) += ds * K (j, c);
                G (1, b * Nk + j, c) += ds * Q (i, c);
                G (2, b * Nk + j, c) += P[i * Nk + j] * DO (i, c);
              }
#undef Q
#undef K
#undef V
#undef DO
#undef G
      }
  g_free (P);
  g_free (dP);
  return g;
}

/* Checks g = init + times · gref: relative error <= 1e-5 per wanted tensor (returned in err[t]), and every
 * other position (padding, unwanted tensors) still exactly init. */
static void
check (const Att *a, const float *g, const float *init, const double *gref, double times, int want,
       const char *what, double err[3])
{
  for (int64_t p = 0; p < a->n_in; p++)
    if (a->owner[p] < 0 || !(want & (1 << a->owner[p])))
      if (g[p] != init[p])
        g_error ("%s: position %" G_GINT64_FORMAT " (tensor %d) was written", what, p, a->owner[p]);
  static const char *const names[] = { "dq", "dk", "dv" };
  for (int t = 0; t < 3; t++)
    {
      if (!(want & (1 << t)))
        continue;
      int64_t n = rows_of (a, t) * a->C;
      float *got = g_new (float, n), *ref = g_new (float, n);
      for (int64_t row = 0, i = 0; row < rows_of (a, t); row++)
        for (int64_t c = 0; c < a->C; c++, i++)
          {
            int64_t p = pos_of (a, t, row, c);
            got[i] = (float) ((double) g[p] - (double) init[p]);
            ref[i] = (float) (times * gref[p]);
          }
      double max_ref = 0.0, max_got = 0.0;
      for (int64_t i = 0; i < n; i++)
        max_ref = MAX (max_ref, fabs ((double) ref[i])), max_got = MAX (max_got, fabs ((double) got[i]));
      /* With one visible key per query P = 1 and dS = 0: dq and dk are exactly 0 (up to f32 rounding of
       * dP − D, with inputs of order 1). */
      err[t] = max_ref > 0.0 ? sc_test_max_rel_error (got, ref, (size_t) n) : max_got;
      if (err[t] > 1e-5)
        g_error ("%s: %s relative error %.3g > 1e-5", what, names[t], err[t]);
      g_free (got);
      g_free (ref);
    }
}

static const Shape exact_cases[] = {
  /* SD self-attention shapes: interleaved qkv, head_dim 40 and 64, partial blocks. */
  { 2, 150, 150, 4, 40, false, LAYOUT_QKV },
  { 2, 150, 150, 4, 40, true, LAYOUT_QKV },
  { 1, 200, 200, 2, 64, false, LAYOUT_QKV },
  { 2, 65, 65, 5, 24, true, LAYOUT_QKV },
  /* Separate buffers with padded strides. */
  { 1, 97, 97, 2, 64, true, LAYOUT_SEP },
  { 2, 129, 129, 3, 24, false, LAYOUT_SEP },
  /* Cross-attention against 77 text tokens. */
  { 2, 130, 77, 8, 40, false, LAYOUT_Q_KV },
  { 2, 70, 77, 3, 24, false, LAYOUT_SEP },
  { 1, 64, 77, 2, 64, false, LAYOUT_Q_KV },
  /* Causal with Nq != Nk both ways (keys past the last query get nothing). */
  { 1, 130, 77, 2, 40, true, LAYOUT_Q_KV },
  { 2, 70, 130, 2, 24, true, LAYOUT_SEP },
  /* Degenerate. */
  { 1, 1, 1, 1, 1, false, LAYOUT_QKV },
  { 1, 3, 1, 1, 5, true, LAYOUT_SEP },
};

/* Every case against the double reference, with 1 and 2 threads (bit-identical). */
static void
test_exact (void)
{
  GRand *r = g_rand_new_with_seed (1);
  for (size_t ci = 0; ci < G_N_ELEMENTS (exact_cases); ci++)
    {
      Att *a = att_new (exact_cases[ci], r);
      g_autofree char *name = att_name (a);
      double *gref = reference (a);
      float *zero = sc_alloc_floats ((size_t) a->n_in, NULL);
      float *g1 = sc_alloc_floats ((size_t) a->n_in, NULL), *g2 = sc_alloc_floats ((size_t) a->n_in, NULL);
      sc_set_num_threads (1);
      backward (a, g1, WANT_ALL);
      sc_set_num_threads (2);
      backward (a, g2, WANT_ALL);
      sc_set_num_threads (0);
      if (memcmp (g1, g2, sizeof (float) * (size_t) a->n_in) != 0)
        g_error ("%s: 1 and 2 threads differ", name);
      double err[3];
      check (a, g1, zero, gref, 1.0, WANT_ALL, name, err);
      g_test_message ("%s: relative error dq %.2e dk %.2e dv %.2e", name, err[0], err[1], err[2]);
      g_free (gref);
      sc_free_floats (zero);
      sc_free_floats (g1);
      sc_free_floats (g2);
      att_free (a);
    }
  g_rand_free (r);
}

/* Gradients are added: two calls onto random contents give init + 2 × gradient. */
static void
test_accumulate (void)
{
  GRand *r = g_rand_new_with_seed (2);
  const Shape shapes[] = { { 2, 150, 150, 4, 40, true, LAYOUT_QKV }, { 2, 130, 77, 8, 40, false, LAYOUT_Q_KV } };
  for (size_t ci = 0; ci < G_N_ELEMENTS (shapes); ci++)
    {
      Att *a = att_new (shapes[ci], r);
      g_autofree char *base = att_name (a);
      g_autofree char *name = g_strdup_printf ("accumulate %s", base);
      double *gref = reference (a);
      float *init = sc_alloc_floats ((size_t) a->n_in, NULL), *g = sc_alloc_floats ((size_t) a->n_in, NULL);
      for (int64_t p = 0; p < a->n_in; p++)
        init[p] = g[p] = (float) g_rand_double_range (r, -0.1, 0.1);
      backward (a, g, WANT_ALL);
      backward (a, g, WANT_ALL);
      double err[3];
      check (a, g, init, gref, 2.0, WANT_ALL, name, err);
      g_test_message ("%s: relative error dq %.2e dk %.2e dv %.2e", name, err[0], err[1], err[2]);
      g_free (gref);
      sc_free_floats (init);
      sc_free_floats (g);
      att_free (a);
    }
  g_rand_free (r);
}

/* NULL gradients: the others are still right and the skipped tensor's columns stay untouched (in the
 * interleaved buffer they sit between the wanted ones). */
static void
test_null (void)
{
  GRand *r = g_rand_new_with_seed (3);
  const Shape shapes[] = { { 2, 100, 100, 2, 40, true, LAYOUT_QKV }, { 1, 90, 77, 2, 24, false, LAYOUT_Q_KV } };
  const int wants[] = { WANT_Q, WANT_K, WANT_V, WANT_K | WANT_V, WANT_Q | WANT_V, WANT_Q | WANT_K, 0 };
  for (size_t ci = 0; ci < G_N_ELEMENTS (shapes); ci++)
    {
      Att *a = att_new (shapes[ci], r);
      double *gref = reference (a);
      float *init = sc_alloc_floats ((size_t) a->n_in, NULL), *g = sc_alloc_floats ((size_t) a->n_in, NULL);
      for (int64_t p = 0; p < a->n_in; p++)
        init[p] = (float) g_rand_double_range (r, -0.1, 0.1);
      for (size_t wi = 0; wi < G_N_ELEMENTS (wants); wi++)
        {
          g_autofree char *base = att_name (a);
          g_autofree char *name = g_strdup_printf ("%s want %d", base, wants[wi]);
          memcpy (g, init, sizeof (float) * (size_t) a->n_in);
          backward (a, g, wants[wi]);
          double err[3];
          check (a, g, init, gref, 1.0, wants[wi], name, err);
        }
      g_free (gref);
      sc_free_floats (init);
      sc_free_floats (g);
      att_free (a);
    }
  g_rand_free (r);
}

/* L = Σ r·out in double, r = dout, through the f32 forward. */
static double
loss (const Att *a, float *tmp)
{
  forward (a, tmp);
  double L = 0.0;
  for (int64_t p = 0; p < a->n_out; p++)
    if (p % a->os < a->C)
      L += (double) a->dout[p] * (double) tmp[p];
  return L;
}

/* Central differences at input position p against the analytic g[p].
 *
 * Step and tolerance, for inputs in [-2, 2] and L of order 1 per perturbed row: the truncation error
 * h²/6 · L''' stays near 1e-5 at h = 1e-2 (the softmax's derivatives are O(scale³) ≤ O(1)), while the
 * f32 forward rounds each changed output by ~6e-8 relative, so L± carry noise ~6e-8 · sqrt(changed
 * outputs) ≈ 1e-6…1e-5 (a k or v value changes a whole head's outputs), i.e. ≈ 1e-4 after dividing by
 * 2h. Both stay below atol = 1e-3 · max|gradient of that tensor| + rtol 1e-2 (measured: at most 1.4e-4 ·
 * max) — loose enough for f32 noise, tight enough that a wrong term (a missing scale, mask or D) fails by
 * orders of magnitude. The
 * step actually taken is (float)(x + h) − (float)(x − h), so the f32 rounding of x ± h does not bias the
 * quotient. Returns |fd − g| / tolerance. */
static double
fd_ratio (Att *a, int64_t p, const float *g, double gmax, float *tmp, double *fd_out)
{
  const double h = 1e-2;
  float x = a->in[p];
  float xp = (float) (x + h), xm = (float) (x - h);
  a->in[p] = xp;
  double Lp = loss (a, tmp);
  a->in[p] = xm;
  double Lm = loss (a, tmp);
  a->in[p] = x;
  double fd = (Lp - Lm) / ((double) xp - (double) xm);
  *fd_out = fd;
  return fabs (fd - (double) g[p]) / (1e-3 * gmax + 1e-2 * fabs ((double) g[p]));
}

/* n_samples random coordinates per tensor, or all of them when n_samples <= 0. */
static void
fd_case (Shape s, int n_samples, GRand *r)
{
  Att *a = att_new (s, r);
  g_autofree char *name = att_name (a);
  float *g = sc_alloc_floats ((size_t) a->n_in, NULL), *tmp = sc_alloc_floats ((size_t) a->n_out, NULL);
  backward (a, g, WANT_ALL);
  static const char *const names[] = { "dq", "dk", "dv" };
  for (int t = 0; t < 3; t++)
    {
      int64_t n = rows_of (a, t) * a->C;
      double gmax = 0.0;
      for (int64_t row = 0; row < rows_of (a, t); row++)
        for (int64_t c = 0; c < a->C; c++)
          gmax = MAX (gmax, fabs ((double) g[pos_of (a, t, row, c)]));
      g_assert_cmpfloat (gmax, >, 0.0);
      int64_t count = n_samples > 0 ? n_samples : n;
      double worst = 0.0, worst_abs = 0.0;
      for (int64_t i = 0; i < count; i++)
        {
          int64_t e = n_samples > 0 ? g_rand_int_range (r, 0, (gint32) n) : i;
          int64_t p = pos_of (a, t, e / a->C, e % a->C);
          double fd;
          double ratio = fd_ratio (a, p, g, gmax, tmp, &fd);
          worst = MAX (worst, ratio);
          worst_abs = MAX (worst_abs, fabs (fd - (double) g[p]) / gmax);
          if (ratio > 1.0)
            g_error ("%s: %s at %" G_GINT64_FORMAT ": analytic %.7g, finite difference %.7g", name, names[t], e,
                     g[p], fd);
        }
      g_test_message ("%s: %s, %" G_GINT64_FORMAT " coordinates: max |fd - analytic| = %.2e x max|%s|, "
                      "%.3f of tolerance",
                      name, names[t], count, worst_abs, names[t], worst);
    }
  sc_free_floats (g);
  sc_free_floats (tmp);
  att_free (a);
}

static void
test_finite_differences (void)
{
  GRand *r = g_rand_new_with_seed (4);
  /* Tiny cases, every coordinate. */
  fd_case ((Shape) { 2, 5, 5, 2, 3, true, LAYOUT_QKV }, 0, r);
  fd_case ((Shape) { 2, 5, 5, 2, 3, false, LAYOUT_QKV }, 0, r);
  fd_case ((Shape) { 1, 3, 7, 2, 3, false, LAYOUT_SEP }, 0, r);
  /* Realistic sizes, 40 sampled coordinates per tensor. */
  fd_case ((Shape) { 2, 150, 150, 4, 40, false, LAYOUT_QKV }, 40, r);
  fd_case ((Shape) { 2, 150, 150, 4, 40, true, LAYOUT_QKV }, 40, r);
  fd_case ((Shape) { 2, 130, 77, 8, 40, false, LAYOUT_Q_KV }, 40, r);
  fd_case ((Shape) { 1, 100, 100, 2, 64, true, LAYOUT_SEP }, 40, r);
  fd_case ((Shape) { 2, 70, 77, 3, 24, false, LAYOUT_SEP }, 40, r);
  g_rand_free (r);
}

/* Rough cost of the backward against the forward at an SD 1.5 self-attention size (64×64 latent's
 * 32×32 level: 1024 tokens, 8 heads × 40), all threads. */
static void
test_timing (void)
{
  GRand *r = g_rand_new_with_seed (5);
  Att *a = att_new ((Shape) { 1, 1024, 1024, 8, 40, false, LAYOUT_QKV }, r);
  float *g = sc_alloc_floats ((size_t) a->n_in, NULL), *tmp = sc_alloc_floats ((size_t) a->n_out, NULL);
  double best_f = G_MAXDOUBLE, best_p = G_MAXDOUBLE, best_b = G_MAXDOUBLE;
  for (int it = 0; it < 3; it++)
    {
      gint64 t0 = g_get_monotonic_time ();
      forward (a, tmp);
      gint64 t1 = g_get_monotonic_time ();
      sc_cpu_attention_set_impl (1); /* the portable forward: same sgemm blocks as the backward */
      forward (a, tmp);
      sc_cpu_attention_set_impl (0);
      gint64 t2 = g_get_monotonic_time ();
      backward (a, g, WANT_ALL);
      gint64 t3 = g_get_monotonic_time ();
      best_f = MIN (best_f, (t1 - t0) / 1e3);
      best_p = MIN (best_p, (t2 - t1) / 1e3);
      best_b = MIN (best_b, (t3 - t2) / 1e3);
    }
  g_test_message ("B1 1024x1024 8x40, %d threads: forward %.2f ms (portable %.2f ms), backward %.2f ms "
                  "(%.1fx, %.1fx the portable)",
                  sc_get_num_threads (), best_f, best_p, best_b, best_b / best_f, best_b / best_p);
  sc_free_floats (g);
  sc_free_floats (tmp);
  att_free (a);
  g_rand_free (r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  be = sc_backend_cpu ();
  g_assert_nonnull (be->attention_backward);
  g_test_add_func ("/grad-attention/exact", test_exact);
  g_test_add_func ("/grad-attention/accumulate", test_accumulate);
  g_test_add_func ("/grad-attention/null", test_null);
  g_test_add_func ("/grad-attention/finite-differences", test_finite_differences);
  g_test_add_func ("/grad-attention/timing", test_timing);
  return g_test_run ();
}
