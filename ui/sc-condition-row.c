#define G_LOG_DOMAIN "scedit-condition-row"

#include "sc-condition-row.h"

#include "sc-canvas.h"
#include "sc-window.h"

#include <glib/gi18n.h>
#include <string.h>

struct _ScConditionRow {
  AdwExpanderRow parent_instance;
  GtkPicture *thumbnail;
  GtkToggleButton *visible_button;
  GtkAdjustment *weight_adjustment;
  GtkButton *controller_button;
  ScDocument *document;
  guint index;
  GBytes *shown;               /* the picture the thumbnail shows */
  GCancellable *cancellable;   /* picture loads and extractions in flight */
  GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE (ScConditionRow, sc_condition_row, ADW_TYPE_EXPANDER_ROW)

const char *
sc_condition_kind_label (ScControlKind kind)
{
  switch (kind)
    {
    case SC_CONTROL_CANNY: return _("Edges");
    case SC_CONTROL_DEPTH: return _("Depth");
    case SC_CONTROL_COLOR: return _("Colour");
    case SC_CONTROL_SKETCH: return _("Sketch");
    case SC_CONTROL_INPAINT: return _("Inpainting");
    case SC_CONTROL_HINT:
    default: return _("Condition Map");
    }
}

static void
toast (ScConditionRow *self, const char *message)
{
  GtkWidget *win = gtk_widget_get_ancestor (GTK_WIDGET (self), SC_TYPE_WINDOW);
  if (win)
    sc_window_toast (SC_WINDOW (win), message);
  else
    g_message ("%s", message);
}

/* Brings the widgets in line with the document (the picture and controller may change from outside). */
static void
sync_widgets (ScConditionRow *self)
{
  if (self->index >= sc_document_get_n_conditions (self->document))
    return; /* about to be rebuilt */
  int w, h;
  GBytes *picture = sc_document_get_condition_picture (self->document, self->index, &w, &h);
  if (picture != self->shown)
    {
      g_clear_pointer (&self->shown, g_bytes_unref);
      self->shown = picture ? g_bytes_ref (picture) : NULL;
      g_autoptr (GdkTexture) texture = picture ? gdk_memory_texture_new (w, h, GDK_MEMORY_R8G8B8, picture,
                                                                         (gsize) w * 3)
                                               : NULL;
      gtk_picture_set_paintable (self->thumbnail, GDK_PAINTABLE (texture));
    }
  const char *controller = sc_document_get_condition_controller (self->document, self->index);
  g_autofree char *base = controller ? g_path_get_basename (controller) : NULL;
  gtk_button_set_label (self->controller_button, base ? base : _("Choose…"));
  g_autofree char *subtitle = NULL;
  if (!controller)
    subtitle = g_strdup (_("Choose a controller file"));
  else if (!picture)
    subtitle = g_strdup (_("No picture yet"));
  else
    subtitle = g_strdup_printf (_("%d × %d picture"), w, h);
  adw_expander_row_set_subtitle (ADW_EXPANDER_ROW (self), subtitle);
  gtk_adjustment_set_value (self->weight_adjustment, sc_document_get_condition_weight (self->document, self->index));
  gtk_toggle_button_set_active (self->visible_button,
                                sc_document_get_condition_visible (self->document, self->index));
  gtk_button_set_icon_name (GTK_BUTTON (self->visible_button), gtk_toggle_button_get_active (self->visible_button)
                                                                   ? "view-reveal-symbolic"
                                                                   : "view-conceal-symbolic");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "condition.clear", picture != NULL);
}

static void
on_weight_changed (GtkAdjustment *adjustment, ScConditionRow *self)
{
  sc_document_set_condition_weight (self->document, self->index, gtk_adjustment_get_value (adjustment));
}

static void
on_visible_toggled (GtkToggleButton *button, ScConditionRow *self)
{
  sc_document_set_condition_visible (self->document, self->index, gtk_toggle_button_get_active (button));
}

/* ---- pictures, made on a worker thread ---- */

typedef struct {
  char *path;          /* load this file … */
  ScImage *given;      /* … or use this picture as it is (a dropped or pasted texture) … */
  ScImage *image;      /* … or extract the condition from this image */
  ScControlKind kind;
  GBytes *picture;     /* out: 8-bit RGB */
  int width, height;
  GTask *caller;       /* sc_condition_row_accept_*'s task, told how it ended; NULL none */
} PictureJob;

static void
picture_job_free (gpointer data)
{
  PictureJob *j = data;
  g_free (j->path);
  sc_image_free (j->given);
  sc_image_free (j->image);
  g_clear_pointer (&j->picture, g_bytes_unref);
  g_clear_object (&j->caller);
  g_free (j);
}

