/* torch.save archives: <root>/data.pkl is run through the restricted pickle VM; its persistent ids name
 * storages stored raw (little-endian) as <root>/data/<key>. The root folder is whatever prefix the one
 * data.pkl has ("archive", or the file stem). The pickle's dicts are walked into flat dotted names. */
#include "io/torch_file.h"

#include "core/error.h"
#include "io/pickle.h"
#include "io/torch_zip.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 32
#define MAX_VISITS 1000000
#define MAX_ENTRIES 200000 /* an SDXL checkpoint with EMA has ~5000 */
#define MAX_NAME 4096
#define MAX_NAME_BYTES ((guint64) 256 << 20)

struct ScTorchFile {
  char *path;
  void *map;
  size_t map_len;
  const guint8 *base;
  size_t len;
  ScZip *zip;
  char *root; /* "archive/" */
  GArray *entries;     /* ScStEntry */
  GHashTable *by_name; /* name -> index + 1 */
  GHashTable *ints;    /* name -> int64_t* */
  GStringChunk *strings;
  GPtrArray *owned;    /* copies of strided tensors */
  guint64 copied, name_bytes, visits;
};

void
sc_torch_file_close (ScTorchFile *f)
{
  if (!f)
    return;
  sc_zip_free (f->zip);
  if (f->map)
    munmap (f->map, f->map_len);
  g_free (f->path);
  g_free (f->root);
  g_array_unref (f->entries);
  g_hash_table_destroy (f->by_name);
  g_hash_table_destroy (f->ints);
  g_string_chunk_free (f->strings);
  g_ptr_array_unref (f->owned);
  g_free (f);
}

static ScTorchFile *
file_new (void)
{
  ScTorchFile *f = g_new0 (ScTorchFile, 1);
  f->entries = g_array_new (FALSE, TRUE, sizeof (ScStEntry));
  f->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  f->ints = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  f->strings = g_string_chunk_new (4096);
  f->owned = g_ptr_array_new_with_free_func (g_free);
  return f;
}

/* The single "<root>/data.pkl"; the root is one folder deep. */
static gboolean
find_root (ScTorchFile *f, GError **error)
{
  for (size_t i = 0; i < sc_zip_count (f->zip); i++)
    {
      const char *n = sc_zip_name (f->zip, i);
      const char *slash = strchr (n, '/');
      if (!slash || slash == n || strcmp (slash, "/data.pkl") != 0)
        continue;
      /* Names are only lookup keys here, but a root of "." or ".." is never torch's and may be a trick. */
      if (strncmp (n, "./", 2) == 0 || strncmp (n, "../", 3) == 0 || memchr (n, '\\', (size_t) (slash - n)))
        continue;
      if (f->root)
        {
          g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "The archive holds two pickles (%sdata.pkl and %s); it is "
                       "not a single torch.save file", f->root, n);
          return FALSE;
        }
      f->root = g_strndup (n, (size_t) (slash - n) + 1);
    }
  if (!f->root)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT,
                   "The zip archive has no <folder>/data.pkl, so it was not written by torch.save");
      return FALSE;
    }
  return TRUE;
}

static const guint8 *
root_entry (ScTorchFile *f, const char *leaf, guint64 *len, GError **error)
{
  g_autofree char *name = g_strconcat (f->root, leaf, NULL);
  gssize i = sc_zip_find (f->zip, name);
  if (i < 0)
    {
      *len = 0;
      return NULL;
    }
  return sc_zip_data (f->zip, (size_t) i, len, error);
}

/* Copies a strided view out element by element (an odometer over the shape). */
static void
gather (guint8 *dst, const guint8 *src, size_t es, int ndim, const int64_t *shape, const int64_t *stride,
        int64_t numel)
{
  int64_t idx[SC_MAX_DIMS] = { 0 };
  int64_t off = 0;
  for (int64_t k = 0; k < numel; k++)
    {
      memcpy (dst + (size_t) k * es, src + (size_t) off * es, es);
      for (int d = ndim - 1; d >= 0; d--)
        {
          if (++idx[d] < shape[d])
            {
              off += stride[d];
              break;
            }
          off -= stride[d] * (shape[d] - 1);
          idx[d] = 0;
        }
    }
}

