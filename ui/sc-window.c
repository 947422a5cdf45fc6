#define G_LOG_DOMAIN "scedit-window"

#include "sc-window.h"

#include "backend/device.h"
#include "core/error.h"
#include "sc-config.h"
#include "sc-condition-row.h"
#include "sc-create-panel.h"
#include "sc-document-png.h"
#include "sc-live-controller.h"
#include "sc-model-manager.h"
#include "sc-train-page.h"

#include <glib/gi18n.h>

struct _ScWindow {
  AdwApplicationWindow parent_instance;

  /* template */
  AdwToastOverlay *toast_overlay;
  AdwViewSwitcherTitle *switcher_title;
  AdwViewSwitcherBar *switcher_bar;
  GtkStack *main_stack;
  GtkSpinner *loading_spinner;
  AdwViewStack *view_stack;
  ScCanvas *canvas;
  AdwStatusPage *canvas_hint;
  GtkProgressBar *progress_bar;
  ScHistoryStrip *history;
  ScCreatePanel *panel;
  ScTrainPage *train_page;
  GtkToggleButton *live_button;
  GtkWidget *live_status;
  GtkSpinner *live_spinner;
  GtkWidget *live_stale;
  GtkLabel *live_time;
  GtkDropDown *layer_dropdown;
  GtkToggleButton *brush_button, *eraser_button, *line_button, *fill_button;
  GtkScale *size_scale, *hardness_scale;
  GtkWidget *mask_settings;   /* grow and feather: only while the mask is the active layer */
  GtkScale *grow_scale, *feather_scale;
  GtkColorButton *color_button;

  ScDocument *document;
  GSettings *settings;        /* NULL when the schema is not installed (an uninstalled build) */
  ScEngine *engine;
  guint64 load_id;            /* the load request in flight, 0 none */
  guint64 render_id;          /* the render in flight, 0 none */
  guint64 live_item_id;       /* the history entry Live mode keeps refining, 0 none */
  gboolean user_cancelled;
  char *model_path;           /* the model the engine has loaded */
  char *device_warned;        /* the unusable device last toasted about (once per choice) */
  ScHistoryItem *shown;       /* the render on the canvas (for Save) */
  GtkNativeDialog *chooser;
  GCancellable *cancellable;  /* file reads and writes; cancelled when the window goes */
  ScModelManager *model_manager; /* hidden, not destroyed, on close: downloads go on */
  ScLiveController *live;
};

G_DEFINE_FINAL_TYPE (ScWindow, sc_window, ADW_TYPE_APPLICATION_WINDOW)

void
sc_window_toast (ScWindow *self, const char *message)
{
  AdwToast *toast = adw_toast_new (message);
  adw_toast_set_timeout (toast, 4);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
update_actions (ScWindow *self)
{
  GtkWidget *w = GTK_WIDGET (self);
  gboolean ready = self->model_path != NULL;
  gtk_widget_action_set_enabled (w, "win.generate", ready);
  gtk_widget_action_set_enabled (w, "win.cancel", self->render_id != 0);
  gtk_widget_action_set_enabled (w, "win.save", self->shown != NULL);
  ScUndoStack *undo = sc_document_get_undo_stack (self->document);
  gtk_widget_action_set_enabled (w, "win.undo", sc_undo_stack_can_undo (undo));
  gtk_widget_action_set_enabled (w, "win.redo", sc_undo_stack_can_redo (undo));
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), self->render_id != 0);
  gtk_widget_set_visible (GTK_WIDGET (self->canvas_hint), sc_canvas_get_texture (self->canvas) == NULL);
}

static void
show_item (ScWindow *self, ScHistoryItem *item)
{
  g_set_object (&self->shown, item);
  const ScResult *res = item ? sc_history_item_get_result (item) : NULL;
  if (res && res->image && res->image->bit_depth == 8 && res->image->channels == 3)
    {
      g_autoptr (GBytes) rgb = g_bytes_new (res->image->data, (gsize) res->image->width * res->image->height * 3);
      sc_document_set_image (self->document, rgb, res->image->width, res->image->height);
    }
  sc_canvas_set_texture (self->canvas, item ? sc_history_item_get_texture (item) : NULL);
  update_actions (self);
}

/* The view switcher appears only once the stack has more than one page (Create and Train). */
static void
update_switcher (ScWindow *self)
{
  GListModel *pages = G_LIST_MODEL (adw_view_stack_get_pages (self->view_stack));
  gboolean several = g_list_model_get_n_items (pages) > 1;
  g_object_unref (pages);
  adw_view_switcher_title_set_view_switcher_enabled (self->switcher_title, several);
  adw_view_switcher_bar_set_reveal (self->switcher_bar,
                                    several && adw_view_switcher_title_get_title_visible (self->switcher_title));
}

/* ---- engine callbacks: on the main context ---- */

static void
on_model_loaded (gpointer user, guint64 id, const char *path, const char *description)
{
  ScWindow *self = user;
  if (g_strcmp0 (self->model_path, path) != 0)
    {
      g_free (self->model_path);
      self->model_path = g_strdup (path);
      g_autofree char *name = g_path_get_basename (path);
      adw_view_switcher_title_set_subtitle (self->switcher_title, name);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->switcher_title), description);
      sc_train_page_set_model_path (self->train_page, path);
    }
  gtk_spinner_stop (self->loading_spinner);
  gtk_stack_set_visible_child_name (self->main_stack, "ready");
  update_actions (self);
}