static void
picture_job_run (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  PictureJob *j = data;
  GError *error = NULL;
  g_autoptr (ScImage) loaded = j->path ? sc_image_load (j->path, &error) : NULL;
  if (j->path && !loaded)
    {
      g_task_return_error (task, error);
      return;
    }
  g_autoptr (ScImage) rgb = NULL;
  if (loaded)
    rgb = sc_image_to_rgb8 (loaded, &error);
  else if (j->given)
    rgb = g_steal_pointer (&j->given);
  else
    {
      /* the annotator at the image's own size (multiples of 8, as every render is) */
      g_autoptr (ScTensor) hint = sc_control_hint_from_image (j->image, j->kind, NULL, j->image->width / 8 * 8,
                                                              j->image->height / 8 * 8, &error);
      if (hint)
        rgb = sc_image_from_float_rgb (hint->data, j->image->width / 8 * 8, j->image->height / 8 * 8, &error);
    }
  if (!rgb)
    {
      g_task_return_error (task, error);
      return;
    }
  j->width = rgb->width;
  j->height = rgb->height;
  j->picture = g_bytes_new (rgb->data, (gsize) rgb->width * rgb->height * 3);
  g_task_return_boolean (task, TRUE);
}

static void
picture_failed (ScConditionRow *self, const GError *error)
{
  g_autofree char *msg = g_strdup_printf (_("Could not use the picture: %s"), error->message);
  toast (self, msg);
}

static void
picture_job_done (GObject *source, GAsyncResult *result, gpointer user)
{
  ScConditionRow *self = SC_CONDITION_ROW (source);
  PictureJob *j = g_task_get_task_data (G_TASK (result));
  g_autoptr (GTask) caller = g_steal_pointer (&j->caller);
  GError *error = NULL;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) /* cancelled: the row is gone */
        picture_failed (self, error);
      if (caller)
        g_task_return_error (caller, error);
      else
        g_error_free (error);
      return;
    }
  sc_document_set_condition_picture (self->document, self->index, j->picture, j->width, j->height,
                                     j->image != NULL);
  if (caller)
    g_task_return_boolean (caller, TRUE);
}

static void
start_job (ScConditionRow *self, PictureJob *job)
{
  g_autoptr (GTask) task = g_task_new (self, self->cancellable, picture_job_done, NULL);
  g_task_set_task_data (task, job, picture_job_free);
  g_task_set_return_on_cancel (task, TRUE);
  g_task_run_in_thread (task, picture_job_run);
}

void
sc_condition_row_accept_file (ScConditionRow *self, GFile *file, GAsyncReadyCallback callback, gpointer user)
{
  g_return_if_fail (SC_IS_CONDITION_ROW (self) && G_IS_FILE (file));
  char *path = g_file_get_path (file);
  if (!path)
    {
      GError *error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, _("Only local files can be used"));
      picture_failed (self, error);
      g_task_report_error (self, callback, user, sc_condition_row_accept_file, error);
      return;
    }
  PictureJob *job = g_new0 (PictureJob, 1);
  job->path = path;
  if (callback)
    job->caller = g_task_new (self, NULL, callback, user);
  start_job (self, job);
}

static ScImage *texture_to_image (GdkTexture *texture, GError **error);

void
sc_condition_row_accept_texture (ScConditionRow *self, GdkTexture *texture, GAsyncReadyCallback callback,
                                 gpointer user)
{
  g_return_if_fail (SC_IS_CONDITION_ROW (self) && GDK_IS_TEXTURE (texture));
  GError *error = NULL;
  ScImage *given = texture_to_image (texture, &error);
  if (!given)
    {
      picture_failed (self, error);
      g_task_report_error (self, callback, user, sc_condition_row_accept_texture, error);
      return;
    }
  PictureJob *job = g_new0 (PictureJob, 1);
  job->given = given;
  if (callback)
    job->caller = g_task_new (self, NULL, callback, user);
  start_job (self, job);
}

gboolean
sc_condition_row_accept_finish (ScConditionRow *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
on_image_chosen (GtkNativeDialog *dialog, int response, ScConditionRow *self)
{
  g_autoptr (GFile) file = response == GTK_RESPONSE_ACCEPT ? gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog))
                                                           : NULL;
  g_clear_object (&self->chooser);
  if (file)
    sc_condition_row_accept_file (self, file, NULL, NULL);
}

static void
on_controller_chosen (GtkNativeDialog *dialog, int response, ScConditionRow *self)
{
  g_autoptr (GFile) file = response == GTK_RESPONSE_ACCEPT ? gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog))
                                                           : NULL;
  g_autofree char *path = file ? g_file_get_path (file) : NULL;
  g_clear_object (&self->chooser);
  if (path)
    sc_document_set_condition_controller (self->document, self->index, path);
}

