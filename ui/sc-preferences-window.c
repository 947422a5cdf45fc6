#define G_LOG_DOMAIN "scedit-preferences"

#include "sc-preferences-window.h"

#include "backend/device.h"

#include <glib/gi18n.h>

struct _ScPreferencesWindow {
  AdwPreferencesWindow parent_instance;
  AdwComboRow *device_row;
  AdwActionRow *device_note_row; /* shown when the chosen device cannot be used */
  GtkSpinButton *threads_spin;
  GtkSpinButton *live_steps_spin;
  GtkSpinButton *live_size_spin;
  AdwComboRow *preview_row;
  AdwActionRow *model_folder_row;
  GSettings *settings;
  GtkNativeDialog *chooser;
  GPtrArray *devices;        /* ScDevice: the CPU alone until the full list is in */
  gboolean devices_listed;   /* the full list (with the GPUs) is in */
  GPtrArray *device_ids;     /* char *: the "device" setting of each entry of the device row */
  GCancellable *cancellable; /* the device listing */
};

G_DEFINE_FINAL_TYPE (ScPreferencesWindow, sc_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

/* ---- device: the row lists what sc_device_list found; the setting keeps the device's id ("cpu",
 * "cuda:0") so the list may change order or grow without the choice changing meaning ---- */

static char *
device_label (const ScDevice *d)
{
  g_autofree char *free_size = g_format_size (d->free_bytes);
  if (g_str_equal (d->id, "cpu"))
    return g_strdup_printf (ngettext ("CPU — %s, %d core, %s free", "CPU — %s, %d cores, %s free", d->cores),
                            d->name, d->cores, free_size);
  if (d->free_bytes == 0) /* the GPU would not say (busy in another program): its size at least */
    {
      g_autofree char *total = g_format_size (d->total_bytes);
      return g_strdup_printf (d->usable ? _("%s — %s total") : _("%s — %s total (needs the CUDA build)"), d->name,
                              total);
    }
  return g_strdup_printf (d->usable ? _("%s — %s free") : _("%s — %s free (needs the CUDA build)"), d->name,
                          free_size);
}

static gboolean
device_get (GValue *value, GVariant *variant, gpointer user)
{
  ScPreferencesWindow *self = user;
  const char *id = g_variant_get_string (variant, NULL);
  guint index;
  if (!g_ptr_array_find_with_equal_func (self->device_ids, id, g_str_equal, &index))
    return FALSE; /* on_device_changed adds the entry */
  g_value_set_uint (value, index);
  return TRUE;
}

static GVariant *
device_set (const GValue *value, const GVariantType *type, gpointer user)
{
  ScPreferencesWindow *self = user;
  guint i = g_value_get_uint (value);
  return i < self->device_ids->len ? g_variant_new_string (g_ptr_array_index (self->device_ids, i)) : NULL;
}

/* A chosen device that cannot be used is said under the row, instead of quietly rendering on the CPU. */
static void
update_device_note (ScPreferencesWindow *self)
{
  g_autofree char *id = g_settings_get_string (self->settings, "device");
  const ScDevice *d = sc_device_list_find (self->devices, id);
  const char *note = NULL;
  if (d && !d->usable)
    note = _("This version has no CUDA support: images are computed on the CPU");
  else if (!d && self->devices_listed)
    note = _("This device is not present: images are computed on the CPU");
  if (note)
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->device_note_row), note);
  gtk_widget_set_visible (GTK_WIDGET (self->device_note_row), note != NULL);
}

/* Rebuilds the row from the device list, plus the device the setting names when the list lacks it (a
 * GPU taken out, say), so the row never shows a choice the user did not make. */
static void
fill_devices (ScPreferencesWindow *self)
{
  g_settings_unbind (self->device_row, "selected"); /* a new model resets "selected": not a user choice */
  g_autoptr (GtkStringList) labels = gtk_string_list_new (NULL);
  g_ptr_array_set_size (self->device_ids, 0);
  for (guint i = 0; i < self->devices->len; i++)
    {
      const ScDevice *d = g_ptr_array_index (self->devices, i);
      g_autofree char *label = device_label (d);
      gtk_string_list_append (labels, label);
      g_ptr_array_add (self->device_ids, g_strdup (d->id));
    }
  g_autofree char *id = g_settings_get_string (self->settings, "device");
  if (!sc_device_list_find (self->devices, id))
    {
      g_autofree char *label = self->devices_listed ? g_strdup_printf (_("%s — not found"), id) : g_strdup (id);
      gtk_string_list_append (labels, label);
      g_ptr_array_add (self->device_ids, g_strdup (id));
    }
  adw_combo_row_set_model (self->device_row, G_LIST_MODEL (labels));
  g_settings_bind_with_mapping (self->settings, "device", self->device_row, "selected", G_SETTINGS_BIND_DEFAULT,
                                device_get, device_set, self, NULL);
  update_device_note (self);
}

static void
on_device_changed (GSettings *settings, const char *key, ScPreferencesWindow *self)
{
  g_autofree char *id = g_settings_get_string (settings, "device");
  if (!g_ptr_array_find_with_equal_func (self->device_ids, id, g_str_equal, NULL))
    fill_devices (self);
  update_device_note (self);
}

static void
list_devices (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  g_task_return_pointer (task, sc_device_list (), (GDestroyNotify) g_ptr_array_unref);
}

