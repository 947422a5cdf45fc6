/* Painting, undo and Live mode in the window, under Xvfb: strokes through sc_canvas_stroke land on the
 * active layer, one undo stack restores strokes and weight drags exactly, and Live renders coalesce so
 * that only the newest settings finish, with the stale badge cleared at the end. */
#include "sc-condition-row.h"
#include "sc-conditions-panel.h"
#include "sc-window.h"
#include "scedit/tuner_io.h"
#include "ui-util.h"

#include <string.h>

static char *tmpdir, *model_path, *controller_path;

static GBytes *
layer_copy (ScDocument *doc, ScLayerKind kind, guint index)
{
  GBytes *b = sc_document_get_layer_pixels (doc, kind, index, NULL, NULL, NULL);
  g_assert_nonnull (b);
  return g_bytes_new (g_bytes_get_data (b, NULL), g_bytes_get_size (b)); /* a copy, not the shared one */
}

static gsize
count_byte (GBytes *b, guint8 value)
{
  gsize n = 0, size;
  const guint8 *p = g_bytes_get_data (b, &size);
  for (gsize i = 0; i < size; i++)
    n += p[i] == value;
  return n;
}

static void
test_undo (void)
{
  ScWindow *win = sc_test_new_window ();
  ScDocument *doc = sc_window_get_document (win);
  ScCanvas *canvas = sc_window_get_canvas (win);
  g_object_set (doc, "width", 64, "height", 64, NULL);
  guint idx = sc_document_add_condition (doc, SC_CONTROL_CANNY);
  sc_document_set_active_layer (doc, SC_LAYER_CONDITION, idx);
  sc_canvas_set_brush_size (canvas, 3);
  sc_canvas_set_hardness (canvas, 1);

  /* the first stroke makes a black picture at the document size with a thin white pen on it */
  double a[] = { 10.5, 10.5, 40.5, 10.5 };
  g_assert_true (sc_canvas_stroke (canvas, a, 2, SC_PAINT_BRUSH));
  int w, h;
  g_assert_nonnull (sc_document_get_condition_picture (doc, idx, &w, &h));
  g_assert_cmpint (w, ==, 64);
  g_assert_cmpint (h, ==, 64);
  g_autoptr (GBytes) first = layer_copy (doc, SC_LAYER_CONDITION, idx);
  g_assert_cmpuint (count_byte (first, 255), ==, 33 * 3 * 3); /* 31 pixels plus round caps, 3 wide, RGB */

  double b[] = { 20.5, 5.5, 20.5, 50.5 };
  g_assert_true (sc_canvas_stroke (canvas, b, 2, SC_PAINT_BRUSH));
  g_autoptr (GBytes) second = layer_copy (doc, SC_LAYER_CONDITION, idx);
  g_assert_false (g_bytes_equal (first, second));

  /* a slider drag: many values, one step */
  sc_document_set_condition_weight (doc, idx, 0.9);
  sc_document_set_condition_weight (doc, idx, 0.7);
  sc_document_set_condition_weight (doc, idx, 0.5);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.undo", NULL));
  g_assert_cmpfloat (sc_document_get_condition_weight (doc, idx), ==, 1.0);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.undo", NULL));
  g_autoptr (GBytes) undone = layer_copy (doc, SC_LAYER_CONDITION, idx);
  g_assert_true (g_bytes_equal (undone, first));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.redo", NULL));
  g_autoptr (GBytes) redone = layer_copy (doc, SC_LAYER_CONDITION, idx);
  g_assert_true (g_bytes_equal (redone, second));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.redo", NULL));
  g_assert_cmpfloat (sc_document_get_condition_weight (doc, idx), ==, 0.5);

  /* the mask: white repaints, the eraser keeps; both undo */
  sc_document_set_active_layer (doc, SC_LAYER_MASK, 0);
  double m[] = { 32, 32 };
  sc_canvas_set_brush_size (canvas, 9);
  g_assert_true (sc_canvas_stroke (canvas, m, 1, SC_PAINT_FILL));
  g_autoptr (GBytes) filled = layer_copy (doc, SC_LAYER_MASK, 0);
  g_assert_cmpuint (count_byte (filled, 255), ==, 64 * 64);
  g_assert_true (sc_canvas_stroke (canvas, m, 1, SC_PAINT_ERASER));
  g_autoptr (GBytes) erased = layer_copy (doc, SC_LAYER_MASK, 0);
  g_assert_cmpuint (count_byte (erased, 0), >, 40);
  g_assert_true (sc_document_undo (doc));
  g_autoptr (GBytes) back = layer_copy (doc, SC_LAYER_MASK, 0);
  g_assert_true (g_bytes_equal (back, filled));

  gtk_window_destroy (GTK_WINDOW (win));
}

