/* Screenshots of the real application, for the AppStream metainfo and for people to look at
 * (tests/ui/screenshot.sh [BUILD_DIR] OUTDIR), in a 1280×800 window with the tiny model: the empty state,
 * the Create page with an edge condition and its render, Live mode while it renders, an inpainted
 * picture with its mask, and Preferences. The tiny model paints noise; the screenshots show the app. */
#include "sc-application.h"
#include "sc-conditions-panel.h"
#include "sc-train-page.h"
#include "sc-window.h"
#include "ui-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define WIDTH 1280
#define HEIGHT 800

static const char *outdir;
static char *model_path, *controller_path;

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
live_rendered (gpointer live)
{
  return sc_live_controller_get_n_finished (live) > 0 && !sc_live_controller_get_busy (live);
}

/* The widget as drawn, right after a frame: one that animates (the live spinner) has no render node
 * between frames. */
static GdkTexture *
capture (GtkWidget *widget)
{
  gtk_test_widget_wait_for_draw (widget);
  return sc_test_widget_texture (widget);
}

/* A PNG kept small for the metainfo: the two low bits of each colour go (64 levels a channel are more
 * than a screenshot shows), which halves what the tiny model's noisy pictures cost. */
static void
save_texture (GdkTexture *texture, const char *name)
{
  g_autofree char *path = g_build_filename (outdir, name, NULL);
  g_autoptr (ScImage) img = texture ? sc_image_new (gdk_texture_get_width (texture), gdk_texture_get_height (texture),
                                                    4, 8, NULL)
                                    : NULL;
  if (!img)
    {
      g_print ("FAILED %s\n", path);
      return;
    }
  int w = img->width, h = img->height;
  guint8 *p = img->data;
  gdk_texture_download (texture, p, (gsize) w * 4);
  for (gsize i = 0; i < (gsize) w * h; i++, p += 4)
    {
      /* cairo ARGB32, premultiplied, in native byte order (B, G, R, A on little-endian) → straight RGBA */
      guint32 px;
      memcpy (&px, p, 4);
      guint a = px >> 24, r = (px >> 16) & 0xff, g = (px >> 8) & 0xff, b = px & 0xff;
      if (a > 0 && a < 255)
        r = r * 255 / a, g = g * 255 / a, b = b * 255 / a;
      p[0] = (guint8) (r & 0xfc), p[1] = (guint8) (g & 0xfc), p[2] = (guint8) (b & 0xfc), p[3] = (guint8) a;
    }
  g_print ("%s %s\n", sc_image_save_png (img, path, NULL, NULL, 0, NULL) ? "wrote" : "FAILED", path);
}

static void
shoot (GtkWidget *widget, const char *name)
{
  sc_test_spin_for (400); /* transitions and the frame clock */
  g_autoptr (GdkTexture) texture = capture (widget);
  save_texture (texture, name);
}

/* A line drawing of a lighthouse on a cliff (dark lines on white), as someone would load for edges. */
static void
draw_line (guint8 *p, int size, double x0, double y0, double x1, double y1)
{
  int n = (int) (hypot (x1 - x0, y1 - y0) * 2) + 1;
  for (int i = 0; i <= n; i++)
    {
      int cx = (int) lround (x0 + (x1 - x0) * i / n), cy = (int) lround (y0 + (y1 - y0) * i / n);
      for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++)
          {
            int x = cx + dx, y = cy + dy;
            if (x >= 0 && y >= 0 && x < size && y < size)
              memset (p + ((gsize) y * size + x) * 3, 30, 3);
          }
    }
}

static GBytes *
make_drawing (int size)
{
  guint8 *p = g_malloc ((gsize) size * size * 3);
  memset (p, 250, (gsize) size * size * 3);
  double s = size / 256.0;
  static const double lines[][4] = {
    { 0, 200, 60, 186 }, { 60, 186, 100, 196 }, { 100, 196, 160, 192 }, { 160, 192, 256, 214 }, /* the cliff */
    { 112, 192, 120, 92 }, { 144, 192, 136, 92 }, { 120, 92, 136, 92 },                          /* the tower */
    { 116, 92, 116, 72 }, { 140, 92, 140, 72 }, { 112, 72, 144, 72 },                            /* the lantern */
    { 110, 72, 128, 52 }, { 128, 52, 146, 72 },                                                  /* the roof */
    { 116, 130, 140, 130 }, { 114, 160, 142, 160 },                                              /* the bands */
    { 10, 232, 40, 228 }, { 60, 236, 96, 232 }, { 170, 240, 210, 236 }, { 226, 230, 250, 232 },  /* the waves */
  };
  for (guint i = 0; i < G_N_ELEMENTS (lines); i++)
    draw_line (p, size, lines[i][0] * s, lines[i][1] * s, lines[i][2] * s, lines[i][3] * s);
  for (int a = 0; a < 72; a++) /* the sun */
    draw_line (p, size, (200 + 22 * cos (a * G_PI / 36)) * s, (56 + 22 * sin (a * G_PI / 36)) * s,
               (200 + 22 * cos ((a + 1) * G_PI / 36)) * s, (56 + 22 * sin ((a + 1) * G_PI / 36)) * s);
  return g_bytes_new_take (p, (gsize) size * size * 3);
}

/* Scrolls the Create panel so that widget is at its top. */
static void
scroll_to (GtkWidget *widget)
{
  GtkWidget *scrolled = gtk_widget_get_ancestor (widget, GTK_TYPE_SCROLLED_WINDOW);
  GtkWidget *content = scrolled ? gtk_scrolled_window_get_child (GTK_SCROLLED_WINDOW (scrolled)) : NULL;
  double x, y;
  if (!content || !gtk_widget_translate_coordinates (widget, content, 0, 0, &x, &y))
    return;
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scrolled));
  gtk_adjustment_set_value (adj, y - 12);
}