static void
on_progress (gpointer user, guint64 id, int step, int n_steps, const ScImage *preview)
{
  ScWindow *self = user;
  if (id != self->render_id)
    return;
  if (preview) /* none with the "none" preview method; 1/8 or full size: the canvas scales it to fit */
    {
      g_autoptr (GdkTexture) texture = sc_texture_new_for_image (preview);
      sc_canvas_set_texture (self->canvas, texture);
    }
  gtk_progress_bar_set_fraction (self->progress_bar, (double) (step + 1) / n_steps);
  g_autofree char *text = g_strdup_printf (_("Step %d of %d"), step + 1, n_steps);
  gtk_progress_bar_set_text (self->progress_bar, text);
  update_actions (self);
}

static void
on_done (gpointer user, guint64 id, ScResult *result, const GError *error)
{
  ScWindow *self = user;
  if (id == self->load_id)
    {
      self->load_id = 0;
      if (error && g_error_matches (error, SC_ERROR, SC_ERROR_CANCELLED))
        return; /* superseded by a render, which loads the same model */
      if (error)
        {
          g_autofree char *msg = g_strdup_printf (_("Could not open the model: %s"), error->message);
          sc_window_toast (self, msg);
          gtk_spinner_stop (self->loading_spinner);
          gtk_stack_set_visible_child_name (self->main_stack, self->model_path ? "ready" : "empty");
        }
      return;
    }
  sc_live_controller_finished (self->live, id, result != NULL, result ? result->seconds : 0);
  if (id != self->render_id)
    return; /* superseded by a newer render */
  self->render_id = 0;
  if (result)
    {
      ScResult *mine = g_new (ScResult, 1); /* steal it from the engine */
      *mine = *result;
      memset (result, 0, sizeof *result);
      /* Live mode refines one picture: each of its renders replaces the previous one in the history, so
       * a slider drag leaves one entry instead of dozens. The last one stays when Live is turned off. */
      /* the result already includes any margins it was asked to add */
      if (mine->request && (mine->request->outpaint[0] || mine->request->outpaint[1] || mine->request->outpaint[2] ||
                            mine->request->outpaint[3]))
        {
          sc_document_extend_layers (self->document, mine->request->init_width, mine->request->init_height,
                                     mine->request->outpaint);
          sc_document_clear_extension (self->document);
        }
      gboolean live = sc_live_controller_get_active (self->live);
      if (live && self->live_item_id)
        sc_history_strip_remove (self->history, self->live_item_id);
      self->live_item_id = live ? mine->id : 0;
      g_autoptr (ScHistoryItem) item = sc_history_item_new (mine);
      sc_history_strip_prepend (self->history, item);
      show_item (self, item);
    }
  else
    {
      /* the canvas still shows the last preview: go back to the last finished image */
      show_item (self, self->shown);
      if (!self->model_path) /* the render carried a model load that failed */
        {
          gtk_spinner_stop (self->loading_spinner);
          gtk_stack_set_visible_child_name (self->main_stack, "empty");
        }
      if (error && g_error_matches (error, SC_ERROR, SC_ERROR_CANCELLED))
        {
          if (self->user_cancelled)
            sc_window_toast (self, _("Cancelled"));
        }
      else if (error)
        {
          g_autofree char *msg = g_strdup_printf (_("Could not create the image: %s"), error->message);
          sc_window_toast (self, msg);
        }
    }
  self->user_cancelled = FALSE;
  update_actions (self);
}

static const ScEngineCallbacks engine_callbacks = { on_model_loaded, on_progress, on_done };

/* ---- public ---- */

void
sc_window_load_model (ScWindow *self, const char *path)
{
  g_return_if_fail (SC_IS_WINDOW (self) && path);
  sc_document_set_model_path (self->document, path);
  ScRequest r;
  sc_request_init (&r); /* no prompt: load only */
  r.model_path = (char *) path;
  self->load_id = sc_engine_submit (self->engine, &r);
  if (!self->model_path)
    {
      gtk_spinner_start (self->loading_spinner);
      gtk_stack_set_visible_child_name (self->main_stack, "loading");
    }
  else
    sc_window_toast (self, _("Loading the model…"));
}

/* This build renders on the CPU: a chosen device it cannot use is said once, not silently ignored. */
static void
warn_device (ScWindow *self)
{
  g_autofree char *id = self->settings ? g_settings_get_string (self->settings, "device") : NULL;
  if (!id || sc_device_id_usable (id, NULL))
    {
      g_clear_pointer (&self->device_warned, g_free);
      return;
    }
  if (g_strcmp0 (id, self->device_warned) == 0)
    return;
  if (g_str_has_prefix (id, "cuda:"))
    sc_window_toast (self, _("CUDA is not built into this version; rendering on the CPU"));
  else
    {
      g_autofree char *msg = g_strdup_printf (_("The device “%s” is not available; rendering on the CPU"), id);
      sc_window_toast (self, msg);
    }
  g_free (self->device_warned);
  self->device_warned = g_steal_pointer (&id);
}

