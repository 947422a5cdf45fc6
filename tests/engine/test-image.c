/* Image I/O: PNG round trips with text chunks, fixtures from tests/reference/gen_images.py (EXIF
 * orientation, palette, interlaced, grey+alpha, 1-bit, foreign text chunks), conversions, and
 * broken inputs that must fail cleanly. */
#include "core/error.h"
#include "io/exif.h"
#include "io/image.h"
#include "io/image_private.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <zlib.h>

static char *tmpdir;

static char *
fixture_path (const char *name)
{
  const char *dir = g_getenv ("SC_FIXTURES_DIR");
  g_assert_nonnull (dir);
  return g_build_filename (dir, name, NULL);
}

static ScImage *
load_fixture (const char *name)
{
  g_autofree char *path = fixture_path (name);
  g_autoptr (GError) error = NULL;
  ScImage *img = sc_image_load (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (img);
  return img;
}

static GBytes *
read_bytes (const char *path)
{
  char *data;
  gsize len;
  g_autoptr (GError) error = NULL;
  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (data, len);
}

static guint
px8 (const ScImage *img, int x, int y, int c)
{
  g_assert_cmpint (img->bit_depth, ==, 8);
  return ((const guint8 *) img->data)[((size_t) y * img->width + x) * img->channels + c];
}

static guint
px16 (const ScImage *img, int x, int y, int c)
{
  g_assert_cmpint (img->bit_depth, ==, 16);
  return ((const guint16 *) img->data)[((size_t) y * img->width + x) * img->channels + c];
}

/* ---- PNG round trips ---- */

static void
test_png_roundtrip_text (void)
{
  static const char *const keys[] = { "parameters", "Comment", "K\xc3\xa9y" /* Kéy: Latin-1 keyword */ };
  static const char *const values[] = { "a cat, Steps: 20, Seed: 42", "Ünïcödé prompt, 猫",
                                        "plain" };
  g_autoptr (GError) error = NULL;
  g_autoptr (ScImage) img = sc_image_new (7, 5, 3, 8, &error);
  g_assert_no_error (error);
  guint8 *d = img->data;
  for (int i = 0; i < 7 * 5 * 3; i++)
    d[i] = (guint8) (i * 29 + 3);
  g_autofree char *path = g_build_filename (tmpdir, "rt.png", NULL);
  g_assert_true (sc_image_save_png (img, path, keys, values, 3, &error));
  g_assert_no_error (error);

  g_autoptr (ScImage) back = sc_image_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (back->width, ==, 7);
  g_assert_cmpint (back->height, ==, 5);
  g_assert_cmpint (back->channels, ==, 3);
  g_assert_cmpint (back->bit_depth, ==, 8);
  g_assert_cmpmem (back->data, 7 * 5 * 3, img->data, 7 * 5 * 3);

  g_autoptr (GHashTable) text = sc_png_read_text (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (text), ==, 3);
  for (int i = 0; i < 3; i++)
    g_assert_cmpstr (g_hash_table_lookup (text, keys[i]), ==, values[i]);

  /* ASCII values go in tEXt, the UTF-8 one in iTXt; the Latin-1 key is stored as one byte 0xE9. */
  g_autoptr (GBytes) bytes = read_bytes (path);
  gsize len;
  const char *raw = g_bytes_get_data (bytes, &len);
  g_assert_nonnull (memmem (raw, len, "tEXtparameters\0a cat", 20));
  g_assert_nonnull (memmem (raw, len, "iTXtComment\0", 12));
  g_assert_nonnull (memmem (raw, len, "tEXtK\xe9y\0plain", 13));
}

static void
test_png_roundtrip_formats (void)
{
  /* Every layout we write: grey, RGB, RGBA at 8 and 16 bits, values that use both bytes. */
  static const int channels[] = { 1, 3, 4 };
  for (int ci = 0; ci < 3; ci++)
    for (int depth = 8; depth <= 16; depth += 8)
      {
        g_autoptr (GError) error = NULL;
        g_autoptr (ScImage) img = sc_image_new (6, 4, channels[ci], depth, &error);
        g_assert_no_error (error);
        size_t n = 6 * 4 * (size_t) channels[ci];
        for (size_t i = 0; i < n; i++)
          {
            guint v = (guint) ((i * 10007 + 3001) ^ 0x8001);
            if (depth == 16)
              ((guint16 *) img->data)[i] = (guint16) v;
            else
              ((guint8 *) img->data)[i] = (guint8) v;
          }
        g_autofree char *path = g_strdup_printf ("%s/fmt-%d-%d.png", tmpdir, channels[ci], depth);
        g_assert_true (sc_image_save_png (img, path, NULL, NULL, 0, &error));
        g_autoptr (ScImage) back = sc_image_load (path, &error);
        g_assert_no_error (error);
        g_assert_cmpint (back->channels, ==, channels[ci]);
        g_assert_cmpint (back->bit_depth, ==, depth);
        g_assert_cmpmem (back->data, n * (size_t) depth / 8, img->data, n * (size_t) depth / 8);
        if (depth == 16)
          g_assert_cmpuint (px16 (back, 1, 0, 0), ==, ((guint) ((channels[ci] * 10007 + 3001) ^ 0x8001)) & 0xffff);
      }
}

static void
test_png_bad_keys (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ScImage) img = sc_image_new (2, 2, 1, 8, &error);
  g_autofree char *path = g_build_filename (tmpdir, "badkey.png", NULL);
  g_autofree char *long_key = g_strnfill (80, 'k');
  const char *bad[] = { "\xe7\x8c\xab", "", " lead", long_key, "tab\there" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      const char *value = "v";
      g_assert_false (sc_image_save_png (img, path, &bad[i], &value, 1, &error));
      g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

/* ---- fixtures ---- */

static void
test_png_palette (void)
{
  static const guint8 pal[4][3] = { { 255, 0, 0 }, { 0, 255, 0 }, { 0, 0, 255 }, { 255, 255, 255 } };
  g_autoptr (ScImage) img = load_fixture ("img-palette.png");
  g_assert_cmpint (img->width, ==, 5);
  g_assert_cmpint (img->height, ==, 3);
  g_assert_cmpint (img->channels, ==, 3);
  g_assert_cmpint (img->bit_depth, ==, 8);
  for (int y = 0; y < 3; y++)
    for (int x = 0; x < 5; x++)
      for (int c = 0; c < 3; c++)
        g_assert_cmpuint (px8 (img, x, y, c), ==, pal[(x + 2 * y) % 4][c]);

  /* The same with entry 3 transparent: tRNS becomes an alpha channel. */
  g_autoptr (ScImage) t = load_fixture ("img-palette-trns.png");
  g_assert_cmpint (t->channels, ==, 4);
  for (int y = 0; y < 3; y++)
    for (int x = 0; x < 5; x++)
      {
        int i = (x + 2 * y) % 4;
        for (int c = 0; c < 3; c++)
          g_assert_cmpuint (px8 (t, x, y, c), ==, pal[i][c]);
        g_assert_cmpuint (px8 (t, x, y, 3), ==, i == 3 ? 0 : 255);
      }
}

static void
test_png_grey (void)
{
  /* Grey+alpha becomes RGBA with the grey replicated. */
  g_autoptr (ScImage) ga = load_fixture ("img-grey-alpha.png");
  g_assert_cmpint (ga->width, ==, 4);
  g_assert_cmpint (ga->channels, ==, 4);
  for (int y = 0; y < 3; y++)
    for (int x = 0; x < 4; x++)
      {
        for (int c = 0; c < 3; c++)
          g_assert_cmpuint (px8 (ga, x, y, c), ==, 60 * x + 10 * y);
        g_assert_cmpuint (px8 (ga, x, y, 3), ==, 255 - 50 * x - 20 * y);
      }

  /* 1-bit grey expands to 0/255 in one channel. */
  g_autoptr (ScImage) g1 = load_fixture ("img-grey1.png");
  g_assert_cmpint (g1->width, ==, 10);
  g_assert_cmpint (g1->height, ==, 2);
  g_assert_cmpint (g1->channels, ==, 1);
  for (int y = 0; y < 2; y++)
    for (int x = 0; x < 10; x++)
      g_assert_cmpuint (px8 (g1, x, y, 0), ==, (x + y) % 3 == 0 ? 255 : 0);
}

static void
test_png_interlaced (void)
{
  g_autoptr (ScImage) img = load_fixture ("img-interlaced.png");
  g_assert_cmpint (img->width, ==, 9);
  g_assert_cmpint (img->height, ==, 7);
  g_assert_cmpint (img->channels, ==, 3);
  for (int y = 0; y < 7; y++)
    for (int x = 0; x < 9; x++)
      {
        g_assert_cmpuint (px8 (img, x, y, 0), ==, (guint) (37 * x + 91 * y) & 255);
        g_assert_cmpuint (px8 (img, x, y, 1), ==, (guint) (11 * x + 29 * y + 60) & 255);
        g_assert_cmpuint (px8 (img, x, y, 2), ==, (guint) (x * x + 7 * y) & 255);
      }

  g_autoptr (ScImage) img16 = load_fixture ("img-interlaced16.png");
  g_assert_cmpint (img16->channels, ==, 4);
  g_assert_cmpint (img16->bit_depth, ==, 16);
  for (int y = 0; y < 5; y++)
    for (int x = 0; x < 5; x++)
      for (int c = 0; c < 4; c++)
        g_assert_cmpuint (px16 (img16, x, y, c), ==, (guint) (12345 * x + 4321 * y + 999 * c) & 0xffff);
}

static void
test_png_foreign_text (void)
{
  g_autofree char *path = fixture_path ("img-text.png");
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) text = sc_png_read_text (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_hash_table_lookup (text, "Title"), ==, "caf\xc3\xa9"); /* Latin-1 é as UTF-8 */
  GString *want = g_string_new (NULL);
  for (int i = 0; i < 40; i++)
    g_string_append (want, "hello ");
  g_assert_cmpstr (g_hash_table_lookup (text, "Zipped"), ==, want->str);
  g_string_truncate (want, 0);
  for (int i = 0; i < 30; i++)
    g_string_append (want, "\xe7\x8c\xab ");
  g_assert_cmpstr (g_hash_table_lookup (text, "Prompt"), ==, want->str);
  g_string_free (want, TRUE);
}

static void
test_jpeg_orientation (void)
{
  /* The displayed picture is 16×8 with red, green / blue, white quadrants, whatever the stored
   * orientation; JPEG loss allows some slack on the corner colours. */
  static const int want[4][3] = { { 255, 0, 0 }, { 0, 255, 0 }, { 0, 0, 255 }, { 255, 255, 255 } };
  for (int o = 1; o <= 8; o++)
    {
      g_autofree char *name = g_strdup_printf ("img-orient%d.jpg", o);
      g_autoptr (ScImage) img = load_fixture (name);
      g_assert_cmpint (img->width, ==, 16);
      g_assert_cmpint (img->height, ==, 8);
      g_assert_cmpint (img->channels, ==, 3);
      const int cx[4] = { 0, 15, 0, 15 }, cy[4] = { 0, 0, 7, 7 };
      for (int k = 0; k < 4; k++)
        for (int c = 0; c < 3; c++)
          {
            int d = abs ((int) px8 (img, cx[k], cy[k], c) - want[k][c]);
            if (d > 40)
              g_error ("%s corner %d channel %d: %u, want %d", name, k, c, px8 (img, cx[k], cy[k], c), want[k][c]);
          }
    }
}

/* ---- EXIF parser on crafted data ---- */

static size_t
make_exif (guint8 *buf, gboolean big, guint16 orientation)
{
  /* "Exif\0\0", TIFF header, IFD0 with {Make (ASCII inline), Orientation}. */
  guint8 *p = buf;
  memcpy (p, "Exif\0\0", 6);
  p += 6;
#define PUT16(v) do { guint16 v_ = (v); if (big) { *p++ = v_ >> 8; *p++ = v_ & 255; } else { *p++ = v_ & 255; *p++ = v_ >> 8; } } while (0)
#define PUT32(v) do { guint32 w_ = (v); if (big) { PUT16 (w_ >> 16); PUT16 (w_ & 0xffff); } else { PUT16 (w_ & 0xffff); PUT16 (w_ >> 16); } } while (0)
  *p++ = big ? 'M' : 'I';
  *p++ = big ? 'M' : 'I';
  PUT16 (42);
  PUT32 (8);
  PUT16 (2);
  PUT16 (0x010f); PUT16 (2); PUT32 (4); memcpy (p, "Abc", 4); p += 4;
  PUT16 (0x0112); PUT16 (3); PUT32 (1); PUT16 (orientation); PUT16 (0);
  PUT32 (0);
#undef PUT16
#undef PUT32
  return (size_t) (p - buf);
}

static void
test_exif_parser (void)
{
  guint8 buf[64];
  for (int big = 0; big <= 1; big++)
    for (guint16 o = 1; o <= 8; o++)
      {
        size_t n = make_exif (buf, big, o);
        g_assert_cmpint (sc_exif_orientation (buf, n), ==, o);
        g_assert_cmpint (sc_exif_orientation (buf + 6, n - 6), ==, o); /* bare TIFF */
        /* Cut anywhere before the value: no orientation, no overread (ASan watches the copies). */
        for (size_t cut = 0; cut < n - 6; cut++)
          {
            g_autofree guint8 *part = g_memdup2 (buf, cut);
            g_assert_cmpint (sc_exif_orientation (part, cut), ==, 1);
          }
      }
  size_t n = make_exif (buf, TRUE, 9);
  g_assert_cmpint (sc_exif_orientation (buf, n), ==, 1); /* out of range */
  make_exif (buf, FALSE, 6);
  buf[6 + 4] = 0xf0; /* IFD0 offset far past the end */
  g_assert_cmpint (sc_exif_orientation (buf, n), ==, 1);
  make_exif (buf, FALSE, 6);
  buf[6 + 8] = 0xff, buf[6 + 9] = 0xff; /* 65535 entries claimed: the real ones are still found */
  g_assert_cmpint (sc_exif_orientation (buf, n), ==, 6);
  buf[6 + 8 + 2 + 12] = 0x13;           /* ...and with no orientation among them the walk stops at the end */
  g_assert_cmpint (sc_exif_orientation (buf, n), ==, 1);
  g_assert_cmpint (sc_exif_orientation (NULL, 0), ==, 1);
}

/* ---- conversions ---- */

static void
test_to_rgb8 (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ScImage) grey = sc_image_new (2, 1, 1, 8, &error);
  ((guint8 *) grey->data)[0] = 17;
  ((guint8 *) grey->data)[1] = 250;
  g_autoptr (ScImage) g3 = sc_image_to_rgb8 (grey, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g3->channels, ==, 3);
  for (int c = 0; c < 3; c++)
    {
      g_assert_cmpuint (px8 (g3, 0, 0, c), ==, 17);
      g_assert_cmpuint (px8 (g3, 1, 0, c), ==, 250);
    }

  /* RGBA over white: opaque keeps the colour, transparent is white, half is in between. */
  g_autoptr (ScImage) rgba = sc_image_new (3, 1, 4, 8, &error);
  const guint8 src[12] = { 100, 50, 200, 255, 100, 50, 200, 0, 100, 50, 200, 128 };
  memcpy (rgba->data, src, 12);
  g_autoptr (ScImage) r3 = sc_image_to_rgb8 (rgba, &error);
  g_assert_cmpuint (px8 (r3, 0, 0, 0), ==, 100);
  g_assert_cmpuint (px8 (r3, 0, 0, 2), ==, 200);
  for (int c = 0; c < 3; c++)
    g_assert_cmpuint (px8 (r3, 1, 0, c), ==, 255);
  g_assert_cmpuint (px8 (r3, 2, 0, 0), ==, 177); /* round((100·128 + 255·127) / 255) = round(177.20) */
  g_assert_cmpuint (px8 (r3, 2, 0, 1), ==, 152); /* round((50·128 + 255·127) / 255) = round(152.10) */
  g_assert_cmpuint (px8 (r3, 2, 0, 2), ==, 227); /* round((200·128 + 255·127) / 255) = round(227.39) */

  /* 16 → 8 bits rounds to nearest: v / 257. */
  static const guint16 v16[6] = { 0, 128, 129, 257 * 77, 257 * 77 + 128, 65535 };
  static const guint8 want8[6] = { 0, 0, 1, 77, 77, 255 };
  g_autoptr (ScImage) g16 = sc_image_new (6, 1, 1, 16, &error);
  memcpy (g16->data, v16, sizeof v16);
  g_autoptr (ScImage) g16_8 = sc_image_to_rgb8 (g16, &error);
  for (int i = 0; i < 6; i++)
    g_assert_cmpuint (px8 (g16_8, i, 0, 1), ==, want8[i]);

  /* 16-bit RGBA: alpha 0 → white, full alpha keeps the colour at 8-bit precision. */
  g_autoptr (ScImage) rgba16 = sc_image_new (2, 1, 4, 16, &error);
  const guint16 s16[8] = { 257 * 10, 257 * 20, 257 * 30, 65535, 257 * 10, 0, 0, 0 };
  memcpy (rgba16->data, s16, sizeof s16);
  g_autoptr (ScImage) r16 = sc_image_to_rgb8 (rgba16, &error);
  g_assert_cmpuint (px8 (r16, 0, 0, 0), ==, 10);
  g_assert_cmpuint (px8 (r16, 0, 0, 2), ==, 30);
  g_assert_cmpuint (px8 (r16, 1, 0, 0), ==, 255);
}

