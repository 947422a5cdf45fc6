/* The preferences window under Xvfb: its rows exist, each is bound to its GSettings key both ways (the
 * widget writes the key, the key moves the widget), the device row lists the CPU with its free memory and
 * explains a device this build cannot use, and Live mode's requests take the live steps and size while
 * Generate keeps the Create panel's. */
#include "sc-preferences-window.h"
#include "sc-window.h"
#include "ui-util.h"

static char *tmpdir, *model_path;

/* The preferences row titled title below widget (depth first), or NULL. */
static AdwPreferencesRow *
find_row (GtkWidget *widget, const char *title)
{
  if (ADW_IS_PREFERENCES_ROW (widget) && g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)),
                                                    title) == 0)
    return ADW_PREFERENCES_ROW (widget);
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    {
      AdwPreferencesRow *found = find_row (c, title);
      if (found)
        return found;
    }
  return NULL;
}

static GtkSpinButton *
row_spin (AdwPreferencesRow *row)
{
  GtkWidget *spin = sc_test_find_descendant (GTK_WIDGET (row), GTK_TYPE_SPIN_BUTTON);
  g_assert_nonnull (spin);
  return GTK_SPIN_BUTTON (spin);
}

static const char *
combo_label (AdwComboRow *row, guint i)
{
  return gtk_string_list_get_string (GTK_STRING_LIST (adw_combo_row_get_model (row)), i);
}

static gboolean
devices_listed (gpointer prefs)
{
  return sc_preferences_window_get_devices_listed (prefs);
}

static ScPreferencesWindow *
open_preferences (GSettings *settings)
{
  ScPreferencesWindow *prefs = sc_preferences_window_new (NULL, settings);
  gtk_window_present (GTK_WINDOW (prefs));
  gtk_test_widget_wait_for_draw (GTK_WIDGET (prefs));
  return prefs;
}

static void
test_rows (void)
{
  g_autoptr (GSettings) settings = g_settings_new ("io.github.scedit.Studio");
  ScPreferencesWindow *prefs = open_preferences (settings);
  const char *titles[] = { "Device", "Threads", "Steps", "Size", "While Computing", "Model Folder" };
  for (guint i = 0; i < G_N_ELEMENTS (titles); i++)
    g_assert_nonnull (find_row (GTK_WIDGET (prefs), titles[i]));
  g_assert_true (ADW_IS_COMBO_ROW (find_row (GTK_WIDGET (prefs), "Device")));
  g_assert_true (ADW_IS_COMBO_ROW (find_row (GTK_WIDGET (prefs), "While Computing")));
  gtk_window_destroy (GTK_WINDOW (prefs));
}

static void
test_live_quality_binding (void)
{
  g_autoptr (GSettings) settings = g_settings_new ("io.github.scedit.Studio");
  ScPreferencesWindow *prefs = open_preferences (settings);
  GtkSpinButton *steps = row_spin (find_row (GTK_WIDGET (prefs), "Steps"));
  GtkSpinButton *size = row_spin (find_row (GTK_WIDGET (prefs), "Size"));
  g_assert_cmpint (gtk_spin_button_get_value_as_int (steps), ==, g_settings_get_int (settings, "live-steps"));
  g_assert_cmpint (gtk_spin_button_get_value_as_int (size), ==, g_settings_get_int (settings, "live-size"));
  /* widget → key */
  gtk_spin_button_set_value (steps, 12);
  gtk_spin_button_set_value (size, 384);
  g_assert_cmpint (g_settings_get_int (settings, "live-steps"), ==, 12);
  g_assert_cmpint (g_settings_get_int (settings, "live-size"), ==, 384);
  /* key → widget */
  g_settings_set_int (settings, "live-steps", 20);
  g_settings_set_int (settings, "live-size", 768);
  g_assert_cmpint (gtk_spin_button_get_value_as_int (steps), ==, 20);
  g_assert_cmpint (gtk_spin_button_get_value_as_int (size), ==, 768);
  gtk_window_destroy (GTK_WINDOW (prefs));
  g_settings_reset (settings, "live-steps");
  g_settings_reset (settings, "live-size");
}

