/* Condition extraction against the Python annotators: canny and the colour map against OpenCV, the
 * hint resize against Pillow (fixtures from tests/reference/gen_cond.py), depth normalisation,
 * sketches, masks, odd sizes, and `scedit cond` through the real binary. */
#include "test-cli-run.h"
#include "cond/canny.h"
#include "cond/color_map.h"
#include "cond/depth.h"
#include "cond/hint.h"
#include "cond/mask.h"
#include "cond/resize.h"
#include "cond/sketch.h"
#include "core/error.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

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

static guint8
px (const ScImage *img, int x, int y, int c)
{
  g_assert_cmpint (img->bit_depth, ==, 8);
  return ((const guint8 *) img->data)[((size_t) y * img->width + x) * img->channels + c];
}

static ScImage *
new_rgb (int w, int h)
{
  g_autoptr (GError) error = NULL;
  ScImage *img = sc_image_new (w, h, 3, 8, &error);
  g_assert_no_error (error);
  return img;
}

/* Pixels of GOT (RGB, all channels equal) equal to the single-channel EXPECT; returns the count. */
static size_t
count_equal_grey (const ScImage *got, const ScImage *expect)
{
  g_assert_cmpint (got->width, ==, expect->width);
  g_assert_cmpint (got->height, ==, expect->height);
  g_assert_cmpint (got->channels, ==, 3);
  size_t same = 0;
  for (int y = 0; y < got->height; y++)
    for (int x = 0; x < got->width; x++)
      {
        g_assert_cmpint (px (got, x, y, 0), ==, px (got, x, y, 1));
        g_assert_cmpint (px (got, x, y, 0), ==, px (got, x, y, 2));
        same += px (got, x, y, 0) == px (expect, x, y, 0);
      }
  return same;
}

/* ---- canny ---- */

static const char *const canny_inputs[] = { "photo", "noise", "grey", "strokes", "tiny7x3", "tall1x9" };
static const struct { double lo, hi; const char *tag; } canny_thresholds[] = {
  { 100, 200, "100-200" }, { 50, 120, "50-120" }, { 180, 90, "180-90" }, { 30.5, 300.7, "30-300" },
};

static void
test_canny_opencv (void)
{
  size_t total = 0, total_same = 0;
  for (size_t i = 0; i < G_N_ELEMENTS (canny_inputs); i++)
    for (size_t t = 0; t < G_N_ELEMENTS (canny_thresholds); t++)
      {
        g_autofree char *in_name = g_strdup_printf ("cond-%s.png", canny_inputs[i]);
        g_autofree char *ex_name = g_strdup_printf ("cond-%s-canny-%s.png", canny_inputs[i], canny_thresholds[t].tag);
        g_autoptr (ScImage) in = load_fixture (in_name);
        g_autoptr (ScImage) expect = load_fixture (ex_name);
        g_autoptr (GError) error = NULL;
        g_autoptr (ScImage) got = sc_cond_canny (in, canny_thresholds[t].lo, canny_thresholds[t].hi, &error);
        g_assert_no_error (error);
        size_t n = (size_t) in->width * in->height, same = count_equal_grey (got, expect), edges = 0;
        for (size_t k = 0; k < n; k++)
          edges += ((guint8 *) expect->data)[k] != 0;
        g_test_message ("canny %-8s %-8s %zu/%zu pixels agree with cv2.Canny (%.4f%%; %zu edge pixels)",
                        canny_inputs[i], canny_thresholds[t].tag, same, n, 100.0 * same / n, edges);
        g_assert_cmpfloat ((double) same / n, >=, 0.999);
        total += n;
        total_same += same;
      }
  g_test_message ("canny overall: %zu/%zu pixels agree", total_same, total);
}

/* A grey image loads with one channel; sc_cond_canny replicates it to RGB first, which must agree
 * with OpenCV's single-channel path too (IPP may take over there, so this is only reported). */
static void
test_canny_grey_single_channel (void)
{
  g_autoptr (ScImage) in = load_fixture ("cond-grey.png");
  g_assert_cmpint (in->channels, ==, 1);
  g_autoptr (ScImage) expect = load_fixture ("cond-grey-canny1ch-100-200.png");
  g_autoptr (GError) error = NULL;
  g_autoptr (ScImage) got = sc_cond_canny (in, 100, 200, &error);
  g_assert_no_error (error);
  size_t n = (size_t) in->width * in->height, same = count_equal_grey (got, expect);
  g_test_message ("canny grey vs cv2.Canny on the 1-channel array: %zu/%zu agree", same, n);
  g_assert_cmpfloat ((double) same / n, >=, 0.99);
}

