#define G_LOG_DOMAIN "scedit-downloader"

#include "sc-downloader.h"
#include "sc-config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#define CHUNK_SIZE (256 * 1024)
#define RATE_INTERVAL_US (250 * 1000)

struct _ScDownloader {
  GObject parent_instance;
  char *url, *folder, *name, *path, *part_path, *sha256;
  guint64 expected_size;
  /* what the server itself says the file is (Hugging Face's X-Linked-Etag / X-Linked-Size): checked when
   * the caller gave no hash or size */
  char *linked_sha256;
  guint64 linked_size;
  SoupSession *session;

  /* the run in progress */
  GTask *task;
  SoupMessage *msg;
  GInputStream *in;
  GOutputStream *out;
  GBytes *chunk;
  gboolean restarted; /* a restart from byte 0 happened: never loop */
  guint64 resumed_from;
  guint64 bytes, total;
  double rate;
  gint64 rate_time;
  guint64 rate_bytes;
};

G_DEFINE_FINAL_TYPE (ScDownloader, sc_downloader, G_TYPE_OBJECT)
G_DEFINE_QUARK (sc-downloader-error-quark, sc_downloader_error)

enum { PROP_0, PROP_URL, PROP_BYTES, PROP_TOTAL, PROP_RATE, PROP_FRACTION, PROP_RUNNING, N_PROPS };
static GParamSpec *props[N_PROPS];

static void send_request (ScDownloader *self);

char *
sc_downloader_format_size (guint64 bytes)
{
  return g_format_size (bytes);
}

static char *
url_host (const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  const char *host = uri ? g_uri_get_host (uri) : NULL;
  return g_strdup (host ? host : url);
}

char *
sc_downloader_describe_error (const char *url, const GError *error)
{
  g_autofree char *host = url_host (url);
  if (error->domain == G_RESOLVER_ERROR ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED))
    return g_strdup_printf (_("Could not reach %s — are you online?"), host);
  if (error->domain == G_TLS_ERROR)
    return g_strdup_printf (_("Could not make a secure connection to %s."), host);
  return g_strdup_printf (_("Could not download from %s: %s"), host, error->message);
}

static void
set_bytes (ScDownloader *self, guint64 bytes)
{
  self->bytes = bytes;
  gint64 now = g_get_monotonic_time ();
  if (!self->rate_time || bytes < self->rate_bytes)
    {
      self->rate_time = now;
      self->rate_bytes = bytes;
    }
  else if (now - self->rate_time >= RATE_INTERVAL_US)
    {
      /* smoothed so the "time left" a person reads does not jump with every chunk */
      double instant = (bytes - self->rate_bytes) * 1e6 / (now - self->rate_time);
      self->rate = self->rate > 0 ? 0.7 * self->rate + 0.3 * instant : instant;
      self->rate_time = now;
      self->rate_bytes = bytes;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RATE]);
    }
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_BYTES]);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_FRACTION]);
}

static void
set_total (ScDownloader *self, guint64 total)
{
  if (self->total == total)
    return;
  self->total = total;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_TOTAL]);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_FRACTION]);
}

static void
clear_run (ScDownloader *self)
{
  g_clear_object (&self->msg);
  g_clear_object (&self->in);
  g_clear_object (&self->out);
  g_clear_pointer (&self->chunk, g_bytes_unref);
}

/* Ends the run; a task that is finished this way is reported from an idle, so callers see it after
 * the current callback returns. */
static void
finish (ScDownloader *self, char *path, GError *error)
{
  g_autoptr (GTask) task = g_steal_pointer (&self->task);
  clear_run (self);
  if (self->rate != 0)
    {
      self->rate = 0;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RATE]);
    }
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RUNNING]);
  if (error)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, path, g_free);
}

static guint64
part_size (ScDownloader *self)
{
  GStatBuf st;
  return g_stat (self->part_path, &st) == 0 ? (guint64) st.st_size : 0;
}

/* -- checking and renaming, in a worker thread (hashing gigabytes takes a while) -- */

typedef struct {
  char *part_path, *path, *sha256;
  guint64 expected_size, total;
} Verify;

static void
verify_free (Verify *v)
{
  g_free (v->part_path);
  g_free (v->path);
  g_free (v->sha256);
  g_free (v);
}