/* live: Live mode's request (its own steps and size); else the Create panel's settings as they are. */
static guint64
submit_render (ScWindow *self, gboolean live)
{
  ScRequest r;
  if (live)
    sc_live_controller_build_request (self->live, &r);
  else
    sc_document_to_request (self->document, &r);
  /* a model still loading is the one the user wants: rendering with it also finishes the load */
  r.model_path = self->load_id ? (char *) sc_document_get_model_path (self->document) : self->model_path;
  r.n_threads = self->settings ? g_settings_get_int (self->settings, "threads") : 0;
  /* the schema's enum values are ScPreviewMode's */
  r.preview = self->settings ? (ScPreviewMode) g_settings_get_enum (self->settings, "preview-method") : SC_PREVIEW_FAST;
  warn_device (self);
  self->user_cancelled = FALSE;
  self->render_id = sc_engine_submit (self->engine, &r);
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_progress_bar_set_text (self->progress_bar, _("Starting…"));
  update_actions (self);
  return self->render_id;
}

static void
generate (GtkWidget *widget, const char *action, GVariant *param)
{
  ScWindow *self = SC_WINDOW (widget);
  if (!self->model_path)
    return;
  guint64 seed = sc_document_get_seed (self->document);
  if (!sc_document_get_seed_locked (self->document))
    sc_document_reroll_seed (self->document);
  if (sc_live_controller_get_active (self->live) && seed != sc_document_get_seed (self->document))
    return; /* the new seed is a change: Live renders it */
  submit_render (self, FALSE);
}

/* ---- Live mode: the controller decides when, the window submits (the seed stays as it is) ---- */

static void
on_live_render (ScLiveController *live, ScWindow *self)
{
  sc_live_controller_submitted (live, self->model_path ? submit_render (self, TRUE) : 0);
}

static void
on_live_cancel (ScLiveController *live, ScWindow *self)
{
  if (self->render_id)
    sc_engine_cancel (self->engine);
}

static void
update_live_status (ScWindow *self)
{
  gboolean active = sc_live_controller_get_active (self->live);
  gboolean busy = sc_live_controller_get_busy (self->live);
  gtk_widget_set_visible (self->live_status, active);
  gtk_widget_set_visible (GTK_WIDGET (self->live_spinner), busy);
  gtk_spinner_set_spinning (self->live_spinner, busy);
  gtk_widget_set_visible (self->live_stale, sc_live_controller_get_stale (self->live));
  double seconds = sc_live_controller_get_last_seconds (self->live);
  g_autofree char *text = seconds > 0 ? g_strdup_printf (_("%.1f s"), seconds) : NULL;
  gtk_label_set_label (self->live_time, text ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->live_time), text != NULL);
}

/* ---- painting: the tool bar over the canvas ---- */

static void
undo (GtkWidget *widget, const char *action, GVariant *param)
{
  sc_document_undo (SC_WINDOW (widget)->document);
}

static void
redo (GtkWidget *widget, const char *action, GVariant *param)
{
  sc_document_redo (SC_WINDOW (widget)->document);
}

static void
on_tool_toggled (GtkToggleButton *button, ScWindow *self)
{
  if (!gtk_toggle_button_get_active (button))
    return;
  ScPaintToolKind tool = button == self->eraser_button ? SC_PAINT_ERASER
                         : button == self->line_button ? SC_PAINT_LINE
                         : button == self->fill_button ? SC_PAINT_FILL
                                                       : SC_PAINT_BRUSH;
  sc_canvas_set_tool (self->canvas, tool);
}

static void
on_paint_settings (ScWindow *self)
{
  sc_canvas_set_brush_size (self->canvas, gtk_range_get_value (GTK_RANGE (self->size_scale)));
  sc_canvas_set_hardness (self->canvas, gtk_range_get_value (GTK_RANGE (self->hardness_scale)));
  GdkRGBA color;
  gtk_color_chooser_get_rgba (GTK_COLOR_CHOOSER (self->color_button), &color);
  sc_canvas_set_color (self->canvas, &color);
}

/* The layer list: the mask, the image, then one entry per condition; the paint bar's grow and feather
 * show while the mask is the layer painted on. */