static void
test_canny_properties (void)
{
  g_autoptr (GError) error = NULL;
  /* A vertical step of 255: |dx| = 4·255 at the two columns beside it; one survives suppression. */
  g_autoptr (ScImage) step = new_rgb (9, 5);
  for (int y = 0; y < 5; y++)
    for (int x = 5; x < 9; x++)
      memset ((guint8 *) step->data + ((size_t) y * 9 + x) * 3, 255, 3);
  g_autoptr (ScImage) e = sc_cond_canny (step, 100, 200, &error);
  g_assert_no_error (error);
  for (int y = 0; y < 5; y++)
    for (int x = 0; x < 9; x++)
      g_assert_cmpint (px (e, x, y, 0), ==, x == 4 ? 255 : 0);
  /* Thresholds above the strongest gradient: nothing. */
  g_autoptr (ScImage) none = sc_cond_canny (step, 1100, 1200, &error);
  g_assert_no_error (error);
  for (size_t k = 0; k < 9 * 5 * 3; k++)
    g_assert_cmpint (((guint8 *) none->data)[k], ==, 0);
  /* Flat images and tiny ones. */
  for (int s = 0; s < 4; s++)
    {
      int w = (int[]) { 1, 1, 2, 300 }[s], h = (int[]) { 1, 300, 1, 2 }[s];
      g_autoptr (ScImage) img = new_rgb (w, h);
      for (size_t k = 0; k < (size_t) w * h * 3; k++)
        ((guint8 *) img->data)[k] = (guint8) (k * 37 % 256);
      g_autoptr (ScImage) out = sc_cond_canny (img, 100, 200, &error);
      g_assert_no_error (error);
      g_assert_cmpint (out->width, ==, w);
      g_assert_cmpint (out->height, ==, h);
    }
  g_autoptr (ScImage) bad = sc_cond_canny (step, -1, NAN, &error);
  g_assert_null (bad);
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
}

/* ---- colour map ---- */

static void
test_color_map_opencv (void)
{
  const char *names[] = { "photo", "noise", "strokes", "tiny7x3" };
  const int cells[] = { 64, 16, 7, 3 };
  size_t total = 0, exact = 0;
  int worst = 0;
  for (size_t i = 0; i < G_N_ELEMENTS (names); i++)
    for (size_t c = 0; c < G_N_ELEMENTS (cells); c++)
      {
        g_autofree char *in_name = g_strdup_printf ("cond-%s.png", names[i]);
        g_autofree char *ex_name = g_strdup_printf ("cond-%s-color-%d.png", names[i], cells[c]);
        g_autofree char *sm_name = g_strdup_printf ("cond-%s-color-%d-small.png", names[i], cells[c]);
        g_autoptr (ScImage) in = load_fixture (in_name);
        g_autoptr (ScImage) expect = load_fixture (ex_name);
        g_autoptr (ScImage) expect_small = load_fixture (sm_name);
        g_autoptr (GError) error = NULL;
        g_autoptr (ScImage) got = sc_cond_color_map (in, cells[c], &error);
        g_assert_no_error (error);
        g_assert_cmpint (got->width, ==, in->width);
        g_assert_cmpint (got->height, ==, in->height);
        size_t n = (size_t) in->width * in->height * 3, same = 0;
        for (size_t k = 0; k < n; k++)
          {
            int d = abs (((guint8 *) got->data)[k] - ((guint8 *) expect->data)[k]);
            g_assert_cmpint (d, <=, 1);
            worst = MAX (worst, d);
            same += d == 0;
          }
        /* The cubic step on its own. */
        g_autoptr (ScImage) small = sc_resize (in, expect_small->width, expect_small->height, SC_RESIZE_CV_CUBIC, &error);
        g_assert_no_error (error);
        size_t ns = (size_t) small->width * small->height * 3, same_small = 0;
        for (size_t k = 0; k < ns; k++)
          same_small += ((guint8 *) small->data)[k] == ((guint8 *) expect_small->data)[k];
        g_test_message ("color %-7s cell %2d: %dx%d cells, %zu/%zu cell values exact, %zu/%zu full-size values exact",
                        names[i], cells[c], small->width, small->height, same_small, ns, same, n);
        total += n;
        exact += same;
      }
  g_test_message ("color overall: %zu/%zu values exact, largest difference %d", exact, total, worst);
}

