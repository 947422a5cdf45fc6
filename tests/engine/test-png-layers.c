/* Layer chunks in saved PNGs (io/png_layers): bit-exact round trips, a file with layers still reading as
 * the same image with the same text, and hostile chunks (bad CRC, corrupt, short or long data, sizes over
 * the limits, a repeated name, a file cut anywhere) that are left out with a warning, never a crash. The
 * committed fuzz corpus (tests/fuzz/corpus/png-layers) runs through the reader here too. */
#include "core/error.h"
#include "io/image.h"
#include "io/image_private.h"
#include "io/png_layers.h"

#include <glib/gstdio.h>
#include <string.h>
#include <zlib.h>

static char *tmpdir;

static ScImage *
random_image (int w, int h, int channels, guint32 seed)
{
  ScImage *img = sc_image_new (w, h, channels, 8, NULL);
  g_assert_nonnull (img);
  GRand *rand = g_rand_new_with_seed (seed);
  for (size_t i = 0; i < (size_t) w * h * channels; i++)
    ((guint8 *) img->data)[i] = (guint8) g_rand_int (rand);
  g_rand_free (rand);
  return img;
}

static void
assert_same_image (const ScImage *a, const ScImage *b)
{
  g_assert_nonnull (b);
  g_assert_cmpint (a->width, ==, b->width);
  g_assert_cmpint (a->height, ==, b->height);
  g_assert_cmpint (a->channels, ==, b->channels);
  g_assert_cmpint (a->bit_depth, ==, b->bit_depth);
  g_assert_cmpmem (a->data, (gsize) a->width * a->height * a->channels, b->data,
                   (gsize) b->width * b->height * b->channels);
}

/* A small image with text and no layers, encoded in memory. */
static GByteArray *
plain_png (void)
{
  g_autoptr (ScImage) img = random_image (8, 6, 3, 1);
  const char *k = "parameters", *v = "a prompt";
  GByteArray *buf = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (sc_image_encode_png (img, &k, &v, 1, buf, &error));
  g_assert_no_error (error);
  return buf;
}

static void
put_be32 (guint8 *p, guint32 v)
{
  p[0] = (guint8) (v >> 24), p[1] = (guint8) (v >> 16), p[2] = (guint8) (v >> 8), p[3] = (guint8) v;
}

/* Appends a raw "scLy" chunk (body as given, correct CRC) before the IEND of png. */
static void
insert_raw_chunk (GByteArray *png, const guint8 *body, guint n)
{
  guint8 iend[12];
  memcpy (iend, png->data + png->len - 12, 12);
  g_byte_array_set_size (png, png->len - 12);
  guint8 len[4];
  put_be32 (len, n);
  g_byte_array_append (png, len, 4);
  guint start = png->len;
  g_byte_array_append (png, (const guint8 *) "scLy", 4);
  g_byte_array_append (png, body, n);
  guint8 crc[4];
  put_be32 (crc, (guint32) crc32 (crc32 (0, NULL, 0), png->data + start, n + 4));
  g_byte_array_append (png, crc, 4);
  g_byte_array_append (png, iend, 12);
}

/* A layer chunk body: name, header fields, then zdata (zlib of raw pixels). */
static GByteArray *
layer_body (const char *name, guint version, guint32 w, guint32 h, guint channels, const guint8 *zdata, gsize zlen)
{
  GByteArray *b = g_byte_array_new ();
  g_byte_array_append (b, (const guint8 *) name, (guint) strlen (name) + 1);
  guint8 head[11] = { (guint8) version };
  put_be32 (head + 1, w);
  put_be32 (head + 5, h);
  head[9] = (guint8) channels;
  head[10] = 0;
  g_byte_array_append (b, head, sizeof head);
  g_byte_array_append (b, zdata, (guint) zlen);
  return b;
}

static guint8 *
zlib_of (const guint8 *raw, gsize n, gsize *zlen)
{
  uLongf len = compressBound (n);
  guint8 *z = g_malloc (len);
  g_assert_cmpint (compress2 (z, &len, raw, n, 9), ==, Z_OK);
  *zlen = len;
  return z;
}

static GHashTable *
read_layers (GByteArray *png, GPtrArray *warnings)
{
  g_autoptr (GError) error = NULL;
  GHashTable *t = sc_png_read_layers_memory (png->data, png->len, warnings, &error);
  g_assert_no_error (error);
  g_assert_nonnull (t);
  return t;
}