static void
test_float (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ScImage) img = sc_image_new (4, 3, 3, 8, &error);
  for (int i = 0; i < 36; i++)
    ((guint8 *) img->data)[i] = (guint8) (i * 7);
  g_autofree float *f = sc_image_to_float_rgb (img, &error);
  g_assert_no_error (error);
  for (int i = 0; i < 36; i++)
    g_assert_cmpfloat (f[i], ==, (float) (i * 7) / 255.0f);
  g_autoptr (ScImage) back = sc_image_from_float_rgb (f, 4, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (back->data, 36, img->data, 36);

  const float odd[6] = { -0.5f, 2.0f, NAN, 0.5f, 1.0f / 510.0f, 0.999f };
  g_autoptr (ScImage) c = sc_image_from_float_rgb (odd, 2, 1, &error);
  const guint8 want[6] = { 0, 255, 0, 128, 1, 255 };
  g_assert_cmpmem (c->data, 6, want, 6);

  /* 16-bit keeps its precision in floats. */
  g_autoptr (ScImage) g16 = sc_image_new (1, 1, 1, 16, &error);
  ((guint16 *) g16->data)[0] = 1000;
  g_autofree float *f16 = sc_image_to_float_rgb (g16, &error);
  g_assert_cmpfloat_with_epsilon (f16[1], 1000.0 / 65535.0, 1e-7);
}

