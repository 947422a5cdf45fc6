/* One file from the web into a folder, the way model files need it: written as NAME.part, resumed with
 * a Range request after a broken connection or a Cancel, checked (size, SHA-256) and only then renamed to
 * NAME. Runs on the thread-default main context it was started on; GTK-free so tests need no display. */
#pragma once
#include <gio/gio.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define SC_DOWNLOADER_ERROR (sc_downloader_error_quark ())

typedef enum {
  SC_DOWNLOADER_ERROR_OFFLINE,       /* no DNS answer, connection refused, network unreachable */
  SC_DOWNLOADER_ERROR_NOT_FOUND,     /* 404 / 410 */
  SC_DOWNLOADER_ERROR_HTTP,          /* any other failing status */
  SC_DOWNLOADER_ERROR_INTERRUPTED,   /* the connection broke off; the .part is kept for a resume */
  SC_DOWNLOADER_ERROR_SIZE_MISMATCH, /* .part deleted */
  SC_DOWNLOADER_ERROR_HASH_MISMATCH, /* .part deleted */
  SC_DOWNLOADER_ERROR_TLS,
} ScDownloaderError;

#define SC_TYPE_DOWNLOADER (sc_downloader_get_type ())
G_DECLARE_FINAL_TYPE (ScDownloader, sc_downloader, SC, DOWNLOADER, GObject)

GQuark sc_downloader_error_quark (void);

/* expected_size: 0 when unknown; sha256: lower-case hex or NULL. session: NULL for a private one. */
ScDownloader *sc_downloader_new (const char *url, const char *folder, const char *name, guint64 expected_size,
                                 const char *sha256, SoupSession *session);

const char *sc_downloader_get_url (ScDownloader *self);
/* The final path (folder/name) and the partial one (folder/name.part). */
const char *sc_downloader_get_path (ScDownloader *self);
const char *sc_downloader_get_part_path (ScDownloader *self);
guint64 sc_downloader_get_bytes (ScDownloader *self);
guint64 sc_downloader_get_total (ScDownloader *self); /* 0 while unknown */
double sc_downloader_get_rate (ScDownloader *self);   /* bytes per second, smoothed */
double sc_downloader_get_fraction (ScDownloader *self);
gboolean sc_downloader_get_running (ScDownloader *self);
/* Bytes that were already in the .part when the last request went out (0: started from scratch). */
guint64 sc_downloader_get_resumed_from (ScDownloader *self);

/* Starts (or resumes) the download; one at a time per object. The result is the final path. */
void sc_downloader_start_async (ScDownloader *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data);
char *sc_downloader_start_finish (ScDownloader *self, GAsyncResult *result, GError **error);

/* "Could not reach huggingface.co — are you online?" style message for a URL and a transport error. */
char *sc_downloader_describe_error (const char *url, const GError *error);

/* "1.2 GB" */
char *sc_downloader_format_size (guint64 bytes);

G_END_DECLS
