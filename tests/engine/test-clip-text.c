/* The CLIP text encoders against transformers' CLIPTextModel (tests/fixtures/clip-text-tiny-sd{1,2}.safetensors,
 * written by tests/reference/gen_clip_text.py from `scedit make-model` weights; reference in float64).
 * SD1: OpenAI CLIP in HF names; SD2: OpenCLIP names with packed in_proj, penultimate layer + ln_final (the
 * reference is diffusers' converted model: q/k/v split, last layer dropped). Also: causality (a prefix of
 * the tokens gives the same prefix of outputs), parameter counts (§1.5), unused tensors, errors. */
#include "backend/backend.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "models/arch.h"
#include "models/clip_text.h"
#include "models/weights.h"
#include "test-util.h"

#include <math.h>
#include <string.h>

#define TOLERANCE 1e-5 /* max|ours − ref| / max|ref|; the brief allows 1e-4 for fp32, we measure ~6e-7 */

static const char *
ldm_prefix (const ScClipTextConfig *cfg)
{
  return cfg->style == SC_TEXT_CLIP_HF ? "cond_stage_model.transformer.text_model." : "cond_stage_model.model.";
}

static void
check_fixture (ScArch arch_id)
{
  const ScArchConfig *arch = sc_arch_config (arch_id);
  const ScClipTextConfig *cfg = &arch->text;
  const char *dir = g_getenv ("SC_FIXTURES_DIR");
  g_autofree char *leaf = g_strdup_printf ("clip-text-%s.safetensors", arch->name);
  g_autofree char *path = g_build_filename (dir ? dir : "tests/fixtures", leaf, NULL);
  g_autoptr (GError) error = NULL;
  ScSafetensors *st = sc_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sc_safetensors_metadata (st, "generator"), ==, "tests/reference/gen_clip_text.py");
  g_assert_cmpstr (sc_safetensors_metadata (st, "arch"), ==, arch->name);
  uint64_t seed = g_ascii_strtoull (sc_safetensors_metadata (st, "weight_seed"), NULL, 10);

  const ScStEntry *ids_e = sc_safetensors_find (st, "ids"), *hid_e = sc_safetensors_find (st, "hidden");
  g_assert_nonnull (ids_e);
  g_assert_nonnull (hid_e);
  g_assert_cmpint (ids_e->dtype, ==, SC_DTYPE_I32);
  g_assert_cmpint (ids_e->ndim, ==, 2);
  int64_t B = ids_e->shape[0], n = ids_e->shape[1], W = cfg->width;
  g_assert_true (hid_e->ndim == 3 && hid_e->shape[0] == B && hid_e->shape[1] == n && hid_e->shape[2] == W);
  g_autofree int32_t *ids = g_new (int32_t, B * n);
  memcpy (ids, ids_e->data, sizeof (int32_t) * (size_t) (B * n));
  g_autofree float *want = g_new (float, hid_e->numel);
  g_assert_true (sc_st_entry_to_f32 (hid_e, want, &error));
  /* Row 0 ends in the family's pad id. */
  g_assert_cmpint (ids[n - 1], ==, cfg->pad_id);

  ScWeightSource *src = sc_weight_source_new_random (seed);
  ScClipText *te = sc_clip_text_new (cfg, src, ldm_prefix (cfg), &error);
  g_assert_no_error (error);
  g_autofree float *got = g_new0 (float, B * n * W);
  g_assert_true (sc_clip_text_forward (te, sc_backend_cpu (), ids, B, n, got, &error));
  g_assert_no_error (error);
  double rel = sc_test_max_rel_error (got, want, B * n * W);
  g_test_message ("%s text encoder, %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT ": max relative error %.3g",
                  arch->name, B, n, rel);
  g_assert_cmpfloat (rel, <=, TOLERANCE);

  /* Causal attention: the first 7 tokens alone give the first 7 outputs (per sequence). */
  const int64_t k = 7;
  for (int64_t b = 0; b < B; b++)
    {
      float part[7 * 1024];
      g_assert_cmpint (k * W, <=, (int64_t) G_N_ELEMENTS (part));
      g_assert_true (sc_clip_text_forward (te, sc_backend_cpu (), ids + b * n, 1, k, part, &error));
      double r = sc_test_max_rel_error (part, want + b * n * W, k * W);
      g_assert_cmpfloat (r, <=, TOLERANCE);
    }
  sc_clip_text_free (te);
  sc_weight_source_free (src);
  sc_safetensors_close (st);
}