static void
test_resize_nearest_ratios (void)
{
  /* Source index = floor(x · src/dst) in doubles: 2 → 150 puts the switch at exactly x = 75. */
  g_autoptr (ScImage) two = new_rgb (2, 1);
  memset (two->data, 10, 3);
  memset ((guint8 *) two->data + 3, 200, 3);
  g_autoptr (GError) error = NULL;
  g_autoptr (ScImage) big = sc_resize (two, 150, 1, SC_RESIZE_CV_NEAREST, &error);
  g_assert_no_error (error);
  for (int x = 0; x < 150; x++)
    g_assert_cmpint (px (big, x, 0, 0), ==, x < 75 ? 10 : 200);
  g_autoptr (ScImage) bad = sc_resize (two, 0, 3, SC_RESIZE_CV_CUBIC, &error);
  g_assert_null (bad);
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
}

/* ---- hint resize ---- */

static void
test_fit_pil (void)
{
  const struct { const char *name; int h, w; } cases[] = {
    { "photo", 64, 64 }, { "photo", 40, 72 }, { "photo", 100, 120 }, { "noise", 64, 96 },
    { "noise", 33, 17 }, { "strokes", 128, 100 }, { "tall1x9", 4, 4 },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *in_name = g_strdup_printf ("cond-%s.png", cases[i].name);
      g_autofree char *ex_name = g_strdup_printf ("cond-%s-fit-%dx%d.png", cases[i].name, cases[i].h, cases[i].w);
      g_autoptr (ScImage) in = load_fixture (in_name);
      g_autoptr (ScImage) expect = load_fixture (ex_name);
      g_autoptr (GError) error = NULL;
      g_autoptr (ScImage) got = sc_cond_fit (in, cases[i].w, cases[i].h, &error);
      g_assert_no_error (error);
      g_assert_cmpint (got->width, ==, cases[i].w);
      g_assert_cmpint (got->height, ==, cases[i].h);
      size_t n = (size_t) got->width * got->height * 3, same = 0;
      for (size_t k = 0; k < n; k++)
        same += ((guint8 *) got->data)[k] == ((guint8 *) expect->data)[k];
      g_test_message ("fit %s to %dx%d: %zu/%zu values equal Pillow + CenterCrop", cases[i].name, cases[i].h,
                      cases[i].w, same, n);
      g_assert_cmpuint (same, ==, n);
    }
}