static void
rebuild_layers (ScWindow *self)
{
  g_autoptr (GtkStringList) list = gtk_string_list_new (NULL);
  gtk_string_list_append (list, _("Mask"));
  gtk_string_list_append (list, _("Image"));
  guint n = sc_document_get_n_conditions (self->document);
  for (guint i = 0; i < n; i++)
    {
      ScControlKind kind = sc_document_get_condition_kind (self->document, i);
      /* TRANSLATORS: a condition layer in the paint layer list: its kind ("Edges") and its number */
      g_autofree char *name = g_strdup_printf (_("%s (Layer %u)"), sc_condition_kind_label (kind), i + 1);
      gtk_string_list_append (list, name);
    }
  guint index;
  ScLayerKind kind = sc_document_get_active_layer (self->document, &index);
  gtk_widget_set_visible (self->mask_settings, kind == SC_LAYER_MASK);
  guint selected = kind == SC_LAYER_MASK ? 0 : kind == SC_LAYER_IMAGE ? 1 : 2 + index;
  g_signal_handlers_block_matched (self->layer_dropdown, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
  gtk_drop_down_set_model (self->layer_dropdown, G_LIST_MODEL (list));
  gtk_drop_down_set_selected (self->layer_dropdown, MIN (selected, 2 + n - 1));
  g_signal_handlers_unblock_matched (self->layer_dropdown, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
}

static void
on_layer_selected (GtkDropDown *dropdown, GParamSpec *pspec, ScWindow *self)
{
  guint selected = gtk_drop_down_get_selected (dropdown);
  if (selected == GTK_INVALID_LIST_POSITION)
    return;
  if (selected < 2)
    sc_document_set_active_layer (self->document, selected == 0 ? SC_LAYER_MASK : SC_LAYER_IMAGE, 0);
  else
    sc_document_set_active_layer (self->document, SC_LAYER_CONDITION, selected - 2);
}

static void
cancel (GtkWidget *widget, const char *action, GVariant *param)
{
  ScWindow *self = SC_WINDOW (widget);
  if (!self->render_id)
    return;
  self->user_cancelled = TRUE;
  sc_engine_cancel (self->engine);
}

static void
reroll_seed (GtkWidget *widget, const char *action, GVariant *param)
{
  sc_document_reroll_seed (SC_WINDOW (widget)->document);
}

static void
copy_seed (GtkWidget *widget, const char *action, GVariant *param)
{
  ScWindow *self = SC_WINDOW (widget);
  ScHistoryItem *item = sc_history_strip_lookup (self->history, g_variant_get_uint64 (param));
  if (!item)
    return;
  g_autofree char *seed = g_strdup_printf ("%" G_GUINT64_FORMAT, sc_history_item_get_seed (item));
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), seed);
  g_autofree char *msg = g_strdup_printf (_("Seed %s copied"), seed);
  sc_window_toast (self, msg);
}

/* Outpainting: each press adds 64 px on one side; the next render (Generate, or Live) fills them in. */
static void
extend_picture (GtkWidget *widget, const char *action, GVariant *param)
{
  ScWindow *self = SC_WINDOW (widget);
  const char *side = g_variant_get_string (param, NULL);
  static const char *const sides[] = { "left", "top", "right", "bottom" };
  int add[4] = { 0, 0, 0, 0 };
  for (int i = 0; i < 4; i++)
    if (g_str_equal (side, sides[i]))
      add[i] = 64;
  if (!sc_document_get_layer_pixels (self->document, SC_LAYER_IMAGE, 0, NULL, NULL, NULL))
    {
      sc_window_toast (self, _("Make or open a picture first, then extend it"));
      return;
    }
  sc_document_extend (self->document, add[0], add[1], add[2], add[3]);
  int m[4];
  sc_document_get_extension (self->document, m);
  g_autofree char *msg = g_strdup_printf (_("The next render adds %d, %d, %d, %d pixels (left, top, right, bottom)"),
                                          m[0], m[1], m[2], m[3]);
  sc_window_toast (self, msg);
}

static void
delete_render (GtkWidget *widget, const char *action, GVariant *param)
{
  ScWindow *self = SC_WINDOW (widget);
  guint64 id = g_variant_get_uint64 (param);
  if (self->shown && sc_history_item_get_id (self->shown) == id)
    show_item (self, NULL);
  sc_history_strip_remove (self->history, id);
}

static void
on_history_activated (ScHistoryStrip *strip, ScHistoryItem *item, ScWindow *self)
{
  if (self->render_id)
    return; /* the canvas belongs to the live preview */
  show_item (self, item);
  const ScResult *r = sc_history_item_get_result (item);
  if (r->json)
    sc_document_apply_json (self->document, r->json, NULL);
}

/* ---- files: choosers on the UI thread, reading and writing on worker threads ---- */

G_GNUC_BEGIN_IGNORE_DEPRECATIONS /* GtkFileChooserNative: GtkFileDialog is 4.10, our floor 4.8 */

typedef void (*ChosenFunc) (ScWindow *self, GFile *file);

static void
on_chooser_response (GtkNativeDialog *dialog, int response, ScWindow *self)
{
  ChosenFunc func = (ChosenFunc) g_object_get_data (G_OBJECT (dialog), "sc-chosen");
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      if (file)
        func (self, file);
    }
  g_clear_object (&self->chooser);
}

static void
run_chooser (ScWindow *self, const char *title, GtkFileChooserAction mode, const char *accept, GtkFileFilter *filter,
             ChosenFunc func, const char *start_folder, const char *suggested_name)
{
  if (self->chooser)
    return;
  GtkFileChooserNative *n = gtk_file_chooser_native_new (title, GTK_WINDOW (self), mode, accept, _("_Cancel"));
  if (filter)
    gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (n), filter);
  if (start_folder && *start_folder)
    {
      g_autoptr (GFile) folder = g_file_new_for_path (start_folder);
      gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (n), folder, NULL);
    }
  if (suggested_name)
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (n), suggested_name);
  g_object_set_data (G_OBJECT (n), "sc-chosen", (gpointer) func);
  g_signal_connect (n, "response", G_CALLBACK (on_chooser_response), self);
  self->chooser = GTK_NATIVE_DIALOG (n);
  gtk_native_dialog_show (self->chooser);
}

G_GNUC_END_IGNORE_DEPRECATIONS