static void
test_sd1 (void)
{
  check_fixture (SC_ARCH_TINY_SD1);
}

static void
test_sd2 (void)
{
  check_fixture (SC_ARCH_TINY_SD2);
}

static int64_t
records_numel (ScWeightSource *src, guint from)
{
  const GPtrArray *recs = sc_weight_source_records (src);
  int64_t total = 0;
  for (guint i = from; i < recs->len; i++)
    {
      const ScWeightRecord *r = recs->pdata[i];
      int64_t n = 1;
      for (int d = 0; d < r->ndim; d++)
        n *= r->shape[d];
      total += n;
    }
  return total;
}

static gboolean
has_record (ScWeightSource *src, const char *name, int ndim, int64_t d0, int64_t d1)
{
  const GPtrArray *recs = sc_weight_source_records (src);
  for (guint i = 0; i < recs->len; i++)
    {
      const ScWeightRecord *r = recs->pdata[i];
      if (strcmp (r->name, name) == 0)
        return r->ndim == ndim && (ndim < 1 || r->shape[0] == d0) && (ndim < 2 || r->shape[1] == d1);
    }
  return FALSE;
}

static void
test_param_count (void)
{
  /* Full size: stable-diffusion.md §1.5. */
  g_assert_cmpint (sc_clip_text_config_param_count (&sc_arch_config (SC_ARCH_SD15)->text), ==, 123060480);
  g_assert_cmpint (sc_clip_text_config_param_count (&sc_arch_config (SC_ARCH_SD21)->text), ==, 340387840);

  for (ScArch a = SC_ARCH_TINY_SD1; a <= SC_ARCH_TINY_SD2; a++)
    {
      const ScClipTextConfig *cfg = &sc_arch_config (a)->text;
      const char *prefix = ldm_prefix (cfg);
      ScWeightSource *src = sc_weight_source_new_random (3);
      g_autoptr (GError) error = NULL;
      ScClipText *te = sc_clip_text_new (cfg, src, prefix, &error);
      g_assert_no_error (error);
      int64_t built = sc_clip_text_param_count (te);
      g_assert_cmpint (built, ==, sc_clip_text_config_param_count (cfg));
      g_assert_cmpint (built, ==, records_numel (src, 0));
      guint used = sc_weight_source_records (src)->len;
      g_test_message ("%s text encoder: %" G_GINT64_FORMAT " parameters in %u tensors", sc_arch_config (a)->name,
                      built, used);
      sc_clip_text_free (te);

      /* The tensors a checkpoint stores beyond those: SD2's last resblock, text_projection, logit_scale. */
      g_assert_true (sc_clip_text_declare_unused (cfg, src, prefix, &error));
      g_assert_no_error (error);
      int64_t W = cfg->width, M = cfg->mlp_dim;
      int64_t per_layer = 4 * W + 4 * (W * W + W) + 2 * W * M + M + W;
      int64_t extra = (int64_t) (cfg->layers - cfg->layers_used) * per_layer;
      if (cfg->style == SC_TEXT_OPENCLIP)
        {
          extra += W * W + 1;
          g_autofree char *proj = g_strconcat (prefix, "text_projection", NULL);
          g_autofree char *scale = g_strconcat (prefix, "logit_scale", NULL);
          g_autofree char *last = g_strdup_printf ("%stransformer.resblocks.%d.attn.in_proj_weight", prefix,
                                                   cfg->layers - 1);
          g_assert_true (has_record (src, proj, 2, W, W));
          g_assert_true (has_record (src, scale, 0, 0, 0));
          g_assert_true (has_record (src, last, 2, 3 * W, W));
        }
      g_assert_cmpint (records_numel (src, used), ==, extra);
      sc_weight_source_free (src);
    }
}

