#define G_LOG_DOMAIN "scedit-train"

#include "sc-train-page.h"

#include "core/error.h"
#include "diffusion/train.h"
#include "diffusion/train_data.h"
#include "scedit/tuner_io.h"

#include <glib/gi18n.h>

struct _ScTrainPage {
  AdwBin parent_instance;

  /* template */
  AdwActionRow *folder_row;
  AdwEntryRow *name_row;
  GtkSpinButton *steps_spin, *lr_spin, *res_spin;
  AdwEntryRow *caption_row;
  GtkButton *train_button;
  GtkLabel *hint_label;
  GtkProgressBar *progress_bar;
  GtkLabel *time_label;
  GtkLabel *status_label;

  char *model_path;
  char *folder;
  GSettings *settings;
  GtkNativeDialog *chooser;
  GCancellable *cancellable; /* the run in flight; NULL when idle */
  guint run;                 /* counts runs, so a late report of an old one is dropped */
  int step, n_steps;
};

G_DEFINE_FINAL_TYPE (ScTrainPage, sc_train_page, ADW_TYPE_BIN)

enum { STYLE_TRAINED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* g_set_str is GLib 2.76 */
static void
replace_str (char **slot, const char *value)
{
  char *old = *slot;
  *slot = g_strdup (value);
  g_free (old);
}

/* ---- the worker: everything it needs is copied in, it only talks back through Report ---- */

typedef struct {
  char *model_path, *folder, *caption, *out_path;
  int steps, resolution;
  double lr;
  guint run;
} Job;

static void
job_free (gpointer data)
{
  Job *j = data;
  g_free (j->model_path);
  g_free (j->folder);
  g_free (j->caption);
  g_free (j->out_path);
  g_free (j);
}

typedef struct {
  ScTrainPage *page; /* a reference */
  guint run;
  int step, n_steps;
  float loss;
  double seconds_per_step;
} Report;

static gboolean
report_on_ui (gpointer data)
{
  Report *r = data;
  ScTrainPage *self = r->page;
  if (self->cancellable && r->run == self->run)
    {
      self->step = r->step;
      self->n_steps = r->n_steps;
      gtk_progress_bar_set_fraction (self->progress_bar, (double) r->step / r->n_steps);
      g_autofree char *text = g_strdup_printf (_("Step %d of %d · loss %.4f"), r->step, r->n_steps, r->loss);
      gtk_progress_bar_set_text (self->progress_bar, text);
      g_autofree char *time = g_strdup_printf (_("%.2f s per step"), r->seconds_per_step);
      gtk_label_set_label (self->time_label, time);
    }
  g_object_unref (r->page);
  g_free (r);
  return G_SOURCE_REMOVE;
}

static void
train_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Job *j = data;
  GError *error = NULL;
  const ScBackend *be = sc_backend_cpu ();
  ScModelOptions opts = { .components = SC_COMPONENT_ALL };
  g_autoptr (ScModel) m = sc_model_load (j->model_path, &opts, &error);
  if (!m || !sc_train_check_resolution (m, j->resolution, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_autoptr (ScTrainData) d = sc_train_data_load (m, be, j->folder, j->resolution, j->caption, &error);
  if (!d)
    {
      g_task_return_error (task, error);
      return;
    }
  ScSkipLayout layout;
  if (!sc_skip_layout_from_unet (&m->arch.unet, &layout))
    {
      g_task_return_new_error (task, SC_ERROR, SC_ERROR_UNSUPPORTED, _("This model’s U-Net has too many skip connections"));
      return;
    }
  /* the official init: ln2 zero, so training starts from the base model */
  g_autoptr (ScScTuner) tuner = sc_sc_tuner_new_random (&layout, 1.0, 0, FALSE, &error);
  ScTrainOptions topt;
  sc_train_options_init (&topt);
  topt.adamw.lr = (float) j->lr;
  g_autoptr (ScTrainer) tr = tuner ? sc_trainer_new (m, be, tuner, d->h, d->w, &topt, &error) : NULL;
  if (!tr)
    {
      g_task_return_error (task, error);
      return;
    }
  /* the posterior samples get their own stream, as in cmd-train.c */
  ScPhilox data_rng;
  sc_philox_init (&data_rng, 1);
  g_autofree float *z0 = g_new (float, d->h * d->w * d->c);
  gint64 t0 = g_get_monotonic_time ();
  for (int s = 1; s <= j->steps; s++)
    {
      if (g_task_return_error_if_cancelled (task))
        return; /* nothing saved */
      int i = (s - 1) % d->n;
      float loss;
      sc_train_data_latent (d, i, &data_rng, z0);
      if (!sc_trainer_step (tr, z0, d->items[i].context, d->n_ctx, &loss, &error))
        {
          g_prefix_error (&error, _("Step %d: "), s);
          g_task_return_error (task, error);
          return;
        }
      Report *r = g_new0 (Report, 1);
      r->page = g_object_ref (source);
      r->run = j->run;
      r->step = s;
      r->n_steps = j->steps;
      r->loss = loss;
      r->seconds_per_step = (double) (g_get_monotonic_time () - t0) / 1e6 / s;
      g_main_context_invoke (NULL, report_on_ui, r);
    }
  if (g_task_return_error_if_cancelled (task))
    return;
  ScTunerMeta meta = { .arch = m->arch.name, .steps = j->steps };
  if (!sc_sc_tuner_save (tuner, &meta, j->out_path, &error)) /* atomic: no half-written style */
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* ---- the form ---- */

static const char *
style_name (ScTrainPage *self)
{
  return gtk_editable_get_text (GTK_EDITABLE (self->name_row));
}

/* The name becomes the file name: no folders, no hidden files. */
static gboolean
name_ok (const char *name)
{
  return name[0] && name[0] != '.' && !strchr (name, '/') && !strchr (name, '\\');
}

static void
update (ScTrainPage *self)
{
  gboolean running = self->cancellable != NULL;
  const char *hint = NULL;
  if (!self->model_path)
    hint = _("Load a model on the Create page first");
  else if (!self->folder)
    hint = _("Choose a folder of pictures");
  else if (!name_ok (style_name (self)))
    hint = _("Give the style a name (it becomes the file name)");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.start", !running && !hint);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "train.cancel", running);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->train_button), running ? "train.cancel" : "train.start");
  gtk_button_set_label (self->train_button, running ? _("_Cancel") : _("_Train"));
  if (running)
    {
      gtk_widget_remove_css_class (GTK_WIDGET (self->train_button), "suggested-action");
      gtk_widget_add_css_class (GTK_WIDGET (self->train_button), "destructive-action");
    }
  else
    {
      gtk_widget_remove_css_class (GTK_WIDGET (self->train_button), "destructive-action");
      gtk_widget_add_css_class (GTK_WIDGET (self->train_button), "suggested-action");
    }
  gtk_label_set_label (self->hint_label, running || !hint ? "" : hint);
  gtk_widget_set_visible (GTK_WIDGET (self->hint_label), !running && hint);
  gtk_widget_set_sensitive (GTK_WIDGET (self->folder_row), !running);
  gtk_widget_set_sensitive (GTK_WIDGET (self->name_row), !running);
  gtk_widget_set_sensitive (GTK_WIDGET (self->caption_row), !running);
  gtk_widget_set_sensitive (GTK_WIDGET (self->steps_spin), !running);
  gtk_widget_set_sensitive (GTK_WIDGET (self->lr_spin), !running);
  gtk_widget_set_sensitive (GTK_WIDGET (self->res_spin), !running);
}

static void
set_status (ScTrainPage *self, const char *text, gboolean error)
{
  gtk_label_set_label (self->status_label, text ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->status_label), text && *text);
  if (error)
    gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->status_label), "error");
}