static void
open_chooser (ScConditionRow *self, const char *title, const char *filter_name, const char *const *patterns,
              GCallback on_response)
{
  GtkWindow *parent = GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self)));
  g_clear_object (&self->chooser);
  self->chooser = gtk_file_chooser_native_new (title, parent, GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"),
                                               _("_Cancel"));
  g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, filter_name);
  for (; *patterns; patterns++)
    gtk_file_filter_add_pattern (filter, *patterns);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  g_signal_connect (self->chooser, "response", on_response, self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
load_image (GtkWidget *widget, const char *action, GVariant *param)
{
  static const char *const patterns[] = { "*.png", "*.jpg", "*.jpeg", "*.PNG", "*.JPG", "*.JPEG", NULL };
  open_chooser (SC_CONDITION_ROW (widget), _("Load Condition Picture"), _("Pictures"), patterns,
                G_CALLBACK (on_image_chosen));
}

static void
choose_controller (GtkWidget *widget, const char *action, GVariant *param)
{
  static const char *const patterns[] = { "*.safetensors", "*.bin", NULL };
  open_chooser (SC_CONDITION_ROW (widget), _("Choose Controller"), _("Controllers"), patterns,
                G_CALLBACK (on_controller_chosen));
}

/* A texture as 8-bit RGB, any transparency over white as sc_image_to_rgb8 does for files (GDK hands out
 * premultiplied pixels, so that is the colour plus the missing alpha). */
static ScImage *
texture_to_image (GdkTexture *texture, GError **error)
{
  int w = gdk_texture_get_width (texture), h = gdk_texture_get_height (texture);
  ScImage *img = sc_image_new (w, h, 3, 8, error); /* refuses a picture too large before the download */
  if (!img)
    return NULL;
  g_autofree guint8 *argb = g_malloc ((gsize) w * h * 4);
  gdk_texture_download (texture, argb, (gsize) w * 4);
  guint8 *out = img->data;
  for (gsize i = 0; i < (gsize) w * h; i++)
    {
      guint32 px;
      memcpy (&px, argb + 4 * i, 4); /* cairo ARGB32 in native byte order */
      guint white = 255 - (px >> 24);
      out[3 * i] = (guint8) (((px >> 16) & 0xff) + white);
      out[3 * i + 1] = (guint8) (((px >> 8) & 0xff) + white);
      out[3 * i + 2] = (guint8) ((px & 0xff) + white);
    }
  return img;
}

static void
from_canvas (GtkWidget *widget, const char *action, GVariant *param)
{
  ScConditionRow *self = SC_CONDITION_ROW (widget);
  GtkWidget *win = gtk_widget_get_ancestor (widget, SC_TYPE_WINDOW);
  GdkTexture *texture = win ? sc_canvas_get_texture (sc_window_get_canvas (SC_WINDOW (win))) : NULL;
  if (!texture)
    {
      toast (self, _("There is no image yet: create one first"));
      return;
    }
  PictureJob *job = g_new0 (PictureJob, 1);
  job->image = texture_to_image (texture, NULL);
  job->kind = sc_document_get_condition_kind (self->document, self->index);
  start_job (self, job);
}

/* ---- drops and pastes: the row they land on takes them, not the window ---- */

static gboolean
on_drop (GtkDropTarget *target, const GValue *value, double x, double y, ScConditionRow *self)
{
  if (G_VALUE_HOLDS (value, GDK_TYPE_TEXTURE))
    {
      sc_condition_row_accept_texture (self, g_value_get_object (value), NULL, NULL);
      return TRUE;
    }
  GFile *file = NULL;
  if (G_VALUE_HOLDS (value, G_TYPE_FILE))
    file = g_value_get_object (value);
  else if (G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    {
      GSList *files = gdk_file_list_get_files (g_value_get_boxed (value)); /* the list keeps the files */
      file = files ? files->data : NULL; /* one picture per condition: the first */
      g_slist_free (files);
    }
  if (!file)
    return FALSE;
  sc_condition_row_accept_file (self, file, NULL, NULL);
  return TRUE;
}

static void
paste_done (GObject *source, GAsyncResult *result, gpointer user)
{
  g_autoptr (ScConditionRow) self = user;
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkTexture) texture = gdk_clipboard_read_texture_finish (GDK_CLIPBOARD (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || !self->document)
    return; /* the row is gone */
  if (!texture)
    toast (self, _("The clipboard holds no picture"));
  else
    sc_condition_row_accept_texture (self, texture, NULL, NULL);
}

static void
paste_image (GtkWidget *widget, const char *action, GVariant *param)
{
  ScConditionRow *self = SC_CONDITION_ROW (widget);
  gdk_clipboard_read_texture_async (gtk_widget_get_clipboard (widget), self->cancellable, paste_done,
                                    g_object_ref (self));
}

static void
clear_picture (GtkWidget *widget, const char *action, GVariant *param)
{
  ScConditionRow *self = SC_CONDITION_ROW (widget);
  sc_document_set_condition_picture (self->document, self->index, NULL, 0, 0, FALSE);
}

static void
remove_layer (GtkWidget *widget, const char *action, GVariant *param)
{
  ScConditionRow *self = SC_CONDITION_ROW (widget);
  g_autoptr (ScConditionRow) hold = g_object_ref (self); /* the rebuild drops this row */
  sc_document_remove_condition (self->document, self->index);
}

static void
sc_condition_row_dispose (GObject *object)
{
  ScConditionRow *self = SC_CONDITION_ROW (object);
  g_cancellable_cancel (self->cancellable);
  if (self->chooser)
    {
      g_signal_handlers_disconnect_by_data (self->chooser, self);
      gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
      g_clear_object (&self->chooser);
    }
  if (self->document)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_clear_object (&self->document);
  g_clear_pointer (&self->shown, g_bytes_unref);
  G_OBJECT_CLASS (sc_condition_row_parent_class)->dispose (object);
}

static void
sc_condition_row_finalize (GObject *object)
{
  g_object_unref (SC_CONDITION_ROW (object)->cancellable);
  G_OBJECT_CLASS (sc_condition_row_parent_class)->finalize (object);
}

static void
sc_condition_row_class_init (ScConditionRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = sc_condition_row_dispose;
  object_class->finalize = sc_condition_row_finalize;
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/scedit/Studio/ui/condition-row.ui");
  gtk_widget_class_bind_template_child (widget_class, ScConditionRow, thumbnail);
  gtk_widget_class_bind_template_child (widget_class, ScConditionRow, visible_button);
  gtk_widget_class_bind_template_child (widget_class, ScConditionRow, weight_adjustment);
  gtk_widget_class_bind_template_child (widget_class, ScConditionRow, controller_button);
  gtk_widget_class_install_action (widget_class, "condition.load-image", NULL, load_image);
  gtk_widget_class_install_action (widget_class, "condition.from-canvas", NULL, from_canvas);
  gtk_widget_class_install_action (widget_class, "condition.paste-image", NULL, paste_image);
  /* Ctrl+V with the focus in this row pastes here (elsewhere the window's Ctrl+V pastes the image) */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_v, GDK_CONTROL_MASK, "condition.paste-image", NULL);
  gtk_widget_class_install_action (widget_class, "condition.clear", NULL, clear_picture);
  gtk_widget_class_install_action (widget_class, "condition.choose-controller", NULL, choose_controller);
  gtk_widget_class_install_action (widget_class, "condition.remove", NULL, remove_layer);
}

static void
sc_condition_row_init (ScConditionRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  /* a texture first: a browser offers the picture itself besides its web address */
  GType types[] = { GDK_TYPE_TEXTURE, GDK_TYPE_FILE_LIST, G_TYPE_FILE };
  GtkDropTarget *drop = gtk_drop_target_new (G_TYPE_INVALID, GDK_ACTION_COPY);
  gtk_drop_target_set_gtypes (drop, types, G_N_ELEMENTS (types));
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));
}

GtkWidget *
sc_condition_row_new (ScDocument *document, guint index)
{
  g_return_val_if_fail (SC_IS_DOCUMENT (document), NULL);
  ScConditionRow *self = g_object_new (SC_TYPE_CONDITION_ROW, NULL);
  self->document = g_object_ref (document);
  self->index = index;
  ScControlKind kind = sc_document_get_condition_kind (document, index);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self), sc_condition_kind_label (kind));
  /* only edges and colours can be computed from a picture here; depth and sketches come from files */
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "condition.from-canvas",
                                 kind == SC_CONTROL_CANNY || kind == SC_CONTROL_COLOR);
  sync_widgets (self);
  g_signal_connect (self->weight_adjustment, "value-changed", G_CALLBACK (on_weight_changed), self);
  g_signal_connect (self->visible_button, "toggled", G_CALLBACK (on_visible_toggled), self);
  g_signal_connect_swapped (document, "changed", G_CALLBACK (sync_widgets), self);
  return GTK_WIDGET (self);
}

GtkAdjustment *
sc_condition_row_get_weight_adjustment (ScConditionRow *self)
{
  g_return_val_if_fail (SC_IS_CONDITION_ROW (self), NULL);
  return self->weight_adjustment;
}
