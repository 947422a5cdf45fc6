/* SCEdit in the window, under Xvfb: a condition layer added through the document shows up as a row in the
 * Create panel; moving its weight slider changes the next render without re-running the hint encoder, and
 * weight 0 gives back the render without the condition, pixel for pixel. */
#include "sc-condition-row.h"
#include "sc-conditions-panel.h"
#include "sc-window.h"
#include "scedit/tuner_io.h"
#include "ui-util.h"

#include <string.h>

static char *tmpdir, *model_path, *controller_path;

/* Renders through win.generate and returns the newest history item's result. */
static const ScResult *
render (ScWindow *win)
{
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.generate", NULL));
  g_assert_true (sc_test_spin_until (sc_test_window_idle, win, 30000));
  ScHistoryItem *newest = sc_test_newest_item (win, NULL);
  g_assert_nonnull (newest);
  return sc_history_item_get_result (newest);
}

static gboolean
same_pixels (const ScImage *a, const ScImage *b)
{
  return a->width == b->width && a->height == b->height
         && memcmp (a->data, b->data, (size_t) a->width * a->height * 3) == 0;
}

/* Stripes and a square: something with edges for Canny. */
static GBytes *
make_picture (int size)
{
  guint8 *p = g_malloc ((gsize) size * size * 3);
  for (int y = 0; y < size; y++)
    for (int x = 0; x < size; x++)
      {
        gboolean on = (x / 8) % 2 || (x > size / 3 && x < 2 * size / 3 && y > size / 3 && y < 2 * size / 3);
        memset (p + (y * size + x) * 3, on ? 230 : 20, 3);
      }
  return g_bytes_new_take (p, (gsize) size * size * 3);
}

static void
test_weight_slider (void)
{
  ScWindow *win = sc_test_new_ready_window (model_path);
  if (!win)
    return;
  ScDocument *doc = sc_window_get_document (win);
  g_object_set (doc, "prompt", "a red apple", "width", 64, "height", 64, "steps", 3, "sampler", 0, "seed-locked",
                TRUE, NULL);
  sc_document_set_seed (doc, 42);

  const ScResult *res = render (win);
  g_autoptr (ScImage) base = sc_image_to_rgb8 (res->image, NULL);

  /* a condition layer: the panel grows a row for it */
  ScConditionsPanel *panel = (ScConditionsPanel *) sc_test_find_descendant (GTK_WIDGET (win), SC_TYPE_CONDITIONS_PANEL);
  g_assert_nonnull (panel);
  g_assert_null (sc_conditions_panel_get_condition_row (panel, 0));
  guint idx = sc_document_add_condition (doc, SC_CONTROL_CANNY);
  GtkWidget *row = sc_conditions_panel_get_condition_row (panel, idx);
  g_assert_true (SC_IS_CONDITION_ROW (row));
  g_autoptr (GBytes) picture = make_picture (96);
  sc_document_set_condition_picture (doc, idx, picture, 96, 96, FALSE);
  sc_document_set_condition_controller (doc, idx, controller_path);
  GtkAdjustment *weight = sc_condition_row_get_weight_adjustment (SC_CONDITION_ROW (row));
  g_assert_cmpfloat (gtk_adjustment_get_value (weight), ==, 1.0);

  res = render (win);
  g_assert_cmpint (res->hint_encoder_runs, ==, 1);
  g_autoptr (ScImage) full = sc_image_to_rgb8 (res->image, NULL);
  g_assert_false (same_pixels (base, full));
  g_assert_nonnull (strstr (res->parameters, "canny 1"));

  /* the user drags the slider: the next render differs, the hint features come from the cache */
  gtk_adjustment_set_value (weight, 0.5);
  g_assert_cmpfloat (sc_document_get_condition_weight (doc, idx), ==, 0.5);
  res = render (win);
  g_assert_cmpint (res->hint_encoder_runs, ==, 1);
  g_autoptr (ScImage) half = sc_image_to_rgb8 (res->image, NULL);
  g_assert_false (same_pixels (full, half));

  /* weight 0: the render without the condition */
  gtk_adjustment_set_value (weight, 0.0);
  res = render (win);
  g_autoptr (ScImage) off = sc_image_to_rgb8 (res->image, NULL);
  g_assert_true (same_pixels (base, off));

  /* removing the layer removes its row */
  sc_document_remove_condition (doc, idx);
  g_assert_null (sc_conditions_panel_get_condition_row (panel, 0));
  gtk_window_destroy (GTK_WINDOW (win));
}

int
main (int argc, char **argv)
{
  sc_test_setup (&argc, &argv, "sc-ui-cond-XXXXXX", &tmpdir, &model_path);
  if (model_path)
    controller_path = sc_test_make_tiny_controller (tmpdir, "canny.safetensors");

  g_test_add_func ("/ui/conditions/weight-slider", test_weight_slider);
  int rc = g_test_run ();
  sc_test_teardown (&tmpdir, &model_path);
  g_free (controller_path);
  return rc;
}