static void
verify_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Verify *v = data;
  GStatBuf st;
  if (g_stat (v->part_path, &st) != 0)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("The downloaded file disappeared."));
      return;
    }
  guint64 size = st.st_size;
  guint64 want = v->expected_size ? v->expected_size : v->total;
  if (want && size != want)
    {
      g_autofree char *have_s = g_format_size (size), *want_s = g_format_size (want);
      g_unlink (v->part_path);
      g_task_return_new_error (task, SC_DOWNLOADER_ERROR, SC_DOWNLOADER_ERROR_SIZE_MISMATCH,
                               _("The downloaded file has the wrong size (%s instead of %s) and was deleted."),
                               have_s, want_s);
      return;
    }
  if (v->sha256)
    {
      g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
      g_autoptr (GFile) file = g_file_new_for_path (v->part_path);
      GError *error = NULL;
      g_autoptr (GFileInputStream) in = g_file_read (file, cancellable, &error);
      g_autofree guchar *buf = g_malloc (1 << 20);
      gssize n = 0;
      while (in && (n = g_input_stream_read (G_INPUT_STREAM (in), buf, 1 << 20, cancellable, &error)) > 0)
        g_checksum_update (sum, buf, n);
      if (!in || n < 0)
        {
          g_task_return_error (task, error);
          return;
        }
      if (g_ascii_strcasecmp (g_checksum_get_string (sum), v->sha256) != 0)
        {
          g_unlink (v->part_path);
          g_task_return_new_error (task, SC_DOWNLOADER_ERROR, SC_DOWNLOADER_ERROR_HASH_MISMATCH,
                                   _("The downloaded file is damaged or not the expected one (its checksum "
                                     "differs) and was deleted."));
          return;
        }
    }
  /* the same folder, so the rename is atomic: a final name always means a complete, checked file */
  if (g_rename (v->part_path, v->path) != 0)
    {
      int errsv = errno;
      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (errsv), _("Could not rename %s: %s"),
                               v->part_path, g_strerror (errsv));
      return;
    }
  g_task_return_pointer (task, g_strdup (v->path), g_free);
}

static void
on_verified (GObject *source, GAsyncResult *result, gpointer user)
{
  ScDownloader *self = SC_DOWNLOADER (source);
  GError *error = NULL;
  char *path = g_task_propagate_pointer (G_TASK (result), &error);
  finish (self, path, error);
}

static void
verify (ScDownloader *self)
{
  Verify *v = g_new0 (Verify, 1);
  v->part_path = g_strdup (self->part_path);
  v->path = g_strdup (self->path);
  v->sha256 = g_strdup (self->sha256 ? self->sha256 : self->linked_sha256);
  v->expected_size = self->expected_size ? self->expected_size : self->linked_size;
  v->total = self->total;
  g_autoptr (GTask) task = g_task_new (self, g_task_get_cancellable (self->task), on_verified, NULL);
  g_task_set_task_data (task, v, (GDestroyNotify) verify_free);
  g_task_run_in_thread (task, verify_thread);
}

/* -- the body: read a chunk, append it, repeat -- */

static void read_next (ScDownloader *self);

static void
on_closed_after_error (GObject *source, GAsyncResult *result, gpointer user)
{
  g_autoptr (ScDownloader) self = user;
  GError *error = g_object_steal_data (G_OBJECT (self), "sc-pending-error");
  g_output_stream_close_finish (G_OUTPUT_STREAM (source), result, NULL);
  finish (self, NULL, error);
}

/* Closes the .part (what was written stays for a resume), then fails with error. */
static void
fail_keeping_part (ScDownloader *self, GError *error)
{
  if (!self->out)
    {
      finish (self, NULL, error);
      return;
    }
  g_object_set_data (G_OBJECT (self), "sc-pending-error", error);
  g_output_stream_close_async (self->out, G_PRIORITY_DEFAULT, NULL, on_closed_after_error, g_object_ref (self));
}

static void
on_closed (GObject *source, GAsyncResult *result, gpointer user)
{
  g_autoptr (ScDownloader) self = user;
  GError *error = NULL;
  if (!g_output_stream_close_finish (G_OUTPUT_STREAM (source), result, &error))
    {
      finish (self, NULL, error);
      return;
    }
  if (self->total && self->bytes < self->total)
    {
      g_autofree char *host = url_host (self->url);
      g_autofree char *have = g_format_size (self->bytes), *want = g_format_size (self->total);
      finish (self, NULL, g_error_new (SC_DOWNLOADER_ERROR, SC_DOWNLOADER_ERROR_INTERRUPTED,
                                       _("The connection to %s broke off after %s of %s. Try again to "
                                         "continue where it stopped."), host, have, want));
      return;
    }
  verify (self);
}

