/* Philox noise against AUTOMATIC1111's "GPU" RNG: documented values, a fixture written by
 * tests/reference/gen_philox.py, offset advance and thread-count independence. */
#include "core/parallel.h"
#include "core/philox.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

/* The test links only the core room, so it reads the (trusted, tiny) fixture itself: F32 tensors only. */
typedef struct {
  GBytes *bytes;
  JsonParser *parser;
  JsonObject *header;
  const guint8 *data;
  gsize data_len;
} Fixture;

static void
fixture_load (Fixture *fx, const char *name)
{
  const char *dir = g_getenv ("SC_FIXTURES_DIR");
  g_assert_nonnull (dir);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GMappedFile) mf = g_mapped_file_new (path, FALSE, &error);
  g_assert_no_error (error);
  fx->bytes = g_mapped_file_get_bytes (mf);
  gsize len;
  const guint8 *buf = g_bytes_get_data (fx->bytes, &len);
  g_assert_cmpuint (len, >=, 8);
  guint64 hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | buf[i];
  g_assert_cmpuint (hlen, <=, len - 8);
  fx->parser = json_parser_new ();
  json_parser_load_from_data (fx->parser, (const char *) buf + 8, (gssize) hlen, &error);
  g_assert_no_error (error);
  fx->header = json_node_get_object (json_parser_get_root (fx->parser));
  fx->data = buf + 8 + hlen;
  fx->data_len = len - 8 - hlen;
}

static void
fixture_clear (Fixture *fx)
{
  g_clear_object (&fx->parser);
  g_clear_pointer (&fx->bytes, g_bytes_unref);
}

/* Returns a copy of tensor NAME as floats; *n gets its element count. */
static float *
fixture_f32 (Fixture *fx, const char *name, size_t *n)
{
  JsonObject *t = json_object_get_object_member (fx->header, name);
  g_assert_nonnull (t);
  g_assert_cmpstr (json_object_get_string_member (t, "dtype"), ==, "F32");
  JsonArray *off = json_object_get_array_member (t, "data_offsets");
  gint64 begin = json_array_get_int_element (off, 0), end = json_array_get_int_element (off, 1);
  g_assert_cmpint (begin, >=, 0);
  g_assert_cmpint (end, <=, (gint64) fx->data_len);
  g_assert_cmpint ((end - begin) % 4, ==, 0);
  *n = (size_t) (end - begin) / 4;
  float *v = g_new (float, *n);
  memcpy (v, fx->data + begin, *n * 4); /* little-endian host assumed, as everywhere in the engine */
  return v;
}

/* Distance in units in the last place between two finite floats of the same sign region. */
static int64_t
ulp_distance (float a, float b)
{
  int32_t ia, ib;
  memcpy (&ia, &a, 4);
  memcpy (&ib, &b, 4);
  int64_t la = ia < 0 ? (int64_t) INT32_MIN - ia : ia;
  int64_t lb = ib < 0 ? (int64_t) INT32_MIN - ib : ib;
  return la > lb ? la - lb : lb - la;
}

static void
test_documented_values (void)
{
  /* The module's docstring: Generator(seed=0).randn((3, 4)). These look like real torch CUDA output
   * (float32 curand math); the module itself, computing Box-Muller in float64, lands within 3 ulp of
   * them (e.g. -0.92466241 against -0.92466259), so they are checked to 3e-7 and the fixture, not this
   * list, pins the exact bits. */
  static const double want[12] = { -0.92466259, -0.42534415, -2.6438457, 0.14518388,
                                   -0.12086647, -0.57972564, -0.62285122, -0.32838709,
                                   -1.07454231, -0.36314407, -1.67105067, 2.26550497 };
  /* torch.manual_seed(0); torch.randn(5, device='cuda'), as widely quoted (4 decimals). */
  static const double torch4[5] = { -0.9247, -0.4253, -2.6438, 0.1452, -0.1209 };
  ScPhilox rng;
  float out[12];
  sc_philox_init (&rng, 0);
  sc_philox_randn (&rng, out, 12);
  for (int i = 0; i < 12; i++)
    g_assert_cmpfloat_with_epsilon (out[i], want[i], 3e-7);
  for (int i = 0; i < 5; i++)
    g_assert_cmpfloat_with_epsilon (out[i], torch4[i], 0.5e-4);
  g_assert_cmpuint (rng.offset, ==, 1);
}