/* ---- Live ---- */

static void
test_live (void)
{
  ScWindow *win = sc_test_new_ready_window (model_path);
  if (!win)
    return;
  ScDocument *doc = sc_window_get_document (win);
  ScCanvas *canvas = sc_window_get_canvas (win);
  ScLiveController *live = sc_window_get_live_controller (win);
  g_object_set (doc, "prompt", "a red apple", "width", 64, "height", 64, "steps", 3, "sampler", 0, NULL);
  sc_document_set_seed (doc, 42);
  guint idx = sc_document_add_condition (doc, SC_CONTROL_CANNY);
  sc_document_set_condition_controller (doc, idx, controller_path);
  sc_document_set_active_layer (doc, SC_LAYER_CONDITION, idx);

  /* Live on: one render of what is there, with the seed kept */
  sc_live_controller_set_active (live, TRUE);
  g_assert_true (sc_live_controller_get_stale (live));
  g_assert_true (sc_test_spin_until (sc_test_live_settled, live, 30000));
  g_assert_cmpuint (sc_live_controller_get_n_finished (live), ==, 1);
  g_assert_cmpuint (sc_document_get_seed (doc), ==, 42);
  g_assert_cmpfloat (sc_live_controller_get_last_seconds (live), >, 0);
  guint n_items;
  g_autoptr (ScImage) before
      = sc_image_to_rgb8 (sc_history_item_get_result (sc_test_newest_item (win, &n_items))->image, NULL);

  /* a stroke, then a quick slider drag: the changes coalesce, only the newest settings must finish */
  sc_canvas_set_brush_size (canvas, 6);
  double stroke[] = { 8, 8, 56, 56, 8, 56 };
  g_assert_true (sc_canvas_stroke (canvas, stroke, 3, SC_PAINT_BRUSH));
  g_assert_true (sc_live_controller_get_stale (live));
  sc_test_spin_for (200);
  ScConditionsPanel *panel = (ScConditionsPanel *) sc_test_find_descendant (GTK_WIDGET (win), SC_TYPE_CONDITIONS_PANEL);
  GtkAdjustment *weight = sc_condition_row_get_weight_adjustment (
      SC_CONDITION_ROW (sc_conditions_panel_get_condition_row (panel, idx)));
  for (int i = 0; i < 4; i++)
    {
      gtk_adjustment_set_value (weight, 1.2 - 0.2 * i);
      sc_test_spin_for (40);
    }
  g_assert_true (sc_test_spin_until (sc_test_live_settled, live, 30000));
  guint finished = sc_live_controller_get_n_finished (live);
  g_assert_cmpuint (finished, >=, 2);
  g_assert_cmpuint (finished, <=, 3); /* the first, at most one in between, the last */
  /* Live refines one picture: its renders replace each other in the history */
  g_assert_cmpuint (sc_history_strip_get_n_items (sc_window_get_history (win)), ==, 1);
  const ScResult *res = sc_history_item_get_result (sc_test_newest_item (win, &n_items));
  g_assert_cmpint (res->request->n_controls, ==, 1);
  g_assert_cmpfloat_with_epsilon (res->request->controls[0].weight, 0.6, 1e-6);
  g_assert_true (g_bytes_equal (res->request->controls[0].picture,
                                sc_document_get_condition_picture (doc, idx, NULL, NULL)));
  g_assert_cmpuint (res->request->seed, ==, 42);
  g_autoptr (ScImage) after = sc_image_to_rgb8 (res->image, NULL);
  g_assert_false (memcmp (before->data, after->data, (gsize) 64 * 64 * 3) == 0);
  g_assert_false (sc_live_controller_get_stale (live));

  /* Live off cancels the render in flight: nothing more finishes */
  g_object_set (doc, "steps", 40, NULL);
  g_assert_true (sc_test_spin_until (sc_test_window_busy, win, 5000));
  sc_live_controller_set_active (live, FALSE);
  g_assert_true (sc_test_spin_until (sc_test_window_idle, win, 30000));
  sc_test_spin_for (100);
  g_assert_cmpuint (sc_live_controller_get_n_finished (live), ==, finished);
  guint n_after;
  g_assert_true (sc_test_newest_item (win, &n_after) != NULL);
  g_assert_cmpuint (n_after, ==, n_items);

  /* pointer mapping: the widget's centre is the layer's centre at any zoom */
  gtk_test_widget_wait_for_draw (GTK_WIDGET (win));
  double cx = gtk_widget_get_width (GTK_WIDGET (canvas)) / 2.0, cy = gtk_widget_get_height (GTK_WIDGET (canvas)) / 2.0;
  double x, y;
  sc_canvas_set_zoom (canvas, 2.5);
  g_assert_true (sc_canvas_widget_to_image (canvas, cx, cy, &x, &y));
  g_assert_cmpfloat_with_epsilon (x, 32, 1e-3);
  g_assert_cmpfloat_with_epsilon (y, 32, 1e-3);
  gtk_window_destroy (GTK_WINDOW (win));
}

