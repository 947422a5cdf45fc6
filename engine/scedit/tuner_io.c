#include "scedit/tuner_io.h"
#include "io/torch_file.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

/* ---- finding the tensor file ------------------------------------------------------------------------ */

static const char *const known_files[] = {
  "adapter_model.safetensors", "adapter_model.bin", "pytorch_model.safetensors", "pytorch_model.bin",
  "model.safetensors",
};

static char *
find_in_dir (const char *dir)
{
  for (size_t i = 0; i < G_N_ELEMENTS (known_files); i++)
    {
      char *p = g_build_filename (dir, known_files[i], NULL);
      if (g_file_test (p, G_FILE_TEST_IS_REGULAR))
        return p;
      g_free (p);
    }
  return NULL;
}

/* A file, or a folder with a known file directly or in exactly one sub-folder (0_SwiftSCETuning/). */
static char *
resolve_path (const char *path, GError **error)
{
  if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return g_strdup (path);
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_IO, "No tuner file or folder at %s", path);
      return NULL;
    }
  char *found = find_in_dir (path);
  if (found)
    return found;
  GDir *d = g_dir_open (path, 0, error);
  if (!d)
    return NULL;
  GPtrArray *hits = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)))
    {
      g_autofree char *sub = g_build_filename (path, name, NULL);
      if (g_file_test (sub, G_FILE_TEST_IS_DIR) && (found = find_in_dir (sub)))
        g_ptr_array_add (hits, found);
    }
  g_dir_close (d);
  char *result = NULL;
  if (hits->len == 1)
    result = g_strdup (hits->pdata[0]);
  else if (hits->len == 0)
    g_set_error (error, SC_ERROR, SC_ERROR_IO, "No tuner weights (adapter_model.* or pytorch_model.*) in %s", path);
  else
    g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED, "%s holds %u tuners: name the sub-folder of the one to load",
                 path, hits->len);
  g_ptr_array_unref (hits);
  return result;
}

/* ---- key names --------------------------------------------------------------------------------------- */

typedef struct {
  int per_block;      /* resnets per diffusers up block: num_res_blocks + 1 */
  GHashTable *orig;   /* canonical → name in the file */
  GHashTable *groups; /* prefix + adapter name of every tuner key: one tuner per file */
  gboolean sc, csc, swift, diffusers, native;
} KeyMap;

static gboolean
eat (const char **p, const char *lit)
{
  size_t n = strlen (lit);
  if (strncmp (*p, lit, n) != 0)
    return FALSE;
  *p += n;
  return TRUE;
}

/* Digits then '.'; bounded so a hostile name cannot overflow. */
static gboolean
eat_index (const char **p, int *out)
{
  const char *s = *p;
  int v = 0, n = 0;
  while (*s >= '0' && *s <= '9' && n < 4)
    v = v * 10 + (*s++ - '0'), n++;
  if (n == 0 || *s != '.')
    return FALSE;
  *p = s + 1;
  *out = v;
  return TRUE;
}

static gboolean
eat_mlp_leaf (const char **p)
{
  return eat (p, "ln1.weight") || eat (p, "ln1.bias") || eat (p, "ln2.weight") || eat (p, "ln2.bias");
}

static const char *
find_anchor (const char *name, const char *anchor)
{
  for (const char *s = strstr (name, anchor); s; s = strstr (s + 1, anchor))
    if (s == name || s[-1] == '.')
      return s;
  return NULL;
}