static void
on_written (GObject *source, GAsyncResult *result, gpointer user)
{
  ScDownloader *self = user;
  GError *error = NULL;
  gsize written = 0;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, &written, &error))
    {
      fail_keeping_part (self, error);
      return;
    }
  g_clear_pointer (&self->chunk, g_bytes_unref);
  set_bytes (self, self->bytes + written);
  read_next (self);
}

static void
on_read (GObject *source, GAsyncResult *result, gpointer user)
{
  ScDownloader *self = user;
  GError *error = NULL;
  GBytes *chunk = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  if (!chunk)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *host = url_host (self->url);
          g_autofree char *have = g_format_size (self->bytes);
          GError *broke = g_error_new (SC_DOWNLOADER_ERROR, SC_DOWNLOADER_ERROR_INTERRUPTED,
                                       _("The connection to %s broke off after %s. Try again to continue "
                                         "where it stopped."), host, have);
          g_debug ("read: %s", error->message);
          g_clear_error (&error);
          error = broke;
        }
      fail_keeping_part (self, error);
      return;
    }
  if (g_bytes_get_size (chunk) == 0)
    {
      g_bytes_unref (chunk);
      g_output_stream_close_async (self->out, G_PRIORITY_DEFAULT, NULL, on_closed, g_object_ref (self));
      return;
    }
  self->chunk = chunk;
  gsize size;
  const void *data = g_bytes_get_data (chunk, &size);
  g_output_stream_write_all_async (self->out, data, size, G_PRIORITY_DEFAULT, g_task_get_cancellable (self->task),
                                   on_written, self);
}

static void
read_next (ScDownloader *self)
{
  g_input_stream_read_bytes_async (self->in, CHUNK_SIZE, G_PRIORITY_DEFAULT, g_task_get_cancellable (self->task),
                                   on_read, self);
}

static void
on_opened (GObject *source, GAsyncResult *result, gpointer user)
{
  ScDownloader *self = user;
  GError *error = NULL;
  GFileOutputStream *out = self->bytes ? g_file_append_to_finish (G_FILE (source), result, &error)
                                       : g_file_replace_finish (G_FILE (source), result, &error);
  if (!out)
    {
      finish (self, NULL, error);
      return;
    }
  self->out = G_OUTPUT_STREAM (out);
  read_next (self);
}

/* -- the request -- */

static void
restart_from_zero (ScDownloader *self)
{
  self->restarted = TRUE;
  g_unlink (self->part_path);
  clear_run (self);
  send_request (self);
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer user)
{
  ScDownloader *self = user;
  GError *error = NULL;
  GInputStream *in = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (!in)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          char *msg = sc_downloader_describe_error (self->url, error);
          int code = error->domain == G_TLS_ERROR ? SC_DOWNLOADER_ERROR_TLS : SC_DOWNLOADER_ERROR_OFFLINE;
          g_debug ("send: %s", error->message);
          g_clear_error (&error);
          error = g_error_new_literal (SC_DOWNLOADER_ERROR, code, msg);
          g_free (msg);
        }
      finish (self, NULL, error);
      return;
    }
  self->in = in;
  guint status = soup_message_get_status (self->msg);
  SoupMessageHeaders *headers = soup_message_get_response_headers (self->msg);
  goffset length = soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH
                     ? soup_message_headers_get_content_length (headers) : -1;
  goffset start = 0, end = 0, total = 0;
  gboolean has_range = soup_message_headers_get_content_range (headers, &start, &end, &total);
  GCancellable *cancellable = g_task_get_cancellable (self->task);
  g_autoptr (GFile) part = g_file_new_for_path (self->part_path);

  if (status == SOUP_STATUS_PARTIAL_CONTENT && self->resumed_from && has_range &&
      (guint64) start == self->resumed_from)
    {
      set_total (self, total > 0 ? (guint64) total : length >= 0 ? self->resumed_from + length : 0);
      set_bytes (self, self->resumed_from);
      g_file_append_to_async (part, G_FILE_CREATE_NONE, G_PRIORITY_DEFAULT, cancellable, on_opened, self);
    }
  else if (status == SOUP_STATUS_OK)
    {
      /* a server that ignores Range sends the whole file: start the .part over */
      self->resumed_from = 0;
      set_total (self, length >= 0 ? (guint64) length : 0);
      set_bytes (self, 0);
      g_file_replace_async (part, NULL, FALSE, G_FILE_CREATE_NONE, G_PRIORITY_DEFAULT, cancellable, on_opened, self);
    }
  else if (status == SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE && self->resumed_from &&
           ((self->expected_size && self->resumed_from == self->expected_size) ||
            (total > 0 && (guint64) total == self->resumed_from)))
    {
      /* the .part is already complete (a Cancel during the check, say): only check it */
      g_input_stream_close (in, NULL, NULL);
      set_total (self, self->resumed_from);
      set_bytes (self, self->resumed_from);
      verify (self);
    }
  else if (!self->restarted && (status == SOUP_STATUS_PARTIAL_CONTENT ||
                                status == SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE))
    {
      /* a range we did not ask for, or a .part longer than the file: it cannot be trusted */
      restart_from_zero (self);
    }
  else if (status == SOUP_STATUS_NOT_FOUND || status == SOUP_STATUS_GONE)
    finish (self, NULL, g_error_new (SC_DOWNLOADER_ERROR, SC_DOWNLOADER_ERROR_NOT_FOUND,
                                     _("The server says the file does not exist (%u)."), status));
  else
    {
      g_autofree char *host = url_host (self->url);
      const char *reason = soup_message_get_reason_phrase (self->msg);
      finish (self, NULL, g_error_new (SC_DOWNLOADER_ERROR, SC_DOWNLOADER_ERROR_HTTP,
                                       _("%s answered with an error: %u %s."), host, status,
                                       reason ? reason : ""));
    }
}

