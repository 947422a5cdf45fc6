#define G_LOG_DOMAIN "scedit-conditions"

#include "sc-conditions-panel.h"

#include "sc-condition-row.h"
#include "sc-tuner-row.h"
#include "sc-window.h"
#include "scedit/tuner_io.h"

#include <adwaita.h>
#include <glib/gi18n.h>

struct _ScConditionsPanel {
  GtkWidget parent_instance;
  GtkWidget *box;
  AdwPreferencesGroup *style_group;
  AdwPreferencesGroup *conditions_group;
  GPtrArray *style_rows;     /* the rows now in the groups, in document order */
  GPtrArray *condition_rows;
  ScDocument *document;
  GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE (ScConditionsPanel, sc_conditions_panel, GTK_TYPE_WIDGET)

static void
clear_rows (AdwPreferencesGroup *group, GPtrArray *rows)
{
  for (guint i = 0; i < rows->len; i++)
    adw_preferences_group_remove (group, g_ptr_array_index (rows, i));
  g_ptr_array_set_size (rows, 0);
}

/* Layers came or went: indices moved, so every row is made anew (there are only a few). */
static void
rebuild (ScConditionsPanel *self)
{
  clear_rows (self->style_group, self->style_rows);
  clear_rows (self->conditions_group, self->condition_rows);
  if (!self->document)
    return;
  for (guint i = 0; i < sc_document_get_n_styles (self->document); i++)
    {
      GtkWidget *row = sc_tuner_row_new (self->document, i);
      g_ptr_array_add (self->style_rows, row);
      adw_preferences_group_add (self->style_group, row);
    }
  for (guint i = 0; i < sc_document_get_n_conditions (self->document); i++)
    {
      GtkWidget *row = sc_condition_row_new (self->document, i);
      g_ptr_array_add (self->condition_rows, row);
      adw_preferences_group_add (self->conditions_group, row);
    }
}

static void
on_style_chosen (GtkNativeDialog *dialog, int response, ScConditionsPanel *self)
{
  g_autoptr (GFile) file = response == GTK_RESPONSE_ACCEPT ? gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog))
                                                           : NULL;
  g_autofree char *path = file ? g_file_get_path (file) : NULL;
  g_clear_object (&self->chooser);
  if (!path || !self->document)
    return;
  /* a quick look at the header, so a wrong file is named now rather than at the next render */
  ScTunerInfo info;
  g_autoptr (GError) error = NULL;
  gboolean ok = sc_tuner_probe (path, &info, &error);
  if (ok && info.kind != SC_TUNER_KIND_SC)
    {
      GtkWidget *win = gtk_widget_get_ancestor (GTK_WIDGET (self), SC_TYPE_WINDOW);
      if (win)
        sc_window_toast (SC_WINDOW (win), _("This file is a controller: add it to a condition instead"));
      sc_tuner_info_clear (&info);
      return;
    }
  if (!ok)
    {
      GtkWidget *win = gtk_widget_get_ancestor (GTK_WIDGET (self), SC_TYPE_WINDOW);
      g_autofree char *msg = g_strdup_printf (_("Could not use the style tuner: %s"), error->message);
      if (win)
        sc_window_toast (SC_WINDOW (win), msg);
      return;
    }
  sc_tuner_info_clear (&info);
  sc_document_add_style (self->document, path);
}

static void
add_style (GtkWidget *widget, const char *action, GVariant *param)
{
  ScConditionsPanel *self = SC_CONDITIONS_PANEL (widget);
  g_clear_object (&self->chooser);
  self->chooser = gtk_file_chooser_native_new (_("Add Style Tuner"), GTK_WINDOW (gtk_widget_get_root (widget)),
                                               GTK_FILE_CHOOSER_ACTION_OPEN, _("_Add"), _("_Cancel"));
  g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("Style Tuners"));
  gtk_file_filter_add_pattern (filter, "*.safetensors");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  g_signal_connect (self->chooser, "response", G_CALLBACK (on_style_chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
add_condition (GtkWidget *widget, const char *action, GVariant *param)
{
  ScConditionsPanel *self = SC_CONDITIONS_PANEL (widget);
  ScControlKind kind;
  if (self->document && sc_control_kind_from_name (g_variant_get_string (param, NULL), &kind, NULL))
    sc_document_add_condition (self->document, kind);
}

static void
sc_conditions_panel_dispose (GObject *object)
{
  ScConditionsPanel *self = SC_CONDITIONS_PANEL (object);
  if (self->chooser)
    {
      g_signal_handlers_disconnect_by_data (self->chooser, self);
      gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
      g_clear_object (&self->chooser);
    }
  if (self->document)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_clear_object (&self->document);
  gtk_widget_dispose_template (GTK_WIDGET (self), SC_TYPE_CONDITIONS_PANEL);
  g_clear_pointer (&self->box, gtk_widget_unparent);
  G_OBJECT_CLASS (sc_conditions_panel_parent_class)->dispose (object);
}

static void
sc_conditions_panel_finalize (GObject *object)
{
  ScConditionsPanel *self = SC_CONDITIONS_PANEL (object);
  g_ptr_array_unref (self->style_rows);
  g_ptr_array_unref (self->condition_rows);
  G_OBJECT_CLASS (sc_conditions_panel_parent_class)->finalize (object);
}

static void
sc_conditions_panel_class_init (ScConditionsPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = sc_conditions_panel_dispose;
  object_class->finalize = sc_conditions_panel_finalize;
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/scedit/Studio/ui/conditions-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, ScConditionsPanel, box);
  gtk_widget_class_bind_template_child (widget_class, ScConditionsPanel, style_group);
  gtk_widget_class_bind_template_child (widget_class, ScConditionsPanel, conditions_group);
  gtk_widget_class_install_action (widget_class, "conditions.add-style", NULL, add_style);
  gtk_widget_class_install_action (widget_class, "conditions.add-condition", "s", add_condition);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
sc_conditions_panel_init (ScConditionsPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->style_rows = g_ptr_array_new ();
  self->condition_rows = g_ptr_array_new ();
}

void
sc_conditions_panel_set_document (ScConditionsPanel *self, ScDocument *document)
{
  g_return_if_fail (SC_IS_CONDITIONS_PANEL (self));
  if (self->document)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_set_object (&self->document, document);
  if (document)
    g_signal_connect_swapped (document, "layers-changed", G_CALLBACK (rebuild), self);
  rebuild (self);
}

GtkWidget *
sc_conditions_panel_get_style_row (ScConditionsPanel *self, guint index)
{
  g_return_val_if_fail (SC_IS_CONDITIONS_PANEL (self), NULL);
  return index < self->style_rows->len ? g_ptr_array_index (self->style_rows, index) : NULL;
}

GtkWidget *
sc_conditions_panel_get_condition_row (ScConditionsPanel *self, guint index)
{
  g_return_val_if_fail (SC_IS_CONDITIONS_PANEL (self), NULL);
  return index < self->condition_rows->len ? g_ptr_array_index (self->condition_rows, index) : NULL;
}