/* One file key → canonical key (or NULL: not a tuner tensor). */
static char *
map_key (const char *name, gpointer user_data)
{
  KeyMap *km = user_data;
  const char *s, *p;
  int a, b;
  char *canon = NULL;
  g_autofree char *group = NULL;
  if ((s = find_anchor (name, "lsc_identity.")))
    {
      p = s + strlen ("lsc_identity.");
      if (!eat_index (&p, &a))
        return NULL;
      const char *adapter = p;
      if (eat (&p, "scetuner_"))
        {
          const char *dot = strstr (p, ".tuner_op.");
          if (!dot)
            return NULL;
          group = g_strdup_printf ("%.*s%.*s", (int) (s - name), name, (int) (dot - adapter), adapter);
          p = dot + 1;
          km->swift = TRUE;
        }
      else
        {
          group = g_strndup (name, (size_t) (s - name));
          km->native = TRUE;
        }
      const char *leaf = p + strlen ("tuner_op.");
      if (!eat (&p, "tuner_op.") || !eat_mlp_leaf (&p) || *p)
        return NULL;
      canon = g_strdup_printf ("model.lsc_identity.%d.tuner_op.%s", a, leaf);
      km->sc = TRUE;
    }
  else if ((s = find_anchor (name, "up_blocks.")))
    {
      p = s + strlen ("up_blocks.");
      if (!eat_index (&p, &a) || !eat (&p, "resnets.") || !eat_index (&p, &b) || !eat (&p, "scetuner_"))
        return NULL;
      const char *dot = strstr (p, ".tuner_op.");
      if (!dot)
        return NULL;
      group = g_strdup_printf ("%.*s%.*s", (int) (s - name), name, (int) (dot - p), p);
      p = dot + strlen (".tuner_op.");
      const char *leaf = p;
      if (!eat_mlp_leaf (&p) || *p)
        return NULL;
      canon = g_strdup_printf ("model.lsc_identity.%d.tuner_op.%s", a * km->per_block + b, leaf);
      km->sc = km->swift = km->diffusers = TRUE;
    }
  else
    {
      static const char *const csc_anchors[] = { "pre_hint_blocks.", "dense_hint_blocks.", "lsc_tuner_blocks." };
      for (size_t k = 0; k < G_N_ELEMENTS (csc_anchors) && !canon; k++)
        {
          if (!(s = find_anchor (name, csc_anchors[k])))
            continue;
          p = s + strlen (csc_anchors[k]);
          if (!eat_index (&p, &a))
            return NULL;
          gboolean ok = k == 0   ? (eat (&p, "weight") || eat (&p, "bias"))
                        : k == 1 ? (eat (&p, "1.") && (eat (&p, "weight") || eat (&p, "bias")))
                                 : (eat (&p, "tuner_op.") && eat_mlp_leaf (&p));
          if (!ok || *p)
            return NULL;
          /* "model.0." / "0." / "" before the anchor: one controller per file. */
          group = g_strndup (name, (size_t) (s - name));
          canon = g_strdup_printf ("0.%s", s);
          km->csc = TRUE;
        }
      if (!canon)
        return NULL;
    }
  g_hash_table_add (km->groups, g_steal_pointer (&group));
  g_hash_table_insert (km->orig, g_strdup (canon), g_strdup (name));
  return canon;
}

/* ---- an opened tuner file ----------------------------------------------------------------------------- */

typedef struct {
  char *path;
  ScWeightSource *src;
  ScSafetensors *st; /* for the metadata */
  KeyMap km;
} TunerFile;

static void
tuner_file_close (TunerFile *f)
{
  g_free (f->path);
  sc_weight_source_free (f->src);
  if (f->st)
    sc_safetensors_close (f->st);
  if (f->km.orig)
    g_hash_table_destroy (f->km.orig);
  if (f->km.groups)
    g_hash_table_destroy (f->km.groups);
  memset (f, 0, sizeof *f);
}

static gboolean
tuner_file_open (TunerFile *f, const char *path, int per_block, GError **error)
{
  memset (f, 0, sizeof *f);
  f->km.per_block = per_block;
  f->km.orig = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  f->km.groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (!(f->path = resolve_path (path, error)))
    goto fail;
  f->src = sc_weight_source_new_files ();
  if (sc_torch_file_sniff (f->path))
    {
      /* A PyTorch pickle (swift's adapter_model.bin, scepter's pytorch_model.bin): read by our restricted
       * unpickler; such files carry no metadata. */
      if (!sc_weight_source_add_torch_file (f->src, f->path, map_key, &f->km, NULL, error))
        goto fail;
    }
  else if (!sc_weight_source_add_file (f->src, f->path, map_key, &f->km, NULL, error) ||
           !(f->st = sc_safetensors_open (f->path, error)))
    goto fail;
  if (!f->km.sc && !f->km.csc)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_WRONG_MODEL, "%s has no SCEdit tuner tensors", f->path);
      goto fail;
    }
  if ((f->km.sc && f->km.csc) || g_hash_table_size (f->km.groups) > 1)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED,
                   "%s holds several tuners (%u key prefixes%s): one tuner per file", f->path,
                   g_hash_table_size (f->km.groups), f->km.sc && f->km.csc ? ", style and control" : "");
      goto fail;
    }
  return TRUE;