/* Hugging Face answers a request for a file kept in Git LFS (every model file) with a redirect to its
 * CDN whose headers carry the file's SHA-256 and size: X-Linked-Etag: "<64 hex digits>", X-Linked-Size.
 * The redirect is followed for us, so they are read from each response's headers as it arrives. */
static void
on_got_headers (SoupMessage *msg, ScDownloader *self)
{
  SoupMessageHeaders *headers = soup_message_get_response_headers (msg);
  const char *etag = soup_message_headers_get_one (headers, "X-Linked-Etag");
  const char *size = soup_message_headers_get_one (headers, "X-Linked-Size");
  if (etag)
    {
      if (g_str_has_prefix (etag, "W/"))
        etag += 2;
      g_autofree char *hex = g_strndup (etag + (etag[0] == '"'), strlen (etag) - (etag[0] == '"') * 2);
      gboolean sha = strlen (hex) == 64;
      for (const char *c = hex; sha && *c; c++)
        sha = g_ascii_isxdigit (*c);
      if (sha) /* a shorter ETag is a git blob id, not the file's hash */
        {
          g_free (self->linked_sha256);
          self->linked_sha256 = g_ascii_strdown (hex, -1);
        }
    }
  guint64 n = 0;
  if (size && g_ascii_string_to_unsigned (size, 10, 1, G_MAXUINT64, &n, NULL))
    self->linked_size = n;
}

static void
send_request (ScDownloader *self)
{
  self->msg = soup_message_new (SOUP_METHOD_GET, self->url);
  if (!self->msg)
    {
      finish (self, NULL, g_error_new (SC_DOWNLOADER_ERROR, SC_DOWNLOADER_ERROR_HTTP,
                                       _("“%s” is not a web address."), self->url));
      return;
    }
  g_signal_connect (self->msg, "got-headers", G_CALLBACK (on_got_headers), self);
  self->resumed_from = part_size (self);
  if (self->resumed_from)
    soup_message_headers_set_range (soup_message_get_request_headers (self->msg), self->resumed_from, -1);
  soup_session_send_async (self->session, self->msg, G_PRIORITY_DEFAULT, g_task_get_cancellable (self->task),
                           on_sent, self);
}

void
sc_downloader_start_async (ScDownloader *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  g_return_if_fail (SC_IS_DOWNLOADER (self));
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sc_downloader_start_async);
  if (self->task)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING, _("This file is already downloading."));
      g_object_unref (task);
      return;
    }
  self->task = task;
  self->restarted = FALSE;
  self->rate_time = 0;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RUNNING]);
  if (g_file_test (self->path, G_FILE_TEST_EXISTS))
    {
      finish (self, g_strdup (self->path), NULL);
      return;
    }
  if (g_mkdir_with_parents (self->folder, 0755) != 0)
    {
      int errsv = errno;
      finish (self, NULL, g_error_new (G_IO_ERROR, g_io_error_from_errno (errsv), _("Could not create %s: %s"),
                                       self->folder, g_strerror (errsv)));
      return;
    }
  send_request (self);
}

