/* Direct editing in the window, under Xvfb: the canvas's outpaint handles extend the picture by snapped
 * amounts as undoable steps that the next render fills in, and a condition row takes pictures dropped
 * on it or pasted into it through the same path as its "Load Image…" button. */
#include "sc-condition-row.h"
#include "sc-conditions-panel.h"
#include "sc-window.h"
#include "ui-util.h"

#include <string.h>

static char *tmpdir, *model_path;

static void
assert_extension (ScDocument *doc, int left, int top, int right, int bottom)
{
  int m[4];
  sc_document_get_extension (doc, m);
  g_assert_cmpint (m[0], ==, left);
  g_assert_cmpint (m[1], ==, top);
  g_assert_cmpint (m[2], ==, right);
  g_assert_cmpint (m[3], ==, bottom);
}

/* Widget pixels per picture pixel, as the canvas lays the picture out now. */
static double
widget_per_pixel (ScCanvas *canvas)
{
  double x0, y0, x1, y1;
  g_assert_true (sc_canvas_widget_to_image (canvas, 0, 0, &x0, &y0));
  g_assert_true (sc_canvas_widget_to_image (canvas, 100, 0, &x1, &y1));
  g_assert_cmpfloat (x1, >, x0);
  return 100 / (x1 - x0);
}

/* The picture with its pending margins — the box the handles sit round — is centred in the canvas and
 * fits it: the canvas refits when margins are added. */
static void
assert_fitted (ScCanvas *canvas)
{
  graphene_rect_t l, t, r, b;
  g_assert_true (sc_canvas_get_handle_rect (canvas, SC_CANVAS_EDGE_LEFT, &l));
  g_assert_true (sc_canvas_get_handle_rect (canvas, SC_CANVAS_EDGE_TOP, &t));
  g_assert_true (sc_canvas_get_handle_rect (canvas, SC_CANVAS_EDGE_RIGHT, &r));
  g_assert_true (sc_canvas_get_handle_rect (canvas, SC_CANVAS_EDGE_BOTTOM, &b));
  double left = l.origin.x + l.size.width, right = r.origin.x, top = t.origin.y + t.size.height, bottom = b.origin.y;
  double cw = gtk_widget_get_width (GTK_WIDGET (canvas)), ch = gtk_widget_get_height (GTK_WIDGET (canvas));
  g_assert_cmpfloat (left, >=, 0);
  g_assert_cmpfloat (right, <=, cw);
  g_assert_cmpfloat (top, >=, 0);
  g_assert_cmpfloat (bottom, <=, ch);
  g_assert_cmpfloat_with_epsilon ((left + right) / 2, cw / 2, 0.5);
  g_assert_cmpfloat_with_epsilon ((top + bottom) / 2, ch / 2, 0.5);
}

/* The canvas pixel (BGRA, as GDK downloads) at picture point (px, py). */
static guint32
pixel_at (ScCanvas *canvas, double px, double py)
{
  double x0, y0;
  g_assert_true (sc_canvas_widget_to_image (canvas, 0, 0, &x0, &y0));
  double s = widget_per_pixel (canvas);
  int wx = (int) (px * s - x0 * s), wy = (int) (py * s - y0 * s);
  gtk_test_widget_wait_for_draw (GTK_WIDGET (canvas));
  g_autoptr (GdkTexture) t = sc_test_widget_texture (GTK_WIDGET (canvas));
  g_assert_nonnull (t);
  int w = gdk_texture_get_width (t), h = gdk_texture_get_height (t);
  g_assert_true (wx >= 0 && wx < w && wy >= 0 && wy < h);
  g_autofree guint32 *data = g_malloc ((gsize) w * h * 4);
  gdk_texture_download (t, (guchar *) data, (gsize) w * 4);
  return data[wy * w + wx];
}

static void
render (ScWindow *win)
{
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.generate", NULL));
  g_assert_true (sc_test_spin_until (sc_test_window_busy, win, 5000));
  g_assert_true (sc_test_spin_until (sc_test_window_idle, win, 30000));
}

static const ScResult *
newest_result (ScWindow *win)
{
  ScHistoryItem *last = sc_test_newest_item (win, NULL);
  g_assert_nonnull (last);
  return sc_history_item_get_result (last);
}

