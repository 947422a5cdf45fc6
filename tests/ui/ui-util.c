#include "ui-util.h"
#include "sc-window.h"

#include "models/make_model.h"
#include "scedit/tuner_io.h"

#include <adwaita.h>
#include <glib/gstdio.h>

void
sc_test_setup (int *argc, char ***argv, const char *tmpl, char **tmpdir, char **model_path)
{
  gtk_test_init (argc, argv, NULL);
  adw_init ();
  GError *error = NULL;
  *tmpdir = g_dir_make_tmp (tmpl, &error);
  g_assert_no_error (error);
  *model_path = sc_test_make_tiny_model (*tmpdir);
  g_autoptr (GSettings) settings = g_settings_new ("io.github.scedit.Studio");
  g_settings_set_int (settings, "threads", 1);
}

void
sc_test_teardown (char **tmpdir, char **model_path)
{
  g_autoptr (GDir) dir = g_dir_open (*tmpdir, 0, NULL);
  for (const char *name; dir && (name = g_dir_read_name (dir));)
    {
      g_autofree char *path = g_build_filename (*tmpdir, name, NULL);
      g_remove (path);
    }
  g_rmdir (*tmpdir);
  g_clear_pointer (tmpdir, g_free);
  g_clear_pointer (model_path, g_free);
}

gboolean
sc_test_have_model (const char *model_path)
{
  if (!model_path)
    g_test_skip ("no tiny model (SC_SHARED_DIR unset)");
  return model_path != NULL;
}

ScWindow *
sc_test_new_window (void)
{
  ScWindow *win = sc_window_new (NULL);
  /* the window's own default size (window.ui): the layout people get */
  gtk_window_set_default_size (GTK_WINDOW (win), 1280, 720);
  gtk_window_present (GTK_WINDOW (win));
  return win;
}

ScWindow *
sc_test_new_ready_window (const char *model_path)
{
  if (!sc_test_have_model (model_path))
    return NULL;
  ScWindow *win = sc_test_new_window ();
  sc_window_load_model (win, model_path);
  g_assert_true (sc_test_spin_until (sc_test_window_ready, win, 30000));
  return win;
}

gboolean
sc_test_spin_until (ScTestCondition cond, gpointer user, int timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  while (!cond (user) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
  return cond (user);
}

void
sc_test_spin_for (int ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) ms * 1000;
  while (g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
}

GdkTexture *
sc_test_widget_texture (GtkWidget *widget)
{
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  GtkNative *native = gtk_widget_get_native (widget);
  if (w <= 0 || h <= 0 || !native)
    return NULL;
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, w, h);
  graphene_rect_t area = GRAPHENE_RECT_INIT (0, 0, (float) w, (float) h);
  g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (snapshot);
  if (!node) /* nothing drawn: a transparent picture of the widget's size */
    node = gsk_color_node_new (&(GdkRGBA) { 0, 0, 0, 0 }, &area);
  return gsk_renderer_render_texture (gtk_native_get_renderer (native), node, &area);
}

gboolean
sc_test_save_widget_png (GtkWidget *widget, const char *path)
{
  g_autoptr (GdkTexture) t = sc_test_widget_texture (widget);
  return t && gdk_texture_save_to_png (t, path);
}

double
sc_test_texture_difference (GdkTexture *a, GdkTexture *b)
{
  int w = gdk_texture_get_width (a), h = gdk_texture_get_height (a);
  if (w != gdk_texture_get_width (b) || h != gdk_texture_get_height (b))
    return 1.0;
  gsize n = (gsize) w * (gsize) h * 4;
  g_autofree guchar *pa = g_malloc (n), *pb = g_malloc (n);
  gdk_texture_download (a, pa, (gsize) w * 4);
  gdk_texture_download (b, pb, (gsize) w * 4);
  gsize diff = 0;
  for (gsize i = 0; i < n; i++)
    diff += pa[i] != pb[i];
  return (double) diff / (double) n;
}

char *
sc_test_make_tiny_model (const char *dir)
{
  const char *shared = g_getenv ("SC_SHARED_DIR");
  g_autofree char *vocab = shared ? g_build_filename (shared, "data", "clip-bpe", "bpe_simple_vocab_16e6.txt.gz", NULL)
                                  : NULL;
  if (!vocab || !g_file_test (vocab, G_FILE_TEST_EXISTS))
    {
      g_printerr ("no CLIP vocabulary (set SC_SHARED_DIR)\n");
      return NULL;
    }
  g_setenv ("SCEDIT_VOCAB", vocab, TRUE);
  char *path = g_build_filename (dir, "tiny-sd1.safetensors", NULL);
  GError *error = NULL;
  if (!sc_make_model (SC_ARCH_TINY_SD1, 11, SC_LAYOUT_LDM, SC_DTYPE_F32, path, &error))
    {
      g_printerr ("make model: %s\n", error->message);
      g_error_free (error);
      g_free (path);
      return NULL;
    }
  return path;
}

char *
sc_test_make_tiny_controller (const char *dir, const char *name)
{
  const ScUNetConfig *cfg = &sc_arch_config (SC_ARCH_TINY_SD1)->unet;
  ScSkipLayout l;
  g_assert_true (sc_skip_layout_from_unet (cfg, &l));
  GError *error = NULL;
  g_autoptr (ScCscTuner) csc = sc_csc_tuner_new_random (&l, 0.25, 16, 1, 0.25, 12, TRUE, &error);
  g_assert_no_error (error);
  char *path = g_build_filename (dir, name, NULL);
  g_assert_true (sc_csc_tuner_save (csc, NULL, path, &error));
  g_assert_no_error (error);
  return path;
}

gboolean
sc_test_window_ready (gpointer win)
{
  return g_strcmp0 (sc_window_get_page (win), "ready") == 0;
}

gboolean
sc_test_window_busy (gpointer win)
{
  return sc_window_get_busy (win);
}

gboolean
sc_test_window_idle (gpointer win)
{
  return !sc_window_get_busy (win);
}

gboolean
sc_test_live_settled (gpointer live)
{
  return !sc_live_controller_get_busy (live) && !sc_live_controller_get_stale (live);
}

ScHistoryItem *
sc_test_newest_item (ScWindow *win, guint *n_items)
{
  ScHistoryItem *last = NULL;
  guint n = 0;
  for (guint64 id = 1; id < 256; id++)
    {
      ScHistoryItem *item = sc_history_strip_lookup (sc_window_get_history (win), id);
      if (item)
        last = item, n++;
    }
  if (n_items)
    *n_items = n;
  return last;
}

GtkWidget *
sc_test_find_descendant (GtkWidget *widget, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = sc_test_find_descendant (c, type);
      if (found)
        return found;
    }
  return NULL;
}