static void
test_fit_pattern_and_hint (void)
{
  g_autoptr (GError) error = NULL;
  /* 6×4 → 3×3: short side 4 → 3 (long 4.5 → 4), crop 4 → 3 with offset round(0.5) = 0. A flat
   * colour stays exactly that colour whatever the filter. */
  g_autoptr (ScImage) flat = new_rgb (6, 4);
  for (size_t k = 0; k < 6 * 4; k++)
    memcpy ((guint8 *) flat->data + 3 * k, (guint8[]) { 12, 130, 251 }, 3);
  g_autoptr (ScTensor) hint = sc_cond_hint (flat, 3, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hint->ndim, ==, 4);
  g_assert_cmpint (hint->shape[1], ==, 3);
  g_assert_cmpint (hint->shape[2], ==, 3);
  g_assert_cmpint (hint->shape[3], ==, 3);
  for (int k = 0; k < 9; k++)
    {
      g_assert_cmpfloat (hint->data[3 * k], ==, 12 / 255.0f);
      g_assert_cmpfloat (hint->data[3 * k + 1], ==, 130 / 255.0f);
      g_assert_cmpfloat (hint->data[3 * k + 2], ==, 251 / 255.0f);
    }
  /* Same size: unchanged. Column index pattern, crop 8 wide → 8 wide, 1 tall → padding. */
  g_autoptr (ScImage) cols = new_rgb (8, 2);
  for (int y = 0; y < 2; y++)
    for (int x = 0; x < 8; x++)
      memset ((guint8 *) cols->data + ((size_t) y * 8 + x) * 3, 10 * x + 5, 3);
  g_autoptr (ScImage) same = sc_cond_fit (cols, 8, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (same->data, 8 * 2 * 3, cols->data, 8 * 2 * 3);
  /* Target 2×4 (H×W) from 8×2: short side already 2, crop the centre 4 columns: offset 2. */
  g_autoptr (ScImage) mid = sc_cond_fit (cols, 4, 2, &error);
  g_assert_no_error (error);
  for (int x = 0; x < 4; x++)
    g_assert_cmpint (px (mid, x, 0, 0), ==, 10 * (x + 2) + 5);
  /* Target 4×2 (H×W): short side 2 → 2, long 8; crop is taller than the image: black rows 0 and 3. */
  g_autoptr (ScImage) tall = sc_cond_fit (cols, 2, 4, &error);
  g_assert_no_error (error);
  for (int x = 0; x < 2; x++)
    {
      g_assert_cmpint (px (tall, x, 0, 0), ==, 0);
      g_assert_cmpint (px (tall, x, 3, 0), ==, 0);
      g_assert_cmpint (px (tall, x, 1, 0), ==, 10 * (x + 3) + 5); /* offset round(3.0) = 3 */
    }
  /* Odd sizes and huge aspect ratios. */
  g_autoptr (ScImage) one = new_rgb (1, 1);
  g_autoptr (ScImage) fit1 = sc_cond_fit (one, 7, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpint (fit1->width, ==, 7);
  g_autoptr (ScImage) line = new_rgb (2000, 1);
  memset (line->data, 200, 2000 * 3);
  g_autoptr (ScImage) fitl = sc_cond_fit (line, 3, 5, &error); /* 6000×3, centre 3×5, padded */
  g_assert_no_error (error);
  for (int y = 0; y < 5; y++)
    g_assert_cmpint (px (fitl, 1, y, 0), ==, y == 0 || y == 4 ? 0 : 200);
  g_autoptr (ScImage) longer = new_rgb (16000, 1);
  g_autoptr (ScImage) fitx = sc_cond_fit (longer, 3, 5, &error); /* would be 48000 wide */
  g_assert_null (fitx);
  g_assert_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED);
}

/* ---- depth ---- */

static void
test_depth (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ScImage) d16 = load_fixture ("cond-depth16.png");
  g_assert_cmpint (d16->bit_depth, ==, 16);
  g_autoptr (ScImage) expect = load_fixture ("cond-depth16-expected.png");
  g_autoptr (ScImage) got = sc_cond_depth (d16, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (count_equal_grey (got, expect), ==, (size_t) d16->width * d16->height);

  /* 8-bit grey 50..150 → 0..255; flat → zeros; RGB uses luminance. */
  g_autoptr (ScImage) g8 = sc_image_new (3, 1, 1, 8, &error);
  memcpy (g8->data, (guint8[]) { 50, 100, 150 }, 3);
  g_autoptr (ScImage) o8 = sc_cond_depth (g8, &error);
  g_assert_no_error (error);
  g_assert_cmpint (px (o8, 0, 0, 0), ==, 0);
  g_assert_cmpint (px (o8, 1, 0, 1), ==, 128); /* 127.5 rounds up */
  g_assert_cmpint (px (o8, 2, 0, 2), ==, 255);
  memset (g8->data, 77, 3);
  g_autoptr (ScImage) flat = sc_cond_depth (g8, &error);
  for (int x = 0; x < 3; x++)
    g_assert_cmpint (px (flat, x, 0, 0), ==, 0);
  g_autoptr (ScImage) rgb = new_rgb (3, 1);
  memcpy (rgb->data, (guint8[]) { 255, 0, 0, 0, 255, 0, 0, 0, 255 }, 9); /* luma .299 .587 .114 */
  g_autoptr (ScImage) orgb = sc_cond_depth (rgb, &error);
  g_assert_cmpint (px (orgb, 0, 0, 0), ==, (int) floor ((0.299 - 0.114) / (0.587 - 0.114) * 255 + 0.5));
  g_assert_cmpint (px (orgb, 1, 0, 0), ==, 255);
  g_assert_cmpint (px (orgb, 2, 0, 0), ==, 0);
}

/* ---- sketch ---- */

static void
test_sketch (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ScImage) dark_on_light = new_rgb (5, 4), light_on_dark = new_rgb (5, 4);
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 5; x++)
      {
        guint8 line = x == 2 ? 20 : 240;
        memset ((guint8 *) dark_on_light->data + ((size_t) y * 5 + x) * 3, line, 3);
        memset ((guint8 *) light_on_dark->data + ((size_t) y * 5 + x) * 3, 255 - line, 3);
      }
  g_autoptr (ScImage) a = sc_cond_sketch (dark_on_light, &error);
  g_assert_no_error (error);
  g_autoptr (ScImage) b = sc_cond_sketch (light_on_dark, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (a->data, 5 * 4 * 3, b->data, 5 * 4 * 3);
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 5; x++)
      g_assert_cmpint (px (a, x, y, 1), ==, x == 2 ? 255 : 0);
}

