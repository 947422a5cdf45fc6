#define G_LOG_DOMAIN "scedit-models"

#include "sc-model-manager.h"

#include <glib/gi18n.h>

#include "sc-catalogue.h"
#include "sc-downloader.h"
#include "models/model_loader.h"
#include "scedit/tuner_io.h"

struct _ScModelManager {
  AdwPreferencesWindow parent_instance;
  AdwPreferencesGroup *models_group;
  AdwPreferencesGroup *tuners_group;
  AdwPreferencesGroup *download_group;
  GSettings *settings;
  GPtrArray *model_rows, *tuner_rows;
  GPtrArray *items; /* Item: one per catalogue file */
  GCancellable *scan_cancellable;
  GtkNativeDialog *chooser;
  SoupSession *session;
  char *download_base;
};

G_DEFINE_FINAL_TYPE (ScModelManager, sc_model_manager, ADW_TYPE_PREFERENCES_WINDOW)

enum { MODEL_ACTIVATED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* -- scanning: probes read file headers, so they run on a worker thread -- */

typedef struct {
  char *path;
  gboolean tuner, registered, missing;
  char *description;
} Found;

static void
found_free (gpointer data)
{
  Found *f = data;
  g_free (f->path);
  g_free (f->description);
  g_free (f);
}

typedef struct {
  char *folder;
  char **registered;
} ScanInput;

static void
scan_input_free (gpointer data)
{
  ScanInput *in = data;
  g_free (in->folder);
  g_strfreev (in->registered);
  g_free (in);
}

static gboolean
looks_like_weights (const char *name)
{
  return g_str_has_suffix (name, ".safetensors") || g_str_has_suffix (name, ".ckpt") ||
         g_str_has_suffix (name, ".bin");
}

/* NULL when the path holds neither a model nor a tuner. */
static Found *
probe (const char *path, gboolean registered)
{
  Found *f = g_new0 (Found, 1);
  f->path = g_strdup (path);
  f->registered = registered;
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      f->missing = TRUE;
      f->description = g_strdup (_("Missing — the file was moved or deleted"));
      return f;
    }
  ScTunerInfo info = { 0 };
  if (sc_tuner_probe (path, &info, NULL))
    {
      f->tuner = TRUE;
      const char *kind = info.kind == SC_TUNER_KIND_CSC ? _("Controller") : _("Style tuner");
      g_autofree char *what = info.condition ? g_strdup_printf ("%s (%s)", kind, info.condition) : g_strdup (kind);
      f->description = g_strdup_printf (_("%s for %s, %.2f M parameters"), what, info.arch ? info.arch : _("any model"),
                                        info.params / 1e6);
      sc_tuner_info_clear (&info);
      return f;
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (ScModel) model = sc_model_probe (path, NULL, &error);
  if (model)
    {
      f->description = sc_model_describe (model);
      return f;
    }
  if (!registered)
    {
      found_free (f);
      return NULL;
    }
  f->description = g_strdup_printf (_("Cannot be read: %s"), error->message);
  return f;
}

static void
scan_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  ScanInput *in = data;
  GPtrArray *found = g_ptr_array_new_with_free_func (found_free);
  g_autoptr (GDir) dir = g_dir_open (in->folder, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while (dir && (name = g_dir_read_name (dir)))
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  for (guint i = 0; i < names->len && !g_cancellable_is_cancelled (cancellable); i++)
    {
      const char *n = names->pdata[i];
      g_autofree char *path = g_build_filename (in->folder, n, NULL);
      if (n[0] == '.' || g_str_has_suffix (n, ".part"))
        continue;
      if (!g_file_test (path, G_FILE_TEST_IS_DIR) && !looks_like_weights (n))
        continue;
      Found *f = probe (path, FALSE);
      if (f)
        g_ptr_array_add (found, f);
    }
  for (char **p = in->registered; p && *p && !g_cancellable_is_cancelled (cancellable); p++)
    g_ptr_array_add (found, probe (*p, TRUE));
  g_task_return_pointer (task, found, (GDestroyNotify) g_ptr_array_unref);
}

static void
clear_rows (AdwPreferencesGroup *group, GPtrArray *rows)
{
  for (guint i = 0; i < rows->len; i++)
    adw_preferences_group_remove (group, rows->pdata[i]);
  g_ptr_array_set_size (rows, 0);
}

static void
on_use_clicked (GtkButton *button, ScModelManager *self)
{
  const char *path = g_object_get_data (G_OBJECT (button), "sc-path");
  g_signal_emit (self, signals[MODEL_ACTIVATED], 0, path);
}

static void
on_forget_clicked (GtkButton *button, ScModelManager *self)
{
  const char *path = g_object_get_data (G_OBJECT (button), "sc-path");
  if (!self->settings)
    return;
  g_auto (GStrv) paths = g_settings_get_strv (self->settings, "local-models");
  g_autoptr (GStrvBuilder) kept = g_strv_builder_new ();
  for (char **p = paths; *p; p++)
    if (!g_str_equal (*p, path))
      g_strv_builder_add (kept, *p);
  g_auto (GStrv) list = g_strv_builder_end (kept);
  g_settings_set_strv (self->settings, "local-models", (const char *const *) list); /* rescans */
}

static GtkWidget *
row_button (const char *label, const char *tooltip, const char *path, GCallback callback, ScModelManager *self)
{
  GtkWidget *button = gtk_button_new_with_mnemonic (label);
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  if (tooltip)
    gtk_widget_set_tooltip_text (button, tooltip);
  g_object_set_data_full (G_OBJECT (button), "sc-path", g_strdup (path), g_free);
  g_signal_connect (button, "clicked", callback, self);
  return button;
}

static void
add_found_row (ScModelManager *self, Found *f)
{
  g_autofree char *base = g_path_get_basename (f->path);
  GtkWidget *row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), base);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), f->description);
  gtk_widget_set_tooltip_text (row, f->path);
  if (!f->tuner && !f->missing)
    {
      GtkWidget *use = row_button (_("_Use"), _("Load this model"), f->path, G_CALLBACK (on_use_clicked), self);
      gtk_widget_add_css_class (use, "suggested-action");
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), use);
    }
  if (f->registered)
    {
      GtkWidget *forget = row_button (NULL, _("Remove from the list (the file is kept)"), f->path,
                                      G_CALLBACK (on_forget_clicked), self);
      gtk_button_set_icon_name (GTK_BUTTON (forget), "list-remove-symbolic");
      gtk_widget_add_css_class (forget, "flat");
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), forget);
    }
  AdwPreferencesGroup *group = f->tuner ? self->tuners_group : self->models_group;
  adw_preferences_group_add (group, row);
  g_ptr_array_add (f->tuner ? self->tuner_rows : self->model_rows, row);
}

