/* PyTorch checkpoints (zip + restricted pickle). Fixtures come from real torch.save
 * (tests/reference/gen_pickle.py): every tensor must match pickle-expected.safetensors byte for byte.
 * Hostile archives must each end in the right GError, never a crash or a hang; the committed fuzz corpus
 * (tests/fuzz/corpus/pickle) is replayed too. Last, the model loader reads a tiny LDM .ckpt and a diffusers
 * folder with .bin files. Those are written here by a minimal torch-style writer (below) from a
 * make-model checkpoint, rather than committed: the tiny model is ~1 MB. */
#include "core/error.h"
#include "io/safetensors.h"
#include "io/torch_file.h"
#include "io/torch_zip.h"
#include "models/make_model.h"
#include "models/model_loader.h"

#include <glib/gstdio.h>
#include <string.h>
#include <zlib.h>

static char *
fixture (const char *leaf)
{
  const char *dir = g_getenv ("SC_FIXTURES_DIR");
  return dir ? g_build_filename (dir, leaf, NULL) : NULL;
}

#define NEED_FIXTURES(path)                                                                                  \
  do {                                                                                                       \
    if (!(path))                                                                                             \
      {                                                                                                      \
        g_test_skip ("SC_FIXTURES_DIR is not set (run through meson test)");                                 \
        return;                                                                                              \
      }                                                                                                      \
  } while (0)

/* Every "GROUP/name" tensor of the expected file is in F under "name" with the same dtype, shape and
 * bytes, and F has nothing else. */
static void
check_against_expected (const ScTorchFile *f, const char *group)
{
  g_autofree char *exp_path = fixture ("pickle-expected.safetensors");
  GError *error = NULL;
  ScSafetensors *exp = sc_safetensors_open (exp_path, &error);
  g_assert_no_error (error);
  size_t matched = 0;
  for (size_t i = 0; i < sc_safetensors_count (exp); i++)
    {
      const ScStEntry *x = sc_safetensors_get (exp, i);
      if (!g_str_has_prefix (x->name, group))
        continue;
      const char *name = x->name + strlen (group);
      const ScStEntry *e = sc_torch_file_find (f, name);
      if (!e)
        g_error ("tensor %s is missing", name);
      g_assert_cmpstr (e->name, ==, name);
      g_assert_cmpint (e->dtype, ==, x->dtype);
      g_assert_cmpint (e->ndim, ==, x->ndim);
      for (int d = 0; d < e->ndim; d++)
        g_assert_cmpint (e->shape[d], ==, x->shape[d]);
      g_assert_cmpint (e->numel, ==, x->numel);
      g_assert_cmpuint (e->nbytes, ==, x->nbytes);
      g_assert_true (x->nbytes == 0 || memcmp (e->data, x->data, x->nbytes) == 0);
      matched++;
    }
  g_assert_cmpuint (matched, >, 0);
  g_assert_cmpuint (sc_torch_file_count (f), ==, matched);
  sc_safetensors_close (exp);
}

static void
check_basic_file (const char *leaf)
{
  g_autofree char *path = fixture (leaf);
  NEED_FIXTURES (path);
  GError *error = NULL;
  ScTorchFile *f = sc_torch_file_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sc_torch_file_path (f), ==, path);
  check_against_expected (f, "basic/");

  /* A few values spelled out, in case the generator and the reader agree on something wrong. */
  const ScStEntry *t = sc_torch_file_find (f, "transposed");
  g_assert_cmpint (t->ndim, ==, 2);
  g_assert_cmpint (t->shape[0], ==, 4);
  g_assert_cmpint (t->shape[1], ==, 3);
  float v[12];
  g_assert_true (sc_st_entry_to_f32 (t, v, &error));
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 3; j++)
      g_assert_cmpfloat (v[i * 3 + j], ==, (float) (j * 4 + i) * 0.25f - 1.0f);
  const ScStEntry *c = sc_torch_file_find (f, "column");
  g_assert_true (sc_st_entry_to_f32 (c, v, &error));
  g_assert_cmpfloat (v[0], ==, 2 * 0.25f - 1.0f);
  g_assert_cmpfloat (v[2], ==, 10 * 0.25f - 1.0f);
  g_assert_nonnull (sc_torch_file_find (f, "module.0.weight"));
  g_assert_nonnull (sc_torch_file_find (f, "param"));
  g_assert_cmpint (sc_torch_file_find (f, "scalar")->ndim, ==, 0);
  g_assert_cmpint (sc_torch_file_find (f, "empty")->numel, ==, 0);
  int64_t n = 0;
  g_assert_true (sc_torch_file_int (f, "count", &n));
  g_assert_cmpint (n, ==, 42);
  g_assert_false (sc_torch_file_int (f, "f32", &n));
  g_assert_false (sc_torch_file_unwrap (f, "nothing"));
  sc_torch_file_close (f);
}

