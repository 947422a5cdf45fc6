/* ScDownloader against a SoupServer on 127.0.0.1 serving a generated 3 MB file: a full download checked
 * by size and SHA-256, a resume after a broken connection (only the rest is fetched), a server that
 * ignores Range, a .part longer than the file (416), wrong content, 404, a closed port, and Cancel
 * followed by a resume. No display and no network needed. */
#include "sc-downloader.h"

#include <glib/gstdio.h>
#include <string.h>

#define FILE_SIZE (3 * 1024 * 1024)
#define CUT_AT (1024 * 1024)

typedef enum { MODE_NORMAL, MODE_IGNORE_RANGE, MODE_WRONG, MODE_404 } Mode;

static struct {
  SoupServer *server;
  char *base;
  guint8 *data;
  char *sha256;
  Mode mode;
  gsize cut_after; /* 0: serve in full; else once: declare the full length, send this much, close */
  GPtrArray *ranges; /* the Range header of each request ("" without one) */
  GArray *served;    /* body bytes sent per request */
} srv;

static char *tmpdir;

static void
serve (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer user)
{
  SoupMessageHeaders *req = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *resp = soup_server_message_get_response_headers (msg);
  const char *range = soup_message_headers_get_one (req, "Range");
  g_ptr_array_add (srv.ranges, g_strdup (range ? range : ""));
  /* SoupServer would otherwise answer ranges of a 200 body by itself */
  if (srv.mode == MODE_IGNORE_RANGE && range)
    {
      soup_message_headers_remove (req, "Range");
      range = NULL;
    }

  if (srv.mode == MODE_404)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
      gsize zero = 0;
      g_array_append_val (srv.served, zero);
      return;
    }
  const guint8 *data = srv.data;
  g_autofree guint8 *wrong = NULL;
  if (srv.mode == MODE_WRONG)
    data = wrong = g_malloc0 (FILE_SIZE);

  guint64 start = 0;
  if (range && srv.mode != MODE_IGNORE_RANGE)
    {
      g_assert_true (g_str_has_prefix (range, "bytes="));
      start = g_ascii_strtoull (range + 6, NULL, 10);
      if (start >= FILE_SIZE)
        {
          soup_server_message_set_status (msg, SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE, NULL);
          g_autofree char *cr = g_strdup_printf ("bytes */%d", FILE_SIZE);
          soup_message_headers_replace (resp, "Content-Range", cr);
          gsize zero = 0;
          g_array_append_val (srv.served, zero);
          return;
        }
      soup_server_message_set_status (msg, SOUP_STATUS_PARTIAL_CONTENT, NULL);
      soup_message_headers_set_content_range (resp, start, FILE_SIZE - 1, FILE_SIZE);
    }
  else
    soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);

  gsize length = FILE_SIZE - start, send = length;
  if (srv.cut_after)
    {
      /* the header promises everything; the connection closes after cut_after bytes */
      send = MIN (srv.cut_after, length);
      srv.cut_after = 0;
      soup_message_headers_set_encoding (resp, SOUP_ENCODING_CONTENT_LENGTH);
      soup_message_headers_set_content_length (resp, length);
      soup_message_headers_replace (resp, "Connection", "close");
    }
  soup_message_headers_replace (resp, "Content-Type", "application/octet-stream");
  SoupMessageBody *body = soup_server_message_get_response_body (msg);
  soup_message_body_append (body, SOUP_MEMORY_COPY, data + start, send);
  soup_message_body_complete (body);
  g_array_append_val (srv.served, send);
}

/* Like Hugging Face for a file in Git LFS: a redirect to the file whose headers name its SHA-256 and size.
 * /lfs/good/… tells the truth, /lfs/bad/… another hash, /lfs/long/… a size one byte too large. */
static void
serve_lfs_redirect (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer user)
{
  SoupMessageHeaders *resp = soup_server_message_get_response_headers (msg);
  g_autofree char *location = g_strconcat (srv.base, "models/tiny.safetensors", NULL);
  const char *sha = g_str_has_prefix (path, "/lfs/bad/")
                      ? "0000000000000000000000000000000000000000000000000000000000000000" : srv.sha256;
  g_autofree char *etag = g_strdup_printf ("\"%s\"", sha);
  g_autofree char *size = g_strdup_printf ("%d", FILE_SIZE + (g_str_has_prefix (path, "/lfs/long/") ? 1 : 0));
  soup_message_headers_replace (resp, "Location", location);
  soup_message_headers_replace (resp, "X-Linked-Etag", etag);
  soup_message_headers_replace (resp, "X-Linked-Size", size);
  soup_server_message_set_status (msg, SOUP_STATUS_FOUND, NULL);
}