static void
add_placeholder (ScModelManager *self, AdwPreferencesGroup *group, GPtrArray *rows, const char *text)
{
  GtkWidget *row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), text);
  gtk_widget_add_css_class (row, "dim-label");
  adw_preferences_group_add (group, row);
  g_ptr_array_add (rows, row);
  g_object_set_data (G_OBJECT (row), "sc-placeholder", GINT_TO_POINTER (1));
}

static void
on_scanned (GObject *source, GAsyncResult *result, gpointer user)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) found = g_task_propagate_pointer (G_TASK (result), &error);
  if (!found)
    return; /* cancelled: the window went away or a newer scan runs */
  ScModelManager *self = SC_MODEL_MANAGER (source);
  g_clear_object (&self->scan_cancellable);
  clear_rows (self->models_group, self->model_rows);
  clear_rows (self->tuners_group, self->tuner_rows);
  for (guint i = 0; i < found->len; i++)
    add_found_row (self, found->pdata[i]);
  if (self->model_rows->len == 0)
    add_placeholder (self, self->models_group, self->model_rows, _("No models yet — download one or add a file"));
  if (self->tuner_rows->len == 0)
    add_placeholder (self, self->tuners_group, self->tuner_rows, _("No tuners or controllers yet"));
}

void
sc_model_manager_rescan (ScModelManager *self)
{
  g_return_if_fail (SC_IS_MODEL_MANAGER (self));
  if (self->scan_cancellable)
    g_cancellable_cancel (self->scan_cancellable);
  g_clear_object (&self->scan_cancellable);
  self->scan_cancellable = g_cancellable_new ();
  ScanInput *in = g_new0 (ScanInput, 1);
  in->folder = sc_model_manager_get_folder (self);
  in->registered = self->settings ? g_settings_get_strv (self->settings, "local-models") : NULL;
  g_autoptr (GTask) task = g_task_new (self, self->scan_cancellable, on_scanned, NULL);
  g_task_set_return_on_cancel (task, FALSE);
  g_task_set_task_data (task, in, scan_input_free);
  g_task_run_in_thread (task, scan_thread);
}