/* ---- broken inputs ---- */

static void
expect_fail (const void *data, size_t len, const char *what)
{
  g_autoptr (GError) error = NULL;
  ScImage *img = sc_image_load_memory (data, len, &error);
  if (img != NULL)
    g_error ("%s (%zu bytes) loaded as %d×%d", what, len, img->width, img->height);
  g_assert_nonnull (error);
  g_assert_true (error->domain == SC_ERROR);
}

static void
test_truncated_png (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ScImage) img = sc_image_new (9, 5, 4, 16, &error);
  for (size_t i = 0; i < 9 * 5 * 4; i++)
    ((guint16 *) img->data)[i] = (guint16) (i * 2654435761u >> 7);
  g_autofree char *path = g_build_filename (tmpdir, "trunc.png", NULL);
  const char *k = "parameters", *v = "prompt";
  g_assert_true (sc_image_save_png (img, path, &k, &v, 1, &error));
  g_autoptr (GBytes) bytes = read_bytes (path);
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  /* Every length short of the whole file: header, inside IHDR, inside IDAT, before IEND... */
  for (size_t cut = 0; cut < len; cut++)
    {
      g_autofree guint8 *part = g_memdup2 (data, cut);
      expect_fail (part, cut, "truncated PNG");
      GHashTable *t = sc_png_read_text_memory (part, cut, NULL);
      g_assert_null (t);
    }
  /* A flipped bit inside the compressed data is caught (CRC). */
  g_autofree guint8 *bad = g_memdup2 (data, len);
  bad[len - 20] ^= 0x10;
  expect_fail (bad, len, "corrupt PNG");
}