static void
test_basic (void)
{
  check_basic_file ("pickle-basic.pt");
}

static void
test_deflate (void)
{
  check_basic_file ("pickle-deflate.pt");
}

static void
test_zip64 (void)
{
  check_basic_file ("pickle-zip64.pt");
}

static void
test_ldm (void)
{
  g_autofree char *path = fixture ("pickle-ldm.ckpt");
  NEED_FIXTURES (path);
  GError *error = NULL;
  ScTorchFile *f = sc_torch_file_open (path, &error);
  g_assert_no_error (error);
  check_against_expected (f, "ldm/");
  int64_t v;
  g_assert_true (sc_torch_file_int (f, "global_step", &v));
  g_assert_cmpint (v, ==, 470000);
  g_assert_true (sc_torch_file_int (f, "epoch", &v));
  g_assert_cmpint (v, ==, 3);
  g_assert_true (sc_torch_file_int (f, "big", &v));
  g_assert_cmpint (v, ==, (int64_t) 1 << 40);
  g_assert_true (sc_torch_file_int (f, "neg", &v));
  g_assert_cmpint (v, ==, -5);
  g_assert_false (sc_torch_file_int (f, "pytorch-lightning_version", &v));

  g_assert_true (sc_torch_file_unwrap (f, "state_dict"));
  g_assert_cmpuint (sc_torch_file_count (f), ==, 4);
  const ScStEntry *e = sc_torch_file_find (f, "model.diffusion_model.out.2.bias");
  g_assert_nonnull (e);
  g_assert_cmpint (e->dtype, ==, SC_DTYPE_F16);
  float b[4];
  g_assert_true (sc_st_entry_to_f32 (e, b, &error));
  g_assert_cmpfloat (b[1], ==, -0.5f);
  g_assert_cmpfloat (b[3], ==, 2.0f);
  g_assert_null (sc_torch_file_find (f, "state_dict.model.diffusion_model.out.2.bias"));
  g_assert_true (sc_torch_file_int (f, "global_step", NULL));
  sc_torch_file_close (f);
}

static void
expect_error (const char *path, int code, const char *needle)
{
  GError *error = NULL;
  ScTorchFile *f = sc_torch_file_open (path, &error);
  if (f || !error)
    g_error ("%s: opened, expected error %d", path, code);
  if (error->domain != SC_ERROR || error->code != code || (needle && !strstr (error->message, needle)))
    g_error ("%s: got error %d “%s”, expected %d with “%s”", path, error->code, error->message, code,
             needle ? needle : "");
  g_test_message ("%s", error->message);
  g_error_free (error);
}

static void
test_legacy (void)
{
  g_autofree char *path = fixture ("pickle-legacy.pt");
  NEED_FIXTURES (path);
  expect_error (path, SC_ERROR_UNSUPPORTED, "legacy");
}

