/* safetensors reading (memory-mapped, validated before anything is handed out) and streaming,
 * atomic writing. Format and limits: shared/specs/stable-diffusion.md §6.4.
 *
 * Reading: every byte of the file is treated as hostile. The header JSON goes through json_lite (strict,
 * depth-limited); each tensor's dtype, shape and data_offsets are checked, and the offsets sorted by
 * position must tile the data buffer exactly (no overlap, no hole, nothing left over), as the reference
 * implementation requires. Entries are kept in the order their names appear in the header (which for
 * files written by the reference library or by us is also the order of their offsets).
 * A mapped file must not be truncated by someone else while it is open (that would be a SIGBUS on
 * access, as with any mmap reader).
 *
 * Writing: tensors are referenced until save, which writes the header and then each tensor straight from
 * its own memory into a temporary file (no second copy of the model), then renames it over the target.
 * Like the reference serializer, tensors are ordered by decreasing element size, then by name, and the
 * header is padded with spaces so the data starts on an 8-byte boundary: every tensor is then aligned
 * to its element size in the file. */
#include "io/safetensors.h"

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json_lite.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_MAX_HEADER ((guint64) 100000000) /* MAX_HEADER_SIZE in huggingface/safetensors */

struct ScSafetensors {
  char *path;          /* NULL for open_memory */
  void *map;           /* the mapping (NULL for memory buffers and empty files) */
  size_t map_len;
  const guint8 *base;  /* the whole file */
  size_t size;
  const guint8 *buffer; /* the data buffer after the header */
  size_t buffer_len;
  ScStEntry *entries;
  size_t n_entries;
  GHashTable *by_name; /* name -> ScStEntry* */
  GStringChunk *strings;
  GPtrArray *meta_keys; /* NULL-terminated */
  GHashTable *meta;     /* key -> value, both in strings */
};

static gboolean G_GNUC_PRINTF (3, 4)
fail (GError **error, int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error_literal (error, SC_ERROR, code, msg);
  g_free (msg);
  return FALSE;
}