char *
sc_model_manager_get_folder (ScModelManager *self)
{
  g_autofree char *folder = self->settings ? g_settings_get_string (self->settings, "model-folder") : NULL;
  if (folder && *folder)
    return g_steal_pointer (&folder);
  return g_build_filename (g_get_user_data_dir (), "scedit-studio", "models", NULL);
}

void
sc_model_manager_add_path (ScModelManager *self, const char *path)
{
  g_return_if_fail (SC_IS_MODEL_MANAGER (self));
  if (!self->settings)
    {
      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                        adw_toast_new (_("Settings are not available in this build")));
      return;
    }
  g_auto (GStrv) paths = g_settings_get_strv (self->settings, "local-models");
  if (!g_strv_contains ((const char *const *) paths, path))
    {
      g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
      g_strv_builder_addv (builder, (const char **) paths);
      g_strv_builder_add (builder, path);
      g_auto (GStrv) list = g_strv_builder_end (builder);
      g_settings_set_strv (self->settings, "local-models", (const char *const *) list); /* rescans */
    }
}

guint
sc_model_manager_get_n_models (ScModelManager *self)
{
  guint n = self->model_rows->len;
  return n == 1 && g_object_get_data (self->model_rows->pdata[0], "sc-placeholder") ? 0 : n;
}

guint
sc_model_manager_get_n_tuners (ScModelManager *self)
{
  guint n = self->tuner_rows->len;
  return n == 1 && g_object_get_data (self->tuner_rows->pdata[0], "sc-placeholder") ? 0 : n;
}

gboolean
sc_model_manager_get_scanning (ScModelManager *self)
{
  return self->scan_cancellable != NULL;
}

/* -- adding local files -- */

static void
on_chosen (GtkNativeDialog *dialog, int response, ScModelManager *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
G_GNUC_BEGIN_IGNORE_DEPRECATIONS /* GtkFileDialog is 4.10; our floor is 4.8 */
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
G_GNUC_END_IGNORE_DEPRECATIONS
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      if (path)
        sc_model_manager_add_path (self, path);
    }
  g_clear_object (&self->chooser);
}

static void
choose (ScModelManager *self, const char *title, GtkFileChooserAction action)
{
  if (self->chooser)
    return;
  self->chooser = GTK_NATIVE_DIALOG (gtk_file_chooser_native_new (title, GTK_WINDOW (self), action, _("_Add"),
                                                                  _("_Cancel")));
  if (action == GTK_FILE_CHOOSER_ACTION_OPEN)
    {
      GtkFileFilter *filter = gtk_file_filter_new ();
      gtk_file_filter_set_name (filter, _("Models, Tuners and Controllers"));
      gtk_file_filter_add_suffix (filter, "safetensors");
      gtk_file_filter_add_suffix (filter, "ckpt");
      gtk_file_filter_add_suffix (filter, "bin");
G_GNUC_BEGIN_IGNORE_DEPRECATIONS
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
G_GNUC_END_IGNORE_DEPRECATIONS
      g_object_unref (filter);
    }
  g_signal_connect (self->chooser, "response", G_CALLBACK (on_chosen), self);
  gtk_native_dialog_show (self->chooser);
}

static void
add_file (GtkWidget *widget, const char *action, GVariant *param)
{
  choose (SC_MODEL_MANAGER (widget), _("Add a Model, Tuner or Controller"), GTK_FILE_CHOOSER_ACTION_OPEN);
}

