/* The Train page under Xvfb with the tiny model: a run over two pictures saves a tuner that loads, reports
 * every step and adds the style to the document; a run cancelled after its first step saves nothing; an
 * empty folder is an error in the status line. The form is set through the page's API. */
#include "io/image.h"
#include "models/model_loader.h"
#include "scedit/tuner_io.h"
#include "sc-window.h"
#include "ui-util.h"

#include <glib/gstdio.h>

static char *tmpdir, *model_path;

static gboolean
not_running (gpointer page)
{
  return !sc_train_page_get_running (page);
}

static gboolean
past_first_step (gpointer page)
{
  return sc_train_page_get_step (page) >= 1 || !sc_train_page_get_running (page);
}

/* A folder below the temp dir with n 64×64 PNGs (a gradient each), one with a caption. */
static char *
make_pictures (const char *name, int n)
{
  char *dir = g_build_filename (tmpdir, name, NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  for (int k = 0; k < n; k++)
    {
      g_autoptr (GError) error = NULL;
      ScImage *img = sc_image_new (64, 64, 3, 8, &error);
      g_assert_no_error (error);
      guint8 *px = img->data;
      for (int i = 0; i < 64 * 64 * 3; i++)
        px[i] = (guint8) ((i * (k + 3)) & 0xff);
      g_autofree char *file = g_strdup_printf ("pic%d.png", k);
      g_autofree char *path = g_build_filename (dir, file, NULL);
      g_assert_true (sc_image_save_png (img, path, NULL, NULL, 0, &error));
      g_assert_no_error (error);
      sc_image_free (img);
    }
  if (n > 0)
    {
      g_autofree char *txt = g_build_filename (dir, "pic0.txt", NULL);
      g_assert_true (g_file_set_contents (txt, "a striped test picture", -1, NULL));
    }
  return dir;
}

static void
remove_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  for (const char *name; d && (name = g_dir_read_name (d));)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_remove (path);
    }
  g_rmdir (dir);
}

static void
set_form (ScTrainPage *page, const char *folder, const char *name, int steps)
{
  sc_train_page_set_folder (page, folder);
  sc_train_page_set_style_name (page, name);
  sc_train_page_set_steps (page, steps);
  sc_train_page_set_learning_rate (page, 1e-3);
  sc_train_page_set_resolution (page, 64);
  sc_train_page_set_caption (page, "a test");
}

static void
test_train (void)
{
  ScWindow *win = sc_test_new_ready_window (model_path);
  if (!win)
    return;
  ScTrainPage *page = sc_window_get_train_page (win);
  g_autofree char *dir = make_pictures ("pictures", 2);
  ScDocument *doc = sc_window_get_document (win);
  guint n_styles = sc_document_get_n_styles (doc);

  set_form (page, dir, "stripes", 4);
  g_assert_true (sc_train_page_can_start (page));
  sc_train_page_start (page);
  g_assert_true (sc_train_page_get_running (page));
  g_assert_true (sc_test_spin_until (not_running, page, 60000));
  g_assert_cmpstr (sc_train_page_get_status (page), ==, "");
  g_assert_cmpint (sc_train_page_get_step (page), ==, 4);
  g_assert_cmpint (sc_train_page_get_n_steps (page), ==, 4);
  g_assert_true (g_str_has_prefix (sc_train_page_get_progress_text (page), "Step 4 of 4"));

  g_autofree char *out = g_build_filename (dir, "stripes.safetensors", NULL);
  g_assert_true (g_file_test (out, G_FILE_TEST_IS_REGULAR));
  g_autoptr (GError) error = NULL;
  g_autoptr (ScModel) m = sc_model_probe (model_path, NULL, &error);
  g_assert_no_error (error);
  ScScTuner *tuner = sc_sc_tuner_load (out, &m->arch.unet, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tuner);
  sc_sc_tuner_unref (tuner);
  g_assert_cmpuint (sc_document_get_n_styles (doc), ==, n_styles + 1);
  g_assert_cmpstr (sc_document_get_style_path (doc, n_styles), ==, out);

  /* cancelled after its first step: nothing saved, the page says so, no new style */
  set_form (page, dir, "cancelled", 100000);
  sc_train_page_start (page);
  g_assert_true (sc_test_spin_until (past_first_step, page, 60000));
  g_assert_true (sc_train_page_get_running (page));
  sc_train_page_cancel (page);
  g_assert_true (sc_test_spin_until (not_running, page, 60000));
  g_autofree char *none = g_build_filename (dir, "cancelled.safetensors", NULL);
  g_assert_false (g_file_test (none, G_FILE_TEST_EXISTS));
  g_assert_cmpstr (sc_train_page_get_status (page), ==, "Training cancelled");
  g_assert_cmpuint (sc_document_get_n_styles (doc), ==, n_styles + 1);
  g_assert_true (sc_train_page_can_start (page));

  gtk_window_destroy (GTK_WINDOW (win));
  remove_dir (dir);
}

static void
test_empty_folder (void)
{
  ScWindow *win = sc_test_new_ready_window (model_path);
  if (!win)
    return;
  ScTrainPage *page = sc_window_get_train_page (win);
  g_autofree char *dir = make_pictures ("empty", 0);
  set_form (page, dir, "nothing", 10);
  sc_train_page_start (page);
  g_assert_true (sc_test_spin_until (not_running, page, 60000));
  const char *status = sc_train_page_get_status (page);
  g_assert_true (g_str_has_prefix (status, "Training failed: "));
  g_assert_cmpuint (strlen (status), >, strlen ("Training failed: "));
  g_autofree char *none = g_build_filename (dir, "nothing.safetensors", NULL);
  g_assert_false (g_file_test (none, G_FILE_TEST_EXISTS));
  gtk_window_destroy (GTK_WINDOW (win));
  remove_dir (dir);
}

/* Without a model Train is off and the page says why. */
static void
test_no_model (void)
{
  ScWindow *win = sc_test_new_window ();
  ScTrainPage *page = sc_window_get_train_page (win);
  sc_train_page_set_folder (page, tmpdir);
  sc_train_page_set_style_name (page, "style");
  g_assert_false (sc_train_page_can_start (page));
  gtk_widget_activate_action (GTK_WIDGET (page), "train.start", NULL);
  g_assert_false (sc_train_page_get_running (page));
  gtk_window_destroy (GTK_WINDOW (win));
}

int
main (int argc, char **argv)
{
  sc_test_setup (&argc, &argv, "sc-ui-train-XXXXXX", &tmpdir, &model_path);
  g_test_add_func ("/ui/train/no-model", test_no_model);
  g_test_add_func ("/ui/train/train-and-cancel", test_train);
  g_test_add_func ("/ui/train/empty-folder", test_empty_folder);
  int rc = g_test_run ();
  sc_test_teardown (&tmpdir, &model_path);
  return rc;
}
