/* Painting on 8-bit pixel buffers (grey, RGB or RGBA): brush and eraser strokes with a soft edge, straight
 * lines and flood fill. GTK-free so the maths is tested without a display. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  SC_PAINT_BRUSH,
  SC_PAINT_ERASER,
  SC_PAINT_LINE,
  SC_PAINT_FILL,
} ScPaintToolKind;

typedef struct {
  guint8 *data;       /* rows of width × channels bytes, no padding */
  int width, height;
  int channels;       /* 1, 3 or 4 */
} ScPaintBuffer;

typedef struct {
  int x, y, width, height; /* width 0: empty */
} ScPaintRect;

typedef struct {
  ScPaintToolKind kind;
  double size;        /* diameter in pixels */
  double hardness;    /* 1: hard edge; 0: the coverage falls off linearly from the centre */
  guint8 color[4];    /* what the brush, line and fill lay down (the first `channels` bytes) */
  guint8 background[4]; /* what the eraser lays down */
} ScPaintTool;

/* How much of a dab of `radius` covers a pixel centre at `distance`: 1 inside radius × hardness, then
 * falling linearly to 0 at the radius. */
double sc_paint_coverage (double distance, double radius, double hardness);

/* Applies the tool along points (x, y pairs in pixel units; pixel (i, j) spans [i, i+1) × [j, j+1)). The
 * brush and eraser follow every point, the line joins the first and last, the fill starts at the first
 * (4-connected, same value). Each pixel is blended once per call, by its largest coverage. Returns the
 * pixels touched. */
ScPaintRect sc_paint_apply (ScPaintBuffer *buffer, const ScPaintTool *tool, const double *points, guint n_points);

/* Copies rect out of / into a buffer (rect.width × rect.height × channels bytes). */
GBytes *sc_paint_buffer_copy_rect (const ScPaintBuffer *buffer, ScPaintRect rect);
void sc_paint_buffer_put_rect (ScPaintBuffer *buffer, ScPaintRect rect, GBytes *pixels);

G_END_DECLS