static void
add_folder (GtkWidget *widget, const char *action, GVariant *param)
{
  choose (SC_MODEL_MANAGER (widget), _("Add a Diffusers Model Folder"), GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER);
}

/* -- downloads -- */

typedef struct {
  ScModelManager *self; /* unowned: items die with the window */
  const ScCatalogueEntry *entry;
  AdwActionRow *row;
  GtkStack *stack;
  GtkProgressBar *bar;
  ScDownloader *dl;
  GCancellable *cancellable;
} Item;

static void
item_destroy (Item *item)
{
  g_clear_object (&item->dl);
  g_clear_object (&item->cancellable);
  g_free (item);
}

/* A running download is cancelled and its callback, which still points at the item, frees it. */
static void
item_free (gpointer data)
{
  Item *item = data;
  if (item->dl)
    g_signal_handlers_disconnect_by_data (item->dl, item);
  item->self = NULL;
  if (item->dl && sc_downloader_get_running (item->dl))
    g_cancellable_cancel (item->cancellable);
  else
    item_destroy (item);
}

static char *
download_url (ScModelManager *self, const ScCatalogueEntry *entry)
{
  if (self->download_base)
    return g_strconcat (self->download_base, entry->filename, NULL);
  return g_strdup (entry->url);
}

/* The Download button, the progress, or "Installed", from what is on disk. */
static void
item_sync (Item *item)
{
  g_autofree char *folder = sc_model_manager_get_folder (item->self);
  g_autofree char *path = g_build_filename (folder, item->entry->filename, NULL);
  g_autofree char *part = g_strconcat (path, ".part", NULL);
  adw_action_row_set_subtitle (item->row, _(item->entry->subtitle));
  if (item->dl && sc_downloader_get_running (item->dl))
    gtk_stack_set_visible_child_name (item->stack, "progress");
  else if (g_file_test (path, G_FILE_TEST_EXISTS))
    gtk_stack_set_visible_child_name (item->stack, "installed");
  else
    {
      gtk_stack_set_visible_child_name (item->stack, "download");
      if (g_file_test (part, G_FILE_TEST_EXISTS))
        adw_action_row_set_subtitle (item->row, _("Stopped part way — Download continues where it left off."));
    }
}

static void
on_progress (ScDownloader *dl, GParamSpec *pspec, Item *item)
{
  guint64 bytes = sc_downloader_get_bytes (dl), total = sc_downloader_get_total (dl);
  double rate = sc_downloader_get_rate (dl);
  g_autofree char *have = g_format_size (bytes);
  g_autofree char *text = NULL;
  if (total)
    {
      g_autofree char *want = g_format_size (total);
      gtk_progress_bar_set_fraction (item->bar, sc_downloader_get_fraction (dl));
      if (rate > 0)
        {
          g_autofree char *speed = g_format_size ((guint64) rate);
          /* TRANSLATORS: "1.2 GB of 4.3 GB — 12.0 MB per second" */
          text = g_strdup_printf (_("%s of %s — %s per second"), have, want, speed);
        }
      else
        text = g_strdup_printf (_("%s of %s"), have, want);
    }
  else
    {
      gtk_progress_bar_pulse (item->bar);
      text = g_strdup_printf (_("%s downloaded"), have);
    }
  adw_action_row_set_subtitle (item->row, text);
}

static void
on_downloaded (GObject *source, GAsyncResult *result, gpointer user)
{
  Item *item = user;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = sc_downloader_start_finish (SC_DOWNLOADER (source), result, &error);
  if (!item->self)
    {
      item_destroy (item); /* the window went away (see item_free) */
      return;
    }
  g_clear_object (&item->cancellable);
  ScModelManager *self = item->self;
  item_sync (item);
  if (path)
    {
      g_autofree char *msg = g_strdup_printf (_("“%s” is ready"), _(item->entry->title));
      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (msg));
      sc_model_manager_rescan (self);
    }
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      AdwToast *toast = adw_toast_new (error->message);
      adw_toast_set_timeout (toast, 0); /* an error a person should read to the end */
      adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), toast);
    }
}