static void
test_preview_binding (void)
{
  g_autoptr (GSettings) settings = g_settings_new ("io.github.scedit.Studio");
  g_autofree char *initial = g_settings_get_string (settings, "preview-method");
  g_assert_cmpstr (initial, ==, "fast"); /* the default */
  ScPreferencesWindow *prefs = open_preferences (settings);
  AdwComboRow *row = ADW_COMBO_ROW (find_row (GTK_WIDGET (prefs), "While Computing"));
  g_assert_cmpuint (g_list_model_get_n_items (adw_combo_row_get_model (row)), ==, 3);
  g_assert_cmpuint (adw_combo_row_get_selected (row), ==, 1);
  g_autofree char *fast_note = g_strdup (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)));
  adw_combo_row_set_selected (row, 2);
  g_assert_cmpint (g_settings_get_enum (settings, "preview-method"), ==, 2); /* SC_PREVIEW_FULL */
  g_autofree char *method = g_settings_get_string (settings, "preview-method");
  g_assert_cmpstr (method, ==, "full");
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), !=, fast_note); /* says what it does */
  g_settings_set_string (settings, "preview-method", "none");
  g_assert_cmpuint (adw_combo_row_get_selected (row), ==, 0);
  g_assert_cmpint (g_settings_get_enum (settings, "preview-method"), ==, 1); /* SC_PREVIEW_NONE */
  gtk_window_destroy (GTK_WINDOW (prefs));
  g_settings_reset (settings, "preview-method");
}

/* A visible label showing text below widget (a note, a toast's title). */
static gboolean
shows_label (GtkWidget *widget, const char *text)
{
  if (GTK_IS_LABEL (widget) && g_strcmp0 (gtk_label_get_label (GTK_LABEL (widget)), text) == 0)
    return gtk_widget_is_visible (widget);
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    if (shows_label (c, text))
      return TRUE;
  return FALSE;
}

static void
test_device (void)
{
  const char *not_present = "This device is not present: images are computed on the CPU";
  g_autoptr (GSettings) settings = g_settings_new ("io.github.scedit.Studio");
  ScPreferencesWindow *prefs = open_preferences (settings);
  AdwComboRow *row = ADW_COMBO_ROW (find_row (GTK_WIDGET (prefs), "Device"));
  g_assert_true (sc_test_spin_until (devices_listed, prefs, 30000));
  GListModel *model = adw_combo_row_get_model (row);
  g_assert_cmpuint (g_list_model_get_n_items (model), >=, 1);
  g_assert_true (g_str_has_prefix (combo_label (row, 0), "CPU — "));
  g_assert_nonnull (strstr (combo_label (row, 0), " free"));
  g_assert_cmpuint (adw_combo_row_get_selected (row), ==, 0);
  g_assert_true (shows_label (GTK_WIDGET (prefs), combo_label (row, 0))); /* in full, under the title */
  g_assert_false (shows_label (GTK_WIDGET (prefs), not_present));

  /* a device the list lacks (a GPU taken out, a setting from elsewhere): shown as chosen, and explained */
  guint n = g_list_model_get_n_items (adw_combo_row_get_model (row));
  g_settings_set_string (settings, "device", "cuda:7");
  model = adw_combo_row_get_model (row);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, n + 1);
  g_assert_cmpuint (adw_combo_row_get_selected (row), ==, n);
  g_assert_true (g_str_has_prefix (combo_label (row, n), "cuda:7"));
  g_assert_true (shows_label (GTK_WIDGET (prefs), not_present));
  g_autofree char *still = g_settings_get_string (settings, "device");
  g_assert_cmpstr (still, ==, "cuda:7"); /* never quietly rewritten to the CPU */

  /* the widget writes the device's id */
  adw_combo_row_set_selected (row, 0);
  g_autofree char *id = g_settings_get_string (settings, "device");
  g_assert_cmpstr (id, ==, "cpu");
  g_assert_false (shows_label (GTK_WIDGET (prefs), not_present));
  gtk_window_destroy (GTK_WINDOW (prefs));
  g_settings_reset (settings, "device");
}

/* ---- Live mode's requests ---- */

