/* The Models window under Xvfb: the model folder's tiny model is listed (probed on a worker thread), a
 * file added from elsewhere is registered by path, and a catalogue download from a local SoupServer
 * lands in the model folder. */
#include "sc-model-manager.h"
#include "ui-util.h"

#include <glib/gstdio.h>
#include <libsoup/soup.h>

static char *tmpdir, *model_path;
static GSettings *settings;

static gboolean
scanned (gpointer manager)
{
  return !sc_model_manager_get_scanning (manager);
}

static gboolean
downloaded (gpointer manager)
{
  return !sc_model_manager_get_downloading (manager);
}

static ScModelManager *
new_manager (const char *folder)
{
  g_settings_set_string (settings, "model-folder", folder);
  g_settings_set_strv (settings, "local-models", NULL);
  ScModelManager *manager = sc_model_manager_new (NULL, settings);
  gtk_window_present (GTK_WINDOW (manager));
  g_assert_true (sc_test_spin_until (scanned, manager, 10000));
  return manager;
}

static void
test_lists_folder (void)
{
  if (!sc_test_have_model (model_path))
    return;
  ScModelManager *manager = new_manager (tmpdir);
  g_assert_cmpuint (sc_model_manager_get_n_models (manager), ==, 1);
  g_assert_cmpuint (sc_model_manager_get_n_tuners (manager), ==, 0);
  gtk_window_destroy (GTK_WINDOW (manager));
}

static void
test_add_path (void)
{
  if (!sc_test_have_model (model_path))
    return;
  g_autofree char *empty = g_build_filename (tmpdir, "empty", NULL);
  g_assert_cmpint (g_mkdir_with_parents (empty, 0755), ==, 0);
  ScModelManager *manager = new_manager (empty);
  g_assert_cmpuint (sc_model_manager_get_n_models (manager), ==, 0);
  sc_model_manager_add_path (manager, model_path);
  g_assert_true (sc_test_spin_until (scanned, manager, 10000));
  g_assert_cmpuint (sc_model_manager_get_n_models (manager), ==, 1);
  g_auto (GStrv) paths = g_settings_get_strv (settings, "local-models");
  g_assert_cmpuint (g_strv_length (paths), ==, 1);
  g_assert_cmpstr (paths[0], ==, model_path);
  gtk_window_destroy (GTK_WINDOW (manager));
  g_rmdir (empty);
}

static void
serve (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer user)
{
  static const char body[] = "#version: 0.2\nnot really a vocabulary\n";
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_STATIC, body, sizeof body - 1);
}

static void
test_download (void)
{
  g_autoptr (SoupServer) server = soup_server_new (NULL, NULL);
  soup_server_add_handler (server, NULL, serve, NULL, NULL);
  g_assert_true (soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, NULL));
  GSList *uris = soup_server_get_uris (server);
  g_autofree char *base = g_uri_to_string (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  g_autofree char *folder = g_build_filename (tmpdir, "downloads", NULL);
  ScModelManager *manager = new_manager (folder);
  sc_model_manager_set_download_base (manager, base);
  sc_model_manager_download (manager, "clip-vocab");
  g_assert_true (sc_model_manager_get_downloading (manager));
  g_assert_true (sc_test_spin_until (downloaded, manager, 10000));
  g_autofree char *file = g_build_filename (folder, "bpe_simple_vocab_16e6.txt.gz", NULL);
  g_assert_true (g_file_test (file, G_FILE_TEST_IS_REGULAR));
  gtk_window_destroy (GTK_WINDOW (manager));
  g_remove (file);
  g_rmdir (folder);
}

int
main (int argc, char **argv)
{
  sc_test_setup (&argc, &argv, "sc-models-XXXXXX", &tmpdir, &model_path);
  settings = g_settings_new ("io.github.scedit.Studio");

  g_test_add_func ("/ui/model-manager/lists-folder", test_lists_folder);
  g_test_add_func ("/ui/model-manager/add-path", test_add_path);
  g_test_add_func ("/ui/model-manager/download", test_download);
  int rc = g_test_run ();
  g_object_unref (settings);
  sc_test_teardown (&tmpdir, &model_path);
  return rc;
}
