/* SCEdit tuners against the official scepter classes (fixtures by tests/reference/gen_scedit.py: SCTuner /
 * CSCTuners on a diffusers U-Net with our random weights; the tuners are `make-tuner --random-all` files,
 * rebuilt here with sc_*_tuner_new_random), the bit-exact guarantees of the tuner set, the hint cache,
 * the file formats and their errors, and the CLI (make-tuner, info, eval unet --tuner/--control). */
#include "backend/backend.h"
#include "core/error.h"
#include "core/tensor.h"
#include "io/safetensors.h"
#include "models/arch.h"
#include "models/unet.h"
#include "models/weights.h"
#include "scedit/control_input.h"
#include "scedit/tuner_io.h"
#include "scedit/tuner_set.h"
#include "test-cli-run.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

#define PREFIX "model.diffusion_model."

static const char *scedit;
static char *tmpdir;

/* ---- helpers ------------------------------------------------------------------------------------- */

static ScSafetensors *
fixture_open (const char *name)
{
  const char *dir = g_getenv ("SC_FIXTURES_DIR");
  g_assert_nonnull (dir);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr (GError) error = NULL;
  ScSafetensors *st = sc_safetensors_open (path, &error);
  g_assert_no_error (error);
  return st;
}

static float *
fixture_get (ScSafetensors *st, const char *name, int64_t *shape)
{
  const ScStEntry *e = sc_safetensors_find (st, name);
  g_assert_nonnull (e);
  if (shape)
    memcpy (shape, e->shape, sizeof (int64_t) * (size_t) e->ndim);
  float *v = g_new (float, e->numel);
  g_autoptr (GError) error = NULL;
  g_assert_true (sc_st_entry_to_f32 (e, v, &error));
  return v;
}

/* The tuners of gen_scedit.py (TUNERS there). */
static ScScTuner *
style_a (const ScSkipLayout *l, gboolean random_all)
{
  g_autoptr (GError) error = NULL;
  ScScTuner *t = sc_sc_tuner_new_random (l, 0.5, 11, random_all, &error);
  g_assert_no_error (error);
  return t;
}

static ScScTuner *
style_b (const ScSkipLayout *l)
{
  g_autoptr (GError) error = NULL;
  ScScTuner *t = sc_sc_tuner_new_random (l, 1.0, 12, TRUE, &error);
  g_assert_no_error (error);
  return t;
}

static ScCscTuner *
control_1 (const ScSkipLayout *l, gboolean random_all)
{
  g_autoptr (GError) error = NULL;
  ScCscTuner *t = sc_csc_tuner_new_random (l, 0.25, 64, 3, 1.0, 21, random_all, &error);
  g_assert_no_error (error);
  return t;
}

static ScCscTuner *
control_2 (const ScSkipLayout *l)
{
  g_autoptr (GError) error = NULL;
  ScCscTuner *t = sc_csc_tuner_new_random (l, 0.5, 48, 1, 0.5, 22, TRUE, &error);
  g_assert_no_error (error);
  return t;
}

/* One fixture's inputs, NHWC. */
typedef struct {
  ScArch arch;
  const ScUNetConfig *cfg;
  ScSkipLayout layout;
  ScUNet *unet;
  ScSafetensors *st;
  int64_t B, H, W, n_ctx, hh, hw;
  float *x, *t, *ctx, *hint1, *hint2; /* hints [1, hh, hw, 3] */
} Fixture;

static float *
hint_from_u8 (ScSafetensors *st, const char *name, int64_t *hh, int64_t *hw)
{
  int64_t s[4];
  g_autofree float *nchw = fixture_get (st, name, s); /* u8 values 0..255 */
  g_assert_cmpint (s[1], ==, 3);
  float *nhwc = g_new (float, s[0] * 3 * s[2] * s[3]);
  for (int64_t i = 0; i < s[0] * 3 * s[2] * s[3]; i++)
    nchw[i] = nchw[i] / 255.0f;
  sc_nchw_to_nhwc (nchw, nhwc, s[0], 3, s[2], s[3]);
  *hh = s[2], *hw = s[3];
  return nhwc;
}

static void
fixture_init (Fixture *f, const char *arch_name)
{
  memset (f, 0, sizeof *f);
  g_assert_true (sc_arch_from_name (arch_name, &f->arch));
  f->cfg = &sc_arch_config (f->arch)->unet;
  g_assert_true (sc_skip_layout_from_unet (f->cfg, &f->layout));
  g_autofree char *name = g_strdup_printf ("scedit-%s.safetensors", arch_name);
  f->st = fixture_open (name);
  g_assert_cmpstr (sc_safetensors_metadata (f->st, "arch"), ==, arch_name);
  uint64_t seed = g_ascii_strtoull (sc_safetensors_metadata (f->st, "model_seed"), NULL, 10);
  g_autoptr (GError) error = NULL;
  ScWeightSource *src = sc_weight_source_new_random (seed);
  f->unet = sc_unet_new (f->cfg, src, PREFIX, &error);
  g_assert_no_error (error);
  sc_weight_source_free (src);

  int64_t xs[4], cs[3];
  g_autofree float *x_nchw = fixture_get (f->st, "x", xs);
  f->B = xs[0], f->H = xs[2], f->W = xs[3];
  f->x = g_new (float, f->B * f->H * f->W * 4);
  sc_nchw_to_nhwc (x_nchw, f->x, f->B, 4, f->H, f->W);
  f->t = fixture_get (f->st, "t", NULL);
  f->ctx = fixture_get (f->st, "context", cs);
  f->n_ctx = cs[1];
  f->hint1 = hint_from_u8 (f->st, "hint1", &f->hh, &f->hw);
  f->hint2 = hint_from_u8 (f->st, "hint2", &f->hh, &f->hw);
}

