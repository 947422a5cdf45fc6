/* Screenshots of the real application for people to look at (tests/ui/screenshot.sh OUTDIR): the empty
 * state, the Create page before, during and after a render with the tiny model, and Preferences. */
#include "sc-application.h"
#include "sc-window.h"
#include "ui-util.h"

#include <glib/gstdio.h>

static const char *outdir;
static char *model_path;

static gboolean
is_ready (gpointer win)
{
  return g_strcmp0 (sc_window_get_page (win), "ready") == 0;
}

static gboolean
not_busy (gpointer win)
{
  return !sc_window_get_busy (win);
}

static gboolean
has_preview (gpointer win)
{
  return sc_canvas_get_texture (sc_window_get_canvas (win)) != NULL;
}

static void
shoot (GtkWidget *widget, const char *name)
{
  sc_test_spin_for (400); /* transitions and the frame clock */
  g_autofree char *path = g_build_filename (outdir, name, NULL);
  g_print ("%s %s\n", sc_test_save_widget_png (widget, path) ? "wrote" : "FAILED", path);
}

static void
on_activate (GApplication *app, gpointer user)
{
  ScWindow *win = SC_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  GtkWidget *w = GTK_WIDGET (win);
  shoot (w, "01-empty.png");

  sc_window_load_model (win, model_path);
  sc_test_spin_until (is_ready, win, 30000);
  g_object_set (sc_window_get_document (win), "prompt", "a lighthouse on a cliff at sunset, oil painting",
                "negative-prompt", "blurry", "width", 256, "height", 256, "steps", 30, NULL);
  shoot (w, "02-create.png");

  gtk_widget_activate_action (w, "win.generate", NULL);
  sc_test_spin_until (has_preview, win, 30000);
  sc_test_spin_for (150); /* a few steps in, while the engine thread still renders */
  g_autofree char *p = g_build_filename (outdir, "03-preview.png", NULL);
  g_print ("%s %s (busy: %d)\n", sc_test_save_widget_png (w, p) ? "wrote" : "FAILED", p, sc_window_get_busy (win));
  sc_test_spin_until (not_busy, win, 120000);
  gtk_widget_activate_action (w, "win.generate", NULL);
  sc_test_spin_until (not_busy, win, 120000);
  shoot (w, "04-render.png");

  g_action_group_activate_action (G_ACTION_GROUP (app), "preferences", NULL);
  sc_test_spin_for (300);
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (app)); l; l = l->next)
    if (l->data != (gpointer) win)
      {
        shoot (l->data, "05-preferences.png");
        break;
      }
  g_application_quit (app);
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      g_printerr ("usage: %s OUTDIR\n", argv[0]);
      return 2;
    }
  outdir = argv[1];
  g_mkdir_with_parents (outdir, 0755);
  g_autofree char *tmp = g_dir_make_tmp ("sc-shot-XXXXXX", NULL);
  model_path = sc_test_make_tiny_model (tmp);
  if (!model_path)
    return 1;
  g_autoptr (ScApplication) app = sc_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_signal_connect_after (app, "activate", G_CALLBACK (on_activate), NULL);
  char *args[] = { argv[0], NULL };
  int rc = g_application_run (G_APPLICATION (app), 1, args);
  g_unlink (model_path);
  g_rmdir (tmp);
  g_free (model_path);
  return rc;
}