static void
test_handles (void)
{
  ScWindow *win = sc_test_new_ready_window (model_path);
  if (!win)
    return;
  ScDocument *doc = sc_window_get_document (win);
  ScCanvas *canvas = sc_window_get_canvas (win);
  ScUndoStack *undo = sc_document_get_undo_stack (doc);
  g_object_set (doc, "prompt", "a red apple", "width", 64, "height", 64, "steps", 3, "sampler", 0, "seed-locked",
                TRUE, NULL);
  sc_document_set_seed (doc, 11);
  gtk_test_widget_wait_for_draw (GTK_WIDGET (win));

  /* no picture yet: no handles, and a drag adds nothing */
  graphene_rect_t rect;
  g_assert_false (sc_canvas_get_handle_rect (canvas, SC_CANVAS_EDGE_RIGHT, &rect));
  g_assert_cmpint (sc_canvas_drag_handle (canvas, SC_CANVAS_EDGE_RIGHT, 200, 0), ==, 0);
  assert_extension (doc, 0, 0, 0, 0);
  g_assert_cmpuint (sc_undo_stack_get_n_steps (undo), ==, 0);

  render (win);
  int w = 0, h = 0;
  GBytes *image = sc_document_get_layer_pixels (doc, SC_LAYER_IMAGE, 0, &w, &h, NULL);
  g_assert_nonnull (image);
  g_assert_cmpint (w, ==, 64);
  g_autoptr (GBytes) first = g_bytes_new (g_bytes_get_data (image, NULL), g_bytes_get_size (image));

  /* the handles sit just outside the picture's edges: the right one starts at its right edge, the top
   * one ends at its top edge */
  double x, y;
  g_assert_true (sc_canvas_get_handle_rect (canvas, SC_CANVAS_EDGE_RIGHT, &rect));
  g_assert_true (sc_canvas_widget_to_image (canvas, rect.origin.x, rect.origin.y + rect.size.height / 2, &x, &y));
  g_assert_cmpfloat_with_epsilon (x, 64, 0.05);
  g_assert_cmpfloat_with_epsilon (y, 32, 0.05);
  g_assert_true (sc_canvas_get_handle_rect (canvas, SC_CANVAS_EDGE_TOP, &rect));
  g_assert_true (sc_canvas_widget_to_image (canvas, rect.origin.x + rect.size.width / 2,
                                            rect.origin.y + rect.size.height, &x, &y));
  g_assert_cmpfloat_with_epsilon (x, 32, 0.05);
  g_assert_cmpfloat_with_epsilon (y, 0, 0.05);

  /* right by 43 picture pixels: snapped to 40, one undo step; the added area is drawn (it was bare
   * canvas) */
  guint32 bare = pixel_at (canvas, 84, 20);
  g_assert_cmpuint (pixel_at (canvas, 84, 40), ==, bare);
  double s = widget_per_pixel (canvas);
  gboolean at_limit = TRUE;
  g_assert_cmpint (sc_canvas_get_handle_amount (canvas, SC_CANVAS_EDGE_RIGHT, 43 * s, 0, &at_limit), ==, 40);
  g_assert_false (at_limit);
  g_assert_cmpint (sc_canvas_drag_handle (canvas, SC_CANVAS_EDGE_RIGHT, 43 * s, 5), ==, 40);
  assert_extension (doc, 0, 0, 40, 0);
  g_assert_cmpuint (sc_undo_stack_get_n_steps (undo), ==, 1);

  /* the canvas refits so the added area shows; the right handle moved out to the new edge */
  assert_fitted (canvas);
  g_assert_cmpuint (pixel_at (canvas, 84, 20), !=, bare);
  double s2 = widget_per_pixel (canvas);
  g_assert_true (sc_canvas_get_handle_rect (canvas, SC_CANVAS_EDGE_RIGHT, &rect));
  g_assert_true (sc_canvas_widget_to_image (canvas, rect.origin.x, rect.origin.y, &x, &y));
  g_assert_cmpfloat_with_epsilon (x, 64 + 40, 0.05);

  /* down by 29: snapped to 32 */
  g_assert_cmpint (sc_canvas_drag_handle (canvas, SC_CANVAS_EDGE_BOTTOM, -3, 29 * s2), ==, 32);
  assert_extension (doc, 0, 0, 40, 32);
  g_assert_cmpuint (sc_undo_stack_get_n_steps (undo), ==, 2);
  assert_fitted (canvas);

  /* inwards, or less than half a step: nothing */
  double s3 = widget_per_pixel (canvas);
  g_assert_cmpint (sc_canvas_drag_handle (canvas, SC_CANVAS_EDGE_RIGHT, -50 * s3, 0), ==, 0);
  g_assert_cmpint (sc_canvas_drag_handle (canvas, SC_CANVAS_EDGE_TOP, 0, 30 * s3), ==, 0);
  g_assert_cmpint (sc_canvas_drag_handle (canvas, SC_CANVAS_EDGE_LEFT, -3 * s3, 0), ==, 0);
  assert_extension (doc, 0, 0, 40, 32);
  g_assert_cmpuint (sc_undo_stack_get_n_steps (undo), ==, 2);

  /* far out to the left: capped at the document's limit, and then no further */
  g_assert_cmpint (sc_canvas_get_handle_amount (canvas, SC_CANVAS_EDGE_LEFT, -1e6, 0, &at_limit), ==,
                   SC_DOCUMENT_EXTEND_MAX);
  g_assert_true (at_limit);
  g_assert_cmpint (sc_canvas_drag_handle (canvas, SC_CANVAS_EDGE_LEFT, -1e6, 0), ==, SC_DOCUMENT_EXTEND_MAX);
  assert_extension (doc, SC_DOCUMENT_EXTEND_MAX, 0, 40, 32);
  assert_fitted (canvas);
  g_assert_cmpfloat (widget_per_pixel (canvas), <, s3 / 4); /* 1128 px wide now, not 104 */
  g_assert_cmpint (sc_canvas_drag_handle (canvas, SC_CANVAS_EDGE_LEFT, -1e6, 0), ==, 0);
  g_assert_cmpint (sc_canvas_get_handle_amount (canvas, SC_CANVAS_EDGE_LEFT, -1e6, 0, &at_limit), ==, 0);
  g_assert_true (at_limit);
  g_assert_cmpuint (sc_undo_stack_get_n_steps (undo), ==, 3);

  /* undo walks back one drag at a time, redo forwards */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.undo", NULL));
  assert_extension (doc, 0, 0, 40, 32);
  g_assert_true (sc_document_undo (doc));
  assert_extension (doc, 0, 0, 40, 0);
  g_assert_true (sc_document_undo (doc));
  assert_extension (doc, 0, 0, 0, 0);
  g_assert_false (sc_document_undo (doc));
  g_assert_true (sc_document_redo (doc));
  g_assert_true (sc_document_redo (doc));
  assert_extension (doc, 0, 0, 40, 32);

  /* the menu still extends, also as one step */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.extend", "s", "top"));
  assert_extension (doc, 0, 64, 40, 32);
  g_assert_true (sc_document_undo (doc));
  assert_extension (doc, 0, 0, 40, 32);

  /* the next render outpaints: 40 px wider, 32 px taller, the old picture kept away from the seams */
  render (win);
  const ScResult *res = newest_result (win);
  g_assert_cmpint (res->request->outpaint[0], ==, 0);
  g_assert_cmpint (res->request->outpaint[1], ==, 0);
  g_assert_cmpint (res->request->outpaint[2], ==, 40);
  g_assert_cmpint (res->request->outpaint[3], ==, 32);
  g_assert_cmpint (res->image->width, ==, 104);
  g_assert_cmpint (res->image->height, ==, 96);
  g_autoptr (ScImage) out = sc_image_to_rgb8 (res->image, NULL);
  const guint8 *a = g_bytes_get_data (first, NULL), *b = out->data;
  for (int py = 0; py < 64 - 12; py++) /* overlap: grow 4 + feather 8 px into the old picture */
    for (int px = 0; px < 64 - 12; px++)
      for (int c = 0; c < 3; c++)
        g_assert_cmpint (a[(py * 64 + px) * 3 + c], ==, b[(py * 104 + px) * 3 + c]);
  assert_extension (doc, 0, 0, 0, 0);
  /* the new picture has handles of its own */
  g_assert_true (sc_canvas_get_handle_rect (canvas, SC_CANVAS_EDGE_RIGHT, &rect));
  g_assert_true (sc_canvas_widget_to_image (canvas, rect.origin.x, rect.origin.y, &x, &y));
  g_assert_cmpfloat_with_epsilon (x, 104, 0.05);
  gtk_window_destroy (GTK_WINDOW (win));
}