/* The window binds the live settings to its controller: no model needed to see the requests it builds. */
static void
test_live_request (void)
{
  g_autoptr (GSettings) settings = g_settings_new ("io.github.scedit.Studio");
  ScWindow *win = sc_window_new (NULL);
  ScLiveController *live = sc_window_get_live_controller (win);
  ScDocument *doc = sc_window_get_document (win);
  g_object_set (doc, "width", 768, "height", 512, "steps", 30, NULL);
  g_settings_set_int (settings, "live-steps", 6);
  g_settings_set_int (settings, "live-size", 384);
  ScRequest r;
  sc_live_controller_build_request (live, &r);
  g_assert_cmpint (r.steps, ==, 6);
  g_assert_cmpint (r.width, ==, 384); /* the long side capped, the shape kept */
  g_assert_cmpint (r.height, ==, 256);
  sc_document_to_request (doc, &r); /* what Generate sends */
  g_assert_cmpint (r.steps, ==, 30);
  g_assert_cmpint (r.width, ==, 768);
  /* a picture smaller than the cap keeps its size */
  g_settings_set_int (settings, "live-size", 1024);
  sc_live_controller_build_request (live, &r);
  g_assert_cmpint (r.width, ==, 768);
  g_assert_cmpint (r.height, ==, 512);
  g_object_set (doc, "width", 600, "height", 200, NULL);
  g_settings_set_int (settings, "live-size", 256);
  sc_live_controller_build_request (live, &r);
  g_assert_cmpint (r.width, ==, 256);
  g_assert_cmpint (r.height, ==, 88); /* 85.3 rounded to a multiple of 8 */
  gtk_window_destroy (GTK_WINDOW (win));
  g_settings_reset (settings, "live-steps");
  g_settings_reset (settings, "live-size");
}

/* End to end: Live renders at the live quality, Generate at the panel's; the previews of both methods
 * that send pictures reach the canvas, and a CUDA device this build lacks is said, not ignored. */
static void
test_live_render (void)
{
  ScWindow *win = sc_test_new_ready_window (model_path);
  if (!win)
    return;
  /* the window reads these per request (live-steps and live-size through bindings) */
  g_autoptr (GSettings) settings = g_settings_new ("io.github.scedit.Studio");
  g_settings_set_int (settings, "live-steps", 2);
  g_settings_set_int (settings, "live-size", 256);
  g_settings_set_string (settings, "preview-method", "full");
  ScDocument *doc = sc_window_get_document (win);
  g_object_set (doc, "prompt", "a red apple", "width", 384, "height", 320, "steps", 3, "sampler", 0, NULL);
  ScLiveController *live = sc_window_get_live_controller (win);
  sc_live_controller_set_active (live, TRUE);
  g_assert_true (sc_test_spin_until (sc_test_live_settled, live, 60000));
  g_assert_cmpuint (sc_live_controller_get_n_finished (live), >=, 1);
  const ScResult *res = sc_history_item_get_result (sc_test_newest_item (win, NULL));
  g_assert_cmpint (res->request->steps, ==, 2);
  g_assert_cmpint (res->request->width, ==, 256);
  g_assert_cmpint (res->request->height, ==, 216); /* 213.3 → a multiple of 8 */
  g_assert_cmpint (res->image->width, ==, 256);
  g_assert_cmpint (res->request->preview, ==, 2); /* SC_PREVIEW_FULL */

  const char *no_cuda = "CUDA is not built into this version; rendering on the CPU";
  g_assert_false (shows_label (GTK_WIDGET (win), no_cuda));

  sc_live_controller_set_active (live, FALSE);
  g_settings_set_string (settings, "preview-method", "none");
  g_settings_set_string (settings, "device", "cuda:0");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.generate", NULL));
  g_assert_true (sc_test_window_busy (win));
  g_assert_true (sc_test_spin_until (sc_test_window_idle, win, 60000));
  res = sc_history_item_get_result (sc_test_newest_item (win, NULL));
  g_assert_cmpint (res->request->steps, ==, 3);
  g_assert_cmpint (res->request->width, ==, 384);
  g_assert_cmpint (res->request->height, ==, 320);
  g_assert_cmpint (res->request->preview, ==, 1); /* SC_PREVIEW_NONE */
  g_assert_true (shows_label (GTK_WIDGET (win), no_cuda));
  gtk_window_destroy (GTK_WINDOW (win));
  g_settings_reset (settings, "device");
  g_settings_reset (settings, "preview-method");
  g_settings_reset (settings, "live-steps");
  g_settings_reset (settings, "live-size");
}

int
main (int argc, char **argv)
{
  sc_test_setup (&argc, &argv, "sc-ui-prefs-XXXXXX", &tmpdir, &model_path);

  g_test_add_func ("/ui/preferences/rows", test_rows);
  g_test_add_func ("/ui/preferences/live-quality", test_live_quality_binding);
  g_test_add_func ("/ui/preferences/preview-method", test_preview_binding);
  g_test_add_func ("/ui/preferences/device", test_device);
  g_test_add_func ("/ui/preferences/live-request", test_live_request);
  g_test_add_func ("/ui/preferences/live-render", test_live_render);
  int rc = g_test_run ();
  sc_test_teardown (&tmpdir, &model_path);
  return rc;
}