static void
test_fixture (void)
{
  static const uint64_t seeds[] = { 0, 1, 42, (UINT64_C (1) << 32) + 7 };
  Fixture fx = { 0 };
  fixture_load (&fx, "philox.safetensors");
  size_t inexact = 0, total = 0;
  for (size_t s = 0; s < G_N_ELEMENTS (seeds); s++)
    {
      ScPhilox rng;
      sc_philox_init (&rng, seeds[s]);
      for (int draw = 0; draw < 2; draw++)
        {
          g_autofree char *name = g_strdup_printf ("seed%" G_GUINT64_FORMAT "_draw%d", seeds[s], draw);
          size_t n;
          g_autofree float *want = fixture_f32 (&fx, name, &n);
          g_assert_cmpuint (n, >=, 64);
          g_autofree float *got = g_new (float, n);
          /* Draw 1 follows draw 0 on the same generator: checks the offset advance. */
          sc_philox_randn (&rng, got, n);
          for (size_t i = 0; i < n; i++)
            {
              int64_t d = ulp_distance (got[i], want[i]);
              if (d > 1)
                g_error ("%s[%zu]: got %.9g, want %.9g (%" G_GINT64_FORMAT " ulp)", name, i, got[i], want[i], d);
              inexact += d != 0;
              total++;
            }
        }
      g_assert_cmpuint (rng.offset, ==, 2);
    }
  /* libm and numpy may differ by an ulp of float64 in log/sin, which only rarely moves the float32
   * result; allow that for at most 1 value in 100, but expect bit equality in practice. */
  g_test_message ("%zu of %zu values differ from the fixture by 1 ulp, the rest are bit-equal", inexact, total);
  g_assert_cmpuint (inexact * 100, <=, total);
  fixture_clear (&fx);
}

static void
test_seeds_differ (void)
{
  /* The high seed word is part of the key: 2^32 + 7 is not 7. */
  ScPhilox a, b;
  float va[8], vb[8];
  sc_philox_init (&a, 7);
  sc_philox_init (&b, (UINT64_C (1) << 32) + 7);
  sc_philox_randn (&a, va, 8);
  sc_philox_randn (&b, vb, 8);
  g_assert_true (memcmp (va, vb, sizeof va) != 0);
}

static void
test_thread_count_invariant (void)
{
  const size_t n = 300000; /* above the parallel threshold */
  g_autofree float *one = g_new (float, n);
  g_autofree float *many = g_new (float, n);
  ScPhilox rng;
  int saved = sc_get_num_threads ();

  sc_set_num_threads (1);
  sc_philox_init (&rng, 1234);
  sc_philox_randn (&rng, one, n);
  sc_set_num_threads (4);
  sc_philox_init (&rng, 1234);
  sc_philox_randn (&rng, many, n);
  sc_set_num_threads (saved);
  g_assert_true (memcmp (one, many, n * sizeof (float)) == 0);

  /* A prefix of a long draw equals a short draw: element i depends only on (seed, offset, i). */
  float shortv[100];
  sc_philox_init (&rng, 1234);
  sc_philox_randn (&rng, shortv, 100);
  g_assert_true (memcmp (shortv, one, sizeof shortv) == 0);

  /* Sanity on the distribution: mean ~ 0, variance ~ 1. */
  double sum = 0, sq = 0;
  for (size_t i = 0; i < n; i++)
    {
      g_assert_true (isfinite (one[i]));
      sum += one[i];
      sq += (double) one[i] * one[i];
    }
  double mean = sum / n, var = sq / n - mean * mean;
  g_assert_cmpfloat (fabs (mean), <, 0.01);
  g_assert_cmpfloat (fabs (var - 1.0), <, 0.01);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/philox/documented-values", test_documented_values);
  g_test_add_func ("/philox/fixture", test_fixture);
  g_test_add_func ("/philox/seeds-differ", test_seeds_differ);
  g_test_add_func ("/philox/thread-count-invariant", test_thread_count_invariant);
  return g_test_run ();
}