static gboolean
warned (GPtrArray *warnings, const char *part)
{
  for (guint i = 0; i < warnings->len; i++)
    if (strstr (g_ptr_array_index (warnings, i), part))
      return TRUE;
  return FALSE;
}

static void
test_roundtrip (void)
{
  g_autoptr (ScImage) img = random_image (32, 24, 3, 7);
  g_autoptr (ScImage) mask = sc_image_new (32, 24, 1, 8, NULL);
  memset (mask->data, 0, 32 * 24);
  for (int y = 4; y < 12; y++)
    memset ((guint8 *) mask->data + y * 32 + 5, 255, 10);
  g_autoptr (ScImage) edges = random_image (40, 30, 3, 8); /* a picture need not have the image's size */
  g_autoptr (ScImage) rgba = random_image (3, 2, 4, 9);
  ScPngLayer layers[] = { { "mask", mask }, { "condition-1", edges }, { "scedit-layer:x.y_z", rgba } };
  const char *keys[] = { "parameters", "scedit" };
  const char *values[] = { "a red apple\nSteps: 4", "{\"prompt\":\"a red apple\"}" };
  g_autofree char *path = g_build_filename (tmpdir, "layers.png", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (sc_image_save_png_layers (img, path, keys, values, 2, layers, 3, &error));
  g_assert_no_error (error);

  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) got = sc_png_read_layers (path, warnings, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (warnings->len, ==, 0);
  g_assert_cmpuint (g_hash_table_size (got), ==, 3);
  for (int i = 0; i < 3; i++)
    assert_same_image (layers[i].image, g_hash_table_lookup (got, layers[i].name));

  /* still an ordinary PNG: the same pixels and text, and no layer spills into the text */
  g_autoptr (ScImage) back = sc_image_load (path, &error);
  g_assert_no_error (error);
  assert_same_image (img, back);
  g_autoptr (GHashTable) text = sc_png_read_text (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (text), ==, 2);
  g_assert_cmpstr (g_hash_table_lookup (text, "parameters"), ==, values[0]);
  g_assert_cmpstr (g_hash_table_lookup (text, "scedit"), ==, values[1]);

  /* the chunk type's property bits: ancillary, private, reserved clear, safe to copy */
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  const char *chunk = NULL;
  for (gsize i = 0; i + 4 <= len && !chunk; i++)
    if (memcmp (data + i, "scLy", 4) == 0)
      chunk = data + i;
  g_assert_nonnull (chunk);
  g_assert_true (g_ascii_islower (chunk[0]) && g_ascii_islower (chunk[1]) && g_ascii_isupper (chunk[2])
                 && g_ascii_islower (chunk[3]));

  /* a PNG without layers: an empty table, no warning */
  g_autoptr (GByteArray) plain = plain_png ();
  g_autoptr (GHashTable) none = read_layers (plain, warnings);
  g_assert_cmpuint (g_hash_table_size (none), ==, 0);
  g_assert_cmpuint (warnings->len, ==, 0);
}

static void
test_writer_refuses (void)
{
  g_autoptr (ScImage) wide = sc_image_new (SC_PNG_LAYER_MAX_SIDE + 1, 1, 1, 8, NULL);
  g_autoptr (ScImage) deep = sc_image_new (2, 2, 3, 16, NULL);
  g_autoptr (ScImage) ok = sc_image_new (2, 2, 1, 8, NULL);
  const ScPngLayer bad[][2] = {
    { { "wide", wide } },
    { { "deep", deep } },
    { { "", ok } },
    { { "has space", ok } },
    { { "twice", ok }, { "twice", ok } },
  };
  const int counts[] = { 1, 1, 1, 1, 2 };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GByteArray) png = plain_png ();
      guint before = png->len;
      g_autoptr (GError) error = NULL;
      g_assert_false (sc_png_add_layers (png, bad[i], counts[i], &error));
      g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
      g_test_message ("refused: %s", error->message);
      g_assert_cmpuint (png->len, ==, before); /* left as it was */
    }
}