static void
test_names (void)
{
  ScWeightSource *src = sc_weight_source_new_random (3);
  g_autoptr (GError) error = NULL;
  ScClipText *te = sc_clip_text_new (&sc_arch_config (SC_ARCH_TINY_SD1)->text, src,
                                     "cond_stage_model.transformer.text_model.", &error);
  g_assert_no_error (error);
  g_assert_true (has_record (src, "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight", 2,
                             49408, 32));
  g_assert_true (has_record (src, "cond_stage_model.transformer.text_model.embeddings.position_embedding.weight", 2,
                             77, 32));
  g_assert_true (has_record (src, "cond_stage_model.transformer.text_model.encoder.layers.1.self_attn.q_proj.weight",
                             2, 32, 32));
  g_assert_true (has_record (src, "cond_stage_model.transformer.text_model.encoder.layers.1.mlp.fc1.weight", 2, 128,
                             32));
  g_assert_true (has_record (src, "cond_stage_model.transformer.text_model.final_layer_norm.bias", 1, 32, 0));
  sc_clip_text_free (te);
  sc_weight_source_free (src);

  src = sc_weight_source_new_random (3);
  te = sc_clip_text_new (&sc_arch_config (SC_ARCH_TINY_SD2)->text, src, "cond_stage_model.model.", &error);
  g_assert_no_error (error);
  g_assert_true (has_record (src, "cond_stage_model.model.positional_embedding", 2, 77, 64));
  g_assert_true (has_record (src, "cond_stage_model.model.transformer.resblocks.1.attn.in_proj_bias", 1, 192, 0));
  g_assert_true (has_record (src, "cond_stage_model.model.transformer.resblocks.1.mlp.c_proj.weight", 2, 64, 256));
  g_assert_true (has_record (src, "cond_stage_model.model.ln_final.weight", 1, 64, 0));
  /* Only layers_used (2 of 3) are built. */
  g_assert_false (has_record (src, "cond_stage_model.model.transformer.resblocks.2.ln_1.weight", 1, 64, 0));
  sc_clip_text_free (te);
  sc_weight_source_free (src);
}

static void
test_errors (void)
{
  const ScClipTextConfig *cfg = &sc_arch_config (SC_ARCH_TINY_SD1)->text;
  ScWeightSource *src = sc_weight_source_new_random (3);
  ScClipText *te = sc_clip_text_new (cfg, src, ldm_prefix (cfg), NULL);
  g_assert_nonnull (te);
  float out[78 * 32];
  int32_t ids[78] = { 49406, 320, 49408 };
  g_autoptr (GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL;
  g_assert_false (sc_clip_text_forward (te, sc_backend_cpu (), ids, 1, 3, out, &e1));
  g_assert_error (e1, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (e1->message, "49408"));
  ids[2] = -1;
  g_assert_false (sc_clip_text_forward (te, sc_backend_cpu (), ids, 1, 3, out, &e2));
  g_assert_error (e2, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  ids[2] = 0;
  g_assert_false (sc_clip_text_forward (te, sc_backend_cpu (), ids, 1, 78, out, &e3));
  g_assert_error (e3, SC_ERROR, SC_ERROR_INVALID_ARGUMENT);
  sc_clip_text_free (te);
  sc_weight_source_free (src);

  ScWeightSource *empty = sc_weight_source_new_files ();
  g_assert_null (sc_clip_text_new (cfg, empty, ldm_prefix (cfg), &e4));
  g_assert_nonnull (e4);
  g_assert_nonnull (strstr (e4->message, "token_embedding"));
  sc_weight_source_free (empty);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/clip-text/param-count", test_param_count);
  g_test_add_func ("/clip-text/names", test_names);
  g_test_add_func ("/clip-text/errors", test_errors);
  g_test_add_func ("/clip-text/tiny-sd1", test_sd1);
  g_test_add_func ("/clip-text/tiny-sd2", test_sd2);
  return g_test_run ();
}