/* ---- masks ---- */

static ScMask *
mask_with (int w, int h, int x0, int y0, int x1, int y1)
{
  g_autoptr (GError) error = NULL;
  ScMask *m = sc_mask_new (w, h, &error);
  g_assert_no_error (error);
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      m->data[(size_t) y * w + x] = 1.0f;
  return m;
}

static void
test_mask_from_image (void)
{
  g_autoptr (GError) error = NULL;
  /* Luminance: 127 keeps, 128 repaints. */
  g_autoptr (ScImage) grey = sc_image_new (2, 1, 1, 8, &error);
  memcpy (grey->data, (guint8[]) { 127, 128 }, 2);
  g_autoptr (ScMask) mg = sc_mask_from_image (grey, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (mg->data[0], ==, 0.0f);
  g_assert_cmpfloat (mg->data[1], ==, 1.0f);
  /* RGBA with a painted alpha layer: alpha decides, colour is ignored. */
  g_autoptr (ScImage) rgba = sc_image_new (2, 1, 4, 8, &error);
  memcpy (rgba->data, (guint8[]) { 255, 255, 255, 0, 0, 0, 0, 200 }, 8);
  g_autoptr (ScMask) ma = sc_mask_from_image (rgba, &error);
  g_assert_cmpfloat (ma->data[0], ==, 0.0f);
  g_assert_cmpfloat (ma->data[1], ==, 1.0f);
  /* Fully opaque RGBA: the luminance decides. */
  memcpy (rgba->data, (guint8[]) { 255, 255, 255, 255, 0, 0, 0, 255 }, 8);
  g_autoptr (ScMask) mo = sc_mask_from_image (rgba, &error);
  g_assert_cmpfloat (mo->data[0], ==, 1.0f);
  g_assert_cmpfloat (mo->data[1], ==, 0.0f);
  /* 16-bit: 32767 keeps, 32768 repaints. */
  g_autoptr (ScImage) g16 = sc_image_new (2, 1, 1, 16, &error);
  memcpy (g16->data, (guint16[]) { 32767, 32768 }, 4);
  g_autoptr (ScMask) m16 = sc_mask_from_image (g16, &error);
  g_assert_cmpfloat (m16->data[0], ==, 0.0f);
  g_assert_cmpfloat (m16->data[1], ==, 1.0f);
}

static void
test_mask_grow (void)
{
  g_autoptr (GError) error = NULL;
  /* One pixel grown by 3: the lattice points of a disc of radius 3 (29 of them). */
  g_autoptr (ScMask) dot = mask_with (15, 11, 7, 5, 8, 6);
  g_autoptr (ScMask) g3 = sc_mask_grow (dot, 3, &error);
  g_assert_no_error (error);
  int count = 0;
  for (int y = 0; y < 11; y++)
    for (int x = 0; x < 15; x++)
      {
        float v = g3->data[y * 15 + x];
        g_assert_true (v == 0.0f || v == 1.0f);
        g_assert_cmpfloat (v, ==, (x - 7) * (x - 7) + (y - 5) * (y - 5) <= 9 ? 1.0f : 0.0f);
        count += v == 1.0f;
      }
  g_assert_cmpint (count, ==, 29);
  /* Radius 0 keeps the mask; an empty mask stays empty; growing past the border is clipped. */
  g_autoptr (ScMask) g0 = sc_mask_grow (dot, 0, &error);
  g_assert_cmpmem (g0->data, 15 * 11 * sizeof (float), dot->data, 15 * 11 * sizeof (float));
  g_autoptr (ScMask) empty = mask_with (4, 3, 0, 0, 0, 0);
  g_autoptr (ScMask) ge = sc_mask_grow (empty, 5, &error);
  for (int k = 0; k < 12; k++)
    g_assert_cmpfloat (ge->data[k], ==, 0.0f);
  g_autoptr (ScMask) corner = mask_with (1, 1, 0, 0, 1, 1);
  g_autoptr (ScMask) gc = sc_mask_grow (corner, 100, &error);
  g_assert_cmpfloat (gc->data[0], ==, 1.0f);
  g_autoptr (ScMask) bad = sc_mask_grow (dot, -1, &error);
  g_assert_null (bad);
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
}

static void
test_mask_feather (void)
{
  g_autoptr (GError) error = NULL;
  /* Left half repainted (columns 0..19 of 40): a ramp centred on the edge, radius 6. */
  g_autoptr (ScMask) half = mask_with (40, 5, 0, 0, 20, 5);
  g_autoptr (ScMask) f = sc_mask_feather (half, 6, &error);
  g_assert_no_error (error);
  for (int y = 0; y < 5; y++)
    for (int x = 0; x < 40; x++)
      {
        float v = f->data[y * 40 + x];
        g_assert_cmpfloat (v, >=, 0.0f);
        g_assert_cmpfloat (v, <=, 1.0f);
        g_assert_cmpfloat (v, ==, f->data[x]); /* rows alike */
        if (x > 0)
          g_assert_cmpfloat (v, <=, f->data[y * 40 + x - 1]); /* monotone */
        if (x <= 13)
          g_assert_cmpfloat_with_epsilon (v, 1.0f, 1e-6);
        if (x >= 26)
          g_assert_cmpfloat_with_epsilon (v, 0.0f, 1e-6);
        if (x < 20)
          g_assert_cmpfloat_with_epsilon (v + f->data[y * 40 + 39 - x], 1.0f, 1e-5); /* symmetric */
      }
  g_assert_cmpfloat (f->data[19], >, 0.5f);
  g_assert_cmpfloat (f->data[20], <, 0.5f);
  g_autoptr (ScMask) f0 = sc_mask_feather (half, 0, &error);
  g_assert_cmpmem (f0->data, 200 * sizeof (float), half->data, 200 * sizeof (float));
  g_autoptr (ScMask) tiny = mask_with (1, 1, 0, 0, 1, 1);
  g_autoptr (ScMask) ft = sc_mask_feather (tiny, 9, &error);
  g_assert_cmpfloat_with_epsilon (ft->data[0], 1.0f, 1e-6);
}

static void
test_inpaint (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ScImage) img = new_rgb (4, 3);
  for (size_t k = 0; k < 4 * 3 * 3; k++)
    ((guint8 *) img->data)[k] = (guint8) (100 + k);
  g_autoptr (ScMask) m = mask_with (4, 3, 1, 1, 3, 2);
  m->data[0] = 0.49f; /* below one half: kept */
  g_autoptr (ScImage) out = sc_cond_inpaint (img, m, &error);
  g_assert_no_error (error);
  for (int y = 0; y < 3; y++)
    for (int x = 0; x < 4; x++)
      for (int c = 0; c < 3; c++)
        g_assert_cmpint (px (out, x, y, c), ==, (y == 1 && (x == 1 || x == 2)) ? 0 : px (img, x, y, c));
  g_autoptr (ScMask) wrong = mask_with (3, 4, 0, 0, 0, 0);
  g_autoptr (ScImage) bad = sc_cond_inpaint (img, wrong, &error);
  g_assert_null (bad);
  g_assert_error (error, SC_ERROR, SC_ERROR_SHAPE);
}