static gboolean
make_entry (ScTorchFile *f, const char *name, const ScPickleTensor *t, ScStEntry *e, GError **error)
{
  const ScPickleStorage *s = t->storage->u.storage;
  size_t es = sc_dtype_size (s->dtype);
  g_autofree char *leaf = g_strconcat ("data/", s->key, NULL);
  guint64 have = 0;
  GError *local = NULL;
  const guint8 *base = root_entry (f, leaf, &have, &local);
  if (!base)
    {
      if (local)
        g_propagate_error (error, local);
      else
        g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "Tensor “%s”: its storage %s%s is missing from the archive",
                     name, f->root, leaf);
      return FALSE;
    }
  if ((guint64) s->numel > have / es)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "Tensor “%s”: storage %s holds %" G_GUINT64_FORMAT " bytes, "
                   "fewer than the %" G_GINT64_FORMAT " elements it claims (truncated?)", name, s->key, have,
                   s->numel);
      return FALSE;
    }
  /* Element count, the last element the view touches, and whether it is plain row-major. */
  guint64 numel = 1, last = (guint64) t->offset, expect = 1;
  gboolean contiguous = TRUE, overflow = FALSE;
  for (int d = t->ndim - 1; d >= 0; d--)
    {
      guint64 span;
      overflow |= __builtin_mul_overflow (numel, (guint64) t->shape[d], &numel);
      if (t->shape[d] > 0)
        overflow |= __builtin_mul_overflow ((guint64) (t->shape[d] - 1), (guint64) t->stride[d], &span)
                    || __builtin_add_overflow (last, span, &last);
      if (t->shape[d] != 1 && (guint64) t->stride[d] != expect)
        contiguous = FALSE;
      overflow |= __builtin_mul_overflow (expect, (guint64) t->shape[d], &expect);
    }
  if (overflow || numel > (guint64) INT64_MAX / es)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "Tensor “%s” has an impossible shape", name);
      return FALSE;
    }
  e->name = name;
  e->dtype = s->dtype;
  e->ndim = t->ndim;
  memcpy (e->shape, t->shape, sizeof e->shape);
  e->numel = (int64_t) numel;
  e->nbytes = (size_t) (numel * es);
  if (numel == 0)
    {
      e->data = base;
      return TRUE;
    }
  if (last >= (guint64) s->numel)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "Tensor “%s” reaches element %" G_GUINT64_FORMAT " of a "
                   "storage of %" G_GINT64_FORMAT, name, last, s->numel);
      return FALSE;
    }
  if (contiguous)
    {
      e->data = base + (size_t) t->offset * es;
      return TRUE;
    }
  /* A strided view (e.g. a transposed weight or an expand) is copied; expands can be larger than their
   * storage, so copies are capped relative to the file. */
  if (f->copied + e->nbytes > 2 * (guint64) f->len + ((guint64) 1 << 20))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED, "Tensor “%s” is a strided view that would expand to %zu "
                   "bytes, more than this file can reasonably hold", name, e->nbytes);
      return FALSE;
    }
  guint8 *copy = g_try_malloc (e->nbytes);
  if (!copy)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "Out of memory copying tensor “%s”", name);
      return FALSE;
    }
  gather (copy, base + (size_t) t->offset * es, es, t->ndim, t->shape, t->stride, e->numel);
  g_ptr_array_add (f->owned, copy);
  f->copied += e->nbytes;
  e->data = copy;
  return TRUE;
}

static gboolean
add_tensor (ScTorchFile *f, const char *name, const ScPickleTensor *t, GError **error)
{
  ScStEntry e = { 0 };
  const char *stored = g_string_chunk_insert_const (f->strings, name);
  if (!make_entry (f, stored, t, &e, error))
    return FALSE;
  gsize at = GPOINTER_TO_SIZE (g_hash_table_lookup (f->by_name, stored));
  if (at) /* a later value for the same key wins, as in Python */
    {
      g_array_index (f->entries, ScStEntry, at - 1) = e;
      return TRUE;
    }
  if (f->entries->len >= MAX_ENTRIES)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "The file holds more than %d tensors", MAX_ENTRIES);
      return FALSE;
    }
  g_array_append_val (f->entries, e);
  g_hash_table_insert (f->by_name, (char *) stored, GSIZE_TO_POINTER (f->entries->len));
  return TRUE;
}