static void
test_hostile (void)
{
  static const struct {
    const char *name;
    int code;
    const char *needle;
  } cases[] = {
    { "os-system", SC_ERROR_FORMAT, "the file asks to call os.system (a pickle can run code" },
    { "builtins-eval", SC_ERROR_FORMAT, "call builtins.eval" },
    { "subprocess", SC_ERROR_FORMAT, "call subprocess.Popen" },
    { "posix-system-newobj", SC_ERROR_FORMAT, "call posix.system" },
    { "reduce-dict", SC_ERROR_FORMAT, "calls a dict" },
    { "call-storage", SC_ERROR_FORMAT, "storage class" },
    { "complex-storage", SC_ERROR_UNSUPPORTED, "ComplexFloatStorage" },
    { "huge-shape", SC_ERROR_FORMAT, "“x”" },
    { "huge-numel", SC_ERROR_FORMAT, "claims" },
    { "short-storage", SC_ERROR_FORMAT, "truncated" },
    { "past-storage", SC_ERROR_FORMAT, "reaches element" },
    { "seven-dims", SC_ERROR_UNSUPPORTED, "7 dimensions" },
    { "negative-stride", SC_ERROR_FORMAT, "stride" },
    { "expand-bomb", SC_ERROR_UNSUPPORTED, "strided view" },
    { "missing-storage", SC_ERROR_FORMAT, "missing from the archive" },
    { "path-key", SC_ERROR_FORMAT, "storage key contains" },
    { "deep-dicts", SC_ERROR_FORMAT, "nested" },
    { "self-dict", SC_ERROR_FORMAT, "contain themselves" },
    { "dag-explosion", SC_ERROR_FORMAT, "items in all" },
    { "many-marks", SC_ERROR_FORMAT, "MARK" },
    { "memo-missing", SC_ERROR_FORMAT, "memo entry 5" },
    { "memo-huge-index", SC_ERROR_FORMAT, "memo entry" },
    { "empty-stack", SC_ERROR_FORMAT, "empty stack" },
    { "truncated-pickle", SC_ERROR_FORMAT, "truncated" },
    { "no-stop", SC_ERROR_FORMAT, "truncated" },
    { "long-too-big", SC_ERROR_FORMAT, "too large" },
    { "string-overflow", SC_ERROR_FORMAT, "past the end" },
    { "protocol-0", SC_ERROR_UNSUPPORTED, "opcode" },
    { "list-root", SC_ERROR_WRONG_MODEL, "not a dict" },
    { "big-endian", SC_ERROR_UNSUPPORTED, "big-endian" },
    { "two-roots", SC_ERROR_FORMAT, "two pickles" },
    { "no-data-pkl", SC_ERROR_FORMAT, "data.pkl" },
    { "dotdot-root", SC_ERROR_FORMAT, "data.pkl" },
    { "zip-bomb", SC_ERROR_FORMAT, "implausible" },
    { "deflate-size-lie", SC_ERROR_FORMAT, "damaged" },
    { "truncated-zip", SC_ERROR_FORMAT, "end-of-central-directory" },
    { "cd-out-of-bounds", SC_ERROR_FORMAT, "central directory" },
    { "duplicate-names", SC_ERROR_FORMAT, "two entries" },
    { "not-a-zip", SC_ERROR_FORMAT, "zip" },
  };
  g_autofree char *dir = fixture ("pickle-hostile");
  NEED_FIXTURES (dir);
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *leaf = g_strconcat (cases[i].name, ".pt", NULL);
      g_autofree char *path = g_build_filename (dir, leaf, NULL);
      expect_error (path, cases[i].code, cases[i].needle);
    }
}

/* Every prefix of a valid archive fails cleanly (or, never, succeeds with data inside the buffer). */
static void
test_truncations (void)
{
  g_autofree char *path = fixture ("pickle-ldm.ckpt");
  NEED_FIXTURES (path);
  gchar *bytes;
  gsize len;
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  for (gsize n = 0; n < len; n++)
    {
      GError *error = NULL;
      guint8 *copy = g_memdup2 (bytes, n ? n : 1);
      ScTorchFile *f = sc_torch_file_open_memory (copy, n, &error);
      g_assert_null (f);
      g_assert_nonnull (error);
      g_error_free (error);
      g_free (copy);
    }
  GError *error = NULL;
  ScTorchFile *f = sc_torch_file_open_memory (bytes, len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sc_torch_file_count (f), ==, 4);
  sc_torch_file_close (f);
  g_free (bytes);
}

