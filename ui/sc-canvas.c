#define G_LOG_DOMAIN "scedit-canvas"

#include "sc-canvas.h"

struct _ScCanvas {
  GtkWidget parent_instance;
  GdkTexture *texture;
};

G_DEFINE_FINAL_TYPE (ScCanvas, sc_canvas, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_TEXTURE, N_PROPS };
static GParamSpec *properties[N_PROPS];

/* Zoom to fit: the largest scale at which the whole image shows, never above 1:1 for big images
 * but upscaled for small ones (the live preview is 1/8 of the final size). */
static void
sc_canvas_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  ScCanvas *self = SC_CANVAS (widget);
  if (!self->texture)
    return;
  double w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  double iw = gdk_texture_get_width (self->texture), ih = gdk_texture_get_height (self->texture);
  double margin = 24;
  double scale = MIN ((w - 2 * margin) / iw, (h - 2 * margin) / ih);
  if (scale <= 0)
    return;
  double dw = iw * scale, dh = ih * scale;
  graphene_rect_t r = GRAPHENE_RECT_INIT ((float) ((w - dw) / 2), (float) ((h - dh) / 2), (float) dw, (float) dh);
  gtk_snapshot_append_texture (snapshot, self->texture, &r);
}

static void
sc_canvas_dispose (GObject *object)
{
  g_clear_object (&SC_CANVAS (object)->texture);
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
  gtk_widget_add_css_class (GTK_WIDGET (self), "sc-canvas");
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);
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