fail:
  tuner_file_close (f);
  return FALSE;
}

/* Our own files' __metadata__ (NULL for pickles and for keys that are absent). */
static const char *
file_meta (TunerFile *f, const char *key)
{
  return f->st ? sc_safetensors_metadata (f->st, key) : NULL;
}

static const char *
orig_name (TunerFile *f, const char *canon)
{
  const char *o = g_hash_table_lookup (f->km.orig, canon);
  return o ? o : canon;
}

static gboolean
get_shape (TunerFile *f, const char *canon, int *ndim, int64_t shape[SC_MAX_DIMS])
{
  return sc_weight_source_shape (f->src, canon, ndim, shape);
}

/* Checks CANON has shape WANT; the error names the file's key. code: SC_ERROR_WRONG_MODEL when a
 * mismatch means another U-Net, else SC_ERROR_SHAPE. */
static gboolean
expect_shape (TunerFile *f, const char *canon, int ndim, const int64_t *want, int code, const char *why,
              GError **error)
{
  int got_ndim;
  int64_t got[SC_MAX_DIMS];
  g_autofree char *want_s = sc_tensor_shape_string (ndim, want);
  if (!get_shape (f, canon, &got_ndim, got))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_MISSING_TENSOR, "%s: missing tensor “%s” (shape %s)", f->path,
                   canon, want_s);
      return FALSE;
    }
  gboolean same = got_ndim == ndim;
  for (int i = 0; same && i < ndim; i++)
    same = got[i] == want[i];
  if (!same)
    {
      g_autofree char *got_s = sc_tensor_shape_string (got_ndim, got);
      g_set_error (error, SC_ERROR, code, "Tensor “%s” in %s has shape %s, expected %s%s%s", orig_name (f, canon),
                   f->path, got_s, want_s, why ? ": " : "", why ? why : "");
      return FALSE;
    }
  return TRUE;
}

static int
max_index (TunerFile *f, const char *fmt)
{
  int max = -1;
  for (int i = 0; i < 64; i++)
    {
      g_autofree char *k = g_strdup_printf (fmt, i);
      if (sc_weight_source_has (f->src, k))
        max = i;
    }
  return max;
}

static gboolean
mlp_any (TunerFile *f, const char *prefix_fmt, int m)
{
  static const char *const leaves[] = { "ln1.weight", "ln1.bias", "ln2.weight", "ln2.bias" };
  for (size_t k = 0; k < G_N_ELEMENTS (leaves); k++)
    {
      g_autofree char *p = g_strdup_printf (prefix_fmt, m);
      g_autofree char *key = g_strconcat (p, ".", leaves[k], NULL);
      if (sc_weight_source_has (f->src, key))
        return TRUE;
    }
  return FALSE;
}

/* Checks the MLP of skip m (C channels) and returns its hidden width, or -1 with an error. */
static int64_t
check_mlp (TunerFile *f, const char *prefix_fmt, int m, int64_t C, GError **error)
{
  g_autofree char *prefix = g_strdup_printf (prefix_fmt, m);
  g_autofree char *w1 = g_strconcat (prefix, ".ln1.weight", NULL);
  g_autofree char *b1 = g_strconcat (prefix, ".ln1.bias", NULL);
  g_autofree char *w2 = g_strconcat (prefix, ".ln2.weight", NULL);
  g_autofree char *b2 = g_strconcat (prefix, ".ln2.bias", NULL);
  int nd;
  int64_t s[SC_MAX_DIMS];
  int64_t L = (get_shape (f, w1, &nd, s) && nd == 2) ? s[0] : 1;
  g_autofree char *why = g_strdup_printf ("skip %d of this U-Net has %" G_GINT64_FORMAT " channels; a tuner for "
                                          "another architecture?", m, C);
  int64_t w1s[2] = { L, C }, w2s[2] = { C, L };
  if (!expect_shape (f, w1, 2, w1s, SC_ERROR_WRONG_MODEL, why, error) ||
      !expect_shape (f, b1, 1, &L, SC_ERROR_SHAPE, NULL, error) ||
      !expect_shape (f, w2, 2, w2s, SC_ERROR_WRONG_MODEL, why, error) ||
      !expect_shape (f, b2, 1, &C, SC_ERROR_WRONG_MODEL, why, error))
    return -1;
  return L;
}

