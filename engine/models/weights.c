#include "models/weights.h"
#include "core/error.h"
#include "io/torch_file.h"

#include <math.h>
#include <string.h>

/* One tensor as a file stores it, possibly one slice ("NAME#k") of a canonical tensor that the file
 * splits in parts along dim 0 (diffusers' q/k/v of OpenCLIP's packed in_proj). */
typedef struct {
  ScSafetensors *st;   /* NULL for a torch file */
  const char *path;    /* owned by the file */
  const ScStEntry *entry;
} IndexEntry;

struct ScWeightSource {
  gboolean is_random;
  uint64_t seed;
  gboolean keep_data;
  GPtrArray *records;      /* ScWeightRecord*, request order */
  GHashTable *requested;   /* name → TRUE: every tensor is requested once */
  GPtrArray *files;        /* ScSafetensors* */
  GPtrArray *torch_files;  /* ScTorchFile* */
  GHashTable *index;       /* canonical name (or "name#k") → IndexEntry* */
};

static void
record_free (gpointer p)
{
  ScWeightRecord *r = p;
  g_free (r->name);
  sc_free_floats (r->data);
  g_free (r);
}

static ScWeightSource *
source_new (void)
{
  ScWeightSource *src = g_new0 (ScWeightSource, 1);
  src->records = g_ptr_array_new_with_free_func (record_free);
  src->requested = g_hash_table_new (g_str_hash, g_str_equal);
  src->files = g_ptr_array_new_with_free_func ((GDestroyNotify) sc_safetensors_close);
  src->torch_files = g_ptr_array_new_with_free_func ((GDestroyNotify) sc_torch_file_close);
  src->index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return src;
}

ScWeightSource *
sc_weight_source_new_files (void)
{
  return source_new ();
}

ScWeightSource *
sc_weight_source_new_random (uint64_t seed)
{
  ScWeightSource *src = source_new ();
  src->is_random = TRUE;
  src->seed = seed;
  return src;
}

void
sc_weight_source_free (ScWeightSource *src)
{
  if (!src)
    return;
  g_hash_table_destroy (src->requested);
  g_ptr_array_unref (src->records);
  g_hash_table_destroy (src->index);
  g_ptr_array_unref (src->files);
  g_ptr_array_unref (src->torch_files);
  g_free (src);
}

void
sc_weight_source_set_keep_data (ScWeightSource *src, gboolean keep_data)
{
  src->keep_data = keep_data;
}

const GPtrArray *
sc_weight_source_records (ScWeightSource *src)
{
  return src->records;
}

static void
index_entry (ScWeightSource *src, ScSafetensors *st, const char *path, const ScStEntry *e, ScNameMapFunc map,
             gpointer map_data, const char *prefix)
{
  char *mapped = map ? map (e->name, map_data) : g_strdup (e->name);
  if (!mapped)
    return;
  char *canonical = prefix ? g_strconcat (prefix, mapped, NULL) : g_strdup (mapped);
  g_free (mapped);
  if (g_hash_table_contains (src->index, canonical))
    {
      g_free (canonical);
      return;
    }
  IndexEntry *ie = g_new (IndexEntry, 1);
  ie->st = st;
  ie->path = path;
  ie->entry = e;
  g_hash_table_insert (src->index, canonical, ie);
}

gboolean
sc_weight_source_add_file (ScWeightSource *src, const char *path, ScNameMapFunc map, gpointer map_data,
                           const char *prefix, GError **error)
{
  g_return_val_if_fail (!src->is_random, FALSE);
  ScSafetensors *st = sc_safetensors_open (path, error);
  if (!st)
    return FALSE;
  g_ptr_array_add (src->files, st);
  size_t n = sc_safetensors_count (st);
  for (size_t i = 0; i < n; i++)
    index_entry (src, st, sc_safetensors_path (st), sc_safetensors_get (st, i), map, map_data, prefix);
  return TRUE;
}

gboolean
sc_weight_source_add_torch_file (ScWeightSource *src, const char *path, ScNameMapFunc map, gpointer map_data,
                                 const char *prefix, GError **error)
{
  g_return_val_if_fail (!src->is_random, FALSE);
  ScTorchFile *tf = sc_torch_file_open (path, error);
  if (!tf)
    return FALSE;
  g_ptr_array_add (src->torch_files, tf);
  sc_torch_file_unwrap (tf, "state_dict");
  size_t n = sc_torch_file_count (tf);
  for (size_t i = 0; i < n; i++)
    index_entry (src, NULL, sc_torch_file_path (tf), sc_torch_file_get (tf, i), map, map_data, prefix);
  return TRUE;
}

/* g_ptr_array_sort hands the comparator pointers to the elements, not the strings. */
static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