static void
on_devices_listed (GObject *source, GAsyncResult *result, gpointer user)
{
  GPtrArray *devices = g_task_propagate_pointer (G_TASK (result), NULL);
  if (!devices) /* the window went away first */
    return;
  ScPreferencesWindow *self = SC_PREFERENCES_WINDOW (source);
  g_ptr_array_unref (self->devices);
  self->devices = devices;
  self->devices_listed = TRUE;
  fill_devices (self);
}

/* ---- preview method: the row's entries in order, by the setting's nicks ---- */

static const char *const preview_methods[] = { "none", "fast", "full" };

static gboolean
preview_get (GValue *value, GVariant *variant, gpointer user)
{
  const char *nick = g_variant_get_string (variant, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (preview_methods); i++)
    if (g_str_equal (nick, preview_methods[i]))
      {
        g_value_set_uint (value, i);
        return TRUE;
      }
  return FALSE;
}

static GVariant *
preview_set (const GValue *value, const GVariantType *type, gpointer user)
{
  guint i = g_value_get_uint (value);
  return i < G_N_ELEMENTS (preview_methods) ? g_variant_new_string (preview_methods[i]) : NULL;
}

static void
update_preview_note (ScPreferencesWindow *self)
{
  const char *notes[] = {
    _("The picture appears when it is done"),
    _("A small, rough picture after every step; costs nothing"),
    _("The picture itself after every step; accurate but slow"),
  };
  guint i = adw_combo_row_get_selected (self->preview_row);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->preview_row), i < G_N_ELEMENTS (notes) ? notes[i] : "");
}

/* ---- model folder ---- */

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
  g_cancellable_cancel (self->cancellable);
  if (self->preview_row) /* its model goes before it does, which notifies "selected" */
    g_signal_handlers_disconnect_by_data (self->preview_row, self);
  if (self->device_row) /* the row may outlive us; its mapping reads our device ids */
    g_settings_unbind (self->device_row, "selected");
  if (self->chooser)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  if (self->settings)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (sc_preferences_window_parent_class)->dispose (object);
}

static void
sc_preferences_window_finalize (GObject *object)
{
  ScPreferencesWindow *self = SC_PREFERENCES_WINDOW (object);
  g_ptr_array_unref (self->devices);
  g_ptr_array_unref (self->device_ids);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (sc_preferences_window_parent_class)->finalize (object);
}

static void
sc_preferences_window_class_init (ScPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = sc_preferences_window_dispose;
  object_class->finalize = sc_preferences_window_finalize;
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/scedit/Studio/ui/preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, ScPreferencesWindow, device_row);
  gtk_widget_class_bind_template_child (widget_class, ScPreferencesWindow, device_note_row);
  gtk_widget_class_bind_template_child (widget_class, ScPreferencesWindow, threads_spin);
  gtk_widget_class_bind_template_child (widget_class, ScPreferencesWindow, live_steps_spin);
  gtk_widget_class_bind_template_child (widget_class, ScPreferencesWindow, live_size_spin);
  gtk_widget_class_bind_template_child (widget_class, ScPreferencesWindow, preview_row);
  gtk_widget_class_bind_template_child (widget_class, ScPreferencesWindow, model_folder_row);
  gtk_widget_class_install_action (widget_class, "prefs.choose-model-folder", NULL, choose_model_folder);
}

static void
sc_preferences_window_init (ScPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->devices = g_ptr_array_new_with_free_func ((GDestroyNotify) sc_device_free);
  g_ptr_array_add (self->devices, sc_device_cpu ());
  self->device_ids = g_ptr_array_new_with_free_func (g_free);
  self->cancellable = g_cancellable_new ();
  g_signal_connect_swapped (self->preview_row, "notify::selected", G_CALLBACK (update_preview_note), self);
}

ScPreferencesWindow *
sc_preferences_window_new (GtkWindow *parent, GSettings *settings)
{
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);
  ScPreferencesWindow *self = g_object_new (SC_TYPE_PREFERENCES_WINDOW, "transient-for", parent, NULL);
  self->settings = g_object_ref (settings);
  fill_devices (self);
  g_signal_connect (settings, "changed::device", G_CALLBACK (on_device_changed), self);
  /* the GPUs: the driver may take a second to start, so off the UI thread; the CPU shows meanwhile */
  g_autoptr (GTask) task = g_task_new (self, self->cancellable, on_devices_listed, NULL);
  g_task_set_source_tag (task, sc_preferences_window_new);
  g_task_run_in_thread (task, list_devices);
  g_settings_bind (settings, "threads", self->threads_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "live-steps", self->live_steps_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "live-size", self->live_size_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind_with_mapping (settings, "preview-method", self->preview_row, "selected", G_SETTINGS_BIND_DEFAULT,
                                preview_get, preview_set, NULL, NULL);
  update_preview_note (self);
  g_settings_bind_with_mapping (settings, "model-folder", self->model_folder_row, "subtitle",
                                G_SETTINGS_BIND_GET, folder_get, NULL, NULL, NULL);
  return self;
}

gboolean
sc_preferences_window_get_devices_listed (ScPreferencesWindow *self)
{
  g_return_val_if_fail (SC_IS_PREFERENCES_WINDOW (self), FALSE);
  return self->devices_listed;
}
