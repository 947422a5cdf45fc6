/* safetensors reading and writing, the strict JSON parser under it, and atomic saves.
 * Hostile inputs must each end in a GError, never a crash; the committed fuzz corpus
 * (tests/fuzz/corpus/safetensors) runs through the parser here so every CI run exercises it. */
#include "core/dtype.h"
#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json_lite.h"
#include "io/safetensors.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------------- */
/* helpers */

static char *
make_tmp_dir (void)
{
  GError *error = NULL;
  char *dir = g_dir_make_tmp ("test-safetensors-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static void
remove_tree (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  if (d)
    {
      const char *name;
      while ((name = g_dir_read_name (d)))
        {
          char *p = g_build_filename (dir, name, NULL);
          g_unlink (p);
          g_free (p);
        }
      g_dir_close (d);
    }
  g_rmdir (dir);
}

static int
count_dir_entries (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  int n = 0;
  while (g_dir_read_name (d))
    n++;
  g_dir_close (d);
  return n;
}

/* u64 little-endian length + header bytes + data bytes, in an exactly-sized heap block so a sanitizer or
 * valgrind catches any read past the end. */
static GBytes *
build_raw (guint64 header_len, const char *header, size_t header_bytes, const void *data, size_t data_len)
{
  size_t total = 8 + header_bytes + data_len;
  guint8 *buf = g_malloc (total ? total : 1);
  guint64 le = GUINT64_TO_LE (header_len);
  memcpy (buf, &le, 8);
  if (header_bytes)
    memcpy (buf + 8, header, header_bytes);
  if (data_len)
    {
      if (data)
        memcpy (buf + 8 + header_bytes, data, data_len);
      else
        memset (buf + 8 + header_bytes, 0x11, data_len);
    }
  return g_bytes_new_take (buf, total);
}

static GBytes *
build (const char *header, size_t data_len)
{
  return build_raw (strlen (header), header, strlen (header), NULL, data_len);
}

static ScSafetensors *
open_bytes (GBytes *b, GError **error)
{
  gsize len;
  const void *data = g_bytes_get_data (b, &len);
  return sc_safetensors_open_memory (data ? data : "", len, error);
}

static void
expect_reject (GBytes *b, int code, const char *fragment)
{
  GError *error = NULL;
  ScSafetensors *st = open_bytes (b, &error);
  if (st != NULL)
    g_error ("accepted a file that should fail with “%s”", fragment);
  g_assert_error (error, SC_ERROR, code);
  if (fragment && !strstr (error->message, fragment))
    g_error ("message “%s” does not mention “%s”", error->message, fragment);
  g_test_message ("rejected as expected: %s", error->message);
  g_error_free (error);
  g_bytes_unref (b);
}

static ScSafetensors *
expect_accept (GBytes *b)
{
  GError *error = NULL;
  ScSafetensors *st = open_bytes (b, &error);
  g_assert_no_error (error);
  g_assert_nonnull (st);
  g_test_queue_destroy ((GDestroyNotify) g_bytes_unref, b); /* st points into b until it is closed */
  return st;
}

static void
assert_shape (const ScStEntry *e, int ndim, const int64_t *shape)
{
  g_assert_cmpint (e->ndim, ==, ndim);
  for (int i = 0; i < ndim; i++)
    g_assert_cmpint (e->shape[i], ==, shape[i]);
}

static void
assert_f32_values (const ScStEntry *e, const float *expected, size_t n)
{
  GError *error = NULL;
  g_assert_cmpint (e->numel, ==, (int64_t) n);
  float *got = g_new0 (float, n + 1);
  g_assert_true (sc_st_entry_to_f32 (e, got, &error));
  g_assert_no_error (error);
  for (size_t i = 0; i < n; i++)
    g_assert_cmpfloat (got[i], ==, expected[i]);
  g_free (got);
}

/* ---------------------------------------------------------------------------------------------- */
/* write -> read */

static const char *const weird_name = "unet.ünïcode \"quoted\" back\\slash\nnew line \x01 ✓ 😀";

static void
add_roundtrip_tensors (ScSafetensorsWriter *w, int64_t **i64_out)
{
  static const float f32[6] = { 0.0f, -1.5f, 2.25f, 1e-20f, -3e30f, 0.125f };
  static const float halfable[3] = { 1.0f, -2.0f, 65504.0f };
  static const float bf[4] = { 1.0f, -1.0f, 3.140625f, -0.0f };
  const int64_t s23[2] = { 2, 3 }, s3[1] = { 3 }, s22[2] = { 2, 2 }, s15[2] = { 1, 5 }, s04[2] = { 0, 4 },
                s30[2] = { 3, 0 }, s1[1] = { 1 };
  sc_safetensors_writer_add_f32 (w, "b.f32", SC_DTYPE_F32, 2, s23, f32);
  sc_safetensors_writer_add_f32 (w, "a.f16", SC_DTYPE_F16, 1, s3, halfable);
  sc_safetensors_writer_add_f32 (w, "c.bf16", SC_DTYPE_BF16, 2, s22, bf);
  int64_t *ids = g_new (int64_t, 5);
  for (int i = 0; i < 5; i++)
    ids[i] = (int64_t) i * 1000000000000LL - 7;
  sc_safetensors_writer_add (w, "position_ids", SC_DTYPE_I64, 2, s15, ids, g_free);
  static const float scalar = 7.25f;
  sc_safetensors_writer_add (w, "scalar", SC_DTYPE_F32, 0, NULL, &scalar, NULL);
  sc_safetensors_writer_add (w, "empty", SC_DTYPE_F32, 2, s04, NULL, NULL);
  sc_safetensors_writer_add (w, "empty.i64", SC_DTYPE_I64, 2, s30, NULL, NULL);
  static const float one = 42.0f;
  sc_safetensors_writer_add (w, weird_name, SC_DTYPE_F32, 1, s1, &one, NULL);
  static const guint8 flags[3] = { 1, 0, 1 };
  sc_safetensors_writer_add (w, "mask", SC_DTYPE_BOOL, 1, s3, flags, NULL);
  sc_safetensors_writer_set_metadata (w, "format", "pt");
  sc_safetensors_writer_set_metadata (w, "note", "ünï \"quoted\" \\ ✓\t\x1f");
  sc_safetensors_writer_set_metadata (w, "format", "pt2"); /* replaces, keeps its place */
  *i64_out = ids;
}

static void
check_roundtrip (ScSafetensors *st, const int64_t *ids)
{
  GError *error = NULL;
  g_assert_cmpuint (sc_safetensors_count (st), ==, 9);

  const ScStEntry *e = sc_safetensors_find (st, "b.f32");
  g_assert_nonnull (e);
  g_assert_cmpint (e->dtype, ==, SC_DTYPE_F32);
  assert_shape (e, 2, (int64_t[]) { 2, 3 });
  assert_f32_values (e, (float[]) { 0.0f, -1.5f, 2.25f, 1e-20f, -3e30f, 0.125f }, 6);

  e = sc_safetensors_find (st, "a.f16");
  g_assert_cmpint (e->dtype, ==, SC_DTYPE_F16);
  g_assert_cmpuint (e->nbytes, ==, 6);
  assert_f32_values (e, (float[]) { 1.0f, -2.0f, 65504.0f }, 3);

  e = sc_safetensors_find (st, "c.bf16");
  g_assert_cmpint (e->dtype, ==, SC_DTYPE_BF16);
  assert_f32_values (e, (float[]) { 1.0f, -1.0f, 3.140625f, -0.0f }, 4);

  e = sc_safetensors_find (st, "position_ids");
  g_assert_cmpint (e->dtype, ==, SC_DTYPE_I64);
  assert_shape (e, 2, (int64_t[]) { 1, 5 });
  g_assert_cmpuint (e->nbytes, ==, 40);
  for (int i = 0; i < 5; i++)
    {
      int64_t v;
      memcpy (&v, (const char *) e->data + 8 * i, 8);
      g_assert_cmpint (v, ==, ids[i]);
    }

  e = sc_safetensors_find (st, "scalar");
  g_assert_cmpint (e->ndim, ==, 0);
  g_assert_cmpint (e->numel, ==, 1);
  assert_f32_values (e, (float[]) { 7.25f }, 1);

  e = sc_safetensors_find (st, "empty");
  assert_shape (e, 2, (int64_t[]) { 0, 4 });
  g_assert_cmpint (e->numel, ==, 0);
  g_assert_cmpuint (e->nbytes, ==, 0);
  g_assert_true (sc_st_entry_to_f32 (e, NULL, &error));
  g_assert_no_error (error);
  e = sc_safetensors_find (st, "empty.i64");
  g_assert_cmpint (e->dtype, ==, SC_DTYPE_I64);
  g_assert_cmpint (e->numel, ==, 0);

  e = sc_safetensors_find (st, weird_name);
  g_assert_nonnull (e);
  assert_f32_values (e, (float[]) { 42.0f }, 1);

  e = sc_safetensors_find (st, "mask");
  g_assert_cmpint (e->dtype, ==, SC_DTYPE_BOOL);
  g_assert_cmpmem (e->data, 3, "\1\0\1", 3);
  float dummy[3];
  g_assert_false (sc_st_entry_to_f32 (e, dummy, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_DTYPE);
  g_clear_error (&error);

  g_assert_null (sc_safetensors_find (st, "missing"));
  g_assert_null (sc_safetensors_find (st, "__metadata__"));

  g_assert_cmpstr (sc_safetensors_metadata (st, "format"), ==, "pt2");
  g_assert_cmpstr (sc_safetensors_metadata (st, "note"), ==, "ünï \"quoted\" \\ ✓\t\x1f");
  g_assert_null (sc_safetensors_metadata (st, "absent"));
  const char *const *keys = sc_safetensors_metadata_keys (st);
  g_assert_cmpstr (keys[0], ==, "format");
  g_assert_cmpstr (keys[1], ==, "note");
  g_assert_null (keys[2]);

  /* Entries come in header order, which for our writer is: element size descending, then name. Their data
   * follow each other without gaps. */
  const char *expected_order[] = { "empty.i64", "position_ids", "b.f32", "empty", "scalar", weird_name,
                                   "a.f16", "c.bf16", "mask" };
  const char *prev_end = NULL;
  for (size_t i = 0; i < sc_safetensors_count (st); i++)
    {
      const ScStEntry *g = sc_safetensors_get (st, i);
      g_assert_cmpstr (g->name, ==, expected_order[i]);
      g_assert_true (sc_safetensors_find (st, g->name) == g);
      if (prev_end)
        g_assert_true ((const char *) g->data == prev_end);
      prev_end = (const char *) g->data + g->nbytes;
    }
}

static void
test_roundtrip (void)
{
  GError *error = NULL;
  char *dir = make_tmp_dir ();
  char *path = g_build_filename (dir, "model.safetensors", NULL);

  ScSafetensorsWriter *w = sc_safetensors_writer_new ();
  int64_t *ids;
  add_roundtrip_tensors (w, &ids);
  g_assert_true (sc_safetensors_writer_save (w, path, &error));
  g_assert_no_error (error);
  g_assert_cmpint (count_dir_entries (dir), ==, 1); /* no temporary file left behind */

  /* through the file (mmap) */
  ScSafetensors *st = sc_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sc_safetensors_path (st), ==, path);
  check_roundtrip (st, ids);
  /* data start is 8-byte aligned, and so is every tensor for its element size */
  for (size_t i = 0; i < sc_safetensors_count (st); i++)
    {
      const ScStEntry *e = sc_safetensors_get (st, i);
      g_assert_cmpuint ((uintptr_t) e->data % sc_dtype_size (e->dtype), ==, 0);
    }
  sc_safetensors_close (st);

  /* through memory */
  char *contents;
  gsize len;
  g_assert_true (g_file_get_contents (path, &contents, &len, &error));
  guint64 n;
  memcpy (&n, contents, 8);
  n = GUINT64_FROM_LE (n);
  g_assert_cmpuint ((8 + n) % 8, ==, 0);
  g_assert_cmpint (contents[8], ==, '{');
  st = sc_safetensors_open_memory (contents, len, &error);
  g_assert_no_error (error);
  g_assert_null (sc_safetensors_path (st));
  check_roundtrip (st, ids);
  sc_safetensors_close (st);
  g_free (contents);

  /* saving again over the file replaces it atomically */
  g_assert_true (sc_safetensors_writer_save (w, path, &error));
  g_assert_no_error (error);
  g_assert_cmpint (count_dir_entries (dir), ==, 1);
  sc_safetensors_writer_free (w);

  /* an empty file: no tensors, no metadata */
  w = sc_safetensors_writer_new ();
  g_assert_true (sc_safetensors_writer_save (w, path, &error));
  sc_safetensors_writer_free (w);
  st = sc_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sc_safetensors_count (st), ==, 0);
  g_assert_null (sc_safetensors_metadata_keys (st)[0]);
  sc_safetensors_close (st);

  remove_tree (dir);
  g_free (path);
  g_free (dir);
}

/* ---------------------------------------------------------------------------------------------- */
/* the reference writer's output */

static char *
fixture_path (const char *name)
{
  const char *dir = g_getenv ("SC_FIXTURES_DIR");
  if (!dir)
    return NULL;
  return g_build_filename (dir, name, NULL);
}

static void
test_python_fixture (void)
{
  GError *error = NULL;
  char *path = fixture_path ("safetensors-python.safetensors");
  if (!path)
    {
      g_test_skip ("SC_FIXTURES_DIR is not set (run through meson test)");
      return;
    }
  ScSafetensors *st = sc_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sc_safetensors_count (st), ==, 7);
  g_assert_cmpstr (sc_safetensors_metadata (st, "format"), ==, "pt");
  g_assert_cmpstr (sc_safetensors_metadata (st, "note"), ==, "ünï \"quoted\" \\ ✓");

  const ScStEntry *e = sc_safetensors_find (st, "model.f32");
  g_assert_cmpint (e->dtype, ==, SC_DTYPE_F32);
  assert_shape (e, 2, (int64_t[]) { 2, 3 });
  assert_f32_values (e, (float[]) { -1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f }, 6);
  e = sc_safetensors_find (st, "model.f16");
  g_assert_cmpint (e->dtype, ==, SC_DTYPE_F16);
  assert_f32_values (e, (float[]) { 1.0f, -2.0f, 0.5f, 65504.0f }, 4);
  e = sc_safetensors_find (st, "model.bf16");
  g_assert_cmpint (e->dtype, ==, SC_DTYPE_BF16);
  assert_f32_values (e, (float[]) { 1.0f, -1.0f, 3.140625f, 0.0f }, 4);
  e = sc_safetensors_find (st, "position_ids");
  g_assert_cmpint (e->dtype, ==, SC_DTYPE_I64);
  assert_shape (e, 2, (int64_t[]) { 1, 5 });
  assert_f32_values (e, (float[]) { 0, 1, 2, 3, 4 }, 5);
  e = sc_safetensors_find (st, "scalar");
  g_assert_cmpint (e->ndim, ==, 0);
  assert_f32_values (e, (float[]) { 7.25f }, 1);
  e = sc_safetensors_find (st, "empty");
  assert_shape (e, 2, (int64_t[]) { 0, 3 });
  g_assert_cmpuint (e->nbytes, ==, 0);
  e = sc_safetensors_find (st, "ünï \"cödé\" \\ ✓");
  g_assert_nonnull (e);
  assert_f32_values (e, (float[]) { 42.0f }, 1);
  sc_safetensors_close (st);

  /* Our writer follows the reference serializer (order, escaping, padding): the same tensors and metadata
   * give the same bytes. */
  char *dir = make_tmp_dir ();
  char *ours = g_build_filename (dir, "ours.safetensors", NULL);
  ScSafetensorsWriter *w = sc_safetensors_writer_new ();
  const float f32[6] = { -1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f };
  const float f16[4] = { 1.0f, -2.0f, 0.5f, 65504.0f };
  const float bf16[4] = { 1.0f, -1.0f, 3.140625f, 0.0f };
  const int64_t ids[5] = { 0, 1, 2, 3, 4 };
  const float scalar = 7.25f, answer = 42.0f;
  sc_safetensors_writer_add_f32 (w, "model.f32", SC_DTYPE_F32, 2, (int64_t[]) { 2, 3 }, f32);
  sc_safetensors_writer_add_f32 (w, "model.f16", SC_DTYPE_F16, 1, (int64_t[]) { 4 }, f16);
  sc_safetensors_writer_add_f32 (w, "model.bf16", SC_DTYPE_BF16, 2, (int64_t[]) { 2, 2 }, bf16);
  sc_safetensors_writer_add (w, "position_ids", SC_DTYPE_I64, 2, (int64_t[]) { 1, 5 }, ids, NULL);
  sc_safetensors_writer_add (w, "scalar", SC_DTYPE_F32, 0, NULL, &scalar, NULL);
  sc_safetensors_writer_add (w, "empty", SC_DTYPE_F32, 2, (int64_t[]) { 0, 3 }, NULL, NULL);
  sc_safetensors_writer_add (w, "ünï \"cödé\" \\ ✓", SC_DTYPE_F32, 1, (int64_t[]) { 1 }, &answer, NULL);
  sc_safetensors_writer_set_metadata (w, "format", "pt");
  sc_safetensors_writer_set_metadata (w, "note", "ünï \"quoted\" \\ ✓");
  g_assert_true (sc_safetensors_writer_save (w, ours, &error));
  g_assert_no_error (error);
  sc_safetensors_writer_free (w);
  char *a, *b;
  gsize alen, blen;
  g_assert_true (g_file_get_contents (path, &a, &alen, NULL));
  g_assert_true (g_file_get_contents (ours, &b, &blen, NULL));
  g_assert_cmpmem (a, alen, b, blen);
  g_free (a);
  g_free (b);
  remove_tree (dir);
  g_free (ours);
  g_free (dir);
  g_free (path);
}