static char *
model_folder (ScWindow *self)
{
  return self->settings ? g_settings_get_string (self->settings, "model-folder") : NULL;
}

static void
model_chosen (ScWindow *self, GFile *file)
{
  g_autofree char *path = g_file_get_path (file);
  if (path)
    sc_window_load_model (self, path);
}

static void
choose_model (GtkWidget *widget, const char *action, GVariant *param)
{
  ScWindow *self = SC_WINDOW (widget);
  g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("Stable Diffusion Models"));
  gtk_file_filter_add_suffix (filter, "safetensors");
  g_autofree char *folder = model_folder (self);
  run_chooser (self, _("Choose a Model"), GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), filter, model_chosen, folder,
               NULL);
}

static void
choose_model_folder (GtkWidget *widget, const char *action, GVariant *param)
{
  ScWindow *self = SC_WINDOW (widget);
  g_autofree char *folder = model_folder (self);
  run_chooser (self, _("Choose a Diffusers Model Folder"), GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Select"),
               NULL, model_chosen, folder, NULL);
}

static void
on_manager_model (ScModelManager *manager, const char *path, ScWindow *self)
{
  gtk_widget_set_visible (GTK_WIDGET (manager), FALSE);
  sc_window_load_model (self, path);
}

/* param: the manager's page, "installed" or "download" */
static void
show_models (GtkWidget *widget, const char *action, GVariant *param)
{
  ScWindow *self = SC_WINDOW (widget);
  if (!self->model_manager)
    {
      self->model_manager = sc_model_manager_new (GTK_WINDOW (self), self->settings);
      g_object_add_weak_pointer (G_OBJECT (self->model_manager), (gpointer *) &self->model_manager);
      g_signal_connect (self->model_manager, "model-activated", G_CALLBACK (on_manager_model), self);
    }
  else
    sc_model_manager_rescan (self->model_manager);
  adw_preferences_window_set_visible_page_name (ADW_PREFERENCES_WINDOW (self->model_manager),
                                                g_variant_get_string (param, NULL));
  gtk_window_present (GTK_WINDOW (self->model_manager));
}

/* Opening: pixels and text chunks are read on a worker thread. */
typedef struct {
  ScImage *image;
  char *json;
  ScDocumentPng *work; /* the layers saved with it; NULL none */
} Opened;

static void
opened_free (gpointer data)
{
  Opened *o = data;
  sc_image_free (o->image);
  g_free (o->json);
  sc_document_png_free (o->work);
  g_free (o);
}

static void
open_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  g_autofree char *path = g_file_get_path (data);
  GError *error = NULL;
  if (!path)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, _("Only local files can be opened"));
      return;
    }
  g_autoptr (ScImage) raw = sc_image_load (path, &error);
  ScImage *rgb = raw ? sc_image_to_rgb8 (raw, &error) : NULL;
  if (!rgb)
    {
      g_task_return_error (task, error);
      return;
    }
  Opened *o = g_new0 (Opened, 1);
  o->image = rgb;
  g_autoptr (GHashTable) text = sc_png_read_text (path, NULL); /* a JPEG has none: not an error */
  if (text)
    o->json = g_strdup (g_hash_table_lookup (text, "scedit"));
  o->work = o->json ? sc_document_png_read (path, o->json) : NULL;
  g_task_return_pointer (task, o, opened_free);
}