/* ---- pictures dropped on or pasted into a condition row ---- */

typedef struct {
  gboolean done, ok;
  GError *error;
} Accepted;

static void
accepted (GObject *source, GAsyncResult *result, gpointer user)
{
  Accepted *acc = user;
  acc->ok = sc_condition_row_accept_finish (SC_CONDITION_ROW (source), result, &acc->error);
  acc->done = TRUE;
}

static gboolean
is_done (gpointer user)
{
  return ((Accepted *) user)->done;
}

/* A w×h RGB picture with a pattern from seed, written as a PNG with the engine's writer. */
static ScImage *
write_png (const char *path, int w, int h, int seed)
{
  ScImage *img = sc_image_new (w, h, 3, 8, NULL);
  guint8 *p = img->data;
  for (int i = 0; i < w * h; i++)
    {
      p[3 * i] = (guint8) (i * 7 + seed);
      p[3 * i + 1] = (guint8) (i * 3);
      p[3 * i + 2] = (guint8) (255 - i - seed);
    }
  GError *error = NULL;
  g_assert_true (sc_image_save_png (img, path, NULL, NULL, 0, &error));
  g_assert_no_error (error);
  return img;
}

typedef struct {
  ScDocument *doc;
  guint index;
  int width;
} PictureWidth;