static gboolean
walk (ScTorchFile *f, const ScPickleValue *dict, const char *prefix, int depth, GError **error)
{
  if (depth > MAX_DEPTH)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "Dicts are nested more than %d deep (or contain themselves)",
                   MAX_DEPTH);
      return FALSE;
    }
  for (size_t i = 0; i + 1 < dict->u.seq.n; i += 2)
    {
      const ScPickleValue *k = dict->u.seq.items[i], *v = dict->u.seq.items[i + 1];
      if (++f->visits > MAX_VISITS)
        {
          g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "The pickle's dicts hold more than %d items in all",
                       MAX_VISITS);
          return FALSE;
        }
      if (v->type != SC_PICKLE_TENSOR && v->type != SC_PICKLE_DICT && v->type != SC_PICKLE_INT
          && v->type != SC_PICKLE_BOOL)
        continue; /* strings, lists, optimizer state, callbacks: not weights */
      g_autofree char *key = NULL;
      if (k->type == SC_PICKLE_STR)
        key = g_strdup (k->u.str.data);
      else if (k->type == SC_PICKLE_INT)
        key = g_strdup_printf ("%" G_GINT64_FORMAT, k->u.i);
      else
        continue;
      g_autofree char *name = prefix ? g_strconcat (prefix, ".", key, NULL) : g_steal_pointer (&key);
      size_t name_len = strlen (name);
      f->name_bytes += name_len;
      if (name_len > MAX_NAME || f->name_bytes > MAX_NAME_BYTES)
        {
          g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "Tensor names are too long");
          return FALSE;
        }
      gboolean ok = TRUE;
      if (v->type == SC_PICKLE_TENSOR)
        ok = add_tensor (f, name, v->u.tensor, error);
      else if (v->type == SC_PICKLE_DICT)
        ok = walk (f, v, name, depth + 1, error);
      else
        {
          int64_t *val = g_new (int64_t, 1);
          *val = v->type == SC_PICKLE_INT ? v->u.i : v->u.b;
          g_hash_table_replace (f->ints, (char *) g_string_chunk_insert_const (f->strings, name), val);
        }
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

static gboolean
parse (ScTorchFile *f, GError **error)
{
  if (f->len >= 2 && f->base[0] == 0x80 && f->base[1] >= 2 && f->base[1] <= 5)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED,
                   "This is a PyTorch checkpoint in the legacy format (saved before PyTorch 1.6 or with "
                   "_use_new_zipfile_serialization=False), which is not supported; re-save it with a current "
                   "PyTorch or convert it to .safetensors");
      return FALSE;
    }
  if (f->len < 4 || memcmp (f->base, "PK\3\4", 4) != 0)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "Not a PyTorch checkpoint: it does not start like a zip "
                   "archive");
      return FALSE;
    }
  if (!(f->zip = sc_zip_open_memory (f->base, f->len, error)) || !find_root (f, error))
    return FALSE;
  guint64 len;
  GError *local = NULL;
  const guint8 *order = root_entry (f, "byteorder", &len, &local);
  if (local)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (order && !(len == 6 && memcmp (order, "little", 6) == 0))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED, "The checkpoint was saved on a big-endian machine, "
                   "which is not supported");
      return FALSE;
    }
  const guint8 *pkl = root_entry (f, "data.pkl", &len, error);
  if (!pkl)
    return FALSE;
  ScPickle *p = sc_pickle_load (pkl, len, error);
  if (!p)
    return FALSE;
  const ScPickleValue *root = sc_pickle_root (p);
  gboolean ok = root->type == SC_PICKLE_DICT;
  if (!ok)
    g_set_error (error, SC_ERROR, SC_ERROR_WRONG_MODEL, "The checkpoint's top level is not a dict of tensors");
  else
    ok = walk (f, root, NULL, 0, error);
  sc_pickle_free (p);
  return ok;
}