static void
test_fuzz_corpus (void)
{
  g_autofree char *fixtures = fixture ("");
  NEED_FIXTURES (fixtures);
  g_autofree char *corpus = g_build_filename (fixtures, "..", "fuzz", "corpus", "pickle", NULL);
  GError *error = NULL;
  GDir *d = g_dir_open (corpus, 0, &error);
  g_assert_no_error (error);
  int files = 0, opened = 0;
  for (const char *leaf; (leaf = g_dir_read_name (d));)
    {
      g_autofree char *p = g_build_filename (corpus, leaf, NULL);
      gchar *bytes;
      gsize len;
      g_assert_true (g_file_get_contents (p, &bytes, &len, NULL));
      ScTorchFile *f = sc_torch_file_open_memory (bytes, len, &error);
      files++;
      if (f)
        {
          opened++;
          for (size_t i = 0; i < sc_torch_file_count (f); i++)
            {
              const ScStEntry *e = sc_torch_file_get (f, i);
              g_assert_true (sc_torch_file_find (f, e->name) == e);
              g_assert_cmpuint (e->nbytes, ==, (guint64) e->numel * sc_dtype_size (e->dtype));
            }
          sc_torch_file_close (f);
        }
      else
        {
          g_assert_nonnull (error);
          g_clear_error (&error);
        }
      g_free (bytes);
    }
  g_dir_close (d);
  g_test_message ("%d corpus files, %d opened", files, opened);
  g_assert_cmpint (files, >, 10);
  g_assert_cmpint (opened, >, 0);
}

/* ---- a minimal torch.save-style writer, for the loader tests -------------------------------------- */

static void
put_u8 (GByteArray *b, guint8 v)
{
  g_byte_array_append (b, &v, 1);
}

static void
put_le (GByteArray *b, guint64 v, int n)
{
  for (int i = 0; i < n; i++)
    put_u8 (b, (guint8) (v >> (8 * i)));
}

static void
put_str (GByteArray *b, const char *s)
{
  put_u8 (b, 'X');
  put_le (b, strlen (s), 4);
  g_byte_array_append (b, (const guint8 *) s, (guint) strlen (s));
}

static void
put_int (GByteArray *b, int64_t v)
{
  put_u8 (b, 0x8a); /* LONG1 */
  put_u8 (b, 8);
  put_le (b, (guint64) v, 8);
}

static void
put_global (GByteArray *b, const char *module, const char *name)
{
  g_autofree char *s = g_strdup_printf ("c%s\n%s\n", module, name);
  g_byte_array_append (b, (const guint8 *) s, (guint) strlen (s));
}

typedef struct {
  char *name;
  GBytes *data;
} ZipItem;

static void
write_zip (const char *path, GPtrArray *items)
{
  GByteArray *z = g_byte_array_new (), *cd = g_byte_array_new ();
  for (guint i = 0; i < items->len; i++)
    {
      ZipItem *it = items->pdata[i];
      gsize n;
      const guint8 *d = g_bytes_get_data (it->data, &n);
      guint32 crc = (guint32) crc32 (0, d, (uInt) n);
      guint64 off = z->len;
      guint16 nl = (guint16) strlen (it->name);
      put_le (z, 0x04034b50, 4), put_le (z, 20, 2), put_le (z, 0, 2), put_le (z, 0, 2), put_le (z, 0, 4);
      put_le (z, crc, 4), put_le (z, n, 4), put_le (z, n, 4), put_le (z, nl, 2), put_le (z, 0, 2);
      g_byte_array_append (z, (const guint8 *) it->name, nl);
      g_byte_array_append (z, d, (guint) n);
      put_le (cd, 0x02014b50, 4), put_le (cd, 20, 2), put_le (cd, 20, 2), put_le (cd, 0, 2), put_le (cd, 0, 2);
      put_le (cd, 0, 4), put_le (cd, crc, 4), put_le (cd, n, 4), put_le (cd, n, 4), put_le (cd, nl, 2);
      put_le (cd, 0, 2), put_le (cd, 0, 2), put_le (cd, 0, 2), put_le (cd, 0, 2), put_le (cd, 0, 4);
      put_le (cd, off, 4);
      g_byte_array_append (cd, (const guint8 *) it->name, nl);
    }
  guint64 cd_off = z->len;
  g_byte_array_append (z, cd->data, cd->len);
  put_le (z, 0x06054b50, 4), put_le (z, 0, 4), put_le (z, items->len, 2), put_le (z, items->len, 2);
  put_le (z, cd->len, 4), put_le (z, cd_off, 4), put_le (z, 0, 2);
  GError *error = NULL;
  g_assert_true (g_file_set_contents (path, (const char *) z->data, z->len, &error));
  g_assert_no_error (error);
  g_byte_array_unref (z);
  g_byte_array_unref (cd);
}

static void
item_free (gpointer p)
{
  ZipItem *it = p;
  g_free (it->name);
  g_bytes_unref (it->data);
  g_free (it);
}