static void
open_done (GObject *source, GAsyncResult *res, gpointer user)
{
  GError *error = NULL;
  Opened *o = g_task_propagate_pointer (G_TASK (res), &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_error_free (error);
      return;
    }
  ScWindow *self = SC_WINDOW (source);
  GFile *file = g_task_get_task_data (G_TASK (res));
  g_autofree char *name = g_file_get_basename (file);
  if (!o)
    {
      g_autofree char *msg = g_strdup_printf (_("Could not open “%s”: %s"), name, error->message);
      sc_window_toast (self, msg);
      g_error_free (error);
      return;
    }
  g_autoptr (GdkTexture) texture = sc_texture_new_for_image (o->image);
  g_clear_object (&self->shown);
  sc_canvas_set_texture (self->canvas, texture);
  /* the opened picture is the one to paint on, inpaint and extend */
  g_autoptr (GBytes) pixels = g_bytes_new (o->image->data, (gsize) o->image->width * o->image->height * 3);
  sc_document_set_image (self->document, pixels, o->image->width, o->image->height);
  g_autofree char *msg = NULL;
  if (o->json && sc_document_apply_json (self->document, o->json, NULL))
    msg = g_strdup_printf (_("Settings restored from “%s”"), name);
  else
    msg = g_strdup_printf (_("“%s” holds no SCEdit settings"), name);
  sc_window_toast (self, msg);
  g_autoptr (GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  if (o->work)
    sc_document_png_restore (o->work, self->document, notes);
  for (guint i = 0; i < notes->len; i++)
    sc_window_toast (self, g_ptr_array_index (notes, i));
  if (self->model_path)
    gtk_stack_set_visible_child_name (self->main_stack, "ready");
  opened_free (o);
  update_actions (self);
}

void
sc_window_open_image (ScWindow *self, GFile *file)
{
  g_return_if_fail (SC_IS_WINDOW (self) && G_IS_FILE (file));
  g_autoptr (GTask) task = g_task_new (self, self->cancellable, open_done, NULL);
  g_task_set_task_data (task, g_object_ref (file), g_object_unref);
  g_task_run_in_thread (task, open_thread);
}

/* Files dropped on the window (or given on the command line): pictures open, models load. */
void
sc_window_open_files (ScWindow *self, GFile **files, int n_files)
{
  g_return_if_fail (SC_IS_WINDOW (self));
  for (int i = 0; i < n_files; i++)
    {
      g_autofree char *path = g_file_get_path (files[i]);
      if (!path)
        continue;
      g_autofree char *lower = g_ascii_strdown (path, -1);
      if (g_str_has_suffix (lower, ".png") || g_str_has_suffix (lower, ".jpg") || g_str_has_suffix (lower, ".jpeg"))
        sc_window_open_image (self, files[i]);
      else
        sc_window_load_model (self, path); /* a checkpoint or a diffusers folder; the engine says if it is not */
    }
}

static gboolean
on_drop (GtkDropTarget *target, const GValue *value, double x, double y, ScWindow *self)
{
  GSList *list = gdk_file_list_get_files (g_value_get_boxed (value));
  g_autoptr (GPtrArray) files = g_ptr_array_new ();
  for (GSList *l = list; l; l = l->next)
    g_ptr_array_add (files, l->data);
  sc_window_open_files (self, (GFile **) files->pdata, (int) files->len);
  g_slist_free (list);
  return files->len > 0;
}

static void
paste_done (GObject *source, GAsyncResult *res, gpointer user)
{
  g_autoptr (ScWindow) self = user;
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkTexture) texture = gdk_clipboard_read_texture_finish (GDK_CLIPBOARD (source), res, &error);
  if (!texture)
    {
      sc_window_toast (self, _("The clipboard holds no picture"));
      return;
    }
  int w = gdk_texture_get_width (texture), h = gdk_texture_get_height (texture);
  g_autofree guint8 *rgba = g_malloc ((gsize) w * h * 4);
  gdk_texture_download (texture, rgba, (gsize) w * 4);
  /* GDK downloads premultiplied B,G,R,A in memory order on little-endian (CAIRO_FORMAT_ARGB32) */
  guint8 *rgb = g_malloc ((gsize) w * h * 3);
  for (gsize i = 0; i < (gsize) w * h; i++)
    {
      rgb[i * 3 + 0] = rgba[i * 4 + 2];
      rgb[i * 3 + 1] = rgba[i * 4 + 1];
      rgb[i * 3 + 2] = rgba[i * 4 + 0];
    }
  g_autoptr (GBytes) pixels = g_bytes_new_take (rgb, (gsize) w * h * 3);
  g_clear_object (&self->shown);
  sc_canvas_set_texture (self->canvas, texture);
  sc_document_set_image (self->document, pixels, w, h);
  if (self->model_path)
    gtk_stack_set_visible_child_name (self->main_stack, "ready");
  update_actions (self);
}

static void
paste_picture (GtkWidget *widget, const char *action, GVariant *param)
{
  GdkClipboard *clipboard = gtk_widget_get_clipboard (widget);
  gdk_clipboard_read_texture_async (clipboard, NULL, paste_done, g_object_ref (widget));
}

static void
image_chosen (ScWindow *self, GFile *file)
{
  sc_window_open_image (self, file);
}

static void
open_image (GtkWidget *widget, const char *action, GVariant *param)
{
  g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("Images"));
  gtk_file_filter_add_mime_type (filter, "image/png");
  gtk_file_filter_add_mime_type (filter, "image/jpeg");
  run_chooser (SC_WINDOW (widget), _("Open an Image"), GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), filter,
               image_chosen, NULL, NULL);
}

/* Saving: the PNG (both parameter chunks, the document's layers) is written on a worker thread. */
static void
save_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  ScHistoryItem *item = data;
  const char *path = g_object_get_data (G_OBJECT (task), "sc-path");
  ScDocumentPng *work = g_object_get_data (G_OBJECT (task), "sc-work");
  GError *error = NULL;
  if (sc_document_png_write (work, sc_history_item_get_result (item), path, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
save_done (GObject *source, GAsyncResult *res, gpointer user)
{
  GError *error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (res), &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_error_free (error);
      return;
    }
  ScWindow *self = SC_WINDOW (source);
  g_autofree char *name = g_path_get_basename (g_object_get_data (G_OBJECT (res), "sc-path"));
  g_autofree char *msg = ok ? g_strdup_printf (_("Saved “%s”"), name)
                            : g_strdup_printf (_("Could not save “%s”: %s"), name, error->message);
  sc_window_toast (self, msg);
  g_clear_error (&error);
}

void
sc_window_save_image (ScWindow *self, GFile *file)
{
  g_return_if_fail (SC_IS_WINDOW (self) && G_IS_FILE (file));
  if (!self->shown)
    return;
  char *path = g_file_get_path (file);
  if (!path)
    {
      sc_window_toast (self, _("Only local files can be saved"));
      return;
    }
  g_autoptr (GTask) task = g_task_new (self, self->cancellable, save_done, NULL);
  g_object_set_data_full (G_OBJECT (task), "sc-path", path, g_free);
  /* the layers as they are now, with the render shown: the work to come back to */
  g_object_set_data_full (G_OBJECT (task), "sc-work", sc_document_png_snapshot (self->document),
                          (GDestroyNotify) sc_document_png_free);
  g_task_set_task_data (task, g_object_ref (self->shown), g_object_unref);
  g_task_run_in_thread (task, save_thread);
}

static void
save_image (GtkWidget *widget, const char *action, GVariant *param)
{
  ScWindow *self = SC_WINDOW (widget);
  if (!self->shown)
    return;
  g_autofree char *name = g_strdup_printf ("scedit-%" G_GUINT64_FORMAT ".png", sc_history_item_get_seed (self->shown));
  run_chooser (self, _("Save Image"), GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), NULL, sc_window_save_image,
               g_get_user_special_dir (G_USER_DIRECTORY_PICTURES), name);
}

