#define G_LOG_DOMAIN "scedit-canvas"

#include "sc-canvas.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

struct _ScCanvas {
  GtkWidget parent_instance;
  GdkTexture *texture;
  ScDocument *document;
  GdkTexture *layer;        /* the active layer as drawn over the image, NULL none */
  int layer_width, layer_height;
  double layer_opacity;

  ScPaintToolKind tool;
  double brush_size, hardness;
  GdkRGBA color;

  double zoom, pan_x, pan_y;
  gboolean space_down, panning;
  double drag_x, drag_y;    /* widget point where the drag began */
  double pan_start_x, pan_start_y;
  GArray *stroke;           /* double x, y in layer pixels while painting */

  int handle_edge;          /* the outpaint handle being dragged (ScCanvasEdge), -1 none */
  double handle_dx, handle_dy; /* its drag so far, in widget pixels */
  int hover_edge;           /* the handle under the pointer, -1 none */
};

G_DEFINE_FINAL_TYPE (ScCanvas, sc_canvas, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_TEXTURE, N_PROPS };
static GParamSpec *properties[N_PROPS];

/* The size everything is laid out by: the image, or the layer alone before the first render. */
static gboolean
base_size (ScCanvas *self, double *w, double *h)
{
  if (self->texture)
    {
      *w = gdk_texture_get_width (self->texture);
      *h = gdk_texture_get_height (self->texture);
      return TRUE;
    }
  *w = self->layer_width;
  *h = self->layer_height;
  return self->layer != NULL;
}

/* The document's picture and the margins waiting for the next render (margins may be NULL), when the
 * canvas shows that picture as it is — not a render's preview of another size: what the handles extend. */
static gboolean
extension_base (ScCanvas *self, int *width, int *height, int margins[4])
{
  int w = 0, h = 0;
  if (!self->document || !self->texture
      || !sc_document_get_layer_pixels (self->document, SC_LAYER_IMAGE, 0, &w, &h, NULL)
      || w != gdk_texture_get_width (self->texture) || h != gdk_texture_get_height (self->texture))
    return FALSE;
  if (width)
    *width = w;
  if (height)
    *height = h;
  if (margins)
    sc_document_get_extension (self->document, margins);
  return TRUE;
}

/* Zoom to fit (× the user's zoom): never above 1:1 for big images but upscaled for small ones (the live
 * preview is 1/8 of the final size). Margins waiting to be outpainted are fitted too, so the area they
 * add stays in view. */
static gboolean
image_rect (ScCanvas *self, graphene_rect_t *r)
{
  double iw, ih;
  if (!base_size (self, &iw, &ih))
    return FALSE;
  int m[4] = { 0, 0, 0, 0 };
  if (!extension_base (self, NULL, NULL, m))
    memset (m, 0, sizeof m);
  double ew = iw + m[0] + m[2], eh = ih + m[1] + m[3];
  double w = gtk_widget_get_width (GTK_WIDGET (self)), h = gtk_widget_get_height (GTK_WIDGET (self));
  double margin = 24;
  double scale = MIN ((w - 2 * margin) / ew, (h - 2 * margin) / eh) * self->zoom;
  if (scale <= 0)
    return FALSE;
  double x = (w - ew * scale) / 2 + self->pan_x + m[0] * scale, y = (h - eh * scale) / 2 + self->pan_y + m[1] * scale;
  graphene_rect_init (r, (float) x, (float) y, (float) (iw * scale), (float) (ih * scale));
  return TRUE;
}

gboolean
sc_canvas_widget_to_image (ScCanvas *self, double wx, double wy, double *x, double *y)
{
  g_return_val_if_fail (SC_IS_CANVAS (self), FALSE);
  graphene_rect_t r;
  if (!self->layer_width || !image_rect (self, &r))
    return FALSE;
  *x = (wx - r.origin.x) / r.size.width * self->layer_width;
  *y = (wy - r.origin.y) / r.size.height * self->layer_height;
  return TRUE;
}

/* ---- outpainting handles ---- */

#define HANDLE_GAP 3      /* between the picture (with its margins) and a handle */
#define HANDLE_THICK 6
#define HANDLE_LENGTH 40
#define HANDLE_GRAB 8     /* the pointer may miss a handle by this much */