static void
train_done (GObject *source, GAsyncResult *res, gpointer user)
{
  ScTrainPage *self = SC_TRAIN_PAGE (source);
  Job *j = g_task_get_task_data (G_TASK (res));
  g_autoptr (GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (res), &error);
  if (!self->progress_bar || j->run != self->run)
    return; /* the page is gone, or this run was replaced */
  g_clear_object (&self->cancellable);
  g_autofree char *name = g_path_get_basename (j->out_path);
  if (ok)
    {
      char *dot = strrchr (name, '.');
      if (dot)
        *dot = '\0';
      set_status (self, NULL, FALSE);
      g_signal_emit (self, signals[STYLE_TRAINED], 0, j->out_path, name);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      gtk_progress_bar_set_text (self->progress_bar, _("Training cancelled"));
      set_status (self, _("Training cancelled"), FALSE);
    }
  else
    {
      g_autofree char *msg = g_strdup_printf (_("Training failed: %s"), error->message);
      set_status (self, msg, TRUE);
    }
  update (self);
}

void
sc_train_page_start (ScTrainPage *self)
{
  g_return_if_fail (SC_IS_TRAIN_PAGE (self));
  if (self->cancellable || !sc_train_page_can_start (self))
    return;
  /* styles go with the models when there is a model folder, else beside their pictures */
  g_autofree char *dir = self->settings ? g_settings_get_string (self->settings, "model-folder") : NULL;
  if (!dir || !*dir)
    replace_str (&dir, self->folder);
  g_autofree char *file = g_strconcat (style_name (self), ".safetensors", NULL);
  Job *j = g_new0 (Job, 1);
  j->model_path = g_strdup (self->model_path);
  j->folder = g_strdup (self->folder);
  j->caption = g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->caption_row)));
  j->out_path = g_build_filename (dir, file, NULL);
  j->steps = gtk_spin_button_get_value_as_int (self->steps_spin);
  j->resolution = gtk_spin_button_get_value_as_int (self->res_spin);
  j->lr = gtk_spin_button_get_value (self->lr_spin);
  j->run = ++self->run;
  self->step = 0;
  self->n_steps = j->steps;
  self->cancellable = g_cancellable_new ();
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_progress_bar_set_text (self->progress_bar, _("Reading the pictures…"));
  gtk_label_set_label (self->time_label, "");
  set_status (self, NULL, FALSE);
  g_autoptr (GTask) task = g_task_new (self, self->cancellable, train_done, NULL);
  g_task_set_task_data (task, j, job_free);
  g_task_set_return_on_cancel (task, FALSE); /* the worker stops between steps; its result says how */
  g_task_run_in_thread (task, train_thread);
  update (self);
}