static gboolean
check_skip_count (TunerFile *f, int max_m, const ScSkipLayout *layout, GError **error)
{
  if (max_m >= layout->n)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_WRONG_MODEL,
                   "%s tunes skip %d, but this U-Net has %d skips: a tuner for another architecture", f->path,
                   max_m, layout->n);
      return FALSE;
    }
  return TRUE;
}

#define SC_FMT "model.lsc_identity.%d.tuner_op"
#define CSC_FMT "0.lsc_tuner_blocks.%d.tuner_op"

ScScTuner *
sc_sc_tuner_load (const char *path, const ScUNetConfig *cfg, GError **error)
{
  ScSkipLayout layout;
  if (!sc_skip_layout_from_unet (cfg, &layout))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED, "U-Net with too many skips");
      return NULL;
    }
  TunerFile f;
  if (!tuner_file_open (&f, path, cfg->num_res_blocks + 1, error))
    return NULL;
  ScScTuner *t = NULL;
  if (!f.km.sc)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_WRONG_MODEL, "%s is a CSC-Tuner (controller), not a style tuner",
                   f.path);
      goto out;
    }
  int max_m = max_index (&f, SC_FMT ".ln1.weight");
  max_m = MAX (max_m, max_index (&f, SC_FMT ".ln2.weight"));
  if (!check_skip_count (&f, max_m, &layout, error))
    goto out;
  int64_t hidden[SC_MAX_SKIPS] = { 0 };
  gboolean present[SC_MAX_SKIPS] = { 0 };
  for (int m = 0; m < layout.n; m++)
    {
      if (!(present[m] = mlp_any (&f, SC_FMT, m)))
        continue;
      if ((hidden[m] = check_mlp (&f, SC_FMT, m, sc_skip_layout_decoder_chans (&layout, m), error)) < 0)
        goto out;
    }
  t = sc_sc_tuner_new_from_source (&layout, hidden, present, f.src, FALSE, error);
out:
  if (!t && error && *error)
    g_prefix_error (error, "Style tuner %s: ", path);
  tuner_file_close (&f);
  return t;
}

/* The encoder widths and dense kernel from the shapes, every tensor checked against layout. */
static gboolean
csc_spec_from_file (TunerFile *f, const ScSkipLayout *layout, ScCscSpec *spec, GError **error)
{
  memset (spec, 0, sizeof *spec);
  int nd;
  int64_t s[SC_MAX_DIMS];
  /* Widths: conv 0 [16ρ, 3, 3, 3], conv 2 [32ρ, …], conv 4 [96ρ, …], conv 6 [out, …]. */
  static const int width_conv[4] = { 0, 4, 8, 12 };
  for (int k = 0; k < 4; k++)
    {
      g_autofree char *key = g_strdup_printf ("0.pre_hint_blocks.%d.weight", width_conv[k]);
      if (!get_shape (f, key, &nd, s) || nd != 4)
        {
          g_set_error (error, SC_ERROR, SC_ERROR_MISSING_TENSOR, "%s: missing tensor “%s” (a 4-D conv weight)",
                       f->path, key);
          return FALSE;
        }
      if (k < 3)
        spec->pre_widths[k] = s[0];
      else
        spec->hint_out = s[0];
    }
  const char *dense0 = "0.dense_hint_blocks.0.1.weight";
  if (!get_shape (f, dense0, &nd, s) || nd != 4)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_MISSING_TENSOR, "%s: missing tensor “%s”", f->path, dense0);
      return FALSE;
    }
  spec->kernel = (int) s[2];
  if ((s[2] != 1 && s[2] != 3) || s[3] != s[2])
    {
      g_autofree char *got = sc_tensor_shape_string (nd, s);
      g_set_error (error, SC_ERROR, SC_ERROR_SHAPE, "Tensor “%s” in %s has shape %s: the dense hint kernel must be "
                   "1×1 or 3×3", orig_name (f, dense0), f->path, got);
      return FALSE;
    }
  /* Every encoder conv. */
  int64_t dims[8] = { 3, spec->pre_widths[0], spec->pre_widths[0], spec->pre_widths[1], spec->pre_widths[1],
                      spec->pre_widths[2], spec->pre_widths[2], spec->hint_out };
  for (int k = 0; k < 7; k++)
    {
      g_autofree char *w = g_strdup_printf ("0.pre_hint_blocks.%d.weight", 2 * k);
      g_autofree char *b = g_strdup_printf ("0.pre_hint_blocks.%d.bias", 2 * k);
      int64_t ws[4] = { dims[k + 1], dims[k], 3, 3 };
      if (!expect_shape (f, w, 4, ws, SC_ERROR_SHAPE, NULL, error) ||
          !expect_shape (f, b, 1, &dims[k + 1], SC_ERROR_SHAPE, NULL, error))
        return FALSE;
    }
  int max_i = max_index (f, "0.dense_hint_blocks.%d.1.weight");
  if (max_i != layout->n - 1)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_WRONG_MODEL,
                   "%s has %d dense hint blocks, this U-Net has %d skips: a controller for another architecture",
                   f->path, max_i + 1, layout->n);
      return FALSE;
    }
  int64_t prev = spec->hint_out;
  for (int i = 0; i < layout->n; i++)
    {
      g_autofree char *w = g_strdup_printf ("0.dense_hint_blocks.%d.1.weight", i);
      g_autofree char *b = g_strdup_printf ("0.dense_hint_blocks.%d.1.bias", i);
      g_autofree char *why = g_strdup_printf ("skip %d of this U-Net has %d channels; a controller for another "
                                              "architecture?", i, layout->chans[i]);
      int64_t ws[4] = { layout->chans[i], prev, spec->kernel, spec->kernel }, bs = layout->chans[i];
      if (!expect_shape (f, w, 4, ws, SC_ERROR_WRONG_MODEL, why, error) ||
          !expect_shape (f, b, 1, &bs, SC_ERROR_WRONG_MODEL, why, error))
        return FALSE;
      prev = layout->chans[i];
    }
  for (int m = 0; m < layout->n; m++)
    if ((spec->hidden[m] = check_mlp (f, CSC_FMT, m, sc_skip_layout_decoder_chans (layout, m), error)) < 0)
      return FALSE;
  return TRUE;
}