static gboolean
handles_on (ScCanvas *self)
{
  return self->stroke->len == 0 && !self->panning && extension_base (self, NULL, NULL, NULL);
}

/* The picture with its pending margins, in widget coordinates, and widget pixels per picture pixel. */
static gboolean
extended_rect (ScCanvas *self, graphene_rect_t *out, double *scale)
{
  int w, h, m[4];
  graphene_rect_t r;
  if (!extension_base (self, &w, &h, m) || !image_rect (self, &r))
    return FALSE;
  double s = r.size.width / w;
  graphene_rect_init (out, (float) (r.origin.x - m[0] * s), (float) (r.origin.y - m[1] * s),
                      (float) ((w + m[0] + m[2]) * s), (float) ((h + m[1] + m[3]) * s));
  if (scale)
    *scale = s;
  return TRUE;
}

/* A handle centred outside one edge of e: as drawn, or (grab) the area that takes the pointer, which
 * reaches the edge but never into the picture. */
static graphene_rect_t
handle_rect (const graphene_rect_t *e, int edge, gboolean grab)
{
  gboolean upright = edge == SC_CANVAS_EDGE_LEFT || edge == SC_CANVAS_EDGE_RIGHT;
  double along = upright ? e->size.height : e->size.width;
  double start = grab ? 0 : HANDLE_GAP; /* from the edge outwards */
  double depth = grab ? HANDLE_GAP + HANDLE_THICK + HANDLE_GRAB : HANDLE_THICK;
  double len = MIN (HANDLE_LENGTH, along) + (grab ? 2 * HANDLE_GRAB : 0);
  double cx = e->origin.x + e->size.width / 2, cy = e->origin.y + e->size.height / 2;
  double x, y;
  switch (edge)
    {
    case SC_CANVAS_EDGE_LEFT: x = e->origin.x - start - depth, y = cy - len / 2; break;
    case SC_CANVAS_EDGE_RIGHT: x = e->origin.x + e->size.width + start, y = cy - len / 2; break;
    case SC_CANVAS_EDGE_TOP: x = cx - len / 2, y = e->origin.y - start - depth; break;
    default: x = cx - len / 2, y = e->origin.y + e->size.height + start; break;
    }
  graphene_rect_t r;
  graphene_rect_init (&r, (float) x, (float) y, (float) (upright ? depth : len), (float) (upright ? len : depth));
  return r;
}

gboolean
sc_canvas_get_handle_rect (ScCanvas *self, ScCanvasEdge edge, graphene_rect_t *rect)
{
  g_return_val_if_fail (SC_IS_CANVAS (self) && (guint) edge <= SC_CANVAS_EDGE_BOTTOM && rect, FALSE);
  graphene_rect_t e;
  if (!handles_on (self) || !extended_rect (self, &e, NULL))
    return FALSE;
  *rect = handle_rect (&e, edge, TRUE);
  return TRUE;
}

static int
handle_at (ScCanvas *self, double x, double y)
{
  graphene_rect_t r;
  for (int edge = SC_CANVAS_EDGE_LEFT; edge <= SC_CANVAS_EDGE_BOTTOM; edge++)
    if (sc_canvas_get_handle_rect (self, edge, &r) && graphene_rect_contains_point (&r, &GRAPHENE_POINT_INIT (x, y)))
      return edge;
  return -1;
}