GPtrArray *
sc_weight_source_names (ScWeightSource *src)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, src->index);
  while (g_hash_table_iter_next (&it, &key, NULL))
    g_ptr_array_add (names, g_strdup (key));
  g_ptr_array_sort (names, compare_names);
  return names;
}

/* ---- shapes --------------------------------------------------------------------------------- */

/* Shapes match when equal after dropping trailing 1s: a 1×1 conv [C, C, 1, 1] and a linear [C, C] are
 * the same parameter (diffusers squeezes the VAE attention convs). */
static int
effective_ndim (int ndim, const int64_t *shape)
{
  while (ndim > 1 && shape[ndim - 1] == 1)
    ndim--;
  return ndim;
}

static gboolean
shapes_compatible (int a_ndim, const int64_t *a, int b_ndim, const int64_t *b)
{
  int na = effective_ndim (a_ndim, a), nb = effective_ndim (b_ndim, b);
  if (na != nb)
    return FALSE;
  for (int i = 0; i < na; i++)
    if (a[i] != b[i])
      return FALSE;
  return TRUE;
}

static int64_t
shape_numel (int ndim, const int64_t *shape)
{
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= shape[i];
  return n;
}

/* Collects NAME#0, NAME#1, … if present. Returns the number of parts. */
static int
find_parts (ScWeightSource *src, const char *name, IndexEntry **parts, int max_parts)
{
  int n = 0;
  for (; n < max_parts; n++)
    {
      g_autofree char *part = g_strdup_printf ("%s#%d", name, n);
      IndexEntry *ie = g_hash_table_lookup (src->index, part);
      if (!ie)
        break;
      parts[n] = ie;
    }
  return n;
}

gboolean
sc_weight_source_has (ScWeightSource *src, const char *name)
{
  if (src->is_random)
    return TRUE;
  IndexEntry *parts[8];
  return g_hash_table_contains (src->index, name) || find_parts (src, name, parts, 8) > 0;
}

gboolean
sc_weight_source_shape (ScWeightSource *src, const char *name, int *ndim, int64_t shape[SC_MAX_DIMS])
{
  if (src->is_random)
    return FALSE;
  IndexEntry *ie = g_hash_table_lookup (src->index, name);
  if (ie)
    {
      *ndim = ie->entry->ndim;
      memcpy (shape, ie->entry->shape, sizeof (int64_t) * SC_MAX_DIMS);
      return TRUE;
    }
  IndexEntry *parts[8];
  int n = find_parts (src, name, parts, 8);
  if (n == 0)
    return FALSE;
  *ndim = parts[0]->entry->ndim;
  memcpy (shape, parts[0]->entry->shape, sizeof (int64_t) * SC_MAX_DIMS);
  for (int i = 1; i < n; i++)
    shape[0] += parts[i]->entry->shape[0];
  return TRUE;
}

gboolean
sc_weight_source_dtype (ScWeightSource *src, const char *name, ScDType *dtype)
{
  IndexEntry *ie = g_hash_table_lookup (src->index, name);
  if (!ie)
    {
      IndexEntry *parts[8];
      if (find_parts (src, name, parts, 8) == 0)
        return FALSE;
      ie = parts[0];
    }
  *dtype = ie->entry->dtype;
  return TRUE;
}

/* ---- random values ------------------------------------------------------------------------------ */

static uint64_t
splitmix64 (uint64_t *state)
{
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t
fnv1a64 (const char *s)
{
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++)
    h = (h ^ (uint8_t) *s) * 0x100000001b3ull;
  return h;
}

