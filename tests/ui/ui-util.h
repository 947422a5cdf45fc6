/* Helpers shared by the ui tests and the screenshot tool: spinning the main loop, rendering a widget
 * into a texture (GtkWidgetPaintable → GskRenderer), and the tiny model. */
#pragma once
#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef gboolean (*ScTestCondition) (gpointer user);

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
/* The first widget of type below (or at) widget, depth first; NULL if none. */
GtkWidget *sc_test_find_descendant (GtkWidget *widget, GType type);
/* Writes a small CSC controller for the tiny U-Net with every weight random (so it visibly changes the
 * picture) as dir/NAME; returns its path. */
char *sc_test_make_tiny_controller (const char *dir, const char *name);

G_END_DECLS
