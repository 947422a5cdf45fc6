/* Atomic saves: PATH.tmp-XXXXXX in the same folder (so rename() stays on one file system), written,
 * flushed, fsynced, then renamed over PATH; the folder is fsynced afterwards so the rename itself
 * survives a crash. A failed or abandoned save removes the temporary file and leaves PATH untouched. */
#include "io/atomic_file.h"

#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ScAtomicFile {
  char *path;
  char *tmp_path;
  FILE *fp;
};

static void
set_io_error (GError **error, const char *path, const char *what, int err)
{
  char *display = g_filename_display_name (path);
  g_set_error (error, SC_ERROR, SC_ERROR_IO, "Could not %s “%s”: %s", what, display, g_strerror (err));
  g_free (display);
}

static void
atomic_file_free (ScAtomicFile *f)
{
  g_free (f->path);
  g_free (f->tmp_path);
  g_free (f);
}

ScAtomicFile *
sc_atomic_file_begin (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL && *path != '\0', NULL);
  char *tmp = g_strconcat (path, ".tmp-XXXXXX", NULL);
  int fd = g_mkstemp_full (tmp, O_RDWR | O_CLOEXEC, 0666); /* the umask applies, as for any new file */
  if (fd < 0)
    {
      int err = errno;
      set_io_error (error, path, "create a temporary file for", err);
      g_free (tmp);
      return NULL;
    }
  /* Replacing a file keeps its permissions. */
  struct stat st;
  if (stat (path, &st) == 0 && S_ISREG (st.st_mode))
    (void) fchmod (fd, st.st_mode & 07777);

  FILE *fp = fdopen (fd, "wb");
  if (!fp)
    {
      int err = errno;
      close (fd);
      g_unlink (tmp);
      set_io_error (error, path, "write", err);
      g_free (tmp);
      return NULL;
    }
  ScAtomicFile *f = g_new0 (ScAtomicFile, 1);
  f->path = g_strdup (path);
  f->tmp_path = tmp;
  f->fp = fp;
  return f;
}

FILE *
sc_atomic_file_stream (ScAtomicFile *f)
{
  g_return_val_if_fail (f != NULL, NULL);
  return f->fp;
}

static void
fsync_parent_folder (const char *path)
{
  char *dir = g_path_get_dirname (path);
  int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0)
    {
      (void) fsync (dfd); /* best effort: some file systems refuse fsync on folders */
      close (dfd);
    }
  g_free (dir);
}

gboolean
sc_atomic_file_commit (ScAtomicFile *f, GError **error)
{
  g_return_val_if_fail (f != NULL, FALSE);
  int err = 0;
  errno = 0;
  if (fflush (f->fp) != 0 || ferror (f->fp))
    err = errno ? errno : EIO;
  else if (fsync (fileno (f->fp)) != 0)
    err = errno;
  if (fclose (f->fp) != 0 && err == 0)
    err = errno ? errno : EIO;
  f->fp = NULL;
  if (err == 0 && rename (f->tmp_path, f->path) != 0)
    err = errno;
  if (err != 0)
    {
      g_unlink (f->tmp_path);
      set_io_error (error, f->path, "write", err);
      atomic_file_free (f);
      return FALSE;
    }
  fsync_parent_folder (f->path);
  atomic_file_free (f);
  return TRUE;
}

void
sc_atomic_file_abort (ScAtomicFile *f)
{
  if (!f)
    return;
  if (f->fp)
    fclose (f->fp);
  g_unlink (f->tmp_path);
  atomic_file_free (f);
}

gboolean
sc_atomic_write (const char *path, const void *data, size_t len, GError **error)
{
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  ScAtomicFile *f = sc_atomic_file_begin (path, error);
  if (!f)
    return FALSE;
  if (len > 0 && fwrite (data, 1, len, f->fp) != len)
    {
      int err = errno ? errno : EIO;
      sc_atomic_file_abort (f);
      set_io_error (error, path, "write", err);
      return FALSE;
    }
  return sc_atomic_file_commit (f, error);
}
