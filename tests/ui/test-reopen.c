/* A saved PNG brings the work back, under Xvfb: an edge condition (weight 0.7, tiny controller), a hidden
 * sketch condition, a style tuner and a painted mask go into a render with the tiny model; the window saves
 * it, and a fresh window that opens the file has the same layers, weights and pictures, bit for bit. A
 * missing controller file or a damaged layer chunk costs only that piece, with a note that names it. */
#include "io/png_layers.h"
#include "scedit/tuner_io.h"
#include "sc-condition-row.h"
#include "sc-conditions-panel.h"
#include "sc-document-png.h"
#include "sc-tuner-row.h"
#include "sc-window.h"
#include "ui-util.h"

#include <glib/gstdio.h>
#include <string.h>

static char *tmpdir, *model_path, *controller_path, *style_path;

static char *
make_style (const char *dir)
{
  const ScUNetConfig *cfg = &sc_arch_config (SC_ARCH_TINY_SD1)->unet;
  ScSkipLayout l;
  g_assert_true (sc_skip_layout_from_unet (cfg, &l));
  GError *error = NULL;
  g_autoptr (ScScTuner) t = sc_sc_tuner_new_random (&l, 0.25, 5, TRUE, &error);
  g_assert_no_error (error);
  char *path = g_build_filename (dir, "watercolor.safetensors", NULL);
  g_assert_true (sc_sc_tuner_save (t, NULL, path, &error));
  g_assert_no_error (error);
  return path;
}

/* Stripes and a square (edges for Canny), or noise for the sketch. */
static GBytes *
make_picture (int w, int h, gboolean noise)
{
  guint8 *p = g_malloc ((gsize) w * h * 3);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++)
        {
          gboolean on = (x / 8) % 2 || (x > w / 3 && x < 2 * w / 3 && y > h / 3 && y < 2 * h / 3);
          p[(y * w + x) * 3 + c] = noise ? (guint8) ((x * 131 + y * 71 + c * 29) ^ (x * y)) : (on ? 230 : 20);
        }
  return g_bytes_new_take (p, (gsize) w * h * 3);
}