ScCscTuner *
sc_csc_tuner_load (const char *path, const ScUNetConfig *cfg, GError **error)
{
  ScSkipLayout layout;
  if (!sc_skip_layout_from_unet (cfg, &layout))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED, "U-Net with too many skips");
      return NULL;
    }
  TunerFile f;
  if (!tuner_file_open (&f, path, cfg->num_res_blocks + 1, error))
    return NULL;
  ScCscTuner *t = NULL;
  ScCscSpec spec;
  if (!f.km.csc)
    g_set_error (error, SC_ERROR, SC_ERROR_WRONG_MODEL, "%s is a style tuner, not a CSC-Tuner (controller)",
                 f.path);
  else if (csc_spec_from_file (&f, &layout, &spec, error))
    t = sc_csc_tuner_new_from_source (&layout, &spec, f.src, FALSE, error);
  if (!t && error && *error)
    g_prefix_error (error, "Controller %s: ", path);
  tuner_file_close (&f);
  return t;
}

/* ---- probe (scedit info) ------------------------------------------------------------------------------ */

void
sc_tuner_info_clear (ScTunerInfo *info)
{
  g_free (info->path);
  g_free (info->format);
  g_free (info->arch);
  g_free (info->condition);
  g_free (info->trigger);
  memset (info, 0, sizeof *info);
}

static char *
matching_presets (const ScSkipLayout *l)
{
  GString *s = g_string_new (NULL);
  for (int a = 0; a < SC_ARCH_COUNT_; a++)
    {
      ScSkipLayout pl;
      const ScArchConfig *ac = sc_arch_config ((ScArch) a);
      if (!sc_skip_layout_from_unet (&ac->unet, &pl) || pl.n != l->n)
        continue;
      gboolean same = TRUE;
      for (int i = 0; i < pl.n; i++)
        same = same && (l->chans[i] == 0 || l->chans[i] == pl.chans[i]);
      if (same)
        g_string_append_printf (s, "%s%s", s->len ? "|" : "", ac->name);
    }
  return g_string_free (s, s->len == 0);
}