/* ---------------------------------------------------------------------------------------------- */
/* hostile inputs */

static GBytes *
small_valid_file (void)
{
  GError *error = NULL;
  char *dir = make_tmp_dir ();
  char *path = g_build_filename (dir, "small.safetensors", NULL);
  ScSafetensorsWriter *w = sc_safetensors_writer_new ();
  const float v[3] = { 1, 2, 3 };
  sc_safetensors_writer_add_f32 (w, "w", SC_DTYPE_F16, 1, (int64_t[]) { 3 }, v);
  sc_safetensors_writer_add_f32 (w, "x", SC_DTYPE_F32, 1, (int64_t[]) { 2 }, v);
  sc_safetensors_writer_set_metadata (w, "k", "v");
  g_assert_true (sc_safetensors_writer_save (w, path, &error));
  g_assert_no_error (error);
  sc_safetensors_writer_free (w);
  char *contents;
  gsize len;
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  remove_tree (dir);
  g_free (path);
  g_free (dir);
  return g_bytes_new_take (contents, len);
}

static void
test_truncated_prefixes (void)
{
  GBytes *full = small_valid_file ();
  gsize len;
  const guint8 *data = g_bytes_get_data (full, &len);
  GError *error = NULL;
  ScSafetensors *st = sc_safetensors_open_memory (data, len, &error);
  g_assert_no_error (error);
  sc_safetensors_close (st);

  guint64 hlen;
  memcpy (&hlen, data, 8);
  hlen = GUINT64_FROM_LE (hlen);
  g_assert_cmpuint (8 + hlen, <, len);
  for (gsize n = 0; n < len; n++)
    {
      guint8 *copy = g_memdup2 (data, n ? n : 1); /* exactly n bytes: a read past the end is a sanitizer error */
      st = sc_safetensors_open_memory (copy, n, &error);
      g_assert_null (st);
      g_assert_error (error, SC_ERROR, SC_ERROR_FORMAT);
      if (n < 8)
        g_assert_nonnull (strstr (error->message, "too small"));
      else if (n < 8 + hlen)
        g_assert_nonnull (strstr (error->message, "File is truncated: header says"));
      else
        g_assert_nonnull (strstr (error->message, "outside the data buffer"));
      g_clear_error (&error);
      g_free (copy);
    }

  /* the same through real files (mmap path), including the empty file */
  char *dir = make_tmp_dir ();
  char *path = g_build_filename (dir, "cut.safetensors", NULL);
  gsize cuts[] = { 0, 3, 8, 9, 8 + hlen - 1, 8 + hlen, len - 1 };
  for (size_t i = 0; i < G_N_ELEMENTS (cuts); i++)
    {
      g_assert_true (g_file_set_contents (path, (const char *) data, (gssize) cuts[i], NULL));
      st = sc_safetensors_open (path, &error);
      g_assert_null (st);
      g_assert_error (error, SC_ERROR, SC_ERROR_FORMAT);
      g_assert_nonnull (strstr (error->message, "cut.safetensors"));
      g_clear_error (&error);
    }
  remove_tree (dir);
  g_free (path);
  g_free (dir);
  g_bytes_unref (full);
}