static void
item_start (Item *item)
{
  ScModelManager *self = item->self;
  if (item->dl && sc_downloader_get_running (item->dl))
    return;
  if (!item->dl)
    {
      g_autofree char *folder = sc_model_manager_get_folder (self);
      g_autofree char *url = download_url (self, item->entry);
      item->dl = sc_downloader_new (url, folder, item->entry->filename, item->entry->size, item->entry->sha256,
                                    self->session);
      g_signal_connect (item->dl, "notify::bytes", G_CALLBACK (on_progress), item);
    }
  item->cancellable = g_cancellable_new ();
  gtk_progress_bar_set_fraction (item->bar, 0);
  sc_downloader_start_async (item->dl, item->cancellable, on_downloaded, item);
  item_sync (item);
}

static void
on_download_clicked (GtkButton *button, Item *item)
{
  item_start (item);
}

static void
on_cancel_clicked (GtkButton *button, Item *item)
{
  if (item->cancellable)
    g_cancellable_cancel (item->cancellable);
}

static void
on_browse_clicked (GtkButton *button, Item *item)
{
G_GNUC_BEGIN_IGNORE_DEPRECATIONS /* GtkUriLauncher is 4.10 */
  gtk_show_uri (GTK_WINDOW (item->self), item->entry->url, GDK_CURRENT_TIME);
G_GNUC_END_IGNORE_DEPRECATIONS
}

static GtkWidget *
suffix_button (const char *label, GCallback callback, Item *item)
{
  GtkWidget *button = gtk_button_new_with_mnemonic (label);
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  g_signal_connect (button, "clicked", callback, item);
  return button;
}

static void
add_catalogue (ScModelManager *self)
{
  for (const ScCatalogueEntry *e = sc_catalogue_get_entries (); e->id; e++)
    {
      Item *item = g_new0 (Item, 1);
      item->self = self;
      item->entry = e;
      item->row = ADW_ACTION_ROW (adw_action_row_new ());
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (item->row), _(e->title));
      adw_action_row_set_subtitle (item->row, _(e->subtitle));
      adw_action_row_set_subtitle_lines (item->row, 2);
      gtk_widget_set_tooltip_text (GTK_WIDGET (item->row), e->url);
      if (e->kind == SC_CATALOGUE_BROWSE)
        {
          GtkWidget *open = suffix_button (_("_Open Website"), G_CALLBACK (on_browse_clicked), item);
          adw_action_row_add_suffix (item->row, open);
        }
      else
        {
          item->stack = GTK_STACK (gtk_stack_new ());
          gtk_stack_set_hhomogeneous (item->stack, FALSE);
          gtk_widget_set_valign (GTK_WIDGET (item->stack), GTK_ALIGN_CENTER);
          gtk_stack_add_named (item->stack, suffix_button (_("_Download"), G_CALLBACK (on_download_clicked), item),
                               "download");
          GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
          item->bar = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
          gtk_widget_set_size_request (GTK_WIDGET (item->bar), 120, -1);
          gtk_widget_set_valign (GTK_WIDGET (item->bar), GTK_ALIGN_CENTER);
          gtk_box_append (GTK_BOX (box), GTK_WIDGET (item->bar));
          GtkWidget *cancel = suffix_button (NULL, G_CALLBACK (on_cancel_clicked), item);
          gtk_button_set_icon_name (GTK_BUTTON (cancel), "process-stop-symbolic");
          gtk_widget_set_tooltip_text (cancel, _("Stop (the download can continue later)"));
          gtk_widget_add_css_class (cancel, "flat");
          gtk_box_append (GTK_BOX (box), cancel);
          gtk_stack_add_named (item->stack, box, "progress");
          GtkWidget *done = gtk_image_new_from_icon_name ("object-select-symbolic");
          gtk_widget_set_tooltip_text (done, _("Installed"));
          gtk_stack_add_named (item->stack, done, "installed");
          adw_action_row_add_suffix (item->row, GTK_WIDGET (item->stack));
        }
      adw_preferences_group_add (self->download_group, GTK_WIDGET (item->row));
      g_ptr_array_add (self->items, item);
      if (item->stack)
        item_sync (item);
    }
}

