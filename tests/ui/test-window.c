/* The main window end to end, under Xvfb: empty state, loading the tiny model, a render through the
 * win.generate action (pixels change, history grows), Cancel, reopening a saved PNG restores its
 * settings, and the main loop stays responsive while the engine thread renders. */
#include "sc-application.h"
#include "sc-window.h"
#include "ui-util.h"

#include <glib/gstdio.h>

static char *tmpdir, *model_path;

static gboolean
has_texture (gpointer win)
{
  return sc_canvas_get_texture (sc_window_get_canvas (win)) != NULL;
}

/* A window with the tiny model and these tests' settings, or NULL (skipped) without the model. */
static ScWindow *
new_loaded_window (void)
{
  ScWindow *win = sc_test_new_ready_window (model_path);
  if (win)
    g_object_set (sc_window_get_document (win), "prompt", "a red apple on a table", "width", 64, "height", 64,
                  "steps", 4, "sampler", 0, NULL);
  return win;
}

static void
test_empty (void)
{
  ScWindow *win = sc_test_new_window ();
  gtk_test_widget_wait_for_draw (GTK_WIDGET (win));
  g_assert_cmpstr (sc_window_get_page (win), ==, "empty");
  g_assert_false (sc_window_get_busy (win));
  gtk_window_destroy (GTK_WINDOW (win));
}

/* Ticks every 5 ms while a render runs and records the longest gap between ticks. */
typedef struct {
  gint64 last;
  gint64 max_gap;
  int ticks;
} Watch;

static gboolean
tick (gpointer user)
{
  Watch *w = user;
  gint64 now = g_get_monotonic_time ();
  if (w->last)
    w->max_gap = MAX (w->max_gap, now - w->last);
  w->last = now;
  w->ticks++;
  return G_SOURCE_CONTINUE;
}

static void
test_render (void)
{
  ScWindow *win = new_loaded_window ();
  if (!win)
    return;
  ScCanvas *canvas = sc_window_get_canvas (win);
  gtk_test_widget_wait_for_draw (GTK_WIDGET (canvas));
  sc_test_spin_for (300); /* the page's crossfade */
  g_autoptr (GdkTexture) before = sc_test_widget_texture (GTK_WIDGET (canvas));
  g_assert_nonnull (before);

  /* long enough (about a second) for the watch to see many main-loop iterations */
  g_object_set (sc_window_get_document (win), "steps", 12, "width", 128, "height", 128, NULL);
  Watch watch = { 0 };
  guint id = g_timeout_add (5, tick, &watch);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (win), "win.generate", NULL));
  g_assert_true (sc_window_get_busy (win));
  g_assert_true (sc_test_spin_until (sc_test_window_idle, win, 30000));
  g_source_remove (id);
  g_test_message ("render: %d ticks, longest main-loop gap %.1f ms", watch.ticks, watch.max_gap / 1000.0);
  g_assert_cmpint (watch.max_gap, <, 50000);

  g_assert_cmpuint (sc_history_strip_get_n_items (sc_window_get_history (win)), ==, 1);
  g_assert_true (has_texture (win));
  g_assert_cmpint (gdk_texture_get_width (sc_canvas_get_texture (canvas)), ==, 128);
  sc_test_spin_for (100);
  g_autoptr (GdkTexture) after = sc_test_widget_texture (GTK_WIDGET (canvas));
  double diff = sc_test_texture_difference (before, after);
  g_test_message ("canvas pixels changed: %.1f%%", 100 * diff);
  g_assert_cmpfloat (diff, >, 0.05);

  /* the seed was unlocked: a second render gets a new seed and a second history entry */
  guint64 seed1 = sc_document_get_seed (sc_window_get_document (win));
  gtk_widget_activate_action (GTK_WIDGET (win), "win.generate", NULL);
  g_assert_true (sc_test_spin_until (sc_test_window_idle, win, 30000));
  g_assert_cmpuint (sc_history_strip_get_n_items (sc_window_get_history (win)), ==, 2);
  g_assert_cmpuint (sc_document_get_seed (sc_window_get_document (win)), !=, seed1);
  gtk_window_destroy (GTK_WINDOW (win));
}

static gboolean
preview_shown (gpointer win)
{
  return has_texture (win);
}