static void
test_open_errors (void)
{
  GError *error = NULL;
  char *dir = make_tmp_dir ();
  char *missing = g_build_filename (dir, "missing.safetensors", NULL);
  g_assert_null (sc_safetensors_open (missing, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_IO);
  g_clear_error (&error);
  g_assert_null (sc_safetensors_open (dir, &error)); /* a folder */
  g_assert_error (error, SC_ERROR, SC_ERROR_IO);
  g_clear_error (&error);
  remove_tree (dir);
  g_free (missing);
  g_free (dir);
}

#define ENTRY(dtype, shape, b, e) "{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

static void
test_hostile_header (void)
{
  /* header length larger than the file */
  expect_reject (build_raw (1000, "{}", 2, NULL, 0), SC_ERROR_FORMAT,
                 "File is truncated: header says 1000 bytes but only 2 bytes");
  /* header length huge */
  expect_reject (build_raw (G_GUINT64_CONSTANT (1) << 63, "{}", 2, NULL, 0), SC_ERROR_FORMAT, "larger than the limit");
  expect_reject (build_raw (G_MAXUINT64, "{}", 2, NULL, 0), SC_ERROR_FORMAT, "larger than the limit");
  expect_reject (build_raw (100000001, "{}", 2, NULL, 0), SC_ERROR_FORMAT, "larger than the limit");
  /* empty header, non-JSON, JSON that is not an object */
  expect_reject (build_raw (0, "", 0, NULL, 0), SC_ERROR_FORMAT, "not valid JSON");
  expect_reject (build ("{\"a\":", 0), SC_ERROR_FORMAT, "not valid JSON");
  expect_reject (build ("PK\x03\x04 not json", 0), SC_ERROR_FORMAT, "not valid JSON");
  expect_reject (build ("[1, 2]", 0), SC_ERROR_FORMAT, "not a JSON object");
  expect_reject (build ("\"string\"", 0), SC_ERROR_FORMAT, "not a JSON object");
  expect_reject (build ("42", 0), SC_ERROR_FORMAT, "not a JSON object");
  expect_reject (build ("null", 0), SC_ERROR_FORMAT, "not a JSON object");
  expect_reject (build (" {}", 0), SC_ERROR_FORMAT, "must start with");
  /* trailing garbage; padding other than whitespace */
  expect_reject (build ("{}x", 0), SC_ERROR_FORMAT, "end of the text");
  expect_reject (build ("{}{}", 0), SC_ERROR_FORMAT, "end of the text");
  expect_reject (build_raw (4, "{}\0\0", 4, NULL, 0), SC_ERROR_FORMAT, "byte 0x00");
  /* right-padding spaces are fine, as is an empty object */
  sc_safetensors_close (expect_accept (build ("{}      ", 0)));
  sc_safetensors_close (expect_accept (build ("{}", 0)));
}

static void
test_hostile_entries (void)
{
  /* dtype */
  expect_reject (build ("{\"a\":" ENTRY ("F99", "[1]", 0, 4) "}", 4), SC_ERROR_FORMAT, "Tensor “a” has unknown dtype “F99”");
  expect_reject (build ("{\"a\":" ENTRY ("f32", "[1]", 0, 4) "}", 4), SC_ERROR_FORMAT, "unknown dtype");
  expect_reject (build ("{\"a\":" ENTRY ("F8_E4M3", "[1]", 0, 1) "}", 1), SC_ERROR_UNSUPPORTED, "F8_E4M3");
  expect_reject (build ("{\"a\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4), SC_ERROR_FORMAT, "dtype");
  expect_reject (build ("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), SC_ERROR_FORMAT, "Tensor “a” has no dtype");
  /* shape */
  expect_reject (build ("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), SC_ERROR_FORMAT, "has no shape");
  expect_reject (build ("{\"a\":" ENTRY ("F32", "[-1]", 0, 4) "}", 4), SC_ERROR_FORMAT, "negative");
  expect_reject (build ("{\"a\":" ENTRY ("F32", "[2, -2]", 0, 16) "}", 16), SC_ERROR_FORMAT, "negative");
  expect_reject (build ("{\"a\":" ENTRY ("F32", "[4294967296,4294967296]", 0, 4) "}", 4), SC_ERROR_FORMAT,
                 "too many elements");
  expect_reject (build ("{\"a\":" ENTRY ("F32", "[9223372036854775807,2]", 0, 4) "}", 4), SC_ERROR_FORMAT,
                 "too many elements");
  expect_reject (build ("{\"a\":" ENTRY ("F64", "[2305843009213693952]", 0, 0) "}", 0), SC_ERROR_FORMAT,
                 "too many elements");
  expect_reject (build ("{\"a\":" ENTRY ("F32", "[99999999999999999999]", 0, 4) "}", 4), SC_ERROR_FORMAT,
                 "64 bits");
  expect_reject (build ("{\"a\":" ENTRY ("F32", "[1.0]", 0, 4) "}", 4), SC_ERROR_FORMAT, "only integers");
  expect_reject (build ("{\"a\":" ENTRY ("F32", "[1e2]", 0, 400) "}", 400), SC_ERROR_FORMAT, "only integers");
  expect_reject (build ("{\"a\":" ENTRY ("F32", "[\"1\"]", 0, 4) "}", 4), SC_ERROR_FORMAT, "a string where a dimension");
  expect_reject (build ("{\"a\":" ENTRY ("F32", "1", 0, 4) "}", 4), SC_ERROR_FORMAT, "shape is an integer");
  expect_reject (build ("{\"a\":" ENTRY ("F32", "[1,1,1,1,1,1,1]", 0, 4) "}", 4), SC_ERROR_UNSUPPORTED,
                 "7 dimensions");
  expect_reject (build ("{\"a\":" ENTRY ("F32", "[01]", 0, 4) "}", 4), SC_ERROR_FORMAT, "leading zeros");
  /* data_offsets */
  expect_reject (build ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), SC_ERROR_FORMAT, "has no data_offsets");
  expect_reject (build ("{\"a\":" ENTRY ("F32", "[1]", 0, 1000) "}", 8), SC_ERROR_FORMAT,
                 "Tensor “a” data_offsets [0, 1000] lie outside the data buffer (8 bytes)");
  expect_reject (build ("{\"a\":" ENTRY ("F32", "[1]", 18446744073709551615, 4) "}", 4), SC_ERROR_FORMAT, "64 bits");
  expect_reject (build ("{\"a\":" ENTRY ("F32", "[1]", 4, 0) "}", 4), SC_ERROR_FORMAT, "end before they begin");
  expect_reject (build ("{\"a\":" ENTRY ("F32", "[1]", -4, 0) "}", 4), SC_ERROR_FORMAT, "non-negative");
  expect_reject (build ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8), SC_ERROR_FORMAT,
                 "two non-negative integers");
  expect_reject (build ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4), SC_ERROR_FORMAT,
                 "two non-negative integers");
  expect_reject (build ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{}}}", 4), SC_ERROR_FORMAT,
                 "two non-negative integers");
  /* size mismatch */
  expect_reject (build ("{\"a\":" ENTRY ("F32", "[2]", 0, 4) "}", 4), SC_ERROR_FORMAT,
                 "Tensor “a” data_offsets [0, 4] hold 4 bytes, but shape [2] of F32 needs 8");
  expect_reject (build ("{\"a\":" ENTRY ("F16", "[]", 0, 4) "}", 4), SC_ERROR_FORMAT, "needs 2");
  /* overlap, holes, uncovered tail */
  expect_reject (build ("{\"a\":" ENTRY ("F32", "[2]", 0, 8) ",\"b\":" ENTRY ("F32", "[2]", 4, 12) "}", 12),
                 SC_ERROR_FORMAT, "Tensor “b” data_offsets [4, 12] overlap tensor “a” [0, 8]");
  expect_reject (build ("{\"a\":" ENTRY ("F32", "[2]", 0, 8) ",\"b\":" ENTRY ("F32", "[2]", 0, 8) "}", 8),
                 SC_ERROR_FORMAT, "overlap");
  expect_reject (build ("{\"a\":" ENTRY ("F32", "[2]", 0, 8) ",\"e\":" ENTRY ("F32", "[0]", 4, 4) "}", 8),
                 SC_ERROR_FORMAT, "overlap");
  expect_reject (build ("{\"a\":" ENTRY ("F32", "[1]", 0, 4) ",\"b\":" ENTRY ("F32", "[1]", 8, 12) "}", 12),
                 SC_ERROR_FORMAT, "Bytes 4 to 8 of the data buffer belong to no tensor (a hole before tensor “b”)");
  expect_reject (build ("{\"b\":" ENTRY ("F32", "[1]", 4, 8) "}", 8), SC_ERROR_FORMAT, "Bytes 0 to 4");
  expect_reject (build ("{\"a\":" ENTRY ("F32", "[1]", 0, 4) "}", 8), SC_ERROR_FORMAT, "cover only the first 4");
  expect_reject (build ("{}", 1), SC_ERROR_FORMAT, "cover only the first 0");
  /* entry and metadata types */
  expect_reject (build ("{\"a\":[1]}", 0), SC_ERROR_FORMAT, "Tensor “a” is an array");
  expect_reject (build ("{\"a\":\"x\"}", 0), SC_ERROR_FORMAT, "Tensor “a” is a string");
  expect_reject (build ("{\"__metadata__\":[\"x\"]}", 0), SC_ERROR_FORMAT, "“__metadata__” is an array");
  expect_reject (build ("{\"__metadata__\":{\"k\":1}}", 0), SC_ERROR_FORMAT, "Metadata value for “k” is an integer");
  expect_reject (build ("{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}", 0), SC_ERROR_FORMAT, "not a string");
  /* in order and with nothing wrong: out-of-order offsets, empty tensors at one offset, unknown fields, a null
   * metadata, unaligned data */
  ScSafetensors *st = expect_accept (build ("{\"__metadata__\":null,\"b\":" ENTRY ("F32", "[1]", 4, 8) ",\"a\":"
                                            ENTRY ("F32", "[1]", 0, 4) ",\"e1\":" ENTRY ("I64", "[0,5]", 4, 4)
                                            ",\"e2\":" ENTRY ("BOOL", "[3,0]", 4, 4) ",\"c\":{\"x\":[true,false,null],"
                                            "\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[8,10]}}",
                                            10));
  g_assert_cmpuint (sc_safetensors_count (st), ==, 5);
  g_assert_cmpstr (sc_safetensors_get (st, 0)->name, ==, "b"); /* header order */
  g_assert_cmpstr (sc_safetensors_get (st, 1)->name, ==, "a");
  g_assert_null (sc_safetensors_metadata_keys (st)[0]);
  sc_safetensors_close (st);
  const char *unaligned_header = "{\"a\":" ENTRY ("F32", "[2]", 0, 8) "} "; /* not padded to 8 */
  g_assert_cmpuint ((8 + strlen (unaligned_header)) % 4, !=, 0);
  const float values[2] = { 1.5f, -2.0f };
  st = expect_accept (build_raw (strlen (unaligned_header), unaligned_header, strlen (unaligned_header), values, 8));
  assert_f32_values (sc_safetensors_find (st, "a"), values, 2);
  sc_safetensors_close (st);
}

static void
test_hostile_json (void)
{
  /* duplicate keys: at the top level (small and large objects), inside an entry, inside metadata */
  expect_reject (build ("{\"a\":" ENTRY ("F32", "[1]", 0, 4) ",\"a\":" ENTRY ("F32", "[1]", 4, 8) "}", 8),
                 SC_ERROR_FORMAT, "duplicate key “a”");
  GString *big = g_string_new ("{");
  for (int i = 0; i < 100; i++)
    g_string_append_printf (big, "\"t%d\":" ENTRY ("F32", "[1]", 0, 0) ",", i);
  g_string_append (big, "\"t57\":" ENTRY ("F32", "[1]", 0, 0) "}");
  expect_reject (build (big->str, 0), SC_ERROR_FORMAT, "duplicate key “t57”");
  g_string_free (big, TRUE);
  expect_reject (build ("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                 SC_ERROR_FORMAT, "duplicate key “dtype”");
  expect_reject (build ("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0), SC_ERROR_FORMAT, "duplicate key");
  expect_reject (build ("{\"__metadata__\":{},\"__metadata__\":{}}", 0), SC_ERROR_FORMAT, "duplicate key");
  /* the same name spelled with and without escapes is still the same name */
  expect_reject (build ("{\"ab\":" ENTRY ("F32", "[0]", 0, 0) ",\"a\\u0062\":" ENTRY ("F32", "[0]", 0, 0) "}", 0),
                 SC_ERROR_FORMAT, "duplicate key");

  /* deep nesting, in every place it could hide */
  for (int depth = 17; depth <= 100000; depth *= 10)
    {
      GString *s = g_string_new ("{\"__metadata__\":");
      for (int i = 0; i < depth; i++)
        g_string_append_c (s, '[');
      for (int i = 0; i < depth; i++)
        g_string_append_c (s, ']');
      g_string_append_c (s, '}');
      expect_reject (build (s->str, 0), SC_ERROR_FORMAT, "nesting deeper than");
      g_string_truncate (s, 0);
      for (int i = 0; i < depth; i++)
        g_string_append (s, "{\"a\":");
      expect_reject (build (s->str, 0), SC_ERROR_FORMAT, "nesting deeper than");
      g_string_free (s, TRUE);
    }

  /* invalid UTF-8 in names and metadata */
  expect_reject (build ("{\"\xff\":" ENTRY ("F32", "[0]", 0, 0) "}", 0), SC_ERROR_FORMAT, "not valid UTF-8");
  expect_reject (build ("{\"a\xc0\xaf\":" ENTRY ("F32", "[0]", 0, 0) "}", 0), SC_ERROR_FORMAT, "not valid UTF-8");
  expect_reject (build ("{\"\xed\xa0\x80\":" ENTRY ("F32", "[0]", 0, 0) "}", 0), SC_ERROR_FORMAT, "not valid UTF-8");
  expect_reject (build ("{\"\xf4\x90\x80\x80\":" ENTRY ("F32", "[0]", 0, 0) "}", 0), SC_ERROR_FORMAT, "not valid UTF-8");
  expect_reject (build ("{\"caf\xc3\":" ENTRY ("F32", "[0]", 0, 0) "}", 0), SC_ERROR_FORMAT, "not valid UTF-8");
  expect_reject (build ("{\"__metadata__\":{\"k\":\"\xfe\"}}", 0), SC_ERROR_FORMAT, "not valid UTF-8");
  expect_reject (build ("{\"\\ud800\":" ENTRY ("F32", "[0]", 0, 0) "}", 0), SC_ERROR_FORMAT, "surrogate");
  expect_reject (build ("{\"\\udc00x\":" ENTRY ("F32", "[0]", 0, 0) "}", 0), SC_ERROR_FORMAT, "surrogate");
  expect_reject (build ("{\"\\ud800\\u0041\":" ENTRY ("F32", "[0]", 0, 0) "}", 0), SC_ERROR_FORMAT, "surrogate");
  expect_reject (build ("{\"a\\u0000b\":" ENTRY ("F32", "[0]", 0, 0) "}", 0), SC_ERROR_FORMAT, "NUL");
  expect_reject (build_raw (5, "{\"\0\"}", 5, NULL, 0), SC_ERROR_FORMAT, "control character");
  expect_reject (build ("{\"a\nb\":" ENTRY ("F32", "[0]", 0, 0) "}", 0), SC_ERROR_FORMAT, "control character");
  expect_reject (build ("{\"a\\x\":" ENTRY ("F32", "[0]", 0, 0) "}", 0), SC_ERROR_FORMAT, "invalid escape");
  expect_reject (build ("{\"a\\u12\":" ENTRY ("F32", "[0]", 0, 0) "}", 0), SC_ERROR_FORMAT, "hexadecimal");
  expect_reject (build ("{\"a\\", 0), SC_ERROR_FORMAT, "not terminated");
  expect_reject (build ("{\"a", 0), SC_ERROR_FORMAT, "not terminated");
  /* a surrogate pair decodes to one character */
  ScSafetensors *st = expect_accept (build ("{\"x\\ud83d\\ude00\\u00e9\\n\\/\":" ENTRY ("F32", "[0]", 0, 0) "}", 0));
  g_assert_nonnull (sc_safetensors_find (st, "x😀é\n/"));
  sc_safetensors_close (st);
}

static void
test_json_lite (void)
{
  GError *error = NULL;
  const char *text = " {\"a\": [0, -0, 9223372036854775807, -9223372036854775808, true, false, null],"
                     " \"s\": \"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u20AC\\uD834\\uDD1E\", \"o\": {}} \t\r\n";
  ScJsonDoc *doc = sc_json_parse (text, strlen (text), &error);
  g_assert_no_error (error);
  const ScJsonValue *root = sc_json_doc_root (doc);
  g_assert_cmpint (sc_json_type (root), ==, SC_JSON_OBJECT);
  g_assert_cmpuint (sc_json_size (root), ==, 3);
  g_assert_cmpstr (sc_json_object_key (root, 0), ==, "a");
  const ScJsonValue *a = sc_json_object_get (root, "a");
  g_assert_cmpuint (sc_json_size (a), ==, 7);
  g_assert_cmpint (sc_json_int (sc_json_array_get (a, 0)), ==, 0);
  g_assert_cmpint (sc_json_int (sc_json_array_get (a, 1)), ==, 0);
  g_assert_cmpint (sc_json_int (sc_json_array_get (a, 2)), ==, INT64_MAX);
  g_assert_cmpint (sc_json_int (sc_json_array_get (a, 3)), ==, INT64_MIN);
  g_assert_true (sc_json_bool (sc_json_array_get (a, 4)));
  g_assert_cmpint (sc_json_type (sc_json_array_get (a, 5)), ==, SC_JSON_BOOL);
  g_assert_false (sc_json_bool (sc_json_array_get (a, 5)));
  g_assert_cmpint (sc_json_type (sc_json_array_get (a, 6)), ==, SC_JSON_NULL);
  const ScJsonValue *s = sc_json_object_get (root, "s");
  g_assert_cmpstr (sc_json_string (s), ==, "\"\\/\b\f\n\r\t€𝄞");
  g_assert_cmpuint (sc_json_string_length (s), ==, strlen ("\"\\/\b\f\n\r\t€𝄞"));
  g_assert_cmpuint (sc_json_size (sc_json_object_get (root, "o")), ==, 0);
  g_assert_null (sc_json_object_get (root, "missing"));
  sc_json_doc_free (doc);

  /* exactly SC_JSON_MAX_DEPTH levels parse; one more does not */
  GString *deep = g_string_new (NULL);
  for (int i = 0; i < SC_JSON_MAX_DEPTH; i++)
    g_string_append_c (deep, '[');
  for (int i = 0; i < SC_JSON_MAX_DEPTH; i++)
    g_string_append_c (deep, ']');
  doc = sc_json_parse (deep->str, deep->len, &error);
  g_assert_no_error (error);
  sc_json_doc_free (doc);
  g_string_prepend_c (deep, '[');
  g_string_append_c (deep, ']');
  g_assert_null (sc_json_parse (deep->str, deep->len, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_FORMAT);
  g_clear_error (&error);
  g_string_free (deep, TRUE);

  const char *bad[] = {
    "", " ", "{", "}", "[", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{'a':1}", "[1 2]", "-", "--1",
    "01", "1.5", "1e5", "-1E5", "9223372036854775808", "-9223372036854775809", "tru", "nul", "True", "[NaN]",
    "\"\\u00\"", "\"\\uZZZZ\"", "\"abc", "[\"\\ud800\"]", "\"\\udfff\"", "1 2", "{}}", "\"\t\"", "+1", "0x10",
  };
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      doc = sc_json_parse (bad[i], strlen (bad[i]), &error);
      if (doc)
        g_error ("accepted bad JSON “%s”", bad[i]);
      g_assert_error (error, SC_ERROR, SC_ERROR_FORMAT);
      g_clear_error (&error);
    }
}

static void
test_release (void)
{
  GError *error = NULL;
  char *dir = make_tmp_dir ();
  char *path = g_build_filename (dir, "big.safetensors", NULL);
  size_t n = 5 * 4096 / 4 + 3; /* spans several pages, neither end aligned */
  float *v = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    v[i] = (float) i;
  ScSafetensorsWriter *w = sc_safetensors_writer_new ();
  sc_safetensors_writer_add (w, "a", SC_DTYPE_F32, 1, (int64_t[]) { 3 }, v, NULL);
  sc_safetensors_writer_add (w, "big", SC_DTYPE_F32, 1, (int64_t[]) { (int64_t) n }, v, NULL);
  sc_safetensors_writer_add (w, "c", SC_DTYPE_F32, 1, (int64_t[]) { 5 }, v + 7, NULL);
  g_assert_true (sc_safetensors_writer_save (w, path, &error));
  sc_safetensors_writer_free (w);

  ScSafetensors *st = sc_safetensors_open (path, &error);
  g_assert_no_error (error);
  const ScStEntry *big = sc_safetensors_find (st, "big");
  float *out = g_new (float, n);
  g_assert_true (sc_st_entry_to_f32 (big, out, &error));
  sc_safetensors_release (st, big);
  /* still readable after release, and the neighbours are untouched */
  g_assert_true (sc_st_entry_to_f32 (big, out, &error));
  for (size_t i = 0; i < n; i++)
    g_assert_cmpfloat (out[i], ==, (float) i);
  for (size_t i = 0; i < sc_safetensors_count (st); i++)
    sc_safetensors_release (st, sc_safetensors_get (st, i));
  assert_f32_values (sc_safetensors_find (st, "a"), (float[]) { 0, 1, 2 }, 3);
  assert_f32_values (sc_safetensors_find (st, "c"), (float[]) { 7, 8, 9, 10, 11 }, 5);
  sc_safetensors_close (st);

  /* memory buffers: a no-op */
  char *contents;
  gsize len;
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  st = sc_safetensors_open_memory (contents, len, &error);
  g_assert_no_error (error);
  big = sc_safetensors_find (st, "big");
  sc_safetensors_release (st, big);
  g_assert_true (sc_st_entry_to_f32 (big, out, &error));
  g_assert_cmpfloat (out[n - 1], ==, (float) (n - 1));
  sc_safetensors_close (st);
  g_free (contents);

  g_free (out);
  g_free (v);
  remove_tree (dir);
  g_free (path);
  g_free (dir);
}

static void
expect_save_error (ScSafetensorsWriter *w, const char *dir, int code, const char *fragment)
{
  GError *error = NULL;
  char *path = g_build_filename (dir, "bad.safetensors", NULL);
  g_assert_false (sc_safetensors_writer_save (w, path, &error));
  g_assert_error (error, SC_ERROR, code);
  if (fragment && !strstr (error->message, fragment))
    g_error ("message “%s” does not mention “%s”", error->message, fragment);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_clear_error (&error);
  sc_safetensors_writer_free (w);
  g_free (path);
}

static int destroyed;

static void
count_destroy (gpointer p)
{
  (*(int *) p)++;
}

static void
test_writer_errors (void)
{
  char *dir = make_tmp_dir ();
  const float v[4] = { 1, 2, 3, 4 };
  ScSafetensorsWriter *w;

  w = sc_safetensors_writer_new ();
  sc_safetensors_writer_add (w, "a", SC_DTYPE_F32, 1, (int64_t[]) { 2 }, v, NULL);
  sc_safetensors_writer_add (w, "a", SC_DTYPE_F32, 1, (int64_t[]) { 2 }, v, NULL);
  expect_save_error (w, dir, SC_ERROR_INVALID_ARGUMENT, "added twice");

  w = sc_safetensors_writer_new ();
  sc_safetensors_writer_add (w, "__metadata__", SC_DTYPE_F32, 1, (int64_t[]) { 2 }, v, NULL);
  expect_save_error (w, dir, SC_ERROR_INVALID_ARGUMENT, "__metadata__");

  w = sc_safetensors_writer_new ();
  sc_safetensors_writer_add (w, "neg", SC_DTYPE_F32, 2, (int64_t[]) { 2, -2 }, v, NULL);
  expect_save_error (w, dir, SC_ERROR_INVALID_ARGUMENT, "negative");

  w = sc_safetensors_writer_new ();
  sc_safetensors_writer_add (w, "huge", SC_DTYPE_F32, 3, (int64_t[]) { 1 << 30, 1 << 30, 1 << 30 }, v, NULL);
  expect_save_error (w, dir, SC_ERROR_INVALID_ARGUMENT, "too many elements");

  w = sc_safetensors_writer_new ();
  sc_safetensors_writer_add (w, "nodata", SC_DTYPE_F32, 1, (int64_t[]) { 2 }, NULL, NULL);
  expect_save_error (w, dir, SC_ERROR_INVALID_ARGUMENT, "no data");

  w = sc_safetensors_writer_new ();
  sc_safetensors_writer_add (w, "dims", SC_DTYPE_F32, 7, (int64_t[]) { 1, 1, 1, 1, 1, 1, 1 }, v, NULL);
  expect_save_error (w, dir, SC_ERROR_INVALID_ARGUMENT, "7 dimensions");

  w = sc_safetensors_writer_new ();
  sc_safetensors_writer_add_f32 (w, "i", SC_DTYPE_I64, 1, (int64_t[]) { 2 }, v);
  expect_save_error (w, dir, SC_ERROR_INVALID_ARGUMENT, "not I64");

  w = sc_safetensors_writer_new ();
  sc_safetensors_writer_add (w, "bad\xff", SC_DTYPE_F32, 1, (int64_t[]) { 2 }, v, NULL);
  expect_save_error (w, dir, SC_ERROR_INVALID_ARGUMENT, "UTF-8");

  w = sc_safetensors_writer_new ();
  sc_safetensors_writer_set_metadata (w, "k", "\xc3");
  expect_save_error (w, dir, SC_ERROR_INVALID_ARGUMENT, "UTF-8");

  /* destroy notifies run once, when the writer is freed, even when save failed */
  destroyed = 0;
  w = sc_safetensors_writer_new ();
  float *owned = g_new0 (float, 2);
  sc_safetensors_writer_add (w, "owned", SC_DTYPE_F32, 1, (int64_t[]) { 2 }, owned, g_free);
  sc_safetensors_writer_add (w, "counted", SC_DTYPE_I32, 1, (int64_t[]) { 1 }, &destroyed, count_destroy);
  sc_safetensors_writer_add (w, "owned", SC_DTYPE_F32, 1, (int64_t[]) { 2 }, v, NULL);
  expect_save_error (w, dir, SC_ERROR_INVALID_ARGUMENT, "Cannot save tensor “owned”: it was added twice");
  g_assert_cmpint (destroyed, ==, 1);

  /* a folder that does not exist: an I/O error, and nothing is created */
  GError *error = NULL;
  w = sc_safetensors_writer_new ();
  sc_safetensors_writer_add (w, "a", SC_DTYPE_F32, 1, (int64_t[]) { 2 }, v, NULL);
  char *nowhere = g_build_filename (dir, "no", "such", "folder", "x.safetensors", NULL);
  g_assert_false (sc_safetensors_writer_save (w, nowhere, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_IO);
  g_clear_error (&error);
  sc_safetensors_writer_free (w);
  g_free (nowhere);

  g_assert_cmpint (count_dir_entries (dir), ==, 0);
  remove_tree (dir);
  g_free (dir);
}

static void
test_atomic_file (void)
{
  GError *error = NULL;
  char *dir = make_tmp_dir ();
  char *path = g_build_filename (dir, "out.bin", NULL);

  g_assert_true (sc_atomic_write (path, "first", 5, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, 0640), ==, 0);

  /* abort: the target keeps its old contents and the temporary file is gone */
  ScAtomicFile *f = sc_atomic_file_begin (path, &error);
  g_assert_no_error (error);
  fputs ("half-written", sc_atomic_file_stream (f));
  fflush (sc_atomic_file_stream (f));
  g_assert_cmpint (count_dir_entries (dir), ==, 2);
  sc_atomic_file_abort (f);
  g_assert_cmpint (count_dir_entries (dir), ==, 1);
  char *contents;
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "first");
  g_free (contents);

  /* commit: replaced, mode kept */
  f = sc_atomic_file_begin (path, &error);
  fputs ("second", sc_atomic_file_stream (f));
  g_assert_true (sc_atomic_file_commit (f, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "second");
  g_free (contents);
  GStatBuf sb;
  g_assert_cmpint (g_stat (path, &sb), ==, 0);
  g_assert_cmpint (sb.st_mode & 0777, ==, 0640);
  g_assert_cmpint (count_dir_entries (dir), ==, 1);

  /* an empty write */
  g_assert_true (sc_atomic_write (path, NULL, 0, &error));
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "");
  g_free (contents);

  /* a folder that does not exist */
  char *nowhere = g_build_filename (dir, "missing", "x", NULL);
  g_assert_false (sc_atomic_write (nowhere, "x", 1, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_IO);
  g_clear_error (&error);
  g_assert_null (sc_atomic_file_begin (nowhere, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_IO);
  g_clear_error (&error);
  g_free (nowhere);

  remove_tree (dir);
  g_free (path);
  g_free (dir);
}

/* ---------------------------------------------------------------------------------------------- */
/* the committed fuzz corpus */

static void
test_fuzz_corpus (void)
{
  const char *fixtures = g_getenv ("SC_FIXTURES_DIR");
  if (!fixtures)
    {
      g_test_skip ("SC_FIXTURES_DIR is not set (run through meson test)");
      return;
    }
  char *corpus = g_build_filename (fixtures, "..", "fuzz", "corpus", "safetensors", NULL);
  GError *error = NULL;
  GDir *d = g_dir_open (corpus, 0, &error);
  g_assert_no_error (error);
  int files = 0, accepted = 0;
  const char *name;
  while ((name = g_dir_read_name (d)))
    {
      char *path = g_build_filename (corpus, name, NULL);
      char *contents;
      gsize len;
      g_assert_true (g_file_get_contents (path, &contents, &len, &error));
      guint8 *exact = g_memdup2 (contents, len ? len : 1);
      ScSafetensors *st = sc_safetensors_open_memory (exact, len, &error);
      if (st)
        {
          g_assert_no_error (error);
          accepted++;
          for (size_t i = 0; i < sc_safetensors_count (st); i++)
            {
              const ScStEntry *e = sc_safetensors_get (st, i);
              g_assert_true (sc_safetensors_find (st, e->name) == e);
              g_assert_cmpuint (e->nbytes, ==, (size_t) e->numel * sc_dtype_size (e->dtype));
              g_assert_true ((const guint8 *) e->data >= exact && (const guint8 *) e->data + e->nbytes <= exact + len);
              float *f = g_new (float, e->numel + 1);
              if (!sc_st_entry_to_f32 (e, f, &error))
                {
                  g_assert_error (error, SC_ERROR, SC_ERROR_DTYPE);
                  g_clear_error (&error);
                }
              g_free (f);
            }
          for (const char *const *k = sc_safetensors_metadata_keys (st); *k; k++)
            g_assert_nonnull (sc_safetensors_metadata (st, *k));
          sc_safetensors_close (st);
        }
      else
        {
          g_assert_nonnull (error);
          g_assert_true (error->domain == SC_ERROR);
          g_clear_error (&error);
        }
      files++;
      g_free (exact);
      g_free (contents);
      g_free (path);
    }
  g_dir_close (d);
  g_test_message ("%d corpus files, %d accepted", files, accepted);
  g_assert_cmpint (files, >, 0);
  g_assert_cmpint (accepted, >, 0);
  g_free (corpus);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/safetensors/roundtrip", test_roundtrip);
  g_test_add_func ("/safetensors/python-fixture", test_python_fixture);
  g_test_add_func ("/safetensors/truncated-prefixes", test_truncated_prefixes);
  g_test_add_func ("/safetensors/open-errors", test_open_errors);
  g_test_add_func ("/safetensors/hostile-header", test_hostile_header);
  g_test_add_func ("/safetensors/hostile-entries", test_hostile_entries);
  g_test_add_func ("/safetensors/hostile-json", test_hostile_json);
  g_test_add_func ("/safetensors/release", test_release);
  g_test_add_func ("/safetensors/writer-errors", test_writer_errors);
  g_test_add_func ("/safetensors/fuzz-corpus", test_fuzz_corpus);
  g_test_add_func ("/json-lite/parse", test_json_lite);
  g_test_add_func ("/atomic-file/commit-abort", test_atomic_file);
  return g_test_run ();
}
