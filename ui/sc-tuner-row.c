#define G_LOG_DOMAIN "scedit-tuner-row"

#include "sc-tuner-row.h"

#include <glib/gi18n.h>
#include <string.h>

struct _ScTunerRow {
  AdwActionRow parent_instance;
  GtkAdjustment *strength_adjustment;
  ScDocument *document;
  guint index;
};

G_DEFINE_FINAL_TYPE (ScTunerRow, sc_tuner_row, ADW_TYPE_ACTION_ROW)

static void
on_strength_changed (GtkAdjustment *adjustment, ScTunerRow *self)
{
  sc_document_set_style_strength (self->document, self->index, gtk_adjustment_get_value (adjustment));
}

/* The strength may change from outside (an opened image restores it). */
static void
sync_strength (ScTunerRow *self)
{
  if (self->index < sc_document_get_n_styles (self->document))
    gtk_adjustment_set_value (self->strength_adjustment, sc_document_get_style_strength (self->document, self->index));
}

static void
remove_tuner (GtkWidget *widget, const char *action, GVariant *param)
{
  ScTunerRow *self = SC_TUNER_ROW (widget);
  /* the document rebuilds the list, which drops this row: keep it alive until we return */
  g_autoptr (ScTunerRow) hold = g_object_ref (self);
  sc_document_remove_style (self->document, self->index);
}

static void
sc_tuner_row_dispose (GObject *object)
{
  ScTunerRow *self = SC_TUNER_ROW (object);
  if (self->document)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_clear_object (&self->document);
  G_OBJECT_CLASS (sc_tuner_row_parent_class)->dispose (object);
}

static void
sc_tuner_row_class_init (ScTunerRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = sc_tuner_row_dispose;
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/scedit/Studio/ui/tuner-row.ui");
  gtk_widget_class_bind_template_child (widget_class, ScTunerRow, strength_adjustment);
  gtk_widget_class_install_action (widget_class, "tuner.remove", NULL, remove_tuner);
}

static void
sc_tuner_row_init (ScTunerRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
sc_tuner_row_new (ScDocument *document, guint index)
{
  g_return_val_if_fail (SC_IS_DOCUMENT (document), NULL);
  ScTunerRow *self = g_object_new (SC_TYPE_TUNER_ROW, NULL);
  self->document = g_object_ref (document);
  self->index = index;
  g_autofree char *name = g_path_get_basename (sc_document_get_style_path (document, index));
  char *dot = strrchr (name, '.');
  if (dot && dot != name)
    *dot = '\0'; /* "watercolor.safetensors" → "watercolor" */
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self), name);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self), sc_document_get_style_path (document, index));
  gtk_adjustment_set_value (self->strength_adjustment, sc_document_get_style_strength (document, index));
  g_signal_connect (self->strength_adjustment, "value-changed", G_CALLBACK (on_strength_changed), self);
  g_signal_connect_swapped (document, "changed", G_CALLBACK (sync_strength), self);
  return GTK_WIDGET (self);
}

GtkAdjustment *
sc_tuner_row_get_strength_adjustment (ScTunerRow *self)
{
  g_return_val_if_fail (SC_IS_TUNER_ROW (self), NULL);
  return self->strength_adjustment;
}
