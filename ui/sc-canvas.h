/* ScCanvas: shows one image — the current render or its live preview — scaled to fit and centred. */
#pragma once
#include <gtk/gtk.h>

#include "io/image.h"

G_BEGIN_DECLS

#define SC_TYPE_CANVAS (sc_canvas_get_type ())
G_DECLARE_FINAL_TYPE (ScCanvas, sc_canvas, SC, CANVAS, GtkWidget)

GtkWidget *sc_canvas_new (void);
/* NULL clears. */
void sc_canvas_set_texture (ScCanvas *self, GdkTexture *texture);
GdkTexture *sc_canvas_get_texture (ScCanvas *self);

/* An 8-bit RGB or RGBA ScImage as a texture (the pixels are copied). */
GdkTexture *sc_texture_new_for_image (const ScImage *image);

G_END_DECLS