int
sc_canvas_get_handle_amount (ScCanvas *self, ScCanvasEdge edge, double widget_dx, double widget_dy,
                             gboolean *at_limit)
{
  g_return_val_if_fail (SC_IS_CANVAS (self) && (guint) edge <= SC_CANVAS_EDGE_BOTTOM, 0);
  if (at_limit)
    *at_limit = FALSE;
  int w, h, m[4];
  double scale;
  graphene_rect_t e;
  if (!handles_on (self) || !extension_base (self, &w, &h, m) || !extended_rect (self, &e, &scale))
    return 0;
  double outwards = edge == SC_CANVAS_EDGE_LEFT    ? -widget_dx
                    : edge == SC_CANVAS_EDGE_RIGHT ? widget_dx
                    : edge == SC_CANVAS_EDGE_TOP   ? -widget_dy
                                                   : widget_dy;
  outwards /= scale;
  if (outwards <= 0)
    return 0; /* inwards: the handles only add */
  /* what the document keeps per side, and what the engine's canvas holds across */
  int across = edge == SC_CANVAS_EDGE_LEFT || edge == SC_CANVAS_EDGE_RIGHT ? w + m[0] + m[2] : h + m[1] + m[3];
  int limit = MIN (SC_DOCUMENT_EXTEND_MAX - m[edge], SC_CANVAS_EXTEND_MAX_SIDE - across);
  limit = MAX (limit, 0) / SC_CANVAS_EXTEND_STEP * SC_CANVAS_EXTEND_STEP;
  double amount = round (outwards / SC_CANVAS_EXTEND_STEP) * SC_CANVAS_EXTEND_STEP;
  if (amount >= limit)
    {
      if (at_limit)
        *at_limit = TRUE;
      return limit;
    }
  return (int) amount;
}

static void
set_hover (ScCanvas *self, int edge)
{
  if (self->hover_edge == edge)
    return;
  self->hover_edge = edge;
  GtkWidget *widget = GTK_WIDGET (self);
  gtk_widget_set_cursor_from_name (widget, edge < 0 ? NULL
                                           : edge == SC_CANVAS_EDGE_LEFT || edge == SC_CANVAS_EDGE_RIGHT ? "ew-resize"
                                                                                                        : "ns-resize");
  gtk_widget_set_tooltip_text (widget, edge < 0 ? NULL : _("Drag outwards to extend the picture"));
  gtk_widget_queue_draw (widget);
}