static void
fixture_clear (Fixture *f)
{
  sc_unet_free (f->unet);
  sc_safetensors_close (f->st);
  g_free (f->x);
  g_free (f->t);
  g_free (f->ctx);
  g_free (f->hint1);
  g_free (f->hint2);
}

static int64_t
out_numel (const Fixture *f)
{
  return f->B * f->H * f->W * f->cfg->out_channels;
}

/* Runs the U-Net with SET (NULL: no hooks) into a new buffer (NHWC). */
static float *
run (Fixture *f, ScTunerSet *set)
{
  const ScBackend *be = sc_backend_cpu ();
  g_autoptr (GError) error = NULL;
  ScUNetHooks hooks;
  if (set)
    {
      g_assert_true (sc_tuner_set_prepare (set, be, f->H, f->W, &error));
      g_assert_no_error (error);
      sc_tuner_set_hooks (set, NULL, NULL, &hooks);
    }
  float *out = g_new (float, out_numel (f));
  g_assert_true (sc_unet_forward (f->unet, be, f->x, f->B, f->H, f->W, f->t, f->ctx, f->n_ctx, out,
                                  set ? &hooks : NULL, &error));
  g_assert_no_error (error);
  return out;
}

static void
add_style (ScTunerSet *set, ScScTuner *t, float s)
{
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (sc_tuner_set_add_style (set, t, s, &error), >=, 0);
  g_assert_no_error (error);
}

static int
add_control (ScTunerSet *set, Fixture *f, ScCscTuner *t, const float *hint, float w)
{
  g_autoptr (GError) error = NULL;
  int idx = sc_tuner_set_add_control (set, t, hint, 1, f->hh, f->hw, w, &error);
  g_assert_no_error (error);
  g_assert_cmpint (idx, >=, 0);
  return idx;
}

static ScTunerSet *
set_new (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  ScTunerSet *set = sc_tuner_set_new (f->cfg, &error);
  g_assert_no_error (error);
  return set;
}

/* ---- against scepter -------------------------------------------------------------------------------- */

static void
test_reference (gconstpointer data)
{
  Fixture f;
  fixture_init (&f, data);
  g_autoptr (ScScTuner) a = style_a (&f.layout, TRUE);
  g_autoptr (ScScTuner) b = style_b (&f.layout);
  g_autoptr (ScCscTuner) c1 = control_1 (&f.layout, TRUE);
  g_autoptr (ScCscTuner) c2 = control_2 (&f.layout);
  g_assert_cmpint (sc_sc_tuner_params (a), ==, sc_sc_tuner_config_params (&f.layout, 0.5));
  g_assert_cmpint (sc_csc_tuner_params (c1), ==, sc_csc_tuner_config_params (&f.layout, 0.25, 64, 3, 1.0));
  g_assert_cmpint (sc_csc_tuner_params (c2), ==, sc_csc_tuner_config_params (&f.layout, 0.5, 48, 1, 0.5));

  static const char *const cases[] = { "base", "sc", "sc_half", "two_styles", "ctrl", "full" };
  g_autofree float *base = NULL;
  for (size_t c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      const char *name = cases[c];
      g_autoptr (ScTunerSet) set = set_new (&f);
      if (g_str_equal (name, "sc"))
        add_style (set, a, 1.0f);
      else if (g_str_equal (name, "sc_half"))
        add_style (set, a, 0.5f);
      else if (g_str_equal (name, "two_styles"))
        add_style (set, a, 1.0f), add_style (set, b, 0.6f);
      else if (g_str_equal (name, "ctrl") || g_str_equal (name, "full"))
        {
          if (g_str_equal (name, "full"))
            {
              add_style (set, a, 0.7f);
              sc_tuner_set_set_control_scale (set, 0.9f);
            }
          add_control (set, &f, c1, f.hint1, 0.8f);
          add_control (set, &f, c2, f.hint2, 0.5f);
        }
      g_autofree float *out = run (&f, g_str_equal (name, "base") ? NULL : set);
      g_autofree char *key = g_strdup_printf ("%s.out", name);
      int64_t s[4];
      g_autofree float *ref_nchw = fixture_get (f.st, key, s);
      g_autofree float *ref = g_new (float, out_numel (&f));
      sc_nchw_to_nhwc (ref_nchw, ref, s[0], s[1], s[2], s[3]);
      double rel = sc_test_max_rel_error (out, ref, (size_t) out_numel (&f));
      g_test_message ("%s %s: max rel err %.3g vs scepter (diffusers U-Net)", (const char *) data, name, rel);
      g_assert_cmpfloat (rel, <=, 1e-4); /* the issue asks 1e-3; measured in the 1e-6 range */
      if (!base)
        base = g_steal_pointer (&out);
      else /* every case really changes the output */
        g_assert_cmpfloat (sc_test_max_rel_error (out, base, (size_t) out_numel (&f)), >, 1e-3);
    }
  fixture_clear (&f);
}

/* ---- bit-exact guarantees --------------------------------------------------------------------------- */