/* A good layer next to each broken one: the broken one is left out with a warning, the good one reads. */
static void
expect_broken (GByteArray *body, const char *warning_part)
{
  g_autoptr (ScImage) good = random_image (5, 4, 3, 3);
  ScPngLayer layer = { "good", good };
  g_autoptr (GByteArray) png = plain_png ();
  g_assert_true (sc_png_add_layers (png, &layer, 1, NULL));
  insert_raw_chunk (png, body->data, body->len);
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) got = read_layers (png, warnings);
  g_assert_cmpuint (warnings->len, ==, 1);
  g_test_message ("warning: %s", (char *) g_ptr_array_index (warnings, 0));
  g_assert_true (warned (warnings, warning_part));
  g_assert_cmpuint (g_hash_table_size (got), ==, 1);
  assert_same_image (good, g_hash_table_lookup (got, "good"));
  /* the image itself still opens */
  g_autoptr (GError) error = NULL;
  g_autoptr (ScImage) img = sc_image_load_memory (png->data, png->len, &error);
  g_assert_no_error (error);
  g_assert_cmpint (img->width, ==, 8);
}

static void
test_broken_chunks (void)
{
  guint8 raw[6 * 4 * 3];
  for (guint i = 0; i < sizeof raw; i++)
    raw[i] = (guint8) (i * 37);
  gsize zlen;
  g_autofree guint8 *z = zlib_of (raw, sizeof raw, &zlen);

  g_autoptr (GByteArray) ok = layer_body ("fine", 1, 6, 4, 3, z, zlen);
  {
    /* sanity: the hand-made chunk itself reads */
    g_autoptr (GByteArray) png = plain_png ();
    insert_raw_chunk (png, ok->data, ok->len);
    g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
    g_autoptr (GHashTable) got = read_layers (png, warnings);
    g_assert_cmpuint (warnings->len, ==, 0);
    ScImage *img = g_hash_table_lookup (got, "fine");
    g_assert_nonnull (img);
    g_assert_cmpmem (img->data, sizeof raw, raw, sizeof raw);
  }

  g_autoptr (GByteArray) oversize = layer_body ("big", 1, 5000, 10, 1, z, zlen);
  expect_broken (oversize, "limit");
  g_autoptr (GByteArray) huge = layer_body ("huge", 1, 100000, 100000, 4, z, zlen);
  expect_broken (huge, "limit");
  g_autoptr (GByteArray) zero = layer_body ("zero", 1, 0, 4, 3, z, zlen);
  expect_broken (zero, "limit");
  g_autoptr (GByteArray) channels = layer_body ("two", 1, 6, 4, 2, z, zlen);
  expect_broken (channels, "channels");
  g_autoptr (GByteArray) version = layer_body ("v2", 2, 6, 4, 3, z, zlen);
  expect_broken (version, "newer");
  g_autoptr (GByteArray) bad_name = layer_body ("a b", 1, 6, 4, 3, z, zlen);
  expect_broken (bad_name, "name");
  g_autoptr (GByteArray) no_header = g_byte_array_new ();
  g_byte_array_append (no_header, (const guint8 *) "short\0\1\0", 8);
  expect_broken (no_header, "too short");
  /* data for fewer or more pixels than the header says */
  g_autoptr (GByteArray) small = layer_body ("small", 1, 6, 5, 3, z, zlen);
  expect_broken (small, "ends before");
  g_autoptr (GByteArray) large = layer_body ("large", 1, 6, 3, 3, z, zlen);
  expect_broken (large, "more data");
  /* the stream cut short, and a flipped bit inside it */
  g_autoptr (GByteArray) cut = layer_body ("cut", 1, 6, 4, 3, z, zlen / 2);
  expect_broken (cut, "cut short");
  g_autofree guint8 *flipped = g_memdup2 (z, zlen);
  flipped[2] ^= 0xff;
  flipped[zlen - 1] ^= 0x01; /* also the Adler-32, so the corruption cannot go unseen */
  g_autoptr (GByteArray) corrupt = layer_body ("corrupt", 1, 6, 4, 3, flipped, zlen);
  expect_broken (corrupt, "broken");
  /* trailing bytes after the stream */
  g_autoptr (GByteArray) trailing = layer_body ("trailing", 1, 6, 4, 3, z, zlen);
  g_byte_array_append (trailing, (const guint8 *) "xyz", 3);
  expect_broken (trailing, "after its data");
  /* a second layer of the same name */
  g_autoptr (GByteArray) twice = layer_body ("good", 1, 6, 4, 3, z, zlen);
  expect_broken (twice, "twice");

  /* a bad CRC */
  g_autoptr (ScImage) one = random_image (4, 4, 1, 5);
  ScPngLayer layer = { "damaged", one };
  g_autoptr (GByteArray) png = plain_png ();
  g_assert_true (sc_png_add_layers (png, &layer, 1, NULL));
  png->data[png->len - 12 - 4 - 3] ^= 0x40; /* inside the layer's compressed data */
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) got = read_layers (png, warnings);
  g_assert_cmpuint (g_hash_table_size (got), ==, 0);
  g_assert_true (warned (warnings, "CRC"));
}

