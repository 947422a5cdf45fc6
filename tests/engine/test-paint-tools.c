/* Painting maths and the undo stack (ui/, GTK-free): exact pixels on small buffers. */
#include "sc-paint-tool.h"
#include "sc-undo-stack.h"

#include <string.h>

#define N 9

static ScPaintBuffer
grey (guint8 *data, guint8 value)
{
  memset (data, value, N * N);
  return (ScPaintBuffer) { data, N, N, 1 };
}

static ScPaintTool
tool (ScPaintToolKind kind, double size, double hardness)
{
  ScPaintTool t = { .kind = kind, .size = size, .hardness = hardness };
  memset (t.color, 255, 4);
  return t;
}

static int
count_value (const guint8 *data, guint8 value)
{
  int n = 0;
  for (int i = 0; i < N * N; i++)
    n += data[i] == value;
  return n;
}

static void
test_coverage (void)
{
  g_assert_cmpfloat (sc_paint_coverage (1.9, 2, 1), ==, 1);
  g_assert_cmpfloat (sc_paint_coverage (2, 2, 1), ==, 0);
  g_assert_cmpfloat (sc_paint_coverage (2, 4, 0.5), ==, 1);
  g_assert_cmpfloat_with_epsilon (sc_paint_coverage (3, 4, 0.5), 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (sc_paint_coverage (1, 4, 0), 0.75, 1e-12);
  g_assert_cmpfloat (sc_paint_coverage (0, 0, 1), ==, 0);
}

static void
test_brush_footprint (void)
{
  guint8 data[N * N];
  ScPaintBuffer b = grey (data, 0);
  ScPaintTool t = tool (SC_PAINT_BRUSH, 3, 1); /* radius 1.5: the centre and all eight neighbours */
  double p[] = { 4.5, 4.5 };
  ScPaintRect r = sc_paint_apply (&b, &t, p, 1);
  g_assert_cmpint (r.x, ==, 3);
  g_assert_cmpint (r.y, ==, 3);
  g_assert_cmpint (r.width, ==, 3);
  g_assert_cmpint (r.height, ==, 3);
  g_assert_cmpint (count_value (data, 255), ==, 9);
  for (int y = 3; y < 6; y++)
    for (int x = 3; x < 6; x++)
      g_assert_cmpint (data[y * N + x], ==, 255);
}

static void
test_brush_hardness (void)
{
  guint8 data[N * N];
  ScPaintBuffer b = grey (data, 0);
  ScPaintTool t = tool (SC_PAINT_BRUSH, 4, 0.5); /* solid to distance 1, then falling to 0 at 2 */
  double p[] = { 4.5, 4.5 };
  ScPaintRect r = sc_paint_apply (&b, &t, p, 1);
  g_assert_cmpint (r.width, ==, 3);
  g_assert_cmpint (data[4 * N + 4], ==, 255);
  g_assert_cmpint (data[3 * N + 4], ==, 255);
  g_assert_cmpint (data[4 * N + 5], ==, 255);
  g_assert_cmpint (data[3 * N + 3], ==, 149); /* √2 away: (2 − √2) × 255 */
  g_assert_cmpint (data[2 * N + 4], ==, 0);   /* exactly at the radius */
  g_assert_cmpint (count_value (data, 0), ==, N * N - 9);

  /* a stroke over the same spot twice does not build up: the largest coverage wins */
  b = grey (data, 0);
  double twice[] = { 4.5, 4.5, 4.5, 4.5 };
  sc_paint_apply (&b, &t, twice, 2);
  g_assert_cmpint (data[3 * N + 3], ==, 149);
}

static void
test_eraser (void)
{
  guint8 data[N * N];
  ScPaintBuffer b = grey (data, 255);
  ScPaintTool t = tool (SC_PAINT_ERASER, 3, 1);
  double p[] = { 0.5, 0.5, 8.5, 0.5 };
  ScPaintRect r = sc_paint_apply (&b, &t, p, 2);
  g_assert_cmpint (r.x, ==, 0);
  g_assert_cmpint (r.y, ==, 0);
  g_assert_cmpint (r.width, ==, N);
  g_assert_cmpint (r.height, ==, 2); /* rows 0 and 1 (distance 1 < 1.5) */
  g_assert_cmpint (count_value (data, 0), ==, 2 * N);
  g_assert_cmpint (data[2 * N], ==, 255);
}

static void
test_line (void)
{
  guint8 data[N * N];
  ScPaintBuffer b = grey (data, 0);
  ScPaintTool t = tool (SC_PAINT_LINE, 1, 1);
  /* only the first and last points count: the detour through the middle is ignored */
  double p[] = { 0.5, 0.5, 4.5, 8.5, 8.5, 0.5 };
  ScPaintRect r = sc_paint_apply (&b, &t, p, 3);
  g_assert_cmpint (r.x, ==, 0);
  g_assert_cmpint (r.y, ==, 0);
  g_assert_cmpint (r.width, ==, N);
  g_assert_cmpint (r.height, ==, 1);
  g_assert_cmpint (count_value (data, 255), ==, N);

  /* a diagonal one pixel wide touches exactly the diagonal */
  b = grey (data, 0);
  double d[] = { 0.5, 0.5, 8.5, 8.5 };
  r = sc_paint_apply (&b, &t, d, 2);
  g_assert_cmpint (r.width, ==, N);
  g_assert_cmpint (r.height, ==, N);
  for (int i = 0; i < N; i++)
    g_assert_cmpint (data[i * N + i], ==, 255);
  g_assert_cmpint (count_value (data, 255), ==, N);
}

static void
test_fill (void)
{
  guint8 data[N * N];
  ScPaintBuffer b = grey (data, 0);
  for (int y = 0; y < N; y++)
    data[y * N + 4] = 255; /* a wall down column 4 */
  ScPaintTool t = tool (SC_PAINT_FILL, 1, 1);
  t.color[0] = 128;
  double p[] = { 1.2, 7.9 };
  ScPaintRect r = sc_paint_apply (&b, &t, p, 1);
  g_assert_cmpint (r.x, ==, 0);
  g_assert_cmpint (r.y, ==, 0);
  g_assert_cmpint (r.width, ==, 4);
  g_assert_cmpint (r.height, ==, N);
  g_assert_cmpint (count_value (data, 128), ==, 4 * N);
  g_assert_cmpint (count_value (data, 255), ==, N);
  g_assert_cmpint (data[5], ==, 0);

  /* filling with the colour already there, or outside, changes nothing */
  r = sc_paint_apply (&b, &t, p, 1);
  g_assert_cmpint (r.width, ==, 0);
  double out[] = { -1, 3 };
  r = sc_paint_apply (&b, &t, out, 1);
  g_assert_cmpint (r.width, ==, 0);

  /* RGB: a pixel counts as the same only when all channels match */
  guint8 rgb[3 * 3 * 3] = { 0 };
  rgb[3 * 4 + 1] = 1; /* the centre differs in green */
  ScPaintBuffer c = { rgb, 3, 3, 3 };
  ScPaintTool f = tool (SC_PAINT_FILL, 1, 1);
  double q[] = { 0, 0 };
  sc_paint_apply (&c, &f, q, 1);
  g_assert_cmpint (rgb[3 * 4], ==, 0);
  g_assert_cmpint (rgb[3 * 4 + 1], ==, 1);
  g_assert_cmpint (rgb[3 * 8 + 2], ==, 255);
}

static void
test_rect_roundtrip (void)
{
  guint8 data[N * N];
  for (int i = 0; i < N * N; i++)
    data[i] = (guint8) i;
  ScPaintBuffer b = { data, N, N, 1 };
  ScPaintRect r = { 2, 3, 4, 2 };
  g_autoptr (GBytes) part = sc_paint_buffer_copy_rect (&b, r);
  g_assert_cmpuint (g_bytes_get_size (part), ==, 8);
  g_assert_cmpint (((const guint8 *) g_bytes_get_data (part, NULL))[5], ==, 4 * N + 3);
  guint8 copy[N * N] = { 0 };
  ScPaintBuffer c = { copy, N, N, 1 };
  sc_paint_buffer_put_rect (&c, r, part);
  g_assert_cmpint (copy[3 * N + 2], ==, 3 * N + 2);
  g_assert_cmpint (copy[4 * N + 5], ==, 4 * N + 5);
  g_assert_cmpint (copy[0], ==, 0);
}

/* ---- undo ---- */

static void
apply_int (gpointer state, gpointer user)
{
  *(int *) user = GPOINTER_TO_INT (state);
}

static void
test_undo_stack (void)
{
  int value = 0;
  g_autoptr (ScUndoStack) s = sc_undo_stack_new (apply_int, NULL, &value);
  g_assert_false (sc_undo_stack_can_undo (s));
  sc_undo_stack_push (s, NULL, GINT_TO_POINTER (0), GINT_TO_POINTER (1));
  value = 1;
  /* a drag: three values with one key become one step */
  sc_undo_stack_push (s, "w", GINT_TO_POINTER (1), GINT_TO_POINTER (2));
  sc_undo_stack_push (s, "w", GINT_TO_POINTER (2), GINT_TO_POINTER (3));
  sc_undo_stack_push (s, "w", GINT_TO_POINTER (3), GINT_TO_POINTER (4));
  value = 4;
  g_assert_cmpuint (sc_undo_stack_get_n_steps (s), ==, 2);
  g_assert_true (sc_undo_stack_undo (s));
  g_assert_cmpint (value, ==, 1);
  g_assert_true (sc_undo_stack_redo (s));
  g_assert_cmpint (value, ==, 4);
  g_assert_false (sc_undo_stack_redo (s));
  /* sealed: the same key starts a new step */
  sc_undo_stack_seal (s);
  sc_undo_stack_push (s, "w", GINT_TO_POINTER (4), GINT_TO_POINTER (5));
  g_assert_cmpuint (sc_undo_stack_get_n_steps (s), ==, 3);
  g_assert_true (sc_undo_stack_undo (s));
  g_assert_true (sc_undo_stack_undo (s));
  g_assert_true (sc_undo_stack_undo (s));
  g_assert_cmpint (value, ==, 0);
  g_assert_false (sc_undo_stack_undo (s));
  /* a new edit after undo drops what could have been redone */
  g_assert_true (sc_undo_stack_redo (s));
  sc_undo_stack_push (s, NULL, GINT_TO_POINTER (1), GINT_TO_POINTER (7));
  g_assert_false (sc_undo_stack_can_redo (s));
  g_assert_cmpuint (sc_undo_stack_get_n_steps (s), ==, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/paint/coverage", test_coverage);
  g_test_add_func ("/paint/brush-footprint", test_brush_footprint);
  g_test_add_func ("/paint/brush-hardness", test_brush_hardness);
  g_test_add_func ("/paint/eraser", test_eraser);
  g_test_add_func ("/paint/line", test_line);
  g_test_add_func ("/paint/fill", test_fill);
  g_test_add_func ("/paint/rect-roundtrip", test_rect_roundtrip);
  g_test_add_func ("/undo/stack", test_undo_stack);
  return g_test_run ();
}