static void
handle_drag_begin (ScCanvas *self, int edge)
{
  self->handle_edge = edge;
  self->handle_dx = self->handle_dy = 0;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
handle_drag_update (ScCanvas *self, double dx, double dy)
{
  self->handle_dx = dx;
  self->handle_dy = dy;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Adds the snapped amount to the document's margins (one undo step); the canvas then refits. */
static int
handle_drag_end (ScCanvas *self, double dx, double dy)
{
  int edge = self->handle_edge;
  int amount = sc_canvas_get_handle_amount (self, edge, dx, dy, NULL);
  self->handle_edge = -1;
  set_hover (self, -1); /* the handle moves away: the next motion finds what is under the pointer */
  if (amount > 0)
    {
      int add[4] = { 0, 0, 0, 0 };
      add[edge] = amount;
      sc_document_extend (self->document, add[0], add[1], add[2], add[3]);
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
  return amount;
}

int
sc_canvas_drag_handle (ScCanvas *self, ScCanvasEdge edge, double widget_dx, double widget_dy)
{
  g_return_val_if_fail (SC_IS_CANVAS (self) && (guint) edge <= SC_CANVAS_EDGE_BOTTOM, 0);
  if (self->handle_edge >= 0 || !handles_on (self))
    return 0;
  handle_drag_begin (self, edge);
  handle_drag_update (self, widget_dx, widget_dy);
  return handle_drag_end (self, widget_dx, widget_dy);
}

static GdkRGBA
style_color (GtkWidget *widget, const char *name, GdkRGBA fallback)
{
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS /* GtkStyleContext: its replacements are 4.10, our floor 4.8 */
  GdkRGBA c;
  if (!gtk_style_context_lookup_color (gtk_widget_get_style_context (widget), name, &c))
    c = fallback;
  G_GNUC_END_IGNORE_DEPRECATIONS
  return c;
}

/* Checkers where pixels will be added, a dashed outline round the picture-to-be, the four handles
 * (unless a stroke or pan is under way) and, while one is dragged, the size it adds. */
static void
snapshot_extension (ScCanvas *self, GtkSnapshot *snapshot)
{
  GtkWidget *widget = GTK_WIDGET (self);
  graphene_rect_t r, e;
  double scale;
  if (!image_rect (self, &r) || !extended_rect (self, &e, &scale))
    return;
  GdkRGBA fg;
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  G_GNUC_END_IGNORE_DEPRECATIONS
  GdkRGBA accent = style_color (widget, "accent_color", (GdkRGBA) { 0.21f, 0.52f, 0.89f, 1 });
  GdkRGBA accent_bg = style_color (widget, "accent_bg_color", (GdkRGBA) { 0.21f, 0.52f, 0.89f, 1 });
  GdkRGBA accent_fg = style_color (widget, "accent_fg_color", (GdkRGBA) { 1, 1, 1, 1 });

  int edge = self->handle_edge, amount = 0;
  gboolean at_limit = FALSE;
  graphene_rect_t p = e; /* the proposal: pending margins plus the drag */
  if (edge >= 0)
    {
      amount = sc_canvas_get_handle_amount (self, edge, self->handle_dx, self->handle_dy, &at_limit);
      float a = (float) (amount * scale);
      if (edge == SC_CANVAS_EDGE_LEFT)
        p.origin.x -= a;
      if (edge == SC_CANVAS_EDGE_TOP)
        p.origin.y -= a;
      if (edge == SC_CANVAS_EDGE_LEFT || edge == SC_CANVAS_EDGE_RIGHT)
        p.size.width += a;
      else
        p.size.height += a;
    }

  double ww = gtk_widget_get_width (widget), wh = gtk_widget_get_height (widget);
  if (!graphene_rect_equal (&p, &r))
    {
      cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, (float) ww, (float) wh));
      cairo_save (cr);
      cairo_set_fill_rule (cr, CAIRO_FILL_RULE_EVEN_ODD);
      cairo_rectangle (cr, p.origin.x, p.origin.y, p.size.width, p.size.height);
      cairo_rectangle (cr, r.origin.x, r.origin.y, r.size.width, r.size.height);
      cairo_clip (cr);
      gdk_cairo_set_source_rgba (cr, &(GdkRGBA) { accent.red, accent.green, accent.blue, 0.08f });
      cairo_paint (cr);
      const double sq = 8;
      for (double y = floor (p.origin.y / sq) * sq; y < p.origin.y + p.size.height; y += sq)
        for (double x = floor (p.origin.x / sq) * sq; x < p.origin.x + p.size.width; x += sq)
          if (((long) floor (x / sq) + (long) floor (y / sq)) & 1)
            cairo_rectangle (cr, x, y, sq, sq);
      gdk_cairo_set_source_rgba (cr, &(GdkRGBA) { accent.red, accent.green, accent.blue, 0.16f });
      cairo_fill (cr);
      cairo_restore (cr);
      const double dash[] = { 6, 4 };
      cairo_set_dash (cr, dash, 2, 0);
      cairo_set_line_width (cr, 1.5);
      cairo_rectangle (cr, p.origin.x + 0.75, p.origin.y + 0.75, p.size.width - 1.5, p.size.height - 1.5);
      gdk_cairo_set_source_rgba (cr, &accent);
      cairo_stroke (cr);
      cairo_destroy (cr);
    }

  if (!handles_on (self))
    return;
  for (int i = SC_CANVAS_EDGE_LEFT; i <= SC_CANVAS_EDGE_BOTTOM; i++)
    {
      graphene_rect_t hr = handle_rect (&p, i, FALSE);
      gboolean hot = edge >= 0 ? i == edge : i == self->hover_edge;
      GdkRGBA c = hot ? accent : fg;
      if (!hot)
        c.alpha *= 0.4f; /* always there, but quiet */
      GskRoundedRect rr;
      gsk_rounded_rect_init_from_rect (&rr, &hr, HANDLE_THICK / 2.0f);
      gtk_snapshot_push_rounded_clip (snapshot, &rr);
      gtk_snapshot_append_color (snapshot, &c, &hr);
      gtk_snapshot_pop (snapshot);
    }

  if (edge < 0)
    return;
  /* TRANSLATORS: the pixels a dragged outpaint handle adds to the picture */
  g_autofree char *text = at_limit ? g_strdup_printf (_("+%d px (limit)"), amount)
                                    : g_strdup_printf (_("+%d px"), amount);
  g_autoptr (PangoLayout) layout = gtk_widget_create_pango_layout (widget, text);
  int tw, th;
  pango_layout_get_pixel_size (layout, &tw, &th);
  const double pad = 6, away = 8;
  graphene_rect_t hr = handle_rect (&p, edge, FALSE);
  double lx = hr.origin.x + hr.size.width / 2 - tw / 2.0, ly = hr.origin.y + hr.size.height / 2 - th / 2.0;
  /* beyond the handle, or before it where that leaves the widget */
  double before_x = hr.origin.x - away - pad - tw, after_x = hr.origin.x + hr.size.width + away + pad;
  double before_y = hr.origin.y - away - pad - th, after_y = hr.origin.y + hr.size.height + away + pad;
  switch (edge)
    {
    case SC_CANVAS_EDGE_LEFT: lx = before_x >= pad ? before_x : after_x; break;
    case SC_CANVAS_EDGE_RIGHT: lx = after_x + tw + pad <= ww ? after_x : before_x; break;
    case SC_CANVAS_EDGE_TOP: ly = before_y >= pad ? before_y : after_y; break;
    default: ly = after_y + th + pad <= wh ? after_y : before_y; break;
    }
  lx = CLAMP (lx, pad, MAX (pad, ww - pad - tw)); /* inside the widget, even when the drag leaves it */
  ly = CLAMP (ly, pad, MAX (pad, wh - pad - th));
  graphene_rect_t bg = GRAPHENE_RECT_INIT ((float) (lx - pad), (float) (ly - pad / 2), (float) (tw + 2 * pad),
                                           (float) (th + pad));
  GskRoundedRect rr;
  gsk_rounded_rect_init_from_rect (&rr, &bg, 6);
  gtk_snapshot_push_rounded_clip (snapshot, &rr);
  gtk_snapshot_append_color (snapshot, &accent_bg, &bg);
  gtk_snapshot_pop (snapshot);
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT ((float) lx, (float) ly));
  gtk_snapshot_append_layout (snapshot, layout, &accent_fg);
  gtk_snapshot_restore (snapshot);
}

