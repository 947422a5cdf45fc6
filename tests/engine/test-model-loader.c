/* Loading models as users have them: LDM single files and diffusers folders written by our own
 * make-model, in f32 and f16, must give the same network as the weights they were made from; broken
 * and foreign files must give errors that name the problem. */
#include "core/error.h"
#include "io/safetensors.h"
#include "models/make_model.h"
#include "models/model_loader.h"
#include "models/name_map.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define SEED 7

static char *tmpdir;

static char *
tmp_path (const char *leaf)
{
  return g_build_filename (tmpdir, leaf, NULL);
}

static char *
make (ScArch arch, ScLayout layout, ScDType dtype, const char *leaf)
{
  char *path = tmp_path (leaf);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      GError *error = NULL;
      g_assert_true (sc_make_model (arch, SEED, layout, dtype, path, &error));
      g_assert_no_error (error);
    }
  return path;
}

/* U-Net, text encoder and VAE decoder outputs for fixed inputs. */
typedef struct {
  float *unet, *text, *image;
  size_t n_unet, n_text, n_image;
} Outputs;

static void
outputs_clear (Outputs *o)
{
  g_free (o->unet);
  g_free (o->text);
  g_free (o->image);
}

static void
run_components (ScUNet *unet, ScClipText *text, ScVae *vae, const ScArchConfig *arch, Outputs *o)
{
  const ScBackend *be = sc_backend_cpu ();
  GError *error = NULL;
  const int64_t B = 2, H = 8, W = 8, C = 4, N = 77, ctx = arch->unet.context_dim;
  float *x = g_new (float, B * H * W * C), *context = g_new (float, B * N * ctx), t[2] = { 999.0f, 250.5f };
  for (int64_t i = 0; i < B * H * W * C; i++)
    x[i] = sinf ((float) i * 0.37f);
  for (int64_t i = 0; i < B * N * ctx; i++)
    context[i] = cosf ((float) i * 0.11f);
  o->n_unet = (size_t) (B * H * W * C);
  o->unet = g_new (float, o->n_unet);
  g_assert_true (sc_unet_forward (unet, be, x, B, H, W, t, context, N, o->unet, NULL, &error));
  g_assert_no_error (error);

  int32_t ids[77] = { 49406, 320, 1125, 539, 320, 2368, 49407 };
  for (int i = 7; i < 77; i++)
    ids[i] = arch->text.pad_id;
  o->n_text = (size_t) (N * arch->text.width);
  o->text = g_new (float, o->n_text);
  g_assert_true (sc_clip_text_forward (text, be, ids, 1, N, o->text, &error));
  g_assert_no_error (error);

  o->n_image = (size_t) (64 * 64 * 3);
  o->image = g_new (float, o->n_image);
  g_assert_true (sc_vae_decode (vae, be, x, 1, H, W, o->image, &error));
  g_assert_no_error (error);
  g_free (x);
  g_free (context);
}

static void
outputs_from_model (const char *path, Outputs *o)
{
  GError *error = NULL;
  ScModelOptions opts = { .components = SC_COMPONENT_UNET | SC_COMPONENT_TEXT | SC_COMPONENT_VAE_DECODER };
  g_autoptr (ScModel) m = sc_model_load (path, &opts, &error);
  g_assert_no_error (error);
  g_assert_nonnull (m);
  run_components (m->unet, m->text, m->vae, &m->arch, o);
}

static void
outputs_from_random (ScArch arch_id, Outputs *o)
{
  GError *error = NULL;
  const ScArchConfig *arch = sc_arch_config (arch_id);
  ScWeightSource *src = sc_weight_source_new_random (SEED);
  ScUNet *unet = sc_unet_new (&arch->unet, src, SC_LDM_UNET_PREFIX, &error);
  g_assert_no_error (error);
  ScClipText *text = sc_clip_text_new (&arch->text, src,
                                       arch->text.style == SC_TEXT_CLIP_HF ? SC_LDM_CLIP_PREFIX "text_model."
                                                                           : SC_LDM_OPENCLIP_PREFIX, &error);
  g_assert_no_error (error);
  ScVae *vae = sc_vae_new (&arch->vae, src, SC_LDM_VAE_PREFIX, FALSE, TRUE, &error);
  g_assert_no_error (error);
  run_components (unet, text, vae, arch, o);
  sc_unet_free (unet);
  sc_clip_text_free (text);
  sc_vae_free (vae);
  sc_weight_source_free (src);
}