/* A painted mask makes the next render an inpainting of the current image: away from the mask (beyond
 * the default grow + feather band) the picture stays exactly as it was. */
static void
test_inpaint_mask (void)
{
  ScWindow *win = sc_test_new_ready_window (model_path);
  if (!win)
    return;
  ScDocument *doc = sc_window_get_document (win);
  ScCanvas *canvas = sc_window_get_canvas (win);
  ScLiveController *live = sc_window_get_live_controller (win);
  g_object_set (doc, "prompt", "a red apple", "width", 64, "height", 64, "steps", 3, "sampler", 0, NULL);
  sc_document_set_seed (doc, 3);
  sc_live_controller_set_active (live, TRUE);
  g_assert_true (sc_test_spin_until (sc_test_live_settled, live, 30000));
  int w = 0, h = 0;
  g_autoptr (GBytes) first = layer_copy (doc, SC_LAYER_IMAGE, 0);
  g_assert_nonnull (sc_document_get_layer_pixels (doc, SC_LAYER_IMAGE, 0, &w, &h, NULL));
  g_assert_cmpint (w, ==, 64);

  /* paint a square of mask in the middle: Live renders again, as an inpainting */
  sc_document_set_active_layer (doc, SC_LAYER_MASK, 0);
  sc_canvas_set_brush_size (canvas, 12);
  double square[] = { 26, 26, 38, 26, 38, 38, 26, 38, 26, 26 };
  g_assert_true (sc_canvas_stroke (canvas, square, 5, SC_PAINT_BRUSH));
  guint before = sc_live_controller_get_n_finished (live);
  g_assert_true (sc_test_spin_until (sc_test_live_settled, live, 30000));
  g_assert_cmpuint (sc_live_controller_get_n_finished (live), >, before);
  const ScResult *res = sc_history_item_get_result (sc_test_newest_item (win, NULL));
  g_assert_nonnull (res->request->mask);
  g_autoptr (ScImage) out = sc_image_to_rgb8 (res->image, NULL);
  const guint8 *a = g_bytes_get_data (first, NULL), *b = out->data;
  int changed = 0;
  for (int y = 0; y < 64; y++)
    for (int x = 0; x < 64; x++)
      for (int c = 0; c < 3; c++)
        {
          int i = (y * 64 + x) * 3 + c;
          /* brush radius 6 around the square's edges, + grow 4 + feather 8 */
          if (x < 26 - 6 - 12 || x > 38 + 6 + 12 || y < 26 - 6 - 12 || y > 38 + 6 + 12)
            g_assert_cmpint (a[i], ==, b[i]);
          else if (a[i] != b[i])
            changed++;
        }
  g_assert_cmpint (changed, >, 50);
  sc_live_controller_set_active (live, FALSE);
  gtk_window_destroy (GTK_WINDOW (win));
}

static void
count_changed (GObject *object, gpointer data)
{
  (*(int *) data)++;
}

/* Of a render's unmasked pixels within 2 px of the mask (*ring: how many there are) and of its masked
 * pixels, how many channel values differ from the picture it inpainted. */