void
sc_train_page_cancel (ScTrainPage *self)
{
  g_return_if_fail (SC_IS_TRAIN_PAGE (self));
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
}

static void
start_action (GtkWidget *widget, const char *action, GVariant *param)
{
  sc_train_page_start (SC_TRAIN_PAGE (widget));
}

static void
cancel_action (GtkWidget *widget, const char *action, GVariant *param)
{
  sc_train_page_cancel (SC_TRAIN_PAGE (widget));
}

G_GNUC_BEGIN_IGNORE_DEPRECATIONS /* GtkFileChooserNative: GtkFileDialog is 4.10, our floor 4.8 */

static void
on_folder_response (GtkNativeDialog *dialog, int response, ScTrainPage *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      if (path)
        sc_train_page_set_folder (self, path);
    }
  g_clear_object (&self->chooser);
}

static void
choose_folder (GtkWidget *widget, const char *action, GVariant *param)
{
  ScTrainPage *self = SC_TRAIN_PAGE (widget);
  if (self->chooser)
    return;
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkFileChooserNative *n = gtk_file_chooser_native_new (_("Choose a Folder of Pictures"),
                                                         GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                                         GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Select"),
                                                         _("_Cancel"));
  g_signal_connect (n, "response", G_CALLBACK (on_folder_response), self);
  self->chooser = GTK_NATIVE_DIALOG (n);
  gtk_native_dialog_show (self->chooser);
}

G_GNUC_END_IGNORE_DEPRECATIONS

/* ---- public ---- */

void
sc_train_page_set_model_path (ScTrainPage *self, const char *path)
{
  g_return_if_fail (SC_IS_TRAIN_PAGE (self));
  replace_str (&self->model_path, path);
  update (self);
}

void
sc_train_page_set_settings (ScTrainPage *self, GSettings *settings)
{
  g_return_if_fail (SC_IS_TRAIN_PAGE (self));
  g_set_object (&self->settings, settings);
}

void
sc_train_page_set_folder (ScTrainPage *self, const char *path)
{
  g_return_if_fail (SC_IS_TRAIN_PAGE (self));
  replace_str (&self->folder, path && *path ? path : NULL);
  adw_action_row_set_subtitle (self->folder_row, self->folder ? self->folder : _("None chosen"));
  update (self);
}

const char *
sc_train_page_get_folder (ScTrainPage *self)
{
  g_return_val_if_fail (SC_IS_TRAIN_PAGE (self), NULL);
  return self->folder;
}

void
sc_train_page_set_style_name (ScTrainPage *self, const char *name)
{
  g_return_if_fail (SC_IS_TRAIN_PAGE (self));
  gtk_editable_set_text (GTK_EDITABLE (self->name_row), name ? name : "");
}

void
sc_train_page_set_steps (ScTrainPage *self, int steps)
{
  g_return_if_fail (SC_IS_TRAIN_PAGE (self));
  gtk_spin_button_set_value (self->steps_spin, steps);
}

void
sc_train_page_set_learning_rate (ScTrainPage *self, double lr)
{
  g_return_if_fail (SC_IS_TRAIN_PAGE (self));
  gtk_spin_button_set_value (self->lr_spin, lr);
}