char *
sc_downloader_start_finish (ScDownloader *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

const char *
sc_downloader_get_url (ScDownloader *self)
{
  return self->url;
}

const char *
sc_downloader_get_path (ScDownloader *self)
{
  return self->path;
}

const char *
sc_downloader_get_part_path (ScDownloader *self)
{
  return self->part_path;
}

guint64
sc_downloader_get_bytes (ScDownloader *self)
{
  return self->bytes;
}

guint64
sc_downloader_get_total (ScDownloader *self)
{
  return self->total;
}

double
sc_downloader_get_rate (ScDownloader *self)
{
  return self->rate;
}

double
sc_downloader_get_fraction (ScDownloader *self)
{
  return self->total ? MIN (1.0, (double) self->bytes / self->total) : 0.0;
}

gboolean
sc_downloader_get_running (ScDownloader *self)
{
  return self->task != NULL;
}

guint64
sc_downloader_get_resumed_from (ScDownloader *self)
{
  return self->resumed_from;
}

static void
sc_downloader_get_property (GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  ScDownloader *self = SC_DOWNLOADER (object);
  switch (id)
    {
    case PROP_URL: g_value_set_string (value, self->url); break;
    case PROP_BYTES: g_value_set_uint64 (value, self->bytes); break;
    case PROP_TOTAL: g_value_set_uint64 (value, self->total); break;
    case PROP_RATE: g_value_set_double (value, self->rate); break;
    case PROP_FRACTION: g_value_set_double (value, sc_downloader_get_fraction (self)); break;
    case PROP_RUNNING: g_value_set_boolean (value, self->task != NULL); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
    }
}

static void
sc_downloader_finalize (GObject *object)
{
  ScDownloader *self = SC_DOWNLOADER (object);
  clear_run (self);
  g_clear_object (&self->session);
  g_free (self->url);
  g_free (self->folder);
  g_free (self->name);
  g_free (self->path);
  g_free (self->part_path);
  g_free (self->sha256);
  g_free (self->linked_sha256);
  G_OBJECT_CLASS (sc_downloader_parent_class)->finalize (object);
}

static void
sc_downloader_class_init (ScDownloaderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->get_property = sc_downloader_get_property;
  object_class->finalize = sc_downloader_finalize;
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  props[PROP_URL] = g_param_spec_string ("url", NULL, NULL, NULL, flags);
  props[PROP_BYTES] = g_param_spec_uint64 ("bytes", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  props[PROP_TOTAL] = g_param_spec_uint64 ("total", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  props[PROP_RATE] = g_param_spec_double ("rate", NULL, NULL, 0, G_MAXDOUBLE, 0, flags);
  props[PROP_FRACTION] = g_param_spec_double ("fraction", NULL, NULL, 0, 1, 0, flags);
  props[PROP_RUNNING] = g_param_spec_boolean ("running", NULL, NULL, FALSE, flags);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
sc_downloader_init (ScDownloader *self)
{
}

ScDownloader *
sc_downloader_new (const char *url, const char *folder, const char *name, guint64 expected_size, const char *sha256,
                   SoupSession *session)
{
  g_return_val_if_fail (url && folder && name, NULL);
  ScDownloader *self = g_object_new (SC_TYPE_DOWNLOADER, NULL);
  self->url = g_strdup (url);
  self->folder = g_strdup (folder);
  self->name = g_strdup (name);
  self->path = g_build_filename (folder, name, NULL);
  self->part_path = g_strconcat (self->path, ".part", NULL);
  self->expected_size = expected_size;
  self->sha256 = g_strdup (sha256);
  if (session)
    self->session = g_object_ref (session);
  else
    {
      self->session = soup_session_new_with_options ("user-agent", "SCEdit-Studio/" SC_VERSION, NULL);
      /* sizes and ranges must count the bytes on disk, not compressed ones */
      soup_session_remove_feature_by_type (self->session, SOUP_TYPE_CONTENT_DECODER);
    }
  return self;
}