static void
sc_canvas_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  ScCanvas *self = SC_CANVAS (widget);
  graphene_rect_t r;
  if (!image_rect (self, &r))
    return;
  if (self->texture)
    gtk_snapshot_append_texture (snapshot, self->texture, &r);
  if (self->layer)
    {
      gtk_snapshot_push_opacity (snapshot, self->layer_opacity);
      gtk_snapshot_append_texture (snapshot, self->layer, &r);
      gtk_snapshot_pop (snapshot);
    }
  if (self->stroke && self->stroke->len >= 2 && self->layer_width)
    {
      /* the stroke in progress, as a thin guide; the pixels change when it ends */
      cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, gtk_widget_get_width (widget),
                                                                               gtk_widget_get_height (widget)));
      double sx = r.size.width / self->layer_width, sy = r.size.height / self->layer_height;
      guint n = self->stroke->len / 2;
      guint first = self->tool == SC_PAINT_LINE ? n - 1 : 0;
      const double *p = (const double *) self->stroke->data;
      cairo_move_to (cr, r.origin.x + p[0] * sx, r.origin.y + p[1] * sy);
      for (guint i = MAX (first, 1); i < n; i++)
        cairo_line_to (cr, r.origin.x + p[2 * i] * sx, r.origin.y + p[2 * i + 1] * sy);
      cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
      cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
      cairo_set_line_width (cr, MAX (1, self->brush_size * sx));
      cairo_set_source_rgba (cr, 0.2, 0.5, 1.0, 0.5);
      cairo_stroke (cr);
      cairo_destroy (cr);
    }
  snapshot_extension (self, snapshot);
}

/* ---- the active layer ---- */