static void
add_item (GPtrArray *items, char *name, GBytes *data)
{
  ZipItem *it = g_new (ZipItem, 1);
  it->name = name;
  it->data = data;
  g_ptr_array_add (items, it);
}

/* Writes the tensors of a safetensors file as torch.save would, optionally wrapped in
 * {"state_dict": ..., "global_step": 1} with an EMA tensor; 2-D tensors are stored transposed (as
 * strided views), so the copy-out path is exercised on real weights. */
static void
safetensors_to_torch (const char *src, const char *dst, gboolean ldm_wrap)
{
  GError *error = NULL;
  ScSafetensors *st = sc_safetensors_open (src, &error);
  g_assert_no_error (error);
  GPtrArray *items = g_ptr_array_new_with_free_func (item_free);
  GByteArray *p = g_byte_array_new ();
  put_u8 (p, 0x80), put_u8 (p, 2), put_u8 (p, '}'), put_u8 (p, '(');
  if (ldm_wrap)
    {
      put_str (p, "state_dict");
      put_global (p, "collections", "OrderedDict"), put_u8 (p, ')'), put_u8 (p, 'R'), put_u8 (p, '(');
    }
  size_t n = sc_safetensors_count (st);
  for (size_t i = 0; i <= n; i++)
    {
      const ScStEntry *e = i < n ? sc_safetensors_get (st, i) : NULL;
      float ema = 0.5f;
      const char *name = e ? e->name : "model_ema.decay";
      g_assert_true (!e || e->dtype == SC_DTYPE_F32);
      if (!e && !ldm_wrap)
        break;
      g_autofree char *key = g_strdup_printf ("%zu", i);
      gboolean transpose = e && e->ndim == 2;
      GBytes *data;
      if (transpose)
        {
          int64_t r = e->shape[0], c = e->shape[1];
          float *t = g_new (float, r * c);
          const float *w = e->data;
          for (int64_t a = 0; a < r; a++)
            for (int64_t b = 0; b < c; b++)
              memcpy (&t[b * r + a], &w[a * c + b], 4);
          data = g_bytes_new_take (t, (gsize) (r * c * 4));
        }
      else
        data = e ? g_bytes_new (e->data, e->nbytes) : g_bytes_new (&ema, 4);
      add_item (items, g_strconcat ("tiny/data/", key, NULL), data);

      put_str (p, name);
      put_global (p, "torch._utils", "_rebuild_tensor_v2");
      put_u8 (p, '('), put_u8 (p, '(');
      put_str (p, "storage"), put_global (p, "torch", "FloatStorage"), put_str (p, key), put_str (p, "cpu");
      put_int (p, e ? e->numel : 1);
      put_u8 (p, 't'), put_u8 (p, 'Q');
      put_int (p, 0);
      int ndim = e ? e->ndim : 0;
      put_u8 (p, '(');
      for (int d = 0; d < ndim; d++)
        put_int (p, e->shape[d]);
      put_u8 (p, 't'), put_u8 (p, '(');
      for (int d = 0; d < ndim; d++)
        {
          int64_t stride = 1;
          for (int k = d + 1; k < ndim; k++)
            stride *= e->shape[k];
          put_int (p, transpose ? (d == 0 ? 1 : e->shape[0]) : stride);
        }
      put_u8 (p, 't'), put_u8 (p, 0x89);
      put_global (p, "collections", "OrderedDict"), put_u8 (p, ')'), put_u8 (p, 'R');
      put_u8 (p, 't'), put_u8 (p, 'R');
    }
  put_u8 (p, 'u');
  if (ldm_wrap)
    {
      put_str (p, "global_step"), put_int (p, 1);
      put_u8 (p, 'u');
    }
  put_u8 (p, '.');
  add_item (items, g_strdup ("tiny/data.pkl"), g_byte_array_free_to_bytes (p));
  add_item (items, g_strdup ("tiny/byteorder"), g_bytes_new ("little", 6));
  write_zip (dst, items);
  g_ptr_array_unref (items);
  sc_safetensors_close (st);
}