/* Values depend only on (seed, name), never on request order. */
static void
fill_random (uint64_t seed, const char *name, ScInitKind init, int ndim, const int64_t *shape, float *out)
{
  int64_t n = shape_numel (ndim, shape);
  uint64_t state = seed * 0x2545f4914f6cdd1dull ^ fnv1a64 (name);
  double mean = 0.0, std;
  switch (init)
    {
    case SC_INIT_WEIGHT:
      {
        int64_t fan_in = (ndim > 0 && shape[0] > 0) ? n / shape[0] : 1;
        std = 1.0 / sqrt ((double) MAX (fan_in, 1));
        break;
      }
    case SC_INIT_BIAS:
      std = 0.02;
      break;
    case SC_INIT_NORM_GAMMA:
      mean = 1.0;
      std = 0.1;
      break;
    case SC_INIT_NORM_BETA:
      std = 0.1;
      break;
    case SC_INIT_EMBEDDING:
      std = 0.02;
      break;
    case SC_INIT_ZERO:
    default:
      memset (out, 0, sizeof (float) * (size_t) n);
      return;
    }
  for (int64_t i = 0; i < n; i += 2)
    {
      /* Box–Muller on two 53-bit uniforms in (0, 1]. */
      double u1 = ((double) (splitmix64 (&state) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
      double u2 = (double) (splitmix64 (&state) >> 11) * (1.0 / 9007199254740992.0);
      double r = sqrt (-2.0 * log (u1));
      out[i] = (float) (mean + std * r * cos (2.0 * G_PI * u2));
      if (i + 1 < n)
        out[i + 1] = (float) (mean + std * r * sin (2.0 * G_PI * u2));
    }
}

/* ---- get ------------------------------------------------------------------------------------------- */

static gboolean
load_from_files (ScWeightSource *src, const char *name, int ndim, const int64_t *shape, float *out,
                 GError **error)
{
  g_autofree char *want = sc_tensor_shape_string (ndim, shape);
  IndexEntry *ie = g_hash_table_lookup (src->index, name);
  if (ie)
    {
      const ScStEntry *e = ie->entry;
      if (!shapes_compatible (e->ndim, e->shape, ndim, shape))
        {
          g_autofree char *got = sc_tensor_shape_string (e->ndim, e->shape);
          g_set_error (error, SC_ERROR, SC_ERROR_SHAPE, "Tensor “%s” in %s has shape %s, expected %s", name,
                       ie->path, got, want);
          return FALSE;
        }
      if (!sc_st_entry_to_f32 (e, out, error))
        {
          g_prefix_error (error, "Tensor “%s”: ", name);
          return FALSE;
        }
      if (ie->st)
        sc_safetensors_release (ie->st, e);
      return TRUE;
    }

  IndexEntry *parts[8];
  int n_parts = find_parts (src, name, parts, 8);
  if (n_parts == 0)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_MISSING_TENSOR, "Missing tensor “%s” (shape %s)", name, want);
      return FALSE;
    }
  /* Concatenate the parts along dim 0; each must match the rest of the shape. */
  int64_t rows = 0, row_numel = shape_numel (ndim - 1, shape + 1);
  for (int i = 0; i < n_parts; i++)
    {
      const ScStEntry *e = parts[i]->entry;
      int64_t part_shape[SC_MAX_DIMS];
      memcpy (part_shape, shape, sizeof (int64_t) * (size_t) ndim);
      part_shape[0] = e->ndim > 0 ? e->shape[0] : 1;
      if (e->ndim != ndim || !shapes_compatible (e->ndim, e->shape, ndim, part_shape))
        {
          g_autofree char *got = sc_tensor_shape_string (e->ndim, e->shape);
          g_set_error (error, SC_ERROR, SC_ERROR_SHAPE, "Part %d of tensor “%s” has shape %s, expected %s in all",
                       i, name, got, want);
          return FALSE;
        }
      rows += e->shape[0];
    }
  if (rows != (ndim > 0 ? shape[0] : 1))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_SHAPE, "Parts of tensor “%s” add up to %" G_GINT64_FORMAT
                   " rows, expected %s", name, rows, want);
      return FALSE;
    }
  float *dst = out;
  for (int i = 0; i < n_parts; i++)
    {
      if (!sc_st_entry_to_f32 (parts[i]->entry, dst, error))
        return FALSE;
      if (parts[i]->st)
        sc_safetensors_release (parts[i]->st, parts[i]->entry);
      dst += parts[i]->entry->shape[0] * row_numel;
    }
  return TRUE;
}

float *
sc_weight_source_get (ScWeightSource *src, const char *name, int ndim, const int64_t *shape, ScInitKind init,
                      GError **error)
{
  g_return_val_if_fail (ndim >= 0 && ndim <= SC_MAX_DIMS, NULL);
  for (int i = 0; i < ndim; i++)
    if (shape[i] < 0)
      {
        g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "Invalid shape requested for “%s”", name);
        return NULL;
      }
  int64_t n = shape_numel (ndim, shape);
  float *out = sc_alloc_floats ((size_t) n, error);
  if (!out)
    return NULL;
  gboolean ok;
  if (src->is_random)
    {
      fill_random (src->seed, name, init, ndim, shape, out);
      ok = TRUE;
    }
  else
    ok = load_from_files (src, name, ndim, shape, out, error);
  if (!ok)
    {
      sc_free_floats (out);
      return NULL;
    }

  ScWeightRecord *r = g_new0 (ScWeightRecord, 1);
  r->name = g_strdup (name);
  r->ndim = ndim;
  memcpy (r->shape, shape, sizeof (int64_t) * (size_t) ndim);
  if (src->keep_data)
    {
      r->data = sc_alloc_floats ((size_t) n, NULL);
      if (r->data)
        memcpy (r->data, out, sizeof (float) * (size_t) n);
    }
  g_ptr_array_add (src->records, r);
  g_hash_table_add (src->requested, r->name);
  return out;
}