/* ---- GObject ---- */

static void
sc_window_dispose (GObject *object)
{
  ScWindow *self = SC_WINDOW (object);
  g_cancellable_cancel (self->cancellable);
  g_clear_pointer (&self->engine, sc_engine_free); /* cancels and joins; no callback after this */
  if (self->chooser)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  if (self->model_manager)
    gtk_window_destroy (GTK_WINDOW (self->model_manager));
  g_clear_object (&self->shown);
  if (self->live)
    g_signal_handlers_disconnect_by_data (self->live, self);
  if (self->document)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_clear_object (&self->live);
  gtk_widget_dispose_template (GTK_WIDGET (self), SC_TYPE_WINDOW);
  g_clear_object (&self->document);
  g_clear_object (&self->settings);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (sc_window_parent_class)->dispose (object);
}

static void
sc_window_finalize (GObject *object)
{
  g_free (SC_WINDOW (object)->model_path);
  g_free (SC_WINDOW (object)->device_warned);
  G_OBJECT_CLASS (sc_window_parent_class)->finalize (object);
}

static void
sc_window_class_init (ScWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = sc_window_dispose;
  object_class->finalize = sc_window_finalize;

  g_type_ensure (SC_TYPE_CANVAS);
  g_type_ensure (SC_TYPE_HISTORY_STRIP);
  g_type_ensure (SC_TYPE_CREATE_PANEL);
  g_type_ensure (SC_TYPE_TRAIN_PAGE);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/scedit/Studio/ui/window.ui");
  gtk_widget_class_bind_template_child (widget_class, ScWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, switcher_title);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, switcher_bar);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, loading_spinner);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, canvas);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, canvas_hint);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, history);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, panel);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, train_page);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, live_button);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, live_status);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, live_spinner);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, live_stale);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, live_time);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, layer_dropdown);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, brush_button);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, eraser_button);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, line_button);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, fill_button);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, size_scale);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, hardness_scale);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, mask_settings);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, grow_scale);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, feather_scale);
  gtk_widget_class_bind_template_child (widget_class, ScWindow, color_button);

  gtk_widget_class_install_action (widget_class, "win.generate", NULL, generate);
  gtk_widget_class_install_action (widget_class, "win.cancel", NULL, cancel);
  gtk_widget_class_install_action (widget_class, "win.reroll-seed", NULL, reroll_seed);
  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_image);
  gtk_widget_class_install_action (widget_class, "win.save", NULL, save_image);
  gtk_widget_class_install_action (widget_class, "win.choose-model", NULL, choose_model);
  gtk_widget_class_install_action (widget_class, "win.choose-model-folder", NULL, choose_model_folder);
  gtk_widget_class_install_action (widget_class, "win.models", "s", show_models);
  gtk_widget_class_install_action (widget_class, "win.copy-seed", "t", copy_seed);
  gtk_widget_class_install_action (widget_class, "win.delete-render", "t", delete_render);
  gtk_widget_class_install_action (widget_class, "win.undo", NULL, undo);
  gtk_widget_class_install_action (widget_class, "win.extend", "s", extend_picture);
  gtk_widget_class_install_action (widget_class, "win.paste", NULL, paste_picture);
  /* Ctrl+V in the prompt pastes text: the focused text view handles it before the window does */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_v, GDK_CONTROL_MASK, "win.paste", NULL);
  gtk_widget_class_install_action (widget_class, "win.redo", NULL, redo);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK, "win.undo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.redo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.redo", NULL);
}

/* A trained style goes straight onto the Create page, at full strength. */
static void
on_style_trained (ScTrainPage *page, const char *path, const char *name, ScWindow *self)
{
  sc_document_add_style (self->document, path);
  g_autofree char *msg = g_strdup_printf (_("Style “%s” trained — added to Create"), name);
  sc_window_toast (self, msg);
}

/* Live renders need a model: the toggle is off and greyed out on the empty page (while a model loads it
 * keeps its state, so switching models does not turn Live off). */
static void
on_main_page (ScWindow *self)
{
  gboolean empty = g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "empty") == 0;
  if (empty)
    gtk_toggle_button_set_active (self->live_button, FALSE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->live_button), !empty);
}