static gboolean
file_exists (gpointer path)
{
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

static gboolean
has_two_conditions (gpointer doc)
{
  return sc_document_get_n_conditions (doc) == 2;
}

static void
assert_same_bytes (GBytes *a, GBytes *b)
{
  g_assert_nonnull (a);
  g_assert_nonnull (b);
  g_assert_true (g_bytes_equal (a, b));
}

/* The saved layers read into a fresh document without a window; returns the notes. */
static GPtrArray *
restore_into (ScDocument *doc, const char *png)
{
  g_autoptr (GHashTable) text = sc_png_read_text (png, NULL);
  g_assert_nonnull (text);
  g_autoptr (ScDocumentPng) work = sc_document_png_read (png, g_hash_table_lookup (text, "scedit"));
  g_assert_nonnull (work);
  GPtrArray *notes = g_ptr_array_new_with_free_func (g_free);
  sc_document_png_restore (work, doc, notes);
  for (guint i = 0; i < notes->len; i++)
    g_test_message ("note: %s", (char *) g_ptr_array_index (notes, i));
  return notes;
}

static gboolean
notes_mention (GPtrArray *notes, const char *part)
{
  for (guint i = 0; i < notes->len; i++)
    if (strstr (g_ptr_array_index (notes, i), part))
      return TRUE;
  return FALSE;
}

static void
test_reopen_layers (void)
{
  ScWindow *win = sc_test_new_ready_window (model_path);
  if (!win)
    return;
  ScDocument *doc = sc_window_get_document (win);
  g_object_set (doc, "prompt", "a lighthouse", "width", 64, "height", 64, "steps", 3, "sampler", 0, "seed-locked",
                TRUE, NULL);
  gtk_widget_activate_action (GTK_WIDGET (win), "win.generate", NULL); /* the picture to inpaint */
  g_assert_true (sc_test_spin_until (sc_test_window_idle, win, 30000));

  /* the work: an edge condition at 0.7 with its controller, a hidden sketch, a style, a painted mask */
  guint edges = sc_document_add_condition (doc, SC_CONTROL_CANNY);
  g_autoptr (GBytes) edge_picture = make_picture (64, 64, FALSE);
  sc_document_set_condition_picture (doc, edges, edge_picture, 64, 64, FALSE);
  sc_document_set_condition_controller (doc, edges, controller_path);
  sc_document_set_condition_weight (doc, edges, 0.7);
  guint sketch = sc_document_add_condition (doc, SC_CONTROL_SKETCH);
  g_autoptr (GBytes) sketch_picture = make_picture (40, 30, TRUE);
  sc_document_set_condition_picture (doc, sketch, sketch_picture, 40, 30, TRUE);
  sc_document_set_condition_weight (doc, sketch, 1.25);
  sc_document_set_condition_visible (doc, sketch, FALSE);
  guint style = sc_document_add_style (doc, style_path);
  sc_document_set_style_strength (doc, style, 0.6);
  sc_document_set_active_layer (doc, SC_LAYER_MASK, 0);
  ScPaintTool brush = { SC_PAINT_BRUSH, 12, 0.5, { 255 }, { 0 } };
  const double stroke[] = { 10, 10, 30, 20, 50, 40 };
  g_assert_true (sc_document_paint (doc, &brush, stroke, 3));
  int mw, mh;
  GBytes *mask = sc_document_get_mask (doc, &mw, &mh);
  g_assert_nonnull (mask);
  g_object_set (doc, "mask-grow", 2, "mask-feather", 5, NULL);

  gtk_widget_activate_action (GTK_WIDGET (win), "win.generate", NULL);
  g_assert_true (sc_test_spin_until (sc_test_window_idle, win, 60000));
  g_assert_cmpuint (sc_history_strip_get_n_items (sc_window_get_history (win)), ==, 2);

  g_autofree char *png = g_build_filename (tmpdir, "work.png", NULL);
  g_autoptr (GFile) file = g_file_new_for_path (png);
  sc_window_save_image (win, file);
  g_assert_true (sc_test_spin_until (file_exists, png, 10000));

  /* the render used the condition and the mask; the JSON says so in a way people can read */
  g_autoptr (GHashTable) text = sc_png_read_text (png, NULL);
  const char *json = g_hash_table_lookup (text, "scedit");
  g_test_message ("scedit: %s", json);
  g_assert_nonnull (strstr (g_hash_table_lookup (text, "parameters"), "canny 0.7"));
  g_assert_nonnull (strstr (json, "\"weight\":0.7,"));
  g_assert_nonnull (strstr (json, "\"mask_grow\":2,")); /* an inpainting render */
  g_assert_nonnull (strstr (json, "\"mask_feather\":5,"));
  g_assert_nonnull (strstr (json, "\"mask\":{\"layer\":\"mask\""));

  /* a fresh window opens it: every layer comes back */
  ScWindow *win2 = sc_test_new_window ();
  ScDocument *doc2 = sc_window_get_document (win2);
  sc_window_open_image (win2, file);
  g_assert_true (sc_test_spin_until (has_two_conditions, doc2, 10000));
  g_assert_cmpint (sc_document_get_condition_kind (doc2, 0), ==, SC_CONTROL_CANNY);
  g_assert_cmpfloat (sc_document_get_condition_weight (doc2, 0), ==, 0.7);
  g_assert_true (sc_document_get_condition_visible (doc2, 0));
  g_assert_false (sc_document_get_condition_is_map (doc2, 0));
  g_assert_cmpstr (sc_document_get_condition_controller (doc2, 0), ==, controller_path);
  int w, h;
  assert_same_bytes (sc_document_get_condition_picture (doc2, 0, &w, &h), edge_picture);
  g_assert_cmpint (w, ==, 64);
  g_assert_cmpint (h, ==, 64);
  g_assert_cmpint (sc_document_get_condition_kind (doc2, 1), ==, SC_CONTROL_SKETCH);
  g_assert_cmpfloat (sc_document_get_condition_weight (doc2, 1), ==, 1.25);
  g_assert_false (sc_document_get_condition_visible (doc2, 1));
  g_assert_true (sc_document_get_condition_is_map (doc2, 1));
  g_assert_null (sc_document_get_condition_controller (doc2, 1));
  assert_same_bytes (sc_document_get_condition_picture (doc2, 1, &w, &h), sketch_picture);
  g_assert_cmpint (w, ==, 40);
  g_assert_cmpint (h, ==, 30);
  g_assert_cmpuint (sc_document_get_n_styles (doc2), ==, 1);
  g_assert_cmpstr (sc_document_get_style_path (doc2, 0), ==, style_path);
  g_assert_cmpfloat (sc_document_get_style_strength (doc2, 0), ==, 0.6);
  int mw2, mh2;
  assert_same_bytes (sc_document_get_mask (doc2, &mw2, &mh2), mask);
  g_assert_cmpint (mw2, ==, mw);
  g_assert_cmpint (mh2, ==, mh);
  int grow2, feather2; /* the mask's settings too, and the paint bar shows them */
  g_object_get (doc2, "mask-grow", &grow2, "mask-feather", &feather2, NULL);
  g_assert_cmpint (grow2, ==, 2);
  g_assert_cmpint (feather2, ==, 5);
  g_assert_cmpfloat (gtk_range_get_value (sc_window_get_mask_grow_control (win2)), ==, 2);
  g_assert_cmpfloat (gtk_range_get_value (sc_window_get_mask_feather_control (win2)), ==, 5);
  g_assert_false (sc_undo_stack_can_undo (sc_document_get_undo_stack (doc2)));

  /* the rows show it: the weight slider at 0.7, the tuner's strength at 0.6 */
  ScConditionsPanel *panel
      = (ScConditionsPanel *) sc_test_find_descendant (GTK_WIDGET (win2), SC_TYPE_CONDITIONS_PANEL);
  g_assert_nonnull (panel);
  GtkWidget *row = sc_conditions_panel_get_condition_row (panel, 0);
  g_assert_cmpfloat (gtk_adjustment_get_value (sc_condition_row_get_weight_adjustment (SC_CONDITION_ROW (row))), ==,
                     0.7);
  GtkWidget *style_row = sc_conditions_panel_get_style_row (panel, 0);
  g_assert_cmpfloat (gtk_adjustment_get_value (sc_tuner_row_get_strength_adjustment (SC_TUNER_ROW (style_row))), ==,
                     0.6);

  gtk_window_destroy (GTK_WINDOW (win2));
  gtk_window_destroy (GTK_WINDOW (win));

  /* the controller file is gone: the picture still comes back, the note names the file */
  g_autofree char *moved = g_strconcat (controller_path, ".moved", NULL);
  g_assert_cmpint (g_rename (controller_path, moved), ==, 0);
  g_autoptr (ScDocument) doc3 = sc_document_new ();
  g_autoptr (GPtrArray) notes = restore_into (doc3, png);
  g_assert_cmpuint (sc_document_get_n_conditions (doc3), ==, 2);
  g_assert_null (sc_document_get_condition_controller (doc3, 0));
  assert_same_bytes (sc_document_get_condition_picture (doc3, 0, NULL, NULL), edge_picture);
  g_assert_true (notes_mention (notes, "tiny-canny.safetensors"));
  g_assert_cmpint (g_rename (moved, controller_path), ==, 0);

  /* a damaged mask chunk: the image, the conditions and their pictures still come back */
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (png, &data, &len, NULL));
  char *mask_chunk = NULL;
  for (gsize i = 0; i + 9 <= len && !mask_chunk; i++)
    if (memcmp (data + i, "scLymask", 9) == 0)
      mask_chunk = data + i;
  g_assert_nonnull (mask_chunk);
  mask_chunk[20] ^= 0x55;
  g_autofree char *damaged = g_build_filename (tmpdir, "damaged.png", NULL);
  g_assert_true (g_file_set_contents (damaged, data, (gssize) len, NULL));
  g_autoptr (ScImage) still = sc_image_load (damaged, NULL);
  g_assert_nonnull (still);
  g_autoptr (ScDocument) doc4 = sc_document_new ();
  g_autoptr (GPtrArray) notes4 = restore_into (doc4, damaged);
  g_assert_cmpuint (sc_document_get_n_conditions (doc4), ==, 2);
  assert_same_bytes (sc_document_get_condition_picture (doc4, 1, NULL, NULL), sketch_picture);
  g_assert_null (sc_document_get_mask (doc4, NULL, NULL));
  g_assert_true (notes_mention (notes4, "CRC"));
  g_remove (damaged);
  g_remove (png);
}

int
main (int argc, char **argv)
{
  sc_test_setup (&argc, &argv, "sc-ui-reopen-XXXXXX", &tmpdir, &model_path);
  if (model_path)
    {
      controller_path = sc_test_make_tiny_controller (tmpdir, "tiny-canny.safetensors");
      style_path = make_style (tmpdir);
    }

  g_test_add_func ("/ui/reopen/layers", test_reopen_layers);
  int rc = g_test_run ();
  sc_test_teardown (&tmpdir, &model_path);
  g_free (controller_path);
  g_free (style_path);
  return rc;
}