static void
test_truncated_jpeg (void)
{
  g_autofree char *path = fixture_path ("img-orient6.jpg");
  g_autoptr (GBytes) bytes = read_bytes (path);
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  for (size_t cut = 0; cut < len; cut++)
    {
      g_autofree guint8 *part = g_memdup2 (data, cut);
      expect_fail (part, cut, "truncated JPEG");
    }
}

static void
test_random_bytes (void)
{
  static const guint8 png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  GRand *rand = g_rand_new_with_seed (1234);
  guint8 buf[2048];
  for (int iter = 0; iter < 600; iter++)
    {
      size_t n = (size_t) g_rand_int_range (rand, 0, sizeof buf);
      for (size_t i = 0; i < n; i++)
        buf[i] = (guint8) g_rand_int (rand);
      int kind = iter % 3;
      if (kind == 0 && n >= 8)
        memcpy (buf, png_magic, 8);
      else if (kind == 1 && n >= 3)
        buf[0] = 0xff, buf[1] = 0xd8, buf[2] = 0xff;
      expect_fail (buf, n, "random bytes");
      g_assert_null (sc_png_read_text_memory (buf, n, NULL));
    }
  g_rand_free (rand);
}

static void
test_empty_and_missing (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *empty = g_build_filename (tmpdir, "empty.png", NULL);
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  g_assert_null (sc_image_load (empty, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_FORMAT);
  g_clear_error (&error);
  g_assert_null (sc_png_read_text (empty, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_FORMAT);
  g_clear_error (&error);

  g_autofree char *missing = g_build_filename (tmpdir, "missing.png", NULL);
  g_assert_null (sc_image_load (missing, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_IO);
}

static void
put_be32 (guint8 *p, guint32 v)
{
  p[0] = (guint8) (v >> 24), p[1] = (guint8) (v >> 16), p[2] = (guint8) (v >> 8), p[3] = (guint8) v;
}

static void
add_chunk (GByteArray *png, const char *type, const guint8 *body, size_t n)
{
  guint8 head[8], crc[4];
  put_be32 (head, (guint32) n);
  memcpy (head + 4, type, 4);
  g_byte_array_append (png, head, 8);
  if (n)
    g_byte_array_append (png, body, (guint) n);
  uLong c = crc32 (0, head + 4, 4);
  put_be32 (crc, (guint32) crc32 (c, body, (uInt) n));
  g_byte_array_append (png, crc, 4);
}

static void
test_huge_claims (void)
{
  /* A PNG claiming 100000×100000 RGB (with a small IDAT): refused at the header, before any pixel
   * memory; libpng alone would accept it. */
  static const guint8 png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  g_autoptr (GByteArray) png = g_byte_array_new ();
  g_byte_array_append (png, png_magic, 8);
  guint8 ihdr[13];
  put_be32 (ihdr, 100000);
  put_be32 (ihdr + 4, 100000);
  ihdr[8] = 8, ihdr[9] = 2, ihdr[10] = 0, ihdr[11] = 0, ihdr[12] = 0;
  add_chunk (png, "IHDR", ihdr, 13);
  guint8 zeros[64] = { 0 }, idat[128];
  uLongf idat_len = sizeof idat;
  g_assert_cmpint (compress (idat, &idat_len, zeros, sizeof zeros), ==, Z_OK);
  add_chunk (png, "IDAT", idat, idat_len);
  add_chunk (png, "IEND", NULL, 0);
  g_autoptr (GError) error = NULL;
  g_assert_null (sc_image_load_memory (png->data, png->len, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "16384"));
  g_clear_error (&error);

  /* The same for a JPEG whose SOF claims 60000×20000. */
  g_autofree char *path = fixture_path ("img-orient1.jpg");
  g_autoptr (GBytes) bytes = read_bytes (path);
  gsize len;
  const void *orig = g_bytes_get_data (bytes, &len);
  g_autofree guint8 *jpg = g_memdup2 (orig, len);
  guint8 *sof = memmem (jpg, len, "\xff\xc0", 2);
  g_assert_nonnull (sof);
  sof[5] = 20000 >> 8, sof[6] = 20000 & 255, sof[7] = 60000 >> 8, sof[8] = 60000 & 255;
  g_assert_null (sc_image_load_memory (jpg, len, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED);
  g_clear_error (&error);

  g_assert_null (sc_image_new (SC_IMAGE_MAX_SIDE + 1, 1, 3, 8, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("sc-test-image-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);

  g_test_add_func ("/image/png/roundtrip-text", test_png_roundtrip_text);
  g_test_add_func ("/image/png/roundtrip-formats", test_png_roundtrip_formats);
  g_test_add_func ("/image/png/bad-keys", test_png_bad_keys);
  g_test_add_func ("/image/png/palette", test_png_palette);
  g_test_add_func ("/image/png/grey", test_png_grey);
  g_test_add_func ("/image/png/interlaced", test_png_interlaced);
  g_test_add_func ("/image/png/foreign-text", test_png_foreign_text);
  g_test_add_func ("/image/jpeg/orientation", test_jpeg_orientation);
  g_test_add_func ("/image/exif/parser", test_exif_parser);
  g_test_add_func ("/image/convert/rgb8", test_to_rgb8);
  g_test_add_func ("/image/convert/float", test_float);
  g_test_add_func ("/image/broken/truncated-png", test_truncated_png);
  g_test_add_func ("/image/broken/truncated-jpeg", test_truncated_jpeg);
  g_test_add_func ("/image/broken/random-bytes", test_random_bytes);
  g_test_add_func ("/image/broken/empty-and-missing", test_empty_and_missing);
  g_test_add_func ("/image/broken/huge-claims", test_huge_claims);
  int rc = g_test_run ();

  /* Clean the temporary folder (only files this test wrote). */
  GDir *dir = g_dir_open (tmpdir, 0, NULL);
  for (const char *name; dir && (name = g_dir_read_name (dir));)
    {
      g_autofree char *p = g_build_filename (tmpdir, name, NULL);
      g_unlink (p);
    }
  if (dir)
    g_dir_close (dir);
  g_rmdir (tmpdir);
  g_free (tmpdir);
  return rc;
}