static void
test_zero_is_base (void)
{
  Fixture f;
  fixture_init (&f, "tiny-sd1");
  g_autofree float *base = run (&f, NULL);
  g_autoptr (ScScTuner) a = style_a (&f.layout, TRUE);
  g_autoptr (ScCscTuner) c1 = control_1 (&f.layout, TRUE);
  g_autoptr (ScCscTuner) c2 = control_2 (&f.layout);
  size_t bytes = sizeof (float) * (size_t) out_numel (&f);

  /* Everything at zero. */
  g_autoptr (ScTunerSet) set = set_new (&f);
  add_style (set, a, 0.0f);
  add_control (set, &f, c1, f.hint1, 0.0f);
  add_control (set, &f, c2, f.hint2, 0.0f);
  g_assert_false (sc_tuner_set_active (set));
  g_autofree float *out = run (&f, set);
  g_assert_cmpmem (out, bytes, base, bytes);
  g_assert_cmpint (sc_csc_tuner_encoder_runs (c1), ==, 0); /* weight 0: not even encoded */

  /* Weights on but control_scale 0. */
  sc_tuner_set_set_weight (set, 0, 0.8f);
  sc_tuner_set_set_control_scale (set, 0.0f);
  g_autofree float *out2 = run (&f, set);
  g_assert_cmpmem (out2, bytes, base, bytes);

  /* Freshly initialised tuners (ln2 and dense convs zero, as the official init) are the identity. */
  g_autoptr (ScScTuner) a0 = style_a (&f.layout, FALSE);
  g_autoptr (ScCscTuner) c0 = control_1 (&f.layout, FALSE);
  g_autoptr (ScTunerSet) init = set_new (&f);
  add_style (init, a0, 1.0f);
  add_control (init, &f, c0, f.hint1, 1.0f);
  g_assert_true (sc_tuner_set_active (init));
  g_autofree float *out3 = run (&f, init);
  g_assert_cmpmem (out3, bytes, base, bytes);
  fixture_clear (&f);
}

static void
test_weight_zero_is_absent (void)
{
  Fixture f;
  fixture_init (&f, "tiny-sd2");
  g_autoptr (ScScTuner) a = style_a (&f.layout, TRUE);
  g_autoptr (ScCscTuner) c1 = control_1 (&f.layout, TRUE);
  g_autoptr (ScCscTuner) c2 = control_2 (&f.layout);
  size_t bytes = sizeof (float) * (size_t) out_numel (&f);

  g_autoptr (ScTunerSet) with = set_new (&f);
  add_style (with, a, 0.7f);
  add_control (with, &f, c1, f.hint1, 0.0f);
  add_control (with, &f, c2, f.hint2, 0.5f);
  g_autoptr (ScTunerSet) without = set_new (&f);
  add_style (without, a, 0.7f);
  add_control (without, &f, c2, f.hint2, 0.5f);
  g_autofree float *o1 = run (&f, with);
  g_autofree float *o2 = run (&f, without);
  g_assert_cmpmem (o1, bytes, o2, bytes);
  g_assert_cmpint (sc_csc_tuner_encoder_runs (c1), ==, 0);
  fixture_clear (&f);
}

/* ---- hint placement ------------------------------------------------------------------------------ */

/* A picture of the init image's size lands on it, zeros around; another size fills the canvas; with no
 * init image the placement is plain fitting. */