/* "[2, 3]" */
static char *
format_shape (int ndim, const int64_t *shape)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < ndim; i++)
    g_string_append_printf (s, i ? ", %" PRId64 : "%" PRId64, shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* Dtype names the format defines but ScDType cannot hold: a valid file we cannot use, not a broken one. */
static gboolean
is_known_unsupported_dtype (const char *name)
{
  static const char *const names[] = {
    "F4", "F6_E2M3", "F6_E3M2", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ",
    "U16", "U32", "U64", "C64",
  };
  for (size_t i = 0; i < G_N_ELEMENTS (names); i++)
    if (strcmp (name, names[i]) == 0)
      return TRUE;
  return FALSE;
}

/* Element count and byte size of a shape; FALSE (with a reason) on negative dimensions or overflow. */
static gboolean
shape_size (int ndim, const int64_t *shape, ScDType dtype, guint64 *numel_out, guint64 *nbytes_out,
            const char **why)
{
  guint64 numel = 1;
  for (int i = 0; i < ndim; i++)
    {
      if (shape[i] < 0)
        {
          *why = "has a negative dimension";
          return FALSE;
        }
      if (__builtin_mul_overflow (numel, (guint64) shape[i], &numel))
        {
          *why = "has too many elements";
          return FALSE;
        }
    }
  guint64 nbytes;
  if (__builtin_mul_overflow (numel, (guint64) sc_dtype_size (dtype), &nbytes) || numel > (guint64) INT64_MAX
      || nbytes > (guint64) INT64_MAX || nbytes > (guint64) SIZE_MAX)
    {
      *why = "has too many elements";
      return FALSE;
    }
  *numel_out = numel;
  *nbytes_out = nbytes;
  return TRUE;
}

/* ---------------------------------------------------------------------------------------------- */
/* Reading */

typedef struct {
  guint64 begin, end;
  size_t index;
} Span;

static int
span_cmp (const void *a, const void *b)
{
  const Span *x = a, *y = b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

static gboolean
parse_metadata (ScSafetensors *st, const ScJsonValue *v, GError **error)
{
  if (sc_json_type (v) == SC_JSON_NULL) /* the reference reader accepts an explicit null */
    return TRUE;
  if (sc_json_type (v) != SC_JSON_OBJECT)
    return fail (error, SC_ERROR_FORMAT, "“__metadata__” is %s, not an object of strings",
                 sc_json_type_describe (sc_json_type (v)));
  for (size_t i = 0; i < sc_json_size (v); i++)
    {
      const char *key = sc_json_object_key (v, i);
      const ScJsonValue *val = sc_json_object_value (v, i);
      if (sc_json_type (val) != SC_JSON_STRING)
        return fail (error, SC_ERROR_FORMAT, "Metadata value for “%s” is %s, not a string", key,
                     sc_json_type_describe (sc_json_type (val)));
      char *k = g_string_chunk_insert (st->strings, key);
      char *s = g_string_chunk_insert (st->strings, sc_json_string (val));
      g_ptr_array_insert (st->meta_keys, (int) st->meta_keys->len - 1, k); /* before the NULL */
      g_hash_table_insert (st->meta, k, s);
    }
  return TRUE;
}

static gboolean
get_uint (const ScJsonValue *v, guint64 *out)
{
  if (sc_json_type (v) != SC_JSON_INT || sc_json_int (v) < 0)
    return FALSE;
  *out = (guint64) sc_json_int (v);
  return TRUE;
}

static gboolean
parse_entry (ScSafetensors *st, const char *name, const ScJsonValue *v, ScStEntry *e, Span *span,
             GError **error)
{
  if (sc_json_type (v) != SC_JSON_OBJECT)
    return fail (error, SC_ERROR_FORMAT, "Tensor “%s” is %s, not an object with dtype, shape and data_offsets",
                 name, sc_json_type_describe (sc_json_type (v)));

  const ScJsonValue *dt = sc_json_object_get (v, "dtype");
  if (!dt)
    return fail (error, SC_ERROR_FORMAT, "Tensor “%s” has no dtype", name);
  if (sc_json_type (dt) != SC_JSON_STRING)
    return fail (error, SC_ERROR_FORMAT, "Tensor “%s” dtype is %s, not a string", name,
                 sc_json_type_describe (sc_json_type (dt)));
  const char *dtype_name = sc_json_string (dt);
  if (!sc_dtype_from_name (dtype_name, &e->dtype))
    {
      if (is_known_unsupported_dtype (dtype_name))
        return fail (error, SC_ERROR_UNSUPPORTED, "Tensor “%s” has dtype %s, which is not supported", name,
                     dtype_name);
      return fail (error, SC_ERROR_FORMAT, "Tensor “%s” has unknown dtype “%s”", name, dtype_name);
    }

  const ScJsonValue *sh = sc_json_object_get (v, "shape");
  if (!sh)
    return fail (error, SC_ERROR_FORMAT, "Tensor “%s” has no shape", name);
  if (sc_json_type (sh) != SC_JSON_ARRAY)
    return fail (error, SC_ERROR_FORMAT, "Tensor “%s” shape is %s, not an array", name,
                 sc_json_type_describe (sc_json_type (sh)));
  size_t ndim = sc_json_size (sh);
  if (ndim > SC_MAX_DIMS)
    return fail (error, SC_ERROR_UNSUPPORTED, "Tensor “%s” has %zu dimensions; at most %d are supported", name,
                 ndim, SC_MAX_DIMS);
  e->ndim = (int) ndim;
  for (size_t i = 0; i < ndim; i++)
    {
      const ScJsonValue *d = sc_json_array_get (sh, i);
      if (sc_json_type (d) != SC_JSON_INT)
        return fail (error, SC_ERROR_FORMAT, "Tensor “%s” shape has %s where a dimension should be", name,
                     sc_json_type_describe (sc_json_type (d)));
      e->shape[i] = sc_json_int (d);
    }
  guint64 numel, nbytes;
  const char *why;
  if (!shape_size (e->ndim, e->shape, e->dtype, &numel, &nbytes, &why))
    {
      char *s = format_shape (e->ndim, e->shape);
      fail (error, SC_ERROR_FORMAT, "Tensor “%s” shape %s %s", name, s, why);
      g_free (s);
      return FALSE;
    }

  const ScJsonValue *off = sc_json_object_get (v, "data_offsets");
  if (!off)
    return fail (error, SC_ERROR_FORMAT, "Tensor “%s” has no data_offsets", name);
  if (sc_json_type (off) != SC_JSON_ARRAY || sc_json_size (off) != 2
      || !get_uint (sc_json_array_get (off, 0), &span->begin) || !get_uint (sc_json_array_get (off, 1), &span->end))
    return fail (error, SC_ERROR_FORMAT, "Tensor “%s” data_offsets must be two non-negative integers [begin, end]",
                 name);
  if (span->begin > span->end)
    return fail (error, SC_ERROR_FORMAT, "Tensor “%s” data_offsets [%" PRIu64 ", %" PRIu64 "] end before they begin",
                 name, span->begin, span->end);
  if (span->end > st->buffer_len)
    return fail (error, SC_ERROR_FORMAT,
                 "Tensor “%s” data_offsets [%" PRIu64 ", %" PRIu64 "] lie outside the data buffer (%zu bytes)", name,
                 span->begin, span->end, st->buffer_len);
  if (span->end - span->begin != nbytes)
    {
      char *s = format_shape (e->ndim, e->shape);
      fail (error, SC_ERROR_FORMAT,
            "Tensor “%s” data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64 " bytes, but shape %s of %s needs %" PRIu64,
            name, span->begin, span->end, span->end - span->begin, s, sc_dtype_name (e->dtype), nbytes);
      g_free (s);
      return FALSE;
    }

  e->name = g_string_chunk_insert (st->strings, name);
  e->numel = (int64_t) numel;
  e->nbytes = (size_t) nbytes;
  e->data = st->buffer + span->begin;
  return TRUE;
}

/* The sorted spans must tile [0, buffer_len) exactly. */
static gboolean
check_coverage (ScSafetensors *st, Span *spans, size_t n, GError **error)
{
  qsort (spans, n, sizeof (Span), span_cmp);
  guint64 pos = 0;
  const Span *prev = NULL;
  for (size_t i = 0; i < n; i++)
    {
      const Span *s = &spans[i];
      if (s->begin < pos)
        return fail (error, SC_ERROR_FORMAT,
                     "Tensor “%s” data_offsets [%" PRIu64 ", %" PRIu64 "] overlap tensor “%s” [%" PRIu64 ", %" PRIu64 "]",
                     st->entries[s->index].name, s->begin, s->end, st->entries[prev->index].name, prev->begin,
                     prev->end);
      if (s->begin > pos)
        return fail (error, SC_ERROR_FORMAT,
                     "Bytes %" PRIu64 " to %" PRIu64 " of the data buffer belong to no tensor (a hole before tensor “%s”)",
                     pos, s->begin, st->entries[s->index].name);
      pos = s->end;
      prev = s;
    }
  if (pos != st->buffer_len)
    return fail (error, SC_ERROR_FORMAT,
                 "The data buffer has %zu bytes but the tensors cover only the first %" PRIu64
                 " (extra bytes at the end of the file)",
                 st->buffer_len, pos);
  return TRUE;
}

static gboolean
parse (ScSafetensors *st, GError **error)
{
  if (st->size < 8)
    return fail (error, SC_ERROR_FORMAT,
                 "File is too small to be safetensors: %zu bytes, but the header length alone takes 8", st->size);
  guint64 n;
  memcpy (&n, st->base, 8);
  n = GUINT64_FROM_LE (n);
  if (n > ST_MAX_HEADER)
    return fail (error, SC_ERROR_FORMAT, "Header length %" PRIu64 " is larger than the limit of %" PRIu64 " bytes", n,
                 ST_MAX_HEADER);
  if (n > st->size - 8)
    return fail (error, SC_ERROR_FORMAT,
                 "File is truncated: header says %" PRIu64 " bytes but only %zu bytes follow the header length", n,
                 st->size - 8);
  const char *header = (const char *) st->base + 8;
  st->buffer = st->base + 8 + n;
  st->buffer_len = st->size - 8 - (size_t) n;

  g_autoptr (GError) json_error = NULL;
  g_autoptr (ScJsonDoc) doc = sc_json_parse (header, (size_t) n, &json_error);
  if (!doc)
    return fail (error, SC_ERROR_FORMAT, "Header is not valid JSON: %s", json_error->message);
  const ScJsonValue *root = sc_json_doc_root (doc);
  if (sc_json_type (root) != SC_JSON_OBJECT)
    return fail (error, SC_ERROR_FORMAT, "Header is %s, not a JSON object", sc_json_type_describe (sc_json_type (root)));
  if (header[0] != '{')
    return fail (error, SC_ERROR_FORMAT, "Header must start with “{”");

  size_t members = sc_json_size (root);
  st->entries = g_new0 (ScStEntry, members ? members : 1);
  Span *spans = g_new (Span, members ? members : 1);
  gboolean ok = TRUE;
  for (size_t i = 0; i < members && ok; i++)
    {
      const char *key = sc_json_object_key (root, i);
      const ScJsonValue *v = sc_json_object_value (root, i);
      if (strcmp (key, "__metadata__") == 0)
        ok = parse_metadata (st, v, error);
      else
        {
          ScStEntry *e = &st->entries[st->n_entries];
          Span *s = &spans[st->n_entries];
          ok = parse_entry (st, key, v, e, s, error);
          if (ok)
            {
              s->index = st->n_entries++;
              g_hash_table_insert (st->by_name, (gpointer) e->name, e);
            }
        }
    }
  if (ok)
    ok = check_coverage (st, spans, st->n_entries, error);
  g_free (spans);
  return ok;
}

static ScSafetensors *
safetensors_new (void)
{
  ScSafetensors *st = g_new0 (ScSafetensors, 1);
  st->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  st->strings = g_string_chunk_new (4096);
  st->meta_keys = g_ptr_array_new ();
  g_ptr_array_add (st->meta_keys, NULL);
  st->meta = g_hash_table_new (g_str_hash, g_str_equal);
  return st;
}

ScSafetensors *
sc_safetensors_open_memory (const void *data, size_t len, GError **error)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  ScSafetensors *st = safetensors_new ();
  st->base = data;
  st->size = len;
  if (!parse (st, error))
    {
      sc_safetensors_close (st);
      return NULL;
    }
  return st;
}

ScSafetensors *
sc_safetensors_open (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  char *display = g_filename_display_name (path);
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int err = errno;
      fail (error, SC_ERROR_IO, "Could not open “%s”: %s", display, g_strerror (err));
      g_free (display);
      return NULL;
    }
  struct stat sb;
  const char *problem = NULL;
  if (fstat (fd, &sb) != 0)
    problem = g_strerror (errno);
  else if (!S_ISREG (sb.st_mode))
    problem = "not a regular file";
  else if ((guint64) sb.st_size > (guint64) SIZE_MAX)
    problem = "too large for this computer's address space";
  if (problem)
    {
      fail (error, SC_ERROR_IO, "Could not read “%s”: %s", display, problem);
      close (fd);
      g_free (display);
      return NULL;
    }
  ScSafetensors *st = safetensors_new ();
  st->path = g_strdup (path);
  st->size = (size_t) sb.st_size;
  if (st->size >= 8)
    {
      void *map = mmap (NULL, st->size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (map == MAP_FAILED)
        {
          int err = errno;
          fail (error, SC_ERROR_IO, "Could not map “%s” into memory: %s", display, g_strerror (err));
          close (fd);
          sc_safetensors_close (st);
          g_free (display);
          return NULL;
        }
      st->map = map;
      st->map_len = st->size;
      st->base = map;
    }
  close (fd);
  if (!parse (st, error))
    {
      g_prefix_error (error, "“%s”: ", display);
      sc_safetensors_close (st);
      g_free (display);
      return NULL;
    }
  g_free (display);
  return st;
}

void
sc_safetensors_close (ScSafetensors *st)
{
  if (!st)
    return;
  if (st->map)
    munmap (st->map, st->map_len);
  g_free (st->entries);
  g_hash_table_destroy (st->by_name);
  g_hash_table_destroy (st->meta);
  g_ptr_array_free (st->meta_keys, TRUE);
  g_string_chunk_free (st->strings);
  g_free (st->path);
  g_free (st);
}

const char *
sc_safetensors_path (const ScSafetensors *st)
{
  g_return_val_if_fail (st != NULL, NULL);
  return st->path; /* NULL for sc_safetensors_open_memory */
}

size_t
sc_safetensors_count (const ScSafetensors *st)
{
  g_return_val_if_fail (st != NULL, 0);
  return st->n_entries;
}

const ScStEntry *
sc_safetensors_get (const ScSafetensors *st, size_t index)
{
  g_return_val_if_fail (st != NULL && index < st->n_entries, NULL);
  return &st->entries[index];
}

const ScStEntry *
sc_safetensors_find (const ScSafetensors *st, const char *name)
{
  g_return_val_if_fail (st != NULL && name != NULL, NULL);
  return g_hash_table_lookup (st->by_name, name);
}

const char *
sc_safetensors_metadata (const ScSafetensors *st, const char *key)
{
  g_return_val_if_fail (st != NULL && key != NULL, NULL);
  return g_hash_table_lookup (st->meta, key);
}

const char *const *
sc_safetensors_metadata_keys (const ScSafetensors *st)
{
  g_return_val_if_fail (st != NULL, NULL);
  return (const char *const *) st->meta_keys->pdata;
}

gboolean
sc_st_entry_to_f32 (const ScStEntry *e, float *dst, GError **error)
{
  g_return_val_if_fail (e != NULL && (dst != NULL || e->numel == 0), FALSE);
  if (e->dtype == SC_DTYPE_BOOL || (unsigned) e->dtype >= SC_DTYPE_COUNT_)
    return fail (error, SC_ERROR_DTYPE, "Tensor “%s” has dtype %s, which is not a number", e->name,
                 sc_dtype_name (e->dtype));
  if (e->numel > 0)
    sc_convert_to_f32 (e->dtype, e->data, dst, (size_t) e->numel);
  return TRUE;
}

void
sc_safetensors_release (const ScSafetensors *st, const ScStEntry *e)
{
  if (!st || !e || !st->map || e->nbytes == 0)
    return; /* memory buffers belong to the caller */
  uintptr_t lo = (uintptr_t) e->data, hi = lo + e->nbytes;
  uintptr_t map_lo = (uintptr_t) st->map, map_hi = map_lo + st->map_len;
  if (lo < map_lo || hi > map_hi)
    return; /* not one of ours */
  long ps = sysconf (_SC_PAGESIZE);
  uintptr_t page = ps > 0 ? (uintptr_t) ps : 4096;
  uintptr_t a = (lo + page - 1) & ~(page - 1); /* only pages that hold nothing but this entry */
  uintptr_t b = hi & ~(page - 1);
  if (b > a)
    (void) madvise ((void *) a, b - a, MADV_DONTNEED); /* read-only private file pages: re-read on access */
}

/* ---------------------------------------------------------------------------------------------- */
/* Writing */

typedef struct {
  char *name;
  ScDType dtype;
  int ndim;
  int64_t shape[SC_MAX_DIMS];
  const void *data;
  gpointer destroy_data;
  GDestroyNotify destroy;
  char *problem; /* an invalid argument to add, reported by save */
  guint64 nbytes, offset;
} WriterEntry;

struct ScSafetensorsWriter {
  GPtrArray *entries;    /* WriterEntry* in the order added */
  GPtrArray *meta_keys;  /* char* */
  GPtrArray *meta_values;
};

static void
writer_entry_free (gpointer p)
{
  WriterEntry *e = p;
  if (e->destroy && e->destroy_data)
    e->destroy (e->destroy_data);
  g_free (e->name);
  g_free (e->problem);
  g_free (e);
}

ScSafetensorsWriter *
sc_safetensors_writer_new (void)
{
  ScSafetensorsWriter *w = g_new0 (ScSafetensorsWriter, 1);
  w->entries = g_ptr_array_new_with_free_func (writer_entry_free);
  w->meta_keys = g_ptr_array_new_with_free_func (g_free);
  w->meta_values = g_ptr_array_new_with_free_func (g_free);
  return w;
}

void
sc_safetensors_writer_free (ScSafetensorsWriter *w)
{
  if (!w)
    return;
  g_ptr_array_free (w->entries, TRUE);
  g_ptr_array_free (w->meta_keys, TRUE);
  g_ptr_array_free (w->meta_values, TRUE);
  g_free (w);
}

static WriterEntry *
writer_entry_new (ScSafetensorsWriter *w, const char *name, ScDType dtype, int ndim, const int64_t *shape)
{
  WriterEntry *e = g_new0 (WriterEntry, 1);
  e->name = g_strdup (name);
  e->dtype = dtype;
  e->ndim = ndim;
  if ((unsigned) dtype >= SC_DTYPE_COUNT_)
    e->problem = g_strdup_printf ("invalid dtype %d", (int) dtype);
  else if (ndim < 0 || ndim > SC_MAX_DIMS)
    e->problem = g_strdup_printf ("%d dimensions (at most %d are supported)", ndim, SC_MAX_DIMS);
  else if (ndim > 0 && shape == NULL)
    e->problem = g_strdup ("no shape given");
  else if (ndim > 0)
    memcpy (e->shape, shape, (size_t) ndim * sizeof (int64_t));
  if (!e->problem)
    {
      guint64 numel;
      const char *why;
      if (!shape_size (e->ndim, e->shape, e->dtype, &numel, &e->nbytes, &why))
        {
          char *s = format_shape (e->ndim, e->shape);
          e->problem = g_strdup_printf ("shape %s %s", s, why);
          g_free (s);
        }
    }
  g_ptr_array_add (w->entries, e);
  return e;
}

void
sc_safetensors_writer_add (ScSafetensorsWriter *w, const char *name, ScDType dtype, int ndim,
                           const int64_t *shape, const void *data, GDestroyNotify destroy)
{
  g_return_if_fail (w != NULL && name != NULL);
  WriterEntry *e = writer_entry_new (w, name, dtype, ndim, shape);
  e->data = data;
  e->destroy_data = (gpointer) data;
  e->destroy = destroy;
  if (!e->problem && e->nbytes > 0 && data == NULL)
    e->problem = g_strdup ("no data given");
}

void
sc_safetensors_writer_add_f32 (ScSafetensorsWriter *w, const char *name, ScDType dtype, int ndim,
                               const int64_t *shape, const float *data)
{
  g_return_if_fail (w != NULL && name != NULL);
  WriterEntry *e = writer_entry_new (w, name, dtype, ndim, shape);
  if (e->problem)
    return;
  if (dtype != SC_DTYPE_F32 && dtype != SC_DTYPE_F16 && dtype != SC_DTYPE_BF16)
    {
      e->problem = g_strdup_printf ("f32 data can be stored as F32, F16 or BF16, not %s", sc_dtype_name (dtype));
      return;
    }
  if (e->nbytes == 0)
    return;
  if (data == NULL)
    {
      e->problem = g_strdup ("no data given");
      return;
    }
  void *copy = g_try_malloc ((gsize) e->nbytes);
  if (!copy)
    {
      e->problem = g_strdup_printf ("out of memory converting %" PRIu64 " bytes", e->nbytes);
      return;
    }
  sc_convert_from_f32 (dtype, data, copy, (size_t) (e->nbytes / sc_dtype_size (dtype)));
  e->data = copy;
  e->destroy_data = copy;
  e->destroy = g_free;
}

void
sc_safetensors_writer_set_metadata (ScSafetensorsWriter *w, const char *key, const char *value)
{
  g_return_if_fail (w != NULL && key != NULL && value != NULL);
  for (guint i = 0; i < w->meta_keys->len; i++)
    if (strcmp (w->meta_keys->pdata[i], key) == 0)
      {
        g_free (w->meta_values->pdata[i]);
        w->meta_values->pdata[i] = g_strdup (value);
        return;
      }
  g_ptr_array_add (w->meta_keys, g_strdup (key));
  g_ptr_array_add (w->meta_values, g_strdup (value));
}

static void
append_json_string (GString *s, const char *str)
{
  g_string_append_c (s, '"');
  for (const unsigned char *p = (const unsigned char *) str; *p; p++)
    switch (*p)
      {
      case '"': g_string_append (s, "\\\""); break;
      case '\\': g_string_append (s, "\\\\"); break;
      case '\b': g_string_append (s, "\\b"); break;
      case '\f': g_string_append (s, "\\f"); break;
      case '\n': g_string_append (s, "\\n"); break;
      case '\r': g_string_append (s, "\\r"); break;
      case '\t': g_string_append (s, "\\t"); break;
      default:
        if (*p < 0x20)
          g_string_append_printf (s, "\\u%04x", *p);
        else
          g_string_append_c (s, (char) *p);
      }
  g_string_append_c (s, '"');
}

static int
writer_order (const void *a, const void *b)
{
  const WriterEntry *x = *(WriterEntry *const *) a, *y = *(WriterEntry *const *) b;
  size_t sx = sc_dtype_size (x->dtype), sy = sc_dtype_size (y->dtype);
  if (sx != sy)
    return sx > sy ? -1 : 1;
  return strcmp (x->name, y->name);
}

static gboolean
writer_validate (ScSafetensorsWriter *w, GError **error)
{
  for (guint i = 0; i < w->entries->len; i++)
    {
      WriterEntry *e = w->entries->pdata[i];
      if (!g_utf8_validate (e->name, -1, NULL))
        return fail (error, SC_ERROR_INVALID_ARGUMENT, "Cannot save a tensor whose name is not valid UTF-8");
      if (e->problem)
        return fail (error, SC_ERROR_INVALID_ARGUMENT, "Cannot save tensor “%s”: %s", e->name, e->problem);
      if (strcmp (e->name, "__metadata__") == 0)
        return fail (error, SC_ERROR_INVALID_ARGUMENT, "Cannot save a tensor named “__metadata__”");
    }
  for (guint i = 0; i < w->meta_keys->len; i++)
    if (!g_utf8_validate (w->meta_keys->pdata[i], -1, NULL) || !g_utf8_validate (w->meta_values->pdata[i], -1, NULL))
      return fail (error, SC_ERROR_INVALID_ARGUMENT, "Cannot save metadata that is not valid UTF-8");
  return TRUE;
}

gboolean
sc_safetensors_writer_save (ScSafetensorsWriter *w, const char *path, GError **error)
{
  g_return_val_if_fail (w != NULL && path != NULL, FALSE);
  if (!writer_validate (w, error))
    return FALSE;

  guint n = w->entries->len;
  WriterEntry **order = g_new (WriterEntry *, n ? n : 1);
  if (n)
    memcpy (order, w->entries->pdata, n * sizeof (WriterEntry *));
  qsort (order, n, sizeof (WriterEntry *), writer_order);
  for (guint i = 0; i + 1 < n; i++)
    if (strcmp (order[i]->name, order[i + 1]->name) == 0)
      {
        fail (error, SC_ERROR_INVALID_ARGUMENT, "Cannot save tensor “%s”: it was added twice", order[i]->name);
        g_free (order);
        return FALSE;
      }

  GString *h = g_string_new ("{");
  if (w->meta_keys->len > 0)
    {
      g_string_append (h, "\"__metadata__\":{");
      for (guint i = 0; i < w->meta_keys->len; i++)
        {
          if (i)
            g_string_append_c (h, ',');
          append_json_string (h, w->meta_keys->pdata[i]);
          g_string_append_c (h, ':');
          append_json_string (h, w->meta_values->pdata[i]);
        }
      g_string_append_c (h, '}');
    }
  guint64 offset = 0;
  for (guint i = 0; i < n; i++)
    {
      WriterEntry *e = order[i];
      if (h->len > 1)
        g_string_append_c (h, ',');
      append_json_string (h, e->name);
      g_string_append_printf (h, ":{\"dtype\":\"%s\",\"shape\":[", sc_dtype_name (e->dtype));
      for (int d = 0; d < e->ndim; d++)
        g_string_append_printf (h, d ? ",%" PRId64 : "%" PRId64, e->shape[d]);
      e->offset = offset;
      offset += e->nbytes;
      g_string_append_printf (h, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", e->offset, offset);
    }
  g_string_append_c (h, '}');
  while (h->len % 8 != 0) /* 8 + len is then a multiple of 8: the data starts aligned */
    g_string_append_c (h, ' ');

  gboolean ok = FALSE;
  if (h->len > ST_MAX_HEADER)
    {
      fail (error, SC_ERROR_INVALID_ARGUMENT, "Cannot save: the header would take %zu bytes, more than the %" PRIu64
            "-byte limit of the format", h->len, ST_MAX_HEADER);
      goto out;
    }
  ScAtomicFile *f = sc_atomic_file_begin (path, error);
  if (!f)
    goto out;
  FILE *fp = sc_atomic_file_stream (f);
  guint64 len_le = GUINT64_TO_LE ((guint64) h->len);
  errno = 0;
  gboolean written = fwrite (&len_le, 8, 1, fp) == 1 && fwrite (h->str, 1, h->len, fp) == h->len;
  for (guint i = 0; i < n && written; i++)
    if (order[i]->nbytes > 0)
      written = fwrite (order[i]->data, 1, (size_t) order[i]->nbytes, fp) == order[i]->nbytes;
  if (!written)
    {
      int err = errno ? errno : EIO;
      sc_atomic_file_abort (f);
      char *display = g_filename_display_name (path);
      fail (error, SC_ERROR_IO, "Could not write “%s”: %s", display, g_strerror (err));
      g_free (display);
      goto out;
    }
  ok = sc_atomic_file_commit (f, error);
out:
  g_string_free (h, TRUE);
  g_free (order);
  return ok;
}