gboolean
sc_tuner_probe (const char *path, ScTunerInfo *info, GError **error)
{
  memset (info, 0, sizeof *info);
  info->steps = -1;
  TunerFile f;
  if (!tuner_file_open (&f, path, 3, error))
    return FALSE;
  info->path = g_strdup (f.path);
  info->kind = f.km.csc ? SC_TUNER_KIND_CSC : SC_TUNER_KIND_SC;
  const char *fmt = file_meta (&f, "format");
  info->format = g_strdup (fmt && g_str_equal (fmt, "scedit-tuner") ? "scedit"
                           : f.km.csc                                ? "scepter-control"
                           : f.km.diffusers                          ? "swift-diffusers"
                           : f.km.swift                              ? "swift"
                                                                     : "scepter");
  /* Parameters, dtype and per-skip channels from the shapes. */
  g_autoptr (GPtrArray) names = sc_weight_source_names (f.src);
  gboolean dtype_set = FALSE;
  for (guint i = 0; i < names->len; i++)
    {
      int nd;
      int64_t s[SC_MAX_DIMS], n = 1;
      get_shape (&f, names->pdata[i], &nd, s);
      for (int d = 0; d < nd; d++)
        n *= s[d];
      info->params += n;
      if (!dtype_set)
        dtype_set = sc_weight_source_dtype (f.src, names->pdata[i], &info->dtype);
    }
  const char *mlp_fmt = f.km.csc ? CSC_FMT ".ln1.weight" : SC_FMT ".ln1.weight";
  int max_m = max_index (&f, mlp_fmt);
  info->layout.n = max_m + 1;
  info->ratio = -1;
  for (int m = 0; m <= max_m; m++)
    {
      g_autofree char *k = g_strdup_printf (mlp_fmt, m);
      int nd;
      int64_t s[SC_MAX_DIMS];
      if (!get_shape (&f, k, &nd, s) || nd != 2)
        continue;
      info->n_skips++;
      info->layout.chans[max_m - m] = (int) s[1];
      if (info->ratio < 0)
        info->ratio = (double) s[0] / (double) s[1];
    }
  if (f.km.csc)
    {
      int nd;
      int64_t s[SC_MAX_DIMS];
      if (get_shape (&f, "0.pre_hint_blocks.0.weight", &nd, s) && nd == 4)
        info->pre_hint_ratio = (double) s[0] / 16.0;
      if (get_shape (&f, "0.pre_hint_blocks.12.weight", &nd, s) && nd == 4)
        info->hint_out = s[0];
      if (get_shape (&f, "0.dense_hint_blocks.0.1.weight", &nd, s) && nd == 4)
        info->kernel = (int) s[2];
    }
  const char *arch = file_meta (&f, "arch");
  info->arch = arch ? g_strdup (arch) : matching_presets (&info->layout);
  info->condition = g_strdup (file_meta (&f, "condition"));
  info->trigger = g_strdup (file_meta (&f, "trigger"));
  const char *steps = file_meta (&f, "steps");
  if (steps)
    info->steps = g_ascii_strtoll (steps, NULL, 10);
  tuner_file_close (&f);
  return TRUE;
}

/* ---- writing ---------------------------------------------------------------------------------------- */

static void
add_mlp (ScSafetensorsWriter *w, const char *prefix, const ScSkipMlp *mlp)
{
  g_autofree char *w1 = g_strconcat (prefix, ".ln1.weight", NULL);
  g_autofree char *b1 = g_strconcat (prefix, ".ln1.bias", NULL);
  g_autofree char *w2 = g_strconcat (prefix, ".ln2.weight", NULL);
  g_autofree char *b2 = g_strconcat (prefix, ".ln2.bias", NULL);
  int64_t s1[2] = { mlp->l, mlp->c }, s2[2] = { mlp->c, mlp->l };
  sc_safetensors_writer_add_f32 (w, w1, SC_DTYPE_F32, 2, s1, mlp->ln1.w);
  sc_safetensors_writer_add_f32 (w, b1, SC_DTYPE_F32, 1, &mlp->l, mlp->ln1.b);
  sc_safetensors_writer_add_f32 (w, w2, SC_DTYPE_F32, 2, s2, mlp->ln2.w);
  sc_safetensors_writer_add_f32 (w, b2, SC_DTYPE_F32, 1, &mlp->c, mlp->ln2.b);
}