static void
sc_window_init (ScWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->document = sc_document_new ();
  sc_create_panel_set_document (self->panel, self->document);
  sc_canvas_set_document (self->canvas, self->document);
  g_signal_connect_swapped (self->document, "changed", G_CALLBACK (update_actions), self);
  g_signal_connect_swapped (self->document, "layers-changed", G_CALLBACK (rebuild_layers), self);
  g_signal_connect_swapped (self->document, "active-layer-changed", G_CALLBACK (rebuild_layers), self);
  /* the document's values win: a change either way is a "changed", which Live renders */
  g_object_bind_property (self->document, "mask-grow", gtk_range_get_adjustment (GTK_RANGE (self->grow_scale)), "value",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->document, "mask-feather", gtk_range_get_adjustment (GTK_RANGE (self->feather_scale)),
                          "value", G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  rebuild_layers (self);
  g_signal_connect (self->layer_dropdown, "notify::selected", G_CALLBACK (on_layer_selected), self);
  GtkToggleButton *tools[] = { self->brush_button, self->eraser_button, self->line_button, self->fill_button };
  for (guint i = 0; i < G_N_ELEMENTS (tools); i++)
    g_signal_connect (tools[i], "toggled", G_CALLBACK (on_tool_toggled), self);
  g_signal_connect_swapped (self->size_scale, "value-changed", G_CALLBACK (on_paint_settings), self);
  g_signal_connect_swapped (self->hardness_scale, "value-changed", G_CALLBACK (on_paint_settings), self);
  g_signal_connect_swapped (self->color_button, "color-set", G_CALLBACK (on_paint_settings), self);
  on_paint_settings (self);

  self->live = sc_live_controller_new (self->document);
  g_object_bind_property (self->live_button, "active", self->live, "active", G_BINDING_BIDIRECTIONAL);
  g_signal_connect (self->live, "render", G_CALLBACK (on_live_render), self);
  g_signal_connect (self->live, "cancel", G_CALLBACK (on_live_cancel), self);
  const char *live_props[] = { "notify::active", "notify::busy", "notify::stale", "notify::last-seconds" };
  for (guint i = 0; i < G_N_ELEMENTS (live_props); i++)
    g_signal_connect_swapped (self->live, live_props[i], G_CALLBACK (update_live_status), self);
  update_live_status (self);
  g_autoptr (GSettingsSchema) schema = g_settings_schema_source_lookup (g_settings_schema_source_get_default (),
                                                                         SC_APP_ID, TRUE);
  if (schema)
    {
      self->settings = g_settings_new (SC_APP_ID);
      g_settings_bind (self->settings, "live-steps", self->live, "steps", G_SETTINGS_BIND_GET);
      g_settings_bind (self->settings, "live-size", self->live, "size", G_SETTINGS_BIND_GET);
    }
  else
    g_warning ("GSettings schema %s is not installed; preferences are off", SC_APP_ID);
  sc_train_page_set_settings (self->train_page, self->settings);
  g_signal_connect (self->train_page, "style-trained", G_CALLBACK (on_style_trained), self);
  GtkDropTarget *drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));
  self->engine = sc_engine_new (NULL, &engine_callbacks, self);
  g_signal_connect (self->history, "item-activated", G_CALLBACK (on_history_activated), self);
  g_signal_connect_swapped (self->switcher_title, "notify::title-visible", G_CALLBACK (update_switcher), self);
  update_switcher (self);
  update_actions (self);
  g_signal_connect_swapped (self->main_stack, "notify::visible-child-name", G_CALLBACK (on_main_page), self);
  gtk_stack_set_visible_child_name (self->main_stack, "empty");
  on_main_page (self);
}

ScWindow *
sc_window_new (GtkApplication *application)
{
  return g_object_new (SC_TYPE_WINDOW, "application", application, NULL);
}

ScTrainPage *
sc_window_get_train_page (ScWindow *self)
{
  g_return_val_if_fail (SC_IS_WINDOW (self), NULL);
  return self->train_page;
}

ScDocument *
sc_window_get_document (ScWindow *self)
{
  g_return_val_if_fail (SC_IS_WINDOW (self), NULL);
  return self->document;
}

ScCanvas *
sc_window_get_canvas (ScWindow *self)
{
  g_return_val_if_fail (SC_IS_WINDOW (self), NULL);
  return self->canvas;
}

ScHistoryStrip *
sc_window_get_history (ScWindow *self)
{
  g_return_val_if_fail (SC_IS_WINDOW (self), NULL);
  return self->history;
}

const char *
sc_window_get_page (ScWindow *self)
{
  g_return_val_if_fail (SC_IS_WINDOW (self), NULL);
  return gtk_stack_get_visible_child_name (self->main_stack);
}

ScLiveController *
sc_window_get_live_controller (ScWindow *self)
{
  g_return_val_if_fail (SC_IS_WINDOW (self), NULL);
  return self->live;
}

GtkRange *
sc_window_get_mask_grow_control (ScWindow *self)
{
  g_return_val_if_fail (SC_IS_WINDOW (self), NULL);
  return GTK_RANGE (self->grow_scale);
}

GtkRange *
sc_window_get_mask_feather_control (ScWindow *self)
{
  g_return_val_if_fail (SC_IS_WINDOW (self), NULL);
  return GTK_RANGE (self->feather_scale);
}

gboolean
sc_window_get_busy (ScWindow *self)
{
  g_return_val_if_fail (SC_IS_WINDOW (self), FALSE);
  return self->render_id != 0;
}