static void
diff_around_mask (const ScResult *res, int *ring, int *ring_changed, int *inside_changed)
{
  g_assert_nonnull (res->request->mask);
  g_assert_nonnull (res->request->init_image);
  int w = res->request->init_width, h = res->request->init_height;
  g_assert_cmpint (res->request->mask_width, ==, w);
  g_assert_cmpint (res->request->mask_height, ==, h);
  g_autoptr (ScImage) out = sc_image_to_rgb8 (res->image, NULL);
  g_assert_cmpint (out->width, ==, w);
  const guint8 *m = g_bytes_get_data (res->request->mask, NULL), *a = g_bytes_get_data (res->request->init_image, NULL);
  const guint8 *b = out->data;
  *ring = *ring_changed = *inside_changed = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        int i = y * w + x;
        gboolean masked = m[i] > 127, near = FALSE;
        if (m[i] == 0) /* not painted at all; soft brush edges are neither */
          for (int dy = -2; dy <= 2 && !near; dy++)
            for (int dx = -2; dx <= 2 && !near; dx++)
              near = x + dx >= 0 && x + dx < w && y + dy >= 0 && y + dy < h && m[(y + dy) * w + x + dx] > 127;
        *ring += near;
        for (int c = 0; c < 3; c++)
          if (a[i * 3 + c] != b[i * 3 + c])
            {
              if (near)
                (*ring_changed)++;
              else if (masked)
                (*inside_changed)++;
            }
      }
}

/* The paint bar's Grow and Feather: shown with the mask layer only, bound both ways to the document, a
 * change re-renders in Live mode; at 0 and 0 the pixels next to the mask stay exactly as they were, which
 * the default grow + feather band repaints. */