ScTorchFile *
sc_torch_file_open_memory (const void *data, size_t len, GError **error)
{
  ScTorchFile *f = file_new ();
  f->base = data;
  f->len = len;
  if (!parse (f, error))
    {
      sc_torch_file_close (f);
      return NULL;
    }
  return f;
}

ScTorchFile *
sc_torch_file_open (const char *path, GError **error)
{
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int err = errno;
      g_set_error (error, SC_ERROR, SC_ERROR_IO, "Cannot open %s: %s", path, g_strerror (err));
      return NULL;
    }
  struct stat sb;
  if (fstat (fd, &sb) != 0 || !S_ISREG (sb.st_mode))
    {
      close (fd);
      g_set_error (error, SC_ERROR, SC_ERROR_IO, "Cannot read %s: not a regular file", path);
      return NULL;
    }
  ScTorchFile *f = file_new ();
  f->path = g_strdup (path);
  if (sb.st_size > 0)
    {
      f->map = mmap (NULL, (size_t) sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (f->map == MAP_FAILED)
        {
          int err = errno;
          f->map = NULL;
          close (fd);
          g_set_error (error, SC_ERROR, SC_ERROR_IO, "Cannot map %s: %s", path, g_strerror (err));
          sc_torch_file_close (f);
          return NULL;
        }
      f->map_len = (size_t) sb.st_size;
    }
  close (fd);
  f->base = f->map ? f->map : (const guint8 *) "";
  f->len = f->map_len;
  if (!parse (f, error))
    {
      g_prefix_error (error, "%s: ", path);
      sc_torch_file_close (f);
      return NULL;
    }
  return f;
}

gboolean
sc_torch_file_sniff (const char *path)
{
  guint8 magic[4];
  FILE *fp = g_fopen (path, "rb");
  if (!fp)
    return FALSE;
  gboolean zip = fread (magic, 1, 4, fp) == 4 && memcmp (magic, "PK\3\4", 4) == 0;
  fclose (fp);
  return zip;
}

const char *
sc_torch_file_path (const ScTorchFile *f)
{
  return f->path;
}

size_t
sc_torch_file_count (const ScTorchFile *f)
{
  return f->entries->len;
}

const ScStEntry *
sc_torch_file_get (const ScTorchFile *f, size_t index)
{
  g_return_val_if_fail (index < f->entries->len, NULL);
  return &g_array_index (f->entries, ScStEntry, index);
}

const ScStEntry *
sc_torch_file_find (const ScTorchFile *f, const char *name)
{
  gsize at = GPOINTER_TO_SIZE (g_hash_table_lookup (f->by_name, name));
  return at ? &g_array_index (f->entries, ScStEntry, at - 1) : NULL;
}

gboolean
sc_torch_file_int (const ScTorchFile *f, const char *name, int64_t *out)
{
  const int64_t *v = g_hash_table_lookup (f->ints, name);
  if (v && out)
    *out = *v;
  return v != NULL;
}

gboolean
sc_torch_file_unwrap (ScTorchFile *f, const char *prefix)
{
  g_autofree char *dotted = g_strconcat (prefix, ".", NULL);
  size_t n = strlen (dotted);
  GArray *kept = g_array_new (FALSE, TRUE, sizeof (ScStEntry));
  for (guint i = 0; i < f->entries->len; i++)
    {
      ScStEntry e = g_array_index (f->entries, ScStEntry, i);
      if (strncmp (e.name, dotted, n) == 0 && e.name[n])
        {
          e.name += n; /* a suffix of the stored name: still owned by the string chunk */
          g_array_append_val (kept, e);
        }
    }
  if (kept->len == 0)
    {
      g_array_unref (kept);
      return FALSE;
    }
  g_array_unref (f->entries);
  f->entries = kept;
  g_hash_table_remove_all (f->by_name);
  for (guint i = 0; i < kept->len; i++)
    g_hash_table_insert (f->by_name, (char *) g_array_index (kept, ScStEntry, i).name, GSIZE_TO_POINTER (i + 1));
  return TRUE;
}
