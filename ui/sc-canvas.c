#define G_LOG_DOMAIN "scedit-canvas"

#include "sc-canvas.h"

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

/* Zoom to fit (× the user's zoom): never above 1:1 for big images but upscaled for small ones (the live
 * preview is 1/8 of the final size). */
static gboolean
image_rect (ScCanvas *self, graphene_rect_t *r)
{
  double iw, ih;
  if (!base_size (self, &iw, &ih))
    return FALSE;
  double w = gtk_widget_get_width (GTK_WIDGET (self)), h = gtk_widget_get_height (GTK_WIDGET (self));
  double margin = 24;
  double scale = MIN ((w - 2 * margin) / iw, (h - 2 * margin) / ih) * self->zoom;
  if (scale <= 0)
    return FALSE;
  double dw = iw * scale, dh = ih * scale;
  graphene_rect_init (r, (float) ((w - dw) / 2 + self->pan_x), (float) ((h - dh) / 2 + self->pan_y), (float) dw,
                      (float) dh);
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
  if (!self->stroke->len)
    return;
  on_drag_update (gesture, dx, dy, self);
  g_autoptr (GArray) points = g_steal_pointer (&self->stroke);
  self->stroke = g_array_new (FALSE, FALSE, sizeof (double));
  sc_canvas_stroke (self, (const double *) points->data, points->len / 2, self->tool);
  gtk_widget_queue_draw (GTK_WIDGET (self));
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

  GtkGesture *drag = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), 0); /* primary paints, middle pans */
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (on_drag_end), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (drag));

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