void
sc_model_manager_set_download_base (ScModelManager *self, const char *base)
{
  g_free (self->download_base);
  self->download_base = g_strdup (base);
}

void
sc_model_manager_download (ScModelManager *self, const char *id)
{
  for (guint i = 0; i < self->items->len; i++)
    {
      Item *item = self->items->pdata[i];
      if (g_str_equal (item->entry->id, id) && item->stack)
        item_start (item);
    }
}

gboolean
sc_model_manager_get_downloading (ScModelManager *self)
{
  for (guint i = 0; i < self->items->len; i++)
    {
      Item *item = self->items->pdata[i];
      if (item->dl && sc_downloader_get_running (item->dl))
        return TRUE;
    }
  return FALSE;
}

/* -- the object -- */

static void
on_folder_changed (GSettings *settings, const char *key, ScModelManager *self)
{
  for (guint i = 0; i < self->items->len; i++)
    {
      Item *item = self->items->pdata[i];
      if (item->stack && !(item->dl && sc_downloader_get_running (item->dl)))
        {
          g_clear_object (&item->dl); /* the next download goes to the new folder */
          item_sync (item);
        }
    }
  sc_model_manager_rescan (self);
}

static void
sc_model_manager_dispose (GObject *object)
{
  ScModelManager *self = SC_MODEL_MANAGER (object);
  if (self->scan_cancellable)
    g_cancellable_cancel (self->scan_cancellable);
  g_clear_object (&self->scan_cancellable);
  if (self->chooser)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  g_clear_pointer (&self->items, g_ptr_array_unref);
  if (self->settings)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  g_clear_object (&self->settings);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (sc_model_manager_parent_class)->dispose (object);
}

static void
sc_model_manager_finalize (GObject *object)
{
  ScModelManager *self = SC_MODEL_MANAGER (object);
  g_ptr_array_unref (self->model_rows);
  g_ptr_array_unref (self->tuner_rows);
  g_free (self->download_base);
  G_OBJECT_CLASS (sc_model_manager_parent_class)->finalize (object);
}

static void
sc_model_manager_class_init (ScModelManagerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = sc_model_manager_dispose;
  object_class->finalize = sc_model_manager_finalize;
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/scedit/Studio/ui/model-manager.ui");
  gtk_widget_class_bind_template_child (widget_class, ScModelManager, models_group);
  gtk_widget_class_bind_template_child (widget_class, ScModelManager, tuners_group);
  gtk_widget_class_bind_template_child (widget_class, ScModelManager, download_group);
  gtk_widget_class_install_action (widget_class, "manager.add-file", NULL, add_file);
  gtk_widget_class_install_action (widget_class, "manager.add-folder", NULL, add_folder);
  signals[MODEL_ACTIVATED] = g_signal_new ("model-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                           NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
sc_model_manager_init (ScModelManager *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->model_rows = g_ptr_array_new ();
  self->tuner_rows = g_ptr_array_new ();
  self->items = g_ptr_array_new_with_free_func (item_free);
  /* one session for all downloads: connections to the same host are reused */
  self->session = soup_session_new_with_options ("user-agent", "SCEdit-Studio", NULL);
  soup_session_remove_feature_by_type (self->session, SOUP_TYPE_CONTENT_DECODER);
}

ScModelManager *
sc_model_manager_new (GtkWindow *parent, GSettings *settings)
{
  ScModelManager *self = g_object_new (SC_TYPE_MODEL_MANAGER, "transient-for", parent, NULL);
  if (settings)
    {
      self->settings = g_object_ref (settings);
      g_signal_connect (settings, "changed::model-folder", G_CALLBACK (on_folder_changed), self);
      g_signal_connect_swapped (settings, "changed::local-models", G_CALLBACK (sc_model_manager_rescan), self);
    }
  add_catalogue (self);
  sc_model_manager_rescan (self);
  return self;
}