static void
assert_same (const Outputs *a, const Outputs *b, double tol, const char *what)
{
  double eu = sc_test_max_rel_error (a->unet, b->unet, a->n_unet);
  double et = sc_test_max_rel_error (a->text, b->text, a->n_text);
  double ei = sc_test_max_rel_error (a->image, b->image, a->n_image);
  g_test_message ("%s: max rel error unet %.3g, text %.3g, vae %.3g", what, eu, et, ei);
  g_assert_cmpfloat (eu, <=, tol);
  g_assert_cmpfloat (et, <=, tol);
  g_assert_cmpfloat (ei, <=, tol);
}

/* The same weights reached through every layout give the same network: bit-for-bit in f32 (the name maps
 * and q/k/v splitting lose nothing); within f16 rounding for an f16 file. */
static void
check_layouts (ScArch arch, const char *tag)
{
  g_autofree char *ldm_leaf = g_strdup_printf ("%s.safetensors", tag);
  g_autofree char *dif_leaf = g_strdup_printf ("%s-diffusers", tag);
  g_autofree char *f16_leaf = g_strdup_printf ("%s-f16.safetensors", tag);
  g_autofree char *ldm = make (arch, SC_LAYOUT_LDM, SC_DTYPE_F32, ldm_leaf);
  g_autofree char *dif = make (arch, SC_LAYOUT_DIFFUSERS, SC_DTYPE_F32, dif_leaf);
  g_autofree char *f16 = make (arch, SC_LAYOUT_LDM, SC_DTYPE_F16, f16_leaf);
  Outputs r = { 0 }, a = { 0 }, b = { 0 }, c = { 0 };
  outputs_from_random (arch, &r);
  outputs_from_model (ldm, &a);
  outputs_from_model (dif, &b);
  outputs_from_model (f16, &c);
  assert_same (&a, &r, 0.0, "ldm f32 vs in-process");
  assert_same (&b, &r, 0.0, "diffusers f32 vs in-process");
  /* f16 weights: ~3 decimal digits per weight, compounded over the network */
  assert_same (&c, &r, 2e-2, "ldm f16 vs in-process");
  outputs_clear (&r);
  outputs_clear (&a);
  outputs_clear (&b);
  outputs_clear (&c);
}

static void
test_layouts_sd1 (void)
{
  check_layouts (SC_ARCH_TINY_SD1, "tiny-sd1");
}

static void
test_layouts_sd2 (void)
{
  check_layouts (SC_ARCH_TINY_SD2, "tiny-sd2");
}