static void
add_conv (ScSafetensorsWriter *w, const char *prefix, const ScConv2d *c)
{
  g_autofree char *wn = g_strconcat (prefix, ".weight", NULL);
  g_autofree char *bn = g_strconcat (prefix, ".bias", NULL);
  int64_t s[4] = { c->out_c, c->in_c, c->k, c->k };
  /* [k, k, in, out] → the file's [out, in, k, k] */
  float *oihw = g_new (float, c->out_c * c->in_c * c->k * c->k);
  for (int64_t o = 0; o < c->out_c; o++)
    for (int64_t i = 0; i < c->in_c; i++)
      for (int y = 0; y < c->k; y++)
        for (int x = 0; x < c->k; x++)
          oihw[((o * c->in_c + i) * c->k + y) * c->k + x] = c->w[((y * c->k + x) * c->in_c + i) * c->out_c + o];
  sc_safetensors_writer_add (w, wn, SC_DTYPE_F32, 4, s, oihw, g_free);
  sc_safetensors_writer_add_f32 (w, bn, SC_DTYPE_F32, 1, &c->out_c, c->b);
}

static void
set_meta (ScSafetensorsWriter *w, const ScTunerMeta *meta, const char *kind)
{
  sc_safetensors_writer_set_metadata (w, "format", "scedit-tuner");
  sc_safetensors_writer_set_metadata (w, "kind", kind);
  if (!meta)
    return;
  if (meta->arch)
    sc_safetensors_writer_set_metadata (w, "arch", meta->arch);
  if (meta->condition)
    sc_safetensors_writer_set_metadata (w, "condition", meta->condition);
  if (meta->trigger)
    sc_safetensors_writer_set_metadata (w, "trigger", meta->trigger);
  if (meta->steps >= 0)
    {
      g_autofree char *s = g_strdup_printf ("%" G_GINT64_FORMAT, meta->steps);
      sc_safetensors_writer_set_metadata (w, "steps", s);
    }
}

static void
set_meta_double (ScSafetensorsWriter *w, const char *key, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  sc_safetensors_writer_set_metadata (w, key, g_ascii_dtostr (buf, sizeof buf, v));
}

static void
set_meta_int (ScSafetensorsWriter *w, const char *key, int64_t v)
{
  g_autofree char *s = g_strdup_printf ("%" G_GINT64_FORMAT, v);
  sc_safetensors_writer_set_metadata (w, key, s);
}

gboolean
sc_sc_tuner_save (const ScScTuner *t, const ScTunerMeta *meta, const char *path, GError **error)
{
  ScSafetensorsWriter *w = sc_safetensors_writer_new ();
  set_meta (w, meta, "sc");
  if (t->ratio > 0)
    set_meta_double (w, "ratio", t->ratio);
  for (int m = 0; m < t->layout.n; m++)
    if (t->mlp[m].present)
      {
        g_autofree char *prefix = g_strdup_printf (SC_FMT, m);
        add_mlp (w, prefix, &t->mlp[m]);
      }
  gboolean ok = sc_safetensors_writer_save (w, path, error);
  sc_safetensors_writer_free (w);
  return ok;
}

gboolean
sc_csc_tuner_save (const ScCscTuner *t, const ScTunerMeta *meta, const char *path, GError **error)
{
  ScSafetensorsWriter *w = sc_safetensors_writer_new ();
  set_meta (w, meta, "csc");
  set_meta_int (w, "kernel", t->spec.kernel);
  set_meta_int (w, "hint_out", t->spec.hint_out);
  set_meta_double (w, "pre_hint_ratio", (double) t->spec.pre_widths[0] / 16.0);
  set_meta_double (w, "ratio", (double) t->mlp[0].l / (double) t->mlp[0].c);
  for (int k = 0; k < 7; k++)
    {
      g_autofree char *prefix = g_strdup_printf ("0.pre_hint_blocks.%d", 2 * k);
      add_conv (w, prefix, &t->pre[k]);
    }
  for (int i = 0; i < t->layout.n; i++)
    {
      g_autofree char *prefix = g_strdup_printf ("0.dense_hint_blocks.%d.1", i);
      add_conv (w, prefix, &t->dense[i]);
    }
  for (int m = 0; m < t->layout.n; m++)
    {
      g_autofree char *prefix = g_strdup_printf (CSC_FMT, m);
      add_mlp (w, prefix, &t->mlp[m]);
    }
  gboolean ok = sc_safetensors_writer_save (w, path, error);
  sc_safetensors_writer_free (w);
  return ok;
}