void
sc_train_page_set_resolution (ScTrainPage *self, int resolution)
{
  g_return_if_fail (SC_IS_TRAIN_PAGE (self));
  /* the form starts at 256 (less is no use for Stable Diffusion); tiny test models train at 64 */
  GtkAdjustment *adj = gtk_spin_button_get_adjustment (self->res_spin);
  if (resolution >= 64 && resolution < gtk_adjustment_get_lower (adj))
    gtk_adjustment_set_lower (adj, resolution);
  gtk_spin_button_set_value (self->res_spin, resolution);
}

void
sc_train_page_set_caption (ScTrainPage *self, const char *caption)
{
  g_return_if_fail (SC_IS_TRAIN_PAGE (self));
  gtk_editable_set_text (GTK_EDITABLE (self->caption_row), caption ? caption : "");
}

gboolean
sc_train_page_get_running (ScTrainPage *self)
{
  g_return_val_if_fail (SC_IS_TRAIN_PAGE (self), FALSE);
  return self->cancellable != NULL;
}

gboolean
sc_train_page_can_start (ScTrainPage *self)
{
  g_return_val_if_fail (SC_IS_TRAIN_PAGE (self), FALSE);
  return !self->cancellable && self->model_path && self->folder && name_ok (style_name (self));
}

int
sc_train_page_get_step (ScTrainPage *self)
{
  g_return_val_if_fail (SC_IS_TRAIN_PAGE (self), 0);
  return self->step;
}

int
sc_train_page_get_n_steps (ScTrainPage *self)
{
  g_return_val_if_fail (SC_IS_TRAIN_PAGE (self), 0);
  return self->n_steps;
}

const char *
sc_train_page_get_status (ScTrainPage *self)
{
  g_return_val_if_fail (SC_IS_TRAIN_PAGE (self), NULL);
  return gtk_label_get_label (self->status_label);
}

const char *
sc_train_page_get_progress_text (ScTrainPage *self)
{
  g_return_val_if_fail (SC_IS_TRAIN_PAGE (self), NULL);
  return gtk_progress_bar_get_text (self->progress_bar);
}

/* ---- GObject ---- */

static void
sc_train_page_dispose (GObject *object)
{
  ScTrainPage *self = SC_TRAIN_PAGE (object);
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable); /* the worker stops at its next step; train_done sees no page */
  g_clear_object (&self->cancellable);
  if (self->chooser)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), SC_TYPE_TRAIN_PAGE);
  self->progress_bar = NULL;
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (sc_train_page_parent_class)->dispose (object);
}

static void
sc_train_page_finalize (GObject *object)
{
  ScTrainPage *self = SC_TRAIN_PAGE (object);
  g_free (self->model_path);
  g_free (self->folder);
  G_OBJECT_CLASS (sc_train_page_parent_class)->finalize (object);
}

static void
sc_train_page_class_init (ScTrainPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = sc_train_page_dispose;
  object_class->finalize = sc_train_page_finalize;

  /* path: the saved .safetensors; name: the style's name (the file name without the suffix) */
  signals[STYLE_TRAINED] = g_signal_new ("style-trained", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                         NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/scedit/Studio/ui/train-page.ui");
  gtk_widget_class_bind_template_child (widget_class, ScTrainPage, folder_row);
  gtk_widget_class_bind_template_child (widget_class, ScTrainPage, name_row);
  gtk_widget_class_bind_template_child (widget_class, ScTrainPage, steps_spin);
  gtk_widget_class_bind_template_child (widget_class, ScTrainPage, lr_spin);
  gtk_widget_class_bind_template_child (widget_class, ScTrainPage, res_spin);
  gtk_widget_class_bind_template_child (widget_class, ScTrainPage, caption_row);
  gtk_widget_class_bind_template_child (widget_class, ScTrainPage, train_button);
  gtk_widget_class_bind_template_child (widget_class, ScTrainPage, hint_label);
  gtk_widget_class_bind_template_child (widget_class, ScTrainPage, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, ScTrainPage, time_label);
  gtk_widget_class_bind_template_child (widget_class, ScTrainPage, status_label);
  gtk_widget_class_bind_template_callback (widget_class, update);

  gtk_widget_class_install_action (widget_class, "train.start", NULL, start_action);
  gtk_widget_class_install_action (widget_class, "train.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "train.choose-folder", NULL, choose_folder);
}

static void
sc_train_page_init (ScTrainPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  sc_train_page_set_folder (self, NULL);
  update (self);
}
