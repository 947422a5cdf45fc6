#define G_LOG_DOMAIN "scedit-preferences"

#include "sc-preferences-window.h"

#include <glib/gi18n.h>

struct _ScPreferencesWindow {
  AdwPreferencesWindow parent_instance;
  AdwComboRow *device_row;
  GtkSpinButton *threads_spin;
  AdwActionRow *model_folder_row;
  GSettings *settings;
  GtkNativeDialog *chooser;
};

G_DEFINE_FINAL_TYPE (ScPreferencesWindow, sc_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

/* The device list has one entry for now; the mapping keeps the setting a name ("cpu") so that adding
 * "cuda" later does not renumber anything. */
static const char *const devices[] = { "cpu" };

static gboolean
device_get (GValue *value, GVariant *variant, gpointer user)
{
  const char *name = g_variant_get_string (variant, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (devices); i++)
    if (g_str_equal (name, devices[i]))
      {
        g_value_set_uint (value, i);
        return TRUE;
      }
  g_value_set_uint (value, 0);
  return TRUE;
}

static GVariant *
device_set (const GValue *value, const GVariantType *type, gpointer user)
{
  guint i = g_value_get_uint (value);
  return g_variant_new_string (devices[i < G_N_ELEMENTS (devices) ? i : 0]);
}

static gboolean
folder_get (GValue *value, GVariant *variant, gpointer user)
{
  const char *path = g_variant_get_string (variant, NULL);
  g_value_set_string (value, *path ? path : _("Not set"));
  return TRUE;
}

static void
on_folder_chosen (GtkNativeDialog *dialog, int response, ScPreferencesWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
G_GNUC_BEGIN_IGNORE_DEPRECATIONS /* GtkFileDialog is 4.10; our floor is 4.8 */
      g_autoptr (GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
G_GNUC_END_IGNORE_DEPRECATIONS
      g_autofree char *path = folder ? g_file_get_path (folder) : NULL;
      if (path)
        g_settings_set_string (self->settings, "model-folder", path);
    }
  g_clear_object (&self->chooser);
}

static void
choose_model_folder (GtkWidget *widget, const char *action, GVariant *param)
{
  ScPreferencesWindow *self = SC_PREFERENCES_WINDOW (widget);
  if (self->chooser)
    return;
  self->chooser = GTK_NATIVE_DIALOG (gtk_file_chooser_native_new (_("Choose the Model Folder"), GTK_WINDOW (self),
                                                                  GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                                                  _("_Select"), _("_Cancel")));
  g_signal_connect (self->chooser, "response", G_CALLBACK (on_folder_chosen), self);
  gtk_native_dialog_show (self->chooser);
}

static void
sc_preferences_window_dispose (GObject *object)
{
  ScPreferencesWindow *self = SC_PREFERENCES_WINDOW (object);
  if (self->chooser)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (sc_preferences_window_parent_class)->dispose (object);
}

static void
sc_preferences_window_class_init (ScPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = sc_preferences_window_dispose;
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/scedit/Studio/ui/preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, ScPreferencesWindow, device_row);
  gtk_widget_class_bind_template_child (widget_class, ScPreferencesWindow, threads_spin);
  gtk_widget_class_bind_template_child (widget_class, ScPreferencesWindow, model_folder_row);
  gtk_widget_class_install_action (widget_class, "prefs.choose-model-folder", NULL, choose_model_folder);
}

static void
sc_preferences_window_init (ScPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

ScPreferencesWindow *
sc_preferences_window_new (GtkWindow *parent, GSettings *settings)
{
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);
  ScPreferencesWindow *self = g_object_new (SC_TYPE_PREFERENCES_WINDOW, "transient-for", parent, NULL);
  self->settings = g_object_ref (settings);
  g_settings_bind_with_mapping (settings, "device", self->device_row, "selected", G_SETTINGS_BIND_DEFAULT,
                                device_get, device_set, NULL, NULL);
  g_settings_bind (settings, "threads", self->threads_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind_with_mapping (settings, "model-folder", self->model_folder_row, "subtitle",
                                G_SETTINGS_BIND_GET, folder_get, NULL, NULL, NULL);
  return self;
}