static void
reset_server (Mode mode)
{
  srv.mode = mode;
  srv.cut_after = 0;
  g_ptr_array_set_size (srv.ranges, 0);
  g_array_set_size (srv.served, 0);
}

/* -- running a download to its end -- */

typedef struct {
  gboolean done;
  char *path;
  GError *error;
  guint64 last_bytes;
  int notifications;
  gboolean monotonic;
  guint64 cancel_at; /* cancel once bytes reach this (0: never) */
  GCancellable *cancellable;
} Run;

static void
on_bytes (ScDownloader *dl, GParamSpec *pspec, Run *run)
{
  guint64 bytes = sc_downloader_get_bytes (dl);
  if (run->notifications > 0 && bytes < run->last_bytes)
    run->monotonic = FALSE;
  run->last_bytes = bytes;
  run->notifications++;
  g_assert_cmpuint (bytes, <=, FILE_SIZE);
  if (run->cancel_at && bytes >= run->cancel_at)
    g_cancellable_cancel (run->cancellable);
}

static void
on_done (GObject *source, GAsyncResult *result, gpointer user)
{
  Run *run = user;
  run->path = sc_downloader_start_finish (SC_DOWNLOADER (source), result, &run->error);
  run->done = TRUE;
}

static void
run_download (ScDownloader *dl, Run *run)
{
  run->monotonic = TRUE;
  run->cancellable = g_cancellable_new ();
  gulong id = g_signal_connect (dl, "notify::bytes", G_CALLBACK (on_bytes), run);
  sc_downloader_start_async (dl, run->cancellable, on_done, run);
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (!run->done && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (run->done);
  g_assert_false (sc_downloader_get_running (dl));
  g_signal_handler_disconnect (dl, id);
}

static void
run_clear (Run *run)
{
  g_free (run->path);
  g_clear_error (&run->error);
  g_clear_object (&run->cancellable);
  memset (run, 0, sizeof *run);
}

static char *
new_folder (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static ScDownloader *
new_downloader (const char *folder, gboolean with_hash)
{
  g_autofree char *url = g_strconcat (srv.base, "models/tiny.safetensors", NULL);
  return sc_downloader_new (url, folder, "tiny.safetensors", FILE_SIZE, with_hash ? srv.sha256 : NULL, NULL);
}

static void
assert_file_is_the_data (const char *path)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  g_assert_cmpuint (length, ==, FILE_SIZE);
  g_assert_true (memcmp (contents, srv.data, FILE_SIZE) == 0);
}

static gsize
file_size (const char *path)
{
  GStatBuf st;
  return g_stat (path, &st) == 0 ? (gsize) st.st_size : 0;
}

/* -- the tests -- */

static void
test_full (void)
{
  reset_server (MODE_NORMAL);
  g_autofree char *folder = new_folder ("full");
  g_autoptr (ScDownloader) dl = new_downloader (folder, TRUE);
  Run run = { 0 };
  run_download (dl, &run);
  g_assert_no_error (run.error);
  g_assert_cmpstr (run.path, ==, sc_downloader_get_path (dl));
  assert_file_is_the_data (run.path);
  g_assert_false (g_file_test (sc_downloader_get_part_path (dl), G_FILE_TEST_EXISTS));
  g_assert_true (run.monotonic);
  g_assert_cmpint (run.notifications, >=, 3);
  g_assert_cmpuint (run.last_bytes, ==, FILE_SIZE);
  g_assert_cmpuint (sc_downloader_get_total (dl), ==, FILE_SIZE);
  g_assert_cmpfloat (sc_downloader_get_fraction (dl), ==, 1.0);
  g_assert_cmpstr (srv.ranges->pdata[0], ==, "");

  /* an existing final file is not fetched again */
  run_clear (&run);
  run_download (dl, &run);
  g_assert_no_error (run.error);
  g_assert_cmpuint (srv.ranges->len, ==, 1);
  run_clear (&run);
}

static void
test_resume_after_cut (void)
{
  reset_server (MODE_NORMAL);
  srv.cut_after = CUT_AT;
  g_autofree char *folder = new_folder ("cut");
  g_autoptr (ScDownloader) dl = new_downloader (folder, TRUE);
  Run run = { 0 };
  run_download (dl, &run);
  g_assert_error (run.error, SC_DOWNLOADER_ERROR, SC_DOWNLOADER_ERROR_INTERRUPTED);
  g_test_message ("cut: %s", run.error->message);
  g_assert_false (g_file_test (sc_downloader_get_path (dl), G_FILE_TEST_EXISTS));
  g_assert_cmpuint (file_size (sc_downloader_get_part_path (dl)), ==, CUT_AT);

  run_clear (&run);
  run_download (dl, &run);
  g_assert_no_error (run.error);
  g_assert_cmpuint (srv.ranges->len, ==, 2);
  g_autofree char *want = g_strdup_printf ("bytes=%d-", CUT_AT);
  g_assert_cmpstr (srv.ranges->pdata[1], ==, want);
  g_assert_cmpuint (g_array_index (srv.served, gsize, 1), ==, FILE_SIZE - CUT_AT);
  g_assert_cmpuint (sc_downloader_get_resumed_from (dl), ==, CUT_AT);
  g_assert_true (run.monotonic);
  assert_file_is_the_data (run.path);
  g_assert_false (g_file_test (sc_downloader_get_part_path (dl), G_FILE_TEST_EXISTS));
  run_clear (&run);
}

static void
test_ignore_range (void)
{
  reset_server (MODE_IGNORE_RANGE);
  g_autofree char *folder = new_folder ("ignore-range");
  g_autoptr (ScDownloader) dl = new_downloader (folder, TRUE);
  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
  /* a stale .part of other bytes: the 200 answer must replace, not extend it */
  g_assert_true (g_file_set_contents (sc_downloader_get_part_path (dl), "stale bytes", -1, NULL));
  Run run = { 0 };
  run_download (dl, &run);
  g_assert_no_error (run.error);
  g_assert_cmpstr (srv.ranges->pdata[0], ==, "bytes=11-");
  assert_file_is_the_data (run.path);
  run_clear (&run);
}

static void
test_range_not_satisfiable (void)
{
  reset_server (MODE_NORMAL);
  g_autofree char *folder = new_folder ("416");
  g_autoptr (ScDownloader) dl = new_downloader (folder, TRUE);
  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);

  /* longer than the file: distrusted, deleted, fetched again from byte 0 */
  g_autofree guint8 *longer = g_malloc0 (FILE_SIZE + 10);
  g_assert_true (g_file_set_contents (sc_downloader_get_part_path (dl), (char *) longer, FILE_SIZE + 10, NULL));
  Run run = { 0 };
  run_download (dl, &run);
  g_assert_no_error (run.error);
  g_assert_cmpuint (srv.ranges->len, ==, 2);
  g_assert_cmpstr (srv.ranges->pdata[1], ==, "");
  assert_file_is_the_data (run.path);
  run_clear (&run);

  /* exactly complete (say, cancelled while being checked): only checked and renamed */
  reset_server (MODE_NORMAL);
  g_assert_cmpint (g_rename (sc_downloader_get_path (dl), sc_downloader_get_part_path (dl)), ==, 0);
  run_download (dl, &run);
  g_assert_no_error (run.error);
  g_assert_cmpuint (srv.ranges->len, ==, 1);
  assert_file_is_the_data (run.path);
  run_clear (&run);
}