/* Every cut of a file with two layers: no crash, never a layer that differs from what was written. */
static void
test_truncated (void)
{
  g_autoptr (ScImage) a = random_image (9, 7, 3, 11);
  g_autoptr (ScImage) b = random_image (9, 7, 1, 12);
  ScPngLayer layers[] = { { "a", a }, { "b", b } };
  g_autoptr (GByteArray) png = plain_png ();
  g_assert_true (sc_png_add_layers (png, layers, 2, NULL));
  for (guint cut = 0; cut < png->len; cut++)
    {
      g_autofree guint8 *part = g_memdup2 (png->data, cut);
      g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GError) error = NULL;
      g_autoptr (GHashTable) got = sc_png_read_layers_memory (part, cut, warnings, &error);
      if (cut < 8)
        {
          g_assert_null (got);
          g_assert_error (error, SC_ERROR, SC_ERROR_FORMAT);
          continue;
        }
      g_assert_nonnull (got);
      g_assert_cmpuint (warnings->len, >=, 1); /* no IEND: always said */
      ScImage *ga = g_hash_table_lookup (got, "a"), *gb = g_hash_table_lookup (got, "b");
      if (ga)
        assert_same_image (a, ga);
      if (gb)
        assert_same_image (b, gb);
    }
}

static void
test_not_png (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_null (sc_png_read_layers_memory ("\xff\xd8\xff\xe0", 4, NULL, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_FORMAT);
  g_clear_error (&error);
  g_autofree char *missing = g_build_filename (tmpdir, "missing.png", NULL);
  g_assert_null (sc_png_read_layers (missing, NULL, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_IO);
}

static void
test_fuzz_corpus (void)
{
  const char *fixtures = g_getenv ("SC_FIXTURES_DIR");
  g_assert_nonnull (fixtures);
  g_autofree char *corpus = g_build_filename (fixtures, "..", "fuzz", "corpus", "png-layers", NULL);
  g_autoptr (GDir) dir = g_dir_open (corpus, 0, NULL);
  g_assert_nonnull (dir);
  guint n = 0, with_layers = 0;
  for (const char *name; (name = g_dir_read_name (dir)); n++)
    {
      g_autofree char *path = g_build_filename (corpus, name, NULL);
      g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GError) error = NULL;
      g_autoptr (GHashTable) layers = sc_png_read_layers (path, warnings, &error);
      g_assert_true ((layers == NULL) == (error != NULL));
      if (!layers)
        continue;
      GHashTableIter it;
      gpointer value;
      g_hash_table_iter_init (&it, layers);
      while (g_hash_table_iter_next (&it, NULL, &value))
        {
          const ScImage *img = value;
          g_assert_cmpint (img->width, <=, SC_PNG_LAYER_MAX_SIDE);
          g_assert_cmpint (img->height, <=, SC_PNG_LAYER_MAX_SIDE);
        }
      with_layers += g_hash_table_size (layers) > 0;
    }
  g_test_message ("%u corpus files, %u with layers", n, with_layers);
  g_assert_cmpuint (n, >, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("sc-test-png-layers-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);

  g_test_add_func ("/png-layers/roundtrip", test_roundtrip);
  g_test_add_func ("/png-layers/writer-refuses", test_writer_refuses);
  g_test_add_func ("/png-layers/broken-chunks", test_broken_chunks);
  g_test_add_func ("/png-layers/truncated", test_truncated);
  g_test_add_func ("/png-layers/not-png", test_not_png);
  g_test_add_func ("/png-layers/fuzz-corpus", test_fuzz_corpus);
  int rc = g_test_run ();

  g_autofree char *path = g_build_filename (tmpdir, "layers.png", NULL);
  g_unlink (path);
  g_rmdir (tmpdir);
  g_free (tmpdir);
  return rc;
}