/* ---- odd sizes through everything ---- */

static void
test_odd_sizes (void)
{
  const int sizes[][2] = { { 1, 1 }, { 3, 7 }, { 7, 3 }, { 1, 257 }, { 257, 1 }, { 65, 2 } };
  for (size_t s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      int w = sizes[s][0], h = sizes[s][1];
      g_autoptr (ScImage) img = new_rgb (w, h);
      for (size_t k = 0; k < (size_t) w * h * 3; k++)
        ((guint8 *) img->data)[k] = (guint8) (k * 91 % 251);
      g_autoptr (GError) error = NULL;
      g_autoptr (ScImage) c = sc_cond_canny (img, 100, 200, &error);
      g_assert_no_error (error);
      g_autoptr (ScImage) col = sc_cond_color_map (img, 64, &error);
      g_assert_no_error (error);
      g_assert_cmpint (col->width, ==, w);
      g_autoptr (ScImage) d = sc_cond_depth (img, &error);
      g_assert_no_error (error);
      g_autoptr (ScImage) sk = sc_cond_sketch (img, &error);
      g_assert_no_error (error);
      g_autoptr (ScTensor) hint = sc_cond_hint (img, 5, 4, &error);
      g_assert_no_error (error);
      g_assert_cmpint (hint->shape[1], ==, 4);
      g_assert_cmpint (hint->shape[2], ==, 5);
      g_autoptr (ScMask) m = sc_mask_from_image (img, &error);
      g_autoptr (ScMask) grown = sc_mask_grow (m, 2, &error);
      g_autoptr (ScMask) soft = sc_mask_feather (grown, 3, &error);
      g_assert_no_error (error);
      g_autoptr (ScImage) inp = sc_cond_inpaint (img, soft, &error);
      g_assert_no_error (error);
    }
}

