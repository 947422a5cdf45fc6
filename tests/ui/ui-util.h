/* Helpers shared by the ui tests and the screenshot tool: a test program's start and end, main windows,
 * spinning the main loop, rendering a widget into a texture (GtkWidgetPaintable → GskRenderer), and the
 * tiny model. */
#pragma once
#include "sc-window.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef gboolean (*ScTestCondition) (gpointer user);

/* A test program's start: GTK in test mode, libadwaita, one engine thread (a core left for the UI thread
 * on small machines), and a new temp dir from tmpl (g_dir_make_tmp) with the tiny model in it. The model
 * path is NULL when the model cannot be made; the tests that need it skip. */
void sc_test_setup (int *argc, char ***argv, const char *tmpl, char **tmpdir, char **model_path);
/* The end: removes the files in the temp dir (the model, what the tests made there) and the dir, and
 * frees both paths. */
void sc_test_teardown (char **tmpdir, char **model_path);
/* Whether there is a model at model_path; if not, marks the test skipped (the tiny model needs
 * SC_SHARED_DIR). */
gboolean sc_test_have_model (const char *model_path);
/* A main window at its default size (1280×720), presented but not yet drawn. */
ScWindow *sc_test_new_window (void);
/* A main window with model_path loaded, its Create page showing (asserted within 30 s); NULL, the test
 * marked skipped, when there is no model. */
ScWindow *sc_test_new_ready_window (const char *model_path);

/* Iterates the default main context until cond is TRUE or timeout_ms pass; returns cond's last value. */
gboolean sc_test_spin_until (ScTestCondition cond, gpointer user, int timeout_ms);
void sc_test_spin_for (int ms);
/* The widget as it is drawn now (NULL if it has no size). */
GdkTexture *sc_test_widget_texture (GtkWidget *widget);
gboolean sc_test_save_widget_png (GtkWidget *widget, const char *path);
/* Share of bytes that differ between two textures of the same size (1.0 if the sizes differ). */
double sc_test_texture_difference (GdkTexture *a, GdkTexture *b);
/* Writes the tiny SD1 model into dir; points SCEDIT_VOCAB at the CLIP vocabulary from $SC_SHARED_DIR.
 * Returns the model path, or NULL (with a message) when the vocabulary is missing. */
char *sc_test_make_tiny_model (const char *dir);
/* Predicates for sc_test_spin_until on an ScWindow (passed as the gpointer). */
gboolean sc_test_window_ready (gpointer win);  /* the Create page shows */
gboolean sc_test_window_busy (gpointer win);   /* a render is in flight */
gboolean sc_test_window_idle (gpointer win);
/* On an ScLiveController: Live has caught up (no render in flight, nothing stale). */
gboolean sc_test_live_settled (gpointer live);
/* The newest render in the window's history (ids 1–255 looked up: more than any test makes), NULL if
 * none; *n_items, if asked for, gets how many there are. */
ScHistoryItem *sc_test_newest_item (ScWindow *win, guint *n_items);
/* The first widget of type below (or at) widget, depth first; NULL if none. */
GtkWidget *sc_test_find_descendant (GtkWidget *widget, GType type);
/* Writes a small CSC controller for the tiny U-Net with every weight random (so it visibly changes the
 * picture) as dir/NAME; returns its path. */
char *sc_test_make_tiny_controller (const char *dir, const char *name);

G_END_DECLS