static gboolean
picture_is (gpointer user)
{
  PictureWidth *pw = user;
  int w = 0;
  return sc_document_get_condition_picture (pw->doc, pw->index, &w, NULL) && w == pw->width;
}

static GtkDropTarget *
drop_target_of (GtkWidget *widget)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (widget);
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GObject) c = g_list_model_get_item (controllers, i);
      if (GTK_IS_DROP_TARGET (c))
        return GTK_DROP_TARGET (c);
    }
  return NULL;
}

static void
test_condition_drop (void)
{
  ScWindow *win = sc_test_new_window ();
  ScDocument *doc = sc_window_get_document (win);
  guint idx = sc_document_add_condition (doc, SC_CONTROL_CANNY);
  ScConditionsPanel *panel = (ScConditionsPanel *) sc_test_find_descendant (GTK_WIDGET (win), SC_TYPE_CONDITIONS_PANEL);
  g_assert_nonnull (panel);
  ScConditionRow *row = SC_CONDITION_ROW (sc_conditions_panel_get_condition_row (panel, idx));
  g_assert_nonnull (row);

  /* a PNG file: loaded as the picture, pixel for pixel */
  g_autofree char *good = g_build_filename (tmpdir, "picture.png", NULL);
  g_autoptr (ScImage) want = write_png (good, 24, 16, 0);
  g_autoptr (GFile) good_file = g_file_new_for_path (good);
  Accepted acc = { 0 };
  sc_condition_row_accept_file (row, good_file, accepted, &acc);
  g_assert_true (sc_test_spin_until (is_done, &acc, 10000));
  g_assert_no_error (acc.error);
  g_assert_true (acc.ok);
  int w = 0, h = 0;
  GBytes *picture = sc_document_get_condition_picture (doc, idx, &w, &h);
  g_assert_nonnull (picture);
  g_assert_cmpint (w, ==, 24);
  g_assert_cmpint (h, ==, 16);
  g_assert_cmpmem (g_bytes_get_data (picture, NULL), g_bytes_get_size (picture), want->data, 24 * 16 * 3);

  /* a broken file: an error, and the picture stays */
  g_autofree char *broken = g_build_filename (tmpdir, "broken.png", NULL);
  g_assert_true (g_file_set_contents (broken, "\x89PNG\r\n\x1a\nthis is no picture", -1, NULL));
  g_autoptr (GFile) broken_file = g_file_new_for_path (broken);
  Accepted bad = { 0 };
  sc_condition_row_accept_file (row, broken_file, accepted, &bad);
  g_assert_true (sc_test_spin_until (is_done, &bad, 10000));
  g_assert_false (bad.ok);
  g_assert_nonnull (bad.error);
  g_clear_error (&bad.error);
  g_assert_true (sc_document_get_condition_picture (doc, idx, &w, &h) == picture);
  g_assert_cmpint (w, ==, 24);

  /* a file dropped on the row: its drop target takes files and pictures, and loads the first file */
  GtkDropTarget *target = drop_target_of (GTK_WIDGET (row));
  g_assert_nonnull (target);
  gsize n_types;
  const GType *types = gtk_drop_target_get_gtypes (target, &n_types);
  gboolean files = FALSE, textures = FALSE;
  for (gsize i = 0; i < n_types; i++)
    files |= types[i] == GDK_TYPE_FILE_LIST, textures |= types[i] == GDK_TYPE_TEXTURE;
  g_assert_true (files && textures);
  g_autofree char *dropped = g_build_filename (tmpdir, "dropped.png", NULL);
  g_autoptr (ScImage) want2 = write_png (dropped, 32, 8, 9);
  g_autoptr (GFile) dropped_file = g_file_new_for_path (dropped);
  GFile *list[] = { dropped_file, good_file };
  GValue value = G_VALUE_INIT;
  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, gdk_file_list_new_from_array (list, G_N_ELEMENTS (list)));
  gboolean taken = FALSE;
  g_signal_emit_by_name (target, "drop", &value, 10.0, 10.0, &taken);
  g_value_unset (&value);
  g_assert_true (taken);
  PictureWidth pw = { doc, idx, 32 };
  g_assert_true (sc_test_spin_until (picture_is, &pw, 10000));
  picture = sc_document_get_condition_picture (doc, idx, &w, &h);
  g_assert_cmpint (h, ==, 8);
  g_assert_cmpmem (g_bytes_get_data (picture, NULL), g_bytes_get_size (picture), want2->data, 32 * 8 * 3);

  /* a pasted picture: transparency over white, as for files */
  guint8 rgba[5 * 3 * 4];
  for (int i = 0; i < 15; i++)
    {
      rgba[i * 4 + 0] = (guint8) (10 * i), rgba[i * 4 + 1] = 200, rgba[i * 4 + 2] = (guint8) (255 - 10 * i);
      rgba[i * 4 + 3] = i == 14 ? 0 : 255;
    }
  g_autoptr (GBytes) bytes = g_bytes_new (rgba, sizeof rgba);
  g_autoptr (GdkTexture) texture = gdk_memory_texture_new (5, 3, GDK_MEMORY_R8G8B8A8, bytes, 5 * 4);
  gdk_clipboard_set_texture (gtk_widget_get_clipboard (GTK_WIDGET (row)), texture);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (row), "condition.paste-image", NULL));
  pw.width = 5;
  g_assert_true (sc_test_spin_until (picture_is, &pw, 10000));
  const guint8 *px = g_bytes_get_data (sc_document_get_condition_picture (doc, idx, &w, &h), NULL);
  g_assert_cmpint (h, ==, 3);
  for (int i = 0; i < 14; i++)
    {
      g_assert_cmpint (px[i * 3 + 0], ==, 10 * i);
      g_assert_cmpint (px[i * 3 + 1], ==, 200);
      g_assert_cmpint (px[i * 3 + 2], ==, 255 - 10 * i);
    }
  g_assert_cmpint (px[14 * 3 + 0], ==, 255); /* fully transparent: white */
  g_assert_cmpint (px[14 * 3 + 1], ==, 255);
  g_assert_cmpint (px[14 * 3 + 2], ==, 255);
  /* what the row took did not reach the window's picture */
  g_assert_null (sc_document_get_layer_pixels (doc, SC_LAYER_IMAGE, 0, NULL, NULL, NULL));
  gtk_window_destroy (GTK_WINDOW (win));
}

int
main (int argc, char **argv)
{
  sc_test_setup (&argc, &argv, "sc-ui-canvas-edit-XXXXXX", &tmpdir, &model_path);

  g_test_add_func ("/ui/canvas-edit/handles", test_handles);
  g_test_add_func ("/ui/canvas-edit/condition-drop", test_condition_drop);
  int rc = g_test_run ();
  sc_test_teardown (&tmpdir, &model_path); /* with the pictures test_condition_drop wrote */
  return rc;
}
