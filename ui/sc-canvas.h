/* ScCanvas: shows one image — the current render or its live preview — scaled to fit and centred, with
 * the document's active paint layer on top (the mask in red, a condition picture half-transparent), and
 * paints on that layer: the primary button draws with the current tool, Ctrl+scroll zooms, the middle
 * button or Space+drag pans. When the document's picture is shown, four handles outside its edges extend
 * it: dragging one outwards proposes a margin (outlined, with its size), releasing adds it to the
 * document's outpaint margins as one undo step, and the next render fills it in. */
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

/* Outpainting handles. The order is the one of sc_document_extend's margins. */
typedef enum {
  SC_CANVAS_EDGE_LEFT,
  SC_CANVAS_EDGE_TOP,
  SC_CANVAS_EDGE_RIGHT,
  SC_CANVAS_EDGE_BOTTOM,
} ScCanvasEdge;

/* Margins snap to the latent's 8 × 8 pixel blocks; the engine outpaints onto at most 4096 × 4096. */
#define SC_CANVAS_EXTEND_STEP 8
#define SC_CANVAS_EXTEND_MAX_SIDE 4096

/* Where the pointer grabs edge's handle, in widget coordinates. FALSE while the handles are off: no
 * document picture, a picture of another size shown (a render's preview), or a stroke or pan under way. */
gboolean sc_canvas_get_handle_rect (ScCanvas *self, ScCanvasEdge edge, graphene_rect_t *rect);
/* The pixels a drag of edge's handle by (widget_dx, widget_dy) adds: outwards only, snapped to
 * SC_CANVAS_EXTEND_STEP, at most SC_DOCUMENT_EXTEND_MAX per side in all and SC_CANVAS_EXTEND_MAX_SIDE
 * across; *at_limit (may be NULL) says the drag reached that limit. 0 while the handles are off. */
int sc_canvas_get_handle_amount (ScCanvas *self, ScCanvasEdge edge, double widget_dx, double widget_dy,
                                 gboolean *at_limit);
/* A whole drag of edge's handle, as the pointer does it: extends the document by that amount (one undo
 * step) and returns it; 0 (and no change) inwards, or while the handles are off. */
int sc_canvas_drag_handle (ScCanvas *self, ScCanvasEdge edge, double widget_dx, double widget_dy);

/* An 8-bit RGB or RGBA ScImage as a texture (the pixels are copied). */
GdkTexture *sc_texture_new_for_image (const ScImage *image);

G_END_DECLS