static void
test_mask_grow_feather (void)
{
  ScWindow *win = sc_test_new_ready_window (model_path);
  if (!win)
    return;
  ScDocument *doc = sc_window_get_document (win);
  ScCanvas *canvas = sc_window_get_canvas (win);
  ScLiveController *live = sc_window_get_live_controller (win);
  GtkRange *grow = sc_window_get_mask_grow_control (win), *feather = sc_window_get_mask_feather_control (win);
  g_assert_nonnull (gtk_widget_get_tooltip_text (GTK_WIDGET (grow)));
  g_assert_nonnull (gtk_widget_get_tooltip_text (GTK_WIDGET (feather)));
  /* both sit in the paint bar's Edge popover */
  GtkWidget *edge = gtk_widget_get_ancestor (GTK_WIDGET (grow), GTK_TYPE_MENU_BUTTON);
  g_assert_true (edge && edge == gtk_widget_get_ancestor (GTK_WIDGET (feather), GTK_TYPE_MENU_BUTTON));

  /* the document's defaults; visible only while the mask is painted on */
  g_assert_cmpfloat (gtk_range_get_value (grow), ==, 4);
  g_assert_cmpfloat (gtk_range_get_value (feather), ==, 8);
  g_assert_cmpint (sc_document_get_active_layer (doc, NULL), ==, SC_LAYER_MASK);
  g_assert_true (gtk_widget_is_visible (edge));
  sc_document_set_active_layer (doc, SC_LAYER_IMAGE, 0);
  g_assert_false (gtk_widget_is_visible (edge));
  guint idx = sc_document_add_condition (doc, SC_CONTROL_CANNY);
  sc_document_set_active_layer (doc, SC_LAYER_CONDITION, idx);
  g_assert_false (gtk_widget_is_visible (edge));
  /* removing the layer being painted on goes back to the mask; undo steps of a removed condition do
   * nothing, those of the others still find theirs */
  guint other = sc_document_add_condition (doc, SC_CONTROL_DEPTH);
  sc_document_set_condition_weight (doc, other, 0.5);
  sc_document_set_condition_weight (doc, idx, 0.25);
  sc_undo_stack_seal (sc_document_get_undo_stack (doc));
  sc_document_remove_condition (doc, idx);
  g_assert_cmpint (sc_document_get_active_layer (doc, NULL), ==, SC_LAYER_MASK);
  g_assert_true (gtk_widget_is_visible (edge));
  g_assert_true (sc_document_undo (doc)); /* the removed condition's weight: nothing to do */
  g_assert_cmpfloat (sc_document_get_condition_weight (doc, 0), ==, 0.5);
  g_assert_true (sc_document_undo (doc)); /* the depth condition, now at index 0 */
  g_assert_cmpfloat (sc_document_get_condition_weight (doc, 0), ==, 1.0);
  sc_document_remove_condition (doc, 0);

  /* a picture, then a painted square of mask: rendered with the default band */
  g_object_set (doc, "prompt", "a red apple", "width", 64, "height", 64, "steps", 3, "sampler", 0, NULL);
  sc_document_set_seed (doc, 7);
  sc_live_controller_set_active (live, TRUE);
  g_assert_true (sc_test_spin_until (sc_test_live_settled, live, 30000));
  sc_canvas_set_brush_size (canvas, 8);
  sc_canvas_set_hardness (canvas, 1);
  double square[] = { 28, 28, 36, 28, 36, 36, 28, 36, 28, 28 };
  g_assert_true (sc_canvas_stroke (canvas, square, 5, SC_PAINT_BRUSH));
  g_assert_true (sc_test_spin_until (sc_test_live_settled, live, 30000));
  const ScResult *res = sc_history_item_get_result (sc_test_newest_item (win, NULL));
  g_assert_cmpint (res->request->mask_grow, ==, 4);
  g_assert_cmpint (res->request->mask_feather, ==, 8);
  int ring, ring_changed, inside_changed;
  diff_around_mask (res, &ring, &ring_changed, &inside_changed);
  g_assert_cmpint (ring, >, 50);
  g_assert_cmpint (ring_changed, >, 0);
  g_assert_cmpint (inside_changed, >, 50);

  /* grow 0 from the slider, feather 0 from the document: each a change that Live renders */
  int changes = 0;
  gulong handler = g_signal_connect (doc, "changed", G_CALLBACK (count_changed), &changes);
  gtk_range_set_value (grow, 0);
  int value = -1;
  g_object_get (doc, "mask-grow", &value, NULL);
  g_assert_cmpint (value, ==, 0);
  g_assert_cmpint (changes, ==, 1);
  g_assert_true (sc_live_controller_get_stale (live));
  g_object_set (doc, "mask-feather", 0, NULL);
  g_assert_cmpfloat (gtk_range_get_value (feather), ==, 0);
  g_assert_cmpint (changes, ==, 2);
  g_signal_handler_disconnect (doc, handler);
  guint before = sc_live_controller_get_n_finished (live);
  g_assert_true (sc_test_spin_until (sc_test_live_settled, live, 30000));
  g_assert_cmpuint (sc_live_controller_get_n_finished (live), >, before);
  res = sc_history_item_get_result (sc_test_newest_item (win, NULL));
  g_assert_cmpint (res->request->mask_grow, ==, 0);
  g_assert_cmpint (res->request->mask_feather, ==, 0);
  g_assert_nonnull (strstr (res->json, "\"mask_grow\":0,"));
  diff_around_mask (res, &ring, &ring_changed, &inside_changed);
  g_assert_cmpint (ring, >, 50);
  g_assert_cmpint (ring_changed, ==, 0); /* 1–2 px outside the mask: bit for bit */
  g_assert_cmpint (inside_changed, >, 50);
  sc_live_controller_set_active (live, FALSE);
  gtk_window_destroy (GTK_WINDOW (win));
}

/* Outpainting from the window: "extend right" then Generate gives a picture 64 px wider whose old part,
 * away from the seam's overlap band, is the previous picture bit for bit; the margins are then spent. */
static void
test_outpaint (void)
{
  ScWindow *win = sc_test_new_ready_window (model_path);
  if (!win)
    return;
  ScDocument *doc = sc_window_get_document (win);
  g_object_set (doc, "prompt", "a red apple", "width", 64, "height", 64, "steps", 3, "sampler", 0, NULL);
  sc_document_set_seed (doc, 11);
  g_object_set (doc, "seed-locked", TRUE, NULL);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.generate", NULL));
  g_assert_true (sc_test_spin_until (sc_test_window_busy, win, 5000));
  g_assert_true (sc_test_spin_until (sc_test_window_idle, win, 30000));
  g_autoptr (GBytes) first = layer_copy (doc, SC_LAYER_IMAGE, 0);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.extend", "s", "right"));
  int m[4];
  sc_document_get_extension (doc, m);
  g_assert_cmpint (m[2], ==, 64);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.generate", NULL));
  g_assert_true (sc_test_spin_until (sc_test_window_busy, win, 5000));
  g_assert_true (sc_test_spin_until (sc_test_window_idle, win, 30000));
  const ScResult *res = sc_history_item_get_result (sc_test_newest_item (win, NULL));
  g_assert_cmpint (res->image->width, ==, 128);
  g_assert_cmpint (res->image->height, ==, 64);
  g_autoptr (ScImage) out = sc_image_to_rgb8 (res->image, NULL);
  const guint8 *a = g_bytes_get_data (first, NULL), *b = out->data;
  for (int y = 0; y < 64; y++)
    for (int x = 0; x < 64 - 12; x++) /* overlap: grow 4 + feather 8 px into the old picture */
      for (int c = 0; c < 3; c++)
        g_assert_cmpint (a[(y * 64 + x) * 3 + c], ==, b[(y * 128 + x) * 3 + c]);
  sc_document_get_extension (doc, m);
  g_assert_cmpint (m[0] + m[1] + m[2] + m[3], ==, 0);
  gtk_window_destroy (GTK_WINDOW (win));
}