static void
test_hint_place (void)
{
  GError *error = NULL;
  g_autoptr (ScImage) pic = sc_image_new (24, 16, 3, 8, NULL);
  guint8 *px = pic->data;
  for (int i = 0; i < 24 * 16 * 3; i++)
    px[i] = (guint8) ((i * 37) % 251);
  ScHintPlacement pl = { 40, 32, 8, 8, 24, 16 };
  g_autoptr (ScTensor) placed = sc_control_hint_place (pic, SC_CONTROL_SKETCH, NULL, &pl, &error);
  g_assert_no_error (error);
  g_autoptr (ScTensor) inner = sc_control_hint_from_image (pic, SC_CONTROL_SKETCH, NULL, 24, 16, &error);
  g_assert_no_error (error);
  g_assert_cmpint (placed->shape[1], ==, 32);
  g_assert_cmpint (placed->shape[2], ==, 40);
  int nonzero_inside = 0;
  for (int y = 0; y < 32; y++)
    for (int x = 0; x < 40; x++)
      for (int c = 0; c < 3; c++)
        {
          float v = placed->data[((size_t) y * 40 + x) * 3 + c];
          gboolean inside = x >= 8 && x < 32 && y >= 8 && y < 24;
          if (inside)
            {
              g_assert_cmpfloat (v, ==, inner->data[((size_t) (y - 8) * 24 + (x - 8)) * 3 + c]);
              nonzero_inside += v != 0.0f;
            }
          else
            g_assert_cmpfloat (v, ==, 0.0f);
        }
  g_assert_cmpint (nonzero_inside, >, 0);

  g_autoptr (ScImage) other = sc_image_new (10, 10, 3, 8, NULL);
  memset (other->data, 180, 300);
  g_autoptr (ScTensor) fitted = sc_control_hint_place (other, SC_CONTROL_HINT, NULL, &pl, &error);
  g_autoptr (ScTensor) whole = sc_control_hint_from_image (other, SC_CONTROL_HINT, NULL, 40, 32, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (fitted->data, sizeof (float) * 40 * 32 * 3, whole->data, sizeof (float) * 40 * 32 * 3);

  ScHintPlacement bad = { 16, 16, 8, 8, 24, 16 }; /* the picture would stick out */
  g_assert_null (sc_control_hint_place (pic, SC_CONTROL_SKETCH, NULL, &bad, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
}

/* ---- hint cache ---------------------------------------------------------------------------------- */

static void
test_hint_cache (void)
{
  Fixture f;
  fixture_init (&f, "tiny-sd1");
  g_autoptr (ScCscTuner) c1 = control_1 (&f.layout, TRUE);
  g_autoptr (ScCscTuner) c2 = control_2 (&f.layout);
  g_autoptr (ScTunerSet) set = set_new (&f);
  add_control (set, &f, c1, f.hint1, 0.8f);
  add_control (set, &f, c2, f.hint2, 0.5f);
  g_autofree float *o1 = run (&f, set);
  g_assert_cmpint (sc_csc_tuner_encoder_runs (c1), ==, 1);
  g_assert_cmpint (sc_csc_tuner_encoder_runs (c2), ==, 1);

  /* Several steps and weight changes: no new encoder run, and the output follows the weights. */
  for (int step = 0; step < 3; step++)
    {
      sc_tuner_set_set_weight (set, 0, 0.3f + 0.2f * (float) step);
      sc_tuner_set_set_control_scale (set, 1.0f - 0.1f * (float) step);
      g_autofree float *o = run (&f, set);
      g_assert_cmpfloat (sc_test_max_rel_error (o, o1, (size_t) out_numel (&f)), >, 1e-4);
    }
  g_assert_cmpint (sc_csc_tuner_encoder_runs (c1), ==, 1);
  g_assert_cmpint (sc_csc_tuner_encoder_runs (c2), ==, 1);

  /* A later request (new set: new prompt or seed) with the same pixels hits the cache. */
  g_autoptr (ScTunerSet) again = set_new (&f);
  add_control (again, &f, c1, f.hint1, 0.8f);
  add_control (again, &f, c2, f.hint2, 0.5f);
  g_autofree float *o2 = run (&f, again);
  size_t bytes = sizeof (float) * (size_t) out_numel (&f);
  g_assert_cmpmem (o2, bytes, o1, bytes);
  g_assert_cmpint (sc_csc_tuner_encoder_runs (c1), ==, 1);

  /* New pixels: one more run; going back to the old ones is still cached. */
  g_autoptr (GError) error = NULL;
  g_assert_true (sc_tuner_set_set_hint (again, 0, f.hint2, 1, f.hh, f.hw, &error));
  g_autofree float *o3 = run (&f, again);
  g_assert_cmpint (sc_csc_tuner_encoder_runs (c1), ==, 2);
  g_assert_true (sc_tuner_set_set_hint (again, 0, f.hint1, 1, f.hh, f.hw, &error));
  g_autofree float *o4 = run (&f, again);
  g_assert_cmpint (sc_csc_tuner_encoder_runs (c1), ==, 2);
  g_assert_cmpmem (o4, bytes, o1, bytes);

  /* A hint of the wrong size for the latent is a clear error. */
  g_autoptr (ScTunerSet) bad = set_new (&f);
  g_autofree float *small = g_new0 (float, 16 * 16 * 3);
  g_assert_cmpint (sc_tuner_set_add_control (bad, c1, small, 1, 16, 16, 1.0f, &error), ==, 0);
  g_assert_false (sc_tuner_set_prepare (bad, sc_backend_cpu (), f.H, f.W, &error));
  g_assert_error (error, SC_ERROR, SC_ERROR_SHAPE);
  g_test_message ("%s", error->message);
  fixture_clear (&f);
}

/* ---- files ---------------------------------------------------------------------------------------- */

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static void
assert_same_mlps (const ScSkipMlp *a, const ScSkipMlp *b, int n)
{
  for (int m = 0; m < n; m++)
    {
      g_assert_cmpint (a[m].present, ==, b[m].present);
      if (!a[m].present)
        continue;
      g_assert_cmpint (a[m].l, ==, b[m].l);
      g_assert_cmpmem (a[m].ln1.w, a[m].l * a[m].c * 4, b[m].ln1.w, b[m].l * b[m].c * 4);
      g_assert_cmpmem (a[m].ln2.b, a[m].c * 4, b[m].ln2.b, b[m].c * 4);
    }
}

/* Writes T's MLPs under key names made by fmt (m or b, r) into PATH. */
static void
write_sc_keys (const ScScTuner *t, const char *path, gboolean diffusers, const char *fmt)
{
  ScSafetensorsWriter *w = sc_safetensors_writer_new ();
  static const char *const leaves[] = { "ln1.weight", "ln1.bias", "ln2.weight", "ln2.bias" };
  for (int m = 0; m < t->layout.n; m++)
    {
      const ScSkipMlp *mlp = &t->mlp[m];
      g_autofree char *prefix = diffusers ? g_strdup_printf (fmt, m / 3, m % 3) : g_strdup_printf (fmt, m);
      for (int k = 0; k < 4; k++)
        {
          g_autofree char *key = g_strconcat (prefix, leaves[k], NULL);
          int64_t shape[2] = { k < 2 ? mlp->l : mlp->c, k == 0 ? mlp->c : mlp->l };
          const float *data = k == 0 ? mlp->ln1.w : k == 1 ? mlp->ln1.b : k == 2 ? mlp->ln2.w : mlp->ln2.b;
          sc_safetensors_writer_add_f32 (w, key, SC_DTYPE_F32, (k % 2) ? 1 : 2, shape, data);
        }
    }
  g_autoptr (GError) error = NULL;
  g_assert_true (sc_safetensors_writer_save (w, path, &error));
  g_assert_no_error (error);
  sc_safetensors_writer_free (w);
}

static void
test_formats (void)
{
  const ScUNetConfig *cfg = &sc_arch_config (SC_ARCH_TINY_SD1)->unet;
  ScSkipLayout l;
  sc_skip_layout_from_unet (cfg, &l);
  g_autoptr (ScScTuner) a = style_a (&l, TRUE);
  g_autoptr (GError) error = NULL;

  /* Ours (round trip), swift (folder with 0_SwiftSCETuning/), swift diffusers keys, native scepter. */
  g_autofree char *ours = tmp_path ("ours-sc.safetensors");
  ScTunerMeta meta = { .arch = "tiny-sd1", .trigger = "sks", .steps = 2000 };
  g_assert_true (sc_sc_tuner_save (a, &meta, ours, &error));
  g_autofree char *swift_dir = tmp_path ("swift");
  g_autofree char *swift_sub = g_build_filename (swift_dir, "0_SwiftSCETuning", NULL);
  g_assert_cmpint (g_mkdir_with_parents (swift_sub, 0755), ==, 0);
  g_autofree char *swift = g_build_filename (swift_sub, "adapter_model.safetensors", NULL);
  write_sc_keys (a, swift, FALSE, "model.lsc_identity.%d.scetuner_0_SwiftSCETuning.tuner_op.");
  g_autofree char *diff = tmp_path ("swift-diffusers.safetensors");
  write_sc_keys (a, diff, TRUE, "unet.up_blocks.%d.resnets.%d.scetuner_style.tuner_op.");
  g_autofree char *native = tmp_path ("native.safetensors");
  write_sc_keys (a, native, FALSE, "lsc_identity.%d.tuner_op.");
  const char *paths[] = { ours, swift_dir, diff, native };
  const char *formats[] = { "scedit", "swift", "swift-diffusers", "scepter" };
  for (size_t i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autoptr (ScScTuner) t = sc_sc_tuner_load (paths[i], cfg, &error);
      g_assert_no_error (error);
      assert_same_mlps (a->mlp, t->mlp, l.n);
      ScTunerInfo info;
      g_assert_true (sc_tuner_probe (paths[i], &info, &error));
      g_assert_cmpstr (info.format, ==, formats[i]);
      g_assert_cmpint (info.params, ==, sc_sc_tuner_params (a));
      g_assert_cmpint (info.n_skips, ==, 12);
      g_assert_true (strstr (info.arch, "tiny-sd1") != NULL);
      sc_tuner_info_clear (&info);
    }

  /* CSC: ours, and the controller keys with "model.0." in a 0_SwiftSCETuning folder. */
  g_autoptr (ScCscTuner) c = control_2 (&l);
  g_autofree char *csc_path = tmp_path ("ours-csc.safetensors");
  ScTunerMeta cmeta = { .arch = "tiny-sd1", .condition = "canny", .steps = -1 };
  g_assert_true (sc_csc_tuner_save (c, &cmeta, csc_path, &error));
  g_autoptr (ScCscTuner) c_back = sc_csc_tuner_load (csc_path, cfg, &error);
  g_assert_no_error (error);
  g_assert_cmpint (c_back->spec.kernel, ==, 1);
  g_assert_cmpint (c_back->spec.hint_out, ==, 48);
  g_assert_cmpint (c_back->spec.pre_widths[0], ==, 8);
  g_assert_cmpint (sc_csc_tuner_params (c_back), ==, sc_csc_tuner_params (c));
  assert_same_mlps (c->mlp, c_back->mlp, l.n);
  g_assert_cmpmem (c->dense[5].w, 4 * c->dense[5].in_c * c->dense[5].out_c, c_back->dense[5].w,
                   4 * c->dense[5].in_c * c->dense[5].out_c);
  {
    ScSafetensors *st = sc_safetensors_open (csc_path, &error);
    g_assert_no_error (error);
    ScSafetensorsWriter *w = sc_safetensors_writer_new ();
    for (size_t i = 0; i < sc_safetensors_count (st); i++)
      {
        const ScStEntry *e = sc_safetensors_get (st, i);
        g_autofree char *key = g_strconcat ("model.", e->name, NULL);
        sc_safetensors_writer_add (w, key, e->dtype, e->ndim, e->shape, e->data, NULL);
      }
    g_autofree char *dir = tmp_path ("ctrl/0_SwiftSCETuning");
    g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
    g_autofree char *p = g_build_filename (dir, "pytorch_model.safetensors", NULL);
    g_assert_true (sc_safetensors_writer_save (w, p, &error));
    sc_safetensors_writer_free (w);
    sc_safetensors_close (st);
    g_autofree char *top = tmp_path ("ctrl");
    g_autoptr (ScCscTuner) c_scepter = sc_csc_tuner_load (top, cfg, &error);
    g_assert_no_error (error);
    assert_same_mlps (c->mlp, c_scepter->mlp, l.n);
    ScTunerInfo info;
    g_assert_true (sc_tuner_probe (top, &info, &error));
    g_assert_cmpint (info.kind, ==, SC_TUNER_KIND_CSC);
    g_assert_cmpstr (info.format, ==, "scepter-control");
    g_assert_cmpint (info.kernel, ==, 1);
    sc_tuner_info_clear (&info);
  }
}

/* The published pickle layouts (torch.save by tests/reference/gen_tuner_bin.py of tuners our make-tuner
 * wrote): a swift adapter_model.bin and a scepter controller pytorch_model.bin give exactly the same
 * parameters as the tuners made in-process from the same seeds. */
static void
test_pickle_formats (void)
{
  const ScUNetConfig *cfg = &sc_arch_config (SC_ARCH_TINY_SD1)->unet;
  ScSkipLayout l;
  sc_skip_layout_from_unet (cfg, &l);
  g_autoptr (GError) error = NULL;
  g_autofree char *swift = g_build_filename (g_getenv ("SC_FIXTURES_DIR"), "tuner-swift", NULL);
  g_autofree char *ctr = g_build_filename (g_getenv ("SC_FIXTURES_DIR"), "tuner-scepter-ctr", NULL);

  g_autoptr (ScScTuner) want_sc = sc_sc_tuner_new_random (&l, 0.25, 11, TRUE, &error);
  g_assert_no_error (error);
  g_autoptr (ScScTuner) got_sc = sc_sc_tuner_load (swift, cfg, &error);
  g_assert_no_error (error);
  assert_same_mlps (want_sc->mlp, got_sc->mlp, l.n);

  g_autoptr (ScCscTuner) want_csc = sc_csc_tuner_new_random (&l, 0.25, 16, 1, 0.25, 12, TRUE, &error);
  g_assert_no_error (error);
  g_autoptr (ScCscTuner) got_csc = sc_csc_tuner_load (ctr, cfg, &error);
  g_assert_no_error (error);
  g_assert_cmpint (got_csc->spec.kernel, ==, 1);
  g_assert_cmpint (got_csc->spec.hint_out, ==, 16);
  g_assert_cmpint (sc_csc_tuner_params (got_csc), ==, sc_csc_tuner_params (want_csc));
  assert_same_mlps (want_csc->mlp, got_csc->mlp, l.n);
  for (int i = 0; i < l.n; i++)
    g_assert_cmpmem (want_csc->dense[i].w, 4 * want_csc->dense[i].in_c * want_csc->dense[i].out_c,
                     got_csc->dense[i].w, 4 * got_csc->dense[i].in_c * got_csc->dense[i].out_c);

  ScTunerInfo info;
  g_assert_true (sc_tuner_probe (swift, &info, &error));
  g_assert_cmpint (info.params, ==, sc_sc_tuner_params (want_sc));
  sc_tuner_info_clear (&info);
}

static void
expect_load_error (const char *path, const ScUNetConfig *cfg, gboolean csc, int code, const char *needle)
{
  g_autoptr (GError) error = NULL;
  gpointer t = csc ? (gpointer) sc_csc_tuner_load (path, cfg, &error) : (gpointer) sc_sc_tuner_load (path, cfg, &error);
  g_assert_null (t);
  g_assert_error (error, SC_ERROR, code);
  g_test_message ("%s", error->message);
  if (needle)
    g_assert_nonnull (strstr (error->message, needle));
}

static void
test_bad_files (void)
{
  const ScUNetConfig *tiny = &sc_arch_config (SC_ARCH_TINY_SD1)->unet;
  const ScUNetConfig *sd15 = &sc_arch_config (SC_ARCH_SD15)->unet;
  ScSkipLayout l, l15;
  sc_skip_layout_from_unet (tiny, &l);
  sc_skip_layout_from_unet (sd15, &l15);
  g_autoptr (GError) error = NULL;

  /* A tuner for another architecture: SD1.5 (ratio 0.1: small) on the tiny U-Net, and back. */
  g_autoptr (ScScTuner) big = sc_sc_tuner_new_random (&l15, 0.1, 1, FALSE, &error);
  g_autofree char *big_path = tmp_path ("sd15-sc.safetensors");
  g_assert_true (sc_sc_tuner_save (big, NULL, big_path, &error));
  expect_load_error (big_path, tiny, FALSE, SC_ERROR_WRONG_MODEL, "model.lsc_identity.0.tuner_op.ln1.weight");
  g_autoptr (ScCscTuner) c = control_2 (&l);
  g_autofree char *c_path = tmp_path ("tiny-csc.safetensors");
  g_assert_true (sc_csc_tuner_save (c, NULL, c_path, &error));
  expect_load_error (c_path, sd15, TRUE, SC_ERROR_WRONG_MODEL, "0.dense_hint_blocks.0.1.weight");
  /* The wrong kind. */
  expect_load_error (c_path, tiny, FALSE, SC_ERROR_WRONG_MODEL, "CSC");
  expect_load_error (big_path, sd15, TRUE, SC_ERROR_WRONG_MODEL, "style tuner");
  /* And an already-loaded tuner of another architecture is refused by the set. */
  g_autoptr (ScTunerSet) set = sc_tuner_set_new (tiny, &error);
  g_assert_cmpint (sc_tuner_set_add_style (set, big, 1.0f, &error), ==, -1);
  g_assert_error (error, SC_ERROR, SC_ERROR_WRONG_MODEL);
  g_clear_error (&error);

  /* Wrong shapes and missing tensors, via a copy of a good file with one entry changed. */
  g_autoptr (ScScTuner) a = style_a (&l, TRUE);
  struct {
    const char *drop, *reshape, *needle;
    int code;
  } cases[] = {
    { "model.lsc_identity.4.tuner_op.ln2.bias", NULL, "model.lsc_identity.4.tuner_op.ln2.bias", SC_ERROR_MISSING_TENSOR },
    { NULL, "model.lsc_identity.7.tuner_op.ln1.bias", "model.lsc_identity.7.tuner_op.ln1.bias", SC_ERROR_SHAPE },
  };
  g_autofree char *good = tmp_path ("good-sc.safetensors");
  g_assert_true (sc_sc_tuner_save (a, NULL, good, &error));
  for (size_t k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      ScSafetensors *st = sc_safetensors_open (good, &error);
      g_assert_no_error (error);
      ScSafetensorsWriter *w = sc_safetensors_writer_new ();
      for (size_t i = 0; i < sc_safetensors_count (st); i++)
        {
          const ScStEntry *e = sc_safetensors_get (st, i);
          if (cases[k].drop && g_str_equal (e->name, cases[k].drop))
            continue;
          int64_t shape[SC_MAX_DIMS];
          memcpy (shape, e->shape, sizeof shape);
          if (cases[k].reshape && g_str_equal (e->name, cases[k].reshape))
            shape[0] -= 1; /* a prefix of the data, one element short */
          sc_safetensors_writer_add (w, e->name, e->dtype, e->ndim, shape, e->data, NULL);
        }
      g_autofree char *bad = tmp_path ("bad-sc.safetensors");
      g_assert_true (sc_safetensors_writer_save (w, bad, &error));
      sc_safetensors_writer_free (w);
      sc_safetensors_close (st);
      expect_load_error (bad, tiny, FALSE, cases[k].code, cases[k].needle);
    }

  /* Not a tuner at all; a .bin (not read yet); nothing there. */
  {
    ScSafetensorsWriter *w = sc_safetensors_writer_new ();
    float v[2] = { 1, 2 };
    int64_t s = 2;
    sc_safetensors_writer_add_f32 (w, "model.diffusion_model.out.2.bias", SC_DTYPE_F32, 1, &s, v);
    g_autofree char *p = tmp_path ("not-a-tuner.safetensors");
    g_assert_true (sc_safetensors_writer_save (w, p, &error));
    sc_safetensors_writer_free (w);
    expect_load_error (p, tiny, FALSE, SC_ERROR_WRONG_MODEL, "no SCEdit tuner tensors");
    g_autofree char *dir = tmp_path ("bin/0_SwiftSCETuning");
    g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
    g_autofree char *bin = g_build_filename (dir, "adapter_model.bin", NULL);
    /* a broken pickle archive: read by the restricted unpickler, refused as malformed */
    g_assert_true (g_file_set_contents (bin, "PK\003\004 not really a zip", -1, NULL));
    g_autofree char *top = tmp_path ("bin");
    expect_load_error (top, tiny, FALSE, SC_ERROR_FORMAT, "adapter_model.bin");
    g_autofree char *none = tmp_path ("does-not-exist");
    expect_load_error (none, tiny, TRUE, SC_ERROR_IO, "does-not-exist");
  }
}

/* ---- parameter counts and the CLI ----------------------------------------------------------------- */


static void
test_param_counts (void)
{
  /* scedit.md §1.3, §2.5 (verified by instantiating the official classes). */
  ScSkipLayout l15, l21;
  sc_skip_layout_from_unet (&sc_arch_config (SC_ARCH_SD15)->unet, &l15);
  sc_skip_layout_from_unet (&sc_arch_config (SC_ARCH_SD21)->unet, &l21);
  g_assert_cmpint (sc_sc_tuner_config_params (&l15, 1.0), ==, 19680000);
  g_assert_cmpint (sc_sc_tuner_config_params (&l15, 0.1), ==, 1976640);
  g_assert_cmpint (sc_csc_tuner_config_params (&l21, 1.0, 256, 1, 1.0), ==, 28824400);
  g_assert_cmpint (sc_csc_tuner_config_params (&l21, 1.0, 256, 3, 1.0), ==, 99111760);
  g_assert_cmpint (sc_csc_tuner_config_params (&l21, 1.0, 256, 3, 1.0) - sc_sc_tuner_config_params (&l21, 1.0)
                   - 79082880, ==, 348880);

  /* Through the CLI: files written by make-tuner, counted by info. The SD2.1 k=3 file (400 MB) is left to
   * the configuration count above. */
  struct {
    const char *kind, *arch, *ratio, *kernel, *want;
  } cases[] = {
    { "sc", "sd15", "1", "3", "params.trainable: 19680000\n" },
    { "sc", "sd15", "0.1", "3", "params.trainable: 1976640\n" },
    { "csc", "sd21", "1", "1", "params.trainable: 28824400\n" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *p = tmp_path ("cli-tuner.safetensors");
      ScTestRun r = sc_test_run_scedit ("make-tuner", "--kind", cases[i].kind, "--arch", cases[i].arch, "--ratio", cases[i].ratio,
                   "--kernel", cases[i].kernel, "-o", p, NULL);
      g_assert_cmpint (r.status, ==, 0);
      sc_test_run_clear (&r);
      r = sc_test_run_scedit ("info", p, NULL);
      g_assert_cmpint (r.status, ==, 0);
      g_test_message ("%s", r.out);
      g_assert_nonnull (strstr (r.out, cases[i].want));
      g_assert_nonnull (strstr (r.out, g_str_equal (cases[i].kind, "sc") ? "kind: sc-tuner\n" : "kind: csc-tuner\n"));
      g_assert_nonnull (strstr (r.out, "arch: "));
      sc_test_run_clear (&r);
      g_remove (p);
    }
  ScTestRun r = sc_test_run_scedit ("make-tuner", "--kind", "xx", "--arch", "sd15", "-o", "x", NULL);
  g_assert_cmpint (r.status, ==, 2);
  sc_test_run_clear (&r);
}

/* eval unet with --tuner/--control reproduces the fixture's "full" case. */
static void
test_cli_eval (void)
{
  Fixture f;
  fixture_init (&f, "tiny-sd1");
  g_autofree char *model = tmp_path ("model.safetensors");
  const char *seed = sc_safetensors_metadata (f.st, "model_seed");
  ScTestRun r = sc_test_run_scedit ("make-model", "--arch", "tiny-sd1", "--seed", seed, "-o", model, NULL);
  g_assert_cmpint (r.status, ==, 0);
  sc_test_run_clear (&r);
  g_autofree char *ta = tmp_path ("A.safetensors");
  g_autofree char *tc1 = tmp_path ("C1.safetensors");
  g_autofree char *tc2 = tmp_path ("C2.safetensors");
  const char *const *argsets[] = {
    (const char *const[]) { "--kind", "sc", "--ratio", "0.5", "--seed", "11", NULL },
    (const char *const[]) { "--kind", "csc", "--kernel", "3", "--hint-ratio", "0.25", "--hint-out", "64", "--seed",
                            "21", NULL },
    (const char *const[]) { "--kind", "csc", "--kernel", "1", "--hint-ratio", "0.5", "--hint-out", "48", "--ratio",
                            "0.5", "--seed", "22", NULL },
  };
  const char *outs[] = { ta, tc1, tc2 };
  for (int k = 0; k < 3; k++)
    {
      GPtrArray *args = g_ptr_array_new ();
      for (const char *const *a = (const char *const[]) { "make-tuner", "--arch", "tiny-sd1", "--random-all", "-o",
                                                          outs[k], NULL };
           *a; a++)
        g_ptr_array_add (args, (char *) *a);
      for (const char *const *a = argsets[k]; *a; a++)
        g_ptr_array_add (args, (char *) *a);
      g_ptr_array_add (args, NULL);
      ScTestRun m = sc_test_run_scedit_argv ((const char *const *) args->pdata);
      g_ptr_array_unref (args);
      g_assert_cmpint (m.status, ==, 0);
      sc_test_run_clear (&m);
    }
  /* Inputs as PyTorch has them (NCHW), hints in [0, 1]. */
  g_autofree char *in = tmp_path ("in.safetensors");
  ScSafetensorsWriter *w = sc_safetensors_writer_new ();
  static const char *const names[] = { "x", "t", "context" };
  for (int k = 0; k < 3; k++)
    {
      const ScStEntry *e = sc_safetensors_find (f.st, names[k]);
      sc_safetensors_writer_add (w, e->name, e->dtype, e->ndim, e->shape, e->data, NULL);
    }
  float *hints_nchw[2];
  for (int k = 0; k < 2; k++)
    {
      hints_nchw[k] = g_new (float, 3 * f.hh * f.hw);
      sc_nhwc_to_nchw (k ? f.hint2 : f.hint1, hints_nchw[k], 1, f.hh, f.hw, 3);
      int64_t s[4] = { 1, 3, f.hh, f.hw };
      sc_safetensors_writer_add (w, k ? "hint2" : "hint1", SC_DTYPE_F32, 4, s, hints_nchw[k], g_free);
    }
  g_autoptr (GError) error = NULL;
  g_assert_true (sc_safetensors_writer_save (w, in, &error));
  sc_safetensors_writer_free (w);
  g_autofree char *out = tmp_path ("out.safetensors");
  g_autofree char *tuner_arg = g_strdup_printf ("%s:0.7", ta);
  r = sc_test_run_scedit ("eval", "unet", "-m", model, "--in", in, "-o", out, "--tuner", tuner_arg, "--control", tc1, "--hint", "hint1",
           "--cond-weight", "0.8", "--control", tc2, "--hint", "hint2", "--cond-weight", "0.5", "--control-scale",
           "0.9", NULL);
  if (r.status != 0)
    g_printerr ("%s", r.err);
  g_assert_cmpint (r.status, ==, 0);
  sc_test_run_clear (&r);
  ScSafetensors *st = sc_safetensors_open (out, &error);
  g_assert_no_error (error);
  g_autofree float *got = fixture_get (st, "out", NULL);
  g_autofree float *want = fixture_get (f.st, "full.out", NULL);
  double rel = sc_test_max_rel_error (got, want, (size_t) out_numel (&f));
  g_test_message ("eval unet --tuner --control: max rel err %.3g vs scepter", rel);
  g_assert_cmpfloat (rel, <=, 1e-4);
  sc_safetensors_close (st);

  /* A tuner for another architecture fails cleanly. */
  g_autofree char *sd15 = tmp_path ("sd15-r01.safetensors");
  r = sc_test_run_scedit ("make-tuner", "--kind", "sc", "--arch", "sd15", "--ratio", "0.1", "-o", sd15, NULL);
  sc_test_run_clear (&r);
  r = sc_test_run_scedit ("eval", "unet", "-m", model, "--in", in, "-o", out, "--tuner", sd15, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "lsc_identity.0.tuner_op.ln1.weight"));
  sc_test_run_clear (&r);
  fixture_clear (&f);
}

static void
rm_rf (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      GDir *d = g_dir_open (path, 0, NULL);
      const char *name;
      while (d && (name = g_dir_read_name (d)))
        {
          g_autofree char *p = g_build_filename (path, name, NULL);
          rm_rf (p);
        }
      if (d)
        g_dir_close (d);
    }
  g_remove (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  scedit = g_getenv ("SC_SCEDIT");
  tmpdir = g_dir_make_tmp ("sc-scedit-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);
  g_test_add_data_func ("/scedit/reference/tiny-sd1", "tiny-sd1", test_reference);
  g_test_add_data_func ("/scedit/reference/tiny-sd2", "tiny-sd2", test_reference);
  g_test_add_func ("/scedit/zero-is-base", test_zero_is_base);
  g_test_add_func ("/scedit/weight-zero-is-absent", test_weight_zero_is_absent);
  g_test_add_func ("/scedit/hint-cache", test_hint_cache);
  g_test_add_func ("/scedit/hint-place", test_hint_place);
  g_test_add_func ("/scedit/formats", test_formats);
  g_test_add_func ("/scedit/pickle-formats", test_pickle_formats);
  g_test_add_func ("/scedit/bad-files", test_bad_files);
  g_test_add_func ("/scedit/param-counts", test_param_counts);
  if (scedit)
    g_test_add_func ("/scedit/cli-eval", test_cli_eval);
  int status = g_test_run ();
  rm_rf (tmpdir);
  g_free (tmpdir);
  return status;
}