static void
update_layer (ScCanvas *self)
{
  g_clear_object (&self->layer);
  self->layer_width = self->layer_height = 0;
  if (self->document)
    {
      guint index;
      ScLayerKind kind = sc_document_get_active_layer (self->document, &index);
      int w, h, ch;
      GBytes *pixels = sc_document_get_layer_pixels (self->document, kind, index, &w, &h, &ch);
      if (!pixels && kind != SC_LAYER_IMAGE)
        {
          /* nothing painted yet: strokes will make a layer at the image size */
          if (self->texture)
            {
              w = gdk_texture_get_width (self->texture);
              h = gdk_texture_get_height (self->texture);
            }
          else
            g_object_get (self->document, "width", &w, "height", &h, NULL);
        }
      self->layer_width = w;
      self->layer_height = h;
      if (pixels && ch == 3)
        {
          self->layer = gdk_memory_texture_new (w, h, GDK_MEMORY_R8G8B8, pixels, (gsize) w * 3);
          self->layer_opacity = kind == SC_LAYER_IMAGE ? 1.0 : 0.6;
        }
      else if (pixels)
        {
          /* the mask: red where it repaints, clear where it keeps */
          const guint8 *m = g_bytes_get_data (pixels, NULL);
          guint8 *rgba = g_malloc ((gsize) w * h * 4);
          for (gsize i = 0; i < (gsize) w * h; i++)
            {
              rgba[4 * i] = 224, rgba[4 * i + 1] = 27, rgba[4 * i + 2] = 36;
              rgba[4 * i + 3] = m[i];
            }
          g_autoptr (GBytes) bytes = g_bytes_new_take (rgba, (gsize) w * h * 4);
          self->layer = gdk_memory_texture_new (w, h, GDK_MEMORY_R8G8B8A8, bytes, (gsize) w * 4);
          self->layer_opacity = 0.5;
        }
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
sc_canvas_set_document (ScCanvas *self, ScDocument *document)
{
  g_return_if_fail (SC_IS_CANVAS (self));
  if (self->document)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_set_object (&self->document, document);
  if (document)
    {
      g_signal_connect_swapped (document, "changed", G_CALLBACK (update_layer), self);
      g_signal_connect_swapped (document, "layers-changed", G_CALLBACK (update_layer), self);
      g_signal_connect_swapped (document, "active-layer-changed", G_CALLBACK (update_layer), self);
    }
  update_layer (self);
}

/* ---- painting ---- */

static void
rgba_to_bytes (const GdkRGBA *c, guint8 out[4])
{
  out[0] = (guint8) lround (CLAMP (c->red, 0, 1) * 255);
  out[1] = (guint8) lround (CLAMP (c->green, 0, 1) * 255);
  out[2] = (guint8) lround (CLAMP (c->blue, 0, 1) * 255);
  out[3] = 255;
}

gboolean
sc_canvas_stroke (ScCanvas *self, const double *points_xy, guint n, ScPaintToolKind tool)
{
  g_return_val_if_fail (SC_IS_CANVAS (self), FALSE);
  if (!self->document || n == 0)
    return FALSE;
  ScPaintTool t = { .kind = tool, .size = self->brush_size, .hardness = self->hardness };
  guint index;
  ScLayerKind kind = sc_document_get_active_layer (self->document, &index);
  /* what each layer means decides the colours: edges are a thin white pen on black, depth a grey value,
   * the mask white (repaint) on black (keep) */
  memset (t.color, 255, 4);
  memset (t.background, 0, 4);
  if (kind == SC_LAYER_IMAGE)
    {
      rgba_to_bytes (&self->color, t.color);
      memset (t.background, 255, 4);
    }
  else if (kind == SC_LAYER_CONDITION)
    {
      ScControlKind ck = sc_document_get_condition_kind (self->document, index);
      if (ck == SC_CONTROL_COLOR)
        rgba_to_bytes (&self->color, t.color);
      else if (ck == SC_CONTROL_DEPTH)
        {
          guint8 grey = (guint8) lround (CLAMP (0.299 * self->color.red + 0.587 * self->color.green
                                                + 0.114 * self->color.blue, 0, 1) * 255);
          memset (t.color, grey, 3);
        }
    }
  return sc_document_paint (self->document, &t, points_xy, n);
}

static void
on_drag_begin (GtkGestureDrag *gesture, double x, double y, ScCanvas *self)
{
  guint button = gtk_gesture_single_get_current_button (GTK_GESTURE_SINGLE (gesture));
  self->drag_x = x;
  self->drag_y = y;
  self->panning = button == GDK_BUTTON_MIDDLE || self->space_down;
  if (self->panning)
    {
      self->pan_start_x = self->pan_x;
      self->pan_start_y = self->pan_y;
      return;
    }
  int edge = button == GDK_BUTTON_PRIMARY ? handle_at (self, x, y) : -1;
  if (edge >= 0)
    {
      gtk_widget_grab_focus (GTK_WIDGET (self));
      handle_drag_begin (self, edge);
      return;
    }
  double ix, iy;
  if (button != GDK_BUTTON_PRIMARY || !self->document || !sc_canvas_widget_to_image (self, x, y, &ix, &iy))
    {
      gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_DENIED);
      return;
    }
  gtk_widget_grab_focus (GTK_WIDGET (self));
  g_array_set_size (self->stroke, 0);
  double p[2] = { ix, iy };
  g_array_append_vals (self->stroke, p, 2);
}

static void
on_drag_update (GtkGestureDrag *gesture, double dx, double dy, ScCanvas *self)
{
  if (self->panning)
    {
      self->pan_x = self->pan_start_x + dx;
      self->pan_y = self->pan_start_y + dy;
      gtk_widget_queue_draw (GTK_WIDGET (self));
      return;
    }
  if (self->handle_edge >= 0)
    {
      handle_drag_update (self, dx, dy);
      return;
    }
  double ix, iy;
  if (!self->stroke->len || !sc_canvas_widget_to_image (self, self->drag_x + dx, self->drag_y + dy, &ix, &iy))
    return;
  double p[2] = { ix, iy };
  g_array_append_vals (self->stroke, p, 2);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_drag_end (GtkGestureDrag *gesture, double dx, double dy, ScCanvas *self)
{
  if (self->panning)
    {
      self->panning = FALSE;
      return;
    }
  if (self->handle_edge >= 0)
    {
      handle_drag_end (self, dx, dy);
      return;
    }
  if (!self->stroke->len)
    return;
  on_drag_update (gesture, dx, dy, self);
  g_autoptr (GArray) points = g_steal_pointer (&self->stroke);
  self->stroke = g_array_new (FALSE, FALSE, sizeof (double));
  sc_canvas_stroke (self, (const double *) points->data, points->len / 2, self->tool);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* A cancelled drag adds nothing ("cancel" comes before "drag-end"). */
static void
on_drag_cancel (GtkGesture *gesture, GdkEventSequence *sequence, ScCanvas *self)
{
  if (self->handle_edge < 0)
    return;
  self->handle_edge = -1;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_motion (GtkEventControllerMotion *motion, double x, double y, ScCanvas *self)
{
  if (self->handle_edge < 0)
    set_hover (self, handle_at (self, x, y));
}

static void
on_leave (GtkEventControllerMotion *motion, ScCanvas *self)
{
  if (self->handle_edge < 0)
    set_hover (self, -1);
}

static gboolean
on_scroll (GtkEventControllerScroll *scroll, double dx, double dy, ScCanvas *self)
{
  GdkModifierType mods = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (scroll));
  if (!(mods & GDK_CONTROL_MASK))
    return FALSE;
  sc_canvas_set_zoom (self, self->zoom * pow (1.1, -dy));
  return TRUE;
}

static gboolean
on_key_pressed (GtkEventControllerKey *key, guint keyval, guint keycode, GdkModifierType state, ScCanvas *self)
{
  if (keyval != GDK_KEY_space)
    return FALSE;
  self->space_down = TRUE;
  return TRUE;
}

static void
on_key_released (GtkEventControllerKey *key, guint keyval, guint keycode, GdkModifierType state, ScCanvas *self)
{
  if (keyval == GDK_KEY_space)
    self->space_down = FALSE;
}

/* ---- tool settings ---- */

void
sc_canvas_set_tool (ScCanvas *self, ScPaintToolKind tool)
{
  g_return_if_fail (SC_IS_CANVAS (self));
  self->tool = tool;
}

ScPaintToolKind
sc_canvas_get_tool (ScCanvas *self)
{
  g_return_val_if_fail (SC_IS_CANVAS (self), SC_PAINT_BRUSH);
  return self->tool;
}

void
sc_canvas_set_brush_size (ScCanvas *self, double size)
{
  g_return_if_fail (SC_IS_CANVAS (self));
  self->brush_size = MAX (size, 1);
}

void
sc_canvas_set_hardness (ScCanvas *self, double hardness)
{
  g_return_if_fail (SC_IS_CANVAS (self));
  self->hardness = CLAMP (hardness, 0, 1);
}

void
sc_canvas_set_color (ScCanvas *self, const GdkRGBA *color)
{
  g_return_if_fail (SC_IS_CANVAS (self) && color);
  self->color = *color;
}

void
sc_canvas_set_zoom (ScCanvas *self, double zoom)
{
  g_return_if_fail (SC_IS_CANVAS (self));
  self->zoom = CLAMP (zoom, 0.1, 32);
  if (self->zoom == 1)
    self->pan_x = self->pan_y = 0;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

double
sc_canvas_get_zoom (ScCanvas *self)
{
  g_return_val_if_fail (SC_IS_CANVAS (self), 1);
  return self->zoom;
}

/* ---- GObject ---- */

static void
sc_canvas_dispose (GObject *object)
{
  ScCanvas *self = SC_CANVAS (object);
  sc_canvas_set_document (self, NULL);
  g_clear_object (&self->texture);
  g_clear_object (&self->layer);
  g_clear_pointer (&self->stroke, g_array_unref);
  G_OBJECT_CLASS (sc_canvas_parent_class)->dispose (object);
}

static void
sc_canvas_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_TEXTURE: g_value_set_object (value, SC_CANVAS (object)->texture); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sc_canvas_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_TEXTURE: sc_canvas_set_texture (SC_CANVAS (object), g_value_get_object (value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sc_canvas_class_init (ScCanvasClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = sc_canvas_dispose;
  object_class->get_property = sc_canvas_get_property;
  object_class->set_property = sc_canvas_set_property;
  widget_class->snapshot = sc_canvas_snapshot;
  properties[PROP_TEXTURE] = g_param_spec_object ("texture", NULL, NULL, GDK_TYPE_TEXTURE,
                                                  G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  gtk_widget_class_set_css_name (widget_class, "sc-canvas");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
sc_canvas_init (ScCanvas *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  gtk_widget_add_css_class (widget, "sc-canvas");
  gtk_widget_set_overflow (widget, GTK_OVERFLOW_HIDDEN);
  gtk_widget_set_focusable (widget, TRUE);
  self->zoom = 1;
  self->brush_size = 8;
  self->hardness = 0.8;
  self->color = (GdkRGBA) { 1, 1, 1, 1 };
  self->stroke = g_array_new (FALSE, FALSE, sizeof (double));
  self->handle_edge = self->hover_edge = -1;

  GtkGesture *drag = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), 0); /* primary paints, middle pans */
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (on_drag_end), self);
  g_signal_connect (drag, "cancel", G_CALLBACK (on_drag_cancel), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (drag));

  GtkEventController *motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (widget, motion);

  GtkEventController *scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  g_signal_connect (scroll, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (widget, scroll);

  GtkEventController *key = gtk_event_controller_key_new ();
  g_signal_connect (key, "key-pressed", G_CALLBACK (on_key_pressed), self);
  g_signal_connect (key, "key-released", G_CALLBACK (on_key_released), self);
  gtk_widget_add_controller (widget, key);
}

GtkWidget *
sc_canvas_new (void)
{
  return g_object_new (SC_TYPE_CANVAS, NULL);
}

void
sc_canvas_set_texture (ScCanvas *self, GdkTexture *texture)
{
  g_return_if_fail (SC_IS_CANVAS (self));
  if (!g_set_object (&self->texture, texture))
    return;
  if (!self->layer)
    update_layer (self); /* a layer not painted yet takes the size of the image shown */
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TEXTURE]);
}

GdkTexture *
sc_canvas_get_texture (ScCanvas *self)
{
  g_return_val_if_fail (SC_IS_CANVAS (self), NULL);
  return self->texture;
}

GdkTexture *
sc_texture_new_for_image (const ScImage *image)
{
  g_return_val_if_fail (image && image->bit_depth == 8 && (image->channels == 3 || image->channels == 4), NULL);
  gsize stride = (gsize) image->width * (gsize) image->channels;
  g_autoptr (GBytes) bytes = g_bytes_new (image->data, stride * (gsize) image->height);
  return gdk_memory_texture_new (image->width, image->height,
                                 image->channels == 3 ? GDK_MEMORY_R8G8B8 : GDK_MEMORY_R8G8B8A8, bytes, stride);
}