static void
test_detection (void)
{
  GError *error = NULL;
  struct {
    ScArch arch;
    ScLayout layout;
    const char *leaf;
    ScFamily family;
    ScModelLayout expect_layout;
    const char *prediction_source;
  } cases[] = {
    { SC_ARCH_TINY_SD1, SC_LAYOUT_LDM, "tiny-sd1.safetensors", SC_FAMILY_SD1, SC_MODEL_LAYOUT_LDM_FILE, "architecture default" },
    { SC_ARCH_TINY_SD2, SC_LAYOUT_DIFFUSERS, "tiny-sd2-diffusers", SC_FAMILY_SD2, SC_MODEL_LAYOUT_DIFFUSERS_FOLDER, "scheduler_config.json" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = make (cases[i].arch, cases[i].layout, SC_DTYPE_F32, cases[i].leaf);
      g_autoptr (ScModel) m = sc_model_probe (path, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (m->arch.arch, ==, cases[i].arch);
      g_assert_true (m->arch_detected);
      g_assert_cmpint (m->arch.family, ==, cases[i].family);
      g_assert_cmpint (m->layout, ==, cases[i].expect_layout);
      g_assert_cmpint (m->prediction, ==, SC_PREDICTION_EPS);
      g_assert_cmpstr (m->prediction_source, ==, cases[i].prediction_source);
      g_assert_cmpint (m->present, ==, SC_COMPONENT_UNET | SC_COMPONENT_VAE_ENCODER | SC_COMPONENT_VAE_DECODER |
                                          SC_COMPONENT_TEXT);
      const ScArchConfig *ref = sc_arch_config (cases[i].arch);
      g_assert_cmpint (sc_model_stored_params (m, SC_COMPONENT_UNET), ==, sc_unet_config_param_count (&ref->unet));
    }
  /* a component folder of a diffusers model (its unet/) on its own */
  g_autofree char *unet_dir = tmp_path ("tiny-sd2-diffusers/unet");
  g_autoptr (ScModel) mu = sc_model_probe (unet_dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mu->arch.arch, ==, SC_ARCH_TINY_SD2);
  g_assert_cmpint (mu->layout, ==, SC_MODEL_LAYOUT_COMPONENT_FILE);
  g_assert_cmpint (mu->present, ==, SC_COMPONENT_UNET);

  /* --prediction overrides what the files say */
  g_autofree char *p1 = tmp_path ("tiny-sd1.safetensors");
  ScModelOptions opts = { .prediction = "v" };
  g_autoptr (ScModel) m = sc_model_probe (p1, &opts, &error);
  g_assert_no_error (error);
  g_assert_cmpint (m->prediction, ==, SC_PREDICTION_V);
}

/* Copies a made LDM file, dropping `drop` and/or replacing `reshape` by a tensor of another shape. */
static char *
edited_copy (const char *src_path, const char *leaf, const char *drop, const char *reshape)
{
  GError *error = NULL;
  ScSafetensors *st = sc_safetensors_open (src_path, &error);
  g_assert_no_error (error);
  ScSafetensorsWriter *w = sc_safetensors_writer_new ();
  float wrong[3] = { 1, 2, 3 };
  int64_t wrong_shape[1] = { 3 };
  for (size_t i = 0; i < sc_safetensors_count (st); i++)
    {
      const ScStEntry *e = sc_safetensors_get (st, i);
      if (drop && g_str_equal (e->name, drop))
        continue;
      if (reshape && g_str_equal (e->name, reshape))
        sc_safetensors_writer_add (w, e->name, SC_DTYPE_F32, 1, wrong_shape, wrong, NULL);
      else
        sc_safetensors_writer_add (w, e->name, e->dtype, e->ndim, e->shape, e->data, NULL);
    }
  char *path = tmp_path (leaf);
  g_assert_true (sc_safetensors_writer_save (w, path, &error));
  g_assert_no_error (error);
  sc_safetensors_writer_free (w);
  sc_safetensors_close (st);
  return path;
}

static void
expect_load_error (const char *path, const ScModelOptions *opts, int code, const char *needle)
{
  GError *error = NULL;
  ScModel *m = sc_model_load (path, opts, &error);
  g_assert_null (m);
  g_assert_error (error, SC_ERROR, code);
  g_test_message ("%s → %s", path, error->message);
  if (needle)
    g_assert_nonnull (strstr (error->message, needle));
  g_clear_error (&error);
}

static void
test_errors (void)
{
  g_autofree char *good = make (SC_ARCH_TINY_SD1, SC_LAYOUT_LDM, SC_DTYPE_F32, "tiny-sd1.safetensors");
  ScModelOptions no_tok = { .components = SC_COMPONENT_UNET | SC_COMPONENT_TEXT | SC_COMPONENT_VAE_DECODER };

  const char *victim = "model.diffusion_model.output_blocks.4.1.transformer_blocks.0.attn2.to_k.weight";
  g_autofree char *missing = edited_copy (good, "missing.safetensors", victim, NULL);
  expect_load_error (missing, &no_tok, SC_ERROR_MISSING_TENSOR, victim);

  const char *victim2 = "first_stage_model.decoder.up.1.block.0.conv1.weight";
  g_autofree char *misshaped = edited_copy (good, "misshaped.safetensors", NULL, victim2);
  expect_load_error (misshaped, &no_tok, SC_ERROR_SHAPE, victim2);

  /* a file of some other kind */
  ScSafetensorsWriter *w = sc_safetensors_writer_new ();
  float v[4] = { 0 };
  int64_t shape[1] = { 4 };
  sc_safetensors_writer_add (w, "lm_head.weight", SC_DTYPE_F32, 1, shape, v, NULL);
  g_autofree char *foreign = tmp_path ("foreign.safetensors");
  g_assert_true (sc_safetensors_writer_save (w, foreign, NULL));
  sc_safetensors_writer_free (w);
  expect_load_error (foreign, NULL, SC_ERROR_WRONG_MODEL, "lm_head.weight");

  /* the wrong forced architecture */
  ScModelOptions forced = { .arch = "tiny-sd2", .components = SC_COMPONENT_UNET };
  expect_load_error (good, &forced, SC_ERROR_WRONG_MODEL, "tiny-sd2");
  ScModelOptions unknown = { .arch = "sd99" };
  expect_load_error (good, &unknown, SC_ERROR_INVALID_ARGUMENT, "sd99");

  /* paths that are not models */
  g_autofree char *nowhere = tmp_path ("does-not-exist.safetensors");
  expect_load_error (nowhere, NULL, SC_ERROR_IO, "does-not-exist");
  g_autofree char *ckpt = tmp_path ("model.ckpt");
  g_assert_true (g_file_set_contents (ckpt, "PK\003\004", 4, NULL));
  expect_load_error (ckpt, NULL, SC_ERROR_FORMAT, "zip"); /* read as a torch archive, which it is not */
  g_autofree char *empty_dir = tmp_path ("empty-folder");
  g_mkdir (empty_dir, 0755);
  expect_load_error (empty_dir, NULL, SC_ERROR_WRONG_MODEL, "diffusers");

  /* a truncated checkpoint */
  gchar *bytes;
  gsize len;
  g_assert_true (g_file_get_contents (good, &bytes, &len, NULL));
  g_autofree char *cut = tmp_path ("truncated.safetensors");
  g_assert_true (g_file_set_contents (cut, bytes, (gssize) (len / 2), NULL));
  g_free (bytes);
  expect_load_error (cut, NULL, SC_ERROR_FORMAT, NULL);

  /* a text-only request on a U-Net-only file */
  g_autofree char *unet_only = edited_copy (good, "unet-only.safetensors", NULL, NULL);
  (void) unet_only;
}

static void
test_tokenizer_lookup (void)
{
  GError *error = NULL;
  g_autofree char *good = make (SC_ARCH_TINY_SD1, SC_LAYOUT_LDM, SC_DTYPE_F32, "tiny-sd1.safetensors");
  /* Nothing next to the model and no data folder: the error must say what to do. */
  g_setenv ("XDG_DATA_HOME", tmpdir, TRUE);
  g_unsetenv ("SCEDIT_VOCAB");
  ScClipTokenizer *t = sc_model_find_tokenizer (good, NULL, NULL, &error);
  g_assert_null (t);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "--vocab"));
  g_clear_error (&error);
  /* Next to the model, it is found without being named. */
  const char *shared = g_getenv ("SC_SHARED_DIR");
  if (!shared)
    {
      g_test_skip ("SC_SHARED_DIR not set");
      return;
    }
  g_autofree char *bpe = g_build_filename (shared, "data", "clip-bpe", "bpe_simple_vocab_16e6.txt.gz", NULL);
  g_autofree char *next_to = tmp_path ("bpe_simple_vocab_16e6.txt.gz");
  gchar *bytes;
  gsize len;
  g_assert_true (g_file_get_contents (bpe, &bytes, &len, NULL));
  g_assert_true (g_file_set_contents (next_to, bytes, (gssize) len, NULL));
  g_free (bytes);
  char *found = NULL;
  t = sc_model_find_tokenizer (good, NULL, &found, &error);
  g_assert_no_error (error);
  g_assert_nonnull (t);
  g_assert_cmpstr (found, ==, next_to);
  g_free (found);
  sc_clip_tokenizer_free (t);
  g_unlink (next_to);
}