static void
test_cancel (void)
{
  ScWindow *win = new_loaded_window ();
  if (!win)
    return;
  g_object_set (sc_window_get_document (win), "steps", 150, NULL);
  gtk_widget_activate_action (GTK_WIDGET (win), "win.generate", NULL);
  g_assert_true (sc_test_spin_until (preview_shown, win, 30000)); /* the first step's preview */
  g_assert_true (sc_window_get_busy (win));
  gint64 t0 = g_get_monotonic_time ();
  gtk_widget_activate_action (GTK_WIDGET (win), "win.cancel", NULL);
  g_assert_true (sc_test_spin_until (sc_test_window_idle, win, 10000));
  g_test_message ("cancel landed after %.1f ms", (g_get_monotonic_time () - t0) / 1000.0);
  g_assert_cmpuint (sc_history_strip_get_n_items (sc_window_get_history (win)), ==, 0);
  g_assert_false (has_texture (win)); /* the preview is gone; nothing was finished before */
  gtk_window_destroy (GTK_WINDOW (win));
}

static gboolean
prompt_restored (gpointer doc)
{
  g_autofree char *prompt = NULL;
  g_object_get (doc, "prompt", &prompt, NULL);
  return g_strcmp0 (prompt, "a red apple on a table") == 0;
}

/* A saved PNG carries its parameters; opening it restores them. */
static void
test_reopen (void)
{
  ScWindow *win = new_loaded_window ();
  if (!win)
    return;
  ScDocument *doc = sc_window_get_document (win);
  gtk_widget_activate_action (GTK_WIDGET (win), "win.generate", NULL);
  g_assert_true (sc_test_spin_until (sc_test_window_idle, win, 30000));
  guint64 seed = sc_document_get_seed (doc);
  /* save the render the way win.save does, then change every setting */
  g_autoptr (GListModel) pages = NULL;
  ScHistoryStrip *history = sc_window_get_history (win);
  g_assert_cmpuint (sc_history_strip_get_n_items (history), ==, 1);
  g_autofree char *png = g_build_filename (tmpdir, "render.png", NULL);
  ScHistoryItem *item = NULL;
  for (guint64 id = 1; id < 10 && !item; id++)
    item = sc_history_strip_lookup (history, id);
  g_assert_nonnull (item);
  GError *error = NULL;
  g_assert_true (sc_result_save_png (sc_history_item_get_result (item), png, &error));
  g_assert_no_error (error);
  g_object_set (doc, "prompt", "something else", "steps", 9, "width", 128, "seed-locked", FALSE, NULL);
  sc_document_set_seed (doc, 1);

  g_autoptr (GFile) file = g_file_new_for_path (png);
  sc_window_open_image (win, file);
  g_assert_true (sc_test_spin_until (prompt_restored, doc, 10000));
  int steps, width;
  gboolean locked;
  g_object_get (doc, "steps", &steps, "width", &width, "seed-locked", &locked, NULL);
  g_assert_cmpint (steps, ==, 4);
  g_assert_cmpint (width, ==, 64);
  g_assert_cmpuint (sc_document_get_seed (doc), ==, seed);
  g_assert_true (locked);
  g_remove (png);
  gtk_window_destroy (GTK_WINDOW (win));
}

/* The application: registers, makes a window on activate, has its actions and accelerators. */
static void
on_activate_quit (GApplication *app, gpointer user)
{
  GtkWindow *win = gtk_application_get_active_window (GTK_APPLICATION (app));
  g_assert_true (SC_IS_WINDOW (win));
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (app), "preferences"));
  g_auto (GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), "win.generate");
  g_assert_cmpstr (accels[0], ==, "<Control>Return");
  *(gboolean *) user = TRUE;
  gtk_window_destroy (win);
}

static void
test_application (void)
{
  g_autoptr (ScApplication) app = sc_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE);
  gboolean ran = FALSE;
  g_signal_connect_after (app, "activate", G_CALLBACK (on_activate_quit), &ran);
  char *argv[] = { (char *) "scedit-studio", NULL };
  g_assert_cmpint (g_application_run (G_APPLICATION (app), 1, argv), ==, 0);
  g_assert_true (ran);
  g_assert_true (sc_application_is_model_path (tmpdir));
  g_assert_true (sc_application_is_model_path ("/x/model.safetensors"));
  g_assert_false (sc_application_is_model_path ("/x/image.png"));
}

int
main (int argc, char **argv)
{
  sc_test_setup (&argc, &argv, "sc-ui-XXXXXX", &tmpdir, &model_path);

  g_test_add_func ("/ui/window/empty", test_empty);
  g_test_add_func ("/ui/window/render", test_render);
  g_test_add_func ("/ui/window/cancel", test_cancel);
  g_test_add_func ("/ui/window/reopen", test_reopen);
  g_test_add_func ("/ui/application", test_application);
  int rc = g_test_run ();
  sc_test_teardown (&tmpdir, &model_path);
  return rc;
}