static void
render (ScWindow *win)
{
  gtk_widget_activate_action (GTK_WIDGET (win), "win.generate", NULL);
  sc_test_spin_until (not_busy, win, 120000);
}

static void
on_activate (GApplication *app, gpointer user)
{
  ScWindow *win = SC_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  GtkWidget *w = GTK_WIDGET (win);
  gtk_window_set_default_size (GTK_WINDOW (win), WIDTH, HEIGHT);
  shoot (w, "01-empty.png");

  /* the Create page: an edge condition loaded from a drawing, with its controller, and its render */
  sc_window_load_model (win, model_path);
  sc_test_spin_until (is_ready, win, 30000);
  ScDocument *doc = sc_window_get_document (win);
  g_object_set (doc, "prompt", "a lighthouse on a cliff at sunset, oil painting", "negative-prompt", "blurry",
                "width", 64, "height", 64, "steps", 20, "seed-locked", TRUE, NULL);
  sc_document_set_seed (doc, 1234); /* the same pictures every run */
  guint edges = sc_document_add_condition (doc, SC_CONTROL_CANNY);
  g_autoptr (GBytes) drawing = make_drawing (256);
  sc_document_set_condition_picture (doc, edges, drawing, 256, 256, FALSE);
  sc_document_set_condition_controller (doc, edges, controller_path);
  sc_document_set_condition_weight (doc, edges, 0.7);
  render (win);
  ScConditionsPanel *panel = (ScConditionsPanel *) sc_test_find_descendant (w, SC_TYPE_CONDITIONS_PANEL);
  GtkWidget *row = sc_conditions_panel_get_condition_row (panel, edges);
  adw_expander_row_set_expanded (ADW_EXPANDER_ROW (row), TRUE);
  sc_test_spin_for (300); /* the row's expansion */
  scroll_to (GTK_WIDGET (panel));
  shoot (w, "02-conditions.png");

  /* Live mode: one live render done (its time shows), then an edit starts the next (spinner, badge) */
  adw_expander_row_set_expanded (ADW_EXPANDER_ROW (row), FALSE);
  GtkWidget *scrolled = gtk_widget_get_ancestor (GTK_WIDGET (panel), GTK_TYPE_SCROLLED_WINDOW);
  gtk_adjustment_set_value (gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scrolled)), 0);
  ScLiveController *live = sc_window_get_live_controller (win);
  g_autoptr (GSettings) settings = g_settings_new ("io.github.scedit.Studio");
  g_autoptr (GSettingsSchema) schema = NULL;
  g_object_get (settings, "settings-schema", &schema, NULL);
  if (g_settings_schema_has_key (schema, "live-steps"))
    g_settings_set_int (settings, "live-steps", 50); /* slow enough to catch a render in flight */
  sc_live_controller_set_active (live, TRUE);
  sc_test_spin_until (live_rendered, live, 60000);
  g_autoptr (GdkTexture) in_flight = NULL;
  for (int attempt = 0; attempt < 5 && !in_flight; attempt++)
    {
      sc_document_set_condition_weight (doc, edges, 0.8 + 0.05 * attempt);
      sc_test_spin_until (sc_test_window_busy, win, 5000); /* past the quiet spell: submitted */
      sc_test_spin_for (100);                              /* the first steps' previews */
      GdkTexture *t = capture (w);
      if (sc_window_get_busy (win) && sc_live_controller_get_busy (live))
        in_flight = t; /* still rendering after the capture: it shows the spinner and the progress */
      else
        g_clear_object (&t);
      sc_test_spin_until (live_rendered, live, 60000);
    }
  save_texture (in_flight, "03-live.png");
  sc_live_controller_set_active (live, FALSE);
  if (g_settings_schema_has_key (schema, "live-steps"))
    g_settings_reset (settings, "live-steps"); /* Preferences show the defaults */
  sc_test_spin_until (not_busy, win, 60000);

  /* inpainting: a mask painted over the middle of the render, then the repainted result under it */
  sc_document_set_active_layer (doc, SC_LAYER_MASK, 0);
  ScPaintTool brush = { SC_PAINT_BRUSH, 20, 1.0, { 255 }, { 0 } };
  const double stroke[] = { 22, 28, 32, 32, 42, 35 };
  sc_document_paint (doc, &brush, stroke, 3);
  render (win);
  shoot (w, "04-inpaint.png");

  /* the Train page, as it opens */
  GtkWidget *train = GTK_WIDGET (sc_window_get_train_page (win));
  AdwViewStack *pages = ADW_VIEW_STACK (gtk_widget_get_ancestor (train, ADW_TYPE_VIEW_STACK));
  adw_view_stack_set_visible_child_name (pages, "train");
  shoot (w, "06-train.png");
  adw_view_stack_set_visible_child_name (pages, "create");

  g_action_group_activate_action (G_ACTION_GROUP (app), "preferences", NULL);
  sc_test_spin_for (300);
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (app)); l; l = l->next)
    if (l->data != (gpointer) win)
      {
        gtk_window_set_default_size (l->data, 640, 720); /* all of its groups, not a cramped corner */
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
  controller_path = sc_test_make_tiny_controller (tmp, "edges.safetensors");
  g_autoptr (ScApplication) app = sc_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_signal_connect_after (app, "activate", G_CALLBACK (on_activate), NULL);
  char *args[] = { argv[0], NULL };
  int rc = g_application_run (G_APPLICATION (app), 1, args);
  g_unlink (model_path);
  g_unlink (controller_path);
  g_rmdir (tmp);
  g_free (model_path);
  g_free (controller_path);
  return rc;
}