static gboolean
image_is (gpointer data)
{
  gpointer *args = data;
  int w = 0, h = 0;
  return sc_document_get_layer_pixels (args[0], SC_LAYER_IMAGE, 0, &w, &h, NULL) && w == GPOINTER_TO_INT (args[1]);
}

/* A picture dropped on the window or pasted becomes the picture to paint on, inpaint and extend. */
static void
test_drop_and_paste (void)
{
  ScWindow *win = sc_test_new_window ();
  ScDocument *doc = sc_window_get_document (win);
  g_autofree char *png = g_build_filename (g_getenv ("SC_FIXTURES_DIR"), "img-interlaced.png", NULL);
  g_autoptr (ScImage) want = sc_image_load (png, NULL);
  g_assert_nonnull (want);
  g_autoptr (GFile) file = g_file_new_for_path (png);
  GFile *files[] = { file };
  sc_window_open_files (win, files, 1);
  gpointer args[] = { doc, GINT_TO_POINTER (want->width) };
  g_assert_true (sc_test_spin_until (image_is, args, 10000));

  /* paste a 5×3 picture with known colours */
  guint8 rgba[5 * 3 * 4];
  for (int i = 0; i < 15; i++)
    {
      rgba[i * 4 + 0] = (guint8) (10 * i), rgba[i * 4 + 1] = 200, rgba[i * 4 + 2] = (guint8) (255 - 10 * i);
      rgba[i * 4 + 3] = 255;
    }
  g_autoptr (GBytes) bytes = g_bytes_new (rgba, sizeof rgba);
  g_autoptr (GdkTexture) texture = gdk_memory_texture_new (5, 3, GDK_MEMORY_R8G8B8A8, bytes, 5 * 4);
  gdk_clipboard_set_texture (gtk_widget_get_clipboard (GTK_WIDGET (win)), texture);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.paste", NULL));
  gpointer args2[] = { doc, GINT_TO_POINTER (5) };
  g_assert_true (sc_test_spin_until (image_is, args2, 10000));
  const guint8 *px = g_bytes_get_data (sc_document_get_layer_pixels (doc, SC_LAYER_IMAGE, 0, NULL, NULL, NULL), NULL);
  for (int i = 0; i < 15; i++)
    {
      g_assert_cmpint (px[i * 3 + 0], ==, 10 * i);
      g_assert_cmpint (px[i * 3 + 1], ==, 200);
      g_assert_cmpint (px[i * 3 + 2], ==, 255 - 10 * i);
    }
  gtk_window_destroy (GTK_WINDOW (win));
}

int
main (int argc, char **argv)
{
  sc_test_setup (&argc, &argv, "sc-ui-paint-XXXXXX", &tmpdir, &model_path);
  if (model_path)
    controller_path = sc_test_make_tiny_controller (tmpdir, "edges.safetensors");

  g_test_add_func ("/ui/paint/undo", test_undo);
  g_test_add_func ("/ui/paint/live", test_live);
  g_test_add_func ("/ui/paint/inpaint-mask", test_inpaint_mask);
  g_test_add_func ("/ui/paint/mask-grow-feather", test_mask_grow_feather);
  g_test_add_func ("/ui/paint/outpaint", test_outpaint);
  g_test_add_func ("/ui/paint/drop-and-paste", test_drop_and_paste);
  int rc = g_test_run ();
  sc_test_teardown (&tmpdir, &model_path);
  g_free (controller_path);
  return rc;
}