/* Both models hold the same canonical tensors with the same values. */
static void
assert_same_weights (ScModel *a, ScModel *b)
{
  GPtrArray *na = sc_weight_source_names (a->weights), *nb = sc_weight_source_names (b->weights);
  g_assert_cmpuint (na->len, ==, nb->len);
  g_assert_cmpuint (na->len, >, 50);
  for (guint i = 0; i < na->len; i++)
    {
      const char *name = na->pdata[i];
      g_assert_cmpstr (name, ==, nb->pdata[i]);
      int nd;
      int64_t shape[SC_MAX_DIMS];
      g_assert_true (sc_weight_source_shape (a->weights, name, &nd, shape));
      GError *error = NULL;
      float *x = sc_weight_source_get (a->weights, name, nd, shape, SC_INIT_ZERO, &error);
      g_assert_no_error (error);
      float *y = sc_weight_source_get (b->weights, name, nd, shape, SC_INIT_ZERO, &error);
      g_assert_no_error (error);
      int64_t n = 1;
      for (int d = 0; d < nd; d++)
        n *= shape[d];
      g_assert_true (memcmp (x, y, (size_t) n * sizeof (float)) == 0);
      sc_free_floats (x);
      sc_free_floats (y);
    }
  g_ptr_array_unref (na);
  g_ptr_array_unref (nb);
}

static void
test_model_loader (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("sc-pickle-XXXXXX", NULL);
  g_autofree char *st_path = g_build_filename (tmp, "tiny.safetensors", NULL);
  g_autofree char *ckpt = g_build_filename (tmp, "tiny.ckpt", NULL);
  GError *error = NULL;
  g_assert_true (sc_make_model (SC_ARCH_TINY_SD1, 7, SC_LAYOUT_LDM, SC_DTYPE_F32, st_path, &error));
  g_assert_no_error (error);
  safetensors_to_torch (st_path, ckpt, TRUE);

  ScModel *ref = sc_model_probe (st_path, NULL, &error);
  g_assert_no_error (error);
  ScModel *m = sc_model_probe (ckpt, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (m->layout, ==, SC_MODEL_LAYOUT_LDM_FILE);
  g_assert_cmpstr (m->arch.name, ==, ref->arch.name);
  g_assert_cmpint (m->present, ==, ref->present);
  g_assert_false (sc_weight_source_has (m->weights, "model_ema.decay"));
  assert_same_weights (ref, m);
  sc_model_free (m);
  sc_model_free (ref);

  ScModelOptions opts = { .components = SC_COMPONENT_UNET | SC_COMPONENT_VAE_DECODER };
  m = sc_model_load (ckpt, &opts, &error);
  g_assert_no_error (error);
  g_assert_nonnull (m->unet);
  sc_model_free (m);

  /* A diffusers folder whose U-Net is only a pytorch .bin (no state_dict wrapper). */
  g_autofree char *folder = g_build_filename (tmp, "diffusers", NULL);
  g_assert_true (sc_make_model (SC_ARCH_TINY_SD1, 7, SC_LAYOUT_DIFFUSERS, SC_DTYPE_F32, folder, &error));
  g_assert_no_error (error);
  ref = sc_model_probe (folder, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *unet_st = g_build_filename (folder, "unet", "diffusion_pytorch_model.safetensors", NULL);
  g_autofree char *unet_bin = g_build_filename (folder, "unet", "diffusion_pytorch_model.bin", NULL);
  safetensors_to_torch (unet_st, unet_bin, FALSE);
  g_assert_cmpint (g_unlink (unet_st), ==, 0);
  m = sc_model_probe (folder, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (m->layout, ==, SC_MODEL_LAYOUT_DIFFUSERS_FOLDER);
  assert_same_weights (ref, m);
  sc_model_free (m);
  sc_model_free (ref);

  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmp);
  g_assert_cmpint (system (cmd), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pickle/basic", test_basic);
  g_test_add_func ("/pickle/deflate", test_deflate);
  g_test_add_func ("/pickle/zip64", test_zip64);
  g_test_add_func ("/pickle/ldm", test_ldm);
  g_test_add_func ("/pickle/legacy", test_legacy);
  g_test_add_func ("/pickle/hostile", test_hostile);
  g_test_add_func ("/pickle/truncations", test_truncations);
  g_test_add_func ("/pickle/fuzz-corpus", test_fuzz_corpus);
  g_test_add_func ("/pickle/model-loader", test_model_loader);
  return g_test_run ();
}