/* ---- CLI ---- */


static void
test_cli (void)
{
  if (!g_getenv ("SC_SCEDIT"))
    {
      g_test_skip ("SC_SCEDIT not set");
      return;
    }
  g_autofree char *photo = fixture_path ("cond-photo.png");
  g_autofree char *out = g_build_filename (tmpdir, "canny.png", NULL);
  ScTestRun r = sc_test_run_scedit ("cond", "canny", photo, "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 0);
  sc_test_run_clear (&r);
  g_autoptr (GError) error = NULL;
  g_autoptr (ScImage) got = sc_image_load (out, &error);
  g_assert_no_error (error);
  g_autoptr (ScImage) expect = load_fixture ("cond-photo-canny-100-200.png");
  g_assert_cmpuint (count_equal_grey (got, expect), >=, (size_t) (0.999 * 96 * 80));

  r = sc_test_run_scedit ("cond", "canny", photo, "--low", "50", "--high", "120", "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 0);
  sc_test_run_clear (&r);
  g_autoptr (ScImage) got2 = sc_image_load (out, &error);
  g_autoptr (ScImage) expect2 = load_fixture ("cond-photo-canny-50-120.png");
  g_assert_cmpuint (count_equal_grey (got2, expect2), >=, (size_t) (0.999 * 96 * 80));

  g_autofree char *color = g_build_filename (tmpdir, "color.png", NULL);
  r = sc_test_run_scedit ("cond", "color", photo, "--cell", "16", "-o", color, NULL);
  g_assert_cmpint (r.status, ==, 0);
  sc_test_run_clear (&r);
  g_autoptr (ScImage) gc = sc_image_load (color, &error);
  g_assert_cmpint (gc->width, ==, 96);

  /* -W/-H: resize + crop first. */
  r = sc_test_run_scedit ("cond", "color", photo, "-W", "72", "-H", "40", "-o", color, NULL);
  g_assert_cmpint (r.status, ==, 0);
  sc_test_run_clear (&r);
  g_autoptr (ScImage) gfit = sc_image_load (color, &error);
  g_assert_cmpint (gfit->width, ==, 72);
  g_assert_cmpint (gfit->height, ==, 40);

  g_autofree char *depth_in = fixture_path ("cond-depth16.png");
  g_autofree char *depth = g_build_filename (tmpdir, "depth.png", NULL);
  r = sc_test_run_scedit ("cond", "depth", depth_in, "-o", depth, NULL);
  g_assert_cmpint (r.status, ==, 0);
  sc_test_run_clear (&r);
  g_autoptr (ScImage) gd = sc_image_load (depth, &error);
  g_autoptr (ScImage) ed = load_fixture ("cond-depth16-expected.png");
  g_assert_cmpuint (count_equal_grey (gd, ed), ==, 64 * 48);

  /* inpaint: a grey mask with a 10×10 square at (20, 30), grown by 2. */
  g_autoptr (ScImage) mimg = sc_image_new (96, 80, 1, 8, &error);
  for (int y = 30; y < 40; y++)
    memset ((guint8 *) mimg->data + (size_t) y * 96 + 20, 255, 10);
  g_autofree char *mask = g_build_filename (tmpdir, "mask.png", NULL);
  g_assert_true (sc_image_save_png (mimg, mask, NULL, NULL, 0, &error));
  g_autofree char *inp = g_build_filename (tmpdir, "inpaint.png", NULL);
  r = sc_test_run_scedit ("cond", "inpaint", photo, "--mask", mask, "--grow", "2", "-o", inp, NULL);
  g_assert_cmpint (r.status, ==, 0);
  sc_test_run_clear (&r);
  g_autoptr (ScImage) gi = sc_image_load (inp, &error);
  g_autoptr (ScImage) src = load_fixture ("cond-photo.png");
  for (int y = 0; y < 80; y++)
    for (int x = 0; x < 96; x++)
      {
        int dx = x < 20 ? 20 - x : x > 29 ? x - 29 : 0, dy = y < 30 ? 30 - y : y > 39 ? y - 39 : 0;
        gboolean masked = dx * dx + dy * dy <= 4;
        for (int c = 0; c < 3; c++)
          g_assert_cmpint (px (gi, x, y, c), ==, masked ? 0 : px (src, x, y, c));
      }
  r = sc_test_run_scedit ("cond", "inpaint", photo, "-o", inp, NULL); /* no mask */
  g_assert_cmpint (r.status, ==, 2);
  sc_test_run_clear (&r);
  g_autofree char *sketch = g_build_filename (tmpdir, "sketch.png", NULL);
  r = sc_test_run_scedit ("cond", "sketch", mask, "-W", "48", "-H", "40", "-o", sketch, NULL);
  g_assert_cmpint (r.status, ==, 0);
  sc_test_run_clear (&r);
  g_autoptr (ScImage) gs = sc_image_load (sketch, &error);
  g_assert_cmpint (gs->width, ==, 48);
  g_assert_cmpint (px (gs, 12, 17, 0), ==, 255); /* light square on black: kept, halved */
  g_assert_cmpint (px (gs, 2, 2, 0), ==, 0);

  /* Broken input: a clear error, exit 1, nothing written. */
  g_autofree char *broken = g_build_filename (tmpdir, "broken.png", NULL);
  g_assert_true (g_file_set_contents (broken, "\x89PNG\r\n\x1a\nnot really", 18, NULL));
  g_autofree char *none = g_build_filename (tmpdir, "none.png", NULL);
  r = sc_test_run_scedit ("cond", "canny", broken, "-o", none, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "scedit: error:"));
  g_assert_false (g_file_test (none, G_FILE_TEST_EXISTS));
  sc_test_run_clear (&r);
  /* Usage errors: exit 2. */
  r = sc_test_run_scedit ("cond", "blur", photo, "-o", none, NULL);
  g_assert_cmpint (r.status, ==, 2);
  sc_test_run_clear (&r);
  r = sc_test_run_scedit ("cond", "canny", photo, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "-o"));
  sc_test_run_clear (&r);
  r = sc_test_run_scedit ("cond", "depth", photo, "--low", "3", "-o", none, NULL);
  g_assert_cmpint (r.status, ==, 2);
  sc_test_run_clear (&r);
  r = sc_test_run_scedit ("cond", "canny", photo, "-W", "64", "-o", none, NULL);
  g_assert_cmpint (r.status, ==, 2);
  sc_test_run_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("test-cond-XXXXXX", NULL);
  g_test_add_func ("/cond/canny/opencv", test_canny_opencv);
  g_test_add_func ("/cond/canny/grey-single-channel", test_canny_grey_single_channel);
  g_test_add_func ("/cond/canny/properties", test_canny_properties);
  g_test_add_func ("/cond/color/opencv", test_color_map_opencv);
  g_test_add_func ("/cond/resize/nearest-ratios", test_resize_nearest_ratios);
  g_test_add_func ("/cond/fit/pil", test_fit_pil);
  g_test_add_func ("/cond/fit/patterns-and-hint", test_fit_pattern_and_hint);
  g_test_add_func ("/cond/depth", test_depth);
  g_test_add_func ("/cond/sketch", test_sketch);
  g_test_add_func ("/cond/mask/from-image", test_mask_from_image);
  g_test_add_func ("/cond/mask/grow", test_mask_grow);
  g_test_add_func ("/cond/mask/feather", test_mask_feather);
  g_test_add_func ("/cond/inpaint", test_inpaint);
  g_test_add_func ("/cond/odd-sizes", test_odd_sizes);
  g_test_add_func ("/cond/cli", test_cli);
  int rc = g_test_run ();
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmpdir);
  (void) system (cmd);
  g_free (tmpdir);
  return rc;
}
