/* ScCanvas: shows one image — the current render or its live preview — scaled to fit and centred, with
 * the document's active paint layer on top (the mask in red, a condition picture half-transparent), and
 * paints on that layer: the primary button draws with the current tool, Ctrl+scroll zooms, the middle
 * button or Space+drag pans. */
#pragma once
#include <gtk/gtk.h>

#include "io/image.h"
#include "sc-document.h"

G_BEGIN_DECLS

#define SC_TYPE_CANVAS (sc_canvas_get_type ())
G_DECLARE_FINAL_TYPE (ScCanvas, sc_canvas, SC, CANVAS, GtkWidget)

GtkWidget *sc_canvas_new (void);
/* NULL clears. */
void sc_canvas_set_texture (ScCanvas *self, GdkTexture *texture);
GdkTexture *sc_canvas_get_texture (ScCanvas *self);
void sc_canvas_set_document (ScCanvas *self, ScDocument *document);

/* The tool the pointer paints with; size in layer pixels, hardness in [0, 1], colour for the image and
 * colour layers (a depth layer takes its grey value; edges and the mask paint white, erase to black). */
void sc_canvas_set_tool (ScCanvas *self, ScPaintToolKind tool);
ScPaintToolKind sc_canvas_get_tool (ScCanvas *self);
void sc_canvas_set_brush_size (ScCanvas *self, double size);
void sc_canvas_set_hardness (ScCanvas *self, double hardness);
void sc_canvas_set_color (ScCanvas *self, const GdkRGBA *color);
/* Paints points (x, y pairs in the active layer's pixels) with tool and the current size, hardness and
 * colour, as one undo step. FALSE when nothing changed. */
gboolean sc_canvas_stroke (ScCanvas *self, const double *points_xy, guint n, ScPaintToolKind tool);
/* 1 = fit; the widget point (wx, wy) in the active layer's pixels (FALSE outside any picture). */
void sc_canvas_set_zoom (ScCanvas *self, double zoom);
double sc_canvas_get_zoom (ScCanvas *self);
gboolean sc_canvas_widget_to_image (ScCanvas *self, double wx, double wy, double *x, double *y);

/* An 8-bit RGB or RGBA ScImage as a texture (the pixels are copied). */
GdkTexture *sc_texture_new_for_image (const ScImage *image);

G_END_DECLS