static void
test_name_map_roundtrip (void)
{
  for (int a = SC_ARCH_TINY_SD1; a <= SC_ARCH_TINY_SD2; a++)
    {
      const ScArchConfig *arch = sc_arch_config ((ScArch) a);
      ScWeightSource *src = sc_weight_source_new_random (1);
      GError *error = NULL;
      ScUNet *u = sc_unet_new (&arch->unet, src, SC_LDM_UNET_PREFIX, &error);
      ScVae *v = sc_vae_new (&arch->vae, src, SC_LDM_VAE_PREFIX, TRUE, TRUE, &error);
      g_assert_no_error (error);
      const GPtrArray *recs = sc_weight_source_records (src);
      int checked = 0;
      for (guint i = 0; i < recs->len; i++)
        {
          const ScWeightRecord *r = recs->pdata[i];
          char *diff = NULL, *back = NULL;
          if (g_str_has_prefix (r->name, SC_LDM_UNET_PREFIX))
            {
              diff = sc_name_map_ldm_unet_to_diffusers (r->name + strlen (SC_LDM_UNET_PREFIX), &arch->unet);
              back = diff ? sc_name_map_diffusers_unet_to_ldm (diff, (gpointer) &arch->unet) : NULL;
            }
          else
            {
              diff = sc_name_map_ldm_vae_to_diffusers (r->name + strlen (SC_LDM_VAE_PREFIX), &arch->vae);
              back = diff ? sc_name_map_diffusers_vae_to_ldm (diff, (gpointer) &arch->vae) : NULL;
            }
          g_assert_nonnull (diff);
          g_assert_cmpstr (back, ==, r->name);
          g_free (diff);
          g_free (back);
          checked++;
        }
      g_assert_cmpint (checked, >, 300);
      sc_unet_free (u);
      sc_vae_free (v);
      sc_weight_source_free (src);
    }
  /* spot checks against stable-diffusion.md §6.3 */
  const ScUNetConfig *u = &sc_arch_config (SC_ARCH_SD15)->unet;
  g_autofree char *a = sc_name_map_diffusers_unet_to_ldm ("up_blocks.0.upsamplers.0.conv.weight", (gpointer) u);
  g_assert_cmpstr (a, ==, "model.diffusion_model.output_blocks.2.1.conv.weight");
  g_autofree char *b = sc_name_map_diffusers_unet_to_ldm ("up_blocks.2.upsamplers.0.conv.bias", (gpointer) u);
  g_assert_cmpstr (b, ==, "model.diffusion_model.output_blocks.8.2.conv.bias");
  g_autofree char *c = sc_name_map_diffusers_unet_to_ldm ("down_blocks.1.resnets.0.conv_shortcut.weight", (gpointer) u);
  g_assert_cmpstr (c, ==, "model.diffusion_model.input_blocks.4.0.skip_connection.weight");
  g_autofree char *d = sc_name_map_diffusers_unet_to_ldm ("mid_block.resnets.1.time_emb_proj.weight", (gpointer) u);
  g_assert_cmpstr (d, ==, "model.diffusion_model.middle_block.2.emb_layers.1.weight");
  const ScVaeConfig *vc = &sc_arch_config (SC_ARCH_SD15)->vae;
  g_autofree char *e = sc_name_map_diffusers_vae_to_ldm ("decoder.up_blocks.0.resnets.2.conv2.weight", (gpointer) vc);
  g_assert_cmpstr (e, ==, "first_stage_model.decoder.up.3.block.2.conv2.weight");
  g_autofree char *f = sc_name_map_diffusers_vae_to_ldm ("encoder.mid_block.attentions.0.to_out.0.weight", (gpointer) vc);
  g_assert_cmpstr (f, ==, "first_stage_model.encoder.mid.attn_1.proj_out.weight");
  const ScClipTextConfig *tc = &sc_arch_config (SC_ARCH_SD21)->text;
  g_autofree char *g = sc_name_map_hf_clip_to_ldm ("text_model.encoder.layers.3.self_attn.k_proj.bias", (gpointer) tc);
  g_assert_cmpstr (g, ==, "cond_stage_model.model.transformer.resblocks.3.attn.in_proj_bias#1");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("sc-loader-XXXXXX", NULL);
  g_test_add_func ("/loader/layouts-sd1", test_layouts_sd1);
  g_test_add_func ("/loader/layouts-sd2", test_layouts_sd2);
  g_test_add_func ("/loader/detection", test_detection);
  g_test_add_func ("/loader/errors", test_errors);
  g_test_add_func ("/loader/tokenizer-lookup", test_tokenizer_lookup);
  g_test_add_func ("/loader/name-map-roundtrip", test_name_map_roundtrip);
  int rc = g_test_run ();
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmpdir);
  (void) system (cmd);
  g_free (tmpdir);
  return rc;
}