static void
test_hash_mismatch (void)
{
  reset_server (MODE_WRONG);
  g_autofree char *folder = new_folder ("wrong");
  g_autoptr (ScDownloader) dl = new_downloader (folder, TRUE);
  Run run = { 0 };
  run_download (dl, &run);
  g_assert_error (run.error, SC_DOWNLOADER_ERROR, SC_DOWNLOADER_ERROR_HASH_MISMATCH);
  g_test_message ("wrong content: %s", run.error->message);
  g_assert_false (g_file_test (sc_downloader_get_part_path (dl), G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (sc_downloader_get_path (dl), G_FILE_TEST_EXISTS));
  run_clear (&run);

  /* without a hash, a size that differs from the expected one is refused the same way */
  reset_server (MODE_NORMAL);
  g_autofree char *url = g_strconcat (srv.base, "models/tiny.safetensors", NULL);
  g_autoptr (ScDownloader) sized = sc_downloader_new (url, folder, "sized.bin", FILE_SIZE + 1, NULL, NULL);
  run_download (sized, &run);
  g_assert_error (run.error, SC_DOWNLOADER_ERROR, SC_DOWNLOADER_ERROR_SIZE_MISMATCH);
  g_assert_false (g_file_test (sc_downloader_get_part_path (sized), G_FILE_TEST_EXISTS));
  run_clear (&run);
}

/* No hash or size from the caller: what the redirect's X-Linked-Etag / X-Linked-Size say is checked. */
static void
test_linked_hash (void)
{
  static const struct { const char *path; int code; } cases[] = {
    { "lfs/good/tiny.safetensors", 0 },
    { "lfs/bad/tiny.safetensors", SC_DOWNLOADER_ERROR_HASH_MISMATCH },
    { "lfs/long/tiny.safetensors", SC_DOWNLOADER_ERROR_SIZE_MISMATCH },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      reset_server (MODE_NORMAL);
      g_autofree char *folder = new_folder ("linked");
      g_autofree char *url = g_strconcat (srv.base, cases[i].path, NULL);
      g_autofree char *name = g_strdup_printf ("linked-%u.safetensors", i);
      g_autoptr (ScDownloader) dl = sc_downloader_new (url, folder, name, 0, NULL, NULL);
      Run run = { 0 };
      run_download (dl, &run);
      if (cases[i].code)
        {
          g_assert_error (run.error, SC_DOWNLOADER_ERROR, cases[i].code);
          g_assert_false (g_file_test (sc_downloader_get_path (dl), G_FILE_TEST_EXISTS));
        }
      else
        {
          g_assert_no_error (run.error);
          assert_file_is_the_data (run.path);
          g_remove (run.path);
        }
      g_assert_false (g_file_test (sc_downloader_get_part_path (dl), G_FILE_TEST_EXISTS));
      g_assert_cmpuint (srv.ranges->len, ==, 1); /* the file itself was fetched once, after the redirect */
      run_clear (&run);
    }
}

static void
test_not_found (void)
{
  reset_server (MODE_404);
  g_autofree char *folder = new_folder ("404");
  g_autoptr (ScDownloader) dl = new_downloader (folder, FALSE);
  Run run = { 0 };
  run_download (dl, &run);
  g_assert_error (run.error, SC_DOWNLOADER_ERROR, SC_DOWNLOADER_ERROR_NOT_FOUND);
  g_test_message ("404: %s", run.error->message);
  g_assert_nonnull (strstr (run.error->message, "(404)"));
  g_assert_false (g_file_test (sc_downloader_get_part_path (dl), G_FILE_TEST_EXISTS));
  run_clear (&run);
}

static void
test_refused (void)
{
  /* a port that was free a moment ago: nothing listens there */
  g_autoptr (GSocketListener) listener = g_socket_listener_new ();
  guint16 port = g_socket_listener_add_any_inet_port (listener, NULL, NULL);
  g_assert_cmpuint (port, >, 0);
  g_socket_listener_close (listener);
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/models/tiny.safetensors", port);
  g_autofree char *folder = new_folder ("refused");
  g_autoptr (ScDownloader) dl = sc_downloader_new (url, folder, "tiny.safetensors", 0, NULL, NULL);
  Run run = { 0 };
  run_download (dl, &run);
  g_assert_error (run.error, SC_DOWNLOADER_ERROR, SC_DOWNLOADER_ERROR_OFFLINE);
  g_test_message ("refused: %s", run.error->message);
  g_assert_nonnull (strstr (run.error->message, "Could not reach 127.0.0.1"));
  g_assert_nonnull (strstr (run.error->message, "are you online?"));
  run_clear (&run);

  /* and the words for a failed name lookup */
  g_autoptr (GError) dns = g_error_new_literal (G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND, "no such host");
  g_autofree char *text = sc_downloader_describe_error ("https://huggingface.co/x", dns);
  g_assert_cmpstr (text, ==, "Could not reach huggingface.co — are you online?");
}

static void
test_cancel_then_resume (void)
{
  reset_server (MODE_NORMAL);
  g_autofree char *folder = new_folder ("cancel");
  g_autoptr (ScDownloader) dl = new_downloader (folder, TRUE);
  Run run = { 0 };
  run.cancel_at = 512 * 1024;
  run_download (dl, &run);
  g_assert_error (run.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  gsize kept = file_size (sc_downloader_get_part_path (dl));
  g_test_message ("cancelled with %" G_GSIZE_FORMAT " bytes in the .part", kept);
  g_assert_cmpuint (kept, >=, 512 * 1024);
  g_assert_cmpuint (kept, <, FILE_SIZE);
  g_assert_false (g_file_test (sc_downloader_get_path (dl), G_FILE_TEST_EXISTS));
  run_clear (&run);

  run_download (dl, &run);
  g_assert_no_error (run.error);
  g_autofree char *want = g_strdup_printf ("bytes=%" G_GSIZE_FORMAT "-", kept);
  g_assert_cmpstr (srv.ranges->pdata[srv.ranges->len - 1], ==, want);
  assert_file_is_the_data (run.path);
  run_clear (&run);
}

static void
test_catalogue_size_text (void)
{
  g_autofree char *text = sc_downloader_format_size (FILE_SIZE);
  g_assert_cmpstr (text, ==, "3.1\u00a0MB"); /* g_format_size uses a no-break space */
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_setenv ("LC_ALL", "C", TRUE);
  tmpdir = g_dir_make_tmp ("sc-downloader-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);

  srv.data = g_malloc (FILE_SIZE);
  GRand *rand = g_rand_new_with_seed (2023);
  for (gsize i = 0; i < FILE_SIZE; i++)
    srv.data[i] = g_rand_int (rand) & 0xff;
  g_rand_free (rand);
  srv.sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256, srv.data, FILE_SIZE);
  srv.ranges = g_ptr_array_new_with_free_func (g_free);
  srv.served = g_array_new (FALSE, FALSE, sizeof (gsize));
  srv.server = soup_server_new (NULL, NULL);
  soup_server_add_handler (srv.server, "/models", serve, NULL, NULL);
  soup_server_add_handler (srv.server, "/lfs", serve_lfs_redirect, NULL, NULL);
  GError *error = NULL;
  g_assert_true (soup_server_listen_local (srv.server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error (error);
  GSList *uris = soup_server_get_uris (srv.server);
  srv.base = g_uri_to_string (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  g_test_add_func ("/downloader/full", test_full);
  g_test_add_func ("/downloader/resume-after-cut", test_resume_after_cut);
  g_test_add_func ("/downloader/ignore-range", test_ignore_range);
  g_test_add_func ("/downloader/range-not-satisfiable", test_range_not_satisfiable);
  g_test_add_func ("/downloader/hash-mismatch", test_hash_mismatch);
  g_test_add_func ("/downloader/linked-hash", test_linked_hash);
  g_test_add_func ("/downloader/not-found", test_not_found);
  g_test_add_func ("/downloader/refused", test_refused);
  g_test_add_func ("/downloader/cancel-then-resume", test_cancel_then_resume);
  g_test_add_func ("/downloader/size-text", test_catalogue_size_text);
  int status = g_test_run ();

  g_object_unref (srv.server);
  /* remove what the tests left (a folder per test) */
  const char *subs[] = { "full", "cut", "ignore-range", "416", "wrong", "linked", "404", "refused", "cancel" };
  for (guint i = 0; i < G_N_ELEMENTS (subs); i++)
    {
      g_autofree char *sub = g_build_filename (tmpdir, subs[i], NULL);
      g_autoptr (GDir) d = g_dir_open (sub, 0, NULL);
      const char *name;
      while (d && (name = g_dir_read_name (d)))
        {
          g_autofree char *p = g_build_filename (sub, name, NULL);
          g_unlink (p);
        }
      g_rmdir (sub);
    }
  g_rmdir (tmpdir);
  return status;
}
